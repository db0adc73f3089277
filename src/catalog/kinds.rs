//! Range types, aggregates and event triggers: their model (re-exported by
//! `model`) and the SQL that creates them.
//!
//! Functions these objects name (a range's canonical and subtype-difference
//! functions, an aggregate's support functions, an event trigger's function) are
//! kept by their identity key, `schema.name(argument types)` as `regprocedure`
//! prints it under `search_path = pg_catalog` (built-in ones unqualified), the
//! same key as in `Model::functions`; the SQL names them without the arguments.

use super::model::{Dep, QName, quote_ident, quote_literal};
use serde::{Deserialize, Serialize};

/// A range type (`CREATE TYPE … AS RANGE`). PostgreSQL cannot alter any of
/// these properties in place: a change needs a new type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeType {
    pub name: QName,
    /// The subtype as `format_type` prints it.
    pub subtype: String,
    /// The subtype's B-tree operator class when it is not a default one, qualified.
    pub subtype_opclass: Option<String>,
    /// The collation when it is not the subtype's default, qualified.
    pub collation: Option<String>,
    /// The canonical function, by identity key.
    pub canonical: Option<String>,
    /// The subtype difference function, by identity key.
    pub subtype_diff: Option<String>,
    /// The multirange type PostgreSQL 14 and later create with it; `None` before.
    pub multirange: Option<QName>,
    pub comment: Option<String>,
}

impl RangeType {
    /// True when a column or attribute of type `data_type` (or an array of it)
    /// holds this range or its multirange.
    pub fn is_used_by_type(&self, data_type: &str) -> bool {
        let base = data_type.trim_end_matches("[]");
        base == self.name.sql() || self.multirange.as_ref().is_some_and(|m| base == m.sql())
    }

    /// True when `name` is this range or its multirange.
    pub fn is_named(&self, name: &QName) -> bool {
        *name == self.name || self.multirange.as_ref() == Some(name)
    }

    /// The functions it names, by identity key.
    pub fn functions(&self) -> impl Iterator<Item = &String> {
        self.canonical.iter().chain(self.subtype_diff.iter())
    }
}

/// An aggregate (`CREATE AGGREGATE`), keyed like functions by its identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    pub schema: String,
    pub name: String,
    /// The argument list (`pg_get_function_arguments`), with `ORDER BY` between
    /// the direct and the aggregated arguments of an ordered-set aggregate;
    /// empty for `(*)`.
    pub arguments: String,
    /// The result type (`pg_get_function_result`).
    pub result: String,
    /// `normal`, `ordered-set` or `hypothetical` (`aggkind`).
    pub kind: String,
    /// Direct arguments of an ordered-set or hypothetical aggregate (`aggnumdirectargs`).
    pub direct_args: i16,
    /// State transition function (`SFUNC`), by identity key.
    pub sfunc: String,
    /// State type (`STYPE`) as `format_type` prints it, and its size hint (`SSPACE`, 0 = default).
    pub stype: String,
    pub sspace: i32,
    pub finalfunc: Option<String>,
    pub finalfunc_extra: bool,
    /// `read_only`, `shareable` or `read_write`.
    pub finalfunc_modify: String,
    pub combinefunc: Option<String>,
    pub serialfunc: Option<String>,
    pub deserialfunc: Option<String>,
    pub initcond: Option<String>,
    /// Moving-aggregate mode (`MSFUNC`, `MINVFUNC`, `MSTYPE`…), when it has one.
    pub msfunc: Option<String>,
    pub minvfunc: Option<String>,
    pub mstype: Option<String>,
    pub msspace: i32,
    pub mfinalfunc: Option<String>,
    pub mfinalfunc_extra: bool,
    pub mfinalfunc_modify: String,
    pub minitcond: Option<String>,
    /// The sort operator (`SORTOP`) as `schema.operator`.
    pub sortop: Option<String>,
    /// `safe`, `restricted` or `unsafe`.
    pub parallel: String,
    pub comment: Option<String>,
    /// Types and relations its signature and state use.
    pub depends_on: Vec<Dep>,
}

impl Aggregate {
    /// The support functions it names, by identity key.
    pub fn functions(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.sfunc).chain(
            [
                &self.finalfunc,
                &self.combinefunc,
                &self.serialfunc,
                &self.deserialfunc,
                &self.msfunc,
                &self.minvfunc,
                &self.mfinalfunc,
            ]
            .into_iter()
            .flatten(),
        )
    }

    /// `CREATE OR REPLACE AGGREGATE` keeps the identity, the result type and the
    /// kind: a change to any of them needs a drop and a create.
    pub fn replaceable_by(&self, other: &Aggregate) -> bool {
        self.arguments == other.arguments
            && self.result == other.result
            && self.kind == other.kind
            && self.direct_args == other.direct_args
    }

    /// `schema.name(arguments)` as `DROP`, `ALTER` and `COMMENT ON AGGREGATE` take it.
    pub fn signature(&self) -> String {
        let args = if self.arguments.is_empty() {
            "*"
        } else {
            &self.arguments
        };
        format!("{}({args})", QName::new(&self.schema, &self.name).sql())
    }
}

