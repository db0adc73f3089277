//! Verify: the live schema re-diffed against the desired one.

use super::{busy, kv, status};
use crate::strings;
use crate::tui::app::App;
use crate::tui::view::palette;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let mut lines = vec![Line::raw("")];
    let compared = app.wizard.config.desired.is_some();
    match &app.wizard.verify {
        None if app.busy && !compared => lines.push(busy(app, strings::VERIFY_NO_DESIRED_RUNNING)),
        None if app.busy => lines.push(busy(app, strings::VERIFY_RUNNING)),
        None => lines.push(Line::raw("  press Enter to verify again")),
        Some(v) if !compared => {
            lines.push(Line::styled(
                format!("  {} {}", strings::GLYPH_WARN, strings::VERIFY_NO_DESIRED),
                p.severity(crate::hazard::Severity::Warning),
            ));
            lines.push(Line::raw(""));
            lines.push(kv(&p, "live fingerprint", v.fingerprint.clone()));
            lines.push(Line::raw(
                "  (the schema as it is after the apply, recorded in the journal)",
            ));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!("  {}", strings::VERIFY_NO_DESIRED_HINT)));
            lines.push(Line::raw(format!("  {}", strings::VERIFY_NEXT)));
        }
        Some(v) if v.in_sync => {
            lines.push(status(&p, true, strings::IN_SYNC, ""));
            lines.push(Line::raw(""));
            lines.push(kv(&p, "fingerprint", v.fingerprint.clone()));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!("  {}", strings::VERIFY_NEXT)));
        }
        Some(v) => {
            lines.push(status(
                &p,
                false,
                strings::NOT_IN_SYNC,
                format!("({})", v.remaining.len()),
            ));
            lines.push(Line::raw(""));
            for r in &v.remaining {
                lines.push(Line::raw(format!(
                    "    - {}",
                    crate::util::escape_control(r)
                )));
            }
            lines.push(Line::raw(""));
            lines.push(kv(&p, "fingerprint", v.fingerprint.clone()));
            lines.push(Line::raw(format!("  {}", strings::VERIFY_NEXT)));
        }
    }
    if app.wizard.verify.is_some() && !app.wizard.post_checks.is_empty() {
        // Right below the re-diff's verdict: on a small terminal the
        // rollback commands must not fall off the screen.
        let mut checks = Vec::new();
        post_checks(app, &p, &mut checks);
        let at = 2.min(lines.len());
        lines.splice(at..at, checks);
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(if compared {
                " Verify: re-diff against the desired schema "
            } else {
                " Verify: no desired schema to compare with "
            })),
        area,
    );
}

/// The `[[post_check]]`s of pgalign.toml: each with its result, duration and
/// excerpt; when one failed, the verdict and the rollback commands.
fn post_checks(app: &App, p: &crate::tui::view::Palette, lines: &mut Vec<Line<'static>>) {
    lines.push(Line::raw(""));
    lines.push(Line::styled("  post-checks (pgalign.toml)", p.dim()));
    let Some(results) = &app.wizard.post_check_results else {
        lines.push(busy(
            app,
            &format!("running {} post-check(s) …", app.wizard.post_checks.len()),
        ));
        return;
    };
    for r in results {
        lines.push(status(
            p,
            r.ok,
            &crate::util::redact(&r.name),
            format!(
                "({}, {:.1} s): {}",
                r.kind,
                r.duration.as_secs_f64(),
                r.excerpt
            ),
        ));
    }
    if app.wizard.post_checks_failed() {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "  {} {}: the schema is applied, but a check the team trusts failed",
                strings::GLYPH_FAIL,
                crate::session::Outcome::PostChecksFailed
            ),
            p.bad(),
        ));
        lines.push(Line::raw("  to roll back:"));
        for c in app.wizard.rollback_commands() {
            lines.push(Line::raw(format!(
                "    {}",
                crate::util::escape_control(&c)
            )));
        }
    }
}
