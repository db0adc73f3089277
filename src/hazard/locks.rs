//! The one table of lock facts: for each kind of statement, the lock it takes on
//! its table (and on the other table it touches), whether it rewrites the table
//! and whether it scans it under that lock, by server version.
//!
//! Every row with a `sample` is measured on a real server by the integration
//! test `lint::lock_facts_match_the_server` (own backend's `pg_locks` inside a
//! rolled-back transaction; rewrite seen as a changed `pg_relation_filenode`).
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
    CreateIndex,
    CreateIndexConcurrently,
    DropIndex,
    DropIndexConcurrently,
    ReindexIndex,
    ReindexTable,
    ReindexConcurrently,
    RenameTable,
    RenameColumn,
    RenameIndex,
    SetLoggedOrUnlogged,
    SetTablespace,
    VacuumFull,
    Vacuum,
    Cluster,
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

#[derive(Debug, Clone, Copy)]
pub struct LockFact {
    pub op: Op,
    /// Server versions (`server_version_num / 10000`) this row holds for.
    pub from: u32,
    pub to: u32,
    pub table_lock: LockMode,
    pub other: Option<(Other, LockMode)>,
    pub rewrite: bool,
    pub scan: bool,
    pub sample: Option<Sample>,
}

const ANY: u32 = 99;
use LockMode::*;

const fn row(op: Op, lock: LockMode, rewrite: bool, scan: bool, sql: &'static str) -> LockFact {
    LockFact {
        op,
        from: 0,
        to: ANY,
        table_lock: lock,
        other: None,
        rewrite,
        scan,
        sample: Some(Sample {
            sql,
            table: "t",
            other: None,
        }),
    }
}

const fn other(mut f: LockFact, o: Other, lock: LockMode, rel: &'static str) -> LockFact {
    f.other = Some((o, lock));
    if let Some(s) = f.sample.as_mut() {
        s.other = Some(rel);
    }
    f
}

const fn on(mut f: LockFact, table: &'static str) -> LockFact {
    if let Some(s) = f.sample.as_mut() {
        s.table = table;
    }
    f
}

const fn unmeasured(mut f: LockFact) -> LockFact {
    f.sample = None;
    f
}

const fn versions(mut f: LockFact, from: u32, to: u32) -> LockFact {
    f.from = from;
    f.to = to;
    f
}

/// The fixture the samples run against (in an empty schema on `search_path`).
pub const FIXTURE: &str = "
CREATE TABLE p (id int PRIMARY KEY, v int);
CREATE TABLE t (id int PRIMARY KEY, pid int CONSTRAINT t_pid_fkey REFERENCES p, a int, b text,
  ts timestamp, v varchar(10), CONSTRAINT t_b_nn CHECK (b IS NOT NULL));
