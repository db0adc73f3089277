//! The corpus convergence suite: every pair of schemas from `../shared/corpus`
//! (read its README) goes through [`converge_to`] on real PostgreSQL.
//!
//! Pairs (ids as in `tests/corpus-known-failures.txt`):
//! - `migra/<case>`: a.sql → b.sql, and `migra/<case>+additions`: a.sql +
//!   additions.sql → b.sql (when additions.sql is not empty), for all 26 cases.
//!   The role `schemainspect_test_role` is created first. Options as in migra's
//!   test: only schema `goodschema` for singleschema and singleschema_ext, all
//!   but `excludedschema` for excludeschema, privileges compared for every
//!   other case except extversions.
//! - `pagila/NN-MM`: consecutive versions 01 … 24 (20 with its PG17-only
//!   `SET transaction_timeout` line stripped); 25–27 need PostgreSQL 18.
//! - `lemmy/K-L` and `documenso/K-L`: history state K (files 1..K, one
//!   transaction per file, Lemmy with its `pg15/` override and `pre/`) → state
//!   L: m = 1 for a sample of K, m = 10, m = 50, the empty database → the full
//!   history, and backward pairs (L < K, full → empty included). See
//!   [`LEMMY_PAIRS`] and [`DOCUMENSO_PAIRS`].
//!
//! Every state is loaded once, inspected once, and copied with `CREATE DATABASE
//! … TEMPLATE` for each pair that starts from it. Before the plan runs, A gets a
//! few rows in every table whose NOT NULL columns can be filled (by type, or
//! from the referenced table's rows for a single-column foreign key; see
//! [`SEED`]); the row check covers those.
//!
//! The test prints one line per pair and `convergence: P/T pairs`; it fails when
//! a pair that is not listed in `tests/corpus-known-failures.txt` fails, and
//! prints a notice for listed pairs that now pass. Details of every failure are
//! written to `$CARGO_TARGET_TMPDIR/corpus-convergence.txt`.

use crate::convergence::converge_to;
use crate::support::*;
use pgalign::catalog;
use pgalign::catalog::model::Model;
use pgalign::plan::PlanOptions;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// (from, to) history states of Lemmy (342 files on PG15 with `pg15/`).
/// (from, to) history states of Lemmy (342 files on PG15 with `pg15/`).
const LEMMY_PAIRS: &[(usize, usize)] = &[
    // m = 1
    (1, 2),
    (20, 21),
    (40, 41),
    (60, 61),
    (80, 81),
    (100, 101),
    (120, 121),
    (150, 151),
    (175, 176),
    (200, 201),
    (225, 226),
    (247, 248),
    (260, 261),
    (280, 281),
    (288, 289),
    (300, 301),
    (320, 321),
    (341, 342),
    // m = 10
    (100, 110),
    (170, 180),
    (240, 250),
    (300, 310),
    (332, 342),
    // m = 50
    (50, 100),
    (150, 200),
    (200, 250),
    (292, 342),
    // the empty database → the full history, and back
    (0, 342),
    (342, 0),
    // backward
    (101, 100),
    (201, 200),
    (281, 280),
    (319, 318),
    (250, 200),
    (342, 332),
    (342, 292),
];

/// (from, to) history states of documenso (163 files).
const DOCUMENSO_PAIRS: &[(usize, usize)] = &[
    // m = 1
    (1, 2),
    (10, 11),
    (20, 21),
    (30, 31),
    (40, 41),
    (50, 51),
    (60, 61),
    (70, 71),
    (80, 81),
    (90, 91),
    (100, 101),
    (110, 111),
    (120, 121),
    (121, 122),
    (130, 131),
    (140, 141),
    (150, 151),
    (162, 163),
    // m = 10
    (40, 50),
    (100, 110),
    (153, 163),
    // m = 50
    (10, 60),
    (60, 110),
    (113, 163),
    // the empty database → the full history, and back
    (0, 163),
    (163, 0),
    // backward
    (81, 80),
    (121, 120),
    (163, 153),
    (110, 60),
    (163, 113),
];

