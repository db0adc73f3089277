//! The one table of lock facts: for each kind of statement, the lock it takes on
//! its table (and on the other table it touches), whether it rewrites the table
//! and whether it scans it under that lock, by server version.
//!
//! Every row with a `sample` is measured on a real server by the integration
//! test `lint::lock_facts_match_the_server` (own backend's `pg_locks` inside a
//! rolled-back transaction; rewrite seen as a changed `pg_relation_filenode`;
//! a scan seen in the transaction's own `pg_stat_xact_user_tables` counts).
//! Rows without a sample cannot run inside a transaction block; their facts are
//! from the PostgreSQL documentation ("Explicit Locking", "ALTER TABLE").

use serde::Serialize;
use std::fmt;

/// PostgreSQL's table-level lock modes, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum LockMode {
    AccessShare,
    RowShare,
    RowExclusive,
    ShareUpdateExclusive,
    Share,
    ShareRowExclusive,
    Exclusive,
    AccessExclusive,
}

impl LockMode {
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// The name in `pg_locks.mode`.
    pub fn pg_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    pub fn from_pg_name(s: &str) -> Option<LockMode> {
        LockMode::ALL.into_iter().find(|m| m.pg_name() == s)
    }

    /// Whether ordinary writes (INSERT/UPDATE/DELETE) wait for it.
    pub fn blocks_writes(self) -> bool {
        self >= LockMode::Share
    }

    /// Whether plain reads (SELECT) wait for it.
    pub fn blocks_reads(self) -> bool {
        self == LockMode::AccessExclusive
    }

    /// What waits for it, in words.
    pub fn blocks(self) -> &'static str {
        if self.blocks_reads() {
            "blocks reads and writes"
        } else if self.blocks_writes() {
            "blocks writes"
        } else {
            "blocks other DDL and VACUUM"
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        })
    }
}

/// Kinds of statements (or ALTER TABLE subcommands) with distinct lock facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    CreateTableWithFk,
    DropTable,
    Truncate,
    AddColumn,
    AddColumnVolatileDefault,
    AddColumnStoredGenerated,
    AddColumnIdentity,
    /// `ADD COLUMN … CHECK (…)`: the new check is validated by a scan.
    AddColumnCheck,
    /// `ADD COLUMN … REFERENCES` without a default: ACCESS EXCLUSIVE (it
    /// adds a column), nothing to check.
    AddColumnForeignKey,
    /// `ADD COLUMN … DEFAULT … REFERENCES`: every row's default is checked.
    AddColumnForeignKeyDefault,
    DropColumn,
    AlterColumnType,
    AlterColumnTypeCoercible,
    TimestampToTimestamptzUtc,
    SetNotNull,
    SetNotNullWithCheck,
    /// PostgreSQL 18: `ADD CONSTRAINT … NOT NULL … NOT VALID`.
    AddNotNullNotValid,
    /// PostgreSQL 18: `VALIDATE CONSTRAINT` of a NOT NULL constraint.
    ValidateNotNull,
    DropNotNull,
    SetDefault,
    AddCheck,
    AddCheckNotValid,
    AddForeignKey,
    AddForeignKeyNotValid,
    ValidateCheck,
    ValidateForeignKey,
    DropCheck,
    DropForeignKey,
    AddUniqueOrPrimaryKey,
    AddConstraintUsingIndex,
    /// `ADD PRIMARY KEY USING INDEX` over columns not yet NOT NULL: an implicit
    /// SET NOT NULL, checked by a scan.
    AddPrimaryKeyUsingIndex,
    CreateIndex,
    CreateIndexConcurrently,
    DropIndex,
    DropIndexConcurrently,
    ReindexIndex,
    ReindexTable,
    ReindexConcurrently,
    RenameTable,
    RenameColumn,
    /// `ALTER TABLE … SET SCHEMA` (and views, sequences).
    SetSchema,
    /// `CREATE RULE … ON … TO t`.
    CreateRule,
    RenameIndex,
    SetLoggedOrUnlogged,
    SetTablespace,
    VacuumFull,
    Vacuum,
    Cluster,
    /// Bare `CLUSTER`: every table with a clustered index, one after the other.
    ClusterAll,
    RefreshMatview,
    RefreshMatviewConcurrently,
    AttachPartition,
    DetachPartition,
    DetachPartitionConcurrently,
    CreateTrigger,
    DropTrigger,
    EnableDisableTrigger,
    RowSecurity,
    CreatePolicy,
    DropPolicy,
    OwnerTo,
    SetStatistics,
    SetFillfactor,
    ReplicaIdentity,
    SetStorage,
    SetCompression,
    SetColumnOptions,
    ClusterOn,
    SetAccessMethod,
    TypedTable,
    CommentOn,
    Grant,
    CreateView,
    AlterSequence,
    Update,
    Delete,
    Insert,
    /// `ALTER COLUMN … RESTART` of an identity: its sequence is restarted.
    RestartIdentity,
    /// `ALTER DOMAIN … ADD CONSTRAINT` (validated): every table using the domain.
    DomainAddConstraint,
    /// `ALTER DOMAIN … SET NOT NULL`.
    DomainSetNotNull,
    /// `ALTER DOMAIN … VALIDATE CONSTRAINT`: unlike a table's, it takes SHARE.
    DomainValidateConstraint,
}

