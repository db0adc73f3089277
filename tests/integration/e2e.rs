//! End to end: the real binary's `practice` in tmux, driven key by key through
//! every step to the report; then the report's content, and no cluster left.

use crate::support::temp_dir;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session that is killed when dropped.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let name = format!("pgalign-e2e-{}", std::process::id());
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &name,
                "-x",
                "120",
                "-y",
                "40",
                command,
            ])
            .status()
            .expect("running tmux (install it: apt-get install tmux)")
            .success();
        assert!(ok, "tmux new-session failed");
        Tmux { name }
    }

    fn keys(&self, keys: &[&str]) {
        let mut cmd = Command::new("tmux");
        cmd.args(["send-keys", "-t", &self.name]).args(keys);
        assert!(cmd.status().unwrap().success());
    }

    fn text(&self, text: &str) {
        let mut cmd = Command::new("tmux");
        cmd.args(["send-keys", "-t", &self.name, "-l", text]);
        assert!(cmd.status().unwrap().success());
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls the pane until `needle` shows (a generous bound, never a timing assertion).
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("waited for {needle:?}; the screen shows:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
        if p.is_dir()
            && let Some(found) = find(&p, name)
        {
            return Some(found);
        }
    }
    None
}

#[test]
fn e2e_practice_walks_every_step_to_the_report() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipping: tmux is not installed");
        return;
    }
    let root = temp_dir();
    use std::os::unix::fs::PermissionsExt;
    // The throwaway server runs as an unprivileged user: it must reach TMPDIR.
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = root.path().join("tmp");
    let sessions = root.path().join("sessions");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let exit_file = root.path().join("exit-code");
    let command = format!(
        "cd {root} && TMPDIR={tmp} {bin} practice --session-dir {sessions} 2>{root}/stderr; echo $? > {exit}; sleep 60",
        root = root.path().display(),
        tmp = tmp.display(),
        bin = env!("CARGO_BIN_EXE_pgalign"),
        sessions = sessions.display(),
        exit = exit_file.display(),
    );
    let t = Tmux::start(&command);

    // Preflight: the facts, then the checklist and both names.
    t.wait_for("long-running transactions");
    for _ in 0..5 {
        t.keys(&["Space", "Down"]);
    }
    t.text("Ada Operator");
    t.keys(&["Enter"]);
    t.text("Rita Rollback");
    t.keys(&["Enter"]);
    t.wait_for("[x] Rollback owner");
    t.keys(&["Enter"]);

    // Backup, verified by pg_restore --list.
    t.wait_for("run pg_dump -Fc");
    t.keys(&["Enter"]);
    t.wait_for("BACKUP VERIFIED");
    t.keys(&["Enter"]);

    // Diff, then Review with the DANGER statement marked.
    t.wait_for("Press Enter to review the plan");
    t.keys(&["Enter"]);
    t.wait_for("Hazards, beside each statement");
    t.keys(&["n"]);
    let review = t.wait_for("DANGER data-loss");
    assert!(review.contains("DROP COLUMN legacy_notes"), "{review}");
    // Each DANGER statement is acknowledged on its own (`a`) before the
    // sign-off field opens: walk every hazard (`n`) and acknowledge it (`a`
    // on one without DANGER only says so).
    for _ in 0..30 {
        t.keys(&["a"]);
        t.keys(&["n"]);
    }
    t.keys(&["Tab"]);
    std::thread::sleep(Duration::from_millis(500));
    let signing = t.screen();
    assert!(!signing.contains("not acknowledged yet"), "{signing}");
    t.text("Rex Reviewer");
    t.keys(&["Enter"]);

    // Apply after typing the database's name.
    t.wait_for("Type the name of the target database");
    t.text("shop");
    t.keys(&["Enter"]);
    t.wait_for("ALL STATEMENTS COMMITTED");
    t.keys(&["Enter"]);
    t.wait_for("IN SYNC: zero differences");
    t.keys(&["Enter"]);
    t.wait_for("Archive the plan beside the report");
    t.keys(&["Enter"]);
    t.wait_for("Report written");
    t.keys(&["Enter"]);

    let deadline = Instant::now() + Duration::from_secs(60);
    while !exit_file.exists() {
        assert!(
            Instant::now() < deadline,
            "pgalign did not exit:\n{}",
            t.screen()
        );
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(200));
    let code = std::fs::read_to_string(&exit_file).unwrap();
    let stderr = std::fs::read_to_string(root.path().join("stderr")).unwrap_or_default();
    assert_eq!(code.trim(), "0", "{stderr}");
    assert!(stderr.contains("report: "), "{stderr}");

    let md_path = find(&sessions, "report.md").expect("report.md in the session folder");
    assert!(stderr.contains(&md_path.display().to_string()), "{stderr}");
    let md = std::fs::read_to_string(&md_path).unwrap();
    let journal = std::fs::read_to_string(md_path.with_file_name("journal.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let entry = |event: &str| {
        records
            .iter()
            .find(|r| r["event"] == event)
            .cloned()
            .unwrap_or_default()
    };

    assert!(md.contains("Ada Operator"), "operator missing:\n{md}");
    assert!(md.contains("Rex Reviewer"), "reviewer missing:\n{md}");
    let backup_sha = entry("backup-verified")["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(backup_sha.len(), 64);
    assert!(md.contains(&backup_sha), "backup SHA-256 missing:\n{md}");
    let plan_sha = entry("signed-off")["plan_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        plan_sha,
        entry("plan-generated")["sha256"].as_str().unwrap()
    );
    assert!(md.contains(&plan_sha), "plan SHA-256 missing:\n{md}");
    let finished = entry("apply-finished");
    assert_eq!(finished["ok"], true, "{journal}");
    let statements = entry("plan-generated")["statements"].as_u64().unwrap() as usize;
    assert_eq!(finished["committed"].as_array().unwrap().len(), statements);
    for r in records.iter().filter(|r| r["event"] == "statement-started") {
        let title = r["title"].as_str().unwrap();
        assert!(
            md.lines()
                .any(|l| l.contains(title) && l.contains("committed")),
            "statement {title} is not reported committed:\n{md}"
        );
    }
    assert_eq!(entry("verified")["in_sync"], true);
    let lower = md.to_lowercase();
    assert!(lower.contains("in sync"), "verification missing:\n{md}");

    // The throwaway cluster is gone: nothing left in the process's TMPDIR.
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
