//! Apply: the typed database name, then progress per statement; on failure the
//! server's message, the statement, and what was committed or rolled back.

use super::{field, kv, status};
use crate::session::StmtStatus;
use crate::strings;
use crate::tui::app::App;
use crate::tui::view::{Palette, palette, spinner};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

fn status_cell(app: &App, p: &Palette, s: &StmtStatus) -> Span<'static> {
    let (text, style) = match s {
        StmtStatus::Pending => (format!("{} PENDING", strings::GLYPH_PENDING), p.dim()),
        StmtStatus::Running => (
            format!("{} RUNNING {}", strings::GLYPH_RUNNING, spinner(app)),
            p.accent(),
        ),
        StmtStatus::Ran { ms, .. } => (
            format!("{} RAN {ms} ms", strings::GLYPH_OK),
            p.fg(ratatui::style::Color::Green),
        ),
        StmtStatus::Committed { ms } => {
            (format!("{} COMMITTED {ms} ms", strings::GLYPH_OK), p.ok())
        }
        StmtStatus::CommittedBefore => (format!("{} COMMITTED BEFORE", strings::GLYPH_OK), p.ok()),
        StmtStatus::Failed => (format!("{} FAILED", strings::GLYPH_FAIL), p.bad()),
        StmtStatus::RolledBack => (
            format!("{} ROLLED BACK", strings::GLYPH_ROLLED_BACK),
            p.bad(),
        ),
        StmtStatus::NotApplied => (format!("{} NOT APPLIED", strings::GLYPH_PENDING), p.dim()),
    };
    Span::styled(format!("  {text:<22}"), style)
}

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let w = &app.wizard;
    let Some(plan) = &w.plan else { return };
    if !w.apply.started {
        let signoff = w.signoff.as_ref();
        let mut lines = vec![
            Line::raw(""),
            Line::raw(format!("  {}:", strings::APPLY_PROMPT)),
            Line::raw(""),
            kv(&p, "target", w.config.target.to_string()),
            kv(&p, "statements", plan.file.steps.len().to_string()),
            kv(
                &p,
                "signed off by",
                signoff.map(|s| s.reviewer.clone()).unwrap_or_default(),
            ),
            kv(
                &p,
                "plan SHA-256",
                signoff.map(|s| s.plan_sha256.clone()).unwrap_or_default(),
            ),
            kv(
                &p,
                "allowed hazards",
                signoff
                    .map(|s| {
                        s.acknowledged
                            .iter()
                            .map(|h| h.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "none".into()),
            ),
            Line::raw(""),
            field(&p, "Database name", &app.typed_target, true),
        ];
        if let Some(r) = &w.resume {
            lines.insert(
                3,
                Line::styled(format!("  resuming: {}", r.summary), p.accent()),
            );
            lines.insert(4, Line::raw(""));
        }
        f.render_widget(
            Paragraph::new(lines).block(Block::bordered().title(" Apply ")),
            area,
        );
        return;
    }
    let result_height = match &w.apply.result {
        None => 0,
        Some(r) if r.ok() => 3,
        Some(_) => 16,
    };
    let [steps_area, result_area] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(result_height)]).areas(area);
    let visible = steps_area.height.saturating_sub(2) as usize;
    let focus = w.apply.current.unwrap_or(1).saturating_sub(1);
    let first = focus
        .saturating_sub(visible.saturating_sub(2))
        .min(plan.file.steps.len().saturating_sub(visible));
    let rows: Vec<Line> = plan
        .file
        .steps
        .iter()
        .zip(&w.apply.statuses)
        .skip(first)
        .take(visible)
        .map(|(step, s)| {
            Line::from(vec![
                status_cell(app, &p, s),
                Span::raw(format!(
                    "{:>3}. {}",
                    step.number,
                    crate::util::escape_control(&step.title)
                )),
            ])
        })
        .collect();
    let done = w
        .apply
        .numbers(|s| {
            matches!(
                s,
                StmtStatus::Committed { .. } | StmtStatus::CommittedBefore | StmtStatus::Ran { .. }
            )
        })
        .len();
    f.render_widget(
        Paragraph::new(rows).block(Block::bordered().title(format!(
            " Apply to {}: {done}/{} ",
            w.config.target,
            plan.file.steps.len()
        ))),
        steps_area,
    );
    let Some(r) = &w.apply.result else { return };
    let mut lines = Vec::new();
    if r.ok() {
        lines.push(status(
            &p,
            true,
            strings::APPLY_DONE,
            format!("({})", r.committed.len()),
        ));
        lines.push(Line::raw(format!("  {}", strings::APPLY_NEXT)));
    } else {
        if let Some(e) = &r.error {
            lines.push(status(&p, false, "APPLY REFUSED: NOTHING RAN", e.clone()));
        } else {
            lines.push(status(&p, false, strings::APPLY_FAILED, ""));
        }
        if let Some((n, e)) = &r.failed {
            let step = plan.file.steps.get(n.saturating_sub(1));
            lines.push(kv(
                &p,
                "statement",
                format!("{n}. {}", step.map(|s| s.title.as_str()).unwrap_or("")),
            ));
            let sql = step
                .map(|s| s.sql.lines().next().unwrap_or("").to_string())
                .unwrap_or_default();
            lines.push(kv(&p, "", sql));
            let code = e.sqlstate.clone().unwrap_or_else(|| "-".into());
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<18}", "server said"), p.dim()),
                Span::styled(
                    format!("ERROR {code}: {}", crate::util::escape_control(&e.message)),
                    p.bad(),
                ),
            ]));
            if let Some(d) = &e.detail {
                lines.push(kv(&p, "detail", d.clone()));
            }
            if let Some(h) = &e.hint {
                lines.push(kv(&p, "hint", h.clone()));
            }
        }
        lines.push(kv(&p, "committed", crate::util::step_list(&r.committed)));
        lines.push(kv(
            &p,
            "rolled back",
            crate::util::step_list(&w.apply.rolled_back()),
        ));
        lines.push(kv(
            &p,
            "not applied",
            crate::util::step_list(&r.not_applied),
        ));
        lines.push(Line::styled(
            format!("  {}", strings::APPLY_NO_RERUN),
            p.bad(),
        ));
        if let Some(b) = &w.backup {
            lines.push(kv(&p, "backup", b.path.display().to_string()));
        }
        lines.push(kv(
            &p,
            "rollback owner",
            w.checklist.rollback_owner.trim().to_string(),
        ));
        lines.push(Line::raw(format!("  {}", strings::APPLY_NEXT)));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered()),
        result_area,
    );
}
