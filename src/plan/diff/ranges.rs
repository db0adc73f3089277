//! Range types. PostgreSQL cannot alter a range type: a changed one is dropped
//! and created again when nothing uses it, and is a blocker otherwise. Ranges
//! are created with the other types (so functions, columns, domains and
//! composites that use them come after); a subtype difference or canonical
//! function of the schema that the plan creates is created with its range,
//! just before it (a canonical function takes the range itself: its shell type
//! comes first).

use super::*;
use crate::catalog::kinds::{self, RangeType};

/// What the plan does with a range type both sides have.
pub(super) enum RangeChange {
    Same,
    /// Dropped and created again (nothing uses it).
    Recreate,
    /// Cannot be planned; the reason.
    Blocked(String),
}

/// Which ranges a call of [`Builder::ranges`] or [`Builder::drop_ranges`] handles.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    /// Before domains and composites are created (or dropped).
    BeforeTypes,
    /// After them: ranges over a new domain or composite; drops of ranges that
    /// a dropped domain or composite uses.
    AfterTypes,
}

fn same_definition(a: &RangeType, b: &RangeType) -> bool {
    RangeType {
        comment: None,
        ..a.clone()
    } == RangeType {
        comment: None,
        ..b.clone()
    }
}

/// What differs between two definitions of a range type, for messages.
fn differences(have: &RangeType, want: &RangeType) -> String {
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "default".into());
    let mut out = Vec::new();
    let mut diff = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{what} {a} → {b}"));
        }
    };
    diff("subtype", have.subtype.clone(), want.subtype.clone());
    diff(
        "subtype_opclass",
        show(&have.subtype_opclass),
        show(&want.subtype_opclass),
    );
    diff("collation", show(&have.collation), show(&want.collation));
    diff("canonical", show(&have.canonical), show(&want.canonical));
    diff(
        "subtype_diff",
        show(&have.subtype_diff),
        show(&want.subtype_diff),
    );
    let multi = |m: &Option<QName>| m.as_ref().map(QName::to_string).unwrap_or_default();
    diff(
        "multirange_type_name",
        multi(&have.multirange),
        multi(&want.multirange),
    );
    out.join(", ")
}

