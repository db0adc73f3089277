//! Convergence, the core property: for each pair (A, B), the plan of A → B
//! applied to A leaves no difference, and every table and column that B keeps
//! keeps its rows and values.

mod kinds;
mod rebuild;
mod round2;
mod round3;
mod settings;

use crate::support::*;
use pgalign::catalog;
use pgalign::catalog::model::{Model, QName, quote_ident};
use pgalign::plan::{self, PlanOptions};

/// Loads `a` (with rows) and `b`, plans A → B, applies the plan with psql, and
/// checks: the re-diff is empty, the models are equal, and the rows of every
/// table B keeps are still there. Runs the offline strategy, then the online
/// one (the default), and returns the online plan. Panics with the reason.
pub fn converge(label: &str, a: &str, b: &str) -> String {
    let offline = PlanOptions {
        strategy: plan::Strategy::Offline,
        ..Default::default()
    };
    converge_with(&format!("{label}_off"), a, b, &offline);
    converge_with(label, a, b, &PlanOptions::default())
}

/// [`converge`] with one set of options.
pub fn converge_with(label: &str, a: &str, b: &str, opts: &PlanOptions) -> String {
    try_converge(label, a, b, opts).unwrap_or_else(|e| panic!("{label}: {e}"))
}

/// [`converge`] without panicking: loading errors and every way the pair can
/// fail to converge come back as `Err(reason)`.
pub fn try_converge(label: &str, a: &str, b: &str, opts: &PlanOptions) -> Result<String, String> {
    let live = test_db(&format!("{label}_a"));
    let want = test_db(&format!("{label}_b"));
    pgalign::db::shadow::run_psql(&live.settings, None, Some(a.as_bytes()))
        .map_err(|e| format!("loading A failed: {e:#}"))?;
    pgalign::db::shadow::run_psql(&want.settings, None, Some(b.as_bytes()))
        .map_err(|e| format!("loading B failed: {e:#}"))?;
    let desired = block_on(catalog::inspect(&want.settings))
        .map_err(|e| format!("inspecting B failed: {e:#}"))?;
    converge_to(&live, &desired.model, opts)
}

/// The core of the property, on a live database that already holds A (and its
/// rows) and the inspected model of B: plans, applies the plan with psql,
/// re-inspects and compares. `Ok` holds the plan text; `Err` one reason line
/// (the failing statement, the remaining differences, or what changed), with
/// details on the following lines. `opts.scope` limits what is compared (the
/// plan, the re-diff, the fingerprints and the row checks).
pub fn converge_to(live: &TestDb, desired: &Model, opts: &PlanOptions) -> Result<String, String> {
    let before = block_on(catalog::inspect(&live.settings))
        .map_err(|e| format!("inspecting A failed: {e:#}"))?;
    let mut kept = kept_columns(&before.model, desired);
    kept.retain(|(name, _, _)| opts.scope.covers(name));
    let rows_before = row_checksums(live, &kept)?;
    let mut plan = plan::diff(&before, desired, opts);
    gate_accepts(live, &mut plan)?;
    let text = plan::render_plan(&plan, "test", "now");
    if let Err(e) = pgalign::db::shadow::run_psql(&live.settings, None, Some(text.as_bytes())) {
        return Err(plan_failure(&plan, &text, &format!("{e:#}")));
    }
    let after = block_on(catalog::inspect(&live.settings))
        .map_err(|e| format!("re-inspecting A failed: {e:#}"))?;
    let again = plan::diff(&after, desired, opts);
    if !again.is_empty() {
        let stmts: Vec<String> = again.steps.iter().map(|s| one_line(&s.sql)).collect();
        return Err(format!(
            "differences remain ({}): {}\n{}\n--- plan was:\n{text}",
            stmts.len(),
            clip(&stmts.join(" | "), 400),
            stmts.join("\n")
        ));
    }
    if opts.scope.fingerprint(&after.model) != opts.scope.fingerprint(desired) {
        return Err(format!(
            "fingerprints differ though the re-diff is empty\n--- plan was:\n{text}"
        ));
    }
    let changed = changed_rows(live, &rows_before)?;
    if !changed.is_empty() {
        return Err(format!(
            "rows of kept tables changed: {}\n--- plan was:\n{text}",
            changed.join(", ")
        ));
    }
    Ok(text)
}

/// Why psql stopped: the failing statement (found by the line psql names) and
/// the server's message; for a blocker step, every blocker of the plan.
fn plan_failure(plan: &plan::Plan, text: &str, err: &str) -> String {
    let line_no = err
        .split("<stdin>:")
        .nth(1)
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.trim().parse::<usize>().ok());
    let statement = line_no.map(|n| statement_at(text, n)).unwrap_or_default();
    let message = err
        .lines()
        .find_map(|l| l.split_once("ERROR:").map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| one_line(err));
    let blockers: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| {
            s.hazards
                .iter()
                .any(|h| h.severity == pgalign::hazard::Severity::Blocker)
        })
        .map(|s| s.title.as_str())
        .collect();
    let mut out = if statement.starts_with("DO $pgalign$") {
        format!(
            "blocked ({} blocker step(s)): {}",
            blockers.len(),
            clip(&blockers.join(" | "), 400)
        )
    } else {
        format!(
            "plan failed at `{}`: {}",
            clip(&statement, 200),
            clip(&message, 200)
        )
    };
    out.push_str(&format!(
        "\npsql: {err}\nblockers: {}",
        blockers.join("\n  ")
    ));
    out.push_str(&format!("\n--- plan was:\n{text}"));
    out
}

/// The statement of the plan step that holds 1-based line `n` of `text`, on one
/// line (psql names the line where the failing statement ends).
fn statement_at(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let n = n.clamp(1, lines.len().max(1)) - 1;
    let Some(header) = (0..=n)
        .rev()
        .find(|&i| lines[i].starts_with("-- pgalign:step "))
    else {
        return lines.get(n).map(|l| one_line(l)).unwrap_or_default();
    };
    let body: Vec<&str> = lines[header + 1..]
        .iter()
        .skip_while(|l| l.starts_with("--"))
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("-- pgalign:"))
        .copied()
        .collect();
    one_line(&body.join("\n"))
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n).collect();
    out.push('…');
    out
}

/// A kept table, its kept columns (quoted name, desired type when it
/// changes), and whether its own rows are read alone (`FROM ONLY`).
type KeptTable = (QName, Vec<(String, Option<String>)>, bool);

