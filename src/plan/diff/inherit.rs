//! A column that moves from an `INHERITS` parent down to its children: the
//! parent drops it with `ALTER TABLE ONLY … DROP COLUMN`, which leaves the
//! children's columns in place as their own (`attislocal`), values and all;
//! children that should not keep it drop it afterwards.

use super::*;

impl Builder<'_> {
    /// True when live table `parent` drops `column` and some inheritance child
    /// it keeps wants the column as its own.
    pub(super) fn column_moves_to_children(&self, parent: &QName, column: &str) -> bool {
        !self.moving_children(parent, column).is_empty()
    }

    /// The live inheritance children of `parent` that keep `column` as their
    /// own when `parent` drops it.
    fn moving_children(&self, parent: &QName, column: &str) -> Vec<QName> {
        let live = &self.live.model;
        let parent_drops = live
            .tables
            .get(parent)
            .is_some_and(|p| p.partition_key.is_none() && p.column(column).is_some())
            && self
                .desired
                .tables
                .get(parent)
                .is_some_and(|p| p.column(column).is_none());
        if !parent_drops {
            return Vec::new();
        }
        live.tables
            .values()
            .filter(|c| c.inherits.contains(parent) && c.column(column).is_none())
            .filter(|c| {
                self.desired
                    .tables
                    .get(&c.name)
                    .is_some_and(|w| w.inherits.contains(parent) && w.column(column).is_some())
            })
            .map(|c| c.name.clone())
            .collect()
    }

    /// Adds desired column `col` to live table `have`, unless `have` already
    /// holds it inherited from a parent that drops it (see
    /// [`Self::drop_column_keeping_children`]): then the column stays, and is
    /// altered to its desired definition.
    pub(super) fn add_or_keep_column(&mut self, have: &Table, col: &Column) {
        let from_parent = have.inherits.iter().find_map(|p| {
            self.moving_children(p, &col.name)
                .contains(&have.name)
                .then(|| self.live.model.tables[p].column(&col.name).cloned())
                .flatten()
        });
        match from_parent {
            Some(old) if old != *col => self.alter_column(&have.name, &old, col),
            Some(_) => {}
            None => self.add_column(&have.name, col),
        }
    }

    /// `ALTER TABLE ONLY parent DROP COLUMN`: its inheritance children keep the
    /// column as their own, with their values; those the desired schema wants
    /// without it drop it next. Runs before the children's columns are altered.
    pub(super) fn drop_column_keeping_children(&mut self, t: &QName, col: &Column) {
        let keep = self.moving_children(t, &col.name);
        let names: Vec<String> = keep.iter().map(|c| c.to_string()).collect();
        let sev = self.data_loss_severity(t);
        self.destructive(
            Phase::DropConstraint,
            format!(
                "drop column {t}.{} from {t} only: {} keep(s) it as their own column",
                col.name,
                names.join(", ")
            ),
            format!(
                "ALTER TABLE ONLY {} DROP COLUMN {};",
                t.sql(),
                quote_ident(&col.name)
            ),
            vec![
                h(
                    HazardId::DataLoss,
                    sev,
                    format!(
                        "drops the values of {t}.{} in the rows of {t} itself ({}); the rows of {} keep theirs",
                        col.name,
                        self.size(t),
                        names.join(", ")
                    ),
                ),
                h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!(
                        "clients that read or write {t}.{} (or read it through {t}) break",
                        col.name
                    ),
                ),
                self.lock(t, "briefly, and on its children"),
            ],
        );
        // Other children that keep inheriting from `t` got the column as their
        // own too: those the desired schema wants without it drop it.
        let others: Vec<QName> =
            self.live
                .model
                .tables
                .values()
                .filter(|c| {
                    c.inherits.contains(t)
                        && !keep.contains(&c.name)
                        && c.column(&col.name).is_none()
                        && self.desired.tables.get(&c.name).is_some_and(|w| {
                            w.inherits.contains(t) && w.column(&col.name).is_none()
                        })
                })
                .map(|c| c.name.clone())
                .collect();
        for other in others {
            let sev = self.data_loss_severity(&other);
            self.destructive(
                Phase::DropConstraint,
                format!(
                    "drop column {other}.{}, which {t} no longer passes down",
                    col.name
                ),
                format!(
                    "ALTER TABLE {} DROP COLUMN {};",
                    other.sql(),
                    quote_ident(&col.name)
                ),
                vec![
                    h(
                        HazardId::DataLoss,
                        sev,
                        format!(
                            "drops column {other}.{} and its values ({})",
                            col.name,
                            self.size(&other)
                        ),
                    ),
                    self.lock(&other, "briefly"),
                ],
            );
        }
    }
}

