//! One sizing for plans and lint alike (DESIGN.md §3, issue 17): how many rows
//! and bytes a table holds, how that was found out, and what it does to a
//! hazard's severity — empty → `info` for size-driven hazards and data loss;
//! ≥ 1 GB or ≥ 10M rows → one level up.
//!
//! Rows are `pg_class.reltuples` when the table was analysed, scaled to the
//! pages the table has now (what the planner itself estimates, so a bulk load
//! since the last ANALYZE is seen); otherwise a count bounded at
//! [`COUNT_LIMIT`] rows under the probes' statement timeout. A table with no
//! pages is empty, counted or not. Bytes are `pg_total_relation_size`.
//!
//! Only the severity, which changes when a table crosses a threshold, may
//! reach a plan's body; the figures ([`describe`]) go beside the hazard.

use super::Severity;
use super::rules::Sizing;
use crate::db::describe_error;
use anyhow::{Result, anyhow};
use std::collections::HashMap;
use tokio_postgres::Client;

pub const BIG_BYTES: i64 = 1 << 30;
pub const BIG_ROWS: f64 = 10_000_000.0;
/// Rows a count reads at most before it estimates the rest.
pub const COUNT_LIMIT: i64 = 100_000;

/// How a row count was found out.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RowsFrom {
    /// Counted, exactly (or the table has no pages at all).
    Counted,
    /// `reltuples` of the last ANALYZE, scaled to the table's pages now.
    Statistics,
    /// More than [`COUNT_LIMIT`] rows: scaled from the pages the first ones use.
    Sampled,
    /// Not known (see [`TableSize::unknown_because`]).
    #[default]
    Unknown,
}

/// The size of one table (or of the tables a statement reaches, summed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableSize {
    pub rows: Option<f64>,
    pub from: RowsFrom,
    /// Why `rows` is unknown (a count that timed out …).
    pub unknown_because: Option<String>,
    /// `pg_total_relation_size`: heap, TOAST and indexes.
    pub bytes: i64,
}

/// What the severity of a size-driven hazard follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Empty,
    Ordinary,
    Big,
    /// Rows unknown and bytes below the threshold: treated as ordinary.
    Unknown,
}

impl TableSize {
    pub fn empty() -> TableSize {
        TableSize {
            rows: Some(0.0),
            from: RowsFrom::Counted,
            unknown_because: None,
            bytes: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_some_and(|r| r <= 0.0)
    }

    pub fn class(&self) -> Class {
        if self.is_empty() {
            Class::Empty
        } else if self.bytes >= BIG_BYTES || self.rows.unwrap_or(0.0) >= BIG_ROWS {
            Class::Big
        } else if self.rows.is_none() {
            Class::Unknown
        } else {
            Class::Ordinary
        }
    }

    /// The sum of several tables' sizes (unknown rows when any is unknown;
    /// counted only when every part was).
    pub fn sum<'a>(parts: impl IntoIterator<Item = &'a TableSize>) -> TableSize {
        let mut out = TableSize::empty();
        for p in parts {
            out.bytes += p.bytes;
            out.rows = match (out.rows, p.rows) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
            if p.rows.is_none() {
                out.unknown_because = p.unknown_because.clone();
            }
            out.from = match (&out.from, &p.from) {
                (_, RowsFrom::Unknown) | (RowsFrom::Unknown, _) => RowsFrom::Unknown,
                (RowsFrom::Counted, f) => f.clone(),
                (f, _) => f.clone(),
            };
        }
        out
    }
}

/// "3.0 MB, ~1.2M rows (estimated from statistics)", "48 kB, 1,000 rows
/// (counted)", "empty (counted)".
pub fn describe(t: &TableSize) -> String {
    if t.is_empty() {
        return "empty (counted)".into();
    }
    let rows = match (t.rows, &t.from) {
        (Some(r), RowsFrom::Counted) => format!("{} rows (counted)", thousands(r.round() as i64)),
        (Some(r), RowsFrom::Statistics) => format!(
            "~{} rows (estimated from statistics)",
            super::rules::data_loss::human(r.round() as i64)
        ),
        (Some(r), _) => format!(
            "~{} rows (estimated from the first {})",
            super::rules::data_loss::human(r.round() as i64),
            thousands(COUNT_LIMIT)
        ),
        (None, _) => match &t.unknown_because {
            Some(why) => format!("row count unknown ({why})"),
            None => "row count unknown".into(),
        },
    };
    format!("{}, {rows}", bytes(t.bytes))
}

