//! Byte-level fixtures, the CLI contract of `pgalign lint`, and the shared
//! migration histories.

use super::fixtures;
use crate::support::{corpus_dir, run, stderr, stdout};
use pgalign::hazard::{LintContext, LintReport, lint_sql, prepass};

fn lint_fixture(name: &str) -> LintReport {
    let bytes = std::fs::read(fixtures().join(name)).unwrap();
    let text = prepass::decode(&bytes, name).unwrap();
    lint_sql(
        &text,
        &LintContext {
            file: name.into(),
            ..Default::default()
        },
    )
    .unwrap()
}

fn path(name: &str) -> String {
    fixtures().join(name).display().to_string()
}

#[test]
fn lint_bom_crlf_and_tabs_keep_lines() {
    let r = lint_fixture("bom_crlf_tabs.sql");
    assert_eq!(r.statements.len(), 2);
    assert_eq!((r.statements[0].line, r.statements[1].line), (2, 7));
    assert!(!r.statements[0].sql.contains('\r') && !r.statements[0].sql.starts_with('\u{feff}'));
    assert_eq!(r.statements[1].hazards[0].id.as_str(), "data-loss");
}

#[test]
fn lint_dollar_bodies_e_strings_and_nested_comments() {
    let r = lint_fixture("bodies_and_strings.sql");
    let kinds: Vec<&str> = r.statements.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["CREATE FUNCTION", "CREATE FUNCTION", "SELECT", "DROP TABLE"],
        "{r:#?}"
    );
    assert_eq!(r.statements[3].line, 9);
    assert!(r.statements.iter().all(|s| s.kind != "UNPARSED"));
}

#[test]
fn lint_psql_meta_commands_and_copy_data_are_not_sql() {
    let r = lint_fixture("psql_meta.sql");
    let kinds: Vec<(usize, &str)> = r
        .statements
        .iter()
        .map(|s| (s.line, s.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (2, "psql \\connect"),
            (3, "COPY"),
            (7, "psql \\i"),
            (8, "ALTER TABLE")
        ],
        "{kinds:?}"
    );
    assert!(
        !r.statements.iter().any(|s| s.kind == "DROP TABLE"),
        "COPY data must not be linted"
    );
}

#[test]
fn lint_trigger_functions_are_not_file_errors() {
    let r = lint_fixture("trigger_function.sql");
    assert_eq!(r.statements.len(), 2);
    assert!(r.statements.iter().all(|s| s.kind != "UNPARSED"));
}

#[test]
fn lint_cli_exit_codes_and_fail_on() {
    let f = path("bom_crlf_tabs.sql");
    assert_eq!(
        run(&["lint", &f]).status.code(),
        Some(2),
        "data-loss is danger"
    );
    assert_eq!(
        run(&["lint", &f, "--fail-on", "blocker"]).status.code(),
        Some(0)
    );
    let t = path("trigger_function.sql");
    assert_eq!(
        run(&["lint", &t, "--fail-on", "warning"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["lint", &t]).status.code(), Some(0));
}

#[test]
fn lint_cli_errors_are_one_sentence() {
    let o = run(&["lint", &path("latin1.sql")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is not valid UTF-8 (line 2"),
        "{}",
        stderr(&o)
    );
    let o = run(&["lint", &path("unknown_allow.sql")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown hazard id 'drop-everything'"),
        "{}",
        stderr(&o)
    );
    let o = run(&["lint", "/nonexistent/x.sql"]);
    assert!(
        stderr(&o).starts_with("pgalign: error: reading /nonexistent/x.sql"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn lint_cli_json_shape_and_no_color() {
    let o = run(&["lint", &path("psql_meta.sql"), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(v["file"].as_str().unwrap().ends_with("psql_meta.sql"));
    let s = &v["statements"][3];
    for key in ["index", "line", "sql", "kind", "hazards"] {
        assert!(!s[key].is_null(), "missing {key}");
    }
    let h = &s["hazards"][0];
    for key in ["id", "severity", "detail"] {
        assert!(h[key].is_string(), "missing {key}");
    }
    for key in ["info", "warning", "danger", "blocker"] {
        assert!(v["summary"][key].is_u64(), "missing summary.{key}");
    }
    let o = run(&["lint", &path("psql_meta.sql")]);
    let text = stdout(&o);
    assert!(!text.contains('\x1b'), "NO_COLOR is set by the helper");
    assert!(
        text.contains("psql_meta.sql:8:1: ALTER TABLE") && text.contains("help:"),
        "{text}"
    );
}

#[test]
fn lint_shared_migration_histories_drop_nothing() {
    let Some(corpus) = corpus_dir() else { return };
    let start = std::time::Instant::now();
    let (mut files, mut statements) = (0, 0);
    for project in ["lemmy", "documenso"] {
        let dir = corpus.join("history").join(project);
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.retain(|p| p.extension().is_some_and(|e| e == "sql"));
        paths.sort();
        for p in paths {
            let name = p.display().to_string();
            let text = prepass::decode(&std::fs::read(&p).unwrap(), &name)
                .unwrap_or_else(|e| panic!("{e:#}"));
            let r = lint_sql(
                &text,
                &LintContext {
                    file: name.clone(),
                    ..Default::default()
                },
            )
            .unwrap_or_else(|e| panic!("{e:#}"));
            // Every chunk between top-level semicolons lies inside some statement.
            let prepared = prepass::prepare(&text);
            let mut from = 0;
            for end in prepared
                .semicolons
                .iter()
                .copied()
                .chain([prepared.sql.len()])
            {
                let chunk = &prepared.sql[from..end];
                let body = prepass::skip_trivia(chunk);
                if !body.is_empty() {
                    let line = prepass::line_of(prepared.sql.as_bytes(), end - body.len());
                    let covered = r
                        .statements
                        .iter()
                        .any(|s| s.line <= line && line < s.line + s.sql.lines().count().max(1));
                    assert!(covered, "{name}:{line}: a statement was dropped");
                }
                from = end + 1;
            }
            assert!(
                r.statements.iter().all(|s| s.kind != "UNPARSED"),
                "{name}: unparsed statement"
            );
            files += 1;
            statements += r.statements.len();
        }
    }
    eprintln!(
        "linted {files} files, {statements} statements in {:?}",
        start.elapsed()
    );
    assert!(files > 400);
}
