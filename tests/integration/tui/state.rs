//! The state machine's transitions and refusals, driven with keys and task
//! results exactly as the terminal loop does, without a terminal.

use super::fixtures::*;
use crate::support::temp_dir;
use pgalign::apply::Event;
use pgalign::hazard::HazardId;
use pgalign::journal::{Entry, StatementError, read};
use pgalign::session::{ApplyResult, Step, StmtStatus, VerifyResult};
use pgalign::tui::app::{Effect, FOCUS_CONTINUE, Msg};
use ratatui::crossterm::event::KeyCode;
use std::time::Duration;

fn events(dir: &std::path::Path) -> Vec<String> {
    read(&dir.join("journal.jsonl"))
        .unwrap()
        .iter()
        .map(|r| {
            serde_json::to_value(&r.entry).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn tui_the_first_effect_is_preflight_and_nothing_else_runs() {
    let dir = temp_dir();
    let mut app = pgalign::tui::app::App::new(
        pgalign::session::Wizard::start(config(dir.path())).unwrap(),
        false,
    );
    let effects = app.init();
    assert!(matches!(effects.as_slice(), [Effect::Preflight]));
    assert!(app.busy);
    // Enter while preflight is running starts nothing more.
    assert!(key(&mut app, KeyCode::Enter).is_empty());
}

#[test]
fn tui_the_checklist_refuses_until_every_item_is_ticked_and_both_names_typed() {
    let dir = temp_dir();
    let mut app = new_app(dir.path());
    app.focus = FOCUS_CONTINUE;
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Preflight);
    assert!(
        app.error
            .as_deref()
            .unwrap()
            .contains("tick every checklist item"),
        "{:?}",
        app.error
    );
    app.wizard.checklist.ticked = [true; 5];
    key(&mut app, KeyCode::Enter);
    assert!(
        app.error.as_deref().unwrap().contains("operator's name"),
        "{:?}",
        app.error
    );
    app.wizard.checklist.operator = "Ada".into();
    key(&mut app, KeyCode::Enter);
    assert!(
        app.error.as_deref().unwrap().contains("rollback owner"),
        "{:?}",
        app.error
    );
    app.wizard.checklist.rollback_owner = "Rita".into();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Backup);
    assert_eq!(
        events(dir.path()),
        [
            "session-started",
            "preflight",
            "git-state",
            "checklist-confirmed"
        ]
    );
}

#[test]
fn tui_typing_in_a_name_field_types_q_instead_of_quitting() {
    let dir = temp_dir();
    let mut app = new_app(dir.path());
    app.focus = pgalign::tui::app::FOCUS_OPERATOR;
    type_text(&mut app, "Quinn?");
    assert_eq!(app.wizard.checklist.operator, "Quinn?");
    assert!(!app.quit_prompt && !app.help);
    key(&mut app, KeyCode::Backspace);
    assert_eq!(app.wizard.checklist.operator, "Quinn");
}

#[test]
fn tui_no_going_past_backup_without_a_verified_backup() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Backup);
    // app_at recorded a good backup; start over with a fresh session for the refusals.
    let dir2 = temp_dir();
    let mut fresh = new_app(dir2.path());
    fresh.wizard.checklist.ticked = [true; 5];
    fresh.wizard.checklist.operator = "Ada".into();
    fresh.wizard.checklist.rollback_owner = "Rita".into();
    fresh.wizard.confirm_checklist().unwrap();
    assert!(fresh.wizard.leave_backup().is_err());
    // An empty dump file is refused, and so is a missing one.
    let empty = backup(dir2.path(), b"");
    fresh.update(Msg::Backup(Ok(empty)));
    assert!(
        fresh.error.as_deref().unwrap().contains("is empty"),
        "{:?}",
        fresh.error
    );
    let mut missing = backup(dir2.path(), b"x");
    missing.path = dir2.path().join("nope.dump");
    fresh.update(Msg::Backup(Ok(missing)));
    assert!(
        fresh.error.as_deref().unwrap().contains("does not exist"),
        "{:?}",
        fresh.error
    );
    // A failed backup task: Enter retries the backup, it never moves on.
    fresh.update(Msg::Backup(Err("pg_dump failed: boom".into())));
    assert!(matches!(
        key(&mut fresh, KeyCode::Enter).as_slice(),
        [Effect::Backup]
    ));
    assert_eq!(fresh.wizard.step, Step::Backup);
    assert!(!events(dir2.path()).contains(&"backup-verified".to_string()));
    // The verified one goes on to Diff, which starts computing the plan.
    assert!(matches!(
        key(&mut app, KeyCode::Enter).as_slice(),
        [Effect::Diff]
    ));
    assert_eq!(app.wizard.step, Step::Diff);
}

