use anyhow::{Result, bail};

pub async fn run(_args: crate::cli::BackupArgs) -> Result<u8> {
    bail!("`pgalign backup` is not implemented yet")
}
