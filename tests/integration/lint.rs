//! `pgalign lint`: the labelled corpus (with and without a database), lock
//! facts measured on the server, byte-level fixtures, the CLI contract, and the
//! shared migration histories.

use crate::support::{block_on, test_db};
use pgalign::hazard::locks::{FACTS, FIXTURE, LockMode};
use pgalign::hazard::{LintContext, LintReport, Severity, lint_sql};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint")
}

#[derive(serde::Deserialize)]
struct Case {
    sql: String,
    #[serde(default)]
    raw: bool,
    ids: Vec<String>,
    top: Option<String>,
    db_ids: Option<Vec<String>>,
    db_top: Option<String>,
    /// Words a hazard's detail must hold (what the reviewer reads must be true).
    says: Option<String>,
}

#[derive(serde::Deserialize)]
struct Labelled {
    case: Vec<Case>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(fixtures().join("labelled.toml")).unwrap();
    toml::from_str::<Labelled>(&text).unwrap().case
}

fn case_sql(c: &Case) -> String {
    if c.raw {
        c.sql.clone()
    } else {
        format!("SET lock_timeout = '2s';\n{}", c.sql)
    }
}

/// Ids and top severity over every statement (acknowledged or not).
fn outcome(r: &LintReport) -> (BTreeSet<String>, Option<Severity>) {
    let hs: Vec<_> = r.statements.iter().flat_map(|s| &s.hazards).collect();
    (
        hs.iter().map(|h| h.id.to_string()).collect(),
        hs.iter().map(|h| h.severity).max(),
    )
}

fn compare(
    c: &Case,
    r: &LintReport,
    ids: &[String],
    top: Option<&String>,
    errors: &mut Vec<String>,
) {
    let (got, got_top) = outcome(r);
    if let Some(says) = &c.says
        && !r
            .statements
            .iter()
            .flat_map(|s| &s.hazards)
            .any(|h| h.detail.contains(says.as_str()))
    {
        errors.push(format!(
            "{}
  no hazard says {says:?}",
            c.sql
        ));
    }
    let want: BTreeSet<String> = ids.iter().cloned().collect();
    let want_top = top.map(|t| t.parse::<Severity>().unwrap());
    if got != want || (want_top.is_some() || !want.is_empty()) && got_top != want_top {
        let details: Vec<String> = r
            .statements
            .iter()
            .flat_map(|s| &s.hazards)
            .map(|h| format!("{}[{}] {}", h.severity, h.id, h.detail))
            .collect();
        errors.push(format!(
            "{}\n  want {want:?} {want_top:?}\n  got  {got:?} {got_top:?}\n    {}",
            c.sql,
            details.join("\n    ")
        ));
    }
}

#[test]
fn lint_labelled_corpus_without_a_database() {
    let cases = cases();
    assert!(cases.len() >= 60);
    let mut errors = vec![];
    for c in &cases {
        let r = lint_sql(&case_sql(c), &LintContext::default()).unwrap();
        compare(c, &r, &c.ids, c.top.as_ref(), &mut errors);
    }
    assert!(
        errors.is_empty(),
        "{} of {} cases differ:\n{}",
        errors.len(),
        cases.len(),
        errors.join("\n")
    );
}

const DB_FIXTURE: &str = "
CREATE TYPE mood AS ENUM ('happy', 'sad', 'ok');
CREATE DOMAIN positive_int AS int;
ALTER DOMAIN positive_int ADD CONSTRAINT pos CHECK (VALUE > 0) NOT VALID;
CREATE TABLE users (id int PRIMARY KEY, email text, name varchar(50), legacy text, created_at timestamp, status mood,
  score positive_int);
INSERT INTO users SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE 'u' || g END, 'n', 'l', now(), 'happy'
  FROM generate_series(1, 1000) g;
CREATE TABLE empty_t (id int PRIMARY KEY, a int, b text);
CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users, total numeric(10,2));
CREATE TABLE tags (name text, slug text NOT NULL);
INSERT INTO tags SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE 'n' || g END, 's' || g FROM generate_series(1, 50) g;
CREATE UNIQUE INDEX tags_name_key ON tags (name); CREATE UNIQUE INDEX tags_slug_key ON tags (slug);
DO $$ BEGIN CREATE ROLE lint_owner; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
CREATE TABLE owned_t (id int); INSERT INTO owned_t VALUES (1); ALTER TABLE owned_t OWNER TO lint_owner;
CREATE TYPE address AS (street text, zip text);
CREATE TABLE addresses OF address; INSERT INTO addresses VALUES ('Main St', '12345');
CREATE EXTENSION citext; CREATE TABLE handles (h citext); INSERT INTO handles VALUES ('Ana');
CREATE EXTENSION pgcrypto;
CREATE INDEX users_created_idx ON users (created_at); CLUSTER users USING users_created_idx;
ANALYZE;
";

