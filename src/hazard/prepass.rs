//! What psql accepts but the server grammar does not: a UTF-8 BOM, CRLF line
//! ends, psql meta-commands and `COPY … FROM stdin` data. The pre-pass blanks
//! them with spaces, so byte offsets and line numbers of the SQL stay exact.
//!
//! The same pass tells the loader of desired files which meta-commands psql
//! would run (`psql_meta`), so it must find every backslash psql acts on: it
//! also records where COPY data starts and the string literals psql could
//! read differently (with `standard_conforming_strings` off, or a client
//! encoding whose two-byte characters can end in a backslash).

use anyhow::{Result, bail};

/// A psql meta-command found (and blanked) by the pre-pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCommand {
    pub line: usize,
    pub offset: usize,
    pub text: String,
}

/// The file's text as the parser sees it.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The text after BOM and CRLF handling (what statements are cut from).
    pub text: String,
    /// Same length as `text`, with meta-commands and COPY data blanked.
    pub sql: String,
    pub meta: Vec<MetaCommand>,
    /// Byte offsets of top-level `;` (outside quotes, comments and parentheses).
    pub semicolons: Vec<usize>,
    /// Byte offsets where `COPY … FROM stdin` data starts (blanked in `sql`).
    pub copies: Vec<usize>,
    /// Byte offsets of string literals whose end psql could see elsewhere:
    /// a backslash right before a quote in a plain `'…'` string (psql reads it
    /// as an escape when `standard_conforming_strings` is off), or a backslash
    /// right after a non-ASCII byte (in SJIS, BIG5, GBK… that byte and the
    /// backslash are one character).
    pub ambiguous: Vec<usize>,
}

/// Decodes a file's bytes: strips a UTF-8 BOM, turns CRLF into LF, and refuses
/// non-UTF-8 input and NUL bytes with the line where they occur.
pub fn decode(bytes: &[u8], name: &str) -> Result<String> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        bail!("{name} is UTF-16 encoded; convert it to UTF-8 (iconv -f UTF-16 -t UTF-8)");
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.valid_up_to();
            let line = line_of(&bytes[..at], at);
            bail!(
                "{name} is not valid UTF-8 (line {line}, byte {at}); convert it, e.g. iconv -f LATIN1 -t UTF-8"
            );
        }
    };
    if let Some(at) = text.find('\0') {
        bail!(
            "{name} contains a NUL byte at line {}",
            line_of(text.as_bytes(), at)
        );
    }
    Ok(text.replace("\r\n", "\n"))
}

/// 1-based line of byte `offset` in `bytes`.
pub fn line_of(bytes: &[u8], offset: usize) -> usize {
    1 + bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Normal,
    Quote { escapes: bool },
    Ident,
    LineComment,
    Block(u32),
}

/// Blanks psql meta-commands and COPY data; records top-level semicolons.
pub fn prepare(text: &str) -> Prepared {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut meta = Vec::new();
    let mut semicolons = Vec::new();
    let mut copies = Vec::new();
    let mut ambiguous = Vec::new();
    let mut state = State::Normal;
    let mut depth = 0i32;
    let mut stmt_start = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let c = b[i];
        match state {
            State::Normal => match c {
                b'\'' => {
                    let e =
                        i > 0 && matches!(b[i - 1], b'e' | b'E') && (i < 2 || !is_ident(b[i - 2]));
                    let end = string_end(b, i, e);
                    if (!e && end != string_end(b, i, true))
                        || (i + 1..end.min(b.len())).any(|k| b[k] == b'\\' && b[k - 1] >= 0x80)
                    {
                        ambiguous.push(i);
                    }
                    state = State::Quote { escapes: e };
                }
                b'"' => state = State::Ident,
                b'-' if b.get(i + 1) == Some(&b'-') => state = State::LineComment,
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    state = State::Block(1);
                    i += 1;
                }
                b'$' if i == 0 || !is_ident(b[i - 1]) => {
                    if let Some(tag_len) = dollar_tag(&b[i..]) {
                        let tag = &b[i..i + tag_len];
                        let body = i + tag_len;
                        let end = find(&b[body..], tag)
                            .map(|p| body + p + tag_len)
                            .unwrap_or(b.len());
                        i = end;
                        continue;
                    }
                }
                b'(' => depth += 1,
                b')' => depth -= 1,
                b';' if depth <= 0 => {
                    depth = 0;
                    semicolons.push(i);
                    if is_copy_from_stdin(&text[stmt_start..i]) {
                        copies.push(i + 1);
                        i = blank_copy_data(b, &mut out, i + 1);
                        stmt_start = i;
                        continue;
                    }
                    stmt_start = i + 1;
                }
                b'\\' => {
                    let end = b[i..]
                        .iter()
                        .position(|&x| x == b'\n')
                        .map(|p| i + p)
                        .unwrap_or(b.len());
                    let cmd = text[i..end].trim_end().to_string();
                    for o in out.iter_mut().take(end).skip(i) {
                        *o = b' ';
                    }
                    // `\g` and `\gexec` end the statement like `;`.
                    if cmd.starts_with("\\g") {
                        out[i] = b';';
                        semicolons.push(i);
                        stmt_start = end;
                        depth = 0;
                    } else if skip_trivia(&text[stmt_start..i]).is_empty() {
                        stmt_start = end;
                    }
                    meta.push(MetaCommand {
                        line: line_of(b, i),
                        offset: i,
                        text: cmd,
                    });
                    i = end;
                    continue;
                }
                _ => {}
            },
            State::Quote { escapes } => {
                if escapes && c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    state = State::Normal;
                }
            }
            State::Ident => {
                if c == b'"' {
                    state = State::Normal;
                }
            }
            State::LineComment => {
                if c == b'\n' {
                    state = State::Normal;
                }
            }
            State::Block(d) => {
                if c == b'*' && b.get(i + 1) == Some(&b'/') {
                    state = if d == 1 {
                        State::Normal
                    } else {
                        State::Block(d - 1)
                    };
                    i += 1;
                } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
                    state = State::Block(d + 1);
                    i += 1;
                }
            }
        }
        i += 1;
    }
    let sql = String::from_utf8(out).unwrap_or_else(|_| text.to_string());
    Prepared {
        text: text.to_string(),
        sql,
        meta,
        semicolons,
        copies,
        ambiguous,
    }
}

