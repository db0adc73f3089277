//! Post-checks against real things: an HTTP server this test starts on
//! 127.0.0.1, real shell commands, real queries on the test server.

use crate::support::*;
use pgalign::config::{CheckKind, LedgerKind, PostCheck};
use pgalign::postcheck::{CheckResult, run_one};
use std::io::{Read, Write};
use std::time::Duration;

/// A tiny HTTP server on 127.0.0.1: `/ok` answers 200, `/fail` 500, `/hang`
/// never answers. It serves at most 32 connections, then its thread ends.
fn http_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, body) = match path.as_str() {
                    "/ok" => ("200 OK", "status ok, migrations current"),
                    "/fail" => ("500 Internal Server Error", "boom: database not ready"),
                    _ => {
                        // Holds the connection open without a word.
                        std::thread::sleep(Duration::from_secs(5));
                        return;
                    }
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

fn check(name: &str, kind: CheckKind, timeout_ms: u64, env: &[&str]) -> PostCheck {
    PostCheck {
        name: name.into(),
        kind,
        timeout: Duration::from_millis(timeout_ms),
        env: env.iter().map(|s| s.to_string()).collect(),
    }
}

fn run_check(c: &PostCheck, db: &TestDb) -> CheckResult {
    let settings = db.settings.clone();
    let c = c.clone();
    block_on(async move { run_one(&c, &settings).await })
}

#[test]
fn http_checks_pass_on_2xx_fail_on_5xx_and_time_out() {
    let db = test_db("pc_http");
    let port = http_server();
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");

    let ok = run_check(
        &check("status", CheckKind::Http(url("/ok")), 3000, &[]),
        &db,
    );
    assert!(ok.ok, "{}", ok.line());
    assert_eq!(ok.kind, "http");
    assert!(ok.excerpt.contains("HTTP 200 status ok"), "{}", ok.line());
    assert!(ok.line().starts_with("✔ status (http, "), "{}", ok.line());

    let fail = run_check(
        &check("status", CheckKind::Http(url("/fail")), 3000, &[]),
        &db,
    );
    assert!(!fail.ok);
    assert!(fail.excerpt.contains("HTTP 500 boom"), "{}", fail.line());
    assert!(
        fail.line().starts_with("✖ status (http, "),
        "{}",
        fail.line()
    );

    let hang = run_check(
        &check("readyz", CheckKind::Http(url("/hang")), 800, &[]),
        &db,
    );
    assert!(!hang.ok);
    assert!(
        hang.excerpt.contains("no answer within 0.8 s"),
        "{}",
        hang.line()
    );
    assert!(
        hang.duration < Duration::from_secs(3),
        "{:?}",
        hang.duration
    );
}

#[test]
fn credentials_in_a_check_url_are_never_shown() {
    let db = test_db("pc_http_creds");
    // Port 9 (discard) is closed here: the error names the URL.
    let c = check(
        "health",
        CheckKind::Http("http://ops:Sup3rS3cret@127.0.0.1:9/health?token=abc123".into()),
        2000,
        &[],
    );
    let r = run_check(&c, &db);
    assert!(!r.ok);
    assert!(r.excerpt.contains("127.0.0.1:9"), "{}", r.line());
    assert!(!r.line().contains("Sup3rS3cret"), "{}", r.line());
    assert!(!r.line().contains("abc123"), "{}", r.line());
    let https = run_check(
        &check(
            "tls",
            CheckKind::Http("https://127.0.0.1:9/".into()),
            1000,
            &[],
        ),
        &db,
    );
    assert!(!https.ok);
    assert!(
        https.excerpt.contains("not supported in this build"),
        "{}",
        https.line()
    );
}

#[test]
fn smoke_commands_pass_on_exit_0_and_fail_otherwise() {
    let db = test_db("pc_cmd");
    let pass = run_check(
        &check(
            "smoke",
            CheckKind::Command("echo smoke ok".into()),
            5000,
            &[],
        ),
        &db,
    );
    assert!(pass.ok, "{}", pass.line());
    assert_eq!(pass.excerpt, "smoke ok");
    let fail = run_check(
        &check(
            "smoke",
            CheckKind::Command("echo 'orders endpoint down' >&2; exit 3".into()),
            5000,
            &[],
        ),
        &db,
    );
    assert!(!fail.ok);
    assert!(
        fail.excerpt.contains("exit 3: orders endpoint down"),
        "{}",
        fail.line()
    );
}

#[test]
fn a_command_that_outlives_its_timeout_is_killed_with_its_group() {
    let db = test_db("pc_cmd_timeout");
    let dir = temp_dir();
    let pidfile = dir.path().join("pid");
    let cmd = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let r = run_check(&check("slow", CheckKind::Command(cmd), 1000, &[]), &db);
    assert!(!r.ok);
    assert!(r.excerpt.contains("no exit within 1.0 s"), "{}", r.line());
    assert!(r.duration < Duration::from_secs(5), "{:?}", r.duration);
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    // The background sleep was in the group: gone (or a zombie) soon after.
    let gone = (0..40).any(|_| {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| s.split_whitespace().nth(2).is_none_or(|st| st != "Z"))
            .unwrap_or(false);
        if alive {
            std::thread::sleep(Duration::from_millis(50));
        }
        !alive
    });
    assert!(
        gone,
        "the command's background child {pid} survived the timeout"
    );
}

