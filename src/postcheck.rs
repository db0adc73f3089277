//! Post-checks (`[[post_check]]` of `pgalign.toml`, issue "Verify with
//! post-checks"): the checks a team trusts more than any diff, run after the
//! re-diff. Each gives its name, kind, verdict, duration and an output excerpt
//! that went through the one redaction function (no credential is shown).

use crate::config::{CheckKind, LedgerKind, PostCheck};
use crate::db::ConnSettings;
use std::time::{Duration, Instant};

/// Longest excerpt kept from a check's output.
const EXCERPT_CHARS: usize = 200;
/// Most of an HTTP answer read.
const HTTP_MAX_BYTES: usize = 64 * 1024;

/// The result of one post-check.
#[derive(Debug, Clone)]
pub struct CheckResult {
    pub name: String,
    pub kind: &'static str,
    pub ok: bool,
    pub duration: Duration,
    /// Redacted, control characters escaped, at most ~200 characters.
    pub excerpt: String,
}

impl CheckResult {
    /// `✔ name (kind, 0.2 s): excerpt`
    pub fn line(&self) -> String {
        format!(
            "{} {} ({}, {:.1} s): {}",
            if self.ok { '✔' } else { '✖' },
            crate::util::printable(&crate::util::redact(&self.name)),
            self.kind,
            self.duration.as_secs_f64(),
            self.excerpt
        )
    }
}

/// Runs every check in order on `target` (the `sql` and `ledger` checks).
pub async fn run_all(checks: &[PostCheck], target: &ConnSettings) -> Vec<CheckResult> {
    let mut out = Vec::with_capacity(checks.len());
    for c in checks {
        out.push(run_one(c, target).await);
    }
    out
}

/// Runs one check under its timeout.
pub async fn run_one(check: &PostCheck, target: &ConnSettings) -> CheckResult {
    let start = Instant::now();
    let outcome = match &check.kind {
        CheckKind::Http(url) => http(url, check.timeout).await,
        CheckKind::Command(cmd) => command(cmd, &check.env, check.timeout).await,
        CheckKind::Sql(sql) => {
            match tokio::time::timeout(check.timeout, sql_check(sql, target, check.timeout)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {}", secs(check.timeout))),
            }
        }
        CheckKind::Ledger(kind) => ledger_check(*kind, target).await,
    };
    let (ok, text) = match outcome {
        Ok(t) => (true, t),
        Err(t) => (false, t),
    };
    CheckResult {
        name: check.name.clone(),
        kind: check.kind.name(),
        ok,
        duration: start.elapsed(),
        excerpt: excerpt(&text),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The first ~200 characters of `text`, white space collapsed, redacted,
/// control characters escaped.
pub fn excerpt(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Redact the whole text first: cutting first could split a secret.
    let red = crate::util::redact(&collapsed);
    let mut cut: String = red.chars().take(EXCERPT_CHARS).collect();
    if cut.len() < red.len() {
        cut.push('…');
    }
    crate::util::printable(&cut)
}

/// The live ledger of one tool, checked by [`crate::ledger::post_check`]:
/// Alembic stamped at one head, a schema_version table with rows, Prisma
/// with no failed migration. (`verify` compares the ledgers with the desired
/// side and an `--alembic-dir`'s head in its re-diff.)
pub async fn ledger_check(kind: LedgerKind, target: &ConnSettings) -> Result<String, String> {
    crate::ledger::post_check(kind.as_str(), target, None).await
}

/// A query that must return exactly one row whose first column is true, run
/// in a read-only transaction under a statement timeout.
async fn sql_check(sql: &str, target: &ConnSettings, timeout: Duration) -> Result<String, String> {
    let client = crate::db::connect(target)
        .await
        .map_err(|e| format!("connecting to {target}: {e:#}"))?;
    client
        .batch_execute(&format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {}",
            timeout.as_millis().max(1)
        ))
        .await
        .map_err(|e| crate::db::describe_error(&e))?;
    let rows = client
        .query(sql, &[])
        .await
        .map_err(|e| crate::db::describe_error(&e));
    let _ = client.batch_execute("ROLLBACK").await;
    let rows = rows?;
    if rows.len() != 1 {
        return Err(format!(
            "the query returned {} rows, expected exactly one",
            rows.len()
        ));
    }
    let row = &rows[0];
    if row.columns().is_empty() {
        return Err("the query returned no column".into());
    }
    if *row.columns()[0].type_() != tokio_postgres::types::Type::BOOL {
        return Err(format!(
            "the query's first column is of type {}, expected boolean",
            row.columns()[0].type_()
        ));
    }
    match row.get::<_, Option<bool>>(0) {
        Some(true) => Ok("true".into()),
        Some(false) => Err("false".into()),
        None => Err("null".into()),
    }
}

/// `sh -c CMD` with PATH, HOME, LANG and the named variables only, in its
/// own process group, killed as a group on timeout; exit 0 passes.
async fn command(cmd: &str, names: &[String], timeout: Duration) -> Result<String, String> {
    use std::process::Stdio;
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c")
        .arg(cmd)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in ["PATH", "HOME", "LANG"]
        .into_iter()
        .chain(names.iter().map(|s| s.as_str()))
    {
        if let Some(v) = std::env::var_os(name) {
            c.env(name, v);
        }
    }
    let child = c.spawn().map_err(|e| format!("starting sh -c: {e}"))?;
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            let err = String::from_utf8_lossy(&out.stderr);
            if !err.trim().is_empty() {
                if !text.trim().is_empty() {
                    text.push('\n');
                }
                text.push_str(&err);
            }
            match out.status.code() {
                Some(0) => Ok(text),
                Some(n) => Err(format!("exit {n}: {text}")),
                None => Err(format!("killed by a signal: {text}")),
            }
        }
        Ok(Err(e)) => Err(format!("waiting for the command: {e}")),
        Err(_) => {
            if let Some(pid) = pid {
                // kill(2) on the group this child leads.
                crate::sys::signal(-(pid as i32), libc::SIGKILL);
            }
            Err(format!(
                "no exit within {}; its process group was killed",
                secs(timeout)
            ))
        }
    }
}

