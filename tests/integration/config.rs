//! `pgalign.toml` as the commands read it: errors name the file, the line
//! and the key; a password in a connection string is refused unread.

use crate::support::*;

fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let p = dir.path().join("pgalign.toml");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn verify_with(config: &str) -> std::process::Output {
    run(&[
        "verify",
        "--post-checks",
        "--config",
        config,
        "--desired",
        "does-not-matter.sql",
    ])
}

#[test]
fn an_unknown_key_is_an_error_naming_key_and_line() {
    let dir = temp_dir();
    let cfg = write(
        &dir,
        "environment = \"staging\"\nreviewers = [\"Rex\"]\n\n[apply]\nlock_timeout = \"5s\"\nlock_timout = \"9s\"\n",
    );
    let o = verify_with(&cfg);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("line 6, key `lock_timout`: unknown key"), "{e}");
    assert!(e.contains("pgalign.toml"), "{e}");
    // The wizard reads the same file the same way, before it needs a terminal.
    let o = run(&["wizard", "--config", &cfg, "--db", "host=/nonexistent"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("line 6, key `lock_timout`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_password_in_the_db_url_is_refused_and_not_echoed() {
    let dir = temp_dir();
    let cfg = write(
        &dir,
        "desired = \"db/schema.sql\"\ndb = \"postgres://app:Tr0ub4dor@db.internal/prod\"\n",
    );
    let o = verify_with(&cfg);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("line 2, key `db`"), "{e}");
    assert!(e.contains("pgpass") && e.contains("PGPASSWORD"), "{e}");
    assert!(!e.contains("Tr0ub4dor"), "{e}");
    // The same for the wizard.
    let o = run(&["wizard", "--config", &cfg]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!stderr(&o).contains("Tr0ub4dor"), "{}", stderr(&o));
    assert!(stderr(&o).contains("pgpass"), "{}", stderr(&o));
}

#[test]
fn two_kinds_in_one_check_is_an_error() {
    let dir = temp_dir();
    let cfg = write(
        &dir,
        "[[post_check]]\nname = \"ok\"\nsql = \"SELECT true\"\n\n[[post_check]]\nname = \"both\"\nhttp = \"http://127.0.0.1:9/\"\ncommand = \"true\"\n",
    );
    let o = verify_with(&cfg);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("post-check `both` must have exactly one of http, command, sql, ledger (it has http and command)"),
        "{e}"
    );
    assert!(e.contains("line 5"), "{e}");
}

#[test]
fn a_wrong_type_names_key_and_line() {
    let dir = temp_dir();
    let cfg = write(&dir, "[apply]\nlock_retries = \"three\"\n");
    let o = verify_with(&cfg);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 2, key `lock_retries`: invalid type"),
        "{}",
        stderr(&o)
    );
    let cfg = write(&dir, "environment = \"prodution\"\n");
    let o = verify_with(&cfg);
    assert!(
        stderr(&o).contains("line 1, key `environment`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_missing_config_file_is_an_error() {
    let o = verify_with("/nonexistent/pgalign.toml");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("configuration file /nonexistent/pgalign.toml does not exist"),
        "{}",
        stderr(&o)
    );
}

fn apply_started(journal: &std::path::Path) -> (u64, Option<u64>) {
    use pgalign::journal::{self, Entry};
    journal::read(journal)
        .unwrap()
        .into_iter()
        .find_map(|r| match r.entry {
            Entry::ApplyStarted {
                lock_timeout_ms,
                statement_timeout_ms,
                ..
            } => Some((lock_timeout_ms, statement_timeout_ms)),
            _ => None,
        })
        .expect("an ApplyStarted entry")
}

/// `[apply]` gives apply's defaults; flags win over it.
#[test]
fn apply_takes_its_timeouts_from_the_config_and_flags_win() {
    let db = test_db("cfg_apply");
    let dir = temp_dir();
    let cfg = write(
        &dir,
        "[apply]\nlock_timeout = \"1500ms\"\nstatement_timeout = \"300ms\"\nlock_retries = 0\n",
    );
    let plan = dir.path().join("slow.sql");
    let settings = db.settings.clone();
    let live = block_on(async move { pgalign::catalog::inspect(&settings).await.unwrap() });
    let p = pgalign::plan::Plan {
        live_fingerprint: pgalign::catalog::Scope::default().fingerprint(&live.model),
        desired_fingerprint: "hand-made".into(),
        steps: vec![pgalign::plan::Step {
            number: 1,
            title: "a slow step".into(),
            sql: "SELECT pg_sleep(5);".into(),
            hazards: vec![],
            transactional: true,
            group: 1,
        }],
        notes: vec![],
        scope: Default::default(),
    };
    std::fs::write(
        &plan,
        pgalign::plan::render_plan(&p, &db.settings.to_string(), "2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let apply = |session: &str, extra: &[&str]| {
        let session = dir.path().join(session);
        let o = pgalign()
            .args(["apply", "--db", &db.url(), "--confirm-target", &db.name])
            .args(["--plan", plan.to_str().unwrap()])
            .args(["--config", &cfg, "--session-dir", session.to_str().unwrap()])
            .args(extra)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (o, session.join("journal.jsonl"))
    };
    let (o, journal) = apply("a", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("57014"),
        "the config's statement timeout fired: {}",
        stderr(&o)
    );
    assert_eq!(apply_started(&journal), (1500, Some(300)));

    let (o, journal) = apply(
        "b",
        &["--lock-timeout", "2s", "--statement-timeout", "200ms"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(apply_started(&journal), (2000, Some(200)));
}
