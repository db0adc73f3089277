//! Issue #11, written as the attacks: a database named like a connection
//! string, psql meta-commands in a desired file, an empty desired source, and
//! a failing live side waiting on a slow desired one.

use crate::rehearse::scratch_left;
use crate::support::*;
use pgalign::db::ConnSettings;
use pgalign::db::conninfo::pct;
use std::path::Path;
use std::time::{Duration, Instant};

/// A URL for `s` that survives any database name (every part percent-encoded).
fn url_of(s: &ConnSettings) -> String {
    let auth = match &s.password {
        Some(pw) => format!("{}:{}", pct(&s.user), pct(pw)),
        None => pct(&s.user),
    };
    format!(
        "postgres://{auth}@{}:{}/{}",
        pct(&s.host),
        s.port,
        pct(&s.dbname)
    )
}

/// A database with exactly this name (dropped with the value).
fn db_named(name: &str) -> TestDb {
    let a = admin();
    let sql = format!(
        "CREATE DATABASE \"{}\" TEMPLATE template0",
        name.replace('"', "\"\"")
    );
    block_on(async move {
        let c = pgalign::db::connect(&a).await.unwrap();
        c.batch_execute(&sql).await.unwrap();
    });
    TestDb {
        name: name.to_string(),
        settings: admin().with_dbname(name),
    }
}

