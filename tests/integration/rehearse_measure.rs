//! `rehearse` measures every statement with the apply engine: locks per
//! relation and mode, rewrites, WAL, rows, how long the strongest lock was
//! held; compared here with what the server shows for the same statements run
//! by hand.

use crate::rehearse::scratch_left;
use crate::support::*;
use pgalign::hazard::locks::LockMode;
use pgalign::rehearse::{Options, Rehearsal};
use std::path::Path;

const ORDERS: &str = "CREATE SCHEMA shop;
    CREATE TABLE shop.orders (id int PRIMARY KEY, qty int NOT NULL, note varchar(20));
    INSERT INTO shop.orders SELECT g, g % 100, 'n' || g FROM generate_series(1, 200000) g;
    ANALYZE shop.orders;";

/// The statements of the issue, each in its own group (as psql would run them).
const STATEMENTS: [&str; 5] = [
    "ALTER TABLE shop.orders ALTER COLUMN qty TYPE bigint;",
    "ALTER TABLE shop.orders ALTER COLUMN note TYPE varchar(50);",
    "ALTER TABLE shop.orders ADD COLUMN created_at timestamptz DEFAULT now();",
    "CREATE INDEX orders_note ON shop.orders (note);",
    "CREATE INDEX CONCURRENTLY orders_qty ON shop.orders (qty);",
];

/// A pinned plan of `sql` for `db`, every statement its own group.
fn pinned(db: &TestDb, sql: &str, dir: &Path) -> pgalign::plan::PlanFile {
    let file = dir.join("by-hand.sql");
    std::fs::write(&file, sql).unwrap();
    let settings = db.settings.clone();
    let mut plan = block_on(async move { pgalign::plan::external::import(&file, &settings).await })
        .expect("importing the statements");
    let breaks: Vec<usize> = (0..plan.steps.len()).collect();
    plan.renumber_with_breaks(&breaks);
    pgalign::plan::parse_plan(&pgalign::plan::render_plan(&plan, "test", "now")).unwrap()
}

fn rehearse(db: &TestDb, plan: &pgalign::plan::PlanFile, opts: Options) -> Rehearsal {
    let settings = db.settings.clone();
    let plan = plan.clone();
    block_on(async move { pgalign::rehearse::run(&settings, &plan, &opts, None).await })
        .unwrap_or_else(|e| panic!("rehearsal failed: {e:#}"))
}