/// Tables both sides have, with the columns both sides have (by name) and, for
/// a column whose type changes, the desired type to read A's values as.
fn kept_columns(live: &Model, desired: &Model) -> Vec<KeptTable> {
    desired
        .tables
        .iter()
        .filter(|(name, _)| !rerouted(live, desired, name))
        .filter(|(name, _)| !repartitioned(live, desired, name))
        .filter_map(|(name, t)| {
            let have = live.tables.get(name)?;
            let cols = t
                .columns
                .iter()
                // A generated column's values follow its expression, not A's rows.
                .filter(|c| c.generated.is_none())
                .filter_map(|c| {
                    let old = have.column(&c.name)?;
                    let cast = (old.data_type != c.data_type).then(|| c.data_type.clone());
                    Some((quote_ident(&c.name), cast))
                })
                .collect();
            // A plain table is read alone: the rows of its inheritance children
            // are theirs (a table that joins a tree as a child is checked as itself).
            let only = have.partition_key.is_none() && t.partition_key.is_none();
            Some((name.clone(), cols, only))
        })
        .collect()
}

/// True when partitioned table `name` gains or loses partitions (attached,
/// detached): what it reads through them changes, and each partition is
/// checked as a table of its own.
fn repartitioned(live: &Model, desired: &Model, name: &QName) -> bool {
    let partitions = |m: &Model| -> Vec<QName> {
        m.tables
            .values()
            .filter(|t| t.partition_of.as_ref().is_some_and(|(p, _)| p == name))
            .map(|t| t.name.clone())
            .filter(|t| live.tables.contains_key(t))
            .collect()
    };
    desired.tables[name].partition_key.is_some() && partitions(live) != partitions(desired)
}

/// True when desired table `name` hangs from a table whose partitioning
/// changes: its rows are sorted into partitions anew (the rebuilt table's own
/// checksum, which reads its partitions, covers them).
fn rerouted(live: &Model, desired: &Model, name: &QName) -> bool {
    let mut todo: Vec<&QName> = desired.tables[name].parents().collect();
    for _ in 0..64 {
        let Some(p) = todo.pop() else { break };
        let (Some(d), Some(l)) = (desired.tables.get(p), live.tables.get(p)) else {
            continue;
        };
        if d.partition_key != l.partition_key {
            return true;
        }
        todo.extend(d.parents());
    }
    false
}

/// The checksum query of one kept table: row count and an md5 of the kept
/// columns' values as text, each read as the desired type (so `char(n)` →
/// `text`, `int` → `bigint` or `timestamp` → `timestamptz` keep their values).
fn checksum_query(name: &QName, cols: &[(String, Option<String>)], only: bool) -> String {
    let sum = if cols.is_empty() {
        "count(*)::text".to_string()
    } else {
        let vals: Vec<String> = cols
            .iter()
            .map(|(c, cast)| match cast {
                Some(t) => format!("{c}::{t}::text"),
                None => format!("{c}::text"),
            })
            .collect();
        let row = format!("ROW({})::text", vals.join(", "));
        format!("count(*)::text || ':' || coalesce(md5(string_agg({row}, ',' ORDER BY {row})), '')")
    };
    let only = if only { "ONLY " } else { "" };
    format!("SELECT {sum} FROM {only}{}", name.sql())
}

/// Checksums of the kept tables before the plan: `(table, query, value)`. A
/// column whose values cannot be read as the desired type (no cast) is left out.
fn row_checksums(db: &TestDb, kept: &[KeptTable]) -> Result<Vec<(String, String, String)>, String> {
    let settings = db.settings.clone();
    let kept = kept.to_vec();
    block_on(async move {
        let client = pgalign::db::connect(&settings)
            .await
            .map_err(|e| format!("connecting for row checksums: {e:#}"))?;
        let mut out = Vec::new();
        for (name, cols, only) in kept {
            let mut sql = checksum_query(&name, &cols, only);
            let mut row = client.query_one(&sql, &[]).await;
            if row.is_err() && cols.iter().any(|c| c.1.is_some()) {
                let plain: Vec<_> = cols.into_iter().filter(|c| c.1.is_none()).collect();
                sql = checksum_query(&name, &plain, only);
                row = client.query_one(&sql, &[]).await;
            }
            let row = row.map_err(|e| {
                format!(
                    "row checksum of {name} failed: {}",
                    pgalign::db::describe_error(&e)
                )
            })?;
            let value = row.get::<_, Option<String>>(0).unwrap_or_default();
            out.push((name.to_string(), sql, value));
        }
        Ok(out)
    })
}

/// The same queries after the plan; the tables whose checksum changed.
fn changed_rows(db: &TestDb, before: &[(String, String, String)]) -> Result<Vec<String>, String> {
    let settings = db.settings.clone();
    let before = before.to_vec();
    block_on(async move {
        let client = pgalign::db::connect(&settings)
            .await
            .map_err(|e| format!("connecting for row checksums: {e:#}"))?;
        let mut changed = Vec::new();
        for (name, sql, value) in before {
            let row = client.query_one(&sql, &[]).await.map_err(|e| {
                format!(
                    "row checksum of {name} failed after the plan: {}",
                    pgalign::db::describe_error(&e)
                )
            })?;
            if row.get::<_, Option<String>>(0).unwrap_or_default() != value {
                changed.push(name);
            }
        }
        Ok(changed)
    })
}

#[test]
fn tables_columns_and_keys() {
    converge(
        "basic",
        "CREATE SCHEMA shop;
         CREATE TABLE shop.customers (id serial PRIMARY KEY, email varchar(50) NOT NULL, legacy text);
         CREATE TABLE shop.orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                                   customer_id int REFERENCES shop.customers(id), total numeric(10,2));
         INSERT INTO shop.customers (email, legacy) SELECT 'u' || g || '@x', 'old' FROM generate_series(1, 100) g;
         INSERT INTO shop.orders (customer_id, total) SELECT g, g * 1.5 FROM generate_series(1, 100) g;",
        "CREATE SCHEMA shop;
         CREATE TYPE shop.status AS ENUM ('new', 'paid');
         CREATE TABLE shop.customers (id serial PRIMARY KEY, email varchar(120) NOT NULL UNIQUE, \"Name\" text);
         CREATE TABLE shop.orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                                   customer_id int NOT NULL REFERENCES shop.customers(id) ON DELETE CASCADE,
                                   total numeric(12,2), status shop.status DEFAULT 'new');
         CREATE INDEX orders_customer ON shop.orders (customer_id);
         CREATE TABLE shop.reviews (id serial PRIMARY KEY, order_id bigint REFERENCES shop.orders(id), body text NOT NULL);",
    );
}

