//! The desired schema: a database URL, or SQL (a file, a directory of files in
//! name order, or a command's standard output) loaded into a temporary shadow
//! database — on `--shadow URL`, or on an ephemeral local cluster.

use super::cluster::Cluster;
use super::conn::{ConnSettings, connect};
use crate::catalog::{self, Inspected};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Where the desired schema comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesiredSource {
    /// A live database that already has the desired schema.
    Database(String),
    /// One `.sql` file.
    File(PathBuf),
    /// A directory of `.sql` files applied in name order.
    Dir(PathBuf),
    /// A shell command whose standard output is SQL.
    Command(String),
}

impl DesiredSource {
    pub fn parse(src: &str) -> Result<DesiredSource> {
        if let Some(cmd) = src.strip_prefix("cmd:") {
            if cmd.trim().is_empty() {
                bail!("--desired cmd: needs a command after 'cmd:'");
            }
            return Ok(DesiredSource::Command(cmd.to_string()));
        }
        if src.starts_with("postgres://") || src.starts_with("postgresql://") {
            return Ok(DesiredSource::Database(src.to_string()));
        }
        let path = PathBuf::from(src);
        if path.is_dir() {
            return Ok(DesiredSource::Dir(path));
        }
        if path.is_file() {
            return Ok(DesiredSource::File(path));
        }
        if src.contains('=') && !src.contains('/') {
            return Ok(DesiredSource::Database(src.to_string()));
        }
        bail!(
            "desired schema '{src}': no such file or directory (expected a .sql file, a directory of .sql files, a database URL or cmd:<command>)"
        )
    }

    /// How the source is shown in plans and reports (never with secrets).
    pub fn describe(&self) -> String {
        match self {
            DesiredSource::Database(url) => match ConnSettings::parse(url) {
                Ok(s) => format!("database {s}"),
                Err(_) => "database (unparsable URL)".into(),
            },
            DesiredSource::File(p) => format!("file {}", p.display()),
            DesiredSource::Dir(p) => format!("directory {}", p.display()),
            DesiredSource::Command(c) => format!("command `{c}`"),
        }
    }

    /// The SQL files of a file or directory source, in the order they load.
    pub fn sql_files(&self) -> Result<Vec<PathBuf>> {
        match self {
            DesiredSource::File(p) => Ok(vec![p.clone()]),
            DesiredSource::Dir(dir) => {
                let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                    .with_context(|| format!("reading directory {}", dir.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
                    .collect();
                files.sort();
                if files.is_empty() {
                    bail!("directory {} holds no .sql files", dir.display());
                }
                Ok(files)
            }
            _ => Ok(vec![]),
        }
    }
}

/// Finds `psql`: beside the server binaries, then on `PATH`.
pub fn psql_path() -> PathBuf {
    if let Ok(b) = super::cluster::ServerBinaries::find() {
        let p = b.path("psql");
        if p.is_file() {
            return p;
        }
    }
    PathBuf::from("psql")
}

/// Runs SQL from `file` (or from `stdin_sql`) against `target` with psql and
/// `ON_ERROR_STOP`; an error names the file and line as psql reports them.
pub fn run_psql(
    target: &ConnSettings,
    file: Option<&Path>,
    stdin_sql: Option<&[u8]>,
) -> Result<()> {
    // psql's environment is the target's connection and nothing else of
    // pgalign's (no other target's password).
    let mut cmd = target.client_command(psql_path());
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--no-psqlrc"]);
    let quiet = "-c client_min_messages=warning";
    cmd.env(
        "PGOPTIONS",
        match &target.options {
            Some(options) => format!("{options} {quiet}"),
            None => quiet.to_string(),
        },
    );
    match file {
        Some(f) => {
            cmd.arg("-f").arg(f);
            cmd.stdin(Stdio::null());
        }
        None => {
            cmd.args(["-f", "-"]);
            cmd.stdin(Stdio::piped());
        }
    }
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().context(
        "running psql (install the PostgreSQL client: apt-get install postgresql-client)",
    )?;
    if let (Some(sql), Some(mut stdin)) = (stdin_sql, child.stdin.take()) {
        use std::io::Write;
        let sql = sql.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&sql);
        });
    }
    let out = child.wait_with_output().context("waiting for psql")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let what = match file {
            Some(f) => f.display().to_string(),
            None => "SQL from standard input".into(),
        };
        bail!("loading {what} failed: {}", err.trim().replace("psql:", ""));
    }
    Ok(())
}

