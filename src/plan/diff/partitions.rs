//! Partitions moved in and out, and the names of partitions' indexes.
//!
//! - A table that leaves its parent (`DETACH PARTITION`, `NO INHERIT`) keeps
//!   what it had from it as its own: columns, checks, and for a partition its
//!   foreign keys and the indexes attached to the parent's (those that back a
//!   primary key or unique constraint as constraints). The rest of the plan
//!   sees the live table as it is once detached ([`prepare`]), so what the
//!   desired side keeps is kept (renamed when it names it otherwise), and the
//!   detaching runs first (phase `Detach`).
//! - A table that becomes a partition keeps its indexes and keys that match
//!   an index of the parent: `ATTACH PARTITION` attaches them.
//! - The desired side names the partitions' indexes
//!   ([`Table::partition_indexes`]); PostgreSQL names those it creates itself
//!   (`CREATE TABLE … PARTITION OF`, `CREATE INDEX` on the parent, an
//!   `ATTACH` without a matching index). Each that is not known to end up
//!   with its desired name is renamed after the indexes are in place: by name
//!   when the plan knows it, else through the catalog (`pg_inherits`).

use super::*;
use crate::catalog::notnull::make_object_name;

/// A name the detached table's kept index or key gets: `(table, old, new,
/// constraint)`.
pub(super) type Rename = (QName, String, String, bool);

/// The part of an index definition from ` USING ` on (what is the same for a
/// parent's index and its partitions' indexes), and whether it is unique.
fn index_shape(def: &str) -> Option<(&str, bool)> {
    let (head, _) = def.split_once(" USING ")?;
    Some((&def[head.len()..], head.starts_with("CREATE UNIQUE ")))
}

