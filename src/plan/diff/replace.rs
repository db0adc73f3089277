//! Types PostgreSQL cannot alter in place are replaced by a new type of the
//! same name: the old one is renamed aside (`<name>_pgalign_old`), the new one
//! created from the desired definition, every kept column cast to it through
//! text, and the old one dropped at the end (composites, then domains, then
//! enums). Enums whose values are removed or reordered start it (see
//! `enum_rewrite`); domains and composite types built on them follow, and so
//! does a domain whose base type changes. Views and functions that use any of
//! them are dropped before and recreated after (see `deps`).

use super::*;

impl Builder<'_> {
    /// The name a replaced type is renamed to until it is dropped.
    pub(super) fn old_type_name(name: &QName) -> QName {
        QName::new(
            name.schema.clone(),
            online::temp_name(&name.name, "_pgalign_old"),
        )
    }

    /// Renames `name` aside and creates its desired definition in its place.
    fn rename_aside_and_create(&mut self, name: &QName, keyword: &str, create: String, why: &str) {
        let old = Self::old_type_name(name);
        self.push(
            Phase::RecreateType,
            format!(
                "rename {} {name} aside to {}",
                keyword.to_lowercase(),
                old.name
            ),
            format!(
                "ALTER {keyword} {} RENAME TO {};",
                name.sql(),
                quote_ident(&old.name)
            ),
            vec![h(
                HazardId::BreaksClients,
                Severity::Warning,
                format!("{why}: clients that use {name} may break"),
            )],
        );
        self.push(
            Phase::RecreateType,
            format!("create the new {} {name}", keyword.to_lowercase()),
            create,
            vec![],
        );
    }

    /// Replaces the enum `name` (see `enum_rewrite`): renamed aside, created anew.
    pub(super) fn replace_enum(&mut self, name: &QName, want: &EnumType, why: &str) {
        self.rename_aside_and_create(name, "TYPE", ddl::create_enum(want), why);
    }

    /// Replaces the domains and composite types `deps` found, in order.
    pub(super) fn replace_types(&mut self) {
        for name in self.deps.types.clone() {
            let live = &self.live.model;
            let (keyword, create, why) = if let Some(want) = self.desired.domains.get(&name) {
                let have = &live.domains[&name];
                let why = if have.base_type != want.base_type || have.collation != want.collation {
                    format!(
                        "domain {name} changes its base type from {} to {}",
                        have.base_type, want.base_type
                    )
                } else {
                    format!("domain {name} is built on a type that is replaced")
                };
                ("DOMAIN", ddl::create_domain(want), why)
            } else {
                let want = &self.desired.composites[&name];
                (
                    "TYPE",
                    ddl::create_composite(want),
                    format!("composite type {name} uses a type that is replaced"),
                )
            };
            if self.opts.additive {
                self.omitted
                    .push(format!("{why} (needs a new type and a cast)"));
                continue;
            }
            self.rename_aside_and_create(&name, keyword, create, &why);
            let columns: Vec<(QName, String)> = self
                .deps
                .type_columns
                .iter()
                .filter(|(t, c)| {
                    live.tables
                        .get(t)
                        .and_then(|t| t.column(c))
                        .is_some_and(|c| deps::uses_enum(&c.data_type, &name))
                })
                .cloned()
                .collect();
            let lossy = self.desired.domains.get(&name).and_then(|want| {
                let have = &live.domains[&name];
                (have.base_type != want.base_type && !widening(&have.base_type, &want.base_type))
                    .then(|| {
                        format!(
                            "values of {} that do not fit {} make this fail",
                            have.base_type, want.base_type
                        )
                    })
            });
            self.cast_to_new_type(&name, &columns, lossy, &[]);
        }
    }

    /// Casts each kept column in `columns` (of `name`'s old type, or an array of
    /// it) to the new type through text, its default dropped before and set after.
    /// `removed`: the enum values the new type drops (the rows using them are probed).
    pub(super) fn cast_to_new_type(
        &mut self,
        name: &QName,
        columns: &[(QName, String)],
        lossy: Option<String>,
        removed: &[String],
    ) {
        for (t, c) in columns {
            let old_col = self.live.model.tables[t]
                .column(c)
                .expect("a live column")
                .clone();
            let new_col = self.desired.tables[t]
                .column(c)
                .expect("a kept column")
                .clone();
            let alter = |rest: String| {
                format!(
                    "ALTER TABLE {} ALTER COLUMN {} {rest};",
                    t.sql(),
                    quote_ident(c)
                )
            };
            if old_col.default.is_some() {
                self.push(
                    Phase::AlterColumn,
                    format!("drop default of {t}.{c} before its type changes"),
                    alter("DROP DEFAULT".into()),
                    vec![self.lock(t, "briefly")],
                );
            }
            let array = if new_col.data_type.ends_with("[]") {
                "[]"
            } else {
                ""
            };
            let mut hz = vec![h(
                HazardId::Rewrite,
                self.sized(Severity::Warning, t),
                format!(
                    "rewrites {t} ({}) to cast {c} to the new {name}",
                    self.size(t)
                ),
            )];
            if let Some(why) = &lossy {
                let hazard = h(
                    HazardId::LossyCast,
                    Severity::Danger,
                    format!("rows of {t} whose {c} holds {why}"),
                );
                // The cast through text fails on a removed value.
                hz.push(if removed.is_empty() || !array.is_empty() {
                    hazard
                } else {
                    self.probed(
                        hazard,
                        t,
                        Check::EnumUses(c.clone(), removed.to_vec()),
                        || format!("no row of {t} holds {why} in {c} now"),
                        || format!("will fail: rows of {t} hold {why} in {c}"),
                    )
                });
            }
            self.analyze_after_rewrite(t);
            self.push(
                Phase::AlterColumn,
                format!("cast {t}.{c} to the new {name}"),
                alter(format!(
                    "TYPE {} USING {}::text{array}::{}",
                    new_col.data_type,
                    quote_ident(c),
                    new_col.data_type
                )),
                hz,
            );
            if let Some(d) = &new_col.default {
                self.push(
                    Phase::AlterColumn,
                    format!("set default of {t}.{c}"),
                    alter(format!("SET DEFAULT {d}")),
                    vec![self.lock(t, "briefly")],
                );
            }
        }
    }

    /// The old types left behind by replacements, by kind: (composites, domains, enums).
    pub(super) fn replaced_old_types(&self) -> (Vec<QName>, Vec<QName>, Vec<QName>) {
        if self.opts.additive {
            return Default::default();
        }
        let (mut composites, mut domains) = (Vec::new(), Vec::new());
        for name in self.deps.types.iter().rev() {
            if self.desired.domains.contains_key(name) {
                domains.push(Self::old_type_name(name));
            } else {
                composites.push(Self::old_type_name(name));
            }
        }
        let enums = self.deps.enums.iter().map(Self::old_type_name).collect();
        (composites, domains, enums)
    }
}
