//! Fault tests of `pgalign apply` on real PostgreSQL: each asserts on the
//! database and on the journal. Slow statements are `SELECT pg_sleep(…)` steps
//! of hand-made plans (rendered with `plan::render_plan`).

use crate::support::*;
use pgalign::journal::{self, Entry, Record};
use pgalign::plan::{Plan, Step, render_plan};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A step: (group, transactional, sql).
pub(crate) type S<'a> = (usize, bool, &'a str);

/// Writes a plan of `steps` made for `db`'s current schema.
pub(crate) fn hand_plan(db: &ConnSettings, dir: &Path, steps: &[S]) -> PathBuf {
    let settings = db.clone();
    let live = block_on(async move { pgalign::catalog::inspect(&settings).await.unwrap() });
    let plan = Plan {
        live_fingerprint: pgalign::catalog::Scope::default().fingerprint(&live.model),
        desired_fingerprint: "hand-made".into(),
        steps: steps
            .iter()
            .enumerate()
            .map(|(i, (group, tx, sql))| Step {
                number: i + 1,
                title: format!(
                    "step {} ({})",
                    i + 1,
                    sql.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
                ),
                sql: sql.to_string(),
                hazards: vec![],
                transactional: *tx,
                group: *group,
            })
            .collect(),
        notes: vec![],
        scope: Default::default(),
    };
    let path = dir.join("plan.sql");
    std::fs::write(
        &path,
        render_plan(&plan, &db.to_string(), "2026-01-01T00:00:00Z"),
    )
    .unwrap();
    path
}

use pgalign::db::ConnSettings;

pub(crate) fn apply_cmd(db: &TestDb, args: &[&str]) -> Command {
    let mut cmd = pgalign();
    cmd.args(["apply", "--db", &db.url(), "--confirm-target", &db.name])
        .args(args)
        .stdin(Stdio::null());
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> (Option<i32>, String) {
    let o = child.wait_with_output().unwrap();
    (o.status.code(), stderr(&o))
}

pub(crate) fn records(journal: &Path) -> Vec<Entry> {
    journal::read(journal)
        .unwrap()
        .into_iter()
        .map(|r: Record| r.entry)
        .collect()
}

fn count(entries: &[Entry], f: impl Fn(&Entry) -> bool) -> usize {
    entries.iter().filter(|e| f(e)).count()
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

fn table_exists(db: &TestDb, name: &str) -> bool {
    db.query_one(&format!("SELECT (to_regclass('{name}') IS NOT NULL)::text")) == "true"
}

#[test]
fn apply_terminated_backend_rolls_back_its_whole_group() {
    let db = test_db("apply_terminated");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (1, true, "SELECT pg_sleep(60);"),
            (1, true, "CREATE TABLE public.b (x int);"),
        ],
    );
    let session = dir.path().join("s");
    let child = spawn(apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    ));
    let pid = wait_for_query(&db, "SELECT pg_sleep(60)");
    db.exec(&format!("SELECT pg_terminate_backend({pid})"));
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("connection") && err.contains("was lost during step 2"),
        "{err}"
    );
    assert!(err.contains("--resume"), "{err}");
    assert!(!table_exists(&db, "public.a"), "nothing of the group stays");
    let j = records(&session.join("journal.jsonl"));
    assert_eq!(count(&j, |e| matches!(e, Entry::GroupCommitted { .. })), 0);
    assert!(j.iter().any(|e| matches!(e, Entry::GroupRolledBack { group: 1, reason, .. } if reason.contains("connection was lost"))), "{j:?}");
    assert!(j.iter().any(
        |e| matches!(e, Entry::ApplyFinished { ok: false, committed, .. } if committed.is_empty())
    ));
}

