//! A SQL file → its statements with hazards. `lint_sql` is pure: database
//! facts and probe results come in through the `LintContext`.

use super::action::{Action, TableCmd, Tx};
use super::ast::Rel;
use super::context::{Cx, FileState, LintContext, ProbeKey};
use super::effects::effect;
use super::parse::parse_file;
use super::rules::{self, Found, non_transactional, opaque, session};
use super::{Hazard, HazardId, Severity, size};
use anyhow::{Result, bail};
use serde::Serialize;

/// One hazard of one statement, as shown and serialised.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: HazardId,
    pub severity: Severity,
    /// What it does; the same whatever the table's size, short of crossing a
    /// threshold (empty, 1 GB, 10M rows) that changes the severity.
    pub detail: String,
    /// The figures behind the severity: the table's size and how it was found
    /// out (counted, estimated), probe counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub figures: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The reason given in a `-- pgalign:allow <id> <reason>` comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LockTaken {
    pub relation: String,
    pub mode: String,
    /// The relation as the statement names it, for `apply`'s lock order.
    #[serde(skip)]
    pub rel: Rel,
    #[serde(skip)]
    pub lock: super::locks::LockMode,
    /// Locked because the statement's table refers to it (a foreign key's
    /// referenced table), not because the statement changes it.
    #[serde(skip)]
    pub referenced: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    pub index: usize,
    pub line: usize,
    #[serde(skip)]
    pub column: usize,
    pub sql: String,
    pub kind: String,
    pub in_transaction: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locks: Vec<LockTaken>,
    pub hazards: Vec<Finding>,
}

impl StatementReport {
    /// The hazards in the planner's form.
    pub fn hazards(&self) -> Vec<Hazard> {
        self.hazards
            .iter()
            .map(|f| {
                Hazard::new(f.id, f.severity, f.detail.clone()).with_figures(f.figures.clone())
            })
            .collect()
    }
}

/// Counts of unacknowledged hazards per severity, plus acknowledged ones.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ReportSummary {
    pub info: usize,
    pub warning: usize,
    pub danger: usize,
    pub blocker: usize,
    pub acknowledged: usize,
    pub statements: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    pub statements: Vec<StatementReport>,
    pub summary: ReportSummary,
    /// Probes the rules asked for that have no result yet (see `probe::run`).
    #[serde(skip)]
    pub wanted_probes: Vec<ProbeKey>,
}

impl LintReport {
    /// Whether an unacknowledged hazard (or any blocker) is at or above `level`.
    pub fn fails(&self, level: Severity) -> bool {
        self.statements.iter().flat_map(|s| &s.hazards).any(|h| {
            (h.acknowledged.is_none() || h.severity == Severity::Blocker) && h.severity >= level
        })
    }
}