#[test]
fn lint_labelled_corpus_with_a_database() {
    let db = test_db("lint_labelled");
    db.exec(DB_FIXTURE);
    let mut errors = vec![];
    let cases = cases();
    let mut checked = 0;
    block_on(async {
        let client = pgalign::db::connect(&db.settings).await.unwrap();
        for c in cases
            .iter()
            .filter(|c| c.db_ids.is_some() || c.db_top.is_some())
        {
            let r = pgalign::hazard::db::lint_live(&case_sql(c), "case.sql", &client, true)
                .await
                .unwrap();
            let ids = c.db_ids.clone().unwrap_or(c.ids.clone());
            compare(
                c,
                &r,
                &ids,
                c.db_top.as_ref().or(c.top.as_ref()),
                &mut errors,
            );
            checked += 1;
        }
    });
    assert!(checked >= 10);
    assert!(
        errors.is_empty(),
        "{} cases differ with a database:\n{}",
        errors.len(),
        errors.join("\n")
    );
}

#[test]
fn lint_names_sizes_and_probe_figures() {
    let db = test_db("lint_figures");
    db.exec(DB_FIXTURE);
    let sql = "SET lock_timeout = '1s';\nALTER TABLE users DROP COLUMN legacy;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\nALTER TABLE users ADD CONSTRAINT short CHECK (length(email) < 4);";
    let r = block_on(async {
        let client = pgalign::db::connect(&db.settings).await.unwrap();
        pgalign::hazard::db::lint_live(sql, "f.sql", &client, true)
            .await
            .unwrap()
    });
    let hazards: Vec<_> = r.statements.iter().flat_map(|s| &s.hazards).collect();
    let figures: Vec<&str> = hazards
        .iter()
        .filter_map(|h| h.figures.as_deref())
        .collect();
    // The table was analysed: rows from statistics, said to be estimated.
    assert!(
        figures.iter().any(|f| f.contains("public.users: ")
            && f.contains("~1000 rows (estimated from statistics)")
            && f.contains("1,000 non-null values in legacy (counted)")),
        "{figures:#?}"
    );
    assert!(
        figures
            .iter()
            .any(|f| f.contains("100 NULLs in email (counted)")),
        "{figures:#?}"
    );
    assert!(
        hazards.iter().any(|h| h.severity == Severity::Blocker
            && h.detail.contains("ADD CONSTRAINT short will fail")
            || h.detail.contains("CHECK") && h.detail.contains("will fail")),
        "a CHECK that rows violate is a blocker: {hazards:#?}"
    );
    // The figures never reach the detail (what a plan's body carries).
    assert!(
        hazards
            .iter()
            .all(|h| !h.detail.contains("1000") && !h.detail.contains("kB"))
    );
    let no_probes = block_on(async {
        let client = pgalign::db::connect(&db.settings).await.unwrap();
        pgalign::hazard::db::lint_live(sql, "f.sql", &client, false)
            .await
            .unwrap()
    });
    assert!(
        !no_probes
            .statements
            .iter()
            .flat_map(|s| &s.hazards)
            .any(|h| h.figures.as_deref().is_some_and(|f| f.contains("NULLs in")))
    );
}

#[test]
fn lint_sizes_an_unanalysed_table_by_counting_it() {
    let db = test_db("lint_count");
    db.exec(
        "CREATE TABLE fresh (id int, note text);
         INSERT INTO fresh SELECT g, 'x' FROM generate_series(1, 2500) g;",
    );
    let sql = "SET lock_timeout = '1s';\nALTER TABLE fresh ALTER COLUMN id TYPE bigint;";
    let r = block_on(async {
        let client = pgalign::db::connect(&db.settings).await.unwrap();
        pgalign::hazard::db::lint_live(sql, "f.sql", &client, true)
            .await
            .unwrap()
    });
    let rewrite = r
        .statements
        .iter()
        .flat_map(|s| &s.hazards)
        .find(|h| h.id == pgalign::hazard::HazardId::Rewrite)
        .unwrap();
    assert_eq!(rewrite.severity, Severity::Warning);
    assert!(
        rewrite
            .figures
            .as_deref()
            .is_some_and(|f| f.contains("2,500 rows (counted)")),
        "{rewrite:?}"
    );
}

#[test]
fn lint_sizes_a_partitioned_table_by_its_partitions() {
    let db = test_db("lint_parted");
    db.exec(
        "CREATE TABLE ev (id int, k int) PARTITION BY RANGE (k);
         CREATE TABLE ev1 PARTITION OF ev FOR VALUES FROM (0) TO (100);
         CREATE TABLE ev2 PARTITION OF ev FOR VALUES FROM (100) TO (200);
         INSERT INTO ev SELECT g, g % 200 FROM generate_series(1, 1200) g;",
    );
    let sql = "SET lock_timeout = '1s';\nALTER TABLE ev ALTER COLUMN id TYPE bigint;";
    let r = block_on(async {
        let client = pgalign::db::connect(&db.settings).await.unwrap();
        pgalign::hazard::db::lint_live(sql, "f.sql", &client, true)
            .await
            .unwrap()
    });
    let figures = r
        .statements
        .iter()
        .flat_map(|s| &s.hazards)
        .find(|h| h.id == pgalign::hazard::HazardId::Rewrite)
        .and_then(|h| h.figures.clone())
        .unwrap();
    // Counted, or estimated if autovacuum analysed the partitions meanwhile.
    assert!(
        figures.contains("public.ev: ")
            && (figures.contains("1,200 rows (counted)") || figures.contains("~1200 rows")),
        "{figures}"
    );
}

