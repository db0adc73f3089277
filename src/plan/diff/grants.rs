//! Owners (`ALTER … OWNER TO`) and privileges (`GRANT`/`REVOKE`), compared
//! only when the scope asks for them. An object the plan creates or recreates
//! starts with the defaults PostgreSQL gives it (`acldefault`: `EXECUTE` to
//! `PUBLIC` on functions, `USAGE` to `PUBLIC` on types, nothing else) and is
//! owned by the role that applies the plan.

use super::*;

/// What a `GRANT … ON <target>` target names.
enum Target<'t> {
    Schema(&'t str),
    Relation(QName),
    Sequence(QName),
    Column(QName, String),
    Routine(&'t str),
    Aggregate(&'t str),
    Type(QName),
}

fn parse_target(target: &str) -> Option<Target<'_>> {
    let (kind, rest) = target.split_once(' ')?;
    Some(match kind {
        "SCHEMA" => Target::Schema(rest),
        "TABLE" => Target::Relation(QName::parse(rest)?),
        "SEQUENCE" => Target::Sequence(QName::parse(rest)?),
        "COLUMN" => {
            // schema.table.column: the last part is the column.
            let (rel, col) = split_last(rest)?;
            Target::Column(QName::parse(rel)?, unquote(col))
        }
        "FUNCTION" | "PROCEDURE" => Target::Routine(rest),
        "AGGREGATE" => Target::Aggregate(rest),
        "TYPE" | "DOMAIN" => Target::Type(QName::parse(rest)?),
        _ => return None,
    })
}

/// Splits `a.b."c.d"` at its last top-level dot.
fn split_last(s: &str) -> Option<(&str, &str)> {
    let mut in_quotes = false;
    let mut last = None;
    for (i, ch) in s.char_indices() {
        match ch {
            '"' => in_quotes = !in_quotes,
            '.' if !in_quotes => last = Some(i),
            _ => {}
        }
    }
    last.map(|i| (&s[..i], &s[i + 1..]))
}

fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => s.to_string(),
    }
}

/// Whether `target` exists in `m`.
fn exists(m: &Model, t: &Target) -> bool {
    match t {
        Target::Schema(s) => m.schemas.contains_key(&unquote(s)),
        Target::Relation(q) => m.tables.contains_key(q) || m.views.contains_key(q),
        Target::Sequence(q) => m.sequences.contains_key(q),
        Target::Column(q, c) => m.tables.get(q).is_some_and(|t| t.column(c).is_some()),
        Target::Routine(key) => m.functions.contains_key(*key),
        Target::Aggregate(key) => m.aggregates.contains_key(*key),
        Target::Type(q) => {
            m.enums.contains_key(q)
                || m.domains.contains_key(q)
                || m.composites.contains_key(q)
                || m.ranges.contains_key(q)
        }
    }
}

