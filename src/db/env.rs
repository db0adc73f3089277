//! The environment that connection settings are read from: a snapshot of the
//! process's `PG*` variables and `HOME`, or an explicit map in tests (tests run
//! in parallel threads and must not touch the process environment).

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Variables libpq reads, plus `HOME` for `~/.pgpass`, `~/.pg_service.conf` and
/// `~/.postgresql/`.
#[derive(Clone, Debug, Default)]
pub struct ConnEnv {
    vars: BTreeMap<String, String>,
}

impl ConnEnv {
    /// The current process's environment.
    pub fn process() -> ConnEnv {
        ConnEnv {
            vars: std::env::vars()
                .filter(|(k, _)| k.starts_with("PG") || k == "HOME")
                .collect(),
        }
    }

    /// An explicit environment, e.g. `[("PGHOST", "db"), ("HOME", "/tmp/h")]`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> ConnEnv {
        ConnEnv {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; unset and empty are the same, as in libpq.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The home directory (`HOME`), where libpq looks for its per-user files.
    pub fn home(&self) -> Option<PathBuf> {
        self.var("HOME").map(PathBuf::from)
    }

    /// `~/<rel>`, when the home directory is known.
    pub fn in_home(&self, rel: &str) -> Option<PathBuf> {
        self.home().map(|h| h.join(rel))
    }
}
