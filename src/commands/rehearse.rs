use anyhow::{Result, bail};

pub async fn run(_args: crate::cli::RehearseArgs) -> Result<u8> {
    bail!("`pgalign rehearse` is not implemented yet")
}
