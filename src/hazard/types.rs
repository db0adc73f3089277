//! Column type changes: which ones keep the table's bytes (binary-coercible, no
//! rewrite) and which can lose or reject values.

use super::ast::TypeSpec;

/// The canonical name of a type as written or as in `pg_type.typname`.
pub fn canon(name: &str) -> &str {
    match name {
        "integer" | "int" | "serial" | "serial4" => "int4",
        "bigint" | "bigserial" | "serial8" => "int8",
        "smallint" | "smallserial" | "serial2" => "int2",
        "decimal" => "numeric",
        "float" | "double precision" => "float8",
        "real" => "float4",
        "boolean" => "bool",
        "character varying" => "varchar",
        "character" | "char" => "bpchar",
        other => other,
    }
}

const TEXTUAL: &[&str] = &["text", "varchar", "bpchar", "citext", "name"];
const INTS: &[&str] = &["int2", "int4", "int8"];

fn rank(int: &str) -> usize {
    INTS.iter().position(|i| *i == int).unwrap_or(0)
}

/// Whether a length/precision limit `to` keeps every value of `from` (None = none).
fn wider_or_equal(from: Option<i64>, to: Option<i64>) -> bool {
    match (from, to) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(f), Some(t)) => t >= f,
    }
}

/// Whether `from → to` needs no table rewrite. `None` when pgalign cannot tell.
pub fn binary_coercible(
    from: &TypeSpec,
    to: &TypeSpec,
    timezone_utc: bool,
    major: u32,
) -> Option<bool> {
    if from.array != to.array {
        return Some(false);
    }
    let (f, t) = (canon(&from.name), canon(&to.name));
    let (fm, tm) = (from.mods.first().copied(), to.mods.first().copied());
    Some(match (f, t) {
        _ if f == t && from.mods == to.mods => true,
        ("varchar", "varchar") | ("varbit", "varbit") => wider_or_equal(fm, tm),
        ("varchar", "text") | ("text", "varchar") if tm.is_none() => true,
        ("varchar", "text") => true,
        ("numeric", "numeric") => {
            to.mods.is_empty()
                || (!from.mods.is_empty()
                    && from.mods.get(1).copied().unwrap_or(0)
                        == to.mods.get(1).copied().unwrap_or(0)
                    && wider_or_equal(fm, tm))
        }
        ("timestamp" | "timestamptz" | "time" | "interval", _) if f == t => wider_or_equal(fm, tm),
        ("cidr", "inet") => true,
        ("timestamp", "timestamptz") | ("timestamptz", "timestamp") => timezone_utc && major >= 12,
        _ if known(f) && known(t) => false,
        _ => return None,
    })
}

fn known(t: &str) -> bool {
    TEXTUAL.contains(&t)
        || INTS.contains(&t)
        || [
            "numeric",
            "float4",
            "float8",
            "bool",
            "date",
            "timestamp",
            "timestamptz",
            "time",
            "timetz",
            "interval",
            "uuid",
            "json",
            "jsonb",
            "bytea",
            "inet",
            "cidr",
            "varbit",
            "bit",
            "money",
        ]
        .contains(&t)
}

/// Why `from → to` can lose or reject values; `None` when it cannot (or is unknown).
pub fn lossy(from: &TypeSpec, to: &TypeSpec) -> Option<String> {
    let (f, t) = (canon(&from.name), canon(&to.name));
    let (fm, tm) = (from.mods.first().copied(), to.mods.first().copied());
    if from.array && !to.array {
        return Some("arrays do not cast to scalars".into());
    }
    match (f, t) {
        _ if f == t && from.mods == to.mods => None,
        ("varchar" | "text" | "citext" | "bpchar", "varchar" | "bpchar")
            if !wider_or_equal(fm, tm) =>
        {
            Some(format!(
                "values longer than {} characters are rejected",
                tm.unwrap_or(1)
            ))
        }
        (_, "varchar" | "text" | "citext") => None,
        (_, "bpchar") if tm.is_some_and(|n| n < 20) => Some(format!(
            "values longer than {} characters are rejected",
            tm.unwrap_or(1)
        )),
        ("numeric", "numeric")
            if !binary_coercible(from, to, false, 99).unwrap_or(false) && !to.mods.is_empty() =>
        {
            Some("values are rounded or rejected by the smaller precision or scale".into())
        }
        (a, b) if INTS.contains(&a) && INTS.contains(&b) && rank(b) < rank(a) => {
            Some("values out of range are rejected".into())
        }
        (a, b) if INTS.contains(&a) && (b == "numeric" || b == "float8" || INTS.contains(&b)) => {
            None
        }
        ("numeric" | "float4" | "float8", b) if INTS.contains(&b) => {
            Some("fractions are rounded and large values rejected".into())
        }
        ("float8", "float4") => Some("precision is lost".into()),
        ("timestamptz", "timestamp") => Some("the time zone offset is dropped".into()),
        ("timestamptz" | "timestamp", "date") => Some("the time of day is dropped".into()),
        ("timestamp", "timestamptz")
        | ("date", "timestamp" | "timestamptz")
        | ("int2" | "int4", "numeric") => None,
        ("json", "jsonb") => None,
        (a, _) if TEXTUAL.contains(&a) => {
            Some(format!("values that do not parse as {to} are rejected"))
        }
        (a, b) if known(a) && known(b) && a != b => {
            Some(format!("not every value of {from} converts to {to}"))
        }
        (a, b) if a == b => None,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, mods: &[i64]) -> TypeSpec {
        TypeSpec::with_mods(name, mods)
    }

    #[test]
    fn widening_varchar_and_numeric_does_not_rewrite() {
        assert_eq!(
            binary_coercible(&t("varchar", &[10]), &t("varchar", &[20]), false, 15),
            Some(true)
        );
        assert_eq!(
            binary_coercible(&t("varchar", &[10]), &t("text", &[]), false, 15),
            Some(true)
        );
        assert_eq!(
            binary_coercible(&t("numeric", &[10, 2]), &t("numeric", &[12, 2]), false, 15),
            Some(true)
        );
        assert_eq!(
            binary_coercible(&t("int4", &[]), &t("int8", &[]), false, 15),
            Some(false)
        );
        assert_eq!(
            binary_coercible(&t("mood", &[]), &t("text", &[]), false, 15),
            None
        );
    }

    #[test]
    fn timestamp_to_timestamptz_rewrites_unless_utc() {
        let (a, b) = (t("timestamp", &[]), t("timestamptz", &[]));
        assert_eq!(binary_coercible(&a, &b, false, 15), Some(false));
        assert_eq!(binary_coercible(&a, &b, true, 15), Some(true));
        assert_eq!(binary_coercible(&a, &b, true, 11), Some(false));
    }

    #[test]
    fn narrowing_is_lossy_and_widening_is_not() {
        assert!(lossy(&t("varchar", &[20]), &t("varchar", &[10])).is_some());
        assert!(lossy(&t("text", &[]), &t("int4", &[])).is_some());
        assert!(lossy(&t("int8", &[]), &t("int4", &[])).is_some());
        assert!(lossy(&t("int4", &[]), &t("int8", &[])).is_none());
        assert!(lossy(&t("varchar", &[10]), &t("text", &[])).is_none());
        assert!(lossy(&t("int4", &[]), &t("text", &[])).is_none());
    }
}