/// Where shadow databases are created: a server named by `--shadow`, or a
/// throwaway local cluster started on demand (kept for the life of this value).
pub struct ShadowHost {
    admin: ConnSettings,
    _cluster: Option<Cluster>,
}

impl ShadowHost {
    /// Uses `shadow` when given, else starts an ephemeral cluster.
    pub fn new(shadow: Option<&str>) -> Result<ShadowHost> {
        match shadow {
            Some(url) => Ok(ShadowHost {
                admin: ConnSettings::parse(url).context("parsing --shadow")?,
                _cluster: None,
            }),
            None => {
                let cluster = Cluster::start().context(
                    "starting a throwaway PostgreSQL for the desired schema (or pass --shadow URL)",
                )?;
                Ok(ShadowHost {
                    admin: cluster.settings("postgres"),
                    _cluster: Some(cluster),
                })
            }
        }
    }

    pub fn from_cluster(cluster: Cluster) -> ShadowHost {
        ShadowHost {
            admin: cluster.settings("postgres"),
            _cluster: Some(cluster),
        }
    }

    pub fn admin(&self) -> &ConnSettings {
        &self.admin
    }
}

/// Loads the desired schema and inspects it (without sizes: nothing reads them
/// on this side). SQL sources go into a fresh temporary database that is
/// dropped afterwards, whatever happens.
pub async fn inspect_desired(src: &DesiredSource, shadow: Option<&str>) -> Result<Inspected> {
    catalog::introspect::without_sizes(inspect_desired_sized(src, shadow)).await
}

async fn inspect_desired_sized(src: &DesiredSource, shadow: Option<&str>) -> Result<Inspected> {
    if let DesiredSource::Database(url) = src {
        let settings = ConnSettings::parse(url).context("parsing the desired database URL")?;
        return catalog::inspect(&settings).await;
    }
    let host = tokio::task::spawn_blocking({
        let shadow = shadow.map(str::to_string);
        move || ShadowHost::new(shadow.as_deref())
    })
    .await??;
    let result = load_into_temp_db(&host, src).await;
    drop(host);
    result
}

async fn load_into_temp_db(host: &ShadowHost, src: &DesiredSource) -> Result<Inspected> {
    let name = format!(
        "pgalign_shadow_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let admin = connect(host.admin())
        .await
        .context("connecting to the shadow server")?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0"))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "creating shadow database on {}: {}",
                host.admin(),
                super::describe_error(&e)
            )
        })?;
    let target = host.admin().with_dbname(&name);
    let loaded = load_sql(&target, src).await;
    let inspected = match loaded {
        Ok(()) => catalog::inspect(&target).await,
        Err(e) => Err(e),
    };
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    inspected
}

/// Loads a SQL source into `target` with psql.
pub async fn load_sql(target: &ConnSettings, src: &DesiredSource) -> Result<()> {
    let target = target.clone();
    let src = src.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        match &src {
            DesiredSource::Command(cmd) => {
                // The operator's environment minus pgalign's secrets (unless
                // the command names them).
                let out = super::pg_env::shell_command(cmd)
                    .stdin(Stdio::null())
                    .stderr(Stdio::inherit())
                    .output()
                    .with_context(|| format!("running desired-schema command `{cmd}`"))?;
                if !out.status.success() {
                    bail!("desired-schema command `{cmd}` failed with {}", out.status);
                }
                run_psql(&target, None, Some(&out.stdout))
                    .with_context(|| format!("loading the output of `{cmd}`"))
            }
            DesiredSource::File(_) | DesiredSource::Dir(_) => {
                for f in src.sql_files()? {
                    let text =
                        std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
                    if std::str::from_utf8(&text).is_err() {
                        bail!("{} is not valid UTF-8", f.display());
                    }
                    run_psql(&target, Some(&f), None)?;
                }
                Ok(())
            }
            DesiredSource::Database(_) => bail!("a database source is not loaded, it is inspected"),
        }
    })
    .await?
}
