//! The command-line contract (DESIGN.md §2). Names, flags and exit codes are a
//! public interface: extend, never rename.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "pgalign",
    version,
    args_conflicts_with_subcommands = true,
    about = "Guided, reviewable PostgreSQL schema alignment",
    long_about = "Guided, reviewable PostgreSQL schema alignment.\n\n\
        Without a subcommand, opens the interactive wizard.\n\n\
        Exit codes: 0 success / no difference, 1 error, 2 differences or hazards found, \
        3 refused (drift, tampered plan, hazards not allowed, no confirmation), 130 aborted.",
    after_help = "Quick start: `pgalign practice` rehearses a whole window on a throwaway database."
)]
pub struct Cli {
    /// Without a subcommand: the wizard, with these arguments (clap builds it,
    /// so `PGALIGN_DB_URL`/`PGALIGN_SHADOW_URL` count as for `pgalign wizard`).
    #[command(flatten)]
    pub wizard: WizardArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Where the live database is. Also read from `PGALIGN_DB_URL`; libpq's `PG*`
/// variables fill what the URL leaves out. Never put a password in a flag: use
/// `PGPASSWORD` or `~/.pgpass`. Declared once, flattened wherever `--db` is taken.
#[derive(Debug, Clone, Default, Args)]
pub struct Target {
    /// The live database: `postgres://user@host:5432/db` or `host=… dbname=…`
    /// (also PGALIGN_DB_URL). Without it, libpq's `PG*` variables and service
    /// file say where to connect.
    #[arg(
        id = "db",
        long = "db",
        env = "PGALIGN_DB_URL",
        hide_env_values = true,
        value_name = "DB"
    )]
    pub url: Option<String>,
}

impl Target {
    /// The connection string to parse; empty means "from libpq's environment".
    pub fn conninfo(&self) -> &str {
        self.url.as_deref().unwrap_or("")
    }
}

/// A server where a temporary shadow database may be created to load SQL
/// sources (also `PGALIGN_SHADOW_URL`). Declared once, flattened wherever
/// `--shadow` is taken.
#[derive(Debug, Clone, Default, Args)]
pub struct Shadow {
    /// A server where a temporary shadow database may be created to load SQL
    /// sources (also PGALIGN_SHADOW_URL); without it pgalign starts a throwaway
    /// local PostgreSQL.
    #[arg(
        id = "shadow",
        long = "shadow",
        env = "PGALIGN_SHADOW_URL",
        hide_env_values = true,
        value_name = "SHADOW"
    )]
    pub url: Option<String>,
}

/// Where the desired schema comes from.
#[derive(Debug, Clone, Args)]
pub struct DesiredArgs {
    /// The desired schema: a database URL, a .sql file, a directory of .sql files
    /// (name order), or `cmd:<shell command>` whose standard output is SQL.
    #[arg(long)]
    pub desired: String,
    #[command(flatten)]
    pub shadow: Shadow,
}

/// What the comparison covers. Repeat a flag for several values.
#[derive(Debug, Clone, Default, Args)]
pub struct ScopeArgs {
    /// Only this schema (repeatable).
    #[arg(long = "schema", value_name = "SCHEMA")]
    pub schemas: Vec<String>,
    /// Leave this schema out (repeatable).
    #[arg(long = "exclude-schema", value_name = "SCHEMA")]
    pub exclude_schemas: Vec<String>,
    /// Leave out objects whose qualified name matches this glob, e.g. `jobs.*`
    /// or `public.pgboss_*` for tables another tool manages (repeatable).
    #[arg(long = "exclude", value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Also compare privileges (GRANT/REVOKE on schemas, tables, columns,
    /// sequences, functions, types).
    #[arg(long)]
    pub with_privileges: bool,
    /// Also compare owners (ALTER … OWNER TO).
    #[arg(long)]
    pub with_owners: bool,
}

impl ScopeArgs {
    pub fn scope(&self) -> crate::catalog::Scope {
        crate::catalog::Scope {
            schemas: self.schemas.clone(),
            exclude_schemas: self.exclude_schemas.clone(),
            exclude: self.exclude.clone(),
            with_privileges: self.with_privileges,
            with_owners: self.with_owners,
        }
    }
}

