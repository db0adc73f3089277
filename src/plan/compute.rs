//! Inspects the live database and the desired source (at once, one connection
//! each) and plans:
//! the one path `diff`, `verify` and the wizard share. The first side to fail
//! stops the other: a wrong password or a missing database is reported at
//! once, not after a minute of loading the desired schema.

use super::{Plan, PlanOptions};
use crate::catalog::Inspected;
use crate::db::ConnSettings;
use crate::db::shadow::{DesiredSource, inspect_desired_until};
use anyhow::{Context, Result};

/// Both sides as inspected, and the plan between them.
pub struct Computed {
    pub live: Inspected,
    pub desired: Inspected,
    pub plan: Plan,
}

pub async fn compute(
    target: &ConnSettings,
    desired: &str,
    shadow: Option<&str>,
    opts: &PlanOptions,
) -> Result<Computed> {
    let source = DesiredSource::parse(desired)?;
    let started = std::time::Instant::now();
    // Both sides at once, one connection each (measured at 10,000 tables on 2
    // cores: reading them one after the other, each on two connections, was
    // no faster, and two connections per side slower; see docs/benchmarks.md).
    let (stop, cancel) = crate::db::cancel::pair();
    // Both sides boxed: their futures are large, and a debug build copies them
    // on the stack of the thread that polls (the wizard's 2 MB workers).
    let live_side = async {
        let live = tokio::select! {
            r = Box::pin(crate::catalog::inspect(target)) => Some(r),
            () = cancel.cancelled() => None,
        };
        if matches!(live, Some(Err(_))) {
            stop.cancel();
        }
        live
    };
    let desired_side = async {
        // Returns once its command, psql and shadow database are gone.
        let want = Box::pin(inspect_desired_until(&source, shadow, &cancel)).await;
        if want.is_err() {
            stop.cancel();
        }
        want
    };
    let (live, want) = crate::catalog::introspect::one_connection_each(async {
        tokio::join!(live_side, desired_side)
    })
    .await;
    timing("inspecting both sides", started);
    let want =
        want.with_context(|| format!("loading the desired schema from {}", source.describe()));
    // A side stopped because the other failed reports the other's error.
    let mut live = match live {
        Some(live) => live.with_context(|| format!("inspecting {target}"))?,
        None => {
            return Err(want
                .err()
                .unwrap_or_else(|| anyhow::anyhow!("inspecting {target} stopped")));
        }
    };
    let mut desired = want?;
    let mut opts = opts.clone();
    // Desired sources come from outside: an empty one must not drop everything.
    if opts.drop_all == super::DropAll::Unchecked {
        opts.drop_all = super::DropAll::Refuse;
    }
    for file in source.sql_files()? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {} for rename hints", file.display()))?;
        let hints = super::hints::parse(&text, &desired.model)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        opts.renames.extend(hints);
    }
    let started = std::time::Instant::now();
    let kept = super::diff::keep_live_names(&live, &mut desired);
    let mut plan = super::diff::diff_in_place(&mut live, &mut desired.model, &opts);
    plan.notes.extend(kept);
    timing("planning", started);
    Ok(Computed {
        live,
        desired,
        plan,
    })
}

/// Prints how long a phase took when `PGALIGN_TIMINGS` is set.
fn timing(what: &str, started: std::time::Instant) {
    if std::env::var_os("PGALIGN_TIMINGS").is_some() {
        eprintln!(
            "pgalign: {what} took {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::{Inspected, Scope};
    use crate::plan::{PlanOptions, diff, diff::diff_in_place};

    #[test]
    fn planning_in_place_equals_planning_on_copies() {
        let live_model = crate::catalog::tests::sample_model();
        let mut desired = live_model.clone();
        let t = desired.tables.values_mut().next().unwrap();
        t.columns.pop();
        t.comment = None;
        desired.privileges.clear();
        desired
            .owners
            .values_mut()
            .for_each(|o| *o = "other".into());
        desired.unmanaged.clear();
        let live = Inspected {
            model: live_model,
            ..Default::default()
        };
        for scope in [
            Scope::default(),
            Scope {
                with_privileges: true,
                ..Default::default()
            },
            Scope {
                with_owners: true,
                with_privileges: true,
                ..Default::default()
            },
            Scope {
                exclude_schemas: vec!["app".into()],
                ..Default::default()
            },
        ] {
            let opts = PlanOptions {
                scope,
                ..Default::default()
            };
            let expected = diff(&live, &desired, &opts);
            let (mut l, mut d) = (live.clone(), desired.clone());
            assert_eq!(diff_in_place(&mut l, &mut d, &opts), expected);
            assert_eq!(l.model, live.model);
            assert_eq!(d, desired);
        }
    }
}
