//! Which objects a comparison covers: `--schema` (only these), `--exclude-schema`
//! and `--exclude` glob patterns on qualified names (`jobs.*`, `public.pgboss_*`)
//! for objects other tools manage. Applied to both sides alike, after reading.

use super::model::*;

/// A scope; the default covers everything. Plans record it in their header so
/// `apply` checks drift within the same scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scope {
    /// When not empty, only these schemas.
    pub schemas: Vec<String>,
    pub exclude_schemas: Vec<String>,
    /// Glob patterns (`*`, `?`) matched against `schema.name`.
    pub exclude: Vec<String>,
    /// Compare privileges (`GRANT`/`REVOKE`); off by default, since a desired
    /// schema from an ORM carries none and would revoke every grant.
    #[serde(default)]
    pub with_privileges: bool,
    /// Compare owners (`ALTER … OWNER TO`); off by default, since the shadow
    /// database's objects belong to whoever loaded them.
    #[serde(default)]
    pub with_owners: bool,
}

impl Scope {
    /// True when the scope narrows nothing (privileges and owners are then
    /// compared only when asked for; see [`Scope::apply`]).
    pub fn is_everything(&self) -> bool {
        self.schemas.is_empty()
            && self.exclude_schemas.is_empty()
            && self.exclude.is_empty()
            && self.with_privileges
            && self.with_owners
    }

    pub fn schema_in(&self, schema: &str) -> bool {
        (self.schemas.is_empty() || self.schemas.iter().any(|s| s == schema))
            && !self.exclude_schemas.iter().any(|s| s == schema)
    }

    /// True when the object `name` is in scope.
    pub fn covers(&self, name: &QName) -> bool {
        self.schema_in(&name.schema)
            && !self
                .exclude
                .iter()
                .any(|p| glob(p, &format!("{}.{}", name.schema, name.name)))
    }

    /// The fingerprint of `m` within this scope.
    pub fn fingerprint(&self, m: &Model) -> String {
        if self.schemas.is_empty() && self.exclude_schemas.is_empty() && self.exclude.is_empty() {
            // Only privileges or owners are left out: no copy needed.
            return m.fingerprint_with(self.with_privileges, self.with_owners);
        }
        let mut m = m.clone();
        self.apply(&mut m);
        m.fingerprint()
    }

    /// Removes everything out of scope from `m`.
    pub fn apply(&self, m: &mut Model) {
        if !self.with_privileges {
            m.privileges.clear();
        }
        if !self.with_owners {
            m.owners.clear();
        }
        // Event triggers belong to no schema: they follow their function.
        m.event_triggers
            .retain(|_, e| self.covers(&super::kinds::routine_qname(&e.function)));
        let event_triggers: std::collections::BTreeSet<String> =
            m.event_triggers.keys().map(|n| quote_ident(n)).collect();
        let keep_target = |target: &str| {
            if let Some(name) = target.strip_prefix("EVENT TRIGGER ") {
                return event_triggers.contains(name);
            }
            if let Some(rest) = target.strip_prefix("DEFAULT PRIVILEGES ") {
                // Global entries stay; per-schema ones follow the schema filter.
                return match rest.split_once(" IN SCHEMA ") {
                    Some((_, tail)) => {
                        let schema = tail.rsplit_once(" ON ").map(|x| x.0).unwrap_or(tail);
                        self.schema_in(&schema.trim_matches('"').replace("\"\"", "\""))
                    }
                    None => true,
                };
            }
            // `KIND schema.name…`: out of scope when that name is.
            let name = target.split_once(' ').map(|x| x.1).unwrap_or(target);
            let name = name.split('(').next().unwrap_or(name);
            match QName::parse(name) {
                Some(q) => self.covers(&q),
                None => match name.rsplit_once('.') {
                    Some((rel, _)) => QName::parse(rel).is_none_or(|q| self.covers(&q)),
                    None => self.schema_in(name.trim_matches('"')),
                },
            }
        };
        m.privileges.retain(|k, _| keep_target(k));
        m.owners.retain(|k, _| keep_target(k));
        m.schemas.retain(|s, _| self.schema_in(s));
        m.extensions.retain(|_, e| self.schema_in(&e.schema));
        m.enums.retain(|n, _| self.covers(n));
        m.domains.retain(|n, _| self.covers(n));
        m.composites.retain(|n, _| self.covers(n));
        m.sequences.retain(|n, _| self.covers(n));
        m.tables.retain(|n, _| self.covers(n));
        m.views.retain(|n, _| self.covers(n));
        let relations_kept = |n: &QName| self.covers(n);
        m.indexes
            .retain(|n, i| self.covers(n) && relations_kept(&i.table));
        m.functions
            .retain(|_, f| self.covers(&QName::new(f.schema.clone(), f.name.clone())));
        m.triggers.retain(|_, t| relations_kept(&t.table));
        m.policies.retain(|_, p| relations_kept(&p.table));
        m.statistics
            .retain(|n, st| self.covers(n) && relations_kept(&st.table));
        m.rules.retain(|_, r| relations_kept(&r.table));
        m.collations.retain(|n, _| self.covers(n));
        m.ranges.retain(|n, _| self.covers(n));
        m.aggregates
            .retain(|_, a| self.covers(&QName::new(a.schema.clone(), a.name.clone())));
        for s in m.sequences.values_mut() {
            if s.owned_by.as_ref().is_some_and(|(t, _)| !self.covers(t)) {
                s.owned_by = None;
            }
        }
        m.unmanaged.retain(|key, _| {
            // Keys read `<kind words> schema.name…`: keep unless a qualified
            // name in it is out of scope.
            key.split_whitespace()
                .filter_map(|w| QName::parse(w.split('(').next().unwrap_or(w)))
                .all(|q| self.covers(&q))
        });
    }
}

/// Glob matching with `*` (any run) and `?` (one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_qualified_names() {
        assert!(glob("jobs.*", "jobs.queue"));
        assert!(glob("public.pgboss_*", "public.pgboss_job"));
        assert!(!glob("public.pgboss_*", "public.users"));
        assert!(glob("*.tmp_?", "x.tmp_1"));
        assert!(!glob("*.tmp_?", "x.tmp_12"));
    }

    #[test]
    fn scope_filters_schemas_and_patterns() {
        let scope = Scope {
            schemas: vec![],
            exclude_schemas: vec!["audit".into()],
            exclude: vec!["public.jobs*".into()],
            ..Default::default()
        };
        assert!(scope.covers(&QName::new("public", "users")));
        assert!(!scope.covers(&QName::new("public", "jobs_queue")));
        assert!(!scope.covers(&QName::new("audit", "log")));
        let only = Scope {
            schemas: vec!["app".into()],
            ..Default::default()
        };
        assert!(only.covers(&QName::new("app", "t")));
        assert!(!only.covers(&QName::new("public", "t")));
    }
}
