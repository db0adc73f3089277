//! External SQL files in the CLI (issue #13, item 3): `apply --plan FILE
//! --expect-sha256`, `rehearse --plan FILE [--desired SRC]` and `pgalign pin`,
//! on real PostgreSQL with Prisma's own SQL (the documenso history of the
//! shared corpus) and hand-written files.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The documenso migrations of the shared corpus, first to last.
fn documenso() -> Option<Vec<PathBuf>> {
    let dir = corpus_dir()?.join("history/documenso");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    Some(files)
}

/// A database holding documenso's first two migrations, loaded with psql; the
/// third (`ALTER TABLE "Recipient" ADD COLUMN "signedAt"`) is the Prisma file
/// to apply.
fn documenso_db(label: &str) -> Option<(TestDb, Vec<PathBuf>)> {
    let files = documenso()?;
    let db = test_db(label);
    for f in &files[..2] {
        db.load(&std::fs::read_to_string(f).unwrap());
    }
    Some((db, files))
}

fn sha256(path: &Path) -> String {
    pgalign::util::sha256_hex(&std::fs::read(path).unwrap())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn apply(db: &Db, plan: &Path, session: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "apply",
        "--db",
        &db.url_string,
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &db.name,
        "--session-dir",
        session.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// `db.url()` kept alive for argument slices.
struct Db {
    db: TestDb,
    url_string: String,
}

impl std::ops::Deref for Db {
    type Target = TestDb;
    fn deref(&self) -> &TestDb {
        &self.db
    }
}

fn wrap(db: TestDb) -> Db {
    Db {
        url_string: db.url(),
        db,
    }
}

fn column_exists(db: &TestDb, table: &str, column: &str) -> bool {
    db.query_one(&format!(
        "SELECT count(*)::text FROM information_schema.columns WHERE table_name = '{table}' AND column_name = '{column}'"
    )) == "1"
}

#[test]
fn external_cli_prisma_file_applies_when_its_sha256_was_reviewed() {
    let Some((db, files)) = documenso_db("ext_cli_prisma") else {
        return;
    };
    let db = wrap(db);
    let session = temp_dir();
    let file = &files[2];
    let sha = sha256(file);
    let out = apply(&db, file, session.path(), &["--expect-sha256", &sha]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("(SHA-256 {sha}) linted against")),
        "{err}"
    );
    assert!(column_exists(&db, "Recipient", "signedAt"));
    // Journaled in the session folder, with the pinned plan beside it.
    let journal = std::fs::read_to_string(session.path().join("journal.jsonl")).unwrap();
    assert!(
        journal.contains("matches --expect-sha256; pinned as"),
        "{journal}"
    );
    assert!(
        journal.contains("\"event\":\"apply-finished\""),
        "{journal}"
    );
    let pinned = session.path().join(format!("pinned-{}.sql", &sha[..12]));
    let text = std::fs::read_to_string(&pinned).unwrap();
    assert!(text.starts_with("-- pgalign plan\n"), "{text}");
    assert!(pgalign::plan::parse_plan(&text).is_ok());
}

#[test]
fn external_cli_a_changed_byte_is_refused_and_nothing_is_applied() {
    let Some((db, files)) = documenso_db("ext_cli_changed") else {
        return;
    };
    let db = wrap(db);
    let dir = temp_dir();
    let reviewed = sha256(&files[2]);
    // One byte changed after review: `signedAt` becomes `signedAu`.
    let text = std::fs::read_to_string(&files[2])
        .unwrap()
        .replace("signedAt", "signedAu");
    let file = write(dir.path(), "migration.sql", &text);
    let session = dir.path().join("session");
    let out = apply(&db, &file, &session, &["--expect-sha256", &reviewed]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("pgalign: refused: external file")
            && err.contains("is not the one that was reviewed")
            && err.contains(&format!("expected {reviewed}")),
        "{err}"
    );
    assert!(!column_exists(&db, "Recipient", "signedAu"));
    assert!(!column_exists(&db, "Recipient", "signedAt"));
    // The refusal is journaled.
    let journal = std::fs::read_to_string(session.join("journal.jsonl")).unwrap();
    assert!(journal.contains("apply refused (exit 3)"), "{journal}");
}

#[test]
fn external_cli_without_expect_sha256_says_how_to_get_it() {
    let db = wrap(test_db("ext_cli_nosha"));
    db.exec("CREATE TABLE t (id int)");
    let dir = temp_dir();
    let file = write(dir.path(), "m.sql", "ALTER TABLE t ADD COLUMN c text;\n");
    let out = apply(&db, &file, &dir.path().join("s"), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("has no pgalign header")
            && err.contains("--expect-sha256")
            && err.contains(&format!(
                "`sha256sum {}` prints it: {}",
                file.display(),
                sha256(&file)
            )),
        "{err}"
    );
    assert!(!column_exists(&db, "t", "c"));
}

#[test]
fn external_cli_a_file_that_does_not_lint_names_its_line_and_applies_nothing() {
    let db = wrap(test_db("ext_cli_nolint"));
    db.exec("CREATE TABLE t (id int)");
    let dir = temp_dir();
    let file = write(
        dir.path(),
        "broken.sql",
        "BEGIN;\nALTER TABLE t ADD COLUMN c text;\nALTER TABLE t ADD COLUMN ;\nCOMMIT;\n",
    );
    let out = apply(
        &db,
        &file,
        &dir.path().join("s"),
        &["--expect-sha256", &sha256(&file)],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{}:3: the statement does not parse",
            file.display()
        )),
        "{err}"
    );
    assert!(!column_exists(&db, "t", "c"));
}

