//! The alignment report, rendered from the journal alone (a pure function): the
//! same facts as Markdown for people and as JSON for machines.
//!
//! The journal never holds a password; as a second line of defence every string
//! of the report is passed through [`redact`] (the one redaction function,
//! [`crate::util::redact`]) anyway.

pub mod facts;
pub mod markdown;

use crate::session::journal::Record;
use crate::util::redact::redact_json;

pub use crate::util::redact::redact;

pub use facts::{Facts, Outcome, gather};

/// The report as Markdown.
pub fn render_markdown(records: &[Record]) -> String {
    redact(&markdown::render(&facts::gather(records)))
}

/// The report as one JSON object with stable snake_case keys.
pub fn render_json(records: &[Record]) -> serde_json::Value {
    let mut v = serde_json::to_value(facts::gather(records)).unwrap_or_else(|e| {
        serde_json::json!({ "outcome": "incomplete", "error": format!("encoding the report: {e}") })
    });
    redact_json(&mut v);
    v
}

#[cfg(test)]
mod tests;
