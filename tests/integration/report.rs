//! `pgalign report`: the report of a real apply session, from its journal.

use crate::support::*;

#[test]
fn report_renders_a_real_apply_journal_as_markdown_and_json() {
    let live = test_db("report_live");
    live.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);");
    let want = test_db("report_want");
    want.exec("CREATE TABLE t (id int PRIMARY KEY, note text)");
    let dir = temp_dir();
    let plan = dir.path().join("plan.sql");
    let plan_s = plan.to_str().unwrap();
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        &want.url(),
        "-o",
        plan_s,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let session = dir.path().join("session");
    let o = run(&[
        "apply",
        "--db",
        &live.url(),
        "--plan",
        plan_s,
        "--confirm-target",
        &live.name,
        "--session-dir",
        session.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let journal = session.join("journal.jsonl");

    let o = run(&["report", "--journal", journal.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let md = stdout(&o);
    assert!(
        md.starts_with(&format!("# Alignment report: {}", live.name)),
        "{md}"
    );
    assert!(md.contains("✔ committed"), "{md}");
    assert!(md.contains("No backup was recorded"), "{md}");
    assert!(md.contains(&live.settings.to_string()), "{md}");

    let o = run(&[
        "report",
        "--journal",
        journal.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["outcome"], "incomplete",
        "no verification in an apply-only journal"
    );
    assert_eq!(v["apply"]["ok"], true);
    assert!(
        v["statements"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["outcome"] == "committed"),
        "{v}"
    );
}

#[test]
fn a_missing_journal_is_a_clear_error() {
    let dir = temp_dir();
    let missing = dir.path().join("nope.jsonl");
    let o = run(&["report", "--journal", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.jsonl"), "{}", stderr(&o));
}
