//! Backup: pg_dump into the session folder, read back by pg_restore --list,
//! checksummed. The wizard does not go on without it.

use super::{busy, kv, status};
use crate::strings;
use crate::tui::app::App;
use crate::tui::view::palette;
use crate::util::human_bytes;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let mut lines = vec![Line::raw("")];
    match &app.wizard.backup {
        None if app.busy => lines.push(busy(app, strings::BACKUP_RUNNING)),
        None => {
            lines.push(Line::raw(format!("  {}", strings::BACKUP_PROMPT)));
            lines.push(kv(
                &p,
                "session folder",
                app.wizard.config.session_dir.display().to_string(),
            ));
        }
        Some(b) => {
            lines.push(status(
                &p,
                true,
                strings::BACKUP_VERIFIED,
                format!("pg_restore --list read {} entries", b.entries),
            ));
            lines.push(Line::raw(""));
            lines.push(kv(&p, "archive", b.path.display().to_string()));
            lines.push(kv(
                &p,
                "size",
                format!("{} ({} bytes)", human_bytes(b.bytes as i64), b.bytes),
            ));
            lines.push(kv(&p, "SHA-256", b.sha256.clone()));
            lines.push(Line::raw(""));
            lines.push(kv(&p, "schema dump", b.schema_path.display().to_string()));
            lines.push(kv(
                &p,
                "size",
                format!(
                    "{} ({} bytes)",
                    human_bytes(b.schema_bytes as i64),
                    b.schema_bytes
                ),
            ));
            lines.push(kv(&p, "SHA-256", b.schema_sha256.clone()));
            lines.push(kv(&p, "pg_dump", b.pg_dump_version.clone()));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!("  {}", strings::BACKUP_NEXT)));
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Backup (pg_dump -Fc, verified) ")),
        area,
    );
}
