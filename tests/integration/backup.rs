//! `pgalign backup`: a verified, checksummed dump that really restores.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;

fn field<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(str::trim)
        .collect()
}

#[test]
fn backup_is_verified_checksummed_and_restores_the_rows() {
    let db = test_db("backup_rows");
    db.exec(
        "CREATE SCHEMA shop;
         CREATE TABLE shop.orders (id serial PRIMARY KEY, total numeric NOT NULL);
         INSERT INTO shop.orders (total) SELECT g FROM generate_series(1, 250) g;",
    );
    let dir = temp_dir();
    let out_dir = dir.path().join("backups");
    let o = run(&[
        "backup",
        "--db",
        &db.url(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    let path = std::path::PathBuf::from(field(&text, "backup")[0]);
    let schema = std::path::PathBuf::from(field(&text, "schema")[0]);
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with(&format!("{}_", db.name)) && name.ends_with(".dump"),
        "{name}"
    );
    assert!(schema.to_str().unwrap().ends_with("_schema.sql"));
    let sha = field(&text, "sha256");
    assert_eq!(sha[0], pgalign::util::sha256_file(&path).unwrap());
    assert_eq!(sha[1], pgalign::util::sha256_file(&schema).unwrap());
    assert!(
        field(&text, "entries")[0].parse::<usize>().unwrap() >= 4,
        "{text}"
    );
    for p in [&path, &schema] {
        assert_eq!(
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        std::fs::read_to_string(&schema)
            .unwrap()
            .contains("CREATE TABLE shop.orders")
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path() != path && e.path() != schema)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The archive restores into a new database with every row.
    let copy = test_db("backup_restored");
    let mut cmd = std::process::Command::new("pg_restore");
    copy.settings.apply_env(&mut cmd);
    let r = cmd
        .args(["--no-owner", "--exit-on-error", "-d", &copy.name])
        .arg(&path)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(
        copy.query_one("SELECT count(*)::text FROM shop.orders"),
        "250"
    );
    assert_eq!(
        copy.query_one("SELECT sum(total)::text FROM shop.orders"),
        "31375"
    );
}

#[test]
fn a_wrong_database_is_a_clear_error_and_leaves_no_file() {
    let db = test_db("backup_wrong");
    let dir = temp_dir();
    let url = db.url().replace(&db.name, "no_such_database_xyz");
    let o = run(&[
        "backup",
        "--db",
        &url,
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("no_such_database_xyz") && err.contains("does not exist"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_failing_pg_dump_shows_its_message_and_leaves_no_file() {
    let db = test_db("backup_denied");
    let role = format!("{}_ro", db.name);
    db.exec(&format!(
        "CREATE TABLE secret (id int); INSERT INTO secret VALUES (1);
         DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE \"{role}\" LOGIN; END IF; END $$;"
    ));
    let mut settings = db.settings.clone();
    settings.user = role.clone();
    let dir = temp_dir();
    let o = run(&[
        "backup",
        "--db",
        &settings.redacted_url(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("pg_dump of") && err.contains("permission denied"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file is left behind"
    );
    db.exec(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""));
}
