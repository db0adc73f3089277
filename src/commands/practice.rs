use anyhow::{Result, bail};

pub async fn run(_args: crate::cli::PracticeArgs) -> Result<u8> {
    bail!("`pgalign practice` is not implemented yet")
}