impl Builder<'_> {
    /// What uses live range `r`: columns, routines, aggregates, views and other
    /// types, described for a message (at most a few named).
    fn range_users(&self, r: &RangeType) -> Vec<String> {
        let live = &self.live.model;
        let mut users = Vec::new();
        for t in live.tables.values() {
            for c in t.columns.iter().filter(|c| r.is_used_by_type(&c.data_type)) {
                users.push(format!("column {}.{}", t.name, c.name));
            }
        }
        let uses = |deps: &[Dep]| {
            deps.iter()
                .any(|d| matches!(d, Dep::Type { name } if r.is_named(name)))
        };
        for (key, f) in &live.functions {
            if uses(&f.depends_on) {
                users.push(format!("{} {key}", f.kind));
            }
        }
        for (key, a) in &live.aggregates {
            if uses(&a.depends_on) {
                users.push(format!("aggregate {key}"));
            }
        }
        for v in live.views.values().filter(|v| uses(&v.depends_on)) {
            users.push(format!("view {}", v.name));
        }
        for d in live.domains.values() {
            if r.is_used_by_type(&d.base_type) {
                users.push(format!("domain {}", d.name));
            }
        }
        for c in live.composites.values() {
            if c.attributes.iter().any(|(_, t, _)| r.is_used_by_type(t)) {
                users.push(format!("type {}", c.name));
            }
        }
        for o in live.ranges.values() {
            if o.name != r.name && r.is_used_by_type(&o.subtype) {
                users.push(format!("range type {}", o.name));
            }
        }
        users
    }

    pub(super) fn range_change(&self, name: &QName) -> RangeChange {
        let (Some(have), Some(want)) = (
            self.live.model.ranges.get(name),
            self.desired.ranges.get(name),
        ) else {
            return RangeChange::Same;
        };
        if same_definition(have, want) {
            return RangeChange::Same;
        }
        let what = differences(have, want);
        if let Some(f) = &have.canonical {
            return RangeChange::Blocked(format!(
                "range type {name} changes ({what}); PostgreSQL cannot alter a range type, and its canonical function {f} depends on it, so the two can only be dropped together with CASCADE, which pgalign never plans; change it by hand"
            ));
        }
        let users = self.range_users(have);
        if users.is_empty() {
            return RangeChange::Recreate;
        }
        let shown: Vec<&str> = users.iter().take(5).map(String::as_str).collect();
        let more = if users.len() > 5 {
            format!(" and {} more", users.len() - 5)
        } else {
            String::new()
        };
        RangeChange::Blocked(format!(
            "range type {name} changes ({what}); PostgreSQL cannot alter a range type, and a new one would need every user rebuilt ({}{more}), which pgalign does not plan; change it by hand",
            shown.join(", ")
        ))
    }

    /// True when the plan drops and creates range `name` again (it then has
    /// PostgreSQL's default owner and privileges).
    pub(super) fn range_recreated(&self, name: &QName) -> bool {
        matches!(self.range_change(name), RangeChange::Recreate)
    }

    /// True when the plan creates function `key` together with a range type
    /// that names it (see the module comment), instead of with the functions.
    pub(super) fn function_created_with_range(&self, key: &str) -> bool {
        let Some(f) = self.desired.functions.get(key) else {
            return false;
        };
        let changed = self
            .live
            .model
            .functions
            .get(key)
            .is_none_or(|old| old.definition != f.definition);
        changed
            && self.desired.ranges.values().any(|r| {
                r.functions().any(|k| k == key)
                    && (!self.live.model.ranges.contains_key(&r.name)
                        || self.range_recreated(&r.name))
            })
    }

    /// Creates and changes of range types for one pass.
    pub(super) fn ranges(&mut self, pass: Pass) {
        let live = &self.live.model;
        // A range over a domain or composite the plan creates waits for it.
        let new_type = |t: &str| {
            let base = t.trim_end_matches("[]");
            let created = |q: &QName| q.sql() == base && !live.domains.contains_key(q);
            self.desired.domains.keys().any(created)
                || self
                    .desired
                    .composites
                    .keys()
                    .any(|q| q.sql() == base && !live.composites.contains_key(q))
        };
        let mut todo: Vec<&RangeType> = self
            .desired
            .ranges
            .values()
            .filter(|r| (pass == Pass::AfterTypes) == new_type(&r.subtype))
            .collect();
        // A range over another range comes after it.
        let depth = |r: &RangeType| {
            let mut d = 0;
            let mut sub = r.subtype.clone();
            while let Some(o) = self
                .desired
                .ranges
                .values()
                .find(|o| o.name.sql() == sub.trim_end_matches("[]"))
            {
                d += 1;
                sub = o.subtype.clone();
                if d > 16 {
                    break;
                }
            }
            d
        };
        todo.sort_by_key(|r| (depth(r), r.name.clone()));
        for want in todo {
            let name = &want.name;
            match (live.ranges.get(name), self.range_change(name)) {
                (None, _) => self.create_range(want),
                (Some(_), RangeChange::Same) => {}
                (Some(_), RangeChange::Blocked(why)) => {
                    self.blocker(Phase::CreateType, format!("change range type {name}"), why)
                }
                (Some(have), RangeChange::Recreate) => {
                    let what = differences(have, want);
                    if self.opts.additive {
                        self.omitted.push(format!(
                            "range type {name} changes ({what}): needs a drop and a create"
                        ));
                        continue;
                    }
                    self.push(
                        Phase::CreateType,
                        format!("drop range type {name} (created again below: {what})"),
                        format!("DROP TYPE {};", name.sql()),
                        vec![h(
                            HazardId::BreaksClients,
                            Severity::Info,
                            format!("{name} is missing until it is created again; nothing in the schema uses it"),
                        )],
                    );
                    self.create_range(want);
                }
            }
        }
    }

    fn create_range(&mut self, r: &RangeType) {
        if r.canonical.is_some() {
            // The canonical function takes the range: it needs the shell first.
            self.push(
                Phase::CreateType,
                format!("create shell type {} for its canonical function", r.name),
                format!("CREATE TYPE {};", r.name.sql()),
                vec![],
            );
        }
        for key in r.functions() {
            if !self.function_created_with_range(key) {
                continue;
            }
            let f = &self.desired.functions[key];
            let sql = ddl::create_function(f);
            // Two new ranges may share one function.
            if self.steps.iter().any(|(_, _, s)| s.sql == sql) {
                continue;
            }
            let hz = self.function_hazards(key, f);
            self.push(
                Phase::CreateType,
                format!("create {} {key} (named by range type {})", f.kind, r.name),
                sql,
                hz,
            );
        }
        self.push(
            Phase::CreateType,
            format!("create range type {}", r.name),
            kinds::create_range(r),
            vec![],
        );
    }

    /// Drops of range types no longer desired, for one pass (see [`Pass`]).
    pub(super) fn drop_ranges(&mut self, pass: Pass) {
        let live = &self.live.model;
        let gone: Vec<&RangeType> = live
            .ranges
            .values()
            .filter(|r| !self.desired.ranges.contains_key(&r.name))
            .filter(|r| {
                let used_by_dropped_type = live
                    .domains
                    .values()
                    .filter(|d| !self.desired.domains.contains_key(&d.name))
                    .any(|d| r.is_used_by_type(&d.base_type))
                    || live
                        .composites
                        .values()
                        .filter(|c| !self.desired.composites.contains_key(&c.name))
                        .any(|c| c.attributes.iter().any(|(_, t, _)| r.is_used_by_type(t)));
                (pass == Pass::AfterTypes) == used_by_dropped_type
            })
            .collect();
        for r in gone {
            let name = &r.name;
            if let Some(f) = &r.canonical {
                let why = format!(
                    "range type {name} goes away, and its canonical function {f} depends on it: the two can only be dropped together with CASCADE, which pgalign never plans; drop them by hand"
                );
                self.blocker(Phase::DropType, format!("drop range type {name}"), why);
                continue;
            }
            self.destructive(
                Phase::DropType,
                format!("drop range type {name}"),
                format!("DROP TYPE {};", name.sql()),
                vec![h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("drops range type {name}; clients that use it break"),
                )],
            );
        }
    }

    /// `COMMENT ON TYPE` for ranges (a recreated range starts without one).
    pub(super) fn range_comments(&mut self) {
        let mut steps = Vec::new();
        for (name, r) in &self.desired.ranges {
            let have = self
                .live
                .model
                .ranges
                .get(name)
                .filter(|_| !self.range_recreated(name))
                .and_then(|o| o.comment.as_deref());
            if have != r.comment.as_deref() {
                let target = format!("TYPE {}", name.sql());
                steps.push((
                    format!("comment on type {name}"),
                    ddl::comment_on(&target, r.comment.as_deref()),
                ));
            }
        }
        for (title, sql) in steps {
            self.push(Phase::Comment, title, sql, vec![]);
        }
    }
}
