//! The password file (`~/.pgpass`, `PGPASSFILE` or `passfile=`), read the way
//! libpq reads it: `hostname:port:database:username:password` lines, `*` as a
//! whole field matches anything, `\:` and `\\` escape, `#` starts a comment.
//!
//! Like libpq, a file that is group- or world-accessible (or not a plain file) is
//! ignored with a warning: a password file others can read is not a secret.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What a lookup found: the password, if any line matched, and a warning when
/// the file was ignored.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    pub password: Option<String>,
    pub warning: Option<String>,
}

/// The connection a password is wanted for. `host` is the host as given (a
/// socket directory counts as `localhost` when it is a default one, as in libpq).
pub struct Target<'a> {
    pub host: &'a str,
    pub port: u16,
    pub dbname: &'a str,
    pub user: &'a str,
}

/// Looks up the password for `target` in `file`. A missing file is no error.
pub fn lookup(file: &Path, target: &Target) -> Lookup {
    let Ok(meta) = std::fs::metadata(file) else {
        return Lookup::default();
    };
    let shown = file.display();
    if !meta.is_file() {
        return Lookup {
            password: None,
            warning: Some(format!(
                "password file {shown} is not a plain file; it is ignored"
            )),
        };
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Lookup {
            password: None,
            warning: Some(format!(
                "password file {shown} has group or world access and is ignored, as libpq does; \
                 permissions should be u=rw (0600) or less (chmod 600 {shown})"
            )),
        };
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return Lookup {
            password: None,
            warning: Some(format!(
                "password file {shown} could not be read; it is ignored"
            )),
        };
    };
    Lookup {
        password: find(&text, target),
        warning: None,
    }
}

/// The password of the first line matching `target`.
pub fn find(text: &str, target: &Target) -> Option<String> {
    let host = match target.host {
        "" => "localhost",
        h if is_default_socket_dir(h) => "localhost",
        h => h,
    };
    let port = target.port.to_string();
    let wanted = [host, port.as_str(), target.dbname, target.user];
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .find_map(|line| {
            let fields = split(line)?;
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(f, w)| f.wildcard || f.text == w);
            matches.then(|| fields[4].text.clone())
        })
}

struct Field {
    text: String,
    wildcard: bool,
}

/// Splits a line into its five fields; `None` for a line with fewer.
fn split(line: &str) -> Option<Vec<Field>> {
    let mut fields = Vec::with_capacity(5);
    let mut text = String::new();
    let mut raw = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().unwrap_or('\\');
                text.push(next);
                raw.push('\\');
                raw.push(next);
            }
            ':' if fields.len() < 4 => {
                fields.push(Field {
                    wildcard: raw == "*",
                    text: std::mem::take(&mut text),
                });
                raw.clear();
            }
            // libpq ends the password at an unescaped colon.
            ':' => break,
            c => {
                text.push(c);
                raw.push(c);
            }
        }
    }
    if fields.len() < 4 {
        return None;
    }
    fields.push(Field {
        text,
        wildcard: false,
    });
    Some(fields)
}

/// Socket directories libpq builds can default to; they match `localhost`.
pub fn is_default_socket_dir(host: &str) -> bool {
    matches!(
        host.trim_end_matches('/'),
        "/var/run/postgresql" | "/run/postgresql" | "/tmp"
    )
}

/// The password file to use: `passfile`/`PGPASSFILE`, else `~/.pgpass`.
pub fn default_file(home: Option<PathBuf>) -> Option<PathBuf> {
    home.map(|h| h.join(".pgpass"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn t<'a>(host: &'a str, port: u16, dbname: &'a str, user: &'a str) -> Target<'a> {
        Target {
            host,
            port,
            dbname,
            user,
        }
    }

    const FILE: &str = "# comment\n\
        db.example.com:5432:shop:app:exact\n\
        db.example.com:*:*:app:any-port\n\
        we\\:ird:5432:*:*:escaped\\:pass\\\\word\n\
        localhost:5432:*:*:local\n\
        *:*:*:admin:star\n\
        \\*:*:*:*:literal-star\n";

    #[test]
    fn first_matching_line_wins_and_stars_match_anything() {
        assert_eq!(
            find(FILE, &t("db.example.com", 5432, "shop", "app")).as_deref(),
            Some("exact")
        );
        assert_eq!(
            find(FILE, &t("db.example.com", 6543, "x", "app")).as_deref(),
            Some("any-port")
        );
        assert_eq!(
            find(FILE, &t("other", 1, "x", "admin")).as_deref(),
            Some("star")
        );
        assert_eq!(find(FILE, &t("other", 1, "x", "nobody")), None);
    }

    #[test]
    fn escapes_and_literal_star() {
        assert_eq!(
            find(FILE, &t("we:ird", 5432, "d", "u")).as_deref(),
            Some("escaped:pass\\word")
        );
        assert_eq!(
            find(FILE, &t("*", 9, "d", "u")).as_deref(),
            Some("literal-star")
        );
    }

    #[test]
    fn default_socket_directory_counts_as_localhost() {
        assert_eq!(
            find(FILE, &t("/var/run/postgresql", 5432, "d", "u")).as_deref(),
            Some("local")
        );
        assert_eq!(find(FILE, &t("", 5432, "d", "u")).as_deref(), Some("local"));
        assert_eq!(find(FILE, &t("/srv/sock", 5432, "d", "u")), None);
    }

    #[test]
    fn group_or_world_readable_file_is_ignored_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(b"*:*:*:*:secret\n")
            .unwrap();
        let target = t("h", 5432, "d", "u");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let found = lookup(&path, &target);
        assert_eq!(found.password, None);
        assert!(found.warning.unwrap().contains("group or world access"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let found = lookup(&path, &target);
        assert_eq!(found.password.as_deref(), Some("secret"));
        assert_eq!(found.warning, None);
        assert_eq!(
            lookup(&dir.path().join("missing"), &target),
            Lookup::default()
        );
        assert!(
            lookup(dir.path(), &target)
                .warning
                .unwrap()
                .contains("not a plain file")
        );
    }
}
