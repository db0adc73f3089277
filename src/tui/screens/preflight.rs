//! Preflight: facts about the target and the working tree, then the
//! maintenance checklist the operator ticks and the two typed names.

use super::{busy, field};
use crate::strings;
use crate::tui::app::{App, FOCUS_CONTINUE, FOCUS_OPERATOR, FOCUS_ROLLBACK};
use crate::tui::view::palette;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let facts_height = app
        .wizard
        .preflight
        .as_ref()
        .map(|x| x.checks().len() as u16)
        .unwrap_or(1)
        + 2;
    let [facts_area, list_area] =
        Layout::vertical([Constraint::Length(facts_height), Constraint::Min(0)]).areas(area);

    let facts: Vec<Line> = match &app.wizard.preflight {
        None if app.busy => vec![busy(app, strings::PREFLIGHT_RUNNING)],
        None => vec![Line::raw("  press Enter to read the target again")],
        Some(facts) => facts
            .checks()
            .into_iter()
            .map(|c| {
                let (mark, style) = if c.ok {
                    (format!("{} ok     ", strings::GLYPH_OK), p.ok())
                } else {
                    (
                        format!("{} WARNING", strings::GLYPH_WARN),
                        p.severity(crate::hazard::Severity::Warning),
                    )
                };
                Line::from(vec![
                    Span::styled(format!("  {mark} "), style),
                    Span::styled(format!("{:<26}", c.name), p.dim()),
                    Span::raw(c.detail),
                ])
            })
            .collect(),
    };
    f.render_widget(
        Paragraph::new(facts)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Target ")),
        facts_area,
    );

    let c = &app.wizard.checklist;
    let mut lines: Vec<Line> = strings::CHECKLIST
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let mark = if c.ticked[i] { "[x]" } else { "[ ]" };
            let style = p.focus(app.focus == i);
            Line::from(vec![
                Span::raw("  "),
                Span::styled(format!("{mark} {label}"), style),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(field(
        &p,
        strings::OPERATOR_FIELD,
        &c.operator,
        app.focus == FOCUS_OPERATOR,
    ));
    lines.push(field(
        &p,
        strings::ROLLBACK_OWNER_FIELD,
        &c.rollback_owner,
        app.focus == FOCUS_ROLLBACK,
    ));
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw("  "),
        Span::styled(
            format!("< {} >", strings::CONTINUE),
            p.focus(app.focus == FOCUS_CONTINUE)
                .add_modifier(Modifier::BOLD),
        ),
    ]));
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered().title(" Maintenance checklist (the operator ticks each item) "),
        ),
        list_area,
    );
}