/// Lints SQL text (already decoded: see `prepass::decode`).
pub fn lint_sql(text: &str, ctx: &LintContext) -> Result<LintReport> {
    let (prepared, pieces) = parse_file(text);
    let mut state = FileState::default();
    let mut statements = Vec::new();
    let mut wanted = std::collections::BTreeSet::new();
    // Indexes in `statements` of the `BEGIN`s, for the one never committed.
    let mut begins = Vec::new();
    let mut metas = prepared
        .meta
        .iter()
        .filter_map(|m| opaque::meta_command(&m.text).map(|f| (m, f)))
        .peekable();
    for piece in &pieces {
        while let Some((m, f)) = metas.next_if(|(m, _)| m.offset < piece.start) {
            statements.push(meta_statement(m.line, &m.text, f, &state));
        }
        let cx = Cx::new(ctx, &state);
        let (kind, actions, mut found) = match &piece.node {
            Err(e) => ("UNPARSED".to_string(), vec![], vec![opaque::unparsable(e)]),
            Ok(node) => {
                let (kind, actions) = super::classify::classify(node, &piece.sql);
                let mut found: Vec<Found> = actions
                    .iter()
                    .flat_map(|a| rules::check_all(a, &cx))
                    .collect();
                found.extend(non_transactional::uses_new_enum_value(&piece.sql, &cx));
                (kind, actions, found)
            }
        };
        let warn_timeout = !state.warned_lock_timeout
            && !cx.lock_timeout()
            && found.iter().any(|f| f.id == HazardId::Lock);
        if warn_timeout {
            found.push(
                Found::new(
                    HazardId::Session,
                    Severity::Warning,
                    session::NO_LOCK_TIMEOUT,
                )
                .help(rules::lock::HELP),
            );
        }
        let locks: Vec<LockTaken> = actions
            .iter()
            .filter_map(|a| effect(a, &cx))
            .flat_map(|e| {
                let taken = |rel: &Rel, lock: super::locks::LockMode, referenced: bool| LockTaken {
                    relation: cx.name(rel),
                    mode: lock.to_string(),
                    rel: rel.clone(),
                    lock,
                    referenced,
                };
                let mut v = vec![taken(&e.table, e.mode, false)];
                v.extend(e.others.iter().map(|(r, m)| taken(r, *m, true)));
                v
            })
            .collect();
        let mut hazards: Vec<Finding> = Vec::new();
        for f in found {
            let finding = sized(f, &cx);
            if !hazards
                .iter()
                .any(|h| h.id == finding.id && h.detail == finding.detail)
            {
                hazards.push(finding);
            }
        }
        hazards.sort_by_key(|h| std::cmp::Reverse(h.severity));
        wanted.extend(cx.wanted.take());
        let in_transaction = state.in_tx.is_some();
        drop(cx);
        state.warned_lock_timeout |= warn_timeout;
        advance(&mut state, &actions, piece.line);
        if state.in_tx.is_some() {
            for (rel, mode) in locks.iter().map(|l| (l.relation.clone(), l.lock)) {
                let held = state.tx_locks.entry(rel).or_insert((mode, piece.line));
                if mode > held.0 {
                    *held = (mode, piece.line);
                }
            }
        }
        apply_suppressions(&piece.comments, &mut hazards, &ctx.file, piece.line)?;
        if actions.iter().any(|a| matches!(a, Action::Tx(Tx::Begin))) {
            begins.push(statements.len());
        }
        statements.push(StatementReport {
            index: 0,
            line: piece.line,
            column: piece.column,
            sql: piece.sql.clone(),
            kind,
            in_transaction: in_transaction || state.in_tx.is_some(),
            locks,
            hazards,
        });
    }
    for (m, f) in metas {
        statements.push(meta_statement(m.line, &m.text, f, &state));
    }
    if let Some(line) = state.in_tx
        && let Some(&i) = begins.iter().rev().find(|&&i| statements[i].line == line)
    {
        statements[i].hazards.push(Finding {
                id: HazardId::Session,
                severity: Severity::Warning,
                detail: format!("BEGIN at line {line} is never committed: at the end of the script the session ends and everything after it is rolled back"),
                figures: None,
                help: Some("end the file with COMMIT".into()),
                acknowledged: None,
            });
    }
    let mut summary = ReportSummary {
        statements: statements.len(),
        ..Default::default()
    };
    for (i, s) in statements.iter_mut().enumerate() {
        s.index = i + 1;
        for h in &s.hazards {
            match (&h.acknowledged, h.severity) {
                (Some(_), sev) if sev != Severity::Blocker => summary.acknowledged += 1,
                (_, Severity::Info) => summary.info += 1,
                (_, Severity::Warning) => summary.warning += 1,
                (_, Severity::Danger) => summary.danger += 1,
                (_, Severity::Blocker) => summary.blocker += 1,
            }
        }
    }
    Ok(LintReport {
        file: ctx.file.clone(),
        server: ctx.db.as_ref().map(|d| d.version.clone()),
        statements,
        summary,
        wanted_probes: wanted.into_iter().collect(),
    })
}

fn meta_statement(line: usize, text: &str, f: Found, state: &FileState) -> StatementReport {
    StatementReport {
        index: 0,
        line,
        column: 1,
        sql: text.to_string(),
        kind: format!("psql {}", text.split_whitespace().next().unwrap_or("\\")),
        in_transaction: state.in_tx.is_some(),
        locks: vec![],
        hazards: vec![Finding {
            id: f.id,
            severity: f.severity,
            detail: f.detail,
            figures: None,
            help: f.help,
            acknowledged: None,
        }],
    }
}

/// Applies the table's size to a finding; its figures go beside the detail.
fn sized(f: Found, cx: &Cx) -> Finding {
    let mut detail = f.detail;
    let mut severity = f.severity;
    let mut figures = Vec::new();
    if let Some(rel) = &f.table {
        let facts = cx.table(rel);
        severity = size::adjust(severity, f.sizing, cx.is_new(rel), facts.map(|t| &t.size));
        if let Some(t) = facts {
            figures.push(format!("{}: {}", t.name, size::describe(&t.size)));
        } else if cx.is_new(rel) && f.sizing != rules::Sizing::Fixed {
            detail.push_str(" — created in this file, so empty");
        }
    }
    figures.extend(f.figures);
    Finding {
        id: f.id,
        severity,
        detail,
        figures: (!figures.is_empty()).then(|| figures.join("; ")),
        help: f.help,
        acknowledged: None,
    }
}

