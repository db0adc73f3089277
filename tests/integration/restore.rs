//! `pgalign restore` and the backup of an empty database (issue #13, item 5),
//! on real PostgreSQL: `pgalign backup`'s archive restored into a new
//! database with the same row counts, `--replace` only after confirmation,
//! names only ever values.

use crate::support::*;
use std::path::{Path, PathBuf};

/// A database some test restores into, dropped at the end.
struct Restored {
    name: String,
}

impl Restored {
    fn new(name: &str) -> Restored {
        Restored { name: name.into() }
    }

    fn db(&self) -> TestDb {
        // Borrowed only for queries; the guard drops it (TestDb would too,
        // so it is forgotten after use).
        TestDb {
            name: self.name.clone(),
            settings: admin().with_dbname(&self.name),
        }
    }

    fn query_one(&self, sql: &str) -> String {
        let db = self.db();
        let v = db.query_one(sql);
        std::mem::forget(db);
        v
    }

    fn exists(&self) -> bool {
        let name = self.name.clone();
        block_on(async move {
            let c = pgalign::db::connect(&admin()).await.unwrap();
            c.query_one(
                "SELECT count(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
                == 1
        })
    }
}

impl Drop for Restored {
    fn drop(&mut self) {
        drop(self.db());
    }
}

/// `pgalign backup` of `db` into a new folder; the archive's path.
fn backup(db: &TestDb, dir: &Path) -> (PathBuf, String) {
    let o = run(&["backup", "--db", &db.url(), "--out", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let path = stdout(&o)
        .lines()
        .find_map(|l| l.strip_prefix("backup:"))
        .map(|p| PathBuf::from(p.trim()))
        .unwrap();
    (path, stderr(&o))
}

fn restore(db: &TestDb, archive: &Path, into: &str, extra: &[&str]) -> std::process::Output {
    let url = db.url();
    let mut args = vec![
        "restore",
        "--db",
        &url,
        "--backup",
        archive.to_str().unwrap(),
        "--into",
        into,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn restore_the_backup_of_an_empty_database_verifies() {
    let db = test_db("restore_empty");
    let dir = temp_dir();
    let (archive, err) = backup(&db, dir.path());
    assert!(
        err.contains(
            "pg_restore read its header and table of contents, 0 entries: the database was empty"
        ),
        "{err}"
    );
    // The commands to restore it are printed with the backup.
    assert!(err.contains("pgalign restore --db "), "{err}");
    assert!(err.contains("createdb -h "), "{err}");
    assert!(err.contains("pg_restore -h "), "{err}");

    let into = Restored::new(&format!("{}_r", db.name));
    let o = restore(&db, &archive, &into.name, &[]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}{text}", stderr(&o));
    assert!(
        text.contains("the archive holds no entries: the database was empty"),
        "{text}"
    );
    assert!(into.exists());
}

#[test]
fn restore_a_populated_backup_into_a_new_database_has_the_same_row_counts() {
    let db = test_db("restore_rows");
    db.exec(
        "CREATE SCHEMA shop;
         CREATE TABLE shop.orders (id serial PRIMARY KEY, note text);
         INSERT INTO shop.orders (note) SELECT 'line ' || g || E'\\nsecond line' FROM generate_series(1, 1234) g;
         CREATE TABLE public.\"Odd Name\" (\"a b\" int);
         INSERT INTO public.\"Odd Name\" SELECT g FROM generate_series(1, 7) g;
         CREATE TABLE public.empty (id int);",
    );
    let dir = temp_dir();
    let (archive, _) = backup(&db, dir.path());
    let into = Restored::new(&format!("{}_r", db.name));
    let o = restore(&db, &archive, &into.name, &[]);
    let (text, err) = (stdout(&o), stderr(&o));
    assert_eq!(o.status.code(), Some(0), "{err}{text}");
    // Progress, item by item.
    assert!(
        err.contains("] processing data for table \"shop.orders\""),
        "{err}"
    );
    assert!(err.contains("every row count matches the archive"), "{err}");
    for (table, rows) in [
        ("shop.orders", "1234"),
        ("public.\"Odd Name\"", "7"),
        ("public.empty", "0"),
    ] {
        assert_eq!(
            into.query_one(&format!("SELECT count(*)::text FROM {table}")),
            db.query_one(&format!("SELECT count(*)::text FROM {table}")),
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with(table)
                    && l.trim_end().ends_with(&format!("{rows} {rows:>12}"))),
            "{table} {rows}: {text}"
        );
    }
    // The source is untouched.
    assert_eq!(
        db.query_one("SELECT count(*)::text FROM shop.orders"),
        "1234"
    );

    // Restoring again into the same name is an error, not a silent overwrite.
    let o = restore(&db, &archive, &into.name, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
}

#[test]
fn restore_replace_without_confirmation_refuses_and_drops_nothing() {
    let db = test_db("restore_replace");
    db.exec("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 10);");
    let dir = temp_dir();
    let (archive, _) = backup(&db, dir.path());
    let target = test_db("restore_replace_target");
    target.exec("CREATE TABLE keep (id int); INSERT INTO keep VALUES (1);");

    let o = restore(&db, &archive, &target.name, &["--replace"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("pass --confirm-target {} to confirm", target.name)),
        "{err}"
    );
    let o = restore(
        &db,
        &archive,
        &target.name,
        &["--replace", "--confirm-target", &db.name],
    );
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("does not match"), "{}", stderr(&o));
    assert_eq!(target.query_one("SELECT count(*)::text FROM keep"), "1");

    let o = restore(
        &db,
        &archive,
        &target.name,
        &["--replace", "--confirm-target", &target.name],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("(dropped and recreated)"),
        "{}",
        stdout(&o)
    );
    assert_eq!(target.query_one("SELECT count(*)::text FROM t"), "10");
    assert_eq!(
        target.query_one("SELECT count(*)::text FROM pg_class WHERE relname = 'keep'"),
        "0"
    );
}

#[test]
fn restore_a_missing_archive_is_a_clear_error() {
    let db = test_db("restore_missing");
    let dir = temp_dir();
    let missing = dir.path().join("nope.dump");
    let into = Restored::new(&format!("{}_r", db.name));
    let o = restore(&db, &missing, &into.name, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("backup file {} does not exist", missing.display())),
        "{err}"
    );
    assert!(!into.exists());

    // Not an archive at all: refused before any database is created.
    let junk = dir.path().join("junk.dump");
    std::fs::write(&junk, "not a dump\n").unwrap();
    let o = restore(&db, &junk, &into.name, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not a readable archive"),
        "{}",
        stderr(&o)
    );
    assert!(!into.exists());
}

/// The attack: an `--into` that a client program would read as a connection
/// string (`dbname=VICTIM host=…`) or SQL would run as more than a name. It
/// must restore into a database with exactly that name and touch no other.
#[test]
fn restore_security_into_names_are_only_values() {
    let db = test_db("restore_names");
    db.exec("CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 3);");
    let victim = test_db("restore_victim");
    victim.exec("CREATE TABLE precious (id int); INSERT INTO precious VALUES (42);");
    let dir = temp_dir();
    let (archive, _) = backup(&db, dir.path());
    for hostile in [
        format!("dbname={} host=/nonexistent", victim.name),
        format!("x\"; DROP DATABASE \"{}\"; --", victim.name),
    ] {
        let into = Restored::new(&hostile);
        let o = restore(&db, &archive, &hostile, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(into.exists(), "{hostile}");
        assert_eq!(into.query_one("SELECT count(*)::text FROM t"), "3");
        assert_eq!(
            victim.query_one("SELECT count(*)::text FROM pg_class WHERE relname = 't'"),
            "0",
            "{hostile}"
        );
        assert_eq!(victim.query_one("SELECT count(*)::text FROM precious"), "1");
    }
}