#[test]
fn schemas_are_created_and_dropped() {
    converge(
        "schemas",
        "CREATE SCHEMA old_stuff; CREATE TABLE old_stuff.t (id int);",
        "CREATE SCHEMA fresh; CREATE TABLE fresh.t (id int PRIMARY KEY);",
    );
}

#[test]
fn column_types_defaults_and_not_null() {
    converge(
        "columns",
        "CREATE TABLE t (id int PRIMARY KEY, a varchar(10), b text DEFAULT 'x', c int NOT NULL DEFAULT 0,
                         d integer, e numeric(8,2), f text);
         INSERT INTO t SELECT g, 'v' || g, 'b', g, g, g / 3.0, 'f' FROM generate_series(1, 50) g;",
        "CREATE TABLE t (id int PRIMARY KEY, a varchar(40), b text DEFAULT 'y' NOT NULL, c int,
                         d bigint DEFAULT 7, e numeric(10,2), f varchar(20), g timestamptz DEFAULT now());",
    );
}

#[test]
fn constraints_of_every_kind() {
    converge(
        "constraints",
        "CREATE TABLE parent (id int PRIMARY KEY, code text);
         CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent(id), qty int CHECK (qty > 0));
         INSERT INTO parent SELECT g, 'c' || g FROM generate_series(1, 20) g;
         INSERT INTO child SELECT g, g, g FROM generate_series(1, 20) g;",
        "CREATE TABLE parent (id int PRIMARY KEY, code text UNIQUE);
         CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent(id) ON DELETE CASCADE,
                             qty int CONSTRAINT child_qty_check CHECK (qty >= 0),
                             CONSTRAINT child_parent_code UNIQUE (parent_id, qty));",
    );
}

#[test]
fn primary_key_replaced_while_referenced() {
    converge(
        "pk_replaced",
        "CREATE TABLE a (id int, code text NOT NULL, CONSTRAINT a_pkey PRIMARY KEY (id));
         CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id));
         INSERT INTO a SELECT g, 'k' || g FROM generate_series(1, 10) g;
         INSERT INTO b SELECT g, g FROM generate_series(1, 10) g;",
        "CREATE TABLE a (id int NOT NULL, code text NOT NULL, CONSTRAINT a_pkey PRIMARY KEY (id, code), UNIQUE (id));
         CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id));",
    );
}

#[test]
fn indexes_added_dropped_and_redefined_under_the_same_name() {
    converge(
        "indexes",
        "CREATE TABLE t (id int PRIMARY KEY, a int, b text, c text);
         CREATE INDEX t_a ON t (a); CREATE INDEX t_gone ON t (c); CREATE UNIQUE INDEX t_b ON t (b);
         INSERT INTO t SELECT g, g % 5, 'b' || g, 'c' FROM generate_series(1, 30) g;",
        "CREATE TABLE t (id int PRIMARY KEY, a int, b text, c text);
         CREATE INDEX t_a ON t (a, id) WHERE a > 0; CREATE UNIQUE INDEX t_b ON t (lower(b));
         CREATE INDEX t_new ON t USING hash (c);",
    );
}

#[test]
fn tables_dropped_with_foreign_keys_between_them_and_mutual_keys_created() {
    converge(
        "fk_graph",
        "CREATE TABLE gone_a (id int PRIMARY KEY);
         CREATE TABLE gone_b (id int PRIMARY KEY, a_id int REFERENCES gone_a(id));
         ALTER TABLE gone_a ADD COLUMN b_id int REFERENCES gone_b(id);
         CREATE TABLE keep (id int PRIMARY KEY, a_id int REFERENCES gone_a(id));
         INSERT INTO keep VALUES (1, NULL);",
        "CREATE TABLE keep (id int PRIMARY KEY);
         CREATE TABLE x (id int PRIMARY KEY, y_id int);
         CREATE TABLE y (id int PRIMARY KEY, x_id int REFERENCES x(id));
         ALTER TABLE x ADD CONSTRAINT x_y_fk FOREIGN KEY (y_id) REFERENCES y(id);",
    );
}

#[test]
fn enum_value_added_and_used_by_a_default_in_the_same_plan() {
    let plan = converge(
        "enum_add",
        "CREATE TYPE mood AS ENUM ('sad', 'happy');
         CREATE TABLE person (id int PRIMARY KEY, m mood);
         INSERT INTO person VALUES (1, 'sad'), (2, 'happy');",
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ecstatic');
         CREATE TABLE person (id int PRIMARY KEY, m mood DEFAULT 'ok');",
    );
    assert!(plan.contains("ADD VALUE 'ok' AFTER 'sad'"), "{plan}");
    assert!(plan.contains("no-transaction"), "{plan}");
}

#[test]
fn serial_becomes_identity() {
    converge(
        "serial_identity",
        "CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) VALUES ('a'), ('b');",
        "CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v text);",
    );
}

#[test]
fn quoted_mixed_case_unicode_and_long_identifiers() {
    let long = "x".repeat(63);
    converge(
        "quoting",
        "CREATE SCHEMA \"My Schema\"; CREATE TABLE \"My Schema\".\"Order\" (\"select\" int, \"Größe\" text);
         INSERT INTO \"My Schema\".\"Order\" VALUES (1, 'M');",
        &format!(
            "CREATE SCHEMA \"My Schema\";
             CREATE TABLE \"My Schema\".\"Order\" (\"select\" int PRIMARY KEY, \"Größe\" varchar(10), \"user\" text, {long} int);
             CREATE INDEX \"Idx With Space\" ON \"My Schema\".\"Order\" (\"Größe\");"
        ),
    );
}

#[test]
fn an_empty_database_to_a_full_schema_and_back() {
    let full = "CREATE SCHEMA app;
        CREATE TYPE app.kind AS ENUM ('a', 'b');
        CREATE SEQUENCE app.counter START 100 INCREMENT 5;
        CREATE TABLE app.items (id bigserial PRIMARY KEY, k app.kind NOT NULL DEFAULT 'a',
                                n int DEFAULT nextval('app.counter'), label text UNIQUE);
        CREATE UNLOGGED TABLE app.scratch (id int);
        CREATE INDEX items_k ON app.items (k);";
    converge("empty_to_full", "", full);
    converge("full_to_empty", full, "");
}

