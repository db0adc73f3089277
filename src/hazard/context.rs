//! What the rules may look at: the server's facts (with `--db`), what the file
//! has done so far (tables it created, transaction state, settings), and the
//! probes the rules asked for.

use super::action::ColumnInfo;
use super::ast::{Rel, TypeSpec};
use super::locks::LockMode;
use super::size::TableSize;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Facts of one live table (or index, materialized view) read with `--db`.
#[derive(Debug, Clone, Default)]
pub struct TableFacts {
    /// `schema.name` as resolved through `search_path`.
    pub name: String,
    pub kind: char,
    /// Rows and bytes, measured by the one sizing function ([`super::size::measure`]).
    pub size: TableSize,
    pub columns: HashMap<String, ColFacts>,
    /// Columns with a validated `CHECK (c IS NOT NULL)`.
    pub not_null_checks: HashSet<String>,
    /// CHECK constraint name → its expression (as SQL).
    pub check_exprs: HashMap<String, String>,
    /// Constraint name → (contype, referenced table).
    pub constraints: HashMap<String, (char, Option<String>)>,
    /// Tables whose foreign keys point here.
    pub referenced_by: Vec<String>,
    /// Those foreign keys: (referencing table as `regclass` text, constraint name).
    pub foreign_keys_in: Vec<(String, String)>,
    /// For an index: its table and how often it was scanned.
    pub index_of: Option<String>,
    pub index_scans: Option<i64>,
    /// For an index: the columns of its table it covers, in order.
    pub index_columns: Vec<String>,
    /// For a [`Reach`]: the tables it stands for.
    pub members: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ColFacts {
    pub typ: TypeSpec,
    pub not_null: bool,
    pub enum_labels: Option<Vec<String>>,
}

/// Relations a statement reaches without naming them; with `--db` their facts
/// are read (summed) and filed under [`Reach::rel`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reach {
    /// Every table with a column of the domain.
    DomainUsers(Rel),
    /// The typed tables (`CREATE TABLE … OF`) of a composite type.
    TypedTables(Rel),
    /// The tables with a column of a type the extension defines.
    ExtensionColumns(String),
    /// The tables the roles own in this database.
    OwnedBy(Vec<String>),
    /// A whole database (its size only).
    Database(String),
    /// Every table with a clustered index (what a bare `CLUSTER` rewrites).
    Clustered,
}

impl Reach {
    pub fn words(&self) -> String {
        match self {
            Reach::DomainUsers(d) => format!("every table with a column of domain {d}"),
            Reach::TypedTables(t) => format!("every typed table of {t}"),
            Reach::ExtensionColumns(e) => {
                format!("every table with a column of a type of extension {e}")
            }
            Reach::OwnedBy(r) => format!("every table owned by {}", r.join(", ")),
            Reach::Database(d) => format!("database {d}"),
            Reach::Clustered => "every table with a clustered index".into(),
        }
    }

    /// The stand-in relation rules size and name findings by.
    pub fn rel(&self) -> Rel {
        Rel::reach(&self.words())
    }
}

/// A cheap data probe a rule would like to see.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProbeKey {
    Nulls(Rel, String),
    Duplicates(Rel, Vec<String>),
    NonNull(Rel, String),
    EnumUses(Rel, String, Vec<String>),
    /// Rows for which a CHECK expression is false.
    Violates(Rel, String),
}

