//! The catalog queries, one per object kind, each a single set-based statement.
//! Every query starts with the `ns` and `tbl` CTEs below; comments come from
//! `pg_description` through its unique index.

/// Managed schemas: not system, toast or temp schemas, not owned by an extension.
pub const NS: &str = "ns AS (
    SELECT n.oid, n.nspname FROM pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e'))";

/// Managed tables: ordinary and partitioned tables (partitions and inheritance
/// children included) that are not owned by an extension.
pub const TBL: &str = "tbl AS (
    SELECT c.oid, ns.nspname, c.relname, c.relpersistence, c.reltuples, c.relpages
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))";

/// Prefixes a query with the shared CTEs.
pub fn q(body: &str) -> String {
    format!("WITH {NS}, {TBL} {body}")
}

/// `NOT EXISTS` clause: the object `alias.oid` of catalog `class` is not an
/// extension member.
pub fn not_ext(class: &str, alias: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass \
         AND e.objid = {alias}.oid AND e.deptype = 'e')"
    )
}

/// `NOT EXISTS` clause: the object `alias.oid` of catalog `class` is not part
/// of another object (an internal dependency, such as the constructor
/// functions PostgreSQL creates with a range or multirange type).
pub fn not_internal(class: &str, alias: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = '{class}'::regclass \
         AND i.objid = {alias}.oid AND i.deptype = 'i')"
    )
}

/// `LEFT JOIN` of the description of `alias.oid` in `class` (sub-object 0).
pub fn comment_join(class: &str, alias: &str, as_: &str) -> String {
    format!(
        "LEFT JOIN pg_description {as_} ON {as_}.objoid = {alias}.oid \
         AND {as_}.classoid = '{class}'::regclass AND {as_}.objsubid = 0"
    )
}

pub const META: &str =
    "SELECT current_setting('server_version_num')::int, current_setting('server_version'),
        current_database()::text, pg_database_size(current_database()), quote_ident(current_user)";

/// [`META`] without the database size (0).
pub const META_WITHOUT_SIZE: &str =
    "SELECT current_setting('server_version_num')::int, current_setting('server_version'),
        current_database()::text, 0::bigint, quote_ident(current_user)";

pub fn schemas() -> String {
    q(&format!(
        "SELECT ns.nspname::text, dsc.description FROM ns {}",
        comment_join("pg_namespace", "ns", "dsc")
    ))
}

pub const EXTENSIONS: &str = "SELECT e.extname::text, n.nspname::text, e.extversion
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql'";

pub fn enums() -> String {
    q(&format!(
        "SELECT ns.nspname::text, t.typname::text,
                ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
                dsc.description
         FROM pg_type t JOIN ns ON ns.oid = t.typnamespace {}
         WHERE t.typtype = 'e' AND {}",
        comment_join("pg_type", "t", "dsc"),
        not_ext("pg_type", "t")
    ))
}

pub fn domains() -> String {
    q(&format!(
        "SELECT ns.nspname::text, t.typname::text, format_type(t.typbasetype, t.typtypmod),
                CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation
                     THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
                pg_get_expr(t.typdefaultbin, 0), t.typnotnull,
                ARRAY(SELECT c.conname || E'\\t' || pg_get_constraintdef(c.oid) FROM pg_constraint c
                      WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname),
                dsc.description,
                ARRAY(SELECT DISTINCT c.conname || E'\\t' || d.refobjid::regprocedure::text
                      FROM pg_constraint c JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass
                       AND d.objid = c.oid AND d.refclassid = 'pg_proc'::regclass AND d.deptype = 'n'
                      WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY 1)
         FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
         JOIN pg_type bt ON bt.oid = t.typbasetype
         LEFT JOIN pg_collation co ON co.oid = t.typcollation
         LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace {}
         WHERE t.typtype = 'd' AND {}",
        comment_join("pg_type", "t", "dsc"),
        not_ext("pg_type", "t")
    ))
}

