//! `wizard --resume JOURNAL`: a session whose apply stopped after its first
//! group committed is reopened from its journal at the Apply step, continues
//! without running a committed group again, verifies and reports both runs;
//! and the refusals (nothing to resume, plan edited after sign-off, another
//! database, a journal without the desired schema).

use super::fixtures::*;
use crate::support::{block_on, run, stderr, temp_dir, test_db};
use pgalign::journal::{Entry, Journal, read};
use pgalign::session::{Config, Step, Wizard, resume, tasks};
use pgalign::tui::app::{App, Effect, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use std::path::Path;

fn render(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(140, 30)).unwrap();
    terminal.draw(|f| pgalign::tui::view::view(app, f)).unwrap();
    terminal.backend().to_string()
}

fn entries(journal: &Path) -> Vec<Entry> {
    read(journal)
        .unwrap()
        .into_iter()
        .map(|r| r.entry)
        .collect()
}

const LIVE: &str = "CREATE TABLE public.t (id integer PRIMARY KEY, code text);
INSERT INTO public.t SELECT g, 'c' || (g % 50) FROM generate_series(1, 200) g;
ANALYZE public.t;";
const DESIRED: &str = "CREATE TABLE public.t (id integer PRIMARY KEY, code text);
CREATE UNIQUE INDEX t_code_key ON public.t (code);
CREATE TABLE public.u (id integer PRIMARY KEY, t_id integer);";

