use crate::catalog::{self, ddl};
use crate::cli::{InspectArgs, PlanFormat};
use crate::db::ConnSettings;
use anyhow::Result;

pub async fn run(args: InspectArgs) -> Result<u8> {
    let settings = ConnSettings::parse(&args.db.db)?;
    let mut inspected = catalog::inspect(&settings).await?;
    // Show privileges and owners; the fingerprint printed is the one plans use
    // (compared within the same scope as `diff` with these flags).
    let scope = args.scope.scope();
    let fingerprint = scope.fingerprint(&inspected.model);
    let shown = catalog::Scope {
        with_privileges: true,
        with_owners: true,
        ..scope
    };
    shown.apply(&mut inspected.model);
    let text = match args.format {
        PlanFormat::Json => {
            let mut v = serde_json::to_value(&inspected)?;
            v["fingerprint"] = serde_json::Value::String(fingerprint.clone());
            serde_json::to_string_pretty(&v)? + "\n"
        }
        PlanFormat::Sql => format!(
            "-- pgalign inspect of {settings} (PostgreSQL {})\n-- fingerprint: {}\n\n{}",
            inspected.server_version,
            fingerprint,
            ddl::model_sql(&inspected.model)
        ),
    };
    super::print_stdout(&text)?;
    Ok(super::exit::OK)
}