/// The live side as the plan sees it once the tables that leave a parent
/// have left it, and the renames of what they keep; `None` when no table
/// leaves one.
pub(super) fn prepare(live: &Inspected, desired: &Model) -> Option<(Inspected, Vec<Rename>)> {
    let leaving: Vec<(QName, Vec<QName>)> = live
        .model
        .tables
        .values()
        .filter_map(|t| {
            let want = desired.tables.get(&t.name)?;
            let wanted: Vec<&QName> = want.parents().collect();
            let gone: Vec<QName> = t
                .parents()
                .filter(|p| !wanted.contains(p))
                .cloned()
                .collect();
            (!gone.is_empty()).then(|| (t.name.clone(), gone))
        })
        .collect();
    if leaving.is_empty() {
        return None;
    }
    let mut out = live.clone();
    let mut renames = Vec::new();
    for (name, gone) in leaving {
        let was_partition = live.model.tables[&name]
            .partition_of
            .as_ref()
            .is_some_and(|(p, _)| gone.contains(p));
        let mut columns: Vec<Column> = Vec::new();
        let mut constraints: Vec<Constraint> = Vec::new();
        for p in &gone {
            for t in ancestors(&live.model, p) {
                for c in &t.columns {
                    let mut c = c.clone();
                    c.identity = None;
                    c.identity_options = None;
                    c.comment = None;
                    columns.push(c);
                }
                constraints.extend(
                    t.constraints
                        .values()
                        .filter(|c| match c.kind {
                            ConstraintKind::Check => !c.definition.contains(" NO INHERIT"),
                            // Partitions get their parents' foreign keys (clones, same name).
                            ConstraintKind::ForeignKey => was_partition,
                            _ => false,
                        })
                        .map(|c| Constraint {
                            comment: None,
                            ..c.clone()
                        }),
                );
            }
        }
        let mut indexes: Vec<Index> = Vec::new();
        if was_partition {
            let table = &live.model.tables[&name];
            let parent = table.partition_of.as_ref().map(|(p, _)| p.clone());
            for (pidx, child) in &table.partition_indexes {
                if let Some(pi) = live.model.indexes.get(pidx) {
                    let Some((tail, unique)) = index_shape(&pi.definition) else {
                        continue;
                    };
                    let u = if unique { "UNIQUE " } else { "" };
                    indexes.push(Index {
                        name: QName::new(name.schema.clone(), child.clone()),
                        table: name.clone(),
                        definition: format!(
                            "CREATE {u}INDEX {} ON {}{tail}",
                            quote_ident(child),
                            name.sql()
                        ),
                        unique,
                        columns: pi.columns.clone(),
                        comment: None,
                        tablespace: None,
                    });
                } else if let Some(pc) = parent
                    .as_ref()
                    .and_then(|p| live.model.tables.get(p))
                    .and_then(|p| p.constraints.get(&pidx.name))
                    .filter(|_| parent.as_ref().is_some_and(|p| p.schema == pidx.schema))
                {
                    constraints.push(Constraint {
                        name: child.clone(),
                        comment: None,
                        tablespace: None,
                        ..pc.clone()
                    });
                }
            }
        }
        let want = &desired.tables[&name];
        let t = out.model.tables.get_mut(&name).expect("a live table");
        for mut c in columns {
            if t.column(&c.name).is_none() {
                // Its own settings of the column are kept apart while inherited.
                c.settings = t
                    .inherited_column_settings
                    .remove(&c.name)
                    .unwrap_or_default();
                t.columns.push(c);
            }
        }
        for mut c in constraints {
            if t.constraints.contains_key(&c.name) {
                continue;
            }
            // Kept under the name the desired side gives the same key.
            if matches!(
                c.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
            ) && !want.constraints.contains_key(&c.name)
                && let Some(w) = want
                    .constraints
                    .values()
                    .find(|w| w.same_as(&c) && !t.constraints.contains_key(&w.name))
            {
                renames.push((name.clone(), c.name.clone(), w.name.clone(), true));
                c.name = w.name.clone();
            }
            t.constraints.insert(c.name.clone(), c);
        }
        for mut i in indexes {
            if !desired.indexes.contains_key(&i.name)
                && let Some((tail, unique)) = index_shape(&i.definition)
                && let Some(w) = desired.indexes.values().find(|w| {
                    w.table == name
                        && !out.model.indexes.contains_key(&w.name)
                        && index_shape(&w.definition) == Some((tail, unique))
                })
            {
                renames.push((
                    name.clone(),
                    i.name.name.clone(),
                    w.name.name.clone(),
                    false,
                ));
                i.definition = w.definition.clone();
                i.name = w.name.clone();
            }
            out.model.indexes.insert(i.name.clone(), i);
        }
    }
    Some((out, renames))
}

/// Live table `p` and its ancestors (the tables whose columns and checks a
/// child of `p` holds), each once.
fn ancestors<'m>(m: &'m Model, p: &QName) -> Vec<&'m Table> {
    let mut out: Vec<&Table> = Vec::new();
    let mut todo = vec![p];
    while let Some(q) = todo.pop() {
        if out.len() > 64 {
            break;
        }
        let Some(t) = m.tables.get(q) else {
            continue;
        };
        if out.iter().any(|o| o.name == t.name) {
            continue;
        }
        out.push(t);
        todo.extend(t.parents());
    }
    out
}

/// `makeObjectName` without a second name: `<name>_<label>`, the name cut
/// (at a character boundary) so that the whole fits in 63 bytes.
fn object_name(name: &str, label: &str) -> String {
    let mut n = name.len().min(63 - 1 - label.len());
    while !name.is_char_boundary(n) {
        n -= 1;
    }
    format!("{}_{label}", &name[..n])
}

