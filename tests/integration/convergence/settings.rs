//! Convergence of table settings that do not change what a table holds:
//! replica identity, `CLUSTER ON`, column storage, compression, statistics
//! targets and options (of partitions and inheritance children too),
//! tablespaces of tables, indexes and constraint indexes, typed tables and
//! table access methods. Every pair runs with rows, offline and online.

use super::converge;
use crate::support::*;
use pgalign::catalog;
use pgalign::hazard::{HazardId, Severity};
use pgalign::plan::{self, PlanOptions};
use std::sync::OnceLock;

/// The server's major version.
fn major() -> u32 {
    let db = test_db("settings_version");
    db.query_one("SELECT (current_setting('server_version_num')::int / 10000)::text")
        .parse()
        .unwrap()
}

/// A tablespace for the tests, created once per run in a directory of the
/// server's data directory (made by the server itself, so it is owned by the
/// server's user; PostgreSQL warns about the place and accepts it).
pub fn tablespace() -> &'static str {
    static MADE: OnceLock<()> = OnceLock::new();
    MADE.get_or_init(|| {
        let admin = admin();
        block_on(async move {
            let c = pgalign::db::connect(&admin).await.unwrap();
            let exists = c
                .query_opt(
                    "SELECT 1 FROM pg_tablespace WHERE spcname = 'pgalign_fast'",
                    &[],
                )
                .await
                .unwrap()
                .is_some();
            if exists {
                return;
            }
            let dir: String = c
                .query_one(
                    "SELECT current_setting('data_directory') || '/pgalign_fast_' || pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            for sql in [
                format!("COPY (SELECT 1) TO PROGRAM 'mkdir -p {dir}'"),
                format!("CREATE TABLESPACE pgalign_fast LOCATION '{dir}'"),
            ] {
                c.batch_execute(&sql).await.unwrap_or_else(|e| {
                    panic!("{sql}: {}", pgalign::db::describe_error(&e))
                });
            }
        })
    });
    "pgalign_fast"
}

#[test]
fn replica_identity_set_changed_and_kept_through_a_rebuilt_index() {
    let plan = converge(
        "replident",
        "CREATE TABLE t (id int PRIMARY KEY, b int NOT NULL, c int NOT NULL);
         CREATE UNIQUE INDEX t_b ON t (b);
         CREATE TABLE u (id int PRIMARY KEY); ALTER TABLE u REPLICA IDENTITY FULL;
         CREATE TABLE v (id int PRIMARY KEY, a int NOT NULL); CREATE UNIQUE INDEX v_a ON v (a);
         ALTER TABLE v REPLICA IDENTITY USING INDEX v_a;
         CREATE TABLE w (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL); CREATE UNIQUE INDEX w_a ON w (a);
         ALTER TABLE w REPLICA IDENTITY USING INDEX w_a;
         CREATE TABLE x (id int NOT NULL, k int NOT NULL, CONSTRAINT x_k UNIQUE (k));
         ALTER TABLE x REPLICA IDENTITY USING INDEX x_k;
         INSERT INTO t SELECT g, g, g FROM generate_series(1, 20) g;
         INSERT INTO u SELECT g FROM generate_series(1, 20) g;
         INSERT INTO v SELECT g, g FROM generate_series(1, 20) g;
         INSERT INTO w SELECT g, g, g FROM generate_series(1, 20) g;
         INSERT INTO x SELECT g, g FROM generate_series(1, 20) g;",
        "CREATE TABLE t (id int PRIMARY KEY, b int NOT NULL, c int NOT NULL);
         CREATE UNIQUE INDEX t_b ON t (b); CREATE UNIQUE INDEX t_c ON t (c);
         ALTER TABLE t REPLICA IDENTITY USING INDEX t_c;
         CREATE TABLE u (id int PRIMARY KEY);
         CREATE TABLE v (id int PRIMARY KEY, a int NOT NULL); ALTER TABLE v REPLICA IDENTITY NOTHING;
         CREATE TABLE w (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL); CREATE UNIQUE INDEX w_a ON w (a, b);
         ALTER TABLE w REPLICA IDENTITY USING INDEX w_a;
         CREATE TABLE x (id int NOT NULL, k int NOT NULL, CONSTRAINT x_k UNIQUE (k));
         ALTER TABLE x REPLICA IDENTITY USING INDEX x_k;
         CREATE TABLE y (id int PRIMARY KEY, k int NOT NULL, CONSTRAINT y_k UNIQUE (k));
         ALTER TABLE y REPLICA IDENTITY USING INDEX y_k;",
    );
    // w's index is rebuilt: FULL keeps replication going until it is back.
    let interim = plan.find("ALTER TABLE public.w REPLICA IDENTITY FULL;");
    let last = plan.find("ALTER TABLE public.w REPLICA IDENTITY USING INDEX w_a;");
    assert!(interim.is_some() && interim < last, "{plan}");
    // v's index goes: its identity changes before the index is dropped.
    let v = plan
        .find("ALTER TABLE public.v REPLICA IDENTITY NOTHING;")
        .unwrap();
    assert!(
        v < plan.find("INDEX CONCURRENTLY public.v_a").unwrap(),
        "{plan}"
    );
    assert!(!plan.contains("public.x REPLICA IDENTITY"), "{plan}");
    converge(
        "replident_back",
        "CREATE TABLE t (id int PRIMARY KEY, k int NOT NULL, CONSTRAINT t_k UNIQUE (k));
         ALTER TABLE t REPLICA IDENTITY USING INDEX t_k;
         INSERT INTO t SELECT g, g FROM generate_series(1, 20) g;",
        "CREATE TABLE t (id int PRIMARY KEY, k int NOT NULL, CONSTRAINT t_k UNIQUE (k));",
    );
}