#[test]
fn tui_resume_continues_an_interrupted_apply_without_rerunning_a_committed_group() {
    let live = test_db("tui_resume_live");
    let desired = test_db("tui_resume_desired");
    live.load(LIVE);
    desired.load(DESIRED);
    let base = temp_dir();
    let dir = base.path().join("20260101T000000Z");
    std::fs::create_dir(&dir).unwrap();
    let config = Config {
        target: live.settings.clone(),
        desired: Some(desired.settings.redacted_url()),
        external_plan: None,
        shadow: None,
        session_dir: dir.clone(),
        mode: pgalign::journal::Mode::Live,
        plan_options: Default::default(),
    };
    let journal = dir.join("journal.jsonl");

    // First attempt: sign off, apply; the unique index fails on duplicates
    // after the first group (create table u) committed.
    let mut app = app_at_diff(config.clone());
    let plan = block_on(tasks::generate_plan(&config)).unwrap();
    app.update(Msg::Plan(Ok(plan)));
    key(&mut app, KeyCode::Enter);
    acknowledge_all(&mut app);
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "Rex Reviewer");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Apply, "{:?}", app.error);
    let steps = app.wizard.plan.as_ref().unwrap().file.steps.clone();
    let index_step = steps
        .iter()
        .find(|s| s.sql.contains("CREATE UNIQUE INDEX"))
        .unwrap_or_else(|| panic!("{steps:#?}"));
    let first_group: Vec<usize> = steps
        .iter()
        .filter(|s| s.group < index_step.group)
        .map(|s| s.number)
        .collect();
    assert!(!first_group.is_empty(), "{steps:#?}");
    type_text(&mut app, &live.name);
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Apply(opts)] = effects.as_slice() else {
        panic!("{effects:?} {:?}", app.error);
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let pinned = app.wizard.plan.as_ref().unwrap().file.clone();
    let result = block_on(tasks::run_apply(
        config.clone(),
        journal.clone(),
        pinned,
        opts.clone(),
        tx,
    ));
    assert!(!result.ok(), "{result:?}");
    assert_eq!(result.failed.as_ref().map(|f| f.0), Some(index_step.number));
    app.update(Msg::ApplyDone(result));
    // The operator quits: the session ends with the apply unfinished.
    ctrl_c(&mut app);
    drop(app);
    assert_eq!(
        live.query_one("SELECT count(*)::text FROM pg_class WHERE relname = 'u'"),
        "1"
    );

    // The startup hint finds it (no terminal here: the wizard then stops).
    let plan_file = dir.join("plan.sql");
    let o = run(&[
        "wizard",
        "--db",
        &live.settings.redacted_url(),
        "--plan",
        plan_file.to_str().unwrap(),
        "--session-dir",
        base.path().to_str().unwrap(),
    ]);
    assert!(
        stderr(&o).contains(&format!(
            "pgalign: an interrupted apply was found in {}: resume it with pgalign wizard --resume {}",
            dir.display(),
            journal.display()
        )),
        "{}",
        stderr(&o)
    );
    // A new session's Preflight shows it as a notice.
    let next_session = base.path().join("next");
    std::fs::create_dir_all(&next_session).unwrap();
    let facts = block_on(pgalign::session::preflight::gather(
        &live.settings,
        &next_session,
    ))
    .unwrap();
    assert!(
        facts.checks().iter().any(|c| !c.ok
            && c.name == "notice"
            && c.detail
                .contains(&format!("pgalign wizard --resume {}", journal.display()))),
        "{:?}",
        facts.checks()
    );

    // The rollback owner fixes the data; the wizard is reopened on the journal.
    live.exec("UPDATE public.t SET code = 'c' || id");
    let from = resume::load(&journal).unwrap();
    from.check_target(&live.settings).unwrap();
    let config2 = from
        .config(live.settings.clone(), None, None, Default::default())
        .unwrap();
    assert_eq!(config2.desired, config.desired);
    assert_eq!(config2.session_dir, dir);
    let mut app = App::new(Wizard::resume(config2.clone(), from).unwrap(), false);
    assert_eq!(app.wizard.step, Step::Apply);
    assert!(app.init().is_empty(), "preflight is not repeated");
    assert!(!app.busy);
    assert_eq!(
        app.wizard.signoff.as_ref().unwrap().reviewer,
        "Rex Reviewer"
    );
    let screen = render(&app);
    assert!(
        screen.contains("resuming: group 1 already committed"),
        "{screen}"
    );
    type_text(&mut app, "wrong");
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    type_text(&mut app, &live.name);
    let effects = key(&mut app, KeyCode::Enter);
    let [Effect::Apply(opts)] = effects.as_slice() else {
        panic!("{effects:?} {:?}", app.error);
    };
    assert_eq!(
        app.wizard.apply.statuses[first_group[0] - 1],
        pgalign::session::StmtStatus::CommittedBefore
    );
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let result = block_on(tasks::resume_apply(
        config2.clone(),
        journal.clone(),
        plan_file.clone(),
        opts.clone(),
        tx,
    ));
    assert!(result.ok(), "{result:?}");
    app.update(Msg::ApplyDone(result));
    assert!(matches!(
        key(&mut app, KeyCode::Enter).as_slice(),
        [Effect::Verify]
    ));
    let verified = block_on(tasks::verify(&config2)).unwrap();
    assert!(verified.in_sync, "{verified:?}");
    app.update(Msg::Verify(Ok(verified)));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Report, "{:?}", app.error);
    assert_eq!(app.wizard.outcome(), pgalign::session::Outcome::Aligned);

    // Group 1 ran once; the index ran twice (failed, then rebuilt).
    let all = entries(&journal);
    let started = |n: usize| {
        all.iter()
            .filter(|e| matches!(e, Entry::StatementStarted { step, .. } if *step == n))
            .count()
    };
    for n in &first_group {
        assert_eq!(started(*n), 1, "step {n} ran again");
    }
    assert_eq!(started(index_step.number), 2);
    assert!(all.iter().any(|e| matches!(e, Entry::ApplyResumed { .. })));
    assert!(all.iter().any(
        |e| matches!(e, Entry::Note { text } if text.contains("resumed with `pgalign wizard --resume`"))
    ));
    assert_eq!(
        live.query_one(
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'public.t_code_key'::regclass"
        ),
        "true"
    );
    let (md, _) = app.wizard.report.clone().unwrap();
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("resumed the run of"), "{md}");
    assert!(md.contains("Rex Reviewer"), "{md}");
    assert!(
        md.contains("could not create unique index") || md.contains("23505"),
        "the first attempt's failure is in the report: {md}"
    );
}

