//! Diff: the plan computed, written into the session folder, summarised.

use super::{busy, kv};
use crate::strings;
use crate::tui::app::App;
use crate::tui::view::{Palette, palette};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

/// `✖ DANGER 1  ! WARNING 2 …`: counts per severity with glyph and word.
pub(crate) fn summary_spans(p: &Palette, s: &crate::hazard::Summary) -> Vec<Span<'static>> {
    use crate::hazard::Severity::*;
    [
        (Blocker, s.blocker),
        (Danger, s.danger),
        (Warning, s.warning),
        (Info, s.info),
    ]
    .into_iter()
    .flat_map(|(sev, n)| {
        let style = if n > 0 { p.severity(sev) } else { p.dim() };
        [
            Span::styled(format!("{} {} {n}", sev.glyph(), sev.label()), style),
            Span::raw("   "),
        ]
    })
    .collect()
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let mut lines = vec![Line::raw("")];
    let external = app.wizard.config.external_plan.as_ref();
    match &app.wizard.plan {
        None if app.busy && external.is_some() => lines.push(busy(app, strings::IMPORT_RUNNING)),
        None if app.busy => lines.push(busy(app, strings::DIFF_RUNNING)),
        None => lines.push(Line::raw("  press Enter to compute the plan again")),
        Some(plan) => {
            let h = &plan.file.header;
            if let Some(file) = external {
                lines.push(kv(&p, "external plan", file.display().to_string()));
            }
            let desired = app
                .wizard
                .config
                .desired
                .as_deref()
                .map(crate::report::redact);
            lines.push(kv(
                &p,
                "desired schema",
                desired.unwrap_or_else(|| "none (the plan is the external file)".into()),
            ));
            lines.push(kv(&p, "plan file", plan.path.display().to_string()));
            lines.push(kv(&p, "plan SHA-256", plan.file.actual_sha256.clone()));
            lines.push(kv(&p, "live fingerprint", h.live_fingerprint.clone()));
            lines.push(kv(&p, "desired fingerpr.", h.desired_fingerprint.clone()));
            lines.push(kv(&p, "statements", plan.file.steps.len().to_string()));
            let mut hz = vec![Span::styled(format!("  {:<18}", "hazards"), p.dim())];
            hz.extend(summary_spans(&p, &h.summary));
            lines.push(Line::from(hz));
            lines.push(Line::raw(""));
            if plan.file.steps.is_empty() {
                lines.push(super::status(&p, true, strings::NO_DIFFERENCES, ""));
            }
            for s in plan.file.steps.iter().take(12) {
                let top = crate::hazard::top_severity(&s.hazards);
                let mark = top
                    .map(|t| format!("{} {:<7}", t.glyph(), t.label()))
                    .unwrap_or_else(|| " ".repeat(9));
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("  {mark} "),
                        top.map(|t| p.severity(t)).unwrap_or_default(),
                    ),
                    Span::raw(format!(
                        "{:>3}. {}",
                        s.number,
                        crate::util::escape_control(&s.title)
                    )),
                ]));
            }
            if plan.file.steps.len() > 12 {
                lines.push(Line::raw(format!(
                    "  … and {} more",
                    plan.file.steps.len() - 12
                )));
            }
            // Data statements of the desired source that are not planned
            // (DESIGN.md §7): a short list with file and line, never hidden.
            let (not_planned, notes): (Vec<&String>, Vec<&String>) = plan
                .notes
                .iter()
                .partition(|n| n.starts_with("not planned ("));
            for note in notes.iter().take(3) {
                lines.push(Line::styled(format!("  note: {note}"), p.dim()));
            }
            if !not_planned.is_empty() {
                lines.push(Line::styled(
                    format!(
                        "  not planned: {} data statement(s) of the desired source",
                        not_planned.len()
                    ),
                    p.severity(crate::hazard::Severity::Warning),
                ));
                for note in not_planned.iter().take(5) {
                    let text = note.strip_prefix("not planned ").unwrap_or(note);
                    lines.push(Line::raw(format!(
                        "    {}",
                        crate::util::escape_control(text)
                    )));
                }
                if not_planned.len() > 5 {
                    lines.push(Line::raw(format!(
                        "    … and {} more (listed in the plan file)",
                        not_planned.len() - 5
                    )));
                }
            }
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!("  {}", strings::DIFF_NEXT)));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Diff: the plan ")),
        area,
    );
}
