//! The PostgreSQL version matrix: the round-trip and convergence tests against
//! every server version listed in `PGALIGN_PG_MATRIX` (bindirs separated by `:`,
//! as printed by `scripts/pg-versions.sh --matrix`).
//!
//! ```sh
//! PGALIGN_PG_MATRIX="$(scripts/pg-versions.sh --matrix)" cargo test --test matrix
//! PGALIGN_PG_MATRIX=… cargo test --test matrix -- convergence   # cases whose name contains it
//! ```
//!
//! Its own binary without the libtest harness, so the one summary line per
//! version is always printed. Unset `PGALIGN_PG_MATRIX` skips the matrix with a
//! message, except under `CI=true`, where it fails.
//!
//! Each case runs on a fresh database of a cluster of that version:
//! - round trip: load DDL, `inspect`, apply `plan::script::from_empty` to a fresh
//!   database, inspect again; the two models and fingerprints must be equal, and
//!   an independent catalog digest (queried here, not by pgalign) of both
//!   databases must be equal too, so what the model does not see still counts;
//! - convergence: plan A → B with `plan::diff`, render the plan file, run it with
//!   psql, re-diff: empty, fingerprints equal, catalog digests equal.
//!
//! Known gaps (the catalog not yet handling something a version has) are listed
//! in [`known_gap`] with their reason: such a case is reported as `known`, not as
//! a failure, and reported as `fixed` once it passes (then remove the entry).

use pgalign::catalog::{self, Inspected};
use pgalign::db::ConnSettings;
use pgalign::db::cluster::{Cluster, ServerBinaries};
use pgalign::plan::{self, PlanOptions};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Instant;

/// Cases where the catalog code is known not to round-trip yet, by major version.
/// Found by this matrix; they belong to `src/catalog/**` and are reported as
/// `known` until fixed.
/// Each entry is a finding for the catalog (`src/catalog/**`), not a test excuse.
/// `PGALIGN_MATRIX_STRICT=1` treats them as failures (and prints their details).
fn known_gap(case: &str, major: u32) -> Option<&'static str> {
    if std::env::var("PGALIGN_MATRIX_STRICT").is_ok_and(|v| v == "1") {
        return None;
    }
    // None open: add `(case, versions) => Some("reason")` arms here.
    #[allow(clippy::match_single_binding)]
    match (case, major) {
        _ => None,
    }
}

struct Ctx {
    cluster: Cluster,
    major: u32,
    counter: std::cell::Cell<usize>,
}

type CaseFn = fn(&Ctx) -> Result<(), String>;

/// (name, first major version it applies to, body)
const CASES: &[(&str, u32, CaseFn)] = &[
    ("round_trip_every_kind", 13, round_trip_every_kind),
    ("round_trip_identifiers", 13, round_trip_identifiers),
    ("round_trip_not_valid", 13, round_trip_not_valid),
    (
        "round_trip_identity_options",
        13,
        round_trip_identity_options,
    ),
    ("round_trip_empty_enum", 13, round_trip_empty_enum),
    ("round_trip_pg18_not_null", 18, round_trip_pg18_not_null),
    ("round_trip_pg18_virtual", 18, round_trip_pg18_virtual),
    (
        "round_trip_pg18_not_enforced",
        18,
        round_trip_pg18_not_enforced,
    ),
    ("convergence_pair", 13, convergence_pair),
    ("convergence_empty_and_back", 13, convergence_empty_and_back),
    ("convergence_new_kinds", 13, convergence_new_kinds),
    ("convergence_pg18_not_null", 18, convergence_pg18_not_null),
];

enum Outcome {
    Pass,
    Fail(String),
    Known(&'static str),
    Fixed(&'static str),
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let Some(dirs) = matrix_dirs() else { return };
    let mut summary = Vec::new();
    let mut failed = false;
    for dir in dirs {
        let (line, ok) = run_version(&dir, &filters);
        eprintln!("{line}");
        summary.push(line);
        failed |= !ok;
    }
    eprintln!("\nversion matrix:");
    for line in &summary {
        eprintln!("  {line}");
    }
    if failed {
        eprintln!("version matrix: FAILED");
        std::process::exit(1);
    }
}

/// The bindirs of `PGALIGN_PG_MATRIX`; `None` (skip) when unset, unless `CI=true`.
fn matrix_dirs() -> Option<Vec<PathBuf>> {
    match std::env::var("PGALIGN_PG_MATRIX") {
        Ok(v) if !v.trim().is_empty() => Some(
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect(),
        ),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            eprintln!(
                "version matrix: PGALIGN_PG_MATRIX is not set (required under CI=true); \
                 run scripts/pg-versions.sh --matrix to install the servers and print it"
            );
            std::process::exit(1);
        }
        _ => {
            eprintln!(
                "version matrix: skipped, PGALIGN_PG_MATRIX is not set \
                 (PGALIGN_PG_MATRIX=\"$(scripts/pg-versions.sh --matrix)\" cargo test --test matrix)"
            );
            None
        }
    }
}

/// Runs every case on one version; returns its summary line and whether it passed.
fn run_version(dir: &std::path::Path, filters: &[String]) -> (String, bool) {
    let started = Instant::now();
    let bins = match ServerBinaries::at(dir) {
        Ok(b) => b,
        Err(e) => return (format!("{}: FAILED: {e:#}", dir.display()), false),
    };
    let version = bins.version().unwrap_or_else(|e| format!("{e:#}"));
    let major = match bins.major() {
        Ok(m) => m,
        Err(e) => return (format!("{}: FAILED: {e:#}", dir.display()), false),
    };
    let cluster = match Cluster::start_with(&bins) {
        Ok(c) => c,
        Err(e) => return (format!("PostgreSQL {major}: FAILED to start: {e:#}"), false),
    };
    let ctx = Ctx {
        cluster,
        major,
        counter: std::cell::Cell::new(0),
    };
    let (mut pass, mut known, mut failures, mut fixed) = (0, Vec::new(), Vec::new(), Vec::new());
    for (name, since, body) in CASES {
        if major < *since || (!filters.is_empty() && !filters.iter().any(|f| name.contains(f))) {
            continue;
        }
        let t = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| body(&ctx)))
            .unwrap_or_else(|p| Err(panic_message(p)));
        let outcome = match (result, known_gap(name, major)) {
            (Ok(()), None) => Outcome::Pass,
            (Ok(()), Some(reason)) => Outcome::Fixed(reason),
            (Err(_), Some(reason)) => Outcome::Known(reason),
            (Err(e), None) => Outcome::Fail(e),
        };
        let ms = t.elapsed().as_millis();
        match outcome {
            Outcome::Pass => {
                pass += 1;
                eprintln!("  pg{major} {name}: ok ({ms} ms)");
            }
            Outcome::Known(reason) => {
                eprintln!("  pg{major} {name}: known gap: {reason}");
                known.push(*name);
            }
            Outcome::Fixed(reason) => {
                eprintln!("  pg{major} {name}: passes now; remove its known_gap entry ({reason})");
                fixed.push(*name);
            }
            Outcome::Fail(e) => {
                eprintln!("  pg{major} {name}: FAILED\n{}", indent(&e));
                failures.push(*name);
            }
        }
    }
    let mut line = format!(
        "{version}: {pass} passed, {} failed, {} known gaps ({:.1} s)",
        failures.len(),
        known.len(),
        started.elapsed().as_secs_f64()
    );
    if !failures.is_empty() {
        line.push_str(&format!("; failed: {}", failures.join(", ")));
    }
    if !known.is_empty() {
        line.push_str(&format!("; known: {}", known.join(", ")));
    }
    if !fixed.is_empty() {
        line.push_str(&format!(
            "; fixed, remove from known_gap: {}",
            fixed.join(", ")
        ));
    }
    (line, failures.is_empty())
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panicked".into())
}

