//! Cleanup: archive the plan beside the report, or remove it.

use crate::strings;
use crate::tui::app::App;
use crate::tui::view::palette;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let p = palette(app);
    let mut lines = vec![Line::raw("")];
    if let Some(plan) = &app.wizard.plan {
        lines.push(super::kv(&p, "plan file", plan.path.display().to_string()));
        lines.push(Line::raw(""));
    }
    for (i, label) in [strings::CLEANUP_ARCHIVE, strings::CLEANUP_REMOVE]
        .iter()
        .enumerate()
    {
        let selected = app.cleanup_choice == i;
        let mark = if selected { "(•)" } else { "( )" };
        lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(format!("{mark} {label}"), p.focus(selected)),
        ]));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("  {}", strings::CLEANUP_NOTE),
        p.dim(),
    ));
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Cleanup ")),
        area,
    );
}
