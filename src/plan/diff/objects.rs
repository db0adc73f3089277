//! Views, functions, triggers, policies, comments, and what is not managed yet.

use super::*;

impl Builder<'_> {
    pub(super) fn views(&mut self) {
        let live = &self.live.model;
        for item in deps::drop_order(live, &self.deps) {
            match item {
                deps::Dropped::View(name) => self.drop_view(&name),
                deps::Dropped::Aggregate(key) => self.drop_aggregate(&key),
                deps::Dropped::Function(key) => {
                    let old = &live.functions[&key];
                    self.push(
                        Phase::DropView,
                        format!("drop {} {key} (recreated below)", old.kind),
                        ddl::drop_function(&key, old),
                        vec![h(
                            HazardId::BreaksClients,
                            Severity::Warning,
                            format!("{key} is missing until it is recreated, and callers of a changed signature break"),
                        )],
                    );
                }
            }
        }
        let creates: Vec<&QName> = self
            .desired
            .views
            .keys()
            .filter(|k| !live.views.contains_key(*k) || self.deps.views.contains(*k))
            .collect();
        for name in deps::view_order(creates, &self.desired.views) {
            let v = &self.desired.views[&name];
            let mut hz = Vec::new();
            if v.materialized && v.populated {
                hz.push(h(
                    HazardId::Ops,
                    Severity::Info,
                    format!("fills materialized view {name} by running its query"),
                ));
            }
            let what = if v.materialized {
                "materialized view"
            } else {
                "view"
            };
            self.push(
                Phase::CreateView,
                format!("create {what} {name}"),
                ddl::create_view(v),
                hz,
            );
        }
    }

    pub(super) fn drop_view(&mut self, name: &QName) {
        let v = &self.live.model.views[name];
        let kept = self.desired.views.contains_key(name);
        let what = if v.materialized {
            "materialized view"
        } else {
            "view"
        };
        let title = if kept {
            format!("drop {what} {name} (recreated below: it or what it reads changes)")
        } else {
            format!("drop {what} {name}")
        };
        let hz = vec![h(
            HazardId::BreaksClients,
            if kept {
                Severity::Info
            } else {
                Severity::Warning
            },
            if kept {
                format!("{name} is missing until it is recreated later in this plan")
            } else {
                format!("clients that read {name} break")
            },
        )];
        if kept {
            self.push(Phase::DropView, title, ddl::drop_view(v), hz);
        } else {
            self.destructive(Phase::DropView, title, ddl::drop_view(v), hz);
        }
    }

    pub(super) fn function_phase(&self, f: &Function) -> Phase {
        let on_relation = |views_only: bool| {
            f.depends_on.iter().any(|d| match d {
                Dep::Relation { name } => !views_only || self.desired.views.contains_key(name),
                _ => false,
            })
        };
        if on_relation(true) {
            Phase::ViewFunction
        } else if on_relation(false) || f.definition.contains("BEGIN ATOMIC") {
            Phase::LateFunction
        } else {
            Phase::CreateFunction
        }
    }

    pub(super) fn function_hazards(&self, key: &str, f: &Function) -> Vec<Hazard> {
        let mut hz = Vec::new();
        if f.definition.contains("SECURITY DEFINER") {
            hz.push(h(
                HazardId::Authz,
                Severity::Warning,
                format!("{key} runs with its owner's privileges (SECURITY DEFINER)"),
            ));
        }
        hz
    }

    /// The desired routines, each after the routines its SQL-standard body
    /// calls (`pg_depend`), with the phase each is created in: no earlier than
    /// that of a routine it calls.
    fn functions_in_order<'m>(
        &self,
        d: &'m BTreeMap<String, Function>,
    ) -> Vec<(&'m String, &'m Function, Phase)> {
        let mut phases: BTreeMap<&String, Phase> = BTreeMap::new();
        let mut out = Vec::new();
        // Depth-first, callees first; a cycle is cut where it closes.
        let mut stack: Vec<(&String, bool)> = d.keys().rev().map(|k| (k, false)).collect();
        let mut open: BTreeSet<&String> = BTreeSet::new();
        while let Some((key, done)) = stack.pop() {
            let f = &d[key];
            let callees = || {
                f.depends_on.iter().filter_map(|dep| match dep {
                    Dep::Function { key } => d.get_key_value(key).map(|(k, _)| k),
                    _ => None,
                })
            };
            if done {
                open.remove(key);
                let phase = callees()
                    .filter_map(|c| phases.get(c).copied())
                    .fold(self.function_phase(f), Ord::max);
                phases.insert(key, phase);
                out.push((key, f, phase));
                continue;
            }
            if phases.contains_key(key) || !open.insert(key) {
                continue;
            }
            stack.push((key, true));
            for c in callees() {
                if !phases.contains_key(c) && !open.contains(c) {
                    stack.push((c, false));
                }
            }
        }
        out
    }

    pub(super) fn functions(&mut self) {
        let live = &self.live.model.functions;
        let desired = self.desired;
        for (key, f, phase) in self.functions_in_order(&desired.functions) {
            if self.function_created_with_range(key) {
                continue;
            }
            let what = &f.kind;
            match live.get(key) {
                None => {
                    let hz = self.function_hazards(key, f);
                    self.push(
                        phase,
                        format!("create {what} {key}"),
                        ddl::create_function(f),
                        hz,
                    );
                }
                Some(_) if self.deps.functions.contains(key) => {
                    // Dropped in `views()`, in dependency order with the views.
                    let hz = self.function_hazards(key, f);
                    self.push(
                        phase,
                        format!("create {what} {key}"),
                        ddl::create_function(f),
                        hz,
                    );
                }
                Some(old) if old.definition != f.definition => {
                    let hz = self.function_hazards(key, f);
                    self.push(
                        phase,
                        format!("replace {what} {key}"),
                        ddl::create_function(f),
                        hz,
                    );
                }
                Some(_) => {}
            }
        }
        for (key, f) in live {
            if !self.desired.functions.contains_key(key) {
                // Before an enum it uses is renamed aside, or its key no longer names it.
                let early = f
                    .depends_on
                    .iter()
                    .any(|d| matches!(d, Dep::Type { name } if self.deps.enums.contains(name) || self.deps.types.contains(name)));
                self.destructive(
                    if early {
                        Phase::DropView
                    } else {
                        Phase::DropFunction
                    },
                    format!("drop {} {key}", f.kind),
                    ddl::drop_function(key, f),
                    vec![h(
                        HazardId::BreaksClients,
                        Severity::Warning,
                        format!("callers of {key} break"),
                    )],
                );
            }
        }
    }

    /// True when `rel` (a table or view) is dropped by this plan, or dropped and
    /// recreated (a rebuilt view): what hangs on it goes with it.
    pub(super) fn relation_goes(&self, rel: &QName) -> bool {
        (!self.desired.tables.contains_key(rel) && !self.desired.views.contains_key(rel))
            || self.deps.views.contains(rel)
            || (self.live.model.views.contains_key(rel) && self.desired.tables.contains_key(rel))
    }

    pub(super) fn triggers(&mut self) {
        let live = &self.live.model.triggers;
        for (key, t) in live {
            if self.relation_goes(&t.table) {
                continue;
            }
            let want = self.desired.triggers.get(key);
            let changed = want.is_none_or(|w| w.definition != t.definition);
            if !changed && !self.deps.triggers.contains(key) {
                continue;
            }
            let title = format!("drop trigger {} on {}", t.name, t.table);
            let sql = format!(
                "DROP TRIGGER {} ON {};",
                quote_ident(&t.name),
                t.table.sql()
            );
            let hz = vec![self.lock(&t.table, "briefly")];
            if want.is_some() {
                self.push(Phase::DropTrigger, title, sql, hz);
            } else {
                self.destructive(Phase::DropTrigger, title, sql, hz);
            }
        }
        for (key, t) in &self.desired.triggers {
            let have = live.get(key);
            let recreate = match have {
                None => true,
                Some(old) => {
                    old.definition != t.definition
                        || self.deps.triggers.contains(key)
                        || self.relation_goes(&old.table)
                }
            };
            let state_hz = |this: &Self| {
                let mut hz = vec![];
                if t.enabled == "D" {
                    hz.push(h(
                        HazardId::Authz,
                        Severity::Warning,
                        format!(
                            "trigger {} on {} is disabled: what it enforces is not enforced",
                            t.name, t.table
                        ),
                    ));
                }
                hz.push(this.lock(&t.table, "briefly"));
                hz
            };
            if recreate {
                let hz = vec![self.lock(&t.table, "briefly")];
                self.push(
                    Phase::CreateTrigger,
                    format!("create trigger {} on {}", t.name, t.table),
                    ddl::create_trigger(t),
                    hz,
                );
                if let Some(sql) = ddl::trigger_state(t) {
                    let hz = state_hz(self);
                    self.push(
                        Phase::CreateTrigger,
                        format!("set state of trigger {} on {}", t.name, t.table),
                        sql,
                        hz,
                    );
                }
            } else if have.is_some_and(|old| old.enabled != t.enabled) {
                let sql = ddl::trigger_state(t).unwrap_or_else(|| {
                    format!(
                        "ALTER TABLE {} ENABLE TRIGGER {};",
                        t.table.sql(),
                        quote_ident(&t.name)
                    )
                });
                let hz = state_hz(self);
                self.push(
                    Phase::CreateTrigger,
                    format!("set state of trigger {} on {}", t.name, t.table),
                    sql,
                    hz,
                );
            }
        }
    }

    pub(super) fn policies(&mut self) {
        let live = &self.live.model.policies;
        for (key, p) in live {
            if self.relation_goes(&p.table) || self.desired.policies.get(key) == Some(p) {
                continue;
            }
            let title = format!("drop policy {} on {}", p.name, p.table);
            let sql = format!("DROP POLICY {} ON {};", quote_ident(&p.name), p.table.sql());
            let hz = vec![h(
                HazardId::Authz,
                Severity::Warning,
                format!("changes who may see or change rows of {}", p.table),
            )];
            if self.desired.policies.contains_key(key) {
                self.push(Phase::DropPolicy, title, sql, hz);
            } else {
                self.destructive(Phase::DropPolicy, title, sql, hz);
            }
        }
        for (key, p) in &self.desired.policies {
            let unchanged = live.get(key) == Some(p) && !self.new_tables.contains(&p.table);
            if unchanged {
                continue;
            }
            self.push(
                Phase::CreatePolicy,
                format!("create policy {} on {}", p.name, p.table),
                ddl::create_policy(p),
                vec![h(
                    HazardId::Authz,
                    Severity::Warning,
                    format!("changes who may see or change rows of {}", p.table),
                )],
            );
        }
        for t in self.desired.tables.values() {
            let have = self
                .live
                .model
                .tables
                .get(&t.name)
                .and_then(|l| l.rls.as_deref());
            let want = t.rls.as_deref();
            if have == want {
                continue;
            }
            for sql in ddl::rls_change(&t.name, have, want) {
                // Loosening statements go early (before the policies they
                // relied on are dropped) and are destructive.
                let loosens = sql.ends_with(" DISABLE ROW LEVEL SECURITY;")
                    || sql.ends_with(" NO FORCE ROW LEVEL SECURITY;");
                let phase = if loosens {
                    Phase::DisableRls
                } else {
                    Phase::EnableRls
                };
                let hz = vec![h(
                    HazardId::Authz,
                    Severity::Warning,
                    format!(
                        "row level security of {} becomes {}",
                        t.name,
                        want.unwrap_or("disabled")
                    ),
                )];
                let title = format!(
                    "row level security on {}: {}",
                    t.name,
                    want.unwrap_or("disabled")
                );
                if loosens {
                    self.destructive(phase, title, sql, hz);
                } else {
                    self.push(phase, title, sql, hz);
                }
            }
        }
    }

    pub(super) fn unmanaged(&mut self) {
        let live = &self.live.model.unmanaged;
        let want = &self.desired.unmanaged;
        let mut differences: BTreeMap<&String, &str> = BTreeMap::new();
        for (k, v) in want {
            match live.get(k) {
                None => {
                    differences.insert(k, "is in the desired schema only");
                }
                Some(lv) if lv != v => {
                    differences.insert(k, "differs between the live and the desired schema");
                }
                _ => {}
            }
        }
        for k in live.keys() {
            if !want.contains_key(k) {
                differences.insert(k, "is in the live database only");
            }
        }
        for (k, how) in differences {
            self.blocker(
                Phase::Unmanaged,
                format!("align {k}"),
                format!("{k} {how}, and pgalign does not manage this kind of object yet; align it by hand"),
            );
        }
        let shared = live.keys().filter(|k| want.contains_key(*k)).count();
        if shared > 0 {
            self.notes.push(format!(
                "{shared} object(s) that pgalign does not manage yet exist on both sides (run `pgalign inspect` to list them); changes that depend on them may fail"
            ));
        }
    }

    pub(super) fn rules(&mut self) {
        let live = &self.live.model.rules;
        let strip = |d: &str| d.trim().trim_end_matches(';').to_string();
        for (key, r) in live {
            if self.relation_goes(&r.table) {
                continue;
            }
            let want = self.desired.rules.get(key);
            let changed = want.is_none_or(|w| w.definition != r.definition);
            if !changed && !self.deps.rules.contains(key) {
                continue;
            }
            let title = format!("drop rule {} on {}", r.name, r.table);
            let sql = format!("DROP RULE {} ON {};", quote_ident(&r.name), r.table.sql());
            let hz = vec![self.lock(&r.table, "briefly")];
            if want.is_some() {
                self.push(Phase::DropTrigger, title, sql, hz);
            } else {
                self.destructive(Phase::DropTrigger, title, sql, hz);
            }
        }
        for (key, r) in &self.desired.rules {
            let recreate = match live.get(key) {
                None => true,
                Some(old) => {
                    old.definition != r.definition
                        || self.deps.rules.contains(key)
                        || self.relation_goes(&old.table)
                }
            };
            if recreate {
                self.push(
                    Phase::CreateTrigger,
                    format!("create rule {} on {}", r.name, r.table),
                    format!("{};", strip(&r.definition)),
                    vec![
                        self.lock(&r.table, "briefly"),
                        h(
                            HazardId::Opaque,
                            Severity::Info,
                            format!(
                                "rule {} rewrites queries on {}: what it does is in its definition",
                                r.name, r.table
                            ),
                        ),
                    ],
                );
            }
        }
    }

    pub(super) fn statistics(&mut self) {
        let live = &self.live.model.statistics;
        for (name, st) in live {
            if self.relation_goes(&st.table) {
                continue;
            }
            let want = self.desired.statistics.get(name);
            if want.is_some_and(|w| w.definition == st.definition && w.table == st.table) {
                continue;
            }
            let title = format!("drop statistics {name}");
            let sql = format!("DROP STATISTICS {};", name.sql());
            if want.is_some() {
                self.push(Phase::DropIndex, title, sql, vec![]);
            } else {
                self.destructive(Phase::DropIndex, title, sql, vec![]);
            }
        }
        for (name, st) in &self.desired.statistics {
            let kept = live.get(name).is_some_and(|l| {
                l.definition == st.definition
                    && l.table == st.table
                    && !self.relation_goes(&l.table)
            });
            if !kept {
                self.push(
                    Phase::CreateIndex,
                    format!("create statistics {name}"),
                    format!("{};", st.definition.trim_end_matches(';')),
                    vec![h(
                        HazardId::Ops,
                        Severity::Info,
                        format!("{name} is empty until {} is analysed", st.table),
                    )],
                );
            }
        }
    }
}
