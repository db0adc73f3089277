//! One screen per step. Each renders from the app state alone.

mod apply;
mod backup;
mod cleanup;
mod diff;
mod object_diff;
mod preflight;
mod report;
mod review;
mod verify;

use super::app::App;
use super::view::{Palette, palette, spinner};
use crate::session::Step;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

pub fn render(app: &App, f: &mut Frame, area: Rect) {
    match app.wizard.step {
        Step::Preflight => preflight::render(app, f, area),
        Step::Backup => backup::render(app, f, area),
        Step::Diff => diff::render(app, f, area),
        Step::Review => review::render(app, f, area),
        Step::Apply => apply::render(app, f, area),
        Step::Verify => verify::render(app, f, area),
        Step::Cleanup => cleanup::render(app, f, area),
        Step::Report => report::render(app, f, area),
    }
}

/// `  label  value` with the label dimmed and padded.
pub(crate) fn kv(p: &Palette, label: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {label:<18}"), p.dim()),
        Span::raw(crate::util::escape_control(&value.into()).into_owned()),
    ])
}

/// A spinner with what is running.
pub(crate) fn busy(app: &App, what: &str) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {} ", spinner(app)), palette(app).accent()),
        Span::raw(what.to_string()),
    ])
}

/// A text field: `label: [value▏]`, reversed when it has the keyboard.
pub(crate) fn field(p: &Palette, label: &str, value: &str, focused: bool) -> Line<'static> {
    let shown = if focused {
        format!(" {value}▏")
    } else {
        format!(" {value} ")
    };
    Line::from(vec![
        Span::raw(format!("  {label}: ")),
        Span::styled(
            format!("[{shown:<24}]"),
            p.focus(focused).add_modifier(Modifier::BOLD),
        ),
    ])
}

/// A ✔/✖ line with a word, for verified facts.
pub(crate) fn status(p: &Palette, ok: bool, word: &str, rest: impl Into<String>) -> Line<'static> {
    let (glyph, style) = if ok {
        (crate::strings::GLYPH_OK, p.ok())
    } else {
        (crate::strings::GLYPH_FAIL, p.bad())
    };
    Line::from(vec![
        Span::styled(format!("  {glyph} {word}"), style),
        Span::raw(format!(" {}", crate::util::escape_control(&rest.into()))),
    ])
}
