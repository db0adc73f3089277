//! Which psql meta-commands a desired schema may hold (DESIGN.md §6: desired
//! files are data, not scripts). psql runs a desired file as root, or as the
//! operator, with production credentials at hand: `\! cmd`, `\o |cmd`,
//! `\copy … program`, backquotes, `\setenv`, `\connect` and their kin must never
//! run. Both the loader of desired files (`db::shadow`) and `lint` judge the
//! meta-commands the pre-pass finds with this one table, so they agree.
//!
//! The table is an allow-list: formatting, variables, conditionals and output
//! to nowhere are harmless; everything else, including commands this file does
//! not know, is refused. Two psql behaviours shape it:
//! - a variable's value is read again as input where `:name` appears (measured
//!   with psql 15: `\set x '\\! echo hi'` then `:x` runs `echo`), so `\set`
//!   values may hold no backslash and `\gset`/`\getenv`/`\prompt` (values from
//!   the server, the environment or the terminal) are refused;
//! - psql starts a new meta-command at a backslash on the same line
//!   (`\echo a \! id`): a line is split at every backslash, quoted or not, and
//!   each piece is judged, which can only ever find more commands than psql.

use super::prepass::{Prepared, line_of, top_level_words};

/// What loading a desired file with psql would do with one meta-command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Harmless: formatting, variables, conditionals, output to nowhere.
    Allowed,
    /// `\i` (relative to the working directory) or `\ir` (relative to the
    /// including file) of `path`: allowed for files inside the source directory.
    Include { path: String, relative: bool },
    /// Reaches the shell, the file system, the environment or another
    /// database; the reason, as a phrase.
    Refused(String),
}

/// Meta-commands with no effect outside psql's own output and state.
const HARMLESS: &[&str] = &[
    "echo",
    "qecho",
    "warn",
    "if",
    "elif",
    "else",
    "endif",
    "q",
    "quit",
    "r",
    "reset",
    "p",
    "print",
    "timing",
    "pset",
    "a",
    "C",
    "f",
    "H",
    "html",
    "t",
    "T",
    "x",
    "errverbose",
    "conninfo",
    "restrict",
    "unrestrict",
    "gexec",
    "gdesc",
    "crosstabview",
    "bind",
    "bind_named",
    "parse",
    "close",
    "close_prepared",
    "startpipeline",
    "endpipeline",
    "syncpipeline",
    "sendpipeline",
    "flushrequest",
    "flush",
    "getresults",
    "?",
    "h",
    "help",
    "copyright",
    "l",
    "list",
    "lo_list",
    "lo_unlink",
    "sf",
    "sv",
    "z",
];

/// The commands of one meta-command line as the pre-pass found it, split at
/// every backslash: `(name, arguments)`.
pub fn commands(line: &str) -> Vec<(&str, &str)> {
    line.split('\\')
        .skip(1)
        .map(|piece| {
            let end = piece.find(char::is_whitespace).unwrap_or(piece.len());
            (&piece[..end], piece[end..].trim())
        })
        .collect()
}

/// Judges one meta-command.
pub fn judge(name: &str, args: &str) -> Verdict {
    let refused = |why: &str| Verdict::Refused(why.to_string());
    if args.contains('`') {
        return refused("runs a shell command (text in backquotes)");
    }
    let first = args.split_whitespace().next().unwrap_or("");
    match name {
        "!" => refused("runs a shell command"),
        "o" | "out" | "g" | "gx" if args.is_empty() => Verdict::Allowed,
        "g" | "gx" if args.starts_with('(') && args.ends_with(')') => Verdict::Allowed,
        "o" | "out" | "g" | "gx" => refused("sends query output to a file or a shell command"),
        "w" | "write" | "s" => refused("writes a file"),
        "copy" => copy(args),
        "lo_import" | "lo_export" => refused("reads or writes a file on this machine"),
        "cd" => refused("changes psql's working directory"),
        "setenv" | "getenv" => refused("reads or changes the environment"),
        "e" | "edit" | "ef" | "ev" => refused("starts an editor"),
        "c" | "connect" => refused("connects to another database"),
        "gset" | "prompt" => refused(
            "sets psql variables from query results or the terminal, and psql runs the meta-commands a variable holds",
        ),
        "password" => refused("changes a password interactively"),
        "watch" => refused("repeats a query forever"),
        "i" | "include" => include(args, false),
        "ir" | "include_relative" => include(args, true),
        "set" | "unset" if first.contains(':') => refused("names its variable through another one"),
        "set" if first == "ON_ERROR_STOP" => {
            let value = args[first.len()..].trim().trim_matches('\'');
            if ["on", "true", "1", "yes"].contains(&value.to_ascii_lowercase().as_str()) {
                Verdict::Allowed
            } else {
                refused("would let psql go on after an error")
            }
        }
        "unset" if first == "ON_ERROR_STOP" => refused("would let psql go on after an error"),
        "set" | "unset" => Verdict::Allowed,
        "encoding" => {
            let e = args.trim_matches('\'').to_ascii_lowercase();
            if e.is_empty() || e == "utf8" || e == "utf-8" {
                Verdict::Allowed
            } else {
                refused("changes how psql reads the rest of the file")
            }
        }
        n if HARMLESS.contains(&n.trim_end_matches('+')) || is_describe(n) => Verdict::Allowed,
        "" => refused("is a backslash psql would read as a meta-command"),
        _ => refused("is not a meta-command a desired schema may run"),
    }
}