/// Offset of the quote that closes the string literal opened at `open`
/// (`b.len()` when it is never closed), read with or without backslash escapes.
fn string_end(b: &[u8], open: usize, escapes: bool) -> usize {
    let mut k = open + 1;
    while k < b.len() {
        match b[k] {
            b'\\' if escapes => k += 1,
            b'\'' if b.get(k + 1) == Some(&b'\'') => k += 1,
            b'\'' => return k,
            _ => {}
        }
        k += 1;
    }
    b.len()
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Length of a `$tag$` opener at the start of `b`, if it is one.
fn dollar_tag(b: &[u8]) -> Option<usize> {
    let mut j = 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
        if j == 1 && b[j].is_ascii_digit() {
            return None; // $1 is a parameter
        }
        j += 1;
    }
    (b.get(j) == Some(&b'$')).then_some(j + 1)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Skips leading whitespace and comments of `s`; returns the rest.
pub fn skip_trivia(s: &str) -> &str {
    let mut s = s;
    loop {
        let t = s.trim_start();
        if let Some(rest) = t.strip_prefix("--") {
            s = rest.find('\n').map(|p| &rest[p..]).unwrap_or("");
        } else if t.starts_with("/*") {
            let mut depth = 0;
            let bytes = t.as_bytes();
            let mut k = 0;
            while k + 1 < bytes.len() {
                if &bytes[k..k + 2] == b"/*" {
                    depth += 1;
                    k += 2;
                } else if &bytes[k..k + 2] == b"*/" {
                    depth -= 1;
                    k += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    k += 1;
                }
            }
            s = t.get(k.max(2).min(t.len())..).unwrap_or("");
            if depth != 0 {
                return "";
            }
        } else {
            return t;
        }
    }
}

/// Whether a statement is `COPY … FROM STDIN`, the one statement after which
/// psql reads the following lines as data: `FROM` and `STDIN` as keywords of
/// the statement itself, not inside parentheses, strings or comments (`COPY
/// (SELECT 'from stdin') TO stdout` is not one, and psql reads on as input).
fn is_copy_from_stdin(stmt: &str) -> bool {
    let words = top_level_words(stmt);
    words.first().map(String::as_str) == Some("copy")
        && words.windows(2).any(|w| w[0] == "from" && w[1] == "stdin")
}

/// The lowercased words of `stmt` outside parentheses; every string, quoted
/// identifier or dollar-quoted body counts as one word `'`.
pub(crate) fn top_level_words(stmt: &str) -> Vec<String> {
    let b = stmt.as_bytes();
    let mut words = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = find(&b[i..], b"\n").map_or(b.len(), |p| i + p);
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let rest = skip_trivia(&stmt[i..]);
            i = b.len() - rest.len();
        } else if c == b'\'' || c == b'"' {
            let escapes = c == b'\'' && i > 0 && matches!(b[i - 1], b'e' | b'E');
            i = if c == b'"' {
                find(&b[i + 1..], b"\"").map_or(b.len(), |p| i + 1 + p)
            } else {
                string_end(b, i, escapes)
            } + 1;
            if depth == 0 {
                words.push("'".to_string());
            }
        } else if c == b'$' && dollar_tag(&b[i..]).is_some() {
            let tag = &b[i..i + dollar_tag(&b[i..]).unwrap_or(1)];
            let body = i + tag.len();
            i = find(&b[body..], tag).map_or(b.len(), |p| body + p + tag.len());
            if depth == 0 {
                words.push("'".to_string());
            }
        } else if is_ident(c) {
            let start = i;
            while i < b.len() && (is_ident(b[i]) || b[i] == b'$') {
                i += 1;
            }
            if depth == 0 {
                words.push(stmt[start..i].to_ascii_lowercase());
            }
        } else {
            match c {
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            }
            i += 1;
        }
    }
    words
}

