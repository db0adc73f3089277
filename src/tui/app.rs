//! The wizard's UI state and its `update`: a message (a key, or the result of a
//! slow task) changes the state and may ask for effects (start a task, exit).
//! Nothing here awaits or touches the database or the terminal.

use super::commands::{self, Action};
use super::plan_view::PlanView;
use crate::apply::{ApplyOptions, Event};
use crate::backup::BackupEvidence;
use crate::exit::Exit;
use crate::session::preflight::PreflightFacts;
use crate::session::{ApplyResult, PlanState, Step, VerifyResult, Wizard};
use ratatui::crossterm::event::KeyEvent;

/// Everything that can happen to the wizard.
// The plan arrives once per session: a few hundred bytes moved once are not
// worth a box at every other message's construction.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Tick,
    Redraw,
    Preflight(Result<PreflightFacts, String>),
    Backup(Result<BackupEvidence, String>),
    Plan(Result<PlanState, String>),
    Apply(Event),
    ApplyDone(ApplyResult),
    Verify(Result<VerifyResult, String>),
    /// The `[[post_check]]`s ran after the re-diff.
    PostChecks(Vec<crate::postcheck::CheckResult>),
}

/// What `update` asks the runtime to do.
#[derive(Debug, Clone)]
pub enum Effect {
    Preflight,
    Backup,
    Diff,
    Apply(ApplyOptions),
    CancelOnServer,
    Verify,
    Exit(Exit),
}

/// Which text field has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Operator,
    RollbackOwner,
    Reviewer,
    Target,
}

/// Preflight focus positions: the five checklist items, then these.
pub const FOCUS_OPERATOR: usize = 5;
pub const FOCUS_ROLLBACK: usize = 6;
pub const FOCUS_CONTINUE: usize = 7;

pub struct App {
    pub wizard: Wizard,
    /// A slow task is running for the current step.
    pub busy: bool,
    /// The last refusal or failure, shown until the next action.
    pub error: Option<String>,
    pub notice: Option<String>,
    pub focus: usize,
    pub reviewer: String,
    pub typed_target: String,
    pub plan_view: Option<PlanView>,
    /// The before/after pane opened on a statement of Review (`d`).
    pub object_diff: Option<super::plan_view::ObjectDiffPane>,
    /// The statement `n` went to (a scroll key lets the top line decide again).
    pub cursor: Option<usize>,
    pub scroll: usize,
    pub hscroll: usize,
    /// Height of the plan pane at the last draw, for paging.
    pub page: std::cell::Cell<usize>,
    pub cleanup_choice: usize,
    pub help: bool,
    pub quit_prompt: bool,
    pub tick: usize,
    pub color: bool,
    pub exit: Option<Exit>,
    /// Cancels the running statement on the server (from `Event::Connected`).
    pub cancel: Option<crate::apply::CancelHandle>,
}

impl App {
    pub fn new(wizard: Wizard, color: bool) -> App {
        App {
            wizard,
            busy: false,
            error: None,
            notice: None,
            focus: 0,
            reviewer: String::new(),
            typed_target: String::new(),
            plan_view: None,
            object_diff: None,
            cursor: None,
            scroll: 0,
            hscroll: 0,
            page: std::cell::Cell::new(20),
            cleanup_choice: 0,
            help: false,
            quit_prompt: false,
            tick: 0,
            color,
            exit: None,
            cancel: None,
        }
    }

    /// The effects to start with (after the first frame is drawn).
    pub fn init(&mut self) -> Vec<Effect> {
        if self.wizard.step != Step::Preflight {
            // A resumed session opens at Apply: nothing to gather first.
            return vec![];
        }
        self.busy = true;
        vec![Effect::Preflight]
    }

    /// The Review statement keys act on (`a`, `d`): where `n` went, else the
    /// first statement at the top of the pane.
    pub fn current_statement(&self) -> Option<usize> {
        self.cursor
            .or_else(|| self.plan_view.as_ref()?.current(self.scroll))
    }

    /// The text field that has the keyboard, if any.
    pub fn field(&self) -> Option<Field> {
        match self.wizard.step {
            Step::Preflight if self.focus == FOCUS_OPERATOR => Some(Field::Operator),
            Step::Preflight if self.focus == FOCUS_ROLLBACK => Some(Field::RollbackOwner),
            Step::Review if self.focus == 1 => Some(Field::Reviewer),
            Step::Apply if !self.wizard.apply.started => Some(Field::Target),
            _ => None,
        }
    }