/// Which other relation a statement locks besides its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Other {
    /// The table a foreign key points to.
    Referenced,
    /// The partition attached or detached.
    Partition,
    /// The index named by the statement.
    Index,
    /// The sequence behind an identity column.
    Sequence,
}

/// A statement run by the measurement test on its fixture schema.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub sql: &'static str,
    /// The relation whose lock is `table_lock`.
    pub table: &'static str,
    /// The relation whose lock is `other`'s mode.
    pub other: Option<&'static str>,
}

/// One row of [`FACTS`].
#[derive(Debug, Clone, Copy)]
pub struct LockFact {
    pub op: Op,
    /// Server versions (`server_version_num / 10000`) this row holds for.
    pub from: u32,
    pub to: u32,
    pub table_lock: LockMode,
    pub other: Option<(Other, LockMode)>,
    /// Whether it rewrites the table (a new `pg_relation_filenode`).
    pub rewrite: bool,
    /// Whether it reads the whole table while it holds `table_lock`.
    pub scan: bool,
    pub sample: Option<Sample>,
}

/// The table's rewrite column: a named value, so that it cannot be swapped with [`Scan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    Yes,
    No,
}

/// The table's scan column: a named value, so that it cannot be swapped with [`Rewrite`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    Yes,
    No,
}

const ANY: u32 = 99;
use LockMode::*;

/// A row measured by running `sql` on the fixture: the lock is the one on `t`
/// (see [`LockFact::on`]), for every version (see `since`/`until`).
const fn row(op: Op, lock: LockMode, rewrite: Rewrite, scan: Scan, sql: &'static str) -> LockFact {
    let mut f = doc(op, lock, rewrite, scan);
    f.sample = Some(Sample {
        sql,
        table: "t",
        other: None,
    });
    f
}

/// A row from the documentation: its statement cannot run inside a transaction
/// block, so the test cannot measure it.
const fn doc(op: Op, lock: LockMode, rewrite: Rewrite, scan: Scan) -> LockFact {
    LockFact {
        op,
        from: 0,
        to: ANY,
        table_lock: lock,
        other: None,
        rewrite: matches!(rewrite, Rewrite::Yes),
        scan: matches!(scan, Scan::Yes),
        sample: None,
    }
}

impl LockFact {
    /// The sample's relation that takes the table lock, when it is not `t`.
    const fn on(mut self, table: &'static str) -> LockFact {
        if let Some(s) = self.sample.as_mut() {
            s.table = table;
        }
        self
    }

