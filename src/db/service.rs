//! Connection service files (`pg_service.conf`), read the way libpq reads them:
//! the per-user file (`PGSERVICEFILE`, else `~/.pg_service.conf`) first, then the
//! system file (`$PGSYSCONFDIR/pg_service.conf`, else the distribution's
//! configuration directory). The first file that defines the service is used,
//! and only it.

use super::conninfo::Params;
use super::env::ConnEnv;
use anyhow::{Result, bail};
use std::path::{Path, PathBuf};

/// Where libpq builds commonly look for the system service file.
const SYSCONFDIRS: &[&str] = &["/etc/postgresql-common", "/etc/sysconfig/pgsql", "/etc"];

/// The settings of service `name`, and the file they came from.
pub fn lookup(name: &str, env: &ConnEnv) -> Result<(Params, PathBuf)> {
    for file in candidate_files(env) {
        if let Some(params) = read_service(&file, name)? {
            return Ok((params, file));
        }
    }
    bail!(
        "definition of service \"{name}\" not found (looked in PGSERVICEFILE or ~/.pg_service.conf, \
         then PGSYSCONFDIR or the system pg_service.conf)"
    )
}

fn candidate_files(env: &ConnEnv) -> Vec<PathBuf> {
    let mut files = Vec::new();
    match env.var("PGSERVICEFILE") {
        Some(f) => files.push(PathBuf::from(f)),
        None => files.extend(env.in_home(".pg_service.conf")),
    }
    match env.var("PGSYSCONFDIR") {
        Some(dir) => files.push(Path::new(dir).join("pg_service.conf")),
        None => files.extend(
            SYSCONFDIRS
                .iter()
                .map(|d| Path::new(d).join("pg_service.conf"))
                .find(|f| f.is_file()),
        ),
    }
    files
}

/// The section `[name]` of `file`; `None` when the file is missing or lacks it.
fn read_service(file: &Path, name: &str) -> Result<Option<Params>> {
    let Ok(text) = std::fs::read_to_string(file) else {
        return Ok(None);
    };
    parse_service(&text, name).map_err(|e| anyhow::anyhow!("service file {}: {e}", file.display()))
}

/// Parses the section `[name]` of a service file's text.
pub fn parse_service(text: &str, name: &str) -> Result<Option<Params>> {
    let mut found: Option<Params> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            if found.is_some() {
                break;
            }
            if section.strip_suffix(']') == Some(name) {
                found = Some(Params::new());
            }
            continue;
        }
        let Some(params) = found.as_mut() else {
            continue;
        };
        let Some((key, value)) = line.split_once('=') else {
            bail!("syntax error on line {}: expected key=value", n + 1);
        };
        let key = key.trim();
        if key == "service" {
            bail!(
                "line {}: nested service specifications are not supported",
                n + 1
            );
        }
        // The first setting of a key wins, as in libpq.
        params
            .entry(key.to_string())
            .or_insert_with(|| value.trim().to_string());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# services\n[other]\nhost=elsewhere\n\n[prod]\nhost = db.example.com\nport=6543\ndbname=shop\nsslmode=verify-full\n[last]\nhost=x\n";

    #[test]
    fn reads_only_the_named_section() {
        let p = parse_service(TEXT, "prod").unwrap().unwrap();
        assert_eq!(p["host"], "db.example.com");
        assert_eq!(p["port"], "6543");
        assert_eq!(p["sslmode"], "verify-full");
        assert_eq!(p.len(), 4);
        assert!(parse_service(TEXT, "missing").unwrap().is_none());
        assert!(parse_service("[a]\nservice=b\n", "a").is_err());
        assert!(parse_service("[a]\nnonsense\n", "a").is_err());
    }

    #[test]
    fn user_file_before_system_file() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.conf");
        let sys = dir.path().join("sys");
        std::fs::create_dir(&sys).unwrap();
        std::fs::write(&user, "[a]\nhost=from-user\n").unwrap();
        std::fs::write(
            sys.join("pg_service.conf"),
            "[a]\nhost=from-system\n[b]\nhost=sys-b\n",
        )
        .unwrap();
        let env = ConnEnv::from_pairs([
            ("PGSERVICEFILE", user.to_str().unwrap()),
            ("PGSYSCONFDIR", sys.to_str().unwrap()),
        ]);
        assert_eq!(lookup("a", &env).unwrap().0["host"], "from-user");
        let (b, file) = lookup("b", &env).unwrap();
        assert_eq!(b["host"], "sys-b");
        assert_eq!(file, sys.join("pg_service.conf"));
        let err = lookup("c", &env).unwrap_err().to_string();
        assert!(
            err.contains("definition of service \"c\" not found"),
            "{err}"
        );
    }

    #[test]
    fn home_file_is_the_default_user_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".pg_service.conf"), "[h]\ndbname=homedb\n").unwrap();
        let env = ConnEnv::from_pairs([
            ("HOME", dir.path().to_str().unwrap()),
            ("PGSYSCONFDIR", "/nonexistent"),
        ]);
        assert_eq!(lookup("h", &env).unwrap().0["dbname"], "homedb");
    }
}
