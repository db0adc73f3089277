//! The schema model: plain data, compared field by field and fingerprinted.
//!
//! Everything here is normalised by the server's own deparsers (`format_type`,
//! `pg_get_expr`, `pg_get_constraintdef`, `pg_get_indexdef`) under an empty
//! `search_path`, so names are always schema-qualified and two servers of the same
//! major version print the same text for the same object.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use super::ident::{quote_ident, quote_literal};
pub use super::kinds::{Aggregate, EventTrigger, RangeType};

/// A schema-qualified name. In JSON it is one string in its SQL form
/// (`shop.orders`, `"My Schema"."Order"`), so it can key a map.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QName {
    pub schema: String,
    pub name: String,
}

impl QName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// The name as SQL: each part quoted when it needs to be.
    pub fn sql(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

impl QName {
    /// Parses the SQL form written by [`QName::sql`].
    pub fn parse(s: &str) -> Option<QName> {
        let mut parts = Vec::new();
        let mut chars = s.chars().peekable();
        loop {
            let mut part = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next()? {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            part.push('"');
                        }
                        '"' => break,
                        c => part.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == '.' {
                        break;
                    }
                    part.push(c);
                    chars.next();
                }
            }
            parts.push(part);
            match chars.next() {
                Some('.') => continue,
                None => break,
                Some(_) => return None,
            }
        }
        match <[String; 2]>::try_from(parts) {
            Ok([schema, name]) => Some(QName { schema, name }),
            Err(_) => None,
        }
    }
}

impl Serialize for QName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.sql())
    }
}

impl<'de> Deserialize<'de> for QName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<QName, D::Error> {
        let s = String::deserialize(d)?;
        QName::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a qualified name: {s}")))
    }
}

