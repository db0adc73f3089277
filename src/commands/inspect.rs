use crate::catalog::{self, ddl};
use crate::cli::{InspectArgs, PlanFormat};
use crate::db::ConnSettings;
use anyhow::Result;

pub async fn run(args: InspectArgs) -> Result<u8> {
    let settings = ConnSettings::parse(&args.db.db)?;
    let mut inspected = catalog::inspect(&settings).await?;
    args.scope.scope().apply(&mut inspected.model);
    let text = match args.format {
        PlanFormat::Json => {
            let mut v = serde_json::to_value(&inspected)?;
            v["fingerprint"] = serde_json::Value::String(inspected.model.fingerprint());
            serde_json::to_string_pretty(&v)? + "\n"
        }
        PlanFormat::Sql => format!(
            "-- pgalign inspect of {settings} (PostgreSQL {})\n-- fingerprint: {}\n\n{}",
            inspected.server_version,
            inspected.model.fingerprint(),
            ddl::model_sql(&inspected.model)
        ),
    };
    super::print_stdout(&text)?;
    Ok(super::exit::OK)
}
