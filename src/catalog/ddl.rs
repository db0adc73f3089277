//! SQL text for model objects, used by the planner (`plan::script` turns a
//! whole model into one script).

use super::model::*;

pub fn create_schema(name: &str) -> String {
    format!("CREATE SCHEMA {};", quote_ident(name))
}

pub fn create_enum(e: &EnumType) -> String {
    let labels: Vec<String> = e.labels.iter().map(|l| quote_literal(l)).collect();
    format!(
        "CREATE TYPE {} AS ENUM ({});",
        e.name.sql(),
        labels.join(", ")
    )
}

/// `CREATE SEQUENCE` without `OWNED BY` (the owning table may not exist yet).
pub fn create_sequence(s: &Sequence) -> String {
    format!("CREATE SEQUENCE {} {};", s.name.sql(), sequence_options(s))
}

pub fn sequence_options(s: &Sequence) -> String {
    format!(
        "AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {}{}",
        s.data_type,
        s.increment,
        s.min,
        s.max,
        s.start,
        s.cache,
        if s.cycle { " CYCLE" } else { " NO CYCLE" }
    )
}

pub fn sequence_owned_by(s: &Sequence) -> String {
    match &s.owned_by {
        Some((table, col)) => format!(
            "ALTER SEQUENCE {} OWNED BY {}.{};",
            s.name.sql(),
            table.sql(),
            quote_ident(col)
        ),
        None => format!("ALTER SEQUENCE {} OWNED BY NONE;", s.name.sql()),
    }
}

/// Moves sequence `seq` past the highest value of `table`.`column` (when the
/// column holds values and the sequence counts upwards), so that a sequence
/// created for a column that already holds values does not hand them out again.
pub fn continue_sequence(seq: &QName, table: &QName, column: &str) -> String {
    continue_after_max(
        &format!("{}::regclass", quote_literal(&seq.sql())),
        table,
        column,
    )
}

/// [`continue_sequence`] for the sequence of identity column `table`.`column`
/// (found through its internal dependency: a serial sequence the column still
/// owns until it is dropped is not it).
pub fn continue_identity(table: &QName, column: &str) -> String {
    let t = quote_literal(&table.sql());
    let seq = format!(
        "(SELECT d.objid FROM pg_catalog.pg_depend d\n       \
         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass\n         \
         AND d.refobjid = {t}::regclass AND d.deptype = 'i'\n         \
         AND d.refobjsubid = (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = {t}::regclass AND attname = {}))",
        quote_literal(column)
    );
    continue_after_max(&seq, table, column)
}

fn continue_after_max(seq: &str, table: &QName, column: &str) -> String {
    format!(
        "SELECT pg_catalog.setval(s.seqrelid, m.v)\nFROM pg_catalog.pg_sequence s,\n     \
         (SELECT max({})::bigint AS v FROM {}) m\nWHERE s.seqrelid = {seq}\n  \
         AND s.seqincrement > 0 AND m.v >= s.seqmin AND m.v <= s.seqmax;",
        quote_ident(column),
        table.sql()
    )
}

/// A column as it appears in `CREATE TABLE` or `ADD COLUMN`.
pub fn column_def(c: &Column) -> String {
    format!(
        "{} {}{}",
        quote_ident(&c.name),
        c.data_type,
        column_rest(c, true)
    )
}