impl ProbeKey {
    /// The table probed and what is counted on it.
    pub fn parts(&self) -> (&Rel, super::probe::Check) {
        use super::probe::Check;
        match self {
            ProbeKey::Nulls(r, c) => (r, Check::Nulls(c.clone())),
            ProbeKey::Duplicates(r, c) => (r, Check::Duplicates(c.clone())),
            ProbeKey::NonNull(r, c) => (r, Check::NonNull(c.clone())),
            ProbeKey::EnumUses(r, c, l) => (r, Check::EnumUses(c.clone(), l.clone())),
            ProbeKey::Violates(r, e) => (r, Check::Violates(e.clone())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Count(i64),
    Failed(String),
}

/// Everything read from the live database.
#[derive(Debug, Clone, Default)]
pub struct DbFacts {
    pub version: String,
    pub major: u32,
    pub timezone_utc: bool,
    pub tables: HashMap<Rel, TableFacts>,
    pub probes: HashMap<ProbeKey, Outcome>,
}

/// Input of `lint_sql`.
#[derive(Debug, Clone)]
pub struct LintContext {
    /// The file name shown in output.
    pub file: String,
    /// Server major version assumed without `--db`.
    pub server_major: u32,
    pub db: Option<DbFacts>,
}

impl Default for LintContext {
    fn default() -> Self {
        LintContext {
            file: "<sql>".into(),
            server_major: 13,
            db: None,
        }
    }
}

/// What the file has done before the current statement.
#[derive(Debug, Clone, Default)]
pub struct FileState {
    /// Tables created by the file (by bare name), with their columns.
    pub created: HashMap<String, Vec<ColumnInfo>>,
    pub created_refs: HashMap<String, Vec<Rel>>,
    pub enums: HashMap<String, Vec<String>>,
    pub not_null_checks: HashSet<(String, String)>,
    pub pending_checks: HashMap<String, (String, String)>,
    /// Tables dropped by the file (by bare name).
    pub dropped_tables: HashSet<String>,
    /// Constraints dropped by the file: (bare table name, constraint name).
    pub dropped_constraints: HashSet<(String, String)>,
    /// Line of the open BEGIN.
    pub in_tx: Option<usize>,
    pub lock_timeout: bool,
    pub local_lock_timeout: bool,
    pub warned_lock_timeout: bool,
    pub timezone_utc: Option<bool>,
    /// Enum values added in the open transaction.
    pub tx_enum_values: Vec<(String, String)>,
    /// Indexes created by the file (by bare name): the columns they cover.
    pub created_indexes: HashMap<String, Vec<String>>,
    /// The strongest lock taken on each table (by resolved name) in the open
    /// explicit transaction, with the line of the statement that took it:
    /// held until COMMIT.
    pub tx_locks: HashMap<String, (LockMode, usize)>,
    /// Constraints added `NOT VALID` in the open transaction, with their line.
    pub tx_not_valid: HashMap<String, usize>,
    /// CHECK constraints added by the file (by name): their expressions.
    pub check_exprs: HashMap<String, String>,
}

/// The view a rule gets of one statement's surroundings.
pub struct Cx<'a> {
    pub major: u32,
    pub db: Option<&'a DbFacts>,
    pub file: &'a FileState,
    pub wanted: RefCell<BTreeSet<ProbeKey>>,
}

impl<'a> Cx<'a> {
    pub fn new(ctx: &'a LintContext, file: &'a FileState) -> Cx<'a> {
        let major = ctx
            .db
            .as_ref()
            .map(|d| d.major)
            .filter(|m| *m > 0)
            .unwrap_or(ctx.server_major);
        Cx {
            major,
            db: ctx.db.as_ref(),
            file,
            wanted: RefCell::new(BTreeSet::new()),
        }
    }

    /// Created earlier in this file, so empty and unseen by other sessions.
    pub fn is_new(&self, rel: &Rel) -> bool {
        self.file.created.contains_key(&rel.name)
    }

    pub fn table(&self, rel: &Rel) -> Option<&'a TableFacts> {
        if self.is_new(rel) {
            return None;
        }
        self.db?.tables.get(rel)
    }

    /// The table's name for messages: resolved when known.
    pub fn name(&self, rel: &Rel) -> String {
        self.table(rel)
            .map(|t| t.name.clone())
            .unwrap_or_else(|| rel.to_string())
    }

    pub fn column_type(&self, rel: &Rel, col: &str) -> Option<TypeSpec> {
        if let Some(cols) = self.file.created.get(&rel.name) {
            return cols.iter().find(|c| c.name == col).map(|c| c.typ.clone());
        }
        self.table(rel)?.columns.get(col).map(|c| c.typ.clone())
    }

    /// The columns the index `index` of `rel` covers, from the file or the database.
    pub fn index_columns(&self, rel: &Rel, index: &str) -> Option<Vec<String>> {
        if let Some(cols) = self.file.created_indexes.get(index) {
            return Some(cols.clone());
        }
        let facts = self
            .db?
            .tables
            .get(&Rel::new(rel.schema.as_deref(), index))?;
        (!facts.index_columns.is_empty()).then(|| facts.index_columns.clone())
    }

    /// The expression of the CHECK constraint `name` of `rel`, from the file or the database.
    pub fn check_expr(&self, rel: &Rel, name: &str) -> Option<String> {
        if let Some(e) = self.file.check_exprs.get(name) {
            return Some(e.clone());
        }
        self.table(rel)?.check_exprs.get(name).cloned()
    }

    pub fn column(&self, rel: &Rel, col: &str) -> Option<&'a ColFacts> {
        self.table(rel)?.columns.get(col)
    }

    pub fn column_not_null(&self, rel: &Rel, col: &str) -> Option<bool> {
        if let Some(cols) = self.file.created.get(&rel.name) {
            return cols.iter().find(|c| c.name == col).map(|c| c.not_null);
        }
        self.column(rel, col).map(|c| c.not_null)
    }

    pub fn has_valid_not_null_check(&self, rel: &Rel, col: &str) -> bool {
        self.file
            .not_null_checks
            .contains(&(rel.name.clone(), col.to_string()))
            || self
                .table(rel)
                .is_some_and(|t| t.not_null_checks.contains(col))
    }

    pub fn timezone_utc(&self) -> bool {
        self.file
            .timezone_utc
            .or(self.db.map(|d| d.timezone_utc))
            .unwrap_or(false)
    }

    /// A probe's result when it ran; otherwise the rule's wish is recorded.
    pub fn probe(&self, key: ProbeKey) -> Option<&'a Outcome> {
        let db = self.db?;
        let table = db.tables.get(key.parts().0)?;
        if table.kind != 'r' && table.kind != 'p' {
            return None;
        }
        let found = db.probes.get(&key);
        if found.is_none() {
            self.wanted.borrow_mut().insert(key);
        }
        found
    }

    pub fn lock_timeout(&self) -> bool {
        self.file.lock_timeout || self.file.local_lock_timeout
    }
}