/// `-- pgalign:allow <id> <reason>` before a statement acknowledges that hazard.
fn apply_suppressions(
    comments: &[String],
    hazards: &mut [Finding],
    file: &str,
    line: usize,
) -> Result<()> {
    for c in comments {
        let Some(rest) = c.trim().strip_prefix("pgalign:allow") else {
            continue;
        };
        let mut words = rest.trim().splitn(2, char::is_whitespace);
        let id_text = words.next().unwrap_or("");
        let id: HazardId = match id_text.parse() {
            Ok(id) => id,
            Err(e) => bail!("{file}: the pgalign:allow comment before line {line}: {e}"),
        };
        let reason = words.next().map(str::trim).unwrap_or("");
        if reason.is_empty() {
            bail!("{file}: the pgalign:allow {id} comment before line {line} needs a reason");
        }
        for h in hazards.iter_mut().filter(|h| h.id == id) {
            h.acknowledged = Some(reason.to_string());
        }
    }
    Ok(())
}

/// Records what the statement did, for the statements after it.
fn advance(state: &mut FileState, actions: &[Action], line: usize) {
    for a in actions {
        match a {
            Action::CreateTable {
                rel,
                columns,
                references,
            } => {
                state.created.insert(rel.name.clone(), columns.clone());
                state
                    .created_refs
                    .insert(rel.name.clone(), references.clone());
            }
            Action::Drop {
                kind: super::action::ObjKind::Table,
                objects,
                ..
            } => {
                for o in objects {
                    state.created.remove(&o.name);
                    state.dropped_tables.insert(o.name.clone());
                }
            }
            Action::AlterTable { rel, cmd } => match cmd {
                TableCmd::AddColumn(c) => {
                    if let Some(cols) = state.created.get_mut(&rel.name) {
                        cols.push(c.clone());
                    }
                }
                TableCmd::AlterType { column, to, .. } => {
                    if let Some(c) = state
                        .created
                        .get_mut(&rel.name)
                        .and_then(|cols| cols.iter_mut().find(|c| &c.name == column))
                    {
                        c.typ = to.clone();
                    }
                }
                TableCmd::AddConstraint(c) => {
                    if let (Some(n), Some(e)) = (&c.name, &c.check) {
                        state.check_exprs.insert(n.clone(), e.clone());
                    }
                    if let (true, Some(_), Some(n)) = (c.not_valid, state.in_tx, &c.name) {
                        state.tx_not_valid.insert(n.clone(), line);
                    }
                    if let Some(col) = &c.not_null_of {
                        let key = (rel.name.clone(), col.clone());
                        match (&c.name, c.not_valid) {
                            (_, false) => {
                                state.not_null_checks.insert(key);
                            }
                            (Some(n), true) => {
                                state.pending_checks.insert(n.clone(), key);
                            }
                            _ => {}
                        }
                    }
                }
                TableCmd::DropConstraint { name, .. } => {
                    state
                        .dropped_constraints
                        .insert((rel.name.clone(), name.clone()));
                }
                TableCmd::ValidateConstraint { name } => {
                    if let Some(key) = state.pending_checks.remove(name) {
                        state.not_null_checks.insert(key);
                    }
                }
                _ => {}
            },
            Action::Rename {
                kind: super::action::ObjKind::Table,
                rel: Some(r),
                new,
                ..
            } => {
                if let Some(cols) = state.created.remove(&r.name) {
                    state.created.insert(new.clone(), cols);
                }
            }
            Action::CreateEnum { typ, values } => {
                state.enums.insert(typ.name.clone(), values.clone());
            }
            Action::AddEnumValue { typ, value } if state.in_tx.is_some() => {
                state.tx_enum_values.push((typ.to_string(), value.clone()))
            }
            Action::Tx(Tx::Begin) if state.in_tx.is_none() => state.in_tx = Some(line),
            Action::Tx(Tx::Commit | Tx::Rollback) => {
                state.in_tx = None;
                state.local_lock_timeout = false;
                state.tx_enum_values.clear();
                state.tx_locks.clear();
                state.tx_not_valid.clear();
            }
            Action::CreateIndex { name, columns, .. } if !name.is_empty() => {
                state.created_indexes.insert(name.clone(), columns.clone());
            }
            Action::Set { name, value, local } if name == "lock_timeout" => {
                let on = !(value == "DEFAULT"
                    || value
                        .trim_matches('\'')
                        .trim_end_matches("ms")
                        .trim_end_matches('s')
                        == "0");
                if *local {
                    state.local_lock_timeout = on && state.in_tx.is_some();
                } else {
                    state.lock_timeout = on;
                }
            }
            Action::Set { name, value, .. } if name == "timezone" => {
                state.timezone_utc = Some(matches!(
                    value.to_ascii_uppercase().as_str(),
                    "UTC" | "ETC/UTC" | "GMT" | "Z" | "UCT"
                ));
            }
            _ => {}
        }
    }
}

/// Every action of every statement of `text` (for reading database facts).
pub fn file_actions(text: &str) -> Vec<Action> {
    let (_, pieces) = parse_file(text);
    pieces
        .iter()
        .filter_map(|p| {
            p.node
                .as_ref()
                .ok()
                .map(|n| super::classify::classify(n, &p.sql).1)
        })
        .flatten()
        .collect()
}