#[test]
fn apply_killed_mid_run_resumes_rebuilds_the_invalid_index_and_runs_nothing_twice() {
    let db = test_db("apply_sigkill");
    db.exec(
        "CREATE FUNCTION public.slow(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN i; END $$;
         CREATE TABLE public.t (x int); INSERT INTO public.t SELECT g FROM generate_series(1, 8) g;",
    );
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (
                2,
                false,
                "CREATE INDEX CONCURRENTLY t_slow ON public.t ((public.slow(x)));",
            ),
            (3, true, "CREATE TABLE public.b (x int);"),
        ],
    );
    let session = dir.path().join("s");
    let mut child = spawn(apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    ));
    let pid = wait_for_query(&db, "CREATE INDEX CONCURRENTLY");
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    // The orphaned server session would finish the build; end it like an operator would.
    db.exec(&format!("SELECT pg_terminate_backend({pid})"));
    let started = Instant::now();
    while db.query_one(&format!(
        "SELECT count(*)::text FROM pg_stat_activity WHERE pid = {pid}"
    )) != "0"
    {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(table_exists(&db, "public.a"));
    assert_eq!(
        db.query_one(
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'public.t_slow'::regclass"
        ),
        "false"
    );

    let journal_path = session.join("journal.jsonl");
    let out = apply_cmd(&db, &["--resume", journal_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        db.query_one(
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'public.t_slow'::regclass"
        ),
        "true"
    );
    assert!(table_exists(&db, "public.b"));
    let j = records(&journal_path);
    let started_step = |n: usize| {
        count(
            &j,
            |e| matches!(e, Entry::StatementStarted { step, .. } if *step == n),
        )
    };
    assert_eq!(started_step(1), 1, "the committed group never runs again");
    assert_eq!(started_step(2), 2);
    assert_eq!(started_step(3), 1);
    assert_eq!(
        count(&j, |e| matches!(e, Entry::GroupCommitted { group: 1, .. })),
        1
    );
    assert!(j.iter().any(|e| matches!(e, Entry::ApplyResumed { committed_groups, .. } if committed_groups == &vec![1])), "{j:?}");
    assert!(j.iter().any(|e| matches!(e, Entry::Note { text } if text.contains("dropped the INVALID index public.t_slow"))), "{j:?}");
    assert!(j.iter().any(|e| matches!(e, Entry::ApplyFinished { ok: true, committed, .. } if committed == &vec![1, 2, 3])));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&journal_path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn apply_lock_held_elsewhere_times_out_retries_and_names_the_blocker() {
    let db = test_db("apply_lock");
    db.exec("CREATE TABLE public.t (x int)");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[(1, true, "ALTER TABLE public.t ADD COLUMN n int;")],
    );
    let mut psql = Command::new(pgalign::db::shadow::psql_path());
    db.settings.apply_env(&mut psql);
    psql.env("PGAPPNAME", "blocker-app")
        .args([
            "-X",
            "-q",
            "-c",
            "BEGIN; LOCK TABLE public.t IN ACCESS SHARE MODE; SELECT pg_sleep(120);",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut blocker = psql.spawn().unwrap();
    let blocker_pid = wait_for_query(&db, "BEGIN; LOCK TABLE");
    let session = dir.path().join("s");
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
            "--lock-timeout",
            "1500ms",
            "--lock-retries",
            "1",
        ],
    )
    .output()
    .unwrap();
    let _ = blocker.kill();
    let _ = blocker.wait();
    db.exec(&format!("SELECT pg_terminate_backend({blocker_pid})"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("55P03"), "{err}");
    assert!(
        err.contains(&format!("pid {blocker_pid}")) && err.contains("blocker-app"),
        "{err}"
    );
    assert!(err.contains("after 1 retry"), "{err}");
    assert_eq!(
        db.query_one(
            "SELECT count(*)::text FROM information_schema.columns WHERE table_name = 't'"
        ),
        "1"
    );
    let j = records(&session.join("journal.jsonl"));
    assert!(j.iter().any(|e| matches!(e, Entry::GroupRetried { group: 1, attempt: 2, blockers, .. } if blockers.iter().any(|b| b.contains("blocker-app")))), "{j:?}");
    assert_eq!(
        count(&j, |e| matches!(e, Entry::GroupRolledBack { group: 1, .. })),
        2
    );
    assert_eq!(count(&j, |e| matches!(e, Entry::GroupCommitted { .. })), 0);
    // The report tells the retry and who blocked it.
    let report = run(&[
        "report",
        "--journal",
        session.join("journal.jsonl").to_str().unwrap(),
    ]);
    let md = stdout(&report);
    assert!(
        md.contains("Retries and resumes:") && md.contains("group 1 rolled back and retried"),
        "{md}"
    );
    assert!(md.contains("blocker-app"), "{md}");
}

#[test]
fn apply_failure_in_the_second_group_keeps_the_first_and_the_report_says_so() {
    let db = test_db("apply_second_group");
    db.exec("CREATE TABLE public.t (id int); INSERT INTO public.t VALUES (1), (NULL);");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (2, true, "CREATE TABLE public.b (x int);"),
            (
                2,
                true,
                "ALTER TABLE public.t ALTER COLUMN id SET NOT NULL;",
            ),
        ],
    );
    let session = dir.path().join("s");
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("23502")
            && err.contains("committed: group(s) 1 (steps 1)")
            && err.contains("rolled back: group 2"),
        "{err}"
    );
    assert!(err.contains("do not re-run"), "{err}");
    assert!(table_exists(&db, "public.a"));
    assert!(!table_exists(&db, "public.b"));
    let journal_path = session.join("journal.jsonl");
    let j = records(&journal_path);
    assert!(j.contains(&Entry::GroupCommitted {
        group: 1,
        steps: vec![1]
    }));
    assert!(j.iter().any(
        |e| matches!(e, Entry::GroupRolledBack { group: 2, steps, .. } if steps == &vec![2, 3])
    ));
    let report = run(&["report", "--journal", journal_path.to_str().unwrap()]);
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    let md = stdout(&report);
    let line = |n: &str| {
        md.lines()
            .find(|l| l.contains(&format!("step {n} (")))
            .unwrap_or_default()
            .to_lowercase()
    };
    assert!(line("1").contains("committed"), "{md}");
    assert!(line("2").contains("rolled back"), "{md}");
    assert!(line("3").contains("failed"), "{md}");
}