fn indent(s: &str) -> String {
    s.lines()
        .map(|l| format!("      {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------- helpers

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(f)
}

impl Ctx {
    /// The tablespace `pgalign_matrix` of this cluster, created when missing in
    /// a directory of the data directory that the server makes itself (so it
    /// belongs to the server's user; the server warns about the place).
    fn tablespace(&self) -> Result<&'static str, String> {
        let admin = self.cluster.settings("postgres");
        block_on(async {
            let c = pgalign::db::connect(&admin)
                .await
                .map_err(|e| format!("connecting to {admin}: {e:#}"))?;
            let err = |e: tokio_postgres::Error| pgalign::db::describe_error(&e);
            let exists = c
                .query_opt(
                    "SELECT 1 FROM pg_tablespace WHERE spcname = 'pgalign_matrix'",
                    &[],
                )
                .await
                .map_err(err)?
                .is_some();
            if !exists {
                let dir: String = c
                    .query_one(
                        "SELECT current_setting('data_directory') || '/pgalign_matrix_ts'",
                        &[],
                    )
                    .await
                    .map_err(err)?
                    .get(0);
                c.batch_execute(&format!("COPY (SELECT 1) TO PROGRAM 'mkdir -p {dir}'"))
                    .await
                    .map_err(err)?;
                c.batch_execute(&format!(
                    "CREATE TABLESPACE pgalign_matrix LOCATION '{dir}'"
                ))
                .await
                .map_err(err)?;
            }
            Ok("pgalign_matrix")
        })
    }

    /// A fresh empty database.
    fn db(&self, label: &str) -> Result<ConnSettings, String> {
        let n = self.counter.get();
        self.counter.set(n + 1);
        let name = format!("m_{label}_{n}");
        let admin = self.cluster.settings("postgres");
        let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE template0");
        block_on(async {
            let c = pgalign::db::connect(&admin)
                .await
                .map_err(|e| format!("connecting to {admin}: {e:#}"))?;
            c.batch_execute(&sql)
                .await
                .map_err(|e| format!("{sql}: {}", pgalign::db::describe_error(&e)))
        })?;
        Ok(self.cluster.settings(&name))
    }
}

fn load(db: &ConnSettings, sql: &str, what: &str) -> Result<(), String> {
    pgalign::db::shadow::run_psql(db, None, Some(sql.as_bytes()))
        .map_err(|e| format!("loading {what} failed: {e:#}\n--- SQL:\n{sql}"))
}

fn inspect(db: &ConnSettings) -> Result<Inspected, String> {
    block_on(catalog::inspect(db)).map_err(|e| format!("inspect {db}: {e:#}"))
}

/// An independent digest of what the catalog holds in user schemas: one line per
/// schema, relation (with its storage parameters, TOAST parameters, replica
/// identity, access method, tablespace and row type), column (with its storage,
/// statistics target, options and compression), constraint (every kind,
/// including PG 18's NOT NULL constraints), index (clustered, replica identity),
/// sequence (including identity sequences) and type.
/// Column order is left out (planned ALTERs append columns).
const DIGEST: &str = "
WITH ns AS (
  SELECT oid, nspname FROM pg_namespace
  WHERE nspname NOT IN ('pg_catalog', 'information_schema')
    AND nspname !~ '^pg_(toast|temp_|toast_temp_)')
SELECT line FROM (
  SELECT 'schema ' || quote_ident(nspname) AS line FROM ns
  UNION ALL
  SELECT 'relation ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname)
         || ' kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text
         || ' options=' || coalesce(array_to_string(c.reloptions, ','), '-')
         || ' toast=' || coalesce((SELECT array_to_string(tc.reloptions, ',') FROM pg_class tc
                                   WHERE tc.oid = c.reltoastrelid), '-')
         || ' replident=' || c.relreplident::text || ' am=' || coalesce(am.amname::text, '-')
         || ' tablespace=' || coalesce(ts.spcname::text, '-')
         || ' of=' || CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) ELSE '-' END
  FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
  LEFT JOIN pg_am am ON am.oid = c.relam
  LEFT JOIN pg_tablespace ts ON ts.oid = c.reltablespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I', 'c')
  UNION ALL
  SELECT 'column ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(a.attname)
         || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull::text
         || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
         || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
         || ' collation=' || coalesce(co.collname::text, '-')
         || ' storage=' || a.attstorage::text || ' stattarget=' || coalesce(a.attstattarget::text, '-1')
         || ' attoptions=' || coalesce(array_to_string(a.attoptions, ','), '-')
         || ' compression=' || coalesce(to_jsonb(a) ->> 'attcompression', '-')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || ' '
         || quote_ident(co.conname) || ' type=' || co.contype::text || ' ' || pg_get_constraintdef(co.oid)
         || ' validated=' || co.convalidated::text || ' deferrable=' || co.condeferrable::text
         || ' deferred=' || co.condeferred::text || ' noinherit=' || co.connoinherit::text
  FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid JOIN ns ON ns.oid = c.relnamespace
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid::text
         || ' clustered=' || i.indisclustered::text || ' replident=' || i.indisreplident::text
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
  UNION ALL
  SELECT 'sequence ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || ' '
         || format_type(s.seqtypid, NULL) || ' start=' || s.seqstart || ' increment=' || s.seqincrement
         || ' min=' || s.seqmin || ' max=' || s.seqmax || ' cache=' || s.seqcache
         || ' cycle=' || s.seqcycle::text || ' owned_by=' || coalesce(
              (SELECT d.refobjid::regclass::text || '.' || quote_ident(a.attname) || ' (' || d.deptype::text || ')'
               FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
               WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                 AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1), '-')
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN ns ON ns.oid = c.relnamespace
  UNION ALL
  SELECT 'type ' || quote_ident(ns.nspname) || '.' || quote_ident(t.typname) || ' typtype=' || t.typtype::text
         || ' labels=' || coalesce((SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder)
                                   FROM pg_enum e WHERE e.enumtypid = t.oid), '-')
  FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
  WHERE t.typtype IN ('e', 'd', 'r', 'm')
) x ORDER BY line";

