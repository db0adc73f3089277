//! The steps of a rebuild: the moves, the copies, the identity and sequence
//! hand-overs, the drop of the old table; and how the rest of the planner
//! asks about rebuilds.

use super::*;

impl Builder<'_> {
    /// The steps of every rebuild (see the module's comment).
    pub(in crate::plan::diff) fn rebuilds(&mut self) {
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
            if let Some(owned_by) = owner
                && let Some(want) = self.desired.sequences.get(seq)
            {
                // The new table is the applying role's: the sequence must be too.
                let s = Sequence {
                    owned_by: Some(owned_by.clone()),
                    ..want.clone()
                };
                self.match_sequence_owner(&s, false, true, Phase::CopyRows);
            }
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
                self.data_loss_severity(old),
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
    pub(in crate::plan::diff) fn fk_goes_with_old_table(&self, t: &QName, c: &Constraint) -> bool {
        self.rebuild.goes.contains(t)
            && c.references
                .as_ref()
                .is_some_and(|r| self.desired.tables.contains_key(r))
    }

    /// Why a change of partitioning is a blocker (the tables that are not rebuilt).
    pub(in crate::plan::diff) fn partitioning_blocker(&self, have: &Table, want: &Table) -> String {
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
    pub(in crate::plan::diff) fn drop_index_in_rebuild(
        &mut self,
        name: &QName,
        table: &QName,
        keep: bool,
    ) {
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