pub fn composites() -> String {
    q(&format!(
        "SELECT ns.nspname::text, t.typname::text,
                ARRAY(SELECT a.attname::text FROM pg_attribute a
                      WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
                ARRAY(SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                      WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
                ARRAY(SELECT coalesce(CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation
                                   THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END, '')
                      FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
                      LEFT JOIN pg_collation co ON co.oid = a.attcollation
                      LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
                      WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
                dsc.description
         FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
         JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c' {}
         WHERE t.typtype = 'c' AND {}",
        comment_join("pg_type", "t", "dsc"),
        not_ext("pg_type", "t")
    ))
}

pub fn tables() -> String {
    q(&format!(
        "SELECT tbl.oid, tbl.nspname::text, tbl.relname::text, tbl.relpersistence = 'u',
                ARRAY(SELECT o FROM unnest(coalesce(c.reloptions, '{{}}')) o ORDER BY o),
                CASE WHEN c.relforcerowsecurity AND c.relrowsecurity THEN 'forced'
                     WHEN c.relrowsecurity THEN 'enabled'
                     WHEN c.relforcerowsecurity THEN 'forced, not enabled' END,
                dsc.description,
                CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
                ARRAY(SELECT pn.nspname || E'\t' || pc.relname FROM pg_inherits i
                      JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace
                      WHERE i.inhrelid = c.oid ORDER BY i.inhseqno)
         FROM tbl JOIN pg_class c ON c.oid = tbl.oid {}",
        comment_join("pg_class", "c", "dsc")
    ))
}

/// Size facts of managed tables, apart from [`tables`] so that they run on the
/// second connection. Only the catalog (`relpages`, `reltuples`) and the
/// statistics counters (`pg_stat_get_live_tuples`) are read: no relation is
/// opened, so no lock is taken on any user table (a `pg_relation_size` per
/// never-analysed table took one lock each, held to the end of the snapshot,
/// which could exhaust `max_locks_per_transaction` at 10,000 tables).
/// Returns `(oid, reltuples, relpages, heap and TOAST bytes, live tuples)`.
pub fn table_sizes() -> String {
    q("SELECT tbl.oid, tbl.reltuples::float8, tbl.relpages,
              (tbl.relpages + coalesce(t.relpages, 0))::int8 * current_setting('block_size')::int8,
              pg_stat_get_live_tuples(tbl.oid)
       FROM tbl JOIN pg_class c ON c.oid = tbl.oid
       LEFT JOIN pg_class t ON t.oid = nullif(c.reltoastrelid, 0)")
}

pub fn columns() -> String {
    q("SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text,
              CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                   THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
              dsc.description,
              CASE WHEN a.attidentity <> '' THEN
                (SELECT format('START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s%s',
                               s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
                               CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END)
                 FROM pg_depend sd JOIN pg_sequence s ON s.seqrelid = sd.objid
                 WHERE sd.classid = 'pg_class'::regclass AND sd.refclassid = 'pg_class'::regclass
                   AND sd.refobjid = a.attrelid AND sd.refobjsubid = a.attnum AND sd.deptype = 'i') END
       FROM pg_attribute a
       JOIN tbl ON tbl.oid = a.attrelid
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
       LEFT JOIN pg_description dsc ON dsc.objoid = a.attrelid AND dsc.classoid = 'pg_class'::regclass
                                   AND dsc.objsubid = a.attnum
       WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attinhcount = 0
       ORDER BY a.attrelid, a.attnum")
}

pub fn constraints() -> String {
    q(&format!(
        "SELECT co.conrelid, co.conname::text, co.contype::text, pg_get_constraintdef(co.oid),
                rn.nspname::text, rc.relname::text,
                ARRAY(SELECT a.attname::text FROM unnest(co.conkey) WITH ORDINALITY k(num, ord)
                      JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = k.num
                      ORDER BY k.ord),
                dsc.description
         FROM pg_constraint co
         JOIN tbl ON tbl.oid = co.conrelid
         LEFT JOIN pg_class rc ON rc.oid = co.confrelid
         LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace {}
         WHERE co.contype IN ('p', 'u', 'f', 'c', 'x') AND co.coninhcount = 0 AND co.conparentid = 0",
        comment_join("pg_constraint", "co", "dsc")
    ))
}

/// Indexes on managed tables and on materialized views, except those that back
/// a constraint.
pub fn indexes() -> String {
    q(&format!(
        "SELECT ns.nspname::text, ic.relname::text, t.relname::text, pg_get_indexdef(i.indexrelid),
                i.indisunique, i.indisvalid,
                ARRAY(SELECT a.attname::text FROM pg_depend d
                      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                        AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                      ORDER BY a.attname),
                dsc.description
         FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN ns ON ns.oid = t.relnamespace
         JOIN pg_class ic ON ic.oid = i.indexrelid {}
         WHERE (t.relkind = 'm' OR EXISTS (SELECT 1 FROM tbl WHERE tbl.oid = t.oid))
           AND NOT EXISTS (SELECT 1 FROM pg_inherits ih WHERE ih.inhrelid = i.indexrelid)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint co
                           WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid
                             AND co.contype IN ('p', 'u', 'x'))",
        comment_join("pg_class", "ic", "dsc")
    ))
}

pub fn sequences() -> String {
    q(&format!(
        "SELECT ns.nspname::text, c.relname::text, format_type(s.seqtypid, NULL),
                s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
                tn.nspname::text, tc.relname::text, ta.attname::text, dsc.description
         FROM pg_sequence s
         JOIN pg_class c ON c.oid = s.seqrelid
         JOIN ns ON ns.oid = c.relnamespace
         LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid
              AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
         LEFT JOIN pg_class tc ON tc.oid = d.refobjid
         LEFT JOIN pg_namespace tn ON tn.oid = tc.relnamespace
         LEFT JOIN pg_attribute ta ON ta.attrelid = d.refobjid AND ta.attnum = d.refobjsubid {}
         WHERE d.deptype IS DISTINCT FROM 'i' AND {}",
        comment_join("pg_class", "c", "dsc"),
        not_ext("pg_class", "c")
    ))
}

pub fn views() -> String {
    q(&format!(
        "SELECT c.oid, ns.nspname::text, c.relname::text, c.relkind = 'm', pg_get_viewdef(c.oid),
                ARRAY(SELECT o FROM unnest(coalesce(c.reloptions, '{{}}')) o ORDER BY o),
                c.relispopulated, dsc.description
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace {}
         WHERE c.relkind IN ('v', 'm') AND {}",
        comment_join("pg_class", "c", "dsc"),
        not_ext("pg_class", "c")
    ))
}

/// What the rewrite rules of views read: relations, columns, functions, types
/// in managed schemas.
pub fn view_deps() -> String {
    q("SELECT DISTINCT r.ev_class, rn.nspname::text, rc.relname::text, a.attname::text,
              CASE WHEN pn.oid IS NOT NULL THEN p.oid::regprocedure::text END,
              tn.nspname::text, t.typname::text
       FROM pg_rewrite r
       JOIN pg_class vc ON vc.oid = r.ev_class AND vc.relkind IN ('v', 'm')
       JOIN ns ON ns.oid = vc.relnamespace
       JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.deptype = 'n'
       LEFT JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
       LEFT JOIN ns rn ON rn.oid = rc.relnamespace
       LEFT JOIN pg_attribute a ON d.refclassid = 'pg_class'::regclass AND a.attrelid = d.refobjid
                                AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
       LEFT JOIN pg_proc p ON d.refclassid = 'pg_proc'::regclass AND p.oid = d.refobjid
       LEFT JOIN ns pn ON pn.oid = p.pronamespace
       LEFT JOIN pg_type t ON d.refclassid = 'pg_type'::regclass AND t.oid = d.refobjid
       LEFT JOIN ns tn ON tn.oid = t.typnamespace
       WHERE d.refobjid <> r.ev_class")
}

pub fn functions() -> String {
    q(&format!(
        "SELECT p.oid::regprocedure::text, ns.nspname::text, p.proname::text,
                CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
                pg_get_function_arguments(p.oid),
                CASE WHEN p.prokind = 'p' THEN '' ELSE pg_get_function_result(p.oid) END,
                pg_get_functiondef(p.oid), dsc.description,
                ARRAY(SELECT DISTINCT CASE WHEN t.typrelid <> 0 THEN 'r' ELSE 't' END || E'\\t'
                             || tn.nspname || E'\\t' || t.typname
                      FROM pg_depend d JOIN pg_type t ON t.oid = d.refobjid
                      JOIN ns tn ON tn.oid = t.typnamespace
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                        AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'n')
                || ARRAY(SELECT DISTINCT 'f' || E'\\t' || d.refobjid::regprocedure::text
                         FROM pg_depend d
                         WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                           AND d.refclassid = 'pg_proc'::regclass AND d.deptype = 'n'
                           AND d.refobjid <> p.oid)
         FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace {}
         WHERE p.prokind IN ('f', 'p', 'w') AND {} AND {}",
        comment_join("pg_proc", "p", "dsc"),
        not_ext("pg_proc", "p"),
        not_internal("pg_proc", "p")
    ))
}

/// User triggers on managed tables and on views (not clones on partitions).
pub fn triggers() -> String {
    q(&format!(
        "SELECT ns.nspname::text, c.relname::text, tg.tgname::text, pg_get_triggerdef(tg.oid),
                tg.tgenabled::text, tg.tgfoid::regprocedure::text, dsc.description
         FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
         JOIN ns ON ns.oid = c.relnamespace {}
         WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
           AND (c.relkind = 'v' OR EXISTS (SELECT 1 FROM tbl WHERE tbl.oid = c.oid))",
        comment_join("pg_trigger", "tg", "dsc")
    ))
}

pub fn policies() -> String {
    q("SELECT tbl.nspname::text, tbl.relname::text, pol.polname::text, pol.polpermissive,
              CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                              WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
              ARRAY(SELECT coalesce((SELECT quote_ident(rolname) FROM pg_roles WHERE oid = r), 'public')
                    FROM unnest(pol.polroles) r ORDER BY 1),
              pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)
       FROM pg_policy pol JOIN tbl ON tbl.oid = pol.polrelid")
}

/// Everything in managed schemas that the model does not cover yet, with a hash of
/// its definition so that a change to it still shows as a difference.
pub fn unmanaged() -> String {
    q("
SELECT 'foreign table ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname),
       md5(coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ''))
FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
WHERE c.relkind = 'f'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT 'trigger ' || quote_ident(tg.tgname) || ' on ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname),
       md5(pg_get_triggerdef(tg.oid))
FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN ns ON ns.oid = c.relnamespace
WHERE NOT tg.tgisinternal AND c.relkind NOT IN ('v') AND NOT EXISTS (SELECT 1 FROM tbl WHERE tbl.oid = c.oid)
UNION ALL
SELECT 'publication ' || quote_ident(pb.pubname), '' FROM pg_publication pb
UNION ALL
SELECT 'foreign server ' || quote_ident(fs.srvname), '' FROM pg_foreign_server fs
")
}

/// Owners and privileges of every managed object, as `(target, owner, acl
/// entries)`: the target in `GRANT … ON <target>` form, entries as
/// `grantee:PRIVILEGE` (`*` marks WITH GRANT OPTION; aggregates are keyed
/// `AGGREGATE …`, event triggers, which only have an owner, `EVENT TRIGGER …`), the owner's own entries
/// left out and a NULL ACL read as the default (`acldefault`), so that
/// `GRANT`-then-`REVOKE` and never-granted compare equal. Relations that are
/// part of another (identity sequences) are left out; a partitioned table's
/// own internal dependency (its key columns on itself) does not count.
pub fn acls() -> String {
    let entries = |acl: &str, owner: &str| {
        format!(
            "ARRAY(SELECT coalesce((SELECT quote_ident(rolname) FROM pg_roles WHERE oid = a.grantee), 'PUBLIC')
                          || ':' || a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END
                   FROM aclexplode({acl}) a WHERE a.grantee <> {owner} ORDER BY 1)"
        )
    };
    let owner = |o: &str| format!("(SELECT quote_ident(rolname) FROM pg_roles WHERE oid = {o})");
    // Routines: not extension members, nor a range type's constructors.
    let x4 = format!(
        "{} AND {}",
        not_ext("pg_proc", "p"),
        not_internal("pg_proc", "p")
    );
    q(&format!(
        "SELECT 'SCHEMA ' || quote_ident(ns.nspname), {o1}, {e1}
         FROM ns JOIN pg_namespace n ON n.oid = ns.oid
         UNION ALL
         SELECT CASE WHEN c.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END
                || quote_ident(ns.nspname) || '.' || quote_ident(c.relname), {o2},
                {e2}
         FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND {x2}
           AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_class'::regclass
                           AND i.objid = c.oid AND i.objsubid = 0 AND i.deptype = 'i')
         UNION ALL
         SELECT 'COLUMN ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname) || '.' || quote_ident(at.attname),
                NULL, {e3}
         FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid JOIN ns ON ns.oid = c.relnamespace
         WHERE at.attacl IS NOT NULL AND at.attnum > 0 AND NOT at.attisdropped AND {x2}
         UNION ALL
         SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' WHEN 'a' THEN 'AGGREGATE ' ELSE 'FUNCTION ' END
                || p.oid::regprocedure::text, {o4},
                {e4}
         FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
         WHERE p.prokind IN ('f', 'p', 'w', 'a') AND {x4}
         UNION ALL
         SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END
                || quote_ident(ns.nspname) || '.' || quote_ident(t.typname), {o5},
                {e5}
         FROM pg_type t JOIN ns ON ns.oid = t.typnamespace
         WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND EXISTS
                (SELECT 1 FROM pg_class tc WHERE tc.oid = t.typrelid AND tc.relkind = 'c'))) AND {x5}
         UNION ALL
         SELECT 'EVENT TRIGGER ' || quote_ident(et.evtname), {o7}, ARRAY[]::text[]
         FROM pg_event_trigger et WHERE {x7}
         UNION ALL
         SELECT 'DEFAULT PRIVILEGES FOR ROLE ' || quote_ident(r.rolname)
                || coalesce(' IN SCHEMA ' || quote_ident(dn.nspname), '') || ' ON '
                || CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                                        WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END,
                NULL, {e6}
         FROM pg_default_acl d JOIN pg_roles r ON r.oid = d.defaclrole
         LEFT JOIN pg_namespace dn ON dn.oid = d.defaclnamespace",
        o1 = owner("n.nspowner"),
        e1 = entries("coalesce(n.nspacl, acldefault('n', n.nspowner))", "n.nspowner"),
        o2 = owner("c.relowner"),
        e2 = entries(
            "coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner))",
            "c.relowner"
        ),
        x2 = not_ext("pg_class", "c"),
        e3 = entries("at.attacl", "c.relowner"),
        o4 = owner("p.proowner"),
        e4 = entries("coalesce(p.proacl, acldefault('f', p.proowner))", "p.proowner"),
        o5 = owner("t.typowner"),
        e5 = entries("coalesce(t.typacl, acldefault('T', t.typowner))", "t.typowner"),
        x5 = not_ext("pg_type", "t"),
        e6 = entries("d.defaclacl", "d.defaclrole"),
        o7 = owner("et.evtowner"),
        x7 = not_ext("pg_event_trigger", "et"),
    ))
}

/// Extended statistics objects on managed tables.
pub fn statistics() -> String {
    q(&format!(
        "SELECT ns.nspname::text, s.stxname::text, tbl.nspname::text, tbl.relname::text,
                pg_get_statisticsobjdef(s.oid), dsc.description
         FROM pg_statistic_ext s JOIN ns ON ns.oid = s.stxnamespace
         JOIN tbl ON tbl.oid = s.stxrelid {}",
        comment_join("pg_statistic_ext", "s", "dsc")
    ))
}

/// Rewrite rules other than the `_RETURN` rules of views, with what they read.
pub fn rules() -> String {
    q("SELECT r.oid, ns.nspname::text, c.relname::text, r.rulename::text, pg_get_ruledef(r.oid),
              ARRAY(SELECT DISTINCT rn.nspname || E'\\t' || rc.relname || E'\\t' || coalesce(a.attname::text, '')
                    FROM pg_depend d
                    JOIN pg_class rc ON d.refclassid = 'pg_class'::regclass AND rc.oid = d.refobjid
                    JOIN ns rn ON rn.oid = rc.relnamespace
                    LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid AND d.refobjsubid > 0
                    WHERE d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.deptype = 'n')
       FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN ns ON ns.oid = c.relnamespace
       WHERE r.rulename <> '_RETURN'")
}

/// User collations (provider, locales, determinism), read through `to_jsonb`
/// because the locale columns moved between versions (`colliculocale` in 15–16,
/// `colllocale` from 17).
pub fn collations() -> String {
    q(
        "SELECT ns.nspname::text, co.collname::text, co.collprovider::text, co.collisdeterministic,
              coalesce(to_jsonb(co) ->> 'colllocale', to_jsonb(co) ->> 'colliculocale'),
              to_jsonb(co) ->> 'collcollate', to_jsonb(co) ->> 'collctype'
       FROM pg_collation co JOIN ns ON ns.oid = co.collnamespace
       WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_collation'::regclass
                         AND d.objid = co.oid AND d.deptype = 'e')",
    )
}
