//! Compares the live model with the desired one and emits ordered steps.
//!
//! Order is by phase: creates come before the things that need them, drops after
//! the things that depend on them, and foreign keys are added once every table
//! exists (which also breaks cycles of mutual foreign keys). Nothing uses
//! `CASCADE`: every dependent object that must go is dropped by its own step.

use super::{Plan, Step};
use crate::catalog::ddl;
use crate::catalog::model::*;
use crate::hazard::{Hazard, HazardId, Severity};
use crate::util::{human_bytes, human_rows};
use std::collections::{BTreeMap, BTreeSet};

/// How to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Only creates and widenings; every destructive change is listed, not run.
    pub additive: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    CreateSchema,
    CreateType,
    CreateSequence,
    DropForeignKey,
    DropIndex,
    DropConstraint,
    DropTable,
    CreateTable,
    AlterColumn,
    AddConstraint,
    CreateIndex,
    AddForeignKey,
    SequenceOwner,
    DropSequence,
    DropType,
    DropSchema,
}

struct Builder<'a> {
    live: &'a Inspected,
    desired: &'a Model,
    opts: &'a PlanOptions,
    steps: Vec<(Phase, usize, Step)>,
    notes: Vec<String>,
    omitted: Vec<String>,
    /// Tables created by this plan: empty, so size-driven hazards do not apply.
    new_tables: BTreeSet<QName>,
}

/// Computes the plan that turns `live` into `desired`.
pub fn diff(live: &Inspected, desired: &Model, opts: &PlanOptions) -> Plan {
    let mut b = Builder {
        live,
        desired,
        opts,
        steps: Vec::new(),
        notes: Vec::new(),
        omitted: Vec::new(),
        new_tables: desired
            .tables
            .keys()
            .filter(|k| !live.model.tables.contains_key(*k))
            .cloned()
            .collect(),
    };
    b.schemas();
    b.enums();
    b.sequences();
    b.tables();
    b.indexes();
    b.unmanaged();
    if opts.additive && !b.omitted.is_empty() {
        b.notes.push(format!(
            "additive mode: {} destructive change(s) omitted:",
            b.omitted.len()
        ));
        let omitted = std::mem::take(&mut b.omitted);
        b.notes.extend(omitted.into_iter().map(|o| format!("  omitted: {o}")));
    }
    b.steps.sort_by_key(|(phase, seq, _)| (*phase, *seq));
    let mut plan = Plan {
        live_fingerprint: live.model.fingerprint(),
        desired_fingerprint: desired.fingerprint(),
        steps: b.steps.into_iter().map(|(_, _, s)| s).collect(),
        notes: b.notes,
    };
    plan.renumber();
    plan
}

fn h(id: HazardId, severity: Severity, detail: impl Into<String>) -> Hazard {
    Hazard::new(id, severity, detail)
}

impl<'a> Builder<'a> {
    fn push(&mut self, phase: Phase, title: String, sql: String, hazards: Vec<Hazard>) {
        self.push_tx(phase, title, sql, hazards, true);
    }

    fn push_tx(&mut self, phase: Phase, title: String, sql: String, hazards: Vec<Hazard>, tx: bool) {
        let seq = self.steps.len();
        self.steps.push((
            phase,
            seq,
            Step {
                number: 0,
                title,
                sql,
                hazards,
                transactional: tx,
                group: 0,
            },
        ));
    }

    /// A destructive change: a step normally, a note in additive mode.
    fn destructive(&mut self, phase: Phase, title: String, sql: String, hazards: Vec<Hazard>) {
        if self.opts.additive {
            self.omitted.push(format!("{title}: {sql}"));
        } else {
            self.push(phase, title, sql, hazards);
        }
    }

