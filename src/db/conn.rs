//! Connection settings, read the way libpq reads them, and connecting with them.
//!
//! tokio-postgres's own parser rejects `sslmode=verify-full`, ignores `PG*`
//! variables and `.pgpass`, so pgalign parses settings itself and builds the
//! driver's `Config` from them. Every command, the wizard, the shadow database and
//! the `pg_dump`/`pg_restore` subprocesses use this one module.

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;
use tokio_postgres::Client;

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
    /// `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`.
    pub sslmode: String,
    pub application_name: String,
    pub connect_timeout: Option<Duration>,
}

impl fmt::Debug for ConnSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnSettings({self})")
    }
}

impl fmt::Display for ConnSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}/{}", self.user, self.host, self.port, self.dbname)
    }
}

impl ConnSettings {
    /// Parses a `postgres://` URL or a `key=value` conninfo string; what it leaves
    /// out comes from the `PG*` environment variables, then libpq's defaults.
    pub fn parse(input: &str) -> Result<ConnSettings> {
        let params = if input.starts_with("postgres://") || input.starts_with("postgresql://") {
            parse_url(input)?
        } else {
            parse_conninfo(input)?
        };
        Self::from_params(params)
    }

    fn from_params(mut p: BTreeMap<String, String>) -> Result<ConnSettings> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut take = |key: &str, var: &str| p.remove(key).or_else(|| env(var));
        let host = take("host", "PGHOST").unwrap_or_else(default_host);
        let port = match take("port", "PGPORT") {
            Some(p) => p
                .parse::<u16>()
                .with_context(|| format!("invalid port '{p}'"))?,
            None => 5432,
        };
        let user = take("user", "PGUSER").unwrap_or_else(os_user);
        let password = take("password", "PGPASSWORD");
        let dbname = take("dbname", "PGDATABASE").unwrap_or_else(|| user.clone());
        let sslmode = take("sslmode", "PGSSLMODE").unwrap_or_else(|| "prefer".into());
        let application_name =
            take("application_name", "PGAPPNAME").unwrap_or_else(|| "pgalign".into());
        let connect_timeout = match take("connect_timeout", "PGCONNECT_TIMEOUT") {
            Some(t) => Some(Duration::from_secs(
                t.parse::<u64>()
                    .with_context(|| format!("invalid connect_timeout '{t}'"))?,
            )),
            None => Some(Duration::from_secs(10)),
        };
        if !matches!(
            sslmode.as_str(),
            "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full"
        ) {
            bail!("invalid sslmode '{sslmode}'");
        }
        if let Some(unknown) = p.keys().next() {
            bail!("unknown connection setting '{unknown}'");
        }
        Ok(ConnSettings {
            host,
            port,
            user,
            password,
            dbname,
            sslmode,
            application_name,
            connect_timeout,
        })
    }

    /// The same server and credentials, another database.
    pub fn with_dbname(&self, dbname: &str) -> ConnSettings {
        ConnSettings {
            dbname: dbname.to_string(),
            ..self.clone()
        }
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

    /// Environment for libpq-based subprocesses (`pg_dump`, `pg_restore`, `psql`):
    /// settings travel in the environment, never on the command line where `ps`
    /// would show them.
    pub fn pg_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PGHOST".to_string(), self.host.clone()),
            ("PGPORT".to_string(), self.port.to_string()),
            ("PGUSER".to_string(), self.user.clone()),
            ("PGDATABASE".to_string(), self.dbname.clone()),
            ("PGSSLMODE".to_string(), self.sslmode.clone()),
            ("PGAPPNAME".to_string(), self.application_name.clone()),
        ];
        if let Some(pw) = &self.password {
            env.push(("PGPASSWORD".to_string(), pw.clone()));
        }
        env
    }

    /// Applies [`Self::pg_env`] to a command and clears other `PG*` variables that
    /// could redirect it.
    pub fn apply_env(&self, cmd: &mut std::process::Command) {
        for (k, _) in std::env::vars() {
            if k.starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in self.pg_env() {
            cmd.env(k, v);
        }
    }

    fn driver_config(&self) -> tokio_postgres::Config {
        let mut c = tokio_postgres::Config::new();
        c.host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name);
        if let Some(pw) = &self.password {
            c.password(pw);
        }
        if let Some(t) = self.connect_timeout {
            c.connect_timeout(t);
        }
        c
    }
}

