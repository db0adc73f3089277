//! Tables rebuilt because their partitioning changes (ordinary ↔ partitioned,
//! a new partition key), and a column moved from an `INHERITS` parent down to
//! its child: converge, keep rows, sequences and identity values, and run the
//! whole rebuild in one transaction group.

use super::converge_to;
use crate::support::*;
use pgalign::catalog;
use pgalign::plan::{self, PlanOptions};

/// [`converge_to`] of `a` → `b` with both strategies, then `checks` (a query
/// returning one text value, and that value) on the converged database.
/// Returns the online plan.
fn converge_checked(label: &str, a: &str, b: &str, checks: &[(&str, &str)]) -> String {
    converge_scoped(label, a, b, checks, Default::default())
}

/// [`converge_checked`] comparing what `scope` covers.
fn converge_scoped(
    label: &str,
    a: &str,
    b: &str,
    checks: &[(&str, &str)],
    scope: pgalign::catalog::Scope,
) -> String {
    let mut online_plan = String::new();
    for strategy in [plan::Strategy::Offline, plan::Strategy::Online] {
        let label = format!("{label}_{strategy:?}");
        let live = test_db(&format!("{label}_a"));
        let want = test_db(&format!("{label}_b"));
        live.load(a);
        want.load(b);
        let desired = block_on(catalog::inspect(&want.settings)).unwrap().model;
        let opts = PlanOptions {
            strategy,
            scope: scope.clone(),
            ..Default::default()
        };
        let text = converge_to(&live, &desired, &opts).unwrap_or_else(|e| panic!("{label}: {e}"));
        for (sql, expected) in checks {
            assert_eq!(&live.query_one(sql), expected, "{label}: {sql}\n{text}");
        }
        assert!(!text.contains("CASCADE"), "{label}: {text}");
        online_plan = text;
    }
    online_plan
}

/// The plan's statements from the first one containing `from` to the first
/// one after it containing `to`, as text.
fn span<'a>(plan: &'a str, from: &str, to: &str) -> &'a str {
    let start = plan
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in\n{plan}"));
    let end = start
        + plan[start..]
            .find(to)
            .unwrap_or_else(|| panic!("no {to} after {from} in\n{plan}"));
    &plan[start..end]
}

