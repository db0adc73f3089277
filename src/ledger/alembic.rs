//! Alembic's expected head(s), read from a migrations directory's revision
//! files without Python: each file's `revision = '…'` and `down_revision =
//! …` (None, a string, or a tuple/list of strings for a merge revision; both
//! quote styles; type-annotated forms such as `revision: str = "…"`).

use anyhow::{Context, Result, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One revision file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub file: PathBuf,
    pub revision: String,
    pub down: Vec<String>,
}

/// The revision files of `dir` (its `versions/` folder when it has one).
pub fn read_dir(dir: &Path) -> Result<Vec<Revision>> {
    let versions = if dir.join("versions").is_dir() {
        dir.join("versions")
    } else {
        dir.to_path_buf()
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&versions)
        .with_context(|| format!("reading the alembic directory {}", versions.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "py")
                && p.is_file()
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("__"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        bail!(
            "alembic directory {} holds no revision files (*.py)",
            versions.display()
        );
    }
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)
            .with_context(|| format!("reading alembic revision file {}", f.display()))?;
        out.push(parse_revision(&text, &f)?);
    }
    Ok(out)
}

/// The head revisions of `dir`: exactly one, or an error naming them.
pub fn head(dir: &Path) -> Result<String> {
    let revs = read_dir(dir)?;
    let heads = heads(&revs)?;
    match heads.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "alembic directory {} has no head (its revisions form a cycle)",
            dir.display()
        ),
        many => bail!(
            "alembic directory {} has {} heads ({}): merge them (`alembic merge heads`) before aligning",
            dir.display(),
            many.len(),
            many.join(", ")
        ),
    }
}

/// The revisions no other revision names as its `down_revision`, in name order.
pub fn heads(revs: &[Revision]) -> Result<Vec<String>> {
    let mut by_id: BTreeMap<&str, &Revision> = BTreeMap::new();
    for r in revs {
        if let Some(other) = by_id.insert(&r.revision, r) {
            bail!(
                "alembic revision {} is defined twice: {} and {}",
                r.revision,
                other.file.display(),
                r.file.display()
            );
        }
    }
    let mut downs = BTreeSet::new();
    for r in revs {
        for d in &r.down {
            if !by_id.contains_key(d.as_str()) {
                bail!(
                    "{}: down_revision {d} names no revision file of the directory",
                    r.file.display()
                );
            }
            downs.insert(d.as_str());
        }
    }
    Ok(by_id
        .keys()
        .filter(|id| !downs.contains(**id))
        .map(|s| s.to_string())
        .collect())
}

/// Parses one revision file's `revision` and `down_revision` assignments.
pub fn parse_revision(text: &str, file: &Path) -> Result<Revision> {
    let mut revision = None;
    let mut down = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let at = i + 1;
        i += 1;
        let Some((name, value)) = assignment(line) else {
            continue;
        };
        if name != "revision" && name != "down_revision" {
            continue;
        }
        // A tuple or list may span lines up to its closing bracket.
        let mut value = strip_comment(value).trim().to_string();
        if value.starts_with('(') || value.starts_with('[') {
            let close = if value.starts_with('(') { ')' } else { ']' };
            while !value.ends_with(close) && i < lines.len() {
                value.push(' ');
                value.push_str(strip_comment(lines[i]).trim());
                i += 1;
            }
        }
        let parsed = parse_value(&value).map_err(|e| {
            anyhow::anyhow!(
                "{}:{at}: cannot read `{name}` ({e}): expected a quoted string, None, or a tuple of quoted strings",
                file.display()
            )
        })?;
        if name == "revision" {
            match parsed.as_slice() {
                [one] => revision = Some(one.clone()),
                _ => bail!(
                    "{}:{at}: `revision` must be one quoted string",
                    file.display()
                ),
            }
        } else {
            down = Some(parsed);
        }
    }
    let Some(revision) = revision else {
        bail!(
            "{}:1: no `revision = '…'` line: not an alembic revision file",
            file.display()
        );
    };
    Ok(Revision {
        file: file.to_path_buf(),
        revision,
        down: down.unwrap_or_default(),
    })
}

