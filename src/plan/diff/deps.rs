//! Which live objects must be dropped and recreated because something they
//! depend on changes: views over a column whose type changes or that goes away,
//! views over other rebuilt views or over replaced functions, functions whose
//! signature uses a rebuilt view's row type, triggers whose function is replaced.
//! Computed as a fixpoint over the dependencies read from `pg_depend`.

use crate::catalog::model::*;
use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct Rebuilds {
    /// Live views dropped by the plan (and recreated when still desired).
    pub views: BTreeSet<QName>,
    /// Live functions dropped and recreated (their signature or result changes,
    /// or their signature uses a rebuilt relation's row type).
    pub functions: BTreeSet<String>,
    /// Live aggregates the plan drops: for good, or to create again (a change
    /// `CREATE OR REPLACE AGGREGATE` cannot make, or a support function or type
    /// it uses is dropped and recreated).
    pub aggregates: BTreeSet<String>,
    /// Live triggers dropped and recreated although their definition is the same.
    pub triggers: BTreeSet<String>,
    /// Live rules dropped and recreated although their definition is the same
    /// (what they read is dropped, retyped or rebuilt).
    pub rules: BTreeSet<String>,
    /// Live columns whose type, collation or generation changes, or that go away.
    pub changed_columns: BTreeSet<(QName, String)>,
    /// Enums whose values are removed or reordered: replaced by a new type.
    pub enums: BTreeSet<QName>,
    /// Kept columns of those enums' types (or arrays of them), cast to the new type.
    pub enum_columns: BTreeSet<(QName, String)>,
    /// Domains and composite types replaced by a new type of the same name: built
    /// on a replaced enum or type, or a domain whose base type changes. In the
    /// order they are created (what they are built on first).
    pub types: Vec<QName>,
    /// Kept columns of those types (or arrays of them), cast to the new type.
    pub type_columns: BTreeSet<(QName, String)>,
}

/// True when `labels` cannot become `want` by adding values (some are removed,
/// or the kept ones change order).
pub fn enum_needs_new_type(labels: &[String], want: &[String]) -> bool {
    let kept: Vec<&String> = want.iter().filter(|l| labels.contains(l)).collect();
    let order: Vec<&String> = labels.iter().filter(|l| want.contains(l)).collect();
    labels.iter().any(|l| !want.contains(l)) || kept != order
}

/// True when a column of type `data_type` holds values of enum `e` (or of the
/// domain or composite type `e`): its type is `e` or an array of it.
pub fn uses_enum(data_type: &str, e: &QName) -> bool {
    let base = data_type.trim_end_matches("[]");
    base == e.sql()
}

