//! Compares the live model with the desired one and emits ordered steps.
//!
//! Order is by phase: creates come before the things that need them, drops after
//! the things that depend on them, and foreign keys are added once every table
//! exists (which also breaks cycles of mutual foreign keys). Nothing uses
//! `CASCADE`: every dependent object that must go is dropped by its own step.

mod aggregates;
mod coerce;
mod comments;
mod deps;
mod drop_all;
mod event_triggers;
mod grants;
mod identity;
mod inherit;
mod notnull;
mod objects;
mod online;
mod partitions;
mod ranges;
mod rebuild;
mod renames;
mod replace;
mod settings;
mod tables;
mod types;

pub use coerce::{binary_coercible, widening};
pub use drop_all::{DropAll, Dropped, guard_count};
pub use notnull::keep_live_names;
pub use online::Strategy;

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
    /// What the comparison covers (applied to both sides before comparing).
    pub scope: crate::catalog::Scope,
    /// Online-safe forms (default) or plain ones.
    pub strategy: Strategy,
    /// Renames the desired SQL's hints ask for.
    pub renames: Vec<super::hints::Rename>,
    /// When the plan would drop most of the live tables or schemas.
    pub drop_all: DropAll,
}

/// The order steps run in. Within a phase, steps keep the order they were
/// emitted in (which the emitting code chooses: dependencies first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// The blocker of a plan that would drop most of the live schema.
    Guard,
    Session,
    /// Event triggers dropped or disabled before any DDL of the plan runs.
    DropEventTrigger,
    CreateSchema,
    Rename,
    Untype,
    CreateExtension,
    CreateType,
    /// Identities whose implicit sequence holds the name of a sequence the
    /// plan creates are dropped first (see `identity`).
    ReleaseIdentity,
    CreateSequence,
    DropTrigger,
    DropPolicy,
    DisableRls,
    DropView,
    /// Tables rebuilt for a new partitioning are renamed aside (see `rebuild`).
    RebuildAside,
    RecreateType,
    CreateFunction,
    /// Tables that leave a parent (`DETACH PARTITION`, `NO INHERIT`), before
    /// what they keep from it is dropped or changed (see `partitions`).
    Detach,
    ReleaseIndex,
    DropForeignKey,
    DropIndex,
    DropConstraint,
    DropTable,
    CreateTable,
    AlterColumn,
    AddConstraint,
    /// Rows of rebuilt tables are copied, then their old copies dropped.
    CopyRows,
    DropRebuilt,
    LateFunction,
    CreateView,
    ViewFunction,
    CreateIndex,
    UseIndex,
    /// Partitions' indexes get the names the desired side gives them.
    PartitionIndexName,
    AddForeignKey,
    Validate,
    AfterValidate,
    TableSettings,
    SequenceOwner,
    CreatePolicy,
    EnableRls,
    CreateTrigger,
    Owner,
    Grant,
    Comment,
    Analyze,
    DropFunction,
    DropSequence,
    DropType,
    DropExtension,
    DropSchema,
    /// Event triggers created or enabled once the plan's own DDL has run.
    EventTrigger,
    Unmanaged,
}

struct Builder<'a> {
    live: &'a Inspected,
    desired: &'a Model,
    opts: &'a PlanOptions,
    steps: Vec<(Phase, usize, Step)>,
    notes: Vec<String>,
    omitted: Vec<String>,
    /// Tables (and materialized views) created by this plan: empty, so
    /// size-driven hazards do not apply.
    new_tables: BTreeSet<QName>,
    /// What the plan drops and recreates because something it depends on changes.
    deps: deps::Rebuilds,
    /// Tables rebuilt because their partitioning changes.
    rebuild: rebuild::Rebuilds,
    /// Identity columns `(table, column)` whose identity is dropped before the
    /// sequences are created (its implicit sequence holds a name the plan needs).
    early_identity_drops: BTreeSet<(QName, String)>,
    /// The live side's owners, in scope or not (see [`diff_models`]).
    live_owners: &'a BTreeMap<String, String>,
    /// What tables that leave a parent keep, renamed to the desired names.
    detach_renames: Vec<partitions::Rename>,
}