/// What follows a column's name and type: collation (when `collation`),
/// generation, identity, default and `NOT NULL`, each with a leading space.
fn column_rest(c: &Column, collation: bool) -> String {
    let mut s = String::new();
    if let Some(coll) = c.collation.as_ref().filter(|_| collation) {
        s.push_str(&format!(" COLLATE {coll}"));
    }
    if let Some(expr) = &c.generated {
        let kind = if c.generated_virtual {
            "VIRTUAL"
        } else {
            "STORED"
        };
        s.push_str(&format!(" GENERATED ALWAYS AS ({expr}) {kind}"));
    }
    if let Some(identity) = &c.identity {
        s.push_str(&format!(
            " GENERATED {} AS IDENTITY",
            identity.to_uppercase()
        ));
        if let Some(o) = &c.identity_options {
            s.push_str(&format!(" ({o})"));
        }
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    s.push_str(&super::notnull::column_clause(c));
    s
}

/// `CREATE TABLE` with its columns and every constraint except foreign keys
/// (added once all tables exist, so creation order never matters).
pub fn create_table(t: &Table) -> String {
    create_table_under(t, None)
}

/// [`create_table`] for a table whose partition parent is `parent`: a partition
/// takes its parent's tablespace and access method unless it names its own, so
/// one that uses the defaults under a parent that does not says so.
pub fn create_table_under(t: &Table, parent: Option<&Table>) -> String {
    let mut parts: Vec<String> = if t.of_type.is_some() {
        // A typed table's columns come from its type: only their options here.
        t.columns
            .iter()
            .filter_map(|c| {
                let rest = column_rest(c, false);
                (!rest.is_empty()).then(|| format!("{} WITH OPTIONS{rest}", quote_ident(&c.name)))
            })
            .collect()
    } else {
        t.columns.iter().map(column_def).collect()
    };
    for c in t.constraints.values() {
        // NOT VALID is ignored inside CREATE TABLE: such checks are added after.
        if c.kind != ConstraintKind::ForeignKey && !c.definition.ends_with("NOT VALID") {
            parts.push(format!(
                "CONSTRAINT {} {}",
                quote_ident(&c.name),
                constraint_def(c)
            ));
        }
    }
    let unlogged = if t.unlogged { "UNLOGGED " } else { "" };
    let mut sql = match (&t.partition_of, &t.of_type) {
        (Some((parent, bound)), _) => {
            let mut s = format!(
                "CREATE {unlogged}TABLE {} PARTITION OF {}",
                t.name.sql(),
                parent.sql()
            );
            if !parts.is_empty() {
                s.push_str(&format!(" (\n    {}\n)", parts.join(",\n    ")));
            }
            s.push_str(&format!(" {bound}"));
            s
        }
        (None, Some(of)) => {
            let mut s = format!("CREATE {unlogged}TABLE {} OF {}", t.name.sql(), of.sql());
            if !parts.is_empty() {
                s.push_str(&format!(" (\n    {}\n)", parts.join(",\n    ")));
            }
            s
        }
        (None, None) => {
            let mut s = format!(
                "CREATE {unlogged}TABLE {} (\n    {}\n)",
                t.name.sql(),
                parts.join(",\n    ")
            );
            if !t.inherits.is_empty() {
                let parents: Vec<String> = t.inherits.iter().map(QName::sql).collect();
                s.push_str(&format!(" INHERITS ({})", parents.join(", ")));
            }
            s
        }
    };
    if let Some(key) = &t.partition_key {
        sql.push_str(&format!(" PARTITION BY {key}"));
    }
    let parent = parent.filter(|_| t.partition_of.is_some());
    match (
        &t.access_method,
        parent.and_then(|p| p.access_method.as_ref()),
    ) {
        (Some(am), _) => sql.push_str(&format!(" USING {}", quote_ident(am))),
        (None, Some(_)) => sql.push_str(" USING heap"),
        (None, None) => {}
    }
    if !t.options.is_empty() {
        sql.push_str(&format!(" WITH ({})", t.options.join(", ")));
    }
    match (&t.tablespace, parent.and_then(|p| p.tablespace.as_ref())) {
        (Some(ts), _) => sql.push_str(&format!(" TABLESPACE {}", quote_ident(ts))),
        (None, Some(_)) => sql.push_str(" TABLESPACE pg_default"),
        (None, None) => {}
    }
    sql.push(';');
    sql
}

/// A constraint's definition, with `USING INDEX TABLESPACE` when its index has
/// a tablespace of its own (before any `WHERE`, `DEFERRABLE` or `INITIALLY`).
pub fn constraint_def(c: &Constraint) -> String {
    match &c.tablespace {
        Some(ts) => insert_clause(
            &c.definition,
            &[" WHERE ", " DEFERRABLE", " NOT DEFERRABLE", " INITIALLY "],
            &format!(" USING INDEX TABLESPACE {}", quote_ident(ts)),
        ),
        None => c.definition.clone(),
    }
}

/// `def` with `insert` put before the first of `clauses` that starts outside
/// quotes and parentheses, or at the end.
fn insert_clause(def: &str, clauses: &[&str], insert: &str) -> String {
    let (mut depth, mut single, mut double) = (0i32, false, false);
    for (i, ch) in def.char_indices() {
        match ch {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '(' if !single && !double => depth += 1,
            ')' if !single && !double => depth -= 1,
            ' ' if !single
                && !double
                && depth == 0
                && clauses.iter().any(|c| def[i..].starts_with(c)) =>
            {
                return format!("{}{insert}{}", &def[..i], &def[i..]);
            }
            _ => {}
        }
    }
    format!("{def}{insert}")
}

pub fn add_constraint(table: &QName, c: &Constraint) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} {};",
        table.sql(),
        quote_ident(&c.name),
        constraint_def(c)
    )
}