impl Rebuilds {
    pub fn compute(live: &Model, desired: &Model) -> Rebuilds {
        // Columns whose type, collation or generation changes, or that go away.
        let mut changed_columns: BTreeSet<(QName, String)> = BTreeSet::new();
        let mut dropped_relations: BTreeSet<QName> = BTreeSet::new();
        for t in live.tables.values() {
            match desired.tables.get(&t.name) {
                None => {
                    dropped_relations.insert(t.name.clone());
                    for c in &t.columns {
                        changed_columns.insert((t.name.clone(), c.name.clone()));
                    }
                }
                Some(want) => {
                    for c in &t.columns {
                        let changed = match want.column(&c.name) {
                            None => true,
                            Some(w) => {
                                w.data_type != c.data_type
                                    || w.collation != c.collation
                                    || w.generated != c.generated
                            }
                        };
                        if changed {
                            changed_columns.insert((t.name.clone(), c.name.clone()));
                        }
                    }
                }
            }
        }
        let mut dropped_types: BTreeSet<QName> = BTreeSet::new();
        dropped_types.extend(
            live.domains
                .iter()
                .filter(|(k, d)| {
                    desired
                        .domains
                        .get(*k)
                        .is_none_or(|w| w.base_type != d.base_type)
                })
                .map(|(k, _)| k.clone()),
        );
        dropped_types.extend(
            live.composites
                .keys()
                .filter(|k| !desired.composites.contains_key(*k))
                .cloned(),
        );
        dropped_types.extend(
            live.enums
                .keys()
                .filter(|k| !desired.enums.contains_key(*k))
                .cloned(),
        );

        let mut r = Rebuilds::default();
        for (name, e) in &live.enums {
            if desired
                .enums
                .get(name)
                .is_some_and(|w| enum_needs_new_type(&e.labels, &w.labels))
            {
                r.enums.insert(name.clone());
                // Everything that uses the type moves to the new one.
                dropped_types.insert(name.clone());
                for t in live.tables.values() {
                    for c in t.columns.iter().filter(|c| uses_enum(&c.data_type, name)) {
                        changed_columns.insert((t.name.clone(), c.name.clone()));
                        if desired
                            .tables
                            .get(&t.name)
                            .and_then(|w| w.column(&c.name))
                            .is_some()
                        {
                            r.enum_columns.insert((t.name.clone(), c.name.clone()));
                        }
                    }
                }
            }
        }
        // Domains and composites built on a replaced type are replaced too, and so
        // is a domain whose base type changes (PostgreSQL cannot alter it).
        let mut replaced: BTreeSet<QName> = r.enums.clone();
        loop {
            let before = r.types.len();
            for (name, d) in &live.domains {
                let Some(w) = desired.domains.get(name) else {
                    continue;
                };
                if !replaced.contains(name)
                    && (w.base_type != d.base_type
                        || w.collation != d.collation
                        || replaced.iter().any(|t| uses_enum(&d.base_type, t)))
                {
                    replaced.insert(name.clone());
                    r.types.push(name.clone());
                }
            }
            for (name, c) in &live.composites {
                let Some(w) = desired.composites.get(name) else {
                    continue;
                };
                let same_shape = w.attributes.len() == c.attributes.len()
                    && w.attributes
                        .iter()
                        .zip(&c.attributes)
                        .all(|(a, b)| a.0 == b.0);
                if !replaced.contains(name)
                    && same_shape
                    && c.attributes
                        .iter()
                        .any(|(_, t, _)| replaced.iter().any(|e| uses_enum(t, e)))
                {
                    replaced.insert(name.clone());
                    r.types.push(name.clone());
                }
            }
            if r.types.len() == before {
                break;
            }
        }
        for name in &r.types {
            dropped_types.insert(name.clone());
            for t in live.tables.values() {
                for c in t.columns.iter().filter(|c| uses_enum(&c.data_type, name)) {
                    changed_columns.insert((t.name.clone(), c.name.clone()));
                    let kept = desired
                        .tables
                        .get(&t.name)
                        .and_then(|w| w.column(&c.name))
                        .is_some_and(|w| w.data_type == c.data_type);
                    if kept {
                        r.type_columns.insert((t.name.clone(), c.name.clone()));
                    }
                }
            }
        }
        // Functions that go away or change in a way CREATE OR REPLACE cannot do.
        let mut gone_functions: BTreeSet<String> = BTreeSet::new();
        for (key, f) in &live.functions {
            match desired.functions.get(key) {
                None => {
                    gone_functions.insert(key.clone());
                }
                Some(w)
                    if w.kind != f.kind || w.arguments != f.arguments || w.result != f.result =>
                {
                    r.functions.insert(key.clone());
                }
                Some(_) => {}
            }
        }
        for (key, a) in &live.aggregates {
            if desired
                .aggregates
                .get(key)
                .is_none_or(|w| !a.replaceable_by(w))
            {
                r.aggregates.insert(key.clone());
            }
        }
        for (name, v) in &live.views {
            let same = desired.views.get(name).is_some_and(|w| {
                w.definition == v.definition
                    && w.options == v.options
                    && w.materialized == v.materialized
            });
            if !same {
                r.views.insert(name.clone());
            }
        }
        loop {
            let before = (r.views.len(), r.functions.len(), r.aggregates.len());
            let relation_gone =
                |n: &QName, r: &Rebuilds| dropped_relations.contains(n) || r.views.contains(n);
            let hit = |d: &Dep, r: &Rebuilds| match d {
                Dep::Relation { name } => relation_gone(name, r),
                Dep::Column { table, column } => {
                    relation_gone(table, r)
                        || changed_columns.contains(&(table.clone(), column.clone()))
                }
                Dep::Function { key } => {
                    gone_functions.contains(key)
                        || r.functions.contains(key)
                        || r.aggregates.contains(key)
                }
                Dep::Type { name } => dropped_types.contains(name) || relation_gone(name, r),
            };
            let views: Vec<QName> = live
                .views
                .values()
                .filter(|v| !r.views.contains(&v.name) && v.depends_on.iter().any(|d| hit(d, &r)))
                .map(|v| v.name.clone())
                .collect();
            r.views.extend(views);
            let functions: Vec<String> = live
                .functions
                .iter()
                .filter(|(k, f)| {
                    !r.functions.contains(*k)
                        && desired.functions.contains_key(*k)
                        && f.depends_on.iter().any(|d| hit(d, &r))
                })
                .map(|(k, _)| k.clone())
                .collect();
            r.functions.extend(functions);
            let aggregates: Vec<String> = live
                .aggregates
                .iter()
                .filter(|(k, a)| {
                    !r.aggregates.contains(*k)
                        && (a.functions().any(|f| r.functions.contains(f))
                            || a.depends_on.iter().any(|d| hit(d, &r)))
                })
                .map(|(k, _)| k.clone())
                .collect();
            r.aggregates.extend(aggregates);
            if (r.views.len(), r.functions.len(), r.aggregates.len()) == before {
                break;
            }
        }
        for (key, rule) in &live.rules {
            let kept = desired
                .rules
                .get(key)
                .is_some_and(|w| w.definition == rule.definition);
            let hit = rule.depends_on.iter().any(|d| match d {
                Dep::Relation { name } => {
                    dropped_relations.contains(name) || r.views.contains(name)
                }
                Dep::Column { table, column } => {
                    dropped_relations.contains(table)
                        || r.views.contains(table)
                        || changed_columns.contains(&(table.clone(), column.clone()))
                }
                _ => false,
            });
            if kept && hit {
                r.rules.insert(key.clone());
            }
        }
        r.changed_columns = changed_columns;
        for (key, t) in &live.triggers {
            let kept = desired
                .triggers
                .get(key)
                .is_some_and(|w| w.definition == t.definition);
            if kept && (r.functions.contains(&t.function) || r.views.contains(&t.table)) {
                r.triggers.insert(key.clone());
            }
        }
        r
    }
}