#[test]
fn column_type_change_under_a_view_chain() {
    let plan = converge(
        "view_chain",
        "CREATE TABLE t (id int PRIMARY KEY, amount int, note text, extra text);
         INSERT INTO t SELECT g, g, 'n', 'x' FROM generate_series(1, 10) g;
         CREATE VIEW v1 AS SELECT id, amount, note, extra FROM t;
         CREATE VIEW v2 AS SELECT id, amount FROM v1 WHERE amount > 2;
         CREATE VIEW untouched AS SELECT id FROM t;",
        "CREATE TABLE t (id int PRIMARY KEY, amount bigint, note text);
         CREATE VIEW v1 AS SELECT id, amount, note FROM t;
         CREATE VIEW v2 AS SELECT id, amount FROM v1 WHERE amount > 2;
         CREATE VIEW untouched AS SELECT id FROM t;",
    );
    assert!(!plan.contains("DROP VIEW public.untouched"), "{plan}");
    let v2_drop = plan.find("DROP VIEW public.v2").expect("v2 dropped");
    let v1_drop = plan.find("DROP VIEW public.v1").expect("v1 dropped");
    assert!(v2_drop < v1_drop, "dependents are dropped first:\n{plan}");
}

#[test]
fn materialized_views_with_indexes_and_comments() {
    converge(
        "matview",
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         INSERT INTO t SELECT g, g FROM generate_series(1, 10) g;
         CREATE MATERIALIZED VIEW mv AS SELECT id, v FROM t;
         CREATE UNIQUE INDEX mv_id ON mv (id);",
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         CREATE MATERIALIZED VIEW mv AS SELECT id, v * 2 AS v2 FROM t;
         CREATE UNIQUE INDEX mv_id ON mv (id);
         COMMENT ON MATERIALIZED VIEW mv IS 'doubled';
         CREATE VIEW sec WITH (security_barrier = true) AS SELECT id FROM t WHERE v > 1;",
    );
}

#[test]
fn functions_overloads_triggers_and_a_default_calling_a_new_function() {
    converge(
        "functions",
        "CREATE TABLE t (id int PRIMARY KEY, touched timestamptz, n int);
         INSERT INTO t VALUES (1, now(), 1);
         CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql AS 'SELECT a + 1';
         CREATE FUNCTION f(a text) RETURNS text LANGUAGE sql AS 'SELECT a || ''!''';
         CREATE FUNCTION gone() RETURNS int LANGUAGE sql AS 'SELECT 1';
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.touched := now(); RETURN NEW; END $$;
         CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();",
        "CREATE FUNCTION next_n() RETURNS int LANGUAGE sql AS 'SELECT 42';
         CREATE TABLE t (id int PRIMARY KEY, touched timestamptz, n int DEFAULT next_n());
         CREATE FUNCTION f(a int) RETURNS bigint LANGUAGE sql AS 'SELECT a + 2';
         CREATE FUNCTION f(a text) RETURNS text LANGUAGE sql AS 'SELECT a || ''?''';
         CREATE PROCEDURE p(x int) LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE '%', x; END $$;
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN NEW.touched := clock_timestamp(); RETURN NEW; END $$;
         CREATE TRIGGER t_touch BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TRIGGER t_off AFTER DELETE ON t FOR EACH ROW EXECUTE FUNCTION touch();
         ALTER TABLE t DISABLE TRIGGER t_off;",
    );
}

#[test]
fn function_returning_a_views_row_type_survives_the_views_rebuild() {
    converge(
        "fn_view_rowtype",
        "CREATE TABLE t (id int PRIMARY KEY, a int);
         CREATE VIEW v AS SELECT id, a FROM t;
         CREATE FUNCTION all_v() RETURNS SETOF v LANGUAGE sql AS 'SELECT * FROM v';",
        "CREATE TABLE t (id int PRIMARY KEY, a bigint);
         CREATE VIEW v AS SELECT id, a FROM t;
         CREATE FUNCTION all_v() RETURNS SETOF v LANGUAGE sql AS 'SELECT * FROM v';",
    );
}

#[test]
fn policies_enable_rls_only_after_they_exist() {
    let plan = converge(
        "rls",
        "CREATE TABLE doc (id int PRIMARY KEY, owner name);",
        "CREATE TABLE doc (id int PRIMARY KEY, owner name);
         CREATE POLICY mine ON doc FOR SELECT USING (owner = current_user);
         CREATE POLICY ins ON doc AS RESTRICTIVE FOR INSERT WITH CHECK (owner = current_user);
         ALTER TABLE doc ENABLE ROW LEVEL SECURITY;
         ALTER TABLE doc FORCE ROW LEVEL SECURITY;",
    );
    let policy = plan.find("CREATE POLICY mine").expect("policy created");
    let enable = plan.find("ENABLE ROW LEVEL SECURITY").expect("rls enabled");
    assert!(policy < enable, "{plan}");
    converge(
        "rls_off",
        "CREATE TABLE doc (id int PRIMARY KEY, owner name);
         CREATE POLICY mine ON doc FOR SELECT USING (owner = current_user);
         ALTER TABLE doc ENABLE ROW LEVEL SECURITY;",
        "CREATE TABLE doc (id int PRIMARY KEY, owner name);",
    );
}

#[test]
fn comments_only_changing() {
    let plan = converge(
        "comments",
        "CREATE TABLE t (id int PRIMARY KEY, a int CONSTRAINT a_pos CHECK (a > 0));
         CREATE INDEX t_a ON t (a);
         COMMENT ON TABLE t IS 'old';
         COMMENT ON COLUMN t.a IS 'the a';",
        "CREATE TABLE t (id int PRIMARY KEY, a int CONSTRAINT a_pos CHECK (a > 0));
         CREATE INDEX t_a ON t (a);
         COMMENT ON TABLE t IS 'new, with a quote''s';
         COMMENT ON INDEX t_a IS 'by a';
         COMMENT ON CONSTRAINT a_pos ON t IS 'positive';
         COMMENT ON SCHEMA public IS 'the public schema';",
    );
    assert!(
        !plan.contains("DROP"),
        "a comment change never rebuilds anything:\n{plan}"
    );
}

#[test]
fn domains_composites_and_extensions() {
    converge(
        "types",
        "CREATE DOMAIN pos AS int CHECK (VALUE > 0);
         CREATE TYPE pair AS (a int, b text);
         CREATE TABLE t (id int PRIMARY KEY, p pos, q pair);",
        "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE DOMAIN pos AS int DEFAULT 1 NOT NULL CONSTRAINT pos_check CHECK (VALUE > 0) CONSTRAINT small CHECK (VALUE < 1000);
         CREATE DOMAIN email AS citext;
         CREATE TYPE pair AS (a int, b text, c date);
         CREATE TYPE triple AS (p pair, z email);
         CREATE TABLE t (id int PRIMARY KEY, p pos, q pair, e email, tr triple);",
    );
}

