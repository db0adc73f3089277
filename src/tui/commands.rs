//! The one command registry: it maps keys to actions for the current screen and
//! feeds both the hint bar and the `?` help overlay, so they never disagree.

use super::app::{App, Field};
use crate::session::Step;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Abort,
    Help,
    Back,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    NextField,
    Toggle,
    Enter,
    NextHazard,
    /// Opens or closes the before/after of the statement under the cursor.
    ObjectDiff,
    /// Acknowledges the DANGER statement under the cursor.
    Acknowledge,
    CancelOnServer,
    Type(char),
    Erase,
}

/// One entry: the keys, how they are shown, what they do.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    pub keys: &'static [KeyCode],
    pub label: &'static str,
    pub what: &'static str,
    pub action: Action,
    /// Shown in the hint bar (all entries are shown in the help overlay).
    pub hint: bool,
}

const fn cmd(
    keys: &'static [KeyCode],
    label: &'static str,
    what: &'static str,
    action: Action,
    hint: bool,
) -> Command {
    Command {
        keys,
        label,
        what,
        action,
        hint,
    }
}

const HELP: Command = cmd(
    &[KeyCode::F(1), KeyCode::Char('?')],
    "?",
    "help",
    Action::Help,
    true,
);
const BACK: Command = cmd(
    &[KeyCode::Esc, KeyCode::Char('q')],
    "q/Esc",
    "back",
    Action::Back,
    true,
);
const UPDOWN: Command = cmd(
    &[KeyCode::Up, KeyCode::Down],
    "↑/↓",
    "move",
    Action::Down,
    true,
);
const TAB: Command = cmd(
    &[KeyCode::Tab],
    "Tab",
    "next field",
    Action::NextField,
    true,
);
const ENTER_NEXT: Command = cmd(&[KeyCode::Enter], "Enter", "continue", Action::Enter, true);

/// The commands that apply right now, most useful first.
pub fn active(app: &App) -> Vec<Command> {
    let mut out = Vec::new();
    let w = &app.wizard;
    let typing = app.field().is_some();
    match w.step {
        Step::Preflight => {
            out.push(UPDOWN);
            if !typing {
                out.push(cmd(
                    &[KeyCode::Char(' ')],
                    "Space",
                    "tick",
                    Action::Toggle,
                    true,
                ));
            }
            out.push(TAB);
            out.push(cmd(
                &[KeyCode::Enter],
                "Enter",
                "tick / next / confirm",
                Action::Enter,
                true,
            ));
        }
        Step::Backup => out.push(cmd(
            &[KeyCode::Enter],
            "Enter",
            "back up / continue",
            Action::Enter,
            true,
        )),
        Step::Diff => out.push(ENTER_NEXT),
        Step::Review if app.object_diff.is_some() => {
            out.push(cmd(
                &[KeyCode::Up, KeyCode::Down],
                "↑/↓",
                "scroll",
                Action::Down,
                true,
            ));
            out.push(cmd(
                &[KeyCode::PageUp, KeyCode::PageDown],
                "PgUp/PgDn",
                "page",
                Action::PageDown,
                true,
            ));
            out.push(cmd(
                &[KeyCode::Char('d')],
                "d/Esc",
                "back to the plan",
                Action::ObjectDiff,
                true,
            ));
        }
        Step::Review => {
            if app.field() == Some(Field::Reviewer) {
                out.push(cmd(
                    &[KeyCode::Enter],
                    "Enter",
                    "sign off",
                    Action::Enter,
                    true,
                ));
                out.push(cmd(
                    &[KeyCode::Tab],
                    "Tab",
                    "back to the plan",
                    Action::NextField,
                    true,
                ));
            } else {
                out.push(cmd(
                    &[KeyCode::Up, KeyCode::Down],
                    "↑/↓",
                    "scroll",
                    Action::Down,
                    true,
                ));
                out.push(cmd(
                    &[KeyCode::PageUp, KeyCode::PageDown],
                    "PgUp/PgDn",
                    "page",
                    Action::PageDown,
                    true,
                ));
                out.push(cmd(
                    &[KeyCode::Home, KeyCode::End],
                    "Home/End",
                    "top / bottom",
                    Action::End,
                    false,
                ));
                out.push(cmd(
                    &[KeyCode::Left, KeyCode::Right],
                    "←/→",
                    "scroll sideways",
                    Action::Right,
                    false,
                ));
                out.push(cmd(
                    &[KeyCode::Char('n')],
                    "n",
                    "next hazard",
                    Action::NextHazard,
                    true,
                ));
                out.push(cmd(
                    &[KeyCode::Char('d')],
                    "d",
                    "before/after",
                    Action::ObjectDiff,
                    true,
                ));
                let left = w.unacknowledged().len();
                out.push(cmd(
                    &[KeyCode::Char('a')],
                    "a",
                    "acknowledge DANGER",
                    Action::Acknowledge,
                    left > 0,
                ));
                out.push(cmd(
                    &[KeyCode::Tab, KeyCode::Enter],
                    "Tab",
                    "reviewer's name",
                    Action::NextField,
                    left == 0,
                ));
            }
        }
        Step::Apply => {
            if w.apply.running() {
                out.push(cmd(
                    &[KeyCode::Char('c')],
                    "c",
                    "cancel on the server",
                    Action::CancelOnServer,
                    true,
                ));
            } else if w.apply.started {
                out.push(ENTER_NEXT);
            } else {
                out.push(cmd(
                    &[KeyCode::Enter],
                    "Enter",
                    "apply",
                    Action::Enter,
                    true,
                ));
            }
        }
        Step::Verify => out.push(ENTER_NEXT),
        Step::Cleanup => {
            out.push(UPDOWN);
            out.push(cmd(
                &[KeyCode::Enter],
                "Enter",
                "confirm",
                Action::Enter,
                true,
            ));
        }
        Step::Report => out.push(cmd(&[KeyCode::Enter], "Enter", "exit", Action::Enter, true)),
    }
    out.push(HELP);
    out.push(BACK);
    out
}

/// Ctrl-C is not in the registry's key table: it always works, on every screen.
pub const CTRL_C: (&str, &str) = (
    "Ctrl-C",
    "exit now (code 130), cancelling a running statement first",
);

/// Resolves a key press to an action for the current screen.
pub fn resolve(app: &App, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c')).then_some(Action::Abort);
    }
    if app.field().is_some() {
        match key.code {
            KeyCode::Char(c) => return Some(Action::Type(c)),
            KeyCode::Backspace => return Some(Action::Erase),
            _ => {}
        }
    }
    // Direction keys carry their own action whatever the entry's primary one is.
    let direct = match key.code {
        KeyCode::Up => Some(Action::Up),
        KeyCode::Down => Some(Action::Down),
        KeyCode::Left => Some(Action::Left),
        KeyCode::Right => Some(Action::Right),
        KeyCode::PageUp => Some(Action::PageUp),
        KeyCode::PageDown => Some(Action::PageDown),
        KeyCode::Home => Some(Action::Home),
        KeyCode::End => Some(Action::End),
        _ => None,
    };
    let found = active(app)
        .into_iter()
        .find(|c| c.keys.contains(&key.code))?;
    Some(direct.unwrap_or(found.action))
}
