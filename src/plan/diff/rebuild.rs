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

use super::*;

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
    /// Statements that move the live objects aside: (title, SQL, another
    /// table they lock).
    moves: Vec<(String, String, Option<QName>)>,
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

/// Direct children (partitions and inheritance children) of each table.
fn children_of(tables: &BTreeMap<QName, Table>) -> BTreeMap<&QName, Vec<&QName>> {
    let mut out: BTreeMap<&QName, Vec<&QName>> = BTreeMap::new();
    for t in tables.values() {
        for p in t.parents() {
            out.entry(p).or_default().push(&t.name);
        }
    }
    out
}

/// True when `t` hangs (directly or not) from `root` in `tables`.
fn under(tables: &BTreeMap<QName, Table>, t: &QName, root: &QName) -> bool {
    let mut todo: Vec<&QName> = tables
        .get(t)
        .map(|t| t.parents().collect())
        .unwrap_or_default();
    let mut guard = 0;
    while let Some(p) = todo.pop() {
        guard += 1;
        if p == root {
            return true;
        }
        if guard > 256 {
            break;
        }
        if let Some(pt) = tables.get(p) {
            todo.extend(pt.parents());
        }
    }
    false
}

/// Every column of `t`: its ancestors' and its own, by name.
fn full_columns(tables: &BTreeMap<QName, Table>, t: &QName) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::new();
    let mut todo = vec![t];
    let mut guard = 0;
    while let Some(q) = todo.pop() {
        guard += 1;
        if guard > 256 {
            break;
        }
        if let Some(tt) = tables.get(q) {
            for c in &tt.columns {
                if !out.iter().any(|o| o.name == c.name) {
                    out.push(c.clone());
                }
            }
            todo.extend(tt.parents());
        }
    }
    out
}

/// Names in the relation namespace the desired schema uses (tables, views,
/// sequences, indexes, and the indexes of its keys).
fn desired_relations(d: &Model) -> BTreeSet<QName> {
    let mut out: BTreeSet<QName> = BTreeSet::new();
    out.extend(d.tables.keys().cloned());
    out.extend(d.views.keys().cloned());
    out.extend(d.sequences.keys().cloned());
    out.extend(d.indexes.keys().cloned());
    for t in d.tables.values() {
        for c in t.constraints.values().filter(|c| {
            matches!(
                c.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
            )
        }) {
            out.insert(QName::new(t.name.schema.clone(), c.name.clone()));
        }
    }
    out
}

fn aside_name(q: &QName) -> QName {
    QName::new(q.schema.clone(), online::temp_name(&q.name, ASIDE))
}

