//! The data statements of a desired source (DESIGN.md §7): every statement
//! that writes rows (`INSERT`, `UPDATE`, `DELETE`, `MERGE`, `COPY … FROM`,
//! `TRUNCATE`) or moves a sequence (`SELECT setval(…)`), with its file and
//! line. The schema comparison carries none of them; those that fill a
//! migration ledger are carried as ledger rows, the others are listed as not
//! planned.

use crate::hazard::parse::parse_file;
use pg_query::NodeEnum;

/// One data statement of a desired source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataStatement {
    /// Where it was read: a file's path, or "the desired-schema command's output".
    pub file: String,
    pub line: usize,
    /// `insert`, `update`, `delete`, `merge`, `copy`, `truncate`, `setval`.
    pub verb: &'static str,
    /// The table written, as written (`schema` empty when unqualified).
    pub schema: String,
    pub table: String,
    /// For an `INSERT`/`COPY`: the columns named (empty: all of them).
    pub columns: Vec<String>,
    /// The statement's first line, shortened.
    pub excerpt: String,
}

impl DataStatement {
    /// `db/init/004.sql:31: INSERT INTO cm.seed …`
    pub fn line_text(&self) -> String {
        format!("{}:{}: {}", self.file, self.line, self.excerpt)
    }
}

/// The data statements of one SQL text (already decoded), named `file`.
pub fn scan(text: &str, file: &str) -> Vec<DataStatement> {
    let (_, pieces) = parse_file(text);
    let mut out = Vec::new();
    for p in pieces {
        let Ok(node) = &p.node else { continue };
        let (verb, rel, columns): (
            &'static str,
            Option<&pg_query::protobuf::RangeVar>,
            Vec<String>,
        ) = match node {
            NodeEnum::InsertStmt(s) => ("insert", s.relation.as_ref(), names(&s.cols)),
            NodeEnum::UpdateStmt(s) => ("update", s.relation.as_ref(), vec![]),
            NodeEnum::DeleteStmt(s) => ("delete", s.relation.as_ref(), vec![]),
            NodeEnum::MergeStmt(s) => ("merge", s.relation.as_ref(), vec![]),
            NodeEnum::CopyStmt(s) if s.is_from => ("copy", s.relation.as_ref(), names(&s.attlist)),
            NodeEnum::TruncateStmt(s) => {
                let first = s.relations.iter().find_map(|n| match &n.node {
                    Some(NodeEnum::RangeVar(r)) => Some(r),
                    _ => None,
                });
                ("truncate", first, vec![])
            }
            NodeEnum::SelectStmt(_) if calls_setval(&p.sql) => ("setval", None, vec![]),
            _ => continue,
        };
        out.push(DataStatement {
            file: file.to_string(),
            line: p.line,
            verb,
            schema: rel.map(|r| r.schemaname.clone()).unwrap_or_default(),
            table: rel.map(|r| r.relname.clone()).unwrap_or_default(),
            columns,
            excerpt: excerpt(&p.sql),
        });
    }
    out
}

fn names(cols: &[pg_query::protobuf::Node]) -> Vec<String> {
    cols.iter()
        .filter_map(|n| match &n.node {
            Some(NodeEnum::ResTarget(t)) => Some(t.name.clone()),
            Some(NodeEnum::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect()
}

/// `SELECT setval(…)` / `pg_catalog.setval(…)`: a sequence's position, which
/// the schema comparison does not carry.
fn calls_setval(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    lower.contains("setval(") || lower.contains("setval (")
}

/// The statement on one line, at most 80 characters, control characters escaped.
fn excerpt(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one.chars().take(80).collect();
    if cut.len() < one.len() {
        cut.push('…');
    }
    crate::util::printable(&cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_data_statements_with_lines_and_skips_ddl() {
        let sql = "CREATE TABLE t (a int);\n\
                   INSERT INTO cm.schema_version (version, description)\n  VALUES (4, 'x');\n\
                   UPDATE t SET a = 1 WHERE a IS NULL;\n\
                   SELECT pg_catalog.set_config('search_path', '', false);\n\
                   SELECT pg_catalog.setval('t_a_seq', 42, true);\n\
                   COPY t (a) FROM stdin;\n1\n\\.\n\
                   DELETE FROM t;\n";
        let found = scan(sql, "d.sql");
        let got: Vec<(&str, usize, &str, &str)> = found
            .iter()
            .map(|d| (d.verb, d.line, d.schema.as_str(), d.table.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("insert", 2, "cm", "schema_version"),
                ("update", 4, "", "t"),
                ("setval", 6, "", ""),
                ("copy", 7, "", "t"),
                ("delete", 10, "", "t"),
            ]
        );
        assert_eq!(found[0].columns, vec!["version", "description"]);
        assert_eq!(
            found[0].line_text(),
            "d.sql:2: INSERT INTO cm.schema_version (version, description) VALUES (4, 'x')"
        );
    }
}
