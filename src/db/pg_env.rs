//! The environment of every child process pgalign starts. pgalign runs with
//! production credentials in its own environment (`PGPASSWORD`,
//! `PGALIGN_DB_URL`…); no child inherits that environment as it is. There are
//! three kinds of children, and one function builds the environment of each:
//!
//! - [`isolated_command`]: the server programs (`initdb`, `pg_ctl`, and through
//!   it `postgres`) and tools that connect nowhere (`--version`,
//!   `pg_restore --list`, `pg_config`): an empty environment plus
//!   [`ISOLATED_VARS`] and `LC_ALL=C.UTF-8`. A server gets none of the target's
//!   settings.
//! - [`ConnSettings::apply_env`] / [`ConnSettings::client_command`]: libpq
//!   clients (`pg_dump`, `pg_restore`, `psql`): the isolated environment plus
//!   exactly the connection they make ([`ConnSettings::pg_env`]), travelling in
//!   the environment, never on the command line where `ps` would show it.
//! - [`shell_command`]: a `cmd:` desired source, which is the operator's own
//!   command: the operator's environment minus pgalign's secrets
//!   ([`is_secret_var`]) unless the command's text names them.

use super::conn::ConnSettings;
use std::ffi::{OsStr, OsString};
use std::process::Command;

/// What a child that connects nowhere keeps of pgalign's environment: where
/// programs and their libraries are, and the time zone. Nothing secret.
pub const ISOLATED_VARS: &[&str] = &["PATH", "LD_LIBRARY_PATH", "TZ"];

/// An environment: (name, value) pairs, in the order they are set.
pub type EnvPairs = Vec<(OsString, OsString)>;

/// The environment of a program that connects nowhere, from the parent's.
pub fn isolated_env(parent: impl IntoIterator<Item = (OsString, OsString)>) -> EnvPairs {
    let mut env: EnvPairs = parent
        .into_iter()
        .filter(|(k, _)| ISOLATED_VARS.iter().any(|v| OsStr::new(v) == k))
        .collect();
    // Messages in English whatever the operator's locale (pgalign reads some of
    // them), and UTF-8 for psql's client encoding (desired files are UTF-8).
    env.push(("LC_ALL".into(), "C.UTF-8".into()));
    env
}

/// A command for `program` with the environment of [`isolated_env`].
pub fn isolated_command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear().envs(isolated_env(std::env::vars_os()));
    cmd
}

/// Whether `name` holds one of pgalign's secrets: the password libpq reads
/// (`PGPASSWORD`) and pgalign's own connection URLs (`PGALIGN_DB_URL`,
/// `PGALIGN_SHADOW_URL`, any `PGALIGN_…_URL`). `PGPASSFILE` only names a file
/// the operator's command can read anyway; it is not one.
pub fn is_secret_var(name: &str) -> bool {
    name == "PGPASSWORD" || (name.starts_with("PGALIGN_") && name.ends_with("_URL"))
}

