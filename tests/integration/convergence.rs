//! Convergence, the core property: for each pair (A, B), the plan of A → B
//! applied to A leaves no difference, and every table and column that B keeps
//! keeps its rows and values.

use crate::support::*;
use pgalign::catalog;
use pgalign::catalog::model::{Model, QName, quote_ident};
use pgalign::plan::{self, PlanOptions};

/// Loads `a` (with rows) and `b`, plans A → B, applies the plan with psql, and
/// checks: the re-diff is empty, the models are equal, and the rows of every
/// table B keeps are still there. Panics with the reason; returns the plan.
pub fn converge(label: &str, a: &str, b: &str) -> String {
    try_converge(label, a, b).unwrap_or_else(|e| panic!("{label}: {e}"))
}

/// [`converge`] without panicking: loading errors and every way the pair can
/// fail to converge come back as `Err(reason)`.
pub fn try_converge(label: &str, a: &str, b: &str) -> Result<String, String> {
    let live = test_db(&format!("{label}_a"));
    let want = test_db(&format!("{label}_b"));
    pgalign::db::shadow::run_psql(&live.settings, None, Some(a.as_bytes()))
        .map_err(|e| format!("loading A failed: {e:#}"))?;
    pgalign::db::shadow::run_psql(&want.settings, None, Some(b.as_bytes()))
        .map_err(|e| format!("loading B failed: {e:#}"))?;
    let desired = block_on(catalog::inspect(&want.settings))
        .map_err(|e| format!("inspecting B failed: {e:#}"))?;
    converge_to(&live, &desired.model)
}

/// The core of the property, on a live database that already holds A (and its
/// rows) and the inspected model of B: plans, applies the plan with psql,
/// re-inspects and compares. `Ok` holds the plan text; `Err` one reason line
/// (the failing statement, the remaining differences, or what changed), with
/// details on the following lines.
pub fn converge_to(live: &TestDb, desired: &Model) -> Result<String, String> {
    let before = block_on(catalog::inspect(&live.settings))
        .map_err(|e| format!("inspecting A failed: {e:#}"))?;
    let kept = kept_columns(&before.model, desired);
    let rows_before = row_checksums(live, &kept)?;
    let plan = plan::diff(&before, desired, &PlanOptions::default());
    let text = plan::render_plan(&plan, "test", "now");
    if let Err(e) = pgalign::db::shadow::run_psql(&live.settings, None, Some(text.as_bytes())) {
        return Err(plan_failure(&plan, &text, &format!("{e:#}")));
    }
    let after = block_on(catalog::inspect(&live.settings))
        .map_err(|e| format!("re-inspecting A failed: {e:#}"))?;
    let again = plan::diff(&after, desired, &PlanOptions::default());
    if !again.is_empty() {
        let stmts: Vec<String> = again.steps.iter().map(|s| one_line(&s.sql)).collect();
        return Err(format!(
            "differences remain ({}): {}\n{}\n--- plan was:\n{text}",
            stmts.len(),
            clip(&stmts.join(" | "), 400),
            stmts.join("\n")
        ));
    }
    if after.model.fingerprint() != desired.fingerprint() {
        return Err(format!(
            "fingerprints differ though the re-diff is empty\n--- plan was:\n{text}"
        ));
    }
    let rows_after = row_checksums(live, &kept)?;
    let changed: Vec<&str> = rows_before
        .iter()
        .zip(&rows_after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| b.0.as_str())
        .collect();
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

/// Tables both sides have, with the columns both sides have (by name).
fn kept_columns(live: &Model, desired: &Model) -> Vec<(QName, Vec<String>)> {
    desired
        .tables
        .iter()
        .filter_map(|(name, t)| {
            let have = live.tables.get(name)?;
            let cols = t
                .columns
                .iter()
                // A generated column's values follow its expression, not A's rows.
                .filter(|c| c.generated.is_none() && have.column(&c.name).is_some())
                .map(|c| quote_ident(&c.name))
                .collect();
            Some((name.clone(), cols))
        })
        .collect()
}

/// Row count and a checksum of the kept columns' values per kept table. Each
/// value is compared as text (so `char(n)` → `text`, which drops the padding,
/// and `int` → `bigint` keep their values).
fn row_checksums(
    db: &TestDb,
    kept: &[(QName, Vec<String>)],
) -> Result<Vec<(String, String)>, String> {
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let settings = db.settings.clone();
    let queries: Vec<(String, String)> = kept
        .iter()
        .map(|(name, cols)| {
            let sum = if cols.is_empty() {
                "count(*)::text".to_string()
            } else {
                let vals: Vec<String> = cols.iter().map(|c| format!("{c}::text")).collect();
                let row = format!("ROW({})::text", vals.join(", "));
                format!(
                    "count(*)::text || ':' || coalesce(md5(string_agg({row}, ',' ORDER BY {row})), '')"
                )
            };
            (name.to_string(), format!("SELECT {sum} FROM {}", name.sql()))
        })
        .collect();
    block_on(async move {
        let client = pgalign::db::connect(&settings)
            .await
            .map_err(|e| format!("connecting for row checksums: {e:#}"))?;
        let mut out = Vec::new();
        for (name, sql) in queries {
            let row = client.query_one(&sql, &[]).await.map_err(|e| {
                format!(
                    "row checksum of {name} failed: {}",
                    pgalign::db::describe_error(&e)
                )
            })?;
            out.push((name, row.get::<_, Option<String>>(0).unwrap_or_default()));
        }
        Ok(out)
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
