//! Connection settings for libpq-based subprocesses (`pg_dump`, `pg_restore`,
//! `psql`): they travel in the environment, never on the command line where
//! `ps` would show them, so the tools connect exactly like pgalign does.

use super::conn::ConnSettings;

impl ConnSettings {
    /// Environment for libpq-based subprocesses (`pg_dump`, `pg_restore`, `psql`):
    /// settings travel in the environment, never on the command line where `ps`
    /// would show them. Settings are passed resolved (a service's values, not its
    /// name: libpq would let the service override `PGDATABASE`).
    pub fn pg_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![
            ("PGHOST".into(), self.host.clone()),
            ("PGPORT".into(), self.port.to_string()),
            ("PGUSER".into(), self.user.clone()),
            ("PGDATABASE".into(), self.dbname.clone()),
            ("PGSSLMODE".into(), self.sslmode.clone()),
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

    /// Applies [`Self::pg_env`] to a command and clears other `PG*` variables that
    /// could redirect it (`PGSERVICE`, `PGHOSTADDR`…).
    pub fn apply_env(&self, cmd: &mut std::process::Command) {
        for (k, _) in std::env::vars() {
            if k.starts_with("PG") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in self.pg_env() {
            cmd.env(k, v);
        }
    }
}