/// Fills three rows into every ordinary or partitioned user table whose NOT
/// NULL columns all have a default or a value we can make up: by type, or for a
/// single-column foreign key the g-th row of the referenced table (seeded in an
/// earlier pass); nullable key columns stay NULL. A table whose insert fails
/// (checks, triggers, domains, composite keys, no partition for the value)
/// stays empty.
const SEED: &str = r#"
DO $seed$
DECLARE
  t record; c record; cols text[]; vals text[]; ok boolean; v text;
  total int; done oid[] := '{}'; pass int;
BEGIN
  SELECT count(*) INTO total
  FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
  WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition
    AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = cl.oid AND d.deptype = 'e');
  -- Several passes, so that a table whose keys point at a table seeded in an
  -- earlier pass gets rows too.
  FOR pass IN 1..4 LOOP
  FOR t IN
    SELECT cl.oid, format('%I.%I', n.nspname, cl.relname) AS qn
    FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
    WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition
      AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = cl.oid AND d.deptype = 'e')
      AND NOT cl.oid = ANY (done)
    ORDER BY 2
  LOOP
    cols := '{}'; vals := '{}'; ok := true;
    FOR c IN
      SELECT a.attname, a.attnum, a.attnotnull, a.atthasdef, a.attidentity, a.attgenerated,
             format_type(a.atttypid, a.atttypmod) AS ty,
             format_type(coalesce(bt.oid, ty.oid), NULL) AS basety,
             coalesce(bt.typcategory, ty.typcategory) AS cat,
             EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = t.oid
                     AND k.contype = 'f' AND a.attnum = ANY (k.conkey)) AS fk
      FROM pg_attribute a
      JOIN pg_type ty ON ty.oid = a.atttypid
      LEFT JOIN pg_type bt ON ty.typtype = 'd' AND bt.oid = ty.typbasetype
      WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum
    LOOP
      CONTINUE WHEN c.attgenerated <> '' OR c.attidentity <> '' OR c.atthasdef;
      IF c.fk THEN
        -- Nullable key columns stay NULL; a NOT NULL single-column key takes
        -- the g-th row of the referenced table (none there: no rows here).
        CONTINUE WHEN NOT c.attnotnull;
        v := NULL;
        SELECT format('(SELECT %I FROM %s ORDER BY 1 OFFSET g - 1 LIMIT 1)',
                      ra.attname, k.confrelid::regclass)
        INTO v
        FROM pg_constraint k
        JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
        WHERE k.conrelid = t.oid AND k.contype = 'f' AND cardinality(k.conkey) = 1
          AND k.conkey[1] = c.attnum AND k.confrelid <> t.oid
        LIMIT 1;
        IF v IS NULL THEN ok := false; EXIT; END IF;
        cols := cols || quote_ident(c.attname);
        vals := vals || v;
        CONTINUE;
      END IF;
      v := CASE
        WHEN c.cat = 'N' THEN format('g::%s', c.ty)
        WHEN c.cat = 'S' THEN format('(''v'' || g)::%s', c.ty)
        WHEN c.cat = 'B' THEN format('(g %% 2 = 0)::%s', c.ty)
        WHEN c.cat = 'D' THEN format('(timestamptz ''2020-01-01 12:00'' + g * interval ''1 day'')::%s', c.ty)
        WHEN c.cat = 'T' THEN format('(g || '' days'')::%s', c.ty)
        WHEN c.cat = 'E' THEN format('(enum_range(NULL::%s))[1]::%s', c.basety, c.ty)
        WHEN c.cat = 'A' THEN format('''{}''::%s', c.ty)
        WHEN c.cat = 'I' THEN format('(''10.0.0.'' || g)::%s', c.ty)
        WHEN c.basety = 'uuid' THEN format('md5(g::text)::uuid::%s', c.ty)
        WHEN c.basety IN ('json', 'jsonb') THEN format('''{}''::%s', c.ty)
        WHEN c.basety = 'bytea' THEN format('convert_to(g::text, ''UTF8'')::%s', c.ty)
        WHEN c.attnotnull THEN format('(''v'' || g)::%s', c.ty)
      END;
      CONTINUE WHEN v IS NULL;
      cols := cols || quote_ident(c.attname);
      vals := vals || v;
    END LOOP;
    CONTINUE WHEN NOT ok;
    BEGIN
      IF cardinality(cols) = 0 THEN
        EXECUTE format('INSERT INTO %s SELECT FROM generate_series(1, 3) g', t.qn);
      ELSE
        EXECUTE format('INSERT INTO %s (%s) SELECT %s FROM generate_series(1, 3) g',
                       t.qn, array_to_string(cols, ', '), array_to_string(vals, ', '));
      END IF;
      done := done || t.oid;
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
  END LOOP;
  END LOOP;
  PERFORM set_config('pgalign.seeded', cardinality(done) || '/' || total, false);
END $seed$;
"#;

/// One pair's outcome.
struct Outcome {
    id: String,
    /// `Ok` holds how many tables got rows (`seeded/total`).
    result: Result<String, String>,
    /// Seconds spent on the pair itself (copy, seed, plan, apply, compare).
    secs: f64,
}

static CLONES: AtomicUsize = AtomicUsize::new(0);

/// A copy of `src` (which nobody may be connected to) as a new test database.
fn clone_db(src: &str, label: &str) -> Result<TestDb, String> {
    let n = CLONES.fetch_add(1, Ordering::SeqCst);
    let name = format!("c_{label}_{}_{n}", std::process::id());
    let sql = format!("CREATE DATABASE \"{name}\" TEMPLATE \"{src}\"");
    let admin = admin();
    let a = admin.clone();
    block_on(async move {
        let c = pgalign::db::connect(&a)
            .await
            .map_err(|e| format!("connecting: {e:#}"))?;
        c.batch_execute(&sql)
            .await
            .map_err(|e| format!("{sql}: {}", pgalign::db::describe_error(&e)))
    })?;
    Ok(TestDb {
        settings: admin.with_dbname(&name),
        name,
    })
}

/// Runs `files` with one psql session, each file in its own transaction (what
/// diesel and `psql -1` do), stopping at the first error.
fn load_files(db: &TestDb, files: &[PathBuf]) -> Result<(), String> {
    if files.is_empty() {
        return Ok(());
    }
    let mut script = String::from("\\set ON_ERROR_STOP 1\n");
    for f in files {
        let path = f.display().to_string().replace('\'', "''");
        script.push_str(&format!("BEGIN;\n\\i '{path}'\nCOMMIT;\n"));
    }
    let mut cmd = Command::new(pgalign::db::shadow::psql_path());
    db.settings.apply_env(&mut cmd);
    cmd.args(["-X", "-q", "-f", "-"])
        .env("PGOPTIONS", "-c client_min_messages=error")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("running psql: {e}"))?;
    let mut stdin = child.stdin.take().expect("psql stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(script.as_bytes());
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("waiting for psql: {e}"))?;
    let _ = writer.join();
    let err = String::from_utf8_lossy(&out.stderr);
    let err = err
        .lines()
        .filter(|l| l.contains("ERROR") || l.contains("FATAL"))
        .collect::<Vec<_>>()
        .join("; ");
    if !out.status.success() || !err.is_empty() {
        return Err(format!("loading failed: {err}"));
    }
    Ok(())
}

