//! The command-line contract: flags, exit codes, refusals.

use crate::support::*;

#[test]
fn diff_then_apply_then_verify_converges_and_keeps_rows() {
    let live = test_db("cli_live");
    live.exec(
        "CREATE SCHEMA shop;
         CREATE TABLE shop.customers (id serial PRIMARY KEY, email varchar(50) NOT NULL, legacy text);
         INSERT INTO shop.customers (email, legacy) SELECT 'u' || g || '@x', 'old' FROM generate_series(1, 50) g;",
    );
    let dir = temp_dir();
    let desired = dir.path().join("desired.sql");
    std::fs::write(
        &desired,
        "CREATE SCHEMA shop;
         CREATE TABLE shop.customers (id serial PRIMARY KEY, email varchar(120) NOT NULL UNIQUE, name text);",
    )
    .unwrap();
    let plan = dir.path().join("plan.sql");
    let shadow = admin().redacted_url();
    let desired = desired.to_str().unwrap();
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        desired,
        "--shadow",
        &shadow,
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("danger[data-loss]"), "{text}");

    // Danger hazards must be allowed explicitly.
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &live.name,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--allow-hazards data-loss"),
        "{}",
        stderr(&o)
    );

    // The wrong target name is refused.
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        "prod",
        "--allow-hazards",
        "data-loss",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    let session = dir.path().join("session");
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &live.name,
        "--allow-hazards",
        "data-loss",
        "--session-dir",
        session.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        live.query_one("SELECT count(*)::text FROM shop.customers WHERE email LIKE 'u%@x'"),
        "50"
    );

    let o = run(&[
        "verify",
        "--db",
        &live.url(),
        "--desired",
        desired,
        "--shadow",
        &shadow,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let journal = std::fs::read_to_string(session.join("journal.jsonl")).unwrap();
    assert!(
        journal.contains("\"event\":\"group-committed\""),
        "{journal}"
    );

    // Applying the same plan again is refused: the schema no longer matches it.
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &live.name,
        "--allow-hazards",
        "data-loss",
        "--session-dir",
        session.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("drifted"), "{}", stderr(&o));
}

#[test]
fn an_edited_plan_is_refused() {
    let live = test_db("cli_tamper");
    live.exec("CREATE TABLE t (id int)");
    let want = test_db("cli_tamper_want");
    want.exec("CREATE TABLE t (id int, note text)");
    let dir = temp_dir();
    let plan = dir.path().join("plan.sql");
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        &want.url(),
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("note text", "note text, evil int");
    std::fs::write(&plan, text).unwrap();
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &live.name,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("edited after it was generated"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        live.query_one(
            "SELECT count(*)::text FROM information_schema.columns WHERE table_name = 't'"
        ),
        "1"
    );
}

#[test]
fn a_failing_statement_rolls_back_its_group_and_says_so() {
    let live = test_db("cli_fail");
    live.exec("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (NULL);");
    let want = test_db("cli_fail_want");
    want.exec("CREATE TABLE t (id int NOT NULL, note text)");
    let dir = temp_dir();
    let plan = dir.path().join("plan.sql");
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        &want.url(),
        "--strategy",
        "offline",
        // Without the probes the plan does not foresee the NULL (with them
        // the SET NOT NULL is a blocker and apply refuses before it runs).
        "--no-probes",
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &live.name,
        "--session-dir",
        dir.path().join("s").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    // Offline strategy: the column is added and SET NOT NULL fails in the same group.
    assert!(err.contains("23502"), "SQLSTATE shown: {err}");
    assert!(err.contains("do not re-run"), "{err}");
    // Nothing of the group stayed: the column added before the failure is gone.
    assert_eq!(
        live.query_one(
            "SELECT count(*)::text FROM information_schema.columns WHERE table_name = 't'"
        ),
        "1"
    );
}