    /// A change pgalign cannot express safely: a step with a `blocker` hazard
    /// whose SQL fails loudly if someone runs the file with psql anyway.
    fn blocker(&mut self, phase: Phase, title: String, why: String) {
        let msg = why.replace('\'', "''");
        self.push(
            phase,
            title,
            format!("DO $pgalign$ BEGIN RAISE EXCEPTION 'pgalign cannot apply this change: {msg}'; END $pgalign$;"),
            vec![h(HazardId::Opaque, Severity::Blocker, why)],
        );
    }

    fn stats(&self, t: &QName) -> Option<TableStats> {
        if self.new_tables.contains(t) {
            return Some(TableStats {
                rows: Some(0.0),
                bytes: 0,
            });
        }
        self.live.stats.get(t).copied()
    }

    fn is_empty(&self, t: &QName) -> bool {
        self.stats(t).and_then(|s| s.rows).is_some_and(|r| r <= 0.0)
    }

    /// `41.0 GB, ~310M rows` for a live table, or `empty`.
    fn size(&self, t: &QName) -> String {
        match self.stats(t) {
            Some(s) if s.rows.is_some_and(|r| r <= 0.0) => "empty".into(),
            Some(TableStats { rows: Some(rows), bytes }) => {
                format!("{}, {}", human_bytes(bytes), human_rows(rows))
            }
            Some(TableStats { rows: None, bytes }) => {
                format!("{}, row count unknown: never analysed", human_bytes(bytes))
            }
            None => "size unknown".into(),
        }
    }

    /// Severity of a size-driven hazard on table `t`: info when empty, one level
    /// up at 1 GB or 10M rows.
    fn sized(&self, base: Severity, t: &QName) -> Severity {
        match self.stats(t) {
            Some(s) if s.rows.is_some_and(|r| r <= 0.0) => Severity::Info,
            Some(s) if s.bytes >= 1_000_000_000 || s.rows.unwrap_or(0.0) >= 10_000_000.0 => {
                base.escalate()
            }
            _ => base,
        }
    }

    fn lock(&self, t: &QName, what: &str) -> Hazard {
        h(
            HazardId::Lock,
            Severity::Info,
            format!("takes an ACCESS EXCLUSIVE lock on {t} ({}) {what}", self.size(t)),
        )
    }

    fn schemas(&mut self) {
        for name in self.desired.schemas.keys() {
            if !self.live.model.schemas.contains_key(name) {
                self.push(
                    Phase::CreateSchema,
                    format!("create schema {name}"),
                    ddl::create_schema(name),
                    vec![],
                );
            }
        }
        for name in self.live.model.schemas.keys() {
            if !self.desired.schemas.contains_key(name) {
                self.destructive(
                    Phase::DropSchema,
                    format!("drop schema {name}"),
                    format!("DROP SCHEMA {};", quote_ident(name)),
                    vec![h(
                        HazardId::DataLoss,
                        Severity::Info,
                        format!("drops schema {name}; the steps above drop what it holds, and it fails if anything else is left in it"),
                    )],
                );
            }
        }
    }

    fn enums(&mut self) {
        for (name, want) in &self.desired.enums {
            match self.live.model.enums.get(name) {
                None => self.push(
                    Phase::CreateType,
                    format!("create type {name}"),
                    ddl::create_enum(want),
                    vec![],
                ),
                Some(have) if have.labels != want.labels => self.enum_change(name, have, want),
                Some(_) => {}
            }
        }
        for name in self.live.model.enums.keys() {
            if !self.desired.enums.contains_key(name) {
                self.destructive(
                    Phase::DropType,
                    format!("drop type {name}"),
                    format!("DROP TYPE {};", name.sql()),
                    vec![h(
                        HazardId::BreaksClients,
                        Severity::Warning,
                        format!("drops type {name}; clients that use it break"),
                    )],
                );
            }
        }
    }