fn digest(db: &ConnSettings) -> Result<Vec<String>, String> {
    block_on(async {
        let c = pgalign::db::connect(db)
            .await
            .map_err(|e| format!("connecting to {db}: {e:#}"))?;
        let rows = c.query(DIGEST, &[]).await.map_err(|e| {
            format!(
                "catalog digest of {db}: {}",
                pgalign::db::describe_error(&e)
            )
        })?;
        Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
    })
}

/// A unified diff of two texts, for messages.
fn text_diff(a: &str, b: &str, a_name: &str, b_name: &str) -> String {
    similar::TextDiff::from_lines(a, b)
        .unified_diff()
        .context_radius(2)
        .header(a_name, b_name)
        .to_string()
}

fn model_json(i: &Inspected) -> String {
    serde_json::to_string_pretty(&i.model).expect("the model serialises")
}

fn compare_digests(
    a: &ConnSettings,
    b: &ConnSettings,
    a_name: &str,
    b_name: &str,
) -> Result<(), String> {
    let (da, db) = (digest(a)?, digest(b)?);
    if da != db {
        return Err(format!(
            "the catalogs differ (independent digest):\n{}",
            text_diff(
                &(da.join("\n") + "\n"),
                &(db.join("\n") + "\n"),
                a_name,
                b_name
            )
        ));
    }
    Ok(())
}

/// Loads `sql`, inspects, recreates from `plan::script::from_empty` in a fresh database,
/// inspects again; models, fingerprints and catalog digests must be equal.
fn round_trip(ctx: &Ctx, label: &str, sql: &str) -> Result<Inspected, String> {
    round_trip_with(ctx, label, "", sql, &[])
}

/// [`round_trip`] of `prelude` + `sql` where `prelude` creates objects pgalign
/// does not manage (loaded into the recreated database too, before
/// `from_empty`), which must be reported as exactly `unmanaged`.
fn round_trip_with(
    ctx: &Ctx,
    label: &str,
    prelude: &str,
    sql: &str,
    unmanaged: &[&str],
) -> Result<Inspected, String> {
    let src = ctx.db(&format!("{label}_src"))?;
    load(&src, &format!("{prelude}\n{sql}"), "the source DDL")?;
    let first = inspect(&src)?;
    let recreate = plan::script::from_empty(&first.model);
    let dst = ctx.db(&format!("{label}_dst"))?;
    if !prelude.is_empty() {
        load(&dst, prelude, "the prelude")?;
    }
    load(&dst, &recreate, "from_empty of the source")?;
    let second = inspect(&dst)?;
    if first.model != second.model {
        return Err(format!(
            "the models differ after the round trip:\n{}\n--- from_empty was:\n{recreate}",
            text_diff(
                &model_json(&first),
                &model_json(&second),
                "loaded",
                "recreated"
            )
        ));
    }
    if first.model.fingerprint() != second.model.fingerprint() {
        return Err("equal models, different fingerprints".into());
    }
    compare_digests(&src, &dst, "loaded", "recreated")
        .map_err(|e| format!("{e}\n--- from_empty was:\n{recreate}"))?;
    let found: Vec<&str> = first.model.unmanaged.keys().map(String::as_str).collect();
    if found != unmanaged {
        return Err(format!(
            "objects reported as unmanaged (the DDL should only hold managed kinds, and {unmanaged:?} from the prelude): {found:?}"
        ));
    }
    Ok(first)
}

/// Plans A → B, runs the plan file with psql, re-diffs (must be empty) and
/// compares fingerprints and catalog digests with B.
fn converge(ctx: &Ctx, label: &str, a: &str, b: &str) -> Result<(), String> {
    converge_plan(ctx, label, a, b).map(drop)
}