/// A fixture session signed off, whose journal then records a run that
/// committed its one group and was killed before journaling its end.
fn interrupted_fixture(dir: &Path) -> std::path::PathBuf {
    let app = app_at(dir, Step::Apply);
    let journal = app.wizard.journal_path();
    let sha = app.wizard.signoff.as_ref().unwrap().plan_sha256.clone();
    drop(app);
    let mut j = Journal::open(&journal).unwrap();
    for e in [
        Entry::ApplyPlan {
            path: dir.join("plan.sql").display().to_string(),
            plan_sha256: sha.clone(),
            backend_pid: Some(1),
        },
        Entry::ApplyStarted {
            plan_sha256: sha,
            statements: 6,
            lock_timeout_ms: 5000,
            statement_timeout_ms: None,
        },
        Entry::GroupBegun {
            group: 1,
            steps: (1..=6).collect(),
            txid: 1,
            attempt: 1,
        },
        Entry::GroupCommitted {
            group: 1,
            steps: (1..=6).collect(),
        },
    ] {
        j.append(e).unwrap();
    }
    journal
}

const FIXTURE_DB: &str = "host=db.example.com port=5432 user=app dbname=shop sslmode=disable";

fn resume_cli(journal: &Path, db: &str) -> std::process::Output {
    run(&["wizard", "--resume", journal.to_str().unwrap(), "--db", db])
}

#[test]
fn tui_resume_refuses_a_session_with_nothing_to_resume() {
    let dir = temp_dir();
    let app = app_at(dir.path(), Step::Apply);
    let journal = app.wizard.journal_path();
    drop(app);
    let o = resume_cli(&journal, FIXTURE_DB);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("nothing to resume: it records no apply run"),
        "{}",
        stderr(&o)
    );
    // A finished run has nothing to resume either.
    Journal::open(&journal)
        .unwrap()
        .append(Entry::ApplyStarted {
            plan_sha256: "x".into(),
            statements: 6,
            lock_timeout_ms: 5000,
            statement_timeout_ms: None,
        })
        .unwrap();
    Journal::open(&journal)
        .unwrap()
        .append(Entry::ApplyFinished {
            ok: true,
            committed: (1..=6).collect(),
            not_applied: vec![],
        })
        .unwrap();
    let o = resume_cli(&journal, FIXTURE_DB);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("nothing to resume: its apply finished"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tui_resume_refuses_another_database_and_an_edited_plan() {
    let dir = temp_dir();
    let journal = interrupted_fixture(dir.path());
    // The journal is resumable as it is; it says what committed.
    let from = resume::load(&journal).unwrap();
    assert!(
        from.summary()
            .starts_with("group 1 already committed (steps 1–6), never run again"),
        "{}",
        from.summary()
    );

    for db in [
        "host=db.example.com port=5432 user=app dbname=shop2 sslmode=disable",
        "host=db2.example.com port=5432 user=app dbname=shop sslmode=disable",
    ] {
        let o = resume_cli(&journal, db);
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("it records a session on app@db.example.com:5432/shop"),
            "{}",
            stderr(&o)
        );
    }

    let plan = dir.path().join("plan.sql");
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(
        &plan,
        text.replace("DROP TABLE shop.old_carts;", "SELECT 1;"),
    )
    .unwrap();
    let o = resume_cli(&journal, FIXTURE_DB);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("was changed after the reviewer signed it off"),
        "{}",
        stderr(&o)
    );
    assert!(
        !entries(&journal)
            .iter()
            .any(|e| matches!(e, Entry::Note { text } if text.contains("resumed"))),
        "a refused resume writes nothing"
    );
}

#[test]
fn tui_resume_of_an_older_journal_asks_for_the_desired_schema() {
    let dir = temp_dir();
    let journal = interrupted_fixture(dir.path());
    // Rewrite the journal as an older pgalign wrote it: no wizard setup.
    let records = read(&journal).unwrap();
    let mut text = String::new();
    for mut r in records {
        if let Entry::SessionStarted { wizard, .. } = &mut r.entry {
            *wizard = None;
        }
        text.push_str(&serde_json::to_string(&r).unwrap());
        text.push('\n');
    }
    std::fs::write(&journal, text).unwrap();
    let o = resume_cli(&journal, FIXTURE_DB);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("pass --desired SRC to resume"),
        "{}",
        stderr(&o)
    );
    // With --desired it gets as far as needing a terminal.
    let o = run(&[
        "wizard",
        "--resume",
        journal.to_str().unwrap(),
        "--db",
        FIXTURE_DB,
        "--desired",
        "cmd:cat schema.sql",
    ]);
    assert!(
        stderr(&o).contains("needs an interactive terminal"),
        "{}",
        stderr(&o)
    );
}