CREATE INDEX t_a_idx ON t (a);
ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;
ALTER TABLE t ADD CONSTRAINT t_v_fkey FOREIGN KEY (a) REFERENCES p NOT VALID;
INSERT INTO p VALUES (1, 1); INSERT INTO t VALUES (1, 1, 1, 'x', '2024-01-01', 'v');
CREATE TABLE parted (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE part1 (id int, k int);
CREATE MATERIALIZED VIEW mv AS SELECT id, v FROM p; CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE SEQUENCE s;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg();
CREATE POLICY t_pol ON t USING (true);
CREATE UNIQUE INDEX t_b_key ON t (b);
";

/// The table. Versions are major versions; rows are searched in order.
pub const FACTS: &[LockFact] = &[
    on(
        other(
            row(
                Op::CreateTableWithFk,
                AccessExclusive,
                false,
                false,
                "CREATE TABLE n (id int, pid int REFERENCES p)",
            ),
            Other::Referenced,
            ShareRowExclusive,
            "p",
        ),
        "n",
    ),
    other(
        row(Op::DropTable, AccessExclusive, false, false, "DROP TABLE t"),
        Other::Referenced,
        AccessExclusive,
        "p",
    ),
    row(Op::Truncate, AccessExclusive, true, false, "TRUNCATE t"),
    versions(
        row(
            Op::AddColumn,
            AccessExclusive,
            true,
            false,
            "ALTER TABLE t ADD COLUMN c int DEFAULT 0",
        ),
        0,
        10,
    ),
    versions(
        row(
            Op::AddColumn,
            AccessExclusive,
            false,
            false,
            "ALTER TABLE t ADD COLUMN c int DEFAULT 0",
        ),
        11,
        ANY,
    ),
    row(
        Op::AddColumnVolatileDefault,
        AccessExclusive,
        true,
        false,
        "ALTER TABLE t ADD COLUMN c float8 DEFAULT random()",
    ),
    row(
        Op::AddColumnStoredGenerated,
        AccessExclusive,
        true,
        false,
        "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS (a * 2) STORED",
    ),
    row(
        Op::AddColumnIdentity,
        AccessExclusive,
        true,
        false,
        "ALTER TABLE t ADD COLUMN c int GENERATED ALWAYS AS IDENTITY",
    ),
    row(
        Op::DropColumn,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t DROP COLUMN b",
    ),
    row(
        Op::AlterColumnType,
        AccessExclusive,
        true,
        false,
        "ALTER TABLE t ALTER COLUMN a TYPE bigint",
    ),
    row(
        Op::AlterColumnType,
        AccessExclusive,
        true,
        false,
        "SET LOCAL timezone = 'Europe/Paris'; ALTER TABLE t ALTER COLUMN ts TYPE timestamptz",
    ),
    row(
        Op::AlterColumnType,
        AccessExclusive,
        true,
        false,
        "ALTER TABLE t ALTER COLUMN v TYPE varchar(5)",
    ),
    row(
        Op::AlterColumnTypeCoercible,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t ALTER COLUMN v TYPE varchar(20)",
    ),
    versions(
        row(
            Op::TimestampToTimestamptzUtc,
            AccessExclusive,
            false,
            false,
            "SET LOCAL timezone = 'UTC'; ALTER TABLE t ALTER COLUMN ts TYPE timestamptz",
        ),
        12,
        ANY,
    ),
    unmeasured(versions(
        row(
            Op::TimestampToTimestamptzUtc,
            AccessExclusive,
            true,
            false,
            "",
        ),
        0,
        11,
    )),
    row(
        Op::SetNotNull,
        AccessExclusive,
        false,
        true,
        "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
    ),
    versions(
        row(
            Op::SetNotNullWithCheck,
            AccessExclusive,
            false,
            false,
            "ALTER TABLE t ALTER COLUMN b SET NOT NULL",
        ),
        12,
        ANY,
    ),
    versions(
        row(
            Op::SetNotNullWithCheck,
            AccessExclusive,
            false,
            true,
            "ALTER TABLE t ALTER COLUMN b SET NOT NULL",
        ),
        0,
        11,
    ),
    versions(
        row(
            Op::AddNotNullNotValid,
            AccessExclusive,
            false,
            false,
            "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID",
        ),
        18,
        ANY,
    ),
    // The fixture's primary key gives `t.id` its NOT NULL constraint on 18.
    // Measured by hand on 18.4 with a NOT VALID one: the same lock, a scan,
    // and concurrent INSERT/UPDATE went through while it ran.
    versions(
        row(
            Op::ValidateNotNull,
            ShareUpdateExclusive,
            false,
            true,
            "ALTER TABLE t VALIDATE CONSTRAINT t_id_not_null",
        ),
        18,
        ANY,
    ),
    row(
        Op::DropNotNull,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t ALTER COLUMN pid DROP NOT NULL",
    ),
    row(
        Op::SetDefault,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1",
    ),
    row(
        Op::AddCheck,
        AccessExclusive,
        false,
        true,
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)",
    ),
    row(
        Op::AddCheckNotValid,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID",
    ),
    other(
        row(
            Op::AddForeignKey,
            ShareRowExclusive,
            false,
            true,
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p",
        ),
        Other::Referenced,
        ShareRowExclusive,
        "p",
    ),
    other(
        row(
            Op::AddForeignKeyNotValid,
            ShareRowExclusive,
            false,
            false,
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES p NOT VALID",
        ),
        Other::Referenced,
        ShareRowExclusive,
        "p",
    ),
    row(
        Op::ValidateCheck,
        ShareUpdateExclusive,
        false,
        true,
        "ALTER TABLE t VALIDATE CONSTRAINT t_a_check",
    ),
    other(
        row(
            Op::ValidateForeignKey,
            ShareUpdateExclusive,
            false,
            true,
            "ALTER TABLE t VALIDATE CONSTRAINT t_v_fkey",
        ),
        Other::Referenced,
        RowShare,
        "p",
    ),
    row(
        Op::DropCheck,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t DROP CONSTRAINT t_a_check",
    ),
    other(
        row(
            Op::DropForeignKey,
            AccessExclusive,
            false,
            false,
            "ALTER TABLE t DROP CONSTRAINT t_pid_fkey",
        ),
        Other::Referenced,
        AccessExclusive,
        "p",
    ),
    row(
        Op::AddUniqueOrPrimaryKey,
        AccessExclusive,
        false,
        true,
        "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
    ),
    row(
        Op::AddConstraintUsingIndex,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t ADD CONSTRAINT t_b_key UNIQUE USING INDEX t_b_key",
    ),
    row(
        Op::CreateIndex,
        Share,
        false,
        true,
        "CREATE INDEX i ON t (b)",
    ),
    unmeasured(row(
        Op::CreateIndexConcurrently,
        ShareUpdateExclusive,
        false,
        true,
        "",
    )),
    other(
        row(
            Op::DropIndex,
            AccessExclusive,
            false,
            false,
            "DROP INDEX t_a_idx",
        ),
        Other::Index,
        AccessExclusive,
        "t_a_idx",
    ),
    unmeasured(row(
        Op::DropIndexConcurrently,
        ShareUpdateExclusive,
        false,
        false,
        "",
    )),
    other(
        row(
            Op::ReindexIndex,
            Share,
            false,
            true,
            "REINDEX INDEX t_a_idx",
        ),
        Other::Index,
        AccessExclusive,
        "t_a_idx",
    ),
    row(Op::ReindexTable, Share, false, true, "REINDEX TABLE t"),
    unmeasured(row(
        Op::ReindexConcurrently,
        ShareUpdateExclusive,
        false,
        true,
        "",
    )),
    row(
        Op::RenameTable,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t RENAME TO t2",
    ),
    row(
        Op::RenameColumn,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t RENAME COLUMN a TO a2",
    ),
    versions(
        on(
            row(
                Op::RenameIndex,
                ShareUpdateExclusive,
                false,
                false,
                "ALTER INDEX t_a_idx RENAME TO t_a_idx2",
            ),
            "t_a_idx",
        ),
        12,
        ANY,
    ),
    versions(
        on(
            row(
                Op::RenameIndex,
                AccessExclusive,
                false,
                false,
                "ALTER INDEX t_a_idx RENAME TO t_a_idx2",
            ),
            "t_a_idx",
        ),
        0,
        11,
    ),
    on(
        row(
            Op::SetLoggedOrUnlogged,
            AccessExclusive,
            true,
            false,
            "ALTER TABLE part1 SET UNLOGGED",
        ),
        "part1",
    ),
    unmeasured(row(Op::SetTablespace, AccessExclusive, true, false, "")),
    unmeasured(row(Op::VacuumFull, AccessExclusive, true, false, "")),
    unmeasured(row(Op::Vacuum, ShareUpdateExclusive, false, true, "")),
    row(
        Op::Cluster,
        AccessExclusive,
        true,
        false,
        "CLUSTER t USING t_pkey",
    ),
    on(
        row(
            Op::RefreshMatview,
            AccessExclusive,
            true,
            false,
            "REFRESH MATERIALIZED VIEW mv",
        ),
        "mv",
    ),
    on(
        row(
            Op::RefreshMatviewConcurrently,
            Exclusive,
            false,
            true,
            "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
        ),
        "mv",
    ),
    versions(
        on(
            other(
                row(
                    Op::AttachPartition,
                    ShareUpdateExclusive,
                    false,
                    true,
                    "ALTER TABLE parted ATTACH PARTITION part1 FOR VALUES FROM (0) TO (10)",
                ),
                Other::Partition,
                AccessExclusive,
                "part1",
            ),
            "parted",
        ),
        12,
        ANY,
    ),
    versions(
        on(
            other(
                row(
                    Op::AttachPartition,
                    AccessExclusive,
                    false,
                    true,
                    "ALTER TABLE parted ATTACH PARTITION part1 FOR VALUES FROM (0) TO (10)",
                ),
                Other::Partition,
                AccessExclusive,
                "part1",
            ),
            "parted",
        ),
        0,
        11,
    ),
    unmeasured(other(
        row(Op::DetachPartition, AccessExclusive, false, false, ""),
        Other::Partition,
        AccessExclusive,
        "",
    )),
    unmeasured(other(
        row(
            Op::DetachPartitionConcurrently,
            ShareUpdateExclusive,
            false,
            false,
            "",
        ),
        Other::Partition,
        ShareUpdateExclusive,
        "",
    )),
    row(
        Op::CreateTrigger,
        ShareRowExclusive,
        false,
        false,
        "CREATE TRIGGER t_trg2 BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()",
    ),
    row(
        Op::DropTrigger,
        AccessExclusive,
        false,
        false,
        "DROP TRIGGER t_trg ON t",
    ),
    row(
        Op::EnableDisableTrigger,
        ShareRowExclusive,
        false,
        false,
        "ALTER TABLE t DISABLE TRIGGER t_trg",
    ),
    row(
        Op::RowSecurity,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
    ),
    row(
        Op::CreatePolicy,
        AccessExclusive,
        false,
        false,
        "CREATE POLICY pol ON t USING (a > 0)",
    ),
    row(
        Op::DropPolicy,
        AccessExclusive,
        false,
        false,
        "DROP POLICY t_pol ON t",
    ),
    row(
        Op::OwnerTo,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t OWNER TO CURRENT_USER",
    ),
    row(
        Op::SetStatistics,
        ShareUpdateExclusive,
        false,
        false,
        "ALTER TABLE t ALTER COLUMN a SET STATISTICS 500",
    ),
    row(
        Op::SetFillfactor,
        ShareUpdateExclusive,
        false,
        false,
        "ALTER TABLE t SET (fillfactor = 90)",
    ),
    row(
        Op::ReplicaIdentity,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t REPLICA IDENTITY FULL",
    ),
    row(
        Op::SetStorage,
        AccessExclusive,
        false,
        false,
        "ALTER TABLE t ALTER COLUMN b SET STORAGE EXTERNAL",
    ),
    versions(
        row(
            Op::SetCompression,
            AccessExclusive,
            false,
            false,
            "ALTER TABLE t ALTER COLUMN b SET COMPRESSION pglz",
        ),
        14,
        ANY,
    ),
    row(
        Op::SetColumnOptions,
        ShareUpdateExclusive,
        false,
        false,
        "ALTER TABLE t ALTER COLUMN a SET (n_distinct = 5)",
    ),
    row(
        Op::ClusterOn,
        ShareUpdateExclusive,
        false,
        false,
        "ALTER TABLE t CLUSTER ON t_a_idx",
    ),
    versions(
        row(
            Op::SetAccessMethod,
            AccessExclusive,
            true,
            false,
            "CREATE ACCESS METHOD pgalign_heap2 TYPE TABLE HANDLER heap_tableam_handler; \
             ALTER TABLE t SET ACCESS METHOD pgalign_heap2",
        ),
        15,
        ANY,
    ),
    on(
        row(
            Op::TypedTable,
            AccessExclusive,
            false,
            false,
            "CREATE TYPE pt AS (id int, v int); ALTER TABLE p OF pt",
        ),
        "p",
    ),
    row(
        Op::CommentOn,
        ShareUpdateExclusive,
        false,
        false,
        "COMMENT ON TABLE t IS 'x'",
    ),
    row(
        Op::Grant,
        AccessShare,
        false,
        false,
        "GRANT SELECT ON t TO PUBLIC; SELECT 1 FROM t LIMIT 0",
    ),
    row(
        Op::CreateView,
        AccessShare,
        false,
        false,
        "CREATE VIEW vw AS SELECT * FROM t",
    ),
    on(
        row(
            Op::AlterSequence,
            ShareRowExclusive,
            true,
            false,
            "ALTER SEQUENCE s RESTART 5",
        ),
        "s",
    ),
    row(
        Op::Update,
        RowExclusive,
        false,
        false,
        "UPDATE t SET b = 'z'",
    ),
    row(
        Op::Delete,
        RowExclusive,
        false,
        false,
        "DELETE FROM t WHERE a = 0",
    ),
    row(
        Op::Insert,
        RowExclusive,
        false,
        false,
        "INSERT INTO t (id, b) VALUES (9, 'y')",
    ),
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
