//! Moving the live objects of a rebuilt table aside: the statements, and the
//! live model as the rest of the plan sees it once they have run.

use super::*;

/// What the moves of every rebuild of a plan rename and hand over.
#[derive(Debug, Default)]
pub(super) struct Moves {
    /// Tables renamed aside (original name → aside name).
    pub renamed: BTreeMap<QName, QName>,
    /// Rebuilt tables (original names), detached from their parents.
    detached: BTreeSet<QName>,
    indexes: BTreeMap<QName, QName>,
    /// (table as renamed, old name, new name).
    constraints: Vec<(QName, String, String)>,
    statistics: BTreeMap<QName, QName>,
    /// Sequences and the owner they are given by the rebuild.
    owners: BTreeMap<QName, Option<(QName, String)>>,
}

impl Moves {
    /// Renames live table `t` to `aside` and detaches it from its parents.
    pub fn table(&mut self, t: &Table, aside: &QName, change: &str) -> Vec<Move> {
        let root = &t.name;
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
            let parent = self.renamed.get(parent).unwrap_or(parent);
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
            let parent = self.renamed.get(parent).unwrap_or(parent);
            moves.push((
                format!("rebuild {root}: the old table stops inheriting from {parent}"),
                format!("ALTER TABLE {} NO INHERIT {};", aside.sql(), parent.sql()),
                Some(parent.clone()),
            ));
        }
        self.detached.insert(root.clone());
        self.renamed.insert(root.clone(), aside.clone());
        moves
    }

    /// Renames old partition or child `c` of `root`, whose name the desired
    /// schema uses again, aside.
    pub fn member(&mut self, root: &QName, c: &QName) -> Move {
        let to = aside_name(c);
        let step = (
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
        );
        self.renamed.insert(c.clone(), to);
        step
    }

    /// Renames the key constraints, indexes and statistics of old table `q`
    /// whose names the desired schema uses again (`names`) aside.
    pub fn names(
        &mut self,
        m: &Model,
        desired: &Model,
        names: &BTreeSet<QName>,
        root: &QName,
        q: &QName,
    ) -> Vec<Move> {
        let mut moves = Vec::new();
        let now = self.renamed.get(q).unwrap_or(q).clone();
        for c in m.tables[q].constraints.values().filter(|c| {
            matches!(
                c.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
            ) && names.contains(&QName::new(q.schema.clone(), c.name.clone()))
        }) {
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
            self.constraints.push((now.clone(), c.name.clone(), to));
        }
        for name in m
            .indexes
            .iter()
            .filter(|(name, i)| &i.table == q && names.contains(*name))
            .map(|(name, _)| name)
        {
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
            self.indexes.insert(name.clone(), to);
        }
        for name in m
            .statistics
            .iter()
            .filter(|(name, s)| &s.table == q && desired.statistics.contains_key(*name))
            .map(|(name, _)| name)
        {
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
            self.statistics.insert(name.clone(), to);
        }
        moves
    }

    /// Sequences owned by columns of `set`, with the owner the desired schema
    /// gives them (`None`: released, so dropping the old table keeps them).
    pub fn sequences(
        &mut self,
        m: &Model,
        desired: &Model,
        set: &[QName],
    ) -> Vec<(QName, Option<(QName, String)>)> {
        let mut out = Vec::new();
        for (name, s) in &m.sequences {
            if s.owned_by.as_ref().is_some_and(|(o, _)| set.contains(o)) {
                let owner = desired.sequences.get(name).and_then(|w| w.owned_by.clone());
                self.owners.insert(name.clone(), owner.clone());
                out.push((name.clone(), owner));
            }
        }
        out
    }
}

/// The live model as it is once the moves of the rebuilds have run.
pub(super) fn move_aside(out: &mut Inspected, mv: &Moves, functions: &[(String, Function)]) {
    let swap = |q: &mut QName| {
        if let Some(to) = mv.renamed.get(q) {
            *q = to.clone();
        }
    };
    for (from, to) in &mv.renamed {
        if let Some(s) = out.stats.remove(from) {
            out.stats.insert(to.clone(), s);
        }
    }
    let m = &mut out.model;
    for (from, to) in &mv.renamed {
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
    for (table, from, to) in &mv.constraints {
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
    for (name, owner) in &mv.owners {
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
                .for_each(|d| swap_dep(d, &mv.renamed));
            (member_key(&r.table, &r.name), r)
        })
        .collect();
    for v in m.views.values_mut() {
        v.depends_on
            .iter_mut()
            .for_each(|d| swap_dep(d, &mv.renamed));
    }
    for (key, _) in functions {
        m.functions.remove(key);
    }
    for f in m.functions.values_mut() {
        f.depends_on
            .iter_mut()
            .for_each(|d| swap_dep(d, &mv.renamed));
    }
    for (from, to) in &mv.renamed {
        super::super::renames::rekey_owner_and_grants(m, from, to);
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
