//! `COMMENT ON` for every commented kind. An object the plan creates or
//! recreates starts without a comment, so its desired comment is set again.

use super::*;

impl Builder<'_> {
    pub(super) fn comments(&mut self) {
        let live = &self.live.model;
        let want = self.desired;
        let mut items: Vec<(String, Option<&str>, Option<&str>)> = Vec::new();
        for (name, s) in &want.schemas {
            let have = live.schemas.get(name).and_then(|l| l.comment.as_deref());
            items.push((
                format!("SCHEMA {}", quote_ident(name)),
                have,
                s.comment.as_deref(),
            ));
        }
        for (name, t) in &want.tables {
            let old = live.tables.get(name);
            items.push((
                format!("TABLE {}", name.sql()),
                old.and_then(|o| o.comment.as_deref()),
                t.comment.as_deref(),
            ));
            for c in &t.columns {
                let have = old
                    .and_then(|o| o.column(&c.name))
                    .filter(|oc| oc.generated == c.generated)
                    .and_then(|oc| oc.comment.as_deref());
                // Only differences make steps: no target text for the rest.
                if have == c.comment.as_deref() {
                    continue;
                }
                items.push((
                    format!("COLUMN {}.{}", name.sql(), quote_ident(&c.name)),
                    have,
                    c.comment.as_deref(),
                ));
            }
            for c in t.constraints.values() {
                let have = old
                    .and_then(|o| o.constraints.get(&c.name))
                    .filter(|oc| oc.definition == c.definition)
                    .and_then(|oc| oc.comment.as_deref());
                if have == c.comment.as_deref() {
                    continue;
                }
                items.push((
                    format!("CONSTRAINT {} ON {}", quote_ident(&c.name), name.sql()),
                    have,
                    c.comment.as_deref(),
                ));
            }
        }
        for (name, i) in &want.indexes {
            let have = live
                .indexes
                .get(name)
                .filter(|o| o.definition == i.definition && !self.deps.views.contains(&i.table))
                .and_then(|o| o.comment.as_deref());
            if have == i.comment.as_deref() {
                continue;
            }
            items.push((format!("INDEX {}", name.sql()), have, i.comment.as_deref()));
        }
        for (name, s) in &want.sequences {
            let have = live.sequences.get(name).and_then(|o| o.comment.as_deref());
            items.push((
                format!("SEQUENCE {}", name.sql()),
                have,
                s.comment.as_deref(),
            ));
        }
        for (name, v) in &want.views {
            let have = live
                .views
                .get(name)
                .filter(|_| !self.deps.views.contains(name))
                .and_then(|o| o.comment.as_deref());
            let what = if v.materialized {
                "MATERIALIZED VIEW"
            } else {
                "VIEW"
            };
            items.push((format!("{what} {}", name.sql()), have, v.comment.as_deref()));
        }
        for (key, f) in &want.functions {
            let have = live
                .functions
                .get(key)
                .filter(|_| !self.deps.functions.contains(key))
                .and_then(|o| o.comment.as_deref());
            items.push((
                format!("{} {key}", f.kind.to_uppercase()),
                have,
                f.comment.as_deref(),
            ));
        }
        for (key, t) in &want.triggers {
            let have = live
                .triggers
                .get(key)
                .filter(|o| {
                    o.definition == t.definition
                        && !self.deps.triggers.contains(key)
                        && !self.relation_goes(&o.table)
                })
                .and_then(|o| o.comment.as_deref());
            items.push((
                format!("TRIGGER {} ON {}", quote_ident(&t.name), t.table.sql()),
                have,
                t.comment.as_deref(),
            ));
        }
        for (name, e) in &want.enums {
            let have = live.enums.get(name).and_then(|o| o.comment.as_deref());
            items.push((format!("TYPE {}", name.sql()), have, e.comment.as_deref()));
        }
        for (name, d) in &want.domains {
            let have = live.domains.get(name).and_then(|o| o.comment.as_deref());
            items.push((format!("DOMAIN {}", name.sql()), have, d.comment.as_deref()));
        }
        for (name, c) in &want.composites {
            let have = live.composites.get(name).and_then(|o| o.comment.as_deref());
            items.push((format!("TYPE {}", name.sql()), have, c.comment.as_deref()));
        }
        for (target, have, want) in items {
            if have != want {
                let title = format!("comment on {}", target.to_lowercase());
                self.push(
                    Phase::Comment,
                    title,
                    ddl::comment_on(&target, want),
                    vec![],
                );
            }
        }
    }
}