/// Computes the plan that turns `live` into `desired`.
pub fn diff(live: &Inspected, desired: &Model, opts: &PlanOptions) -> Plan {
    if opts.scope.is_everything() {
        return diff_models(live, desired, opts, &live.model.owners);
    }
    let owners = &live.model.owners;
    let mut live = live.clone();
    let mut desired = desired.clone();
    opts.scope.apply(&mut live.model);
    opts.scope.apply(&mut desired);
    let mut plan = diff_models(&live, &desired, opts, owners);
    plan.scope = opts.scope.clone();
    plan
}

/// Like [`diff`], for a caller that owns both sides: when the scope only leaves
/// out privileges or owners (the default), they are set aside while planning
/// instead of both models being copied, and put back afterwards.
pub fn diff_in_place(live: &mut Inspected, desired: &mut Model, opts: &PlanOptions) -> Plan {
    let s = &opts.scope;
    if s.is_everything()
        || !(s.schemas.is_empty() && s.exclude_schemas.is_empty() && s.exclude.is_empty())
    {
        return diff(live, desired, opts);
    }
    // Scope::apply of such a scope only empties these maps.
    let take = |m: &mut Model| {
        (
            if s.with_privileges {
                Default::default()
            } else {
                std::mem::take(&mut m.privileges)
            },
            if s.with_owners {
                Default::default()
            } else {
                std::mem::take(&mut m.owners)
            },
        )
    };
    let live_saved = take(&mut live.model);
    let desired_saved = take(desired);
    let owners = if s.with_owners {
        &live.model.owners
    } else {
        &live_saved.1
    };
    let mut plan = diff_models(live, desired, opts, owners);
    plan.scope = opts.scope.clone();
    let restore = |m: &mut Model, (privileges, owners)| {
        if !s.with_privileges {
            m.privileges = privileges;
        }
        if !s.with_owners {
            m.owners = owners;
        }
    };
    restore(&mut live.model, live_saved);
    restore(desired, desired_saved);
    plan
}

/// The plan between two models already narrowed to the scope. `owners` are
/// the live side's owners whether or not they are compared (what a statement
/// that needs owners to match will meet).
fn diff_models(
    original: &Inspected,
    desired: &Model,
    opts: &PlanOptions,
    owners: &BTreeMap<String, String>,
) -> Plan {
    // The two fingerprints (a serialisation of each whole model) are computed
    // on their own threads while the steps are planned.
    std::thread::scope(|s| {
        let live = s.spawn(|| original.model.fingerprint());
        let want = s.spawn(|| desired.fingerprint());
        let mut plan = plan_steps(original, desired, opts, owners);
        plan.live_fingerprint = live.join().expect("fingerprinting never panics");
        plan.desired_fingerprint = want.join().expect("fingerprinting never panics");
        plan
    })
}

