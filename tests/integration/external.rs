//! External plans (`wizard --plan FILE`): a hand-written migration imported,
//! linted and sized by the same engine as `pgalign lint --db`, then applied
//! by the pinned apply like any plan pgalign computed.

use crate::support::*;
use pgalign::apply::{ApplyOptions, Refusal};
use pgalign::hazard::{HazardId, Severity};
use pgalign::plan::{Plan, parse_plan, render_plan};
use std::path::{Path, PathBuf};

pub const MIGRATION: &str = "\
-- a hand-written migration
BEGIN;
-- pgalign:allow breaks-clients the app stopped reading middle_name in v42
ALTER TABLE public.users DROP COLUMN middle_name;
ALTER TABLE public.users ADD COLUMN nickname text;
COMMIT;

CREATE INDEX CONCURRENTLY users_email_idx ON public.users (email);
";

/// A database whose `public.users` holds 500 rows, analysed.
pub fn users_db(label: &str) -> TestDb {
    let db = test_db(label);
    db.exec(
        "CREATE TABLE public.users (id int PRIMARY KEY, email text, middle_name text);
         INSERT INTO public.users SELECT g, 'u' || g || '@example.com', 'M' FROM generate_series(1, 500) g;
         ANALYZE public.users;",
    );
    db
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn import(file: &Path, db: &TestDb) -> anyhow::Result<Plan> {
    let (file, target) = (file.to_path_buf(), db.settings.clone());
    block_on(async move { pgalign::plan::external::import(&file, &target).await })
}

#[test]
fn external_import_lints_sizes_and_groups_each_statement() {
    let db = users_db("external_import");
    let dir = temp_dir();
    let plan = import(&write(dir.path(), "migration.sql", MIGRATION), &db).unwrap();

    let titles: Vec<&str> = plan.steps.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "ALTER TABLE public.users",
            "ALTER TABLE public.users",
            "CREATE INDEX users_email_idx ON public.users"
        ]
    );
    let drop = &plan.steps[0];
    assert_eq!(
        drop.sql,
        "ALTER TABLE public.users DROP COLUMN middle_name;"
    );
    let loss = drop
        .hazards
        .iter()
        .find(|h| h.id == HazardId::DataLoss)
        .unwrap();
    assert_eq!(loss.severity, Severity::Danger, "{loss:?}");
    assert!(
        loss.figures.as_deref().is_some_and(|f| f.contains("500")),
        "sized by rows: {:?}",
        loss.figures
    );
    let ack = drop
        .hazards
        .iter()
        .find(|h| h.id == HazardId::BreaksClients)
        .unwrap();
    assert!(
        ack.detail
            .contains("acknowledged in the file: pgalign:allow breaks-clients the app stopped"),
        "{}",
        ack.detail
    );
    // pgalign applies under a lock_timeout: the lock is info, as in its own plans.
    let lock = drop
        .hazards
        .iter()
        .find(|h| h.id == HazardId::Lock)
        .unwrap();
    assert_eq!(lock.severity, Severity::Info, "{lock:?}");
    assert!(!drop.hazards.iter().any(|h| h.id == HazardId::Session));

    let index = &plan.steps[2];
    assert!(!index.transactional);
    assert!(
        index
            .hazards
            .iter()
            .any(|h| h.id == HazardId::NonTransactional && h.severity == Severity::Warning)
    );
    let groups: Vec<(usize, bool)> = plan
        .steps
        .iter()
        .map(|s| (s.group, s.transactional))
        .collect();
    assert_eq!(groups, [(1, true), (1, true), (2, false)]);

    assert_eq!(plan.desired_fingerprint, "external");
    let settings = db.settings.clone();
    let live = block_on(async move { pgalign::catalog::inspect(&settings).await.unwrap() });
    assert_eq!(
        plan.live_fingerprint,
        pgalign::catalog::Scope::default().fingerprint(&live.model)
    );
    assert!(
        plan.notes[0].starts_with("imported from "),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("(line 2, 6) were replaced by pgalign's transaction groups")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn external_plan_renders_parses_and_applies() {
    let db = users_db("external_apply");
    let dir = temp_dir();
    let plan = import(&write(dir.path(), "migration.sql", MIGRATION), &db).unwrap();
    let text = render_plan(&plan, &db.settings.to_string(), "2026-01-01T00:00:00Z");
    assert!(text.contains("-- note: imported from "));
    let file = parse_plan(&text).unwrap();
    // The file holds everything but the figures (sizes, counts), which stay
    // out of the body so that its bytes do not change with the data.
    let mut without_figures = plan.steps.clone();
    without_figures
        .iter_mut()
        .flat_map(|s| &mut s.hazards)
        .for_each(|h| h.figures = None);
    assert_eq!(file.steps, without_figures);
    assert!(plan.steps[0].hazards[0].figures.is_some());

    // Not allowed: data-loss is a danger the reviewer has to acknowledge.
    let target = db.settings.clone();
    let f = file.clone();
    let refused = block_on(async move {
        pgalign::apply::run(&target, &f, &ApplyOptions::default(), None, None).await
    });
    let err = refused.expect_err("refused without --allow-hazards");
    assert!(
        matches!(
            err.downcast_ref::<Refusal>(),
            Some(Refusal::HazardsNotAllowed { .. })
        ),
        "{err:#}"
    );

    let opts = ApplyOptions {
        allowed: [HazardId::DataLoss].into_iter().collect(),
        ..Default::default()
    };
    let target = db.settings.clone();
    let outcome = block_on(async move {
        pgalign::apply::run(&target, &file, &opts, None, None)
            .await
            .unwrap()
    });
    assert!(outcome.ok(), "{outcome:?}");
    let columns = db.query_one(
        "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
          WHERE attrelid = 'public.users'::regclass AND attnum > 0 AND NOT attisdropped",
    );
    assert_eq!(columns, "id,email,nickname");
    assert_eq!(
        db.query_one(
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'public.users_email_idx'::regclass"
        ),
        "true"
    );
    assert_eq!(
        db.query_one("SELECT count(*)::text FROM public.users"),
        "500"
    );
}

#[test]
fn external_plan_edited_after_import_is_refused_by_apply() {
    let db = users_db("external_edited");
    let dir = temp_dir();
    let plan = import(&write(dir.path(), "migration.sql", MIGRATION), &db).unwrap();
    let text = render_plan(&plan, &db.settings.to_string(), "2026-01-01T00:00:00Z");
    let edited = write(
        dir.path(),
        "plan.sql",
        &text.replace("ADD COLUMN nickname text", "ADD COLUMN nickname bigint"),
    );
    let url = db.url();
    let out = run(&[
        "apply",
        "--db",
        &url,
        "--plan",
        edited.to_str().unwrap(),
        "--confirm-target",
        &db.name,
        "--allow-hazards",
        "data-loss",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("edited after it was generated"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        db.query_one("SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'middle_name' AND NOT attisdropped"),
        "1",
        "nothing ran"
    );
}

#[test]
fn external_what_cannot_become_a_step_is_an_error_naming_file_and_line() {
    let db = users_db("external_errors");
    let dir = temp_dir();
    for (text, wants) in [
        (
            "ALTER TABLE users ADD COLUMN a int;\n\\connect other\nSELECT 1;\n",
            ":2: the psql meta-command `\\connect other`",
        ),
        (
            "SAVEPOINT a;\nALTER TABLE users ADD COLUMN a int;\n",
            ":1: SAVEPOINT cannot become a step",
        ),
        ("BEGIN;\nCOMMIT;\n", "has no statements to apply"),
    ] {
        let file = write(dir.path(), "bad.sql", text);
        let err = format!("{:#}", import(&file, &db).unwrap_err());
        assert!(err.contains("bad.sql"), "{err}");
        assert!(err.contains(wants), "{err}");
    }
}

#[test]
fn external_the_wizard_needs_a_desired_schema_or_a_plan() {
    let out = run(&["wizard", "--db", "postgres://u@localhost:1/x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--desired SRC (or --plan FILE"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "wizard",
        "--db",
        "postgres://u@localhost:1/x",
        "--plan",
        "/nonexistent/migration.sql",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("external plan /nonexistent/migration.sql is not a readable file"),
        "{}",
        stderr(&out)
    );
}
