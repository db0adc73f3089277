//! What a statement does, in the terms the rules need: one `Action` per effect
//! (an ALTER TABLE with three subcommands gives three actions).

use super::ast::{Rel, TypeSpec};
use super::locks::LockMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConKind {
    Check,
    ForeignKey,
    Unique,
    PrimaryKey,
    Exclude,
    NotNull,
}

impl ConKind {
    pub fn word(self) -> &'static str {
        match self {
            ConKind::Check => "CHECK",
            ConKind::ForeignKey => "FOREIGN KEY",
            ConKind::Unique => "UNIQUE",
            ConKind::PrimaryKey => "PRIMARY KEY",
            ConKind::Exclude => "EXCLUDE",
            ConKind::NotNull => "NOT NULL",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Con {
    pub kind: ConKind,
    pub name: Option<String>,
    pub not_valid: bool,
    pub using_index: Option<String>,
    pub columns: Vec<String>,
    pub references: Option<Rel>,
    /// For `CHECK (c IS NOT NULL)`: `c`.
    pub not_null_of: Option<String>,
    /// For a CHECK: its expression as SQL (for the probe of violating rows).
    pub check: Option<String>,
}

impl Con {
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {n}", self.kind.word()),
            None if self.columns.is_empty() => self.kind.word().to_string(),
            None => format!("{} ({})", self.kind.word(), self.columns.join(", ")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Volatile,
    NonVolatile,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    pub typ: TypeSpec,
    pub not_null: bool,
    pub default: Option<Default>,
    pub generated_stored: bool,
    pub identity: bool,
    pub constraints: Vec<Con>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TableCmd {
    AddColumn(ColumnInfo),
    DropColumn {
        column: String,
        cascade: bool,
    },
    AlterType {
        column: String,
        to: TypeSpec,
        using: Option<Using>,
    },
    SetNotNull {
        column: String,
    },
    DropNotNull {
        column: String,
    },
    SetDefault {
        column: String,
    },
    DropDefault {
        column: String,
    },
    AddConstraint(Con),
    ValidateConstraint {
        name: String,
    },
    DropConstraint {
        name: String,
        cascade: bool,
    },
    SetLogged {
        logged: bool,
    },
    SetTablespace,
    RowSecurity {
        what: &'static str,
    },
    OwnerTo,
    AttachPartition {
        part: Rel,
    },
    DetachPartition {
        part: Rel,
        concurrent: bool,
    },
    /// `DISABLE|ENABLE [REPLICA|ALWAYS] TRIGGER name|ALL|USER`.
    Trigger {
        mode: TriggerMode,
        /// The trigger's name, or `ALL` / `USER`.
        name: String,
    },
    /// `ALTER COLUMN … RESTART [WITH n]` of an identity column.
    RestartIdentity {
        column: String,
    },
    /// `ALTER TYPE … DROP ATTRIBUTE` of a composite type (the action's `rel` is the type).
    DropAttribute {
        attribute: String,
        cascade: bool,
    },
    SetStatistics,
    SetOptions,
    ReplicaIdentity,
    /// `ALTER COLUMN … SET STORAGE`.
    SetStorage,
    /// `ALTER COLUMN … SET COMPRESSION`.
    SetCompression,
    /// `ALTER COLUMN … SET/RESET (attribute options)`.
    SetColumnOptions,
    /// `CLUSTER ON` / `SET WITHOUT CLUSTER`.
    ClusterOn,
    /// `SET ACCESS METHOD`.
    SetAccessMethod,
    /// `OF type` / `NOT OF`.
    TypedTable,
    Other(String),
}

/// A `USING` expression of `ALTER COLUMN … TYPE`, read by what it does.
#[derive(Debug, Clone, PartialEq)]
pub enum Using {
    /// The column itself through these casts, innermost first (none: `USING col`).
    Cast(Vec<TypeSpec>),
    /// `col[::casts] AT TIME ZONE zone`, with the casts applied to the column first.
    AtTimeZone(Vec<TypeSpec>),
    /// Any other expression (a function, an operator, `CASE` …).
    Expr,
}

/// What `ALTER TABLE … TRIGGER` does to when a trigger fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerMode {
    Disable,
    Enable,
    /// `ENABLE REPLICA`: fires only when `session_replication_role = replica`.
    Replica,
    /// `ENABLE ALWAYS`: fires whatever `session_replication_role` is.
    Always,
}

/// What `ALTER DOMAIN` does.
#[derive(Debug, Clone, PartialEq)]
pub enum DomainOp {
    AddConstraint {
        not_valid: bool,
    },
    SetNotNull,
    Validate {
        name: String,
    },
    /// `DROP NOT NULL`, `DROP CONSTRAINT`, `SET DEFAULT`: no scan, no table lock.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tx {
    Begin,
    Commit,
    Rollback,
    Savepoint,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjKind {
    Table,
    View,
    MatView,
    Index,
    Sequence,
    Schema,
    Type,
    Function,
    Column,
    Trigger,
    Policy,
    Domain,
    Extension,
    Database,
    Other,
}

impl ObjKind {
    pub fn word(self) -> &'static str {
        match self {
            ObjKind::Table => "table",
            ObjKind::View => "view",
            ObjKind::MatView => "materialized view",
            ObjKind::Index => "index",
            ObjKind::Sequence => "sequence",
            ObjKind::Schema => "schema",
            ObjKind::Type => "type",
            ObjKind::Function => "function",
            ObjKind::Column => "column",
            ObjKind::Trigger => "trigger",
            ObjKind::Policy => "policy",
            ObjKind::Domain => "domain",
            ObjKind::Extension => "extension",
            ObjKind::Database => "database",
            ObjKind::Other => "object",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    CreateTable {
        rel: Rel,
        columns: Vec<ColumnInfo>,
        references: Vec<Rel>,
    },
    Drop {
        kind: ObjKind,
        objects: Vec<Rel>,
        cascade: bool,
        concurrent: bool,
        on: Option<Rel>,
    },
    Truncate {
        rels: Vec<Rel>,
        cascade: bool,
    },
    AlterTable {
        rel: Rel,
        cmd: TableCmd,
    },
    CreateIndex {
        rel: Rel,
        name: String,
        unique: bool,
        concurrent: bool,
        columns: Vec<String>,
    },
    Reindex {
        rel: Option<Rel>,
        index: Option<Rel>,
        concurrent: bool,
        wide: bool,
    },
    Vacuum {
        rels: Vec<Rel>,
        full: bool,
    },
    /// `CLUSTER t`, or bare `CLUSTER` (`rel` none: every table with a clustered index).
    Cluster {
        rel: Option<Rel>,
    },
    Refresh {
        rel: Rel,
        concurrent: bool,
    },
    Update {
        rel: Rel,
        has_where: bool,
    },
    Delete {
        rel: Rel,
        has_where: bool,
    },
    Insert {
        rel: Rel,
    },
    Rename {
        kind: ObjKind,
        rel: Option<Rel>,
        object: String,
        new: String,
    },
    Tx(Tx),
    Set {
        name: String,
        value: String,
        local: bool,
    },
    CreateFunction {
        name: String,
        security_definer: bool,
        trigger: bool,
        body_error: Option<String>,
    },
    AlterFunction {
        name: String,
        security_definer: bool,
    },
    Do,
    Call {
        name: String,
    },
    Execute,
    SelectCalls {
        funcs: Vec<String>,
    },
    AddEnumValue {
        typ: Rel,
        value: String,
    },
    CreateEnum {
        typ: Rel,
        values: Vec<String>,
    },
    Grant {
        grant: bool,
        what: String,
    },
    AlterOwner {
        what: String,
    },
    Policy {
        rel: Rel,
        verb: &'static str,
        name: String,
    },
    CreateTrigger {
        rel: Rel,
        name: String,
    },
    AlterDomain {
        domain: Rel,
        op: DomainOp,
    },
    AlterSequence {
        rel: Rel,
        restart: bool,
    },
    Lock {
        rels: Vec<Rel>,
        mode: LockMode,
    },
    CreateView {
        name: Rel,
    },
    Role {
        what: String,
    },
    NoTransaction {
        what: String,
    },
    Comment {
        rel: Option<Rel>,
    },
    /// `DROP DATABASE name`.
    DropDatabase {
        name: String,
    },
    /// `DROP OWNED BY roles`: every object they own in this database.
    DropOwned {
        roles: Vec<String>,
        cascade: bool,
    },
    /// `REASSIGN OWNED BY roles TO to`.
    ReassignOwned {
        roles: Vec<String>,
        to: String,
    },
    /// `ALTER <kind> … SET SCHEMA schema`; `rel` for tables, views, sequences.
    SetSchema {
        kind: ObjKind,
        rel: Option<Rel>,
        object: String,
        schema: String,
    },
    /// `CREATE RULE … ON event TO rel DO [INSTEAD] …`.
    CreateRule {
        rel: Rel,
        name: String,
        event: &'static str,
        instead: bool,
        /// `DO INSTEAD NOTHING` (no actions).
        nothing: bool,
        /// With a `WHERE` condition.
        conditional: bool,
    },
    /// `COPY … FROM|TO PROGRAM 'command'`.
    CopyProgram {
        from: bool,
        command: String,
    },
    Other,
}