    fn enum_change(&mut self, name: &QName, have: &EnumType, want: &EnumType) {
        let kept: Vec<&String> = want.labels.iter().filter(|l| have.labels.contains(l)).collect();
        let removed: Vec<&String> = have.labels.iter().filter(|l| !want.labels.contains(l)).collect();
        let order_kept = have.labels.iter().filter(|l| want.labels.contains(l)).collect::<Vec<_>>() == kept;
        if !removed.is_empty() || !order_kept {
            let why = if removed.is_empty() {
                format!("enum {name} reorders its values; that needs a new type and a cast, which pgalign does not plan yet")
            } else {
                let list: Vec<&str> = removed.iter().map(|s| s.as_str()).collect();
                format!("enum {name} drops value(s) {}; that needs a new type and a cast, which pgalign does not plan yet", list.join(", "))
            };
            if self.opts.additive {
                self.omitted.push(why);
            } else {
                self.blocker(Phase::CreateType, format!("change type {name}"), why);
            }
            return;
        }
        // Add each new label next to a neighbour that already exists.
        let mut present: Vec<String> = have.labels.clone();
        for (i, label) in want.labels.iter().enumerate() {
            if present.contains(label) {
                continue;
            }
            let position = match want.labels[..i].iter().rev().find(|l| present.contains(l)) {
                Some(prev) => format!(" AFTER {}", quote_literal(prev)),
                None => match want.labels[i + 1..].iter().find(|l| present.contains(l)) {
                    Some(next) => format!(" BEFORE {}", quote_literal(next)),
                    None => String::new(),
                },
            };
            // Its own step outside a transaction: a value added inside a
            // transaction cannot be used (by a default, say) until it commits.
            self.push_tx(
                Phase::CreateType,
                format!("add value {label} to type {name}"),
                format!("ALTER TYPE {} ADD VALUE {}{position};", name.sql(), quote_literal(label)),
                vec![h(
                    HazardId::NonTransactional,
                    Severity::Warning,
                    format!("adds enum value {label} to {name} in its own commit, so later steps can use it; it is not rolled back if a later group fails"),
                )],
                false,
            );
            let at = present
                .iter()
                .position(|l| position.contains(&quote_literal(l)))
                .map(|p| if position.starts_with(" AFTER") { p + 1 } else { p })
                .unwrap_or(present.len());
            present.insert(at, label.clone());
        }
    }

    fn sequences(&mut self) {
        for (name, want) in &self.desired.sequences {
            match self.live.model.sequences.get(name) {
                None => {
                    self.push(
                        Phase::CreateSequence,
                        format!("create sequence {name}"),
                        ddl::create_sequence(want),
                        vec![],
                    );
                    if want.owned_by.is_some() {
                        self.push(
                            Phase::SequenceOwner,
                            format!("set owner column of sequence {name}"),
                            ddl::sequence_owned_by(want),
                            vec![],
                        );
                    }
                }
                Some(have) => {
                    let mut have_opts = have.clone();
                    have_opts.owned_by = want.owned_by.clone();
                    if &have_opts != want {
                        self.push(
                            Phase::CreateSequence,
                            format!("alter sequence {name}"),
                            format!("ALTER SEQUENCE {} {};", name.sql(), ddl::sequence_options(want)),
                            vec![],
                        );
                    }
                    if have.owned_by != want.owned_by {
                        self.push(
                            Phase::SequenceOwner,
                            format!("set owner column of sequence {name}"),
                            ddl::sequence_owned_by(want),
                            vec![],
                        );
                    }
                }
            }
        }
        for (name, have) in &self.live.model.sequences {
            if self.desired.sequences.contains_key(name) {
                continue;
            }
            // A sequence owned by a column that this plan drops goes with it.
            if let Some((table, col)) = &have.owned_by {
                let owner_dropped = match self.desired.tables.get(table) {
                    None => true,
                    Some(t) => t.column(col).is_none(),
                };
                if owner_dropped && !self.opts.additive {
                    continue;
                }
            }
            self.destructive(
                Phase::DropSequence,
                format!("drop sequence {name}"),
                format!("DROP SEQUENCE {};", name.sql()),
                vec![h(
                    HazardId::DataLoss,
                    Severity::Danger,
                    format!("drops sequence {name} and its current value"),
                )],
            );
        }
    }