/// Why the tables of `set` cannot be rebuilt, if they cannot.
fn refusal(m: &Model, d: &Model, set: &[QName]) -> Option<String> {
    for q in set {
        let aside = aside_name(q);
        if m.tables.contains_key(&aside) || d.tables.contains_key(&aside) {
            return Some(format!(
                "a table named {aside} already exists, and the rebuild of {q} needs that name"
            ));
        }
        let ty = q.sql();
        let uses = |t: &str| t.trim_end_matches("[]") == ty;
        for t in m.tables.values() {
            if let Some(c) = t.columns.iter().find(|c| uses(&c.data_type)) {
                return Some(format!(
                    "column {}.{} has the row type of {q} as its type, and a rebuild would have to convert its values",
                    t.name, c.name
                ));
            }
        }
        if let Some(c) = m
            .composites
            .values()
            .find(|c| c.attributes.iter().any(|(_, t, _)| uses(t)))
        {
            return Some(format!("type {} uses the row type of {q}", c.name));
        }
        if let Some(dm) = m.domains.values().find(|dm| uses(&dm.base_type)) {
            return Some(format!("domain {} is over the row type of {q}", dm.name));
        }
    }
    None
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
    let mut renamed: BTreeMap<QName, QName> = BTreeMap::new();
    let mut covered: BTreeSet<QName> = BTreeSet::new();
    let mut index_renames: BTreeMap<QName, QName> = BTreeMap::new();
    let mut constraint_renames: Vec<(QName, String, String)> = Vec::new();
    let mut statistics_renames: BTreeMap<QName, QName> = BTreeMap::new();
    let mut owners: BTreeMap<QName, Option<(QName, String)>> = BTreeMap::new();
    let mut detached: BTreeSet<QName> = BTreeSet::new();
    for t in changed {
        let root = &t.name;
        if covered.contains(root) {
            continue;
        }
        // The live partitions and children that go with it: all but those the
        // desired schema keeps outside it (the plan detaches those first).
        let mut members: Vec<QName> = Vec::new();
        let mut todo: Vec<&QName> = children.get(root).cloned().unwrap_or_default();
        while let Some(c) = todo.pop() {
            if members.len() > 100_000 {
                break;
            }
            if desired.tables.contains_key(c) && !under(&desired.tables, c, root) {
                continue;
            }
            members.push(c.clone());
            todo.extend(children.get(c).cloned().unwrap_or_default());
        }
        let set: Vec<QName> = std::iter::once(root.clone())
            .chain(members.iter().cloned())
            .collect();
        if let Some(why) = refusal(m, desired, &set) {
            r.refused.insert(root.clone(), why);
            continue;
        }
        let want = &desired.tables[root];
        let aside = aside_name(root);
        let change = format!(
            "{} → {}",
            describe(t.partition_key.as_deref()),
            describe(want.partition_key.as_deref())
        );
        let mut moves = vec![(
            format!(
                "rebuild {root} ({change}): rename the live table to {}",
                aside.name
            ),
            format!(
                "ALTER TABLE {} RENAME TO {};",
                root.sql(),
                quote_ident(&aside.name)
            ),
            None,
        )];
        if let Some((parent, _)) = &t.partition_of {
            let parent = renamed.get(parent).unwrap_or(parent);
            moves.push((
                format!("rebuild {root}: detach the old table from {parent}"),
                format!(
                    "ALTER TABLE {} DETACH PARTITION {};",
                    parent.sql(),
                    aside.sql()
                ),
                Some(parent.clone()),
            ));
        }
        for parent in &t.inherits {
            let parent = renamed.get(parent).unwrap_or(parent);
            moves.push((
                format!("rebuild {root}: the old table stops inheriting from {parent}"),
                format!("ALTER TABLE {} NO INHERIT {};", aside.sql(), parent.sql()),
                Some(parent.clone()),
            ));
        }
        detached.insert(root.clone());
        renamed.insert(root.clone(), aside.clone());
        let mut extra = Vec::new();
        for c in &members {
            if desired.tables.contains_key(c) {
                let to = aside_name(c);
                moves.push((
                    format!(
                        "rebuild {root}: rename its old partition or child {c} to {}",
                        to.name
                    ),
                    format!(
                        "ALTER TABLE {} RENAME TO {};",
                        c.sql(),
                        quote_ident(&to.name)
                    ),
                    None,
                ));
                renamed.insert(c.clone(), to);
            } else {
                extra.push(c.clone());
            }
        }
        // Indexes, key constraints and statistics whose names the desired
        // schema uses again.
        for q in &set {
            let now = renamed.get(q).unwrap_or(q);
            for c in m.tables[q].constraints.values().filter(|c| {
                matches!(
                    c.kind,
                    ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
                )
            }) {
                if !names.contains(&QName::new(q.schema.clone(), c.name.clone())) {
                    continue;
                }
                let to = online::temp_name(&c.name, ASIDE);
                moves.push((
                    format!(
                        "rebuild {root}: rename the old {} {} (and its index) to {to}",
                        c.kind.describe(),
                        c.name
                    ),
                    format!(
                        "ALTER TABLE {} RENAME CONSTRAINT {} TO {};",
                        now.sql(),
                        quote_ident(&c.name),
                        quote_ident(&to)
                    ),
                    None,
                ));
                constraint_renames.push((now.clone(), c.name.clone(), to));
            }
            for (name, _) in m.indexes.iter().filter(|(_, i)| &i.table == q) {
                if !names.contains(name) {
                    continue;
                }
                let to = aside_name(name);
                moves.push((
                    format!("rebuild {root}: rename the old index {name} to {}", to.name),
                    format!(
                        "ALTER INDEX {} RENAME TO {};",
                        name.sql(),
                        quote_ident(&to.name)
                    ),
                    None,
                ));
                index_renames.insert(name.clone(), to);
            }
            for (name, _) in m.statistics.iter().filter(|(_, s)| &s.table == q) {
                if !desired.statistics.contains_key(name) {
                    continue;
                }
                let to = aside_name(name);
                moves.push((
                    format!(
                        "rebuild {root}: rename the old statistics {name} to {}",
                        to.name
                    ),
                    format!(
                        "ALTER STATISTICS {} RENAME TO {};",
                        name.sql(),
                        quote_ident(&to.name)
                    ),
                    None,
                ));
                statistics_renames.insert(name.clone(), to);
            }
        }
        let mut sequences = Vec::new();
        for (name, s) in &m.sequences {
            if s.owned_by.as_ref().is_some_and(|(o, _)| set.contains(o)) {
                let owner = desired.sequences.get(name).and_then(|w| w.owned_by.clone());
                owners.insert(name.clone(), owner.clone());
                sequences.push((name.clone(), owner));
            }
        }
        for (key, f) in &m.functions {
            let uses = f.depends_on.iter().any(|d| match d {
                Dep::Relation { name } | Dep::Type { name } | Dep::Column { table: name, .. } => {
                    set.contains(name)
                }
                Dep::Function { .. } => false,
            });
            if uses && !desired.functions.contains_key(key) {
                r.functions.push((key.clone(), f.clone()));
            }
        }
        let copies = copies(
            m,
            desired,
            root,
            &set,
            &renamed,
            want.partition_key.is_some(),
        );
        // Each identity column of a new table continues after its old
        // counterpart's sequence (or the copied values), once.
        let mut identities: Vec<(QName, String, QName)> = Vec::new();
        for c in &copies {
            let from = renamed.get(&c.into).unwrap_or(&c.from);
            for (_, new) in c.columns.iter().filter(|(_, n)| n.identity.is_some()) {
                if !identities
                    .iter()
                    .any(|(t, col, _)| t == &c.into && col == &new.name)
                {
                    identities.push((c.into.clone(), new.name.clone(), from.clone()));
                }
            }
        }
        let mut drops: Vec<QName> = members
            .iter()
            .rev()
            .map(|c| renamed.get(c).unwrap_or(c).clone())
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
    move_aside(
        &mut out,
        &Moves {
            renamed: &renamed,
            detached: &detached,
            indexes: &index_renames,
            constraints: &constraint_renames,
            statistics: &statistics_renames,
            owners: &owners,
            functions: &r.functions,
        },
    );
    (Some(out), r)
}

/// The copies that move the rows of the old tables of `set` into the new ones.
fn copies(
    m: &Model,
    desired: &Model,
    root: &QName,
    set: &[QName],
    renamed: &BTreeMap<QName, QName>,
    partitioned: bool,
) -> Vec<Copy> {
    let pair = |into: &QName, from: &QName| -> (Vec<(Column, Column)>, Vec<String>) {
        let old = full_columns(&m.tables, from);
        let new = full_columns(&desired.tables, into);
        let kept = new
            .iter()
            .filter(|c| c.generated.is_none())
            .filter_map(|c| {
                old.iter()
                    .find(|o| o.name == c.name)
                    .map(|o| (o.clone(), c.clone()))
            })
            .collect();
        let dropped = old
            .iter()
            .filter(|o| o.generated.is_none() && !new.iter().any(|c| c.name == o.name))
            .map(|o| o.name.clone())
            .collect();
        (kept, dropped)
    };
    // Where the rows of each old table that holds rows go: the nearest of it
    // and its old ancestors that the desired schema keeps in the rebuild.
    let dest = |q: &QName| -> QName {
        let mut cur = q.clone();
        for _ in 0..256 {
            if &cur == root || desired.tables.contains_key(&cur) {
                return cur;
            }
            match m.tables.get(&cur).and_then(|t| t.parents().next()) {
                Some(p) if set.contains(p) => cur = p.clone(),
                _ => break,
            }
        }
        root.clone()
    };
    let holders: Vec<&QName> = set
        .iter()
        .filter(|q| m.tables[*q].partition_key.is_none())
        .collect();
    let name = |q: &QName| renamed.get(q).unwrap_or(q).clone();
    // Into a partitioned table, or when every row goes to the table itself:
    // one copy of everything the old table holds (its partitions' and
    // children's rows included); the new partitions sort the rows out.
    if partitioned || holders.iter().all(|q| &dest(q) == root) {
        let (columns, dropped) = pair(root, root);
        return vec![Copy {
            into: root.clone(),
            from: name(root),
            only: false,
            columns,
            dropped,
        }];
    }
    holders
        .into_iter()
        .map(|q| {
            let into = dest(q);
            let (columns, dropped) = pair(&into, q);
            Copy {
                into,
                from: name(q),
                only: true,
                columns,
                dropped,
            }
        })
        .collect()
}

/// What [`move_aside`] applies to the live model.
struct Moves<'a> {
    renamed: &'a BTreeMap<QName, QName>,
    /// Rebuilt tables (original names), detached from their parents.
    detached: &'a BTreeSet<QName>,
    indexes: &'a BTreeMap<QName, QName>,
    /// (table as renamed, old name, new name).
    constraints: &'a [(QName, String, String)],
    statistics: &'a BTreeMap<QName, QName>,
    /// Sequences and the owner they are given by the rebuild.
    owners: &'a BTreeMap<QName, Option<(QName, String)>>,
    functions: &'a [(String, Function)],
}