/// The archive of an empty database lists no entries: `backup::run` read its
/// header and table of contents back, so the wizard goes on (issue #13: it
/// was stuck at Backup), and the journal says the database was empty.
#[test]
fn tui_the_backup_of_an_empty_database_is_not_stuck_at_backup() {
    let dir = temp_dir();
    let mut app = new_app(dir.path());
    app.wizard.checklist.ticked = [true; 5];
    app.wizard.checklist.operator = "Ada".into();
    app.wizard.checklist.rollback_owner = "Rita".into();
    app.wizard.confirm_checklist().unwrap();
    let mut empty_db = backup(dir.path(), b"PGDMP");
    empty_db.entries = 0;
    app.update(Msg::Backup(Ok(empty_db)));
    assert!(app.error.is_none(), "{:?}", app.error);
    let notes: Vec<String> = read(&dir.path().join("journal.jsonl"))
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Note { text } => Some(text),
            _ => None,
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("0 entries: the database was empty")),
        "{notes:?}"
    );
    assert!(events(dir.path()).contains(&"backup-verified".to_string()));
    assert!(matches!(
        key(&mut app, KeyCode::Enter).as_slice(),
        [Effect::Diff]
    ));
    assert_eq!(app.wizard.step, Step::Diff);
}

#[test]
fn tui_no_sign_off_without_a_reviewer_name_nor_by_the_operator() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Review);
    acknowledge_all(&mut app);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Review);
    assert!(
        app.error.as_deref().unwrap().contains("reviewer's name"),
        "{:?}",
        app.error
    );
    type_text(&mut app, "  ada operator ");
    key(&mut app, KeyCode::Enter);
    assert!(
        app.error
            .as_deref()
            .unwrap()
            .contains("other than the operator"),
        "{:?}",
        app.error
    );
    assert!(app.wizard.signoff.is_none());
    app.reviewer = "Rex Reviewer".into();
    key(&mut app, KeyCode::Enter);
    let s = app.wizard.signoff.clone().unwrap();
    assert_eq!(s.reviewer, "Rex Reviewer");
    assert_eq!(
        s.plan_sha256,
        app.wizard.plan.as_ref().unwrap().file.actual_sha256
    );
    assert_eq!(s.acknowledged, vec![HazardId::DataLoss]);
    assert_eq!(app.wizard.step, Step::Apply);
}

#[test]
fn tui_no_apply_without_the_typed_database_name_and_never_twice() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Apply);
    type_text(&mut app, "shop2");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(
        app.error.as_deref().unwrap().contains("type shop exactly"),
        "{:?}",
        app.error
    );
    assert!(!app.wizard.apply.started);
    assert!(app.typed_target.is_empty(), "a wrong name is cleared");
    type_text(&mut app, "shop");
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Apply(opts)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    let sha = app.wizard.plan.as_ref().unwrap().file.actual_sha256.clone();
    assert_eq!(opts.expect_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(
        opts.allowed.iter().copied().collect::<Vec<_>>(),
        vec![HazardId::DataLoss]
    );
    // While it runs, `c` cancels on the server; Enter does not start it again.
    assert!(matches!(
        key(&mut app, KeyCode::Char('c')).as_slice(),
        [Effect::CancelOnServer]
    ));
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(
        app.wizard.confirm_target("shop"),
        Err(pgalign::session::Refusal::AlreadyApplied)
    ));
}

