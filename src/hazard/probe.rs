//! Cheap data probes under a short statement timeout, on a read-only session:
//! NULLs before SET NOT NULL, duplicates before a UNIQUE, non-null values in a
//! column to be dropped, rows using enum values to be removed, rows that
//! violate a new CHECK. The same probes serve `lint --db`, external plans and
//! computed plans. A probe that times out or fails is reported as such and
//! changes nothing.

use super::context::{DbFacts, Outcome, ProbeKey};
use crate::catalog::model::{quote_ident, quote_literal};
use crate::db::describe_error;
use tokio_postgres::Client;

/// Per-probe time limit.
pub const TIMEOUT: &str = "3s";

/// What a probe counts on one table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    Nulls(String),
    NonNull(String),
    Duplicates(Vec<String>),
    EnumUses(String, Vec<String>),
    /// Rows for which the CHECK expression (SQL text) is false.
    Violates(String),
}

impl Check {
    /// The count as a figure: "100 NULLs in email (counted)".
    pub fn figure(&self, n: i64) -> String {
        let n = super::size::thousands(n);
        match self {
            Check::Nulls(c) => format!("{n} NULLs in {c} (counted)"),
            Check::NonNull(c) => format!("{n} non-null values in {c} (counted)"),
            Check::Duplicates(c) => {
                format!("{n} duplicate groups of ({}) (counted)", c.join(", "))
            }
            Check::EnumUses(c, _) => format!("{n} rows use them in {c} (counted)"),
            Check::Violates(_) => format!("{n} rows violate it (counted)"),
        }
    }

    /// What failed, as a figure: "the NULL count failed: canceling statement …".
    pub fn failed(&self, why: &str) -> String {
        let what = match self {
            Check::Nulls(_) => "NULL count",
            Check::NonNull(_) => "count of values",
            Check::Duplicates(_) => "duplicate count",
            Check::EnumUses(..) => "count of rows using them",
            Check::Violates(_) => "count of violating rows",
        };
        format!("the {what} failed: {why}")
    }
}

/// The query of a probe on `table` (already quoted SQL).
pub fn sql(table: &str, check: &Check) -> String {
    match check {
        Check::Nulls(c) => format!(
            "SELECT count(*) FROM {table} WHERE {} IS NULL",
            quote_ident(c)
        ),
        Check::NonNull(c) => format!("SELECT count({}) FROM {table}", quote_ident(c)),
        Check::Duplicates(cols) => {
            let list: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
            let list = list.join(", ");
            let not_null: Vec<String> = cols
                .iter()
                .map(|c| format!("{} IS NOT NULL", quote_ident(c)))
                .collect();
            format!(
                "SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {} GROUP BY {list} HAVING count(*) > 1) d",
                not_null.join(" AND ")
            )
        }
        Check::EnumUses(c, labels) => {
            let list: Vec<String> = labels.iter().map(|l| quote_literal(l)).collect();
            format!(
                "SELECT count(*) FROM {table} WHERE {}::text IN ({})",
                quote_ident(c),
                list.join(", ")
            )
        }
        Check::Violates(expr) => format!("SELECT count(*) FROM {table} WHERE NOT ({expr})"),
    }
}

fn qualified(name: &str) -> String {
    match name.split_once('.') {
        Some((s, n)) => format!("{}.{}", quote_ident(s), quote_ident(n)),
        None => quote_ident(name),
    }
}

/// The query of a lint probe, against the resolved table name.
pub fn query(key: &ProbeKey, facts: &DbFacts) -> Option<String> {
    let (rel, check) = key.parts();
    let table = facts.tables.get(rel).map(|t| qualified(&t.name))?;
    Some(sql(&table, &check))
}

/// The settings [`prepare`] changes, as a session had them before.
pub struct Saved(Vec<(&'static str, String)>);

const PREPARED: [&str; 3] = [
    "statement_timeout",
    "default_transaction_read_only",
    "lock_timeout",
];

impl Saved {
    pub async fn read(client: &Client) -> Result<Saved, String> {
        let names: Vec<&str> = PREPARED.to_vec();
        let rows = client
            .query(
                "SELECT current_setting(n) FROM unnest($1::text[]) WITH ORDINALITY AS s(n, i) ORDER BY i",
                &[&names],
            )
            .await
            .map_err(|e| describe_error(&e))?;
        Ok(Saved(
            PREPARED
                .iter()
                .zip(&rows)
                .map(|(name, row)| (*name, row.get::<_, String>(0)))
                .collect(),
        ))
    }

    /// Sets the session's values back (values as parameters, never spliced).
    pub async fn restore(&self, client: &Client) -> Result<(), String> {
        for (name, value) in &self.0 {
            client
                .query_one("SELECT set_config($1, $2, false)", &[name, value])
                .await
                .map_err(|e| describe_error(&e))?;
        }
        Ok(())
    }
}

/// Sets the session up for counting: statement and lock timeouts, read only.
pub async fn prepare(client: &Client) -> Result<(), String> {
    let setup = format!(
        "SET statement_timeout = '{TIMEOUT}'; SET default_transaction_read_only = on; SET lock_timeout = '1s'"
    );
    client
        .batch_execute(&setup)
        .await
        .map_err(|e| describe_error(&e))
}

/// Runs one count on a prepared session.
pub async fn count(client: &Client, sql: &str) -> Outcome {
    match client.query_one(sql, &[]).await {
        Ok(row) => Outcome::Count(row.get::<_, i64>(0)),
        Err(e) => Outcome::Failed(describe_error(&e)),
    }
}

/// Runs `keys` one by one; results go into `facts.probes`.
pub async fn run(client: &Client, facts: &mut DbFacts, keys: &[ProbeKey]) {
    if keys.is_empty() {
        return;
    }
    // The session's own settings come back afterwards (see `db::gather`).
    let saved = Saved::read(client).await;
    run_prepared(client, facts, keys).await;
    if let Ok(saved) = saved {
        let _ = saved.restore(client).await;
    }
}

async fn run_prepared(client: &Client, facts: &mut DbFacts, keys: &[ProbeKey]) {
    if let Err(e) = prepare(client).await {
        for k in keys {
            facts.probes.insert(k.clone(), Outcome::Failed(e.clone()));
        }
        return;
    }
    for key in keys {
        let Some(sql) = query(key, facts) else {
            continue;
        };
        let outcome = count(client, &sql).await;
        facts.probes.insert(key.clone(), outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazard::ast::Rel;
    use crate::hazard::context::TableFacts;

    #[test]
    fn probe_queries_quote_names() {
        let mut facts = DbFacts::default();
        let rel = Rel::new(None, "Users");
        facts.tables.insert(
            rel.clone(),
            TableFacts {
                name: "public.Users".into(),
                kind: 'r',
                ..Default::default()
            },
        );
        let q = query(&ProbeKey::Nulls(rel.clone(), "e mail".into()), &facts).unwrap();
        assert_eq!(
            q,
            "SELECT count(*) FROM public.\"Users\" WHERE \"e mail\" IS NULL"
        );
        let q = query(
            &ProbeKey::EnumUses(rel.clone(), "s".into(), vec!["o'k".into()]),
            &facts,
        )
        .unwrap();
        assert!(q.ends_with("IN ('o''k')"));
        let q = query(&ProbeKey::Violates(rel, "a > 0".into()), &facts).unwrap();
        assert!(q.ends_with("WHERE NOT (a > 0)"));
    }

    #[test]
    fn figures_say_they_were_counted() {
        assert_eq!(
            Check::Nulls("email".into()).figure(1234),
            "1,234 NULLs in email (counted)"
        );
    }
}