impl fmt::Display for QName {
    /// Plain `schema.name` for messages (not for SQL).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// The managed part of a database's schema.
///
/// Every field is compared as a whole by the planner and covered by the
/// fingerprint. Fields added after the first release carry `#[serde(default)]`
/// so older JSON still reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// User schemas (not `pg_catalog`, `information_schema`, toast or temp schemas,
    /// nor schemas that belong to an extension).
    pub schemas: BTreeMap<String, SchemaDef>,
    /// Installed extensions (not `plpgsql`) by name; their objects are theirs and
    /// appear nowhere else in the model.
    #[serde(default)]
    pub extensions: BTreeMap<String, Extension>,
    pub enums: BTreeMap<QName, EnumType>,
    #[serde(default)]
    pub domains: BTreeMap<QName, Domain>,
    #[serde(default)]
    pub composites: BTreeMap<QName, Composite>,
    pub sequences: BTreeMap<QName, Sequence>,
    pub tables: BTreeMap<QName, Table>,
    /// Indexes that do not back a constraint, keyed by the index's own name
    /// (on tables and on materialized views).
    pub indexes: BTreeMap<QName, Index>,
    /// Views and materialized views.
    #[serde(default)]
    pub views: BTreeMap<QName, View>,
    /// Functions and procedures, keyed by their identity
    /// (`schema.name(argument types)`, as `regprocedure` prints it).
    #[serde(default)]
    pub functions: BTreeMap<String, Function>,
    /// Triggers on tables and views, keyed by `table.trigger` in SQL form.
    #[serde(default)]
    pub triggers: BTreeMap<String, Trigger>,
    /// Row-level security policies, keyed by `table.policy` in SQL form.
    #[serde(default)]
    pub policies: BTreeMap<String, Policy>,
    /// Extended statistics objects (`CREATE STATISTICS`).
    #[serde(default)]
    pub statistics: BTreeMap<QName, Statistics>,
    /// Rewrite rules (not the `_RETURN` rules of views), keyed by `table.rule`.
    #[serde(default)]
    pub rules: BTreeMap<String, Rule>,
    /// Collations created by the user.
    #[serde(default)]
    pub collations: BTreeMap<QName, Collation>,
    /// Range types (`CREATE TYPE … AS RANGE`); their multirange types go with them.
    #[serde(default)]
    pub ranges: BTreeMap<QName, RangeType>,
    /// Aggregates, keyed like functions by their identity (`regprocedure`).
    #[serde(default)]
    pub aggregates: BTreeMap<String, Aggregate>,
    /// Event triggers (database-wide), by name. Their owners are keyed
    /// `EVENT TRIGGER name` in `owners`.
    #[serde(default)]
    pub event_triggers: BTreeMap<String, EventTrigger>,
    /// Privileges by object, keyed by the `GRANT … ON` target (`TABLE public.t`,
    /// `COLUMN public.t.c`, `FUNCTION public.f(integer)`, `SCHEMA app`…), each
    /// a sorted list of `grantee:PRIVILEGE` (`*` = WITH GRANT OPTION); the owner's
    /// own rights are implicit and left out. Compared only with `--with-privileges`.
    #[serde(default)]
    pub privileges: BTreeMap<String, Vec<String>>,
    /// Owners by the same targets (columns aside). Compared only with `--with-owners`.
    #[serde(default)]
    pub owners: BTreeMap<String, String>,
    /// Objects pgalign sees but does not manage yet: reported, never silently
    /// skipped. Keyed by a description such as `foreign table public.remote`.
    pub unmanaged: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaDef {
    pub name: String,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    pub name: String,
    pub schema: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    pub name: QName,
    /// Labels in sort order.
    pub labels: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub name: QName,
    /// The base type as `format_type` prints it.
    pub base_type: String,
    pub collation: Option<String>,
    pub default: Option<String>,
    pub not_null: bool,
    /// Check constraints by name, as `pg_get_constraintdef` prints them.
    pub checks: BTreeMap<String, String>,
    pub comment: Option<String>,
    /// The routines the checks call (`pg_depend`), as `check<TAB>regprocedure`:
    /// a check is added once they exist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub check_functions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Composite {
    pub name: QName,
    /// `(name, type, collation)` in order.
    pub attributes: Vec<(String, String, Option<String>)>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    pub name: QName,
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `(table, column)` that owns it (`OWNED BY`), if any.
    pub owned_by: Option<(QName, String)>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub name: QName,
    /// `UNLOGGED` when true.
    pub unlogged: bool,
    /// Columns in their physical order (`attnum`).
    pub columns: Vec<Column>,
    /// Constraints by name: primary key, unique, foreign key, check, exclusion.
    pub constraints: BTreeMap<String, Constraint>,
    /// Storage parameters (`reloptions`), e.g. `fillfactor=70`, sorted.
    #[serde(default)]
    pub options: Vec<String>,
    /// Row-level security: `None`, `enabled`, `forced` (enabled and forced)
    /// or `forced, not enabled` (FORCE set while RLS is off: it takes effect
    /// once RLS is enabled).
    #[serde(default)]
    pub rls: Option<String>,
    /// For a partitioned table: its key as `pg_get_partkeydef` prints it.
    #[serde(default)]
    pub partition_key: Option<String>,
    /// For a partition: its parent and its bound (`FOR VALUES …` or `DEFAULT`).
    #[serde(default)]
    pub partition_of: Option<(QName, String)>,
    /// Inheritance parents (`INHERITS`), in order. Only the table's own (local)
    /// columns and constraints are listed in `columns`/`constraints`.
    #[serde(default)]
    pub inherits: Vec<QName>,
    #[serde(default)]
    pub comment: Option<String>,
    /// `REPLICA IDENTITY` when not `DEFAULT`: `"full"`, `"nothing"` or
    /// `{"index": "name"}` (an index of the table, by its unqualified name). An
    /// identity whose index was dropped behaves as, and reads as, `nothing`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica_identity: Option<ReplicaIdentity>,
    /// The table access method (`USING …`) when it is not `heap`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_method: Option<String>,
    /// The tablespace when it is not the database's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tablespace: Option<String>,
    /// For a typed table (`CREATE TABLE … OF type`): the composite type its
    /// columns come from (they are still listed in `columns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of_type: Option<QName>,
    /// The index `CLUSTER` uses (`ALTER TABLE … CLUSTER ON`), by its unqualified name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_on: Option<String>,
    /// Per-column settings of columns the table inherits (partitions and
    /// inheritance children), by column name, when they differ from the
    /// type's defaults. Its own columns carry theirs in `columns`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inherited_column_settings: BTreeMap<String, ColumnSettings>,
    /// For a partition: the name of its index attached to each index of its
    /// parent (keyed by the parent's index; the partition's index is in the
    /// partition's schema), those that back constraints included. PostgreSQL
    /// names them when it creates them; a schema may name them otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub partition_indexes: BTreeMap<QName, String>,
}

/// `REPLICA IDENTITY` other than `DEFAULT`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicaIdentity {
    Full,
    Nothing,
    /// `USING INDEX name`.
    Index(String),
}