/// Everything `inspect` sees of a database (its schema, as JSON).
fn schema_of(db: &TestDb) -> String {
    let o = run(&["inspect", "--db", &url_of(&db.settings), "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{label}-{}-{nanos}", std::process::id())
}

#[test]
fn a_database_named_like_a_conninfo_never_redirects_rehearse_or_backup() {
    let victim = test_db("victim");
    victim.exec("CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1);");
    let before = schema_of(&victim);
    // Anything that connects here was sent to the wrong server.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let port = trap.local_addr().unwrap().port();
    let want = test_db("hostile_want");
    want.exec("CREATE TABLE customers (id int, note text);");
    let dir = temp_dir();
    for (i, name) in [
        format!("dbname={} application_name=", victim.name),
        format!("dbname={} host=127.0.0.1 port={port} ", victim.name),
        format!("o'brien \\ dbname={}", victim.name),
    ]
    .iter()
    .enumerate()
    {
        let hostile = db_named(name);
        hostile.exec("CREATE TABLE customers (id int, legacy text);");
        let url = url_of(&hostile.settings);
        let plan = dir.path().join(format!("plan{i}.sql"));
        let o = run(&[
            "diff",
            "--db",
            &url,
            "--desired",
            &want.url(),
            "-o",
            plan.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));

        let o = run(&["rehearse", "--db", &url, "--plan", plan.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(stdout(&o).contains("converged"), "{}", stdout(&o));
        assert_eq!(scratch_left(&o), 0, "{name}");

        let out = dir.path().join(format!("backup{i}"));
        let o = run(&["backup", "--db", &url, "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        let schema_file = stdout(&o)
            .lines()
            .find_map(|l| l.strip_prefix("schema:"))
            .map(|p| p.trim().to_string())
            .unwrap();
        let dumped = std::fs::read_to_string(schema_file).unwrap();
        assert!(
            dumped.contains("legacy") && !dumped.contains("keep_me"),
            "{name}: the backup is of the hostile database itself"
        );

        assert_eq!(
            schema_of(&victim),
            before,
            "{name}: the victim is untouched"
        );
        assert_eq!(victim.query_one("SELECT count(*)::text FROM keep_me"), "1");
        assert!(
            trap.accept().is_err(),
            "{name}: nothing connected elsewhere"
        );
    }
}

/// A file that must never appear, and a command that would create it.
fn marker() -> (std::path::PathBuf, String) {
    let path = std::env::temp_dir().join(unique("pgalign-pwned"));
    let touch = format!("touch {}", path.display());
    (path, touch)
}

fn diff_of(live: &TestDb, desired: &str) -> std::process::Output {
    run(&["diff", "--db", &live.url(), "--desired", desired])
}

#[test]
fn psql_meta_commands_in_a_desired_file_never_run() {
    let live = test_db("meta_live");
    let dir = temp_dir();
    let (pwned, touch) = marker();
    // Each attack, and the line of the file that is refused.
    let attacks = [
        (format!("\\! {touch}"), 2),
        (format!("\\o |{touch}"), 2),
        (format!("SELECT 1 \\g |{touch}"), 2),
        (format!("\\copy (SELECT 1) TO PROGRAM '{touch}'"), 2),
        (
            format!("CREATE TABLE x (a text);\n\\copy x from program '{touch}'"),
            3,
        ),
        (format!("\\set x '\\\\! {touch}'\nSELECT 1 :x;"), 2),
        (format!("\\echo `{touch}`"), 2),
        (format!("\\echo hi \\! {touch}"), 2),
        (
            format!("\\set ON_ERROR_STOP off\nSELECT nope;\n\\! {touch}"),
            2,
        ),
        (
            format!("\\if false\nCOPY t FROM stdin;\n\\endif\n\\! {touch}\n\\."),
            3,
        ),
        (
            format!("SET standard_conforming_strings = off;\nSELECT 'a\\' ' \\! {touch} ';"),
            3,
        ),
        ("\\setenv PGHOST /tmp".to_string(), 2),
        ("\\c postgres".to_string(), 2),
        ("\\i /etc/passwd".to_string(), 2),
    ];
    for (i, (attack, line)) in attacks.iter().enumerate() {
        let file = dir.path().join(format!("attack{i}.sql"));
        std::fs::write(&file, format!("CREATE TABLE t (id int);\n{attack}\n")).unwrap();
        let o = diff_of(&live, file.to_str().unwrap());
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{attack}: {err}");
        assert!(
            err.contains(&format!("{}:{line}:", file.display())),
            "{attack}: names the file and line: {err}"
        );
        assert!(!pwned.exists(), "{attack}: ran");
    }

    // The same through a command's output and through an include.
    let o = diff_of(&live, &format!("cmd:printf '\\\\! {touch}\\n'"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("command's output:1:"), "{}", stderr(&o));
    let outside = temp_dir();
    let evil = outside.path().join("evil.sql");
    std::fs::write(&evil, format!("\\! {touch}\n")).unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::os::unix::fs::symlink(&evil, src.join("link.sql.inc")).unwrap();
    std::fs::write(src.join("a.sql"), "\\ir link.sql.inc\n").unwrap();
    let o = diff_of(&live, src.to_str().unwrap());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("outside the source directory"),
        "{}",
        stderr(&o)
    );
    assert!(!pwned.exists(), "nothing ran");

    // lint flags each of them as an opaque blocker, with its line.
    let file = dir.path().join("attack0.sql");
    let o = run(&["lint", file.to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let meta = v["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["line"] == 2)
        .expect("the meta-command is a statement of the report");
    assert_eq!(meta["hazards"][0]["id"], "opaque");
    assert_eq!(meta["hazards"][0]["severity"], "blocker");
    assert!(!pwned.exists());
}

#[test]
fn harmless_meta_commands_and_includes_inside_the_source_keep_working() {
    let live = test_db("meta_ok_live");
    let dir = temp_dir();
    std::fs::create_dir(dir.path().join("parts")).unwrap();
    std::fs::write(
        dir.path().join("parts/orders.sql"),
        "CREATE TABLE orders (id int PRIMARY KEY);\n",
    )
    .unwrap();
    let main = dir.path().join("schema.sql");
    std::fs::write(
        &main,
        "\\set ON_ERROR_STOP on\n\\set VERBOSITY verbose\n\\echo loading\n\\if true\n\
         \\restrict k3y\nCREATE TABLE customers (id int);\n\\unrestrict k3y\n\\endif\n\
         \\ir parts/orders.sql\n",
    )
    .unwrap();
    let o = diff_of(&live, main.to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let plan = stdout(&o);
    assert!(
        plan.contains("CREATE TABLE public.customers")
            && plan.contains("CREATE TABLE public.orders"),
        "{plan}"
    );
}

fn plan_file(
    dir: &Path,
    live: &TestDb,
    desired: &str,
    extra: &[&str],
) -> (std::process::Output, String) {
    let plan = dir.join(unique("plan") + ".sql");
    let url = live.url();
    let mut args = vec![
        "diff",
        "--db",
        &url,
        "--desired",
        desired,
        "-o",
        plan.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let o = pgalign().args(&args).output().unwrap();
    let text = std::fs::read_to_string(&plan).unwrap_or_default();
    (o, plan.display().to_string() + "\n" + &text)
}

fn apply(live: &TestDb, plan_and_text: &str) -> std::process::Output {
    let plan = plan_and_text.lines().next().unwrap();
    run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan,
        "--confirm-target",
        &live.name,
        "--allow-hazards",
        "data-loss,breaks-clients",
    ])
}

fn three_tables(label: &str) -> TestDb {
    let live = test_db(label);
    live.exec(
        "CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE TABLE c (id int);
         INSERT INTO a VALUES (1);",
    );
    live
}

#[test]
fn an_empty_desired_source_is_a_blocker_that_apply_refuses() {
    let dir = temp_dir();
    let empty_file = dir.path().join("empty.sql");
    std::fs::write(&empty_file, "-- nothing here\n").unwrap();
    let dir_with_empty_file = dir.path().join("schema");
    std::fs::create_dir(&dir_with_empty_file).unwrap();
    std::fs::write(dir_with_empty_file.join("01.sql"), "").unwrap();
    for desired in [
        empty_file.to_str().unwrap(),
        "cmd:true",
        dir_with_empty_file.to_str().unwrap(),
    ] {
        let live = three_tables("empty_src");
        let (o, plan) = plan_file(dir.path(), &live, desired, &[]);
        assert_eq!(o.status.code(), Some(2), "{desired}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(
                "blocker: the desired schema is empty: it drops all 3 tables: was the source right?"
            ),
            "{desired}: {}",
            stderr(&o)
        );
        assert!(plan.contains("blocker 1"), "{plan}");
        assert!(
            plan.contains("1 line): stop: the plan drops 3 of 3 tables"),
            "{plan}"
        );

        let o = apply(&live, &plan);
        assert_eq!(o.status.code(), Some(3), "{desired}: {}", stderr(&o));
        assert!(stderr(&o).contains("blocker"), "{}", stderr(&o));
        assert_eq!(live.query_one("SELECT count(*)::text FROM a"), "1");
    }

    // An empty directory is no source at all.
    let none = dir.path().join("none");
    std::fs::create_dir(&none).unwrap();
    let live = three_tables("empty_dir");
    let o = diff_of(&live, none.to_str().unwrap());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds no .sql files"), "{}", stderr(&o));
}

#[test]
fn allow_drop_all_turns_the_blocker_into_a_danger_naming_the_count() {
    let dir = temp_dir();
    let live = test_db("drop_most");
    live.exec("CREATE TABLE a (id int); CREATE TABLE b (id int); CREATE TABLE c (id int); CREATE TABLE d (id int);");
    let keep_one = dir.path().join("one.sql");
    std::fs::write(&keep_one, "CREATE TABLE d (id int);\n").unwrap();
    let (o, plan) = plan_file(dir.path(), &live, keep_one.to_str().unwrap(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the desired schema drops 3 of 4 tables: was the source right?"),
        "{}",
        stderr(&o)
    );
    assert!(plan.contains("blocker 1"), "{plan}");

    let (o, plan) = plan_file(
        dir.path(),
        &live,
        keep_one.to_str().unwrap(),
        &["--allow-drop-all"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(plan.contains("blocker 0"), "{plan}");
    assert!(
        plan.contains("the desired schema drops 3 of 4 tables (allowed by --allow-drop-all)"),
        "{plan}"
    );
    let o = apply(&live, &plan);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        live.query_one("SELECT string_agg(relname, ',')::text FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"),
        "d"
    );

    // Half of the tables, or a new live database, is no reason to block.
    let half = test_db("drop_half");
    half.exec("CREATE TABLE a (id int); CREATE TABLE d (id int);");
    let o = diff_of(&half, keep_one.to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("stop: the plan drops"),
        "{}",
        stdout(&o)
    );
    let fresh = test_db("drop_fresh");
    let o = diff_of(&fresh, "cmd:true");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = diff_of(&fresh, keep_one.to_str().unwrap());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).contains("blocker 0"), "{}", stdout(&o));
}

/// Processes whose command line holds `needle`.
fn processes_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| {
            String::from_utf8_lossy(c)
                .replace('\0', " ")
                .contains(needle)
        })
        .count()
}

#[test]
fn a_failing_live_side_is_reported_without_waiting_for_the_desired_one() {
    let live = test_db("race_live");
    let missing = live
        .settings
        .with_dbname(&unique("no_such_db").replace('-', "_"));
    let shadow = url_of(&admin());
    let missing = url_of(&missing);
    // On --shadow (no throwaway server to start, which cannot be interrupted),
    // then on a throwaway server; the bounds are far below the sleeps.
    for (with_shadow, secs, bound) in [(true, 60, 20), (false, 120, 60)] {
        // A duration no other process uses, to look for its sleep afterwards.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            % 1000;
        let sleep = format!("sleep {secs}.{nanos:03}7");
        let desired = format!("cmd:{sleep}; echo 'CREATE TABLE t (id int);'");
        let mut args = vec!["diff", "--db", &missing, "--desired", &desired];
        if with_shadow {
            args.extend(["--shadow", &shadow]);
        }
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let started = Instant::now();
        let child = pgalign()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let o = child.wait_with_output().unwrap();
        let took = started.elapsed();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("does not exist"), "{}", stderr(&o));
        assert!(
            took < Duration::from_secs(bound),
            "shadow {with_shadow}: reported after {took:?}"
        );
        assert_eq!(processes_with(&sleep), 0, "the desired command was stopped");
        let left = block_on({
            let admin = admin();
            async move {
                let c = pgalign::db::connect(&admin).await.unwrap();
                let pattern = format!("pgalign\\_shadow\\_{pid}\\_%");
                c.query_one(
                    "SELECT count(*) FROM pg_database WHERE datname LIKE $1",
                    &[&pattern],
                )
                .await
                .unwrap()
                .get::<_, i64>(0)
            }
        });
        assert_eq!(left, 0, "the shadow database was dropped");
    }
}

#[test]
fn the_reviewer_typing_the_count_lets_the_wizard_plan_the_drop() {
    use crate::tui::fixtures::{acknowledge_all, app_at_diff, key, type_text};
    use pgalign::session::{Config, Step, tasks};
    use pgalign::tui::app::{Effect, Msg};
    use ratatui::crossterm::event::KeyCode;

    let live = three_tables("wizard_drop_all");
    let dir = temp_dir();
    let empty = dir.path().join("empty.sql");
    std::fs::write(&empty, "").unwrap();
    let session = dir.path().join("session");
    std::fs::create_dir(&session).unwrap();
    let config = Config {
        target: live.settings.clone(),
        desired: Some(empty.display().to_string()),
        external_plan: None,
        shadow: None,
        session_dir: session.clone(),
        mode: pgalign::journal::Mode::Live,
        plan_options: pgalign::plan::PlanOptions {
            drop_all: pgalign::plan::DropAll::Refuse,
            ..Default::default()
        },
    };
    let mut app = app_at_diff(config);
    let plan = block_on(tasks::generate_plan(&app.wizard.config)).unwrap();
    app.update(Msg::Plan(Ok(plan)));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Review);
    assert_eq!(app.wizard.drop_all_count(), Some(3));
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "Rex Reviewer");
    key(&mut app, KeyCode::Enter);
    let err = app.error.clone().unwrap_or_default();
    assert!(err.contains("type 3"), "{err}");
    type_text(&mut app, "3");
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Diff]),
        "{:?}",
        app.error
    );
    assert_eq!(app.wizard.step, Step::Diff);

    let plan = block_on(tasks::generate_plan(&app.wizard.config)).unwrap();
    assert_eq!(plan.file.header.summary.blocker, 0);
    assert!(
        plan.file
            .text
            .contains("(allowed by the reviewer, who typed 3)"),
        "{}",
        plan.file.text
    );
    app.update(Msg::Plan(Ok(plan)));
    key(&mut app, KeyCode::Enter);
    acknowledge_all(&mut app);
    key(&mut app, KeyCode::Tab);
    type_text(&mut app, "Rex Reviewer");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Apply, "{:?}", app.error);
    let journal = std::fs::read_to_string(session.join("journal.jsonl")).unwrap();
    assert!(
        journal.contains("the reviewer typed 3 on Review"),
        "{journal}"
    );
}
