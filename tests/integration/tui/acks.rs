//! One acknowledgement per DANGER statement: each journaled with its time and
//! statement, all of them before the sign-off field opens, listed by the report.

use super::fixtures::*;
use crate::support::temp_dir;
use pgalign::journal::{Entry, read};
use pgalign::session::{Refusal, Step};
use ratatui::crossterm::event::KeyCode;

#[test]
fn tui_each_danger_is_acknowledged_before_the_sign_off_opens() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Review);
    // Steps 3 (drop column, DANGER) and 6 (drop table: stored data) are DANGER.
    assert_eq!(app.wizard.unacknowledged(), vec![3, 6]);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, 0, "the sign-off field stays closed");
    let e = app.error.clone().unwrap_or_default();
    assert!(
        e.contains("2 not acknowledged yet, the next is statement 3"),
        "{e}"
    );
    // `a` on a statement without DANGER (the cursor starts on step 1).
    key(&mut app, KeyCode::Char('a'));
    assert!(
        app.error
            .as_deref()
            .unwrap_or_default()
            .contains("statement 1 has no DANGER"),
        "{:?}",
        app.error
    );
    // n goes to step 3 (its first hazard); a acknowledges it.
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Char('a'));
    assert_eq!(app.wizard.unacknowledged(), vec![6], "{:?}", app.error);
    let snapshot = {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
        t.draw(|f| pgalign::tui::view::view(&app, f)).unwrap();
        t.backend()
            .to_string()
            .replace(&dir.path().display().to_string(), "[session]")
    };
    insta::with_settings!({snapshot_path => "../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("review_acknowledging", snapshot);
    });
    // Acknowledging twice records it once.
    key(&mut app, KeyCode::Char('a'));
    // The wizard itself refuses the sign-off while one is left.
    let refused = app.wizard.sign_off("Rex Reviewer");
    assert!(
        matches!(
            refused,
            Err(Refusal::DangerUnacknowledged { left: 1, next: 6 })
        ),
        "{refused:?}"
    );
    acknowledge_all(&mut app);
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, 1, "{:?}", app.error);
    type_text(&mut app, "Rex Reviewer");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.wizard.step, Step::Apply, "{:?}", app.error);

    let records = read(&dir.path().join("journal.jsonl")).unwrap();
    let acks: Vec<(String, usize, String)> = records
        .iter()
        .filter_map(|r| match &r.entry {
            Entry::DangerAcknowledged {
                step, statement, ..
            } => Some((r.at.clone(), *step, statement.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(acks.len(), 2, "{acks:?}");
    assert_eq!(acks[0].1, 3);
    assert_eq!(
        acks[0].2,
        "ALTER TABLE shop.customers DROP COLUMN legacy_notes;"
    );
    assert_eq!(acks[1].1, 6);
    assert!(acks.iter().all(|a| a.0.ends_with('Z')), "{acks:?}");
    // All before the sign-off.
    let signed = records
        .iter()
        .position(|r| matches!(r.entry, Entry::SignedOff { .. }))
        .unwrap();
    let last_ack = records
        .iter()
        .rposition(|r| matches!(r.entry, Entry::DangerAcknowledged { .. }))
        .unwrap();
    assert!(last_ack < signed);

    let report = pgalign::report::render_markdown(&records);
    assert!(
        report.contains("DANGER statements acknowledged one by one"),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{} statement 3 (drop column shop.customers.legacy_notes) [data-loss]",
            acks[0].0
        )),
        "{report}"
    );
    assert!(
        report.contains("statement 6 (drop table shop.old_carts)"),
        "{report}"
    );
}

#[test]
fn tui_a_new_plan_voids_the_acknowledgements() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Review);
    acknowledge_all(&mut app);
    assert!(app.wizard.unacknowledged().is_empty());
    // The same wizard given a plan again (as after the drop-all count): none carry over.
    app.wizard.step = Step::Diff;
    app.wizard
        .plan_done(plan_state(dir.path(), plan_steps()))
        .unwrap();
    assert!(app.wizard.acks.is_empty());
    assert_eq!(app.wizard.unacknowledged(), vec![3, 6]);
}

#[test]
fn tui_the_reviewer_is_not_the_operator_whatever_the_case_or_spacing() {
    let dir = temp_dir();
    let mut app = app_at(dir.path(), Step::Review);
    acknowledge_all(&mut app);
    // The operator is "Ada Operator".
    for typed in ["ada  OPERATOR", " Ada\u{3000}Operator", "ＡＤＡ operator"] {
        let refused = app.wizard.sign_off(typed);
        assert!(
            matches!(refused, Err(Refusal::ReviewerIsOperator(_))),
            "{typed:?}: {refused:?}"
        );
    }
    app.wizard.sign_off("Rex Reviewer").unwrap();
    assert_eq!(app.wizard.step, Step::Apply);
}