/// Settings of one column that `ALTER TABLE … ALTER COLUMN` changes without
/// touching its values; each is left out (JSON) when it is the default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSettings {
    /// `SET STORAGE` (`plain`, `external`, `extended`, `main`) when it differs
    /// from the type's default storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// With `storage`: the type's default storage, what `SET STORAGE` goes back
    /// to (PostgreSQL before 16 has no `SET STORAGE DEFAULT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_storage: Option<String>,
    /// `SET COMPRESSION` (`pglz`, `lz4`; PostgreSQL 14+) when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// `SET STATISTICS` (the per-column statistics target) when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<i32>,
    /// Attribute options (`SET (n_distinct = …)`), `name=value`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl ColumnSettings {
    pub fn is_default(&self) -> bool {
        self == &ColumnSettings::default()
    }
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The settings of column `name`, its own or inherited (defaults when the
    /// table has no such column or it uses the defaults).
    pub fn column_settings(&self, name: &str) -> ColumnSettings {
        match self.column(name) {
            Some(c) => c.settings.clone(),
            None => self
                .inherited_column_settings
                .get(name)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// The tables this one hangs from: its partition parent and its inheritance
    /// parents (they must exist before it, and outlive it).
    pub fn parents(&self) -> impl Iterator<Item = &QName> {
        self.partition_of
            .iter()
            .map(|(p, _)| p)
            .chain(self.inherits.iter())
    }
}

/// Orders tables so that parents come before their partitions and inheritance
/// children (reverse it for drops).
pub fn parents_first<'a>(
    tables: impl IntoIterator<Item = &'a Table>,
    all: &BTreeMap<QName, Table>,
) -> Vec<&'a Table> {
    fn depth(t: &Table, all: &BTreeMap<QName, Table>, guard: usize) -> usize {
        if guard > 32 {
            return 0;
        }
        t.parents()
            .filter_map(|p| all.get(p))
            .map(|p| depth(p, all, guard + 1) + 1)
            .max()
            .unwrap_or(0)
    }
    let mut v: Vec<(usize, &Table)> = tables.into_iter().map(|t| (depth(t, all, 0), t)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    v.into_iter().map(|(_, t)| t).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// As `format_type` prints it, e.g. `character varying(120)`, `public.mood[]`.
    pub data_type: String,
    pub not_null: bool,
    /// The default expression as `pg_get_expr` prints it.
    pub default: Option<String>,
    /// `always` or `by default` for identity columns.
    pub identity: Option<String>,
    /// The expression of a stored generated column.
    pub generated: Option<String>,
    /// A collation that differs from the type's default, qualified.
    pub collation: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// For a generated column: computed when read (PostgreSQL 18 `VIRTUAL`)
    /// rather than stored.
    #[serde(default)]
    pub generated_virtual: bool,
    /// For an identity column: its sequence's options
    /// (`START WITH 1 INCREMENT BY 1 MINVALUE 1 MAXVALUE … CACHE 1`).
    #[serde(default)]
    pub identity_options: Option<String>,
    /// PostgreSQL 18+: the name of the column's NOT NULL constraint, only when
    /// it is not the one PostgreSQL gives by default (`<table>_<column>_not_null`
    /// cut to 63 bytes, see [`crate::catalog::notnull`]). Absent from the JSON
    /// otherwise, so models of the same plain schema from PostgreSQL 13–17 and
    /// 18 stay equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_null_name: Option<String>,
    /// PostgreSQL 18+: the NOT NULL constraint is `NOT VALID` (new rows are
    /// checked, existing ones were not). `not_null` is true then too. Absent
    /// from the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_null_not_valid: bool,
    /// PostgreSQL 18+: the NOT NULL constraint is `NO INHERIT` (inheritance
    /// children do not get it). Absent from the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_null_no_inherit: bool,
    /// Storage, compression, statistics target and attribute options when not
    /// the defaults: in JSON, `storage`, `compression`, `statistics` and
    /// `options` next to the other fields, each only when set.
    #[serde(flatten)]
    pub settings: ColumnSettings,
}

/// Something a view, function or trigger depends on, from `pg_depend`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Dep {
    /// A table, view or sequence as a whole.
    Relation { name: QName },
    /// One column of a table or view.
    Column { table: QName, column: String },
    /// A function, by its identity key.
    Function { key: String },
    /// A type (enum, domain, composite, or a relation's row type).
    Type { name: QName },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    pub name: QName,
    pub materialized: bool,
    /// The query as `pg_get_viewdef` prints it.
    pub definition: String,
    /// `reloptions` such as `security_barrier=true`, `check_option=local`.
    pub options: Vec<String>,
    /// For materialized views: whether it holds data (`WITH DATA`).
    pub populated: bool,
    pub comment: Option<String>,
    /// What the view's query reads.
    pub depends_on: Vec<Dep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub schema: String,
    pub name: String,
    /// `function` or `procedure`.
    pub kind: String,
    /// The argument list with names and defaults (`pg_get_function_arguments`).
    pub arguments: String,
    /// The return type (`pg_get_function_result`); empty for procedures.
    pub result: String,
    /// The whole `CREATE OR REPLACE FUNCTION` statement (`pg_get_functiondef`).
    pub definition: String,
    pub comment: Option<String>,
    /// Types and relations its signature uses.
    pub depends_on: Vec<Dep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub table: QName,
    pub name: String,
    /// The `CREATE TRIGGER` statement (`pg_get_triggerdef`).
    pub definition: String,
    /// `O` (origin, the default), `D` disabled, `R` replica, `A` always.
    pub enabled: String,
    /// The identity key of the trigger function.
    pub function: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub table: QName,
    pub name: String,
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// Role names, `public` for everyone; sorted.
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub with_check: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    pub name: QName,
    pub table: QName,
    /// The `CREATE STATISTICS` statement (`pg_get_statisticsobjdef`).
    pub definition: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub table: QName,
    pub name: String,
    /// The `CREATE RULE` statement (`pg_get_ruledef`).
    pub definition: String,
    /// What its condition and actions read.
    pub depends_on: Vec<Dep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collation {
    pub name: QName,
    /// `libc`, `icu` or `builtin`.
    pub provider: String,
    pub deterministic: bool,
    /// The ICU or builtin locale.
    pub locale: Option<String>,
    pub lc_collate: Option<String>,
    pub lc_ctype: Option<String>,
}

/// A `table.name` key for triggers and policies.
pub fn member_key(table: &QName, name: &str) -> String {
    format!("{}.{}", table.sql(), quote_ident(name))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintKind {
    PrimaryKey,
    Unique,
    ForeignKey,
    Check,
    Exclusion,
}

impl Constraint {
    /// Same constraint, comments aside (a comment change never rebuilds it).
    pub fn same_as(&self, other: &Constraint) -> bool {
        self.kind == other.kind && self.definition == other.definition
    }
}

impl Index {
    /// Same index, comments aside (the definition names the table and the method).
    pub fn same_as(&self, other: &Index) -> bool {
        self.definition == other.definition && self.table == other.table
    }
}

impl ConstraintKind {
    pub fn describe(self) -> &'static str {
        match self {
            ConstraintKind::PrimaryKey => "primary key",
            ConstraintKind::Unique => "unique constraint",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::Check => "check constraint",
            ConstraintKind::Exclusion => "exclusion constraint",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    /// As `pg_get_constraintdef` prints it, e.g. `FOREIGN KEY (a) REFERENCES public.t(id)`.
    pub definition: String,
    /// The table a foreign key references.
    pub references: Option<QName>,
    /// The columns it constrains (by name), in key order.
    pub columns: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// For a primary key, unique or exclusion constraint: the tablespace of its
    /// index when it is not the database's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tablespace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub name: QName,
    pub table: QName,
    /// As `pg_get_indexdef` prints it.
    pub definition: String,
    pub unique: bool,
    /// Columns the index uses, in its keys, expressions or predicate, by name,
    /// sorted (not in column order: a column re-added at the end is the same).
    pub columns: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// The tablespace when it is not the database's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tablespace: Option<String>,
}

/// Size facts of a live table, used to size hazards. Not part of the fingerprint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TableStats {
    /// `pg_class.reltuples`, or `n_live_tup` when never analysed; `None` if unknown.
    pub rows: Option<f64>,
    /// Heap plus TOAST size in bytes (`pg_relation_size` of both). Not
    /// `pg_total_relation_size`: that opens every index's relcache entry and cost
    /// 40% of the whole introspection at 1,000 tables, for a figure that sizes
    /// hazards no better.
    pub bytes: i64,
}

/// What introspection returns: the model plus facts about the server and tables.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inspected {
    /// The role the inspection ran as (who will own what a plan creates).
    #[serde(default)]
    pub current_user: String,
    pub server_version_num: i32,
    pub server_version: String,
    pub database: String,
    pub database_bytes: i64,
    pub model: Model,
    pub stats: BTreeMap<QName, TableStats>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_round_trip_through_json() {
        for (schema, name) in [
            ("shop", "orders"),
            ("My Schema", "Or.der"),
            ("a\"b", "select"),
        ] {
            let q = QName::new(schema, name);
            let json = serde_json::to_string(&q).unwrap();
            assert_eq!(serde_json::from_str::<QName>(&json).unwrap(), q);
        }
    }
}