/// A GET that must answer 2xx within `timeout`; the excerpt is the status
/// line and the start of the body.
async fn http(url: &str, timeout: Duration) -> Result<String, String> {
    let shown = crate::util::redact(url);
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if url.starts_with("https://") {
        return Err(format!(
            "https:// post-checks are not supported in this build ({shown}); use http:// or a command check such as `curl -fsS URL`"
        ));
    } else {
        return Err(format!("{shown} is not an http:// URL"));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // User info is never sent nor shown.
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = split_host_port(hostport).ok_or_else(|| format!("{shown}: bad host"))?;
    let fut = async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("connecting to {shown}: {e}"))?;
        let req = format!(
            "GET {path} HTTP/1.0\r\nHost: {hostport}\r\nUser-Agent: pgalign\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| format!("sending to {shown}: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        while buf.len() < HTTP_MAX_BYTES {
            let n = s
                .read(&mut chunk)
                .await
                .map_err(|e| format!("reading from {shown}: {e}"))?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok::<Vec<u8>, String>(buf)
    };
    let buf = match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r?,
        Err(_) => return Err(format!("{shown}: no answer within {}", secs(timeout))),
    };
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status_line = head.lines().next().unwrap_or("");
    let code: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("{shown}: not an HTTP answer"))?;
    let summary = format!("HTTP {code} {}", body.trim());
    if (200..300).contains(&code) {
        Ok(summary)
    } else {
        Err(summary)
    }
}

fn split_host_port(s: &str) -> Option<(String, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 80,
        };
        return Some((h.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h.to_string(), p.parse().ok()?)),
        None if !s.is_empty() => Some((s.to_string(), 80)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_short_and_redacted() {
        let e = excerpt("ok\n  connected to postgres://app:hunter2@db/prod\n");
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.starts_with("ok connected"), "{e}");
        assert!(excerpt(&"x".repeat(1000)).chars().count() <= EXCERPT_CHARS + 1);
    }

    #[test]
    fn hosts_and_ports_split() {
        assert_eq!(
            split_host_port("127.0.0.1:8080"),
            Some(("127.0.0.1".into(), 8080))
        );
        assert_eq!(split_host_port("localhost"), Some(("localhost".into(), 80)));
        assert_eq!(split_host_port("[::1]:81"), Some(("::1".into(), 81)));
        assert_eq!(split_host_port("h:x"), None);
    }
}
