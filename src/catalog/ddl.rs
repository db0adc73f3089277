//! SQL text for model objects: used by the planner and by `inspect --format sql`.

use super::model::*;

pub fn create_schema(name: &str) -> String {
    format!("CREATE SCHEMA {};", quote_ident(name))
}

pub fn create_enum(e: &EnumType) -> String {
    let labels: Vec<String> = e.labels.iter().map(|l| quote_literal(l)).collect();
    format!("CREATE TYPE {} AS ENUM ({});", e.name.sql(), labels.join(", "))
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

/// A column as it appears in `CREATE TABLE` or `ADD COLUMN`.
pub fn column_def(c: &Column) -> String {
    let mut s = format!("{} {}", quote_ident(&c.name), c.data_type);
    if let Some(coll) = &c.collation {
        s.push_str(&format!(" COLLATE {coll}"));
    }
    if let Some(expr) = &c.generated {
        s.push_str(&format!(" GENERATED ALWAYS AS ({expr}) STORED"));
    }
    if let Some(identity) = &c.identity {
        s.push_str(&format!(" GENERATED {} AS IDENTITY", identity.to_uppercase()));
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if c.not_null && c.identity.is_none() {
        s.push_str(" NOT NULL");
    }
    s
}

/// `CREATE TABLE` with its columns and every constraint except foreign keys
/// (added once all tables exist, so creation order never matters).
pub fn create_table(t: &Table) -> String {
    let mut parts: Vec<String> = t.columns.iter().map(column_def).collect();
    for c in t.constraints.values() {
        if c.kind != ConstraintKind::ForeignKey {
            parts.push(format!("CONSTRAINT {} {}", quote_ident(&c.name), c.definition));
        }
    }
    format!(
        "CREATE {}TABLE {} (\n    {}\n);",
        if t.unlogged { "UNLOGGED " } else { "" },
        t.name.sql(),
        parts.join(",\n    ")
    )
}

pub fn add_constraint(table: &QName, c: &Constraint) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} {};",
        table.sql(),
        quote_ident(&c.name),
        c.definition
    )
}

pub fn drop_constraint(table: &QName, name: &str) -> String {
    format!(
        "ALTER TABLE {} DROP CONSTRAINT {};",
        table.sql(),
        quote_ident(name)
    )
}

pub fn create_index(i: &Index) -> String {
    format!("{};", i.definition)
}

/// DDL that recreates every managed object of `model`, in dependency order.
pub fn model_sql(model: &Model) -> String {
    let mut out = Vec::new();
    for s in model.schemas.keys().filter(|s| s.as_str() != "public") {
        out.push(create_schema(s));
    }
    for e in model.enums.values() {
        out.push(create_enum(e));
    }
    for s in model.sequences.values() {
        out.push(create_sequence(s));
    }
    for t in model.tables.values() {
        out.push(create_table(t));
    }
    for i in model.indexes.values() {
        out.push(create_index(i));
    }
    for t in model.tables.values() {
        for c in t.constraints.values() {
            if c.kind == ConstraintKind::ForeignKey {
                out.push(add_constraint(&t.name, c));
            }
        }
    }
    for s in model.sequences.values() {
        if s.owned_by.is_some() {
            out.push(sequence_owned_by(s));
        }
    }
    let mut sql = out.join("\n\n");
    sql.push('\n');
    if !model.unmanaged.is_empty() {
        sql.push_str("\n-- not managed by pgalign yet (not recreated above):\n");
        for k in model.unmanaged.keys() {
            sql.push_str(&format!("--   {k}\n"));
        }
    }
    sql
}