/// The live model as it is once the moves of the rebuilds have run.
fn move_aside(out: &mut Inspected, mv: &Moves) {
    let swap = |q: &mut QName| {
        if let Some(to) = mv.renamed.get(q) {
            *q = to.clone();
        }
    };
    for (from, to) in mv.renamed {
        if let Some(s) = out.stats.remove(from) {
            out.stats.insert(to.clone(), s);
        }
    }
    let m = &mut out.model;
    for (from, to) in mv.renamed {
        if let Some(mut t) = m.tables.remove(from) {
            t.name = to.clone();
            if mv.detached.contains(from) {
                t.partition_of = None;
                t.inherits.clear();
            }
            m.tables.insert(to.clone(), t);
        }
    }
    for t in m.tables.values_mut() {
        if let Some((p, _)) = &mut t.partition_of {
            swap(p);
        }
        t.inherits.iter_mut().for_each(swap);
        for c in t.constraints.values_mut() {
            if let Some(r) = &mut c.references
                && let Some(to) = mv.renamed.get(r)
            {
                c.definition = c.definition.replace(
                    &format!("REFERENCES {}(", r.sql()),
                    &format!("REFERENCES {}(", to.sql()),
                );
                *r = to.clone();
            }
        }
    }
    for (table, from, to) in mv.constraints {
        if let Some(t) = m.tables.get_mut(table)
            && let Some(mut c) = t.constraints.remove(from)
        {
            c.name = to.clone();
            t.constraints.insert(to.clone(), c);
        }
    }
    let indexes = std::mem::take(&mut m.indexes);
    for (name, mut i) in indexes {
        if let Some(to) = mv.renamed.get(&i.table) {
            i.definition = i
                .definition
                .replace(
                    &format!(" ON {} ", i.table.sql()),
                    &format!(" ON {} ", to.sql()),
                )
                .replace(
                    &format!(" ON ONLY {} ", i.table.sql()),
                    &format!(" ON ONLY {} ", to.sql()),
                );
            i.table = to.clone();
        }
        let name = mv.indexes.get(&name).cloned().unwrap_or(name);
        i.name = name.clone();
        m.indexes.insert(name, i);
    }
    let statistics = std::mem::take(&mut m.statistics);
    for (name, mut s) in statistics {
        swap(&mut s.table);
        let name = mv.statistics.get(&name).cloned().unwrap_or(name);
        s.name = name.clone();
        m.statistics.insert(name, s);
    }
    for (name, owner) in mv.owners {
        if let Some(s) = m.sequences.get_mut(name) {
            s.owned_by = owner.clone();
        }
    }
    let triggers = std::mem::take(&mut m.triggers);
    m.triggers = triggers
        .into_values()
        .map(|mut t| {
            swap(&mut t.table);
            (member_key(&t.table, &t.name), t)
        })
        .collect();
    let policies = std::mem::take(&mut m.policies);
    m.policies = policies
        .into_values()
        .map(|mut p| {
            swap(&mut p.table);
            (member_key(&p.table, &p.name), p)
        })
        .collect();
    let rules = std::mem::take(&mut m.rules);
    m.rules = rules
        .into_values()
        .map(|mut r| {
            swap(&mut r.table);
            r.depends_on
                .iter_mut()
                .for_each(|d| swap_dep(d, mv.renamed));
            (member_key(&r.table, &r.name), r)
        })
        .collect();
    for v in m.views.values_mut() {
        v.depends_on
            .iter_mut()
            .for_each(|d| swap_dep(d, mv.renamed));
    }
    for (key, _) in mv.functions {
        m.functions.remove(key);
    }
    for f in m.functions.values_mut() {
        f.depends_on
            .iter_mut()
            .for_each(|d| swap_dep(d, mv.renamed));
    }
    for (from, to) in mv.renamed {
        let (f, t) = (from.sql(), to.sql());
        if let Some(o) = m.owners.remove(&format!("TABLE {f}")) {
            m.owners.insert(format!("TABLE {t}"), o);
        }
        let keys: Vec<String> = m
            .privileges
            .keys()
            .filter(|k| *k == &format!("TABLE {f}") || k.starts_with(&format!("COLUMN {f}.")))
            .cloned()
            .collect();
        for k in keys {
            let v = m.privileges.remove(&k).expect("listed above");
            m.privileges.insert(k.replacen(&f, &t, 1), v);
        }
    }
}