    fn tables(&mut self) {
        let live = &self.live.model;
        // Foreign keys of the live side that must go: on dropped tables, changed,
        // removed, or pointing at a table whose keys are rebuilt.
        let rebuilt_keys: BTreeSet<QName> = live
            .tables
            .values()
            .filter(|t| {
                let want = self.desired.tables.get(&t.name);
                t.constraints.values().any(|c| {
                    matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique)
                        && want.and_then(|w| w.constraints.get(&c.name)) != Some(c)
                })
            })
            .map(|t| t.name.clone())
            .chain(
                live.indexes
                    .values()
                    .filter(|i| i.unique && self.desired.indexes.get(&i.name) != Some(i))
                    .map(|i| i.table.clone()),
            )
            .collect();
        let mut fk_dropped: BTreeSet<(QName, String)> = BTreeSet::new();
        for t in live.tables.values() {
            let want = self.desired.tables.get(&t.name);
            for c in t.constraints.values().filter(|c| c.kind == ConstraintKind::ForeignKey) {
                let wanted = want.and_then(|w| w.constraints.get(&c.name));
                let target_rebuilt = c.references.as_ref().is_some_and(|r| rebuilt_keys.contains(r));
                if wanted != Some(c) || target_rebuilt {
                    fk_dropped.insert((t.name.clone(), c.name.clone()));
                    let mut hz = vec![self.lock(&t.name, "and a SHARE ROW EXCLUSIVE lock on the referenced table")];
                    if want.is_some() && wanted.is_none() {
                        hz.push(h(
                            HazardId::BreaksClients,
                            Severity::Info,
                            format!("{}.{} no longer enforces its reference", t.name, c.name),
                        ));
                    }
                    let title = format!("drop foreign key {} on {}", c.name, t.name);
                    let sql = ddl::drop_constraint(&t.name, &c.name);
                    if want.is_none() || wanted.is_some() {
                        // On a dropped table, or re-added below: never omitted.
                        self.push(Phase::DropForeignKey, title, sql, hz);
                    } else {
                        self.destructive(Phase::DropForeignKey, title, sql, hz);
                    }
                }
            }
        }

        for t in live.tables.values() {
            let Some(want) = self.desired.tables.get(&t.name) else {
                let size = self.size(&t.name);
                let sev = if self.is_empty(&t.name) {
                    Severity::Info
                } else {
                    Severity::Danger
                };
                self.destructive(
                    Phase::DropTable,
                    format!("drop table {}", t.name),
                    format!("DROP TABLE {};", t.name.sql()),
                    vec![
                        h(HazardId::DataLoss, sev, format!("drops table {} and all its rows ({size})", t.name)),
                        h(HazardId::BreaksClients, Severity::Warning, format!("clients that read or write {} break", t.name)),
                        self.lock(&t.name, "and on the tables its foreign keys point to"),
                    ],
                );
                continue;
            };
            self.alter_table(t, want, &fk_dropped);
        }

