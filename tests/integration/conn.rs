//! Connecting the way libpq does, against a real TLS-only server: a test CA and
//! a server certificate for `localhost` generated here, `hostssl` + SCRAM in
//! pg_hba.conf, and every error the operator may meet.

#[path = "conn_server.rs"]
mod server;

use crate::support::{block_on, pgalign, stderr};
use pgalign::db::{ConnSettings, ConnectErrorKind};
use server::*;
use std::os::unix::fs::PermissionsExt;

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
    // A cluster with TLS off; TLS needs TCP (the shared test cluster listens on
    // its socket only), so one that also listens on 127.0.0.1, with SCRAM.
    let cluster = pgalign::db::cluster::Cluster::start_tcp().unwrap();
    let mut s = cluster.tcp_settings("postgres").unwrap();
    s.sslmode = pgalign::db::conn::SslMode::Require;
    let msg = fails(&s, ConnectErrorKind::ServerWithoutTls);
    assert!(
        msg.contains("does not support TLS, but sslmode=require requires it"),
        "{msg}"
    );
    s.sslmode = pgalign::db::conn::SslMode::Prefer;
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

/// A proxy in front of the TLS test server that, like a TLS-only pooler,
/// drops every connection whose first packet is not an SSLRequest (a plain
/// cancel request included) and passes the rest through untouched. Returns
/// its port and a counter of the plain packets it dropped.
async fn tls_only_proxy(server_port: u16) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::AsyncReadExt;
    use tokio::io::AsyncWriteExt;
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = dropped.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut first = [0u8; 8];
                if client.read_exact(&mut first).await.is_err() || first != SSL_REQUEST {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return;
                }
                let mut server = tokio::net::TcpStream::connect(("127.0.0.1", server_port))
                    .await
                    .unwrap();
                server.write_all(&first).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    (port, dropped)
}

#[test]
fn conn_cancel_handle_cancels_over_tls_through_a_tls_only_proxy() {
    let t = server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (port, dropped) = tls_only_proxy(t.port).await;
        let s = ConnSettings::parse_with(
            &format!(
                "host=127.0.0.1 port={port} user=app dbname=appdb password='{PW}' sslmode=require"
            ),
            &t.env(&[]),
        )
        .unwrap();
        let client = pgalign::db::connect(&s).await.unwrap();
        let handle = pgalign::apply::CancelHandle::new(client.cancel_token(), s.clone());
        let started = std::time::Instant::now();
        let sleep = tokio::spawn(async move { client.batch_execute("SELECT pg_sleep(30)").await });
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        handle.cancel().await.expect("sending the cancel request");
        let ended = tokio::time::timeout(std::time::Duration::from_secs(10), sleep)
            .await
            .expect("the statement was not cancelled within 10 s")
            .unwrap();
        let err = ended.expect_err("pg_sleep(30) should have been cancelled");
        assert_eq!(
            err.code(),
            Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
            "{err}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(dropped.load(std::sync::atomic::Ordering::SeqCst), 0);
    });
}
