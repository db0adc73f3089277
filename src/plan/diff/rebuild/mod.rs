//! Rebuilding a table whose partitioning changes: ordinary ↔ partitioned, or a
//! new partition key or strategy. PostgreSQL cannot convert a table in place,
//! so the plan, inside one transaction:
//!
//! 1. renames the live table aside (`<name>__pgalign_old`), and with it those
//!    of its partitions and inheritance children whose names the desired
//!    schema uses again, and the indexes, constraints and statistics whose
//!    names it uses again; detaches it from its own parents;
//! 2. creates the desired table as a new one through the ordinary planner,
//!    with its partitions, constraints, indexes, triggers, policies, grants and
//!    comments, and drops and recreates what PostgreSQL binds to the old table
//!    by OID (views, foreign keys of other tables, functions over its row type,
//!    rules) through the dependency fixpoint of `deps`;
//! 3. copies the rows (`INSERT … SELECT`), continues identity columns after
//!    the copied values, and hands the sequences the old columns own to their
//!    desired owners (so they survive, with their current values);
//! 4. drops the old table, with the partitions and children that went with it.
//!
//! [`prepare`] gives the planner the live model as it is after step 1, so the
//! rest of the plan is planned by the ordinary machinery. Nothing uses CASCADE.

mod aside;
mod scan;
mod steps;

use super::*;
use aside::Moves;
use scan::*;

/// The suffix of the names live objects are moved aside to.
const ASIDE: &str = "__pgalign_old";

/// The tables a plan rebuilds.
#[derive(Debug, Default)]
pub struct Rebuilds {
    pub tables: Vec<Rebuild>,
    /// Live tables (by the names the rest of the plan sees) that the old
    /// copies take with them: the planner does not drop them on its own.
    pub goes: BTreeSet<QName>,
    /// Live functions over the row type of a rebuilt table that the desired
    /// schema does not have: dropped before the rename (their identity names
    /// the type), and left out of the model the planner sees.
    pub functions: Vec<(String, Function)>,
    /// Tables whose partitioning changes that are not rebuilt, and why.
    pub refused: BTreeMap<QName, String>,
}

/// One rebuilt table.
#[derive(Debug, Clone)]
pub struct Rebuild {
    pub table: QName,
    /// The name the live table is renamed to.
    pub aside: QName,
    /// What it was and becomes, in words.
    pub change: String,
    /// Statements that move the live objects aside.
    moves: Vec<Move>,
    copies: Vec<Copy>,
    /// Sequences owned by columns of the old tables, and the desired owner.
    sequences: Vec<(QName, Option<(QName, String)>)>,
    /// Identity columns of the new tables (table, column, old table).
    identities: Vec<(QName, String, QName)>,
    /// What is dropped at the end, the old table last.
    drops: Vec<QName>,
    /// Old partitions or children that the desired schema does not have.
    extra: Vec<QName>,
}

/// A statement that moves a live object aside: title, SQL, and another
/// table it locks.
type Move = (String, String, Option<QName>);

/// One `INSERT … SELECT` of a rebuild.
#[derive(Debug, Clone)]
struct Copy {
    into: QName,
    from: QName,
    /// `FROM ONLY`: the source's own rows, not its children's.
    only: bool,
    /// Kept columns: (old, new).
    columns: Vec<(Column, Column)>,
    /// Old columns whose values are not carried over.
    dropped: Vec<String>,
}

impl Rebuilds {
    pub fn any(&self) -> bool {
        !self.tables.is_empty()
    }
}

/// `partitioned by RANGE (d)` or `an ordinary table`.
pub fn describe(key: Option<&str>) -> String {
    key.map_or("an ordinary table".to_string(), |k| {
        format!("partitioned by {k}")
    })
}

/// Plans the rebuilds `desired` needs of `live`, and returns the live model as
/// the rest of the plan must see it (the old tables moved aside), or `None`
/// when no table is rebuilt. In additive mode nothing is rebuilt (the change
/// stays a blocker).
pub fn prepare(
    live: &Inspected,
    desired: &Model,
    opts: &PlanOptions,
) -> (Option<Inspected>, Rebuilds) {
    let m = &live.model;
    let changed: Vec<&Table> = parents_first(m.tables.values(), &m.tables)
        .into_iter()
        .filter(|t| {
            desired
                .tables
                .get(&t.name)
                .is_some_and(|w| w.partition_key != t.partition_key)
        })
        .collect();
    if changed.is_empty() || opts.additive {
        return (None, Rebuilds::default());
    }
    let children = children_of(&m.tables);
    let names = desired_relations(desired);
    let mut r = Rebuilds::default();
    let mut mv = Moves::default();
    let mut covered: BTreeSet<QName> = BTreeSet::new();
    for t in changed {
        let root = &t.name;
        if covered.contains(root) {
            continue;
        }
        let members = members_of(root, &children, desired);
        let set: Vec<QName> = std::iter::once(root.clone())
            .chain(members.iter().cloned())
            .collect();
        if let Some(why) = refusal(m, desired, &set) {
            r.refused.insert(root.clone(), why);
            continue;
        }
        let want = &desired.tables[root];
        let change = format!(
            "{} → {}",
            describe(t.partition_key.as_deref()),
            describe(want.partition_key.as_deref())
        );
        let aside = aside_name(root);
        let mut moves = mv.table(t, &aside, &change);
        let mut extra = Vec::new();
        for c in &members {
            if desired.tables.contains_key(c) {
                moves.push(mv.member(root, c));
            } else {
                extra.push(c.clone());
            }
        }
        for q in &set {
            moves.extend(mv.names(m, desired, &names, root, q));
        }
        let sequences = mv.sequences(m, desired, &set);
        r.functions.extend(
            m.functions
                .iter()
                .filter(|(key, f)| uses_row_type(f, &set) && !desired.functions.contains_key(*key))
                .map(|(key, f)| (key.clone(), f.clone())),
        );
        let partitioned = want.partition_key.is_some();
        let copies = copies(m, desired, root, &set, &mv.renamed, partitioned);
        let identities = identities(&copies, &mv.renamed);
        let mut drops: Vec<QName> = members
            .iter()
            .rev()
            .map(|c| mv.renamed.get(c).unwrap_or(c).clone())
            .collect();
        drops.push(aside.clone());
        r.goes.extend(drops.iter().cloned());
        covered.extend(set.iter().cloned());
        r.tables.push(Rebuild {
            table: root.clone(),
            aside,
            change,
            moves,
            copies,
            sequences,
            identities,
            drops,
            extra,
        });
    }
    if r.tables.is_empty() {
        return (None, r);
    }
    let mut out = live.clone();
    aside::move_aside(&mut out, &mv, &r.functions);
    (Some(out), r)
}
