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
pub use grants::not_compared;
pub use notnull::keep_live_names;
pub use online::Strategy;

use super::{Plan, Step};
use crate::catalog::ddl;
use crate::catalog::model::*;
use crate::hazard::context::Outcome;
use crate::hazard::probe::Check;
use crate::hazard::rules::Sizing;
use crate::hazard::size::{self, Class, RowsFrom, TableSize};
use crate::hazard::{Hazard, HazardId, Severity};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
    /// How much of the live data `plan::compute` reads to size the hazards.
    pub measure: Measure,
    /// What it read: the sizes of the tables the hazards name and the probes'
    /// counts. Empty: the catalog statistics of the inspection only.
    pub measured: Arc<Measured>,
    /// Migration ledgers to compare (`pgalign.toml`'s `ledgers`, `--alembic-dir`).
    pub ledgers: crate::ledger::LedgerOptions,
}

/// How much of the live data `plan::compute` reads for the plan's hazards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Measure {
    /// Nothing: the inspection's catalog statistics (`verify`, tests).
    #[default]
    Off,
    /// The one sizing function on the tables the hazards name (`--no-probes`).
    Sizes,
    /// And the data probes: NULLs before SET NOT NULL, duplicates before a
    /// UNIQUE, values in a column to drop, rows using enum values to remove,
    /// rows violating a new CHECK.
    Probes,
}

/// A data probe of a live table the planner would like to see.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Probe {
    pub table: QName,
    pub check: Check,
}

/// Measurements of the live data for the planner (see [`Measure`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub sizes: BTreeMap<QName, TableSize>,
    pub probes: BTreeMap<Probe, Outcome>,
}

/// What a plan's hazards would like measured: the tables whose size decides a
/// severity, and the probes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    pub tables: BTreeSet<QName>,
    pub probes: BTreeSet<Probe>,
}

impl Wanted {
    /// Whether `m` holds everything wanted (probes only when `probes`).
    pub fn met_by(&self, m: &Measured, probes: bool) -> bool {
        self.tables.iter().all(|t| m.sizes.contains_key(t))
            && (!probes || self.probes.iter().all(|p| m.probes.contains_key(p)))
    }
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
    /// Checks of new domains that call routines the plan creates (`types`).
    DomainCheck,
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
    /// What the hazards would like measured (see [`Wanted`]).
    wanted: RefCell<Wanted>,
    /// Tables whose size was described or sized since the last step was
    /// pushed: their figures go with that step's hazards that name them.
    described: RefCell<Vec<QName>>,
}

/// Computes the plan that turns `live` into `desired`.
pub fn diff(live: &Inspected, desired: &Model, opts: &PlanOptions) -> Plan {
    diff_wanting(live, desired, opts).0
}

/// [`diff`], and what its hazards would like measured.
pub fn diff_wanting(live: &Inspected, desired: &Model, opts: &PlanOptions) -> (Plan, Wanted) {
    if opts.scope.is_everything() {
        return diff_models(live, desired, opts, &live.model.owners);
    }
    let owners = &live.model.owners;
    let mut live = live.clone();
    let mut desired = desired.clone();
    opts.scope.apply(&mut live.model);
    opts.scope.apply(&mut desired);
    let (mut plan, wanted) = diff_models(&live, &desired, opts, owners);
    plan.scope = opts.scope.clone();
    (plan, wanted)
}

/// Like [`diff`], for a caller that owns both sides: when the scope only leaves
/// out privileges or owners (the default), they are set aside while planning
/// instead of both models being copied, and put back afterwards.
pub fn diff_in_place(live: &mut Inspected, desired: &mut Model, opts: &PlanOptions) -> Plan {
    diff_in_place_wanting(live, desired, opts).0
}