impl Builder<'_> {
    /// The steps that give a detached table's kept index or key the name the
    /// desired side gives it (right after the detaching).
    pub(super) fn rename_kept_after_detach(&mut self, t: &QName) {
        let renames: Vec<Rename> = self
            .detach_renames
            .iter()
            .filter(|r| &r.0 == t)
            .cloned()
            .collect();
        for (table, old, new, constraint) in renames {
            let (title, sql) = if constraint {
                (
                    format!("rename constraint {old} of {table} to {new}"),
                    format!(
                        "ALTER TABLE {} RENAME CONSTRAINT {} TO {};",
                        table.sql(),
                        quote_ident(&old),
                        quote_ident(&new)
                    ),
                )
            } else {
                (
                    format!("rename index {}.{old} to {new}", table.schema),
                    format!(
                        "ALTER INDEX {} RENAME TO {};",
                        QName::new(table.schema.clone(), old).sql(),
                        quote_ident(&new)
                    ),
                )
            };
            self.push(
                Phase::Detach,
                title,
                sql,
                vec![self.lock(&table, "briefly")],
            );
        }
    }

    /// For live table `t` that becomes a partition: the parent's index (in the
    /// desired side) that its live index `i` matches, which `ATTACH
    /// PARTITION` attaches it to (so it is not dropped). The first of its
    /// matching indexes by name.
    pub(super) fn attached_by_partition(&self, i: &Index) -> Option<QName> {
        let parent = self.joining_parent(&i.table)?;
        let shape = index_shape(&i.definition)?;
        let pidx = self
            .desired
            .indexes
            .values()
            .find(|p| p.table == parent && index_shape(&p.definition) == Some(shape))?;
        let first = self
            .live
            .model
            .indexes
            .values()
            .filter(|o| o.table == i.table && !self.desired.indexes.contains_key(&o.name))
            .find(|o| index_shape(&o.definition) == Some(shape))?;
        (first.name == i.name).then(|| pidx.name.clone())
    }

    /// For live key `c` of table `t` that becomes a partition: true when the
    /// parent has the same key, which `ATTACH PARTITION` attaches it to.
    pub(super) fn key_attached_by_partition(&self, t: &QName, c: &Constraint) -> bool {
        if !matches!(
            c.kind,
            ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
        ) {
            return false;
        }
        self.joining_parent(t)
            .and_then(|p| self.desired.tables.get(&p))
            .is_some_and(|p| p.constraints.values().any(|pc| pc.same_as(c)))
    }

    /// The partitioned table live table `t` becomes a partition of, if it is
    /// not one of it already.
    fn joining_parent(&self, t: &QName) -> Option<QName> {
        let (parent, _) = self.desired.tables.get(t)?.partition_of.as_ref()?;
        let live = self.live.model.tables.get(t)?;
        if live.partition_of.as_ref().is_some_and(|(p, _)| p == parent) {
            return None;
        }
        Some(parent.clone())
    }

    /// The name partition `p`'s index attached to parent index `pidx` has
    /// once the indexes are in place, when the plan knows it.
    fn partition_index_name(&self, p: &Table, pidx: &QName) -> Option<String> {
        let (parent, _) = p.partition_of.as_ref()?;
        let live = self.live.model.tables.get(&p.name)?;
        if live
            .partition_of
            .as_ref()
            .is_some_and(|(lp, _)| lp == parent)
        {
            // The same partition of the same parent, whose index stays.
            let kept = match self.live.model.indexes.get(pidx) {
                Some(l) => self.desired.indexes.get(pidx).is_some_and(|d| {
                    d.same_as(l)
                        && !self.relation_goes(&l.table)
                        && !self.uses_replaced_type(&l.definition)
                        && !self.index_columns_change(l)
                }),
                None => {
                    let key = |m: &Model| {
                        m.tables
                            .get(parent)
                            .and_then(|t| t.constraints.get(&pidx.name))
                            .cloned()
                    };
                    matches!((key(&self.live.model), key(self.desired)), (Some(a), Some(b)) if a.same_as(&b))
                }
            };
            return kept
                .then(|| live.partition_indexes.get(pidx).cloned())
                .flatten();
        }
        // Attached now: its matching live index or key is the one attached.
        if let Some(i) = self
            .live
            .model
            .indexes
            .values()
            .find(|i| i.table == p.name && self.attached_by_partition(i).as_ref() == Some(pidx))
        {
            return Some(i.name.name.clone());
        }
        let pk = self
            .desired
            .tables
            .get(parent)?
            .constraints
            .get(&pidx.name)?;
        live.constraints
            .values()
            .find(|c| c.same_as(pk))
            .map(|c| c.name.clone())
    }

    /// The name PostgreSQL gives the index it creates on partition `p` for
    /// parent index `pidx` (`ChooseIndexName`), when no other relation holds
    /// it: `<table>_pkey`, `<table>_<columns>_key`, `<table>_<columns>_idx`.
    fn default_partition_index_name(&self, p: &QName, pidx: &QName) -> Option<String> {
        let parent = self.desired.tables.get(p)?.partition_of.as_ref()?.0.clone();
        let (columns, label) = match self.desired.indexes.get(pidx) {
            Some(i) => (index_key_names(&i.definition)?, "idx"),
            None => {
                let c = self
                    .desired
                    .tables
                    .get(&parent)?
                    .constraints
                    .get(&pidx.name)?;
                match c.kind {
                    ConstraintKind::PrimaryKey => return Some(object_name(&p.name, "pkey")),
                    ConstraintKind::Unique => (c.columns.clone(), "key"),
                    _ => return None,
                }
            }
        };
        Some(make_object_name(&p.name, &columns.join("_"), label))
    }

    /// Renames the partitions' indexes to the names the desired side gives
    /// them, once every index is in place.
    pub(super) fn partition_index_names(&mut self) {
        let mut steps = Vec::new();
        let mut taken: Option<BTreeSet<QName>> = None;
        for p in self.desired.tables.values() {
            if p.partition_of.is_none() {
                continue;
            }
            for (pidx, want) in &p.partition_indexes {
                let known = self.partition_index_name(p, pidx);
                if known.as_deref() == Some(want.as_str()) {
                    continue;
                }
                let title = format!("name the index of partition {} for {pidx} {want}", p.name);
                let sql = match known {
                    Some(have) => format!(
                        "ALTER INDEX {} RENAME TO {};",
                        QName::new(p.name.schema.clone(), have).sql(),
                        quote_ident(want)
                    ),
                    // PostgreSQL names it: when it names it as the desired side
                    // does (no live relation holds that name), nothing to do.
                    None if self.default_partition_index_name(&p.name, pidx).as_deref()
                        == Some(want.as_str())
                        && !taken
                            .get_or_insert_with(|| live_relation_names(&self.live.model))
                            .contains(&QName::new(p.name.schema.clone(), want.clone())) =>
                    {
                        continue;
                    }
                    None => rename_through_catalog(&p.name, pidx, want),
                };
                steps.push((title, sql, p.name.clone()));
            }
        }
        for (title, sql, table) in steps {
            let hz = vec![self.lock(&table, "briefly")];
            self.push(Phase::PartitionIndexName, title, sql, hz);
        }
    }
}

