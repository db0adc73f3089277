//! Rename hints in desired SQL: `-- pgalign:renamed-from <old name>` on the line
//! before a table definition (`CREATE TABLE …`), a column definition inside
//! one, or a value of an enum (`CREATE TYPE … AS ENUM (`, one value a line). A
//! table's old name is `schema.table` (or `table`, same schema); a column's is
//! `schema.table.column`, `table.column` or `column`; a value's is the old label
//! as a string literal (`'pending'`).

use crate::catalog::model::{Model, QName};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rename {
    Table {
        from: QName,
        to: QName,
    },
    /// A column of `table` (its desired name) renamed from `from` to `to`.
    Column {
        table: QName,
        from: String,
        to: String,
    },
    /// A value of the enum `type_name` renamed from `from` to `to`.
    EnumValue {
        type_name: QName,
        from: String,
        to: String,
    },
}

const MARK: &str = "pgalign:renamed-from";

/// Reads an identifier (quoted or not) at the start of `s`; returns it and the rest.
fn ident(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if let Some(rest) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = rest.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if chars.peek().map(|x| x.1) == Some('"') {
                    chars.next();
                    out.push('"');
                } else {
                    return Some((out, &rest[i + 1..]));
                }
            } else {
                out.push(c);
            }
        }
        None
    } else {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(s.len());
        (end > 0).then(|| (s[..end].to_lowercase(), &s[end..]))
    }
}

/// A dotted name: `a`, `a.b`, `a.b.c` (each part quoted or not).
fn dotted(s: &str) -> (Vec<String>, &str) {
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some((part, r)) = ident(rest) {
        parts.push(part);
        rest = r;
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None => break,
        }
    }
    (parts, rest)
}

/// The table name of a line starting `CREATE [UNLOGGED|TEMP] TABLE [IF NOT EXISTS] name`.
fn create_table_name(line: &str) -> Option<Vec<String>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
    if upper.first().map(String::as_str) != Some("CREATE") {
        return None;
    }
    let mut i = 1;
    if matches!(
        upper.get(i).map(String::as_str),
        Some("UNLOGGED" | "TEMP" | "TEMPORARY")
    ) {
        i += 1;
    }
    if upper.get(i).map(String::as_str) != Some("TABLE") {
        return None;
    }
    i += 1;
    if upper
        .get(i..i + 3)
        .is_some_and(|w| w == ["IF", "NOT", "EXISTS"])
    {
        i += 3;
    }
    // Re-read from the name's position in the original line (names may be quoted).
    let mut rest = line.trim_start();
    for _ in 0..i {
        rest = rest.trim_start();
        rest = &rest[rest.find(char::is_whitespace)?..];
    }
    let (parts, _) = dotted(rest);
    (!parts.is_empty()).then_some(parts)
}

/// A string literal (`'it''s'`, or `E'…'` without escapes) at the start of `s`.
fn literal(s: &str) -> Option<String> {
    let s = s.trim_start();
    let rest = s
        .strip_prefix('\'')
        .or_else(|| s.strip_prefix("E'"))
        .or_else(|| s.strip_prefix("e'"))?;
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
            } else {
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// The type name of a line starting `CREATE TYPE name AS ENUM`.
fn create_enum_name(line: &str) -> Option<Vec<String>> {
    let rest = line.trim_start();
    if !rest.get(..6)?.eq_ignore_ascii_case("CREATE") {
        return None;
    }
    let rest = rest[6..].trim_start();
    if !rest.get(..5)?.eq_ignore_ascii_case("TYPE ") {
        return None;
    }
    let (parts, tail) = dotted(&rest[5..]);
    let tail = tail.trim_start().to_uppercase();
    let words: Vec<&str> = tail
        .split(|c: char| c.is_whitespace() || c == '(')
        .filter(|w| !w.is_empty())
        .take(2)
        .collect();
    (!parts.is_empty() && words == ["AS", "ENUM"]).then_some(parts)
}

/// Resolves a possibly unqualified table name against the desired model.
fn resolve(parts: &[String], desired: &Model) -> Option<QName> {
    resolve_in(parts, desired.tables.keys())
}

/// Resolves a possibly unqualified enum name against the desired model.
fn resolve_enum(parts: &[String], desired: &Model) -> Option<QName> {
    resolve_in(parts, desired.enums.keys())
}

/// A qualified name as it is; an unqualified one as the only object of that
/// name among `names` (`public` when there are several).
fn resolve_in<'a>(parts: &[String], names: impl Iterator<Item = &'a QName>) -> Option<QName> {
    match parts {
        [schema, name] => Some(QName::new(schema.clone(), name.clone())),
        [name] => {
            let mut found = names.filter(|q| &q.name == name);
            let first = found.next()?.clone();
            Some(if found.next().is_none() {
                first
            } else {
                QName::new("public", name.clone())
            })
        }
        _ => None,
    }
}

