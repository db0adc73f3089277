//! What the static analysis predicts for each statement (the lint engine's
//! lock facts and its `rewrite` hazard), the findings where a rehearsal
//! measured more, and the one-line summary of a statement's measurements.

use crate::apply::{Measured, TakenLock};
use crate::hazard::locks::LockMode;
use crate::hazard::{Hazard, HazardId, Severity};
use crate::plan::PlanFile;
use anyhow::{Context, Result};
use serde::Serialize;
use std::time::Duration;

/// The static analysis of one statement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Predicted {
    /// The locks the lock-facts table says it takes.
    pub locks: Vec<TakenLock>,
    /// Whether a `rewrite` hazard was found.
    pub rewrite: bool,
    /// The statement's kind (`ALTER TABLE`, `TRUNCATE` …).
    pub kind: String,
}

/// The prediction of every step: `out[i]` belongs to step `i + 1`.
pub(crate) async fn predict(
    client: &tokio_postgres::Client,
    plan: &PlanFile,
) -> Result<Vec<Predicted>> {
    let text = plan.text.strip_prefix('\u{feff}').unwrap_or(&plan.text);
    let report = crate::plan::external::lint_as_applied(text, "the plan", client, false)
        .await
        .context("linting the plan's statements for the rehearsal's comparison")?;
    let ranges = plan.step_ranges();
    let mut out = vec![Predicted::default(); plan.steps.len()];
    for st in &report.statements {
        let Some(i) = crate::plan::file::step_at(&ranges, st.line) else {
            continue;
        };
        let p = &mut out[i];
        p.kind = st.kind.clone();
        p.rewrite |= st.hazards.iter().any(|h| h.id == HazardId::Rewrite);
        p.locks.extend(st.locks.iter().filter_map(|l| {
            Some(TakenLock {
                relation: l.relation.clone(),
                mode: LockMode::ALL
                    .into_iter()
                    .find(|m| m.to_string() == l.mode)?,
            })
        }));
    }
    Ok(out)
}

/// The strongest lock the prediction names for `relation` (by its qualified
/// name, or by its bare name when the statement did not qualify it).
fn predicted_mode(p: &Predicted, relation: &str) -> Option<LockMode> {
    let bare = relation.rsplit('.').next().unwrap_or(relation);
    p.locks
        .iter()
        .filter(|l| l.relation == relation || (!l.relation.contains('.') && l.relation == bare))
        .map(|l| l.mode)
        .max()
}

/// Where the measurement shows a stronger lock or a rewrite the prediction did
/// not: a `warning` each, saying that the lock-facts table was wrong. A lock no
/// stronger than ROW EXCLUSIVE (what reads and ordinary writes take) on a
/// relation the prediction does not name is not a finding.
pub fn findings(step: usize, p: &Predicted, m: Option<&Measured>) -> Vec<Hazard> {
    let Some(m) = m else { return Vec::new() };
    let mut out = Vec::new();
    for l in &m.locks {
        let expected = predicted_mode(p, &l.relation);
        if l.mode > expected.unwrap_or(LockMode::RowExclusive) {
            let said = match expected {
                Some(e) => format!("predicted {e}"),
                None => "did not predict a lock on it".to_string(),
            };
            out.push(Hazard::new(
                HazardId::Lock,
                Severity::Warning,
                format!(
                    "step {step} took {} on {} in the rehearsal, but the static analysis {said}: the lock-facts table was wrong for this statement",
                    l.mode, l.relation
                ),
            ));
        }
    }
    if !p.rewrite && p.kind != "TRUNCATE" {
        for t in &m.rewritten {
            out.push(Hazard::new(
                HazardId::Rewrite,
                Severity::Warning,
                format!(
                    "step {step} rewrote {t} in the rehearsal (its file changed), but the static analysis did not predict a rewrite: the lock-facts table was wrong for this statement"
                ),
            ));
        }
    }
    out
}

/// `41 s`, `1.2 s`, `340 ms`, `3 min 20 s`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..1000 => format!("{ms} ms"),
        1000..10_000 => format!("{:.1} s", d.as_secs_f64()),
        10_000..60_000 => format!("{} s", d.as_secs()),
        _ => format!("{} min {} s", d.as_secs() / 60, d.as_secs() % 60),
    }
}