fn inspect(db: &TestDb) -> Result<Model, String> {
    block_on(catalog::inspect(&db.settings))
        .map(|i| i.model)
        .map_err(|e| format!("inspecting {} failed: {e:#}", db.name))
}

/// Runs [`SEED`] on `db`; returns "seeded/total" tables.
fn seed(db: &TestDb) -> Result<String, String> {
    let settings = db.settings.clone();
    block_on(async move {
        let c = pgalign::db::connect(&settings)
            .await
            .map_err(|e| format!("connecting to seed: {e:#}"))?;
        c.batch_execute(SEED)
            .await
            .map_err(|e| format!("seeding failed: {}", pgalign::db::describe_error(&e)))?;
        let row = c
            .query_one("SELECT current_setting('pgalign.seeded', true)", &[])
            .await
            .map_err(|e| format!("seeding failed: {}", pgalign::db::describe_error(&e)))?;
        Ok(row.get::<_, Option<String>>(0).unwrap_or_default())
    })
}

/// A → B where A is a copy of `a` (seeded with rows) and B's model is given.
fn run_pair(a: &TestDb, b: &Model, label: &str) -> Result<String, String> {
    run_scoped(a, b, label, &PlanOptions::default())
}

/// [`run_pair`] comparing only what `opts.scope` covers.
fn run_scoped(a: &TestDb, b: &Model, label: &str, opts: &PlanOptions) -> Result<String, String> {
    let live = clone_db(&a.name, label)?;
    let seeded = seed(&live)?;
    converge_to(&live, b, opts)
        .map(|_| seeded.clone())
        .map_err(|e| match e.split_once('\n') {
            Some((first, rest)) => format!("{first}\nseeded tables: {seeded}\n{rest}"),
            None => format!("{e}\nseeded tables: {seeded}"),
        })
}

