//! Schemas, extensions and types: enums, domains, composites; sequences.

use super::*;

impl Builder<'_> {
    pub(super) fn schemas(&mut self) {
        for name in self.desired.schemas.keys() {
            if !self.live.model.schemas.contains_key(name) {
                self.push(
                    Phase::CreateSchema,
                    format!("create schema {name}"),
                    ddl::create_schema(name),
                    vec![],
                );
            }
        }
        for name in self.live.model.schemas.keys() {
            if !self.desired.schemas.contains_key(name) {
                self.destructive(
                    Phase::DropSchema,
                    format!("drop schema {name}"),
                    format!("DROP SCHEMA {};", quote_ident(name)),
                    vec![h(
                        HazardId::DataLoss,
                        Severity::Info,
                        format!("drops schema {name}; the steps above drop what it holds, and it fails if anything else is left in it"),
                    )],
                );
            }
        }
    }

    pub(super) fn enums(&mut self) {
        for (name, want) in &self.desired.enums {
            match self.live.model.enums.get(name) {
                None => self.push(
                    Phase::CreateType,
                    format!("create type {name}"),
                    ddl::create_enum(want),
                    vec![],
                ),
                Some(have) if have.labels != want.labels => self.enum_change(name, have, want),
                Some(_) => {}
            }
        }
    }

    /// Drops of composite types, domains and enums that are no longer desired,
    /// in that order (a composite may use a domain or an enum, a domain an enum).
    pub(super) fn drop_types(&mut self) {
        let live = &self.live.model;
        let mut drops: Vec<(String, &QName)> = Vec::new();
        drops.extend(
            live.composites
                .keys()
                .filter(|k| !self.desired.composites.contains_key(*k))
                .map(|k| ("TYPE".to_string(), k)),
        );
        drops.extend(
            live.domains
                .keys()
                .filter(|k| !self.desired.domains.contains_key(*k))
                .map(|k| ("DOMAIN".to_string(), k)),
        );
        drops.extend(
            live.enums
                .keys()
                .filter(|k| !self.desired.enums.contains_key(*k))
                .map(|k| ("TYPE".to_string(), k)),
        );
        let (composites, domains, enums) = self.replaced_old_types();
        let old = |what: &str, v: &Vec<QName>| -> Vec<(String, QName)> {
            v.iter().map(|n| (what.to_string(), n.clone())).collect()
        };
        let olds = [
            old("TYPE", &composites),
            old("DOMAIN", &domains),
            old("TYPE", &enums),
        ];
        for (what, name) in olds.iter().flatten() {
            self.push(
                Phase::DropType,
                format!("drop the old {} {}", what.to_lowercase(), name.name),
                format!("DROP {what} {};", name.sql()),
                vec![],
            );
        }
        for (what, name) in drops {
            self.destructive(
                Phase::DropType,
                format!("drop {} {name}", what.to_lowercase()),
                format!("DROP {what} {};", name.sql()),
                vec![h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!(
                        "drops {} {name}; clients that use it break",
                        what.to_lowercase()
                    ),
                )],
            );
        }
    }

    pub(super) fn extensions(&mut self) {
        let live = &self.live.model.extensions;
        for (name, e) in &self.desired.extensions {
            let q = quote_ident(name);
            match live.get(name) {
                None => self.push(
                    Phase::CreateExtension,
                    format!("create extension {name}"),
                    ddl::create_extension(e),
                    vec![],
                ),
                Some(have) => {
                    if have.schema != e.schema {
                        self.push(
                            Phase::CreateExtension,
                            format!("move extension {name} to schema {}", e.schema),
                            format!("ALTER EXTENSION {q} SET SCHEMA {};", quote_ident(&e.schema)),
                            vec![h(HazardId::BreaksClients, Severity::Warning, format!("objects of {name} move to schema {}; qualified references break", e.schema))],
                        );
                    }
                    if have.version != e.version {
                        self.push(
                            Phase::CreateExtension,
                            format!(
                                "update extension {name} from {} to {}",
                                have.version, e.version
                            ),
                            format!(
                                "ALTER EXTENSION {q} UPDATE TO {};",
                                quote_literal(&e.version)
                            ),
                            vec![h(
                                HazardId::Ops,
                                Severity::Info,
                                format!(
                                    "runs the update script of {name} {} → {}",
                                    have.version, e.version
                                ),
                            )],
                        );
                    }
                }
            }
        }
        for name in live
            .keys()
            .filter(|k| !self.desired.extensions.contains_key(*k))
        {
            self.destructive(
                Phase::DropExtension,
                format!("drop extension {name}"),
                format!("DROP EXTENSION {};", quote_ident(name)),
                vec![h(
                    HazardId::DataLoss,
                    Severity::Danger,
                    format!("drops extension {name} and every object it created; fails if a column or view still uses one"),
                )],
            );
        }
    }

    /// The checks of `d` that call a routine the plan creates or recreates
    /// (`pg_depend` of the desired side): they can only be added once it exists.
    fn checks_after_functions(&self, d: &Domain) -> BTreeSet<String> {
        let live = &self.live.model.functions;
        d.check_functions
            .iter()
            .filter_map(|e| e.split_once('\t'))
            .filter(|(_, f)| !live.contains_key(*f) || self.deps.functions.contains(*f))
            .map(|(c, _)| c.to_string())
            .collect()
    }

    pub(super) fn domains(&mut self) {
        for (name, want) in &self.desired.domains {
            let late = self.checks_after_functions(want);
            let alter = |rest: String| format!("ALTER DOMAIN {} {rest};", name.sql());
            let Some(have) = self.live.model.domains.get(name) else {
                let mut first = want.clone();
                first.checks.retain(|c, _| !late.contains(c));
                self.push(
                    Phase::CreateType,
                    format!("create domain {name}"),
                    ddl::create_domain(&first),
                    vec![],
                );
                for c in &late {
                    self.push(
                        Phase::DomainCheck,
                        format!(
                            "add constraint {c} to domain {name} (it calls a routine created above)"
                        ),
                        alter(format!(
                            "ADD CONSTRAINT {} {}",
                            quote_ident(c),
                            want.checks[c]
                        )),
                        vec![],
                    );
                }
                continue;
            };
            if self.deps.types.contains(name) {
                continue; // replaced by a new domain (see `replace`)
            }
            if have.default != want.default {
                let sql = match &want.default {
                    Some(d) => alter(format!("SET DEFAULT {d}")),
                    None => alter("DROP DEFAULT".into()),
                };
                self.push(
                    Phase::CreateType,
                    format!("set default of domain {name}"),
                    sql,
                    vec![],
                );
            }
            for (cname, check) in &have.checks {
                if want.checks.get(cname) != Some(check) {
                    self.push(
                        Phase::CreateType,
                        format!("drop constraint {cname} of domain {name}"),
                        alter(format!("DROP CONSTRAINT {}", quote_ident(cname))),
                        vec![],
                    );
                }
            }
            let scan = |what: &str| {
                vec![
                    h(
                        HazardId::ScanUnderLock,
                        Severity::Warning,
                        format!(
                            "checks every column of domain {name} in every table while writes are blocked"
                        ),
                    ),
                    h(
                        HazardId::MayFail,
                        Severity::Warning,
                        format!("fails if a stored value violates {what}"),
                    ),
                ]
            };
            if have.not_null != want.not_null {
                let (sql, hz) = if want.not_null {
                    (alter("SET NOT NULL".into()), scan("NOT NULL"))
                } else {
                    (alter("DROP NOT NULL".into()), vec![])
                };
                self.push(
                    Phase::CreateType,
                    format!("set nullability of domain {name}"),
                    sql,
                    hz,
                );
            }
            for (cname, check) in &want.checks {
                if have.checks.get(cname) != Some(check) {
                    self.push(
                        if late.contains(cname) {
                            Phase::DomainCheck
                        } else {
                            Phase::CreateType
                        },
                        format!("add constraint {cname} to domain {name}"),
                        alter(format!("ADD CONSTRAINT {} {check}", quote_ident(cname))),
                        scan(check),
                    );
                }
            }
        }
    }

    pub(super) fn composites(&mut self) {
        for (name, want) in &self.desired.composites {
            let Some(have) = self.live.model.composites.get(name) else {
                self.push(
                    Phase::CreateType,
                    format!("create type {name}"),
                    ddl::create_composite(want),
                    vec![],
                );
                continue;
            };
            if have.attributes == want.attributes || self.deps.types.contains(name) {
                continue;
            }
            let mut actions = Vec::new();
            for (n, _, _) in &have.attributes {
                if !want.attributes.iter().any(|(w, _, _)| w == n) {
                    actions.push(format!("DROP ATTRIBUTE {}", quote_ident(n)));
                }
            }
            for (n, t, c) in &want.attributes {
                let coll = c
                    .as_ref()
                    .map(|c| format!(" COLLATE {c}"))
                    .unwrap_or_default();
                match have.attributes.iter().find(|(h, _, _)| h == n) {
                    None => actions.push(format!("ADD ATTRIBUTE {} {t}{coll}", quote_ident(n))),
                    Some((_, ht, hc)) if ht != t || hc != c => {
                        actions.push(format!("ALTER ATTRIBUTE {} TYPE {t}{coll}", quote_ident(n)))
                    }
                    _ => {}
                }
            }
            if actions.is_empty() {
                // Same attributes in another order: cannot be expressed in place.
                let why = format!(
                    "composite type {name} reorders its attributes; pgalign does not plan that yet"
                );
                self.blocker(Phase::CreateType, format!("change type {name}"), why);
                continue;
            }
            self.push(
                Phase::CreateType,
                format!("alter type {name}"),
                format!("ALTER TYPE {} {};", name.sql(), actions.join(", ")),
                vec![h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("clients that use the attributes of {name} may break"),
                )],
            );
        }
    }

    pub(super) fn enum_change(&mut self, name: &QName, have: &EnumType, want: &EnumType) {
        if deps::enum_needs_new_type(&have.labels, &want.labels) {
            self.enum_rewrite(name, have, want);
            return;
        }
        // Add each new label next to a neighbour that already exists.
        let mut present: Vec<String> = have.labels.clone();
        for (i, label) in want.labels.iter().enumerate() {
            if present.contains(label) {
                continue;
            }
            let position = match want.labels[..i].iter().rev().find(|l| present.contains(l)) {
                Some(prev) => format!(" AFTER {}", quote_literal(prev)),
                None => match want.labels[i + 1..].iter().find(|l| present.contains(l)) {
                    Some(next) => format!(" BEFORE {}", quote_literal(next)),
                    None => String::new(),
                },
            };
            // Its own step outside a transaction: a value added inside a
            // transaction cannot be used (by a default, say) until it commits.
            self.push_tx(
                Phase::CreateType,
                format!("add value {label} to type {name}"),
                format!("ALTER TYPE {} ADD VALUE {}{position};", name.sql(), quote_literal(label)),
                vec![h(
                    HazardId::NonTransactional,
                    Severity::Warning,
                    format!("adds enum value {label} to {name} in its own commit, so later steps can use it; it is not rolled back if a later group fails"),
                )],
                false,
            );
            let at = present
                .iter()
                .position(|l| position.contains(&quote_literal(l)))
                .map(|p| {
                    if position.starts_with(" AFTER") {
                        p + 1
                    } else {
                        p
                    }
                })
                .unwrap_or(present.len());
            present.insert(at, label.clone());
        }
    }

    pub(super) fn sequences(&mut self) {
        for (name, want) in &self.desired.sequences {
            match self.live.model.sequences.get(name) {
                None => {
                    self.push(
                        Phase::CreateSequence,
                        format!("create sequence {name}"),
                        ddl::create_sequence(want),
                        vec![],
                    );
                    if want.owned_by.is_some() {
                        self.match_sequence_owner(want, true, false, Phase::SequenceOwner);
                        self.push(
                            Phase::SequenceOwner,
                            format!("set owner column of sequence {name}"),
                            ddl::sequence_owned_by(want),
                            vec![],
                        );
                        self.continue_created_sequence(want);
                    }
                }
                Some(have) => {
                    // Its owning column goes away but the sequence stays: release it
                    // first, or dropping the table or column would drop it too.
                    if let Some((table, col)) = &have.owned_by {
                        let owner_goes = self
                            .desired
                            .tables
                            .get(table)
                            .is_none_or(|t| t.column(col).is_none());
                        if owner_goes {
                            self.push(
                                Phase::DropForeignKey,
                                format!(
                                    "release sequence {name} from {table}.{col}, which is dropped"
                                ),
                                format!("ALTER SEQUENCE {} OWNED BY NONE;", name.sql()),
                                vec![],
                            );
                        }
                    }
                    let mut have_opts = have.clone();
                    have_opts.owned_by = want.owned_by.clone();
                    have_opts.comment = want.comment.clone();
                    if &have_opts != want {
                        self.push(
                            Phase::CreateSequence,
                            format!("alter sequence {name}"),
                            format!(
                                "ALTER SEQUENCE {} {};",
                                name.sql(),
                                ddl::sequence_options(want)
                            ),
                            vec![],
                        );
                    }
                    if have.owned_by != want.owned_by {
                        // Still linked to a column that stays (else released above).
                        let linked = have.owned_by.as_ref().is_some_and(|(t, c)| {
                            self.desired
                                .tables
                                .get(t)
                                .is_some_and(|t| t.column(c).is_some())
                        });
                        self.match_sequence_owner(want, false, linked, Phase::SequenceOwner);
                        self.push(
                            Phase::SequenceOwner,
                            format!("set owner column of sequence {name}"),
                            ddl::sequence_owned_by(want),
                            vec![],
                        );
                    }
                }
            }
        }
        for (name, have) in &self.live.model.sequences {
            if self.desired.sequences.contains_key(name) {
                continue;
            }
            // A sequence owned by a column that this plan drops goes with it.
            if let Some((table, col)) = &have.owned_by {
                let owner_dropped = match self.desired.tables.get(table) {
                    None => true,
                    Some(t) => t.column(col).is_none(),
                };
                if owner_dropped && !self.opts.additive {
                    continue;
                }
            }
            self.destructive(
                Phase::DropSequence,
                format!("drop sequence {name}"),
                format!("DROP SEQUENCE {};", name.sql()),
                vec![h(
                    HazardId::DataLoss,
                    Severity::Danger,
                    format!("drops sequence {name} and its current value"),
                )],
            );
        }
    }

    /// Removing or reordering enum values: the old type is renamed aside, the
    /// new one created, every column cast to it through text, and the old type
    /// dropped (see `replace`). Views and functions that use the type are
    /// rebuilt around it, domains and composite types built on it replaced too.
    pub(super) fn enum_rewrite(&mut self, name: &QName, have: &EnumType, want: &EnumType) {
        let removed: Vec<&str> = have
            .labels
            .iter()
            .filter(|l| !want.labels.contains(l))
            .map(String::as_str)
            .collect();
        let what = if removed.is_empty() {
            format!("enum {name} reorders its values")
        } else {
            format!("enum {name} drops value(s) {}", removed.join(", "))
        };
        if self.opts.additive {
            self.omitted
                .push(format!("{what} (needs a new type and a cast)"));
            return;
        }
        let live = &self.live.model;
        if live
            .ranges
            .values()
            .any(|r| deps::uses_enum(&r.subtype, name))
        {
            let why =
                format!("{what}, and a range type is built on it; pgalign does not plan that yet");
            self.blocker(Phase::CreateType, format!("change type {name}"), why);
            return;
        }
        self.replace_enum(name, want, &what);
        let columns: Vec<(QName, String)> = self
            .deps
            .enum_columns
            .iter()
            .filter(|(t, c)| {
                live.tables
                    .get(t)
                    .and_then(|t| t.column(c))
                    .is_some_and(|c| deps::uses_enum(&c.data_type, name))
            })
            .cloned()
            .collect();
        let lossy = (!removed.is_empty()).then(|| removed.join(" or "));
        let removed: Vec<String> = removed.iter().map(|r| r.to_string()).collect();
        self.cast_to_new_type(name, &columns, lossy, &removed);
    }

    pub(super) fn collations(&mut self) {
        let live = &self.live.model.collations;
        for (name, c) in &self.desired.collations {
            match live.get(name) {
                None => {
                    let mut opts = vec![format!("provider = {}", c.provider)];
                    if let Some(l) = &c.locale {
                        opts.push(format!("locale = {}", quote_literal(l)));
                    } else {
                        if let Some(l) = &c.lc_collate {
                            opts.push(format!("lc_collate = {}", quote_literal(l)));
                        }
                        if let Some(l) = &c.lc_ctype {
                            opts.push(format!("lc_ctype = {}", quote_literal(l)));
                        }
                    }
                    if !c.deterministic {
                        opts.push("deterministic = false".into());
                    }
                    self.push(
                        Phase::CreateType,
                        format!("create collation {name}"),
                        format!("CREATE COLLATION {} ({});", name.sql(), opts.join(", ")),
                        vec![],
                    );
                }
                Some(have) if have != c => {
                    let why = format!(
                        "collation {name} changes its definition; columns and indexes that use it would need rebuilding, which pgalign does not plan yet"
                    );
                    self.blocker(Phase::CreateType, format!("change collation {name}"), why);
                }
                Some(_) => {}
            }
        }
        for name in live
            .keys()
            .filter(|k| !self.desired.collations.contains_key(*k))
        {
            self.destructive(
                Phase::DropType,
                format!("drop collation {name}"),
                format!("DROP COLLATION {};", name.sql()),
                vec![h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("queries that name {name} break"),
                )],
            );
        }
    }
}
