//! The before/after of the object one Review statement changes: a unified
//! line diff of its live and desired definitions with the changed words
//! emphasised (reversed, in colour) or bracketed (`[-…-]`/`{+…+}` without).

use crate::plan::objdiff::{DiffLine, Side};
use crate::strings;
use crate::tui::app::App;
use crate::tui::plan_view::ObjectDiffPane;
use crate::tui::view::palette;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn render(app: &App, pane: &ObjectDiffPane, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let [legend, main] = Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(area);
    let legend_text = if app.color {
        strings::OBJECT_DIFF_LEGEND
    } else {
        strings::OBJECT_DIFF_LEGEND_PLAIN
    };
    f.render_widget(Line::styled(format!(" {legend_text}"), p.dim()), legend);
    let height = main.height.saturating_sub(2) as usize;
    app.page.set(height.max(1));
    let start = pane.scroll.min(pane.lines.len().saturating_sub(1));
    let end = (start + height).min(pane.lines.len());
    let rows: Vec<Line> = pane.lines[start..end]
        .iter()
        .map(|l| line(l, app.color, app.hscroll))
        .collect();
    let step = app
        .wizard
        .plan
        .as_ref()
        .and_then(|plan| plan.file.steps.get(pane.step))
        .map(|s| s.number)
        .unwrap_or(pane.step + 1);
    let title = format!(
        " statement {step}: {} {}  lines {}–{} of {} ",
        pane.change.kind,
        crate::util::escape_control(&pane.change.object),
        if pane.lines.is_empty() { 0 } else { start + 1 },
        end,
        pane.lines.len()
    );
    f.render_widget(
        Paragraph::new(rows).block(Block::bordered().title(title)),
        main,
    );
}

fn line(l: &DiffLine, color: bool, hscroll: usize) -> Line<'static> {
    if !color || l.gap {
        let text: String = l.plain().chars().skip(hscroll).collect();
        return Line::raw(text);
    }
    let base = match l.side {
        Side::Both => Style::default(),
        Side::Live => Style::default().fg(Color::Red),
        Side::Desired => Style::default().fg(Color::Green),
    };
    let mut spans = vec![Span::styled(format!("{} ", l.side.marker()), base)];
    spans.extend(l.parts.iter().map(|(changed, text)| {
        let style = if *changed {
            base.add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            base
        };
        Span::styled(text.clone(), style)
    }));
    Line::from(super::review::skip_chars(Line::from(spans), hscroll))
}
