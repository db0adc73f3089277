//! Shared test helpers: a throwaway cluster for the whole test binary (stopped
//! by an `atexit` hook; private like every throwaway cluster: a unix socket in a
//! 0700 folder, no TCP), a fresh database per test, and the pgalign binary.
//!
//! - `PGALIGN_TEST_URL=postgres://…/postgres`: use that server instead (the
//!   role needs CREATEDB).
//! - `PGALIGN_TEST_KEEP=1`: keep the databases (and the cluster) for debugging;
//!   their URLs are printed.
#![allow(dead_code)]

use pgalign::db::ConnSettings;
use pgalign::db::cluster::Cluster;
use pgalign::db::conninfo::pct;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

static ADMIN: OnceLock<ConnSettings> = OnceLock::new();
static CLUSTER: Mutex<Option<Cluster>> = Mutex::new(None);
static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn keep() -> bool {
    std::env::var("PGALIGN_TEST_KEEP").is_ok_and(|v| v == "1")
}

extern "C" fn stop_cluster() {
    let cluster = CLUSTER.lock().ok().and_then(|mut c| c.take());
    if let Some(mut cluster) = cluster
        && keep()
    {
        cluster.keep();
        eprintln!(
            "PGALIGN_TEST_KEEP=1: cluster kept at {}",
            cluster.root().display()
        );
    }
}

/// Settings for the server's maintenance database (`postgres`).
pub fn admin() -> ConnSettings {
    ADMIN
        .get_or_init(|| {
            if let Ok(url) = std::env::var("PGALIGN_TEST_URL") {
                return ConnSettings::parse(&url).expect("PGALIGN_TEST_URL parses");
            }
            let cluster = Cluster::start().expect("starting the test cluster");
            let settings = cluster.settings("postgres");
            // Statistics change only when a test runs ANALYZE: autovacuum
            // analysing a table mid-test (under load) turned counted sizes
            // into estimates and row statistics into numbers.
            for sql in [
                "ALTER SYSTEM SET autovacuum = off",
                "SELECT pg_reload_conf()",
            ] {
                let mut psql = std::process::Command::new(pgalign::db::shadow::psql_path());
                settings.apply_env(&mut psql);
                let ok = psql
                    .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok, "{sql} on the test cluster");
            }
            *CLUSTER.lock().unwrap() = Some(cluster);
            // SAFETY: registering a plain extern "C" function.
            unsafe { libc::atexit(stop_cluster) };
            settings
        })
        .clone()
}

/// A fresh, empty database for one test, dropped when the value is dropped
/// (unless `PGALIGN_TEST_KEEP=1`).
pub struct TestDb {
    pub name: String,
    pub settings: ConnSettings,
}

impl TestDb {
    /// The database's URL (with its password, if any). A socket directory is
    /// percent-encoded as the host (`postgres://postgres@%2Ftmp%2F…:port/db`).
    pub fn url(&self) -> String {
        let s = &self.settings;
        match &s.password {
            Some(pw) => {
                let url = s.redacted_url();
                let user = format!("postgres://{}@", pct(&s.user));
                url.replacen(
                    &user,
                    &format!("postgres://{}:{}@", pct(&s.user), pct(pw)),
                    1,
                )
            }
            None => s.redacted_url(),
        }
    }

    /// Runs SQL (several statements allowed) and panics with the server's message.
    pub fn exec(&self, sql: &str) {
        let settings = self.settings.clone();
        let sql = sql.to_string();
        block_on(async move {
            let client = pgalign::db::connect(&settings).await.unwrap();
            if let Err(e) = client.batch_execute(&sql).await {
                panic!("{}: {}", settings, pgalign::db::describe_error(&e));
            }
        });
    }

    /// Runs a query returning one text value (use ::text casts).
    pub fn query_one(&self, sql: &str) -> String {
        let settings = self.settings.clone();
        let sql = sql.to_string();
        block_on(async move {
            let client = pgalign::db::connect(&settings).await.unwrap();
            let row = client
                .query_one(&sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {}", pgalign::db::describe_error(&e)));
            row.get::<_, Option<String>>(0).unwrap_or_default()
        })
    }

    /// Loads a SQL file or text with psql (like an operator would).
    pub fn load(&self, sql: &str) {
        pgalign::db::shadow::run_psql(&self.settings, None, Some(sql.as_bytes()))
            .unwrap_or_else(|e| panic!("loading SQL into {}: {e:#}", self.name));
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if keep() {
            eprintln!("PGALIGN_TEST_KEEP=1: kept {}", self.settings.redacted_url());
            return;
        }
        let admin = admin();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            block_on(async move {
                if let Ok(c) = pgalign::db::connect(&admin).await {
                    let _ = c
                        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .await;
                }
            })
        })
        .join();
    }
}

/// Creates a fresh database named after the test.
pub fn test_db(label: &str) -> TestDb {
    let admin = admin();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let clean: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let name = format!("t_{clean}_{}_{n}", std::process::id());
    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE template0");
    let a = admin.clone();
    block_on(async move {
        let c = pgalign::db::connect(&a)
            .await
            .expect("connecting to the test server");
        c.batch_execute(&sql)
            .await
            .expect("creating a test database");
    });
    TestDb {
        settings: admin.with_dbname(&name),
        name,
    }
}

/// Runs a future to completion on a fresh current-thread runtime (tests are sync).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The pgalign binary built for this test run.
pub fn pgalign() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pgalign"));
    cmd.env("NO_COLOR", "1").env_remove("PGALIGN_DB_URL");
    cmd
}

/// Runs pgalign with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    pgalign().args(args).output().expect("running pgalign")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory for one test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("creating a temp dir")
}

/// `../shared/corpus` next to the project, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "the shared corpus is missing at {} (required under CI)",
            dir.display()
        );
    }
    eprintln!("skipping: the shared corpus is not at {}", dir.display());
    None
}