#[test]
fn generated_columns_volatile_defaults_and_storage_parameters() {
    converge(
        "generated",
        "CREATE TABLE t (id int PRIMARY KEY, a int, g int GENERATED ALWAYS AS (a * 2) STORED);
         INSERT INTO t (id, a) SELECT g, g FROM generate_series(1, 5) g;",
        "CREATE TABLE t (id int PRIMARY KEY, a int, h int GENERATED ALWAYS AS (a * 3) STORED,
                         r double precision DEFAULT random(), u uuid DEFAULT gen_random_uuid())
         WITH (fillfactor = 70);",
    );
}

#[test]
fn partitioned_tables_partitions_and_their_indexes() {
    converge(
        "partitions",
        "CREATE TABLE m (id int, d date NOT NULL, v text, PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
         CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE m_old PARTITION OF m FOR VALUES FROM ('2000-01-01') TO ('2024-01-01');
         INSERT INTO m SELECT g, DATE '2024-01-01' + g, 'v' FROM generate_series(1, 50) g;
         CREATE TABLE loose (id int, d date NOT NULL, v text);",
        "CREATE TABLE owner (id int PRIMARY KEY);
         CREATE TABLE m (id int, d date NOT NULL, v text, w int REFERENCES owner (id), PRIMARY KEY (id, d)) PARTITION BY RANGE (d);
         CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         CREATE TABLE m_def PARTITION OF m DEFAULT;
         CREATE INDEX m_v ON m (v);
         CREATE TABLE ref (id int PRIMARY KEY, m_id int, m_d date, FOREIGN KEY (m_id, m_d) REFERENCES m (id, d));",
    );
}

#[test]
fn inheritance_children_added_and_detached() {
    converge(
        "inherit",
        "CREATE TABLE p (id int PRIMARY KEY, a text);
         CREATE TABLE c1 (b text) INHERITS (p);
         CREATE TABLE c2 (x int);
         INSERT INTO c1 VALUES (1, 'a', 'b');",
        "CREATE TABLE p (id int PRIMARY KEY, a text, z int);
         CREATE TABLE c1 (b text) INHERITS (p);
         CREATE TABLE c3 (q int CHECK (q > 0)) INHERITS (p);",
    );
}

