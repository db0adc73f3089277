//! `pgalign wizard`: opens the interactive wizard on a live database.

use crate::cli::WizardArgs;
use crate::config::FileConfig;
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::session::{Config, Wizard};
use anyhow::{Context, Result, bail};
use std::io::IsTerminal;
use std::path::Path;

pub async fn run(args: WizardArgs) -> Result<Exit> {
    // The whole pgalign.toml is checked here (unknown keys, passwords);
    // flags win over it.
    let file = FileConfig::load(args.config.as_deref())?;
    if let Some(journal) = args.resume.clone() {
        return resume(args, file, &journal).await;
    }
    let Some(db) = args.target.url.or(file.db) else {
        bail!(
            "the wizard needs a target: pass --db URL, set PGALIGN_DB_URL, or put `db = \"…\"` in pgalign.toml (or try `pgalign practice`)"
        );
    };
    let desired = args.desired.or(file.desired);
    let external_plan = args.plan.or(file.plan);
    if desired.is_none() && external_plan.is_none() {
        bail!(
            "the wizard needs the desired schema or a plan: pass --desired SRC (or --plan FILE for an external SQL file), or put `desired = \"…\"` in pgalign.toml"
        );
    }
    // Warnings about the connection settings are shown by Preflight (stderr is
    // hidden behind the wizard's screen).
    let target = ConnSettings::parse_quiet(&db).context("parsing --db")?;
    if let Some(desired) = &desired {
        crate::db::shadow::DesiredSource::parse(desired)?;
    }
    if let Some(plan) = &external_plan
        && !plan.is_file()
    {
        bail!(
            "the external plan {} is not a readable file",
            plan.display()
        );
    }
    let base = args.session_dir.or(file.session_dir);
    if let Some((dir, journal)) = crate::session::resume::find_interrupted(
        &crate::session::resume::sessions_base(base.as_deref()),
        &target,
    ) {
        // Also a Preflight notice; here it stays on the terminal after the wizard.
        eprintln!(
            "pgalign: an interrupted apply was found in {}: resume it with pgalign wizard --resume {}",
            dir.display(),
            journal.display()
        );
    }
    let session_dir = crate::session::new_session_dir(base.as_deref())?;
    let config = Config {
        target,
        desired,
        external_plan,
        shadow: args.shadow.url.or(file.shadow),
        session_dir,
        mode: crate::journal::Mode::Live,
        plan_options: crate::plan::PlanOptions {
            scope: args.scope.scope(),
            strategy: args.strategy.into(),
            drop_all: super::diff::drop_all(args.allow_drop_all),
            measure: crate::plan::Measure::Probes,
            ledgers: crate::ledger::LedgerOptions {
                tables: file.ledgers.clone(),
                alembic_dir: file.alembic.as_ref().map(|a| a.dir.clone()),
            },
            ..Default::default()
        },
    };
    need_terminal()?;
    let mut wizard = Wizard::start(config)?;
    wizard.post_checks = file.post_checks;
    run_tui(wizard).await
}

/// `wizard --resume JOURNAL`: the session of that journal, reopened at its
/// Apply step to continue the interrupted apply.
async fn resume(args: WizardArgs, file: FileConfig, journal: &Path) -> Result<Exit> {
    let from = resume_session(&args, file, journal)?;
    need_terminal()?;
    let wizard = Wizard::resume(from.1, from.0)?;
    run_tui(wizard).await
}

/// Loads and checks what `--resume` continues; the configuration comes from
/// the journal, `--db` (its password never is in the journal), and
/// `--desired`/`--shadow` when the journal lacks them.
fn resume_session(
    args: &WizardArgs,
    file: FileConfig,
    journal: &Path,
) -> Result<(crate::session::resume::Resumable, Config)> {
    let Some(db) = args.target.url.clone().or(file.db) else {
        bail!(
            "resuming needs the target the session applied to: pass the same --db URL (or set PGALIGN_DB_URL); the journal holds no password"
        );
    };
    // Warnings about the connection settings are shown by Preflight (stderr is
    // hidden behind the wizard's screen).
    let target = ConnSettings::parse_quiet(&db).context("parsing --db")?;
    let from = crate::session::resume::load(journal)?;
    from.check_target(&target)?;
    let desired = args.desired.clone();
    if let Some(d) = &desired {
        crate::db::shadow::DesiredSource::parse(d)?;
    }
    let config = from.config(
        target,
        desired,
        args.shadow.url.clone(),
        args.strategy.into(),
    )?;
    Ok((from, config))
}

fn need_terminal() -> Result<()> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        bail!(
            "the wizard needs an interactive terminal; in scripts use `pgalign diff`, `pgalign apply` and `pgalign verify`"
        );
    }
    Ok(())
}

/// Runs the wizard on `config` in this terminal; prints where the report (or
/// the journal of an unfinished session) is on stderr.
pub async fn open(config: Config) -> Result<Exit> {
    need_terminal()?;
    run_tui(Wizard::start(config)?).await
}

async fn run_tui(wizard: Wizard) -> Result<Exit> {
    let (code, app) = crate::tui::run(wizard).await?;
    let w = &app.wizard;
    match &w.report {
        Some((md, _)) => eprintln!("pgalign: {} — report: {}", w.outcome(), md.display()),
        None => eprintln!(
            "pgalign: session {} — journal: {}",
            crate::session::Outcome::Aborted,
            w.journal_path().display()
        ),
    }
    Ok(code)
}