/// migra's per-case options (its test): `--schema goodschema` for the
/// singleschema cases, `--exclude_schema excludedschema` for excludeschema,
/// and `--with-privileges` for every other case but extversions.
fn migra_options(case: &str) -> PlanOptions {
    let mut opts = PlanOptions::default();
    if case.starts_with("singleschema") {
        opts.scope.schemas = vec!["goodschema".into()];
    } else if case == "excludeschema" {
        opts.scope.exclude_schemas = vec!["excludedschema".into()];
    } else if case != "extversions" {
        opts.scope.with_privileges = true;
    }
    opts
}

/// Runs `f` and records its outcome under `id` with its duration.
fn record(out: &mut Vec<Outcome>, id: String, f: impl FnOnce() -> Result<String, String>) {
    let t = std::time::Instant::now();
    let result = f();
    out.push(Outcome {
        id,
        result,
        secs: t.elapsed().as_secs_f64(),
    });
}

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    v.sort();
    v
}

fn is_empty_file(p: &Path) -> bool {
    std::fs::read_to_string(p).map_or(true, |s| s.trim().is_empty())
}

fn migra(corpus: &Path, out: &mut Vec<Outcome>) {
    let dir = corpus.join("migra");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .expect("reading corpus/migra")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    for case in cases {
        let c = dir.join(&case);
        let id = format!("migra/{case}");
        let b_db = test_db(&format!("migra_{case}_b"));
        let b = load_files(&b_db, &[c.join("b.sql")]).and_then(|_| inspect(&b_db));
        let a_db = test_db(&format!("migra_{case}_a"));
        let a = load_files(&a_db, &[c.join("a.sql")]);
        let opts = migra_options(&case);
        record(out, id, || match (&a, &b) {
            (Ok(()), Ok(b)) => run_scoped(&a_db, b, "migra", &opts),
            (Err(e), _) => Err(format!("A: {e}")),
            (_, Err(e)) => Err(format!("B: {e}")),
        });
        let additions = c.join("additions.sql");
        if !is_empty_file(&additions) {
            let id = format!("migra/{case}+additions");
            record(out, id, || match (&a, &b) {
                (Ok(()), Ok(b)) => load_files(&a_db, &[additions])
                    .map_err(|e| format!("A + additions: {e}"))
                    .and_then(|_| run_scoped(&a_db, b, "migra", &opts)),
                (Err(e), _) => Err(format!("A: {e}")),
                (_, Err(e)) => Err(format!("B: {e}")),
            });
        }
    }
}

