//! The plan file: plain SQL that `psql -v ON_ERROR_STOP=1 -f plan.sql` runs, with a
//! header that pins its body (SHA-256) and its source (fingerprints).
//!
//! ```text
//! -- pgalign plan
//! -- format: 1
//! -- body-sha256: <hex of everything after the header>
//! -- live-fingerprint: <hex>
//! -- desired-fingerprint: <hex>
//! -- generated-at: 2026-11-21T15:40:00Z
//! -- target: app@db.example.com:5432/shop
//! -- statements: 3
//! -- hazards: info 1, warning 0, danger 1, blocker 0
//! -- end of header
//!
//! -- pgalign:group 1 transaction
//! BEGIN;
//!
//! -- pgalign:step 1 (1 line): drop column shop.customers.legacy_notes
//! -- danger[data-loss]: drops shop.customers.legacy_notes (~300 rows)
//! ALTER TABLE shop.customers DROP COLUMN legacy_notes;
//!
//! COMMIT;
//! ```
//!
//! Each step marker says how many lines its statement has, so reading a plan back
//! never depends on guessing where a statement ends.

use super::{Plan, PlanHeader, Step};
use crate::hazard::{Hazard, HazardId, Severity, Summary};
use crate::util::sha256_hex;
use anyhow::{Context, Result, bail};

pub const FORMAT: u32 = 1;
const FIRST_LINE: &str = "-- pgalign plan";
const END_OF_HEADER: &str = "-- end of header";
const GROUP_MARK: &str = "-- pgalign:group ";
const STEP_MARK: &str = "-- pgalign:step ";

/// A plan read back from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFile {
    pub header: PlanHeader,
    pub steps: Vec<Step>,
    /// The SHA-256 of the body as it is now (equal to `header.body_sha256` unless
    /// the file was edited after it was written; `parse_plan` refuses that).
    pub actual_sha256: String,
    /// For each step, the 1-based line of the plan file where its SQL starts.
    pub step_lines: Vec<usize>,
    /// The whole file text, as read.
    pub text: String,
}

impl PlanFile {
    /// The lines of each step's SQL, `[first, end)` (1-based), in step order.
    pub fn step_ranges(&self) -> Vec<(usize, usize)> {
        self.steps
            .iter()
            .zip(&self.step_lines)
            .map(|(s, &first)| (first, first + s.sql.split('\n').count()))
            .collect()
    }
}

/// The index of the step of `ranges` (see [`PlanFile::step_ranges`]) whose
/// SQL holds `line`; `None` for a line outside every step.
pub fn step_at(ranges: &[(usize, usize)], line: usize) -> Option<usize> {
    // Steps are in line order: the last one starting at or before the line.
    let i = ranges.partition_point(|&(from, _)| from <= line);
    i.checked_sub(1).filter(|&i| line < ranges[i].1)
}

