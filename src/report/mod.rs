//! The alignment report, rendered from the journal alone (a pure function): the
//! same facts as Markdown for people and as JSON for machines.
//!
//! The journal never holds a password; as a second line of defence every string
//! of the report is passed through [`redact`] anyway.

pub mod facts;
pub mod markdown;

use crate::session::journal::Record;

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

fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = redact(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        serde_json::Value::Object(o) => o.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// Removes passwords from URLs (`postgres://u:secret@h` → `postgres://u@h`) and
/// conninfo strings (`password=secret` → `password=***`).
pub fn redact(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest
            .find(|c: char| {
                c == '/' || c == '?' || c == '`' || c == '\'' || c == '"' || c.is_whitespace()
            })
            .unwrap_or(rest.len());
        let authority = &rest[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                let user = userinfo.split(':').next().unwrap_or("");
                out.push_str(user);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    redact_conninfo_password(&out)
}

fn redact_conninfo_password(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("password") {
        let key_end = pos + i + "password".len();
        let after = &s[key_end..];
        let trimmed = after.trim_start();
        let boundary = pos + i == 0
            || !s[..pos + i].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
        if boundary && trimmed.starts_with('=') {
            let value_start = key_end + (after.len() - trimmed.len()) + 1;
            let v = s[value_start..].trim_start();
            let value_start = s.len() - v.len();
            let value_len = if let Some(q) = v.strip_prefix('\'') {
                q.find('\'').map(|j| j + 2).unwrap_or(v.len())
            } else {
                v.find(char::is_whitespace).unwrap_or(v.len())
            };
            out.push_str(&s[pos..value_start]);
            out.push_str("***");
            pos = value_start + value_len;
        } else {
            out.push_str(&s[pos..key_end]);
            pos = key_end;
        }
    }
    out.push_str(&s[pos..]);
    out
}

#[cfg(test)]
mod tests;