#[test]
fn ordinary_table_becomes_partitioned_keeping_rows_sequence_views_and_keys() {
    let plan = converge_checked(
        "rebuild_to_partitioned",
        "CREATE TABLE orders (id serial PRIMARY KEY, placed date NOT NULL, total numeric(10,2),
                              UNIQUE (id, placed));
         COMMENT ON TABLE orders IS 'orders';
         CREATE INDEX orders_total ON orders (total);
         CREATE TABLE items (order_id int NOT NULL, placed date NOT NULL, qty int,
                             FOREIGN KEY (order_id, placed) REFERENCES orders (id, placed));
         CREATE VIEW recent AS SELECT id, total FROM orders WHERE placed >= '2024-01-01';
         CREATE FUNCTION order_total(o orders) RETURNS numeric LANGUAGE sql AS 'SELECT o.total';
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
         CREATE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TABLE other (id int PRIMARY KEY, note text);
         CREATE INDEX other_note ON other (note);
         INSERT INTO orders (placed, total) SELECT DATE '2023-06-01' + g * 3, g * 1.5 FROM generate_series(1, 200) g;
         INSERT INTO items SELECT id, placed, 1 FROM orders WHERE id % 2 = 0;
         INSERT INTO other VALUES (1, 'x');",
        "CREATE TABLE orders (id serial, placed date NOT NULL, total numeric(10,2),
                              PRIMARY KEY (id, placed)) PARTITION BY RANGE (placed);
         COMMENT ON TABLE orders IS 'orders';
         CREATE TABLE orders_2023 PARTITION OF orders FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
         CREATE TABLE orders_2024 PARTITION OF orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE orders_rest PARTITION OF orders DEFAULT;
         CREATE INDEX orders_total ON orders (total);
         CREATE TABLE items (order_id int NOT NULL, placed date NOT NULL, qty int,
                             FOREIGN KEY (order_id, placed) REFERENCES orders (id, placed));
         CREATE VIEW recent AS SELECT id, total FROM orders WHERE placed >= '2024-01-01';
         CREATE FUNCTION order_total(o orders) RETURNS numeric LANGUAGE sql AS 'SELECT o.total';
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
         CREATE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch();
         CREATE TABLE other (id int PRIMARY KEY, note text);",
        &[
            ("SELECT count(*)::text FROM ONLY orders_2024", "122"),
            ("SELECT count(*)::text FROM recent", "129"),
            ("SELECT sum(order_total(o))::text FROM orders o", "30150.00"),
            // The serial's sequence survived with its value: the next id follows the old ones.
            (
                "WITH n AS (INSERT INTO orders (placed) VALUES ('2024-05-05') RETURNING id) SELECT id::text FROM n",
                "201",
            ),
            ("SELECT pg_get_serial_sequence('orders', 'id')", "public.orders_id_seq"),
            ("SELECT count(*)::text FROM pg_class WHERE relname LIKE '%pgalign%'", "0"),
        ],
    );
    // Everything from the rename to the drop of the old table is one transaction
    // group, even with an index of another table dropped meanwhile.
    let rebuild = span(
        &plan,
        "RENAME TO orders__pgalign_old",
        "DROP TABLE public.orders__pgalign_old",
    );
    assert!(!rebuild.contains("COMMIT;"), "{plan}");
    assert!(rebuild.contains("DROP INDEX public.other_note;"), "{plan}");
    assert!(
        rebuild.contains("INSERT INTO public.orders (id, placed, total)"),
        "{plan}"
    );
    assert!(plan.contains("warning[rewrite]"), "{plan}");
    assert!(plan.contains("warning[may-fail]"), "{plan}");
}

#[test]
fn partitioned_table_becomes_ordinary() {
    converge_checked(
        "rebuild_to_ordinary",
        "CREATE TABLE ev (id bigint NOT NULL, kind text NOT NULL, body text) PARTITION BY LIST (kind);
         CREATE TABLE ev_a PARTITION OF ev FOR VALUES IN ('a');
         CREATE TABLE ev_b PARTITION OF ev FOR VALUES IN ('b');
         CREATE INDEX ev_id ON ev (id);
         CREATE UNIQUE INDEX ev_a_body ON ev_a (body);
         INSERT INTO ev SELECT g, CASE WHEN g % 3 = 0 THEN 'a' ELSE 'b' END, 'x' || g FROM generate_series(1, 90) g;",
        "CREATE TABLE ev (id bigint PRIMARY KEY, kind text NOT NULL, body text);
         CREATE INDEX ev_id ON ev (id);",
        &[
            ("SELECT count(*)::text FROM ONLY ev", "90"),
            ("SELECT count(*)::text FROM ev WHERE kind = 'a'", "30"),
        ],
    );
}