/// Renders the body of a plan (everything below the header).
pub fn render_body(plan: &Plan) -> String {
    let mut out = String::new();
    for note in &plan.notes {
        for line in note.lines() {
            out.push_str("-- note: ");
            out.push_str(line);
            out.push('\n');
        }
    }
    if plan.steps.is_empty() {
        out.push_str("-- no differences: nothing to apply\n");
        return out;
    }
    let mut current_group = 0;
    let mut open_tx = false;
    for step in &plan.steps {
        if step.group != current_group {
            if open_tx {
                out.push_str("\nCOMMIT;\n");
                open_tx = false;
            }
            current_group = step.group;
            out.push('\n');
            if step.transactional {
                out.push_str(&format!("{GROUP_MARK}{} transaction\nBEGIN;\n", step.group));
                open_tx = true;
            } else {
                out.push_str(&format!(
                    "{GROUP_MARK}{} no-transaction (cannot run inside a transaction block)\n",
                    step.group
                ));
            }
        }
        let sql = step.sql.trim_end();
        // Counted as `parse_body` reads them back: split at LF only, so a CR
        // inside a quoted name stays part of its line.
        let lines = sql.split('\n').count();
        out.push_str(&format!(
            "\n{STEP_MARK}{} ({} line{}): {}\n",
            step.number,
            lines,
            if lines == 1 { "" } else { "s" },
            one_line(&step.title)
        ));
        for h in &step.hazards {
            out.push_str(&format!(
                "-- {}[{}]: {}\n",
                h.severity,
                h.id,
                one_line(&h.detail)
            ));
        }
        out.push_str(sql);
        out.push('\n');
    }
    if open_tx {
        out.push_str("\nCOMMIT;\n");
    }
    out
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// Renders the whole plan file: header then body.
pub fn render_plan(plan: &Plan, target: &str, generated_at: &str) -> String {
    let body = render_body(plan);
    let s = plan.summary();
    let mut out = String::new();
    out.push_str(FIRST_LINE);
    out.push('\n');
    out.push_str(&format!("-- format: {FORMAT}\n"));
    out.push_str(&format!(
        "-- body-sha256: {}\n",
        sha256_hex(body.as_bytes())
    ));
    out.push_str(&format!("-- live-fingerprint: {}\n", plan.live_fingerprint));
    out.push_str(&format!(
        "-- desired-fingerprint: {}\n",
        plan.desired_fingerprint
    ));
    out.push_str(&format!("-- generated-at: {generated_at}\n"));
    out.push_str(&format!("-- target: {}\n", one_line(target)));
    if plan.scope != crate::catalog::Scope::default() {
        let scope = serde_json::to_string(&plan.scope).expect("a scope always serialises");
        out.push_str(&format!("-- scope: {scope}\n"));
    }
    out.push_str(&format!("-- statements: {}\n", plan.steps.len()));
    out.push_str(&format!(
        "-- hazards: info {}, warning {}, danger {}, blocker {}\n",
        s.info, s.warning, s.danger, s.blocker
    ));
    out.push_str(
        "-- apply with: pgalign apply --db URL --plan FILE (or psql -v ON_ERROR_STOP=1 -f FILE)\n",
    );
    out.push_str(END_OF_HEADER);
    out.push('\n');
    out.push_str(&body);
    out
}

/// Reads a plan file. Refuses a file whose body does not match the SHA-256 in
/// its header (it was edited after it was generated) with [`PlanError::Tampered`].
pub fn parse_plan(text: &str) -> Result<PlanFile> {
    let text_norm = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(header_end) = text_norm.find(&format!("\n{END_OF_HEADER}\n")) else {
        if text_norm.contains(&format!("\r\n{END_OF_HEADER}\r\n")) {
            return Err(PlanError::LineEndings.into());
        }
        bail!("not a pgalign plan: no '{END_OF_HEADER}' line (was it written by `pgalign diff`?)");
    };
    let header_text = &text_norm[..header_end];
    let body = &text_norm[header_end + END_OF_HEADER.len() + 2..];
    if !header_text.starts_with(FIRST_LINE) {
        bail!("not a pgalign plan: the first line is not '{FIRST_LINE}'");
    }
    let field = |name: &str| -> Result<String> {
        let prefix = format!("-- {name}: ");
        header_text
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|v| v.trim().to_string())
            .with_context(|| format!("plan header has no '{name}' line"))
    };
    let format: u32 = field("format")?
        .parse()
        .context("plan header: 'format' is not a number")?;
    if format != FORMAT {
        bail!("plan format {format} is not supported by this pgalign (it reads format {FORMAT})");
    }
    let actual = sha256_hex(body.as_bytes());
    let header_sha = field("body-sha256")?;
    if header_sha != actual {
        if body.contains("\r\n") && sha256_hex(body.replace("\r\n", "\n").as_bytes()) == header_sha
        {
            return Err(PlanError::LineEndings.into());
        }
        return Err(PlanError::Tampered {
            header: header_sha,
            actual,
        }
        .into());
    }
    let body_first_line = text_norm[..header_end].matches('\n').count() + 3;
    let (steps, step_lines) = parse_body(body, body_first_line)?;
    let summary = Summary::of(steps.iter().flat_map(|s| s.hazards.iter()));
    let header = PlanHeader {
        format,
        body_sha256: header_sha,
        live_fingerprint: field("live-fingerprint")?,
        desired_fingerprint: field("desired-fingerprint")?,
        generated_at: field("generated-at")?,
        target: field("target")?,
        statements: field("statements")?
            .parse()
            .context("plan header: 'statements' is not a number")?,
        summary,
        scope: match field("scope") {
            Ok(json) => serde_json::from_str(&json).context("plan header: 'scope' is not valid")?,
            Err(_) => Default::default(),
        },
    };
    if header.statements != steps.len() {
        bail!(
            "plan header says {} statements but the body has {}",
            header.statements,
            steps.len()
        );
    }
    Ok(PlanFile {
        header,
        steps,
        actual_sha256: actual,
        step_lines,
        text: text.to_string(),
    })
}