impl Builder<'_> {
    /// True when the plan creates `t` or drops and recreates it.
    fn fresh(&self, t: &Target) -> bool {
        let live = &self.live.model;
        !exists(live, t)
            || match t {
                Target::Relation(q) => self.deps.views.contains(q),
                Target::Column(q, c) => live
                    .tables
                    .get(q)
                    .and_then(|t| t.column(c))
                    .zip(self.desired.tables.get(q).and_then(|t| t.column(c)))
                    .is_some_and(|(a, b)| a.generated != b.generated),
                Target::Routine(key) => self.deps.functions.contains(*key),
                Target::Aggregate(key) => self.deps.aggregates.contains(*key),
                Target::Type(q) => self.range_recreated(q),
                _ => false,
            }
    }

    /// Before `ALTER SEQUENCE s OWNED BY t.c`, which PostgreSQL refuses
    /// unless `s` and `t` have one owner: with owners in scope, `s` gets the
    /// owner `t` has at that point (the owner steps later give `t` its desired
    /// owner, which its sequences follow); without, a blocker that says so.
    /// `linked`: the sequence is still linked to another table at that point
    /// (PostgreSQL moves a linked sequence only with its table), so it is
    /// released first.
    pub(super) fn match_sequence_owner(
        &mut self,
        s: &Sequence,
        created: bool,
        linked: bool,
        phase: Phase,
    ) {
        let Some((table, _)) = &s.owned_by else {
            return;
        };
        let me = &self.live.current_user;
        if me.is_empty() {
            return; // a model read from JSON: who applies the plan is unknown
        }
        let seq_owner = if created {
            Some(me)
        } else {
            self.live_owners.get(&format!("SEQUENCE {}", s.name.sql()))
        };
        let table_owner = if self.new_tables.contains(table) {
            Some(me)
        } else {
            self.live_owners.get(&format!("TABLE {}", table.sql()))
        };
        let (Some(seq_owner), Some(table_owner)) = (seq_owner, table_owner) else {
            return;
        };
        if seq_owner == table_owner {
            return;
        }
        let (seq_owner, table_owner) = (seq_owner.clone(), table_owner.clone());
        let how = if created {
            "is created by"
        } else {
            "is owned by"
        };
        if self.opts.scope.with_owners {
            if linked {
                self.push(
                    phase,
                    format!("release sequence {} so that its owner can change", s.name),
                    format!("ALTER SEQUENCE {} OWNED BY NONE;", s.name.sql()),
                    vec![],
                );
            }
            self.push(
                phase,
                format!(
                    "set owner of sequence {} to {table_owner}, the owner of {table}, before it is linked to it",
                    s.name
                ),
                format!("ALTER SEQUENCE {} OWNER TO {table_owner};", s.name.sql()),
                vec![h(
                    HazardId::Authz,
                    Severity::Warning,
                    format!(
                        "{table_owner} becomes the owner of sequence {}, with every right on it",
                        s.name
                    ),
                )],
            );
        } else {
            self.blocker(
                phase,
                format!("link sequence {} to {table}", s.name),
                format!(
                    "sequence {} {how} {seq_owner} but {table}, which is to own it, is owned by {table_owner}, and PostgreSQL links a sequence only to a table of the same owner; plan with --with-owners so that the sequence gets {table_owner} first",
                    s.name
                ),
            );
        }
    }

    /// True when the owner step of `target` is left to its table: a sequence
    /// the desired side links to a table column with the table's owner
    /// follows that table's owner (`ALTER TABLE … OWNER TO` moves it too, and
    /// PostgreSQL refuses to move it alone).
    fn owner_follows_table(&self, t: &Target, owner: &str) -> bool {
        let Target::Sequence(q) = t else {
            return false;
        };
        self.desired
            .sequences
            .get(q)
            .and_then(|s| s.owned_by.as_ref())
            .and_then(|(table, _)| self.desired.owners.get(&format!("TABLE {}", table.sql())))
            .is_some_and(|o| o == owner)
    }

    pub(super) fn owners(&mut self) {
        for (target, owner) in &self.desired.owners {
            let Some(t) = parse_target(target) else {
                continue;
            };
            if !exists(self.desired, &t) || self.owner_follows_table(&t, owner) {
                continue;
            }
            let have = if self.fresh(&t) {
                Some(&self.live.current_user)
            } else {
                self.live.model.owners.get(target)
            };
            if have == Some(owner) {
                continue;
            }
            let what = match &t {
                Target::Relation(q) => match self.desired.views.get(q) {
                    Some(v) if v.materialized => format!("MATERIALIZED VIEW {}", q.sql()),
                    Some(_) => format!("VIEW {}", q.sql()),
                    None => format!("TABLE {}", q.sql()),
                },
                Target::Aggregate(key) => {
                    format!("AGGREGATE {}", self.desired.aggregates[*key].signature())
                }
                _ => target.clone(),
            };
            self.push(
                Phase::Owner,
                format!("set owner of {} to {owner}", target.to_lowercase()),
                format!("ALTER {what} OWNER TO {owner};"),
                vec![h(
                    HazardId::Authz,
                    Severity::Warning,
                    format!("{owner} becomes the owner of {target}, with every right on it"),
                )],
            );
        }
    }

    /// `ALTER DEFAULT PRIVILEGES` entries, keyed
    /// `DEFAULT PRIVILEGES FOR ROLE r [IN SCHEMA s] ON TABLES` (or SEQUENCES,
    /// FUNCTIONS, TYPES, SCHEMAS): what objects that role creates later get.
    pub(super) fn default_privileges(&mut self) {
        let keys: BTreeSet<&String> = self
            .desired
            .privileges
            .keys()
            .chain(self.live.model.privileges.keys())
            .filter(|k| k.starts_with("DEFAULT PRIVILEGES "))
            .collect();
        for key in keys {
            let Some((head, kind)) = key.rsplit_once(" ON ") else {
                continue;
            };
            let role_part = head.trim_start_matches("DEFAULT PRIVILEGES ");
            let entries = |m: &Model| -> BTreeSet<String> {
                m.privileges
                    .get(key)
                    .map(|v| v.iter().cloned().collect())
                    .unwrap_or_default()
            };
            let have = entries(&self.live.model);
            let want = entries(self.desired);
            for e in have.difference(&want) {
                let Some((grantee, p)) = e.rsplit_once(':') else {
                    continue;
                };
                let p = p.trim_end_matches('*');
                self.grant_step(
                    format!(
                        "ALTER DEFAULT PRIVILEGES {role_part} REVOKE {p} ON {kind} FROM {grantee};"
                    ),
                    format!(
                        "default privileges {}: revoke {p} on {} from {grantee}",
                        role_part.to_lowercase(),
                        kind.to_lowercase()
                    ),
                );
            }
            for e in want.difference(&have) {
                let Some((grantee, p)) = e.rsplit_once(':') else {
                    continue;
                };
                let (p, with) = match p.strip_suffix('*') {
                    Some(p) => (p, " WITH GRANT OPTION"),
                    None => (p, ""),
                };
                self.grant_step(
                    format!("ALTER DEFAULT PRIVILEGES {role_part} GRANT {p} ON {kind} TO {grantee}{with};"),
                    format!("default privileges {}: grant {p} on {} to {grantee}", role_part.to_lowercase(), kind.to_lowercase()),
                );
            }
        }
    }

    pub(super) fn privileges(&mut self) {
        // Routines are keyed by their kind (`FUNCTION …`, `PROCEDURE …`): a
        // routine whose kind changes is one target, named by its desired kind
        // (`GRANT … ON FUNCTION` refuses a procedure and the other way round).
        let mut targets: BTreeSet<String> = self
            .desired
            .privileges
            .keys()
            .chain(self.live.model.privileges.keys())
            .map(|k| routine_target(self.desired, k).unwrap_or_else(|| k.clone()))
            .collect();
        // Objects the plan creates start with PostgreSQL's defaults (EXECUTE
        // or USAGE to PUBLIC); a desired side that revoked them has no entry.
        targets.extend(self.fresh_with_default_privileges());
        // A table-level REVOKE also revokes the same privilege on every column:
        // column targets go after table targets.
        let (columns, others): (Vec<&String>, Vec<&String>) =
            targets.iter().partition(|t| t.starts_with("COLUMN "));
        for target in others.into_iter().chain(columns) {
            let Some(t) = parse_target(target) else {
                continue;
            };
            if !exists(self.desired, &t) {
                continue;
            }
            // The live entry of a routine is under its live kind.
            let live_key = match &t {
                Target::Routine(key) => self
                    .live
                    .model
                    .functions
                    .get(*key)
                    .map(|f| format!("{} {key}", f.kind.to_uppercase()))
                    .unwrap_or_else(|| target.clone()),
                _ => target.clone(),
            };
            let defaults: Vec<String> = match &t {
                Target::Routine(..) | Target::Aggregate(..) => vec!["PUBLIC:EXECUTE".into()],
                Target::Type(..) => vec!["PUBLIC:USAGE".into()],
                _ => vec![],
            };
            let have: BTreeSet<&str> = if self.fresh(&t) {
                defaults.iter().map(String::as_str).collect()
            } else {
                self.live
                    .model
                    .privileges
                    .get(&live_key)
                    .map(|v| v.iter().map(String::as_str).collect())
                    .unwrap_or_default()
            };
            let want: BTreeSet<&str> = self
                .desired
                .privileges
                .get(target.as_str())
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            if have == want {
                continue;
            }
            let (on, cols) = match &t {
                Target::Column(q, c) => (
                    format!("TABLE {}", q.sql()),
                    format!(" ({})", quote_ident(c)),
                ),
                Target::Aggregate(key) => (format!("FUNCTION {key}"), String::new()),
                _ => (target.clone(), String::new()),
            };
            // grantee → (privilege, with grant option)
            let split = |e: &str| -> Option<(String, String, bool)> {
                let (grantee, p) = e.rsplit_once(':')?;
                let option = p.ends_with('*');
                Some((
                    grantee.to_string(),
                    p.trim_end_matches('*').to_string(),
                    option,
                ))
            };
            let have_v: Vec<(String, String, bool)> =
                have.iter().filter_map(|e| split(e)).collect();
            let want_v: Vec<(String, String, bool)> =
                want.iter().filter_map(|e| split(e)).collect();
            for (grantee, privilege, option) in &have_v {
                match want_v
                    .iter()
                    .find(|(g, p, _)| g == grantee && p == privilege)
                {
                    None => self.grant_step(
                        format!("REVOKE {privilege}{cols} ON {on} FROM {grantee};"),
                        format!(
                            "revoke {privilege} on {} from {grantee}",
                            target.to_lowercase()
                        ),
                    ),
                    Some((_, _, false)) if *option => self.grant_step(
                        format!(
                            "REVOKE GRANT OPTION FOR {privilege}{cols} ON {on} FROM {grantee};"
                        ),
                        format!(
                            "revoke grant option for {privilege} on {} from {grantee}",
                            target.to_lowercase()
                        ),
                    ),
                    _ => {}
                }
            }
            for (grantee, privilege, option) in &want_v {
                let had = have_v
                    .iter()
                    .find(|(g, p, _)| g == grantee && p == privilege);
                if had.is_none() || (*option && !had.is_some_and(|h| h.2)) {
                    let with = if *option { " WITH GRANT OPTION" } else { "" };
                    self.grant_step(
                        format!("GRANT {privilege}{cols} ON {on} TO {grantee}{with};"),
                        format!(
                            "grant {privilege} on {} to {grantee}",
                            target.to_lowercase()
                        ),
                    );
                }
            }
        }
    }

    /// Targets of the routines, aggregates and types the plan creates or
    /// recreates, which start with PostgreSQL's default privileges.
    fn fresh_with_default_privileges(&self) -> Vec<String> {
        // Without privileges in scope neither side has entries to compare.
        if !self.opts.scope.with_privileges {
            return Vec::new();
        }
        let d = self.desired;
        let routines = d
            .functions
            .iter()
            .map(|(k, f)| format!("{} {k}", f.kind.to_uppercase()));
        let aggregates = d.aggregates.keys().map(|k| format!("AGGREGATE {k}"));
        let types = d
            .enums
            .keys()
            .chain(d.composites.keys())
            .chain(d.ranges.keys())
            .map(|q| format!("TYPE {}", q.sql()))
            .chain(d.domains.keys().map(|q| format!("DOMAIN {}", q.sql())));
        routines
            .chain(aggregates)
            .chain(types)
            .filter(|target| parse_target(target).is_some_and(|t| self.fresh(&t)))
            .collect()
    }

    fn grant_step(&mut self, sql: String, title: String) {
        self.push(
            Phase::Grant,
            title.clone(),
            sql,
            vec![h(
                HazardId::Authz,
                Severity::Warning,
                format!("changes who may do what: {title}"),
            )],
        );
    }
}

/// A routine's privilege key (`FUNCTION k` or `PROCEDURE k`) under the kind
/// the desired side gives routine `k`; `None` for other targets or routines
/// the desired side does not have.
fn routine_target(desired: &Model, target: &str) -> Option<String> {
    let Some(Target::Routine(key)) = parse_target(target) else {
        return None;
    };
    let f = desired.functions.get(key)?;
    Some(format!("{} {key}", f.kind.to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_quoted_names() {
        match parse_target("COLUMN \"My S\".\"t.x\".\"a.b\"") {
            Some(Target::Column(q, c)) => {
                assert_eq!(q, QName::new("My S", "t.x"));
                assert_eq!(c, "a.b");
            }
            _ => panic!("not a column target"),
        }
        assert!(matches!(
            parse_target("FUNCTION public.f(integer)"),
            Some(Target::Routine("public.f(integer)"))
        ));
    }
}
