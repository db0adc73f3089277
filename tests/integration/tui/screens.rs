//! Every wizard screen rendered into a 100×30 `TestBackend` and snapshotted.
//! The data is fixed; the session folder's path is replaced by `[session]`.

use super::fixtures::*;
use crate::support::temp_dir;
use pgalign::apply::Event;
use pgalign::journal::StatementError;
use pgalign::session::{ApplyResult, Step, VerifyResult};
use pgalign::tui::app::{App, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use std::time::Duration;

fn render(app: &App, dir: &std::path::Path) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| pgalign::tui::view::view(app, f)).unwrap();
    terminal
        .backend()
        .to_string()
        .replace(&dir.display().to_string(), "[session]")
}

macro_rules! snap {
    ($name:literal, $app:expr, $dir:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, render(&$app, $dir.path()));
        })
    };
}

#[test]
fn tui_screen_preflight() {
    let dir = temp_dir();
    let mut app = App::new(
        pgalign::session::Wizard::start(config(dir.path())).unwrap(),
        false,
    );
    app.init();
    snap!("preflight_loading", app, dir);
    app.update(Msg::Preflight(Ok(facts())));
    key(&mut app, KeyCode::Char(' '));
    key(&mut app, KeyCode::Down);
    key(&mut app, KeyCode::Char(' '));
    app.focus = pgalign::tui::app::FOCUS_OPERATOR;
    type_text(&mut app, "Ada Operator");
    snap!("preflight_checklist", app, dir);
}

#[test]
fn tui_screen_backup() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Preflight);
    app.wizard.checklist.ticked = [true; 5];
    app.wizard.checklist.operator = "Ada".into();
    app.wizard.checklist.rollback_owner = "Rita".into();
    app.wizard.confirm_checklist().unwrap();
    snap!("backup_prompt", app, dir);
    let app = app_at(dir.path(), Step::Backup);
    snap!("backup_verified", app, dir);
}

#[test]
fn tui_screen_diff() {
    let dir = temp_dir();
    let app = app_at(dir.path(), Step::Diff);
    snap!("diff", app, dir);
}

#[test]
fn tui_screen_review() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Review);
    snap!("review", app, dir);
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "Rex");
    snap!("review_signing", app, dir);
    key(&mut app, KeyCode::Char('?'));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('?'));
    snap!("review_help", app, dir);
}

#[test]
fn tui_screen_apply() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Apply);
    type_text(&mut app, "sho");
    snap!("apply_confirm", app, dir);
    type_text(&mut app, "p");
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Apply(Event::StatementStarted {
        step: 1,
        group: 1,
        title: String::new(),
    }));
    app.update(Msg::Apply(Event::StatementFinished {
        step: 1,
        duration: Duration::from_millis(4),
        rows: 0,
    }));
    app.update(Msg::Apply(Event::StatementStarted {
        step: 2,
        group: 1,
        title: String::new(),
    }));
    snap!("apply_running", app, dir);
    apply_all(&mut app);
    snap!("apply_done", app, dir);
}

#[test]
fn tui_screen_apply_failed() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Apply);
    type_text(&mut app, "shop");
    key(&mut app, KeyCode::Enter);
    let error = StatementError {
        sqlstate: Some("42P07".into()),
        message: "relation \"reviews\" already exists".into(),
        detail: Some("a concurrent migration created it".into()),
        hint: Some("run pgalign diff again".into()),
        plan_line: Some(17),
    };
    app.update(Msg::Apply(Event::StatementStarted {
        step: 1,
        group: 1,
        title: String::new(),
    }));
    app.update(Msg::Apply(Event::StatementFailed {
        step: 1,
        error: error.clone(),
    }));
    app.update(Msg::Apply(Event::GroupRolledBack { group: 1 }));
    app.update(Msg::ApplyDone(ApplyResult {
        committed: vec![],
        not_applied: (1..=6).collect(),
        failed: Some((1, error)),
        error: None,
    }));
    snap!("apply_failed", app, dir);
}

#[test]
fn tui_screen_verify_cleanup_report() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Apply);
    type_text(&mut app, "shop");
    key(&mut app, KeyCode::Enter);
    apply_all(&mut app);
    key(&mut app, KeyCode::Enter);
    snap!("verify_running", app, dir);
    app.update(Msg::Verify(Ok(VerifyResult {
        in_sync: true,
        remaining: vec![],
        fingerprint: "b".repeat(64),
    })));
    snap!("verify_in_sync", app, dir);
    key(&mut app, KeyCode::Enter);
    snap!("cleanup", app, dir);
    key(&mut app, KeyCode::Enter);
    snap!("report", app, dir);
}

#[test]
fn tui_screen_verify_differences_and_quit_dialog() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Apply);
    type_text(&mut app, "shop");
    key(&mut app, KeyCode::Enter);
    apply_all(&mut app);
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Verify(Ok(VerifyResult {
        in_sync: false,
        remaining: vec![
            "add column shop.orders.shipped_at".into(),
            "create index shop.orders_customer_id_idx".into(),
        ],
        fingerprint: "e".repeat(64),
    })));
    snap!("verify_differences", app, dir);
    key(&mut app, KeyCode::Char('q'));
    snap!("quit_dialog", app, dir);
}