#[test]
fn apply_plan_edited_after_review_is_refused() {
    let db = test_db("apply_edited");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[(1, true, "CREATE TABLE public.a (x int);")],
    );
    let text = std::fs::read_to_string(&plan).unwrap();
    let reviewed = pgalign::plan::parse_plan(&text).unwrap().actual_sha256;
    std::fs::write(&plan, text.replace("(x int)", "(x int, evil int)")).unwrap();
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            dir.path().join("s").to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("edited after it was generated"));
    // A re-generated plan that is not the reviewed one is refused too.
    let other = hand_plan(
        &db.settings,
        dir.path(),
        &[(1, true, "CREATE TABLE public.c (x int);")],
    );
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            other.to_str().unwrap(),
            "--expect-sha256",
            &reviewed,
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("not the one that was reviewed"));
    assert!(!table_exists(&db, "public.a") && !table_exists(&db, "public.c"));
}

#[test]
fn apply_schema_changed_after_the_diff_is_refused_naming_the_change() {
    let db = test_db("apply_drift");
    db.exec("CREATE TABLE public.t (x int)");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[(1, true, "CREATE TABLE public.a (x int);")],
    );
    let s = db.settings.clone();
    let live = block_on(async move { pgalign::catalog::inspect(&s).await.unwrap() });
    let sidecar = pgalign::apply::write_live_sidecar(&plan, &live.model).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sidecar).unwrap().permissions().mode() & 0o777,
        0o600
    );
    db.exec("ALTER TABLE public.t ADD COLUMN extra int");
    let session = dir.path().join("s");
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("drifted") && err.contains("public.t.extra"),
        "{err}"
    );
    std::fs::remove_file(&sidecar).unwrap();
    let out = apply_cmd(&db, &["--plan", plan.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("cannot be listed"),
        "{}",
        stderr(&out)
    );
    assert!(!table_exists(&db, "public.a"));
    let j = records(&session.join("journal.jsonl"));
    assert_eq!(
        count(&j, |e| matches!(e, Entry::ApplyStarted { .. })),
        0,
        "nothing started"
    );
}

