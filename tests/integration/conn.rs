//! Connecting the way libpq does, against a real TLS-only server: a test CA and
//! a server certificate for `localhost` generated here, `hostssl` + SCRAM in
//! pg_hba.conf, and every error the operator may meet.

use crate::support::{admin, block_on, pgalign, stderr};
use pgalign::db::cluster::Cluster;
use pgalign::db::{ConnEnv, ConnSettings, ConnectError, ConnectErrorKind};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The test role's password: URL- and pgpass-hostile on purpose.
const PW: &str = "pa:ss@w/rd%&x";
const PW_URL: &str = "pa%3Ass%40w%2Frd%25%26x";

struct TlsServer {
    port: u16,
    socket_dir: PathBuf,
    bindir: PathBuf,
    /// ca.crt, other-ca.crt, client.crt, client.key, and an empty `home/`.
    files: PathBuf,
}

static SERVER: OnceLock<TlsServer> = OnceLock::new();
static CLUSTER: Mutex<Option<Cluster>> = Mutex::new(None);

extern "C" fn stop_tls_cluster() {
    if let Ok(mut c) = CLUSTER.lock() {
        c.take();
    }
}

fn ca(name: &str) -> (CertificateParams, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (p, KeyPair::generate().unwrap())
}

/// A certificate signed by `issuer`: (cert PEM, key PEM).
fn leaf(cn: &str, sans: Vec<String>, issuer: &Issuer<'_, KeyPair>) -> (String, String) {
    let mut p = CertificateParams::new(sans).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    let key = KeyPair::generate().unwrap();
    (
        p.signed_by(&key, issuer).unwrap().pem(),
        key.serialize_pem(),
    )
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn server_uid_gid(data: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(data).unwrap();
    (m.uid(), m.gid())
}

fn server() -> &'static TlsServer {
    SERVER.get_or_init(|| {
        let cluster = Cluster::start().expect("starting the TLS test cluster");
        let data = cluster.root().join("data");
        // Client-side files live in the cluster's directory: removed with it.
        let files = cluster.root().join("client");
        std::fs::create_dir_all(files.join("home")).unwrap();
        let (ca_params, ca_key) = ca("pgalign test CA");
        let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca_params, ca_key);
        let (other_params, other_key) = ca("some other CA");
        std::fs::write(
            files.join("other-ca.crt"),
            other_params.self_signed(&other_key).unwrap().pem(),
        )
        .unwrap();
        std::fs::write(files.join("ca.crt"), &ca_pem).unwrap();
        // The certificate names localhost only: 127.0.0.1 is a hostname mismatch.
        let (crt, key) = leaf("localhost", vec!["localhost".into()], &issuer);
        let (uid, gid) = server_uid_gid(&data);
        for (name, text) in [
            ("server.crt", &crt),
            ("server.key", &key),
            ("ca.crt", &ca_pem),
        ] {
            let path = data.join(name);
            write_private(&path, text);
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        }
        let (crt, key) = leaf("certuser", vec![], &issuer);
        std::fs::write(files.join("client.crt"), crt).unwrap();
        write_private(&files.join("client.key"), &key);

        let admin = cluster.settings("postgres");
        block_on(async {
            let c = pgalign::db::connect(&admin).await.unwrap();
            let create_app = format!("CREATE ROLE app LOGIN PASSWORD '{PW}'");
            for sql in [
                "ALTER SYSTEM SET ssl = on",
                "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
                "ALTER SYSTEM SET ssl_key_file = 'server.key'",
                "ALTER SYSTEM SET ssl_ca_file = 'ca.crt'",
                "SET password_encryption = 'scram-sha-256'",
                &create_app,
                "CREATE ROLE certuser LOGIN",
                "CREATE DATABASE appdb OWNER app",
            ] {
                c.batch_execute(sql).await.unwrap();
            }
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\n\
                 hostssl all certuser 127.0.0.1/32 cert\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n\
                 hostssl all all ::1/128 scram-sha-256\n",
            )
            .unwrap();
            c.batch_execute("SELECT pg_reload_conf()").await.unwrap();
        });
        let server = TlsServer {
            port: cluster.port(),
            socket_dir: cluster.root().to_path_buf(),
            bindir: cluster.bindir().to_path_buf(),
            files,
        };
        *CLUSTER.lock().unwrap() = Some(cluster);
        // SAFETY: registering a plain extern "C" function.
        unsafe { libc::atexit(stop_tls_cluster) };
        // The reload is asynchronous: wait until TLS connections work.
        let probe = server.settings("host=localhost sslmode=require");
        for _ in 0..100 {
            if block_on(pgalign::db::connect(&probe)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the TLS test server did not come up with TLS");
    })
}

