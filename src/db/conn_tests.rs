//! Precedence and resolution of connection settings, against explicit
//! environments (no process environment is touched).

use super::*;
use std::os::unix::fs::PermissionsExt;

fn env(pairs: &[(&str, &str)]) -> ConnEnv {
    ConnEnv::from_pairs(pairs.iter().copied())
}

/// A home directory with a `.pgpass` (mode 0600) and a service file.
fn home(pgpass: &str, services: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join(".pgpass");
    std::fs::write(&pass, pgpass).unwrap();
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(dir.path().join(".pg_service.conf"), services).unwrap();
    dir
}

#[test]
fn display_never_shows_the_password() {
    let s = ConnSettings::parse_with("postgres://app:hunter2@db:5432/shop", &env(&[])).unwrap();
    assert_eq!(s.to_string(), "app@db:5432/shop");
    assert!(!format!("{s:?}").contains("hunter2"));
    assert!(!s.redacted_url().contains("hunter2"));
}

#[test]
fn defaults_are_libpqs_plus_pgalign_name_and_timeout() {
    let s = ConnSettings::parse_with("host=db user=app", &env(&[])).unwrap();
    assert_eq!((s.port, s.dbname.as_str()), (5432, "app"));
    assert_eq!(s.sslmode, "prefer");
    assert_eq!(s.channel_binding, "prefer");
    assert_eq!(s.application_name, "pgalign");
    assert_eq!(s.connect_timeout, Some(Duration::from_secs(10)));
}

#[test]
fn url_beats_environment_and_environment_fills_gaps() {
    let e = env(&[
        ("PGHOST", "env-host"),
        ("PGPORT", "7000"),
        ("PGUSER", "env-user"),
        ("PGDATABASE", "env-db"),
        ("PGPASSWORD", "env-pw"),
        ("PGSSLMODE", "require"),
        ("PGAPPNAME", "env-app"),
        ("PGCONNECT_TIMEOUT", "3"),
        ("PGSSLROOTCERT", "/etc/ca.pem"),
    ]);
    let s = ConnSettings::parse_with(
        "postgres://url-user:url-pw@url-host/url-db?sslmode=verify-full",
        &e,
    )
    .unwrap();
    assert_eq!(s.to_string(), "url-user@url-host:7000/url-db");
    assert_eq!(s.password.as_deref(), Some("url-pw"));
    assert_eq!(s.sslmode, "verify-full");
    assert_eq!(s.application_name, "env-app");
    assert_eq!(s.connect_timeout, Some(Duration::from_secs(3)));
    assert_eq!(s.sslrootcert.as_deref(), Some("/etc/ca.pem"));
    let s = ConnSettings::parse_with("", &e).unwrap();
    assert_eq!(s.to_string(), "env-user@env-host:7000/env-db");
    assert_eq!(s.password.as_deref(), Some("env-pw"));
}

#[test]
fn service_beats_environment_but_not_the_string() {
    let h = home(
        "",
        "[prod]\nhost=svc-host\nport=6000\ndbname=svc-db\nsslmode=verify-ca\n",
    );
    let e = env(&[
        ("HOME", h.path().to_str().unwrap()),
        ("PGSERVICE", "prod"),
        ("PGHOST", "env-host"),
        ("PGUSER", "env-user"),
        ("PGSYSCONFDIR", "/nonexistent"),
    ]);
    let s = ConnSettings::parse_with("port=6001", &e).unwrap();
    // As libpq (checked with psql 15): string > service > PG* variables.
    assert_eq!(s.to_string(), "env-user@svc-host:6001/svc-db");
    assert_eq!(s.sslmode, "verify-ca");
    let s = ConnSettings::parse_with("service=nope", &e);
    assert!(
        s.unwrap_err()
            .to_string()
            .contains("service \"nope\" not found")
    );
    let h2 = home("", "[bad]\nsslrootcrt=/x\n");
    let e2 = env(&[
        ("HOME", h2.path().to_str().unwrap()),
        ("PGSYSCONFDIR", "/nonexistent"),
    ]);
    let err = ConnSettings::parse_with("service=bad", &e2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unsupported connection setting 'sslrootcrt'"),
        "{err}"
    );
}

#[test]
fn password_string_then_env_then_pgpass() {
    let h = home("db:5432:*:app:from-file\n", "");
    let base = [("HOME", h.path().to_str().unwrap())];
    let s = ConnSettings::parse_with("host=db user=app", &env(&base)).unwrap();
    assert_eq!(s.password.as_deref(), Some("from-file"));
    assert_eq!(s.passfile, Some(h.path().join(".pgpass")));
    let pg_env = s.pg_env();
    assert!(pg_env.iter().any(|(k, _)| k == "PGPASSFILE"));
    assert!(!pg_env.iter().any(|(k, _)| k == "PGPASSWORD"));
    let with_env = env(&[base[0], ("PGPASSWORD", "from-env")]);
    let s = ConnSettings::parse_with("host=db user=app", &with_env).unwrap();
    assert_eq!(s.password.as_deref(), Some("from-env"));
    assert_eq!(s.passfile, None);
    let s = ConnSettings::parse_with("host=db user=app password=given", &with_env).unwrap();
    assert_eq!(s.password.as_deref(), Some("given"));
}