/// [`converge`], returning the plan's text.
fn converge_plan(ctx: &Ctx, label: &str, a: &str, b: &str) -> Result<String, String> {
    let live = ctx.db(&format!("{label}_a"))?;
    let want = ctx.db(&format!("{label}_b"))?;
    load(&live, a, "schema A")?;
    load(&want, b, "schema B")?;
    let before = inspect(&live)?;
    let desired = inspect(&want)?;
    let p = plan::diff(&before, &desired.model, &PlanOptions::default());
    let text = plan::render_plan(&p, "matrix", "now");
    pgalign::db::shadow::run_psql(&live, None, Some(text.as_bytes()))
        .map_err(|e| format!("the plan failed under psql: {e:#}\n--- plan:\n{text}"))?;
    let after = inspect(&live)?;
    let again = plan::diff(&after, &desired.model, &PlanOptions::default());
    if !again.is_empty() {
        return Err(format!(
            "differences remain after applying the plan:\n{}\n--- plan was:\n{text}",
            again
                .steps
                .iter()
                .map(|s| s.sql.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    if after.model.fingerprint() != desired.model.fingerprint() {
        return Err(format!(
            "fingerprints differ after the plan:\n{}",
            text_diff(
                &model_json(&after),
                &model_json(&desired),
                "after",
                "desired"
            ) + "\n--- plan was:\n"
                + &text
        ));
    }
    compare_digests(&live, &want, "after the plan", "desired")
        .map_err(|e| format!("{e}\n--- plan was:\n{text}"))?;
    Ok(text)
}

// ---------------------------------------------------------------- cases

/// Every object kind the model knows: schemas, enums, sequences, tables (unlogged;
/// columns with typmods, arrays, enum types, collations, defaults, identity,
/// serial, stored generated), every constraint kind and index shapes.
fn round_trip_every_kind(ctx: &Ctx) -> Result<(), String> {
    let mut sql = String::from(
        r#"
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy', 'it''s', 'Mixed Case', 'ünï cödé');
CREATE TYPE public.level AS ENUM ('low', 'high');
CREATE SEQUENCE app.counter AS integer START WITH 100 INCREMENT BY 5 MINVALUE 10 MAXVALUE 100000 CACHE 3 CYCLE;
CREATE SEQUENCE app.countdown INCREMENT BY -1;
CREATE SEQUENCE app.small AS smallint;
CREATE SEQUENCE app.owned_seq;
CREATE SEQUENCE public.plain;

CREATE TABLE app.customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email varchar(120) NOT NULL,
    name text COLLATE "C",
    score numeric(10,2) DEFAULT 0 CHECK (score >= 0),
    ratio double precision,
    tags text[] DEFAULT '{}'::text[],
    grid integer[][],
    mood app.mood DEFAULT 'ok',
    moods app.mood[],
    lvl public.level NOT NULL DEFAULT 'low',
    created timestamptz(3) NOT NULL DEFAULT now(),
    born date,
    at_time time(0) without time zone,
    bits bit varying(8),
    flag bit(3) DEFAULT B'101',
    ch char(3),
    ival interval hour to minute,
    doc jsonb,
    raw bytea,
    addr inet,
    price money,
    n_owned bigint DEFAULT nextval('app.owned_seq'),
    c2 integer DEFAULT nextval('app.counter'::regclass),
    email_lower text GENERATED ALWAYS AS (lower(email)) STORED,
    total numeric GENERATED ALWAYS AS (score * 2 + 1) STORED,
    CONSTRAINT customers_email_key UNIQUE (email),
    CONSTRAINT "Score Range" CHECK (score < 1e9 AND ratio IS DISTINCT FROM 'NaN'::float8)
);
ALTER SEQUENCE app.owned_seq OWNED BY app.customers.n_owned;

CREATE TABLE app.orders (
    id bigint GENERATED BY DEFAULT AS IDENTITY,
    customer_id bigint NOT NULL,
    ref uuid NOT NULL DEFAULT gen_random_uuid(),
    qty integer NOT NULL DEFAULT 1,
    price numeric(12,4),
    during tstzrange,
    note varchar,
    CONSTRAINT orders_pkey PRIMARY KEY (id),
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES app.customers(id)
        ON DELETE CASCADE ON UPDATE RESTRICT DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT orders_qty_check CHECK (qty > 0 AND qty < 1000),
    CONSTRAINT orders_ref_key UNIQUE (ref) DEFERRABLE,
    CONSTRAINT orders_no_overlap EXCLUDE USING gist (during WITH &&) WHERE (qty > 1)
);

CREATE TABLE app.order_lines (
    order_id bigint NOT NULL,
    line smallint NOT NULL,
    product text NOT NULL,
    amount numeric(8,2) DEFAULT 1.5 NOT NULL,
    PRIMARY KEY (order_id, line),
    FOREIGN KEY (order_id) REFERENCES app.orders(id) MATCH FULL ON DELETE NO ACTION
);

CREATE TABLE app.line_notes (
    order_id bigint,
    line smallint,
    body text,
    CONSTRAINT line_notes_line_fk FOREIGN KEY (order_id, line)
        REFERENCES app.order_lines (order_id, line) ON UPDATE CASCADE ON DELETE SET NULL
);

CREATE TABLE app.tree (
    id int PRIMARY KEY,
    parent int DEFAULT 0 REFERENCES app.tree (id) ON DELETE SET DEFAULT,
    label text
);

CREATE UNLOGGED TABLE app.cache (k text PRIMARY KEY, v bytea, expires timestamptz);

CREATE TABLE public.legacy (
    id serial PRIMARY KEY,
    big bigserial,
    small smallserial,
    n int DEFAULT nextval('public.plain')
);

CREATE TABLE app.empty_table ();

CREATE INDEX orders_customer_idx ON app.orders (customer_id);
CREATE INDEX orders_multi ON app.orders (customer_id DESC NULLS LAST, qty NULLS FIRST);
CREATE INDEX orders_partial ON app.orders (price) WHERE price > 100 AND note IS NOT NULL;
CREATE INDEX customers_lower ON app.customers (lower(email) text_pattern_ops);
CREATE UNIQUE INDEX customers_name_uq ON app.customers (name COLLATE "POSIX");
CREATE INDEX customers_doc ON app.customers USING gin (doc jsonb_path_ops);
CREATE INDEX customers_tags ON app.customers USING gin (tags);
CREATE INDEX orders_incl ON app.orders (customer_id) INCLUDE (qty, price);
CREATE INDEX orders_hash ON app.orders USING hash (note);
CREATE INDEX orders_brin ON app.orders USING brin (id) WITH (pages_per_range = 32);
CREATE INDEX orders_fill ON app.orders (qty) WITH (fillfactor = 70);
CREATE INDEX orders_during ON app.orders USING gist (during);
CREATE INDEX tree_expr ON app.tree ((parent + 1), upper(label));

-- Table and column settings: kept out of the model at their defaults.
CREATE TABLE app.settings (
    id int NOT NULL,
    k int NOT NULL,
    body text,
    doc jsonb,
    n numeric,
    CONSTRAINT settings_pkey PRIMARY KEY (id) USING INDEX TABLESPACE pgalign_matrix
) WITH (fillfactor = 80, toast.autovacuum_enabled = false) TABLESPACE pgalign_matrix;
CREATE UNIQUE INDEX settings_k ON app.settings (k) TABLESPACE pgalign_matrix WHERE (k > 0);
CREATE UNIQUE INDEX settings_k_all ON app.settings (k);
ALTER TABLE app.settings REPLICA IDENTITY USING INDEX settings_k_all;
ALTER TABLE app.settings CLUSTER ON settings_pkey;
ALTER TABLE app.settings ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN doc SET STATISTICS 500,
    ALTER COLUMN k SET (n_distinct = 100), ALTER COLUMN n SET STORAGE EXTENDED, ALTER COLUMN id SET STATISTICS 0;
ALTER TABLE app.cache REPLICA IDENTITY FULL;
ALTER TABLE app.tree REPLICA IDENTITY NOTHING;
CREATE TYPE app.row_t AS (id int, label text COLLATE "C", n numeric);
CREATE TABLE app.typed OF app.row_t (id WITH OPTIONS PRIMARY KEY, label WITH OPTIONS DEFAULT 'x' NOT NULL);
CREATE TABLE app.parted (k int, body text, v int) PARTITION BY LIST (k) TABLESPACE pgalign_matrix;
ALTER TABLE app.parted ALTER COLUMN body SET STORAGE MAIN, ALTER COLUMN v SET STATISTICS 50;
CREATE TABLE app.part1 PARTITION OF app.parted FOR VALUES IN (1);
CREATE TABLE app.part2 PARTITION OF app.parted FOR VALUES IN (2) TABLESPACE pg_default;
ALTER TABLE app.part2 ALTER COLUMN body SET STORAGE EXTENDED, ALTER COLUMN v SET STATISTICS 7;
CREATE INDEX parted_v ON app.parted (v) TABLESPACE pgalign_matrix;
CREATE TABLE app.other_am (id int, v text) USING pgalign_heap2;
"#,
    );
    if ctx.major >= 14 {
        sql.push_str(
            "ALTER TABLE app.settings ALTER COLUMN doc SET COMPRESSION pglz;\n\
             ALTER TABLE app.parted ALTER COLUMN body SET COMPRESSION pglz;\n",
        );
    }
    if ctx.major >= 17 {
        // Partitioned tables have an access method (their partitions' default) from 17.
        sql.push_str(
            "CREATE TABLE app.parted_am (k int) PARTITION BY LIST (k) USING pgalign_heap2;\n\
             CREATE TABLE app.parted_am1 PARTITION OF app.parted_am FOR VALUES IN (1);\n\
             CREATE TABLE app.parted_am2 PARTITION OF app.parted_am FOR VALUES IN (2) USING heap;\n",
        );
    }
    sql = sql.replace("pgalign_matrix", ctx.tablespace()?);
    if ctx.major >= 15 {
        sql.push_str(
            r#"
CREATE TABLE app.pg15 (
    id int PRIMARY KEY,
    a int,
    b int,
    tree_id int,
    parent_id int,
    CONSTRAINT pg15_a_b_key UNIQUE NULLS NOT DISTINCT (a, b),
    CONSTRAINT pg15_tree_fk FOREIGN KEY (tree_id, parent_id) REFERENCES app.pg15_parent (x, y)
        ON DELETE SET NULL (parent_id)
);
CREATE UNIQUE INDEX pg15_b_nnd ON app.pg15 (b) NULLS NOT DISTINCT;
"#,
        );
        // The referenced table first.
        sql = sql.replace(
            "CREATE TABLE app.pg15 (",
            "CREATE TABLE app.pg15_parent (x int, y int, PRIMARY KEY (x, y));\nCREATE TABLE app.pg15 (",
        );
    }
    sql.push_str(&ranges_aggregates_event_triggers(ctx.major));
    let got = round_trip_with(
        ctx,
        "kinds",
        "CREATE ACCESS METHOD pgalign_heap2 TYPE TABLE HANDLER heap_tableam_handler;",
        &sql,
        &["access method pgalign_heap2"],
    )?;
    // Guard against a vacuous pass: everything above is in the model.
    let m = &got.model;
    let kinds: std::collections::BTreeSet<_> = m
        .tables
        .values()
        .flat_map(|t| t.constraints.values().map(|c| c.kind))
        .collect();
    // + app.bookings (range columns).
    let expect_tables =
        15 + if ctx.major >= 15 { 2 } else { 0 } + if ctx.major >= 17 { 3 } else { 0 };
    let problems: Vec<String> = [
        (
            m.schemas.len() == 2,
            format!("schemas {:?}", m.schemas.keys()),
        ),
        (m.enums.len() == 2, format!("{} enums", m.enums.len())),
        (
            m.sequences.len() == 5 + 3,
            format!("sequences {:?}", m.sequences.keys().collect::<Vec<_>>()),
        ),
        (
            m.tables.len() == expect_tables,
            format!("tables {:?}", m.tables.keys().collect::<Vec<_>>()),
        ),
        (
            m.indexes.len() >= 13,
            format!("indexes {:?}", m.indexes.keys().collect::<Vec<_>>()),
        ),
        (kinds.len() == 5, format!("constraint kinds {kinds:?}")),
        (
            m.ranges.len() == 4
                && m.ranges
                    .values()
                    .all(|r| r.multirange.is_some() == (ctx.major >= 14)),
            format!("ranges {:?}", m.ranges),
        ),
        (
            m.aggregates.len() == 6,
            format!("aggregates {:?}", m.aggregates.keys().collect::<Vec<_>>()),
        ),
        (
            m.event_triggers.len() == 3,
            format!(
                "event triggers {:?}",
                m.event_triggers.keys().collect::<Vec<_>>()
            ),
        ),
        settings_found(m, ctx.major),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, what)| what)
    .collect();
    if !problems.is_empty() {
        return Err(format!(
            "the model misses loaded objects: {}",
            problems.join("; ")
        ));
    }
    Ok(())
}

/// Range types (a collation and operator class, a subtype difference function
/// of the schema, a canonical function through a shell type; a multirange name
/// from PostgreSQL 14), used by columns, a function, a domain and a view;
/// aggregates of every kind (moving, ordered-set, hypothetical, `(*)`, a sort
/// operator, polymorphic); event triggers in each state. The event triggers
/// come last: they fire on the DDL that follows them.
fn ranges_aggregates_event_triggers(major: u32) -> String {
    let multirange = if major >= 14 {
        ", multirange_type_name = app.float_spans"
    } else {
        ""
    };
    format!(
        r#"
CREATE TYPE app.floatr AS RANGE (subtype = float8, subtype_diff = float8mi{multirange});
CREATE TYPE app.textr AS RANGE (subtype = text, collation = "C", subtype_opclass = text_pattern_ops);
CREATE FUNCTION app.ts_diff(a timestamp, b timestamp) RETURNS float8 LANGUAGE sql IMMUTABLE
    AS 'SELECT extract(epoch FROM a - b)';
CREATE TYPE app.tsr AS RANGE (subtype = timestamp, subtype_diff = app.ts_diff);
CREATE TYPE app.seats;
CREATE FUNCTION app.seats_canonical(app.seats) RETURNS app.seats LANGUAGE internal IMMUTABLE STRICT
    AS 'int4range_canonical';
CREATE TYPE app.seats AS RANGE (subtype = int4, canonical = app.seats_canonical);
COMMENT ON TYPE app.tsr IS 'periods';
CREATE DOMAIN app.short_period AS app.tsr CHECK (upper(VALUE) - lower(VALUE) < interval '1 day');
CREATE TABLE app.bookings (id int PRIMARY KEY, during app.tsr, shift app.short_period,
                           names app.textr[], seats app.seats, spans app.floatr);
CREATE FUNCTION app.hours(r app.tsr) RETURNS float8 LANGUAGE sql AS 'SELECT app.ts_diff(upper(r), lower(r)) / 3600';
CREATE FUNCTION app.add(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s + v';
CREATE FUNCTION app.sub(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s - v';
CREATE AGGREGATE app.total(int) (sfunc = app.add, stype = int, sspace = 8, initcond = '0', combinefunc = app.add,
    parallel = safe, msfunc = app.add, minvfunc = app.sub, mstype = int, msspace = 16, minitcond = '0');
CREATE AGGREGATE app.pct(float8 ORDER BY anyelement) (sfunc = ordered_set_transition, stype = internal,
    finalfunc = percentile_disc_final, finalfunc_extra);
CREATE AGGREGATE app.hyp(VARIADIC "any" ORDER BY VARIADIC "any") (sfunc = ordered_set_transition_multi,
    stype = internal, finalfunc = rank_final, finalfunc_extra, hypothetical);
CREATE AGGREGATE app.cnt(*) (sfunc = int8inc, stype = int8, initcond = '0', parallel = restricted);
CREATE AGGREGATE app.maxi(int) (sfunc = int4larger, stype = int, sortop = >);
CREATE FUNCTION app.push(a anyarray, v anyelement) RETURNS anyarray LANGUAGE sql IMMUTABLE AS 'SELECT a || v';
CREATE FUNCTION app.first_of(a anyarray) RETURNS anyelement LANGUAGE sql IMMUTABLE AS 'SELECT a[1]';
CREATE AGGREGATE app.first(anyelement) (sfunc = app.push, stype = anyarray, initcond = '{{}}',
    finalfunc = app.first_of, finalfunc_modify = read_write);
COMMENT ON AGGREGATE app.total(int) IS 'sum';
CREATE VIEW app.booking_stats AS SELECT app.total(id) AS total, app.cnt(*) AS n, sum(app.hours(during)) AS h FROM app.bookings;
CREATE FUNCTION app.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END $$;
CREATE EVENT TRIGGER app_audit ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'alter table')
    EXECUTE FUNCTION app.on_ddl();
CREATE EVENT TRIGGER app_off ON sql_drop EXECUTE FUNCTION app.on_ddl();
ALTER EVENT TRIGGER app_off DISABLE;
CREATE EVENT TRIGGER app_rewrites ON table_rewrite EXECUTE FUNCTION app.on_ddl();
ALTER EVENT TRIGGER app_rewrites ENABLE REPLICA;
COMMENT ON EVENT TRIGGER app_audit IS 'audit';
"#
    )
}

/// Whether the table and column settings of the every-kind case are in the
/// model (so that the round trip does not pass by leaving them all out).
fn settings_found(m: &pgalign::catalog::Model, major: u32) -> (bool, String) {
    use pgalign::catalog::QName;
    use pgalign::catalog::model::ReplicaIdentity;
    let t = |n: &str| m.tables.get(&QName::new("app", n));
    let mut missing = Vec::new();
    let s = t("settings");
    let col = |n: &str| {
        s.and_then(|s| s.column(n))
            .map(|c| c.settings.clone())
            .unwrap_or_default()
    };
    let checks = [
        (
            "replica identity index",
            s.and_then(|s| s.replica_identity.clone())
                == Some(ReplicaIdentity::Index("settings_k_all".into())),
        ),
        (
            "cluster on",
            s.and_then(|s| s.cluster_on.clone()).as_deref() == Some("settings_pkey"),
        ),
        (
            "table tablespace",
            s.and_then(|s| s.tablespace.clone()).as_deref() == Some("pgalign_matrix"),
        ),
        (
            "toast options",
            s.is_some_and(|s| {
                s.options
                    .contains(&"toast.autovacuum_enabled=false".to_string())
            }),
        ),
        (
            "constraint tablespace",
            s.and_then(|s| s.constraints.get("settings_pkey"))
                .and_then(|c| c.tablespace.clone())
                .is_some(),
        ),
        (
            "index tablespace",
            m.indexes
                .get(&QName::new("app", "settings_k"))
                .and_then(|i| i.tablespace.clone())
                .is_some(),
        ),
        (
            "storage",
            col("body").storage.as_deref() == Some("external"),
        ),
        (
            "statistics",
            col("doc").statistics == Some(500) && col("id").statistics == Some(0),
        ),
        ("options", col("k").options == ["n_distinct=100"]),
        (
            "compression",
            major < 14 || col("doc").compression.as_deref() == Some("pglz"),
        ),
        (
            "replica identity full",
            t("cache").and_then(|c| c.replica_identity.clone()) == Some(ReplicaIdentity::Full),
        ),
        (
            "replica identity nothing",
            t("tree").and_then(|c| c.replica_identity.clone()) == Some(ReplicaIdentity::Nothing),
        ),
        (
            "typed table",
            t("typed").and_then(|c| c.of_type.clone()) == Some(QName::new("app", "row_t")),
        ),
        (
            "partition settings",
            t("part2").is_some_and(|p| {
                p.inherited_column_settings
                    .get("v")
                    .is_some_and(|v| v.statistics == Some(7))
            }),
        ),
        (
            "access method",
            t("other_am")
                .and_then(|c| c.access_method.clone())
                .as_deref()
                == Some("pgalign_heap2"),
        ),
        (
            "partitioned access method",
            major < 17
                || t("parted_am")
                    .and_then(|c| c.access_method.clone())
                    .is_some(),
        ),
    ];
    for (what, ok) in checks {
        if !ok {
            missing.push(what);
        }
    }
    (missing.is_empty(), format!("settings missing: {missing:?}"))
}

/// Quoted, reserved, mixed-case, space, quote, unicode and 63-byte names.
fn round_trip_identifiers(ctx: &Ctx) -> Result<(), String> {
    let long_ascii = format!("t{}", "x".repeat(62)); // 63 bytes
    let long_unicode = format!("{}x", "ü".repeat(31)); // 31 × 2 + 1 = 63 bytes
    let long_col = format!("c{}", "y".repeat(62));
    let long_idx = format!("i{}", "z".repeat(62));
    let long_con = format!("k{}", "w".repeat(62));
    for n in [&long_ascii, &long_unicode, &long_col, &long_idx, &long_con] {
        assert_eq!(n.len(), 63);
    }
    let sql = format!(
        r#"
CREATE SCHEMA "My Schema";
CREATE SCHEMA "select";
CREATE SCHEMA "Ünïcödé";
CREATE SCHEMA "we""ird.name";
CREATE TYPE "My Schema"."Größe" AS ENUM ('S', 'M', 'L', 'it''s "quoted"');
CREATE TYPE "select"."user" AS ENUM ('a');
CREATE SEQUENCE "My Schema"."Seq ""quoted""";
CREATE SEQUENCE "we""ird.name"."order";
CREATE TABLE "My Schema"."Order" (
    "select" int PRIMARY KEY,
    "Größe" "My Schema"."Größe" DEFAULT 'M',
    "user" text,
    "a b" text NOT NULL DEFAULT 'it''s',
    "CamelCase" int DEFAULT nextval('"My Schema"."Seq ""quoted"""'),
    "{long_col}" int,
    "from" "select"."user"[],
    "Ünï" text COLLATE "C",
    CONSTRAINT "Check ""this""" CHECK ("select" > 0 AND "user" <> 'x'),
    CONSTRAINT "{long_con}" UNIQUE ("{long_col}", "CamelCase")
);
CREATE TABLE "select"."table" (
    "column" int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "Order_ref" int REFERENCES "My Schema"."Order"("select") ON DELETE CASCADE,
    "where" text GENERATED ALWAYS AS (upper("Order_ref"::text)) STORED
);
CREATE TABLE "Ünïcödé"."{long_unicode}" (
    "ïd" serial PRIMARY KEY,
    "Ref" int REFERENCES "select"."table"("column")
);
CREATE TABLE "we""ird.name"."{long_ascii}" (
    id bigserial PRIMARY KEY,
    "order" int DEFAULT nextval('"we""ird.name"."order"'),
    "ÄÖÜ" int
);
ALTER SEQUENCE "we""ird.name"."order" OWNED BY "we""ird.name"."{long_ascii}"."order";
CREATE INDEX "Idx With Space" ON "My Schema"."Order" ("Größe", lower("a b"));
CREATE INDEX "{long_idx}" ON "we""ird.name"."{long_ascii}" ("ÄÖÜ" DESC);
CREATE UNIQUE INDEX "select" ON "select"."table" ("where") WHERE ("Order_ref" IS NOT NULL);
CREATE INDEX "Ünï_idx" ON "Ünïcödé"."{long_unicode}" ("Ref");
"#
    );
    let got = round_trip(ctx, "names", &sql)?;
    if got.model.tables.len() != 4 || got.model.indexes.len() != 4 {
        return Err(format!(
            "the model misses loaded objects: tables {:?}, indexes {:?}",
            got.model.tables.keys().collect::<Vec<_>>(),
            got.model.indexes.keys().collect::<Vec<_>>()
        ));
    }
    Ok(())
}

/// `NOT VALID` check and foreign-key constraints keep their state.
fn round_trip_not_valid(ctx: &Ctx) -> Result<(), String> {
    round_trip(
        ctx,
        "notvalid",
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c (id int PRIMARY KEY, p_id int, qty int);
         ALTER TABLE c ADD CONSTRAINT c_qty_check CHECK (qty > 0) NOT VALID;
         ALTER TABLE c ADD CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) NOT VALID;",
    )
    .map(drop)
}

/// Identity columns with their own sequence options.
fn round_trip_identity_options(ctx: &Ctx) -> Result<(), String> {
    round_trip(
        ctx,
        "identity",
        "CREATE TABLE t (
             id bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1000 INCREMENT BY 10 CACHE 5) PRIMARY KEY,
             n smallint GENERATED ALWAYS AS IDENTITY (MINVALUE -100 MAXVALUE 100 START WITH -100 CYCLE)
         );",
    )
    .map(drop)
}

