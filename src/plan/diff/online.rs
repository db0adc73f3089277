//! Online-safe forms (strategy `online`, the default) for changes to tables
//! that already hold rows, so writes go on while the slow part runs:
//!
//! - indexes are built and dropped `CONCURRENTLY`; an index redefined under the
//!   same name is built under a temporary name first, then swapped in;
//! - foreign keys and checks are added `NOT VALID`, then validated (which takes
//!   SHARE UPDATE EXCLUSIVE: reads and writes continue);
//! - `SET NOT NULL` is preceded by a validated `CHECK (c IS NOT NULL)`, so it
//!   skips its scan (PostgreSQL 12+), and the check is dropped afterwards;
//! - a primary key or unique constraint is built as a unique index
//!   `CONCURRENTLY`, then attached `USING INDEX`.
//!
//! Tables the plan creates, partitioned tables (which support none of these),
//! and strategy `offline` (writes paused) keep the plain, faster forms. A plan
//! that rebuilds a table (see `rebuild`) drops indexes without `CONCURRENTLY`:
//! those drops fall inside the rebuild's one transaction.

use super::*;
use crate::util::sha256_hex;

/// How the plan treats tables that hold rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// Forms that keep writes going (the default).
    #[default]
    Online,
    /// Plain forms, for a window with writes paused: faster, but they block.
    Offline,
}

/// A name for a temporary object: `base` + `suffix`, cut to 63 bytes with a
/// short hash so two long names never collide.
pub fn temp_name(base: &str, suffix: &str) -> String {
    let name = format!("{base}{suffix}");
    if name.len() <= 63 {
        return name;
    }
    let hash = &sha256_hex(name.as_bytes())[..8];
    let mut cut = 63 - suffix.len() - 9;
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash}{suffix}", &base[..cut])
}

/// `CREATE [UNIQUE] INDEX name ON …` → the same with `CONCURRENTLY`, optionally
/// under another name.
fn concurrently(i: &Index, name: Option<&str>) -> String {
    let def = ddl::create_index(i);
    let old = quote_ident(&i.name.name);
    let new = name.map(quote_ident).unwrap_or_else(|| old.clone());
    for kind in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] {
        let head = format!("{kind}{old} ON ");
        if let Some(rest) = def.strip_prefix(&head) {
            return format!("{kind}CONCURRENTLY {new} ON {rest}");
        }
    }
    def
}