/// `\d`, `\dt+`, `\dfS`…: describe commands only read the catalog.
fn is_describe(name: &str) -> bool {
    name.starts_with('d') && name.chars().all(|c| c.is_ascii_alphabetic() || c == '+')
}

/// `\copy` only between a table and psql's own input or output.
fn copy(args: &str) -> Verdict {
    let words = top_level_words(args);
    let skip = usize::from(!args.starts_with('('));
    let target = words
        .iter()
        .skip(skip)
        .position(|w| w == "from" || w == "to")
        .and_then(|i| words.get(skip + i + 1));
    match target.map(String::as_str) {
        Some("stdin" | "stdout" | "pstdin" | "pstdout") => Verdict::Allowed,
        _ => Verdict::Refused("reads or writes a file, or runs a program, on this machine".into()),
    }
}

/// The file of `\i`/`\ir`, read as psql reads it, or refused where psql's
/// reading (quotes joined to words, `''`, `~`, variables) could differ from ours.
fn include(args: &str, relative: bool) -> Verdict {
    let refused = |why: &str| Verdict::Refused(why.to_string());
    let path = args.trim();
    let path = match path.strip_prefix('\'').and_then(|p| p.strip_suffix('\'')) {
        Some(inner) if !inner.contains('\'') => inner,
        _ if path.contains(['\'', '"']) => {
            return refused("quotes its file name in a way pgalign does not read");
        }
        _ => path,
    };
    if path.is_empty() {
        return refused("names no file");
    }
    if path.contains(':') {
        return refused("names its file through a psql variable");
    }
    if path.starts_with('~') {
        return refused("names a file in a home directory");
    }
    Verdict::Include {
        path: path.to_string(),
        relative,
    }
}

/// The first refused command of a meta-command line, as `` `\name` why``
/// (includes are not refused here: whether one is allowed depends on where the
/// file is, which only the loader knows).
pub fn refusal(line: &str) -> Option<String> {
    commands(line)
        .into_iter()
        .find_map(|(name, args)| match judge(name, args) {
            Verdict::Refused(why) => Some(format!("`\\{name}` {why}")),
            _ => None,
        })
}

/// Why a desired file cannot be loaded, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

/// A file a desired file includes, to be checked in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub line: usize,
    pub path: String,
    pub relative: bool,
    /// The meta-command as written.
    pub text: String,
}

/// Checks desired SQL (after the pre-pass) before psql reads any of it: the
/// first meta-command that may not run, or string literal or COPY data psql
/// could read differently from the pre-pass, is a problem; otherwise the
/// files it includes, for the loader to check.
pub fn check(p: &Prepared) -> Result<Vec<Include>, Problem> {
    let line = |offset: usize| line_of(p.text.as_bytes(), offset);
    if let Some(&at) = p.ambiguous.first() {
        return Err(Problem {
            line: line(at),
            message: "psql could read this string literal as ending elsewhere (a backslash right before a quote, or right after a non-ASCII character), which could hide a meta-command from pgalign; write the backslash differently (E'…' strings escape it as \\\\)".into(),
        });
    }
    let mut includes = Vec::new();
    let mut copies = p.copies.iter().peekable();
    let mut depth = 0usize;
    for m in &p.meta {
        while let Some(&at) = copies.next_if(|&&c| c < m.offset) {
            copy_in_branch(depth, line(at))?;
        }
        for (name, args) in commands(&m.text) {
            match judge(name, args) {
                Verdict::Refused(why) => {
                    return Err(Problem {
                        line: m.line,
                        message: format!(
                            "the psql meta-command `{}` is refused: `\\{name}` {why}, and desired schema files are loaded as data, not run as scripts (remove it)",
                            m.text
                        ),
                    });
                }
                Verdict::Include { path, relative } => includes.push(Include {
                    line: m.line,
                    path,
                    relative,
                    text: m.text.clone(),
                }),
                Verdict::Allowed => match name {
                    "if" => depth += 1,
                    "endif" => depth = depth.saturating_sub(1),
                    _ => {}
                },
            }
        }
    }
    for &at in copies {
        copy_in_branch(depth, line(at))?;
    }
    Ok(includes)
}

