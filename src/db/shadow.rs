//! The desired schema: a database URL, or SQL (a file, a directory of files in
//! name order, or a command's standard output) loaded into a temporary shadow
//! database — on `--shadow URL`, or on an ephemeral local cluster.

use super::cancel::{self, Cancel};
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
/// psql runs whatever meta-commands the SQL holds: desired SQL is checked
/// first (see [`check_desired_sql`]).
pub fn run_psql(
    target: &ConnSettings,
    file: Option<&Path>,
    stdin_sql: Option<&[u8]>,
) -> Result<()> {
    psql_until(target, file, stdin_sql, &Cancel::never())
}

/// [`run_psql`], killed when `cancel` fires.
fn psql_until(
    target: &ConnSettings,
    file: Option<&Path>,
    stdin_sql: Option<&[u8]>,
    cancel: &Cancel,
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
    let out = cancel::wait_or_kill(child, cancel).context("waiting for psql")?;
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
    inspect_desired_until(src, shadow, &Cancel::never()).await
}

/// [`inspect_desired`], stopped when `cancel` fires: a running command or
/// psql is killed, the shadow database dropped and the throwaway server
/// stopped before it returns.
pub async fn inspect_desired_until(
    src: &DesiredSource,
    shadow: Option<&str>,
    cancel: &Cancel,
) -> Result<Inspected> {
    let nothing: AfterLoad<()> = Box::new(|_, _| Box::pin(async { Ok(()) }));
    Ok(inspect_desired_then(src, shadow, cancel, nothing).await?.0)
}

/// Work done on the loaded desired database before it is dropped (the ledger
/// rows, `crate::ledger`): it gets the database and a `cmd:` source's SQL.
pub type AfterLoad<T> = Box<
    dyn FnOnce(ConnSettings, Option<Vec<u8>>) -> futures_util::future::BoxFuture<'static, Result<T>>
        + Send,
>;

/// [`inspect_desired_until`], and `after` run on the loaded database.
pub async fn inspect_desired_then<T>(
    src: &DesiredSource,
    shadow: Option<&str>,
    cancel: &Cancel,
    after: AfterLoad<T>,
) -> Result<(Inspected, T)> {
    catalog::introspect::without_sizes(inspect_desired_sized(src, shadow, cancel, after)).await
}

/// `work`, or the cancellation error once `cancel` fires (dropping `work`).
async fn until<T>(
    cancel: &Cancel,
    work: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    tokio::select! {
        r = work => r,
        () = cancel.cancelled() => cancel.check().map(|_| unreachable!("cancelled")),
    }
}

async fn inspect_desired_sized<T>(
    src: &DesiredSource,
    shadow: Option<&str>,
    cancel: &Cancel,
    after: AfterLoad<T>,
) -> Result<(Inspected, T)> {
    if let DesiredSource::Database(url) = src {
        let settings = ConnSettings::parse(url).context("parsing the desired database URL")?;
        let inspected = until(cancel, catalog::inspect(&settings)).await?;
        return Ok((inspected, until(cancel, after(settings, None)).await?));
    }
    // Refused meta-commands are reported before a server is even started.
    let files = tokio::task::spawn_blocking({
        let src = src.clone();
        move || check_desired_files(&src)
    })
    .await??;
    // A live side that failed at once (no such database) spares the start of a
    // throwaway server, which cannot be interrupted and takes seconds.
    tokio::task::yield_now().await;
    cancel.check()?;
    let host = tokio::task::spawn_blocking({
        let shadow = shadow.map(str::to_string);
        move || ShadowHost::new(shadow.as_deref())
    })
    .await??;
    let result = match cancel.check() {
        Ok(()) => load_into_temp_db(&host, src, &files, cancel, after).await,
        Err(e) => Err(e),
    };
    drop(host);
    result
}