/// Finds the rename hints of `sql`. Hints that name nothing the desired model
/// has are reported back as errors (file and line) by the caller.
pub fn parse(sql: &str, desired: &Model) -> Result<Vec<Rename>, String> {
    let lines: Vec<&str> = sql.lines().collect();
    let mut out = Vec::new();
    let mut current_table: Option<QName> = None;
    let mut current_enum: Option<QName> = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(parts) = create_table_name(line) {
            current_table = resolve(&parts, desired);
            current_enum = None;
        }
        if let Some(parts) = create_enum_name(line) {
            current_enum = resolve_enum(&parts, desired);
            current_table = None;
        }
        let Some(pos) = line.find(MARK) else { continue };
        if !line[..pos].trim_end().ends_with("--") {
            continue;
        }
        let Some(next) = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty() && !l.starts_with("--"))
        else {
            return Err(format!(
                "line {}: {MARK} is not followed by a definition",
                i + 1
            ));
        };
        let after = &line[pos + MARK.len()..];
        if let Some(to) = literal(next) {
            let type_name = current_enum.clone().ok_or_else(|| {
                format!(
                    "line {}: a value hint must be inside CREATE TYPE … AS ENUM",
                    i + 1
                )
            })?;
            let from = literal(after).ok_or_else(|| {
                format!(
                    "line {}: an enum value's old name is a string literal ('old')",
                    i + 1
                )
            })?;
            out.push(Rename::EnumValue {
                type_name,
                from,
                to,
            });
            continue;
        }
        let (old, _) = dotted(after);
        if old.is_empty() {
            return Err(format!("line {}: {MARK} needs the old name", i + 1));
        }
        if create_enum_name(next).is_some()
            || next.to_uppercase().starts_with("CREATE ") && create_table_name(next).is_none()
        {
            return Err(format!(
                "line {}: {MARK} applies to a table, a column or an enum value; renaming other objects is not supported",
                i + 1
            ));
        }
        if let Some(parts) = create_table_name(next) {
            let to = resolve(&parts, desired).ok_or_else(|| {
                format!("line {}: cannot tell which table the hint is for", i + 1)
            })?;
            let from = match old.as_slice() {
                [s, n] => QName::new(s.clone(), n.clone()),
                [n] => QName::new(to.schema.clone(), n.clone()),
                _ => {
                    return Err(format!(
                        "line {}: a table's old name is schema.table",
                        i + 1
                    ));
                }
            };
            out.push(Rename::Table { from, to });
        } else {
            let table = current_table.clone().ok_or_else(|| {
                format!("line {}: a column hint must be inside CREATE TABLE", i + 1)
            })?;
            let (col, _) =
                ident(next).ok_or_else(|| format!("line {}: no column follows the hint", i + 1))?;
            let from = old.last().cloned().unwrap_or_default();
            out.push(Rename::Column {
                table,
                from,
                to: col,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_column_hints() {
        let sql = "CREATE SCHEMA shop;\n\
                   -- pgalign:renamed-from shop.clients\n\
                   CREATE TABLE shop.customers (\n\
                     id int,\n\
                     -- pgalign:renamed-from shop.clients.mail\n\
                     \"Email\" text\n\
                   );\n";
        let hints = parse(sql, &Model::default()).unwrap();
        assert_eq!(
            hints,
            vec![
                Rename::Table {
                    from: QName::new("shop", "clients"),
                    to: QName::new("shop", "customers")
                },
                Rename::Column {
                    table: QName::new("shop", "customers"),
                    from: "mail".into(),
                    to: "Email".into()
                },
            ]
        );
    }

    #[test]
    fn enum_value_hints() {
        let sql = "CREATE TYPE shop.status AS ENUM (\n\
                     'new',\n\
                     -- pgalign:renamed-from 'pending'\n\
                     'wait''ing',\n\
                     'paid'\n\
                   );\n";
        assert_eq!(
            parse(sql, &Model::default()).unwrap(),
            vec![Rename::EnumValue {
                type_name: QName::new("shop", "status"),
                from: "pending".into(),
                to: "wait'ing".into()
            }]
        );
        let bare =
            "CREATE TYPE shop.status AS ENUM (\n-- pgalign:renamed-from pending\n'waiting');\n";
        assert!(
            parse(bare, &Model::default())
                .unwrap_err()
                .contains("string literal")
        );
        let outside = "CREATE TABLE t (\n-- pgalign:renamed-from 'a'\n'b' text);\n";
        assert!(
            parse(outside, &Model::default())
                .unwrap_err()
                .contains("inside CREATE TYPE")
        );
        let on_type = "CREATE TABLE t (a int);\n-- pgalign:renamed-from shop.old\nCREATE TYPE shop.status AS ENUM ('a');\n";
        assert!(
            parse(on_type, &Model::default())
                .unwrap_err()
                .contains("not supported")
        );
    }

    #[test]
    fn a_dangling_hint_is_an_error() {
        assert!(parse("-- pgalign:renamed-from x\n", &Model::default()).is_err());
    }
}
