//! Report: where the alignment report was written, and how the session ended.

use super::{kv, status};
use crate::strings;
use crate::tui::app::App;
use crate::tui::view::palette;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let w = &app.wizard;
    let mut lines = vec![Line::raw("")];
    let outcome = w.outcome();
    let good = w.exit_code() == crate::exit::Exit::Ok;
    lines.push(status(&p, good, &outcome.as_str().to_uppercase(), ""));
    lines.push(Line::raw(""));
    if let Some((md, json)) = &w.report {
        lines.push(kv(&p, strings::REPORT_WRITTEN, md.display().to_string()));
        lines.push(kv(&p, "", json.display().to_string()));
    }
    lines.push(kv(&p, "journal", w.journal_path().display().to_string()));
    if let Some(b) = &w.backup {
        lines.push(kv(&p, "backup", b.path.display().to_string()));
    }
    if let Some((_, path)) = &w.cleanup {
        lines.push(kv(&p, "plan", path.display().to_string()));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!("  {}", strings::REPORT_EXIT)));
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Report ")),
        area,
    );
}
