//! Convergence, round three (issue 16, classes 7, 8, 10, 13, 9 and 11): one
//! rewrite per table, privileges and owners out of scope said out loud,
//! row-level security flags, default privileges of the live side, creation
//! order across kinds, and more of partitions. Every pair runs with rows,
//! offline and online; `converge` checks the re-diff, the fingerprints and
//! the rows.

use super::{admin_exec, converge, converge_with};
use crate::support::*;
use pgalign::catalog;
use pgalign::plan::{self, PlanOptions};

// --- 7. one rewrite per table ----------------------------------------------

const RETYPED_A: &str = "CREATE SCHEMA shop;
     CREATE TABLE shop.orders (id int PRIMARY KEY, qty int DEFAULT 1, price int, code text, note text);
     CREATE INDEX orders_code ON shop.orders (code);
     INSERT INTO shop.orders SELECT g, g % 7, g * 3, (g * 11)::text, 'n' || g FROM generate_series(1, 500) g;";
const RETYPED_B: &str = "CREATE SCHEMA shop;
     CREATE TABLE shop.orders (id int PRIMARY KEY, qty bigint DEFAULT 2, price numeric(12,2), code int, note text);
     CREATE INDEX orders_code ON shop.orders (code);";

#[test]
fn a_table_with_three_retyped_columns_is_rewritten_once() {
    for strategy in [plan::Strategy::Offline, plan::Strategy::Online] {
        let label = format!("one_rewrite_{strategy:?}").to_lowercase();
        let live = test_db(&format!("{label}_a"));
        let want = test_db(&format!("{label}_b"));
        live.load(RETYPED_A);
        want.load(RETYPED_B);
        let before = block_on(catalog::inspect(&live.settings)).unwrap();
        let desired = block_on(catalog::inspect(&want.settings)).unwrap();
        let opts = PlanOptions {
            strategy,
            ..Default::default()
        };
        let plan = plan::diff(&before, &desired.model, &opts);
        let retyping: Vec<&plan::Step> = plan
            .steps
            .iter()
            .filter(|s| s.sql.starts_with("ALTER TABLE shop.orders") && s.sql.contains(" TYPE "))
            .collect();
        assert_eq!(retyping.len(), 1, "{:#?}", plan.steps);
        let step = retyping[0];
        assert_eq!(step.sql.matches(" TYPE ").count(), 3, "{}", step.sql);
        let rewrites: Vec<&str> = step
            .hazards
            .iter()
            .filter(|h| h.id == pgalign::hazard::HazardId::Rewrite)
            .map(|h| h.detail.as_str())
            .collect();
        assert_eq!(rewrites.len(), 1, "{:?}", step.hazards);
        assert!(
            rewrites[0].starts_with("rewrites shop.orders once for 3 column changes"),
            "{rewrites:?}"
        );
        // Apply the plan step by step: the table's file changes once.
        let node = || live.query_one("SELECT pg_relation_filenode('shop.orders')::text");
        let mut last = node();
        let mut changes = 0;
        for s in &plan.steps {
            live.exec(&s.sql);
            let now = node();
            if now != last {
                changes += 1;
                last = now;
            }
        }
        assert_eq!(changes, 1, "{label}: {:#?}", plan.steps);
        let after = block_on(catalog::inspect(&live.settings)).unwrap();
        let again = plan::diff(&after, &desired.model, &opts);
        assert!(again.is_empty(), "{label}: {:#?}", again.steps);
        assert_eq!(
            live.query_one("SELECT sum(qty)::text || ' ' || sum(price)::text || ' ' || sum(code)::text FROM shop.orders"),
            live.query_one("SELECT sum(g % 7)::text || ' ' || sum(g * 3)::numeric(12,2)::text || ' ' || sum(g * 11)::text FROM generate_series(1, 500) g"),
        );
        assert_eq!(
            live.query_one("INSERT INTO shop.orders (id) VALUES (0) RETURNING qty::text"),
            "2"
        );
    }
}