/// What the server shows when `sql` runs by hand in a transaction that is
/// rolled back: the strongest lock on shop.orders, and whether its file changed.
fn by_hand(db: &TestDb, sql: &str) -> (LockMode, bool) {
    let settings = db.settings.clone();
    let sql = sql.to_string();
    block_on(async move {
        let c = pgalign::db::connect(&settings).await.unwrap();
        c.batch_execute("BEGIN").await.unwrap();
        let node = "SELECT pg_relation_filenode('shop.orders')";
        let before: u32 = c.query_one(node, &[]).await.unwrap().get(0);
        c.batch_execute(&sql).await.unwrap();
        let modes: Vec<String> = c
            .query(
                "SELECT mode FROM pg_locks WHERE pid = pg_backend_pid()
                   AND locktype = 'relation' AND relation = 'shop.orders'::regclass",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let after: u32 = c.query_one(node, &[]).await.unwrap().get(0);
        c.batch_execute("ROLLBACK").await.unwrap();
        let strongest = modes
            .iter()
            .filter_map(|m| LockMode::from_pg_name(m))
            .max()
            .expect("a lock on shop.orders");
        (strongest, before != after)
    })
}

/// `CREATE INDEX CONCURRENTLY` by hand: a second connection samples the
/// building backend's locks on shop.orders until it returns.
fn concurrently_by_hand(db: &TestDb, sql: &str) -> LockMode {
    let settings = db.settings.clone();
    let sql = sql.to_string();
    block_on(async move {
        let builder = pgalign::db::connect(&settings).await.unwrap();
        let watcher = pgalign::db::connect(&settings).await.unwrap();
        let pid: i32 = builder
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .unwrap()
            .get(0);
        let build = builder.batch_execute(&sql);
        tokio::pin!(build);
        let mut seen = Vec::new();
        loop {
            tokio::select! {
                r = &mut build => { r.unwrap(); break; }
                _ = tokio::time::sleep(std::time::Duration::from_millis(2)) => {
                    for r in watcher.query(
                        "SELECT mode FROM pg_locks WHERE pid = $1 AND locktype = 'relation'
                           AND relation = 'shop.orders'::regclass", &[&pid]).await.unwrap() {
                        seen.extend(LockMode::from_pg_name(r.get(0)));
                    }
                }
            }
        }
        builder
            .batch_execute("DROP INDEX shop.orders_qty")
            .await
            .unwrap();
        seen.into_iter().max().expect("the build was seen")
    })
}

#[test]
fn measured_locks_rewrites_and_wal_match_what_the_server_shows_by_hand() {
    let live = test_db("rehearse_measure");
    live.exec(ORDERS);
    let dir = temp_dir();
    let plan = pinned(&live, &STATEMENTS.join("\n"), dir.path());
    assert_eq!(plan.steps.len(), 5);
    let r = rehearse(&live, &plan, Options::default());
    assert_eq!(r.steps.len(), 5, "{:?}", r.failed);
    let m = |i: usize| r.steps[i].measured.as_ref().expect("measured");

    // By hand, on the source, each in a rolled-back transaction.
    let expected = [
        (LockMode::AccessExclusive, true),
        (LockMode::AccessExclusive, false),
        (LockMode::AccessExclusive, false),
        (LockMode::Share, false),
    ];
    for (i, sql) in STATEMENTS[..4].iter().enumerate() {
        let hand = by_hand(&live, sql);
        assert_eq!(hand, expected[i], "by hand: {sql}");
        let got = m(i);
        let strongest = got.strongest.as_ref().expect("a strongest lock");
        assert_eq!(
            (strongest.relation.as_str(), strongest.mode),
            ("shop.orders", hand.0),
            "{sql}: {got:?}"
        );
        assert_eq!(
            got.rewritten == vec!["shop.orders".to_string()],
            hand.1,
            "{sql}: {got:?}"
        );
        assert!(!got.sampled);
        // Held from the statement's start to its group's COMMIT.
        assert!(got.held >= r.steps[i].duration, "{sql}: {got:?}");
        // What the static analysis predicted is what was measured.
        assert!(
            r.steps[i].findings.is_empty(),
            "{sql}: {:?}",
            r.steps[i].findings
        );
    }
    // The rewrite wrote the table again: at least its heap (about 10 MB) in WAL.
    let heap: i64 = live
        .query_one("SELECT pg_relation_size('shop.orders')::text")
        .parse()
        .unwrap();
    assert!(
        m(0).wal_bytes.unwrap() as i64 > heap / 2,
        "{:?} vs heap {heap}",
        m(0).wal_bytes
    );
    // CONCURRENTLY runs alone: sampled by a second connection, in both runs.
    let hand = concurrently_by_hand(&live, STATEMENTS[4]);
    assert_eq!(hand, LockMode::ShareUpdateExclusive);
    let cic = m(4);
    assert!(cic.sampled, "{cic:?}");
    assert_eq!(
        cic.strongest.as_ref().map(|l| l.mode),
        Some(LockMode::ShareUpdateExclusive),
        "{cic:?}"
    );
    assert!(
        cic.rewritten.is_empty() && cic.progress.is_some(),
        "{cic:?}"
    );
    // The line per statement.
    let line = r.line(1).unwrap();
    assert!(
        line.starts_with("rewrote shop.orders in ")
            && line.contains(" WAL, ACCESS EXCLUSIVE on shop.orders held "),
        "{line}"
    );
    assert!(
        r.line(2).unwrap().starts_with("no rewrite"),
        "{}",
        r.line(2).unwrap()
    );
    // The source is untouched: still int, no new column.
    assert_eq!(
        live.query_one(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = 'shop'
               AND table_name = 'orders' AND column_name = 'qty'"
        ),
        "integer"
    );
}

#[test]
fn a_schema_only_rehearsal_says_its_figures_are_on_empty_tables() {
    let live = test_db("rehearse_schema_only");
    live.exec(ORDERS);
    let dir = temp_dir();
    let plan = pinned(&live, STATEMENTS[0], dir.path());
    let r = rehearse(
        &live,
        &plan,
        Options {
            schema_only: true,
            ..Options::default()
        },
    );
    assert!(r.schema_only);
    let m = r.steps[0].measured.as_ref().unwrap();
    // Still a rewrite under ACCESS EXCLUSIVE, but of an empty table.
    assert_eq!(m.rewritten, vec!["shop.orders".to_string()]);
    assert!(m.wal_bytes.unwrap() < 1_000_000, "{m:?}");
    assert!(
        r.entries().iter().any(|e| matches!(e,
        pgalign::journal::Entry::Note { text } if text.contains("schema-only copy: empty tables")))
    );
}

fn diff_plan(live: &TestDb, want: &TestDb, dir: &Path) -> std::path::PathBuf {
    diff_plan_with(live, want, dir, &[])
}

fn diff_plan_with(live: &TestDb, want: &TestDb, dir: &Path, extra: &[&str]) -> std::path::PathBuf {
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
fn rehearse_prints_json_per_statement_and_journals_into_the_session() {
    let live = test_db("rehearse_json");
    live.exec(
        "CREATE TABLE t (id int PRIMARY KEY, n int);
         INSERT INTO t SELECT g, g FROM generate_series(1, 1000) g;",
    );
    let want = test_db("rehearse_json_want");
    want.exec("CREATE TABLE t (id int PRIMARY KEY, n bigint)");
    let dir = temp_dir();
    let plan = diff_plan(&live, &want, dir.path());
    let session = dir.path().join("session");
    let o = run(&[
        "rehearse",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--format",
        "json",
        "--session-dir",
        session.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(v["converged"], true);
    assert_eq!(v["kept"], false);
    let statements = v["statements"].as_array().unwrap();
    assert!(!statements.is_empty());
    let rewrite = statements
        .iter()
        .find(|s| !s["measured"]["rewritten"].as_array().unwrap().is_empty())
        .unwrap_or_else(|| panic!("a rewrite: {v:#}"));
    assert_eq!(rewrite["measured"]["rewritten"][0], "public.t");
    assert_eq!(rewrite["measured"]["strongest"]["mode"], "ACCESS EXCLUSIVE");
    assert!(rewrite["measured"]["wal_bytes"].as_u64().unwrap() > 0);
    assert!(rewrite["predicted"]["rewrite"].as_bool().unwrap());
    assert_eq!(scratch_left(&o), 0);
    let journal = std::fs::read_to_string(session.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"converged\":true"), "{journal}");
    assert!(journal.contains("rehearsed step"), "{journal}");
}

#[test]
fn keep_leaves_the_scratch_copy_and_scratch_names_another_server() {
    let live = test_db("rehearse_keep");
    live.exec("CREATE TABLE t (id int)");
    let want = test_db("rehearse_keep_want");
    want.exec("CREATE TABLE t (id int, note text)");
    let dir = temp_dir();
    let plan = diff_plan(&live, &want, dir.path());
    // The scratch server given by URL (here the same cluster, reached through
    // its maintenance database rather than the target).
    let scratch_server = TestDb {
        name: String::new(),
        settings: admin(),
    };
    let o = run(&[
        "rehearse",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--scratch",
        &scratch_server.url(),
        "--keep",
    ]);
    std::mem::forget(scratch_server);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains(", kept)"), "{}", stdout(&o));
    assert_eq!(scratch_left(&o), 1, "kept: {}", stdout(&o));
    let name = stdout(&o)
        .split("scratch database ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let kept = TestDb {
        settings: admin().with_dbname(&name),
        name,
    };
    // The kept copy holds the rehearsed schema; dropping `kept` removes it.
    assert_eq!(
        kept.query_one(
            "SELECT count(*)::text FROM information_schema.columns WHERE table_name = 't'"
        ),
        "2"
    );
}

#[test]
fn ctrl_c_during_a_rehearsal_drops_the_scratch_copy() {
    let live = test_db("rehearse_ctrl_c");
    // Every row takes 20 ms to check: validating the new constraint is slow.
    live.exec(
        "CREATE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE
           AS $$ SELECT pg_sleep(0.02) IS NOT NULL $$;
         CREATE TABLE t (id int);
         INSERT INTO t SELECT g FROM generate_series(1, 1000) g;",
    );
    let want = test_db("rehearse_ctrl_c_want");
    want.exec(
        "CREATE FUNCTION slow_ok(int) RETURNS boolean LANGUAGE sql IMMUTABLE
           AS $$ SELECT pg_sleep(0.02) IS NOT NULL $$;
         CREATE TABLE t (id int CONSTRAINT t_slow CHECK (slow_ok(id)));",
    );
    let dir = temp_dir();
    // Without probes: counting the violating rows would be as slow.
    let plan = diff_plan_with(&live, &want, dir.path(), &["--no-probes"]);
    let child = pgalign()
        .args([
            "rehearse",
            "--db",
            &live.url(),
            "--plan",
            plan.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the scratch database exists and the slow statement runs.
    let admin_db = TestDb {
        name: String::new(),
        settings: admin(),
    };
    let mut running = false;
    for _ in 0..300 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if admin_db.query_one(
            "SELECT count(*)::text FROM pg_stat_activity
              WHERE datname LIKE 'pgalign_scratch_%' AND query LIKE '%t_slow%' AND state = 'active'",
        ) != "0"
        {
            running = true;
            break;
        }
    }
    assert!(running, "the slow statement never ran");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    assert!(started.elapsed().as_secs() < 15, "it stopped promptly");
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cancelled by the operator"),
        "{}",
        stderr(&o)
    );
    assert_eq!(scratch_left(&o), 0);
    std::mem::forget(admin_db);
}
