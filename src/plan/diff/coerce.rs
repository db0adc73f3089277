//! Which column type changes need no rewrite, and which cannot lose values.

/// True when changing `from` to `to` needs no rewrite (binary-coercible).
pub fn binary_coercible(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    let (fb, fa) = split_type(from);
    let (tb, ta) = split_type(to);
    match (fb, tb) {
        ("character varying", "character varying") => match (fa, ta) {
            (Some(_), None) => true,
            (Some(a), Some(b)) => b[0] >= a[0],
            _ => false,
        },
        ("character varying", "text") => true,
        ("numeric", "numeric") => match (fa, ta) {
            (Some(a), None) => !a.is_empty(),
            (Some(a), Some(b)) => {
                let (ap, as_) = (a[0], a.get(1).copied().unwrap_or(0));
                let (bp, bs) = (b[0], b.get(1).copied().unwrap_or(0));
                as_ == bs && bp >= ap
            }
            _ => false,
        },
        ("bit varying", "bit varying") => match (fa, ta) {
            (Some(a), Some(b)) => b[0] >= a[0],
            (Some(_), None) => true,
            _ => false,
        },
        _ => false,
    }
}

/// True when every value of `from` fits `to` unchanged (no lossy cast).
pub fn widening(from: &str, to: &str) -> bool {
    if binary_coercible(from, to) {
        return true;
    }
    const INTS: [&str; 3] = ["smallint", "integer", "bigint"];
    let rank = |t: &str| INTS.iter().position(|i| *i == t);
    if let (Some(a), Some(b)) = (rank(from), rank(to)) {
        return b >= a;
    }
    let (fb, fa) = split_type(from);
    let (tb, ta) = split_type(to);
    match (fb, tb) {
        ("character", "character varying") | ("character", "text") => {
            ta.is_none() || ta.zip(fa).is_some_and(|(b, a)| b[0] >= a[0])
        }
        ("integer" | "smallint", "numeric") | ("smallint" | "integer", "double precision") => {
            ta.is_none()
        }
        ("real", "double precision") => true,
        ("timestamp without time zone", "timestamp with time zone") => false,
        ("json", "jsonb") => true,
        _ => INTS.contains(&fb) && (tb == "text" || tb == "character varying" && ta.is_none()),
    }
}

/// `character varying(120)` → (`character varying`, Some([120])).
fn split_type(t: &str) -> (&str, Option<Vec<i64>>) {
    match t.find('(') {
        Some(i) if t.ends_with(')') => {
            let args = t[i + 1..t.len() - 1]
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
            (&t[..i], Some(args))
        }
        _ => (t, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_which_type_changes_skip_the_rewrite() {
        assert!(binary_coercible(
            "character varying(50)",
            "character varying(120)"
        ));
        assert!(binary_coercible("character varying(50)", "text"));
        assert!(binary_coercible(
            "character varying(50)",
            "character varying"
        ));
        assert!(binary_coercible("numeric(10,2)", "numeric(12,2)"));
        assert!(!binary_coercible("numeric(10,2)", "numeric(12,3)"));
        assert!(!binary_coercible(
            "character varying(120)",
            "character varying(50)"
        ));
        assert!(!binary_coercible("integer", "bigint"));
        assert!(!binary_coercible("text", "integer"));
    }

    #[test]
    fn knows_which_type_changes_may_lose_values() {
        assert!(widening("integer", "bigint"));
        assert!(widening("character varying(50)", "character varying(120)"));
        assert!(!widening("bigint", "integer"));
        assert!(!widening("text", "integer"));
        assert!(!widening("character varying(120)", "character varying(50)"));
    }
}