/// The plan's steps and notes (fingerprints left empty).
fn plan_steps(
    original: &Inspected,
    desired: &Model,
    opts: &PlanOptions,
    owners: &BTreeMap<String, String>,
) -> Plan {
    // Without rename hints the live side is read as it is (no copy of it).
    let renamed;
    let (live, rename_steps, rename_notes) = if opts.renames.is_empty() {
        (original, Vec::new(), Vec::new())
    } else {
        let (r, steps, notes) = renames::apply(original, desired, &opts.renames);
        renamed = r;
        (&renamed, steps, notes)
    };
    // Before PostgreSQL 18, NOT NULL constraints are plain.
    let plain;
    let mut server_notes = Vec::new();
    let desired = match notnull::for_server(live, desired) {
        Some((m, note)) => {
            plain = m;
            server_notes.push(note);
            &plain
        }
        None => desired,
    };
    let dropped = drop_all::Dropped::between(&live.model, desired);
    let possible_renames = renames::possible_renames(&live.model, desired);
    // Tables whose partitioning changes are rebuilt: the rest of the plan sees
    // their live copies under the names they are moved aside to.
    let aside;
    let (moved, rebuild) = rebuild::prepare(live, desired, opts);
    let live = match moved {
        Some(moved) => {
            aside = moved;
            &aside
        }
        None => live,
    };
    // Tables that leave a parent: the rest of the plan sees what they keep.
    let detached;
    let (live, detach_renames) = match partitions::prepare(live, desired) {
        Some((view, renames)) => {
            detached = view;
            (&detached, renames)
        }
        None => (live, Vec::new()),
    };
    let deps = deps::Rebuilds::compute(&live.model, desired);
    let mut new_tables: BTreeSet<QName> = desired
        .tables
        .keys()
        .filter(|k| !live.model.tables.contains_key(*k))
        .cloned()
        .collect();
    new_tables.extend(
        desired
            .views
            .keys()
            .filter(|k| !live.model.views.contains_key(*k) || deps.views.contains(*k))
            .cloned(),
    );
    let mut b = Builder {
        live,
        desired,
        opts,
        steps: Vec::new(),
        notes: Vec::new(),
        omitted: Vec::new(),
        new_tables,
        deps,
        rebuild,
        early_identity_drops: BTreeSet::new(),
        live_owners: owners,
        detach_renames,
    };
    for (title, sql) in rename_steps {
        let hz = vec![h(
            HazardId::BreaksClients,
            Severity::Warning,
            format!("clients that use the old name break: {title}"),
        )];
        b.push(Phase::Rename, title, sql, hz);
    }
    b.notes.extend(rename_notes);
    b.notes.extend(server_notes);
    b.notes.extend(possible_renames);
    b.schemas();
    b.extensions();
    b.collations();
    b.enums();
    b.ranges(ranges::Pass::BeforeTypes);
    b.domains();
    b.composites();
    b.ranges(ranges::Pass::AfterTypes);
    b.replace_types();
    b.release_identities();
    b.sequences();
    b.views();
    b.rebuilds();
    b.functions();
    b.aggregates();
    b.tables();
    b.indexes();
    b.partition_index_names();
    b.table_settings();
    b.policies();
    b.triggers();
    b.rules();
    b.statistics();
    b.owners();
    b.privileges();
    b.default_privileges();
    b.comments();
    b.range_comments();
    b.drop_ranges(ranges::Pass::BeforeTypes);
    b.drop_types();
    b.drop_ranges(ranges::Pass::AfterTypes);
    b.event_triggers();
    b.unmanaged();
    b.drop_all(&dropped);
    if b.steps.iter().any(|(p, _, _)| {
        matches!(
            p,
            Phase::CreateFunction | Phase::LateFunction | Phase::ViewFunction
        )
    }) {
        b.push(
            Phase::Session,
            "skip function-body checks while objects are created in dependency order".into(),
            "SET check_function_bodies = off;".into(),
            vec![],
        );
    }
    if opts.additive && !b.omitted.is_empty() {
        b.notes.push(format!(
            "additive mode: {} destructive change(s) omitted:",
            b.omitted.len()
        ));
        let omitted = std::mem::take(&mut b.omitted);
        b.notes
            .extend(omitted.into_iter().map(|o| format!("  omitted: {o}")));
    }
    if opts.additive {
        for (_, _, step) in &mut b.steps {
            step.sql = if_not_exists(&step.sql);
        }
    }
    b.steps.sort_by_key(|(phase, seq, _)| (*phase, *seq));
    // Validation runs in transactions of its own, after the constraints added
    // NOT VALID (and the locks they took) are committed; so do the steps that
    // rely on a validated constraint (SET NOT NULL over a validated check).
    let breaks: Vec<usize> = (1..b.steps.len())
        .filter(|&i| {
            let (phase, prev) = (b.steps[i].0, b.steps[i - 1].0);
            phase != prev && matches!(phase, Phase::Validate | Phase::AfterValidate)
        })
        .collect();
    let mut plan = Plan {
        live_fingerprint: String::new(),
        desired_fingerprint: String::new(),
        steps: b.steps.into_iter().map(|(_, _, s)| s).collect(),
        notes: b.notes,
        scope: Default::default(),
    };
    plan.renumber_with_breaks(&breaks);
    plan
}

