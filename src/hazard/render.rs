//! Output of a lint report: `human` like a compiler, `json` as DESIGN.md §3.

use super::Severity;
use super::lint::{LintReport, StatementReport};
use std::fmt::Write;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour only on a terminal, never with `NO_COLOR` or `TERM=dumb`.
    pub fn detect() -> Style {
        use std::io::IsTerminal;
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Style {
            color: std::io::stdout().is_terminal() && !no_color && !dumb,
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn severity(&self, sev: Severity) -> &'static str {
        match sev {
            Severity::Info => "34",
            Severity::Warning => "33",
            Severity::Danger => "31",
            Severity::Blocker => "1;31",
        }
    }
}

/// `file:line:col: KIND`, the statement with a caret line, each hazard as
/// `severity[id]: reason` with its `help:`; then a summary line.
pub fn human(report: &LintReport, style: Style) -> String {
    let mut out = String::new();
    for s in report.statements.iter().filter(|s| !s.hazards.is_empty()) {
        statement(&mut out, &report.file, s, style);
    }
    let sum = &report.summary;
    let mut line = format!(
        "{} statements: {} blocker, {} danger, {} warning, {} info",
        sum.statements, sum.blocker, sum.danger, sum.warning, sum.info
    );
    if sum.acknowledged > 0 {
        let _ = write!(line, " ({} acknowledged)", sum.acknowledged);
    }
    if let Some(server) = &report.server {
        let _ = write!(line, "; sized against PostgreSQL {server}");
    }
    out.push_str(&style.paint("1", &line));
    out.push('\n');
    out
}

fn statement(out: &mut String, file: &str, s: &StatementReport, style: Style) {
    let _ = writeln!(
        out,
        "{}",
        style.paint("1", &format!("{file}:{}:{}: {}", s.line, s.column, s.kind))
    );
    let lines: Vec<&str> = s.sql.lines().collect();
    let width = (s.line + lines.len().min(4)).to_string().len();
    let pad = " ".repeat(width);
    let _ = writeln!(out, "{pad} |");
    for (i, l) in lines.iter().take(4).enumerate() {
        let shown: String = l.chars().take(160).collect();
        let _ = writeln!(
            out,
            "{:>width$} | {}{shown}",
            s.line + i,
            if i == 0 {
                " ".repeat(s.column - 1)
            } else {
                String::new()
            }
        );
        if i == 0 {
            let carets = "^".repeat(shown.trim_end().chars().count().max(1));
            let _ = writeln!(
                out,
                "{pad} | {}{}",
                " ".repeat(s.column - 1),
                style.paint("1;31", &carets)
            );
        }
    }
    if lines.len() > 4 {
        let _ = writeln!(out, "{pad} | … ({} more lines)", lines.len() - 4);
    }
    for h in &s.hazards {
        let tag = format!("{}[{}]", h.severity, h.id);
        let ack = if h.acknowledged.is_some() {
            "acknowledged "
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{pad} = {} {ack}{}: {}",
            h.severity.glyph(),
            style.paint(style.severity(h.severity), &tag),
            h.detail
        );
        if let Some(figures) = &h.figures {
            let _ = writeln!(out, "{pad}   {} {figures}", style.paint("35", "figures:"));
        }
        if let Some(reason) = &h.acknowledged {
            let _ = writeln!(out, "{pad}   {} {reason}", style.paint("32", "reason:"));
        }
        if let Some(help) = &h.help {
            let _ = writeln!(out, "{pad}   {} {help}", style.paint("36", "help:"));
        }
    }
    out.push('\n');
}

/// The JSON document of DESIGN.md §3 (one object, pretty-printed).
pub fn json(report: &LintReport) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_output_points_at_the_statement() {
        let r = crate::hazard::lint_sql(
            "SELECT 1;\n  DROP TABLE users;\n",
            &crate::hazard::LintContext {
                file: "m.sql".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let text = human(&r, Style { color: false });
        assert!(text.contains("m.sql:2:3: DROP TABLE"), "{text}");
        assert!(text.contains("2 |   DROP TABLE users"), "{text}");
        assert!(text.contains("  |   ^^^^^^^^^^^^^^^^\n"), "{text}");
        assert!(
            text.contains("danger[data-loss]: drops table users"),
            "{text}"
        );
        assert!(text.contains("help: "), "{text}");
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn json_has_the_documented_shape() {
        let r = crate::hazard::lint_sql("DROP TABLE t;", &Default::default()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(v["statements"][0]["index"], 1);
        assert_eq!(v["statements"][0]["kind"], "DROP TABLE");
        assert_eq!(v["statements"][0]["hazards"][0]["id"], "data-loss");
        assert_eq!(v["summary"]["danger"], 1);
    }
}