fn pagila(corpus: &Path, out: &mut Vec<Outcome>) {
    let dir = corpus.join("samples/pagila/versions");
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let files = sql_files(&dir);
    // 25–27 need PostgreSQL 18 (uuidv7, pgvector, virtual generated columns).
    let mut versions: Vec<(String, TestDb, Result<Model, String>)> = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let nn = name[..2].to_string();
        if nn.as_str() > "24" {
            continue;
        }
        let mut path = f.clone();
        if nn == "20" {
            // pg_dump 17 output: its only PG15 error is this setting.
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let stripped: String = text
                .lines()
                .filter(|l| !l.starts_with("SET transaction_timeout"))
                .map(|l| format!("{l}\n"))
                .collect();
            path = tmp.join("pagila-20-pg15.sql");
            std::fs::write(&path, stripped).expect("writing pagila 20");
        }
        let db = test_db(&format!("pagila_{nn}"));
        let model = load_files(&db, &[path]).and_then(|_| inspect(&db));
        versions.push((nn, db, model));
    }
    for w in versions.windows(2) {
        let (an, a_db, a) = &w[0];
        let (bn, _, b) = &w[1];
        record(out, format!("pagila/{an}-{bn}"), || match (a, b) {
            (Ok(_), Ok(b)) => run_pair(a_db, b, "pagila"),
            (Err(e), _) => Err(format!("A: {e}")),
            (_, Err(e)) => Err(format!("B: {e}")),
        });
    }
}

/// The files of a history in apply order, with per-file overrides applied.
fn history_files(dir: &Path, override_dir: Option<&str>) -> Vec<PathBuf> {
    let order = std::fs::read_to_string(dir.join("ORDER")).expect("reading ORDER");
    order
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let f = l.split('\t').next().unwrap_or(l);
            if let Some(o) = override_dir {
                let p = dir.join(o).join(f);
                if p.is_file() {
                    return p;
                }
            }
            dir.join(f)
        })
        .collect()
}

fn history(
    corpus: &Path,
    name: &str,
    override_dir: Option<&str>,
    pairs: &[(usize, usize)],
    out: &mut Vec<Outcome>,
) {
    let dir = corpus.join("history").join(name);
    let files = history_files(&dir, override_dir);
    let pre = sql_files(&dir.join("pre"));
    let mut wanted: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    wanted.sort();
    wanted.dedup();
    // Build each state once, from a copy of the previous one.
    let mut states: BTreeMap<usize, (TestDb, Result<Model, String>)> = BTreeMap::new();
    let built = std::time::Instant::now();
    let mut prev: Option<(usize, String)> = None;
    let mut broken: Option<String> = None;
    for &k in &wanted {
        let db = match &prev {
            None => Ok(test_db(&format!("{name}_{k}"))),
            Some((_, p)) => clone_db(p, &format!("{name}_{k}")),
        };
        let from = prev.as_ref().map_or(0, |(p, _)| *p);
        let mut todo: Vec<PathBuf> = Vec::new();
        if from == 0 && k > 0 {
            todo.extend(pre.iter().cloned());
        }
        todo.extend(files[from.min(k)..k.min(files.len())].iter().cloned());
        let (db, model) = match (db, &broken) {
            (Ok(db), None) => {
                let model = load_files(&db, &todo)
                    .map_err(|e| format!("state {k}: {e}"))
                    .and_then(|_| inspect(&db));
                (db, model)
            }
            (Ok(db), Some(e)) => (db, Err(format!("an earlier state failed: {e}"))),
            (Err(e), _) => (
                test_db(&format!("{name}_{k}")),
                Err(format!("state {k}: {e}")),
            ),
        };
        if let Err(e) = &model
            && broken.is_none()
        {
            broken = Some(e.clone());
        }
        prev = Some((k, db.name.clone()));
        states.insert(k, (db, model));
    }
    println!(
        "corpus: {} {name} states built in {:.1} s",
        states.len(),
        built.elapsed().as_secs_f64()
    );
    for &(a, b) in pairs {
        let (a_db, a_model) = &states[&a];
        let (_, b_model) = &states[&b];
        record(out, format!("{name}/{a}-{b}"), || {
            match (a_model, b_model) {
                (Ok(_), Ok(bm)) => run_pair(a_db, bm, name),
                (Err(e), _) => Err(format!("A: {e}")),
                (_, Err(e)) => Err(format!("B: {e}")),
            }
        });
    }
}