#[test]
fn cluster_on_set_moved_removed_and_kept_through_a_rebuilt_index() {
    let plan = converge(
        "cluster_on",
        "CREATE TABLE c1 (id int PRIMARY KEY, a int); CREATE INDEX c1_a ON c1 (a); ALTER TABLE c1 CLUSTER ON c1_a;
         CREATE TABLE c2 (id int PRIMARY KEY, a int); ALTER TABLE c2 CLUSTER ON c2_pkey;
         CREATE TABLE c3 (id int PRIMARY KEY, a int); CREATE INDEX c3_a ON c3 (a); ALTER TABLE c3 CLUSTER ON c3_a;
         INSERT INTO c1 SELECT g, g FROM generate_series(1, 20) g;
         INSERT INTO c2 SELECT g, g FROM generate_series(1, 20) g;
         INSERT INTO c3 SELECT g, g FROM generate_series(1, 20) g;",
        "CREATE TABLE c1 (id int PRIMARY KEY, a int); CREATE INDEX c1_a ON c1 (a); ALTER TABLE c1 CLUSTER ON c1_pkey;
         CREATE TABLE c2 (id int PRIMARY KEY, a int);
         CREATE TABLE c3 (id int PRIMARY KEY, a int); CREATE INDEX c3_a ON c3 (a, id); ALTER TABLE c3 CLUSTER ON c3_a;
         CREATE TABLE c4 (id int PRIMARY KEY); ALTER TABLE c4 CLUSTER ON c4_pkey;",
    );
    assert!(
        plan.contains("ALTER TABLE public.c2 SET WITHOUT CLUSTER;"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.c3 CLUSTER ON c3_a;"),
        "{plan}"
    );
}

#[test]
fn column_storage_compression_statistics_and_options() {
    let compression = major() >= 14;
    let a = format!(
        "CREATE TABLE s (id int PRIMARY KEY, a text, b text, c text, d jsonb, e int, f varchar(10), g text);
         ALTER TABLE s ALTER COLUMN a SET STORAGE EXTERNAL, ALTER COLUMN b SET STATISTICS 300,
           ALTER COLUMN c SET (n_distinct = 10), ALTER COLUMN f SET STORAGE MAIN;
         {}
         INSERT INTO s SELECT g, 'a' || g, 'b', 'c', '{{}}', g, 'f', 'g' FROM generate_series(1, 30) g;",
        if compression {
            "ALTER TABLE s ALTER COLUMN g SET COMPRESSION pglz;"
        } else {
            ""
        }
    );
    let b = format!(
        "CREATE TABLE s (id int PRIMARY KEY, a text, b text, c text, d jsonb, e int, f text, g text, h text);
         ALTER TABLE s ALTER COLUMN b SET STATISTICS 50, ALTER COLUMN c SET (n_distinct = -0.5, n_distinct_inherited = 5),
           ALTER COLUMN d SET STORAGE EXTERNAL, ALTER COLUMN e SET STATISTICS 0,
           ALTER COLUMN f SET STORAGE EXTERNAL, ALTER COLUMN h SET STORAGE MAIN;
         {}",
        if compression {
            "ALTER TABLE s ALTER COLUMN d SET COMPRESSION pglz;"
        } else {
            ""
        }
    );
    let plan = converge("col_settings", &a, &b);
    // Back to the type's default storage by name (PostgreSQL 13–15 have no DEFAULT).
    assert!(
        plan.contains("ALTER COLUMN a SET STORAGE EXTENDED"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER COLUMN c SET (n_distinct=-0.5, n_distinct_inherited=5)"),
        "{plan}"
    );
    let b_rows = format!(
        "{b} INSERT INTO s SELECT g, 'a', 'b', 'c', '{{}}', g, 'f', 'g', 'h' FROM generate_series(1, 30) g;"
    );
    converge("col_settings_back", &b_rows, &a);
}

#[test]
fn column_settings_of_partitions_and_inheritance_children() {
    let a = "CREATE TABLE p (k int, body text, v int) PARTITION BY LIST (k);
         CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
         CREATE TABLE q (id int, body text); CREATE TABLE q1 (extra int) INHERITS (q);
         INSERT INTO p SELECT 1, 'x' || g, g FROM generate_series(1, 20) g;
         INSERT INTO q1 SELECT g, 'y', g FROM generate_series(1, 20) g;";
    let b = "CREATE TABLE p (k int, body text, v int) PARTITION BY LIST (k);
         ALTER TABLE p ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN v SET STATISTICS 100;
         CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
         CREATE TABLE p2 PARTITION OF p FOR VALUES IN (2);
         ALTER TABLE p2 ALTER COLUMN v SET STATISTICS 5;
         CREATE TABLE q (id int, body text); ALTER TABLE q ALTER COLUMN body SET STORAGE MAIN;
         CREATE TABLE q1 (extra int) INHERITS (q);
         CREATE TABLE q2 () INHERITS (q); ALTER TABLE q2 ALTER COLUMN body SET STORAGE EXTENDED;";
    let plan = converge("child_settings", a, b);
    // A new partition of a kept parent starts from the parent's live settings.
    assert!(
        plan.contains("ALTER TABLE ONLY public.p2 ALTER COLUMN body SET STORAGE EXTERNAL, ALTER COLUMN v SET STATISTICS 5;"),
        "{plan}"
    );
    converge("child_settings_back", b, a);
    // From nothing: children copy their parents' storage as they are created,
    // and a child that wants the type's default goes back to it by name.
    let plan = converge("child_settings_new", "", b);
    assert!(
        plan.contains("ALTER TABLE ONLY public.q2 ALTER COLUMN body SET STORAGE EXTENDED;"),
        "{plan}"
    );
    assert!(
        !plan.contains("ALTER TABLE ONLY public.p1"),
        "p1 copies its parent's storage: {plan}"
    );
}

#[test]
fn tables_indexes_and_constraint_indexes_change_tablespace() {
    let ts = tablespace();
    let a = "CREATE TABLE m (id int PRIMARY KEY, a int, b int UNIQUE);
         CREATE INDEX m_a ON m (a); CREATE UNIQUE INDEX m_ab ON m (a, b);
         CREATE TABLE n (id int PRIMARY KEY) TABLESPACE pgalign_fast;
         CREATE TABLE pt (k int, v int) PARTITION BY RANGE (k);
         CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (100);
         CREATE INDEX pt_v ON pt (v);
         INSERT INTO m SELECT g, g, g FROM generate_series(1, 30) g;
         INSERT INTO n SELECT g FROM generate_series(1, 30) g;
         INSERT INTO pt SELECT g, g FROM generate_series(1, 30) g;"
        .replace("pgalign_fast", ts);
    let b = "CREATE TABLE m (id int, a int, b int,
                         CONSTRAINT m_pkey PRIMARY KEY (id) USING INDEX TABLESPACE pgalign_fast,
                         CONSTRAINT m_b_key UNIQUE (b)) TABLESPACE pgalign_fast;
         CREATE INDEX m_a ON m (a) TABLESPACE pgalign_fast;
         CREATE UNIQUE INDEX m_ab ON m (a, b) TABLESPACE pgalign_fast;
         CREATE TABLE n (id int PRIMARY KEY);
         CREATE TABLE pt (k int, v int) PARTITION BY RANGE (k) TABLESPACE pgalign_fast;
         CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (100);
         CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (100) TO (200) TABLESPACE pg_default;
         CREATE INDEX pt_v ON pt (v) TABLESPACE pgalign_fast;"
        .replace("pgalign_fast", ts);
    let plan = converge("tablespaces", &a, &b);
    assert!(
        plan.contains(&format!("ALTER TABLE public.m SET TABLESPACE {ts};")),
        "{plan}"
    );
    assert!(plan.contains("rewrite"), "{plan}");
    // A plain index is rebuilt concurrently in its new tablespace.
    assert!(
        plan.contains(&format!(
            "CREATE INDEX CONCURRENTLY m_a_pgalign_new ON public.m USING btree (a) TABLESPACE {ts};"
        )),
        "{plan}"
    );
    converge("tablespaces_back", &b, &a);
    converge("tablespaces_new", "", &b);
}

#[test]
fn typed_tables_become_untyped_and_back_and_follow_their_type() {
    let a = "CREATE TYPE pair AS (id int, label text);
         CREATE TABLE was_typed OF pair (id WITH OPTIONS PRIMARY KEY);
         CREATE TABLE plain (id int, label text);
         CREATE TYPE tri AS (id int, label text);
         CREATE TABLE follows OF tri (label WITH OPTIONS DEFAULT 'l');
         INSERT INTO was_typed SELECT g, 'w' FROM generate_series(1, 10) g;
         INSERT INTO plain SELECT g, 'p' FROM generate_series(1, 10) g;
         INSERT INTO follows SELECT g, 'f' FROM generate_series(1, 10) g;";
    let b = "CREATE TYPE pair AS (id int, label text);
         CREATE TABLE was_typed (id int PRIMARY KEY, label text);
         CREATE TABLE plain OF pair;
         CREATE TYPE tri AS (id int, label text, extra int);
         CREATE TABLE follows OF tri (label WITH OPTIONS DEFAULT 'l');
         CREATE TABLE fresh OF pair (label WITH OPTIONS DEFAULT 'x' NOT NULL);";
    let plan = converge("typed", a, b);
    assert!(
        plan.contains("ALTER TABLE public.was_typed NOT OF;"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.plain OF public.pair;"),
        "{plan}"
    );
    assert!(
        plan.contains("CREATE TABLE public.fresh OF public.pair"),
        "{plan}"
    );
    converge("typed_back", b, a);
}

#[test]
fn access_method_changes_rewrite_the_table_or_are_blocked_before_15() {
    let am = "CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler;";
    let a = format!(
        "{am} CREATE TABLE am1 (id int PRIMARY KEY, v text); CREATE TABLE am2 (id int) USING heap2;
         INSERT INTO am1 SELECT g, 'v' FROM generate_series(1, 20) g;
         INSERT INTO am2 SELECT g FROM generate_series(1, 20) g;"
    );
    let b = format!(
        "{am} CREATE TABLE am1 (id int PRIMARY KEY, v text) USING heap2; CREATE TABLE am2 (id int);
         CREATE TABLE am3 (id int) USING heap2;"
    );
    if major() < 15 {
        let live = test_db("am_live");
        let want = test_db("am_want");
        live.load(&a);
        want.load(&b);
        let before = block_on(catalog::inspect(&live.settings)).unwrap();
        let desired = block_on(catalog::inspect(&want.settings)).unwrap();
        let p = plan::diff(&before, &desired.model, &PlanOptions::default());
        let blocked = p.steps.iter().filter(|s| {
            s.title.starts_with("change access method")
                && s.hazards
                    .iter()
                    .any(|h| h.id == HazardId::Opaque && h.severity == Severity::Blocker)
        });
        assert_eq!(blocked.count(), 2);
        return;
    }
    let plan = converge("access_method", &a, &b);
    assert!(
        plan.contains("ALTER TABLE public.am1 SET ACCESS METHOD heap2;"),
        "{plan}"
    );
    assert!(
        plan.contains("ALTER TABLE public.am2 SET ACCESS METHOD heap;"),
        "{plan}"
    );
    assert!(
        plan.contains("CREATE TABLE public.am3 (\n    id integer\n) USING heap2;"),
        "{plan}"
    );
}

#[test]
fn a_renamed_column_keeps_the_settings_its_partitions_have_for_it() {
    let live = test_db("settings_rename");
    live.exec(
        "CREATE TABLE p (k int, body text) PARTITION BY LIST (k);
         CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
         ALTER TABLE p1 ALTER COLUMN body SET STATISTICS 42;
         INSERT INTO p SELECT 1, 'b' || g FROM generate_series(1, 10) g;",
    );
    let plan = super::diff_apply_verify_file(
        &live,
        "CREATE TABLE p (
             k int,
             -- pgalign:renamed-from public.p.body
             content text
         ) PARTITION BY LIST (k);
         CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1);
         ALTER TABLE p1 ALTER COLUMN content SET STATISTICS 42;",
    );
    assert!(plan.contains("RENAME COLUMN body TO content;"), "{plan}");
    assert!(!plan.contains("SET STATISTICS"), "{plan}");
}
