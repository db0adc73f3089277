//! One rule per hazard id. Each rule looks at one action with its context and
//! says what it finds; sizing, suppressions and output happen in `lint`.

pub mod authz;
pub mod blocking_index;
pub mod breaks_clients;
pub mod data_loss;
pub mod lock;
pub mod lossy_cast;
pub mod may_fail;
pub mod non_transactional;
pub mod opaque;
pub mod ops;
pub mod rewrite;
pub mod scan_under_lock;
pub mod session;

use super::action::Action;
use super::ast::Rel;
use super::context::Cx;
use super::{HazardId, Severity};

/// How a finding's severity follows the table's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sizing {
    /// Not size-driven.
    Fixed,
    /// `info` when empty, one level up when ≥ 1 GB or ≥ 10M rows.
    BySize,
    /// `info` when empty, otherwise as is (data-loss, may-fail).
    EmptyIsInfo,
}

/// What a rule found about one action.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub id: HazardId,
    pub severity: Severity,
    pub detail: String,
    pub help: Option<String>,
    /// The table whose size decides severity (`sizing`).
    pub table: Option<Rel>,
    pub sizing: Sizing,
    /// Figures the rule found (probe counts); the table's size is added by
    /// `lint`. Kept out of `detail`, which a plan's body carries.
    pub figures: Vec<String>,
}

impl Found {
    pub fn new(id: HazardId, severity: Severity, detail: impl Into<String>) -> Found {
        Found {
            id,
            severity,
            detail: detail.into(),
            help: None,
            table: None,
            sizing: Sizing::Fixed,
            figures: vec![],
        }
    }

    pub fn figure(mut self, figure: impl Into<String>) -> Found {
        self.figures.push(figure.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Found {
        self.help = Some(help.into());
        self
    }

    pub fn sized(mut self, table: &Rel, sizing: Sizing) -> Found {
        self.table = Some(table.clone());
        self.sizing = sizing;
        self
    }
}

pub type Rule = fn(&Action, &Cx) -> Vec<Found>;

/// Every action rule, in the order their findings are shown.
pub const RULES: &[Rule] = &[
    data_loss::check,
    lossy_cast::check,
    may_fail::check,
    non_transactional::check,
    rewrite::check,
    scan_under_lock::check,
    blocking_index::check,
    lock::check,
    breaks_clients::check,
    authz::check,
    session::check,
    opaque::check,
    ops::check,
];

/// Runs every rule on `action`.
pub fn check_all(action: &Action, cx: &Cx) -> Vec<Found> {
    RULES.iter().flat_map(|r| r(action, cx)).collect()
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::hazard::context::{FileState, LintContext};

    /// Findings of the first statement of `sql` with an empty file state.
    pub fn findings(rule: Rule, sql: &str) -> Vec<Found> {
        findings_with(rule, sql, &LintContext::default(), &FileState::default())
    }

    pub fn findings_with(rule: Rule, sql: &str, ctx: &LintContext, file: &FileState) -> Vec<Found> {
        let (_, pieces) = crate::hazard::parse::parse_file(sql);
        let node = pieces[0].node.clone().expect("test SQL parses");
        let (_, actions) = crate::hazard::classify::classify(&node, sql);
        let cx = Cx::new(ctx, file);
        actions.iter().flat_map(|a| rule(a, &cx)).collect()
    }

    pub fn ids(rule: Rule, sql: &str) -> Vec<(HazardId, Severity)> {
        findings(rule, sql)
            .into_iter()
            .map(|f| (f.id, f.severity))
            .collect()
    }
}
