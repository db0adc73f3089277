//! A plan that would remove most of the live schema (DESIGN.md §6). An empty
//! file, `cmd:true` or an ORM that printed nothing is a desired schema with no
//! tables, and its plan drops every one of them; `--allow-hazards data-loss`,
//! which pipelines pass on every run, would let it through. Such a plan starts
//! with a blocker step instead, and only `--allow-drop-all` (or the reviewer
//! typing the count in the wizard) turns it into a `danger` on the first drop.

use super::*;

/// What the plan does when it would drop most of the live tables or schemas.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DropAll {
    /// Not checked: planning one model against another (the library, tests).
    /// `plan::compute`, the path of diff, verify and the wizard, refuses.
    #[default]
    Unchecked,
    /// A blocker step first in the plan (the default of diff and the wizard).
    Refuse,
    /// `--allow-drop-all`: the first drop carries a `danger` naming the count.
    Allow,
    /// The reviewer typed this count: allowed when the plan drops exactly as
    /// many tables (or schemas), refused otherwise.
    Exactly(usize),
}

/// Title of the blocker step; the count follows (see [`guard_count`]).
const GUARD_TITLE: &str = "stop: the plan drops ";

/// How much of the live schema the desired one leaves out (both scoped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub tables: usize,
    pub of_tables: usize,
    pub schemas: usize,
    pub of_schemas: usize,
    /// Tables the desired schema has (none: it is empty).
    pub desired_tables: usize,
}

impl Dropped {
    pub fn between(live: &Model, desired: &Model) -> Dropped {
        let gone = |live: Vec<bool>| live.iter().filter(|kept| !**kept).count();
        Dropped {
            tables: gone(
                live.tables
                    .keys()
                    .map(|t| desired.tables.contains_key(t))
                    .collect(),
            ),
            of_tables: live.tables.len(),
            schemas: gone(
                live.schemas
                    .keys()
                    .map(|s| desired.schemas.contains_key(s))
                    .collect(),
            ),
            of_schemas: live.schemas.len(),
            desired_tables: desired.tables.len(),
        }
    }

    fn tables_are_most(&self) -> bool {
        self.of_tables > 0 && self.tables * 2 > self.of_tables
    }

    /// Every table, or more than half of the tables or of the schemas. A live
    /// database without tables has nothing to lose.
    pub fn is_most(&self) -> bool {
        self.tables_are_most() || (self.of_schemas > 0 && self.schemas * 2 > self.of_schemas)
    }

    /// The number a reviewer types: tables when they are the reason, else schemas.
    pub fn count(&self) -> usize {
        if self.tables_are_most() {
            self.tables
        } else {
            self.schemas
        }
    }

    /// `9 of 12 tables`.
    fn what(&self) -> String {
        if self.tables_are_most() {
            format!("{} of {} tables", self.tables, self.of_tables)
        } else {
            format!("{} of {} schemas", self.schemas, self.of_schemas)
        }
    }

    /// `the desired schema is empty` / `the desired schema drops 9 of 12 tables`.
    fn phrase(&self) -> String {
        if self.desired_tables == 0 && self.tables_are_most() {
            format!(
                "the desired schema is empty: it drops all {} tables",
                self.tables
            )
        } else {
            format!("the desired schema drops {}", self.what())
        }
    }
}

/// The count of a plan's drop-all blocker step, when it has one.
pub fn guard_count(steps: &[Step]) -> Option<usize> {
    steps.iter().find_map(|s| {
        let rest = s.title.strip_prefix(GUARD_TITLE)?;
        s.hazards
            .iter()
            .any(|h| h.severity == Severity::Blocker)
            .then(|| rest.split_whitespace().next()?.parse().ok())?
    })
}

