//! `pgalign.toml` (DESIGN.md §8): the whole file as typed structs.
//!
//! A low layer: imports only `util`. Found as `--config FILE` or
//! `./pgalign.toml`; flags win over it. Unknown keys and wrong types are
//! errors naming the key and the line. A URL holding a password (`db`,
//! `dev`, `shadow`) is an error: passwords belong in pgpass or PGPASSWORD.
//!
//! What each `environment` requires when `[require]` does not say:
//! - `production`: backup, rehearsal, reviewer and post-checks;
//! - `staging`: backup and reviewer;
//! - `scratch`: nothing.

use serde::{Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default maintenance checklist, from the runbooks (003's window
/// checklist; 000 and 002's preconditions).
pub const DEFAULT_CHECKLIST: [&str; 6] = [
    "Maintenance window announced and approved",
    "Writes paused (admin/operator informed)",
    "Operator and reviewer both present",
    "Backup storage confirmed with enough free space",
    "Rollback owner assigned",
    "Commands can be run where the application runs (container or host)",
];

/// Default timeout of one post-check.
pub const DEFAULT_POST_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole `pgalign.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The live database (URL or conninfo, never with a password).
    #[serde(default, deserialize_with = "no_password")]
    pub db: Option<String>,
    /// The desired schema source (file, directory, URL, `cmd:…`).
    pub desired: Option<String>,
    /// An external SQL plan to review and apply (the wizard's `--plan`).
    pub plan: Option<PathBuf>,
    /// Where shadow databases may be created (`--shadow`).
    #[serde(default, deserialize_with = "no_password")]
    pub shadow: Option<String>,
    /// A development database (runbook 002's `bhq_dev`), for reference.
    #[serde(default, deserialize_with = "no_password")]
    pub dev: Option<String>,
    /// Where session folders go (`--session-dir`).
    pub session_dir: Option<PathBuf>,
    /// What the window requires (see the module doc).
    #[serde(default)]
    pub environment: Environment,
    /// Extra migration-ledger tables (`schema.table`) compared by verify.
    #[serde(default)]
    pub ledgers: Vec<String>,
    /// `[alembic] dir = "…"`: the migrations directory whose head the
    /// `alembic_version` ledger must hold (as `--alembic-dir`).
    #[serde(default)]
    pub alembic: Option<AlembicConfig>,
    /// The people who may sign a plan off.
    #[serde(default)]
    pub reviewers: Vec<String>,
    #[serde(default)]
    pub require: Require,
    #[serde(default)]
    pub report: ReportConfig,
    #[serde(default)]
    pub git: GitConfig,
    #[serde(default)]
    pub checklist: ChecklistConfig,
    #[serde(default)]
    pub apply: ApplyConfig,
    /// `[[post_check]]`, checked by [`FileConfig::parse`].
    #[serde(skip)]
    pub post_checks: Vec<PostCheck>,
    #[serde(default, rename = "post_check")]
    raw_post_checks: Vec<toml::Spanned<RawPostCheck>>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Staging,
    /// The default: nothing is required beyond what pgalign always does.
    #[default]
    Scratch,
}

/// `[alembic]`: where Alembic's revision files are.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlembicConfig {
    pub dir: PathBuf,
}

/// `[require]`: each key unset takes the environment's default.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Require {
    pub backup: Option<bool>,
    pub rehearsal: Option<bool>,
    pub reviewer: Option<bool>,
    pub post_checks: Option<bool>,
}

/// What the window requires, defaults resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    pub backup: bool,
    pub rehearsal: bool,
    pub reviewer: bool,
    pub post_checks: bool,
}

/// `[report]`: where a copy of the session's report goes, and its format.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    pub dir: Option<PathBuf>,
    pub format: Option<ReportFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    Md,
    Json,
}

/// `[git]`: the branch the window runs from, whether the tree must be clean,
/// and files that are never "dirt" (the plan file itself never is).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitConfig {
    pub branch: Option<String>,
    #[serde(default)]
    pub clean: bool,
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// `[checklist]`: the maintenance checklist's items.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistConfig {
    #[serde(default = "default_checklist")]
    pub items: Vec<String>,
}

impl Default for ChecklistConfig {
    fn default() -> Self {
        ChecklistConfig {
            items: default_checklist(),
        }
    }
}

fn default_checklist() -> Vec<String> {
    DEFAULT_CHECKLIST.iter().map(|s| s.to_string()).collect()
}

/// `[apply]`: the defaults of `apply`'s flags of the same names.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyConfig {
    #[serde(default, deserialize_with = "duration")]
    pub lock_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub statement_timeout: Option<Duration>,
    pub lock_retries: Option<u32>,
}

/// The migration tools a ledger post-check knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    Alembic,
    SchemaVersion,
    Prisma,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Alembic => "alembic",
            LedgerKind::SchemaVersion => "schema_version",
            LedgerKind::Prisma => "prisma",
        }
    }
}

/// What one post-check runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckKind {
    Http(String),
    Command(String),
    Sql(String),
    Ledger(LedgerKind),
}

impl CheckKind {
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Http(_) => "http",
            CheckKind::Command(_) => "command",
            CheckKind::Sql(_) => "sql",
            CheckKind::Ledger(_) => "ledger",
        }
    }
}

/// One `[[post_check]]`: exactly one of `http`, `command`, `sql`, `ledger`.
#[derive(Debug, Clone)]
pub struct PostCheck {
    pub name: String,
    pub kind: CheckKind,
    pub timeout: Duration,
    /// Names of the variables a `command` may see besides PATH, HOME, LANG.
    pub env: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostCheck {
    name: String,
    http: Option<String>,
    command: Option<String>,
    sql: Option<String>,
    ledger: Option<LedgerKind>,
    #[serde(default, deserialize_with = "duration")]
    timeout: Option<Duration>,
    #[serde(default)]
    env: Vec<String>,
}

impl TryFrom<RawPostCheck> for PostCheck {
    type Error = String;

    fn try_from(r: RawPostCheck) -> Result<PostCheck, String> {
        let mut kinds = Vec::new();
        if let Some(u) = r.http {
            kinds.push(CheckKind::Http(u));
        }
        if let Some(c) = r.command {
            kinds.push(CheckKind::Command(c));
        }
        if let Some(s) = r.sql {
            kinds.push(CheckKind::Sql(s));
        }
        if let Some(l) = r.ledger {
            kinds.push(CheckKind::Ledger(l));
        }
        if kinds.len() != 1 {
            let named: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            return Err(format!(
                "post-check `{}` must have exactly one of http, command, sql, ledger (it has {})",
                r.name,
                if named.is_empty() {
                    "none".to_string()
                } else {
                    named.join(" and ")
                }
            ));
        }
        if let Some(bad) = r.env.iter().find(|v| !valid_env_name(v)) {
            return Err(format!(
                "post-check `{}`: `{bad}` in env is not a variable name",
                r.name
            ));
        }
        Ok(PostCheck {
            name: r.name,
            kind: kinds.remove(0),
            timeout: r.timeout.unwrap_or(DEFAULT_POST_CHECK_TIMEOUT),
            env: r.env,
        })
    }
}

fn valid_env_name(v: &str) -> bool {
    !v.is_empty()
        && !v.starts_with(|c: char| c.is_ascii_digit())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn no_password<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    if let Some(url) = &s
        && crate::util::redact::holds_secret(url)
    {
        return Err(serde::de::Error::custom(
            "this connection string holds a password: never put one in pgalign.toml, use a pgpass file or PGPASSWORD",
        ));
    }
    Ok(s)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| parse_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

/// Parses `5s`, `500ms`, `2min`, `1h` or a bare number of seconds (the CLI's
/// `--lock-timeout` and `[apply]` alike).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration '{s}' (examples: 5s, 500ms, 2min)"))?;
    let secs = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit '{other}' in '{s}' (use ms, s, min or h)"
            ));
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// A `pgalign.toml` that cannot be used: one sentence naming the file, the
/// line and the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl FileConfig {
    /// Parses `text` read from `path` (named in errors).
    pub fn parse(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        let mut c: FileConfig = FileConfig::parse_toml(text, path)?;
        for raw in std::mem::take(&mut c.raw_post_checks) {
            let start = raw.span().start.min(text.len());
            let line_no = text[..start].matches('\n').count() + 1;
            let check = PostCheck::try_from(raw.into_inner()).map_err(|msg| {
                ConfigError(format!(
                    "{} line {line_no}: {}",
                    path.display(),
                    crate::util::printable(&crate::util::redact(&msg))
                ))
            })?;
            c.post_checks.push(check);
        }
        Ok(c)
    }

    fn parse_toml(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let msg = e.message().trim_end().to_string();
            let Some(span) = e.span() else {
                return ConfigError(format!("{}: {msg}", path.display()));
            };
            let start = span.start.min(text.len());
            let line_no = text[..start].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("");
            let key = line
                .split_once('=')
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty() && !k.starts_with('['));
            let msg = crate::util::redact(&msg).replace("unknown field", "unknown key");
            match key {
                Some(k) => ConfigError(format!(
                    "{} line {line_no}, key `{}`: {msg}",
                    path.display(),
                    crate::util::printable(k)
                )),
                None => ConfigError(format!("{} line {line_no}: {msg}", path.display())),
            }
        })
    }

    /// `--config FILE` (must exist) or `./pgalign.toml` when present.
    pub fn load(path: Option<&Path>) -> Result<FileConfig, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (PathBuf::from("pgalign.toml"), false),
        };
        if !path.is_file() {
            if required {
                return Err(ConfigError(format!(
                    "configuration file {} does not exist",
                    path.display()
                )));
            }
            return Ok(FileConfig::default());
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError(format!("reading {}: {e}", path.display())))?;
        FileConfig::parse(&text, &path)
    }

    /// What this window requires: `[require]` over the environment's defaults.
    pub fn requirements(&self) -> Requirements {
        let (backup, rehearsal, reviewer, post_checks) = match self.environment {
            Environment::Production => (true, true, true, true),
            Environment::Staging => (true, false, true, false),
            Environment::Scratch => (false, false, false, false),
        };
        let r = &self.require;
        Requirements {
            backup: r.backup.unwrap_or(backup),
            rehearsal: r.rehearsal.unwrap_or(rehearsal),
            reviewer: r.reviewer.unwrap_or(reviewer),
            post_checks: r.post_checks.unwrap_or(post_checks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, ConfigError> {
        FileConfig::parse(text, Path::new("pgalign.toml"))
    }

    #[test]
    fn the_design_sketch_parses() {
        let c = parse(
            r#"
db = "service=prod"
desired = "db/schema.sql"
environment = "production"
ledgers = ["cm.schema_version"]
reviewers = ["Rex Reviewer", "Ana Admin"]

[require]
rehearsal = false

[git]
branch = "dev"
clean = true
ignore = ["prisma_prod_align.sql"]

[apply]
lock_timeout = "5s"
statement_timeout = "15min"
lock_retries = 3

[[post_check]]
name = "status endpoint"
http = "http://localhost:8080/api/operations/status"
timeout = "2s"

[[post_check]]
name = "smoke test"
command = "./smoke-test.sh"
env = ["APP_URL"]

[[post_check]]
name = "alembic at head"
ledger = "alembic"
"#,
        )
        .unwrap();
        assert_eq!(c.environment, Environment::Production);
        assert_eq!(
            c.requirements(),
            Requirements {
                backup: true,
                rehearsal: false,
                reviewer: true,
                post_checks: true
            }
        );
        assert_eq!(c.apply.statement_timeout, Some(Duration::from_secs(900)));
        assert_eq!(c.apply.lock_retries, Some(3));
        assert_eq!(c.git.branch.as_deref(), Some("dev"));
        assert_eq!(c.checklist.items.len(), DEFAULT_CHECKLIST.len());
        assert_eq!(c.post_checks.len(), 3);
        assert_eq!(c.post_checks[0].timeout, Duration::from_secs(2));
        assert_eq!(c.post_checks[1].timeout, DEFAULT_POST_CHECK_TIMEOUT);
        assert_eq!(c.post_checks[1].env, vec!["APP_URL".to_string()]);
        assert_eq!(
            c.post_checks[2].kind,
            CheckKind::Ledger(LedgerKind::Alembic)
        );
    }

    #[test]
    fn environments_require_what_the_doc_says() {
        let staging = parse("environment = \"staging\"").unwrap().requirements();
        assert!(staging.backup && staging.reviewer && !staging.rehearsal && !staging.post_checks);
        let scratch = parse("").unwrap().requirements();
        assert!(!scratch.backup && !scratch.reviewer && !scratch.rehearsal);
    }

    #[test]
    fn an_unknown_key_names_the_key_and_line() {
        let e = parse("db = \"service=prod\"\n\n[apply]\nlock_timout = \"5s\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 4"), "{e}");
        assert!(e.contains("lock_timout"), "{e}");
    }

    #[test]
    fn a_wrong_type_names_the_key_and_line() {
        let e = parse("environment = \"scratch\"\n[apply]\nlock_retries = \"three\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3, key `lock_retries`"), "{e}");
        let e = parse("[apply]\nlock_timeout = \"5 parsecs\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, key `lock_timeout`"), "{e}");
        let e = parse("environment = \"prod\"\n").unwrap_err().to_string();
        assert!(e.contains("line 1, key `environment`"), "{e}");
    }

    #[test]
    fn a_password_in_a_url_is_refused_and_never_echoed() {
        for key in ["db", "shadow", "dev"] {
            let e = parse(&format!(
                "environment = \"scratch\"\n{key} = \"postgres://app:s3cret@db.example/prod\"\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.contains("line 2"), "{e}");
            assert!(e.contains("pgpass") && e.contains("PGPASSWORD"), "{e}");
            assert!(!e.contains("s3cret"), "{e}");
        }
        let e = parse("db = \"host=db password=s3cret\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pgpass") && !e.contains("s3cret"), "{e}");
    }

    #[test]
    fn a_check_has_exactly_one_kind() {
        let e = parse(
            "[[post_check]]\nname = \"x\"\nhttp = \"http://127.0.0.1/\"\nsql = \"select true\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("exactly one of"), "{e}");
        assert!(e.contains("http and sql"), "{e}");
        assert!(e.contains("line 1") || e.contains("line 2"), "{e}");
        let e = parse("[[post_check]]\nname = \"x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("it has none"), "{e}");
        let e = parse("[[post_check]]\nname = \"x\"\nledger = \"flyway\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3, key `ledger`"), "{e}");
    }
}