        for t in self.desired.tables.values() {
            if !live.tables.contains_key(&t.name) {
                self.push(
                    Phase::CreateTable,
                    format!("create table {}", t.name),
                    ddl::create_table(t),
                    vec![],
                );
            }
            let have = live.tables.get(&t.name);
            for c in t.constraints.values().filter(|c| c.kind == ConstraintKind::ForeignKey) {
                let existing = have.and_then(|h| h.constraints.get(&c.name));
                if existing == Some(c) && !fk_dropped.contains(&(t.name.clone(), c.name.clone())) {
                    continue;
                }
                let mut hz = Vec::new();
                if !self.new_tables.contains(&t.name) {
                    hz.push(h(
                        HazardId::ScanUnderLock,
                        self.sized(Severity::Warning, &t.name),
                        format!("validates every row of {} ({}) while writes to it and to the referenced table are blocked", t.name, self.size(&t.name)),
                    ));
                    hz.push(h(
                        HazardId::MayFail,
                        Severity::Warning,
                        format!("fails if a row of {} has no matching referenced row", t.name),
                    ));
                }
                self.push(
                    Phase::AddForeignKey,
                    format!("add foreign key {} on {}", c.name, t.name),
                    ddl::add_constraint(&t.name, c),
                    hz,
                );
            }
        }
    }

    fn alter_table(&mut self, have: &Table, want: &Table, _fk_dropped: &BTreeSet<(QName, String)>) {
        let t = &have.name;
        // Constraints other than foreign keys: drop changed/removed, add changed/new.
        for c in have.constraints.values().filter(|c| c.kind != ConstraintKind::ForeignKey) {
            let wanted = want.constraints.get(&c.name);
            if wanted == Some(c) {
                continue;
            }
            let title = format!("drop {} {} on {t}", c.kind.describe(), c.name);
            let hz = vec![self.lock(t, "")];
            // Dropping a constraint whose columns go anyway is part of that drop.
            if wanted.is_some() {
                self.push(Phase::DropConstraint, title, ddl::drop_constraint(t, &c.name), hz);
            } else {
                self.destructive(Phase::DropConstraint, title, ddl::drop_constraint(t, &c.name), hz);
            }
        }
        if have.unlogged != want.unlogged {
            self.push(
                Phase::AlterColumn,
                format!("set {} {t}", if want.unlogged { "unlogged" } else { "logged" }),
                format!("ALTER TABLE {} SET {};", t.sql(), if want.unlogged { "UNLOGGED" } else { "LOGGED" }),
                vec![h(
                    HazardId::Rewrite,
                    self.sized(Severity::Warning, t),
                    format!("rewrites {t} ({}) under ACCESS EXCLUSIVE", self.size(t)),
                )],
            );
        }
        for col in &want.columns {
            match have.column(&col.name) {
                None => self.add_column(t, col),
                Some(old) if old != col => self.alter_column(t, old, col),
                Some(_) => {}
            }
        }
        for col in &have.columns {
            if want.column(&col.name).is_none() {
                self.drop_column(t, col);
            }
        }
        for c in want.constraints.values().filter(|c| c.kind != ConstraintKind::ForeignKey) {
            if have.constraints.get(&c.name) == Some(c) {
                continue;
            }
            let size = self.size(t);
            let hz = match c.kind {
                ConstraintKind::Check => vec![
                    h(HazardId::ScanUnderLock, self.sized(Severity::Warning, t), format!("checks every row of {t} ({size}) while writes are blocked")),
                    h(HazardId::MayFail, Severity::Warning, format!("fails if a row of {t} violates {}", c.definition)),
                ],
                _ => vec![
                    h(HazardId::BlockingIndex, self.sized(Severity::Warning, t), format!("builds the index of {} on {t} ({size}) while writes are blocked", c.name)),
                    h(HazardId::MayFail, Severity::Warning, format!("fails if {t} holds duplicate values for {}", c.columns.join(", "))),
                ],
            };
            self.push(
                Phase::AddConstraint,
                format!("add {} {} on {t}", c.kind.describe(), c.name),
                ddl::add_constraint(t, c),
                hz,
            );
        }
    }

    fn add_column(&mut self, t: &QName, col: &Column) {
        let mut col = col.clone();
        let mut hz = vec![self.lock(t, "briefly")];
        let mut todo = None;
        if col.not_null && col.default.is_none() && col.identity.is_none() && col.generated.is_none() && !self.is_empty(t) {
            if self.opts.additive {
                col.not_null = false;
                todo = Some(format!(
                    "-- TODO: {t}.{} is NOT NULL in the desired schema but has no default; it is added as nullable. Fill it, then run ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;",
                    col.name,
                    t.sql(),
                    quote_ident(&col.name)
                ));
            } else {
                hz.push(h(
                    HazardId::MayFail,
                    Severity::Warning,
                    format!("adds NOT NULL column {t}.{} without a default: fails unless {t} is empty ({})", col.name, self.size(t)),
                ));
            }
        }
        if col.generated.is_some() || col.identity.is_some() {
            hz.push(h(
                HazardId::Rewrite,
                self.sized(Severity::Warning, t),
                format!("fills {t}.{} for every row: rewrites {t} ({}) under ACCESS EXCLUSIVE", col.name, self.size(t)),
            ));
        }
        let mut sql = format!(
            "ALTER TABLE {} ADD COLUMN {}{};",
            t.sql(),
            if self.opts.additive { "IF NOT EXISTS " } else { "" },
            ddl::column_def(&col)
        );
        if let Some(todo) = todo {
            sql = format!("{todo}\n{sql}");
        }
        self.push(Phase::AlterColumn, format!("add column {t}.{}", col.name), sql, hz);
    }

    fn drop_column(&mut self, t: &QName, col: &Column) {
        let sev = if self.is_empty(t) { Severity::Info } else { Severity::Danger };
        self.destructive(
            Phase::AlterColumn,
            format!("drop column {t}.{}", col.name),
            format!("ALTER TABLE {} DROP COLUMN {};", t.sql(), quote_ident(&col.name)),
            vec![
                h(HazardId::DataLoss, sev, format!("drops column {t}.{} and its values ({})", col.name, self.size(t))),
                h(HazardId::BreaksClients, Severity::Warning, format!("clients that read or write {t}.{} break", col.name)),
                self.lock(t, "briefly"),
            ],
        );
    }

    fn alter_column(&mut self, t: &QName, old: &Column, new: &Column) {
        let ts = t.sql();
        let cname = quote_ident(&new.name);
        let full = format!("{t}.{}", new.name);
        if old.generated != new.generated {
            // A generated expression cannot be altered in place (before PG 17).
            if self.opts.additive {
                self.omitted.push(format!("change generated column {full}"));
                return;
            }
            self.drop_column(t, old);
            self.add_column(t, new);
            return;
        }
        let alter = |rest: String| format!("ALTER TABLE {ts} ALTER COLUMN {cname} {rest};");
        if old.identity.is_some() && old.identity != new.identity {
            self.push(Phase::AlterColumn, format!("drop identity of {full}"), alter("DROP IDENTITY".into()), vec![self.lock(t, "briefly")]);
        }
        let type_changes = old.data_type != new.data_type || old.collation != new.collation;
        let default_changes = old.default != new.default;
        if old.default.is_some() && (default_changes || type_changes) {
            let mut hz = vec![self.lock(t, "briefly")];
            if new.default.is_none() && new.not_null {
                hz.push(h(HazardId::BreaksClients, Severity::Warning, format!("inserts into {t} that omit {} now fail", new.name)));
            }
            self.push(Phase::AlterColumn, format!("drop default of {full}"), alter("DROP DEFAULT".into()), hz);
        }
        if type_changes {
            let mut rest = format!("TYPE {}", new.data_type);
            if let Some(c) = &new.collation {
                rest.push_str(&format!(" COLLATE {c}"));
            }
            let coercible = binary_coercible(&old.data_type, &new.data_type) && old.collation == new.collation;
            if old.data_type != new.data_type && !coercible {
                rest.push_str(&format!(" USING {cname}::{}", new.data_type));
            }
            let size = self.size(t);
            let mut hz = Vec::new();
            if coercible {
                hz.push(self.lock(t, "briefly (no rewrite: the change is binary-coercible)"));
            } else {
                hz.push(h(HazardId::Rewrite, self.sized(Severity::Warning, t), format!("rewrites {t} ({size}) and rebuilds its indexes under ACCESS EXCLUSIVE")));
                if !widening(&old.data_type, &new.data_type) {
                    hz.push(h(HazardId::LossyCast, Severity::Danger, format!("casts {full} from {} to {}: values that do not fit make it fail or are changed", old.data_type, new.data_type)));
                }
                hz.push(h(HazardId::BreaksClients, Severity::Warning, format!("clients that expect {full} as {} may break", old.data_type)));
            }
            self.push(Phase::AlterColumn, format!("change type of {full} to {}", new.data_type), alter(rest), hz);
        }
        if let Some(d) = &new.default {
            if default_changes || type_changes {
                self.push(Phase::AlterColumn, format!("set default of {full}"), alter(format!("SET DEFAULT {d}")), vec![self.lock(t, "briefly")]);
            }
        }
        let want_not_null = new.not_null || new.identity.is_some();
        let have_not_null = old.not_null || old.identity.is_some();
        if new.not_null && !old.not_null {
            let size = self.size(t);
            self.push(
                Phase::AlterColumn,
                format!("set not null on {full}"),
                alter("SET NOT NULL".into()),
                vec![
                    h(HazardId::ScanUnderLock, self.sized(Severity::Warning, t), format!("scans every row of {t} ({size}) while writes are blocked")),
                    h(HazardId::MayFail, Severity::Warning, format!("fails if {full} holds NULLs")),
                ],
            );
        }
        if new.identity.is_some() && old.identity != new.identity {
            let kind = new.identity.as_deref().unwrap_or("by default").to_uppercase();
            self.push(Phase::AlterColumn, format!("add identity to {full}"), alter(format!("ADD GENERATED {kind} AS IDENTITY")), vec![self.lock(t, "briefly")]);
        }
        if have_not_null && !want_not_null && old.not_null {
            self.push(Phase::AlterColumn, format!("drop not null on {full}"), alter("DROP NOT NULL".into()), vec![self.lock(t, "briefly")]);
        }
    }

    fn indexes(&mut self) {
        for (name, have) in &self.live.model.indexes {
            let want = self.desired.indexes.get(name);
            if want == Some(have) {
                continue;
            }
            // An index on a dropped table goes with the table.
            if !self.desired.tables.contains_key(&have.table) {
                continue;
            }
            let hz = vec![
                self.lock(&have.table, "briefly"),
                h(HazardId::Ops, Severity::Info, format!("queries that use {name} get slower until it is rebuilt")),
            ];
            let title = format!("drop index {name}");
            let sql = format!("DROP INDEX {};", name.sql());
            if want.is_some() {
                self.push(Phase::DropIndex, title, sql, hz);
            } else {
                self.destructive(Phase::DropIndex, title, sql, hz);
            }
        }
        for (name, want) in &self.desired.indexes {
            if self.live.model.indexes.get(name) == Some(want) {
                continue;
            }
            let mut hz = Vec::new();
            if !self.new_tables.contains(&want.table) {
                hz.push(h(
                    HazardId::BlockingIndex,
                    self.sized(Severity::Warning, &want.table),
                    format!("builds {name} on {} ({}) while writes to it are blocked", want.table, self.size(&want.table)),
                ));
                if want.unique {
                    hz.push(h(HazardId::MayFail, Severity::Warning, format!("fails if {} holds duplicates for {name}", want.table)));
                }
            }
            self.push(Phase::CreateIndex, format!("create index {name}"), ddl::create_index(want), hz);
        }
    }

    fn unmanaged(&mut self) {
        let live = &self.live.model.unmanaged;
        let want = &self.desired.unmanaged;
        let mut differences: BTreeMap<&String, &str> = BTreeMap::new();
        for (k, v) in want {
            match live.get(k) {
                None => {
                    differences.insert(k, "is in the desired schema only");
                }
                Some(lv) if lv != v => {
                    differences.insert(k, "differs between the live and the desired schema");
                }
                _ => {}
            }
        }
        for k in live.keys() {
            if !want.contains_key(k) {
                differences.insert(k, "is in the live database only");
            }
        }
        for (k, how) in differences {
            self.blocker(
                Phase::DropSchema,
                format!("align {k}"),
                format!("{k} {how}, and pgalign does not manage this kind of object yet; align it by hand"),
            );
        }
        let shared = live.keys().filter(|k| want.contains_key(*k)).count();
        if shared > 0 {
            self.notes.push(format!(
                "{shared} object(s) that pgalign does not manage yet exist on both sides (run `pgalign inspect` to list them); changes that depend on them may fail"
            ));
        }
    }
}

