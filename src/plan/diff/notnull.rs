//! PostgreSQL 18's NOT NULL constraints: names, `NOT VALID` and `NO INHERIT`.
//!
//! On a PostgreSQL 18 server a NOT NULL constraint that differs only by its
//! name is renamed (`RENAME CONSTRAINT`), a `NOT VALID` one is validated
//! (`VALIDATE CONSTRAINT`), `NO INHERIT` is switched with `ALTER CONSTRAINT`.
//! The online form of a new NOT NULL is PostgreSQL 18's own: `ADD CONSTRAINT
//! … NOT NULL … NOT VALID` (ACCESS EXCLUSIVE, briefly, no scan) then `VALIDATE
//! CONSTRAINT` (measured on 18.4: SHARE UPDATE EXCLUSIVE, reads and writes go
//! on), instead of the `CHECK (c IS NOT NULL)` detour older servers need.
//!
//! Servers before 18 hold only plain NOT NULLs: a desired schema read from 18
//! is planned there with plain ones ([`for_server`]), and a note says so.

use super::*;
use crate::catalog::notnull::{add_not_null, add_not_null_clause, model_name};

/// First server version with NOT NULL constraints in `pg_constraint`.
const PG18: i32 = 180000;

/// For a live server before PostgreSQL 18 (version known): `desired` with
/// every NOT NULL made plain, and a note, when it holds any other kind.
pub(super) fn for_server(live: &Inspected, desired: &Model) -> Option<(Model, String)> {
    let v = live.server_version_num;
    if v == 0 || v >= PG18 {
        return None;
    }
    let count = desired
        .tables
        .values()
        .flat_map(|t| &t.columns)
        .filter(|c| !c.not_null_is_plain())
        .count();
    if count == 0 {
        return None;
    }
    let mut plain = desired.clone();
    for t in plain.tables.values_mut() {
        for c in &mut t.columns {
            if !c.not_null_is_plain() {
                *c = c.with_plain_not_null();
            }
        }
    }
    let note = format!(
        "PostgreSQL {} keeps no names, NOT VALID or NO INHERIT on NOT NULL (PostgreSQL 18 does): {count} column(s) of the desired schema get a plain NOT NULL",
        live.server_version
    );
    Some((plain, note))
}

/// When the desired schema was read on a server before PostgreSQL 18 (a
/// shadow cluster of an older version) and the live one is 18 or later: the
/// desired side could not name its NOT NULL constraints (older servers accept
/// `CONSTRAINT name NOT NULL` and drop the name), so a NOT NULL column both
/// sides have keeps the live constraint's name instead of being renamed to the
/// default. `NOT VALID` and `NO INHERIT` are not taken: older servers reject
/// them, so a plain NOT NULL there means a valid, inherited one. Returns a note
/// when a name was kept.
pub fn keep_live_names(live: &Inspected, desired: &mut Inspected) -> Option<String> {
    let (l, d) = (live.server_version_num, desired.server_version_num);
    if !(d > 0 && d < PG18 && l >= PG18) {
        return None;
    }
    let mut kept = 0;
    for (name, t) in desired.model.tables.iter_mut() {
        let Some(lt) = live.model.tables.get(name) else {
            continue;
        };
        for c in t.columns.iter_mut().filter(|c| c.not_null) {
            let named = lt.column(&c.name).filter(|lc| lc.not_null);
            if let Some(n) = named.and_then(|lc| lc.not_null_name.clone()) {
                c.not_null_name = Some(n);
                kept += 1;
            }
        }
    }
    (kept > 0).then(|| {
        format!(
            "the desired schema was read on PostgreSQL {}, which does not name NOT NULL constraints: {kept} column(s) keep the name the live database gives theirs",
            desired.server_version
        )
    })
}

/// Before table `table` of the live model is renamed to `to_table` (or its
/// column `column.0` to `column.1`): its NOT NULL constraints keep their names
/// on the server, so a default name under the old names becomes an explicit
/// one under the new (and an explicit one that becomes the default is
/// dropped), and the plan renames them when the desired schema says so.
pub(super) fn keep_names(
    live: &mut Inspected,
    table: &QName,
    to_table: &str,
    column: Option<(&str, &str)>,
) {
    if live.server_version_num < PG18 {
        return;
    }
    let Some(t) = live.model.tables.get_mut(table) else {
        return;
    };
    for c in t.columns.iter_mut().filter(|c| c.not_null) {
        let name = c.not_null_constraint_name(&table.name);
        let col = match column {
            Some((from, to)) if from == c.name => to,
            _ => c.name.as_str(),
        };
        c.not_null_name = model_name(to_table, col, &name);
    }
}