/// [`diff_in_place`], and what its hazards would like measured.
pub fn diff_in_place_wanting(
    live: &mut Inspected,
    desired: &mut Model,
    opts: &PlanOptions,
) -> (Plan, Wanted) {
    let s = &opts.scope;
    if s.is_everything()
        || !(s.schemas.is_empty() && s.exclude_schemas.is_empty() && s.exclude.is_empty())
    {
        return diff_wanting(live, desired, opts);
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
    let (mut plan, wanted) = diff_models(live, desired, opts, owners);
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
    (plan, wanted)
}

/// The plan between two models already narrowed to the scope. `owners` are
/// the live side's owners whether or not they are compared (what a statement
/// that needs owners to match will meet).
fn diff_models(
    original: &Inspected,
    desired: &Model,
    opts: &PlanOptions,
    owners: &BTreeMap<String, String>,
) -> (Plan, Wanted) {
    // The two fingerprints (a serialisation of each whole model) are computed
    // on their own threads while the steps are planned.
    std::thread::scope(|s| {
        let live = s.spawn(|| original.model.fingerprint());
        let want = s.spawn(|| desired.fingerprint());
        let (mut plan, wanted) = plan_steps(original, desired, opts, owners);
        plan.live_fingerprint = live.join().expect("fingerprinting never panics");
        plan.desired_fingerprint = want.join().expect("fingerprinting never panics");
        (plan, wanted)
    })
}

/// The plan's steps and notes (fingerprints left empty).
fn plan_steps(
    original: &Inspected,
    desired: &Model,
    opts: &PlanOptions,
    owners: &BTreeMap<String, String>,
) -> (Plan, Wanted) {
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
        wanted: RefCell::new(Wanted::default()),
        described: RefCell::new(Vec::new()),
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
    (plan, b.wanted.into_inner())
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

/// The expression of a CHECK constraint's definition, as SQL:
/// `CHECK ((a > 0)) NOT VALID` → `(a > 0)`.
fn check_expression(definition: &str) -> String {
    let mut e = definition.trim();
    e = e.strip_prefix("CHECK ").unwrap_or(e).trim();
    for suffix in [" NOT VALID", " NO INHERIT"] {
        e = e.strip_suffix(suffix).unwrap_or(e).trim();
    }
    e.to_string()
}

/// The key columns of a unique index on plain columns, from its
/// `pg_get_indexdef` text (none for expressions or a predicate, where a
/// duplicate count would not mean the same).
fn plain_key_columns(definition: &str) -> Option<Vec<String>> {
    if definition.contains(" WHERE ") {
        return None;
    }
    let using = definition.find(" USING ")?;
    let rest = &definition[using..];
    let open = rest.find('(')?;
    let close = rest.rfind(')')?;
    let keys = &rest[open + 1..close];
    let mut out = Vec::new();
    for k in keys.split(',') {
        let k = k.trim();
        let name = if let Some(q) = k.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
            if q.contains('"') {
                return None;
            }
            q.to_string()
        } else if !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            k.to_string()
        } else {
            return None;
        };
        out.push(name);
    }
    (!out.is_empty()).then_some(out)
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
        mut hazards: Vec<Hazard>,
        tx: bool,
    ) {
        self.attach_figures(&mut hazards);
        // Increasing along the list (`one_rewrite` folds steps into one).
        let seq = self.steps.last().map_or(0, |(_, seq, _)| seq + 1);
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
            self.described.borrow_mut().clear();
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

    /// The size of `t`: measured when `plan::compute` measured it (the one
    /// sizing function), else the inspection's statistics; empty when the
    /// plan creates it. Asking records the wish to measure it.
    fn size_of(&self, t: &QName) -> Option<TableSize> {
        if self.new_tables.contains(t) {
            return Some(TableSize::empty());
        }
        self.wanted.borrow_mut().tables.insert(t.clone());
        if let Some(s) = self.opts.measured.sizes.get(t) {
            return Some(s.clone());
        }
        self.live.stats.get(t).map(|s| TableSize {
            rows: s.rows,
            from: if s.rows.is_some() {
                RowsFrom::Statistics
            } else {
                RowsFrom::Unknown
            },
            unknown_because: s.rows.is_none().then(|| "never analysed".to_string()),
            bytes: s.bytes,
        })
    }

    fn stats(&self, t: &QName) -> Option<TableStats> {
        self.size_of(t).map(|s| TableStats {
            rows: s.rows,
            bytes: s.bytes,
        })
    }

    fn is_empty(&self, t: &QName) -> bool {
        self.size_of(t).is_some_and(|s| s.is_empty())
    }

    /// Notes that a hazard of the step being built was sized on `t`.
    fn describe_table(&self, t: &QName) {
        if !self.new_tables.contains(t) {
            self.described.borrow_mut().push(t.clone());
        }
    }

    /// How bad losing rows or values of `t` is: nothing to lose in an empty table.
    fn data_loss_severity(&self, t: &QName) -> Severity {
        self.describe_table(t);
        if self.is_empty(t) {
            Severity::Info
        } else {
            Severity::Danger
        }
    }

    /// The hazards of a NOT NULL that is checked by scanning `t` under its lock
    /// (`column` is `schema.table.column`): the NULLs are probed.
    fn not_null_scan_hazards(&self, t: &QName, column: &str) -> Vec<Hazard> {
        let bare = column
            .strip_prefix(&format!("{t}."))
            .unwrap_or(column)
            .to_string();
        vec![
            h(
                HazardId::ScanUnderLock,
                self.sized(Severity::Warning, t),
                format!(
                    "scans every row of {t} ({}) while writes are blocked",
                    self.size(t)
                ),
            ),
            self.probed(
                h(
                    HazardId::MayFail,
                    Severity::Warning,
                    format!("fails if {column} holds NULLs"),
                ),
                t,
                Check::Nulls(bare),
                || format!("{column} holds no NULLs now"),
                || format!("will fail: {column} holds NULLs"),
            ),
        ]
    }

    /// The size class of `t` in words, for a hazard's detail: it changes only
    /// where the severity does (empty, 1 GB or 10M rows), so the plan's body
    /// stays the same while the data changes below a threshold. The figures
    /// go with the hazard (see [`Self::attach_figures`]).
    fn size(&self, t: &QName) -> String {
        self.describe_table(t);
        match self.size_of(t).map(|s| s.class()) {
            Some(Class::Empty) => "empty".into(),
            Some(Class::Big) => "1 GB or 10M rows or more".into(),
            Some(Class::Ordinary) => "under 1 GB and 10M rows".into(),
            Some(Class::Unknown) | None => "size unknown".into(),
        }
    }

    /// Severity of a size-driven hazard on table `t`: info when empty, one level
    /// up at 1 GB or 10M rows.
    fn sized(&self, base: Severity, t: &QName) -> Severity {
        self.describe_table(t);
        size::adjust(base, Sizing::BySize, false, self.size_of(t).as_ref())
    }

    /// "shop.orders: 41 GB, ~310M rows (estimated from statistics)".
    fn figures(&self, t: &QName) -> Option<String> {
        if self.new_tables.contains(t) {
            return None;
        }
        self.size_of(t)
            .map(|s| format!("{t}: {}", size::describe(&s)))
    }

    /// Gives each hazard of the step being pushed the figures of the tables
    /// it was sized on and names (the detail carries only their size class).
    fn attach_figures(&self, hazards: &mut [Hazard]) {
        let mut tables = std::mem::take(&mut *self.described.borrow_mut());
        tables.sort();
        tables.dedup();
        for hz in hazards.iter_mut() {
            let mut figures: Vec<String> = tables
                .iter()
                .filter(|t| hz.detail.contains(&t.to_string()))
                .filter_map(|t| self.figures(t))
                .collect();
            if figures.is_empty() {
                continue;
            }
            figures.extend(hz.figures.take());
            hz.figures = Some(figures.join("; "));
        }
    }

    /// A probe's count, once `plan::compute` ran it; asking records the wish.
    fn probe(&self, t: &QName, check: Check) -> Option<Outcome> {
        if self.new_tables.contains(t) || self.opts.measure != Measure::Probes {
            return None;
        }
        let p = Probe {
            table: t.clone(),
            check,
        };
        let found = self.opts.measured.probes.get(&p).cloned();
        if found.is_none() {
            self.wanted.borrow_mut().probes.insert(p);
        }
        found
    }

    /// A may-fail hazard that a probe decides: nothing found → `info` with
    /// `none`'s words, something → `blocker` with `some`'s; the count goes
    /// to the figures, never into the detail.
    fn probed(
        &self,
        mut hz: Hazard,
        t: &QName,
        check: Check,
        none: impl FnOnce() -> String,
        some: impl FnOnce() -> String,
    ) -> Hazard {
        match self.probe(t, check.clone()) {
            Some(Outcome::Count(0)) => {
                hz.severity = Severity::Info;
                hz.detail = none();
            }
            Some(Outcome::Count(n)) => {
                hz.severity = Severity::Blocker;
                hz.detail = some();
                hz.figures = Some(check.figure(n));
            }
            Some(Outcome::Failed(why)) => hz.figures = Some(check.failed(&why)),
            None => {}
        }
        hz
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
    use super::{check_expression, if_not_exists, plain_key_columns};

    #[test]
    fn probes_read_checks_and_plain_index_keys() {
        assert_eq!(check_expression("CHECK ((a > 0)) NOT VALID"), "((a > 0))");
        assert_eq!(
            plain_key_columns("CREATE UNIQUE INDEX i ON s.t USING btree (a, \"B c\")"),
            Some(vec!["a".into(), "B c".into()])
        );
        assert_eq!(
            plain_key_columns("CREATE UNIQUE INDEX i ON s.t USING btree (lower(a))"),
            None
        );
        assert_eq!(
            plain_key_columns("CREATE UNIQUE INDEX i ON s.t USING btree (a) WHERE (b > 0)"),
            None
        );
    }

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