fn default_host() -> String {
    for dir in ["/var/run/postgresql", "/tmp"] {
        if std::path::Path::new(dir).join(".s.PGSQL.5432").exists() {
            return dir.to_string();
        }
    }
    "localhost".to_string()
}

fn os_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "postgres".into())
}

fn pct(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unpct(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).context("bad percent-encoding in URL")?;
            out.push(u8::from_str_radix(hex, 16).context("bad percent-encoding in URL")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("percent-encoded URL part is not UTF-8")
}

fn parse_url(url: &str) -> Result<BTreeMap<String, String>> {
    let mut p = BTreeMap::new();
    let rest = url.split_once("://").map(|x| x.1).unwrap_or_default();
    let (rest, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, d)) => (a, Some(d)),
        None => (rest, None),
    };
    let hostport = match authority.rsplit_once('@') {
        Some((userinfo, hp)) => {
            let (u, pw) = match userinfo.split_once(':') {
                Some((u, pw)) => (u, Some(pw)),
                None => (userinfo, None),
            };
            if !u.is_empty() {
                p.insert("user".into(), unpct(u)?);
            }
            if let Some(pw) = pw {
                p.insert("password".into(), unpct(pw)?);
            }
            hp
        }
        None => authority,
    };
    if !hostport.is_empty() {
        let (host, port) = if let Some(stripped) = hostport.strip_prefix('[') {
            let (h, after) = stripped
                .split_once(']')
                .context("URL has an unclosed '[' in its host")?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, port)) => (h.to_string(), Some(port)),
                None => (hostport.to_string(), None),
            }
        };
        if !host.is_empty() {
            p.insert("host".into(), unpct(&host)?);
        }
        if let Some(port) = port.filter(|s| !s.is_empty()) {
            p.insert("port".into(), port.to_string());
        }
    }
    if let Some(db) = path.filter(|d| !d.is_empty()) {
        p.insert("dbname".into(), unpct(db)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            p.insert(unpct(k)?, unpct(v)?);
        }
    }
    Ok(p)
}

fn parse_conninfo(s: &str) -> Result<BTreeMap<String, String>> {
    let mut p = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            bail!("connection string: missing '=' after '{key}' (expected a postgres:// URL or key=value pairs)");
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.push(chars.next().unwrap_or('\\')),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => bail!("connection string: unterminated quoted value for '{key}'"),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.push(chars.next().unwrap_or('\\'));
                } else {
                    value.push(c);
                }
            }
        }
        p.insert(key, value);
    }
    Ok(p)
}

/// Connects and spawns the connection task. Errors name the target (never the
/// password) and carry everything the server said.
pub async fn connect(settings: &ConnSettings) -> Result<Client> {
    Ok(connect_with_notices(settings).await?.0)
}

/// Like [`connect`], and also returns the server's notices and warnings
/// (`RAISE NOTICE`, "table rewrite" messages…) as they arrive.
pub async fn connect_with_notices(
    settings: &ConnSettings,
) -> Result<(Client, tokio::sync::mpsc::UnboundedReceiver<String>)> {
    use futures_util::StreamExt;
    let config = settings.driver_config();
    let (client, mut connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to {settings}: {}", crate::db::describe_error(&e)))?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notice(n)) => {
                    let _ = tx.send(format!("{}: {}", n.severity().to_lowercase(), n.message()));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    Ok((client, rx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parts_are_decoded() {
        let p = parse_url("postgresql://us%40er:p%3Ass@db.example.com:6543/my%20db?sslmode=require")
            .unwrap();
        assert_eq!(p["user"], "us@er");
        assert_eq!(p["password"], "p:ss");
        assert_eq!(p["host"], "db.example.com");
        assert_eq!(p["port"], "6543");
        assert_eq!(p["dbname"], "my db");
        assert_eq!(p["sslmode"], "require");
    }

    #[test]
    fn conninfo_quotes_and_escapes() {
        let p = parse_conninfo("host=localhost  port = 5433 password='a b\\'c' dbname=x").unwrap();
        assert_eq!(p["host"], "localhost");
        assert_eq!(p["port"], "5433");
        assert_eq!(p["password"], "a b'c");
        assert_eq!(p["dbname"], "x");
    }

    #[test]
    fn display_never_shows_the_password() {
        let s = ConnSettings::parse("postgres://app:hunter2@db:5432/shop").unwrap();
        assert_eq!(s.to_string(), "app@db:5432/shop");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!s.redacted_url().contains("hunter2"));
    }
}
