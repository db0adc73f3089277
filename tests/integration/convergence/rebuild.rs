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
            ..Default::default()
        };
        let text = converge_to(&live, &desired, &opts).unwrap_or_else(|e| panic!("{label}: {e}"));
        for (sql, expected) in checks {
            assert_eq!(&live.query_one(sql), expected, "{label}: {sql}\n{text}");
        }
        assert!(!text.contains("CASCADE"), "{label}: {text}");
        if std::env::var_os("SHOW_PLAN").is_some() {
            eprintln!("{text}");
        }
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
