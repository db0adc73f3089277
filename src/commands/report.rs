use super::exit;
use crate::cli::{ReportArgs, ReportFormat};
use anyhow::{Result, bail};

/// `pgalign report`: renders the alignment report of a session from its journal.
pub async fn run(args: ReportArgs) -> Result<u8> {
    let path = &args.journal;
    if !path.is_file() {
        bail!("journal {} does not exist or is not a file", path.display());
    }
    let records = crate::session::journal::read(path)?;
    if records.is_empty() {
        bail!(
            "journal {} holds no entries: there is nothing to report",
            path.display()
        );
    }
    let text = match args.format {
        ReportFormat::Md => crate::report::render_markdown(&records),
        ReportFormat::Json => {
            serde_json::to_string_pretty(&crate::report::render_json(&records))? + "\n"
        }
    };
    super::print_stdout(&text)?;
    Ok(exit::OK)
}