/// One line: `rewrote shop.orders in 41 s, 2.3 GB WAL, ACCESS EXCLUSIVE on
/// shop.orders held 41 s, 200000 rows`.
pub fn measured_line(t: &super::Timing) -> String {
    let duration = human_duration(t.duration);
    let Some(m) = &t.measured else {
        return format!("ran in {duration}, {} rows (not measured)", t.rows);
    };
    let mut parts = vec![if m.rewritten.is_empty() {
        format!("no rewrite, ran in {duration}")
    } else {
        format!("rewrote {} in {duration}", m.rewritten.join(", "))
    }];
    if let Some(w) = m.wal_bytes {
        parts.push(format!("{} WAL", crate::util::human_bytes(w as i64)));
    }
    match &m.strongest {
        Some(l) => parts.push(format!(
            "{} on {} held {}{}",
            l.mode,
            l.relation,
            human_duration(m.held),
            if m.sampled { " (sampled)" } else { "" }
        )),
        None => parts.push("no lock on an existing table".to_string()),
    }
    if t.rows > 0 {
        parts.push(format!("{} rows", t.rows));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(relation: &str, mode: LockMode) -> TakenLock {
        TakenLock {
            relation: relation.into(),
            mode,
        }
    }

    fn measured(locks: Vec<TakenLock>, rewritten: &[&str]) -> Measured {
        Measured {
            step: 1,
            strongest: locks.first().cloned(),
            locks,
            rewritten: rewritten.iter().map(|s| s.to_string()).collect(),
            wal_bytes: Some(2_300_000_000),
            held: Duration::from_secs(41),
            sampled: false,
            progress: None,
        }
    }

    #[test]
    fn a_stronger_lock_or_an_unpredicted_rewrite_is_a_warning() {
        let p = Predicted {
            locks: vec![lock("shop.orders", LockMode::ShareUpdateExclusive)],
            rewrite: false,
            kind: "ALTER TABLE".into(),
        };
        let m = measured(
            vec![
                lock("shop.orders", LockMode::AccessExclusive),
                lock("shop.items", LockMode::AccessShare),
            ],
            &["shop.orders"],
        );
        let f = findings(3, &p, Some(&m));
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|h| h.severity == Severity::Warning));
        assert!(
            f[0].detail.contains("ACCESS EXCLUSIVE on shop.orders")
                && f[0].detail.contains("predicted SHARE UPDATE EXCLUSIVE"),
            "{}",
            f[0].detail
        );
        assert_eq!(f[1].id, HazardId::Rewrite);
        // What was predicted is no finding.
        let p = Predicted {
            locks: vec![lock("shop.orders", LockMode::AccessExclusive)],
            rewrite: true,
            kind: "ALTER TABLE".into(),
        };
        assert!(findings(3, &p, Some(&m)).is_empty());
        // A bare name in the prediction matches the qualified measurement.
        let p = Predicted {
            locks: vec![lock("orders", LockMode::AccessExclusive)],
            rewrite: true,
            kind: "ALTER TABLE".into(),
        };
        assert!(findings(3, &p, Some(&m)).is_empty());
    }

    #[test]
    fn the_measured_line_reads_like_the_issue() {
        let t = super::super::Timing {
            step: 1,
            title: "alter".into(),
            duration: Duration::from_secs(41),
            rows: 0,
            measured: Some(measured(
                vec![lock("shop.orders", LockMode::AccessExclusive)],
                &["shop.orders"],
            )),
            predicted: Predicted::default(),
            findings: vec![],
        };
        assert_eq!(
            measured_line(&t),
            "rewrote shop.orders in 41 s, 2.3 GB WAL, ACCESS EXCLUSIVE on shop.orders held 41 s"
        );
        assert_eq!(human_duration(Duration::from_millis(340)), "340 ms");
        assert_eq!(human_duration(Duration::from_millis(1240)), "1.2 s");
        assert_eq!(human_duration(Duration::from_secs(200)), "3 min 20 s");
    }
}
