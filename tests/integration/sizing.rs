//! One sizing and one set of probes for plans and lint (issue 17), and plans
//! whose bytes depend only on the two schemas, the options and the severity of
//! each hazard (issue 16): figures go to `--format json` and the review, never
//! into the body.

use crate::support::*;
use pgalign::hazard::{HazardId, Severity};

const LIVE: &str = "
CREATE TABLE orders (id int PRIMARY KEY, qty int, note text, legacy text);
CREATE TABLE carts (id int PRIMARY KEY, legacy text);
";

const DESIRED: &str = "
CREATE TABLE orders (id int PRIMARY KEY, qty bigint NOT NULL CHECK (qty > 0), note text);
CREATE INDEX orders_note_idx ON orders (note);
CREATE TABLE carts (id int PRIMARY KEY);
";

fn load(db: &TestDb, from: i32, to: i32) {
    db.exec(&format!(
        "INSERT INTO orders SELECT g, 1 + g % 7, 'n' || g, 'old' FROM generate_series({from}, {to}) g"
    ));
}

/// `diff` of `live` against `desired` (a database URL): the plan text and its JSON.
fn diff(live: &TestDb, desired: &TestDb, extra: &[&str]) -> (String, serde_json::Value) {
    let dir = temp_dir();
    let plan = dir.path().join("plan.sql");
    let mut args = vec![
        "diff",
        "--db",
        &live.url(),
        "--desired",
        &desired.url(),
        "-o",
        plan.to_str().unwrap(),
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let text = std::fs::read_to_string(&plan).unwrap();
    let mut json_args = args.clone();
    json_args.retain(|a| *a != "-o" && *a != plan.to_str().unwrap());
    json_args.extend(["--format", "json"]);
    let o = run(&json_args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    (text, serde_json::from_str(&stdout(&o)).unwrap())
}

fn body_sha(plan: &str) -> String {
    plan.lines()
        .find_map(|l| l.strip_prefix("-- body-sha256: "))
        .unwrap()
        .to_string()
}

fn body(plan: &str) -> &str {
    plan.split_once("-- end of header\n").unwrap().1
}

/// Every hazard of the JSON plan: (step title, id, severity, detail, figures).
fn hazards(json: &serde_json::Value) -> Vec<(String, String, String, String, String)> {
    json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let title = s["title"].as_str().unwrap().to_string();
            s["hazards"].as_array().unwrap().iter().map(move |h| {
                (
                    title.clone(),
                    h["id"].as_str().unwrap().to_string(),
                    h["severity"].as_str().unwrap().to_string(),
                    h["detail"].as_str().unwrap().to_string(),
                    h["figures"].as_str().unwrap_or("").to_string(),
                )
            })
        })
        .collect()
}