/// An event trigger (database-wide, not in a schema), keyed by its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventTrigger {
    pub name: String,
    /// `ddl_command_start`, `ddl_command_end`, `sql_drop`, `table_rewrite` or `login`.
    pub event: String,
    /// The command tags of `WHEN TAG IN (…)`, upper case and sorted; empty for all.
    pub tags: Vec<String>,
    /// The function it runs, by identity key.
    pub function: String,
    /// `O` enabled (origin, the default), `D` disabled, `R` replica, `A` always.
    pub enabled: String,
    pub comment: Option<String>,
}

/// The function name of an identity key, for SQL that names a function without
/// its arguments: `public.f(integer)` → `public.f`.
pub fn routine_name(key: &str) -> &str {
    let mut quoted = false;
    for (i, c) in key.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => return &key[..i],
            _ => {}
        }
    }
    key
}

/// The schema-qualified name of an identity key (`pg_catalog` when unqualified).
pub fn routine_qname(key: &str) -> QName {
    let name = routine_name(key);
    QName::parse(name).unwrap_or_else(|| {
        let bare = name
            .strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .map(|n| n.replace("\"\"", "\""))
            .unwrap_or_else(|| name.to_string());
        QName::new("pg_catalog", bare)
    })
}

/// `CREATE TYPE … AS RANGE`.
pub fn create_range(r: &RangeType) -> String {
    let mut opts = vec![format!("SUBTYPE = {}", r.subtype)];
    if let Some(o) = &r.subtype_opclass {
        opts.push(format!("SUBTYPE_OPCLASS = {o}"));
    }
    if let Some(c) = &r.collation {
        opts.push(format!("COLLATION = {c}"));
    }
    if let Some(f) = &r.canonical {
        opts.push(format!("CANONICAL = {}", routine_name(f)));
    }
    if let Some(f) = &r.subtype_diff {
        opts.push(format!("SUBTYPE_DIFF = {}", routine_name(f)));
    }
    if let Some(m) = &r.multirange {
        opts.push(format!("MULTIRANGE_TYPE_NAME = {}", m.sql()));
    }
    format!(
        "CREATE TYPE {} AS RANGE ({});",
        r.name.sql(),
        opts.join(", ")
    )
}

/// `CREATE [OR REPLACE] AGGREGATE`. Modify options are written only when they
/// differ from the default of the aggregate's kind.
pub fn create_aggregate(a: &Aggregate, replace: bool) -> String {
    let mut o = vec![
        format!("SFUNC = {}", routine_name(&a.sfunc)),
        format!("STYPE = {}", a.stype),
    ];
    let default_modify = if a.kind == "normal" {
        "read_only"
    } else {
        "read_write"
    };
    let func = |o: &mut Vec<String>, what: &str, f: &Option<String>| {
        if let Some(f) = f {
            o.push(format!("{what} = {}", routine_name(f)));
        }
    };
    if a.sspace != 0 {
        o.push(format!("SSPACE = {}", a.sspace));
    }
    func(&mut o, "FINALFUNC", &a.finalfunc);
    if a.finalfunc_extra {
        o.push("FINALFUNC_EXTRA".into());
    }
    if a.finalfunc_modify != default_modify {
        o.push(format!(
            "FINALFUNC_MODIFY = {}",
            a.finalfunc_modify.to_uppercase()
        ));
    }
    func(&mut o, "COMBINEFUNC", &a.combinefunc);
    func(&mut o, "SERIALFUNC", &a.serialfunc);
    func(&mut o, "DESERIALFUNC", &a.deserialfunc);
    if let Some(i) = &a.initcond {
        o.push(format!("INITCOND = {}", quote_literal(i)));
    }
    func(&mut o, "MSFUNC", &a.msfunc);
    func(&mut o, "MINVFUNC", &a.minvfunc);
    if let Some(t) = &a.mstype {
        o.push(format!("MSTYPE = {t}"));
    }
    if a.msspace != 0 {
        o.push(format!("MSSPACE = {}", a.msspace));
    }
    func(&mut o, "MFINALFUNC", &a.mfinalfunc);
    if a.mfinalfunc_extra {
        o.push("MFINALFUNC_EXTRA".into());
    }
    if a.mfinalfunc_modify != default_modify {
        o.push(format!(
            "MFINALFUNC_MODIFY = {}",
            a.mfinalfunc_modify.to_uppercase()
        ));
    }
    if let Some(i) = &a.minitcond {
        o.push(format!("MINITCOND = {}", quote_literal(i)));
    }
    if let Some(op) = &a.sortop {
        o.push(format!("SORTOP = OPERATOR({op})"));
    }
    if a.parallel != "unsafe" {
        o.push(format!("PARALLEL = {}", a.parallel.to_uppercase()));
    }
    if a.kind == "hypothetical" {
        o.push("HYPOTHETICAL".into());
    }
    format!(
        "CREATE {}AGGREGATE {} (\n    {}\n);",
        if replace { "OR REPLACE " } else { "" },
        a.signature(),
        o.join(",\n    ")
    )
}

