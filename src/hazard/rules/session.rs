//! `session`: unsafe session settings or transaction structure in a file.
//! (BEGIN without COMMIT and a missing lock_timeout are found by the driver,
//! which sees the whole file.)

use super::Found;
use crate::hazard::action::{Action, TableCmd, Tx};
use crate::hazard::context::Cx;
use crate::hazard::{HazardId::Session, Severity};

pub const NO_LOCK_TIMEOUT: &str = "no lock_timeout is set before this first statement that takes a strong lock: it may wait behind a long transaction while every query on the table queues behind it";

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let w = |d: String| vec![Found::new(Session, Severity::Warning, d)];
    match action {
        Action::Set { name, value, .. }
            if (name == "statement_timeout" || name == "lock_timeout") && is_zero(value) =>
        {
            let mut f = w(format!(
                "SET {name} = {value} disables the timeout: a blocked statement waits forever"
            ));
            f[0].help = Some(format!(
                "SET {name} = '5s' (or a value that fits the window)"
            ));
            f
        }
        Action::Tx(Tx::Begin) => match cx.file.in_tx {
            Some(line) => w(format!(
                "nested BEGIN: a transaction is already open since line {line}; PostgreSQL ignores this one and the next COMMIT ends both"
            )),
            None => vec![],
        },
        Action::AlterTable {
            cmd: TableCmd::ValidateConstraint { name },
            ..
        } if cx.file.in_tx.is_some() && cx.file.tx_not_valid.contains_key(name) => {
            let line = cx.file.tx_not_valid[name];
            let mut f = w(format!(
                "VALIDATE CONSTRAINT {name} runs in the transaction that added it NOT VALID at line {line}: the lock of the ADD is held through the validating scan, which defeats NOT VALID"
            ));
            f[0].help = Some(
                "COMMIT after the ADD … NOT VALID and validate in a transaction of its own".into(),
            );
            f
        }
        Action::Tx(Tx::Commit | Tx::Rollback) if cx.file.in_tx.is_none() => {
            vec![Found::new(
                Session,
                Severity::Info,
                "COMMIT/ROLLBACK without an open transaction: PostgreSQL only warns",
            )]
        }
        _ => vec![],
    }
}

fn is_zero(v: &str) -> bool {
    let v = v.trim().trim_matches('\'');
    v == "0" || v == "0s" || v == "0ms"
}

#[cfg(test)]
mod tests {
    use super::super::testing::{findings_with, ids};
    use super::*;

    #[test]
    fn disabled_timeouts_and_nested_begin() {
        assert_eq!(
            ids(check, "SET statement_timeout = 0"),
            vec![(Session, Severity::Warning)]
        );
        assert_eq!(
            ids(check, "SET lock_timeout TO '0'"),
            vec![(Session, Severity::Warning)]
        );
        assert!(ids(check, "SET lock_timeout = '5s'").is_empty());
        let file = crate::hazard::context::FileState {
            in_tx: Some(3),
            ..Default::default()
        };
        let f = findings_with(check, "BEGIN", &Default::default(), &file);
        assert!(f[0].detail.contains("line 3"));
    }
}