/// A live table that becomes an inheritance child (`INHERIT`) or a partition
/// (`ATTACH PARTITION`): PostgreSQL wants it to hold every column of the
/// parent with the parent's type and collation, `NOT NULL` where the
/// parent's is, and every inheritable check of the parent under the same
/// name and expression. What it lacks is added before it joins, validated
/// (a `NOT VALID` copy is refused), and its own copies of those checks are
/// not dropped: once joined they are the inherited ones.
impl Builder<'_> {
    /// The desired parents `want` joins that live table `have` does not have.
    fn joined_parents<'w>(&self, have: &Table, want: &'w Table) -> Vec<&'w QName> {
        let had: Vec<&QName> = have.parents().collect();
        want.parents().filter(|p| !had.contains(p)).collect()
    }

    /// True when live check `c` of `have` is one a parent it joins passes
    /// down (same name and expression): it stays and becomes the inherited one.
    pub(super) fn check_kept_for_parent(&self, have: &Table, c: &Constraint) -> bool {
        if c.kind != ConstraintKind::Check {
            return false;
        }
        let Some(want) = self.desired.tables.get(&have.name) else {
            return false;
        };
        self.joined_parents(have, want).into_iter().any(|p| {
            self.parent_checks(p)
                .iter()
                .any(|pc| pc.name == c.name && pc.definition == c.definition)
        })
    }

    /// Columns, NOT NULLs and checks live table `have` needs before it joins
    /// the parents `want` gives it (runs in the column phase, before the
    /// `INHERIT` or `ATTACH PARTITION`).
    pub(super) fn prepare_to_join(&mut self, have: &Table, want: &Table) {
        let t = &have.name;
        for p in self.joined_parents(have, want) {
            for pc in self.parent_columns(p) {
                match have.column(&pc.name) {
                    None if self.inherited_columns(have).contains(&pc.name) => {}
                    None => {
                        let mut col = pc.clone();
                        col.identity = None;
                        col.identity_options = None;
                        col.comment = None;
                        self.add_column(t, &col);
                    }
                    Some(cc) => {
                        if cc.data_type != pc.data_type || cc.collation != pc.collation {
                            let mut target = cc.clone();
                            target.data_type = pc.data_type.clone();
                            target.collation = pc.collation.clone();
                            self.alter_column(t, cc, &target);
                        }
                        if pc.not_null && !cc.not_null && !pc.not_null_no_inherit {
                            let full = format!("{t}.{}", cc.name);
                            self.push(
                                Phase::AlterColumn,
                                format!("set not null on {full}, as on {p}, before it joins {p}"),
                                format!(
                                    "ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;",
                                    t.sql(),
                                    quote_ident(&cc.name)
                                ),
                                self.not_null_scan_hazards(t, &full),
                            );
                        }
                    }
                }
            }
            for pc in self.parent_checks(p) {
                let own = have.constraints.get(&pc.name);
                if own.is_some_and(|c| {
                    c.kind == ConstraintKind::Check && c.definition == pc.definition
                }) {
                    continue;
                }
                let size = self.size(t);
                self.push(
                    Phase::AlterColumn,
                    format!(
                        "add check constraint {} on {t}, as on {p}, before it joins {p}",
                        pc.name
                    ),
                    ddl::add_constraint(t, &pc),
                    vec![
                        h(
                            HazardId::ScanUnderLock,
                            self.sized(Severity::Warning, t),
                            format!("checks every row of {t} ({size}) while writes are blocked"),
                        ),
                        h(
                            HazardId::MayFail,
                            Severity::Warning,
                            format!("fails if a row of {t} violates {}", pc.definition),
                        ),
                    ],
                );
            }
        }
    }

    /// Every column desired table `p` has, its own and its ancestors'.
    fn parent_columns(&self, p: &QName) -> Vec<Column> {
        let mut out: Vec<Column> = Vec::new();
        let mut todo = vec![p];
        let mut guard = 0;
        while let Some(q) = todo.pop() {
            guard += 1;
            if guard > 64 {
                break;
            }
            let Some(t) = self.desired.tables.get(q) else {
                continue;
            };
            for c in &t.columns {
                if !out.iter().any(|o| o.name == c.name) {
                    out.push(c.clone());
                }
            }
            todo.extend(t.parents());
        }
        out
    }

    /// The inheritable checks desired table `p` has, its own and its
    /// ancestors' (without `NO INHERIT`), with their definitions.
    fn parent_checks(&self, p: &QName) -> Vec<Constraint> {
        let mut out: Vec<Constraint> = Vec::new();
        let mut todo = vec![p];
        let mut guard = 0;
        while let Some(q) = todo.pop() {
            guard += 1;
            if guard > 64 {
                break;
            }
            let Some(t) = self.desired.tables.get(q) else {
                continue;
            };
            for c in t.constraints.values() {
                if c.kind == ConstraintKind::Check
                    && !c.definition.contains(" NO INHERIT")
                    && !out.iter().any(|o| o.name == c.name)
                {
                    let mut c = c.clone();
                    // The child's copy is validated: a NOT VALID one is refused.
                    c.definition = c.definition.trim_end_matches(" NOT VALID").to_string();
                    out.push(c);
                }
            }
            todo.extend(t.parents());
        }
        out
    }
}
