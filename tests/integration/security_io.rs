//! Issue 11, written as the attacks: secrets placed in every input channel
//! never reach an output, a file, the journal or the report; files are never
//! written through planted symlinks; a torn journal line is survived; names
//! cannot forge terminal output; usage errors exit 1.

use crate::support::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

const CANARY: &str = "PW-canary-7f3a";

/// `postgres://u@h:p/db` → `postgres://u:CANARY@h:p/db`.
fn with_canary(url: &str) -> String {
    let start = url.find("://").unwrap() + 3;
    let at = start + url[start..].find('@').unwrap();
    format!("{}:{CANARY}{}", &url[..at], &url[at..])
}

/// Every regular file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let meta = std::fs::symlink_metadata(e.path()).unwrap();
        if meta.is_dir() {
            out.extend(files_under(&e.path()));
        } else if meta.is_file() {
            out.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

fn assert_no_canary_in(dir: &Path) -> usize {
    let files = files_under(dir);
    for (path, bytes) in &files {
        assert!(
            !String::from_utf8_lossy(bytes).contains(CANARY),
            "{} holds the secret:\n{}",
            path.display(),
            String::from_utf8_lossy(bytes)
        );
    }
    files.len()
}

fn assert_no_canary(o: &std::process::Output) {
    let (out, err) = (stdout(o), stderr(o));
    assert!(!out.contains(CANARY), "stdout holds the secret:\n{out}");
    assert!(!err.contains(CANARY), "stderr holds the secret:\n{err}");
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The test server takes any password (trust): URLs may carry the canary
/// and still connect.
fn server_ignores_passwords() -> bool {
    admin().password.is_none()
}

#[test]
fn security_mistyped_urls_never_print_their_password() {
    let dir = temp_dir();
    let desired = dir.path().join("desired.sql");
    std::fs::write(&desired, "CREATE TABLE t (id int);").unwrap();
    let desired = desired.to_str().unwrap();
    let plan = dir.path().join("plan.sql");
    std::fs::write(&plan, "SELECT 1;").unwrap();
    let plan = plan.to_str().unwrap();
    let typo = format!("postgresq://u:{CANARY}@127.0.0.1:1/db");
    let closed = format!("postgresql://u:{CANARY}@127.0.0.1:1/db");
    let cases: Vec<Vec<&str>> = vec![
        vec!["diff", "--db", &typo, "--desired", desired],
        vec!["verify", "--db", &typo, "--desired", desired],
        vec!["inspect", "--db", &typo],
        vec!["backup", "--db", &typo, "--out", "x"],
        vec!["apply", "--db", &typo, "--plan", plan],
        vec!["rehearse", "--db", &typo, "--plan", plan],
        vec!["lint", plan, "--db", &typo],
        // A server that is not there: the connection error names the target.
        vec!["inspect", "--db", &closed],
        vec!["diff", "--db", &closed, "--desired", desired],
    ];
    for args in cases {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_no_canary(&o);
        assert!(
            stderr(&o).contains("pgalign: error"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // The password-free rest of the URL is still shown, to say what was wrong.
    let o = run(&["inspect", "--db", &typo]);
    assert!(
        stderr(&o).contains("postgresq://u@127.0.0.1:1/db"),
        "{}",
        stderr(&o)
    );
    // From the environment, and in --help (clap shows env values otherwise).
    let o = pgalign()
        .args(["diff", "--help"])
        .env("PGALIGN_DB_URL", &typo)
        .env("PGALIGN_SHADOW_URL", &closed)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_no_canary(&o);
    let o = pgalign()
        .args(["inspect"])
        .env("PGALIGN_DB_URL", &typo)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_no_canary(&o);
}

#[test]
fn security_desired_and_shadow_secrets_never_print() {
    let live = test_db("sec_desired_shadow");
    live.exec("CREATE TABLE t (id int);");
    let dir = temp_dir();
    let file = dir.path().join("desired.sql");
    std::fs::write(&file, "CREATE TABLE t (id int, n text);").unwrap();
    let file = file.to_str().unwrap();
    let closed = format!("postgresql://u:{CANARY}@127.0.0.1:1/db");
    let failing_cmd = format!("cmd:PGPASSWORD={CANARY} sh -c 'echo oops >&2; exit 3'");
    let url = live.url();
    let cases: Vec<Vec<&str>> = vec![
        vec!["diff", "--db", &url, "--desired", &closed],
        vec!["verify", "--db", &url, "--desired", &closed],
        vec!["diff", "--db", &url, "--desired", file, "--shadow", &closed],
        vec!["diff", "--db", &url, "--desired", &failing_cmd],
        vec![
            "diff",
            "--db",
            &url,
            "--desired",
            "postgresq://u:PW-canary-7f3a@h/db",
        ],
    ];
    for args in cases {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert_no_canary(&o);
    }
    // A bad flag value is a usage error: shown redacted too.
    let o = run(&[
        "apply",
        "--db",
        &url,
        "--plan",
        "p",
        "--lock-timeout",
        &closed,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_no_canary(&o);
}

#[test]
fn security_a_cmd_source_and_url_passwords_leave_no_trace_in_files() {
    let live = test_db("sec_no_trace");
    // The live schema itself holds a conninfo with a password: the sidecar
    // (the live model) is redacted too.
    let shared = format!(
        "CREATE TABLE keep (id int PRIMARY KEY);
         CREATE FUNCTION remote() RETURNS text LANGUAGE sql AS $$ SELECT 'host=db password={CANARY}' $$;"
    );
    live.exec(&shared);
    let dir = temp_dir();
    let file = dir.path().join("desired.sql");
    std::fs::write(&file, format!("{shared}\nCREATE TABLE added (id int);")).unwrap();
    let source = format!("cmd:PGPASSWORD={CANARY} cat {}", file.display());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let plan = out.join("plan.sql");
    let (db, shadow) = if server_ignores_passwords() {
        (
            with_canary(&live.url()),
            with_canary(&admin().redacted_url()),
        )
    } else {
        eprintln!("the test server checks passwords: URLs carry the real one");
        (live.url(), admin().redacted_url())
    };
    let o = run(&[
        "diff",
        "--db",
        &db,
        "--desired",
        &source,
        "--shadow",
        &shadow,
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_no_canary(&o);
    assert!(
        std::fs::read_to_string(&plan)
            .unwrap()
            .contains("CREATE TABLE public.added")
    );
    assert_eq!(assert_no_canary_in(&out), 2, "plan and sidecar");
    let o = run(&[
        "verify",
        "--db",
        &db,
        "--desired",
        &source,
        "--shadow",
        &shadow,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_no_canary(&o);

    // The wizard's session: journal (session start, setup), plan, sidecar, report.
    let session = dir.path().join("session");
    let config = pgalign::session::Config {
        target: pgalign::db::ConnSettings::parse(&db).unwrap(),
        desired: Some(source.clone()),
        external_plan: None,
        shadow: Some(shadow.clone()),
        session_dir: session.clone(),
        mode: pgalign::journal::Mode::Live,
        plan_options: Default::default(),
    };
    let mut wizard = pgalign::session::Wizard::start(config.clone()).unwrap();
    let state = block_on(pgalign::session::tasks::generate_plan(&config)).unwrap();
    assert!(state.path.starts_with(&session));
    wizard.abort(&format!("stopped by the test after {source}"));
    drop(wizard);
    let journal = session.join("journal.jsonl");
    let o = run(&["report", "--journal", journal.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_no_canary(&o);
    assert!(stdout(&o).contains("PGPASSWORD=***"), "{}", stdout(&o));
    let o = run(&[
        "report",
        "--journal",
        journal.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_no_canary(&o);
    assert!(assert_no_canary_in(&session) >= 3, "journal, plan, sidecar");
    // A source that held a secret is withheld from the resume setup, not
    // journaled as a redacted command that `--resume` would run.
    let records = pgalign::journal::read(&journal).unwrap();
    let pgalign::journal::Entry::SessionStarted {
        wizard: Some(setup),
        ..
    } = &records[0].entry
    else {
        panic!("{records:?}")
    };
    assert_eq!(setup.desired, None);
    assert!(setup.withheld.contains(&"desired".to_string()));
    if server_ignores_passwords() {
        assert!(setup.withheld.contains(&"shadow".to_string()));
    }
}

/// A victim file, and a link to it planted at `at`.
fn plant(victim: &Path, at: &Path) {
    std::fs::write(victim, "precious\n").unwrap();
    symlink(victim, at).unwrap();
}

fn assert_untouched(victim: &Path) {
    assert_eq!(std::fs::read_to_string(victim).unwrap(), "precious\n");
}

#[test]
fn security_planted_symlinks_are_replaced_never_written_through() {
    let live = test_db("sec_symlinks");
    live.exec("CREATE TABLE a (id int); CREATE TABLE b (id int);");
    let dir = temp_dir();
    let desired = dir.path().join("desired.sql");
    std::fs::write(
        &desired,
        "CREATE TABLE a (id int); CREATE TABLE b (id int, n text);",
    )
    .unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let plan = out.join("plan.sql");
    let (v1, v2) = (dir.path().join("victim1"), dir.path().join("victim2"));
    plant(&v1, &out.join("plan.sql.live.json"));
    plant(&v2, &plan);
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        desired.to_str().unwrap(),
        "--shadow",
        &admin().redacted_url(),
        "-o",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_untouched(&v1);
    assert_untouched(&v2);
    for p in [plan.clone(), out.join("plan.sql.live.json")] {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        assert!(meta.is_file(), "{} is a regular file now", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    assert!(
        std::fs::read_to_string(&plan)
            .unwrap()
            .contains("ADD COLUMN n text")
    );
    // Nothing else was left in the folder (no temporary files).
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 2);

    // The journal: refused, with nothing applied.
    let session = dir.path().join("session");
    std::fs::create_dir(&session).unwrap();
    let v3 = dir.path().join("victim3");
    plant(&v3, &session.join("journal.jsonl"));
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan.to_str().unwrap(),
        "--confirm-target",
        &live.name,
        "--session-dir",
        session.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("journal.jsonl") && err.contains("symbolic link"),
        "{err}"
    );
    assert_untouched(&v3);
    assert_eq!(
        live.query_one("SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'b'::regclass AND attname = 'n'"),
        "0",
        "nothing was applied"
    );
}

#[test]
fn security_the_report_of_the_wizard_is_not_written_through_a_link() {
    use crate::tui::fixtures::*;
    use pgalign::session::{Step, VerifyResult};
    use pgalign::tui::app::Msg;
    use ratatui::crossterm::event::KeyCode;
    let dir = temp_dir();
    let session = dir.path().join("s");
    std::fs::create_dir(&session).unwrap();
    let (v1, v2) = (dir.path().join("victim1"), dir.path().join("victim2"));
    plant(&v1, &session.join("report.md"));
    plant(&v2, &session.join("report.json"));
    let mut app = app_at(&session, Step::Apply);
    type_text(&mut app, "shop");
    key(&mut app, KeyCode::Enter);
    apply_all(&mut app);
    key(&mut app, KeyCode::Enter);
    app.update(Msg::Verify(Ok(VerifyResult {
        in_sync: true,
        remaining: vec![],
        fingerprint: "b".repeat(64),
    })));
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Report, "{:?}", app.error);
    let (md, json) = app.wizard.report.clone().unwrap();
    assert_untouched(&v1);
    assert_untouched(&v2);
    for p in [&md, &json] {
        assert!(std::fs::symlink_metadata(p).unwrap().is_file());
        assert_eq!(mode(p), 0o600);
    }
    assert!(std::fs::read_to_string(&md).unwrap().contains("# "));
}

#[test]
fn security_folders_pgalign_creates_are_0700() {
    let db = test_db("sec_folders");
    db.exec("CREATE TABLE t (id int);");
    let home = temp_dir();
    let out = home.path().join("backups/new");
    let o = pgalign()
        .args(["backup", "--db", &db.url(), "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&home.path().join("backups")), 0o700);
    assert_eq!(mode(&out), 0o700);
    for (p, _) in files_under(&out) {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    // The default sessions base, and the session folder under it.
    let o = pgalign()
        .args(["diff", "--db", &db.url(), "--desired", &db.url(), "-o"])
        .arg(home.path().join("plan.sql"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = pgalign()
        .env("HOME", home.path())
        .env_remove("XDG_DATA_HOME")
        .args([
            "apply",
            "--db",
            &db.url(),
            "--confirm-target",
            &db.name,
            "--plan",
        ])
        .arg(home.path().join("plan.sql"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let base = home.path().join(".local/share/pgalign/sessions");
    for p in [home.path().join(".local/share/pgalign"), base.clone()] {
        assert_eq!(mode(&p), 0o700, "{}", p.display());
    }
    let sessions: Vec<_> = std::fs::read_dir(&base).unwrap().flatten().collect();
    assert_eq!(sessions.len(), 1);
    assert_eq!(mode(&sessions[0].path()), 0o700);
    assert_eq!(mode(&sessions[0].path().join("journal.jsonl")), 0o600);
    // A folder the user made is used as it is, not chmodded.
    let mine = home.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o750)).unwrap();
    let o = pgalign()
        .args([
            "apply",
            "--db",
            &db.url(),
            "--confirm-target",
            &db.name,
            "--plan",
        ])
        .arg(home.path().join("plan.sql"))
        .arg("--session-dir")
        .arg(&mine)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(mode(&mine), 0o750);
    assert_eq!(mode(&mine.join("journal.jsonl")), 0o600);
}

#[test]
fn security_a_folder_link_planted_by_another_user_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: only root can plant a link owned by another user");
        return;
    }
    let db = test_db("sec_foreign_link");
    db.exec("CREATE TABLE t (id int);");
    let dir = temp_dir();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let planted = dir.path().join("backups");
    symlink(&elsewhere, &planted).unwrap();
    std::os::unix::fs::lchown(&planted, Some(65534), Some(65534)).unwrap();
    let o = run(&[
        "backup",
        "--db",
        &db.url(),
        "--out",
        planted.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("owned by another user"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    assert_eq!(std::fs::symlink_metadata(&planted).unwrap().uid(), 65534);
}

#[test]
fn security_a_torn_journal_line_is_survived_and_reported() {
    let db = test_db("sec_torn");
    db.exec("CREATE TABLE t (id int);");
    let dir = temp_dir();
    let session = dir.path().join("session");
    let write_plan = |sql: &str, name: &str| -> PathBuf {
        let desired = dir.path().join(format!("{name}.desired.sql"));
        std::fs::write(&desired, sql).unwrap();
        let plan = dir.path().join(format!("{name}.sql"));
        let o = run(&[
            "diff",
            "--db",
            &db.url(),
            "--desired",
            desired.to_str().unwrap(),
            "--shadow",
            &admin().redacted_url(),
            "-o",
            plan.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        plan
    };
    let apply = |plan: &Path| {
        let o = run(&[
            "apply",
            "--db",
            &db.url(),
            "--plan",
            plan.to_str().unwrap(),
            "--confirm-target",
            &db.name,
            "--session-dir",
            session.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    };
    apply(&write_plan("CREATE TABLE t (id int, a text);", "one"));
    let journal = session.join("journal.jsonl");
    // Killed mid-write: half a line, cut inside a multi-byte character.
    let half = "{\"at\":\"2026-01-01T00:00:00Z\",\"event\":\"note\",\"text\":\"é";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    use std::io::Write;
    f.write_all(&half.as_bytes()[..half.len() - 1]).unwrap();
    drop(f);
    let lines_before = std::fs::read(&journal)
        .unwrap()
        .split(|&b| b == b'\n')
        .count();

    // `report` still renders, and says a line is torn.
    let o = run(&["report", "--journal", journal.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("torn journal line"), "{}", stdout(&o));
    assert!(stderr(&o).contains("torn journal line"), "{}", stderr(&o));

    // The next writer starts on a fresh line and records that it did.
    apply(&write_plan(
        "CREATE TABLE t (id int, a text, b text);",
        "two",
    ));
    let contents = pgalign::journal::read_contents(&journal).unwrap();
    assert_eq!(contents.torn.len(), 1);
    assert!(contents.torn[0].noted, "{:?}", contents.torn);
    assert_eq!(contents.torn[0].line, lines_before);
    let bytes = std::fs::read(&journal).unwrap();
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    assert_eq!(lines[lines_before - 1], &half.as_bytes()[..half.len() - 1]);
    assert!(String::from_utf8_lossy(lines[lines_before]).contains("torn journal line"));
    let finished = contents
        .records
        .iter()
        .filter(|r| {
            matches!(
                r.entry,
                pgalign::journal::Entry::ApplyFinished { ok: true, .. }
            )
        })
        .count();
    assert_eq!(finished, 2, "both runs are recorded");
    let o = run(&["report", "--journal", journal.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert_eq!(md.matches("torn journal line").count(), 1, "{md}");
    assert!(
        !stderr(&o).contains("warning"),
        "noted once: {}",
        stderr(&o)
    );
}

const EVIL: &str = "t\n0 differences\x1b[2K\r\u{202e}";

fn assert_nothing_raw(text: &str) {
    for c in ['\x1b', '\r', '\u{202e}'] {
        assert!(!text.contains(c), "{c:?} printed raw: {text:?}");
    }
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("0 differences")),
        "a forged line: {text:?}"
    );
}

#[test]
fn security_names_cannot_forge_terminal_output() {
    let live = test_db("sec_names");
    let quoted = format!("\"{}\"", EVIL.replace('"', "\"\""));
    live.exec(&format!(
        "CREATE TABLE keep (id int); CREATE TABLE other (id int); CREATE TABLE {quoted} (id int);"
    ));
    let dir = temp_dir();
    let desired = dir.path().join("desired.sql");
    std::fs::write(
        &desired,
        "CREATE TABLE keep (id int); CREATE TABLE other (id int);",
    )
    .unwrap();
    let desired = desired.to_str().unwrap();
    let shadow = admin().redacted_url();
    let o = run(&[
        "verify",
        "--db",
        &live.url(),
        "--desired",
        desired,
        "--shadow",
        &shadow,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let out = stdout(&o);
    assert_nothing_raw(&out);
    assert!(
        out.contains("t\\n0 differences\\x1b[2K\\r\\u{202e}"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 2, "{out}");

    let plan = dir.path().join("plan.sql");
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
    assert_nothing_raw(&stderr(&o));
    // The plan keeps the name's bytes: SQL quoting carries them.
    let sql = std::fs::read_to_string(&plan).unwrap();
    assert!(sql.contains(&quoted), "{sql}");

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
    let err = stderr(&o);
    assert_nothing_raw(&err);
    assert!(err.contains("\\x1b[2K"), "{err}");
    let o = run(&[
        "report",
        "--journal",
        session.join("journal.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_nothing_raw(&stdout(&o));
    assert!(stdout(&o).contains("\\x1b[2K"), "{}", stdout(&o));
    // What was executed is what was reviewed: the table is gone.
    assert_eq!(
        live.query_one("SELECT count(*)::text FROM pg_class WHERE relname LIKE 't%differences%'"),
        "0"
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
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn security_the_review_screen_shows_hostile_names_escaped() {
    use crate::tui::fixtures::*;
    use pgalign::hazard::{Hazard, HazardId, Severity};
    let dir = temp_dir();
    let mut steps = plan_steps();
    steps[0].title = format!("drop table public.\"{EVIL}\"");
    steps[0].sql = format!("DROP TABLE public.\"{EVIL}\";");
    steps[0].hazards = vec![Hazard::new(
        HazardId::DataLoss,
        Severity::Danger,
        format!("drops table public.\"{EVIL}\" and its rows"),
    )];
    let state = plan_state(dir.path(), steps);
    let view = pgalign::tui::plan_view::PlanView::new(&state);
    for color in [false, true] {
        let lines = view.highlighter.lines(&view.lines, 0..view.len(), color);
        let text: String = lines
            .iter()
            .flat_map(|l| l.spans.iter().map(|s| s.content.to_string()))
            .collect::<Vec<_>>()
            .join("");
        assert!(text.contains("\\x1b[2K"), "{text:?}");
        for c in text.chars() {
            assert!(!c.is_control() && c != '\u{202e}', "{c:?} in the plan view");
        }
    }
    let rows = view.hazard_rows(60, 0..view.len());
    assert!(
        rows.iter().any(|(_, _, t)| t.contains("\\x1b[2K")),
        "{rows:?}"
    );
    for (_, _, t) in &rows {
        assert!(!t.chars().any(|c| c.is_control()), "{t:?}");
    }
    // The plan itself keeps the bytes.
    assert!(state.file.text.contains(EVIL));
}

#[test]
fn security_usage_errors_exit_1_and_help_exits_0() {
    for args in [
        &["diff", "--outptu", "x"][..],
        &["diff", "--db"][..],
        &["apply", "--plan", "p", "--lock-timeout", "5 parsecs"][..],
        &["lint", "f.sql", "--format", "yaml"][..],
        &["no-such-command"][..],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("error"), "{args:?}: {}", stderr(&o));
    }
    for args in [
        &["--help"][..],
        &["diff", "--help"][..],
        &["--version"][..],
        &["help", "diff"][..],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stdout(&o).is_empty());
    }
}
