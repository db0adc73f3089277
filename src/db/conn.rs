//! Connection settings, read the way libpq reads them, and connecting with them.
//!
//! tokio-postgres's own parser rejects `sslmode=verify-full`, ignores `PG*`
//! variables, `.pgpass` and service files, so pgalign parses settings itself and
//! builds the driver's `Config` from them. Every command, the wizard, the shadow
//! database and the `pg_dump`/`pg_restore` subprocesses use this one module.
//!
//! Precedence is libpq's (checked against psql 15): a setting in the connection
//! string, then the service's (`service=` or `PGSERVICE`), then the `PG*`
//! variable, then the default. The password comes from the same chain and, when
//! still missing, from the password file.

use super::conninfo::{self, Params, pct};
use super::env::ConnEnv;
use super::{pgpass, service};
use anyhow::{Context, Result, bail};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub use super::connect::{connect, connect_with_notices};

/// Where and how to connect. Never printed with its password: `Display` shows
/// `user@host:port/db`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnSettings {
    /// A host name, an IP address, or a directory holding the server's socket.
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub application_name: String,
    /// `None` waits as long as the operating system does.
    pub connect_timeout: Option<Duration>,
    /// A PEM file of trusted CA certificates, or `system` for the platform's.
    pub sslrootcert: Option<String>,
    /// Client certificate and key (PEM), for `cert` authentication.
    pub sslcert: Option<PathBuf>,
    pub sslkey: Option<PathBuf>,
    /// `disable`, `prefer` or `require`: SCRAM channel binding to the TLS session.
    pub channel_binding: String,
    /// Server options sent at startup (`-c key=value …`).
    pub options: Option<String>,
    /// The password file the password came from (`None` when it did not).
    pub passfile: Option<PathBuf>,
    /// Things the operator should know, e.g. an ignored password file; `parse`
    /// prints them to stderr the way libpq does.
    pub warnings: Vec<String>,
}

/// libpq's `sslmode`, parsed once where the settings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    /// The word libpq spells it with.
    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// The mode named `word`, if it is one of libpq's six.
    pub fn parse(word: &str) -> Option<SslMode> {
        Some(match word {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `"require"` and friends compare with the mode they name (tests, call sites
/// that read a word from the user).
impl PartialEq<&str> for SslMode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for ConnSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnSettings({self}, sslmode={})", self.sslmode)
    }
}

impl fmt::Display for ConnSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{}:{}/{}",
            self.user, self.host, self.port, self.dbname
        )
    }
}

/// Keys pgalign understands, and the variable libpq reads for each.
const KEYS: &[(&str, Option<&str>)] = &[
    ("host", Some("PGHOST")),
    ("port", Some("PGPORT")),
    ("user", Some("PGUSER")),
    ("password", Some("PGPASSWORD")),
    ("passfile", Some("PGPASSFILE")),
    ("dbname", Some("PGDATABASE")),
    ("sslmode", Some("PGSSLMODE")),
    ("sslrootcert", Some("PGSSLROOTCERT")),
    ("sslcert", Some("PGSSLCERT")),
    ("sslkey", Some("PGSSLKEY")),
    ("channel_binding", Some("PGCHANNELBINDING")),
    ("application_name", Some("PGAPPNAME")),
    ("fallback_application_name", None),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    ("options", Some("PGOPTIONS")),
    ("service", Some("PGSERVICE")),
];

/// libpq keys that change nothing for pgalign and are accepted silently.
const IGNORED: &[&str] = &[
    "sslsni",
    "sslcompression",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
];

impl ConnSettings {
    /// Settings for `user@host:port/dbname` with pgalign's defaults and nothing
    /// read from the environment (`sslmode=prefer`, 10 s connect timeout).
    pub fn new(host: &str, port: u16, user: &str, dbname: &str) -> ConnSettings {
        ConnSettings {
            host: host.into(),
            port,
            user: user.into(),
            password: None,
            dbname: dbname.into(),
            sslmode: SslMode::Prefer,
            application_name: "pgalign".into(),
            connect_timeout: Some(Duration::from_secs(10)),
            sslrootcert: None,
            sslcert: None,
            sslkey: None,
            channel_binding: "prefer".into(),
            options: None,
            passfile: None,
            warnings: Vec::new(),
        }
    }

    /// Parses a `postgres://` URL, a `key=value` conninfo string or a bare
    /// database name; what it leaves out comes from the service file, the `PG*`
    /// environment variables and the password file, then libpq's defaults.
    /// Warnings (an ignored password file) go to stderr, as libpq's do.
    pub fn parse(input: &str) -> Result<ConnSettings> {
        let settings = Self::parse_with(input, &ConnEnv::process())?;
        for w in &settings.warnings {
            eprintln!("pgalign: warning: {w}");
        }
        Ok(settings)
    }

    /// [`Self::parse`] printing nothing: the caller shows `warnings` itself.
    pub fn parse_quiet(input: &str) -> Result<ConnSettings> {
        Self::parse_with(input, &ConnEnv::process())
    }

    /// [`Self::parse`] against an explicit environment, printing nothing.
    pub fn parse_with(input: &str, env: &ConnEnv) -> Result<ConnSettings> {
        let params = conninfo::parse_input(input)?;
        Self::resolve(params, env)
    }