/// True when changing `from` to `to` needs no rewrite (binary-coercible).
pub fn binary_coercible(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    let (fb, fa) = split_type(from);
    let (tb, ta) = split_type(to);
    match (fb, tb) {
        ("character varying", "character varying") => match (fa, ta) {
            (Some(_), None) => true,
            (Some(a), Some(b)) => b[0] >= a[0],
            _ => false,
        },
        ("character varying", "text") => true,
        ("numeric", "numeric") => match (fa, ta) {
            (Some(a), None) => !a.is_empty(),
            (Some(a), Some(b)) => {
                let (ap, as_) = (a[0], a.get(1).copied().unwrap_or(0));
                let (bp, bs) = (b[0], b.get(1).copied().unwrap_or(0));
                as_ == bs && bp >= ap
            }
            _ => false,
        },
        ("bit varying", "bit varying") => match (fa, ta) {
            (Some(a), Some(b)) => b[0] >= a[0],
            (Some(_), None) => true,
            _ => false,
        },
        _ => false,
    }
}

/// True when every value of `from` fits `to` unchanged (no lossy cast).
pub fn widening(from: &str, to: &str) -> bool {
    if binary_coercible(from, to) {
        return true;
    }
    const INTS: [&str; 3] = ["smallint", "integer", "bigint"];
    let rank = |t: &str| INTS.iter().position(|i| *i == t);
    if let (Some(a), Some(b)) = (rank(from), rank(to)) {
        return b >= a;
    }
    let (fb, fa) = split_type(from);
    let (tb, ta) = split_type(to);
    match (fb, tb) {
        ("character", "character varying") | ("character", "text") => ta.is_none() || ta.zip(fa).is_some_and(|(b, a)| b[0] >= a[0]),
        ("integer" | "smallint", "numeric") | ("smallint" | "integer", "double precision") => ta.is_none(),
        ("real", "double precision") => true,
        ("timestamp without time zone", "timestamp with time zone") => false,
        ("json", "jsonb") => true,
        _ => INTS.contains(&fb) && (tb == "text" || tb == "character varying" && ta.is_none()),
    }
}

