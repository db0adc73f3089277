//! Table settings that do not change what a table holds: replica identity,
//! `CLUSTER ON`, access method, tablespaces (of tables, indexes and constraint
//! indexes), the row type of typed tables (`OF type`), and per-column storage,
//! compression, statistics target and attribute options.
//!
//! Column settings are set with `ALTER TABLE ONLY`, table by table, parents
//! first: a partition or inheritance child created by the plan starts with the
//! storage and compression its parent has at that moment (PostgreSQL copies
//! them), and keeps whatever the plan sets on it afterwards.

use super::*;

impl Builder<'_> {
    /// Column settings of a table the plan just created (right after its
    /// `CREATE TABLE`, so that children created after it copy its storage).
    pub(super) fn created_table_settings(&mut self, t: &Table) {
        let changes = self.column_setting_changes(t, None);
        if changes.is_empty() {
            return;
        }
        self.push(
            Phase::CreateTable,
            format!("set column storage and statistics of {}", t.name),
            format!("ALTER TABLE ONLY {} {};", t.name.sql(), changes.join(", ")),
            vec![],
        );
    }

    /// Everything else of this module, for the tables the desired side keeps
    /// or gets.
    pub(super) fn table_settings(&mut self) {
        let desired = self.desired;
        let live = &self.live.model;
        for want in parents_first(desired.tables.values(), &desired.tables) {
            let have = live.tables.get(&want.name);
            self.replica_identity(want, have);
            self.cluster_on(want, have);
            let Some(have) = have else { continue };
            self.typed_table(have, want);
            self.access_method(have, want);
            self.table_tablespace(have, want);
            let changes = self.column_setting_changes(want, Some(have));
            if !changes.is_empty() {
                let strong = changes
                    .iter()
                    .any(|c| c.contains(" SET STORAGE ") || c.contains(" SET COMPRESSION "));
                let hz = if strong {
                    self.lock(
                        &want.name,
                        "briefly (no rewrite: only new values use the new storage)",
                    )
                } else {
                    h(
                        HazardId::Lock,
                        Severity::Info,
                        format!(
                            "takes a SHARE UPDATE EXCLUSIVE lock on {} briefly (reads and writes continue)",
                            want.name
                        ),
                    )
                };
                self.push(
                    Phase::TableSettings,
                    format!("set column storage and statistics of {}", want.name),
                    format!(
                        "ALTER TABLE ONLY {} {};",
                        want.name.sql(),
                        changes.join(", ")
                    ),
                    vec![hz],
                );
            }
        }
        self.index_tablespaces();
    }

    /// `ALTER COLUMN … SET/RESET …` subcommands that take the columns of `want`
    /// from the settings they have (`have`; a new table's come from its type or
    /// its parent) to the desired ones.
    fn column_setting_changes(&self, want: &Table, have: Option<&Table>) -> Vec<String> {
        // The common case, kept quickly (10,000 tables): nothing set on either side.
        let plain = |t: &Table| {
            t.inherited_column_settings.is_empty()
                && t.columns.iter().all(|c| c.settings.is_default())
        };
        if have.is_some_and(plain) && plain(want) {
            return Vec::new();
        }
        let mut names: Vec<&String> = want.columns.iter().map(|c| &c.name).collect();
        names.extend(want.inherited_column_settings.keys());
        let inherited = self.inherited_columns(want);
        if have.is_none() {
            // A created child copies its parent's storage and compression.
            names.extend(inherited.iter());
        }
        if let Some(have) = have {
            // Columns set on the live side that the desired side leaves at the
            // defaults (when it still has them).
            for c in have.columns.iter().filter(|c| !c.settings.is_default()) {
                if want.column(&c.name).is_none() && inherited.contains(&c.name) {
                    names.push(&c.name);
                }
            }
            for c in have.inherited_column_settings.keys() {
                if want.column(c).is_some() || inherited.contains(c) {
                    names.push(c);
                }
            }
        }
        names.sort();
        names.dedup();
        let mut out = Vec::new();
        for name in names {
            let target = want.column_settings(name);
            let start = match have {
                Some(have) => self.kept_column_start(have, want, name),
                None => self.created_column_start(want, name),
            };
            out.extend(setting_commands(name, &start, &target));
        }
        out
    }

    /// The settings column `name` of kept table `have` has when the column
    /// phases of the plan are done.
    fn kept_column_start(&self, have: &Table, want: &Table, name: &str) -> ColumnSettings {
        let recreated = match (have.column(name), want.column(name)) {
            // Dropped and added again (a generated column that changes).
            (Some(o), Some(n)) => {
                o.generated != n.generated
                    && !(o.generated.is_some()
                        && n.generated.is_none()
                        && o.data_type == n.data_type)
            }
            _ => false,
        };
        if recreated {
            return ColumnSettings::default();
        }
        let mut s = have.column_settings(name);
        if self.retyped(&have.name, name) {
            // A new type brings its own storage and compression.
            s.storage = None;
            s.type_storage = None;
            s.compression = None;
        }
        s
    }

    /// The settings column `name` of table `t` has right after the plan creates
    /// it: a typed table's and a table's own columns have the defaults; an
    /// inherited column copies its parent's storage and compression.
    fn created_column_start(&self, t: &Table, name: &str) -> ColumnSettings {
        if t.column(name).is_some() {
            return ColumnSettings::default();
        }
        for p in t.parents() {
            let Some(want) = self.desired.tables.get(p) else {
                continue;
            };
            if want.column(name).is_none() && !self.inherited_columns(want).contains(name) {
                continue;
            }
            // A parent the plan creates has its desired settings by then; a
            // kept one still has its live ones (its changes come later).
            let from = match self.live.model.tables.get(p) {
                Some(live) if !self.retyped(p, name) => live.column_settings(name),
                Some(_) => ColumnSettings::default(),
                None => want.column_settings(name),
            };
            return ColumnSettings {
                storage: from.storage,
                type_storage: from.type_storage,
                compression: from.compression,
                ..Default::default()
            };
        }
        ColumnSettings::default()
    }

    /// True when the plan changes the type of column `name` of live table `t`
    /// (or of the ancestor it is inherited from).
    fn retyped(&self, t: &QName, name: &str) -> bool {
        let live = &self.live.model.tables;
        let mut todo = vec![t];
        let mut guard = 0;
        while let Some(n) = todo.pop() {
            guard += 1;
            if guard > 64 {
                break;
            }
            let Some(lt) = live.get(n) else { continue };
            if let Some(old) = lt.column(name) {
                let key = (n.clone(), name.to_string());
                let new = self.desired.tables.get(n).and_then(|w| w.column(name));
                return new.is_some_and(|new| new.data_type != old.data_type)
                    || self.deps.enum_columns.contains(&key)
                    || self.deps.type_columns.contains(&key);
            }
            todo.extend(lt.parents());
        }
        false
    }

    /// True when the plan creates (or rebuilds) the index or constraint index
    /// `index` of desired table `t`.
    fn index_made(&self, t: &QName, index: &str) -> bool {
        if self.new_tables.contains(t) {
            return true;
        }
        let name = QName::new(t.schema.clone(), index);
        if let Some(want) = self.desired.indexes.get(&name) {
            return self
                .live
                .model
                .indexes
                .get(&name)
                .is_none_or(|old| !old.same_as(want) || self.index_columns_change(old));
        }
        match self.constraint_sides(t, index) {
            (Some(h), Some(w)) => !w.same_as(h),
            (None, Some(_)) => true,
            _ => false,
        }
    }

    /// True when the plan drops or rebuilds the index or constraint index
    /// `index` of live table `t`.
    fn index_goes(&self, t: &QName, index: &str) -> bool {
        let name = QName::new(t.schema.clone(), index);
        if let Some(old) = self.live.model.indexes.get(&name) {
            return self
                .desired
                .indexes
                .get(&name)
                .is_none_or(|want| !old.same_as(want))
                || self.index_columns_change(old);
        }
        match self.constraint_sides(t, index) {
            (Some(h), Some(w)) => !h.same_as(w),
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// Constraint `name` of table `t` on the live and the desired side.
    fn constraint_sides(
        &self,
        t: &QName,
        name: &str,
    ) -> (Option<&Constraint>, Option<&Constraint>) {
        fn side<'m>(m: &'m Model, t: &QName, name: &str) -> Option<&'m Constraint> {
            m.tables.get(t).and_then(|x| x.constraints.get(name))
        }
        (side(&self.live.model, t, name), side(self.desired, t, name))
    }

    fn replica_identity(&mut self, want: &Table, have: Option<&Table>) {
        let t = &want.name;
        let from = have.and_then(|h| h.replica_identity.as_ref());
        let to = want.replica_identity.as_ref();
        let needs_index = matches!(to, Some(ReplicaIdentity::Index(i)) if self.index_made(t, i));
        if from == to && !needs_index {
            return;
        }
        let sql = |r: Option<&ReplicaIdentity>| {
            let what = match r {
                None => "DEFAULT".to_string(),
                Some(ReplicaIdentity::Full) => "FULL".into(),
                Some(ReplicaIdentity::Nothing) => "NOTHING".into(),
                Some(ReplicaIdentity::Index(i)) => format!("USING INDEX {}", quote_ident(i)),
            };
            (
                format!("ALTER TABLE {} REPLICA IDENTITY {what};", t.sql()),
                what,
            )
        };
        let index_goes = matches!(from, Some(ReplicaIdentity::Index(i)) if have.is_some() && self.index_goes(t, i));
        let (statement, what) = sql(to);
        let hz = if self.new_tables.contains(t) {
            vec![]
        } else {
            vec![
                self.lock(t, "briefly"),
                h(
                    HazardId::Ops,
                    Severity::Info,
                    format!(
                        "changes what logical replication and decoding log for updated and deleted rows of {t}"
                    ),
                ),
            ]
        };
        if index_goes && needs_index {
            // Its index is rebuilt: logical replication of updates and deletes
            // keeps working through FULL until the new index is in place.
            if from != Some(&ReplicaIdentity::Full) {
                let (interim, _) = sql(Some(&ReplicaIdentity::Full));
                self.push(
                    Phase::ReleaseIndex,
                    format!("use replica identity FULL on {t} while its index is rebuilt"),
                    interim,
                    hz.clone(),
                );
            }
            self.push(
                Phase::TableSettings,
                format!("set replica identity of {t} to {what}"),
                statement,
                hz,
            );
        } else if index_goes {
            // Before its index goes.
            self.push(
                Phase::ReleaseIndex,
                format!("set replica identity of {t} to {what}"),
                statement,
                hz,
            );
        } else {
            self.push(
                Phase::TableSettings,
                format!("set replica identity of {t} to {what}"),
                statement,
                hz,
            );
        }
    }

    fn cluster_on(&mut self, want: &Table, have: Option<&Table>) {
        let t = &want.name;
        let from = have.and_then(|h| h.cluster_on.as_ref());
        let hz = |b: &Self| {
            if b.new_tables.contains(t) {
                vec![]
            } else {
                vec![h(
                    HazardId::Lock,
                    Severity::Info,
                    format!(
                        "takes a SHARE UPDATE EXCLUSIVE lock on {t} briefly (reads and writes continue); no rows move until CLUSTER runs"
                    ),
                )]
            }
        };
        match &want.cluster_on {
            Some(i) if from != Some(i) || self.index_made(t, i) => self.push(
                Phase::TableSettings,
                format!("cluster {t} on {i}"),
                format!("ALTER TABLE {} CLUSTER ON {};", t.sql(), quote_ident(i)),
                hz(self),
            ),
            None if from.is_some() => self.push(
                Phase::TableSettings,
                format!("stop clustering {t} on an index"),
                format!("ALTER TABLE {} SET WITHOUT CLUSTER;", t.sql()),
                hz(self),
            ),
            _ => {}
        }
    }

    /// `NOT OF` before the columns change, `OF type` once they match the type
    /// again: a typed table's columns cannot be added, dropped or retyped, and
    /// a change of its type does not reach it without `CASCADE`.
    fn typed_table(&mut self, have: &Table, want: &Table) {
        let t = &have.name;
        let type_changes = |ty: &QName| {
            self.deps.types.contains(ty)
                || self.live.model.composites.get(ty).map(|c| &c.attributes)
                    != self.desired.composites.get(ty).map(|c| &c.attributes)
        };
        let same = have.of_type == want.of_type
            && have.of_type.as_ref().is_none_or(|ty| !type_changes(ty));
        if same {
            return;
        }
        if let Some(old) = &have.of_type {
            self.push(
                Phase::Untype,
                format!("detach {t} from its row type {old}"),
                format!("ALTER TABLE {} NOT OF;", t.sql()),
                vec![self.lock(t, "briefly")],
            );
        }
        if let Some(ty) = &want.of_type {
            self.push(
                Phase::TableSettings,
                format!("make {t} a typed table of {ty}"),
                format!("ALTER TABLE {} OF {};", t.sql(), ty.sql()),
                vec![
                    self.lock(t, "briefly"),
                    h(
                        HazardId::MayFail,
                        Severity::Warning,
                        format!("fails unless the columns of {t} match the attributes of {ty} (names, types and order)"),
                    ),
                ],
            );
        }
    }

    fn access_method(&mut self, have: &Table, want: &Table) {
        if have.access_method == want.access_method {
            return;
        }
        let t = &have.name;
        let version = self.live.server_version_num;
        let partitioned = want.partition_key.is_some();
        let name = |am: &Option<String>| am.clone().unwrap_or_else(|| "heap".into());
        let title = format!(
            "change access method of {t} to {}",
            name(&want.access_method)
        );
        if version < 150000 || (partitioned && version < 170000) {
            let since = if partitioned { 17 } else { 15 };
            let why = format!(
                "{t} changes its access method from {} to {}; ALTER TABLE … SET ACCESS METHOD needs PostgreSQL {since}+ for {}, and this server is older: recreate the table and move its rows by hand",
                name(&have.access_method),
                name(&want.access_method),
                if partitioned {
                    "partitioned tables"
                } else {
                    "tables"
                },
            );
            self.blocker(Phase::AlterColumn, title, why);
            return;
        }
        let target = match (&want.access_method, partitioned) {
            (Some(am), _) => quote_ident(am),
            (None, true) => "DEFAULT".into(),
            (None, false) => "heap".into(),
        };
        let hz = if partitioned {
            vec![self.lock(
                t,
                "briefly (a partitioned table holds no rows: only future partitions use it)",
            )]
        } else {
            vec![h(
                HazardId::Rewrite,
                self.sized(Severity::Warning, t),
                format!(
                    "rewrites {t} ({}) into access method {} under ACCESS EXCLUSIVE",
                    self.size(t),
                    name(&want.access_method)
                ),
            )]
        };
        self.push(
            Phase::AlterColumn,
            title,
            format!("ALTER TABLE {} SET ACCESS METHOD {target};", t.sql()),
            hz,
        );
    }

    fn table_tablespace(&mut self, have: &Table, want: &Table) {
        if have.tablespace == want.tablespace {
            return;
        }
        let t = &have.name;
        let to = want
            .tablespace
            .clone()
            .unwrap_or_else(|| "pg_default".into());
        let hz = if want.partition_key.is_some() {
            vec![self.lock(
                t,
                "briefly (a partitioned table holds no rows: only future partitions use it)",
            )]
        } else {
            vec![
                h(
                    HazardId::Rewrite,
                    self.sized(Severity::Warning, t),
                    format!(
                        "copies every page of {t} ({}) to tablespace {to} under ACCESS EXCLUSIVE",
                        self.size(t)
                    ),
                ),
                h(
                    HazardId::Ops,
                    Severity::Info,
                    format!("writes {t} again: WAL volume and replica lag as large as the table"),
                ),
            ]
        };
        self.push(
            Phase::AlterColumn,
            format!("move {t} to tablespace {to}"),
            format!(
                "ALTER TABLE {} SET TABLESPACE {};",
                t.sql(),
                quote_ident(&to)
            ),
            hz,
        );
    }

    /// Kept indexes and constraint indexes whose tablespace changes (a
    /// rebuilt one is created in its tablespace already).
    fn index_tablespaces(&mut self) {
        let live = &self.live.model;
        let desired = self.desired;
        let mut moves: Vec<(QName, QName, Option<String>, bool)> = Vec::new();
        for (name, want) in &desired.indexes {
            if let Some(old) = live.indexes.get(name)
                && old.same_as(want)
                && old.tablespace != want.tablespace
                && !self.relation_goes(&old.table)
                && !self.index_columns_change(old)
            {
                if self.online(&want.table) && !want.unique {
                    // Built again concurrently in its new tablespace, then swapped in.
                    self.create_index_online(want, true);
                    continue;
                }
                moves.push((
                    name.clone(),
                    want.table.clone(),
                    want.tablespace.clone(),
                    false,
                ));
            }
        }
        for want in desired.tables.values() {
            let Some(have) = live.tables.get(&want.name) else {
                continue;
            };
            for c in want.constraints.values() {
                if let Some(old) = have.constraints.get(&c.name)
                    && old.same_as(c)
                    && old.tablespace != c.tablespace
                {
                    let index = QName::new(want.name.schema.clone(), c.name.clone());
                    moves.push((index, want.name.clone(), c.tablespace.clone(), true));
                }
            }
        }
        for (index, table, ts, constraint) in moves {
            let to = ts.unwrap_or_else(|| "pg_default".into());
            let hz = if self.partitioned(&table) {
                vec![self.lock(
                    &table,
                    "briefly (a partitioned index holds no entries: only future partitions use it)",
                )]
            } else {
                vec![h(
                    HazardId::Rewrite,
                    self.sized(Severity::Warning, &table),
                    format!(
                        "copies index {index} of {table} ({}) to tablespace {to} under ACCESS EXCLUSIVE on the index: queries on {table} wait",
                        self.size(&table)
                    ),
                )]
            };
            let what = if constraint {
                "the index of constraint"
            } else {
                "index"
            };
            self.push(
                Phase::TableSettings,
                format!("move {what} {index} to tablespace {to}"),
                format!(
                    "ALTER INDEX {} SET TABLESPACE {};",
                    index.sql(),
                    quote_ident(&to)
                ),
                hz,
            );
        }
    }
}