/// Whether `command` names the variable `var` as a whole word (`$PGPASSWORD`,
/// `${PGPASSWORD}`, `printenv PGPASSWORD`), so the operator means it to see it.
pub fn names_var(command: &str, var: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    command.match_indices(var).any(|(i, _)| {
        let before = command[..i].chars().next_back();
        let after = command[i + var.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// The environment of a `cmd:` source: the parent's, minus pgalign's secrets
/// that the command's text does not name.
pub fn shell_env(
    command: &str,
    parent: impl IntoIterator<Item = (OsString, OsString)>,
) -> EnvPairs {
    parent
        .into_iter()
        .filter(|(k, _)| {
            let name = k.to_string_lossy();
            !is_secret_var(&name) || names_var(command, &name)
        })
        .collect()
}

/// `sh -c command` with the environment of [`shell_env`].
pub fn shell_command(command: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .env_clear()
        .envs(shell_env(command, std::env::vars_os()));
    cmd
}

impl ConnSettings {
    /// The connection settings of a libpq-based subprocess (`pg_dump`,
    /// `pg_restore`, `psql`) as `PG*` variables. Settings are passed resolved (a
    /// service's values, not its name: libpq would let the service override
    /// `PGDATABASE`). The password is this target's, and only when it has one.
    pub fn pg_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            ("PGHOST".into(), self.host.clone()),
            ("PGPORT".into(), self.port.to_string()),
            ("PGUSER".into(), self.user.clone()),
            ("PGDATABASE".into(), self.dbname.clone()),
            ("PGSSLMODE".into(), self.sslmode.to_string()),
            ("PGCHANNELBINDING".into(), self.channel_binding.clone()),
            ("PGAPPNAME".into(), self.application_name.clone()),
            (
                "PGCONNECT_TIMEOUT".into(),
                self.connect_timeout.map_or(0, |t| t.as_secs()).to_string(),
            ),
        ];
        let mut push = |k: &str, v: Option<String>| env.extend(v.map(|v| (k.to_string(), v)));
        push("PGSSLROOTCERT", self.sslrootcert.clone());
        push(
            "PGSSLCERT",
            self.sslcert.as_ref().map(|p| p.display().to_string()),
        );
        push(
            "PGSSLKEY",
            self.sslkey.as_ref().map(|p| p.display().to_string()),
        );
        push("PGOPTIONS", self.options.clone());
        match &self.passfile {
            Some(file) => push("PGPASSFILE", Some(file.display().to_string())),
            None => push("PGPASSWORD", self.password.clone()),
        }
        env
    }

    /// The whole environment of a libpq client connecting to this target: the
    /// isolated environment plus [`Self::pg_env`], from the parent's.
    pub fn client_env(&self, parent: impl IntoIterator<Item = (OsString, OsString)>) -> EnvPairs {
        let mut env = isolated_env(parent);
        env.extend(
            self.pg_env()
                .into_iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        );
        env
    }

    /// Replaces a command's environment with [`Self::client_env`]: nothing of
    /// pgalign's own environment (another target's password, `PGSERVICE`,
    /// `PGHOSTADDR`…) reaches it.
    pub fn apply_env(&self, cmd: &mut Command) {
        cmd.env_clear().envs(self.client_env(std::env::vars_os()));
    }

    /// A command for the libpq client `program` connecting to this target.
    pub fn client_command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.apply_env(&mut cmd);
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent() -> EnvPairs {
        [
            ("PATH", "/usr/bin:/bin"),
            ("HOME", "/home/op"),
            ("TZ", "Europe/Paris"),
            ("PGPASSWORD", "secret-canary"),
            ("PGALIGN_DB_URL", "postgresql://u:secret-canary@prod/db"),
            (
                "PGALIGN_SHADOW_URL",
                "postgresql://u:secret-canary@shadow/db",
            ),
            ("PGSERVICE", "prod"),
            ("PGHOSTADDR", "10.0.0.1"),
            ("PGPASSFILE", "/home/op/.pgpass"),
            ("AWS_SECRET_ACCESS_KEY", "secret-canary-aws"),
            ("LANG", "de_DE.UTF-8"),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
    }

    fn get<'a>(env: &'a EnvPairs, key: &str) -> Option<&'a str> {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.to_str())
    }

    fn holds_canary(env: &EnvPairs) -> bool {
        env.iter()
            .any(|(_, v)| v.to_string_lossy().contains("secret-canary"))
    }

    #[test]
    fn an_isolated_program_keeps_only_path_libraries_and_time_zone() {
        let env = isolated_env(parent());
        let keys: Vec<String> = env
            .iter()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert_eq!(keys, ["PATH", "TZ", "LC_ALL"]);
        assert_eq!(get(&env, "LC_ALL"), Some("C.UTF-8"));
        assert!(!holds_canary(&env));
    }

    #[test]
    fn a_client_gets_its_own_connection_and_no_other_secret() {
        let shadow = ConnSettings::new("/tmp/pgalign-cluster-x", 5999, "postgres", "shadow");
        let env = shadow.client_env(parent());
        assert!(!holds_canary(&env), "{env:?}");
        assert_eq!(get(&env, "PGHOST"), Some("/tmp/pgalign-cluster-x"));
        assert_eq!(get(&env, "PGDATABASE"), Some("shadow"));
        for gone in [
            "PGPASSWORD",
            "PGSERVICE",
            "PGHOSTADDR",
            "PGPASSFILE",
            "HOME",
        ] {
            assert_eq!(get(&env, gone), None, "{gone} reached the client");
        }
        // The target's own password is the one it gets.
        let mut target = ConnSettings::new("db", 5432, "app", "shop");
        target.password = Some("target-pw".into());
        let env = target.client_env(parent());
        assert_eq!(get(&env, "PGPASSWORD"), Some("target-pw"));
        assert!(!holds_canary(&env), "{env:?}");
    }

    #[test]
    fn a_shell_source_loses_pgaligns_secrets_unless_it_names_them() {
        let env = shell_env("pg_dump -s devdb", parent());
        assert!(
            env.iter()
                .all(|(k, _)| !is_secret_var(&k.to_string_lossy())),
            "{env:?}"
        );
        // The operator's own variables stay: it is the operator's command.
        assert_eq!(get(&env, "HOME"), Some("/home/op"));
        assert_eq!(
            get(&env, "AWS_SECRET_ACCESS_KEY"),
            Some("secret-canary-aws")
        );
        assert_eq!(get(&env, "PGPASSFILE"), Some("/home/op/.pgpass"));
        let env = shell_env("PGPASSWORD=\"$PGPASSWORD\" pg_dump -s devdb", parent());
        assert_eq!(get(&env, "PGPASSWORD"), Some("secret-canary"));
        assert_eq!(get(&env, "PGALIGN_DB_URL"), None);
        let env = shell_env("pg_dump -s \"${PGALIGN_DB_URL}\"", parent());
        assert!(get(&env, "PGALIGN_DB_URL").is_some());
        assert_eq!(get(&env, "PGPASSWORD"), None);
    }

    #[test]
    fn a_variable_is_named_only_as_a_whole_word() {
        assert!(names_var("echo $PGPASSWORD", "PGPASSWORD"));
        assert!(names_var("echo ${PGPASSWORD:-x}", "PGPASSWORD"));
        assert!(names_var("printenv PGPASSWORD", "PGPASSWORD"));
        assert!(!names_var("echo $PGPASSWORD_OLD", "PGPASSWORD"));
        assert!(!names_var("echo $MY_PGPASSWORD", "PGPASSWORD"));
        assert!(!names_var("pg_dump -s", "PGPASSWORD"));
        assert!(is_secret_var("PGALIGN_DB_URL") && is_secret_var("PGALIGN_TEST_URL"));
        assert!(!is_secret_var("PGALIGN_PG_BINDIR") && !is_secret_var("PGPASSFILE"));
    }
}