/// Errors a caller must branch on when reading a plan.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "the plan was edited after it was generated: its body's SHA-256 is {actual} but its header says {header}; generate a new plan with `pgalign diff` and review it again"
    )]
    Tampered { header: String, actual: String },
    #[error(
        "the plan file has Windows line endings (CRLF), but pgalign writes plans with LF line endings and its body-sha256 covers those exact bytes; convert it back (`dos2unix FILE`, or check it out with `git config core.autocrlf false`) and run again: pgalign does not convert it, so that what runs is byte for byte what was reviewed"
    )]
    LineEndings,
    /// The body matches its header's SHA-256 but holds what pgalign never
    /// writes: whoever edited it also recomputed the hash.
    #[error(
        "plan line {line}: {what}; pgalign never writes that, so the plan was edited after it was generated (and its body-sha256 recomputed); generate a new plan with `pgalign diff` and review it again"
    )]
    NotWritten { line: usize, what: String },
}

fn parse_body(body: &str, first_line: usize) -> Result<(Vec<Step>, Vec<usize>)> {
    // Split at LF only: `str::lines` would also drop a CR before it, and a CR
    // inside a quoted name must reach the server as it was reviewed.
    let lines: Vec<&str> = body.split('\n').collect();
    let at = |i: usize| first_line + i;
    let not_written = |i: usize, what: String| -> anyhow::Error {
        PlanError::NotWritten { line: at(i), what }.into()
    };
    if let Some(m) = crate::hazard::prepass::prepare(body).meta.first() {
        return Err(not_written(
            m.line - 1,
            format!("the psql meta-command `{}`", m.text),
        ));
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut step_lines = Vec::new();
    let mut group = 0usize;
    let mut transactional = true;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix(GROUP_MARK) {
            let mut parts = rest.splitn(2, ' ');
            let number: usize = parts
                .next()
                .unwrap_or_default()
                .parse()
                .with_context(|| format!("plan line {}: bad group marker", at(i)))?;
            if number != group + 1 {
                return Err(not_written(
                    i,
                    format!("group {number} follows group {group}"),
                ));
            }
            group = number;
            transactional = parts.next().unwrap_or_default().starts_with("transaction");
            i += 1;
            continue;
        }
        let Some(rest) = line.strip_prefix(STEP_MARK) else {
            let t = line.trim();
            if !(t.is_empty() || t.starts_with("--") || t == "BEGIN;" || t == "COMMIT;") {
                let shown: String = t.chars().take(60).collect();
                return Err(not_written(
                    i,
                    format!("`{}` is outside every step", shown.escape_debug()),
                ));
            }
            i += 1;
            continue;
        };
        let bad = || format!("plan line {}: bad step marker '{line}'", at(i));
        let (num, rest) = rest.split_once(" (").with_context(bad)?;
        let (count, title) = rest.split_once("): ").with_context(bad)?;
        let number: usize = num.parse().with_context(bad)?;
        let count: usize = count
            .split(' ')
            .next()
            .unwrap_or_default()
            .parse()
            .with_context(bad)?;
        if number != steps.len() + 1 {
            return Err(not_written(
                i,
                format!("step {number} follows step {}", steps.len()),
            ));
        }
        if group == 0 {
            return Err(not_written(i, format!("step {number} is in no group")));
        }
        if !transactional && steps.last().is_some_and(|s| s.group == group) {
            return Err(not_written(
                i,
                format!(
                    "step {number} shares group {group}, which cannot run in a transaction, with step {}",
                    number - 1
                ),
            ));
        }
        if count == 0 {
            return Err(not_written(i, format!("step {number} has no statement")));
        }
        i += 1;
        let mut hazards = Vec::new();
        while i < lines.len() {
            match parse_hazard_line(lines[i]) {
                Some(h) => {
                    hazards.push(h);
                    i += 1;
                }
                None => break,
            }
        }
        if i + count > lines.len() {
            bail!("plan step {number}: the file ends inside its statement");
        }
        let sql = lines[i..i + count].join("\n");
        step_lines.push(at(i));
        i += count;
        steps.push(Step {
            number,
            title: title.to_string(),
            sql,
            hazards,
            transactional,
            group,
        });
    }
    Ok((steps, step_lines))
}