impl Builder<'_> {
    /// The blocker step, or the danger on the first drop, when `dropped` is most
    /// of the live schema. Additive plans drop nothing.
    pub(super) fn drop_all(&mut self, dropped: &Dropped) {
        if self.opts.additive || !dropped.is_most() {
            return;
        }
        let phrase = dropped.phrase();
        let allowed_by = match self.opts.drop_all {
            DropAll::Unchecked => return,
            DropAll::Allow => Some("--allow-drop-all".to_string()),
            DropAll::Exactly(n) if n == dropped.count() => {
                Some(format!("the reviewer, who typed {n}"))
            }
            DropAll::Refuse | DropAll::Exactly(_) => None,
        };
        if let Some(by) = allowed_by {
            let first = self
                .steps
                .iter_mut()
                .filter(|(p, _, _)| matches!(p, Phase::DropTable | Phase::DropSchema))
                .min_by_key(|(p, seq, _)| (*p, *seq));
            if let Some((_, _, step)) = first {
                step.hazards.insert(
                    0,
                    h(
                        HazardId::DataLoss,
                        Severity::Danger,
                        format!("{phrase} (allowed by {by})"),
                    ),
                );
            }
            return;
        }
        let why = format!(
            "{phrase}: was the source right? If it was, plan again with --allow-drop-all (or type {} on the wizard's Review step)",
            dropped.count()
        );
        let sql_why = why.replace('\'', "''");
        self.push(
            Phase::Guard,
            format!("{GUARD_TITLE}{}", dropped.what()),
            format!(
                "DO $pgalign$ BEGIN RAISE EXCEPTION 'pgalign refuses this plan: {sql_why}'; END $pgalign$;"
            ),
            vec![h(HazardId::DataLoss, Severity::Blocker, why)],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PlanOptions;

    fn live_with(tables: &[&str]) -> Inspected {
        let template = crate::catalog::tests::sample_model()
            .tables
            .into_values()
            .next()
            .unwrap();
        let mut m = Model::default();
        m.schemas.insert("public".into(), Default::default());
        for t in tables {
            let name = QName::new("public", *t);
            let mut table = template.clone();
            table.name = name.clone();
            table.constraints.clear();
            m.tables.insert(name, table);
        }
        Inspected {
            model: m,
            ..Default::default()
        }
    }

    fn plan(live: &Inspected, desired: &Model, drop_all: DropAll) -> crate::plan::Plan {
        let opts = PlanOptions {
            drop_all,
            ..Default::default()
        };
        super::super::diff(live, desired, &opts)
    }

    #[test]
    fn an_empty_desired_schema_is_a_blocker_first_in_the_plan() {
        let live = live_with(&["a", "b", "c"]);
        let empty = live_with(&[]).model;
        let p = plan(&live, &empty, DropAll::Refuse);
        let first = &p.steps[0];
        assert_eq!(first.title, "stop: the plan drops 3 of 3 tables");
        assert!(first.sql.contains("RAISE EXCEPTION"), "{}", first.sql);
        let h = &first.hazards[0];
        assert_eq!((h.id, h.severity), (HazardId::DataLoss, Severity::Blocker));
        assert!(
            h.detail.starts_with(
                "the desired schema is empty: it drops all 3 tables: was the source right?"
            ),
            "{}",
            h.detail
        );
        assert_eq!(guard_count(&p.steps), Some(3));
        // Unchecked (a plain model diff) and additive plans carry nothing.
        assert_eq!(
            guard_count(&plan(&live, &empty, DropAll::Unchecked).steps),
            None
        );
    }

    #[test]
    fn allowing_it_leaves_a_danger_naming_the_count_on_the_first_drop() {
        let live = live_with(&["a", "b", "c", "d"]);
        let desired = live_with(&["d"]).model;
        for how in [DropAll::Allow, DropAll::Exactly(3)] {
            let p = plan(&live, &desired, how);
            assert_eq!(guard_count(&p.steps), None);
            assert_eq!(p.summary().blocker, 0);
            let first_drop = p
                .steps
                .iter()
                .find(|s| s.sql.starts_with("DROP TABLE"))
                .unwrap();
            let h = &first_drop.hazards[0];
            assert_eq!((h.id, h.severity), (HazardId::DataLoss, Severity::Danger));
            assert!(
                h.detail.contains("drops 3 of 4 tables (allowed by"),
                "{}",
                h.detail
            );
        }
        // A typed count that is not the plan's does not lift it.
        assert_eq!(
            guard_count(&plan(&live, &desired, DropAll::Exactly(2)).steps),
            Some(3)
        );
    }

    #[test]
    fn half_or_less_and_an_empty_live_database_are_no_reason() {
        let live = live_with(&["a", "b", "c", "d"]);
        assert!(!Dropped::between(&live.model, &live_with(&["c", "d"]).model).is_most());
        let empty = live_with(&[]);
        let d = Dropped::between(&empty.model, &live_with(&["x"]).model);
        assert!(!d.is_most(), "{d:?}");
        assert_eq!(
            guard_count(&plan(&empty, &empty.model, DropAll::Refuse).steps),
            None
        );
        let mut two = live_with(&[]).model;
        two.schemas.insert("app".into(), Default::default());
        two.schemas.insert("billing".into(), Default::default());
        let d = Dropped::between(&two, &live_with(&[]).model);
        assert!(d.is_most() && d.count() == 2, "{d:?}");
    }
}
