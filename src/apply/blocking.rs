//! Who blocks our statement: a second connection, opened the first time a
//! statement runs longer than a second, reads `pg_blocking_pids(our pid)` joined
//! with `pg_stat_activity`. It also cancels our statement with
//! `pg_cancel_backend` when the protocol-level cancel cannot be sent (a TLS-only
//! server).

use crate::db::{ConnSettings, connect};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio_postgres::Client;

/// How long a query text shown for a blocker may be.
const QUERY_CHARS: usize = 80;

/// A session that blocks our statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Blocker {
    pub pid: i32,
    pub user: String,
    pub application: String,
    /// `active`, `idle in transaction`, …
    pub state: String,
    /// How long its transaction has been open, when it has one.
    pub xact_age: Option<Duration>,
    /// Its current or last query, on one line, trimmed to about 80 characters.
    pub query: String,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} (user {}, application {}, {}",
            self.pid,
            or_dash(&self.user),
            or_dash(&self.application),
            or_dash(&self.state)
        )?;
        if let Some(age) = self.xact_age {
            write!(f, ", transaction open for {}", human_age(age))?;
        }
        write!(f, "): {}", or_dash(&self.query))
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{}.{} s", s, d.subsec_millis() / 100),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

const BLOCKERS: &str =
    "SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''),
        coalesce(a.state, ''),
        extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
        regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g')
   FROM unnest(pg_blocking_pids($1)) AS b(pid)
   JOIN pg_stat_activity a ON a.pid = b.pid
  ORDER BY a.xact_start NULLS LAST, a.pid";

/// The second connection, opened lazily and given up on after a failure.
pub(crate) struct Watcher {
    target: ConnSettings,
    our_pid: i32,
    client: Option<Client>,
    broken: bool,
}

impl Watcher {
    pub(crate) fn new(target: &ConnSettings, our_pid: i32) -> Watcher {
        Watcher {
            target: target.clone(),
            our_pid,
            client: None,
            broken: false,
        }
    }

    async fn client(&mut self) -> Option<&Client> {
        if self.broken {
            return None;
        }
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            let mut target = self.target.clone();
            target.application_name = format!("{} (watcher)", target.application_name);
            match tokio::time::timeout(Duration::from_secs(5), connect(&target)).await {
                Ok(Ok(c)) => self.client = Some(c),
                _ => {
                    self.broken = true;
                    return None;
                }
            }
        }
        self.client.as_ref()
    }

    /// The sessions blocking our backend now (empty when none, or when the
    /// second connection cannot be had: the run goes on without the view).
    pub(crate) async fn blockers(&mut self) -> Vec<Blocker> {
        let pid = self.our_pid;
        let Some(client) = self.client().await else {
            return Vec::new();
        };
        let rows =
            match tokio::time::timeout(Duration::from_secs(3), client.query(BLOCKERS, &[&pid]))
                .await
            {
                Ok(Ok(rows)) => rows,
                _ => return Vec::new(),
            };
        rows.iter()
            .map(|r| {
                let query: String = r.get(5);
                Blocker {
                    pid: r.get(0),
                    user: r.get(1),
                    application: r.get(2),
                    state: r.get(3),
                    xact_age: r
                        .get::<_, Option<f64>>(4)
                        .filter(|s| *s >= 0.0)
                        .map(Duration::from_secs_f64),
                    query: trim_query(&query),
                }
            })
            .collect()
    }

    /// Cancels our running statement from the second connection.
    pub(crate) async fn cancel_backend(&mut self) -> bool {
        let pid = self.our_pid;
        let Some(client) = self.client().await else {
            return false;
        };
        client
            .query_one("SELECT pg_cancel_backend($1)", &[&pid])
            .await
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false)
    }
}

fn trim_query(q: &str) -> String {
    let q = q.trim();
    if q.chars().count() <= QUERY_CHARS {
        return q.to_string();
    }
    let mut out: String = q.chars().take(QUERY_CHARS - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blocker_reads_as_one_line() {
        let b = Blocker {
            pid: 42,
            user: "app".into(),
            application: "psql".into(),
            state: "idle in transaction".into(),
            xact_age: Some(Duration::from_secs(75)),
            query: trim_query(&"SELECT 1, ".repeat(20)),
        };
        let s = b.to_string();
        assert!(s.starts_with("pid 42 (user app, application psql, idle in transaction, transaction open for 1 min 15 s): SELECT 1"));
        assert!(b.query.chars().count() <= QUERY_CHARS);
        assert!(b.query.ends_with('…'));
    }
}
