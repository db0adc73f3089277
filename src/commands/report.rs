use anyhow::{Result, bail};

pub async fn run(_args: crate::cli::ReportArgs) -> Result<u8> {
    bail!("`pgalign report` is not implemented yet")
}