/// An enum with no labels yet is still a type.
fn round_trip_empty_enum(ctx: &Ctx) -> Result<(), String> {
    round_trip(
        ctx,
        "emptyenum",
        "CREATE TYPE nothing_yet AS ENUM (); CREATE TABLE t (id int PRIMARY KEY);",
    )
    .map(drop)
}

/// PG 18 keeps NOT NULL as constraints in `pg_constraint` (contype `n`), with
/// names, `NOT VALID` and `NO INHERIT`.
fn round_trip_pg18_not_null(ctx: &Ctx) -> Result<(), String> {
    let got = round_trip(
        ctx,
        "pg18nn",
        "CREATE TABLE t (
             id int PRIMARY KEY,
             a int CONSTRAINT a_is_required NOT NULL,
             b int NOT NULL,
             c int,
             d int
         );
         ALTER TABLE t ADD CONSTRAINT c_later NOT NULL c NOT VALID;
         ALTER TABLE t ADD CONSTRAINT d_no_inherit NOT NULL d NO INHERIT;",
    )?;
    // Guard against a vacuous pass: the model holds what was loaded, and
    // nothing for the default-named, plain ones.
    let t = &got.model.tables[&catalog::QName::new("public", "t")];
    let col = |n: &str| t.column(n).expect("a column of t");
    let seen = [
        (
            "a",
            col("a").not_null_name.as_deref() == Some("a_is_required"),
        ),
        ("b", col("b").not_null && col("b").not_null_is_plain()),
        ("id", col("id").not_null && col("id").not_null_is_plain()),
        (
            "c",
            col("c").not_null_name.as_deref() == Some("c_later") && col("c").not_null_not_valid,
        ),
        (
            "d",
            col("d").not_null_name.as_deref() == Some("d_no_inherit")
                && col("d").not_null_no_inherit,
        ),
    ];
    match seen
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
    {
        bad if bad.is_empty() => Ok(()),
        bad => Err(format!(
            "NOT NULL constraints of t.{bad:?} not in the model: {t:#?}"
        )),
    }
}