impl Builder<'_> {
    /// True when changes to `t` use the online forms.
    pub(super) fn online(&self, t: &QName) -> bool {
        self.opts.strategy == Strategy::Online
            && !self.new_tables.contains(t)
            && !self.partitioned(t)
    }

    pub(super) fn partitioned(&self, t: &QName) -> bool {
        let part = |m: &Model| m.tables.get(t).is_some_and(|t| t.partition_key.is_some());
        part(&self.live.model) || part(self.desired)
    }

    fn non_tx(
        &mut self,
        phase: Phase,
        title: String,
        sql: String,
        mut hz: Vec<Hazard>,
        what: &str,
    ) {
        hz.push(h(
            HazardId::NonTransactional,
            Severity::Warning,
            format!("{what} runs outside a transaction: if it fails it leaves an INVALID index behind, which `pgalign apply --resume` drops and rebuilds"),
        ));
        self.push_tx(phase, title, sql, hz, false);
    }

    /// Creates index `i` on an existing table without blocking writes. When the
    /// live side has an index of the same name, builds the new one under a
    /// temporary name, drops the old one, and renames.
    pub(super) fn create_index_online(&mut self, i: &Index, replaces: bool) {
        let table = &i.table;
        let size = self.size(table);
        let mut hz = vec![h(
            HazardId::Ops,
            Severity::Info,
            format!(
                "builds {} on {table} ({size}) while writes continue; takes longer than a plain build and waits for running transactions",
                i.name
            ),
        )];
        if i.unique {
            let hazard = h(
                HazardId::MayFail,
                Severity::Warning,
                format!("fails if {table} holds duplicates for {}", i.name),
            );
            hz.push(match plain_key_columns(&i.definition) {
                Some(cols) => self.probed(
                    hazard,
                    table,
                    Check::Duplicates(cols),
                    || format!("{table} holds no duplicates for {} now", i.name),
                    || format!("will fail: {table} holds duplicates for {}", i.name),
                ),
                None => hazard,
            });
        }
        if !replaces {
            self.non_tx(
                Phase::CreateIndex,
                format!("create index {} concurrently", i.name),
                concurrently(i, None),
                hz,
                "CREATE INDEX CONCURRENTLY",
            );
            return;
        }
        let tmp = temp_name(&i.name.name, "_pgalign_new");
        self.non_tx(
            Phase::CreateIndex,
            format!(
                "build the new definition of index {} concurrently as {tmp}",
                i.name
            ),
            concurrently(i, Some(&tmp)),
            hz,
            "CREATE INDEX CONCURRENTLY",
        );
        self.non_tx(
            Phase::CreateIndex,
            format!("drop the old index {} concurrently", i.name),
            format!("DROP INDEX CONCURRENTLY {};", i.name.sql()),
            vec![],
            "DROP INDEX CONCURRENTLY",
        );
        self.push(
            Phase::CreateIndex,
            format!("rename index {tmp} to {}", i.name.name),
            format!(
                "ALTER INDEX {} RENAME TO {};",
                QName::new(i.name.schema.clone(), tmp).sql(),
                quote_ident(&i.name.name)
            ),
            vec![self.lock(table, "briefly")],
        );
    }

    pub(super) fn drop_index_online(&mut self, name: &QName, table: &QName, keep: bool) {
        if self.rebuild.any() {
            // A table rebuild runs as one transaction, and this drop falls inside it.
            return self.drop_index_in_rebuild(name, table, keep);
        }
        let hz = vec![h(
            HazardId::Ops,
            Severity::Info,
            format!("queries that use {name} on {table} get slower"),
        )];
        let title = format!("drop index {name} concurrently");
        let sql = format!("DROP INDEX CONCURRENTLY {};", name.sql());
        if keep || !self.opts.additive {
            self.non_tx(Phase::DropIndex, title, sql, hz, "DROP INDEX CONCURRENTLY");
        } else {
            self.omitted.push(format!("{title}: {sql}"));
        }
    }

    /// Adds a check or foreign key `NOT VALID`, then validates it in a later step.
    pub(super) fn add_validated(&mut self, phase: Phase, t: &QName, c: &Constraint) {
        let def = c.definition.trim_end();
        let sql = if def.ends_with("NOT VALID") {
            ddl::add_constraint(t, c)
        } else {
            format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {def} NOT VALID;",
                t.sql(),
                quote_ident(&c.name)
            )
        };
        let what = c.kind.describe();
        self.push(
            phase,
            format!(
                "add {what} {} on {t} without checking existing rows",
                c.name
            ),
            sql,
            vec![self.lock(
                t,
                "briefly (NOT VALID: existing rows are checked in a later step)",
            )],
        );
        if def.ends_with("NOT VALID") {
            return;
        }
        self.push(
            Phase::Validate,
            format!("validate {what} {} on {t}", c.name),
            format!("ALTER TABLE {} VALIDATE CONSTRAINT {};", t.sql(), quote_ident(&c.name)),
            vec![
                {
                    let hazard = h(
                        HazardId::MayFail,
                        Severity::Warning,
                        format!("fails if a row of {t} violates {}", c.name),
                    );
                    if c.kind == ConstraintKind::Check {
                        self.probed(
                            hazard,
                            t,
                            Check::Violates(check_expression(&c.definition)),
                            || format!("no row of {t} violates {} now", c.name),
                            || format!("will fail: rows of {t} violate {}", c.name),
                        )
                    } else {
                        hazard
                    }
                },
                h(
                    HazardId::Ops,
                    Severity::Info,
                    format!("reads every row of {t} ({}) under SHARE UPDATE EXCLUSIVE: reads and writes continue", self.size(t)),
                ),
            ],
        );
    }

    /// `SET NOT NULL` through a validated check, so the final step does not scan.
    pub(super) fn set_not_null_online(&mut self, t: &QName, column: &str) {
        let check = temp_name(&format!("{}_{column}", t.name), "_pgalign_nn");
        let c = Constraint {
            name: check.clone(),
            kind: ConstraintKind::Check,
            definition: format!("CHECK ({} IS NOT NULL)", quote_ident(column)),
            references: None,
            columns: vec![column.to_string()],
            comment: None,
            tablespace: None,
        };
        self.add_validated(Phase::AlterColumn, t, &c);
        let full = format!("{t}.{column}");
        self.push(
            Phase::AfterValidate,
            format!("set not null on {full}"),
            format!(
                "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;",
                t.sql(),
                quote_ident(column)
            ),
            vec![self.lock(t, "briefly (the validated check lets it skip the scan)")],
        );
        self.push(
            Phase::AfterValidate,
            format!("drop the temporary check {check} on {t}"),
            ddl::drop_constraint(t, &check),
            vec![self.lock(t, "briefly")],
        );
    }

    /// A primary key or unique constraint through a concurrently built unique
    /// index; `None` when the definition is not a plain column list.
    pub(super) fn add_key_online(&mut self, t: &QName, c: &Constraint) -> Option<()> {
        let (kind, cols) = c
            .definition
            .strip_prefix("PRIMARY KEY ")
            .map(|r| ("PRIMARY KEY", r))
            .or_else(|| c.definition.strip_prefix("UNIQUE ").map(|r| ("UNIQUE", r)))?;
        if !(cols.starts_with('(') && cols.ends_with(')') && cols.matches('(').count() == 1) {
            return None;
        }
        let index = Index {
            name: QName::new(t.schema.clone(), c.name.clone()),
            table: t.clone(),
            definition: format!(
                "CREATE UNIQUE INDEX {} ON {} USING btree {cols}",
                quote_ident(&c.name),
                t.sql()
            ),
            unique: true,
            columns: c.columns.clone(),
            comment: None,
            tablespace: c.tablespace.clone(),
        };
        self.create_index_online(&index, false);
        self.push(
            Phase::UseIndex,
            format!(
                "add {} {} on {t} using its index",
                c.kind.describe(),
                c.name
            ),
            format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {kind} USING INDEX {};",
                t.sql(),
                quote_ident(&c.name),
                quote_ident(&c.name)
            ),
            vec![self.lock(t, "briefly (the index is already built)")],
        );
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_fit_in_63_bytes() {
        assert_eq!(
            temp_name("orders_idx", "_pgalign_new"),
            "orders_idx_pgalign_new"
        );
        let long = "x".repeat(60);
        let name = temp_name(&long, "_pgalign_new");
        assert!(name.len() <= 63, "{name}");
        assert!(name.ends_with("_pgalign_new"));
        assert_ne!(
            temp_name(&format!("{long}a"), "_n"),
            temp_name(&format!("{long}b"), "_n")
        );
    }
}