/// 1234567 → "1,234,567".
pub fn thousands(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

pub fn bytes(b: i64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} bytes")
    } else if v < 10.0 {
        format!("{v:.1} {}", units[u])
    } else {
        format!("{v:.0} {}", units[u])
    }
}

/// The severity of a finding on a table that is `new` (created by this file
/// or plan) or has `size`; unchanged when neither is known.
pub fn adjust(sev: Severity, sizing: Sizing, new: bool, size: Option<&TableSize>) -> Severity {
    if sizing == Sizing::Fixed || sev == Severity::Blocker {
        return sev;
    }
    if new {
        return Severity::Info;
    }
    match (sizing, size.map(TableSize::class)) {
        (_, Some(Class::Empty)) => Severity::Info,
        (Sizing::BySize, Some(Class::Big)) => sev.escalate(),
        _ => sev,
    }
}

/// One relation as the catalog describes it, before any count.
struct Catalog {
    name: String,
    kind: char,
    reltuples: f64,
    relpages: i64,
    pages_now: i64,
    bytes: i64,
}

/// Measures the relations `oids` (tables, partitioned tables, materialized
/// views, indexes) on `client`, whose session the probes set up (statement
/// and lock timeouts, read only: [`super::probe::prepare`]). A partitioned
/// table is the sum of its leaf partitions.
pub async fn measure(client: &Client, oids: &[u32]) -> Result<HashMap<u32, TableSize>> {
    let mut out = HashMap::new();
    if oids.is_empty() {
        return Ok(out);
    }
    let cat = catalog(client, oids).await?;
    let parted: Vec<u32> = cat
        .iter()
        .filter(|(_, c)| c.kind == 'p')
        .map(|(o, _)| *o)
        .collect();
    let mut leaves: HashMap<u32, Vec<u32>> = HashMap::new();
    if !parted.is_empty() {
        let rows = client
            .query(
                "SELECT p.oid, t.relid::oid FROM unnest($1::oid[]) AS p(oid), pg_partition_tree(p.oid) t
                 WHERE t.isleaf AND t.relid <> p.oid",
                &[&parted],
            )
            .await
            .map_err(|e| anyhow!("reading partitions: {}", describe_error(&e)))?;
        for r in rows {
            leaves.entry(r.get(0)).or_default().push(r.get(1));
        }
    }
    let leaf_oids: Vec<u32> = leaves.values().flatten().copied().collect();
    let leaf_cat = catalog(client, &leaf_oids).await?;
    let mut sized: HashMap<u32, TableSize> = HashMap::new();
    for (oid, c) in cat.iter().chain(leaf_cat.iter()) {
        if c.kind != 'p' && !sized.contains_key(oid) {
            sized.insert(*oid, one(client, c).await);
        }
    }
    for oid in oids {
        let Some(c) = cat.get(oid) else { continue };
        let size = if c.kind == 'p' {
            let parts: Vec<&TableSize> = leaves
                .get(oid)
                .map(|l| l.iter().filter_map(|o| sized.get(o)).collect())
                .unwrap_or_default();
            TableSize::sum(parts)
        } else {
            sized.get(oid).cloned().unwrap_or_default()
        };
        out.insert(*oid, size);
    }
    Ok(out)
}

async fn catalog(client: &Client, oids: &[u32]) -> Result<HashMap<u32, Catalog>> {
    if oids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = client
        .query(
            "SELECT c.oid, c.oid::regclass::text, c.relkind::text, c.reltuples::float8, c.relpages::int8,
                    pg_relation_size(c.oid) / current_setting('block_size')::int8,
                    pg_total_relation_size(c.oid)
             FROM pg_class c WHERE c.oid = ANY($1)",
            &[&oids],
        )
        .await
        .map_err(|e| anyhow!("reading table sizes: {}", describe_error(&e)))?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<_, u32>(0),
                Catalog {
                    name: r.get(1),
                    kind: r.get::<_, String>(2).chars().next().unwrap_or('r'),
                    reltuples: r.get(3),
                    relpages: r.get(4),
                    pages_now: r.get(5),
                    bytes: r.get(6),
                },
            )
        })
        .collect())
}

