//! Kinds pgalign does not manage are reported by `inspect` as unmanaged (never
//! silently skipped), and a plan that would have to touch one is blocked.

use crate::support::*;
use pgalign::catalog::{self, Scope};
use pgalign::hazard::Severity;
use pgalign::plan::{self, PlanOptions};

/// One object of each kind (a superuser creates them; the test cluster runs as one).
const KINDS: &str = "
CREATE TYPE public.cast_src AS ENUM ('a');
CREATE CAST (public.cast_src AS integer) WITH INOUT;
CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4eq);
CREATE OPERATOR CLASS public.my_ops FOR TYPE int4 USING hash AS OPERATOR 1 =, FUNCTION 1 hashint4(int4);
CREATE OPERATOR FAMILY public.my_fam USING btree;
CREATE TEXT SEARCH CONFIGURATION public.myconf (COPY = english);
CREATE TEXT SEARCH DICTIONARY public.mydict (TEMPLATE = simple, STOPWORDS = english);
CREATE TEXT SEARCH PARSER public.myparser (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);
CREATE TEXT SEARCH TEMPLATE public.mytmpl (INIT = dsimple_init, LEXIZE = dsimple_lexize);
CREATE CONVERSION public.myconv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
CREATE FOREIGN DATA WRAPPER fdw1;
CREATE SERVER srv1 FOREIGN DATA WRAPPER fdw1;
CREATE USER MAPPING FOR CURRENT_USER SERVER srv1 OPTIONS (user 'x', password 'sekrit-do-not-print');
CREATE SUBSCRIPTION sub1 CONNECTION 'dbname=nowhere' PUBLICATION p1 WITH (connect = false, slot_name = NONE);
CREATE LANGUAGE plfake HANDLER plpgsql_call_handler;
CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler;
CREATE FUNCTION public.tf_from(internal) RETURNS internal LANGUAGE internal IMMUTABLE STRICT AS 'int4recv';
CREATE FUNCTION public.tf_to(internal) RETURNS integer LANGUAGE internal IMMUTABLE STRICT AS 'int4recv';
CREATE TRANSFORM FOR integer LANGUAGE plfake
    (FROM SQL WITH FUNCTION public.tf_from(internal), TO SQL WITH FUNCTION public.tf_to(internal));
";

/// Drops the subscription of a test database (a database with one cannot be dropped).
struct DropSubscription<'a>(&'a TestDb);

impl Drop for DropSubscription<'_> {
    fn drop(&mut self) {
        self.0.exec("DROP SUBSCRIPTION IF EXISTS sub1");
    }
}

fn expected(user: &str) -> Vec<String> {
    [
        "cast (public.cast_src AS integer)",
        "operator public.===(integer,integer)",
        "operator class public.my_ops using hash",
        "operator family public.my_fam using btree",
        "text search configuration public.myconf",
        "text search dictionary public.mydict",
        "text search parser public.myparser",
        "text search template public.mytmpl",
        "conversion public.myconv",
        "foreign-data wrapper fdw1",
        "subscription sub1",
        "language plfake",
        "access method heap2",
        "transform for integer language plfake",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!("user mapping for {user} server srv1")])
    .collect()
}

#[test]
fn every_unmanaged_kind_is_reported_and_blocks_a_plan_that_touches_it() {
    let live = test_db("unmanaged_kinds");
    live.load(KINDS);
    let _cleanup = DropSubscription(&live);
    let user = live.query_one("SELECT quote_ident(current_user)");
    let want = expected(&user);

    // `inspect` lists them (and never a user mapping's option values).
    let out = run(&["inspect", "--db", &live.url(), "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains("sekrit-do-not-print"),
        "a secret was printed"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let unmanaged = json["model"]["unmanaged"].as_object().unwrap();
    let missing: Vec<&String> = want
        .iter()
        .filter(|k| !unmanaged.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "not reported: {missing:?} in {unmanaged:?}"
    );
    let sql = stdout(&run(&["inspect", "--db", &live.url(), "--format", "sql"]));
    assert!(
        sql.contains("--   text search dictionary public.mydict"),
        "{sql}"
    );

    // A desired schema without them: each is a blocker step, in both directions.
    let empty = test_db("unmanaged_kinds_empty");
    let have = block_on(catalog::inspect(&live.settings)).unwrap();
    let none = block_on(catalog::inspect(&empty.settings)).unwrap();
    for (from, to, how) in [
        (&have, &none.model, "is in the live database only"),
        (&none, &have.model, "is in the desired schema only"),
    ] {
        let p = plan::diff(from, to, &PlanOptions::default());
        for key in &want {
            let step = p.steps.iter().find(|s| s.title == format!("align {key}"));
            let step = step.unwrap_or_else(|| panic!("no step aligns {key}"));
            assert!(
                step.hazards
                    .iter()
                    .any(|h| h.severity == Severity::Blocker && h.detail.contains(how)),
                "{key}: {:?}",
                step.hazards
            );
            assert!(
                step.sql.starts_with("DO $pgalign$ BEGIN RAISE EXCEPTION"),
                "{}",
                step.sql
            );
        }
    }

    // A changed definition is a difference too.
    let other = test_db("unmanaged_kinds_changed");
    other.load(&KINDS.replace("STOPWORDS = english", "STOPWORDS = french"));
    let _cleanup_other = DropSubscription(&other);
    let changed = block_on(catalog::inspect(&other.settings)).unwrap();
    let p = plan::diff(&have, &changed.model, &PlanOptions::default());
    let blocked: Vec<&str> = p
        .steps
        .iter()
        .filter(|s| s.hazards.iter().any(|h| h.severity == Severity::Blocker))
        .map(|s| s.title.as_str())
        .collect();
    assert_eq!(
        blocked,
        ["align text search dictionary public.mydict"],
        "{p:?}"
    );

    // Scope filters apply to those in a schema, not to the others (a cast
    // lives in no schema, even when its types do).
    let mut scoped = have.model.clone();
    Scope {
        exclude_schemas: vec!["public".into()],
        ..Default::default()
    }
    .apply(&mut scoped);
    let left: Vec<&str> = scoped.unmanaged.keys().map(String::as_str).collect();
    let user_mapping = format!("user mapping for {user} server srv1");
    assert_eq!(
        left,
        [
            "access method heap2",
            "cast (public.cast_src AS integer)",
            "foreign server srv1",
            "foreign-data wrapper fdw1",
            "language plfake",
            "subscription sub1",
            "transform for integer language plfake",
            user_mapping.as_str(),
        ]
    );
}