fn swap_dep(d: &mut Dep, renamed: &BTreeMap<QName, QName>) {
    match d {
        Dep::Relation { name } | Dep::Column { table: name, .. } | Dep::Type { name } => {
            if let Some(to) = renamed.get(name) {
                *name = to.clone();
            }
        }
        Dep::Function { .. } => {}
    }
}

impl Builder<'_> {
    /// The steps of every rebuild (see the module's comment).
    pub(super) fn rebuilds(&mut self) {
        for (key, f) in self.rebuild.functions.clone() {
            self.destructive(
                Phase::DropView,
                format!(
                    "drop {} {key} before the table whose row type it uses is rebuilt",
                    f.kind
                ),
                ddl::drop_function(&key, &f),
                vec![h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("callers of {key} break"),
                )],
            );
        }
        for r in self.rebuild.tables.clone() {
            self.rebuild_table(&r);
        }
    }

    fn rebuild_table(&mut self, r: &Rebuild) {
        let t = &r.table;
        let old = &r.aside;
        let size = self.size(old);
        self.notes.push(format!(
            "{t} is rebuilt ({}): PostgreSQL cannot change a table's partitioning in place. In one transaction the live table is renamed to {}, the new one is created with its partitions, constraints, indexes, triggers, policies, grants and comments, the rows are copied ({size}), the sequences its columns own are handed over, views, foreign keys and functions bound to the old table are recreated, and the old table is dropped. Reads and writes of {t} wait from the rename to the commit.",
            r.change, old.name
        ));
        for (i, (title, sql, other)) in r.moves.iter().enumerate() {
            let hz = if let Some(other) = other {
                vec![self.lock(other, "briefly, and on the old table")]
            } else if i == 0 {
                vec![h(
                    HazardId::Lock,
                    Severity::Info,
                    format!(
                        "takes an ACCESS EXCLUSIVE lock on {t} ({size}) and holds it until the rebuild commits: reads and writes of {t} wait for the whole copy"
                    ),
                )]
            } else {
                vec![]
            };
            self.push(Phase::RebuildAside, title.clone(), sql.clone(), hz);
        }
        for c in &r.copies {
            self.copy_rows(r, c);
        }
        for (table, column, from) in &r.identities {
            self.push(
                Phase::CopyRows,
                format!("rebuild {t}: continue identity column {table}.{column} after the copied values"),
                format!(
                    "SELECT setval(pg_get_serial_sequence({new}, {col}), v)\nFROM (SELECT coalesce(pg_sequence_last_value(pg_get_serial_sequence({old}, {col})::regclass),\n                      (SELECT max({ident}) FROM {table_sql})) AS v) s\nWHERE v IS NOT NULL;",
                    new = quote_literal(&table.sql()),
                    old = quote_literal(&from.sql()),
                    col = quote_literal(column),
                    ident = quote_ident(column),
                    table_sql = table.sql()
                ),
                vec![],
            );
        }
        for (seq, owner) in &r.sequences {
            let (title, sql) = match owner {
                Some((table, col)) => (
                    format!(
                        "rebuild {t}: hand sequence {seq} to {table}.{col} (it keeps its current value)"
                    ),
                    format!(
                        "ALTER SEQUENCE {} OWNED BY {}.{};",
                        seq.sql(),
                        table.sql(),
                        quote_ident(col)
                    ),
                ),
                None => (
                    format!(
                        "rebuild {t}: release sequence {seq} from the old table so that dropping it keeps the sequence"
                    ),
                    format!("ALTER SEQUENCE {} OWNED BY NONE;", seq.sql()),
                ),
            };
            self.push(Phase::CopyRows, title, sql, vec![]);
        }
        let with = if r.extra.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = r.extra.iter().map(|q| q.to_string()).collect();
            format!(
                " with its partitions or children that the desired schema no longer has ({})",
                names.join(", ")
            )
        };
        let list: Vec<String> = r.drops.iter().map(QName::sql).collect();
        self.push(
            Phase::DropRebuilt,
            format!("rebuild {t}: drop the old table {}{with}", old.name),
            format!("DROP TABLE {};", list.join(", ")),
            vec![h(
                HazardId::Ops,
                Severity::Info,
                format!("drops the old copy of {t} ({size}); its rows were copied into the new {t} above"),
            )],
        );
        self.analyze_after_rewrite(t);
    }

    /// `INSERT INTO new (kept columns) SELECT … FROM old` with its hazards.
    fn copy_rows(&mut self, r: &Rebuild, c: &Copy) {
        let t = &r.table;
        let old = &r.aside;
        let size = self.size(old);
        let cols: Vec<String> = c
            .columns
            .iter()
            .map(|(_, n)| quote_ident(&n.name))
            .collect();
        let exprs: Vec<String> = c
            .columns
            .iter()
            .map(|(o, n)| self.copy_expr(o, n))
            .collect();
        let from = if c.only {
            format!("ONLY {}", c.from.sql())
        } else {
            c.from.sql()
        };
        let overriding = if c
            .columns
            .iter()
            .any(|(_, n)| n.identity.as_deref() == Some("always"))
        {
            "OVERRIDING SYSTEM VALUE\n"
        } else {
            ""
        };
        let sql = if cols.is_empty() {
            format!("INSERT INTO {}\nSELECT FROM {from};", c.into.sql())
        } else {
            format!(
                "INSERT INTO {} ({})\n{overriding}SELECT {}\nFROM {from};",
                c.into.sql(),
                cols.join(", "),
                exprs.join(", ")
            )
        };
        let mut hz = vec![
            h(
                HazardId::Rewrite,
                self.sized(Severity::Warning, old),
                format!(
                    "copies every row of {t} ({size}) into the new table and builds its keys, under the ACCESS EXCLUSIVE lock taken by the rename; the new table's triggers do not exist yet and do not fire"
                ),
            ),
            h(
                HazardId::Ops,
                Severity::Info,
                format!(
                    "needs disk for a second copy of {t} ({size}) and its indexes until the old one is dropped at commit, and writes all of it to the WAL (replicas lag)"
                ),
            ),
        ];
        let targets = self
            .desired
            .tables
            .get(&c.into)
            .map(|w| w.partition_key.is_some())
            .unwrap_or(false);
        let no_partitions = targets
            && !self.desired.tables.values().any(|p| {
                p.partition_of
                    .as_ref()
                    .is_some_and(|(parent, _)| parent == &c.into)
            });
        let holds_rows = self
            .stats(old)
            .and_then(|s| s.rows)
            .is_some_and(|n| n > 0.0);
        let why = if targets {
            format!(
                "fails if a row of {t} fits no partition of the new table, or breaks one of its constraints (keys, checks, NOT NULL columns without a default); then the whole transaction rolls back and nothing changes"
            )
        } else {
            format!(
                "fails if a row of {t} breaks a constraint of the new table (keys, checks, NOT NULL columns without a default); then the whole transaction rolls back and nothing changes"
            )
        };
        hz.push(h(
            HazardId::MayFail,
            if no_partitions && holds_rows {
                Severity::Blocker
            } else {
                Severity::Warning
            },
            if no_partitions {
                format!(
                    "the new {} has no partitions, so no row of {t} ({size}) fits: the copy fails and the whole transaction rolls back; create its partitions in the desired schema",
                    c.into
                )
            } else {
                why
            },
        ));
        if !c.dropped.is_empty() {
            hz.push(h(
                HazardId::DataLoss,
                if self.is_empty(old) {
                    Severity::Info
                } else {
                    Severity::Danger
                },
                format!(
                    "the values of {} are not carried over: the new {} has no such column(s)",
                    c.dropped
                        .iter()
                        .map(|d| format!("{}.{d}", c.into))
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.into
                ),
            ));
        }
        for (o, n) in &c.columns {
            if o.data_type != n.data_type
                && !binary_coercible(&o.data_type, &n.data_type)
                && !widening(&o.data_type, &n.data_type)
            {
                hz.push(h(
                    HazardId::LossyCast,
                    Severity::Danger,
                    format!(
                        "casts {}.{} from {} to {}: values that do not fit make the copy fail or are changed",
                        c.into, n.name, o.data_type, n.data_type
                    ),
                ));
            }
        }
        let title = if c.into == *t && !c.only {
            format!("rebuild {t}: copy its rows into the new table")
        } else {
            format!(
                "rebuild {t}: copy the rows of the old {} into {}",
                c.from, c.into
            )
        };
        self.push(Phase::CopyRows, title, sql, hz);
    }

    /// The value of new column `n` from old column `o`.
    fn copy_expr(&self, o: &Column, n: &Column) -> String {
        let name = quote_ident(&o.name);
        let replaced_enum = self
            .deps
            .enums
            .iter()
            .any(|e| deps::uses_enum(&o.data_type, e));
        let same = o.data_type == n.data_type || binary_coercible(&o.data_type, &n.data_type);
        if same && o.collation == n.collation && !replaced_enum {
            return name;
        }
        let collate = n
            .collation
            .as_ref()
            .map(|c| format!(" COLLATE {c}"))
            .unwrap_or_default();
        if replaced_enum || self.is_enum(&o.data_type) || self.is_enum(&n.data_type) {
            let array = if n.data_type.ends_with("[]") {
                "[]"
            } else {
                ""
            };
            format!("{name}::text{array}::{}{collate}", n.data_type)
        } else {
            format!("CAST({name} AS {}){collate}", n.data_type)
        }
    }

    /// True when foreign key `c` of live table `t` goes with an old table that
    /// a rebuild drops and need not be dropped on its own: it points at a
    /// table the plan keeps, and dropping the old table drops the key with it.
    pub(super) fn fk_goes_with_old_table(&self, t: &QName, c: &Constraint) -> bool {
        self.rebuild.goes.contains(t)
            && c.references
                .as_ref()
                .is_some_and(|r| self.desired.tables.contains_key(r))
    }

    /// Why a change of partitioning is a blocker (the tables that are not rebuilt).
    pub(super) fn partitioning_blocker(&self, have: &Table, want: &Table) -> String {
        let t = &have.name;
        let change = format!(
            "{t} changes from {} to {}",
            describe(have.partition_key.as_deref()),
            describe(want.partition_key.as_deref())
        );
        match self.rebuild.refused.get(t) {
            Some(why) => format!("{change}, which needs a rebuild of the table, but {why}"),
            None if self.opts.additive => format!(
                "{change}, which needs a rebuild of the table (a new table, the rows copied, the old one dropped); additive mode does not rebuild tables"
            ),
            None => format!("{change}; that needs a rebuild, which pgalign does not plan for it"),
        }
    }
}

impl Builder<'_> {
    /// `DROP INDEX` without `CONCURRENTLY`, for a plan that rebuilds a table:
    /// index drops run inside the rebuild's transaction, where `CONCURRENTLY`
    /// cannot run.
    pub(super) fn drop_index_in_rebuild(&mut self, name: &QName, table: &QName, keep: bool) {
        let hz = vec![
            self.lock(
                table,
                "briefly (not CONCURRENTLY: this plan rebuilds a table in one transaction, and the drop runs inside it)",
            ),
            h(
                HazardId::Ops,
                Severity::Info,
                format!("queries that use {name} get slower until it is rebuilt"),
            ),
        ];
        let title = format!("drop index {name}");
        let sql = format!("DROP INDEX {};", name.sql());
        if keep {
            self.push(Phase::DropIndex, title, sql, hz);
        } else {
            self.destructive(Phase::DropIndex, title, sql, hz);
        }
    }
}
