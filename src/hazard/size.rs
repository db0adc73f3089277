//! Severity by table size (DESIGN.md §3): empty → `info` for size-driven
//! hazards and data loss; ≥ 1 GB or ≥ 10M rows → one level up. The detail
//! names the figures.

use super::Severity;
use super::context::TableFacts;
use super::rules::Sizing;

pub const BIG_BYTES: i64 = 1 << 30;
pub const BIG_ROWS: f64 = 10_000_000.0;

/// "41 GB, ~310M rows".
pub fn describe(t: &TableFacts) -> String {
    if t.empty {
        return "empty".into();
    }
    let rows = match t.rows {
        Some(r) if r >= 0.0 => format!(
            ", ~{} rows",
            super::rules::data_loss::human(r.round() as i64)
        ),
        _ => String::new(),
    };
    format!("{}{rows}", bytes(t.bytes))
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

pub fn is_big(t: &TableFacts) -> bool {
    t.bytes >= BIG_BYTES || t.rows.unwrap_or(0.0) >= BIG_ROWS
}

/// The severity of a finding on a table that is `new` (created by this file)
/// or has `facts`; unchanged when neither is known.
pub fn adjust(sev: Severity, sizing: Sizing, new: bool, facts: Option<&TableFacts>) -> Severity {
    if sizing == Sizing::Fixed || sev == Severity::Blocker {
        return sev;
    }
    if new || facts.is_some_and(|t| t.empty) {
        return Severity::Info;
    }
    match (sizing, facts) {
        (Sizing::BySize, Some(t)) if is_big(t) => sev.escalate(),
        _ => sev,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(bytes: i64, rows: f64, empty: bool) -> TableFacts {
        TableFacts {
            name: "public.t".into(),
            bytes,
            rows: Some(rows),
            empty,
            ..Default::default()
        }
    }

    #[test]
    fn empty_tables_de_escalate_and_big_ones_escalate() {
        let w = Severity::Warning;
        assert_eq!(
            adjust(w, Sizing::BySize, false, Some(&t(0, 0.0, true))),
            Severity::Info
        );
        assert_eq!(
            adjust(w, Sizing::BySize, false, Some(&t(2 << 30, 1.0, false))),
            Severity::Danger
        );
        assert_eq!(
            adjust(w, Sizing::BySize, false, Some(&t(8192, 2e7, false))),
            Severity::Danger
        );
        assert_eq!(
            adjust(w, Sizing::BySize, false, Some(&t(8192, 10.0, false))),
            w
        );
        assert_eq!(
            adjust(
                Severity::Danger,
                Sizing::EmptyIsInfo,
                false,
                Some(&t(0, 0.0, true))
            ),
            Severity::Info
        );
        assert_eq!(adjust(w, Sizing::BySize, true, None), Severity::Info);
        assert_eq!(adjust(w, Sizing::Fixed, true, None), w);
    }

    #[test]
    fn sizes_read_like_a_person_wrote_them() {
        assert_eq!(bytes(41 * (1 << 30)), "41 GB");
        assert_eq!(
            describe(&t(3 << 20, 1_200_000.0, false)),
            "3.0 MB, ~1.2M rows"
        );
    }
}