#[test]
fn apply_twice_at_once_refuses_the_second() {
    let db = test_db("apply_concurrent");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (1, true, "SELECT pg_sleep(3);"),
        ],
    );
    let first = spawn(apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            dir.path().join("s1").to_str().unwrap(),
        ],
    ));
    let pid = wait_for_query(&db, "SELECT pg_sleep(3)");
    let session2 = dir.path().join("s2");
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session2.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another pgalign apply holds the apply lock"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(&format!("server process {pid}")),
        "{}",
        stderr(&out)
    );
    let (code, err) = finish(first);
    assert_eq!(code, Some(0), "{err}");
    assert!(table_exists(&db, "public.a"));
    let j2 = records(&session2.join("journal.jsonl"));
    assert_eq!(
        count(&j2, |e| matches!(e, Entry::StatementStarted { .. })),
        0
    );
}

/// Runs `pg_ctl` on `cluster` as the owner of its data directory.
fn pg_ctl(cluster: &pgalign::db::cluster::Cluster, args: &[&str]) {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let data = cluster.root().join("data");
    let meta = std::fs::metadata(&data).unwrap();
    let status = Command::new(cluster.bindir().join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .args(args)
        .uid(meta.uid())
        .gid(meta.gid())
        .current_dir(cluster.root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {args:?}");
}

#[test]
fn apply_server_restarted_mid_run_is_a_clear_error_and_resume_finishes() {
    let cluster = pgalign::db::cluster::Cluster::start().unwrap();
    let admin = cluster.settings("postgres");
    block_on(async {
        let c = pgalign::db::connect(&admin).await.unwrap();
        c.batch_execute("CREATE DATABASE restart_me").await.unwrap();
    });
    let db = TestDb {
        name: "restart_me".into(),
        settings: cluster.settings("restart_me"),
    };
    // How long the slow step sleeps is read from a table, so the resumed run is quick.
    db.exec("CREATE TABLE public.nap (s float8); INSERT INTO public.nap VALUES (60);");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (2, false, "CREATE INDEX CONCURRENTLY a_x ON public.a (x);"),
            (3, true, "CREATE TABLE public.b (x int);"),
            (3, true, "SELECT pg_sleep((SELECT s FROM public.nap));"),
        ],
    );
    let session = dir.path().join("s");
    let child = spawn(apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    ));
    wait_for_query(&db, "SELECT pg_sleep(");
    pg_ctl(&cluster, &["-m", "fast", "-w", "restart"]);
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("was lost during step 4"), "{err}");
    assert!(err.contains("committed: group(s) 1, 2"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(table_exists(&db, "public.a") && !table_exists(&db, "public.b"));

    db.exec("UPDATE public.nap SET s = 0");
    let journal_path = session.join("journal.jsonl");
    let out = apply_cmd(&db, &["--resume", journal_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(table_exists(&db, "public.b"));
    assert_eq!(
        db.query_one(
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'public.a_x'::regclass"
        ),
        "true"
    );
    let j = records(&journal_path);
    assert!(
        j.iter()
            .any(|e| matches!(e, Entry::ApplyResumed { committed_groups, .. }
            if committed_groups == &vec![1, 2])),
        "{j:?}"
    );
    for step in [1, 2] {
        assert_eq!(
            count(
                &j,
                |e| matches!(e, Entry::StatementStarted { step: s, .. } if *s == step)
            ),
            1,
            "step {step} ran once"
        );
    }
    assert_eq!(
        count(&j, |e| matches!(e, Entry::GroupCommitted { group: 3, .. })),
        1
    );
}

#[test]
fn apply_ctrl_c_cancels_on_the_server_and_rolls_back_the_group() {
    let db = test_db("apply_ctrl_c");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (2, false, "CREATE INDEX CONCURRENTLY a_x ON public.a (x);"),
            (3, true, "CREATE TABLE public.b (x int);"),
            (3, true, "SELECT pg_sleep(60);"),
        ],
    );
    let session = dir.path().join("s");
    let child = spawn(apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    ));
    let pid = wait_for_query(&db, "SELECT pg_sleep(60)");
    // SAFETY: sending a signal to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let started = Instant::now();
    let (code, err) = finish(child);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the statement was cancelled on the server"
    );
    assert_eq!(code, Some(130), "{err}");
    assert!(
        err.contains("cancelled by the operator")
            && err.contains("committed: group(s) 1, 2")
            && err.contains("rolled back: group 3"),
        "{err}"
    );
    assert_eq!(
        db.query_one(&format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE pid = {pid} AND state = 'active'"
        )),
        "0"
    );
    assert!(table_exists(&db, "public.a") && !table_exists(&db, "public.b"));
    let j = records(&session.join("journal.jsonl"));
    assert!(j.iter().any(|e| matches!(e, Entry::GroupRolledBack { group: 3, reason, .. } if reason == "cancelled by the operator")), "{j:?}");
}