    fn field_mut(&mut self, f: Field) -> &mut String {
        match f {
            Field::Operator => &mut self.wizard.checklist.operator,
            Field::RollbackOwner => &mut self.wizard.checklist.rollback_owner,
            Field::Reviewer => &mut self.reviewer,
            Field::Target => &mut self.typed_target,
        }
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => {
                if self.quit_prompt {
                    return self.quit_prompt_key(key);
                }
                match commands::resolve(self, key) {
                    Some(action) => self.act(action),
                    None => vec![],
                }
            }
            Msg::Tick => {
                self.tick = self.tick.wrapping_add(1);
                vec![]
            }
            Msg::Redraw => vec![],
            Msg::Preflight(r) => {
                self.busy = false;
                match r {
                    Ok(facts) => {
                        self.check(|w| w.preflight_done(facts));
                    }
                    Err(e) => {
                        self.error = Some(format!("preflight failed: {e}; press Enter to retry"))
                    }
                }
                vec![]
            }
            Msg::Backup(r) => {
                self.busy = false;
                match r {
                    Ok(ev) => {
                        self.check(|w| w.backup_done(ev));
                    }
                    Err(e) => self.error = Some(format!("{e}; press Enter to retry")),
                }
                vec![]
            }
            Msg::Plan(r) => {
                self.busy = false;
                match r {
                    Ok(plan) => {
                        self.plan_view = Some(PlanView::new(&plan));
                        self.check(|w| w.plan_done(plan));
                    }
                    Err(e) => {
                        self.error = Some(format!(
                            "computing the plan failed: {e}; press Enter to retry"
                        ))
                    }
                }
                vec![]
            }
            Msg::Apply(event) => {
                if let Event::Connected { cancel } = &event {
                    self.cancel = Some(cancel.clone());
                }
                self.wizard.apply.on_event(&event);
                vec![]
            }
            Msg::ApplyDone(result) => {
                self.busy = false;
                self.check(|w| w.apply_finished(result));
                vec![]
            }
            Msg::Verify(r) => {
                self.busy = false;
                match r {
                    Ok(v) => {
                        // Still busy while the post-checks run.
                        self.busy =
                            self.check(|w| w.verify_done(v)) && !self.wizard.post_checks.is_empty();
                    }
                    Err(e) => {
                        self.error = Some(format!("verification failed: {e}; press Enter to retry"))
                    }
                }
                vec![]
            }
            Msg::PostChecks(r) => {
                self.busy = false;
                self.check(|w| w.post_checks_done(r));
                vec![]
            }
        }
    }

    /// Runs a wizard transition; a refusal becomes the error line.
    pub(super) fn check(
        &mut self,
        f: impl FnOnce(&mut Wizard) -> Result<(), crate::session::Refusal>,
    ) -> bool {
        match f(&mut self.wizard) {
            Ok(()) => {
                self.error = None;
                true
            }
            Err(e) => {
                self.error = Some(format!("{e:#}"));
                false
            }
        }
    }

    fn quit_prompt_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        use ratatui::crossterm::event::KeyCode;
        match commands::resolve(self, key) {
            Some(Action::Abort) => return self.act(Action::Abort),
            _ if key.code == KeyCode::Char('y') => return self.abort("aborted by the operator"),
            _ if matches!(
                key.code,
                KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q')
            ) =>
            {
                self.quit_prompt = false
            }
            _ => {}
        }
        vec![]
    }

    fn abort(&mut self, why: &str) -> Vec<Effect> {
        let mut effects = vec![];
        if self.wizard.apply.running() {
            effects.push(Effect::CancelOnServer);
        }
        self.wizard.abort(why);
        self.exit = Some(Exit::Aborted);
        effects.push(Effect::Exit(Exit::Aborted));
        effects
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Abort => return self.abort("interrupted with Ctrl-C"),
            Action::Help => {
                self.help = !self.help;
                return vec![];
            }
            Action::Back => return self.back(),
            _ if self.help => {
                self.help = false;
                return vec![];
            }
            Action::Type(c) => {
                if let Some(f) = self.field() {
                    self.field_mut(f).push(c);
                }
                return vec![];
            }
            Action::Erase => {
                if let Some(f) = self.field() {
                    self.field_mut(f).pop();
                }
                return vec![];
            }
            _ => {}
        }
        self.error = None;
        match self.wizard.step {
            Step::Preflight => self.preflight(action),
            Step::Backup => self.backup(action),
            Step::Diff => self.diff(action),
            Step::Review => self.review(action),
            Step::Apply => self.apply(action),
            Step::Verify => self.verify(action),
            Step::Cleanup => self.cleanup(action),
            Step::Report => match action {
                Action::Enter if self.wizard.report.is_none() => {
                    self.check(|w| w.write_report().map(|_| ()));
                    vec![]
                }
                Action::Enter => self.finish(),
                _ => vec![],
            },
        }
    }

    fn back(&mut self) -> Vec<Effect> {
        if self.help {
            self.help = false;
        } else if self.object_diff.is_some() {
            self.object_diff = None;
        } else if self.field().is_some() && self.wizard.step != Step::Apply {
            self.focus = if self.wizard.step == Step::Review {
                0
            } else {
                FOCUS_CONTINUE
            };
        } else if self.wizard.step == Step::Report && self.wizard.report.is_some() {
            return self.finish();
        } else {
            self.quit_prompt = true;
        }
        vec![]
    }

    fn finish(&mut self) -> Vec<Effect> {
        let code = self.wizard.exit_code();
        self.exit = Some(code);
        vec![Effect::Exit(code)]
    }
}