#[test]
fn sizing_same_schemas_give_the_same_plan_bytes_around_analyze_and_a_bulk_load() {
    let live = test_db("sizing_live");
    live.exec(LIVE);
    live.exec("INSERT INTO carts SELECT g, 'x' FROM generate_series(1, 20) g");
    load(&live, 1, 3000);
    let desired = test_db("sizing_desired");
    desired.exec(DESIRED);

    // Freshly loaded, never analysed: counted.
    let (fresh, fresh_json) = diff(&live, &desired, &[]);
    live.exec("ANALYZE");
    let (analysed, analysed_json) = diff(&live, &desired, &[]);
    // A bulk load that crosses no threshold, before and after ANALYZE.
    load(&live, 3001, 9000);
    let (loaded, loaded_json) = diff(&live, &desired, &[]);
    live.exec("ANALYZE");
    let (reanalysed, _) = diff(&live, &desired, &[]);

    assert_eq!(body_sha(&fresh), body_sha(&analysed), "{}", body(&analysed));
    assert_eq!(body_sha(&fresh), body_sha(&loaded), "{}", body(&loaded));
    assert_eq!(body_sha(&fresh), body_sha(&reanalysed));
    assert_eq!(body(&fresh), body(&loaded));
    // The bodies say no figure, only the size class.
    for digits in ["3000", "3,000", "9000", "9,000", " kB", " MB"] {
        assert!(
            !body(&loaded).contains(digits),
            "{digits} in\n{}",
            body(&loaded)
        );
    }

    // The figures are in the JSON, and follow the data and how it was read.
    let figure = |json: &serde_json::Value, id: &str, title: &str| {
        hazards(json)
            .into_iter()
            .find(|h| h.1 == id && h.0.contains(title))
            .unwrap_or_else(|| panic!("no {id} on {title}: {:#?}", hazards(json)))
            .4
    };
    let drop = |json| figure(json, "data-loss", "drop column public.orders.legacy");
    assert!(
        drop(&fresh_json).contains("3,000 rows (counted)"),
        "{}",
        drop(&fresh_json)
    );
    assert!(
        drop(&analysed_json).contains("(estimated from statistics)"),
        "{}",
        drop(&analysed_json)
    );
    // A load since ANALYZE is seen through the table's pages (the last page
    // is partly filled: an estimate within a few percent).
    let loaded = drop(&loaded_json);
    let estimate: f64 = loaded
        .split_once("kB, ~")
        .and_then(|(_, r)| r.split_once(" rows (estimated from statistics)"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{loaded}"));
    assert!((8000.0..=10000.0).contains(&estimate), "{loaded}");
    assert!(drop(&loaded_json).contains("9,000 non-null values in legacy (counted)"));
    // The probes decided severities: no NULL in qty, no row violating the check.
    let found = hazards(&loaded_json);
    let may_fail: Vec<_> = found.iter().filter(|h| h.1 == "may-fail").collect();
    assert!(!may_fail.is_empty(), "{found:#?}");
    assert!(
        may_fail.iter().all(|h| h.2 == "info"),
        "no NULLs and no violating rows: {may_fail:#?}"
    );
}

#[test]
fn sizing_crossing_a_threshold_changes_the_severity_and_the_body() {
    let live = test_db("sizing_cross");
    live.exec(LIVE);
    let desired = test_db("sizing_cross_desired");
    desired.exec(DESIRED);
    let (empty, empty_json) = diff(&live, &desired, &[]);
    let carts = |json: &serde_json::Value| {
        hazards(json)
            .into_iter()
            .find(|h| h.1 == "data-loss" && h.0.contains("carts"))
            .unwrap()
    };
    assert_eq!(carts(&empty_json).2, "info", "{:?}", carts(&empty_json));
    live.exec("INSERT INTO carts VALUES (1, 'x')");
    let (one_row, one_row_json) = diff(&live, &desired, &[]);
    assert_eq!(
        carts(&one_row_json).2,
        "danger",
        "{:?}",
        carts(&one_row_json)
    );
    assert_ne!(body_sha(&empty), body_sha(&one_row));
}

#[test]
fn sizing_diff_and_lint_give_one_answer_on_the_same_table() {
    let live = test_db("sizing_agree");
    live.exec(
        "CREATE TABLE t (id int PRIMARY KEY, a int, empty_col text, dup int);
         INSERT INTO t SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g END, NULL, g % 50
           FROM generate_series(1, 500) g;",
    );
    let desired = test_db("sizing_agree_desired");
    desired.exec("CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL, dup int UNIQUE);");
    let (plan, json) = diff(&live, &desired, &["--strategy", "offline"]);
    let found = hazards(&json);
    let find = |id: &str, title: &str| {
        found
            .iter()
            .find(|h| h.1 == id && h.0.contains(title))
            .unwrap_or_else(|| panic!("no {id} on {title}: {found:#?}"))
            .clone()
    };
    let nulls = find("may-fail", "set not null");
    let values = find("data-loss", "empty_col");
    let dups = find("may-fail", "unique");
    assert_eq!(nulls.2, "blocker", "{nulls:?}");
    assert!(nulls.4.contains("50 NULLs in a (counted)"), "{nulls:?}");
    assert_eq!(values.2, "info", "a column that holds no value: {values:?}");
    assert_eq!(dups.2, "blocker", "{dups:?}");

    // Lint of the same statements against the same table says the same.
    let statements: String = plan
        .lines()
        .filter(|l| l.starts_with("ALTER TABLE"))
        .map(|l| format!("{l}\n"))
        .collect();
    let report = block_on(async {
        let client = pgalign::db::connect(&live.settings).await.unwrap();
        pgalign::hazard::db::lint_live(&statements, "plan.sql", &client, true)
            .await
            .unwrap()
    });
    let lint = |id: HazardId, words: &str| {
        report
            .statements
            .iter()
            .filter(|s| s.sql.contains(words))
            .flat_map(|s| &s.hazards)
            .find(|h| h.id == id)
            .unwrap_or_else(|| panic!("lint: no {id} on {words}: {report:#?}"))
            .severity
    };
    assert_eq!(lint(HazardId::MayFail, "SET NOT NULL"), Severity::Blocker);
    assert_eq!(
        lint(HazardId::DataLoss, "DROP COLUMN empty_col"),
        Severity::Info
    );
    assert_eq!(lint(HazardId::MayFail, "UNIQUE"), Severity::Blocker);

    // Without the probes, the plan keeps their hazards at their base severity.
    let (_, json) = diff(&live, &desired, &["--strategy", "offline", "--no-probes"]);
    let nulls = hazards(&json)
        .into_iter()
        .find(|h| h.1 == "may-fail" && h.0.contains("set not null"))
        .unwrap();
    assert_eq!(nulls.2, "warning", "{nulls:?}");
}
