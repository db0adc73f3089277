//! Issue 11, written as the attacks: plans whose comments lie (the hazards come
//! from the SQL), resume acting on the wrong index, and bytes that change
//! between review and execution.

use crate::support::*;
use pgalign::journal::{self, Entry};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// `pgalign diff` of `db` to `desired` (SQL), written to `dir/plan.sql`.
fn diff_plan(db: &TestDb, dir: &Path, desired: &str) -> PathBuf {
    let file = dir.join("desired.sql");
    std::fs::write(&file, desired).unwrap();
    let plan = dir.join("plan.sql");
    let o = run(&[
        "diff",
        "--db",
        &db.url(),
        "--desired",
        file.to_str().unwrap(),
        "--shadow",
        &admin().redacted_url(),
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    plan
}

fn apply(db: &TestDb, args: &[&str]) -> Output {
    let mut cmd = pgalign();
    cmd.args(["apply", "--db", &db.url(), "--confirm-target", &db.name])
        .args(args)
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

/// Rewrites the header's `body-sha256` to match the (edited) body, as an
/// attacker who knows the format would.
fn rehash(text: &str) -> String {
    let marker = "\n-- end of header\n";
    let at = text.find(marker).unwrap() + marker.len();
    let sha = pgalign::util::sha256_hex(&text.as_bytes()[at..]);
    let old = text
        .lines()
        .find(|l| l.starts_with("-- body-sha256: "))
        .unwrap();
    text.replacen(old, &format!("-- body-sha256: {sha}"), 1)
}

fn rows(db: &TestDb, table: &str) -> String {
    db.query_one(&format!("SELECT count(*)::text FROM {table}"))
}

fn column_exists(db: &TestDb, table: &str, column: &str) -> bool {
    db.query_one(&format!(
        "SELECT count(*)::text FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attname = '{column}' AND NOT attisdropped"
    )) == "1"
}

fn notes(journal: &Path) -> Vec<String> {
    journal::read(journal)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Note { text } => Some(text),
            _ => None,
        })
        .collect()
}

#[test]
fn forged_plan_with_danger_lines_stripped_and_a_drop_table_added_is_refused() {
    let db = test_db("sec_forged");
    db.exec(
        "CREATE TABLE public.victim (id int PRIMARY KEY, secret text);
         INSERT INTO public.victim SELECT g, 'row ' || g FROM generate_series(1, 100) g;
         CREATE TABLE public.t (id int PRIMARY KEY, legacy text);
         INSERT INTO public.t SELECT g, 'x' FROM generate_series(1, 10) g;
         ANALYZE;",
    );
    let dir = temp_dir();
    let plan = diff_plan(
        &db,
        dir.path(),
        "CREATE TABLE public.victim (id int PRIMARY KEY, secret text);
         CREATE TABLE public.t (id int PRIMARY KEY, added int);",
    );
    let honest = std::fs::read_to_string(&plan).unwrap();
    assert!(honest.contains("-- danger[data-loss]"), "{honest}");
    let stripped: String = honest
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("-- danger["))
        .collect();

    // 1. The attack of the issue: no danger lines, a DROP TABLE in a step, the
    //    hash recomputed. The added statement rides in the step that adds a
    //    column (its marker now says 2 lines).
    let add = stripped
        .lines()
        .find(|l| l.starts_with("ALTER TABLE public.t ADD COLUMN"))
        .unwrap()
        .to_string();
    let marker = stripped
        .lines()
        .rev()
        .skip_while(|l| *l != add)
        .find(|l| l.starts_with("-- pgalign:step "))
        .unwrap()
        .to_string();
    let forged = stripped
        .replacen(&marker, &marker.replace("(1 line)", "(2 lines)"), 1)
        .replacen(&add, &format!("{add}\nDROP TABLE public.victim;"), 1);
    let forged_path = dir.path().join("forged.sql");
    std::fs::write(&forged_path, rehash(&forged)).unwrap();
    let session = dir.path().join("s");
    let o = apply(
        &db,
        &[
            "--plan",
            forged_path.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("the plan was edited"), "{err}");

    // 1b. The DROP TABLE as a step of its own at the end of the honest plan,
    //     the header's count of statements raised to match, all allowed.
    let last: usize = honest
        .lines()
        .filter_map(|l| l.strip_prefix("-- pgalign:step "))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .max()
        .unwrap();
    assert!(honest.ends_with("\nCOMMIT;\n"), "{honest}");
    let forged = format!(
        "{}\n-- pgalign:step {} (1 line): analyze public.victim\nDROP TABLE public.victim;\n\nCOMMIT;\n",
        honest.strip_suffix("\nCOMMIT;\n").unwrap(),
        last + 1
    )
    .replacen(
        &format!("-- statements: {last}\n"),
        &format!("-- statements: {}\n", last + 1),
        1,
    );
    std::fs::write(&forged_path, rehash(&forged)).unwrap();
    let o = apply(
        &db,
        &[
            "--plan",
            forged_path.to_str().unwrap(),
            "--allow-hazards",
            "data-loss",
            "--session-dir",
            session.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("step {}: drops table public.victim", last + 1)),
        "{err}"
    );

    // 2. The same with the step's statement replaced outright, and every
    //    danger allowed: the plan does not name the drop, so it is refused.
    let forged = stripped.replacen(&add, "DROP TABLE public.victim;", 1);
    std::fs::write(&forged_path, rehash(&forged)).unwrap();
    let o = apply(
        &db,
        &[
            "--plan",
            forged_path.to_str().unwrap(),
            "--allow-hazards",
            "data-loss,lossy-cast",
            "--session-dir",
            session.to_str().unwrap(),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("drops table public.victim") && err.contains("the plan does not say so"),
        "{err}"
    );

    // 3. Only the danger lines stripped: the DROP COLUMN is still found.
    std::fs::write(&forged_path, rehash(&stripped)).unwrap();
    let o = apply(&db, &["--plan", forged_path.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("step 2: drops public.t")
            && err.contains("legacy")
            && err.contains("danger[data-loss]"),
        "{err}"
    );

    // 4. A statement spliced in between steps (psql would run it).
    let forged = honest.replacen("\nCOMMIT;\n", "\nDROP TABLE public.victim;\nCOMMIT;\n", 1);
    std::fs::write(&forged_path, rehash(&forged)).unwrap();
    let o = apply(
        &db,
        &[
            "--plan",
            forged_path.to_str().unwrap(),
            "--allow-hazards",
            "data-loss",
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("outside every step"), "{err}");

    // Nothing was applied by any of them, and the refusals are on record.
    assert_eq!(rows(&db, "public.victim"), "100");
    assert!(column_exists(&db, "public.t", "legacy"));
    assert!(!column_exists(&db, "public.t", "added"));
    let notes = notes(&session.join("journal.jsonl"));
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.starts_with("apply refused (exit 3)"))
            .count(),
        3,
        "{notes:?}"
    );

    // The honest plan still applies, with the danger it names allowed.
    let o = apply(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--allow-hazards",
            "data-loss",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(column_exists(&db, "public.t", "added"));
    assert_eq!(rows(&db, "public.victim"), "100");
}

#[test]
fn a_refusal_is_journaled_in_the_session_and_the_report_shows_it() {
    let db = test_db("sec_refusal_journal");
    // A value in the column: dropping it is a danger (an empty one is not).
    db.exec("CREATE TABLE public.t (id int, legacy text); INSERT INTO public.t VALUES (1, 'x')");
    let dir = temp_dir();
    let plan = diff_plan(&db, dir.path(), "CREATE TABLE public.t (id int);");
    let session = dir.path().join("s");
    let journal_path = session.join("journal.jsonl");
    // Danger not allowed, then the wrong target name.
    let o = apply(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let o = pgalign()
        .args(["apply", "--db", &db.url(), "--confirm-target", "prod"])
        .args(["--plan", plan.to_str().unwrap()])
        .args(["--session-dir", session.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let notes = notes(&journal_path);
    assert!(
        notes[0].starts_with("apply refused (exit 3)")
            && notes[0].contains("--allow-hazards data-loss"),
        "{notes:?}"
    );
    assert!(
        notes[1].contains("--confirm-target prod does not match"),
        "{notes:?}"
    );
    let report = run(&["report", "--journal", journal_path.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    assert!(
        stdout(&report).contains("apply refused (exit 3)"),
        "{}",
        stdout(&report)
    );
    assert!(column_exists(&db, "public.t", "legacy"));
}

#[test]
fn a_cr_inside_a_quoted_name_reaches_the_server_as_reviewed() {
    let db = test_db("sec_cr_bytes");
    let dir = temp_dir();
    let name = "we\r\nird\rname";
    let plan = diff_plan(
        &db,
        dir.path(),
        &format!("CREATE TABLE public.\"{name}\" (id int);"),
    );
    let text = std::fs::read(&plan).unwrap();
    assert!(
        text.windows(name.len()).any(|w| w == name.as_bytes()),
        "the plan file holds the name's bytes"
    );
    let parsed = pgalign::plan::parse_plan(std::str::from_utf8(&text).unwrap()).unwrap();
    assert!(
        parsed.steps[0].sql.contains(name),
        "{:?}",
        parsed.steps[0].sql
    );
    let o = apply(&db, &["--plan", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        db.query_one("SELECT encode(convert_to(relname, 'UTF8'), 'hex') FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'"),
        name.bytes().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let o = run(&[
        "verify",
        "--db",
        &db.url(),
        "--desired",
        dir.path().join("desired.sql").to_str().unwrap(),
        "--shadow",
        &admin().redacted_url(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_plan_saved_with_crlf_line_endings_is_refused_naming_the_line_endings() {
    let db = test_db("sec_crlf");
    let dir = temp_dir();
    let plan = diff_plan(&db, dir.path(), "CREATE TABLE public.a (id int);");
    let text = std::fs::read_to_string(&plan).unwrap();
    std::fs::write(&plan, text.replace('\n', "\r\n")).unwrap();
    let o = apply(&db, &["--plan", plan.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("line endings") && err.contains("CRLF") && err.contains("dos2unix"),
        "{err}"
    );
    // Only the body converted (an editor that kept the header): the same.
    let marker = "\n-- end of header\n";
    let at = text.find(marker).unwrap() + marker.len();
    let mixed = format!("{}{}", &text[..at], text[at..].replace('\n', "\r\n"));
    std::fs::write(&plan, mixed).unwrap();
    let o = apply(&db, &["--plan", plan.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("line endings (CRLF)"), "{}", stderr(&o));
    assert_eq!(
        db.query_one("SELECT (to_regclass('public.a') IS NULL)::text"),
        "true"
    );
}

/// Waits until a backend of `db` runs a query starting with `prefix`; its pid.
fn wait_for_query(db: &TestDb, prefix: &str) -> String {
    let started = Instant::now();
    loop {
        let pid = db.query_one(&format!(
            "SELECT max(pid)::text FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE '{prefix}%' AND pid <> pg_backend_pid()"
        ));
        if !pid.is_empty() {
            return pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no backend ran {prefix}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn terminate_and_wait(db: &TestDb, pid: &str) {
    db.exec(&format!("SELECT pg_terminate_backend({pid})"));
    let started = Instant::now();
    while db.query_one(&format!(
        "SELECT count(*)::text FROM pg_stat_activity WHERE pid = {pid}"
    )) != "0"
    {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `true`/`false` (valid or not) for the index `idx` of `schema`, or `missing`.
fn index_valid(db: &TestDb, schema: &str) -> String {
    db.query_one(&format!(
        "SELECT coalesce(max(i.indisvalid::text), 'missing') FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = '{schema}'::regnamespace AND c.relname = 'idx'"
    ))
}

/// Kills an apply in the middle of a slow `CREATE INDEX CONCURRENTLY` on
/// `"My Schema".t`, leaving `"My Schema".idx` INVALID beside an unrelated
/// `public.idx` (valid, or INVALID from a failed build of its own), then
/// resumes. The old resume split the SQL on spaces and looked `idx` up through
/// `search_path`: it found `public.idx`, and either called the build done or
/// dropped the wrong index.
fn resume_after_a_killed_build(public_invalid: bool) {
    let db = test_db(if public_invalid {
        "sec_idx_inv"
    } else {
        "sec_idx_ok"
    });
    db.exec(
        "CREATE SCHEMA \"My Schema\";
         CREATE FUNCTION \"My Schema\".slow(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN i; END $$;
         CREATE TABLE \"My Schema\".t (x int); INSERT INTO \"My Schema\".t SELECT g FROM generate_series(1, 8) g;
         CREATE TABLE public.other (x int); INSERT INTO public.other VALUES (1), (1);",
    );
    if public_invalid {
        // A failed unique build of its own leaves public.idx INVALID.
        let settings = db.settings.clone();
        let failed = block_on(async move {
            let c = pgalign::db::connect(&settings).await.unwrap();
            c.batch_execute("CREATE UNIQUE INDEX CONCURRENTLY idx ON public.other (x)")
                .await
        });
        assert!(failed.is_err());
    } else {
        db.exec("CREATE INDEX idx ON public.other (x)");
    }
    let public_before = index_valid(&db, "public");
    assert_eq!(public_before, if public_invalid { "false" } else { "true" });
    let dir = temp_dir();
    let plan = crate::apply::hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (
                2,
                false,
                "CREATE INDEX CONCURRENTLY idx ON \"My Schema\".t ((\"My Schema\".slow(x)));",
            ),
            (3, true, "CREATE TABLE public.b (x int);"),
        ],
    );
    let session = dir.path().join("s");
    let mut child = pgalign()
        .args(["apply", "--db", &db.url(), "--confirm-target", &db.name])
        .args([
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = wait_for_query(&db, "CREATE INDEX CONCURRENTLY");
    child.kill().unwrap();
    let _ = child.wait();
    terminate_and_wait(&db, &pid);
    assert_eq!(index_valid(&db, "\"My Schema\""), "false");

    let journal_path = session.join("journal.jsonl");
    let o = apply(&db, &["--resume", journal_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The index of the plan was rebuilt; the unrelated one is as it was.
    assert_eq!(index_valid(&db, "\"My Schema\""), "true");
    assert_eq!(index_valid(&db, "public"), public_before);
    assert_eq!(
        db.query_one("SELECT (to_regclass('public.b') IS NOT NULL)::text"),
        "true"
    );
    let notes = notes(&journal_path);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("dropped the INVALID index \"My Schema\".idx")),
        "{notes:?}"
    );
}

#[test]
fn resume_rebuilds_the_invalid_index_of_its_schema_not_a_valid_public_one_of_the_same_name() {
    resume_after_a_killed_build(false);
}

#[test]
fn resume_never_drops_an_unrelated_invalid_public_index_of_the_same_name() {
    resume_after_a_killed_build(true);
}

#[test]
fn the_wizards_apply_refuses_a_signed_off_plan_whose_sql_its_comments_do_not_name() {
    let db = test_db("sec_wizard_forged");
    db.exec(
        "CREATE TABLE public.victim (id int); INSERT INTO public.victim SELECT generate_series(1, 5);",
    );
    let dir = temp_dir();
    let honest = crate::apply::hand_plan(
        &db.settings,
        dir.path(),
        &[(1, true, "CREATE TABLE public.a (x int);")],
    );
    let text = std::fs::read_to_string(&honest).unwrap();
    let forged = rehash(&text.replace(
        "CREATE TABLE public.a (x int);",
        "DROP TABLE public.victim;",
    ));
    let file = pgalign::plan::parse_plan(&forged).unwrap();
    let config = pgalign::session::Config {
        target: db.settings.clone(),
        desired: None,
        external_plan: None,
        shadow: None,
        session_dir: dir.path().to_path_buf(),
        mode: pgalign::journal::Mode::Live,
        plan_options: Default::default(),
    };
    // Signed off as it is, every danger acknowledged: the SQL still decides.
    let opts = pgalign::apply::ApplyOptions {
        allowed: pgalign::hazard::HazardId::ALL.into_iter().collect(),
        expect_sha256: Some(file.actual_sha256.clone()),
        ..Default::default()
    };
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let journal_path = dir.path().join("journal.jsonl");
    let result = block_on(pgalign::session::tasks::run_apply(
        config,
        journal_path,
        file,
        opts,
        tx,
    ));
    let error = result.error.expect("refused");
    assert!(
        error.contains("drops table public.victim") && error.contains("the plan does not say so"),
        "{error}"
    );
    assert_eq!(rows(&db, "public.victim"), "5");
}