#[test]
fn retyped_columns_of_several_tables_converge_with_their_defaults_and_keys() {
    converge(
        "one_rewrite_tables",
        "CREATE TABLE a (id int PRIMARY KEY, x int DEFAULT 0 NOT NULL, y smallint, z text DEFAULT 'q');
         CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a, w int, v varchar(5));
         CREATE VIEW av AS SELECT id, x FROM a;
         INSERT INTO a SELECT g, g, g, 'z' || g FROM generate_series(1, 60) g;
         INSERT INTO b SELECT g, g, g * 2, 'v' || (g % 9) FROM generate_series(1, 60) g;",
        "CREATE TABLE a (id bigint PRIMARY KEY, x bigint DEFAULT 5 NOT NULL, y int, z varchar(20) DEFAULT 'r');
         CREATE TABLE b (id int PRIMARY KEY, a_id bigint REFERENCES a, w bigint, v text);
         CREATE VIEW av AS SELECT id, x FROM a;",
    );
}

/// Roles the pairs of this file own and grant to (shared by the whole run,
/// created once: two sessions creating the same role at once collide).
fn roles() {
    static MADE: std::sync::Once = std::sync::Once::new();
    MADE.call_once(|| {
        admin_exec(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgalign_r3_reader') THEN CREATE ROLE pgalign_r3_reader; END IF;
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgalign_r3_owner') THEN CREATE ROLE pgalign_r3_owner; END IF;
             END $$",
        )
    });
}

// --- 8. privileges and owners out of scope are not invisible ----------------

