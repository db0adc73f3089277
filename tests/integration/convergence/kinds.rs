//! Convergence of range types, aggregates and event triggers: created,
//! changed and dropped, with what uses them created in the same plan.

use super::{admin_exec, converge, converge_with_privileges};
use crate::support::*;
use pgalign::catalog;
use pgalign::hazard::Severity;
use pgalign::plan::{self, PlanOptions};

fn pos(plan: &str, needle: &str) -> usize {
    plan.find(needle)
        .unwrap_or_else(|| panic!("missing `{needle}` in:\n{plan}"))
}

#[test]
fn range_types_created_changed_and_dropped() {
    let plan = converge(
        "ranges",
        "CREATE SCHEMA app;
         CREATE TYPE app.unused AS RANGE (subtype = float8);
         CREATE TYPE app.kept AS RANGE (subtype = int8);
         CREATE TYPE app.gone AS RANGE (subtype = date);
         CREATE TABLE app.slots (id int PRIMARY KEY, span app.kept);
         INSERT INTO app.slots VALUES (1, '[1,5)'), (2, '[7,9)');",
        "CREATE SCHEMA app;
         CREATE TYPE app.unused AS RANGE (subtype = float8, subtype_diff = float8mi);
         CREATE TYPE app.kept AS RANGE (subtype = int8);
         COMMENT ON TYPE app.kept IS 'kept, now commented';
         CREATE TYPE app.textr AS RANGE (subtype = text, collation = \"C\", subtype_opclass = text_pattern_ops);
         CREATE TABLE app.slots (id int PRIMARY KEY, span app.kept, names app.textr);",
    );
    // Changed while unused: dropped and created again.
    assert!(
        pos(&plan, "DROP TYPE app.unused;") < pos(&plan, "CREATE TYPE app.unused AS RANGE"),
        "{plan}"
    );
    assert!(plan.contains("SUBTYPE_DIFF = float8mi"), "{plan}");
    assert!(plan.contains("DROP TYPE app.gone;"), "{plan}");
    assert!(
        pos(&plan, "CREATE TYPE app.textr AS RANGE") < pos(&plan, "ADD COLUMN names app.textr"),
        "{plan}"
    );
}

#[test]
fn a_column_and_a_function_using_a_new_range_type_in_the_same_plan() {
    let plan = converge(
        "range_users",
        "CREATE TABLE booking (id int PRIMARY KEY);
         INSERT INTO booking VALUES (1), (2);",
        "CREATE FUNCTION ts_diff(a timestamp, b timestamp) RETURNS float8 LANGUAGE sql IMMUTABLE
             AS 'SELECT extract(epoch FROM a - b)';
         CREATE TYPE tsr AS RANGE (subtype = timestamp, subtype_diff = ts_diff);
         CREATE DOMAIN short_period AS tsr CHECK (upper(VALUE) - lower(VALUE) < interval '1 day');
         CREATE TYPE intr AS RANGE (subtype = int4);
         CREATE FUNCTION hours(r tsr) RETURNS float8 LANGUAGE sql AS 'SELECT ts_diff(upper(r), lower(r)) / 3600';
         CREATE FUNCTION width(r intr) RETURNS int LANGUAGE sql AS 'SELECT upper(r) - lower(r)';
         CREATE TABLE booking (id int PRIMARY KEY, during tsr, seats intr DEFAULT '[1,2)',
                               CHECK (width(seats) < 100));
         CREATE TABLE history (id int, spans tsr[], shift short_period);",
    );
    // A range naming a new schema function comes right after it, and what
    // uses the range (a domain too) after the range.
    let range = pos(&plan, "CREATE TYPE public.tsr AS RANGE");
    assert!(pos(&plan, "FUNCTION public.ts_diff(") < range, "{plan}");
    assert!(
        range < pos(&plan, "CREATE DOMAIN public.short_period"),
        "{plan}"
    );
    assert!(range < pos(&plan, "FUNCTION public.hours("), "{plan}");
    assert!(range < pos(&plan, "ADD COLUMN during public.tsr"), "{plan}");
    assert!(range < pos(&plan, "CREATE TABLE public.history"), "{plan}");
    // A plain range comes with the other types, before functions.
    assert!(
        pos(&plan, "CREATE TYPE public.intr AS RANGE") < pos(&plan, "FUNCTION public.width("),
        "{plan}"
    );
}

#[test]
fn a_range_type_with_a_canonical_function_is_created_through_its_shell() {
    converge(
        "range_canonical",
        "",
        "CREATE TYPE myr;
         CREATE FUNCTION myr_canon(myr) RETURNS myr LANGUAGE internal IMMUTABLE STRICT AS 'int4range_canonical';
         CREATE TYPE myr AS RANGE (subtype = int4, canonical = myr_canon);
         CREATE TABLE t (id int, r myr);",
    );
}

/// A range type cannot be altered: one that something uses is a blocker with
/// the reason, never a silent drop.
#[test]
fn a_used_range_type_that_changes_is_a_blocker() {
    let live = test_db("range_blocked_a");
    let want = test_db("range_blocked_b");
    live.load(
        "CREATE TYPE r AS RANGE (subtype = int4);
         CREATE TABLE t (id int, span r);",
    );
    want.load(
        "CREATE TYPE r AS RANGE (subtype = int8);
         CREATE TABLE t (id int, span r);",
    );
    let (a, b) = block_on(async {
        (
            catalog::inspect(&live.settings).await.unwrap(),
            catalog::inspect(&want.settings).await.unwrap(),
        )
    });
    let p = plan::diff(&a, &b.model, &PlanOptions::default());
    let blocker = p
        .steps
        .iter()
        .find(|s| s.title == "change range type public.r")
        .unwrap_or_else(|| panic!("no blocker step: {:#?}", p.steps));
    let hz = &blocker.hazards[0];
    assert_eq!(hz.severity, Severity::Blocker);
    assert!(
        hz.detail.contains("subtype integer → bigint"),
        "{}",
        hz.detail
    );
    assert!(hz.detail.contains("column public.t.span"), "{}", hz.detail);
    assert!(!p.steps.iter().any(|s| s.sql.starts_with("DROP TYPE")));
}

#[test]
fn aggregates_created_replaced_recreated_and_dropped() {
    let plan = converge(
        "aggregates",
        "CREATE FUNCTION add_int(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s + v';
         CREATE AGGREGATE total(int) (sfunc = add_int, stype = int, initcond = '0');
         CREATE AGGREGATE widened(int) (sfunc = int4pl, stype = int);
         CREATE AGGREGATE gone(int) (sfunc = int4pl, stype = int);
         CREATE AGGREGATE cnt(*) (sfunc = int8inc, stype = int8, initcond = '0');
         CREATE TABLE t (id int, n int);
         INSERT INTO t VALUES (1, 10), (2, 20);
         CREATE VIEW sums AS SELECT total(n) AS total, widened(n) AS widened, cnt(*) AS c FROM t;",
        "CREATE FUNCTION add_int(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s + v';
         CREATE FUNCTION add_big(s bigint, v int) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT s + v';
         CREATE FUNCTION sub_int(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s - v';
         CREATE AGGREGATE total(int) (sfunc = add_int, stype = int, initcond = '100', parallel = safe,
                                      combinefunc = add_int, msfunc = add_int, minvfunc = sub_int, mstype = int,
                                      minitcond = '0');
         CREATE AGGREGATE widened(int) (sfunc = add_big, stype = bigint);
         CREATE AGGREGATE cnt(*) (sfunc = int8inc, stype = int8, initcond = '0');
         COMMENT ON AGGREGATE cnt(*) IS 'counts';
         CREATE AGGREGATE pct(float8 ORDER BY anyelement)
             (sfunc = ordered_set_transition, stype = internal, finalfunc = percentile_disc_final, finalfunc_extra);
         CREATE AGGREGATE maxi(int) (sfunc = int4larger, stype = int, sortop = >);
         CREATE TABLE t (id int, n int);
         CREATE VIEW sums AS SELECT total(n) AS total, widened(n) AS widened, cnt(*) AS c FROM t;",
    );
    // Same signature and result: replaced in place.
    assert!(
        plan.contains("CREATE OR REPLACE AGGREGATE public.total(integer)"),
        "{plan}"
    );
    // The result type changes: the view over it goes first, then the aggregate,
    // which is created after its new state function, then the view again.
    let view_drop = pos(&plan, "DROP VIEW public.sums;");
    let agg_drop = pos(&plan, "DROP AGGREGATE public.widened(integer);");
    let fn_create = pos(&plan, "FUNCTION public.add_big(");
    let agg_create = pos(&plan, "CREATE AGGREGATE public.widened(integer)");
    let view_create = pos(&plan, "CREATE VIEW public.sums");
    assert!(view_drop < agg_drop && agg_drop < agg_create, "{plan}");
    assert!(fn_create < agg_create && agg_create < view_create, "{plan}");
    assert!(
        plan.contains("DROP AGGREGATE public.gone(integer);"),
        "{plan}"
    );
    assert!(
        plan.contains("COMMENT ON AGGREGATE public.cnt(*) IS 'counts';"),
        "{plan}"
    );
    assert!(!plan.contains("DROP AGGREGATE public.cnt"), "{plan}");
}

/// A support function whose signature changes is dropped and created again:
/// the aggregate that names it goes before it and comes back after it.
#[test]
fn an_aggregate_over_a_state_function_that_is_recreated() {
    let plan = converge(
        "agg_sfunc_rebuilt",
        "CREATE FUNCTION step(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s + v';
         CREATE FUNCTION fin(s int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s';
         CREATE AGGREGATE agg(int) (sfunc = step, stype = int, finalfunc = fin);",
        "CREATE FUNCTION step(s int, v int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT s + v';
         CREATE FUNCTION fin(s int) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT s::bigint';
         CREATE AGGREGATE agg(int) (sfunc = step, stype = int, finalfunc = fin);",
    );
    assert!(
        pos(&plan, "DROP AGGREGATE public.agg(integer);") < pos(&plan, "DROP FUNCTION public.fin("),
        "{plan}"
    );
    assert!(
        pos(&plan, "RETURNS bigint") < pos(&plan, "CREATE AGGREGATE public.agg(integer)"),
        "{plan}"
    );
}

#[test]
fn event_triggers_created_changed_enabled_disabled_and_dropped() {
    let functions = "CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql
                         AS $$BEGIN RAISE NOTICE 'ddl %', tg_tag; END $$;
                     CREATE FUNCTION other_ddl() RETURNS event_trigger LANGUAGE plpgsql
                         AS $$BEGIN RAISE NOTICE 'other %', tg_tag; END $$;";
    let plan = converge(
        "event_triggers",
        &format!(
            "{functions}
             CREATE EVENT TRIGGER on_end ON ddl_command_end EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER retag ON ddl_command_start WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER refn ON sql_drop EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER gone ON sql_drop EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER was_off ON ddl_command_end EXECUTE FUNCTION note_ddl();
             ALTER EVENT TRIGGER was_off DISABLE;"
        ),
        &format!(
            "{functions}
             CREATE EVENT TRIGGER on_end ON ddl_command_end EXECUTE FUNCTION note_ddl();
             ALTER EVENT TRIGGER on_end DISABLE;
             CREATE EVENT TRIGGER retag ON ddl_command_start WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION note_ddl();
             CREATE EVENT TRIGGER refn ON sql_drop EXECUTE FUNCTION other_ddl();
             CREATE EVENT TRIGGER was_off ON ddl_command_end EXECUTE FUNCTION note_ddl();
             ALTER EVENT TRIGGER was_off ENABLE ALWAYS;
             CREATE EVENT TRIGGER fresh ON table_rewrite EXECUTE FUNCTION other_ddl();
             ALTER EVENT TRIGGER fresh ENABLE REPLICA;
             COMMENT ON EVENT TRIGGER fresh IS 'watches rewrites';
             CREATE TABLE t (id int);"
        ),
    );
    // Drops and disables before the plan's own DDL, creates and enables after it.
    let table = pos(&plan, "CREATE TABLE public.t");
    for early in [
        "DROP EVENT TRIGGER gone;",
        "DROP EVENT TRIGGER retag;",
        "DROP EVENT TRIGGER refn;",
        "ALTER EVENT TRIGGER on_end DISABLE;",
    ] {
        assert!(pos(&plan, early) < table, "{early} first:\n{plan}");
    }
    for late in [
        "CREATE EVENT TRIGGER retag ON ddl_command_start",
        "CREATE EVENT TRIGGER refn ON sql_drop",
        "CREATE EVENT TRIGGER fresh ON table_rewrite",
        "ALTER EVENT TRIGGER fresh ENABLE REPLICA;",
        "COMMENT ON EVENT TRIGGER fresh IS 'watches rewrites';",
        "ALTER EVENT TRIGGER was_off ENABLE ALWAYS;",
    ] {
        assert!(table < pos(&plan, late), "{late} last:\n{plan}");
    }
    assert!(!plan.contains("DROP EVENT TRIGGER on_end"), "{plan}");
    assert!(!plan.contains("DROP EVENT TRIGGER was_off"), "{plan}");
    // And back: enabled again.
    converge(
        "event_trigger_enable",
        &format!(
            "{functions}
             CREATE EVENT TRIGGER on_end ON ddl_command_end EXECUTE FUNCTION note_ddl();
             ALTER EVENT TRIGGER on_end DISABLE;"
        ),
        &format!(
            "{functions}
             CREATE EVENT TRIGGER on_end ON ddl_command_end EXECUTE FUNCTION note_ddl();"
        ),
    );
}

/// An event trigger moved to a new function: dropped before its old function
/// is, created again once the new one exists.
#[test]
fn an_event_trigger_moved_to_a_new_function() {
    let plan = converge(
        "evt_new_fn",
        "CREATE FUNCTION old_fn() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END $$;
         CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION old_fn();",
        "CREATE FUNCTION new_fn() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END $$;
         CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION new_fn();",
    );
    let drop = pos(&plan, "DROP EVENT TRIGGER e;");
    assert!(drop < pos(&plan, "DROP FUNCTION public.old_fn()"), "{plan}");
    assert!(
        pos(&plan, "FUNCTION public.new_fn()") < pos(&plan, "CREATE EVENT TRIGGER e "),
        "{plan}"
    );
}

#[test]
fn owners_and_privileges_of_ranges_aggregates_and_event_triggers() {
    admin_exec(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgalign_reader') THEN CREATE ROLE pgalign_reader; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgalign_owner') THEN CREATE ROLE pgalign_owner; END IF;
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgalign_super') THEN CREATE ROLE pgalign_super SUPERUSER; END IF;
         END $$",
    );
    let common =
        "CREATE FUNCTION note_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END $$;
                  CREATE EVENT TRIGGER audit ON ddl_command_end EXECUTE FUNCTION note_ddl();
                  CREATE TYPE span AS RANGE (subtype = int4);
                  CREATE AGGREGATE total(int) (sfunc = int4pl, stype = int);
                  CREATE AGGREGATE cnt(*) (sfunc = int8inc, stype = int8, initcond = '0');";
    converge_with_privileges(
        "kinds_grants",
        &format!(
            "{common}
             CREATE TYPE changed AS RANGE (subtype = float8);
             REVOKE EXECUTE ON FUNCTION total(int) FROM PUBLIC;"
        ),
        &format!(
            "{common}
             -- Created again (it changes): its privileges are set again.
             CREATE TYPE changed AS RANGE (subtype = float8, subtype_diff = float8mi);
             REVOKE USAGE ON TYPE changed FROM PUBLIC;
             GRANT EXECUTE ON FUNCTION total(int) TO pgalign_reader;
             REVOKE USAGE ON TYPE span FROM PUBLIC;
             GRANT USAGE ON TYPE span TO pgalign_reader;
             ALTER TYPE span OWNER TO pgalign_owner;
             ALTER AGGREGATE cnt(*) OWNER TO pgalign_owner;
             ALTER EVENT TRIGGER audit OWNER TO pgalign_super;"
        ),
    );
}
