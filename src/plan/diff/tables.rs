//! Tables, columns, constraints and indexes.

use super::*;

impl Builder<'_> {
    pub(super) fn tables(&mut self) {
        let live = &self.live.model;
        // Foreign keys of the live side that must go: on dropped tables, changed,
        // removed, or pointing at a table whose keys are rebuilt.
        let rebuilt_keys: BTreeSet<QName> = live
            .tables
            .values()
            .filter(|t| {
                let want = self.desired.tables.get(&t.name);
                t.constraints.values().any(|c| {
                    matches!(c.kind, ConstraintKind::PrimaryKey | ConstraintKind::Unique)
                        && !want
                            .and_then(|w| w.constraints.get(&c.name))
                            .is_some_and(|w| w.same_as(c))
                })
            })
            .map(|t| t.name.clone())
            .chain(
                live.indexes
                    .values()
                    .filter(|i| {
                        i.unique
                            && !self
                                .desired
                                .indexes
                                .get(&i.name)
                                .is_some_and(|w| w.same_as(i))
                    })
                    .map(|i| i.table.clone()),
            )
            .collect();
        let mut fk_dropped: BTreeSet<(QName, String)> = BTreeSet::new();
        for t in live.tables.values() {
            let want = self.desired.tables.get(&t.name);
            for c in t
                .constraints
                .values()
                .filter(|c| c.kind == ConstraintKind::ForeignKey)
            {
                if self.fk_goes_with_old_table(&t.name, c) {
                    continue;
                }
                let wanted = want.and_then(|w| w.constraints.get(&c.name));
                let target_rebuilt = c
                    .references
                    .as_ref()
                    .is_some_and(|r| rebuilt_keys.contains(r));
                // A column at either end changes type: PostgreSQL would rebuild the
                // key after each ALTER COLUMN TYPE, in between the two changes.
                let retyped = c
                    .columns
                    .iter()
                    .any(|col| self.rewritten_column(&t.name, col))
                    || c.references.as_ref().is_some_and(|r| {
                        fk_referenced_columns(c, r)
                            .iter()
                            .any(|col| self.rewritten_column(r, col))
                    });
                if !wanted.is_some_and(|w| w.same_as(c)) || target_rebuilt || retyped {
                    fk_dropped.insert((t.name.clone(), c.name.clone()));
                    let mut hz = vec![self.lock(
                        &t.name,
                        "and a SHARE ROW EXCLUSIVE lock on the referenced table",
                    )];
                    if want.is_some() && wanted.is_none() {
                        hz.push(h(
                            HazardId::BreaksClients,
                            Severity::Info,
                            format!("{}.{} no longer enforces its reference", t.name, c.name),
                        ));
                    }
                    let title = format!("drop foreign key {} on {}", c.name, t.name);
                    let sql = ddl::drop_constraint(&t.name, &c.name);
                    if want.is_none() || wanted.is_some() {
                        // On a dropped table, or re-added below: never omitted.
                        self.push(Phase::DropForeignKey, title, sql, hz);
                    } else {
                        self.destructive(Phase::DropForeignKey, title, sql, hz);
                    }
                }
            }
        }

        for t in parents_first(live.tables.values(), &live.tables)
            .into_iter()
            .rev()
        {
            let Some(want) = self.desired.tables.get(&t.name) else {
                if self.rebuild.goes.contains(&t.name) {
                    continue; // dropped with its rebuilt table, after the copy
                }
                let size = self.size(&t.name);
                let sev = self.data_loss_severity(&t.name);
                self.destructive(
                    Phase::DropTable,
                    format!("drop table {}", t.name),
                    format!("DROP TABLE {};", t.name.sql()),
                    vec![
                        h(
                            HazardId::DataLoss,
                            sev,
                            format!("drops table {} and all its rows ({size})", t.name),
                        ),
                        h(
                            HazardId::BreaksClients,
                            Severity::Warning,
                            format!("clients that read or write {} break", t.name),
                        ),
                        self.lock(&t.name, "and on the tables its foreign keys point to"),
                    ],
                );
                continue;
            };
            self.alter_table(t, want, &fk_dropped);
        }

        for t in parents_first(self.desired.tables.values(), &self.desired.tables) {
            if !live.tables.contains_key(&t.name) {
                // The parent as it is when the partition is created: a kept
                // one has not changed its tablespace or access method yet.
                let parent = t
                    .partition_of
                    .as_ref()
                    .and_then(|(p, _)| live.tables.get(p).or(self.desired.tables.get(p)));
                self.push(
                    Phase::CreateTable,
                    format!("create table {}", t.name),
                    ddl::create_table_under(t, parent),
                    vec![],
                );
                self.created_table_settings(t);
                for c in t.constraints.values().filter(|c| {
                    c.kind != ConstraintKind::ForeignKey && c.definition.ends_with("NOT VALID")
                }) {
                    self.push(
                        Phase::AddConstraint,
                        format!(
                            "add {} {} on {} (NOT VALID)",
                            c.kind.describe(),
                            c.name,
                            t.name
                        ),
                        ddl::add_constraint(&t.name, c),
                        vec![],
                    );
                }
                for c in &t.columns {
                    self.not_valid_not_null(Phase::AddConstraint, &t.name, c);
                }
            }
            let have = live.tables.get(&t.name);
            for c in t
                .constraints
                .values()
                .filter(|c| c.kind == ConstraintKind::ForeignKey)
            {
                let existing = have.and_then(|h| h.constraints.get(&c.name));
                if existing.is_some_and(|e| e.same_as(c))
                    && !fk_dropped.contains(&(t.name.clone(), c.name.clone()))
                {
                    continue;
                }
                let mut hz = Vec::new();
                if !self.new_tables.contains(&t.name) {
                    hz.push(h(
                        HazardId::ScanUnderLock,
                        self.sized(Severity::Warning, &t.name),
                        format!("validates every row of {} ({}) while writes to it and to the referenced table are blocked", t.name, self.size(&t.name)),
                    ));
                    hz.push(h(
                        HazardId::MayFail,
                        Severity::Warning,
                        format!(
                            "fails if a row of {} has no matching referenced row",
                            t.name
                        ),
                    ));
                }
                if self.online(&t.name) {
                    self.add_validated(Phase::AddForeignKey, &t.name, c);
                    continue;
                }
                self.push(
                    Phase::AddForeignKey,
                    format!("add foreign key {} on {}", c.name, t.name),
                    ddl::add_constraint(&t.name, c),
                    hz,
                );
            }
        }
    }

    pub(super) fn alter_table(
        &mut self,
        have: &Table,
        want: &Table,
        _fk_dropped: &BTreeSet<(QName, String)>,
    ) {
        self.partitioning(have, want);

        let t = &have.name;
        // Constraints other than foreign keys: drop changed/removed, add changed/new.
        for c in have
            .constraints
            .values()
            .filter(|c| c.kind != ConstraintKind::ForeignKey)
        {
            let wanted = want.constraints.get(&c.name);
            if wanted.is_some_and(|w| w.same_as(c)) && !self.uses_replaced_type(&c.definition) {
                continue;
            }
            if wanted.is_none() && self.check_kept_for_parent(have, c) {
                continue; // becomes the check it inherits from the parent it joins
            }
            if wanted.is_none() && self.key_attached_by_partition(t, c) {
                continue; // ATTACH PARTITION attaches it to the parent's key
            }
            let title = format!("drop {} {} on {t}", c.kind.describe(), c.name);
            let hz = vec![self.lock(t, "")];
            // Dropping a constraint whose columns go anyway is part of that drop.
            if wanted.is_some() {
                self.push(
                    Phase::DropConstraint,
                    title,
                    ddl::drop_constraint(t, &c.name),
                    hz,
                );
            } else {
                self.destructive(
                    Phase::DropConstraint,
                    title,
                    ddl::drop_constraint(t, &c.name),
                    hz,
                );
            }
        }
        if have.options != want.options {
            let key = |o: &String| o.split('=').next().unwrap_or_default().to_string();
            let reset: Vec<String> = have
                .options
                .iter()
                .filter(|o| !want.options.iter().any(|w| key(w) == key(o)))
                .map(key)
                .collect();
            let set: Vec<&String> = want
                .options
                .iter()
                .filter(|o| !have.options.contains(o))
                .collect();
            let mut parts = Vec::new();
            if !reset.is_empty() {
                parts.push(format!("RESET ({})", reset.join(", ")));
            }
            if !set.is_empty() {
                parts.push(format!(
                    "SET ({})",
                    set.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            self.push(
                Phase::AlterColumn,
                format!("set storage parameters of {t}"),
                format!("ALTER TABLE {} {};", t.sql(), parts.join(", ")),
                vec![self.lock(t, "briefly")],
            );
        }
        if have.unlogged != want.unlogged {
            self.push(
                Phase::AlterColumn,
                format!(
                    "set {} {t}",
                    if want.unlogged { "unlogged" } else { "logged" }
                ),
                format!(
                    "ALTER TABLE {} SET {};",
                    t.sql(),
                    if want.unlogged { "UNLOGGED" } else { "LOGGED" }
                ),
                vec![h(
                    HazardId::Rewrite,
                    self.sized(Severity::Warning, t),
                    format!("rewrites {t} ({}) under ACCESS EXCLUSIVE", self.size(t)),
                )],
            );
        }
        let from_old_parents = self.columns_kept_from_old_parents(have, want);
        let first_column_step = self.steps.len();
        for col in &want.columns {
            match have.column(&col.name) {
                None if from_old_parents.contains(&col.name) => {}
                None => self.add_or_keep_column(have, col),
                Some(old) if old != col => self.alter_column(t, old, col),
                Some(_) => {}
            }
        }
        self.one_rewrite(have, want, first_column_step);
        let inherited = self.inherited_columns(want);
        for col in &have.columns {
            if want.column(&col.name).is_none() && !inherited.contains(&col.name) {
                self.drop_column(t, col);
            }
        }
        for c in want
            .constraints
            .values()
            .filter(|c| c.kind != ConstraintKind::ForeignKey)
        {
            if have
                .constraints
                .get(&c.name)
                .is_some_and(|h| h.same_as(c) && !self.uses_replaced_type(&h.definition))
            {
                continue;
            }
            if self.online(t) {
                match c.kind {
                    ConstraintKind::Check => {
                        self.add_validated(Phase::AddConstraint, t, c);
                        continue;
                    }
                    ConstraintKind::PrimaryKey | ConstraintKind::Unique
                        if self.add_key_online(t, c).is_some() =>
                    {
                        continue;
                    }
                    _ => {}
                }
            }
            let size = self.size(t);
            let hz = match c.kind {
                ConstraintKind::Check => vec![
                    h(
                        HazardId::ScanUnderLock,
                        self.sized(Severity::Warning, t),
                        format!("checks every row of {t} ({size}) while writes are blocked"),
                    ),
                    self.probed(
                        h(
                            HazardId::MayFail,
                            Severity::Warning,
                            format!("fails if a row of {t} violates {}", c.definition),
                        ),
                        t,
                        Check::Violates(check_expression(&c.definition)),
                        || format!("no row of {t} violates {} now", c.definition),
                        || format!("will fail: rows of {t} violate {}", c.definition),
                    ),
                ],
                _ => vec![
                    h(
                        HazardId::BlockingIndex,
                        self.sized(Severity::Warning, t),
                        format!(
                            "builds the index of {} on {t} ({size}) while writes are blocked",
                            c.name
                        ),
                    ),
                    self.probed(
                        h(
                            HazardId::MayFail,
                            Severity::Warning,
                            format!(
                                "fails if {t} holds duplicate values for {}",
                                c.columns.join(", ")
                            ),
                        ),
                        t,
                        Check::Duplicates(c.columns.clone()),
                        || {
                            format!(
                                "{t} holds no duplicate values for {} now",
                                c.columns.join(", ")
                            )
                        },
                        || {
                            format!(
                                "will fail: {t} holds duplicate values for {}",
                                c.columns.join(", ")
                            )
                        },
                    ),
                ],
            };
            self.push(
                Phase::AddConstraint,
                format!("add {} {} on {t}", c.kind.describe(), c.name),
                ddl::add_constraint(t, c),
                hz,
            );
        }
    }

    /// Puts the column type changes of `have` that rewrite it (with the
    /// DROP/SET DEFAULT around them), pushed from step `from` on, into one
    /// `ALTER TABLE` with a subcommand each, so the table is rewritten once
    /// and not once per column. PostgreSQL runs the subcommands of one
    /// statement in passes (drops, then types, then defaults), so their order
    /// inside it does not matter. Columns whose identity or generation changes
    /// keep their own statements: those steps must run in their order.
    fn one_rewrite(&mut self, have: &Table, want: &Table, from: usize) {
        let t = &have.name;
        let ts = t.sql();
        let mut titles: BTreeMap<String, &str> = BTreeMap::new();
        for new in &want.columns {
            let Some(old) = have.column(&new.name) else {
                continue;
            };
            if old == new || old.identity != new.identity || old.generated != new.generated {
                continue;
            }
            let full = format!("{t}.{}", new.name);
            titles.insert(format!("drop default of {full}"), "");
            titles.insert(format!("set default of {full}"), "");
            titles.insert(format!("change type of {full} to {}", new.data_type), "");
        }
        let head = format!("ALTER TABLE {ts} ALTER COLUMN ");
        let picked: Vec<usize> = (from..self.steps.len())
            .filter(|&i| {
                let (phase, _, s) = &self.steps[i];
                *phase == Phase::AlterColumn
                    && titles.contains_key(&s.title)
                    && s.sql.starts_with(&head)
                    && s.sql.ends_with(';')
            })
            .collect();
        let rewrites = |i: &usize| {
            self.steps[*i]
                .2
                .hazards
                .iter()
                .any(|h| h.id == HazardId::Rewrite)
        };
        let changes = picked.iter().filter(|i| rewrites(i)).count();
        if changes < 2 {
            return;
        }
        let mut subcommands = Vec::new();
        let mut columns = Vec::new();
        let mut hazards: Vec<Hazard> = Vec::new();
        let mut rewrite: Option<Hazard> = None;
        for &i in &picked {
            let s = &self.steps[i].2;
            let sql = s
                .sql
                .strip_prefix(&format!("ALTER TABLE {ts} "))
                .unwrap_or(&s.sql);
            subcommands.push(sql.strip_suffix(';').unwrap_or(sql).to_string());
            if let Some(rest) = s.title.strip_prefix(&format!("change type of {t}.")) {
                columns.push(rest.split(" to ").next().unwrap_or(rest).to_string());
            }
            for hz in &s.hazards {
                if hz.id == HazardId::Rewrite {
                    rewrite.get_or_insert_with(|| hz.clone());
                } else if !hazards
                    .iter()
                    .any(|k| k.id == hz.id && k.detail == hz.detail)
                {
                    hazards.push(hz.clone());
                }
            }
        }
        if let Some(mut r) = rewrite {
            r.detail = format!(
                "rewrites {t} once for {changes} column changes ({}) and rebuilds its indexes under ACCESS EXCLUSIVE",
                self.size(t)
            );
            self.described.borrow_mut().clear();
            hazards.insert(0, r);
        }
        let first = picked[0];
        let seq = self.steps[first].1;
        let step = Step {
            number: 0,
            title: format!("change types of {t} in one rewrite: {}", columns.join(", ")),
            sql: format!("ALTER TABLE {ts} {};", subcommands.join(", ")),
            hazards,
            transactional: true,
            group: 0,
        };
        for &i in picked.iter().rev() {
            self.steps.remove(i);
        }
        self.steps.insert(first, (Phase::AlterColumn, seq, step));
    }

    pub(super) fn add_column(&mut self, t: &QName, col: &Column) {
        let mut col = col.clone();
        let mut hz = vec![self.lock(t, "briefly")];
        let mut todo = None;
        if col.not_null
            && !col.not_null_not_valid
            && col.default.is_none()
            && col.identity.is_none()
            && col.generated.is_none()
            && !self.is_empty(t)
        {
            if self.opts.additive {
                col.not_null = false;
                todo = Some(format!(
                    "-- TODO: {t}.{} is NOT NULL in the desired schema but has no default; it is added as nullable. Fill it, then run ALTER TABLE {} ALTER COLUMN {} SET NOT NULL;",
                    col.name,
                    t.sql(),
                    quote_ident(&col.name)
                ));
            } else {
                // Certain when the table is known to hold rows.
                let certain = self.stats(t).and_then(|s| s.rows).is_some_and(|r| r > 0.0);
                hz.push(h(
                    HazardId::MayFail,
                    if certain { Severity::Blocker } else { Severity::Warning },
                    format!(
                        "adds NOT NULL column {t}.{} without a default: fails unless {t} is empty ({}); give it a default in the desired schema, or add it nullable, fill it, then set NOT NULL",
                        col.name,
                        self.size(t)
                    ),
                ));
            }
        }
        if col.generated.is_some() || col.identity.is_some() {
            hz.push(h(
                HazardId::Rewrite,
                self.sized(Severity::Warning, t),
                format!(
                    "fills {t}.{} for every row: rewrites {t} ({}) under ACCESS EXCLUSIVE",
                    col.name,
                    self.size(t)
                ),
            ));
        }
        let mut sql = format!(
            "ALTER TABLE {} ADD COLUMN {}{};",
            t.sql(),
            if self.opts.additive {
                "IF NOT EXISTS "
            } else {
                ""
            },
            ddl::column_def(&col)
        );
        if let Some(todo) = todo {
            sql = format!("{todo}\n{sql}");
        }
        self.push(
            Phase::AlterColumn,
            format!("add column {t}.{}", col.name),
            sql,
            hz,
        );
        self.not_valid_not_null(Phase::AlterColumn, t, &col);
    }

    pub(super) fn drop_column(&mut self, t: &QName, col: &Column) {
        if self.column_moves_to_children(t, &col.name) {
            return self.drop_column_keeping_children(t, col);
        }
        let sev = self.data_loss_severity(t);
        let mut loss = h(
            HazardId::DataLoss,
            sev,
            format!(
                "drops column {t}.{} and its values ({})",
                col.name,
                self.size(t)
            ),
        );
        let check = Check::NonNull(col.name.clone());
        match self.probe(t, check.clone()) {
            Some(Outcome::Count(0)) => {
                loss.severity = Severity::Info;
                loss.detail = format!("drops column {t}.{}: it holds no values", col.name);
            }
            Some(Outcome::Count(n)) => loss.figures = Some(check.figure(n)),
            Some(Outcome::Failed(why)) => loss.figures = Some(check.failed(&why)),
            None => {}
        }
        self.destructive(
            Phase::AlterColumn,
            format!("drop column {t}.{}", col.name),
            format!(
                "ALTER TABLE {} DROP COLUMN {};",
                t.sql(),
                quote_ident(&col.name)
            ),
            vec![
                loss,
                h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("clients that read or write {t}.{} break", col.name),
                ),
                self.lock(t, "briefly"),
            ],
        );
    }

    pub(super) fn alter_column(&mut self, t: &QName, old: &Column, new: &Column) {
        let ts = t.sql();
        let cname = quote_ident(&new.name);
        let full = format!("{t}.{}", new.name);
        if old.generated.is_some() && new.generated.is_none() && old.data_type == new.data_type {
            // The values stay; the column just stops being computed.
            self.push(
                Phase::AlterColumn,
                format!("stop computing {full} (keep its values)"),
                format!("ALTER TABLE {ts} ALTER COLUMN {cname} DROP EXPRESSION;"),
                vec![self.lock(t, "briefly")],
            );
            let mut rest = old.clone();
            rest.generated = None;
            if &rest != new {
                self.alter_column(t, &rest, new);
            }
            return;
        }
        if old.generated != new.generated {
            // A generated expression cannot be altered in place (before PG 17).
            if self.opts.additive {
                self.omitted.push(format!("change generated column {full}"));
                return;
            }
            self.drop_column(t, old);
            self.add_column(t, new);
            return;
        }
        let alter = |rest: String| format!("ALTER TABLE {ts} ALTER COLUMN {cname} {rest};");
        if old.identity.is_some()
            && old.identity != new.identity
            && !self
                .early_identity_drops
                .contains(&(t.clone(), new.name.clone()))
        {
            self.push(
                Phase::AlterColumn,
                format!("drop identity of {full}"),
                alter("DROP IDENTITY".into()),
                vec![self.lock(t, "briefly")],
            );
        }
        let type_changes = old.data_type != new.data_type || old.collation != new.collation;
        // A column of an enum that is replaced gets its default from the rewrite.
        let key = (t.clone(), new.name.clone());
        let enum_cast =
            self.deps.enum_columns.contains(&key) || self.deps.type_columns.contains(&key);
        let default_changes = old.default != new.default && !enum_cast;
        if old.default.is_some() && (default_changes || type_changes) {
            let mut hz = vec![self.lock(t, "briefly")];
            if new.default.is_none() && new.not_null {
                hz.push(h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("inserts into {t} that omit {} now fail", new.name),
                ));
            }
            self.push(
                Phase::AlterColumn,
                format!("drop default of {full}"),
                alter("DROP DEFAULT".into()),
                hz,
            );
        }
        if type_changes {
            let mut rest = format!("TYPE {}", new.data_type);
            if let Some(c) = &new.collation {
                rest.push_str(&format!(" COLLATE {c}"));
            }
            let coercible =
                binary_coercible(&old.data_type, &new.data_type) && old.collation == new.collation;
            if old.data_type != new.data_type && !coercible {
                // Enums have no casts to other types: go through text.
                let via_text = self.is_enum(&old.data_type) || self.is_enum(&new.data_type);
                let array = if new.data_type.ends_with("[]") {
                    "[]"
                } else {
                    ""
                };
                if via_text {
                    rest.push_str(&format!(" USING {cname}::text{array}::{}", new.data_type));
                } else {
                    rest.push_str(&format!(" USING {cname}::{}", new.data_type));
                }
            }
            let size = self.size(t);
            let mut hz = Vec::new();
            if coercible {
                hz.push(self.lock(t, "briefly (no rewrite: the change is binary-coercible)"));
            } else {
                hz.push(h(
                    HazardId::Rewrite,
                    self.sized(Severity::Warning, t),
                    format!(
                        "rewrites {t} ({size}) and rebuilds its indexes under ACCESS EXCLUSIVE"
                    ),
                ));
                if !widening(&old.data_type, &new.data_type) {
                    hz.push(h(HazardId::LossyCast, Severity::Danger, format!("casts {full} from {} to {}: values that do not fit make it fail or are changed", old.data_type, new.data_type)));
                }
                hz.push(h(
                    HazardId::BreaksClients,
                    Severity::Warning,
                    format!("clients that expect {full} as {} may break", old.data_type),
                ));
            }
            if !coercible {
                self.analyze_after_rewrite(t);
            }
            self.push(
                Phase::AlterColumn,
                format!("change type of {full} to {}", new.data_type),
                alter(rest),
                hz,
            );
        }
        if let Some(d) = &new.default
            && (default_changes || type_changes)
        {
            self.push(
                Phase::AlterColumn,
                format!("set default of {full}"),
                alter(format!("SET DEFAULT {d}")),
                vec![self.lock(t, "briefly")],
            );
        }
        let want_not_null = new.not_null || new.identity.is_some();
        let have_not_null = old.not_null || old.identity.is_some();
        let identity_added = new.identity.is_some() && old.identity != new.identity;
        if self.not_null_constraint(t, old, new, identity_added || type_changes) {
            // PostgreSQL 18's NOT NULL constraints (notnull.rs).
        } else if new.not_null
            && !old.not_null
            && self.online(t)
            && !identity_added
            && !type_changes
        {
            self.set_not_null_online(t, &new.name);
        } else if new.not_null && !old.not_null {
            self.push(
                Phase::AlterColumn,
                format!("set not null on {full}"),
                alter("SET NOT NULL".into()),
                self.not_null_scan_hazards(t, &full),
            );
        }
        if new.identity.is_some()
            && old.identity == new.identity
            && old.identity_options != new.identity_options
            && let Some(o) = &new.identity_options
        {
            // START WITH → SET START WITH, and so on, for ALTER COLUMN.
            let set = o
                .replace("START WITH", "SET START WITH")
                .replace("INCREMENT BY", "SET INCREMENT BY")
                .replace("MINVALUE", "SET MINVALUE")
                .replace("MAXVALUE", "SET MAXVALUE")
                .replace("CACHE", "SET CACHE")
                .replace(" CYCLE", " SET CYCLE");
            let set = if o.contains("CYCLE") {
                set
            } else {
                format!("{set} SET NO CYCLE")
            };
            self.push(
                Phase::AlterColumn,
                format!("change identity options of {full}"),
                alter(set),
                vec![self.lock(t, "briefly")],
            );
        }
        if new.identity.is_some() && old.identity != new.identity {
            let kind = new
                .identity
                .as_deref()
                .unwrap_or("by default")
                .to_uppercase();
            self.push(
                Phase::AlterColumn,
                format!("add identity to {full}"),
                alter(match &new.identity_options {
                    Some(o) => format!("ADD GENERATED {kind} AS IDENTITY ({o})"),
                    None => format!("ADD GENERATED {kind} AS IDENTITY"),
                }),
                vec![self.lock(t, "briefly")],
            );
            self.continue_added_identity(t, &new.name);
        }
        if have_not_null && !want_not_null && old.not_null {
            self.push(
                Phase::AlterColumn,
                format!("drop not null on {full}"),
                alter("DROP NOT NULL".into()),
                vec![self.lock(t, "briefly")],
            );
        }
    }

    pub(super) fn indexes(&mut self) {
        for (name, have) in &self.live.model.indexes {
            let want = self.desired.indexes.get(name);
            // An index on a dropped table or a rebuilt materialized view goes with it.
            if self.relation_goes(&have.table) {
                continue;
            }
            if want.is_some_and(|w| w.same_as(have)) && !self.uses_replaced_type(&have.definition) {
                continue;
            }
            if want.is_none() && self.attached_by_partition(have).is_some() {
                continue; // ATTACH PARTITION attaches it to the parent's index
            }
            let hz = vec![
                self.lock(&have.table, "briefly"),
                h(
                    HazardId::Ops,
                    Severity::Info,
                    format!("queries that use {name} get slower until it is rebuilt"),
                ),
            ];
            if self.online(&have.table) {
                // A redefined index is swapped in by `create_index_online`, unless
                // a column it uses changes first (which would drop or rebuild it).
                if want.is_none() || self.index_columns_change(have) {
                    self.drop_index_online(name, &have.table, want.is_some());
                }
                continue;
            }
            let title = format!("drop index {name}");
            let sql = format!("DROP INDEX {};", name.sql());
            if want.is_some() {
                self.push(Phase::DropIndex, title, sql, hz);
            } else {
                self.destructive(Phase::DropIndex, title, sql, hz);
            }
        }
        for (name, want) in &self.desired.indexes {
            let kept = self.live.model.indexes.get(name).is_some_and(|i| {
                i.same_as(want)
                    && !self.relation_goes(&i.table)
                    && !self.uses_replaced_type(&i.definition)
            });
            if kept {
                continue;
            }
            if self.online(&want.table) {
                let replaces = self
                    .live
                    .model
                    .indexes
                    .get(name)
                    .is_some_and(|old| !self.index_columns_change(old));
                self.create_index_online(want, replaces);
                continue;
            }
            let mut hz = Vec::new();
            if !self.new_tables.contains(&want.table) {
                hz.push(h(
                    HazardId::BlockingIndex,
                    self.sized(Severity::Warning, &want.table),
                    format!(
                        "builds {name} on {} ({}) while writes to it are blocked",
                        want.table,
                        self.size(&want.table)
                    ),
                ));
                if want.unique {
                    let hazard = h(
                        HazardId::MayFail,
                        Severity::Warning,
                        format!("fails if {} holds duplicates for {name}", want.table),
                    );
                    hz.push(match plain_key_columns(&want.definition) {
                        Some(cols) => self.probed(
                            hazard,
                            &want.table,
                            Check::Duplicates(cols),
                            || format!("{} holds no duplicates for {name} now", want.table),
                            || format!("will fail: {} holds duplicates for {name}", want.table),
                        ),
                        None => hazard,
                    });
                }
            }
            self.push(
                Phase::CreateIndex,
                format!("create index {name}"),
                ddl::create_index(want),
                hz,
            );
        }
    }

    /// Names of the columns `t` gets from its desired parents (recursively).
    pub(super) fn inherited_columns(&self, t: &Table) -> BTreeSet<String> {
        ancestor_columns(&self.desired.tables, t.parents().collect())
    }

    /// Partition key, partition bound and inheritance changes of a kept table.
    pub(super) fn partitioning(&mut self, have: &Table, want: &Table) {
        self.prepare_to_join(have, want);
        let t = &have.name;
        if have.partition_key != want.partition_key {
            // Rebuilt tables never get here (see `rebuild`): these are the others.
            let why = self.partitioning_blocker(have, want);
            self.blocker(
                Phase::AlterColumn,
                format!("change partitioning of {t}"),
                why,
            );
        }
        if have.partition_of != want.partition_of {
            if let Some((parent, _)) = &have.partition_of {
                self.push(
                    Phase::Detach,
                    format!("detach partition {t} from {parent}"),
                    format!("ALTER TABLE {} DETACH PARTITION {};", parent.sql(), t.sql()),
                    vec![
                        self.lock(parent, "and on the partition"),
                        h(
                            HazardId::BreaksClients,
                            Severity::Warning,
                            format!("rows of {t} no longer appear in {parent}"),
                        ),
                    ],
                );
            }
            if let Some((parent, bound)) = &want.partition_of {
                let size = self.size(t);
                self.push(
                    Phase::AddConstraint,
                    format!("attach partition {t} to {parent}"),
                    format!("ALTER TABLE {} ATTACH PARTITION {} {bound};", parent.sql(), t.sql()),
                    vec![
                        h(
                            HazardId::ScanUnderLock,
                            self.sized(Severity::Warning, t),
                            format!("checks every row of {t} ({size}) against the bound while writes to it are blocked"),
                        ),
                        h(HazardId::MayFail, Severity::Warning, format!("fails if a row of {t} is outside {bound}")),
                    ],
                );
            }
        }
        for p in have.inherits.iter().filter(|p| !want.inherits.contains(p)) {
            self.push(
                Phase::Detach,
                format!("stop {t} inheriting from {p}"),
                format!("ALTER TABLE {} NO INHERIT {};", t.sql(), p.sql()),
                vec![self.lock(t, "and on the parent")],
            );
        }
        self.rename_kept_after_detach(t);
        for p in want.inherits.iter().filter(|p| !have.inherits.contains(p)) {
            self.push(
                Phase::AddConstraint,
                format!("make {t} inherit from {p}"),
                format!("ALTER TABLE {} INHERIT {};", t.sql(), p.sql()),
                vec![self.lock(t, "and on the parent")],
            );
        }
    }

    /// `ANALYZE` a table the plan rewrote, once: the planner's statistics of a
    /// rewritten table are stale until then.
    pub(super) fn analyze_after_rewrite(&mut self, t: &QName) {
        let title = format!("analyze {t} after its rewrite");
        if self.steps.iter().any(|(_, _, s)| s.title == title) {
            return;
        }
        self.push(
            Phase::Analyze,
            title,
            format!("ANALYZE {};", t.sql()),
            vec![h(
                HazardId::Ops,
                Severity::Info,
                format!("reads a sample of {t} to refresh the planner's statistics"),
            )],
        );
    }

    /// True when column `col` of live table `t` is kept with a type change that
    /// rewrites it (not binary-coercible).
    fn rewritten_column(&self, t: &QName, col: &str) -> bool {
        let have = self.live.model.tables.get(t).and_then(|t| t.column(col));
        let want = self.desired.tables.get(t).and_then(|t| t.column(col));
        match (have, want) {
            (Some(h), Some(w)) => {
                h.data_type != w.data_type && !binary_coercible(&h.data_type, &w.data_type)
            }
            _ => false,
        }
    }

    /// True when live SQL text `text` (a check, an index) holds a constant or a
    /// cast of a type the plan replaces (`'a'::public.mood`): PostgreSQL would
    /// re-create it against the old type when the column is cast, and fail
    /// (`operator does not exist: mood = mood_pgalign_old`), so it is dropped
    /// before and created again after.
    pub(super) fn uses_replaced_type(&self, text: &str) -> bool {
        if self.opts.additive {
            return false; // additive plans replace no type
        }
        let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '"';
        self.deps.enums.iter().chain(&self.deps.types).any(|name| {
            let needle = format!("::{}", name.sql());
            text.match_indices(&needle).any(|(at, _)| {
                !text[at + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(is_ident)
            })
        })
    }

    /// True when `data_type` (or its element type) is a user enum of either side.
    pub(super) fn is_enum(&self, data_type: &str) -> bool {
        let base = data_type.trim_end_matches("[]");
        let found = |m: &Model| m.enums.keys().any(|e| e.sql() == base);
        found(&self.live.model) || found(self.desired)
    }

    /// Columns `t` had from parents it no longer has (detached partition, NO
    /// INHERIT): they stay on the table, now as its own.
    pub(super) fn columns_kept_from_old_parents(
        &self,
        have: &Table,
        want: &Table,
    ) -> BTreeSet<String> {
        let wanted: Vec<&QName> = want.parents().collect();
        let old = have.parents().filter(|p| !wanted.contains(p)).collect();
        ancestor_columns(&self.live.model.tables, old)
    }

    /// True when a column that live index `i` uses is dropped or retyped.
    pub(super) fn index_columns_change(&self, i: &Index) -> bool {
        i.columns.iter().any(|c| {
            self.deps
                .changed_columns
                .contains(&(i.table.clone(), c.clone()))
        })
    }
}

/// Names of the columns of `parents` and of their own ancestors, in `tables`.
fn ancestor_columns<'a>(
    tables: &'a BTreeMap<QName, Table>,
    mut todo: Vec<&'a QName>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut guard = 0;
    while let Some(p) = todo.pop() {
        guard += 1;
        if guard > 64 {
            break;
        }
        if let Some(pt) = tables.get(p) {
            out.extend(pt.columns.iter().map(|c| c.name.clone()));
            todo.extend(pt.parents());
        }
    }
    out
}

/// The referenced columns of foreign key `c` on `r`, read from its definition
/// (`… REFERENCES public."Folder"(id, "Other") …`).
fn fk_referenced_columns(c: &Constraint, r: &QName) -> Vec<String> {
    let Some((_, tail)) = c.definition.split_once(&format!("REFERENCES {}(", r.sql())) else {
        return Vec::new();
    };
    let Some((list, _)) = tail.split_once(')') else {
        return Vec::new();
    };
    list.split(", ")
        .map(|part| {
            let part = part.trim();
            match part.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(quoted) => quoted.replace("\"\"", "\""),
                None => part.to_string(),
            }
        })
        .collect()
}