#[test]
fn lint_lock_facts_match_the_server() {
    let db = test_db("lint_locks");
    let major: u32 = db
        .query_one("SELECT (current_setting('server_version_num')::int / 10000)::text")
        .parse()
        .unwrap();
    let mut mismatches = vec![];
    let mut measured = 0;
    block_on(async {
        let client = pgalign::db::connect(&db.settings).await.unwrap();
        for f in FACTS.iter().filter(|f| f.from <= major && major <= f.to) {
            let Some(sample) = f.sample else { continue };
            let setup = format!(
                "DROP SCHEMA IF EXISTS m CASCADE; CREATE SCHEMA m; SET search_path = m; {FIXTURE}"
            );
            client.batch_execute(&setup).await.unwrap();
            let node =
                |rel: &str| format!("SELECT pg_relation_filenode(to_regclass('m.{rel}'))::text");
            client.batch_execute("BEGIN").await.unwrap();
            let names_sql =
                "SELECT oid, relname::text FROM pg_class WHERE relnamespace = 'm'::regnamespace";
            let mut names: BTreeMap<u32, String> = BTreeMap::new();
            for r in client.query(names_sql, &[]).await.unwrap() {
                names.insert(r.get(0), r.get(1));
            }
            let before: Option<String> = client
                .query_one(&node(sample.table), &[])
                .await
                .unwrap()
                .get(0);
            // Scans counted by this transaction (seq + index) over the
            // fixture's tables: a validating scan shows as a new one.
            let scans_sql = "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0)::int8 FROM pg_stat_xact_user_tables WHERE schemaname = 'm'";
            let scans_before: i64 = client.query_one(scans_sql, &[]).await.unwrap().get(0);
            if let Err(e) = client.batch_execute(sample.sql).await {
                mismatches.push(format!(
                    "{:?}: {} failed: {}",
                    f.op,
                    sample.sql,
                    pgalign::db::describe_error(&e)
                ));
                client.batch_execute("ROLLBACK").await.unwrap();
                continue;
            }
            let after: Option<String> = client
                .query_one(&node(sample.table), &[])
                .await
                .unwrap()
                .get(0);
            for r in client.query(names_sql, &[]).await.unwrap() {
                names.entry(r.get(0)).or_insert(r.get(1));
            }
            let scans_after: i64 = client.query_one(scans_sql, &[]).await.unwrap().get(0);
            let sql = "SELECT l.relation, l.mode FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'";
            let rows = client.query(sql, &[]).await.unwrap();
            client.batch_execute("ROLLBACK").await.unwrap();
            let mut locks: BTreeMap<String, LockMode> = BTreeMap::new();
            for r in rows {
                let Some(name) = names.get(&r.get::<_, u32>(0)) else {
                    continue;
                };
                let mode = LockMode::from_pg_name(r.get::<_, &str>(1)).unwrap();
                let e = locks.entry(name.clone()).or_insert(mode);
                *e = (*e).max(mode);
            }
            let rewrite = before.is_some() && after.is_some() && before != after;
            let mut check = |what: &str, want: String, got: String| {
                if want != got {
                    mismatches.push(format!(
                        "{:?} `{}`: {what}: table says {want}, server did {got}",
                        f.op, sample.sql
                    ));
                }
            };
            check(
                &format!("lock on {}", sample.table),
                f.table_lock.to_string(),
                locks
                    .get(sample.table)
                    .map(|m| m.to_string())
                    .unwrap_or("none".into()),
            );
            if let (Some(rel), Some((_, mode))) = (sample.other, f.other) {
                check(
                    &format!("lock on {rel}"),
                    mode.to_string(),
                    locks
                        .get(rel)
                        .map(|m| m.to_string())
                        .unwrap_or("none".into()),
                );
            }
            check("rewrite", f.rewrite.to_string(), rewrite.to_string());
            // A rewrite reads the table too, and DML or a plain read scans
            // by nature: the scan column is about the statements that check
            // rows while they hold a lock on the table.
            if !f.rewrite && f.table_lock >= LockMode::ShareUpdateExclusive {
                check(
                    "validating scan",
                    f.scan.to_string(),
                    (scans_after > scans_before).to_string(),
                );
            }
            measured += 1;
        }
    });
    assert!(measured >= 60, "only {measured} rows measured");
    assert!(
        mismatches.is_empty(),
        "the lock table disagrees with PostgreSQL {major}:\n{}",
        mismatches.join("\n")
    );
}

mod bytes_and_cli;