/// `CREATE EVENT TRIGGER` (enabled, the state every new event trigger has).
pub fn create_event_trigger(e: &EventTrigger) -> String {
    let mut s = format!(
        "CREATE EVENT TRIGGER {} ON {}",
        quote_ident(&e.name),
        quote_ident(&e.event)
    );
    if !e.tags.is_empty() {
        let tags: Vec<String> = e.tags.iter().map(|t| quote_literal(t)).collect();
        s.push_str(&format!("\n    WHEN TAG IN ({})", tags.join(", ")));
    }
    s.push_str(&format!(
        "\n    EXECUTE FUNCTION {}();",
        routine_name(&e.function)
    ));
    s
}

/// `ALTER EVENT TRIGGER … ENABLE/DISABLE` for the state `e` wants.
pub fn event_trigger_state(e: &EventTrigger) -> String {
    let state = match e.enabled.as_str() {
        "D" => "DISABLE",
        "R" => "ENABLE REPLICA",
        "A" => "ENABLE ALWAYS",
        _ => "ENABLE",
    };
    format!("ALTER EVENT TRIGGER {} {state};", quote_ident(&e.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routine_names_drop_the_arguments_outside_quotes() {
        assert_eq!(routine_name("public.f(integer)"), "public.f");
        assert_eq!(routine_name("int4pl(integer,integer)"), "int4pl");
        assert_eq!(routine_name("\"a(b\".\"c(\"(text)"), "\"a(b\".\"c(\"");
        assert_eq!(
            routine_qname("int4pl(integer)"),
            QName::new("pg_catalog", "int4pl")
        );
        assert_eq!(routine_qname("\"My S\".f()"), QName::new("My S", "f"));
    }

    /// Event triggers belong to no schema: a scope keeps one (and its owner)
    /// when it keeps its function's schema.
    #[test]
    fn scopes_keep_event_triggers_by_their_function() {
        use crate::catalog::{Model, Scope};
        let mut m = Model::default();
        for (name, function) in [("in_app", "app.f()"), ("elsewhere", "\"Other\".g()")] {
            m.event_triggers.insert(
                name.into(),
                EventTrigger {
                    name: name.into(),
                    event: "ddl_command_end".into(),
                    tags: vec![],
                    function: function.into(),
                    enabled: "O".into(),
                    comment: None,
                },
            );
            m.owners
                .insert(format!("EVENT TRIGGER {name}"), "postgres".into());
        }
        for schema in ["app", "Other"] {
            let name = QName::new(schema, "r");
            m.ranges.insert(
                name.clone(),
                RangeType {
                    name,
                    subtype: "integer".into(),
                    subtype_opclass: None,
                    collation: None,
                    canonical: None,
                    subtype_diff: None,
                    multirange: None,
                    comment: None,
                },
            );
        }
        let mut everything = m.clone();
        Scope::default().apply(&mut everything);
        assert_eq!(everything.event_triggers.len(), 2);
        let only_app = Scope {
            schemas: vec!["app".into()],
            with_owners: true,
            ..Default::default()
        };
        only_app.apply(&mut m);
        assert_eq!(m.event_triggers.keys().collect::<Vec<_>>(), ["in_app"]);
        assert_eq!(
            m.owners.keys().collect::<Vec<_>>(),
            ["EVENT TRIGGER in_app"]
        );
        assert_eq!(
            m.ranges.keys().collect::<Vec<_>>(),
            [&QName::new("app", "r")]
        );
        let without_other = Scope {
            exclude_schemas: vec!["Other".into()],
            ..Default::default()
        };
        let mut m2 = everything.clone();
        without_other.apply(&mut m2);
        assert!(!m2.event_triggers.contains_key("elsewhere"));
    }

    #[test]
    fn zero_argument_aggregates_are_written_with_a_star() {
        let a = Aggregate {
            schema: "public".into(),
            name: "cnt".into(),
            arguments: String::new(),
            result: "bigint".into(),
            kind: "normal".into(),
            direct_args: 0,
            sfunc: "int8inc(bigint)".into(),
            stype: "bigint".into(),
            sspace: 0,
            finalfunc: None,
            finalfunc_extra: false,
            finalfunc_modify: "read_only".into(),
            combinefunc: Some("int8pl(bigint,bigint)".into()),
            serialfunc: None,
            deserialfunc: None,
            initcond: Some("0".into()),
            msfunc: None,
            minvfunc: None,
            mstype: None,
            msspace: 0,
            mfinalfunc: None,
            mfinalfunc_extra: false,
            mfinalfunc_modify: "read_only".into(),
            minitcond: None,
            sortop: None,
            parallel: "safe".into(),
            comment: None,
            depends_on: vec![],
        };
        assert_eq!(a.signature(), "public.cnt(*)");
        assert_eq!(
            create_aggregate(&a, false),
            "CREATE AGGREGATE public.cnt(*) (\n    SFUNC = int8inc,\n    STYPE = bigint,\n    \
             COMBINEFUNC = int8pl,\n    INITCOND = '0',\n    PARALLEL = SAFE\n);"
        );
    }
}