/// psql skips a COPY in a false `\if` branch and reads its data as input.
fn copy_in_branch(depth: usize, line: usize) -> Result<(), Problem> {
    if depth == 0 {
        return Ok(());
    }
    Err(Problem {
        line,
        message: "COPY … FROM stdin data inside \\if: in a false branch psql skips the COPY and reads its data lines as commands; move the COPY out of the \\if".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hazard::prepass::prepare;

    fn refused(line: &str) -> bool {
        refusal(line).is_some()
    }

    #[test]
    fn meta_commands_that_reach_the_shell_files_or_environment_are_refused() {
        for line in [
            "\\! touch /tmp/x",
            "\\o |cat",
            "\\o /tmp/out",
            "\\out /tmp/out",
            "\\g |sh",
            "\\g /tmp/out",
            "\\gx (format=csv) /tmp/out",
            "\\w /tmp/buffer",
            "\\s /tmp/history",
            "\\copy t from program 'id'",
            "\\copy t to '/tmp/t.csv'",
            "\\copy t from /etc/passwd",
            "\\copy (SELECT 1) TO PROGRAM 'sh'",
            "\\setenv PGPASSWORD x",
            "\\getenv p PGPASSWORD",
            "\\cd /",
            "\\lo_import /etc/shadow",
            "\\lo_export 1 /tmp/x",
            "\\c otherdb",
            "\\connect postgres",
            "\\e",
            "\\ef f",
            "\\gset",
            "\\prompt x",
            "\\watch 1",
            "\\echo `id`",
            "\\set x `id`",
            "\\set x '\\\\! id'",
            "\\echo a \\! id",
            "\\set ON_ERROR_STOP off",
            "\\set ON_ERROR_STOP :x",
            "\\unset ON_ERROR_STOP",
            "\\set :name on",
            "\\encoding SJIS",
            "\\; \\! id",
            "\\frobnicate",
            "\\",
        ] {
            assert!(refused(line), "{line} must be refused");
        }
    }

    #[test]
    fn harmless_meta_commands_keep_working() {
        for line in [
            "\\set ON_ERROR_STOP on",
            "\\set ON_ERROR_STOP 1",
            "\\set VERBOSITY verbose",
            "\\set x 42",
            "\\unset x",
            "\\echo loading the schema",
            "\\if :{?x}",
            "\\else",
            "\\endif",
            "\\restrict aBcD1234",
            "\\unrestrict aBcD1234",
            "\\pset format unaligned",
            "\\timing on",
            "\\dt+",
            "\\g",
            "\\gx (format=aligned)",
            "\\o",
            "\\gexec",
            "\\encoding UTF8",
            "\\copy t from stdin",
            "\\copy t (a, b) from pstdin with csv",
            "\\copy (SELECT 1) to stdout",
            "\\q",
        ] {
            assert_eq!(refusal(line), None, "{line}");
        }
        assert_eq!(
            judge("ir", "'parts/tables.sql'"),
            Verdict::Include {
                path: "parts/tables.sql".into(),
                relative: true
            }
        );
        for odd in [
            ":file",
            "\"x.sql\"",
            "'a'b.sql",
            "'it''s.sql'",
            "~/x.sql",
            "",
        ] {
            assert!(matches!(judge("i", odd), Verdict::Refused(_)), "{odd}");
        }
    }

    #[test]
    fn a_desired_file_is_checked_with_the_line_of_the_problem() {
        let p = prepare("CREATE TABLE t (a int);\n\\set x 1\n\\! touch /tmp/pwned\n");
        let e = check(&p).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.message.contains("`\\! touch /tmp/pwned`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("runs a shell command"), "{}", e.message);

        let p = prepare("\\i a.sql\n\\ir b.sql\nSELECT 1;\n");
        let inc = check(&p).unwrap();
        assert_eq!(inc.len(), 2);
        assert_eq!((inc[1].line, inc[1].relative), (2, true));

        // In a false branch psql skips the COPY and runs its "data".
        let p = prepare("\\if false\nCOPY t FROM stdin;\n\\endif\n\\! id\n\\.\n");
        assert_eq!(check(&p).unwrap_err().line, 2);
        let p = prepare("COPY t FROM stdin;\n\\N\t1\n\\.\n\\if true\n\\endif\n");
        assert_eq!(check(&p), Ok(vec![]));
        let p = prepare("SELECT 'a\\' '\\! id';\n");
        assert!(check(&p).unwrap_err().message.contains("string literal"));
    }
}
