use crate::cli::{ReportArgs, ReportFormat};
use crate::exit::Exit;
use anyhow::{Result, bail};

/// `pgalign report`: renders the alignment report of a session from its journal.
pub async fn run(args: ReportArgs) -> Result<Exit> {
    let path = &args.journal;
    if !path.is_file() {
        bail!("journal {} does not exist or is not a file", path.display());
    }
    let contents = crate::journal::read_contents(path)?;
    for t in contents.torn.iter().filter(|t| !t.noted) {
        eprintln!(
            "pgalign: warning: journal {}: {}",
            crate::util::printable(&path.display().to_string()),
            t.note()
        );
    }
    // A torn line is reported as a note of its own (the report still renders).
    let records = contents.records_with_notes();
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
    Ok(Exit::Ok)
}