/// How the plan treats tables that already hold rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// Forms that let writes go on: CONCURRENTLY, NOT VALID + VALIDATE.
    #[default]
    Online,
    /// Plain forms for a window with writes paused: faster, but they block.
    Offline,
}

impl From<StrategyArg> for crate::plan::Strategy {
    fn from(s: StrategyArg) -> Self {
        match s {
            StrategyArg::Online => crate::plan::Strategy::Online,
            StrategyArg::Offline => crate::plan::Strategy::Offline,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Sql,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The interactive wizard: preflight, backup, diff, review, apply, verify, cleanup, report.
    ///
    /// Example: pgalign wizard --db postgres://app@db/shop --desired schema.sql
    Wizard(WizardArgs),
    /// Rehearse the whole window on a throwaway local PostgreSQL with a drifted
    /// practice database; the report is kept.
    ///
    /// Example: pgalign practice
    Practice(PracticeArgs),
    /// Print the schema model of a database.
    ///
    /// Example: pgalign inspect --db postgres://app@db/shop --format json
    Inspect(InspectArgs),
    /// Write the plan that turns the database's schema into the desired one.
    /// Exit 0: no difference; 2: differences (plan written); 1: error.
    ///
    /// Example: pgalign diff --db postgres://app@db/shop --desired schema.sql --output plan.sql
    Diff(DiffArgs),
    /// Re-diff and print what still differs. Exit 0: in sync (with --post-checks:
    /// and every check passed); 2: differences remain or a post-check failed; 1: error.
    ///
    /// Example: pgalign verify --db postgres://app@db/shop --desired schema.sql
    Verify(VerifyArgs),
    /// Hazards of every statement of a SQL file. Exit 0: nothing at or above
    /// --fail-on; 2: something is; 1: error.
    ///
    /// Example: pgalign lint migration.sql --fail-on warning
    Lint(LintArgs),
    /// Apply a pinned plan. Exit 0: applied; 1: error; 3: refused.
    ///
    /// Example: pgalign apply --db postgres://app@db/shop --plan plan.sql --confirm-target shop
    Apply(ApplyArgs),
    /// `pg_dump -Fc` plus a schema-only dump, verified and checksummed.
    ///
    /// Example: pgalign backup --db postgres://app@db/shop --out backups/
    Backup(BackupArgs),
    /// Clone to a scratch database, apply the plan there, measure, drop the clone.
    /// Exit 0: the plan converged; 2: it did not; 1: error.
    ///
    /// Example: pgalign rehearse --db postgres://app@db/shop --plan plan.sql
    Rehearse(RehearseArgs),
    /// Pin an external SQL file (`prisma migrate diff --script`, `alembic
    /// upgrade --sql` output…) as a pgalign plan: linted against the live
    /// database, regrouped, with its hazards as step comments.
    ///
    /// Example: pgalign pin migration.sql --db postgres://app@db/shop -o plan.sql
    Pin(PinArgs),
    /// Restore a `pg_dump -Fc` archive into a new database, with progress and
    /// a row-count check. Exit 0: restored, counts match; 1: error; 3: refused.
    ///
    /// Example: pgalign restore --db postgres://app@db/shop --backup shop.dump --into shop_restored
    Restore(RestoreArgs),
    /// Render the alignment report of a session from its journal.
    ///
    /// Example: pgalign report --journal ~/.local/share/pgalign/sessions/…/journal.jsonl
    Report(ReportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct WizardArgs {
    #[command(flatten)]
    pub target: Target,
    /// The desired schema (see `pgalign diff --help`); optional with --plan,
    /// where it only serves to verify the result.
    #[arg(long)]
    pub desired: Option<String>,
    /// An external SQL file (a hand-written migration, `prisma migrate diff
    /// --script` output…) to review and apply in place of a computed plan.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    pub shadow: Shadow,
    /// Where the session's journal, backup, plan and report go.
    #[arg(long)]
    pub session_dir: Option<PathBuf>,
    /// Configuration file (default: ./pgalign.toml when present).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// `online` (default) or `offline` (see `pgalign diff --help`).
    #[arg(long, value_enum, default_value = "online")]
    pub strategy: StrategyArg,
    /// Plan even when the desired schema would drop most of the live tables or
    /// schemas (see `pgalign diff --help`); without it the reviewer types the count.
    #[arg(long)]
    pub allow_drop_all: bool,
    /// Reopen the session of this journal at its Apply step to continue an
    /// interrupted apply: the signed-off plan is checked unchanged, committed
    /// groups are never run again. Needs the same --db.
    #[arg(long, value_name = "JOURNAL", conflicts_with_all = ["plan", "session_dir"])]
    pub resume: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct PracticeArgs {
    /// The practice scenario (see assets/practice/).
    #[arg(long, default_value = "shop")]
    pub scenario: String,
    /// Where the session's journal, backup, plan and report go.
    #[arg(long)]
    pub session_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    pub db: Target,
    #[command(flatten)]
    pub scope: ScopeArgs,
    #[arg(long, value_enum, default_value = "sql")]
    pub format: PlanFormat,
}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub db: Target,
    #[command(flatten)]
    pub desired: DesiredArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Write the plan here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "sql")]
    pub format: PlanFormat,
    /// Only creates and widenings; destructive changes are listed, not planned.
    #[arg(long)]
    pub additive: bool,
    /// `online` (default): CREATE INDEX CONCURRENTLY, NOT VALID then VALIDATE…;
    /// `offline`: the plain forms, for a window with writes paused.
    #[arg(long, value_enum, default_value = "online")]
    pub strategy: StrategyArg,
    /// Plan even when the desired schema would drop every table, or more than
    /// half of the tables or schemas (an empty or truncated source is the usual
    /// cause). Without it such a plan starts with a blocker that `apply` refuses;
    /// with it, the first drop carries a danger naming the count.
    #[arg(long)]
    pub allow_drop_all: bool,
    /// Alembic's migrations directory (`alembic/` or its `versions/`): the
    /// plan sets `alembic_version` to the head its revision files name.
    #[arg(long, value_name = "DIR")]
    pub alembic_dir: Option<PathBuf>,
    /// Do not run the data probes (NULL, duplicate and value counts, each
    /// under a 3 s statement timeout) that decide some hazards' severity;
    /// the tables are still sized.
    #[arg(long)]
    pub no_probes: bool,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub db: Target,
    #[command(flatten)]
    pub desired: DesiredArgs,
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// After the re-diff, run the `[[post_check]]`s of pgalign.toml (http,
    /// command, sql, ledger). Exit 0 only when in sync and every check passes;
    /// a failed check exits 2, like remaining differences.
    #[arg(long)]
    pub post_checks: bool,
    /// Configuration file (default: ./pgalign.toml when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Alembic's migrations directory: `alembic_version` must hold its head.
    #[arg(long, value_name = "DIR")]
    pub alembic_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// The SQL file to lint.
    pub file: PathBuf,
    /// A database to size hazards against (`--db`, also PGALIGN_DB_URL).
    #[command(flatten)]
    pub target: Target,
    #[arg(long, value_enum, default_value = "human")]
    pub format: LintFormat,
    /// Exit 2 when a hazard at or above this severity is found.
    #[arg(long, default_value = "danger")]
    pub fail_on: crate::hazard::Severity,
    /// With --db: do not run the data probes (NULL, duplicate and value counts,
    /// each under a 3 s statement timeout).
    #[arg(long)]
    pub no_probes: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub db: Target,
    /// The plan file written by `pgalign diff` (with --resume: read from the journal).
    #[arg(long, required_unless_present = "resume")]
    pub plan: Option<PathBuf>,
    /// Hazard ids whose `danger` steps may run, comma-separated (e.g. data-loss,lossy-cast).
    #[arg(long, value_delimiter = ',')]
    pub allow_hazards: Vec<crate::hazard::HazardId>,
    /// The target database's name, typed out: required when not interactive.
    #[arg(long)]
    pub confirm_target: Option<String>,
    /// Refuse unless the plan body's SHA-256 is exactly this (the reviewed plan).
    #[arg(long)]
    pub expect_sha256: Option<String>,
    /// lock_timeout for each statement, e.g. 5s, 500ms, 1min; at least 1ms (0
    /// would mean "wait forever" to PostgreSQL, so it is refused). Default:
    /// `[apply] lock_timeout` of pgalign.toml, else 5s.
    #[arg(long, value_parser = parse_duration)]
    pub lock_timeout: Option<std::time::Duration>,
    /// statement_timeout for each statement (default: `[apply]
    /// statement_timeout` of pgalign.toml, else none; 0 is refused).
    #[arg(long, value_parser = parse_duration)]
    pub statement_timeout: Option<std::time::Duration>,
    /// Continue an interrupted run from its journal: committed groups are never
    /// run again; INVALID indexes left by an interrupted build are rebuilt.
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// How many times a group that failed on a lock timeout, a deadlock or a
    /// serialization failure (the server rolled it back) is retried from its
    /// start (waiting 1 s, then 2 s, 4 s… between tries; default: `[apply]
    /// lock_retries` of pgalign.toml, else 3).
    #[arg(long)]
    pub lock_retries: Option<u32>,
    /// Configuration file for the `[apply]` defaults (default: ./pgalign.toml
    /// when present); flags win over it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the journal goes (default: a new session folder).
    #[arg(long)]
    pub session_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: Target,
    /// Directory for the dump files (default: the current directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct RehearseArgs {
    #[command(flatten)]
    pub db: Target,
    /// A plan written by `pgalign diff`, or an external SQL file (linted and
    /// regrouped as `apply --plan` does).
    #[arg(long)]
    pub plan: PathBuf,
    /// Restore the scratch copy from this `pg_dump -Fc` file instead of cloning.
    #[arg(long)]
    pub from_backup: Option<PathBuf>,
    /// Check convergence against this desired schema (see `pgalign diff
    /// --help`) instead of the plan's desired fingerprint; needed for an
    /// external file, which has none.
    #[arg(long)]
    pub desired: Option<String>,
    #[command(flatten)]
    pub shadow: Shadow,
    /// With an external file: refuse unless its SHA-256 is exactly this.
    #[arg(long)]
    pub expect_sha256: Option<String>,
    /// Create the scratch database on this server instead of the target's
    /// (a URL or conninfo; its database is only used to connect).
    #[arg(long, value_name = "URL")]
    pub scratch: Option<String>,
    /// Restore the schema only: fast for huge databases, but locks and rewrites
    /// are then measured on empty tables.
    #[arg(long)]
    pub schema_only: bool,
    /// Keep the scratch database afterwards (it is dropped otherwise, also on
    /// error and Ctrl-C).
    #[arg(long)]
    pub keep: bool,
    /// `text` (a line per statement) or `json` (the figures per statement).
    #[arg(long, value_enum, default_value = "text")]
    pub format: RehearseFormat,
    /// Append the rehearsal, its figures and findings to DIR/journal.jsonl.
    #[arg(long, value_name = "DIR")]
    pub session_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RehearseFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct PinArgs {
    /// The external SQL file (no pgalign header).
    pub file: PathBuf,
    #[command(flatten)]
    pub db: Target,
    /// Where the pinned plan goes (its `.live.json` beside it).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Refuse unless the external file's SHA-256 is exactly this.
    #[arg(long)]
    pub expect_sha256: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The server to restore on (its database is only where pgalign connects).
    #[command(flatten)]
    pub db: Target,
    /// The `pg_dump -Fc` archive (`pgalign backup`'s `.dump` file).
    #[arg(long)]
    pub backup: PathBuf,
    /// The database to restore into: created; an existing one is an error
    /// unless --replace.
    #[arg(long, value_name = "DBNAME")]
    pub into: String,
    /// Drop and recreate --into first when it exists, after its name is typed
    /// (or given as --confirm-target).
    #[arg(long)]
    pub replace: bool,
    /// The name of the database --replace drops, typed out: required when not
    /// interactive.
    #[arg(long, value_name = "DBNAME")]
    pub confirm_target: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The session's journal (journal.jsonl).
    #[arg(long)]
    pub journal: PathBuf,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
}

/// Parses `5s`, `500ms`, `2min`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("5s").unwrap().as_millis(), 5000);
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert_eq!(parse_duration("2min").unwrap().as_secs(), 120);
        assert!(parse_duration("5 parsecs").is_err());
    }
}