#[test]
fn apply_statement_timeout_stops_the_run_and_rolls_back_its_group() {
    let db = test_db("apply_stmt_timeout");
    db.exec("CREATE TABLE public.t (x int); INSERT INTO public.t VALUES (1);");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "ALTER TABLE public.t ADD COLUMN n int;"),
            (1, true, "SELECT pg_sleep(5);"),
            (2, true, "ALTER TABLE public.t ADD COLUMN m int;"),
        ],
    );
    let session = dir.path().join("s");
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
            "--statement-timeout",
            "300ms",
        ],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("57014"),
        "the server's timeout is named: {err}"
    );
    // Nothing of group 1 stayed and group 2 never ran.
    assert_eq!(
        db.query_one(
            "SELECT count(*)::text FROM information_schema.columns WHERE table_name = 't'"
        ),
        "1"
    );
    let j = records(&session.join("journal.jsonl"));
    assert_eq!(
        count(&j, |e| matches!(e, Entry::GroupRolledBack { group: 1, .. })),
        1
    );
    assert_eq!(
        count(&j, |e| matches!(e, Entry::GroupRetried { .. })),
        0,
        "a statement timeout is not retried"
    );
    assert_eq!(
        count(&j, |e| matches!(e, Entry::StatementStarted { step: 3, .. })),
        0
    );
}

/// Holds an ACCESS SHARE lock on `table` of `db` from a psql session until killed.
fn lock_holder(db: &TestDb, table: &str, seconds: u32) -> (Child, String) {
    let mut psql = Command::new(pgalign::db::shadow::psql_path());
    db.settings.apply_env(&mut psql);
    psql.env("PGAPPNAME", "blocker-app")
        .args([
            "-X",
            "-q",
            "-c",
            &format!("BEGIN; LOCK TABLE {table} IN ACCESS SHARE MODE; SELECT pg_sleep({seconds});"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = psql.spawn().unwrap();
    let pid = wait_for_query(db, "BEGIN; LOCK TABLE");
    (child, pid)
}

#[test]
fn apply_lock_timeout_retries_list_each_step_once_and_a_retry_that_commits_succeeds() {
    let db = test_db("apply_retry_once");
    db.exec("CREATE TABLE public.t (x int)");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "ALTER TABLE public.t ADD COLUMN n int;"),
            (1, true, "ALTER TABLE public.t ADD COLUMN m int;"),
            (2, true, "CREATE TABLE public.after (x int);"),
        ],
    );
    // Blocked on every try: each step is listed once as not applied.
    let (mut blocker, pid) = lock_holder(&db, "public.t", 120);
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--lock-timeout",
            "300ms",
            "--lock-retries",
            "2",
        ],
    )
    .output()
    .unwrap();
    let _ = blocker.kill();
    let _ = blocker.wait();
    db.exec(&format!("SELECT pg_terminate_backend({pid})"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("after 2 retries"), "{err}");
    assert!(err.contains("\n  not applied: steps 1, 2, 3\n"), "{err}");

    // Released after the first tries (300 ms each, then waits of 1 s and 2 s):
    // a retry commits and the run succeeds.
    let (mut blocker, pid) = lock_holder(&db, "public.t", 3);
    let session = dir.path().join("s");
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--lock-timeout",
            "300ms",
            "--session-dir",
            session.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let _ = blocker.wait();
    let _ = pid;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("applied 3 statement(s)"), "{err}");
    let j = records(&session.join("journal.jsonl"));
    assert!(
        count(&j, |e| matches!(e, Entry::GroupRetried { .. })) >= 1,
        "{j:?}"
    );
    assert!(j.iter().any(|e| matches!(e, Entry::ApplyFinished { ok: true, not_applied, .. } if not_applied.is_empty())), "{j:?}");
}

