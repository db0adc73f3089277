//! Small readers over libpg_query's tree: names, types, constants, expressions.

use pg_query::protobuf::{Node, RangeVar, TypeName, a_const};
use pg_query::{NodeEnum, protobuf};
use serde::Serialize;
use std::fmt;

/// A relation as written in the file: schema only when qualified.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Rel {
    pub schema: Option<String>,
    pub name: String,
}

impl Rel {
    pub fn new(schema: Option<&str>, name: &str) -> Rel {
        Rel {
            schema: schema.filter(|s| !s.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    pub fn from_range(r: &RangeVar) -> Rel {
        Rel::new(Some(&r.schemaname), &r.relname)
    }

    /// From a qualified-name list (`List` of `String` nodes).
    pub fn from_names(names: &[Node]) -> Rel {
        let parts: Vec<String> = names.iter().filter_map(sval).collect();
        match parts.as_slice() {
            [.., s, n] => Rel::new(Some(s), n),
            [n] => Rel::new(None, n),
            [] => Rel::new(None, "?"),
        }
    }

    /// A stand-in for relations a statement reaches without naming them (every
    /// table with a column of a domain …), described by `words`. With `--db`
    /// its facts are those of the tables it stands for.
    pub fn reach(words: &str) -> Rel {
        Rel {
            schema: Some(REACH.into()),
            name: words.to_string(),
        }
    }

    pub fn is_reach(&self) -> bool {
        self.schema.as_deref() == Some(REACH)
    }

    /// The name as SQL (quoted where needed), for queries and `to_regclass`.
    pub fn sql(&self) -> String {
        use crate::catalog::model::quote_ident;
        match &self.schema {
            Some(s) => format!("{}.{}", quote_ident(s), quote_ident(&self.name)),
            None => quote_ident(&self.name),
        }
    }
}

/// The schema of [`Rel::reach`]: never a real one (names cannot hold NUL).
const REACH: &str = "\0";

impl fmt::Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            _ if self.is_reach() => f.write_str(&self.name),
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// The string of a `String` node.
pub fn sval(n: &Node) -> Option<String> {
    match n.node.as_ref()? {
        NodeEnum::String(s) => Some(s.sval.clone()),
        _ => None,
    }
}

pub fn strings(nodes: &[Node]) -> Vec<String> {
    nodes.iter().filter_map(sval).collect()
}

/// Elements of a `List` node, or the node itself.
pub fn list_items(n: &Node) -> Vec<Node> {
    match n.node.as_ref() {
        Some(NodeEnum::List(l)) => l.items.clone(),
        _ => vec![n.clone()],
    }
}

/// A column type as written: base name (lower case, as the parser normalises
/// it, e.g. `int4`, `varchar`, `timestamptz`), modifiers, array-ness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSpec {
    pub name: String,
    pub mods: Vec<i64>,
    pub array: bool,
}

impl TypeSpec {
    pub fn from(t: &TypeName) -> TypeSpec {
        let names = strings(&t.names);
        let name = names.last().cloned().unwrap_or_default();
        let mods = t.typmods.iter().filter_map(int_const).collect();
        TypeSpec {
            name,
            mods,
            array: !t.array_bounds.is_empty(),
        }
    }

    pub fn with_mods(name: &str, mods: &[i64]) -> TypeSpec {
        TypeSpec {
            name: name.into(),
            mods: mods.to_vec(),
            array: false,
        }
    }
}

impl fmt::Display for TypeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = match self.name.as_str() {
            "int2" => "smallint",
            "int4" => "integer",
            "int8" => "bigint",
            "float8" => "double precision",
            "float4" => "real",
            "bpchar" => "char",
            "bool" => "boolean",
            "timestamptz" => "timestamp with time zone",
            other => other,
        };
        f.write_str(base)?;
        if !self.mods.is_empty() {
            let m: Vec<String> = self.mods.iter().map(|m| m.to_string()).collect();
            write!(f, "({})", m.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

pub fn int_const(n: &Node) -> Option<i64> {
    match n.node.as_ref()? {
        NodeEnum::AConst(c) => match c.val.as_ref()? {
            a_const::Val::Ival(i) => Some(i.ival as i64),
            _ => None,
        },
        NodeEnum::Integer(i) => Some(i.ival as i64),
        _ => None,
    }
}

/// A constant's text (`'UTC'`, `0`, `on`), for SET values.
pub fn const_text(n: &Node) -> Option<String> {
    match n.node.as_ref()? {
        NodeEnum::AConst(c) => Some(match c.val.as_ref()? {
            a_const::Val::Ival(i) => i.ival.to_string(),
            a_const::Val::Fval(f) => f.fval.clone(),
            a_const::Val::Sval(s) => s.sval.clone(),
            a_const::Val::Boolval(b) => b.boolval.to_string(),
            a_const::Val::Bsval(b) => b.bsval.clone(),
        }),
        NodeEnum::String(s) => Some(s.sval.clone()),
        NodeEnum::Boolean(b) => Some(b.boolval.to_string()),
        NodeEnum::Integer(i) => Some(i.ival.to_string()),
        _ => None,
    }
}

/// The names of every function called inside `node` (walks the whole tree).
pub fn called_functions<T: Serialize>(node: &T) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(node) {
        walk_calls(&v, &mut out);
    }
    out
}

fn walk_calls(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(fc) = m.get("FuncCall") {
                let names: Vec<String> = fc
                    .get("funcname")
                    .and_then(|n| n.as_array())
                    .map(|a| a.iter().filter_map(json_sval).collect())
                    .unwrap_or_default();
                if !names.is_empty() {
                    out.push(names.join("."));
                }
            }
            m.values().for_each(|x| walk_calls(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| walk_calls(x, out)),
        _ => {}
    }
}

fn json_sval(v: &serde_json::Value) -> Option<String> {
    v.pointer("/node/String/sval")
        .and_then(|s| s.as_str())
        .map(str::to_string)
}

/// Functions whose value does not change row by row: a column default using only
/// these (or none) does not rewrite the table since PostgreSQL 11.
const NON_VOLATILE: &[&str] = &[
    "now",
    "current_timestamp",
    "transaction_timestamp",
    "statement_timestamp",
    "current_date",
    "to_timestamp",
    "to_date",
    "make_date",
    "make_timestamp",
    "make_timestamptz",
    "make_interval",
    "lower",
    "upper",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "array",
    "coalesce",
    "concat",
    "format",
    "timezone",
    "current_setting",
    "current_user",
    "length",
];

/// Whether a default expression is volatile (evaluated per row): any function
/// call not known to be stable or immutable counts as volatile.
pub fn is_volatile(expr: &Node) -> bool {
    called_functions(expr).iter().any(|f| {
        let base = f.rsplit('.').next().unwrap_or(f).to_ascii_lowercase();
        !NON_VOLATILE.contains(&base.as_str())
    })
}

/// For `CHECK (col IS NOT NULL)`: the column.
pub fn is_not_null_check(expr: &Node) -> Option<String> {
    match expr.node.as_ref()? {
        NodeEnum::NullTest(t) if t.nulltesttype == protobuf::NullTestType::IsNotNull as i32 => {
            match t.arg.as_ref()?.node.as_ref()? {
                NodeEnum::ColumnRef(c) => strings(&c.fields).last().cloned(),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(sql: &str) -> Node {
        let parsed = pg_query::parse(&format!("SELECT {sql}"), 0).unwrap();
        let Some(NodeEnum::SelectStmt(s)) =
            parsed.protobuf.stmts[0].stmt.as_ref().unwrap().node.clone()
        else {
            panic!()
        };
        match s.target_list[0].node.as_ref().unwrap() {
            NodeEnum::ResTarget(r) => *r.val.clone().unwrap(),
            _ => panic!(),
        }
    }

    #[test]
    fn volatility_of_defaults() {
        assert!(is_volatile(&expr("gen_random_uuid()")));
        assert!(is_volatile(&expr("clock_timestamp()")));
        assert!(!is_volatile(&expr("now()")));
        assert!(!is_volatile(&expr("0")));
        assert!(!is_volatile(&expr("CURRENT_TIMESTAMP")));
    }

    #[test]
    fn not_null_checks_are_recognised() {
        assert_eq!(is_not_null_check(&expr("c IS NOT NULL")), Some("c".into()));
        assert_eq!(is_not_null_check(&expr("c > 0")), None);
    }
}