impl TlsServer {
    fn file(&self, name: &str) -> String {
        self.files.join(name).display().to_string()
    }

    /// An environment with an empty home and nothing else.
    fn env(&self, extra: &[(&str, &str)]) -> ConnEnv {
        let home = self.file("home");
        let mut pairs = vec![("HOME".to_string(), home)];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ConnEnv::from_pairs(pairs)
    }

    /// `app` on `appdb` with the password, plus `extra` conninfo.
    fn settings(&self, extra: &str) -> ConnSettings {
        let s = format!(
            "port={} user=app dbname=appdb password='{PW}' {extra}",
            self.port
        );
        ConnSettings::parse_with(&s, &self.env(&[])).unwrap()
    }
}

/// Connects and reports whether the session is encrypted.
fn connect(s: &ConnSettings) -> Result<bool, ConnectError> {
    block_on(async {
        let c = pgalign::db::connect(s)
            .await
            .map_err(|e| e.downcast::<ConnectError>().unwrap())?;
        let row = c
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        Ok(row.get(0))
    })
}

/// Connects expecting an error of `kind`; checks the message names the target
/// and never holds the password.
fn fails(s: &ConnSettings, kind: ConnectErrorKind) -> String {
    let err = connect(s).expect_err("connection should fail");
    let msg = err.to_string();
    eprintln!("{kind:?}: {msg}");
    assert_eq!(err.kind, kind, "{msg}");
    assert!(
        msg.contains(&s.to_string()),
        "message does not name the target: {msg}"
    );
    assert!(
        !msg.contains(PW) && !msg.contains(PW_URL),
        "password leaked: {msg}"
    );
    msg
}

