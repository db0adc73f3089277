//! `pgalign lint FILE [--db URL] [--format human|json] [--fail-on LEVEL] [--no-probes]`.
//! Exit 0: nothing at or above LEVEL; 2: something is; 1: error.

use super::print_stdout;
use crate::cli::{LintArgs, LintFormat};
use crate::db::{ConnSettings, connect};
use crate::exit::Exit;
use crate::hazard::{self, LintContext, prepass, render};
use anyhow::{Context, Result};

pub async fn run(args: LintArgs) -> Result<Exit> {
    let name = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("reading {name}"))?;
    let text = prepass::decode(&bytes, &name)?;
    let report = match &args.target.url {
        Some(url) => {
            let settings = ConnSettings::parse(url)?;
            let client = connect(&settings).await?;
            hazard::db::lint_live(&text, &name, &client, !args.no_probes)
                .await
                .with_context(|| format!("linting {name} against {settings}"))?
        }
        None => hazard::lint_sql(
            &text,
            &LintContext {
                file: name.clone(),
                ..Default::default()
            },
        )?,
    };
    let out = match args.format {
        LintFormat::Human => render::human(&report, render::Style::detect()),
        LintFormat::Json => render::json(&report),
    };
    print_stdout(&out)?;
    Ok(if report.fails(args.fail_on) {
        Exit::Differences
    } else {
        Exit::Ok
    })
}