/// PG 18 virtual generated columns (the default kind of generated column there).
fn round_trip_pg18_virtual(ctx: &Ctx) -> Result<(), String> {
    round_trip(
        ctx,
        "pg18virtual",
        "CREATE TABLE t (
             id int PRIMARY KEY,
             a int,
             v int GENERATED ALWAYS AS (a * 2) VIRTUAL,
             s int GENERATED ALWAYS AS (a * 3) STORED
         );",
    )
    .map(drop)
}

/// PG 18 `NOT ENFORCED` check and foreign-key constraints.
fn round_trip_pg18_not_enforced(ctx: &Ctx) -> Result<(), String> {
    round_trip(
        ctx,
        "pg18enforced",
        "CREATE TABLE p (id int PRIMARY KEY);
         CREATE TABLE c (
             id int PRIMARY KEY,
             p_id int,
             qty int,
             CONSTRAINT c_qty_check CHECK (qty > 0) NOT ENFORCED,
             CONSTRAINT c_p_fk FOREIGN KEY (p_id) REFERENCES p (id) NOT ENFORCED
         );",
    )
    .map(drop)
}

const PAIR_A: &str = r#"
CREATE SCHEMA shop;
CREATE SCHEMA old_stuff;
CREATE TYPE shop.status AS ENUM ('new', 'paid');
CREATE SEQUENCE shop.counter;
CREATE TABLE old_stuff.t (id int);
CREATE TABLE shop.customers (id serial PRIMARY KEY, email varchar(50) NOT NULL, legacy text, "Mixed" int);
CREATE TABLE shop.orders (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer_id int REFERENCES shop.customers (id),
    total numeric(10,2),
    status shop.status,
    qty int CONSTRAINT orders_qty_check CHECK (qty > 0)
);
CREATE INDEX orders_total ON shop.orders (total);
CREATE UNIQUE INDEX customers_email ON shop.customers (email);
CREATE TABLE shop.gone (id int PRIMARY KEY, order_id bigint REFERENCES shop.orders (id));
INSERT INTO shop.customers (email, legacy, "Mixed") SELECT 'u' || g || '@x', 'old', g FROM generate_series(1, 50) g;
INSERT INTO shop.orders (customer_id, total, status, qty) SELECT g, g * 1.5, 'new', g FROM generate_series(1, 50) g;
"#;