/// `tests/corpus-known-failures.txt`: `<pair id> <reason>` per line, `#` comments.
fn known_failures() -> BTreeMap<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-known-failures.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((id, why)) => (id.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

#[test]
fn corpus_pairs_converge() {
    let Some(corpus) = corpus_dir() else {
        return;
    };
    let started = std::time::Instant::now();
    let admin = admin();
    block_on(async move {
        let c = pgalign::db::connect(&admin).await.expect("connecting");
        c.batch_execute(
            "DO $$ BEGIN CREATE ROLE schemainspect_test_role;
             EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        )
        .await
        .expect("creating schemainspect_test_role");
    });
    // Two workers (the machine has two cores; the server does most of the work).
    let (left, right) = std::thread::scope(|s| {
        let c = &corpus;
        let left = s.spawn(move || {
            let mut out = Vec::new();
            migra(c, &mut out);
            pagila(c, &mut out);
            history(c, "documenso", None, DOCUMENSO_PAIRS, &mut out);
            out
        });
        let right = s.spawn(move || {
            let mut out = Vec::new();
            history(c, "lemmy", Some("pg15"), LEMMY_PAIRS, &mut out);
            out
        });
        (left.join().expect("worker"), right.join().expect("worker"))
    });
    let outcomes: Vec<Outcome> = left.into_iter().chain(right).collect();

    let known = known_failures();
    let details = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("corpus-convergence.txt");
    let mut log = String::new();
    let mut oks = String::new();
    let mut passed = 0;
    let mut regressions = Vec::new();
    let mut now_passing = Vec::new();
    for o in &outcomes {
        match &o.result {
            Ok(seeded) => {
                passed += 1;
                oks.push_str(&format!(
                    "{} ok, seeded tables {seeded} ({:.1} s)\n",
                    o.id, o.secs
                ));
                println!("{} ok", o.id);
                if known.contains_key(&o.id) {
                    now_passing.push(o.id.clone());
                }
            }
            Err(e) => {
                let first = e.lines().next().unwrap_or_default();
                println!("{} FAIL {first}", o.id);
                log.push_str(&format!("==== {} ({:.1} s)\n{e}\n\n", o.id, o.secs));
                if !known.contains_key(&o.id) {
                    regressions.push(format!("{}: {first}", o.id));
                }
            }
        }
    }
    log.push_str("==== passing pairs\n");
    log.push_str(&oks);
    let mut slow: Vec<&Outcome> = outcomes.iter().collect();
    slow.sort_by(|a, b| b.secs.total_cmp(&a.secs));
    log.push_str("==== slowest pairs\n");
    for o in slow.iter().take(15) {
        log.push_str(&format!("{:6.1} s  {}\n", o.secs, o.id));
    }
    let _ = std::fs::write(&details, log);
    let ids: std::collections::BTreeSet<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
    for id in known.keys().filter(|k| !ids.contains(k.as_str())) {
        println!(
            "notice: {id} is listed in tests/corpus-known-failures.txt but is not a pair of the suite"
        );
    }
    for id in &now_passing {
        println!("notice: {id} passes now; remove it from tests/corpus-known-failures.txt");
    }
    println!(
        "details of failures: {} ({:.1} s)",
        details.display(),
        started.elapsed().as_secs_f64()
    );
    println!("convergence: {passed}/{} pairs", outcomes.len());
    assert!(
        regressions.is_empty(),
        "{} pair(s) not listed in tests/corpus-known-failures.txt fail:\n{}",
        regressions.len(),
        regressions.join("\n")
    );
}