#[test]
fn partition_key_change_reuses_partition_names() {
    let plan = converge_checked(
        "rebuild_new_key",
        "CREATE TABLE m (id int NOT NULL, d date NOT NULL, v text, CONSTRAINT m_pkey PRIMARY KEY (id, d))
           PARTITION BY RANGE (d);
         CREATE TABLE m_p0 PARTITION OF m FOR VALUES FROM ('2020-01-01') TO ('2022-01-01');
         CREATE TABLE m_p1 PARTITION OF m FOR VALUES FROM ('2022-01-01') TO ('2030-01-01');
         CREATE INDEX m_v ON m (v);
         CREATE STATISTICS m_stats ON id, v FROM m;
         INSERT INTO m SELECT g, DATE '2020-01-01' + g * 7, 'v' || g FROM generate_series(1, 300) g;",
        "CREATE TABLE m (id int NOT NULL, d date NOT NULL, v text, CONSTRAINT m_pkey PRIMARY KEY (id, d))
           PARTITION BY HASH (id);
         CREATE TABLE m_p0 PARTITION OF m FOR VALUES WITH (MODULUS 2, REMAINDER 0);
         CREATE TABLE m_p1 PARTITION OF m FOR VALUES WITH (MODULUS 2, REMAINDER 1);
         CREATE INDEX m_v ON m (v);
         CREATE STATISTICS m_stats ON id, v FROM m;",
        &[
            ("SELECT count(*)::text FROM m", "300"),
            (
                "SELECT (count(*) FILTER (WHERE tableoid = 'm_p0'::regclass) + count(*) FILTER (WHERE tableoid = 'm_p1'::regclass))::text FROM m",
                "300",
            ),
        ],
    );
    assert!(plan.contains("RENAME TO m_p0__pgalign_old"), "{plan}");
    assert!(
        plan.contains("RENAME CONSTRAINT m_pkey TO m_pkey__pgalign_old"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER INDEX public.m_v RENAME TO m_v__pgalign_old"),
        "{plan}"
    );
}

#[test]
fn identity_column_continues_after_a_rebuild() {
    converge_checked(
        "rebuild_identity",
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
         INSERT INTO t (v) SELECT 'v' || g FROM generate_series(1, 40) g;
         DELETE FROM t WHERE id > 30;",
        "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text) PARTITION BY HASH (id);
         CREATE TABLE t_0 PARTITION OF t FOR VALUES WITH (MODULUS 2, REMAINDER 0);
         CREATE TABLE t_1 PARTITION OF t FOR VALUES WITH (MODULUS 2, REMAINDER 1);",
        &[
            ("SELECT count(*)::text FROM t", "30"),
            // The sequence carries on after 40 (the last value handed out), not after 30.
            ("WITH n AS (INSERT INTO t (v) VALUES ('new') RETURNING id) SELECT id::text FROM n", "41"),
        ],
    );
}

#[test]
fn inheritance_children_become_partitions() {
    converge_checked(
        "rebuild_inherits",
        "CREATE TABLE pay (id serial PRIMARY KEY, at date NOT NULL, amount numeric);
         CREATE TABLE pay_2017 (CHECK (at >= '2017-01-01' AND at < '2018-01-01')) INHERITS (pay);
         CREATE TABLE pay_2018 (CHECK (at >= '2018-01-01' AND at < '2019-01-01')) INHERITS (pay);
         CREATE INDEX pay_2017_at ON pay_2017 (at);
         INSERT INTO pay_2017 (at, amount) SELECT DATE '2017-01-01' + g, g FROM generate_series(1, 20) g;
         INSERT INTO pay_2018 (at, amount) SELECT DATE '2018-01-01' + g, g FROM generate_series(1, 10) g;
         INSERT INTO pay (at, amount) VALUES ('2018-06-01', 99);",
        "CREATE TABLE pay (id serial, at date NOT NULL, amount numeric) PARTITION BY RANGE (at);
         CREATE TABLE pay_2017 PARTITION OF pay FOR VALUES FROM ('2017-01-01') TO ('2018-01-01');
         CREATE TABLE pay_2018 PARTITION OF pay FOR VALUES FROM ('2018-01-01') TO ('2019-01-01');
         CREATE INDEX pay_2017_at ON pay_2017 (at);",
        &[
            ("SELECT count(*)::text FROM pay_2017", "20"),
            ("SELECT count(*)::text FROM pay_2018", "11"),
            ("SELECT nextval('pay_id_seq')::text", "32"),
        ],
    );
}

#[test]
fn column_moved_from_inherits_parent_to_child_keeps_values() {
    let plan = converge_checked(
        "inherit_move_column",
        "CREATE TABLE base (created_at timestamp DEFAULT now(), e integer);
         CREATE TABLE a (a1 integer, a2 integer) INHERITS (base);
         CREATE TABLE b (b1 integer) INHERITS (base);
         INSERT INTO a (e, a1, a2) SELECT g, g * 10, g FROM generate_series(1, 20) g;
         INSERT INTO b (e, b1) VALUES (7, 7);
         INSERT INTO base (e) VALUES (99);",
        "CREATE TABLE base (created_at timestamp DEFAULT now());
         CREATE TABLE a (a1 integer, e integer) INHERITS (base);
         CREATE TABLE b (b1 integer) INHERITS (base);",
        &[
            ("SELECT sum(e)::text FROM a", "210"),
            (
                "SELECT string_agg(e::text || ':' || a1::text, ',' ORDER BY a1) FROM a WHERE a1 <= 30",
                "1:10,2:20,3:30",
            ),
            (
                "SELECT attislocal::text || attinhcount::text FROM pg_attribute WHERE attrelid = 'a'::regclass AND attname = 'e'",
                "true0",
            ),
            (
                "SELECT count(*)::text FROM pg_attribute WHERE attrelid = 'b'::regclass AND attname = 'e'",
                "0",
            ),
        ],
    );
    assert!(
        plan.contains("ALTER TABLE ONLY public.base DROP COLUMN e;"),
        "{plan}"
    );
}

#[test]
fn sub_partition_key_change_under_a_kept_parent() {
    converge_checked(
        "rebuild_sub_partition",
        "CREATE TABLE r (id int NOT NULL, d date NOT NULL, kind text NOT NULL) PARTITION BY RANGE (d);
         CREATE TABLE r_old PARTITION OF r FOR VALUES FROM ('2000-01-01') TO ('2024-01-01');
         CREATE TABLE r_2024 PARTITION OF r FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
           PARTITION BY LIST (kind);
         CREATE TABLE r_2024_a PARTITION OF r_2024 FOR VALUES IN ('a');
         CREATE TABLE r_2024_b PARTITION OF r_2024 FOR VALUES IN ('b');
         INSERT INTO r SELECT g, DATE '2023-12-01' + g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END
           FROM generate_series(1, 60) g;",
        "CREATE TABLE r (id int NOT NULL, d date NOT NULL, kind text NOT NULL) PARTITION BY RANGE (d);
         CREATE TABLE r_old PARTITION OF r FOR VALUES FROM ('2000-01-01') TO ('2024-01-01');
         CREATE TABLE r_2024 PARTITION OF r FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
           PARTITION BY HASH (id);
         CREATE TABLE r_2024_h0 PARTITION OF r_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
         CREATE TABLE r_2024_h1 PARTITION OF r_2024 FOR VALUES WITH (MODULUS 2, REMAINDER 1);",
        &[
            ("SELECT count(*)::text FROM r", "60"),
            ("SELECT count(*)::text FROM r_2024", "30"),
            ("SELECT count(*)::text FROM ONLY r_old", "30"),
        ],
    );
}

#[test]
fn rebuild_keeps_grants_policies_and_row_level_security() {
    converge_scoped(
        "rebuild_privileges",
        "CREATE TABLE doc (id int NOT NULL, owner_name text NOT NULL, body text);
         ALTER TABLE doc ENABLE ROW LEVEL SECURITY;
         CREATE POLICY doc_own ON doc USING (owner_name = current_user);
         GRANT SELECT ON doc TO PUBLIC;
         GRANT UPDATE (body) ON doc TO PUBLIC;
         INSERT INTO doc SELECT g, 'u' || g % 3, 'b' FROM generate_series(1, 30) g;",
        "CREATE TABLE doc (id int NOT NULL, owner_name text NOT NULL, body text) PARTITION BY LIST (owner_name);
         CREATE TABLE doc_rest PARTITION OF doc DEFAULT;
         ALTER TABLE doc ENABLE ROW LEVEL SECURITY;
         CREATE POLICY doc_own ON doc USING (owner_name = current_user);
         GRANT SELECT ON doc TO PUBLIC;
         GRANT UPDATE (body) ON doc TO PUBLIC;",
        &[("SELECT count(*)::text FROM doc_rest", "30")],
        pgalign::catalog::Scope {
            with_privileges: true,
            ..Default::default()
        },
    );
}

#[test]
fn rebuild_with_a_replaced_enum_a_wider_type_and_functions_over_partitions() {
    let plan = converge_checked(
        "rebuild_types",
        "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
         CREATE TABLE t (id int NOT NULL, v varchar(10), m mood NOT NULL);
         CREATE VIEW t_happy AS SELECT id FROM t WHERE m = 'happy';
         CREATE FUNCTION t_label(r t) RETURNS text LANGUAGE sql AS 'SELECT r.v';
         INSERT INTO t SELECT g, 'v' || g, CASE WHEN g % 2 = 0 THEN 'ok' ELSE 'happy' END::mood
           FROM generate_series(1, 40) g;",
        "CREATE TYPE mood AS ENUM ('ok', 'happy');
         CREATE TABLE t (id bigint NOT NULL, v text, m mood NOT NULL) PARTITION BY LIST (m);
         CREATE TABLE t_ok PARTITION OF t FOR VALUES IN ('ok');
         CREATE TABLE t_happy_rows PARTITION OF t FOR VALUES IN ('happy');
         CREATE VIEW t_happy AS SELECT id FROM t WHERE m = 'happy';",
        &[
            ("SELECT count(*)::text FROM t_ok", "20"),
            ("SELECT count(*)::text FROM t_happy", "20"),
            ("SELECT sum(id)::text FROM t", "820"),
        ],
    );
    assert!(plan.contains("m::text::public.mood"), "{plan}");
    assert!(plan.contains("CAST(id AS bigint)"), "{plan}");
    assert!(
        plan.contains("DROP FUNCTION public.t_label(public.t);"),
        "{plan}"
    );
}

/// The plan A → B with `opts`, from inspected databases.
fn plan_of(label: &str, a: &str, b: &str, opts: &PlanOptions) -> plan::Plan {
    let live = test_db(&format!("{label}_a"));
    let want = test_db(&format!("{label}_b"));
    live.load(a);
    want.load(b);
    let before = block_on(catalog::inspect(&live.settings)).unwrap();
    let desired = block_on(catalog::inspect(&want.settings)).unwrap().model;
    plan::diff(&before, &desired, opts)
}

fn blockers(p: &plan::Plan) -> Vec<String> {
    p.steps
        .iter()
        .flat_map(|s| &s.hazards)
        .filter(|h| h.severity == pgalign::hazard::Severity::Blocker)
        .map(|h| h.detail.clone())
        .collect()
}

#[test]
fn rebuild_refused_when_the_row_type_is_a_column_type_or_in_additive_mode() {
    let a = "CREATE TABLE t (id int NOT NULL, d date NOT NULL);
             CREATE TABLE keeps (snapshot t);";
    let b = "CREATE TABLE t (id int NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);
             CREATE TABLE keeps (snapshot t);";
    let p = plan_of("rebuild_refused", a, b, &PlanOptions::default());
    let found = blockers(&p);
    assert!(
        found.len() == 1
            && found[0].contains("column public.keeps.snapshot has the row type of public.t"),
        "{found:?}"
    );
    assert!(!p.steps.iter().any(|s| s.sql.contains("__pgalign_old")));

    let additive = PlanOptions {
        additive: true,
        ..Default::default()
    };
    let p = plan_of(
        "rebuild_additive",
        "CREATE TABLE t (id int NOT NULL, d date NOT NULL);",
        "CREATE TABLE t (id int NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);",
        &additive,
    );
    let found = blockers(&p);
    assert!(
        found.len() == 1 && found[0].contains("additive mode does not rebuild tables"),
        "{found:?}"
    );
}

#[test]
fn copy_into_a_partitioned_table_without_partitions_is_a_blocker() {
    let p = plan_of(
        "rebuild_no_partitions",
        "CREATE TABLE t (id int NOT NULL, d date NOT NULL);
         INSERT INTO t VALUES (1, '2020-01-01');
         ANALYZE t;",
        "CREATE TABLE t (id int NOT NULL, d date NOT NULL) PARTITION BY RANGE (d);",
        &PlanOptions::default(),
    );
    let found = blockers(&p);
    assert!(
        found.len() == 1 && found[0].contains("has no partitions, so no row of public.t"),
        "{found:?}"
    );
}