const PAIR_B: &str = r#"
CREATE SCHEMA shop;
CREATE SCHEMA "Fresh Schema";
CREATE TYPE shop.status AS ENUM ('new', 'pending', 'paid', 'refunded');
CREATE TYPE shop.kind AS ENUM ('a', 'b');
CREATE SEQUENCE shop.counter INCREMENT 5 START 10 CACHE 2;
CREATE SEQUENCE "Fresh Schema"."Ünï seq";
CREATE TABLE "Fresh Schema"."Tëst" (id int PRIMARY KEY DEFAULT nextval('"Fresh Schema"."Ünï seq"'), "select" text);
CREATE TABLE shop.customers (
    id serial PRIMARY KEY,
    email varchar(120) NOT NULL,
    "Mixed" bigint DEFAULT 7,
    kind shop.kind NOT NULL DEFAULT 'a',
    CONSTRAINT customers_email_key UNIQUE (email)
);
CREATE TABLE shop.orders (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    customer_id int NOT NULL REFERENCES shop.customers (id) ON DELETE CASCADE,
    total numeric(12,2),
    status shop.status DEFAULT 'pending',
    qty int CONSTRAINT orders_qty_check CHECK (qty >= 0),
    n int DEFAULT nextval('shop.counter')
);
CREATE INDEX orders_total ON shop.orders (total DESC) WHERE total > 0;
CREATE INDEX orders_status ON shop.orders (status, customer_id);
CREATE TABLE shop.reviews (
    id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES shop.orders (id),
    body text NOT NULL,
    stars smallint CHECK (stars BETWEEN 1 AND 5)
);
CREATE UNLOGGED TABLE shop.scratch (k text);
"#;

/// A pair touching every kind: schemas, enums (values added), sequences altered,
/// tables created and dropped, columns added, dropped, retyped, defaults and
/// NOT NULL changed, constraints and indexes replaced.
fn convergence_pair(ctx: &Ctx) -> Result<(), String> {
    converge(ctx, "pair", PAIR_A, PAIR_B)
}