/// `name = value` or `name: Type = value` at the start of a line.
fn assignment(line: &str) -> Option<(&str, &str)> {
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    let end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(line.len());
    let name = &line[..end];
    let rest = line[end..].trim_start();
    let rest = if let Some(ann) = rest.strip_prefix(':') {
        // The annotation ends at the first `=` outside brackets.
        let mut depth = 0i32;
        let mut eq = None;
        for (k, c) in ann.char_indices() {
            match c {
                '[' | '(' => depth += 1,
                ']' | ')' => depth -= 1,
                '=' if depth == 0 => {
                    eq = Some(k);
                    break;
                }
                _ => {}
            }
        }
        &ann[eq?..]
    } else {
        rest
    };
    let value = rest.strip_prefix('=')?;
    if value.starts_with('=') {
        return None;
    }
    Some((name, value.trim()))
}

/// Drops a trailing `# comment` outside quotes.
fn strip_comment(s: &str) -> &str {
    let mut quote = None;
    for (k, c) in s.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') => return &s[..k],
            _ => {}
        }
    }
    s
}

/// `None`, `'x'`, `"x"`, `('a', 'b')`, `["a", "b"]`, `('a',)`.
fn parse_value(v: &str) -> std::result::Result<Vec<String>, String> {
    if v == "None" {
        return Ok(vec![]);
    }
    let inner =
        if (v.starts_with('(') && v.ends_with(')')) || (v.starts_with('[') && v.ends_with(']')) {
            &v[1..v.len() - 1]
        } else {
            return Ok(vec![string(v)?]);
        };
    let mut out = Vec::new();
    for part in inner.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        out.push(string(part)?);
    }
    Ok(out)
}

fn string(v: &str) -> std::result::Result<String, String> {
    let q = v.chars().next().ok_or("an empty value")?;
    if (q == '\'' || q == '"') && v.len() >= 2 && v.ends_with(q) {
        let s = &v[1..v.len() - 1];
        if s.contains(q) || s.contains('\\') || s.is_empty() {
            return Err(format!("unexpected characters in {v}"));
        }
        return Ok(s.to_string());
    }
    Err(format!("`{v}` is not a quoted string"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(text: &str) -> Result<Revision> {
        parse_revision(text, Path::new("versions/x.py"))
    }

    #[test]
    fn reads_plain_annotated_and_merge_forms() {
        let r = rev("\"\"\"doc\"\"\"\nrevision = 'abc'\ndown_revision = None\n").unwrap();
        assert_eq!((r.revision.as_str(), r.down.len()), ("abc", 0));
        let r = rev(
            "revision: str = \"m1\"\ndown_revision: Union[str, Sequence[str], None] = (\n    'a',\n    \"b\",  # two parents\n)\nbranch_labels = None\n",
        )
        .unwrap();
        assert_eq!(r.revision, "m1");
        assert_eq!(r.down, vec!["a", "b"]);
        let r = rev("revision = \"c\"  # the id\ndown_revision = 'b'\n").unwrap();
        assert_eq!(r.down, vec!["b"]);
    }

    #[test]
    fn an_unreadable_assignment_names_file_and_line() {
        let e = rev("import x\nrevision = make_id()\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("versions/x.py:2: cannot read `revision`"),
            "{e}"
        );
        let e = rev("import x\n").unwrap_err().to_string();
        assert!(e.contains("no `revision = '…'` line"), "{e}");
    }

    #[test]
    fn heads_are_the_revisions_nobody_descends_from() {
        let mk = |r: &str, d: &[&str]| Revision {
            file: PathBuf::from(format!("{r}.py")),
            revision: r.into(),
            down: d.iter().map(|s| s.to_string()).collect(),
        };
        let linear = [mk("a", &[]), mk("b", &["a"]), mk("c", &["b"])];
        assert_eq!(heads(&linear).unwrap(), vec!["c"]);
        let forked = [mk("a", &[]), mk("b", &["a"]), mk("c", &["a"])];
        assert_eq!(heads(&forked).unwrap(), vec!["b", "c"]);
        let merged = [
            mk("a", &[]),
            mk("b", &["a"]),
            mk("c", &["a"]),
            mk("m", &["b", "c"]),
        ];
        assert_eq!(heads(&merged).unwrap(), vec!["m"]);
        let dangling = [mk("b", &["zzz"])];
        assert!(heads(&dangling).unwrap_err().to_string().contains("zzz"));
    }
}