#[test]
fn sql_checks_need_one_true_row() {
    let db = test_db("pc_sql");
    db.exec("CREATE TABLE shop_orders (id int); INSERT INTO shop_orders VALUES (1), (2);");
    let sql = |q: &str| check("sql", CheckKind::Sql(q.into()), 5000, &[]);
    let t = run_check(
        &sql("SELECT to_regclass('public.shop_orders') IS NOT NULL"),
        &db,
    );
    assert!(t.ok, "{}", t.line());
    let f = run_check(&sql("SELECT count(*) > 10 FROM shop_orders"), &db);
    assert!(!f.ok);
    assert_eq!(f.excerpt, "false");
    let two = run_check(&sql("SELECT true FROM shop_orders"), &db);
    assert!(!two.ok);
    assert!(two.excerpt.contains("returned 2 rows"), "{}", two.line());
    let not_bool = run_check(&sql("SELECT count(*) FROM shop_orders"), &db);
    assert!(!not_bool.ok);
    assert!(
        not_bool.excerpt.contains("expected boolean"),
        "{}",
        not_bool.line()
    );
    // A check runs read-only: it cannot change the target.
    let write = run_check(
        &sql("WITH d AS (DELETE FROM shop_orders RETURNING 1) SELECT true"),
        &db,
    );
    assert!(!write.ok, "{}", write.line());
    assert!(write.excerpt.contains("read-only"), "{}", write.line());
    assert_eq!(db.query_one("SELECT count(*)::text FROM shop_orders"), "2");
}

#[test]
fn ledger_checks_read_the_live_ledger() {
    let db = test_db("pc_ledger");
    let alembic = check("alembic", CheckKind::Ledger(LedgerKind::Alembic), 5000, &[]);
    let r = run_check(&alembic, &db);
    assert!(
        !r.ok && r.excerpt.contains("no alembic ledger table"),
        "{}",
        r.line()
    );
    db.exec("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)");
    let r = run_check(&alembic, &db);
    assert!(!r.ok && r.excerpt.contains("not stamped"), "{}", r.line());
    db.exec("INSERT INTO alembic_version VALUES ('a1'), ('b2')");
    let r = run_check(&alembic, &db);
    assert!(
        !r.ok && r.excerpt.contains("2 heads (a1, b2)"),
        "{}",
        r.line()
    );
    db.exec("DELETE FROM alembic_version WHERE version_num = 'b2'");
    let r = run_check(&alembic, &db);
    assert!(
        r.ok && r.excerpt.contains("public.alembic_version at a1"),
        "{}",
        r.line()
    );
    db.exec(
        "CREATE TABLE _prisma_migrations (id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz, migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz, started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count int NOT NULL DEFAULT 0);
         INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name) VALUES ('1', 'c', now(), '0001_init');
         INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('2', 'c', '0002_broken')",
    );
    let prisma = check("prisma", CheckKind::Ledger(LedgerKind::Prisma), 5000, &[]);
    let r = run_check(&prisma, &db);
    assert!(!r.ok && r.excerpt.contains("0002_broken"), "{}", r.line());
    db.exec("CREATE SCHEMA cm; CREATE TABLE cm.schema_version (version int PRIMARY KEY, description text); INSERT INTO cm.schema_version VALUES (1, 'a'), (3, 'c')");
    let sv = check(
        "sv",
        CheckKind::Ledger(LedgerKind::SchemaVersion),
        5000,
        &[],
    );
    let r = run_check(&sv, &db);
    assert!(
        r.ok && r
            .excerpt
            .contains("cm.schema_version: 2 version row(s), the last 3"),
        "{}",
        r.line()
    );
}

/// `verify --post-checks` end to end: exit 0 only when in sync and every
/// check passes; the command sees no PGPASSWORD or PGALIGN_* unless named.
#[test]
fn verify_runs_post_checks_and_keeps_secrets_from_commands() {
    let live = test_db("pc_verify_live");
    let want = test_db("pc_verify_want");
    for db in [&live, &want] {
        db.exec("CREATE TABLE items (id int PRIMARY KEY, name text)");
    }
    let dir = temp_dir();
    let cfg = dir.path().join("pgalign.toml");
    std::fs::write(
        &cfg,
        r#"environment = "staging"

[[post_check]]
name = "items exist"
sql = "SELECT to_regclass('public.items') IS NOT NULL"

[[post_check]]
name = "no secrets"
command = "env; test -z \"$PGPASSWORD\" && test -z \"$PGALIGN_TOKEN\""

[[post_check]]
name = "named variable"
command = "test \"$PGALIGN_TOKEN\" = tok-123"
env = ["PGALIGN_TOKEN"]
"#,
    )
    .unwrap();
    let verify = |cfg: &std::path::Path| {
        pgalign()
            .args(["verify", "--post-checks", "--config"])
            .arg(cfg)
            .args(["--db", &live.url(), "--desired", &want.url()])
            .env("PGPASSWORD", "hunter2-from-env")
            .env("PGALIGN_TOKEN", "tok-123")
            .output()
            .unwrap()
    };
    let o = verify(&cfg);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("✔ items exist (sql, "), "{out}");
    assert!(out.contains("✔ no secrets (command, "), "{out}");
    assert!(out.contains("✔ named variable (command, "), "{out}");
    assert!(
        !out.contains("PGPASSWORD") && !out.contains("hunter2"),
        "{out}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[post_check]]\nname = \"orders table\"\nsql = \"SELECT to_regclass('public.orders') IS NOT NULL\"\n",
    )
    .unwrap();
    let o = verify(&bad);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{}", stderr(&o));
    assert!(out.contains("✖ orders table (sql, "), "{out}");
    assert!(out.contains("applied, post-checks failed"), "{out}");
    assert!(stderr(&o).contains("pgalign restore"), "{}", stderr(&o));
}
