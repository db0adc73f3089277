use anyhow::{Result, bail};

pub async fn run(_args: crate::cli::WizardArgs) -> Result<u8> {
    bail!("`pgalign wizard` is not implemented yet")
}