#[test]
fn verify_and_diff_say_that_grants_and_owners_differ_when_they_are_not_compared() {
    roles();
    let live = test_db("not_compared_a");
    let want = test_db("not_compared_b");
    let schema = "CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY);
                  CREATE TABLE w (id int PRIMARY KEY); INSERT INTO t VALUES (1);";
    live.load(schema);
    want.load(schema);
    live.exec(
        "GRANT SELECT ON t TO pgalign_r3_reader; GRANT SELECT, UPDATE ON w TO pgalign_r3_reader;
         ALTER TABLE u OWNER TO pgalign_r3_owner;",
    );
    let (url, want_url) = (live.url(), want.url());
    let o = run(&["verify", "--db", &url, "--desired", &want_url]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("is in sync with the desired schema in what was compared"),
        "{err}"
    );
    assert!(
        err.contains("grants differ on 2 objects and owners on 1 and are not compared (--with-privileges and --with-owners compare them)"),
        "{err}"
    );
    let o = run(&["diff", "--db", &url, "--desired", &want_url]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("grants differ on 2 objects and owners on 1 and are not compared"),
        "{}",
        stderr(&o)
    );
    // With one of them in scope, only the other is said.
    let o = run(&[
        "verify",
        "--db",
        &url,
        "--desired",
        &want_url,
        "--with-privileges",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "pgalign: owners differ on 1 object and are not compared (--with-owners compares them)"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("grants differ"), "{}", stderr(&o));
    // Once the same, nothing is said and "in sync" stands alone.
    want.exec(
        "GRANT SELECT ON t TO pgalign_r3_reader; GRANT SELECT, UPDATE ON w TO pgalign_r3_reader;
         ALTER TABLE u OWNER TO pgalign_r3_owner;",
    );
    let o = run(&["verify", "--db", &url, "--desired", &want_url]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("not compared") && !err.contains("in what was compared"),
        "{err}"
    );
    let o = run(&[
        "verify",
        "--db",
        &url,
        "--desired",
        &want_url,
        "--with-privileges",
        "--with-owners",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

// --- 10. row-level security flags ------------------------------------------

/// The four states of a table's two flags, as `ALTER TABLE` suffixes.
const RLS_STATES: [(&str, &[&str]); 4] = [
    ("off", &[]),
    ("on", &["ENABLE"]),
    ("forced", &["ENABLE", "FORCE"]),
    ("fo", &["FORCE"]),
];

fn rls_schema(pick: impl Fn(usize, usize) -> usize) -> String {
    let mut sql = String::new();
    for (i, (from, _)) in RLS_STATES.iter().enumerate() {
        for (j, (to, _)) in RLS_STATES.iter().enumerate() {
            if i == j {
                continue;
            }
            let t = format!("t_{from}_{to}");
            sql.push_str(&format!(
                "CREATE TABLE {t} (id int PRIMARY KEY, owner_name text);
                 CREATE POLICY {t}_mine ON {t} USING (owner_name = current_user);\n"
            ));
            for flag in RLS_STATES[pick(i, j)].1 {
                sql.push_str(&format!("ALTER TABLE {t} {flag} ROW LEVEL SECURITY;\n"));
            }
            sql.push_str(&format!(
                "INSERT INTO {t} SELECT g, 'u' || g FROM generate_series(1, 5) g;\n"
            ));
        }
    }
    sql
}

#[test]
fn every_change_of_the_two_row_level_security_flags_converges() {
    let a = rls_schema(|i, _| i);
    let b = rls_schema(|_, j| j).replace("INSERT INTO", "-- INSERT INTO");
    let plan = converge("rls_flags", &a, &b);
    // FORCE without ENABLE is seen, and planned as just that.
    assert!(
        plan.contains("ALTER TABLE public.t_off_fo FORCE ROW LEVEL SECURITY;"),
        "{plan}"
    );
    assert!(
        !plan.contains("ALTER TABLE public.t_off_fo ENABLE"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.t_fo_off NO FORCE ROW LEVEL SECURITY;"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.t_fo_on NO FORCE ROW LEVEL SECURITY;"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.t_fo_on ENABLE ROW LEVEL SECURITY;"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.t_forced_fo DISABLE ROW LEVEL SECURITY;"),
        "{plan}"
    );
    assert!(
        !plan.contains("ALTER TABLE public.t_forced_fo NO FORCE"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.t_fo_forced ENABLE ROW LEVEL SECURITY;"),
        "{plan}"
    );
    assert!(
        !plan.contains("ALTER TABLE public.t_fo_forced FORCE"),
        "{plan}"
    );
    // And a forced-only table differs from one with no flag at all.
    let live = test_db("rls_fo_seen");
    live.load("CREATE TABLE t (id int); ALTER TABLE t FORCE ROW LEVEL SECURITY;");
    let m = block_on(catalog::inspect(&live.settings)).unwrap().model;
    let t = &m.tables[&pgalign::catalog::model::QName::new("public", "t")];
    assert_eq!(t.rls.as_deref(), Some("forced, not enabled"));
}

// --- 13. default privileges reach new objects ------------------------------

/// The live side's default privileges for the role that applies the plan.
const DEFAULTS: &str = "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO pgalign_r3_reader;
     ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT USAGE, SELECT ON SEQUENCES TO pgalign_r3_reader;
     ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
     ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT EXECUTE ON FUNCTIONS TO pgalign_r3_reader;
     ALTER DEFAULT PRIVILEGES REVOKE USAGE ON TYPES FROM PUBLIC;";

#[test]
fn objects_the_plan_creates_end_with_the_desired_grants_despite_default_privileges() {
    roles();
    let a = format!(
        "CREATE SCHEMA app;
         CREATE TABLE app.kept (id int PRIMARY KEY);
         INSERT INTO app.kept SELECT generate_series(1, 20);
         {DEFAULTS}"
    );
    // The desired objects are made before its default privileges (so they
    // have none of them), but for one table made after, which keeps them.
    let b = format!(
        "CREATE SCHEMA app;
         CREATE TABLE app.kept (id int PRIMARY KEY);
         CREATE TABLE app.fresh (id serial PRIMARY KEY, v text);
         CREATE VIEW app.fresh_v AS SELECT id FROM app.fresh;
         CREATE SEQUENCE app.counter;
         CREATE FUNCTION app.twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
         CREATE FUNCTION public.thrice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 3';
         CREATE TYPE app.mood AS ENUM ('ok', 'sad');
         GRANT INSERT ON app.fresh TO pgalign_r3_reader;
         {DEFAULTS}
         CREATE TABLE app.later (id int PRIMARY KEY);"
    );
    let scope = pgalign::catalog::Scope {
        with_privileges: true,
        ..Default::default()
    };
    converge_with(
        "default_privileges_off",
        &a,
        &b,
        &PlanOptions {
            strategy: plan::Strategy::Offline,
            scope: scope.clone(),
            ..Default::default()
        },
    );
    let plan = converge_with(
        "default_privileges",
        &a,
        &b,
        &PlanOptions {
            scope,
            ..Default::default()
        },
    );
    for revoke in [
        "REVOKE SELECT ON TABLE app.fresh FROM pgalign_r3_reader;",
        "REVOKE SELECT ON TABLE app.fresh_v FROM pgalign_r3_reader;",
        "REVOKE SELECT ON SEQUENCE app.counter FROM pgalign_r3_reader;",
        "REVOKE USAGE ON SEQUENCE app.counter FROM pgalign_r3_reader;",
        "GRANT EXECUTE ON FUNCTION public.thrice(integer) TO PUBLIC;",
        "GRANT USAGE ON TYPE app.mood TO PUBLIC;",
    ] {
        assert!(plan.contains(revoke), "missing `{revoke}` in:\n{plan}");
    }
    assert!(!plan.contains("ON TABLE app.later"), "{plan}");
}

#[test]
fn a_role_wide_default_that_revokes_from_public_is_compared_and_planned() {
    let scope = pgalign::catalog::Scope {
        with_privileges: true,
        ..Default::default()
    };
    for (label, a, b) in [
        ("dp_public_back", DEFAULTS, ""),
        ("dp_public_gone", "", DEFAULTS),
    ] {
        for strategy in [plan::Strategy::Offline, plan::Strategy::Online] {
            roles();
            let a = format!("CREATE SCHEMA app; {a}");
            let b = format!(
                "CREATE SCHEMA app; CREATE FUNCTION app.f() RETURNS int LANGUAGE sql AS 'SELECT 1'; {b}"
            );
            let plan = converge_with(
                &format!("{label}_{strategy:?}").to_lowercase(),
                &a,
                &b,
                &PlanOptions {
                    strategy,
                    scope: scope.clone(),
                    ..Default::default()
                },
            );
            assert!(plan.contains("EXECUTE ON FUNCTIONS"), "{plan}");
        }
    }
}

// --- 9. creation order across kinds ----------------------------------------

#[test]
fn a_domain_whose_check_calls_a_new_function_is_created_in_order() {
    let plan = converge(
        "domain_check_function",
        "CREATE TABLE item (id int PRIMARY KEY, code text);
         INSERT INTO item SELECT g, 'c' || g FROM generate_series(1, 30) g;",
        "CREATE FUNCTION a_valid_code(text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
            AS $$ BEGIN RETURN $1 ~ '^c[0-9]+$'; END $$;
         CREATE FUNCTION b_short(text) RETURNS boolean LANGUAGE sql IMMUTABLE
            BEGIN ATOMIC SELECT length($1) < 10; END;
         CREATE DOMAIN code AS text CHECK (a_valid_code(VALUE)) CONSTRAINT short CHECK (b_short(VALUE));
         CREATE TABLE item (id int PRIMARY KEY, code text, alt code);
         CREATE TABLE tagged (id int PRIMARY KEY, tag code NOT NULL);",
    );
    let pos = |needle: &str| {
        plan.find(needle)
            .unwrap_or_else(|| panic!("missing `{needle}` in:\n{plan}"))
    };
    assert!(
        pos("FUNCTION public.a_valid_code(") < pos("ADD CONSTRAINT code_check"),
        "{plan}"
    );
    assert!(
        pos("FUNCTION public.b_short(") < pos("ADD CONSTRAINT short"),
        "{plan}"
    );
}

#[test]
fn sql_standard_bodies_are_created_after_the_functions_they_call() {
    converge(
        "sql_body_order",
        "CREATE TABLE t (id int PRIMARY KEY);
         INSERT INTO t SELECT generate_series(1, 10);",
        // Each caller sorts before its callee: key order alone is wrong.
        "CREATE TABLE t (id int PRIMARY KEY);
         CREATE FUNCTION z_base(int) RETURNS int LANGUAGE plpgsql IMMUTABLE
            AS $$ BEGIN RETURN $1 * 2; END $$;
         CREATE FUNCTION y_mid(x int) RETURNS int LANGUAGE sql IMMUTABLE RETURN z_base(x) + 1;
         CREATE FUNCTION x_top(x int) RETURNS int LANGUAGE sql IMMUTABLE
            BEGIN ATOMIC SELECT y_mid(x) * 10; END;
         CREATE FUNCTION w_over_table() RETURNS bigint LANGUAGE sql STABLE
            BEGIN ATOMIC SELECT count(*) FROM t WHERE x_top(id) > 0; END;
         CREATE PROCEDURE v_proc(x int) LANGUAGE sql BEGIN ATOMIC SELECT x_top(x); END;",
    );
}