#[test]
fn external_cli_a_danger_needs_allow_hazards() {
    let db = wrap(test_db("ext_cli_danger"));
    db.exec(
        "CREATE TABLE t (id int PRIMARY KEY, legacy text);
         INSERT INTO t SELECT g, 'x' FROM generate_series(1, 100) g; ANALYZE t;",
    );
    let dir = temp_dir();
    let file = write(
        dir.path(),
        "drop.sql",
        "BEGIN;\nALTER TABLE public.t DROP COLUMN legacy;\nCOMMIT;\n",
    );
    let sha = sha256(&file);
    let out = apply(
        &db,
        &file,
        &dir.path().join("s1"),
        &["--expect-sha256", &sha],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("pass --allow-hazards data-loss"), "{err}");
    assert!(column_exists(&db, "t", "legacy"));

    let out = apply(
        &db,
        &file,
        &dir.path().join("s2"),
        &["--expect-sha256", &sha, "--allow-hazards", "data-loss"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!column_exists(&db, "t", "legacy"));
    assert_eq!(db.query_one("SELECT count(*)::text FROM t"), "100");
}

#[test]
fn external_cli_rehearse_checks_convergence_only_against_desired() {
    let Some((db, files)) = documenso_db("ext_cli_rehearse") else {
        return;
    };
    let db = wrap(db);
    let dir = temp_dir();
    let file = files[2].to_str().unwrap();
    // The desired schema: the first three migrations, in name order.
    let desired = dir.path().join("desired");
    std::fs::create_dir(&desired).unwrap();
    for f in &files[..3] {
        std::fs::copy(f, desired.join(f.file_name().unwrap())).unwrap();
    }
    let rehearse = |extra: &[&str]| {
        let mut args = vec!["rehearse", "--db", &db.url_string, "--plan", file];
        args.extend_from_slice(extra);
        run(&args)
    };

    let out = rehearse(&[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}{text}", stderr(&out));
    assert!(text.contains("convergence not checked"), "{text}");
    assert!(!text.contains("NOT converged"), "{text}");

    let out = rehearse(&["--desired", desired.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}{text}", stderr(&out));
    assert!(
        text.contains("converged: the scratch copy matches the desired schema"),
        "{text}"
    );

    // Against the first two migrations only, the file overshoots.
    std::fs::remove_file(desired.join(files[2].file_name().unwrap())).unwrap();
    let out = rehearse(&["--desired", desired.to_str().unwrap()]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{}{text}", stderr(&out));
    assert!(text.contains("NOT converged"), "{text}");

    // A wrong --expect-sha256 is refused before any copy is made.
    let out = rehearse(&["--expect-sha256", &"0".repeat(64)]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // The live database was never touched.
    assert!(!column_exists(&db, "Recipient", "signedAt"));
}

#[test]
fn external_cli_pin_then_plain_apply_then_verify() {
    let Some((db, files)) = documenso_db("ext_cli_pin") else {
        return;
    };
    let db = wrap(db);
    let dir = temp_dir();
    let plan = dir.path().join("plan.sql");
    let out = run(&[
        "pin",
        files[2].to_str().unwrap(),
        "--db",
        &db.url_string,
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&plan).unwrap();
    let pinned = pgalign::plan::parse_plan(&text).unwrap();
    assert_eq!(pinned.header.desired_fingerprint, "external");
    assert!(stdout(&out).contains(&format!("body-sha256: {}", pinned.actual_sha256)));
    assert!(
        text.contains(&format!("(SHA-256 {})", sha256(&files[2]))),
        "{text}"
    );
    // The lint's hazards are the steps' comments.
    assert!(text.contains("-- info[lock]:"), "{text}");
    assert!(pgalign::apply::sidecar_path(&plan).is_file());

    let out = apply(
        &db,
        &plan,
        &dir.path().join("s"),
        &["--expect-sha256", &pinned.actual_sha256],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let desired = dir.path().join("desired");
    std::fs::create_dir(&desired).unwrap();
    for f in &files[..3] {
        std::fs::copy(f, desired.join(f.file_name().unwrap())).unwrap();
    }
    let out = run(&[
        "verify",
        "--db",
        &db.url_string,
        "--desired",
        desired.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn external_cli_a_pinned_plan_refuses_after_drift() {
    let db = wrap(test_db("ext_cli_pin_drift"));
    db.exec("CREATE TABLE t (id int)");
    let dir = temp_dir();
    let file = write(
        dir.path(),
        "m.sql",
        "ALTER TABLE public.t ADD COLUMN c text;\n",
    );
    let plan = dir.path().join("plan.sql");
    let out = run(&[
        "pin",
        file.to_str().unwrap(),
        "--db",
        &db.url_string,
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    db.exec("CREATE TABLE drifted (id int)");
    let out = apply(&db, &plan, &dir.path().join("s"), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("the live schema drifted"), "{err}");
    assert!(err.contains("drifted"), "{err}");
    assert!(!column_exists(&db, "t", "c"));
}
