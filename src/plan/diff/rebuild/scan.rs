//! What a rebuild reads from the two models: the old tables' partitions and
//! children, their columns, the names the desired schema uses, whether the
//! rebuild is possible, and the copies that move the rows.

use super::*;

/// Direct children (partitions and inheritance children) of each table.
pub(super) fn children_of(tables: &BTreeMap<QName, Table>) -> BTreeMap<&QName, Vec<&QName>> {
    let mut out: BTreeMap<&QName, Vec<&QName>> = BTreeMap::new();
    for t in tables.values() {
        for p in t.parents() {
            out.entry(p).or_default().push(&t.name);
        }
    }
    out
}

/// True when `t` hangs (directly or not) from `root` in `tables`.
pub(super) fn under(tables: &BTreeMap<QName, Table>, t: &QName, root: &QName) -> bool {
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
pub(super) fn full_columns(tables: &BTreeMap<QName, Table>, t: &QName) -> Vec<Column> {
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
pub(super) fn desired_relations(d: &Model) -> BTreeSet<QName> {
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

pub(super) fn aside_name(q: &QName) -> QName {
    QName::new(q.schema.clone(), online::temp_name(&q.name, ASIDE))
}

/// Why the tables of `set` cannot be rebuilt, if they cannot.
pub(super) fn refusal(m: &Model, d: &Model, set: &[QName]) -> Option<String> {
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

/// The live partitions and children of `root` that go with it: all but those
/// the desired schema keeps outside it (the plan detaches those first).
pub(super) fn members_of(
    root: &QName,
    children: &BTreeMap<&QName, Vec<&QName>>,
    desired: &Model,
) -> Vec<QName> {
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
    members
}

/// True when function `f` uses a table of `set` (its row type, mostly).
pub(super) fn uses_row_type(f: &Function, set: &[QName]) -> bool {
    f.depends_on.iter().any(|d| match d {
        Dep::Relation { name } | Dep::Type { name } | Dep::Column { table: name, .. } => {
            set.contains(name)
        }
        Dep::Function { .. } => false,
    })
}

/// The copies that move the rows of the old tables of `set` into the new ones.
pub(super) fn copies(
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

/// Identity columns of the new tables, each once, with the old table whose
/// sequence (or copied values) it continues after.
pub(super) fn identities(
    copies: &[Copy],
    renamed: &BTreeMap<QName, QName>,
) -> Vec<(QName, String, QName)> {
    let mut out: Vec<(QName, String, QName)> = Vec::new();
    for c in copies {
        let from = renamed.get(&c.into).unwrap_or(&c.from);
        for (_, new) in c.columns.iter().filter(|(_, n)| n.identity.is_some()) {
            if !out
                .iter()
                .any(|(t, col, _)| t == &c.into && col == &new.name)
            {
                out.push((c.into.clone(), new.name.clone(), from.clone()));
            }
        }
    }
    out
}