/// Orders `names` so that every view comes after the views it reads
/// (`deps_of` gives a view's dependencies); cycles cannot occur in PostgreSQL.
pub fn view_order<'a>(
    names: impl IntoIterator<Item = &'a QName>,
    views: &'a std::collections::BTreeMap<QName, View>,
) -> Vec<QName> {
    let wanted: BTreeSet<&QName> = names.into_iter().collect();
    let mut depth: std::collections::BTreeMap<&QName, usize> = std::collections::BTreeMap::new();
    fn depth_of<'a>(
        n: &'a QName,
        views: &'a std::collections::BTreeMap<QName, View>,
        memo: &mut std::collections::BTreeMap<&'a QName, usize>,
        guard: usize,
    ) -> usize {
        if let Some(d) = memo.get(n) {
            return *d;
        }
        let d = match views.get(n) {
            Some(v) if guard < 64 => v
                .depends_on
                .iter()
                .filter_map(|d| match d {
                    Dep::Relation { name } | Dep::Column { table: name, .. } => {
                        views.contains_key(name).then_some(name)
                    }
                    _ => None,
                })
                .filter(|dep| *dep != n)
                .map(|dep| depth_of(dep, views, memo, guard + 1) + 1)
                .max()
                .unwrap_or(0),
            _ => 0,
        };
        memo.insert(n, d);
        d
    }
    for n in &wanted {
        depth_of(n, views, &mut depth, 0);
    }
    let mut out: Vec<QName> = wanted.into_iter().cloned().collect();
    out.sort_by_key(|n| (depth.get(n).copied().unwrap_or(0), n.clone()));
    out
}

/// A view, function or aggregate that the plan drops (before recreating it,
/// for views and functions; aggregates may go for good).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dropped {
    View(QName),
    Function(String),
    Aggregate(String),
}

/// The drops of rebuilt views, replaced functions and dropped aggregates,
/// dependents first: a view that calls a function or aggregate goes before it,
/// an aggregate before its support functions, a function whose signature uses
/// a view's row type before the view.
pub fn drop_order(live: &Model, r: &Rebuilds) -> Vec<Dropped> {
    use std::collections::BTreeMap;
    let nodes: Vec<Dropped> = r
        .views
        .iter()
        .filter(|v| live.views.contains_key(*v))
        .map(|v| Dropped::View(v.clone()))
        .chain(
            r.functions
                .iter()
                .filter(|f| live.functions.contains_key(*f))
                .map(|f| Dropped::Function(f.clone())),
        )
        .chain(
            r.aggregates
                .iter()
                .filter(|a| live.aggregates.contains_key(*a))
                .map(|a| Dropped::Aggregate(a.clone())),
        )
        .collect();
    // What each node depends on, within the set.
    let depends_on = |n: &Dropped| -> Vec<Dropped> {
        let (deps, support) = match n {
            Dropped::View(v) => (&live.views[v].depends_on, None),
            Dropped::Function(f) => (&live.functions[f].depends_on, None),
            Dropped::Aggregate(a) => (&live.aggregates[a].depends_on, Some(&live.aggregates[a])),
        };
        let support = support
            .into_iter()
            .flat_map(|a| a.functions())
            .filter(|f| r.functions.contains(*f))
            .map(|f| Dropped::Function(f.clone()));
        deps.iter()
            .filter_map(|d| match d {
                Dep::Relation { name } | Dep::Column { table: name, .. } | Dep::Type { name }
                    if r.views.contains(name) =>
                {
                    Some(Dropped::View(name.clone()))
                }
                Dep::Function { key } if r.functions.contains(key) => {
                    Some(Dropped::Function(key.clone()))
                }
                Dep::Function { key } if r.aggregates.contains(key) => {
                    Some(Dropped::Aggregate(key.clone()))
                }
                _ => None,
            })
            .chain(support)
            .filter(|d| d != n)
            .collect()
    };
    fn level(
        n: &Dropped,
        deps: &dyn Fn(&Dropped) -> Vec<Dropped>,
        memo: &mut BTreeMap<Dropped, usize>,
        guard: usize,
    ) -> usize {
        if let Some(l) = memo.get(n) {
            return *l;
        }
        let l = if guard > 64 {
            0
        } else {
            deps(n)
                .iter()
                .map(|d| level(d, deps, memo, guard + 1) + 1)
                .max()
                .unwrap_or(0)
        };
        memo.insert(n.clone(), l);
        l
    }
    let mut memo = BTreeMap::new();
    let mut out: Vec<(usize, Dropped)> = nodes
        .into_iter()
        .map(|n| (level(&n, &depends_on, &mut memo, 0), n))
        .collect();
    // Highest level (most dependent) first.
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    out.into_iter().map(|(_, n)| n).collect()
}
