//! `pgalign practice`: a throwaway PostgreSQL with a drifted practice database,
//! and the wizard on it. The server is stopped and deleted afterwards; the
//! session folder (journal, backup, report) is kept.

use crate::cli::PracticeArgs;
use crate::db::cluster::Cluster;
use crate::exit::Exit;
use crate::session::Config;
use anyhow::{Context, Result, bail};

struct Scenario {
    name: &'static str,
    database: &'static str,
    live: &'static str,
    desired: &'static str,
}

const SCENARIOS: &[Scenario] = &[Scenario {
    name: "shop",
    database: "shop",
    live: include_str!("../../assets/practice/shop/live.sql"),
    desired: include_str!("../../assets/practice/shop/desired.sql"),
}];

pub async fn run(args: PracticeArgs) -> Result<Exit> {
    let Some(scenario) = SCENARIOS.iter().find(|s| s.name == args.scenario) else {
        let known: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        bail!(
            "unknown practice scenario '{}' (available: {})",
            args.scenario,
            known.join(", ")
        );
    };
    let session_dir = crate::session::new_session_dir(args.session_dir.as_deref())?;
    eprintln!(
        "pgalign: starting a throwaway PostgreSQL for the '{}' practice…",
        scenario.name
    );
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .context("starting the practice server")??;
    let result = practice(&cluster, scenario, session_dir).await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .ok();
    eprintln!("pgalign: the practice server was stopped and deleted");
    let code = result?;
    Ok(if code == Exit::Ok { code } else { Exit::Error })
}

async fn practice(
    cluster: &Cluster,
    scenario: &Scenario,
    session_dir: std::path::PathBuf,
) -> Result<Exit> {
    let admin = crate::db::connect(&cluster.settings("postgres")).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {}", scenario.database))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "creating the practice database: {}",
                crate::db::describe_error(&e)
            )
        })?;
    let target = cluster.settings(scenario.database);
    let live = scenario.live.as_bytes().to_vec();
    let t = target.clone();
    tokio::task::spawn_blocking(move || crate::db::shadow::run_psql(&t, None, Some(&live)))
        .await?
        .context("loading the practice database")?;
    let desired = session_dir.join("desired.sql");
    crate::util::write_private(&desired, scenario.desired.as_bytes())
        .with_context(|| format!("writing {}", desired.display()))?;
    let config = Config {
        target,
        desired: Some(desired.display().to_string()),
        external_plan: None,
        shadow: Some(cluster.url("postgres")),
        session_dir,
        mode: crate::journal::Mode::Practice,
        plan_options: crate::plan::PlanOptions {
            measure: crate::plan::Measure::Probes,
            ..Default::default()
        },
    };
    super::wizard::open(config).await
}