/// `character varying(120)` → (`character varying`, Some([120])).
fn split_type(t: &str) -> (&str, Option<Vec<i64>>) {
    match t.find('(') {
        Some(i) if t.ends_with(')') => {
            let args = t[i + 1..t.len() - 1]
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            (&t[..i], Some(args))
        }
        _ => (t, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_which_type_changes_skip_the_rewrite() {
        assert!(binary_coercible("character varying(50)", "character varying(120)"));
        assert!(binary_coercible("character varying(50)", "text"));
        assert!(binary_coercible("character varying(50)", "character varying"));
        assert!(binary_coercible("numeric(10,2)", "numeric(12,2)"));
        assert!(!binary_coercible("numeric(10,2)", "numeric(12,3)"));
        assert!(!binary_coercible("character varying(120)", "character varying(50)"));
        assert!(!binary_coercible("integer", "bigint"));
        assert!(!binary_coercible("text", "integer"));
    }

    #[test]
    fn knows_which_type_changes_may_lose_values() {
        assert!(widening("integer", "bigint"));
        assert!(widening("character varying(50)", "character varying(120)"));
        assert!(!widening("bigint", "integer"));
        assert!(!widening("text", "integer"));
        assert!(!widening("character varying(120)", "character varying(50)"));
    }
}