/// `ALTER COLUMN` subcommands that take column `name` from `from` to `to`.
fn setting_commands(name: &str, from: &ColumnSettings, to: &ColumnSettings) -> Vec<String> {
    let col = format!("ALTER COLUMN {}", quote_ident(name));
    let mut out = Vec::new();
    if from.storage != to.storage {
        // Back to the type's default: named, since `SET STORAGE DEFAULT` is
        // PostgreSQL 16+.
        let storage = to
            .storage
            .as_ref()
            .or(from.type_storage.as_ref())
            .map(|s| s.to_uppercase())
            .unwrap_or_else(|| "DEFAULT".into());
        out.push(format!("{col} SET STORAGE {storage}"));
    }
    if from.compression != to.compression {
        let method = to.compression.clone().unwrap_or_else(|| "DEFAULT".into());
        out.push(format!("{col} SET COMPRESSION {method}"));
    }
    if from.statistics != to.statistics {
        out.push(format!(
            "{col} SET STATISTICS {}",
            to.statistics.unwrap_or(-1)
        ));
    }
    if from.options != to.options {
        let key = |o: &String| o.split('=').next().unwrap_or_default().to_string();
        let reset: Vec<String> = from
            .options
            .iter()
            .filter(|o| !to.options.iter().any(|w| key(w) == key(o)))
            .map(key)
            .collect();
        let set: Vec<&str> = to
            .options
            .iter()
            .filter(|o| !from.options.contains(o))
            .map(String::as_str)
            .collect();
        if !reset.is_empty() {
            out.push(format!("{col} RESET ({})", reset.join(", ")));
        }
        if !set.is_empty() {
            out.push(format!("{col} SET ({})", set.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps that take `live` (on a server of `version`) to `desired`.
    fn steps(live: &Model, desired: &Model, version: i32) -> Vec<Step> {
        let live = Inspected {
            server_version_num: version,
            model: live.clone(),
            ..Default::default()
        };
        super::super::diff(&live, desired, &PlanOptions::default()).steps
    }

    #[test]
    fn an_access_method_change_is_a_rewrite_from_15_and_a_blocker_before() {
        let live = crate::catalog::tests::sample_model();
        let mut desired = live.clone();
        let t = QName::new("app", "settings");
        desired.tables.get_mut(&t).unwrap().access_method = None;
        let old = steps(&live, &desired, 140000);
        assert_eq!(old.len(), 1, "{old:?}");
        assert!(old[0].sql.starts_with("DO $pgalign$"), "{}", old[0].sql);
        assert!(
            old[0]
                .hazards
                .iter()
                .any(|h| h.severity == Severity::Blocker && h.detail.contains("PostgreSQL 15+"))
        );
        let new = steps(&live, &desired, 150000);
        assert_eq!(new.len(), 1, "{new:?}");
        assert_eq!(
            new[0].sql,
            "ALTER TABLE app.settings SET ACCESS METHOD heap;"
        );
        assert!(new[0].hazards.iter().any(|h| h.id == HazardId::Rewrite));
    }

    #[test]
    fn settings_of_an_unchanged_model_plan_nothing() {
        let m = crate::catalog::tests::sample_model();
        assert!(steps(&m, &m, 170000).is_empty());
    }

    #[test]
    fn column_settings_are_set_and_reset_by_name() {
        let from = ColumnSettings {
            storage: Some("external".into()),
            type_storage: Some("extended".into()),
            compression: None,
            statistics: Some(500),
            options: vec!["n_distinct=10".into(), "n_distinct_inherited=5".into()],
        };
        let to = ColumnSettings {
            compression: Some("pglz".into()),
            options: vec!["n_distinct=-1".into()],
            ..Default::default()
        };
        assert_eq!(
            setting_commands("Body", &from, &to),
            vec![
                "ALTER COLUMN \"Body\" SET STORAGE EXTENDED",
                "ALTER COLUMN \"Body\" SET COMPRESSION pglz",
                "ALTER COLUMN \"Body\" SET STATISTICS -1",
                "ALTER COLUMN \"Body\" RESET (n_distinct_inherited)",
                "ALTER COLUMN \"Body\" SET (n_distinct=-1)",
            ]
        );
        assert!(setting_commands("a", &to, &to).is_empty());
        assert_eq!(
            setting_commands("a", &to, &ColumnSettings::default()),
            vec![
                "ALTER COLUMN a SET COMPRESSION DEFAULT",
                "ALTER COLUMN a RESET (n_distinct)"
            ]
        );
    }
}
