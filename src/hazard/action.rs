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
        using: bool,
        /// The `USING` is `column::to`, the cast the plain form makes.
        plain_cast: bool,
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
    Trigger {
        disable: bool,
        name: String,
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
    DomainConstraint {
        domain: Rel,
        not_valid: bool,
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
    Other,
}