pub fn drop_constraint(table: &QName, name: &str) -> String {
    format!(
        "ALTER TABLE {} DROP CONSTRAINT {};",
        table.sql(),
        quote_ident(name)
    )
}

/// The index's own definition. On a partitioned table the server prints
/// `ON ONLY`, which would leave the partitions without the index: it is created
/// without `ONLY`, so it cascades to every partition.
pub fn create_index(i: &Index) -> String {
    let target = format!(" ON ONLY {} ", i.table.sql());
    let def = i
        .definition
        .replacen(&target, &format!(" ON {} ", i.table.sql()), 1);
    match &i.tablespace {
        // `pg_get_indexdef` leaves the tablespace out; it goes before `WHERE`.
        Some(ts) => format!(
            "{};",
            insert_clause(
                &def,
                &[" WHERE "],
                &format!(" TABLESPACE {}", quote_ident(ts))
            )
        ),
        None => format!("{def};"),
    }
}

pub fn create_extension(e: &Extension) -> String {
    format!(
        "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {} VERSION {};",
        quote_ident(&e.name),
        quote_ident(&e.schema),
        quote_literal(&e.version)
    )
}

pub fn create_domain(d: &Domain) -> String {
    let mut s = format!("CREATE DOMAIN {} AS {}", d.name.sql(), d.base_type);
    if let Some(c) = &d.collation {
        s.push_str(&format!(" COLLATE {c}"));
    }
    if let Some(def) = &d.default {
        s.push_str(&format!(" DEFAULT {def}"));
    }
    if d.not_null {
        s.push_str(" NOT NULL");
    }
    for (name, check) in &d.checks {
        s.push_str(&format!(" CONSTRAINT {} {check}", quote_ident(name)));
    }
    s.push(';');
    s
}

pub fn create_composite(c: &Composite) -> String {
    let attrs: Vec<String> = c
        .attributes
        .iter()
        .map(|(n, t, coll)| match coll {
            Some(coll) => format!("{} {t} COLLATE {coll}", quote_ident(n)),
            None => format!("{} {t}", quote_ident(n)),
        })
        .collect();
    format!("CREATE TYPE {} AS ({});", c.name.sql(), attrs.join(", "))
}

/// `CREATE VIEW` / `CREATE MATERIALIZED VIEW` for `v`.
pub fn create_view(v: &View) -> String {
    let with = if v.options.is_empty() {
        String::new()
    } else {
        format!(" WITH ({})", v.options.join(", "))
    };
    if v.materialized {
        format!(
            "CREATE MATERIALIZED VIEW {}{with} AS\n{}\nWITH {}DATA;",
            v.name.sql(),
            v.definition,
            if v.populated { "" } else { "NO " }
        )
    } else {
        format!("CREATE VIEW {}{with} AS\n{};", v.name.sql(), v.definition)
    }
}

pub fn drop_view(v: &View) -> String {
    format!(
        "DROP {}VIEW {};",
        if v.materialized { "MATERIALIZED " } else { "" },
        v.name.sql()
    )
}

/// The function's own `CREATE OR REPLACE` statement, terminated.
pub fn create_function(f: &Function) -> String {
    format!("{};", f.definition.trim_end())
}

pub fn drop_function(key: &str, f: &Function) -> String {
    format!("DROP {} {key};", f.kind.to_uppercase())
}

pub fn create_trigger(t: &Trigger) -> String {
    format!("{};", t.definition)
}

/// `ALTER TABLE … ENABLE/DISABLE TRIGGER` for a trigger whose state is not the default.
pub fn trigger_state(t: &Trigger) -> Option<String> {
    let state = match t.enabled.as_str() {
        "D" => "DISABLE TRIGGER",
        "R" => "ENABLE REPLICA TRIGGER",
        "A" => "ENABLE ALWAYS TRIGGER",
        _ => return None,
    };
    Some(format!(
        "ALTER TABLE {} {state} {};",
        t.table.sql(),
        quote_ident(&t.name)
    ))
}

pub fn create_policy(p: &Policy) -> String {
    let mut s = format!(
        "CREATE POLICY {} ON {} AS {} FOR {} TO {}",
        quote_ident(&p.name),
        p.table.sql(),
        if p.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        p.command,
        p.roles.join(", ")
    );
    if let Some(u) = &p.using {
        s.push_str(&format!(" USING ({u})"));
    }
    if let Some(c) = &p.with_check {
        s.push_str(&format!(" WITH CHECK ({c})"));
    }
    s.push(';');
    s
}