/// Blanks COPY data from the line after `from` up to and including the `\.` line.
fn blank_copy_data(b: &[u8], out: &mut [u8], from: usize) -> usize {
    let Some(nl) = b[from..].iter().position(|&x| x == b'\n') else {
        return b.len();
    };
    let mut i = from + nl + 1;
    while i < b.len() {
        let end = b[i..]
            .iter()
            .position(|&x| x == b'\n')
            .map(|p| i + p)
            .unwrap_or(b.len());
        let line_is_end = &b[i..end] == b"\\.";
        for o in out.iter_mut().take(end).skip(i) {
            *o = b' ';
        }
        i = end + 1;
        if line_is_end {
            break;
        }
    }
    i.min(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_and_bad_bytes() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFSELECT 1;\r\n", "f.sql").unwrap(),
            "SELECT 1;\n"
        );
        let err = decode(b"SELECT 1;\nSELECT '\xE9';\n", "f.sql")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid UTF-8 (line 2"), "{err}");
        assert!(decode(b"SELECT\0", "f.sql").is_err());
    }

    #[test]
    fn meta_commands_and_copy_data_are_blanked_in_place() {
        let text = "\\set ON_ERROR_STOP 1\nCOPY t (a) FROM stdin;\n1\n2\n\\.\nSELECT 'a;\\';\n";
        let p = prepare(text);
        assert_eq!(p.sql.len(), text.len());
        assert_eq!(p.meta.len(), 1);
        assert!(!p.sql.contains("ON_ERROR_STOP") && !p.sql.contains("\\."));
        assert!(p.sql.contains("COPY t (a) FROM stdin;") && p.sql.contains("SELECT 'a;\\';"));
        assert_eq!(p.semicolons.len(), 2);
        assert_eq!(p.copies, vec![text.find("1\n2").unwrap() - 1]);
        // `\g` ends a statement (this used to slice backwards and panic).
        let p = prepare("SELECT 1 \\g |cat\nSELECT 2;\n");
        assert_eq!(p.semicolons.len(), 2);
        assert_eq!(p.meta[0].text, "\\g |cat");
    }

    #[test]
    fn only_a_real_copy_from_stdin_hides_the_lines_after_it() {
        for not_copy in [
            "COPY (SELECT 'from stdin') TO stdout;\n\\! id\n",
            "COPY t FROM 'stdin';\n\\! id\n",
            "COPY t FROM stdin_file;\n\\! id\n",
            "SELECT 'copy t from stdin';\n\\! id\n",
        ] {
            let p = prepare(not_copy);
            assert!(p.copies.is_empty(), "{not_copy}");
            assert_eq!(p.meta.len(), 1, "{not_copy}");
        }
        for copy in [
            "COPY t (a, b) FROM STDIN;\n1\t2\n\\.\n",
            "copy public.t from /* here */ stdin with (format csv);\n1,2\n\\.\n",
        ] {
            let p = prepare(copy);
            assert_eq!(p.copies.len(), 1, "{copy}");
            assert!(p.meta.is_empty(), "{copy}");
        }
    }

    #[test]
    fn strings_psql_could_end_elsewhere_are_recorded() {
        // With standard_conforming_strings off, psql reads `\'` as an escaped
        // quote and would see `\! id` outside of any string.
        let p = prepare("SELECT 'a\\' '  \\! id  ';\n");
        assert_eq!(p.ambiguous, vec![7]);
        assert!(p.meta.is_empty());
        // In SJIS, 0x81 and the backslash after it are one character.
        assert_eq!(prepare("SELECT E'\u{c1}\\' x';").ambiguous, vec![8]);
        for fine in [
            "SELECT 'C:\\dir\\x', E'it\\'s', 'a''b', '\u{e9} \\\\';",
            "SELECT 1;",
        ] {
            assert!(prepare(fine).ambiguous.is_empty(), "{fine}");
        }
    }

    #[test]
    fn semicolons_inside_bodies_quotes_and_comments_do_not_split() {
        let p = prepare(
            "DO $x$ BEGIN; END $x$; /* a; /* b; */ c; */ SELECT E'\\';', \"q;\" ; SELECT $$;$$;",
        );
        assert_eq!(p.semicolons.len(), 3);
    }
}
