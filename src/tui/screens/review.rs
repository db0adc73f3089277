//! Review: the plan highlighted and scrollable, each statement's hazards
//! beside it, the counts on top, and the reviewer's sign-off below.

use super::field;
use crate::strings;
use crate::tui::app::App;
use crate::tui::view::palette;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let (Some(plan), Some(view)) = (&app.wizard.plan, &app.plan_view) else {
        return;
    };
    let [top, main, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(3),
    ])
    .areas(area);

    let mut summary = vec![Span::raw(format!(
        " {} statements   ",
        plan.file.steps.len()
    ))];
    summary.extend(super::diff::summary_spans(&p, &plan.file.header.summary));
    summary.push(Span::styled(
        format!("plan SHA-256 {}…", &plan.file.actual_sha256[..16]),
        p.dim(),
    ));
    f.render_widget(Line::from(summary), top);

    if plan.file.steps.is_empty() {
        f.render_widget(
            Paragraph::new(format!(
                "\n  {}\n\n  {}",
                strings::NO_DIFFERENCES,
                strings::NOTHING_TO_SIGN
            ))
            .block(Block::bordered().title(" Review ")),
            main,
        );
        return;
    }

    if let Some(pane) = &app.object_diff {
        super::object_diff::render(app, pane, f, main.union(bottom));
        return;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
    let height = left.height.saturating_sub(2) as usize;
    app.page.set(height.max(1));
    let start = app.scroll.min(view.len().saturating_sub(1));
    let end = (start + height).min(view.len());

    let code = view.highlighter.lines(&view.lines, start..end, app.color);
    // The statement keys act on (`d`): marked `▸` in the gutter.
    let cursor = app.current_statement().and_then(|i| view.statement_line(i));
    // Wide enough for the last line's number (a 391,119-line plan has six digits).
    let digits = view.len().max(1).to_string().len().max(4);
    let text: Vec<Line> = code
        .into_iter()
        .enumerate()
        .map(|(k, line)| {
            let n = start + k;
            let (mark, style) = match view.mark(n) {
                Some(s) => (s.glyph(), p.severity(s)),
                None => (" ", p.dim()),
            };
            // `✓` beside a DANGER statement the reviewer acknowledged.
            let acked = view
                .statement_at(n)
                .and_then(|i| plan.file.steps.get(i))
                .is_some_and(|s| app.wizard.acks.contains_key(&s.number));
            let mut spans = vec![
                Span::styled(format!("{:>digits$}", n + 1), p.dim()),
                Span::styled(if cursor == Some(n) { "▸" } else { " " }, p.accent()),
                Span::styled(format!("{mark:<1}"), style),
                Span::styled(if acked { "✓" } else { " " }, p.ok()),
                Span::styled("│", p.dim()),
            ];
            spans.extend(skip_chars(line, app.hscroll));
            Line::from(spans)
        })
        .collect();
    let name = plan
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(text).block(Block::bordered().title(format!(
            " {name}  lines {}–{} of {} ",
            start + 1,
            end,
            view.len()
        ))),
        left,
    );

    let width = right.width.saturating_sub(2) as usize;
    let mut rows: Vec<Line> = vec![Line::raw(""); end - start];
    for (row, sev, text) in view.hazard_rows(width, start..end) {
        rows[row - start] = Line::styled(text, p.severity(sev));
    }
    f.render_widget(
        Paragraph::new(rows).block(Block::bordered().title(" Hazards, beside each statement ")),
        right,
    );

    let danger = app
        .wizard
        .plan
        .as_ref()
        .map(|p| p.danger_ids())
        .unwrap_or_default();
    let ack = if danger.is_empty() {
        "acknowledges no DANGER hazards (there are none)".to_string()
    } else {
        format!(
            "acknowledges DANGER: {}",
            danger
                .iter()
                .map(|h| h.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let left = app.wizard.unacknowledged();
    let acks = if left.is_empty() {
        String::new()
    } else {
        format!(
            " {} of {} DANGER statement(s) acknowledged: n goes to the next, a acknowledges it; the sign-off opens after the last.",
            danger_total(app) - left.len(),
            danger_total(app)
        )
    };
    let lines = if app.wizard.drop_all_count().is_some() {
        vec![
            field(&p, strings::DROP_ALL_FIELD, &app.reviewer, app.focus == 1),
            Line::styled(format!("  {}", strings::DROP_ALL_NOTE), p.bad()),
        ]
    } else {
        vec![
            field(&p, strings::REVIEWER_FIELD, &app.reviewer, app.focus == 1),
            Line::styled(format!("  {}", strings::SIGN_OFF_NOTE), p.dim()),
            if left.is_empty() {
                Line::styled(format!("  This sign-off {ack}."), p.dim())
            } else {
                Line::styled(format!(" {acks}"), p.bad())
            },
        ]
    };
    f.render_widget(Paragraph::new(lines), bottom);
}

fn danger_total(app: &App) -> usize {
    app.wizard
        .plan
        .as_ref()
        .map(|p| p.danger_steps().len())
        .unwrap_or(0)
}

/// Drops the first `n` characters of a styled line (sideways scrolling).
pub(super) fn skip_chars(line: Line<'static>, mut n: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    for span in line.spans {
        let len = span.content.chars().count();
        if n >= len {
            n -= len;
            continue;
        }
        let rest: String = span.content.chars().skip(n).collect();
        n = 0;
        out.push(Span::styled(rest, span.style));
    }
    out
}