/// Names of the relations of `m` (tables, views, sequences, indexes,
/// including those of constraints and partitions): a name PostgreSQL would
/// choose is not free when one of them holds it.
fn live_relation_names(m: &Model) -> BTreeSet<QName> {
    let mut out: BTreeSet<QName> = m
        .tables
        .keys()
        .chain(m.views.keys())
        .chain(m.sequences.keys())
        .chain(m.indexes.keys())
        .cloned()
        .collect();
    for t in m.tables.values() {
        let schema = &t.name.schema;
        out.extend(
            t.constraints
                .values()
                .filter(|c| {
                    matches!(
                        c.kind,
                        ConstraintKind::PrimaryKey
                            | ConstraintKind::Unique
                            | ConstraintKind::Exclusion
                    )
                })
                .map(|c| QName::new(schema.clone(), c.name.clone())),
        );
        out.extend(
            t.partition_indexes
                .values()
                .map(|n| QName::new(schema.clone(), n.clone())),
        );
    }
    out
}

/// The names of the key columns of an index definition
/// (`… USING btree (a, "B" DESC, lower(c))` → `a`, `B`, `expr`), as
/// `ChooseIndexColumnNames` takes them; `None` when they cannot be read.
fn index_key_names(def: &str) -> Option<Vec<String>> {
    let (_, rest) = def.split_once(" USING ")?;
    let open = rest.find('(')?;
    let mut depth = 0;
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    for ch in rest[open + 1..].chars() {
        match ch {
            '"' => {
                in_quotes = !in_quotes;
                cur.push(ch);
            }
            '(' if !in_quotes => {
                depth += 1;
                cur.push(ch);
            }
            ')' if !in_quotes && depth == 0 => {
                parts.push(cur.trim().to_string());
                break;
            }
            ')' if !in_quotes => {
                depth -= 1;
                cur.push(ch);
            }
            ',' if !in_quotes && depth == 0 => {
                parts.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(ch),
        }
    }
    parts
        .iter()
        .map(|part| {
            if let Some(q) = part.strip_prefix('"') {
                // A quoted name: up to its closing quote (`""` is a quote).
                let mut name = String::new();
                let mut chars = q.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            name.push('"');
                        }
                        '"' => return Some(name),
                        c => name.push(c),
                    }
                }
                return None;
            }
            let first = part.split(' ').next()?;
            if first
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !first.is_empty()
            {
                Some(first.to_string())
            } else {
                Some("expr".to_string())
            }
        })
        .collect()
}