/// PG 18 NOT NULL constraints, with inheritance on `t`: renamed (`a`),
/// validated (`b`), made NO INHERIT (`d`) and inheritable again (`e`).
const PG18_NN_A: &str = r#"
CREATE TABLE t (
    id int PRIMARY KEY,
    a int CONSTRAINT a_old NOT NULL,
    b int,
    d int NOT NULL,
    e int CONSTRAINT e_nn NOT NULL NO INHERIT
);
INSERT INTO t SELECT n, n, n, n, n FROM generate_series(1, 20) n;
CREATE TABLE child (x int) INHERITS (t);
INSERT INTO child SELECT n, n, n, n, n, n FROM generate_series(21, 25) n;
-- After the child: its copy is NOT VALID too (the model does not list the
-- constraints a child inherits; one created later would get a valid copy).
ALTER TABLE t ADD CONSTRAINT b_nn NOT NULL b NOT VALID;
CREATE TABLE u (
    id int PRIMARY KEY,
    c int NOT NULL,
    f int,
    g int NOT NULL,
    i int NOT NULL
);
INSERT INTO u SELECT n, n, n, n, n FROM generate_series(1, 20) n;
CREATE TABLE k (id int, v int);
INSERT INTO k SELECT n, n FROM generate_series(1, 20) n;
"#;

/// …and on `u` (no children): a default name becomes an explicit one (`c`),
/// a nullable column gets NOT NULL online (`f`), one loses it (`g`), a valid
/// one becomes NOT VALID (`i`), a new column and a new table get NOT VALID
/// and named ones; `k.id` becomes a primary key (which a NOT VALID NOT NULL
/// would refuse).
const PG18_NN_B: &str = r#"
CREATE TABLE t (
    id int PRIMARY KEY,
    a int CONSTRAINT a_new NOT NULL,
    b int CONSTRAINT b_nn NOT NULL,
    d int NOT NULL NO INHERIT,
    e int CONSTRAINT e_nn NOT NULL
);
INSERT INTO t SELECT n, n, n, n, n FROM generate_series(1, 20) n;
CREATE TABLE child (x int) INHERITS (t);
CREATE TABLE u (
    id int PRIMARY KEY,
    c int CONSTRAINT c_named NOT NULL,
    f int NOT NULL,
    g int,
    i int,
    h int
);
INSERT INTO u SELECT n, n, n, n, n FROM generate_series(1, 20) n;
ALTER TABLE u ADD CONSTRAINT i_nv NOT NULL i NOT VALID;
ALTER TABLE u ADD CONSTRAINT h_nv NOT NULL h NOT VALID;
CREATE TABLE k (id int PRIMARY KEY, v int);
INSERT INTO k SELECT n, n FROM generate_series(1, 20) n;
CREATE TABLE fresh (k int CONSTRAINT k_nn NOT NULL, v int, w int NOT NULL NO INHERIT);
ALTER TABLE fresh ADD CONSTRAINT v_nv NOT NULL v NOT VALID;
"#;

/// PG 18 NOT NULL constraints are planned, both ways; a new NOT NULL on a
/// table with rows uses PG 18's `NOT VALID` + `VALIDATE` (no CHECK detour).
fn convergence_pg18_not_null(ctx: &Ctx) -> Result<(), String> {
    let plan = converge_plan(ctx, "pg18nn", PG18_NN_A, PG18_NN_B)?;
    for want in [
        "ALTER TABLE public.u ADD CONSTRAINT u_f_not_null NOT NULL f NOT VALID;",
        "ALTER TABLE public.u VALIDATE CONSTRAINT u_f_not_null;",
        "ALTER TABLE public.t RENAME CONSTRAINT a_old TO a_new;",
        "ALTER TABLE public.t ALTER CONSTRAINT t_d_not_null NO INHERIT;",
    ] {
        if !plan.contains(want) {
            return Err(format!("the plan lacks `{want}`:\n{plan}"));
        }
    }
    if plan.contains("CHECK (f IS NOT NULL)") {
        return Err(format!(
            "the plan takes the CHECK detour for u.f on PG 18:\n{plan}"
        ));
    }
    converge(ctx, "pg18nn_back", PG18_NN_B, PG18_NN_A)
}

/// From an empty database to the full pair and back.
fn convergence_empty_and_back(ctx: &Ctx) -> Result<(), String> {
    converge(ctx, "from_empty", "", PAIR_B)?;
    converge(ctx, "to_empty", PAIR_B, "")
}

/// Range types, aggregates and event triggers created, changed (a range
/// dropped and created again, an aggregate replaced and one recreated under a
/// view, an event trigger re-tagged and disabled) and dropped.
fn convergence_new_kinds(ctx: &Ctx) -> Result<(), String> {
    let fns = "CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END $$;
               CREATE FUNCTION add_int(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s + v';";
    converge(
        ctx,
        "new_kinds",
        &format!(
            "{fns}
             CREATE TYPE unused AS RANGE (subtype = float8);
             CREATE TYPE gone AS RANGE (subtype = date);
             CREATE TYPE kept AS RANGE (subtype = int8);
             CREATE TABLE t (id int, span kept, n int);
             CREATE AGGREGATE total(int) (sfunc = add_int, stype = int, initcond = '0');
             CREATE AGGREGATE widened(int) (sfunc = int4pl, stype = int);
             CREATE AGGREGATE dropped(int) (sfunc = int4pl, stype = int);
             CREATE VIEW sums AS SELECT total(n) AS a, widened(n) AS b FROM t;
             CREATE EVENT TRIGGER retag ON ddl_command_start WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER to_disable ON ddl_command_end EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER gone ON sql_drop EXECUTE FUNCTION note_ddl();"
        ),
        &format!(
            "{fns}
             CREATE FUNCTION add_big(s bigint, v int) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT s + v';
             CREATE TYPE unused AS RANGE (subtype = float8, subtype_diff = float8mi);
             CREATE TYPE kept AS RANGE (subtype = int8);
             CREATE TYPE fresh AS RANGE (subtype = numeric);
             CREATE TABLE t (id int, span kept, n int, f fresh);
             CREATE AGGREGATE total(int) (sfunc = add_int, stype = int, initcond = '10');
             CREATE AGGREGATE widened(int) (sfunc = add_big, stype = bigint);
             CREATE AGGREGATE pct(float8 ORDER BY anyelement) (sfunc = ordered_set_transition, stype = internal,
                 finalfunc = percentile_disc_final, finalfunc_extra);
             CREATE VIEW sums AS SELECT total(n) AS a, widened(n) AS b FROM t;
             CREATE EVENT TRIGGER retag ON ddl_command_start WHEN TAG IN ('CREATE TABLE', 'DROP TABLE')
                 EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER to_disable ON ddl_command_end EXECUTE FUNCTION note_ddl();
             ALTER EVENT TRIGGER to_disable DISABLE;
             CREATE EVENT TRIGGER fresh ON table_rewrite EXECUTE FUNCTION note_ddl();"
        ),
    )
}
