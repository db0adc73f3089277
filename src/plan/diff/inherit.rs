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