    fn resolve(mut p: Params, env: &ConnEnv) -> Result<ConnSettings> {
        check_keys(&p, "connection string")?;
        let service_name = p
            .get("service")
            .cloned()
            .or_else(|| env.var("PGSERVICE").map(String::from));
        if let Some(name) = service_name {
            let (sp, file) = service::lookup(&name, env)?;
            check_keys(&sp, &format!("service \"{name}\" in {}", file.display()))?;
            for (k, v) in sp {
                p.entry(k).or_insert(v);
            }
        }
        let get = |key: &str| -> Option<String> {
            let var = KEYS.iter().find(|(k, _)| *k == key).and_then(|(_, v)| *v);
            p.get(key)
                .filter(|v| !v.is_empty())
                .cloned()
                .or_else(|| var.and_then(|v| env.var(v)).map(String::from))
        };
        let port = match get("port") {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .with_context(|| format!("invalid port '{p}'"))?,
            None => 5432,
        };
        let user = get("user").unwrap_or_else(os_user);
        let mut s = ConnSettings::new(
            &get("host").unwrap_or_else(default_host),
            port,
            &user,
            &get("dbname").unwrap_or_else(|| user.clone()),
        );
        s.password = get("password");
        let sslmode = get("sslmode");
        s.sslrootcert = get("sslrootcert");
        s.sslmode = match (sslmode, s.sslrootcert.as_deref()) {
            (Some(m), _) => match SslMode::parse(&m) {
                Some(mode) => mode,
                None => bail!(
                    "invalid sslmode '{m}' (expected disable, allow, prefer, require, verify-ca or verify-full)"
                ),
            },
            // libpq 16: trusting the system's roots only makes sense with verify-full.
            (None, Some("system")) => SslMode::VerifyFull,
            (None, _) => SslMode::Prefer,
        };
        if s.sslrootcert.as_deref() == Some("system") && s.sslmode != SslMode::VerifyFull {
            bail!(
                "weak sslmode '{}' may not be used with sslrootcert=system (use verify-full)",
                s.sslmode
            );
        }
        let home_file = |rel: &str| env.in_home(rel).filter(|p| p.is_file());
        if s.sslrootcert.is_none() {
            s.sslrootcert = home_file(".postgresql/root.crt").map(|p| p.display().to_string());
        }
        s.sslcert = get("sslcert")
            .map(PathBuf::from)
            .or_else(|| home_file(".postgresql/postgresql.crt"));
        s.sslkey = get("sslkey")
            .map(PathBuf::from)
            .or_else(|| home_file(".postgresql/postgresql.key"));
        s.channel_binding = get("channel_binding").unwrap_or_else(|| "prefer".into());
        if !matches!(s.channel_binding.as_str(), "disable" | "prefer" | "require") {
            bail!(
                "invalid channel_binding '{}' (expected disable, prefer or require)",
                s.channel_binding
            );
        }
        if s.channel_binding == "require" && (s.sslmode == SslMode::Disable || s.is_unix_socket()) {
            bail!(
                "channel_binding=require needs a TLS connection, but {} connects without TLS",
                if s.is_unix_socket() {
                    "a unix socket"
                } else {
                    "sslmode=disable"
                }
            );
        }
        if let Some(app) = get("application_name").or_else(|| get("fallback_application_name")) {
            s.application_name = app;
        }
        if let Some(t) = get("connect_timeout") {
            let secs: i64 = t
                .trim()
                .parse()
                .with_context(|| format!("invalid connect_timeout '{t}'"))?;
            // As in libpq: zero or less waits indefinitely, and at least 2 s.
            s.connect_timeout = (secs > 0).then(|| Duration::from_secs(secs.max(2) as u64));
        }
        s.options = get("options");
        if s.password.is_none() {
            let file = get("passfile")
                .map(PathBuf::from)
                .or_else(|| pgpass::default_file(env.home()));
            if let Some(file) = file {
                let found = pgpass::lookup(&file, &s.pgpass_target());
                s.warnings.extend(found.warning);
                if found.password.is_some() {
                    s.password = found.password;
                    s.passfile = Some(file);
                }
            }
        }
        Ok(s)
    }

    fn pgpass_target(&self) -> pgpass::Target<'_> {
        pgpass::Target {
            host: &self.host,
            port: self.port,
            dbname: &self.dbname,
            user: &self.user,
        }
    }

    /// Whether `host` names a unix-socket directory (TLS does not apply there).
    pub fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/') || self.host.starts_with('@')
    }

    /// The same server and credentials, another database.
    pub fn with_dbname(&self, dbname: &str) -> ConnSettings {
        let mut s = ConnSettings {
            dbname: dbname.to_string(),
            ..self.clone()
        };
        // A password file line may name the old database only: subprocesses then
        // get the password itself rather than the file.
        if let Some(file) = &s.passfile {
            let again = pgpass::lookup(file, &s.pgpass_target()).password;
            if again != s.password {
                s.passfile = None;
            }
        }
        s
    }

    /// A URL for this target without the password (safe to show and to store).
    pub fn redacted_url(&self) -> String {
        format!(
            "postgres://{}@{}:{}/{}",
            pct(&self.user),
            pct(&self.host),
            self.port,
            pct(&self.dbname)
        )
    }
}

fn check_keys(p: &Params, origin: &str) -> Result<()> {
    for key in p.keys() {
        if !KEYS.iter().any(|(k, _)| k == key) && !IGNORED.contains(&key.as_str()) {
            bail!("unsupported connection setting '{key}' in the {origin}");
        }
    }
    Ok(())
}

fn default_host() -> String {
    for dir in ["/var/run/postgresql", "/tmp"] {
        if std::path::Path::new(dir).join(".s.PGSQL.5432").exists() {
            return dir.to_string();
        }
    }
    "localhost".to_string()
}

/// The operating-system user name, libpq's default user.
fn os_user() -> String {
    // SAFETY: geteuid has no preconditions.
    let uid = crate::sys::euid().to_string();
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
            })
        })
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "postgres".into())
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;
