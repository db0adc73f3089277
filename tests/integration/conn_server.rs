//! The TLS-only test server for `conn.rs`: a test CA, a server certificate for
//! `localhost` (so 127.0.0.1 is a hostname mismatch), a client certificate,
//! `hostssl` + SCRAM in pg_hba.conf; and helpers that connect and classify.

use crate::support::block_on;
use pgalign::db::cluster::Cluster;
use pgalign::db::{ConnEnv, ConnSettings, ConnectError, ConnectErrorKind};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The test role's password: URL- and pgpass-hostile on purpose.
pub const PW: &str = "pa:ss@w/rd%&x";
pub const PW_URL: &str = "pa%3Ass%40w%2Frd%25%26x";

pub struct TlsServer {
    pub port: u16,
    pub socket_dir: PathBuf,
    pub bindir: PathBuf,
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

pub fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn server_uid_gid(data: &Path) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(data).unwrap();
    (m.uid(), m.gid())
}

pub fn server() -> &'static TlsServer {
    SERVER.get_or_init(|| {
        // TLS needs TCP: the one kind of cluster that listens on 127.0.0.1
        // (SCRAM, a random superuser password); setup goes through its socket.
        let cluster = Cluster::start_tcp().expect("starting the TLS test cluster");
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
    pub fn file(&self, name: &str) -> String {
        self.files.join(name).display().to_string()
    }

    /// An environment with an empty home and nothing else.
    pub fn env(&self, extra: &[(&str, &str)]) -> ConnEnv {
        let home = self.file("home");
        let mut pairs = vec![("HOME".to_string(), home)];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        ConnEnv::from_pairs(pairs)
    }

    /// `app` on `appdb` with the password, plus `extra` conninfo.
    pub fn settings(&self, extra: &str) -> ConnSettings {
        let s = format!(
            "port={} user=app dbname=appdb password='{PW}' {extra}",
            self.port
        );
        ConnSettings::parse_with(&s, &self.env(&[])).unwrap()
    }
}

/// Connects and reports whether the session is encrypted.
pub fn connect(s: &ConnSettings) -> Result<bool, ConnectError> {
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
pub fn fails(s: &ConnSettings, kind: ConnectErrorKind) -> String {
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