#[test]
fn pgpassfile_variable_and_open_permissions() {
    let h = home("", "");
    let file = h.path().join("other-pass");
    std::fs::write(&file, "*:*:*:*:other\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = env(&[
        ("HOME", h.path().to_str().unwrap()),
        ("PGPASSFILE", file.to_str().unwrap()),
    ]);
    let s = ConnSettings::parse_with("host=db user=app", &e).unwrap();
    assert_eq!(s.password, None);
    assert!(
        s.warnings[0].contains("group or world access"),
        "{:?}",
        s.warnings
    );
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = ConnSettings::parse_with("host=db user=app", &e).unwrap();
    assert_eq!(s.password.as_deref(), Some("other"));
    assert!(s.warnings.is_empty());
}

#[test]
fn with_dbname_drops_the_passfile_when_its_line_no_longer_matches() {
    let h = home("db:5432:one:app:pw-one\n", "");
    let s = ConnSettings::parse_with(
        "host=db user=app dbname=one",
        &env(&[("HOME", h.path().to_str().unwrap())]),
    )
    .unwrap();
    let other = s.with_dbname("two");
    assert_eq!(other.password.as_deref(), Some("pw-one"));
    assert_eq!(other.passfile, None);
    assert!(
        other
            .pg_env()
            .contains(&("PGPASSWORD".into(), "pw-one".into()))
    );
}

#[test]
fn sslmode_checks() {
    let e = env(&[]);
    assert!(ConnSettings::parse_with("sslmode=verify-everything", &e).is_err());
    let s = ConnSettings::parse_with("host=db sslrootcert=system", &e).unwrap();
    assert_eq!(s.sslmode, "verify-full");
    let err =
        ConnSettings::parse_with("host=db sslrootcert=system sslmode=require", &e).unwrap_err();
    assert!(err.to_string().contains("weak sslmode"));
    let err = ConnSettings::parse_with("host=db sslmode=disable channel_binding=require", &e)
        .unwrap_err();
    assert!(err.to_string().contains("needs a TLS connection"));
    assert!(ConnSettings::parse_with("host=db bogus=1", &e).is_err());
    assert!(ConnSettings::parse_with("host=db port=99999", &e).is_err());
    let s = ConnSettings::parse_with("host=db connect_timeout=0 fallback_application_name=x", &e)
        .unwrap();
    assert_eq!(s.connect_timeout, None);
    assert_eq!(s.application_name, "x");
}

#[test]
fn default_client_files_come_from_home() {
    let h = home("", "");
    let pg = h.path().join(".postgresql");
    std::fs::create_dir(&pg).unwrap();
    for f in ["root.crt", "postgresql.crt", "postgresql.key"] {
        std::fs::write(pg.join(f), "").unwrap();
    }
    let s =
        ConnSettings::parse_with("host=db", &env(&[("HOME", h.path().to_str().unwrap())])).unwrap();
    assert_eq!(
        s.sslrootcert,
        Some(pg.join("root.crt").display().to_string())
    );
    assert_eq!(s.sslcert, Some(pg.join("postgresql.crt")));
    assert_eq!(s.sslkey, Some(pg.join("postgresql.key")));
    assert_eq!(
        super::super::tls::verify_level(&s),
        super::super::tls::Verify::Chain
    );
}

#[test]
fn pg_env_carries_every_tls_setting() {
    let s = ConnSettings::parse_with(
        "host=db user=u password=pw sslmode=verify-full sslrootcert=/ca.pem sslcert=/c.pem sslkey=/k.pem channel_binding=require",
        &env(&[]),
    )
    .unwrap();
    let e = s.pg_env();
    for (k, v) in [
        ("PGSSLMODE", "verify-full"),
        ("PGSSLROOTCERT", "/ca.pem"),
        ("PGSSLCERT", "/c.pem"),
        ("PGSSLKEY", "/k.pem"),
        ("PGCHANNELBINDING", "require"),
        ("PGPASSWORD", "pw"),
        ("PGAPPNAME", "pgalign"),
        ("PGCONNECT_TIMEOUT", "10"),
    ] {
        assert!(e.contains(&(k.to_string(), v.to_string())), "{k} missing");
    }
}

#[test]
fn sslmode_is_parsed_once_into_its_enum_and_prints_as_libpq_spells_it() {
    for word in [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ] {
        let mode = SslMode::parse(word).expect(word);
        assert_eq!(mode.to_string(), word);
    }
    assert_eq!(SslMode::parse("Require"), None);
}
