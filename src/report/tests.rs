use super::*;
use crate::hazard::{HazardId, Summary};
use crate::journal::{Check, Entry, StatementError};

fn rec(at: &str, entry: Entry) -> Record {
    Record {
        at: format!("2026-03-01T10:{at}Z"),
        entry,
    }
}

fn started() -> Record {
    rec(
        "00:00",
        Entry::SessionStarted {
            tool_version: "0.1.0".into(),
            target: "app@db.example.com:5432/shop".into(),
            database: "shop".into(),
            mode: crate::journal::Mode::Live,
            desired: "file schema.sql".into(),
            wizard: None,
        },
    )
}

fn plan(statements: usize) -> Record {
    rec(
        "01:00",
        Entry::PlanGenerated(crate::journal::PlanGenerated {
            path: "/s/plan.sql".into(),
            sha256: "ab12".into(),
            live_fingerprint: "live1".into(),
            desired_fingerprint: "want1".into(),
            statements,
            summary: Summary {
                info: 1,
                warning: 2,
                danger: 1,
                blocker: 0,
            },
            figures: vec!["step 1 data-loss: shop.t: 48 kB, 1,000 rows (counted)".into()],
        }),
    )
}

fn stmt(at: &str, step: usize, group: usize, title: &str, ms: u64, rows: u64) -> [Record; 2] {
    [
        rec(
            at,
            Entry::StatementStarted {
                step,
                group,
                title: title.into(),
            },
        ),
        rec(
            at,
            Entry::StatementFinished {
                step,
                group,
                duration_ms: ms,
                rows,
            },
        ),
    ]
}

fn success() -> Vec<Record> {
    let mut r = vec![
        started(),
        rec(
            "00:10",
            Entry::Preflight(crate::journal::Preflight {
                server_version: "PostgreSQL 15.18".into(),
                database_bytes: 8_400_000,
                tables: 3,
                checks: vec![Check {
                    name: "server reachable".into(),
                    ok: true,
                    detail: "15.18".into(),
                }],
            }),
        ),
        rec(
            "00:20",
            Entry::ChecklistConfirmed {
                items: vec![
                    Check {
                        name: "window announced".into(),
                        ok: true,
                        detail: String::new(),
                    },
                    Check {
                        name: "writes paused".into(),
                        ok: true,
                        detail: String::new(),
                    },
                ],
                operator: "alice".into(),
            },
        ),
        rec(
            "00:30",
            Entry::BackupVerified {
                path: "/s/shop_20260301T100030Z.dump".into(),
                bytes: 123_456,
                sha256: "d0d0cafe".into(),
                entries: 17,
                schema_path: Some("/s/shop_20260301T100030Z_schema.sql".into()),
            },
        ),
        rec(
            "00:31",
            Entry::BackupSchemaDump {
                path: "/s/shop_20260301T100030Z_schema.sql".into(),
                bytes: 4_000,
                sha256: "5c4e".into(),
                pg_dump_version: "pg_dump (PostgreSQL) 15.18".into(),
            },
        ),
        plan(2),
        rec(
            "02:00",
            Entry::SignedOff {
                reviewer: "bob".into(),
                plan_sha256: "ab12".into(),
                acknowledged: vec![HazardId::DataLoss],
            },
        ),
        rec(
            "03:00",
            Entry::ApplyStarted {
                plan_sha256: "ab12".into(),
                statements: 2,
                lock_timeout_ms: 5000,
                statement_timeout_ms: None,
            },
        ),
    ];
    r.extend(stmt("03:01", 1, 1, "add column shop.customers.name", 12, 0));
    r.extend(stmt(
        "03:02",
        2,
        1,
        "drop column shop.customers.legacy",
        30,
        0,
    ));
    r.push(rec(
        "03:03",
        Entry::GroupCommitted {
            group: 1,
            steps: vec![1, 2],
        },
    ));
    r.push(rec(
        "03:03",
        Entry::ApplyFinished {
            ok: true,
            committed: vec![1, 2],
            not_applied: vec![],
        },
    ));
    r.push(rec(
        "03:30",
        Entry::Verified {
            in_sync: true,
            remaining: vec![],
            fingerprint: "want1".into(),
        },
    ));
    r.push(rec(
        "04:00",
        Entry::Cleanup {
            action: "archived".into(),
            path: "/s/plan.sql".into(),
        },
    ));
    r.push(rec(
        "04:10",
        Entry::Note {
            text: "smooth".into(),
        },
    ));
    r.push(rec(
        "04:12",
        Entry::SessionEnded {
            outcome: "finished".into(),
        },
    ));
    r
}

