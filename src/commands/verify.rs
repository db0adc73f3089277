use crate::cli::VerifyArgs;
use crate::config::FileConfig;
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::plan::PlanOptions;
use anyhow::{Result, bail};

pub async fn run(args: VerifyArgs) -> Result<Exit> {
    // Read (and checked) before connecting: a bad pgalign.toml stops here.
    let file = FileConfig::load(args.config.as_deref())?;
    if args.post_checks && file.post_checks.is_empty() {
        bail!(
            "--post-checks was given but {} has no [[post_check]]",
            args.config
                .as_deref()
                .map_or("./pgalign.toml".into(), |p| p.display().to_string())
        );
    }
    // Flags win over the file.
    let db = match args.db.conninfo() {
        "" => file.db.clone().unwrap_or_default(),
        given => given.to_string(),
    };
    let shadow = args.desired.shadow.url.clone().or(file.shadow.clone());
    let (settings, computed) = super::diff::compute(
        &db,
        &args.desired.desired,
        shadow.as_deref(),
        &PlanOptions {
            scope: args.scope.scope(),
            ledgers: super::diff::ledger_options(&file, args.alembic_dir.as_deref()),
            ..Default::default()
        },
    )
    .await?;
    let plan = computed.plan;
    let scope = args.scope.scope();
    let unseen =
        crate::plan::diff::not_compared(&computed.live.model, &computed.desired.model, &scope);
    super::diff::print_ledgers(&computed.ledgers);
    let problems = computed.ledgers.problems.clone();
    // The process ends soon: freeing both models gains nothing (see `diff`).
    std::mem::forget(computed.live);
    std::mem::forget(computed.desired);
    // Names are shown escaped: a table named `t\n0 differences` prints one line.
    let target = crate::util::printable(&settings.to_string());
    let mut code = if plan.is_empty() && problems.is_empty() {
        eprintln!(
            "pgalign: {target} is in sync with the desired schema{} (fingerprint {})",
            if unseen.is_some() {
                " in what was compared"
            } else {
                ""
            },
            plan.live_fingerprint
        );
        Exit::Ok
    } else {
        let mut out = format!(
            "{} difference(s) remain on {target}:\n",
            plan.steps.len() + problems.len()
        );
        for step in &plan.steps {
            out.push_str(&format!("  - {}\n", crate::util::printable(&step.title)));
        }
        for p in &problems {
            out.push_str(&format!("  - ledger: {}\n", crate::util::printable(p)));
        }
        super::print_stdout(&out)?;
        Exit::Differences
    };
    if let Some(line) = unseen {
        eprintln!("pgalign: {line}");
    }
    if args.post_checks && !post_checks(&file, &settings).await? {
        code = Exit::Differences;
    }
    Ok(code)
}

/// Runs the post-checks after the re-diff, one line each; true when all pass.
/// On a failure, says how to roll back.
async fn post_checks(file: &FileConfig, target: &ConnSettings) -> Result<bool> {
    let results = crate::postcheck::run_all(&file.post_checks, target).await;
    let mut out = String::from("post-checks:\n");
    for r in &results {
        out.push_str(&format!("  {}\n", r.line()));
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        out.push_str(&format!(
            "{failed} of {} post-check(s) failed: applied, post-checks failed.\n",
            results.len()
        ));
    }
    super::print_stdout(&out)?;
    if failed > 0 {
        eprintln!(
            "pgalign: to roll back, restore the backup taken before the apply (the session folder's backup, or `pgalign backup`'s file): pgalign restore --db URL --backup FILE --into DBNAME"
        );
    }
    Ok(failed == 0)
}
