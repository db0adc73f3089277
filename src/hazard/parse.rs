//! Statements of a SQL file, cut and parsed by PostgreSQL's own grammar
//! (libpg_query). A statement the parser rejects is kept with its error: the
//! linter reports it as `opaque`, never drops it.

use super::prepass::{Prepared, prepare, skip_trivia};
use pg_query::NodeEnum;

/// One statement of the file.
#[derive(Debug, Clone)]
pub struct Piece {
    /// Byte offset of its first token in the prepared text.
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub sql: String,
    /// Comments between the previous statement and this one (suppressions).
    pub comments: Vec<String>,
    pub node: Result<NodeEnum, String>,
}

/// Cuts and parses every statement of `text` (already decoded).
pub fn parse_file(text: &str) -> (Prepared, Vec<Piece>) {
    let prepared = prepare(text);
    let nl = newlines(&prepared.sql);
    let pieces = match parse_guarded(&prepared.sql) {
        Ok(stmts) => {
            let mut prev_end = 0;
            stmts
                .into_iter()
                .filter_map(|(loc, len, node)| {
                    let end = if len == 0 {
                        prepared.sql.len()
                    } else {
                        loc + len
                    };
                    let from = prev_end.min(loc);
                    prev_end = end;
                    piece(&prepared, &nl, from, end, Ok(node))
                })
                .collect()
        }
        Err(_) => split_and_parse(&prepared, &nl),
    };
    (prepared, pieces)
}

/// Parses with libpg_query; a panic inside the binding becomes an error.
fn parse_guarded(sql: &str) -> Result<Vec<(usize, usize, NodeEnum)>, String> {
    let sql = sql.to_string();
    let result = std::panic::catch_unwind(move || pg_query::parse(&sql, 0));
    match result {
        Ok(Ok(parsed)) => Ok(parsed
            .protobuf
            .stmts
            .into_iter()
            .filter_map(|raw| {
                let node = raw.stmt?.node?;
                Some((
                    raw.stmt_location.max(0) as usize,
                    raw.stmt_len.max(0) as usize,
                    node,
                ))
            })
            .collect()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the parser failed on this statement".to_string()),
    }
}

/// The whole file does not parse: cut at top-level semicolons, parse each part,
/// and join parts that only parse together (`BEGIN ATOMIC … END` bodies).
fn split_and_parse(p: &Prepared, nl: &[usize]) -> Vec<Piece> {
    let mut bounds = Vec::new();
    let mut from = 0;
    for &semi in &p.semicolons {
        bounds.push((from, semi));
        from = semi + 1;
    }
    bounds.push((from, p.sql.len()));
    let mut out = Vec::new();
    let mut k = 0;
    while k < bounds.len() {
        let (start, end) = bounds[k];
        if skip_trivia(&p.sql[start..end]).is_empty() {
            k += 1;
            continue;
        }
        let mut result = parse_one(&p.sql[start..end]);
        let mut used = 1;
        if let Err(e) = &result
            && e.contains("end of input")
        {
            for extra in 1..=64.min(bounds.len() - k - 1) {
                let e2 = bounds[k + extra].1;
                if let Ok(node) = parse_one(&p.sql[start..e2]) {
                    result = Ok(node);
                    used = extra + 1;
                    break;
                }
            }
        }
        let end = bounds[k + used - 1].1;
        out.extend(piece(p, nl, start, end, result));
        k += used;
    }
    out
}

fn parse_one(sql: &str) -> Result<NodeEnum, String> {
    let mut stmts = parse_guarded(sql)?;
    match stmts.len() {
        1 => Ok(stmts.remove(0).2),
        0 => Err("no statement".into()),
        _ => Err("more than one statement".into()),
    }
}

/// Builds a piece from a byte range: skips leading trivia (keeping comments).
/// Byte offsets of the line feeds of `sql`: a statement's line is a binary
/// search, not a count from the file's start (quadratic in a 3,000-statement plan).
fn newlines(sql: &str) -> Vec<usize> {
    sql.bytes()
        .enumerate()
        .filter(|(_, b)| *b == b'\n')
        .map(|(i, _)| i)
        .collect()
}

fn piece(
    p: &Prepared,
    nl: &[usize],
    from: usize,
    end: usize,
    node: Result<NodeEnum, String>,
) -> Option<Piece> {
    let slice = p.sql.get(from..end)?;
    let body = skip_trivia(slice.trim_start_matches(|c: char| c == ';' || c.is_whitespace()));
    if body.is_empty() {
        return None;
    }
    let start = end - body.len();
    let comments = collect_comments(
        p.sql[from..start].trim_start_matches(|c: char| c == ';' || c.is_whitespace()),
    );
    let sql = p.text[start..end]
        .trim_end()
        .trim_end_matches(';')
        .trim_end()
        .to_string();
    let line = 1 + nl.partition_point(|&at| at < start);
    let line_start = p.sql[..start].rfind('\n').map(|x| x + 1).unwrap_or(0);
    let column = p.sql[line_start..start].chars().count() + 1;
    Some(Piece {
        start,
        end,
        line,
        column,
        sql,
        comments,
        node,
    })
}

/// The `--` and `/* */` comments of a stretch of trivia, without their markers.
fn collect_comments(trivia: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = trivia;
    loop {
        let t = s.trim_start();
        if let Some(rest) = t.strip_prefix("--") {
            let end = rest.find('\n').unwrap_or(rest.len());
            out.push(rest[..end].trim().to_string());
            s = &rest[end..];
        } else if let Some(rest) = t.strip_prefix("/*") {
            let end = rest.find("*/").unwrap_or(rest.len());
            out.push(rest[..end].trim().to_string());
            s = rest.get(end + 2..).unwrap_or("");
        } else {
            return out;
        }
    }
}

/// Whether the PL/pgSQL body of a `CREATE FUNCTION … LANGUAGE plpgsql` parses.
/// `Err` carries the parser's message (upstream cannot parse some trigger bodies).
pub fn check_plpgsql(sql: &str) -> Result<(), String> {
    let sql = sql.to_string();
    match std::panic::catch_unwind(move || pg_query::parse_plpgsql(&sql)) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the PL/pgSQL parser failed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_comments_come_with_each_statement() {
        let (_, ps) =
            parse_file("-- hello\nSELECT 1;\n\n/* c */ -- pgalign:allow lock ok\nDROP TABLE t;\n");
        assert_eq!(ps.len(), 2);
        assert_eq!((ps[0].line, ps[1].line), (2, 5));
        assert_eq!(ps[1].sql, "DROP TABLE t");
        assert_eq!(ps[1].comments, vec!["c", "pgalign:allow lock ok"]);
    }

    #[test]
    fn an_unparsable_statement_is_kept_with_its_line() {
        let (_, ps) = parse_file("SELECT 1;\nSELEKT 2;\nCREATE TABLE x (a int);\n");
        assert_eq!(ps.len(), 3);
        assert!(ps[1].node.is_err());
        assert_eq!(ps[1].line, 2);
        assert!(ps[2].node.is_ok());
    }

    #[test]
    fn begin_atomic_bodies_are_joined() {
        let sql = "SELEKT;\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\nSELECT 3;";
        let (_, ps) = parse_file(sql);
        assert_eq!(ps.len(), 3, "{ps:?}");
        assert!(ps[1].node.is_ok());
    }
}