#[test]
fn a_full_success_is_aligned_with_every_fact() {
    let md = render_markdown(&success());
    assert!(
        md.contains("**Figures behind the hazards**")
            && md.contains("step 1 data-loss: shop.t: 48 kB, 1,000 rows (counted)"),
        "the figures left out of the plan's body are in the report: {md}"
    );
    assert!(
        md.starts_with("# Alignment report: shop — ✔ ALIGNED"),
        "{md}"
    );
    for want in [
        "**Duration:** 4 min 12 s",
        "**Operator:** alice",
        "**Reviewer:** bob",
        "`app@db.example.com:5432/shop`",
        "**Source:** file schema.sql",
        "✔ writes paused — ok",
        "`/s/shop_20260301T100030Z.dump`",
        "123.5 kB (123456 bytes)",
        "`d0d0cafe`",
        "**Entries:** 17",
        "pgalign restore --db postgres://app@db.example.com:5432/shop --backup /s/shop_20260301T100030Z.dump --into shop_restored",
        "createdb -h db.example.com -p 5432 -U app -T template0 -- shop_restored",
        "pg_restore -h db.example.com -p 5432 -U app --dbname=shop_restored /s/shop_20260301T100030Z.dump",
        "**Schema dump SHA-256:** `5c4e`",
        "blocker 0, danger 1, warning 2, info 1",
        "✔ The applied plan is the signed plan.",
        "**Acknowledged hazards:** data-loss",
        "| 2 | 1 | drop column shop.customers.legacy | ✔ committed | 30 ms | 0 |",
        "2 committed, 0 rolled back, 0 failed, 0 not applied.",
        "No statement failed.",
        "✔ in sync",
        "✔ It equals the plan's desired fingerprint.",
        "- archived: `/s/plan.sql`",
        "- smooth",
        "No git state was recorded.",
        "No rehearsal was recorded.",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    let j = render_json(&success());
    assert_eq!(j["outcome"], "aligned");
    assert_eq!(j["duration_ms"], 252_000);
    assert_eq!(j["backup"]["schema_sha256"], "5c4e");
    assert_eq!(j["statements"][1]["outcome"], "committed");
    assert_eq!(j["sign_off"]["acknowledged"][0], "data-loss");
    assert_eq!(j["verification"]["in_sync"], true);
}

#[test]
fn a_failed_statement_shows_its_rolled_back_group_and_the_server_error() {
    let mut r = vec![started(), plan(4)];
    r.push(rec(
        "03:00",
        Entry::ApplyStarted {
            plan_sha256: "ab12".into(),
            statements: 4,
            lock_timeout_ms: 5000,
            statement_timeout_ms: None,
        },
    ));
    r.extend(stmt("03:01", 1, 1, "create table shop.audit", 5, 0));
    r.push(rec(
        "03:01",
        Entry::GroupCommitted {
            group: 1,
            steps: vec![1],
        },
    ));
    r.extend(stmt("03:02", 2, 2, "add column shop.t.note", 3, 0));
    r.push(rec(
        "03:03",
        Entry::StatementStarted {
            step: 3,
            group: 2,
            title: "set not null shop.t.id".into(),
        },
    ));
    let error = StatementError {
        sqlstate: Some("23502".into()),
        message: "column \"id\" of relation \"t\" contains null values".into(),
        detail: Some("1 row".into()),
        hint: Some("fill it first".into()),
        plan_line: Some(31),
    };
    r.push(rec(
        "03:03",
        Entry::StatementFailed {
            step: 3,
            group: 2,
            duration_ms: 7,
            error: error.clone(),
        },
    ));
    r.push(rec(
        "03:03",
        Entry::GroupRolledBack {
            group: 2,
            steps: vec![2, 3],
            reason: error.to_string(),
        },
    ));
    r.push(rec(
        "03:04",
        Entry::ApplyFinished {
            ok: false,
            committed: vec![1],
            not_applied: vec![2, 3, 4],
        },
    ));
    let md = render_markdown(&r);
    assert!(
        md.contains("✘ NOT ALIGNED") && md.contains("Step 3 failed"),
        "{md}"
    );
    for want in [
        "| 1 | 1 | create table shop.audit | ✔ committed | 5 ms | 0 |",
        "| 2 | 2 | add column shop.t.note | ↺ rolled back | 3 ms | 0 |",
        "| 3 | 2 | set not null shop.t.id | ✘ failed | 7 ms | — |",
        "| 4 | — | (title not recorded) | – not applied | — | — |",
        "1 committed, 1 rolled back, 1 failed, 1 not applied.",
        "### Step 3: set not null shop.t.id",
        "**SQLSTATE:** 23502",
        "**Detail:** 1 row",
        "**Hint:** fill it first",
        "**Plan line:** 31",
        "✘ No verification was recorded.",
        "✘ No reviewer sign-off was recorded.",
    ] {
        assert!(md.contains(want), "missing {want:?} in\n{md}");
    }
    let j = render_json(&r);
    assert_eq!(j["outcome"], "not_aligned");
    let outcomes: Vec<&str> = j["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["committed", "rolled_back", "failed", "not_applied"]
    );
    assert_eq!(j["statements"][2]["error"]["sqlstate"], "23502");
    assert_eq!(j["apply"]["rolled_back_groups"][0], 2);
}

#[test]
fn missing_evidence_is_stated_not_omitted() {
    let r = vec![started(), plan(2)];
    let md = render_markdown(&r);
    for want in [
        "… INCOMPLETE",
        "✘ No backup was recorded.",
        "No operator was recorded",
        "No maintenance checklist was confirmed.",
        "No preflight was recorded.",
        "The plan was never applied.",
        "| 1 | — | (title not recorded) | – not applied | — | — |",
        "✘ No verification was recorded.",
        "No cleanup was recorded.",
        "no end of session was recorded",
    ] {
        assert!(
            md.to_lowercase().contains(&want.to_lowercase()),
            "missing {want:?} in\n{md}"
        );
    }
    let j = render_json(&r);
    assert_eq!(j["outcome"], "incomplete");
    assert!(j["backup"].is_null() && j["sign_off"].is_null());
    let empty = render_markdown(&[]);
    assert!(
        empty.contains("INCOMPLETE") && empty.contains("the target is unknown"),
        "{empty}"
    );
}

#[test]
fn passwords_never_reach_the_report() {
    let mut r = vec![started()];
    if let Entry::SessionStarted { desired, .. } = &mut r[0].entry {
        *desired =
            "database postgres://app:hunter2@db/want and host=db password='s e c' user=x".into();
    }
    r.push(rec(
        "00:01",
        Entry::Note {
            text: "PASSWORD=topsecret dbname=x".into(),
        },
    ));
    let md = render_markdown(&r);
    let json = render_json(&r).to_string();
    for text in [&md, &json] {
        assert!(
            !text.contains("hunter2") && !text.contains("s e c") && !text.contains("topsecret"),
            "{text}"
        );
        assert!(text.contains("postgres://app@db/want"), "{text}");
    }
    assert_eq!(
        redact("no secrets here: passwords are long"),
        "no secrets here: passwords are long"
    );
}

#[test]
fn an_imported_plan_applied_without_a_desired_schema_says_so() {
    let mut records = vec![started()];
    let mut p = plan(1);
    if let Entry::PlanGenerated(plan) = &mut p.entry {
        plan.desired_fingerprint = "external".into();
    }
    records.push(p);
    records.push(rec(
        "02:00",
        Entry::ApplyStarted {
            plan_sha256: "ab12".into(),
            statements: 1,
            lock_timeout_ms: 5000,
            statement_timeout_ms: None,
        },
    ));
    records.extend(stmt("02:01", 1, 1, "ALTER TABLE public.t", 3, 0));
    records.push(rec(
        "02:02",
        Entry::GroupCommitted {
            group: 1,
            steps: vec![1],
        },
    ));
    records.push(rec(
        "02:03",
        Entry::ApplyFinished {
            ok: true,
            committed: vec![1],
            not_applied: vec![],
        },
    ));
    let md = render_markdown(&records);
    assert!(md.contains("APPLIED, NOT VERIFIED"), "{md}");
    assert!(md.contains("alignment was not verified"), "{md}");
    assert!(
        !md.contains("differs from the plan's desired fingerprint"),
        "{md}"
    );
    assert_eq!(render_json(&records)["outcome"], "applied_not_verified");
}

#[test]
fn a_desired_url_with_a_password_never_reaches_the_journal_or_the_screen() {
    let config = crate::session::Config {
        target: crate::db::ConnSettings::parse(
            "host=db port=5432 user=app dbname=shop sslmode=disable",
        )
        .unwrap(),
        desired: Some("postgres://app:s3cret@shadow.example.com/desired".into()),
        external_plan: None,
        shadow: None,
        session_dir: std::path::PathBuf::from("/tmp"),
        mode: crate::journal::Mode::Live,
        plan_options: Default::default(),
    };
    let shown = config.source();
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("app@shadow.example.com"), "{shown}");
}
