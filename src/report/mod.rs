//! The alignment report, rendered from the journal alone (a pure function): the
//! same facts as Markdown for people and as JSON for machines.
//!
//! The journal never holds a password; as a second line of defence every string
//! of the report is passed through [`redact`] (the one redaction function,
//! [`crate::util::redact`]) anyway.

pub mod facts;
pub mod markdown;

use crate::journal::Record;
use crate::util::redact::redact_json;

pub use crate::util::redact::redact;

pub use facts::{Facts, Outcome, gather};

/// The report as Markdown. Every string of the journal is shown escaped
/// ([`crate::util::escape_control`]): a name holding a newline or an escape
/// sequence cannot forge a line of the report or reach a terminal that
/// displays it. (The JSON report keeps the strings as they are: JSON escapes
/// them.)
pub fn render_markdown(records: &[Record]) -> String {
    let shown: Vec<Record> = records.iter().map(escaped).collect();
    redact(&markdown::render(&facts::gather(&shown)))
}

/// A record with every string escaped.
fn escaped(r: &Record) -> Record {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => {
                if let std::borrow::Cow::Owned(e) = crate::util::escape_control(s) {
                    *s = e;
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            serde_json::Value::Object(o) => o.values_mut().for_each(walk),
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::to_value(r) else {
        return r.clone();
    };
    walk(&mut v);
    serde_json::from_value(v).unwrap_or_else(|_| r.clone())
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
