//! User-facing wording shared by the wizard, the CLI and the report.
