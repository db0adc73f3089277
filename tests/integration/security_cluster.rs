//! Issue 11, item 1, written as the attacks: the throwaway servers (shadow,
//! practice, test) are private to their owner, and no child process pgalign
//! starts sees pgalign's secrets unless it is the one that connects with them.
//!
//! - another local user tries the server's socket and every TCP port it could
//!   listen on, and its folder;
//! - with canaries in pgalign's environment, the server (`COPY … TO PROGRAM
//!   'env'`, `/proc/<postmaster>/environ`), psql, pg_dump and a `cmd:` source
//!   print their environment;
//! - a `TMPDIR` with spaces, quotes and `$(…)` starts the shadow; a failed
//!   `initdb` or start leaves no folder and no server behind.
//!
//! The child programs are observed through wrapper scripts in a directory named
//! by `PGALIGN_PG_BINDIR` that record their environment and run the real ones.

use crate::support::*;
use pgalign::db::cluster::{Cluster, ServerBinaries};
use std::collections::HashSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const ATTACKER: &str = "pgalign-attacker";
const CANARY_PASSWORD: &str = "secret-canary-pgpassword";
const CANARY_URL: &str = "secret-canary-url";

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// uid and gid of `name`, from /etc/passwd.
fn user_ids(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() > 3 && f[0] == name {
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

/// The second local user (created when missing), or `None` when the tests do
/// not run as root and cannot switch users.
fn attacker() -> Option<(u32, u32)> {
    if !is_root() {
        eprintln!("skipping the second-user attack: it needs root to run as {ATTACKER}");
        return None;
    }
    static IDS: OnceLock<(u32, u32)> = OnceLock::new();
    Some(*IDS.get_or_init(|| {
        if user_ids(ATTACKER).is_none() {
            let out = Command::new("useradd")
                .args([
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    ATTACKER,
                ])
                .output()
                .expect("running useradd");
            assert!(
                out.status.success() || user_ids(ATTACKER).is_some(),
                "useradd {ATTACKER}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        user_ids(ATTACKER).expect("the attacker user exists")
    }))
}

fn real_bindir() -> PathBuf {
    ServerBinaries::find().expect("server binaries").bindir
}

/// Runs `program args` as the attacker, with an environment of its own.
fn as_attacker(ids: (u32, u32), program: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .uid(ids.0)
        .gid(ids.1)
        .current_dir("/")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The lines of the postmaster's `postmaster.pid`: pid, data directory, start
/// time, port, socket directory, listen address, shared memory key, status.
fn postmaster_pid(cluster: &Cluster) -> Vec<String> {
    std::fs::read_to_string(cluster.root().join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Local addresses (`0100007F:1F90`) of the TCP sockets `pid` listens on.
fn tcp_listeners(pid: &str) -> Vec<String> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect();
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(rows) = std::fs::read_to_string(table) else {
            continue;
        };
        for row in rows.lines().skip(1) {
            let f: Vec<&str> = row.split_whitespace().collect();
            // st 0A is LISTEN; the inode is the tenth field.
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                found.push(f[1].to_string());
            }
        }
    }
    found
}

/// psql over the socket as root (who may enter the 0700 folder): the server is
/// up, so a refusal below is the server's privacy, not a dead server.
fn root_reaches(cluster: &Cluster) -> String {
    let out = cluster
        .settings("postgres")
        .client_command(real_bindir().join("psql"))
        .args(["-XAtc", "SELECT 'reached'"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn sec_cluster_another_local_user_cannot_reach_the_throwaway_server() {
    let cluster = Cluster::start().unwrap();
    let root = cluster.root().to_str().unwrap().to_string();
    let port = cluster.port().to_string();
    // The folder that holds the socket is the owner's only.
    let meta = std::fs::metadata(cluster.root()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{root}");
    let data_owner = std::fs::metadata(cluster.root().join("data"))
        .unwrap()
        .uid();
    assert_eq!(
        meta.uid(),
        data_owner,
        "the folder belongs to the server's user"
    );
    let pid = postmaster_pid(&cluster);
    assert_eq!(pid[3], port);
    assert_eq!(pid[4], root, "the socket is in the private folder");
    assert_eq!(pid[5].trim(), "", "listen_addresses is empty: {pid:?}");
    // No TCP listener at all, on any address (the check finds the TLS
    // cluster's, in the test below).
    assert_eq!(tcp_listeners(&pid[0]), Vec::<String>::new());
    for addr in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        assert!(
            std::net::TcpStream::connect(&addr).is_err(),
            "something listens on {addr}"
        );
    }
    assert_eq!(root_reaches(&cluster), "reached");
    assert!(cluster.tcp_settings("postgres").is_none());
    // Its URL (what practice hands the wizard as --shadow) reads back as the socket.
    let back = pgalign::db::ConnSettings::parse_quiet(&cluster.url("shop")).unwrap();
    assert_eq!(
        (back.host.as_str(), back.port, back.dbname.as_str()),
        (root.as_str(), cluster.port(), "shop")
    );

    let Some(ids) = attacker() else {
        return;
    };
    let psql = real_bindir().join("psql");
    let sql = "SELECT 'attacker got in'";
    for target in [
        vec!["-h", root.as_str(), "-p", port.as_str()],
        vec!["-h", "127.0.0.1", "-p", port.as_str()],
        vec!["-h", "localhost", "-p", port.as_str()],
    ] {
        let mut args = vec!["-X", "-w", "-U", "postgres", "-d", "postgres"];
        args.extend(target.iter().copied());
        args.extend(["-Atc", sql]);
        let o = as_attacker(ids, &psql, &args);
        assert!(
            !o.status.success() && !String::from_utf8_lossy(&o.stdout).contains("got in"),
            "the attacker connected with {target:?}: {}",
            text(&o)
        );
    }
    // Neither list, nor enter, nor read the folder.
    let socket = format!("{root}/.s.PGSQL.{port}");
    let pidfile = format!("{root}/data/postmaster.pid");
    for (program, args) in [
        ("/bin/ls", vec![root.as_str()]),
        ("/bin/sh", vec!["-c", &format!("cd '{root}'")]),
        ("/bin/cat", vec![pidfile.as_str()]),
        ("/usr/bin/test", vec!["-e", socket.as_str()]),
    ] {
        let o = as_attacker(ids, Path::new(program), &args);
        assert!(!o.status.success(), "{program} {args:?}: {}", text(&o));
    }
    // The server's environment is its owner's to read, not the attacker's.
    let o = as_attacker(
        ids,
        Path::new("/bin/cat"),
        &[&format!("/proc/{}/environ", pid[0])],
    );
    assert!(!o.status.success(), "{}", text(&o));
}

#[test]
fn sec_cluster_a_tcp_cluster_takes_only_its_random_password_on_127_0_0_1() {
    let cluster = Cluster::start_tcp().unwrap();
    let port = cluster.port().to_string();
    let pid = postmaster_pid(&cluster);
    assert_eq!(pid[5].trim(), "127.0.0.1", "{pid:?}");
    let want = format!("0100007F:{:04X}", cluster.port());
    assert_eq!(tcp_listeners(&pid[0]), vec![want]);
    let tcp = cluster.tcp_settings("postgres").unwrap();
    let password = tcp.password.clone().unwrap();
    assert!(password.len() >= 32, "a long random password");
    let (rules, reached) = block_on(async {
        let c = pgalign::db::connect(&tcp).await.unwrap();
        let rows = c
            .query(
                "SELECT type, auth_method FROM pg_hba_file_rules ORDER BY line_number",
                &[],
            )
            .await
            .unwrap();
        let rules: Vec<String> = rows
            .iter()
            .map(|r| format!("{} {}", r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        (rules, c.query_one("SELECT 1", &[]).await.is_ok())
    });
    assert!(reached);
    assert_eq!(rules, ["local trust", "host scram-sha-256"]);
    // The password is written nowhere under the folder (the pwfile initdb read
    // is gone; the catalog holds a SCRAM verifier, not the password).
    let mut stack = vec![cluster.root().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()) {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                assert!(
                    !bytes
                        .windows(password.len())
                        .any(|w| w == password.as_bytes()),
                    "the password is in {}",
                    e.path().display()
                );
            }
        }
    }
    assert!(!cluster.root().join("superuser.pw").exists());

    let Some(ids) = attacker() else {
        return;
    };
    let psql = real_bindir().join("psql");
    let root = cluster.root().to_str().unwrap();
    for (host, guess) in [
        ("127.0.0.1", None),
        ("127.0.0.1", Some("postgres")),
        (root, None),
    ] {
        let mut cmd = Command::new(&psql);
        cmd.args(["-X", "-w", "-h", host, "-p", &port, "-U", "postgres"])
            .args(["-d", "postgres", "-Atc", "SELECT 'attacker got in'"])
            .env_clear()
            .uid(ids.0)
            .gid(ids.1)
            .current_dir("/");
        if let Some(pw) = guess {
            cmd.env("PGPASSWORD", pw);
        }
        let o = cmd.output().unwrap();
        assert!(
            !o.status.success() && !String::from_utf8_lossy(&o.stdout).contains("got in"),
            "the attacker connected to {host} with {guess:?}: {}",
            text(&o)
        );
    }
}

#[test]
fn sec_cluster_the_server_gets_an_environment_of_its_own() {
    // This test binary's environment has HOME, USER and cargo's CARGO_*.
    assert!(std::env::vars().any(|(k, _)| k.starts_with("CARGO")));
    let cluster = Cluster::start().unwrap();
    let pid = &postmaster_pid(&cluster)[0];
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let keys: Vec<String> = environ
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| {
            let v = String::from_utf8_lossy(v);
            v.split_once('=')
                .map_or(v.to_string(), |(k, _)| k.to_string())
        })
        .collect();
    assert!(keys.iter().any(|k| k == "PATH"), "{keys:?}");
    for k in &keys {
        assert!(
            ["PATH", "LD_LIBRARY_PATH", "TZ", "LC_ALL", "PWD", "PGDATA"].contains(&k.as_str())
                // set by pg_ctl and postgres themselves
                || ["PG_GRANDPARENT_PID", "PGLOCALEDIR", "PGSYSCONFDIR"].contains(&k.as_str()),
            "the server inherited {k}: {keys:?}"
        );
    }
}

/// A directory for `PGALIGN_PG_BINDIR`: the real server binaries linked, and
/// psql, pg_dump and pg_restore wrapped to record their environment in `out`
/// (psql also records the environment of the server it connects to, through
/// `COPY … TO PROGRAM` as its superuser, and of the postmaster, through /proc).
/// `replace` swaps a program for a script of its own (`{real}` in it is the
/// real binaries' directory, `{out}` the recording directory).
struct Spy {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    out: PathBuf,
}

fn write_script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn spy(replace: &[(&str, &str)]) -> Spy {
    let dir = temp_dir();
    // The server runs as another user when we are root: it must reach the
    // binaries, and write into `out` from `COPY … TO PROGRAM`.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("bin");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let real = real_bindir();
    let (r, o) = (real.display(), out.display());
    for tool in ["initdb", "pg_ctl", "postgres"] {
        std::os::unix::fs::symlink(real.join(tool), bin.join(tool)).unwrap();
    }
    for tool in ["pg_dump", "pg_restore"] {
        write_script(
            &bin.join(tool),
            &format!("env > '{o}/{tool}-env.'$$\nexec '{r}/{tool}' \"$@\""),
        );
    }
    write_script(
        &bin.join("psql"),
        &format!(
            "env > '{o}/psql-env.'$$\n\
             '{r}/psql' -X -q -c \"COPY (SELECT 1) TO PROGRAM 'env > {o}/server-env.$$'\"\n\
             tr '\\0' '\\n' < /proc/$(head -1 \"$PGHOST/data/postmaster.pid\")/environ > '{o}/postmaster-env.'$$\n\
             exec '{r}/psql' \"$@\""
        ),
    );
    for (tool, body) in replace {
        let path = bin.join(tool);
        let _ = std::fs::remove_file(&path);
        let body = body
            .replace("{real}", &r.to_string())
            .replace("{out}", &o.to_string());
        write_script(&path, &body);
    }
    Spy {
        _dir: dir,
        bin,
        out,
    }
}

impl Spy {
    /// The pgalign binary with canaries in its environment and the spies as
    /// its PostgreSQL.
    fn pgalign(&self) -> Command {
        let mut cmd = pgalign();
        cmd.env("PGALIGN_PG_BINDIR", &self.bin)
            .env("PGPASSWORD", CANARY_PASSWORD)
            .env(
                "PGALIGN_DB_URL",
                format!("postgresql://u:{CANARY_URL}@prod.invalid/db"),
            )
            .env("KEEP_ME", "visible");
        cmd
    }

    /// The recorded environments whose file name starts with `prefix`.
    fn recorded(&self, prefix: &str) -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(&self.out)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        found.sort();
        found
    }
}

fn desired_file(dir: &Path) -> PathBuf {
    let path = dir.join("desired.sql");
    std::fs::write(&path, "CREATE TABLE public.wanted (id int);\n").unwrap();
    path
}

#[test]
fn sec_cluster_no_child_sees_pgaligns_secrets_unless_it_connects_with_them() {
    let live = test_db("sec_cluster_env");
    let spy = spy(&[]);
    let dir = temp_dir();
    let desired = desired_file(dir.path());

    // A desired file, loaded into a shadow cluster by psql.
    let o = spy
        .pgalign()
        .args(["diff", "--db", &live.url(), "--desired"])
        .arg(&desired)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    for (kind, must_hold) in [
        ("psql-env", "PGHOST="),
        ("server-env", "PATH="),
        ("postmaster-env", "PGDATA="),
    ] {
        let envs = spy.recorded(kind);
        assert!(!envs.is_empty(), "no {kind} was recorded");
        for env in envs {
            assert!(env.contains(must_hold), "{kind}: {env}");
            for canary in [CANARY_PASSWORD, CANARY_URL, "KEEP_ME"] {
                assert!(!env.contains(canary), "{kind} holds {canary}: {env}");
            }
        }
    }

    // A `cmd:` source: the operator's environment without pgalign's secrets…
    let cmd_env = spy.out.join("cmd-env.txt");
    let source = format!(
        "cmd:env > '{}'; cat '{}'",
        cmd_env.display(),
        desired.display()
    );
    let o = spy
        .pgalign()
        .args(["diff", "--db", &live.url(), "--desired", &source])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let env = std::fs::read_to_string(&cmd_env).unwrap();
    assert!(env.contains("KEEP_ME=visible"), "{env}");
    assert!(
        !env.contains(CANARY_PASSWORD) && !env.contains(CANARY_URL),
        "{env}"
    );
    // …unless the command names them.
    let named = spy.out.join("named.txt");
    let source = format!(
        "cmd:echo \"pw=$PGPASSWORD\" > '{}'; cat '{}'",
        named.display(),
        desired.display()
    );
    let o = spy
        .pgalign()
        .args(["diff", "--db", &live.url(), "--desired", &source])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let text_named = std::fs::read_to_string(&named).unwrap();
    assert_eq!(text_named.trim(), format!("pw={CANARY_PASSWORD}"));

    // pg_dump connects to the target: it gets the target's password (here from
    // PGPASSWORD, as libpq reads it) and nothing else of pgalign's.
    let out = dir.path().join("backups");
    let o = spy
        .pgalign()
        .args(["backup", "--db", &live.url(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let dumps: Vec<String> = spy
        .recorded("pg_dump-env")
        .into_iter()
        .filter(|e| e.contains("PGHOST="))
        .collect();
    assert_eq!(dumps.len(), 2, "a dump and a schema dump: {dumps:?}");
    for env in dumps.iter().chain(&spy.recorded("pg_restore-env")) {
        assert!(
            !env.contains(CANARY_URL) && !env.contains("KEEP_ME"),
            "{env}"
        );
        assert!(!env.lines().any(|l| l.starts_with("HOME=")), "{env}");
    }
    for env in &dumps {
        assert!(
            env.lines()
                .any(|l| l == format!("PGPASSWORD={CANARY_PASSWORD}")),
            "{env}"
        );
        assert!(
            env.lines()
                .any(|l| l == format!("PGDATABASE={}", live.name)),
            "{env}"
        );
    }
}

/// What is left in `dir`, and any process whose working directory is under it.
fn leftovers(dir: &Path) -> (Vec<String>, Vec<String>) {
    let files = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let prefix = dir.to_string_lossy().into_owned();
    let procs = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            cwd.to_string_lossy()
                .starts_with(&prefix)
                .then(|| format!("pid {}: {}", e.file_name().to_string_lossy(), cwd.display()))
        })
        .collect();
    (files, procs)
}

/// A private TMPDIR the server user can reach, named `name` inside a fresh
/// temporary directory.
fn tmpdir_named(name: &str) -> (tempfile::TempDir, PathBuf) {
    let base = temp_dir();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let tmp = base.path().join(name);
    std::fs::create_dir(&tmp).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
    (base, tmp)
}

#[test]
fn sec_cluster_a_tmpdir_with_spaces_quotes_and_a_command_starts_the_shadow() {
    let live = test_db("sec_cluster_tmpdir");
    let (_base, tmp) = tmpdir_named("a b 'q' \"d\" $(touch X) `touch Y`");
    let dir = temp_dir();
    let desired = desired_file(dir.path());
    let o = pgalign()
        .env("TMPDIR", &tmp)
        .args(["diff", "--db", &live.url(), "--desired"])
        .arg(&desired)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stdout(&o).contains("CREATE TABLE public.wanted"),
        "{}",
        text(&o)
    );
    let (files, procs) = leftovers(&tmp);
    assert!(files.is_empty() && procs.is_empty(), "{files:?} {procs:?}");
}

#[test]
fn sec_cluster_a_failed_initdb_or_start_leaves_no_folder_and_no_server() {
    let live = test_db("sec_cluster_failed_start");
    let dir = temp_dir();
    let desired = desired_file(dir.path());
    // Each fake records its working directory: the cluster's folder.
    let cases: [(&str, &str, &str); 2] = [
        (
            "initdb",
            "pwd > '{out}/folder'\necho 'initdb: refusing on purpose' >&2\nexit 1",
            "initdb failed: initdb: refusing on purpose",
        ),
        // The real server starts, then pg_ctl reports a failure: it must be stopped.
        (
            "pg_ctl",
            "'{real}/pg_ctl' \"$@\"\nst=$?\ncase \" $* \" in *' start '*) pwd > '{out}/folder'; \
             echo 'pg_ctl: refusing on purpose' >&2; exit 1;; esac\nexit $st",
            "starting the throwaway PostgreSQL server failed",
        ),
    ];
    for (tool, script, message) in cases {
        let spy = spy(&[(tool, script)]);
        // In a long-lived process (the wizard), through the library: the error
        // itself cleans up, not the exit.
        let bins = ServerBinaries::at(&spy.bin).unwrap();
        let err = format!("{:#}", Cluster::start_with(&bins).unwrap_err());
        assert!(err.contains(message), "{tool}: {err}");
        let folder = std::fs::read_to_string(spy.out.join("folder")).unwrap();
        let folder = Path::new(folder.trim());
        assert!(
            folder.starts_with(std::env::temp_dir()) && !folder.exists(),
            "{tool}: {} was left behind",
            folder.display()
        );
        let (_, procs) = leftovers(folder.parent().unwrap());
        assert!(
            !procs.iter().any(|p| p.contains(&*folder.to_string_lossy())),
            "{tool}: a server was left running: {procs:?}"
        );
        // Through the binary, in a TMPDIR of its own.
        let (_base, tmp) = tmpdir_named("tmp");
        let o = spy
            .pgalign()
            .env("TMPDIR", &tmp)
            .args(["diff", "--db", &live.url(), "--desired"])
            .arg(&desired)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{tool}: {}", text(&o));
        assert!(stderr(&o).contains(message), "{tool}: {}", text(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", text(&o));
        let (files, procs) = leftovers(&tmp);
        assert!(
            files.is_empty() && procs.is_empty(),
            "{tool}: left behind {files:?} {procs:?}"
        );
    }
}

#[test]
fn sec_cluster_root_never_follows_a_link_planted_in_the_server_users_folder() {
    // Whoever runs as the server user (a throwaway server's superuser can)
    // owns the cluster's folder while root writes its settings there.
    if !is_root() {
        eprintln!("skipping: the folder belongs to another user only when pgalign runs as root");
        return;
    }
    // A root-only file the planted link points at.
    let vault = temp_dir();
    let secret = "secret-canary-root-file\n";
    std::fs::write(vault.path().join("postgresql.conf"), secret).unwrap();
    std::fs::write(vault.path().join("pg_hba.conf"), secret).unwrap();
    // After the real initdb, `data` becomes a link into the vault.
    let spy = spy(&[(
        "initdb",
        &format!(
            "'{{real}}/initdb' \"$@\" || exit 1\nmv data data.real && ln -s '{}' data",
            vault.path().display()
        ),
    )]);
    let bins = ServerBinaries::at(&spy.bin).unwrap();
    let err = format!("{:#}", Cluster::start_with(&bins).unwrap_err());
    assert!(err.contains("pg_hba.conf"), "{err}");
    assert!(!err.contains("secret-canary"), "{err}");
    for file in ["postgresql.conf", "pg_hba.conf"] {
        assert_eq!(
            std::fs::read_to_string(vault.path().join(file)).unwrap(),
            secret,
            "root wrote through the planted link into {file}"
        );
    }
}
