//! Per-step key handling of the wizard: what an action does on each screen.

use super::app::{App, Effect, FOCUS_CONTINUE, FOCUS_OPERATOR};
use super::commands::Action;
use crate::session::CleanupAction;
use crate::strings;

impl App {
    pub(super) fn preflight(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Up => self.focus = self.focus.saturating_sub(1),
            Action::Down | Action::NextField => {
                self.focus = (self.focus + 1) % (FOCUS_CONTINUE + 1)
            }
            Action::Toggle if self.focus < FOCUS_OPERATOR => {
                self.wizard.checklist.toggle(self.focus)
            }
            Action::Enter if self.wizard.preflight.is_none() && !self.busy => {
                self.busy = true;
                return vec![Effect::Preflight];
            }
            Action::Enter if self.focus < FOCUS_OPERATOR => {
                self.wizard.checklist.toggle(self.focus)
            }
            Action::Enter if self.focus < FOCUS_CONTINUE => self.focus += 1,
            Action::Enter if self.check(|w| w.confirm_checklist()) => self.focus = 0,
            _ => {}
        }
        vec![]
    }

    pub(super) fn backup(&mut self, action: Action) -> Vec<Effect> {
        if action != Action::Enter || self.busy {
            return vec![];
        }
        if self.wizard.backup.is_none() {
            self.busy = true;
            return vec![Effect::Backup];
        }
        if self.check(|w| w.leave_backup()) {
            self.busy = true;
            return vec![Effect::Diff];
        }
        vec![]
    }

    pub(super) fn diff(&mut self, action: Action) -> Vec<Effect> {
        if action != Action::Enter || self.busy {
            return vec![];
        }
        if self.wizard.plan.is_none() {
            self.busy = true;
            return vec![Effect::Diff];
        }
        if self.check(|w| w.leave_diff()) {
            self.focus = 0;
            self.cursor = None;
            self.scroll = self
                .plan_view
                .as_ref()
                .map(|v| v.first_body_line())
                .unwrap_or(0);
        }
        vec![]
    }

    pub(super) fn review(&mut self, action: Action) -> Vec<Effect> {
        if self.wizard.plan_is_empty() {
            if action == Action::Enter && self.check(|w| w.skip_to_verify()) {
                self.busy = true;
                return vec![Effect::Verify];
            }
            return vec![];
        }
        if let Some(pane) = &mut self.object_diff {
            let page = self.page.get().max(1);
            let max = pane.lines.len().saturating_sub(page);
            match action {
                Action::Up => pane.scroll = pane.scroll.saturating_sub(1),
                Action::Down => pane.scroll = (pane.scroll + 1).min(max),
                Action::PageUp => pane.scroll = pane.scroll.saturating_sub(page),
                Action::PageDown => pane.scroll = (pane.scroll + page).min(max),
                Action::Home => pane.scroll = 0,
                Action::End => pane.scroll = max,
                Action::Left => self.hscroll = self.hscroll.saturating_sub(8),
                Action::Right => self.hscroll += 8,
                Action::ObjectDiff => self.object_diff = None,
                _ => {}
            }
            return vec![];
        }
        let lines = self.plan_view.as_ref().map(|p| p.len()).unwrap_or(0);
        let max = lines.saturating_sub(self.page.get().max(1));
        if matches!(
            action,
            Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Home
                | Action::End
        ) {
            self.cursor = None;
        }
        match action {
            Action::ObjectDiff => self.open_object_diff(),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll = (self.scroll + 1).min(max),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(self.page.get()),
            Action::PageDown => self.scroll = (self.scroll + self.page.get()).min(max),
            Action::Home => self.scroll = 0,
            Action::End => self.scroll = max,
            Action::Left => self.hscroll = self.hscroll.saturating_sub(8),
            Action::Right => self.hscroll += 8,
            Action::NextHazard => {
                // After `n`, the one after it; after scrolling, from the top one on.
                let from = match (self.cursor, &self.plan_view) {
                    (Some(i), _) => i + 1,
                    (None, Some(v)) => v.current(self.scroll).unwrap_or(usize::MAX),
                    (None, None) => 0,
                };
                if let Some((i, line)) = self
                    .plan_view
                    .as_ref()
                    .and_then(|p| p.next_hazard_after(from))
                {
                    self.cursor = Some(i);
                    self.scroll = line.min(max);
                }
                return vec![];
            }
            Action::Acknowledge => {
                if let Some(i) = self.current_statement() {
                    self.check(|w| w.acknowledge(i));
                }
            }
            // The sign-off field opens once every DANGER statement is
            // acknowledged (the drop-all count is typed there before).
            Action::NextField if self.focus == 0 && self.wizard.drop_all_count().is_none() => {
                self.focus = usize::from(self.check(|w| w.check_acknowledged()));
            }
            Action::NextField => self.focus = 1 - self.focus.min(1),
            Action::Enter if self.focus == 1 && self.wizard.drop_all_count().is_some() => {
                let typed = std::mem::take(&mut self.reviewer);
                if self.check(|w| w.allow_drop_all(&typed)) {
                    self.plan_view = None;
                    self.busy = true;
                    return vec![Effect::Diff];
                }
            }
            Action::Enter if self.focus == 1 => {
                let name = self.reviewer.clone();
                self.check(|w| w.sign_off(&name));
            }
            _ => {}
        }
        vec![]
    }

    /// Opens the before/after of the statement under the cursor, or says why
    /// there is none.
    fn open_object_diff(&mut self) {
        let (Some(_), Some(plan)) = (&self.plan_view, &self.wizard.plan) else {
            return;
        };
        let Some(i) = self.current_statement() else {
            self.error = Some(strings::NO_STATEMENT_HERE.into());
            return;
        };
        match plan.objects.get(i) {
            Some(Some(change)) => {
                self.object_diff = Some(super::plan_view::ObjectDiffPane::new(i, change));
            }
            _ => {
                let step = &plan.file.steps[i];
                self.error = Some(format!(
                    "statement {} ({}) {}",
                    step.number,
                    crate::util::escape_control(&step.title),
                    strings::NO_OBJECT_DIFF
                ));
            }
        }
    }

    pub(super) fn apply(&mut self, action: Action) -> Vec<Effect> {
        let a = &self.wizard.apply;
        match action {
            Action::CancelOnServer if a.running() => {
                self.wizard.apply.cancel_requested = true;
                self.notice = Some(strings::CANCEL_SENT.into());
                vec![Effect::CancelOnServer]
            }
            Action::Enter if !a.started => {
                let typed = self.typed_target.clone();
                match self.wizard.confirm_target(&typed) {
                    Ok(opts) => {
                        self.busy = true;
                        vec![Effect::Apply(opts)]
                    }
                    Err(e) => {
                        self.error = Some(e.to_string());
                        self.typed_target.clear();
                        vec![]
                    }
                }
            }
            Action::Enter if a.result.is_some() => {
                self.notice = None;
                if self.check(|w| w.leave_apply()) {
                    self.busy = true;
                    return vec![Effect::Verify];
                }
                vec![]
            }
            _ => vec![],
        }
    }

    pub(super) fn verify(&mut self, action: Action) -> Vec<Effect> {
        if action != Action::Enter || self.busy {
            return vec![];
        }
        if self.wizard.verify.is_none() {
            self.busy = true;
            return vec![Effect::Verify];
        }
        self.check(|w| w.leave_verify());
        vec![]
    }

    pub(super) fn cleanup(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Up | Action::Down => self.cleanup_choice = 1 - self.cleanup_choice.min(1),
            Action::Enter => {
                let choice = if self.cleanup_choice == 0 {
                    CleanupAction::Archive
                } else {
                    CleanupAction::Remove
                };
                if self.check(|w| w.cleanup(choice)) {
                    self.check(|w| w.write_report().map(|_| ()));
                }
            }
            _ => {}
        }
        vec![]
    }
}