    /// The other relation it locks, in `mode`; `rel` names it in the sample.
    const fn also(mut self, o: Other, mode: LockMode, rel: &'static str) -> LockFact {
        self.other = Some((o, mode));
        if let Some(s) = self.sample.as_mut() {
            s.other = Some(rel);
        }
        self
    }

    /// Holds from major version `major` on.
    const fn since(mut self, major: u32) -> LockFact {
        self.from = major;
        self
    }

    /// Holds up to major version `major`.
    const fn until(mut self, major: u32) -> LockFact {
        self.to = major;
        self
    }
}

/// The fixture the samples run against (in an empty schema on `search_path`).
pub const FIXTURE: &str = "
CREATE TABLE p (id int PRIMARY KEY, v int);
CREATE DOMAIN posint AS int;
ALTER DOMAIN posint ADD CONSTRAINT posint_check CHECK (VALUE > 0) NOT VALID;
CREATE TABLE t (id int PRIMARY KEY, pid int CONSTRAINT t_pid_fkey REFERENCES p, a int, b text,
  ts timestamp, v varchar(10), dm posint, CONSTRAINT t_b_nn CHECK (b IS NOT NULL));
CREATE INDEX t_a_idx ON t (a);
ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;
ALTER TABLE t ADD CONSTRAINT t_v_fkey FOREIGN KEY (a) REFERENCES p NOT VALID;
INSERT INTO p VALUES (1, 1); INSERT INTO t VALUES (1, 1, 1, 'x', '2024-01-01', 'v', 1);
CREATE TABLE nopk (a int, b int NOT NULL); CREATE UNIQUE INDEX nopk_a ON nopk (a);
CREATE UNIQUE INDEX nopk_b ON nopk (b); INSERT INTO nopk VALUES (1, 1);
CREATE TABLE parted (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE part1 (id int, k int);
CREATE MATERIALIZED VIEW mv AS SELECT id, v FROM p; CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE SEQUENCE s;
CREATE TABLE ident (id int GENERATED BY DEFAULT AS IDENTITY);
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg();
CREATE POLICY t_pol ON t USING (true);
CREATE UNIQUE INDEX t_b_key ON t (b);
";

/// The table, searched in order: the first row of an op whose versions
/// (major versions, `since`/`until`) hold for the server is its fact. One row a
/// line: the op, the lock on its table, whether it rewrites the table, whether
/// it scans it under that lock, and the sample the test measures (`row`), or
/// none (`doc`); then `.on(rel)` when the sample's table is not `t`,
/// `.also(other, lock, rel)` for the other relation it locks, and the versions.
#[rustfmt::skip]
pub const FACTS: &[LockFact] = &[
//      op                               table lock             rewrite       scan       sample
    row(Op::CreateTableWithFk,           AccessExclusive,       Rewrite::No,  Scan::No,  "CREATE TABLE n (id int, pid int REFERENCES p)").on("n").also(Other::Referenced, ShareRowExclusive, "p"),
    row(Op::DropTable,                   AccessExclusive,       Rewrite::No,  Scan::No,  "DROP TABLE t").also(Other::Referenced, AccessExclusive, "p"),
    row(Op::Truncate,                    AccessExclusive,       Rewrite::Yes, Scan::No,  "TRUNCATE t"),
    row(Op::AddColumn,                   AccessExclusive,       Rewrite::Yes, Scan::No,  "ALTER TABLE t ADD COLUMN c int DEFAULT 0").until(10),
    row(Op::AddColumn,                   AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ADD COLUMN c int DEFAULT 0").since(11),
    row(Op::AddColumnVolatileDefault,    AccessExclusive,       Rewrite::Yes, Scan::No,  "ALTER TABLE t ADD COLUMN c float8 DEFAULT random()"),
    row(Op::AddColumnStoredGenerated,    AccessExclusive,       Rewrite::Yes, Scan::No,  "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a * 2) STORED"),
    row(Op::AddColumnIdentity,           AccessExclusive,       Rewrite::Yes, Scan::No,  "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS IDENTITY"),
    row(Op::AddColumnForeignKey,         AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ADD COLUMN c int REFERENCES p").also(Other::Referenced, ShareRowExclusive, "p"),
    row(Op::AddColumnForeignKeyDefault,  AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE t ADD COLUMN c int DEFAULT 1 REFERENCES p").also(Other::Referenced, ShareRowExclusive, "p"),
    row(Op::AddColumnCheck,              AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE t ADD COLUMN c int CHECK (c > 0)"),
    row(Op::DropColumn,                  AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t DROP COLUMN b"),
    row(Op::AlterColumnType,             AccessExclusive,       Rewrite::Yes, Scan::No,  "ALTER TABLE t ALTER COLUMN a TYPE bigint"),
    row(Op::AlterColumnType,             AccessExclusive,       Rewrite::Yes, Scan::No,  "SET LOCAL timezone = 'Europe/Paris'; ALTER TABLE t ALTER COLUMN ts TYPE timestamptz"),
    row(Op::AlterColumnType,             AccessExclusive,       Rewrite::Yes, Scan::No,  "ALTER TABLE t ALTER COLUMN v TYPE varchar(5)"),
    // A USING expression other than the column through casts is computed for every row.
    row(Op::AlterColumnType,             AccessExclusive,       Rewrite::Yes, Scan::No,  "SET LOCAL timezone = 'UTC'; ALTER TABLE t ALTER COLUMN ts TYPE timestamptz USING ts AT TIME ZONE 'UTC'"),
    row(Op::AlterColumnTypeCoercible,    AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN v TYPE varchar(20)"),
    row(Op::AlterColumnTypeCoercible,    AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN v TYPE text USING v::text"),
    row(Op::TimestampToTimestamptzUtc,   AccessExclusive,       Rewrite::No,  Scan::No,  "SET LOCAL timezone = 'UTC'; ALTER TABLE t ALTER COLUMN ts TYPE timestamptz").since(12),
    doc(Op::TimestampToTimestamptzUtc,   AccessExclusive,       Rewrite::Yes, Scan::No).until(11),
    row(Op::SetNotNull,                  AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE t ALTER COLUMN a SET NOT NULL"),
    row(Op::SetNotNullWithCheck,         AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN b SET NOT NULL").since(12),
    row(Op::SetNotNullWithCheck,         AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE t ALTER COLUMN b SET NOT NULL").until(11),
    row(Op::AddNotNullNotValid,          AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID").since(18),
    // The fixture's primary key gives `t.id` its NOT NULL constraint on 18.
    // Measured by hand on 18.4 with a NOT VALID one: the same lock, a scan,
    // and concurrent INSERT/UPDATE went through while it ran.
    row(Op::ValidateNotNull,             ShareUpdateExclusive,  Rewrite::No,  Scan::Yes, "ALTER TABLE t VALIDATE CONSTRAINT t_id_not_null").since(18),
    row(Op::DropNotNull,                 AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN pid DROP NOT NULL"),
    row(Op::SetDefault,                  AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1"),
    row(Op::AddCheck,                    AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)"),
    row(Op::AddCheckNotValid,            AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"),
    row(Op::AddForeignKey,               ShareRowExclusive,     Rewrite::No,  Scan::Yes, "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p").also(Other::Referenced, ShareRowExclusive, "p"),
    row(Op::AddForeignKeyNotValid,       ShareRowExclusive,     Rewrite::No,  Scan::No,  "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p NOT VALID").also(Other::Referenced, ShareRowExclusive, "p"),
    row(Op::ValidateCheck,               ShareUpdateExclusive,  Rewrite::No,  Scan::Yes, "ALTER TABLE t VALIDATE CONSTRAINT t_a_check"),
    row(Op::ValidateForeignKey,          ShareUpdateExclusive,  Rewrite::No,  Scan::Yes, "ALTER TABLE t VALIDATE CONSTRAINT t_v_fkey").also(Other::Referenced, RowShare, "p"),
    row(Op::DropCheck,                   AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t DROP CONSTRAINT t_a_check"),
    row(Op::DropForeignKey,              AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t DROP CONSTRAINT t_pid_fkey").also(Other::Referenced, AccessExclusive, "p"),
    row(Op::AddUniqueOrPrimaryKey,       AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)"),
    row(Op::AddConstraintUsingIndex,     AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ADD CONSTRAINT t_b_key UNIQUE USING INDEX t_b_key"),
    row(Op::AddConstraintUsingIndex,     AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE nopk ADD CONSTRAINT nopk_pk PRIMARY KEY USING INDEX nopk_b").on("nopk"),
    row(Op::AddPrimaryKeyUsingIndex,     AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE nopk ADD CONSTRAINT nopk_pk PRIMARY KEY USING INDEX nopk_a").on("nopk"),
    row(Op::CreateIndex,                 Share,                 Rewrite::No,  Scan::Yes, "CREATE INDEX i ON t (b)"),
    doc(Op::CreateIndexConcurrently,     ShareUpdateExclusive,  Rewrite::No,  Scan::Yes),
    row(Op::DropIndex,                   AccessExclusive,       Rewrite::No,  Scan::No,  "DROP INDEX t_a_idx").also(Other::Index, AccessExclusive, "t_a_idx"),
    doc(Op::DropIndexConcurrently,       ShareUpdateExclusive,  Rewrite::No,  Scan::No),
    row(Op::ReindexIndex,                Share,                 Rewrite::No,  Scan::Yes, "REINDEX INDEX t_a_idx").also(Other::Index, AccessExclusive, "t_a_idx"),
    row(Op::ReindexTable,                Share,                 Rewrite::No,  Scan::Yes, "REINDEX TABLE t"),
    row(Op::ReindexTable,                Share,                 Rewrite::No,  Scan::Yes, "REINDEX (CONCURRENTLY false) TABLE t"),
    doc(Op::ReindexConcurrently,         ShareUpdateExclusive,  Rewrite::No,  Scan::Yes),
    row(Op::RenameTable,                 AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t RENAME TO t2"),
    row(Op::SetSchema,                   AccessExclusive,       Rewrite::No,  Scan::No,  "CREATE SCHEMA m2; ALTER TABLE t SET SCHEMA m2"),
    row(Op::CreateRule,                  AccessExclusive,       Rewrite::No,  Scan::No,  "CREATE RULE r AS ON INSERT TO t DO INSTEAD NOTHING"),
    row(Op::EnableDisableTrigger,        ShareRowExclusive,     Rewrite::No,  Scan::No,  "ALTER TABLE t ENABLE REPLICA TRIGGER t_trg"),
    row(Op::RenameColumn,                AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t RENAME COLUMN a TO a2"),
    row(Op::RenameIndex,                 ShareUpdateExclusive,  Rewrite::No,  Scan::No,  "ALTER INDEX t_a_idx RENAME TO t_a_idx2").on("t_a_idx").since(12),
    row(Op::RenameIndex,                 AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER INDEX t_a_idx RENAME TO t_a_idx2").on("t_a_idx").until(11),
    row(Op::SetLoggedOrUnlogged,         AccessExclusive,       Rewrite::Yes, Scan::No,  "ALTER TABLE part1 SET UNLOGGED").on("part1"),
    doc(Op::SetTablespace,               AccessExclusive,       Rewrite::Yes, Scan::No),
    doc(Op::VacuumFull,                  AccessExclusive,       Rewrite::Yes, Scan::No),
    doc(Op::Vacuum,                      ShareUpdateExclusive,  Rewrite::No,  Scan::Yes),
    row(Op::Cluster,                     AccessExclusive,       Rewrite::Yes, Scan::No,  "CLUSTER t USING t_pkey"),
    doc(Op::ClusterAll,                  AccessExclusive,       Rewrite::Yes, Scan::No),
    row(Op::RefreshMatview,              AccessExclusive,       Rewrite::Yes, Scan::No,  "REFRESH MATERIALIZED VIEW mv").on("mv"),
    row(Op::RefreshMatviewConcurrently,  Exclusive,             Rewrite::No,  Scan::Yes, "REFRESH MATERIALIZED VIEW CONCURRENTLY mv").on("mv"),
    row(Op::AttachPartition,             ShareUpdateExclusive,  Rewrite::No,  Scan::Yes, "ALTER TABLE parted ATTACH PARTITION part1 FOR VALUES FROM (0) TO (10)").on("parted").also(Other::Partition, AccessExclusive, "part1").since(12),
    row(Op::AttachPartition,             AccessExclusive,       Rewrite::No,  Scan::Yes, "ALTER TABLE parted ATTACH PARTITION part1 FOR VALUES FROM (0) TO (10)").on("parted").also(Other::Partition, AccessExclusive, "part1").until(11),
    doc(Op::DetachPartition,             AccessExclusive,       Rewrite::No,  Scan::No).also(Other::Partition, AccessExclusive, ""),
    doc(Op::DetachPartitionConcurrently, ShareUpdateExclusive,  Rewrite::No,  Scan::No).also(Other::Partition, ShareUpdateExclusive, ""),
    row(Op::CreateTrigger,               ShareRowExclusive,     Rewrite::No,  Scan::No,  "CREATE TRIGGER t_trg2 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()"),
    row(Op::DropTrigger,                 AccessExclusive,       Rewrite::No,  Scan::No,  "DROP TRIGGER t_trg ON t"),
    row(Op::EnableDisableTrigger,        ShareRowExclusive,     Rewrite::No,  Scan::No,  "ALTER TABLE t DISABLE TRIGGER t_trg"),
    row(Op::RowSecurity,                 AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ENABLE ROW LEVEL SECURITY"),
    row(Op::CreatePolicy,                AccessExclusive,       Rewrite::No,  Scan::No,  "CREATE POLICY pol ON t USING (a > 0)"),
    row(Op::DropPolicy,                  AccessExclusive,       Rewrite::No,  Scan::No,  "DROP POLICY t_pol ON t"),
    row(Op::OwnerTo,                     AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t OWNER TO CURRENT_USER"),
    row(Op::SetStatistics,               ShareUpdateExclusive,  Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN a SET STATISTICS 500"),
    row(Op::SetFillfactor,               ShareUpdateExclusive,  Rewrite::No,  Scan::No,  "ALTER TABLE t SET (fillfactor = 90)"),
    row(Op::ReplicaIdentity,             AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t REPLICA IDENTITY FULL"),
    row(Op::SetStorage,                  AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN b SET STORAGE EXTERNAL"),
    row(Op::SetCompression,              AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN b SET COMPRESSION pglz").since(14),
    row(Op::SetColumnOptions,            ShareUpdateExclusive,  Rewrite::No,  Scan::No,  "ALTER TABLE t ALTER COLUMN a SET (n_distinct = 5)"),
    row(Op::ClusterOn,                   ShareUpdateExclusive,  Rewrite::No,  Scan::No,  "ALTER TABLE t CLUSTER ON t_a_idx"),
    row(Op::SetAccessMethod,             AccessExclusive,       Rewrite::Yes, Scan::No,  "CREATE ACCESS METHOD pgalign_heap2 TYPE TABLE HANDLER heap_tableam_handler; ALTER TABLE t SET ACCESS METHOD pgalign_heap2").since(15),
    row(Op::TypedTable,                  AccessExclusive,       Rewrite::No,  Scan::No,  "CREATE TYPE pt AS (id int, v int); ALTER TABLE p OF pt").on("p"),
    row(Op::CommentOn,                   ShareUpdateExclusive,  Rewrite::No,  Scan::No,  "COMMENT ON TABLE t IS 'x'"),
    row(Op::Grant,                       AccessShare,           Rewrite::No,  Scan::No,  "GRANT SELECT ON t TO PUBLIC; SELECT 1 FROM t LIMIT 0"),
    row(Op::CreateView,                  AccessShare,           Rewrite::No,  Scan::No,  "CREATE VIEW vw AS SELECT * FROM t"),
    row(Op::AlterSequence,               ShareRowExclusive,     Rewrite::Yes, Scan::No,  "ALTER SEQUENCE s RESTART 5").on("s"),
    row(Op::Update,                      RowExclusive,          Rewrite::No,  Scan::No,  "UPDATE t SET b = 'z'"),
    row(Op::Delete,                      RowExclusive,          Rewrite::No,  Scan::No,  "DELETE FROM t WHERE a = 0"),
    row(Op::Insert,                      RowExclusive,          Rewrite::No,  Scan::No,  "INSERT INTO t (id, b) VALUES (9, 'y')"),
    row(Op::RestartIdentity,             AccessExclusive,       Rewrite::No,  Scan::No,  "ALTER TABLE ident ALTER COLUMN id RESTART WITH 5").on("ident").also(Other::Sequence, ShareRowExclusive, "ident_id_seq"),
    row(Op::DomainAddConstraint,         Share,                 Rewrite::No,  Scan::Yes, "ALTER DOMAIN posint ADD CONSTRAINT posint_small CHECK (VALUE < 100)"),
    row(Op::DomainSetNotNull,            Share,                 Rewrite::No,  Scan::Yes, "ALTER DOMAIN posint SET NOT NULL"),
    row(Op::DomainValidateConstraint,    Share,                 Rewrite::No,  Scan::Yes, "ALTER DOMAIN posint VALIDATE CONSTRAINT posint_check"),
];

/// The facts of `op` on server major version `major`.
pub fn fact(op: Op, major: u32) -> LockFact {
    FACTS
        .iter()
        .find(|f| f.op == op && f.from <= major && major <= f.to)
        .or_else(|| FACTS.iter().find(|f| f.op == op))
        .copied()
        .expect("every op has a row in FACTS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_traps_are_in_the_table() {
        assert_eq!(
            fact(Op::DropForeignKey, 15).other,
            Some((Other::Referenced, AccessExclusive))
        );
        assert_eq!(
            fact(Op::DropTable, 15).other,
            Some((Other::Referenced, AccessExclusive))
        );
        assert_eq!(fact(Op::ReindexTable, 15).table_lock, Share);
        assert!(fact(Op::TimestampToTimestamptzUtc, 11).rewrite);
        assert!(fact(Op::AlterColumnType, 15).rewrite);
        assert!(!fact(Op::TimestampToTimestamptzUtc, 15).rewrite);
        assert!(fact(Op::AddColumn, 10).rewrite && !fact(Op::AddColumn, 11).rewrite);
        assert!(fact(Op::SetNotNullWithCheck, 11).scan && !fact(Op::SetNotNullWithCheck, 12).scan);
        let nn = fact(Op::AddNotNullNotValid, 18);
        assert!(nn.table_lock == AccessExclusive && !nn.scan);
        assert!(!fact(Op::ValidateNotNull, 18).table_lock.blocks_writes());
    }

    #[test]
    fn lock_mode_names_round_trip() {
        for m in LockMode::ALL {
            assert_eq!(LockMode::from_pg_name(m.pg_name()), Some(m));
        }
        assert!(Share.blocks_writes() && !ShareUpdateExclusive.blocks_writes());
    }
}