#[test]
fn apply_resume_hint_carries_the_gate_flags_and_runs_as_printed() {
    let db = test_db("apply_resume_hint");
    db.exec("CREATE TABLE public.t (x int, legacy text); INSERT INTO public.t VALUES (1, 'a');");
    let dir = temp_dir();
    let text = {
        let settings = db.settings.clone();
        let live = block_on(async move { pgalign::catalog::inspect(&settings).await.unwrap() });
        let mut plan = Plan {
            live_fingerprint: pgalign::catalog::Scope::default().fingerprint(&live.model),
            desired_fingerprint: "hand-made".into(),
            steps: vec![
                Step {
                    number: 0,
                    title: "drop column public.t.legacy".into(),
                    sql: "ALTER TABLE public.t DROP COLUMN legacy;".into(),
                    hazards: vec![pgalign::hazard::Hazard::new(
                        pgalign::hazard::HazardId::DataLoss,
                        pgalign::hazard::Severity::Danger,
                        "drops public.t.legacy",
                    )],
                    transactional: true,
                    group: 0,
                },
                Step {
                    number: 0,
                    title: "wait".into(),
                    sql: "SELECT pg_sleep((SELECT s FROM public.nap));".into(),
                    hazards: vec![],
                    transactional: false,
                    group: 0,
                },
            ],
            notes: vec![],
            scope: Default::default(),
        };
        plan.renumber();
        render_plan(&plan, &db.settings.to_string(), "2026-01-01T00:00:00Z")
    };
    db.exec("CREATE TABLE public.nap (s float8); INSERT INTO public.nap VALUES (60);");
    // The nap table is part of the schema the plan was made for.
    let text = {
        let settings = db.settings.clone();
        let live = block_on(async move { pgalign::catalog::inspect(&settings).await.unwrap() });
        let fp = pgalign::catalog::Scope::default().fingerprint(&live.model);
        let old = text
            .lines()
            .find(|l| l.starts_with("-- live-fingerprint: "))
            .unwrap()
            .to_string();
        text.replace(&old, &format!("-- live-fingerprint: {fp}"))
    };
    let plan = dir.path().join("plan with space.sql");
    std::fs::write(&plan, text).unwrap();
    let session = dir.path().join("s");
    let child = spawn(apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
            "--allow-hazards",
            "data-loss",
            "--lock-timeout",
            "2s",
        ],
    ));
    let pid = wait_for_query(&db, "SELECT pg_sleep(");
    db.exec(&format!("SELECT pg_terminate_backend({pid})"));
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    let hint = err
        .lines()
        .find_map(|l| {
            l.split_once("(committed groups are never run again): ")
                .map(|(_, h)| h)
        })
        .unwrap_or_else(|| panic!("no resume hint: {err}"))
        .to_string();
    assert!(
        hint.contains("--allow-hazards data-loss") && hint.contains("--lock-timeout 2000ms"),
        "{hint}"
    );
    db.exec("UPDATE public.nap SET s = 0");
    // Run exactly what was printed (with this build's binary for `pgalign`).
    let bin = env!("CARGO_BIN_EXE_pgalign");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "exec {bin} {}",
            hint.strip_prefix("pgalign ").unwrap()
        ))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{hint}\n{}", stderr(&out));
    let j = records(&session.join("journal.jsonl"));
    assert!(
        j.iter()
            .any(|e| matches!(e, Entry::ApplyFinished { ok: true, .. })),
        "{j:?}"
    );
}

