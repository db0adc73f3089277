//! `pgalign apply` against a concurrent writer: a deadlock the server resolves
//! by rolling our group back is retried like a lock timeout, and a group that
//! locks several tables takes them in one order (referenced tables first), so
//! an application that writes in that order does not deadlock with it at all.
//! The writer is a psql session whose `deadlock_timeout` is long, so that the
//! server's deadlock check runs in pgalign's backend, which waited first.

use crate::apply::{apply_cmd, hand_plan, records};
use crate::support::*;
use pgalign::journal::Entry;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FK: &str = "ALTER TABLE public.h ADD CONSTRAINT h_aid_fkey FOREIGN KEY (aid) REFERENCES public.acc (id) NOT VALID;";

fn schema(db: &TestDb) {
    db.exec(
        "CREATE TABLE public.acc (id int PRIMARY KEY, v int NOT NULL);
         INSERT INTO public.acc VALUES (1, 0);
         CREATE TABLE public.h (aid int, d int);",
    );
}

/// Blocks (inside the writer's transaction) until another backend waits for
/// a lock on `table`, for at most 60 s.
fn until_waited_on(table: &str) -> String {
    format!(
        "DO $w$ DECLARE started timestamptz := clock_timestamp(); BEGIN
           WHILE NOT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted AND relation = '{table}'::regclass
                             AND pid <> pg_backend_pid()) LOOP
             IF clock_timestamp() - started > interval '60 s' THEN RAISE EXCEPTION 'nobody waited on {table}'; END IF;
             PERFORM pg_sleep(0.02);
           END LOOP; END $w$;"
    )
}

/// A writer running `body` in one transaction; returns once it holds its
/// first lock (a RowExclusiveLock on `first`).
fn writer(db: &TestDb, first: &str, body: &str) -> Child {
    let mut psql = Command::new(pgalign::db::shadow::psql_path());
    db.settings.apply_env(&mut psql);
    psql.env("PGAPPNAME", "writer")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("SET deadlock_timeout = '30s'; BEGIN; {body} COMMIT;"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = psql.spawn().unwrap();
    let started = Instant::now();
    while db.query_one(&format!(
        "SELECT count(*)::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE a.application_name = 'writer' AND l.granted AND l.mode = 'RowExclusiveLock'
            AND l.relation = '{first}'::regclass"
    )) == "0"
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the writer never locked {first}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn apply(db: &TestDb, plan: &Path, session: &Path, retries: &str) -> std::process::Output {
    let (plan, session) = (plan.to_str().unwrap(), session.to_str().unwrap());
    apply_cmd(
        db,
        &[
            "--plan",
            plan,
            "--lock-retries",
            retries,
            "--session-dir",
            session,
        ],
    )
    .output()
    .unwrap()
}

fn entries(session: &Path) -> Vec<Entry> {
    records(&session.join("journal.jsonl"))
}

#[test]
fn apply_retries_a_group_the_server_rolled_back_for_a_deadlock() {
    let db = test_db("apply_deadlock_retry");
    schema(&db);
    let dir = temp_dir();
    let plan = hand_plan(&db.settings, dir.path(), &[(1, true, FK)]);
    // The writer holds h, waits until pgalign (holding acc) waits for h, then
    // updates acc: a cycle. pgalign's backend waited first, so its deadlock
    // check finds it and the server rolls pgalign's group back.
    let w = writer(
        &db,
        "public.h",
        &format!(
            "INSERT INTO public.h VALUES (1, 1); {} UPDATE public.acc SET v = v + 1 WHERE id = 1;",
            until_waited_on("public.h")
        ),
    );
    let session = dir.path().join("s");
    let out = apply(&db, &plan, &session, "2");
    let w = w.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("deadlock: group 1 runs again"), "{err}");
    assert!(
        w.status.success(),
        "the writer's transaction committed: {}",
        String::from_utf8_lossy(&w.stderr)
    );
    assert_eq!(db.query_one("SELECT v::text FROM public.acc"), "1");
    assert_eq!(
        db.query_one("SELECT count(*)::text FROM pg_constraint WHERE conname = 'h_aid_fkey'"),
        "1"
    );
    let j = entries(&session);
    assert!(
        j.iter()
            .any(|e| matches!(e, Entry::GroupRetried { reason, .. }
            if reason.contains("SQLSTATE 40P01") && reason.contains("Process "))),
        "the retry is journaled with the server's account of who was involved: {j:?}"
    );
}

#[test]
fn apply_locks_the_referenced_table_first_so_an_application_order_cannot_deadlock() {
    let db = test_db("apply_lock_order");
    schema(&db);
    let dir = temp_dir();
    let plan = hand_plan(&db.settings, dir.path(), &[(1, true, FK)]);
    // The application's order: the account, then its history row. The
    // ALTER TABLE alone would lock h first and then wait for acc, and the
    // writer's insert into h would close the cycle; locked acc-first, the
    // writer finishes and pgalign follows, without a retry (none allowed).
    let w = writer(
        &db,
        "public.acc",
        &format!(
            "UPDATE public.acc SET v = v + 1 WHERE id = 1; {} INSERT INTO public.h VALUES (1, 1);",
            until_waited_on("public.acc")
        ),
    );
    let session = dir.path().join("s");
    let out = apply(&db, &plan, &session, "0");
    let w = w.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("took its table locks first, in one order: public.acc (SHARE ROW EXCLUSIVE), public.h (SHARE ROW EXCLUSIVE)"),
        "{err}"
    );
    assert!(
        w.status.success(),
        "the writer was not part of a deadlock: {}",
        String::from_utf8_lossy(&w.stderr)
    );
    assert_eq!(db.query_one("SELECT count(*)::text FROM public.h"), "1");
    let j = entries(&session);
    assert!(
        !j.iter().any(|e| matches!(e, Entry::GroupRetried { .. })),
        "{j:?}"
    );
}