#[test]
fn conn_verify_full_with_the_ca_succeeds() {
    let t = server();
    let s = t.settings(&format!(
        "host=localhost sslmode=verify-full sslrootcert={}",
        t.file("ca.crt")
    ));
    assert!(connect(&s).unwrap(), "session should be encrypted");
    let app = block_on(async {
        let c = pgalign::db::connect(&s).await.unwrap();
        let r = c
            .query_one(
                "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .unwrap();
        r.get::<_, String>(0)
    });
    assert_eq!(app, "pgalign");
}

#[test]
fn conn_url_with_percent_encoded_password_and_channel_binding() {
    let t = server();
    let url = format!(
        "postgresql://app:{PW_URL}@localhost:{}/appdb?sslmode=verify-full&sslrootcert={}&channel_binding=require",
        t.port,
        t.file("ca.crt")
    );
    let s = ConnSettings::parse_with(&url, &t.env(&[])).unwrap();
    assert_eq!(s.password.as_deref(), Some(PW));
    assert!(connect(&s).unwrap());
}

#[test]
fn conn_hostname_mismatch_is_its_own_error() {
    let t = server();
    let s = t.settings(&format!(
        "host=127.0.0.1 sslmode=verify-full sslrootcert={}",
        t.file("ca.crt")
    ));
    let msg = fails(&s, ConnectErrorKind::HostnameMismatch);
    assert!(msg.contains("hostname mismatch"), "{msg}");
    // verify-ca checks the chain only.
    let s = t.settings(&format!(
        "host=127.0.0.1 sslmode=verify-ca sslrootcert={}",
        t.file("ca.crt")
    ));
    assert!(connect(&s).unwrap());
}

#[test]
fn conn_untrusted_certificate_is_refused() {
    let t = server();
    let s = t.settings(&format!(
        "host=localhost sslmode=verify-full sslrootcert={}",
        t.file("other-ca.crt")
    ));
    let msg = fails(&s, ConnectErrorKind::CertificateNotTrusted);
    assert!(msg.contains("not trusted"), "{msg}");
    let s = t.settings("host=localhost sslrootcert=system");
    assert_eq!(s.sslmode, "verify-full");
    fails(&s, ConnectErrorKind::CertificateNotTrusted);
    // No CA at all: refused before connecting, with the way out.
    let s = t.settings("host=localhost sslmode=verify-full");
    let msg = block_on(pgalign::db::connect(&s)).unwrap_err().to_string();
    assert!(
        msg.contains("needs a root certificate") && msg.contains("app@localhost"),
        "{msg}"
    );
}

#[test]
fn conn_sslmode_disable_is_refused_by_a_hostssl_server() {
    let t = server();
    let msg = fails(
        &t.settings("host=127.0.0.1 sslmode=disable"),
        ConnectErrorKind::TlsRequiredByServer,
    );
    assert!(msg.contains("requires TLS but sslmode=disable"), "{msg}");
    // allow tries plain text first, then TLS.
    assert!(connect(&t.settings("host=127.0.0.1 sslmode=allow")).unwrap());
}

#[test]
fn conn_require_and_prefer_encrypt_without_a_ca() {
    let t = server();
    assert!(connect(&t.settings("host=127.0.0.1 sslmode=require")).unwrap());
    assert!(
        connect(&t.settings("host=127.0.0.1")).unwrap(),
        "prefer is the default"
    );
}

#[test]
fn conn_wrong_password_missing_database_missing_role() {
    let t = server();
    let s = ConnSettings::parse_with(
        &format!(
            "host=localhost port={} user=app dbname=appdb password=wrong-{PW} sslmode=require",
            t.port
        ),
        &t.env(&[]),
    )
    .unwrap();
    let msg = fails(&s, ConnectErrorKind::PasswordFailed);
    assert!(
        msg.starts_with("password authentication failed for app@localhost"),
        "{msg}"
    );
    let s = t.settings("host=localhost sslmode=require dbname=nosuchdb");
    let msg = fails(&s, ConnectErrorKind::DatabaseMissing);
    assert!(
        msg.contains("database \"nosuchdb\" does not exist"),
        "{msg}"
    );
    // Over the socket (trust) the server says which role is missing.
    let s = ConnSettings::parse_with(
        &format!("host={} port={} user=ghost", t.socket_dir.display(), t.port),
        &t.env(&[]),
    )
    .unwrap();
    fails(&s, ConnectErrorKind::RoleMissing);
    // No password anywhere.
    let s = ConnSettings::parse_with(
        &format!("host=localhost port={} user=app sslmode=require", t.port),
        &t.env(&[]),
    )
    .unwrap();
    fails(&s, ConnectErrorKind::PasswordMissing);
}

#[test]
fn conn_closed_port_is_unreachable() {
    let t = server();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = ConnSettings::parse_with(
        &format!("host=127.0.0.1 port={port} user=app password='{PW}' sslmode=require"),
        &t.env(&[]),
    )
    .unwrap();
    let msg = fails(&s, ConnectErrorKind::Unreachable);
    assert!(msg.contains("refused"), "{msg}");
}

#[test]
fn conn_pgpass_supplies_the_password_unless_others_can_read_it() {
    let t = server();
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    let escaped = PW.replace('\\', "\\\\").replace(':', "\\:");
    write_private(
        &pgpass,
        &format!("# test\nlocalhost:{}:appdb:app:{escaped}\n", t.port),
    );
    let env = t.env(&[("PGPASSFILE", pgpass.to_str().unwrap())]);
    let conninfo = format!(
        "host=localhost port={} user=app dbname=appdb sslmode=require",
        t.port
    );
    let s = ConnSettings::parse_with(&conninfo, &env).unwrap();
    assert_eq!(s.passfile.as_deref(), Some(pgpass.as_path()));
    assert!(connect(&s).unwrap());
    // psql gets the same settings through its environment and connects alike.
    let mut psql = std::process::Command::new(t.bindir.join("psql"));
    psql.args([
        "-XAtc",
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    ]);
    s.apply_env(&mut psql);
    let out = psql.output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "t",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = ConnSettings::parse_with(&conninfo, &env).unwrap();
    assert!(s.warnings[0].contains("group or world access"));
    let msg = fails(&s, ConnectErrorKind::PasswordMissing);
    assert!(
        msg.contains("has group or world access and is ignored"),
        "{msg}"
    );
}

#[test]
fn conn_url_beats_environment_and_service_file_works() {
    let t = server();
    let env = t.env(&[
        ("PGHOST", "nowhere.invalid"),
        ("PGPORT", "1"),
        ("PGUSER", "ghost"),
        ("PGPASSWORD", "wrong"),
        ("PGSSLMODE", "disable"),
        ("PGDATABASE", "nosuchdb"),
    ]);
    let url = format!(
        "postgres://app:{PW_URL}@localhost:{}/appdb?sslmode=require",
        t.port
    );
    assert!(connect(&ConnSettings::parse_with(&url, &env).unwrap()).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let services = dir.path().join("services.conf");
    std::fs::write(
        &services,
        format!(
            "[tlsdb]\nhost=localhost\nport={}\ndbname=appdb\nsslmode=verify-full\nsslrootcert={}\n",
            t.port,
            t.file("ca.crt")
        ),
    )
    .unwrap();
    let env = t.env(&[
        ("PGSERVICEFILE", services.to_str().unwrap()),
        ("PGSYSCONFDIR", "/nonexistent"),
        ("PGSERVICE", "tlsdb"),
        ("PGUSER", "app"),
        ("PGPASSWORD", PW),
        ("PGHOST", "ignored-because-the-service-sets-it"),
    ]);
    let s = ConnSettings::parse_with("", &env).unwrap();
    assert_eq!(s.to_string(), format!("app@localhost:{}/appdb", t.port));
    assert!(connect(&s).unwrap());
}

#[test]
fn conn_client_certificate_authenticates() {
    let t = server();
    let s = ConnSettings::parse_with(
        &format!(
            "host=localhost port={} user=certuser dbname=appdb sslmode=verify-full sslrootcert={} sslcert={} sslkey={}",
            t.port,
            t.file("ca.crt"),
            t.file("client.crt"),
            t.file("client.key")
        ),
        &t.env(&[]),
    )
    .unwrap();
    assert!(connect(&s).unwrap());
    // cert authentication is not SCRAM: no channel binding to require.
    let mut strict = s.clone();
    strict.channel_binding = "require".into();
    fails(&strict, ConnectErrorKind::ChannelBinding);
}

#[test]
fn conn_server_without_tls_is_refused_when_tls_is_required() {
    // The shared test cluster has TLS off.
    let mut s = admin();
    s.sslmode = "require".into();
    let msg = fails(&s, ConnectErrorKind::ServerWithoutTls);
    assert!(
        msg.contains("does not support TLS, but sslmode=require requires it"),
        "{msg}"
    );
    s.sslmode = "prefer".into();
    assert!(!connect(&s).unwrap(), "prefer falls back to plain text");
}

/// The binary reads the process environment: each source in turn.
#[test]
fn conn_cli_takes_settings_from_the_environment_and_the_url() {
    let t = server();
    let ca = t.file("ca.crt");
    let port = t.port.to_string();
    let env = [
        ("HOME", t.file("home")),
        ("PGHOST", "localhost".into()),
        ("PGPORT", port.clone()),
        ("PGUSER", "app".into()),
        ("PGDATABASE", "appdb".into()),
        ("PGSSLMODE", "verify-full".into()),
        ("PGSSLROOTCERT", ca.clone()),
    ];
    let inspect = |db: &str, password: &str| {
        let mut cmd = pgalign();
        cmd.args(["inspect", "--db", db, "--format", "json"]);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("PG")) {
            cmd.env_remove(k);
        }
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PGPASSWORD", password);
        cmd.output().unwrap()
    };
    let ok = inspect("", PW);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let bad = inspect("", "not-the-password");
    let err = stderr(&bad);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        err.contains(&format!(
            "password authentication failed for app@localhost:{port}/appdb"
        )),
        "{err}"
    );
    assert!(!err.contains("not-the-password"), "{err}");
    // The URL beats the environment's wrong password.
    let url = format!("postgres://app:{PW_URL}@localhost:{port}/appdb?sslrootcert={ca}");
    let ok = inspect(&url, "not-the-password");
    assert!(ok.status.success(), "{}", stderr(&ok));
}