async fn load_into_temp_db<T>(
    host: &ShadowHost,
    src: &DesiredSource,
    files: &[PathBuf],
    cancel: &Cancel,
    after: AfterLoad<T>,
) -> Result<(Inspected, T)> {
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
    let loaded = load_checked(&target, src, files, cancel).await;
    let inspected = match loaded {
        Ok(output) => match until(cancel, catalog::inspect(&target)).await {
            Ok(i) => until(cancel, after(target.clone(), output))
                .await
                .map(|t| (i, t)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let _ = admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    inspected
}

/// Loads a SQL source into `target` with psql, after checking it (see
/// [`check_desired_sql`]: nothing is run when a file holds a refused
/// meta-command).
pub async fn load_sql(target: &ConnSettings, src: &DesiredSource) -> Result<()> {
    let files = tokio::task::spawn_blocking({
        let src = src.clone();
        move || check_desired_files(&src)
    })
    .await??;
    load_checked(target, src, &files, &Cancel::never())
        .await
        .map(|_| ())
}

/// Checks every SQL file of a file or directory source, all before any runs.
fn check_desired_files(src: &DesiredSource) -> Result<Vec<PathBuf>> {
    let files = src.sql_files()?;
    let root = match src {
        DesiredSource::Dir(dir) => Some(dir.clone()),
        _ => files
            .first()
            .and_then(|f| f.parent())
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .map(Path::to_path_buf),
    };
    if let Some(root) = root {
        let root = std::fs::canonicalize(&root)
            .with_context(|| format!("resolving the source directory {}", root.display()))?;
        for f in &files {
            let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
            check_desired_sql(&bytes, &f.display().to_string(), Some(f), Some(&root))?;
        }
    }
    Ok(files)
}

/// Loads an already checked source (`files`: its checked SQL files); a
/// command's output is returned (its data statements are listed).
async fn load_checked(
    target: &ConnSettings,
    src: &DesiredSource,
    files: &[PathBuf],
    cancel: &Cancel,
) -> Result<Option<Vec<u8>>> {
    let target = target.clone();
    let src = src.clone();
    let files = files.to_vec();
    let cancel = cancel.clone();
    tokio::task::spawn_blocking(move || -> Result<Option<Vec<u8>>> {
        match &src {
            DesiredSource::Command(cmd) => {
                // The operator's environment minus pgalign's secrets (unless
                // the command names them).
                let child = super::pg_env::shell_command(cmd)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .with_context(|| format!("running desired-schema command `{cmd}`"))?;
                let out = cancel::wait_or_kill(child, &cancel)
                    .with_context(|| format!("running desired-schema command `{cmd}`"))?;
                if !out.status.success() {
                    bail!("desired-schema command `{cmd}` failed with {}", out.status);
                }
                check_desired_sql(
                    &out.stdout,
                    "the desired-schema command's output",
                    None,
                    None,
                )?;
                psql_until(&target, None, Some(&out.stdout), &cancel)
                    .with_context(|| format!("loading the output of `{cmd}`"))?;
                Ok(Some(out.stdout))
            }
            DesiredSource::File(_) | DesiredSource::Dir(_) => {
                for f in files {
                    cancel.check()?;
                    psql_until(&target, Some(&f), None, &cancel)?;
                }
                Ok(None)
            }
            DesiredSource::Database(_) => bail!("a database source is not loaded, it is inspected"),
        }
    })
    .await?
}

/// How deep `\i` may nest (psql itself has no limit; a cycle never ends).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Refuses desired SQL that psql would not load as plain data (DESIGN.md §6),
/// before psql reads any of it: a meta-command that reaches the shell, files,
/// the environment or another database (`\!`, `\o |…`, `\copy … program`,
/// `\setenv`, `\c`… see `hazard::psql_meta`) is an error naming `name` and
/// the line. `\i`/`\ir` may include files inside `root` only (resolved with
/// symlinks followed, so a link pointing out is refused), which are checked in
/// turn; without a `root` (a command's output) nothing may be included.
/// `file` is where the SQL was read from (`\ir` is relative to it).
pub fn check_desired_sql(
    bytes: &[u8],
    name: &str,
    file: Option<&Path>,
    root: Option<&Path>,
) -> Result<()> {
    check_included(bytes, name, file, root, &mut Vec::new())
}

fn check_included(
    bytes: &[u8],
    name: &str,
    file: Option<&Path>,
    root: Option<&Path>,
    stack: &mut Vec<PathBuf>,
) -> Result<()> {
    use crate::hazard::{prepass, psql_meta};
    let text = prepass::decode(bytes, name)?;
    let includes = psql_meta::check(&prepass::prepare(&text))
        .map_err(|p| anyhow::anyhow!("{name}:{}: {}", p.line, p.message))?;
    for inc in includes {
        let at = format!("{name}:{}: `{}`", inc.line, inc.text);
        let Some(root) = root else {
            bail!("{at} includes a file, which a command's output may not do");
        };
        if stack.len() >= MAX_INCLUDE_DEPTH {
            bail!("{at}: includes nest deeper than {MAX_INCLUDE_DEPTH} files (an include cycle?)");
        }
        // psql resolves `\ir` against the including file's directory and `\i`
        // against its working directory, which is pgalign's.
        let base = match (inc.relative, file.and_then(Path::parent)) {
            (true, Some(dir)) => dir.to_path_buf(),
            _ => std::env::current_dir().context("reading the current directory")?,
        };
        let path = base.join(&inc.path);
        let real = std::fs::canonicalize(&path)
            .with_context(|| format!("{at} includes {}, which cannot be read", path.display()))?;
        if !real.starts_with(root) {
            bail!(
                "{at} includes {}, which is outside the source directory {}: a desired schema may include only files inside it",
                real.display(),
                root.display()
            );
        }
        if stack.contains(&real) {
            bail!("{at} includes {}, which includes itself", real.display());
        }
        let bytes = std::fs::read(&real).with_context(|| format!("reading {}", real.display()))?;
        stack.push(real);
        check_included(
            &bytes,
            &path.display().to_string(),
            Some(&path),
            Some(root),
            stack,
        )?;
        stack.pop();
    }
    Ok(())
}
