//! `pgalign rehearse`: the plan runs on a scratch copy that is always dropped;
//! the source database is never touched.

use crate::support::*;

/// How many of the scratch databases a rehearsal's output names still exist
/// (every rehearsal names its scratch database, on success and on error).
pub fn scratch_left(o: &std::process::Output) -> usize {
    let text = format!("{}{}", stdout(o), stderr(o));
    let names: Vec<String> = text
        .match_indices("pgalign_scratch_")
        .map(|(i, _)| {
            let rest = &text[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .collect();
    assert!(!names.is_empty(), "no scratch database named in: {text}");
    let admin = admin();
    block_on(async move {
        let c = pgalign::db::connect(&admin).await.unwrap();
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_database WHERE datname = ANY($1)",
                &[&names],
            )
            .await
            .unwrap()
            .get(0);
        n as usize
    })
}

fn plan_for(live: &TestDb, want: &TestDb, dir: &std::path::Path) -> std::path::PathBuf {
    plan_with(live, want, dir, &[])
}

fn plan_with(
    live: &TestDb,
    want: &TestDb,
    dir: &std::path::Path,
    extra: &[&str],
) -> std::path::PathBuf {
    let plan = dir.join("plan.sql");
    let (live, want) = (live.url(), want.url());
    let mut args = vec![
        "diff",
        "--db",
        &live,
        "--desired",
        &want,
        "-o",
        plan.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    plan
}

#[test]
fn a_rehearsal_converges_and_leaves_the_source_and_server_untouched() {
    let live = test_db("rehearse_live");
    live.exec(
        "CREATE TABLE customers (id serial PRIMARY KEY, email varchar(50) NOT NULL, legacy text);
         INSERT INTO customers (email, legacy) SELECT 'u' || g, 'old' FROM generate_series(1, 40) g;",
    );
    let want = test_db("rehearse_want");
    want.exec(
        "CREATE TABLE customers (id serial PRIMARY KEY, email varchar(120) NOT NULL, name text);
         CREATE INDEX customers_email ON customers (email);",
    );
    let dir = temp_dir();
    let plan = plan_for(&live, &want, dir.path());
    let before = run(&["inspect", "--db", &live.url(), "--format", "json"]);

    let o = run(&[
        "rehearse",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("converged"), "{out}");
    assert_eq!(scratch_left(&o), 0, "no scratch database is left");
    assert!(
        out.contains("drop column") || out.contains("legacy"),
        "per-statement table: {out}"
    );

    let after = run(&["inspect", "--db", &live.url(), "--format", "json"]);
    assert_eq!(
        stdout(&before),
        stdout(&after),
        "the source schema is unchanged"
    );
    assert_eq!(
        live.query_one("SELECT count(legacy)::text FROM customers"),
        "40"
    );

    // The same plan, rehearsed from a backup of the source.
    let o = run(&[
        "backup",
        "--db",
        &live.url(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dump = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("backup:"))
        .unwrap()
        .trim()
        .to_string();
    let o = run(&[
        "rehearse",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--from-backup",
        &dump,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("backup file"), "{}", stdout(&o));
    assert_eq!(scratch_left(&o), 0);
}

#[test]
fn a_failing_plan_does_not_converge_and_the_scratch_copy_is_dropped() {
    let live = test_db("rehearse_fail");
    live.exec("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (NULL);");
    let want = test_db("rehearse_fail_want");
    want.exec("CREATE TABLE t (id int NOT NULL, note text)");
    let dir = temp_dir();
    // Without the probes the plan does not foresee the NULL (with them the
    // validation is a blocker, which rehearse refuses to run).
    let plan = plan_with(&live, &want, dir.path(), &["--no-probes"]);
    let o = run(&[
        "rehearse",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
    ]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{}", stderr(&o));
    // Online strategy: NOT NULL is checked by validating a NOT VALID check.
    assert!(out.contains("FAILED") && out.contains("23514"), "{out}");
    assert!(out.contains("NOT converged"), "{out}");
    assert_eq!(scratch_left(&o), 0);
    assert_eq!(
        live.query_one(
            "SELECT count(*)::text FROM information_schema.columns WHERE table_name = 't'"
        ),
        "1"
    );
}

#[test]
fn a_backup_of_another_schema_is_a_clear_error_and_is_cleaned_up() {
    let live = test_db("rehearse_drift");
    live.exec("CREATE TABLE t (id int)");
    let want = test_db("rehearse_drift_want");
    want.exec("CREATE TABLE t (id int, note text)");
    let dir = temp_dir();
    let o = run(&[
        "backup",
        "--db",
        &want.url(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dump = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("backup:"))
        .unwrap()
        .trim()
        .to_string();
    let plan = plan_for(&live, &want, dir.path());
    let o = run(&[
        "rehearse",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--from-backup",
        &dump,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not the schema the plan was made for"),
        "{}",
        stderr(&o)
    );
    assert_eq!(scratch_left(&o), 0);
}