/// Like [`converge`], comparing privileges and owners too.
fn converge_with_privileges(label: &str, a: &str, b: &str) {
    let live = test_db(&format!("{label}_a"));
    let want = test_db(&format!("{label}_b"));
    live.load(a);
    want.load(b);
    let opts = PlanOptions {
        scope: pgalign::catalog::Scope {
            with_privileges: true,
            with_owners: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let (before, desired) = block_on(async {
        (
            catalog::inspect(&live.settings).await.unwrap(),
            catalog::inspect(&want.settings).await.unwrap(),
        )
    });
    let text = plan::render_plan(&plan::diff(&before, &desired.model, &opts), "test", "now");
    pgalign::db::shadow::run_psql(&live.settings, None, Some(text.as_bytes()))
        .unwrap_or_else(|e| panic!("{label}: the plan failed under psql: {e:#}\n{text}"));
    let after = block_on(catalog::inspect(&live.settings)).unwrap();
    let again = plan::diff(&after, &desired.model, &opts);
    assert!(
        again.is_empty(),
        "{label}: differences remain:\n{}\n--- plan was:\n{text}",
        again
            .steps
            .iter()
            .map(|s| s.sql.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn grants_revokes_and_owners() {
    admin_exec(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgalign_reader') THEN CREATE ROLE pgalign_reader; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgalign_owner') THEN CREATE ROLE pgalign_owner; END IF;
         END $$",
    );
    converge_with_privileges(
        "grants",
        "CREATE SCHEMA app; CREATE TABLE app.t (id int, secret text); CREATE TABLE app.old (id int);
         GRANT SELECT, INSERT ON app.old TO pgalign_reader;
         CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
         REVOKE EXECUTE ON FUNCTION app.f() FROM PUBLIC;",
        "CREATE SCHEMA app; CREATE TABLE app.t (id int, secret text); CREATE TABLE app.old (id int);
         GRANT USAGE ON SCHEMA app TO pgalign_reader;
         GRANT SELECT ON app.t TO pgalign_reader WITH GRANT OPTION;
         GRANT SELECT (id) ON app.old TO pgalign_reader;
         CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1';
         CREATE VIEW app.v AS SELECT id FROM app.t;
         ALTER VIEW app.v OWNER TO pgalign_owner;
         ALTER TABLE app.old OWNER TO pgalign_owner;
         ALTER DEFAULT PRIVILEGES FOR ROLE pgalign_owner IN SCHEMA app GRANT SELECT ON TABLES TO pgalign_reader;
         ALTER DEFAULT PRIVILEGES FOR ROLE pgalign_owner GRANT USAGE ON SEQUENCES TO pgalign_reader;",
    );
}

fn admin_exec(sql: &str) {
    let admin = admin();
    let sql = sql.to_string();
    block_on(async move {
        let c = pgalign::db::connect(&admin).await.unwrap();
        c.batch_execute(&sql).await.unwrap();
    });
}

#[test]
fn online_forms_for_tables_with_rows() {
    let plan = converge(
        "online",
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE t (id int, parent_id int, a int, b text, c text);
         INSERT INTO parent SELECT g FROM generate_series(1, 20) g;
         INSERT INTO t SELECT g, g, g, 'b' || g, 'c' FROM generate_series(1, 20) g;
         CREATE INDEX t_b ON t (b);
         CREATE INDEX t_gone ON t (c);",
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE t (id int NOT NULL, parent_id int REFERENCES parent (id), a int CHECK (a > 0), b text, c text,
                         CONSTRAINT t_pkey PRIMARY KEY (id), CONSTRAINT t_c_key UNIQUE (c, id));
         CREATE INDEX t_b ON t (lower(b));
         CREATE INDEX t_a ON t (a);",
    );
    for expected in [
        "CREATE INDEX CONCURRENTLY t_a ON public.t",
        "CREATE INDEX CONCURRENTLY t_b_pgalign_new ON public.t",
        "DROP INDEX CONCURRENTLY public.t_b;",
        "ALTER INDEX public.t_b_pgalign_new RENAME TO t_b;",
        "DROP INDEX CONCURRENTLY public.t_gone;",
        "NOT VALID;",
        "VALIDATE CONSTRAINT t_parent_id_fkey",
        "CHECK (id IS NOT NULL) NOT VALID",
        "CREATE UNIQUE INDEX CONCURRENTLY t_pkey ON public.t USING btree (id)",
        "ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_pkey",
    ] {
        assert!(plan.contains(expected), "missing `{expected}` in:\n{plan}");
    }
    assert!(
        !plan.contains("ALTER TABLE public.t ADD CONSTRAINT t_a_check CHECK ((a > 0));"),
        "{plan}"
    );
    // Validation commits apart from the NOT VALID additions (whose locks it must not hold).
    let group_of = |needle: &str| {
        let at = plan.find(needle).unwrap_or_else(|| panic!("{needle}"));
        plan[..at].matches("-- pgalign:group ").count()
    };
    let added = group_of("FOREIGN KEY (parent_id) REFERENCES public.parent(id) NOT VALID;");
    let validated = group_of("VALIDATE CONSTRAINT t_parent_id_fkey");
    let set_not_null = group_of("ALTER COLUMN id SET NOT NULL");
    assert!(added < validated && validated < set_not_null, "{plan}");
}

#[test]
fn rename_hints_keep_rows_and_values() {
    let live = test_db("renames_a");
    live.exec(
        "CREATE SCHEMA shop;
         CREATE TABLE shop.clients (id int PRIMARY KEY, mail text UNIQUE CHECK (mail <> ''));
         CREATE INDEX clients_mail_lower ON shop.clients (lower(mail));
         CREATE TABLE shop.orders (id int PRIMARY KEY, client_id int REFERENCES shop.clients (id));
         INSERT INTO shop.clients VALUES (1, 'a@x'), (2, 'b@x');
         INSERT INTO shop.orders VALUES (1, 1);",
    );
    let desired_sql = "CREATE SCHEMA shop;
        -- pgalign:renamed-from shop.clients
        CREATE TABLE shop.customers (
            id int PRIMARY KEY,
            -- pgalign:renamed-from shop.clients.mail
            email text UNIQUE CHECK (email <> '')
        );
        CREATE INDEX clients_mail_lower ON shop.customers (lower(email));
        CREATE TABLE shop.orders (id int PRIMARY KEY, client_id int REFERENCES shop.customers (id));";
    let plan = diff_apply_verify_file(&live, desired_sql);
    assert!(
        plan.contains("ALTER TABLE shop.clients RENAME TO customers;"),
        "{plan}"
    );
    assert!(plan.contains("RENAME COLUMN mail TO email;"), "{plan}");
    assert!(!plan.contains("DROP TABLE"), "{plan}");
    assert!(!plan.contains("DROP COLUMN"), "{plan}");
    assert_eq!(
        live.query_one("SELECT string_agg(email, ',' ORDER BY id) FROM shop.customers"),
        "a@x,b@x"
    );
}

/// Plans `live` → the desired SQL file `desired_sql` (hints and all) with the
/// CLI, applies the plan, requires `verify` to find nothing left, and returns
/// the plan's text.
fn diff_apply_verify_file(live: &TestDb, desired_sql: &str) -> String {
    let dir = temp_dir();
    let file = dir.path().join("desired.sql");
    std::fs::write(&file, desired_sql).unwrap();
    let plan_path = dir.path().join("plan.sql");
    let shadow = admin().redacted_url();
    let desired = ["--desired", file.to_str().unwrap(), "--shadow", &shadow];
    let url = live.url();
    let o = run(&[
        &["diff", "--db", &url][..],
        &desired,
        &["-o", plan_path.to_str().unwrap()],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let plan = std::fs::read_to_string(&plan_path).unwrap();
    let o = run(&[
        "apply",
        "--db",
        &url,
        "--plan",
        plan_path.to_str().unwrap(),
        "--confirm-target",
        &live.name,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}\n{plan}", stderr(&o));
    let o = run(&[&["verify", "--db", &url][..], &desired].concat());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}\n{plan}",
        stdout(&o),
        stderr(&o)
    );
    plan
}

#[test]
fn an_enum_value_renamed_by_a_hint_keeps_the_rows_that_hold_it() {
    let live = test_db("enum_value_rename");
    live.exec(
        "CREATE TYPE state AS ENUM ('new', 'pending', 'paid');
         CREATE TABLE orders (id int PRIMARY KEY, s state NOT NULL DEFAULT 'pending'
                              CHECK (s <> 'pending' OR id > 0), history state[]);
         CREATE INDEX orders_open ON orders (id) WHERE s = 'pending';
         CREATE VIEW open_orders AS SELECT id FROM orders WHERE s = 'pending';
         INSERT INTO orders VALUES (1, 'pending', '{new,pending}'), (2, 'paid', NULL), (3, 'new', '{}');",
    );
    let desired_sql = "CREATE TYPE state AS ENUM (
            'new',
            -- pgalign:renamed-from 'pending'
            'waiting',
            'paid'
        );
        CREATE TABLE orders (id int PRIMARY KEY, s state NOT NULL DEFAULT 'waiting'
                             CHECK (s <> 'waiting' OR id > 0), history state[]);
        CREATE INDEX orders_open ON orders (id) WHERE s = 'waiting';
        CREATE VIEW open_orders AS SELECT id FROM orders WHERE s = 'waiting';";
    let plan = diff_apply_verify_file(&live, desired_sql);
    assert!(
        plan.contains("ALTER TYPE public.state RENAME VALUE 'pending' TO 'waiting';"),
        "{plan}"
    );
    // Nothing else: no new type, no rebuilt view, index or check.
    assert_eq!(plan.matches("-- pgalign:step").count(), 1, "{plan}");
    assert_eq!(
        live.query_one("SELECT string_agg(id || ':' || s::text || ':' || coalesce(history::text, '-'), ',' ORDER BY id) FROM orders"),
        "1:waiting:{new,waiting},2:paid:-,3:new:{}"
    );
}

#[test]
fn a_drop_and_add_of_the_same_shape_is_reported_as_a_possible_rename() {
    let live = test_db("maybe_rename_a");
    live.exec("CREATE TABLE t (id int, mail text); CREATE TYPE st AS ENUM ('a', 'b', 'c');");
    let want = test_db("maybe_rename_b");
    want.exec("CREATE TABLE t (id int, email text); CREATE TYPE st AS ENUM ('a', 'x', 'c');");
    let (a, b) = block_on(async {
        (
            catalog::inspect(&live.settings).await.unwrap(),
            catalog::inspect(&want.settings).await.unwrap(),
        )
    });
    let plan = plan::diff(&a, &b.model, &PlanOptions::default());
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("possible rename: column public.t.mail")),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes.iter().any(|n| n
            .contains("possible rename: value 'b' of public.st is dropped and 'x' added")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn enum_values_removed_and_reordered_through_a_new_type() {
    let plan = converge(
        "enum_rewrite",
        "CREATE TYPE mood AS ENUM ('sad', 'meh', 'happy', 'gone');
         CREATE TABLE person (id int PRIMARY KEY, m mood DEFAULT 'meh' CHECK (m <> 'meh' OR id > 0), history mood[]);
         CREATE INDEX person_happy ON person (id) WHERE m = 'happy';
         INSERT INTO person VALUES (1, 'sad', '{sad,happy}'), (2, 'happy', NULL), (3, 'meh', '{}');
         CREATE VIEW cheerful AS SELECT id FROM person WHERE m = 'happy';
         CREATE FUNCTION is_sad(x mood) RETURNS boolean LANGUAGE sql AS 'SELECT x = ''sad''';
         CREATE FUNCTION old_helper(x mood) RETURNS int LANGUAGE sql AS 'SELECT 1';",
        "CREATE TYPE mood AS ENUM ('happy', 'meh', 'sad');
         CREATE TABLE person (id int PRIMARY KEY, m mood DEFAULT 'happy' CHECK (m <> 'meh' OR id > 0), history mood[]);
         CREATE INDEX person_happy ON person (id) WHERE m = 'happy';
         CREATE VIEW cheerful AS SELECT id FROM person WHERE m = 'happy';
         CREATE FUNCTION is_sad(x mood) RETURNS boolean LANGUAGE sql AS 'SELECT x = ''sad''';",
    );
    assert!(plan.contains("RENAME TO mood_pgalign_old"), "{plan}");
    assert!(plan.contains("USING m::text::public.mood"), "{plan}");
    assert!(
        plan.contains("USING history::text[]::public.mood[]"),
        "{plan}"
    );
}

#[test]
fn domains_and_composites_on_a_rewritten_enum_are_replaced_with_it() {
    let plan = converge(
        "enum_rewrite_deps",
        "CREATE TYPE mood AS ENUM ('sad', 'meh', 'happy', 'gone');
         CREATE DOMAIN good_mood AS mood DEFAULT 'happy' NOT NULL CONSTRAINT not_sad CHECK (VALUE <> 'sad');
         CREATE DOMAIN moods AS mood[];
         CREATE TYPE entry AS (at date, m mood);
         CREATE TABLE diary (id int PRIMARY KEY, g good_mood, e entry, past moods, es entry[]);
         INSERT INTO diary VALUES (1, 'happy', ROW('2024-01-01', 'sad'), '{sad,meh}', ARRAY[ROW('2024-01-02', 'meh')::entry]),
                                  (2, 'meh', NULL, NULL, NULL);
         CREATE VIEW good_days AS SELECT id, (e).m FROM diary WHERE g::mood = 'happy';
         CREATE FUNCTION cheer(x good_mood) RETURNS good_mood LANGUAGE sql AS 'SELECT x';",
        "CREATE TYPE mood AS ENUM ('happy', 'meh', 'sad');
         CREATE DOMAIN good_mood AS mood DEFAULT 'happy' NOT NULL CONSTRAINT not_sad CHECK (VALUE <> 'sad');
         CREATE DOMAIN moods AS mood[];
         CREATE TYPE entry AS (at date, m mood);
         CREATE TABLE diary (id int PRIMARY KEY, g good_mood, e entry, past moods, es entry[]);
         CREATE VIEW good_days AS SELECT id, (e).m FROM diary WHERE g::mood = 'happy';
         CREATE FUNCTION cheer(x good_mood) RETURNS good_mood LANGUAGE sql AS 'SELECT x';",
    );
    assert!(
        plan.contains("ALTER DOMAIN public.good_mood RENAME TO good_mood_pgalign_old;"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TYPE public.entry RENAME TO entry_pgalign_old;"),
        "{plan}"
    );
    assert!(plan.contains("USING e::text::public.entry"), "{plan}");
    assert!(plan.contains("USING es::text[]::public.entry[]"), "{plan}");
    assert!(!plan.contains("blocker["), "{plan}");
}

#[test]
fn a_domain_changing_its_base_type_is_replaced_and_its_columns_cast() {
    let plan = converge(
        "domain_base_change",
        "CREATE DOMAIN qty AS int CHECK (VALUE >= 0);
         CREATE TABLE stock (id int PRIMARY KEY, n qty DEFAULT 0, history qty[]);
         INSERT INTO stock VALUES (1, 5, '{1,2}'), (2, 0, NULL);
         CREATE VIEW in_stock AS SELECT id, n FROM stock WHERE n > 0;",
        "CREATE DOMAIN qty AS bigint CHECK (VALUE >= 0);
         CREATE TABLE stock (id int PRIMARY KEY, n qty DEFAULT 0, history qty[]);
         CREATE VIEW in_stock AS SELECT id, n FROM stock WHERE n > 0;",
    );
    assert!(
        plan.contains("ALTER DOMAIN public.qty RENAME TO qty_pgalign_old;"),
        "{plan}"
    );
    assert!(plan.contains("USING n::text::public.qty"), "{plan}");
    assert!(
        plan.contains("DROP DOMAIN public.qty_pgalign_old;"),
        "{plan}"
    );
}

#[test]
fn foreign_keys_whose_columns_change_type_at_both_ends_are_dropped_and_re_added() {
    // documenso 121 → 122: Folder.id and Folder.parentId become text together.
    let plan = converge(
        "fk_both_ends_retyped",
        r#"CREATE TABLE "Folder" (id serial PRIMARY KEY, "parentId" int REFERENCES "Folder" (id) ON DELETE CASCADE);
           CREATE TABLE doc (id int PRIMARY KEY, "folderId" int REFERENCES "Folder" (id) ON DELETE SET NULL);
           INSERT INTO "Folder" VALUES (1, NULL), (2, 1);
           INSERT INTO doc VALUES (1, 2);"#,
        r#"CREATE TABLE "Folder" (id text PRIMARY KEY, "parentId" text REFERENCES "Folder" (id) ON DELETE CASCADE);
           CREATE TABLE doc (id int PRIMARY KEY, "folderId" text REFERENCES "Folder" (id) ON DELETE SET NULL);"#,
    );
    assert!(
        plan.contains(r#"DROP CONSTRAINT "Folder_parentId_fkey""#),
        "{plan}"
    );
    assert!(
        plan.contains(r#"DROP CONSTRAINT "doc_folderId_fkey""#),
        "{plan}"
    );
}

#[test]
fn statistics_rules_and_collations() {
    converge(
        "stats_rules",
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c text);
         CREATE TABLE t_log (id int, note text);
         CREATE STATISTICS t_ab (dependencies) ON a, b FROM t;
         CREATE RULE t_audit AS ON DELETE TO t DO ALSO INSERT INTO t_log VALUES (OLD.id, 'gone');
         CREATE COLLATION old_coll (provider = libc, locale = 'C');",
        "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
         CREATE COLLATION posix2 (provider = libc, locale = 'C');
         CREATE TABLE t (id int PRIMARY KEY, a int, b bigint, c text COLLATE ci);
         CREATE TABLE t_log (id int, note text);
         CREATE STATISTICS t_ab (dependencies, ndistinct) ON a, b FROM t;
         CREATE RULE t_audit AS ON DELETE TO t DO ALSO INSERT INTO t_log VALUES (OLD.id, 'deleted');
         CREATE RULE t_upd AS ON UPDATE TO t DO ALSO INSERT INTO t_log VALUES (NEW.id, 'updated');",
    );
}

/// Introspection splits its catalog queries between two connections that share
/// one exported snapshot; the model (and sizes) must be exactly what one
/// connection reads alone. A generated schema (tables, identity and serial
/// keys, enums, views, materialized views, functions, triggers, comments) plus
/// the kinds it lacks.
#[test]
fn introspection_on_two_connections_equals_one() {
    let db = test_db("two_conns");
    let generated = std::process::Command::new("python3")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_schema.py"))
        .args(["--tables", "120", "--seed", "3"])
        .output();
    let loaded = generated.ok().filter(|o| o.status.success());
    if let Some(out) = &loaded {
        db.load(std::str::from_utf8(&out.stdout).unwrap());
    }
    db.load(
        "CREATE SCHEMA \"Mixed Case\";
         CREATE DOMAIN \"Mixed Case\".pos AS int CHECK (VALUE > 0) DEFAULT 1 NOT NULL;
         CREATE TYPE \"Mixed Case\".pair AS (a int, b text COLLATE \"C\");
         CREATE TABLE \"Mixed Case\".m (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v \"Mixed Case\".pos,
                                       w text GENERATED ALWAYS AS ('x' || v) STORED) WITH (fillfactor = 70);
         INSERT INTO \"Mixed Case\".m (v) SELECT g FROM generate_series(1, 500) g;
         CREATE TABLE \"Mixed Case\".p (k int, at date) PARTITION BY RANGE (at);
         CREATE TABLE \"Mixed Case\".p1 PARTITION OF \"Mixed Case\".p FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
         CREATE TABLE \"Mixed Case\".pd PARTITION OF \"Mixed Case\".p DEFAULT;
         CREATE INDEX ON \"Mixed Case\".p (k);
         CREATE TABLE \"Mixed Case\".base (a int);
         CREATE TABLE \"Mixed Case\".child (b int) INHERITS (\"Mixed Case\".base);
         ALTER TABLE \"Mixed Case\".m ENABLE ROW LEVEL SECURITY;
         CREATE POLICY own ON \"Mixed Case\".m USING (v > 0);
         CREATE STATISTICS \"Mixed Case\".st ON id, v FROM \"Mixed Case\".m;
         CREATE RULE r AS ON DELETE TO \"Mixed Case\".base DO INSTEAD NOTHING;
         CREATE COLLATION \"Mixed Case\".c2 (provider = libc, locale = 'C');
         CREATE AGGREGATE \"Mixed Case\".total(int) (sfunc = int4pl, stype = int);
         GRANT USAGE ON SCHEMA \"Mixed Case\" TO PUBLIC;
         GRANT SELECT (v) ON \"Mixed Case\".m TO PUBLIC;
         COMMENT ON TABLE \"Mixed Case\".m IS 'mixed';",
    );
    let settings = db.settings.clone();
    let (two, one) = block_on(async move {
        let two = catalog::inspect(&settings).await.unwrap();
        let mut client = pgalign::db::connect(&settings).await.unwrap();
        let one = catalog::introspect(&mut client).await.unwrap();
        (two, one)
    });
    assert!(two.model.tables.len() > if loaded.is_some() { 120 } else { 5 });
    assert_eq!(two.model, one.model);
    assert_eq!(
        serde_json::to_string(&two).unwrap(),
        serde_json::to_string(&one).unwrap()
    );
}

#[test]
fn introspection_takes_no_lock_on_user_tables() {
    let db = test_db("no_locks");
    // Never analysed, never vacuumed: the case that used to open each table.
    db.exec("CREATE TABLE a (id int); CREATE TABLE b (id int); INSERT INTO b VALUES (1);");
    let settings = db.settings.clone();
    block_on(async move {
        // Another session holds the strongest lock: any lock introspection
        // tried to take on `a` would wait behind it.
        let mut holder = pgalign::db::connect(&settings).await.unwrap();
        let tx = holder.transaction().await.unwrap();
        tx.batch_execute("LOCK TABLE a IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        let inspected = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            catalog::inspect(&settings),
        )
        .await
        .expect("introspection waited for a lock on a user table")
        .unwrap();
        assert_eq!(inspected.stats.len(), 2);
        tx.rollback().await.unwrap();
    });
}

/// What `diff` adds to a plan and what `apply` checks before it runs: the
/// hazards the lint engine finds in the plan's SQL on the live database. An
/// honest plan must read to the engine as its steps say and carry no blocker.
fn gate_accepts(live: &TestDb, plan: &mut plan::Plan) -> Result<(), String> {
    let s = live.settings.clone();
    let mut named = plan.clone();
    let named = block_on(async move {
        pgalign::apply::name_derived(&mut named, &s)
            .await
            .map(|_| named)
    })
    .map_err(|e| format!("the plan's SQL does not read as its steps: {e:#}"))?;
    let file = plan::parse_plan(&plan::render_plan(&named, "test", "now"))
        .map_err(|e| format!("{e:#}"))?;
    let s = live.settings.clone();
    let f = file.clone();
    let derived = block_on(async move {
        let c = pgalign::db::connect(&s).await?;
        pgalign::apply::derive(&c, &f).await
    })
    .map_err(|e| format!("the apply gate cannot read the plan: {e:#}"))?;
    let all = pgalign::apply::ApplyOptions {
        allowed: pgalign::hazard::HazardId::ALL.into_iter().collect(),
        ..Default::default()
    };
    pgalign::apply::check_derived(&file, &derived, &all, &Default::default())
        .map_err(|e| format!("the apply gate refuses the plan: {e}"))?;
    *plan = named;
    Ok(())
}
