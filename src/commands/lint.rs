use anyhow::{Result, bail};

pub async fn run(_args: crate::cli::LintArgs) -> Result<u8> {
    bail!("`pgalign lint` is not implemented yet")
}