impl Builder<'_> {
    /// True when the live server holds NOT NULL constraints (PostgreSQL 18+).
    fn not_null_constraints(&self) -> bool {
        self.live.server_version_num >= PG18
    }

    /// NOT NULL changes of kept column `old` → `new` of table `t` on PostgreSQL
    /// 18. Returns false when the plain forms of the caller apply (an older
    /// server, a plain `SET NOT NULL` without the online form, `DROP NOT
    /// NULL`). `plain_only`: a type or identity change of the same column
    /// comes with it, so the constraint is added validated.
    pub(super) fn not_null_constraint(
        &mut self,
        t: &QName,
        old: &Column,
        new: &Column,
        plain_only: bool,
    ) -> bool {
        if !self.not_null_constraints() || !new.not_null {
            return false;
        }
        if !old.not_null {
            return self.add_not_null(t, new, plain_only);
        }
        let full = format!("{t}.{}", new.name);
        let from = old.not_null_constraint_name(&t.name);
        let to = new.not_null_constraint_name(&t.name);
        if new.not_null_not_valid && !old.not_null_not_valid {
            // A constraint cannot be made NOT VALID again: it is replaced in
            // one statement, so NULLs are never accepted in between.
            self.push(
                Phase::AlterColumn,
                format!("make the NOT NULL constraint of {full} NOT VALID"),
                format!(
                    "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL, {};",
                    t.sql(),
                    quote_ident(&new.name),
                    add_not_null_clause(&t.name, new, true)
                ),
                vec![self.lock(t, "briefly")],
            );
            return true;
        }
        if from != to {
            self.push(
                Phase::AlterColumn,
                format!("rename the NOT NULL constraint of {full} to {to}"),
                format!(
                    "ALTER TABLE {} RENAME CONSTRAINT {} TO {};",
                    t.sql(),
                    quote_ident(&from),
                    quote_ident(&to)
                ),
                vec![self.lock(t, "briefly")],
            );
        }
        if old.not_null_no_inherit != new.not_null_no_inherit {
            self.not_null_inheritance(t, new, &to);
        }
        if old.not_null_not_valid && !new.not_null_not_valid {
            self.validate_not_null(t, &new.name, &to);
        }
        true
    }

    /// A NOT NULL on a column that had none. The online form (or any form for
    /// a constraint that is named, NOT VALID or NO INHERIT) is PostgreSQL 18's
    /// `ADD CONSTRAINT … NOT NULL`.
    fn add_not_null(&mut self, t: &QName, new: &Column, plain_only: bool) -> bool {
        // A primary key cannot be added on a column whose NOT NULL is NOT VALID
        // (measured on 18.4), and the plan adds keys before it validates.
        let in_key = self.desired.tables.get(t).is_some_and(|w| {
            w.constraints
                .values()
                .any(|c| c.kind == ConstraintKind::PrimaryKey && c.columns.contains(&new.name))
        });
        let online = self.online(t) && !plain_only && !in_key;
        if new.not_null_is_plain() && !online {
            return false;
        }
        let name = new.not_null_constraint_name(&t.name);
        if new.not_null_name.is_none() && self.name_taken(t, &new.name, &name) {
            // The default name is another constraint's: PostgreSQL would pick
            // another one; the older forms let it.
            return false;
        }
        let full = format!("{t}.{}", new.name);
        if new.not_null_not_valid || online {
            self.push(
                Phase::AlterColumn,
                format!("add NOT NULL constraint {name} on {full} without checking existing rows"),
                add_not_null(t, new, true),
                vec![self.lock(
                    t,
                    "briefly (NOT VALID: existing rows are checked in a later step)",
                )],
            );
            if !new.not_null_not_valid {
                self.validate_not_null(t, &new.name, &name);
            }
            return true;
        }
        self.push(
            Phase::AlterColumn,
            format!("add NOT NULL constraint {name} on {full}"),
            add_not_null(t, new, false),
            self.not_null_scan_hazards(t, &full),
        );
        true
    }

    /// True when a constraint of `t` other than the NOT NULL of `column`, on
    /// either side, is named `name`.
    fn name_taken(&self, t: &QName, column: &str, name: &str) -> bool {
        let live_pg18 = self.not_null_constraints();
        let taken = |table: Option<&Table>, not_nulls: bool| {
            table.is_some_and(|tb| {
                tb.constraints.contains_key(name)
                    || (not_nulls
                        && tb.columns.iter().any(|c| {
                            c.name != column
                                && c.not_null
                                && c.not_null_constraint_name(&t.name) == name
                        }))
            })
        };
        taken(self.live.model.tables.get(t), live_pg18) || taken(self.desired.tables.get(t), true)
    }

    /// `VALIDATE CONSTRAINT` of the NOT NULL constraint `name` of `column`.
    fn validate_not_null(&mut self, t: &QName, column: &str, name: &str) {
        self.push(
            Phase::Validate,
            format!("validate NOT NULL constraint {name} on {t}.{column}"),
            format!(
                "ALTER TABLE {} VALIDATE CONSTRAINT {};",
                t.sql(),
                quote_ident(name)
            ),
            vec![
                self.probed(
                    h(
                        HazardId::MayFail,
                        Severity::Warning,
                        format!("fails if {t}.{column} holds NULLs"),
                    ),
                    t,
                    Check::Nulls(column.to_string()),
                    || format!("{t}.{column} holds no NULLs now"),
                    || format!("will fail: {t}.{column} holds NULLs"),
                ),
                h(
                    HazardId::Ops,
                    Severity::Info,
                    format!(
                        "reads every row of {t} ({}) under SHARE UPDATE EXCLUSIVE: reads and writes continue",
                        self.size(t)
                    ),
                ),
            ],
        );
    }

    /// `ALTER CONSTRAINT … [NO] INHERIT` of the NOT NULL constraint `name`.
    fn not_null_inheritance(&mut self, t: &QName, new: &Column, name: &str) {
        let full = format!("{t}.{}", new.name);
        // Direct inheritance children that stay children.
        let kept: Vec<QName> = self
            .live
            .model
            .tables
            .values()
            .filter(|c| c.inherits.contains(t))
            .filter(|c| {
                self.desired
                    .tables
                    .get(&c.name)
                    .is_some_and(|w| w.inherits.contains(t))
            })
            .map(|c| c.name.clone())
            .collect();
        let children: Vec<String> = kept.iter().map(QName::to_string).collect();
        let mut hz = vec![self.lock(t, "briefly, and on its inheritance children")];
        let (what, words) = if new.not_null_no_inherit {
            ("stop inheritance children getting", "NO INHERIT")
        } else {
            if !children.is_empty() {
                hz.push(h(
                    HazardId::ScanUnderLock,
                    Severity::Warning,
                    format!(
                        "adds the constraint to {}, checking their rows while writes to them are blocked",
                        children.join(", ")
                    ),
                ));
                hz.push(h(
                    HazardId::MayFail,
                    Severity::Warning,
                    format!(
                        "fails if {} hold NULLs in {}",
                        children.join(", "),
                        new.name
                    ),
                ));
            }
            ("let inheritance children get", "INHERIT")
        };
        self.push(
            Phase::AlterColumn,
            format!("{what} the NOT NULL constraint of {full}"),
            format!(
                "ALTER TABLE {} ALTER CONSTRAINT {} {words};",
                t.sql(),
                quote_ident(name)
            ),
            hz,
        );
        if !new.not_null_no_inherit {
            return;
        }
        // NO INHERIT leaves the children a local copy of the constraint on
        // their inherited column (which the model does not list): drop it, as
        // a child created under a NO INHERIT constraint has none.
        for child in kept {
            self.push(
                Phase::AlterColumn,
                format!("drop the NOT NULL that {child}.{} kept from {t}", new.name),
                format!(
                    "ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL;",
                    child.sql(),
                    quote_ident(&new.name)
                ),
                vec![self.lock(&child, "briefly")],
            );
        }
    }

    /// The `NOT VALID` NOT NULL constraints of new column `c` of `t`: added
    /// after the column (inside `CREATE TABLE` or `ADD COLUMN` it would be
    /// validated).
    pub(super) fn not_valid_not_null(&mut self, phase: Phase, t: &QName, c: &Column) {
        if !(c.not_null && c.not_null_not_valid) {
            return;
        }
        let name = c.not_null_constraint_name(&t.name);
        let hz = if self.new_tables.contains(t) {
            vec![]
        } else {
            vec![self.lock(t, "briefly (NOT VALID: existing rows are not checked)")]
        };
        self.push(
            phase,
            format!(
                "add NOT NULL constraint {name} on {t}.{} (NOT VALID)",
                c.name
            ),
            add_not_null(t, c, true),
            hz,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::hints::Rename;

    fn live(version: i32) -> Inspected {
        Inspected {
            server_version_num: version,
            server_version: format!("{}.0", version / 10000),
            model: crate::catalog::tests::sample_model(),
            ..Default::default()
        }
    }

    fn sql(live: &Inspected, desired: &Model, opts: &PlanOptions) -> (Vec<String>, Vec<String>) {
        let plan = diff(live, desired, opts);
        (plan.steps.into_iter().map(|s| s.sql).collect(), plan.notes)
    }

    #[test]
    fn a_name_change_is_a_rename_on_18_only() {
        let t0 = QName::new("app", "t0");
        let mut desired = crate::catalog::tests::sample_model();
        let b = desired.tables.get_mut(&t0).unwrap().columns.iter_mut();
        b.filter(|c| c.name == "b")
            .for_each(|c| c.not_null_name = Some("b_named".into()));
        let opts = PlanOptions::default();

        let (steps, _) = sql(&live(180004), &desired, &opts);
        assert_eq!(
            steps,
            vec!["ALTER TABLE app.t0 RENAME CONSTRAINT t0_b_not_null TO b_named;"]
        );

        // PostgreSQL 17 cannot name it: nothing to do, and a note says why.
        let (steps, notes) = sql(&live(170010), &desired, &opts);
        assert!(steps.is_empty(), "{steps:?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("PostgreSQL 17.0") && n.contains("1 column")),
            "{notes:?}"
        );
    }

    #[test]
    fn a_desired_schema_read_before_18_keeps_the_live_names() {
        let t0 = QName::new("app", "t0");
        let mut l = live(180004);
        let b = l.model.tables.get_mut(&t0).unwrap().columns.iter_mut();
        b.filter(|c| c.name == "b").for_each(|c| {
            c.not_null_name = Some("b_live".into());
            c.not_null_not_valid = true;
        });
        let b_of = |i: &Inspected| i.model.tables[&t0].column("b").unwrap().clone();
        for (version, kept) in [(150018, true), (180004, false), (0, false)] {
            let mut desired = live(version);
            let note = keep_live_names(&l, &mut desired);
            assert_eq!(note.is_some(), kept, "{version}");
            let b = b_of(&desired);
            assert_eq!(b.not_null_name.is_some(), kept, "{version}");
            // NOT VALID is not taken: a plain NOT NULL before 18 is a valid one.
            assert!(!b.not_null_not_valid);
        }
    }

    #[test]
    fn a_renamed_table_keeps_its_constraint_names_until_renamed_too() {
        let (from, to) = (QName::new("app", "t0"), QName::new("app", "t9"));
        let mut desired = crate::catalog::tests::sample_model();
        let mut t = desired.tables.remove(&from).unwrap();
        t.name = to.clone();
        desired.tables.insert(to.clone(), t);
        let (old_key, new_key) = (
            format!("TABLE {}", from.sql()),
            format!("TABLE {}", to.sql()),
        );
        let p = desired.privileges.remove(&old_key).unwrap();
        desired.privileges.insert(new_key.clone(), p);
        let o = desired.owners.remove(&old_key).unwrap();
        desired.owners.insert(new_key, o);
        let opts = PlanOptions {
            renames: vec![Rename::Table {
                from: from.clone(),
                to: to.clone(),
            }],
            ..Default::default()
        };
        let (steps, _) = sql(&live(180004), &desired, &opts);
        let renames: Vec<&String> = steps
            .iter()
            .filter(|s| s.contains("RENAME CONSTRAINT"))
            .collect();
        assert_eq!(renames.len(), 3, "{steps:?}");
        assert!(steps.contains(
            &"ALTER TABLE app.t9 RENAME CONSTRAINT t0_b_not_null TO t9_b_not_null;".to_string()
        ));
        // Before 18 there is nothing to rename.
        let (steps, _) = sql(&live(170010), &desired, &opts);
        assert!(
            !steps.iter().any(|s| s.contains("RENAME CONSTRAINT")),
            "{steps:?}"
        );
    }
}