#[test]
fn apply_unique_index_on_duplicates_says_the_data_must_be_fixed_before_resume() {
    let db = test_db("apply_cic_dup");
    db.exec("CREATE TABLE public.t (x int); INSERT INTO public.t VALUES (1), (1);");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[(
            1,
            false,
            "CREATE UNIQUE INDEX CONCURRENTLY t_x ON public.t (x);",
        )],
    );
    let session = dir.path().join("s");
    let out = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("23505"), "{err}");
    assert!(
        err.contains("remove the duplicates first")
            && err.contains("resume cannot fix the duplicates"),
        "{err}"
    );
    // Resumed without fixing them, it fails the same way; fixed, it builds.
    let journal_path = session.join("journal.jsonl");
    let out = apply_cmd(&db, &["--resume", journal_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("23505"), "{}", stderr(&out));
    db.exec("DELETE FROM public.t WHERE ctid <> (SELECT min(ctid) FROM public.t)");
    let out = apply_cmd(&db, &["--resume", journal_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        db.query_one(
            "SELECT indisvalid::text FROM pg_index WHERE indexrelid = 'public.t_x'::regclass"
        ),
        "true"
    );
}

#[test]
fn apply_lock_timeout_zero_is_refused_as_wait_forever() {
    let db = test_db("apply_lock_zero");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[(1, true, "CREATE TABLE public.a (x int);")],
    );
    for zero in ["0", "0ms", "0.4ms"] {
        let out = apply_cmd(
            &db,
            &["--plan", plan.to_str().unwrap(), "--lock-timeout", zero],
        )
        .output()
        .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{zero}: {err}");
        assert!(
            err.contains("--lock-timeout") && err.contains("forever"),
            "{err}"
        );
    }
    assert!(!table_exists(&db, "public.a"));
    let help = stdout(&run(&["apply", "--help"]));
    assert!(help.contains("wait forever"), "{help}");
}

#[test]
fn apply_whose_journal_cannot_be_written_stops_and_still_prints_the_summary() {
    let db = test_db("apply_journal_full");
    db.exec("CREATE TABLE public.nap (s float8); INSERT INTO public.nap VALUES (3);");
    let dir = temp_dir();
    let plan = hand_plan(
        &db.settings,
        dir.path(),
        &[
            (1, true, "CREATE TABLE public.a (x int);"),
            (2, true, "SELECT pg_sleep((SELECT s FROM public.nap));"),
            (3, true, "CREATE TABLE public.b (x int);"),
        ],
    );
    let session = dir.path().join("s");
    let journal_path = session.join("journal.jsonl");
    // The journal's file may not grow past LIMIT bytes (RLIMIT_FSIZE, with
    // SIGXFSZ ignored: a write past it fails as on a full disk). During the
    // sleep the test pads the journal to exactly LIMIT with a valid line.
    const LIMIT: u64 = 1 << 20;
    let mut cmd = apply_cmd(
        &db,
        &[
            "--plan",
            plan.to_str().unwrap(),
            "--session-dir",
            session.to_str().unwrap(),
        ],
    );
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: LIMIT,
                rlim_max: LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = spawn(cmd);
    wait_for_query(&db, "SELECT pg_sleep(");
    {
        use std::io::Write;
        let len = std::fs::metadata(&journal_path).unwrap().len();
        let frame = r#"{"at":"2026-01-01T00:00:00Z","event":"note","text":""}"#.len() as u64 + 1;
        let pad = "x".repeat((LIMIT - len - frame) as usize);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal_path)
            .unwrap();
        writeln!(
            f,
            r#"{{"at":"2026-01-01T00:00:00Z","event":"note","text":"{pad}"}}"#
        )
        .unwrap();
        assert_eq!(std::fs::metadata(&journal_path).unwrap().len(), LIMIT);
    }
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("could not be written"), "{err}");
    assert!(err.contains("committed: group(s) 1 (steps 1)"), "{err}");
    assert!(err.contains("not applied: steps 2, 3"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    assert!(table_exists(&db, "public.a") && !table_exists(&db, "public.b"));
    // With room again, the run continues from its journal.
    db.exec("UPDATE public.nap SET s = 0");
    let out = apply_cmd(&db, &["--resume", journal_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(table_exists(&db, "public.b"));
    let j = records(&journal_path);
    assert_eq!(
        count(&j, |e| matches!(e, Entry::StatementStarted { step: 1, .. })),
        1,
        "the committed group never runs again"
    );
}