/// `ALTER TABLE … ENABLE/FORCE/DISABLE ROW LEVEL SECURITY` statements that take
/// a table from `from` to `to` (`None`, `enabled`, `forced`, `forced, not
/// enabled`): the two flags are set apart, each only when it changes.
pub fn rls_change(t: &QName, from: Option<&str>, to: Option<&str>) -> Vec<String> {
    let flags = |s: Option<&str>| match s {
        None => (false, false),
        Some("forced") => (true, true),
        Some("forced, not enabled") => (false, true),
        Some(_) => (true, false),
    };
    let ((was_on, was_forced), (on, forced)) = (flags(from), flags(to));
    let table = t.sql();
    let mut out = Vec::new();
    if was_forced && !forced {
        out.push(format!("ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY;"));
    }
    if was_on && !on {
        out.push(format!("ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;"));
    }
    if !was_on && on {
        out.push(format!("ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;"));
    }
    if !was_forced && forced {
        out.push(format!("ALTER TABLE {table} FORCE ROW LEVEL SECURITY;"));
    }
    out
}

/// `COMMENT ON <target> IS …` (or `IS NULL`).
pub fn comment_on(target: &str, comment: Option<&str>) -> String {
    format!(
        "COMMENT ON {target} IS {};",
        comment.map(quote_literal).unwrap_or_else(|| "NULL".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn tablespaces_go_before_where_and_deferrable_outside_quotes_and_parentheses() {
        let c = |definition: &str| Constraint {
            name: "k".into(),
            kind: ConstraintKind::Unique,
            definition: definition.into(),
            references: None,
            columns: vec![],
            comment: None,
            tablespace: Some("fast space".into()),
        };
        assert_eq!(
            constraint_def(&c("UNIQUE (a) INCLUDE (b) DEFERRABLE INITIALLY DEFERRED")),
            "UNIQUE (a) INCLUDE (b) USING INDEX TABLESPACE \"fast space\" DEFERRABLE INITIALLY DEFERRED"
        );
        assert_eq!(
            constraint_def(&c("EXCLUDE USING gist (during WITH &&) WHERE ((qty > 1))")),
            "EXCLUDE USING gist (during WITH &&) USING INDEX TABLESPACE \"fast space\" WHERE ((qty > 1))"
        );
        let i = Index {
            name: QName::new("s", "i"),
            table: QName::new("s", "t"),
            definition: "CREATE INDEX i ON ONLY s.t USING btree (((a || ' WHERE '::text))) WITH (fillfactor='70') WHERE (\" WHERE \" > 0)".into(),
            unique: false,
            columns: vec![],
            comment: None,
            tablespace: Some("fast".into()),
        };
        assert_eq!(
            create_index(&i),
            "CREATE INDEX i ON s.t USING btree (((a || ' WHERE '::text))) WITH (fillfactor='70') TABLESPACE fast WHERE (\" WHERE \" > 0);"
        );
    }

    #[test]
    fn typed_tables_list_only_the_options_of_their_columns() {
        let col = |name: &str, default: Option<&str>| Column {
            name: name.into(),
            data_type: "integer".into(),
            not_null: false,
            default: default.map(String::from),
            identity: None,
            generated: None,
            collation: Some("\"C\"".into()),
            comment: None,
            generated_virtual: false,
            identity_options: None,
            not_null_name: None,
            not_null_not_valid: false,
            not_null_no_inherit: false,
            settings: ColumnSettings::default(),
        };
        let t = Table {
            name: QName::new("s", "t"),
            unlogged: false,
            columns: vec![col("a", None), col("b", Some("5"))],
            constraints: BTreeMap::new(),
            options: vec![],
            rls: None,
            partition_key: None,
            partition_of: None,
            inherits: vec![],
            comment: None,
            replica_identity: None,
            access_method: Some("heap2".into()),
            tablespace: Some("fast".into()),
            of_type: Some(QName::new("s", "row")),
            cluster_on: None,
            inherited_column_settings: BTreeMap::new(),
            partition_indexes: BTreeMap::new(),
        };
        assert_eq!(
            create_table(&t),
            "CREATE TABLE s.t OF s.\"row\" (\n    b WITH OPTIONS DEFAULT 5\n) USING heap2 TABLESPACE fast;"
        );
    }
}