/// Adds `IF NOT EXISTS` to the `CREATE` statements that have it, so an additive
/// plan can be run again safely.
fn if_not_exists(sql: &str) -> String {
    const HEADS: [&str; 8] = [
        "CREATE SCHEMA ",
        "CREATE TABLE ",
        "CREATE UNLOGGED TABLE ",
        "CREATE SEQUENCE ",
        "CREATE INDEX CONCURRENTLY ",
        "CREATE UNIQUE INDEX CONCURRENTLY ",
        "CREATE INDEX ",
        "CREATE UNIQUE INDEX ",
    ];
    for head in HEADS {
        if let Some(rest) = sql.strip_prefix(head)
            && !rest.starts_with("IF NOT EXISTS")
            && !rest.starts_with("CONCURRENTLY")
        {
            return format!("{head}IF NOT EXISTS {rest}");
        }
    }
    sql.to_string()
}

fn h(id: HazardId, severity: Severity, detail: impl Into<String>) -> Hazard {
    Hazard::new(id, severity, detail)
}

impl Builder<'_> {
    pub(super) fn push(&mut self, phase: Phase, title: String, sql: String, hazards: Vec<Hazard>) {
        self.push_tx(phase, title, sql, hazards, true);
    }

    fn push_tx(
        &mut self,
        phase: Phase,
        title: String,
        sql: String,
        hazards: Vec<Hazard>,
        tx: bool,
    ) {
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

    /// How bad losing rows or values of `t` is: nothing to lose in an empty table.
    fn data_loss_severity(&self, t: &QName) -> Severity {
        if self.is_empty(t) {
            Severity::Info
        } else {
            Severity::Danger
        }
    }

    /// The hazards of a NOT NULL that is checked by scanning `t` under its lock.
    fn not_null_scan_hazards(&self, t: &QName, column: &str) -> Vec<Hazard> {
        vec![
            h(
                HazardId::ScanUnderLock,
                self.sized(Severity::Warning, t),
                format!(
                    "scans every row of {t} ({}) while writes are blocked",
                    self.size(t)
                ),
            ),
            h(
                HazardId::MayFail,
                Severity::Warning,
                format!("fails if {column} holds NULLs"),
            ),
        ]
    }

    /// `41.0 GB, ~310M rows` for a live table, or `empty`.
    fn size(&self, t: &QName) -> String {
        match self.stats(t) {
            Some(s) if s.rows.is_some_and(|r| r <= 0.0) => "empty".into(),
            Some(TableStats {
                rows: Some(rows),
                bytes,
            }) => {
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
            format!(
                "takes an ACCESS EXCLUSIVE lock on {t} ({}) {what}",
                self.size(t)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::if_not_exists;

    #[test]
    fn additive_creates_can_run_twice() {
        assert_eq!(
            if_not_exists("CREATE TABLE a.b (x int);"),
            "CREATE TABLE IF NOT EXISTS a.b (x int);"
        );
        assert_eq!(
            if_not_exists("CREATE INDEX CONCURRENTLY i ON t (a);"),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);"
        );
        assert_eq!(
            if_not_exists("CREATE UNIQUE INDEX i ON t (a);"),
            "CREATE UNIQUE INDEX IF NOT EXISTS i ON t (a);"
        );
        assert_eq!(
            if_not_exists("ALTER TABLE t ADD COLUMN x int;"),
            "ALTER TABLE t ADD COLUMN x int;"
        );
    }
}
