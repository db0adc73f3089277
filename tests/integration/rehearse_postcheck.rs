//! Post-checks in the wizard's Verify: after the re-diff the `[[post_check]]`s
//! run (a real HTTP server started here, real shell commands, a real query),
//! each is shown and journaled, and a failing one makes the verdict "applied,
//! post-checks failed" with the rollback commands.

use crate::support::*;
use crate::tui::fixtures::*;
use pgalign::config::{CheckKind, PostCheck};
use pgalign::journal::{Entry, read};
use pgalign::postcheck::CheckResult;
use pgalign::session::{Step, VerifyResult};
use pgalign::tui::app::{App, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use std::io::{Read, Write};
use std::time::Duration;

/// `/ok` answers 200, `/fail` 503, anything else never answers.
fn http_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                let n = s.read(&mut buf).unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                let (status, body) = match req.split_whitespace().nth(1).unwrap_or("/") {
                    "/ok" => ("200 OK", "ready"),
                    "/fail" => ("503 Service Unavailable", "migrations pending"),
                    _ => {
                        std::thread::sleep(Duration::from_secs(5));
                        return;
                    }
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    port
}

fn check(name: &str, kind: CheckKind) -> PostCheck {
    PostCheck {
        name: name.into(),
        kind,
        timeout: Duration::from_millis(700),
        env: vec![],
    }
}

fn render(app: &App, dir: &std::path::Path) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|f| pgalign::tui::view::view(app, f)).unwrap();
    terminal
        .backend()
        .to_string()
        .replace(&dir.display().to_string(), "[session]")
}

/// The app at Verify, the re-diff done (in sync), with `checks` configured.
fn at_verify(dir: &std::path::Path, checks: Vec<PostCheck>) -> App {
    let mut app = app_at(dir, Step::Apply);
    app.wizard.post_checks = checks;
    type_text(&mut app, "shop");
    key(&mut app, KeyCode::Enter);
    apply_all(&mut app);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Verify);
    app.update(Msg::Verify(Ok(VerifyResult {
        in_sync: true,
        remaining: vec![],
        fingerprint: "b".repeat(64),
    })));
    app
}

fn notes(dir: &std::path::Path) -> Vec<String> {
    read(&dir.join("journal.jsonl"))
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.entry {
            Entry::Note { text } => Some(text),
            _ => None,
        })
        .collect()
}

#[test]
fn failing_post_checks_make_the_verdict_applied_post_checks_failed() {
    let db = test_db("verify_post_checks");
    db.exec("CREATE TABLE orders (id int)");
    let port = http_server();
    let checks = vec![
        check(
            "status endpoint",
            CheckKind::Http(format!("http://127.0.0.1:{port}/ok")),
        ),
        check(
            "readyz",
            CheckKind::Http(format!("http://127.0.0.1:{port}/fail")),
        ),
        check(
            "slow endpoint",
            CheckKind::Http(format!("http://127.0.0.1:{port}/hang")),
        ),
        check("smoke ok", CheckKind::Command("echo smoke passed".into())),
        check(
            "smoke broken",
            CheckKind::Command("echo no orders >&2; exit 3".into()),
        ),
        check(
            "orders table",
            CheckKind::Sql("SELECT to_regclass('public.orders') IS NOT NULL".into()),
        ),
    ];
    let dir = temp_dir();
    let mut app = at_verify(dir.path(), checks.clone());
    // The post-checks run: Enter does not leave Verify meanwhile.
    assert!(app.busy);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Verify);
    assert!(render(&app, dir.path()).contains("running 6 post-check(s)"));

    let settings = db.settings.clone();
    let results = block_on(async move { pgalign::postcheck::run_all(&checks, &settings).await });
    let ok: Vec<bool> = results.iter().map(|r| r.ok).collect();
    assert_eq!(ok, [true, false, false, true, false, true], "{results:?}");
    app.update(Msg::PostChecks(results));
    assert!(!app.busy);
    assert!(app.wizard.post_checks_failed());
    assert_eq!(app.wizard.outcome().as_str(), "applied, post-checks failed");

    let screen = render(&app, dir.path());
    for want in [
        "status endpoint",
        "readyz",
        "503",
        "smoke broken",
        "applied, post-checks failed",
        "pgalign restore",
    ] {
        assert!(screen.contains(want), "{want}: {screen}");
    }
    let notes = notes(dir.path());
    assert_eq!(
        notes
            .iter()
            .filter(|n| n.starts_with("post-check "))
            .count(),
        6,
        "{notes:?}"
    );
    let verdict = notes
        .iter()
        .find(|n| n.starts_with("applied, post-checks failed"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(
        verdict.contains("readyz, slow endpoint, smoke broken")
            && verdict.contains("pgalign restore --db app@db.example.com:5432/shop --backup"),
        "{verdict}"
    );
    // Verify can be left; the report says how it ended.
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Cleanup, "{:?}", app.error);
    key(&mut app, KeyCode::Enter);
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("applied, post-checks failed"), "{report}");
}

#[test]
fn passing_post_checks_keep_the_verdict_aligned() {
    let db = test_db("verify_post_checks_ok");
    let port = http_server();
    let checks = vec![
        check(
            "status endpoint",
            CheckKind::Http(format!("http://127.0.0.1:{port}/ok")),
        ),
        check("smoke", CheckKind::Command("exit 0".into())),
        check("sane", CheckKind::Sql("SELECT 1 = 1".into())),
    ];
    let dir = temp_dir();
    let mut app = at_verify(dir.path(), checks.clone());
    let settings = db.settings.clone();
    let results = block_on(async move { pgalign::postcheck::run_all(&checks, &settings).await });
    assert!(results.iter().all(|r| r.ok), "{results:?}");
    app.update(Msg::PostChecks(results));
    assert_eq!(app.wizard.outcome().as_str(), "aligned");
    assert!(!render(&app, dir.path()).contains("post-checks failed"));
}

#[test]
fn tui_screen_verify_with_a_failing_post_check() {
    let dir = temp_dir();
    let checks = vec![
        check(
            "status endpoint",
            CheckKind::Http("http://localhost:8080/status".into()),
        ),
        check("smoke test", CheckKind::Command("./smoke-test.sh".into())),
    ];
    let mut app = at_verify(dir.path(), checks);
    app.update(Msg::PostChecks(vec![
        CheckResult {
            name: "status endpoint".into(),
            kind: "http",
            ok: true,
            duration: Duration::from_millis(120),
            excerpt: "HTTP 200: ready".into(),
        },
        CheckResult {
            name: "smoke test".into(),
            kind: "command",
            ok: false,
            duration: Duration::from_millis(2300),
            excerpt: "exit status 3: no orders".into(),
        },
    ]));
    insta::with_settings!({snapshot_path => "snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("verify_post_checks_failed", render(&app, dir.path()));
    });
}