/// Renames the index of partition `p` attached to `pidx` to `want`, whatever
/// PostgreSQL named it (found through `pg_inherits`).
fn rename_through_catalog(p: &QName, pidx: &QName, want: &str) -> String {
    format!(
        "DO $rename$\nDECLARE n text;\nBEGIN\n  \
         SELECT c.relname INTO n FROM pg_catalog.pg_inherits i\n    \
         JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid\n    \
         JOIN pg_catalog.pg_index x ON x.indexrelid = i.inhrelid\n   \
         WHERE i.inhparent = {}::regclass AND x.indrelid = {}::regclass;\n  \
         IF n IS NOT NULL AND n <> {} THEN\n    \
         EXECUTE format('ALTER INDEX %I.%I RENAME TO %I', {}, n, {});\n  \
         END IF;\nEND $rename$;",
        quote_literal(&pidx.sql()),
        quote_literal(&p.sql()),
        quote_literal(want),
        quote_literal(&p.schema),
        quote_literal(want)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_read_as_choose_index_name_takes_them() {
        let names = |d: &str| index_key_names(d).unwrap();
        assert_eq!(
            names("CREATE INDEX i ON ONLY public.m USING btree (v)"),
            ["v"]
        );
        assert_eq!(
            names(
                "CREATE UNIQUE INDEX i ON public.m USING btree (a, \"B c\" DESC, lower(d)) WHERE (a > 0)"
            ),
            ["a", "B c", "expr"]
        );
        assert_eq!(
            names("CREATE INDEX i ON public.m USING gin (tags jsonb_path_ops)"),
            ["tags"]
        );
    }

    #[test]
    fn default_names_fit_in_63_bytes() {
        assert_eq!(object_name("m_2020", "pkey"), "m_2020_pkey");
        let long = "x".repeat(70);
        let name = object_name(&long, "pkey");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_pkey"));
    }

    #[test]
    fn shapes_of_a_parent_index_and_its_partitions_index_are_equal() {
        assert_eq!(
            index_shape("CREATE INDEX m_v_idx ON ONLY public.m USING btree (v)"),
            index_shape("CREATE INDEX m1_v_idx ON public.m1 USING btree (v)")
        );
        assert_ne!(
            index_shape("CREATE UNIQUE INDEX a ON public.m1 USING btree (v)"),
            index_shape("CREATE INDEX b ON public.m1 USING btree (v)")
        );
    }
}
