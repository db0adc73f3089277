//! The hazard taxonomy (DESIGN.md §3): what a statement may do to data, locks and
//! clients, and how severe that is.

pub mod action;
pub mod ast;
pub mod classify;
pub mod context;
pub mod db;
pub mod effects;
pub mod lint;
pub mod locks;
pub mod parse;
pub mod prepass;
pub mod probe;
pub mod psql_meta;
pub mod render;
pub mod rules;
pub mod size;
pub mod types;

pub use context::LintContext;
pub use lint::{LintReport, lint_sql};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How much attention a hazard needs before a statement may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Shown, nothing to acknowledge.
    Info,
    /// The operator acknowledges it.
    Warning,
    /// The reviewer acknowledges it by name; `apply` needs `--allow-hazards ID`.
    Danger,
    /// Certain to fail or unsafe as written; `apply` refuses it.
    Blocker,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Info,
        Severity::Warning,
        Severity::Danger,
        Severity::Blocker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Danger => "danger",
            Severity::Blocker => "blocker",
        }
    }

    /// The word shown beside the glyph, so severity never relies on colour alone.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Danger => "DANGER",
            Severity::Blocker => "BLOCKER",
        }
    }

    pub fn glyph(self) -> &'static str {
        match self {
            Severity::Info => "i",
            Severity::Warning => "!",
            Severity::Danger => "✖",
            Severity::Blocker => "⛔",
        }
    }

    /// One level up, used when a table is large.
    pub fn escalate(self) -> Severity {
        match self {
            Severity::Info => Severity::Warning,
            Severity::Warning => Severity::Danger,
            Severity::Danger | Severity::Blocker => self,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown severity '{s}' (expected info, warning, danger or blocker)")
            })
    }
}

/// The hazard identifiers of DESIGN.md §3. Their string forms are a public interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HazardId {
    DataLoss,
    LossyCast,
    Rewrite,
    ScanUnderLock,
    BlockingIndex,
    Lock,
    MayFail,
    BreaksClients,
    NonTransactional,
    Authz,
    Session,
    Opaque,
    Ops,
}

impl HazardId {
    pub const ALL: [HazardId; 13] = [
        HazardId::DataLoss,
        HazardId::LossyCast,
        HazardId::Rewrite,
        HazardId::ScanUnderLock,
        HazardId::BlockingIndex,
        HazardId::Lock,
        HazardId::MayFail,
        HazardId::BreaksClients,
        HazardId::NonTransactional,
        HazardId::Authz,
        HazardId::Session,
        HazardId::Opaque,
        HazardId::Ops,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HazardId::DataLoss => "data-loss",
            HazardId::LossyCast => "lossy-cast",
            HazardId::Rewrite => "rewrite",
            HazardId::ScanUnderLock => "scan-under-lock",
            HazardId::BlockingIndex => "blocking-index",
            HazardId::Lock => "lock",
            HazardId::MayFail => "may-fail",
            HazardId::BreaksClients => "breaks-clients",
            HazardId::NonTransactional => "non-transactional",
            HazardId::Authz => "authz",
            HazardId::Session => "session",
            HazardId::Opaque => "opaque",
            HazardId::Ops => "ops",
        }
    }
}

impl fmt::Display for HazardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HazardId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HazardId::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = HazardId::ALL.iter().map(|h| h.as_str()).collect();
                format!("unknown hazard id '{s}' (known: {})", known.join(", "))
            })
    }
}

/// One hazard of one statement, with a one-line reason naming the object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hazard {
    pub id: HazardId,
    pub severity: Severity,
    /// What it does, in words that depend only on the schemas and the
    /// severity: this is what a plan's body carries.
    pub detail: String,
    /// The figures behind the severity (rows, bytes, probe counts, and whether
    /// each is an estimate), for the review screen, `--format json` and the
    /// report; never written into a plan's body, so that the same two schemas
    /// give the same plan bytes after an ANALYZE or a load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<String>,
}

impl Hazard {
    pub fn new(id: HazardId, severity: Severity, detail: impl Into<String>) -> Self {
        Hazard {
            id,
            severity,
            detail: detail.into(),
            figures: None,
        }
    }

    pub fn with_figures(mut self, figures: Option<String>) -> Self {
        self.figures = figures.filter(|f| !f.is_empty());
        self
    }

    /// The detail with its figures, as a person reads it beside the plan.
    pub fn shown(&self) -> String {
        match &self.figures {
            Some(f) => format!("{} ({f})", self.detail),
            None => self.detail.clone(),
        }
    }
}

/// The highest severity among `hazards`, if any.
pub fn top_severity(hazards: &[Hazard]) -> Option<Severity> {
    hazards.iter().map(|h| h.severity).max()
}

/// Counts per severity, in the order info, warning, danger, blocker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub info: usize,
    pub warning: usize,
    pub danger: usize,
    pub blocker: usize,
}

impl Summary {
    pub fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Info => self.info += 1,
            Severity::Warning => self.warning += 1,
            Severity::Danger => self.danger += 1,
            Severity::Blocker => self.blocker += 1,
        }
    }

    pub fn of<'a>(hazards: impl IntoIterator<Item = &'a Hazard>) -> Summary {
        let mut s = Summary::default();
        for h in hazards {
            s.add(h.severity);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_names() {
        for id in HazardId::ALL {
            assert_eq!(id.as_str().parse::<HazardId>().unwrap(), id);
            assert_eq!(
                serde_json::to_string(&id).unwrap(),
                format!("\"{}\"", id.as_str())
            );
        }
        assert!("drop-everything".parse::<HazardId>().is_err());
    }

    #[test]
    fn escalation_stops_at_danger() {
        assert_eq!(Severity::Info.escalate(), Severity::Warning);
        assert_eq!(Severity::Warning.escalate(), Severity::Danger);
        assert_eq!(Severity::Danger.escalate(), Severity::Danger);
        assert_eq!(Severity::Blocker.escalate(), Severity::Blocker);
    }
}