fn parse_hazard_line(line: &str) -> Option<Hazard> {
    let rest = line.strip_prefix("-- ")?;
    let (sev, rest) = rest.split_once('[')?;
    let (id, detail) = rest.split_once("]: ")?;
    let severity: Severity = sev.parse().ok()?;
    let id: HazardId = id.parse().ok()?;
    Some(Hazard::new(id, severity, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Plan {
        let mut plan = Plan {
            live_fingerprint: "aa".into(),
            desired_fingerprint: "bb".into(),
            steps: vec![
                Step {
                    number: 0,
                    title: "create table shop.reviews".into(),
                    sql: "CREATE TABLE shop.reviews (\n    id integer NOT NULL\n);".into(),
                    hazards: vec![],
                    transactional: true,
                    group: 0,
                },
                Step {
                    number: 0,
                    title: "drop column shop.customers.legacy_notes".into(),
                    sql: "ALTER TABLE shop.customers DROP COLUMN legacy_notes;".into(),
                    hazards: vec![Hazard::new(
                        HazardId::DataLoss,
                        Severity::Danger,
                        "drops shop.customers.legacy_notes",
                    )],
                    transactional: true,
                    group: 0,
                },
                Step {
                    number: 0,
                    title: "create index".into(),
                    sql: "CREATE INDEX CONCURRENTLY i ON shop.t (a);".into(),
                    hazards: vec![],
                    transactional: false,
                    group: 0,
                },
            ],
            notes: vec!["view public.v is not managed yet".into()],
            scope: Default::default(),
        };
        plan.renumber();
        plan
    }

    #[test]
    fn a_plan_reads_back_as_written() {
        let plan = sample();
        let text = render_plan(&plan, "app@localhost:5432/shop", "2026-11-21T00:00:00Z");
        let file = parse_plan(&text).unwrap();
        assert_eq!(file.steps, plan.steps);
        assert_eq!(file.header.statements, 3);
        assert_eq!(file.header.summary.danger, 1);
        assert_eq!(file.header.live_fingerprint, "aa");
        assert!(text.contains("BEGIN;"));
        assert!(text.contains("COMMIT;"));
    }

    #[test]
    fn an_edited_body_is_refused() {
        let text = render_plan(&sample(), "t", "now");
        let edited = text.replace("DROP COLUMN legacy_notes", "DROP COLUMN email");
        let err = parse_plan(&edited).unwrap_err();
        assert!(err.downcast_ref::<PlanError>().is_some(), "{err:#}");
        assert!(format!("{err}").contains("edited after it was generated"));
    }

    #[test]
    fn an_empty_plan_says_so() {
        let mut plan = sample();
        plan.steps.clear();
        let text = render_plan(&plan, "t", "now");
        assert!(text.contains("no differences"));
        assert!(parse_plan(&text).unwrap().steps.is_empty());
    }
}
