//! The plan as the review screen shows it: its lines, a severity mark in the
//! gutter of each statement, and each statement's hazards placed beside it
//! (glyph + WORD + id + detail, never colour alone).

use super::highlight::Highlighter;
use crate::hazard::{Severity, top_severity};
use crate::session::PlanState;
use crate::strings;
use std::cell::RefCell;

/// One hazard line for the right-hand column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub severity: Severity,
    pub text: String,
}

impl Annotation {
    pub fn label(&self) -> String {
        format!(
            "{} {} {}",
            self.severity.glyph(),
            self.severity.label(),
            self.text
        )
    }
}

/// A statement of the plan: where it starts and what it risks.
#[derive(Debug, Clone)]
struct StatementMark {
    /// 0-based line of the plan where its SQL starts.
    line: usize,
    /// 0-based line of its `-- pgalign:step` marker, where its hazards are shown.
    marker: usize,
    top: Option<Severity>,
    notes: Vec<Annotation>,
}

/// A row of the hazard column: `(plan line, severity, text)`.
pub type HazardRow = (usize, Severity, String);

pub struct PlanView {
    pub lines: Vec<String>,
    statements: Vec<StatementMark>,
    pub highlighter: Highlighter,
    /// Rows of the hazard column for a given width: `(width, rows)`.
    placed: RefCell<Option<(usize, Vec<HazardRow>)>>,
}

/// True for statements that destroy stored data: a table or a column.
pub fn drops_data(title: &str, sql: &str) -> bool {
    let t = title.to_ascii_lowercase();
    let s = sql.to_ascii_uppercase();
    t.starts_with("drop table")
        || t.starts_with("drop column")
        || s.contains("DROP TABLE")
        || s.contains("DROP COLUMN")
}

impl PlanView {
    pub fn new(plan: &PlanState) -> PlanView {
        let lines: Vec<String> = plan.file.text.lines().map(str::to_string).collect();
        let statements = plan
            .file
            .steps
            .iter()
            .zip(&plan.file.step_lines)
            .map(|(step, line)| {
                let mut notes: Vec<Annotation> = Vec::new();
                let mut hazards = step.hazards.clone();
                hazards.sort_by_key(|h| std::cmp::Reverse(h.severity));
                let mut top = top_severity(&step.hazards);
                if drops_data(&step.title, &step.sql) && top < Some(Severity::Danger) {
                    // Marked DANGER however empty the object is today.
                    notes.push(Annotation {
                        severity: Severity::Danger,
                        text: strings::DROP_MARK.into(),
                    });
                    top = Some(Severity::Danger);
                }
                // Details name objects: shown escaped, never raw.
                notes.extend(hazards.iter().map(|h| {
                    Annotation {
                        severity: h.severity,
                        text: crate::util::escape_control(&format!("{}: {}", h.id, h.shown()))
                            .into_owned(),
                    }
                }));
                let line = line.saturating_sub(1);
                StatementMark {
                    line,
                    marker: line.saturating_sub(1 + step.hazards.len()),
                    top,
                    notes,
                }
            })
            .collect();
        PlanView {
            lines,
            statements,
            highlighter: Highlighter::default(),
            placed: RefCell::new(None),
        }
    }

    /// The line to open the review at: just above the first group (the
    /// header stays one `Home` away).
    pub fn first_body_line(&self) -> usize {
        self.lines
            .iter()
            .position(|l| l.starts_with("-- end of header"))
            .unwrap_or(0)
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The gutter mark of a line: the top severity of the statement starting there.
    pub fn mark(&self, line: usize) -> Option<Severity> {
        let i = self.statements.partition_point(|s| s.line < line);
        self.statements
            .get(i)
            .filter(|s| s.line == line)
            .and_then(|s| s.top)
    }

    /// The first line after `from` where a statement with a warning or worse starts.
    pub fn next_hazard(&self, from: usize) -> Option<usize> {
        self.statements
            .iter()
            .filter(|s| s.top >= Some(Severity::Warning))
            .map(|s| s.marker.saturating_sub(1))
            .find(|&l| l > from)
    }

    /// Hazard-column rows in `range`, wrapped to `width`: `(row, severity, text)`.
    /// Each statement's hazards start on its first SQL line and push down
    /// when the statement above needs more rows than it has.
    pub fn hazard_rows(
        &self,
        width: usize,
        range: std::ops::Range<usize>,
    ) -> Vec<(usize, Severity, String)> {
        let mut placed = self.placed.borrow_mut();
        if placed.as_ref().map(|(w, _)| *w) != Some(width) {
            let mut rows = Vec::new();
            let mut next_free = 0usize;
            for s in &self.statements {
                let mut row = s.marker.max(next_free);
                for note in &s.notes {
                    for (k, chunk) in wrap(&note.label(), width.max(8)).into_iter().enumerate() {
                        let text = if k == 0 { chunk } else { format!("  {chunk}") };
                        rows.push((row, note.severity, text));
                        row += 1;
                    }
                }
                next_free = row;
            }
            *placed = Some((width, rows));
        }
        let rows = &placed.as_ref().map(|(_, r)| r.as_slice()).unwrap_or(&[]);
        let first = rows.partition_point(|r| r.0 < range.start);
        rows[first..]
            .iter()
            .take_while(|r| r.0 < range.end)
            .cloned()
            .collect()
    }
}

/// Word-wraps `text` into lines of at most `width` characters (continuation
/// lines get two characters less for their indent).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let limit = if out.is_empty() { width } else { width - 2 };
        let len = cur.chars().count();
        if len > 0 && len + 1 + word.chars().count() > limit {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazard::{Hazard, HazardId};
    use crate::plan::{Plan, Step, parse_plan, render_plan};

    #[test]
    fn the_hazard_column_shows_the_figures_the_plan_body_leaves_out() {
        let mut plan = Plan {
            live_fingerprint: "a".into(),
            desired_fingerprint: "b".into(),
            steps: vec![Step {
                number: 1,
                title: "drop column shop.t.c".into(),
                sql: "ALTER TABLE shop.t DROP COLUMN c;".into(),
                hazards: vec![
                    Hazard::new(
                        HazardId::DataLoss,
                        Severity::Danger,
                        "drops column shop.t.c",
                    )
                    .with_figures(Some("shop.t: 48 kB, 1,000 rows (counted)".into())),
                ],
                transactional: true,
                group: 0,
            }],
            notes: vec![],
            scope: Default::default(),
        };
        plan.renumber();
        let text = render_plan(&plan, "t", "2026-01-01T00:00:00Z");
        assert!(!text.contains("1,000 rows"), "not in the body:\n{text}");
        let mut file = parse_plan(&text).unwrap();
        file.steps[0].hazards[0].figures = plan.steps[0].hazards[0].figures.clone();
        let view = PlanView::new(&PlanState {
            path: "plan.sql".into(),
            file,
            notes: vec![],
        });
        let rows: Vec<String> = view
            .hazard_rows(200, 0..view.len())
            .into_iter()
            .map(|r| r.2)
            .collect();
        assert!(
            rows.iter()
                .any(|r| r.contains("drops column shop.t.c (shop.t: 48 kB, 1,000 rows (counted))")),
            "{rows:?}"
        );
    }
}
