//! The wizard on an external plan (`--plan FILE`, no `--desired`): the Diff
//! step imports the file, Review shows its statements with the engine's
//! hazards, the apply runs for real, and Verify says plainly that there is no
//! desired schema to compare with.

use super::fixtures::*;
use crate::external::{MIGRATION, users_db};
use crate::support::{block_on, temp_dir};
use pgalign::hazard::{LintContext, lint_sql};
use pgalign::journal::{Entry, read};
use pgalign::plan::{Plan, parse_plan, render_plan};
use pgalign::session::{Config, PlanState, Step, tasks};
use pgalign::tui::app::{App, Effect, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use std::path::Path;

fn render(app: &App, dir: &Path) -> String {
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| pgalign::tui::view::view(app, f)).unwrap();
    terminal
        .backend()
        .to_string()
        .replace(&dir.display().to_string(), "[session]")
}

#[test]
fn tui_external_plan_is_imported_reviewed_applied_and_not_called_in_sync() {
    let db = users_db("tui_external");
    let dir = temp_dir();
    let file = dir.path().join("migration.sql");
    std::fs::write(&file, MIGRATION).unwrap();
    let config = Config {
        target: db.settings.clone(),
        desired: None,
        external_plan: Some(file.clone()),
        shadow: None,
        session_dir: dir.path().to_path_buf(),
        mode: pgalign::journal::Mode::Live,
        plan_options: Default::default(),
    };
    let mut app = app_at_diff(config.clone());

    // Diff: the external file is imported into the session's plan.sql.
    let plan = block_on(tasks::generate_plan(&config)).unwrap();
    assert_eq!(plan.path, dir.path().join("plan.sql"));
    app.update(Msg::Plan(Ok(plan)));
    assert!(render(&app, dir.path()).contains("external plan"));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Review, "{:?}", app.error);
    let steps = &app.wizard.plan.as_ref().unwrap().file.steps;
    assert_eq!(steps.len(), 3);
    assert_eq!(
        steps[2].title,
        "CREATE INDEX users_email_idx ON public.users"
    );
    assert!(!steps[2].transactional);
    let screen = render(&app, dir.path());
    assert!(screen.contains("3 statements"), "{screen}");
    assert!(screen.contains("DANGER 1"), "{screen}");

    // Review → sign-off → a real apply through the pinned engine.
    acknowledge_all(&mut app);
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "Rex Reviewer");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Apply, "{:?}", app.error);
    type_text(&mut app, &db.name);
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Apply(opts)] = effects.as_slice() else {
        panic!("{effects:?} {:?}", app.error);
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let pinned = app.wizard.plan.as_ref().unwrap().file.clone();
    let result = block_on(tasks::run_apply(
        config.clone(),
        app.wizard.journal_path(),
        pinned,
        opts.clone(),
        tx,
    ));
    assert!(result.ok(), "{result:?}");
    app.update(Msg::ApplyDone(result));
    assert!(matches!(
        key(&mut app, KeyCode::Enter).as_slice(),
        [Effect::Verify]
    ));
    assert_eq!(
        db.query_one("SELECT count(*)::text FROM public.users"),
        "500"
    );

    // Verify: nothing to compare with, said plainly; never "in sync".
    let verified = block_on(tasks::verify(&config)).unwrap();
    let fingerprint = verified.fingerprint.clone();
    app.update(Msg::Verify(Ok(verified)));
    let screen = render(&app, dir.path());
    assert!(
        screen.contains("no desired schema to compare with"),
        "{screen}"
    );
    assert!(screen.contains(&fingerprint[..40]), "{screen}");
    assert!(!screen.contains("IN SYNC"), "{screen}");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Report, "{:?}", app.error);
    assert_eq!(
        app.wizard.outcome(),
        pgalign::session::Outcome::AppliedUnverified
    );
    assert_eq!(app.wizard.exit_code(), pgalign::exit::Exit::Ok);

    let entries: Vec<Entry> = read(&dir.path().join("journal.jsonl"))
        .unwrap()
        .into_iter()
        .map(|r| r.entry)
        .collect();
    let notes: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Note { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("imported from the external file") && n.contains("migration.sql")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("no desired schema") && n.contains(&fingerprint)),
        "{notes:?}"
    );
    assert!(
        !entries.iter().any(|e| matches!(e, Entry::Verified { .. })),
        "no verification against a desired schema is claimed"
    );
    assert!(entries.iter().any(
        |e| matches!(e, Entry::SessionStarted { desired, .. } if desired.starts_with("external plan "))
    ));
}

/// An imported plan with fixed facts (linted without a database), as the
/// Diff step would have written it.
fn imported_state(dir: &Path) -> PlanState {
    let report = lint_sql(
        &format!("SET lock_timeout = '5s'; {MIGRATION}"),
        &LintContext {
            file: "migration.sql".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let mut report = report;
    report.statements.remove(0);
    let (steps, mut notes) =
        pgalign::plan::external::steps_from(&report, "migration.sql", 15).unwrap();
    notes.insert(0, "imported from migration.sql".into());
    let mut plan = Plan {
        live_fingerprint: "a".repeat(64),
        desired_fingerprint: "external".into(),
        steps,
        notes: notes.clone(),
        scope: Default::default(),
    };
    plan.renumber();
    let text = render_plan(
        &plan,
        "app@db.example.com:5432/shop",
        "2026-01-01T00:00:00Z",
    );
    let path = dir.join("plan.sql");
    std::fs::write(&path, &text).unwrap();
    PlanState {
        path,
        file: parse_plan(&text).unwrap(),
        notes,
        objects: vec![],
    }
}

#[test]
fn tui_external_screen_review_of_an_imported_plan() {
    let dir = temp_dir();
    let mut config = config(dir.path());
    config.desired = None;
    config.external_plan = Some("migration.sql".into());
    let mut app = app_at_diff(config);
    app.update(Msg::Plan(Ok(imported_state(dir.path()))));
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("diff_external", render(&app, dir.path()));
    });
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Review, "{:?}", app.error);
    key(&mut app, KeyCode::Char('n'));
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("review_external", render(&app, dir.path()));
    });
}