/// The size of one relation that is not partitioned.
async fn one(client: &Client, c: &Catalog) -> TableSize {
    let stats = |rows: f64| TableSize {
        rows: Some(rows),
        from: RowsFrom::Statistics,
        unknown_because: None,
        bytes: c.bytes,
    };
    match c.kind {
        'i' if c.reltuples >= 0.0 => return stats(c.reltuples),
        'r' | 'm' | 't' => {}
        _ => {
            return TableSize {
                bytes: c.bytes,
                ..Default::default()
            };
        }
    }
    if c.pages_now == 0 {
        return TableSize {
            bytes: c.bytes,
            ..TableSize::empty()
        };
    }
    if c.reltuples > 0.0 && c.relpages > 0 {
        return stats(c.reltuples / c.relpages as f64 * c.pages_now as f64);
    }
    // Never analysed (reltuples -1), or analysed while empty and written
    // since: count, up to the limit.
    let sql = format!(
        "SELECT count(*), max((ctid::text::point)[0])::int8 FROM (SELECT ctid FROM ONLY {} LIMIT {}) s",
        c.name,
        COUNT_LIMIT + 1
    );
    match client.query_one(&sql, &[]).await {
        Ok(r) => {
            let n: i64 = r.get(0);
            if n <= COUNT_LIMIT {
                TableSize {
                    rows: Some(n as f64),
                    from: RowsFrom::Counted,
                    unknown_because: None,
                    bytes: c.bytes,
                }
            } else {
                let last_page: Option<i64> = r.get(1);
                let pages_read = (last_page.unwrap_or(0) + 1).max(1) as f64;
                TableSize {
                    rows: Some(n as f64 * (c.pages_now as f64 / pages_read).max(1.0)),
                    from: RowsFrom::Sampled,
                    unknown_because: None,
                    bytes: c.bytes,
                }
            }
        }
        Err(e) => TableSize {
            rows: None,
            from: RowsFrom::Unknown,
            unknown_because: Some(format!("the count failed: {}", describe_error(&e))),
            bytes: c.bytes,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(bytes: i64, rows: f64) -> TableSize {
        TableSize {
            rows: Some(rows),
            from: RowsFrom::Statistics,
            unknown_because: None,
            bytes,
        }
    }

    #[test]
    fn empty_tables_de_escalate_and_big_ones_escalate() {
        let w = Severity::Warning;
        let by = Sizing::BySize;
        assert_eq!(
            adjust(w, by, false, Some(&TableSize::empty())),
            Severity::Info
        );
        assert_eq!(
            adjust(w, by, false, Some(&t(2 << 30, 1.0))),
            Severity::Danger
        );
        assert_eq!(adjust(w, by, false, Some(&t(8192, 2e7))), Severity::Danger);
        assert_eq!(adjust(w, by, false, Some(&t(8192, 10.0))), w);
        let unknown = TableSize {
            bytes: 8192,
            ..Default::default()
        };
        assert_eq!(adjust(w, by, false, Some(&unknown)), w);
        assert_eq!(
            adjust(
                Severity::Danger,
                Sizing::EmptyIsInfo,
                false,
                Some(&TableSize::empty())
            ),
            Severity::Info
        );
        assert_eq!(
            adjust(
                Severity::Danger,
                Sizing::EmptyIsInfo,
                false,
                Some(&t(2 << 30, 1.0))
            ),
            Severity::Danger
        );
        assert_eq!(adjust(w, by, true, None), Severity::Info);
        assert_eq!(adjust(w, Sizing::Fixed, true, None), w);
    }

    #[test]
    fn sizes_read_like_a_person_wrote_them_and_say_how_they_were_found() {
        assert_eq!(bytes(41 * (1 << 30)), "41 GB");
        assert_eq!(
            describe(&t(3 << 20, 1_200_000.0)),
            "3.0 MB, ~1.2M rows (estimated from statistics)"
        );
        let counted = TableSize {
            rows: Some(1234.0),
            from: RowsFrom::Counted,
            unknown_because: None,
            bytes: 49152,
        };
        assert_eq!(describe(&counted), "48 kB, 1,234 rows (counted)");
        assert_eq!(describe(&TableSize::empty()), "empty (counted)");
        assert_eq!(thousands(100_000), "100,000");
    }

    #[test]
    fn sums_are_as_known_as_their_least_known_part() {
        let counted = TableSize {
            rows: Some(10.0),
            from: RowsFrom::Counted,
            unknown_because: None,
            bytes: 100,
        };
        let s = TableSize::sum([&counted, &t(50, 5.0)]);
        assert_eq!(
            (s.rows, s.bytes, s.from),
            (Some(15.0), 150, RowsFrom::Statistics)
        );
        assert!(TableSize::sum([]).is_empty());
        let s = TableSize::sum([&counted, &TableSize::default()]);
        assert_eq!(s.rows, None);
    }
}
