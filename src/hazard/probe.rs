//! Cheap data probes under a short statement timeout, on a read-only session:
//! NULLs before SET NOT NULL, duplicates before a UNIQUE, non-null values in a
//! column to be dropped, rows using enum values to be removed. A probe that
//! times out or fails is reported as such and changes nothing.

use super::context::{DbFacts, Outcome, ProbeKey};
use crate::catalog::model::{quote_ident, quote_literal};
use crate::db::describe_error;
use tokio_postgres::Client;

/// Per-probe time limit.
pub const TIMEOUT: &str = "3s";

fn qualified(name: &str) -> String {
    match name.split_once('.') {
        Some((s, n)) => format!("{}.{}", quote_ident(s), quote_ident(n)),
        None => quote_ident(name),
    }
}

/// The query of a probe, against the resolved table name.
pub fn query(key: &ProbeKey, facts: &DbFacts) -> Option<String> {
    let table = |r| facts.tables.get(r).map(|t| qualified(&t.name));
    Some(match key {
        ProbeKey::Nulls(r, c) => format!(
            "SELECT count(*) FROM {} WHERE {} IS NULL",
            table(r)?,
            quote_ident(c)
        ),
        ProbeKey::NonNull(r, c) => format!("SELECT count({}) FROM {}", quote_ident(c), table(r)?),
        ProbeKey::Duplicates(r, cols) => {
            let list: Vec<String> = cols.iter().map(|c| quote_ident(c)).collect();
            let list = list.join(", ");
            let not_null: Vec<String> = cols
                .iter()
                .map(|c| format!("{} IS NOT NULL", quote_ident(c)))
                .collect();
            format!(
                "SELECT count(*) FROM (SELECT 1 FROM {} WHERE {} GROUP BY {list} HAVING count(*) > 1) d",
                table(r)?,
                not_null.join(" AND ")
            )
        }
        ProbeKey::EnumUses(r, c, labels) => {
            let list: Vec<String> = labels.iter().map(|l| quote_literal(l)).collect();
            format!(
                "SELECT count(*) FROM {} WHERE {}::text IN ({})",
                table(r)?,
                quote_ident(c),
                list.join(", ")
            )
        }
    })
}

/// Runs `keys` one by one; results go into `facts.probes`.
pub async fn run(client: &Client, facts: &mut DbFacts, keys: &[ProbeKey]) {
    if keys.is_empty() {
        return;
    }
    let setup = format!(
        "SET statement_timeout = '{TIMEOUT}'; SET default_transaction_read_only = on; SET lock_timeout = '1s'"
    );
    if let Err(e) = client.batch_execute(&setup).await {
        for k in keys {
            facts
                .probes
                .insert(k.clone(), Outcome::Failed(describe_error(&e)));
        }
        return;
    }
    for key in keys {
        let Some(sql) = query(key, facts) else {
            continue;
        };
        let outcome = match client.query_one(&sql, &[]).await {
            Ok(row) => Outcome::Count(row.get::<_, i64>(0)),
            Err(e) => Outcome::Failed(describe_error(&e)),
        };
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
            &ProbeKey::EnumUses(rel, "s".into(), vec!["o'k".into()]),
            &facts,
        )
        .unwrap();
        assert!(q.ends_with("IN ('o''k')"));
    }
}