#[test]
fn tui_a_failed_statement_stops_the_apply_and_says_what_was_rolled_back() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Apply);
    type_text(&mut app, "shop");
    key(&mut app, KeyCode::Enter);
    let error = StatementError {
        sqlstate: Some("23505".into()),
        message: "could not create unique index".into(),
        ..Default::default()
    };
    app.update(Msg::Apply(Event::StatementStarted {
        step: 1,
        group: 1,
        title: String::new(),
    }));
    app.update(Msg::Apply(Event::StatementFinished {
        step: 1,
        duration: Duration::from_millis(2),
        rows: 0,
    }));
    app.update(Msg::Apply(Event::StatementStarted {
        step: 2,
        group: 1,
        title: String::new(),
    }));
    app.update(Msg::Apply(Event::StatementFailed {
        step: 2,
        error: error.clone(),
    }));
    app.update(Msg::Apply(Event::GroupRolledBack { group: 1 }));
    app.update(Msg::ApplyDone(ApplyResult {
        committed: vec![],
        not_applied: (1..=6).collect(),
        failed: Some((2, error)),
        error: None,
    }));
    let st = &app.wizard.apply.statuses;
    assert_eq!(st[0], StmtStatus::RolledBack);
    assert_eq!(st[1], StmtStatus::Failed);
    assert_eq!(st[2], StmtStatus::NotApplied);
    assert_eq!(app.wizard.apply.rolled_back(), vec![1]);
    // Enter moves on to verification only; the plan is never re-run.
    assert!(matches!(
        key(&mut app, KeyCode::Enter).as_slice(),
        [Effect::Verify]
    ));
    assert_eq!(app.wizard.step, Step::Verify);
    app.update(Msg::Verify(Ok(VerifyResult {
        in_sync: false,
        remaining: vec!["x".into()],
        fingerprint: "f".into(),
    })));
    assert_eq!(app.wizard.outcome(), pgalign::session::Outcome::ApplyFailed);
    assert_eq!(app.wizard.exit_code(), pgalign::exit::Exit::Error);
}

#[test]
fn tui_the_whole_flow_journals_every_step_and_writes_the_report() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Apply);
    type_text(&mut app, "shop");
    key(&mut app, KeyCode::Enter);
    apply_all(&mut app);
    assert!(matches!(
        key(&mut app, KeyCode::Enter).as_slice(),
        [Effect::Verify]
    ));
    app.update(Msg::Verify(Ok(VerifyResult {
        in_sync: true,
        remaining: vec![],
        fingerprint: "b".repeat(64),
    })));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Cleanup);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Report);
    let (md, json) = app.wizard.report.clone().unwrap();
    assert!(md.is_file() && json.is_file());
    assert!(
        !dir.path().join("plan.sql").exists(),
        "the plan was archived under its hash"
    );
    let effects = key(&mut app, KeyCode::Enter);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Exit(pgalign::exit::Exit::Ok)]
    ));
    assert_eq!(
        events(dir.path()),
        [
            "session-started",
            "preflight",
            "git-state",
            "checklist-confirmed",
            "backup-verified",
            "backup-schema-dump",
            "plan-generated",
            "danger-acknowledged",
            "danger-acknowledged",
            "signed-off",
            "verified",
            "cleanup",
            "session-ended"
        ]
    );
    let records = read(&dir.path().join("journal.jsonl")).unwrap();
    assert!(
        matches!(&records.last().unwrap().entry, Entry::SessionEnded { outcome } if outcome == "aligned")
    );
}

#[test]
fn tui_ctrl_c_always_exits_130_and_q_asks_first() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Review);
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit_prompt);
    key(&mut app, KeyCode::Char('n'));
    assert!(!app.quit_prompt && app.exit.is_none());
    // Ctrl-C works even while typing into a field.
    acknowledge_all(&mut app);
    key(&mut app, KeyCode::Tab);
    let effects = ctrl_c(&mut app);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Exit(pgalign::exit::Exit::Aborted)]
    ));
    assert_eq!(events(dir.path()).last().unwrap(), "session-ended");
}

#[test]
fn tui_every_hint_is_a_key_the_registry_resolves() {
    let dir = temp_dir();
    for step in [Step::Preflight, Step::Backup, Step::Review, Step::Apply] {
        let app = app_at(dir.path().join(format!("{step:?}")).as_path(), step);
        for c in pgalign::tui::commands::active(&app) {
            for k in c.keys {
                let ev = ratatui::crossterm::event::KeyEvent::new(
                    *k,
                    ratatui::crossterm::event::KeyModifiers::NONE,
                );
                assert!(
                    pgalign::tui::commands::resolve(&app, ev).is_some(),
                    "{step:?}: {} does nothing",
                    c.label
                );
            }
        }
    }
}

#[test]
fn tui_the_highlighter_only_highlights_what_is_visible() {
    let lines: Vec<String> = (0..100_000)
        .map(|i| {
            if i % 3 == 0 {
                format!("-- pgalign:step {i} (1 line): x")
            } else {
                format!("ALTER TABLE t{i} ADD COLUMN c integer;")
            }
        })
        .collect();
    let h = pgalign::tui::highlight::Highlighter::default();
    let out = h.lines(&lines, 50_000..50_030, true);
    assert_eq!(out.len(), 30);
    assert!(h.cached() <= 40, "cached {} lines", h.cached());
    assert!(
        out[1].spans.len() > 1,
        "the SQL line is highlighted: {:?}",
        out[1]
    );
}