#[test]
fn a_malformed_desired_file_names_file_and_line() {
    let live = test_db("cli_bad_sql");
    let dir = temp_dir();
    let desired = dir.path().join("bad.sql");
    std::fs::write(
        &desired,
        "CREATE TABLE ok (id int);\nCREATE TABLE broken (id int,,);\n",
    )
    .unwrap();
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        desired.to_str().unwrap(),
        "--shadow",
        &admin().redacted_url(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("bad.sql") && err.contains(":2:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_wrong_password_is_a_clear_error_without_the_secret() {
    let admin = admin();
    let url = format!(
        "postgres://nobody:s3cr3t-pw@{}:{}/postgres",
        pgalign::db::conninfo::pct(&admin.host),
        admin.port
    );
    let o = run(&["inspect", "--db", &url]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&format!("nobody@{}:{}/postgres", admin.host, admin.port)),
        "{err}"
    );
    assert!(!err.contains("s3cr3t-pw"), "{err}");
}

#[test]
fn a_scoped_plan_leaves_other_schemas_alone_and_applies_within_its_scope() {
    let live = test_db("cli_scope");
    live.exec(
        "CREATE SCHEMA app; CREATE TABLE app.t (id int);
         CREATE SCHEMA jobs; CREATE TABLE jobs.queue (id int, b int);
         CREATE STATISTICS jobs.queue_st ON id, b FROM jobs.queue;
         CREATE RULE queue_keep AS ON DELETE TO jobs.queue DO INSTEAD NOTHING;
         CREATE COLLATION jobs.plain (locale = 'C');
         CREATE TABLE public.pgboss_job (id int); CREATE TABLE public.keep (id int);",
    );
    let want = test_db("cli_scope_want");
    want.exec("CREATE SCHEMA app; CREATE TABLE app.t (id int, note text); CREATE TABLE public.keep (id int);");
    let dir = temp_dir();
    let plan = dir.path().join("plan.sql");
    let scope = ["--exclude-schema", "jobs", "--exclude", "public.pgboss_*"];
    let url = live.url();
    let want_url = want.url();
    let mut args = vec![
        "diff",
        "--db",
        &url,
        "--desired",
        &want_url,
        "-o",
        plan.to_str().unwrap(),
    ];
    args.extend(scope);
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains("-- scope: "), "{text}");
    let body = text.split_once("-- end of header").unwrap().1;
    assert!(!body.contains("jobs"), "{text}");
    assert!(!text.contains("pgboss_job"), "{text}");
    let o = run(&[
        "apply",
        "--db",
        &url,
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &live.name,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut verify = vec!["verify", "--db", &url, "--desired", &want_url];
    verify.extend(scope);
    let o = run(&verify);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        live.query_one("SELECT count(*)::text FROM pg_tables WHERE schemaname = 'jobs'"),
        "1"
    );
    // Without the scope, the other schemas are differences.
    let o = run(&["verify", "--db", &url, "--desired", &want_url]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn additive_mode_never_drops_and_can_run_twice() {
    let live = test_db("cli_additive");
    live.exec(
        "CREATE TABLE t (id int PRIMARY KEY, legacy text, n int);
         INSERT INTO t VALUES (1, 'keep me', 1);",
    );
    let want = test_db("cli_additive_want");
    want.exec(
        "CREATE TABLE t (id int PRIMARY KEY, n bigint, must text NOT NULL);
         CREATE TABLE fresh (id int PRIMARY KEY);
         CREATE INDEX t_n ON t (n);",
    );
    let dir = temp_dir();
    let plan = dir.path().join("plan.sql");
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        &want.url(),
        "--additive",
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = std::fs::read_to_string(&plan).unwrap();
    let statements: String = text
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!statements.contains("DROP"), "{text}");
    assert!(
        text.contains("-- TODO: public.t.must is NOT NULL"),
        "{text}"
    );
    assert!(
        text.contains("CREATE TABLE IF NOT EXISTS public.fresh"),
        "{text}"
    );
    assert!(
        text.contains("omitted: drop column public.t.legacy"),
        "{text}"
    );
    // Run with psql twice: the second run changes nothing and fails on nothing.
    for _ in 0..2 {
        pgalign::db::shadow::run_psql(&live.settings, Some(&plan), None).unwrap();
    }
    assert_eq!(
        live.query_one("SELECT legacy FROM t WHERE id = 1"),
        "keep me"
    );
}

/// Bare `pgalign` is the wizard built by clap from the same arguments, so it
/// reads `PGALIGN_DB_URL` exactly as `pgalign wizard` does (it used to ignore
/// the variable and then ask for it). Without a TTY it gets as far as the
/// wizard does and fails for the terminal, not for the target.
#[test]
fn bare_pgalign_honours_pgalign_db_url_like_the_wizard() {
    let dir = temp_dir();
    let desired = dir.path().join("desired.sql");
    std::fs::write(&desired, "CREATE TABLE t (id int);").unwrap();
    let sessions = dir.path().join("sessions");
    let with_env = |args: &[&str]| {
        pgalign()
            .current_dir(dir.path())
            .env("PGALIGN_DB_URL", "postgres://app@127.0.0.1:1/shop")
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running pgalign")
    };
    let desired = desired.to_str().unwrap();
    let sessions = sessions.to_str().unwrap();

    // Only the variable: the target is known, the desired schema is not.
    let bare = with_env(&[]);
    let wizard = with_env(&["wizard"]);
    assert_eq!(bare.status.code(), Some(1), "{}", stderr(&bare));
    assert!(
        !stderr(&bare).contains("needs a target"),
        "{}",
        stderr(&bare)
    );
    assert!(
        stderr(&bare).contains("needs the desired schema"),
        "{}",
        stderr(&bare)
    );
    assert_eq!(stderr(&bare), stderr(&wizard));

    // With the desired schema as well, both stop only for the missing terminal.
    let args = ["--desired", desired, "--session-dir", sessions];
    let bare = with_env(&args);
    let wizard = with_env(&[&["wizard"][..], &args[..]].concat());
    assert_eq!(bare.status.code(), Some(1), "{}", stderr(&bare));
    assert!(
        stderr(&bare).contains("the wizard needs an interactive terminal"),
        "{}",
        stderr(&bare)
    );
    assert_eq!(stderr(&bare), stderr(&wizard));

    // Without the variable the bare command still asks for a target.
    let o = pgalign()
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("needs a target"), "{}", stderr(&o));

    // The root's wizard flags never mix with a subcommand (a usage error).
    let o = run(&[
        "--db",
        "postgres://x@127.0.0.1:1/x",
        "diff",
        "--desired",
        desired,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("cannot be used with"), "{}", stderr(&o));
}
