//! Before/after of a changed object: `diff --format json` carries the live and
//! desired definitions per step (real PostgreSQL), and Review opens their line
//! diff on the statement (`d`), snapshotted at 80×24 and 120×40, with and
//! without colour.

use super::fixtures::*;
use crate::support::{run, stderr, stdout, temp_dir, test_db};
use pgalign::plan::objdiff::{DiffLine, ObjectChange, Side, unified};
use pgalign::plan::{Step as PlanStep, parse_plan};
use pgalign::session::Step;
use pgalign::tui::app::{App, Msg};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;

const LIVE_VIEW: &str = "CREATE TABLE people (id int, name text, age int, active boolean);
CREATE VIEW adults AS SELECT id, name FROM people WHERE active AND age > 18;";

#[test]
fn diff_json_carries_both_definitions_of_a_view_changed_by_one_predicate() {
    let live = test_db("objdiff_live");
    live.exec(LIVE_VIEW);
    let want = test_db("objdiff_want");
    want.exec(&LIVE_VIEW.replace("age > 18", "age > 21"));
    let o = run(&[
        "diff",
        "--db",
        &live.url(),
        "--desired",
        &want.url(),
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let steps = json["steps"].as_array().unwrap();
    let with: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|s| s.get("definitions").is_some())
        .collect();
    assert!(!with.is_empty(), "{json:#}");
    for s in &with {
        let c: ObjectChange = serde_json::from_value(s["definitions"].clone()).unwrap();
        assert_eq!(
            (c.kind.as_str(), c.object.as_str()),
            ("view", "public.adults")
        );
        let lines = unified(&c);
        let changed: Vec<String> = lines
            .iter()
            .filter(|l| l.side != Side::Both)
            .map(DiffLine::plain)
            .collect();
        assert_eq!(
            changed.len(),
            2,
            "exactly one line out, one in: {changed:#?}"
        );
        assert!(
            changed[0].starts_with('-') && changed[0].contains("[-18-]"),
            "{changed:?}"
        );
        assert!(
            changed[1].starts_with('+') && changed[1].contains("{+21+}"),
            "{changed:?}"
        );
        assert_eq!(
            changed[0].replace("[-18-]", "X"),
            changed[1].replace("{+21+}", "X").replacen('+', "-", 1),
            "only the predicate differs"
        );
    }
    // Steps that create or drop nothing of both sides carry nothing.
    let table_steps = steps
        .iter()
        .filter(|s| s["title"].as_str().unwrap().contains("table"))
        .count();
    assert_eq!(table_steps, 0, "{json:#}");

    // The definitions travel in JSON only: the plan file's body (and so its
    // SHA-256) is the same statements either way.
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
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(
        !text.contains("age > 18"),
        "the live definition is not in the body:\n{text}"
    );
    let file = parse_plan(&text).unwrap();
    assert_eq!(file.actual_sha256, json["body_sha256"].as_str().unwrap());
}

fn view_change() -> ObjectChange {
    ObjectChange {
        kind: "view".into(),
        object: "shop.adult_customers".into(),
        live: "CREATE VIEW shop.adult_customers AS\n SELECT customers.id,\n    customers.email\n   FROM shop.customers\n  WHERE (customers.active AND (customers.age > 18));".into(),
        desired: "CREATE VIEW shop.adult_customers AS\n SELECT customers.id,\n    customers.email\n   FROM shop.customers\n  WHERE (customers.active AND (customers.age > 21));".into(),
    }
}

fn step(title: &str, sql: &str) -> PlanStep {
    PlanStep {
        number: 0,
        title: title.into(),
        sql: sql.into(),
        hazards: vec![],
        transactional: true,
        group: 0,
    }
}

/// An app on Review of a plan that drops and recreates a changed view.
fn review_app(dir: &std::path::Path) -> App {
    let mut app = app_at_diff(config(dir));
    let c = view_change();
    let mut plan = plan_state(
        dir,
        vec![
            step(
                "drop view shop.adult_customers (recreated below: it or what it reads changes)",
                "DROP VIEW shop.adult_customers;",
            ),
            step(
                "create view shop.adult_customers",
                &format!("{};", c.desired.trim_end_matches(';')),
            ),
            step(
                "add column shop.orders.shipped_at",
                "ALTER TABLE shop.orders ADD COLUMN shipped_at timestamp with time zone;",
            ),
        ],
    );
    plan.objects = vec![Some(c.clone()), Some(c), None];
    app.update(Msg::Plan(Ok(plan)));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Review, "{:?}", app.error);
    app
}

fn render(app: &App, dir: &std::path::Path, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| pgalign::tui::view::view(app, f)).unwrap();
    let text = if app.color {
        format!("{:?}", terminal.backend().buffer())
    } else {
        terminal.backend().to_string()
    };
    text.replace(&dir.display().to_string(), "[session]")
}

#[test]
fn tui_object_diff_of_a_view_changed_by_one_predicate() {
    let dir = temp_dir();
    let mut app = review_app(dir.path());
    // The cursor is on the first statement: its before/after opens.
    key(&mut app, KeyCode::Char('d'));
    let pane = app.object_diff.as_ref().expect("the pane opened");
    let changed: Vec<String> = pane
        .lines
        .iter()
        .filter(|l| l.side != Side::Both)
        .map(DiffLine::plain)
        .collect();
    assert_eq!(
        changed,
        vec![
            "-   WHERE (customers.active AND (customers.age > [-18-]));",
            "+   WHERE (customers.active AND (customers.age > {+21+}));",
        ]
    );
    for (w, h) in [(80, 24), (120, 40)] {
        for color in [false, true] {
            app.color = color;
            let name = format!(
                "object_diff_{w}x{h}_{}",
                if color { "color" } else { "plain" }
            );
            insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(name, render(&app, dir.path(), w, h));
            });
        }
    }
    // d (or Esc) goes back to the plan; Esc there would ask to quit.
    key(&mut app, KeyCode::Esc);
    assert!(app.object_diff.is_none());
    assert!(!app.quit_prompt);
}

#[test]
fn tui_object_diff_says_why_a_statement_has_none() {
    let dir = temp_dir();
    let mut app = review_app(dir.path());
    // Down to the third statement (the added column).
    let view = app.plan_view.as_ref().unwrap();
    app.scroll = view.marker_line(2).unwrap();
    key(&mut app, KeyCode::Char('d'));
    assert!(app.object_diff.is_none());
    let e = app.error.clone().unwrap_or_default();
    assert!(
        e.contains("statement 3") && e.contains("has no before/after"),
        "{e}"
    );
}
