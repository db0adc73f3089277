//! PostgreSQL 18's NOT NULL constraints (`pg_constraint.contype = 'n'`): the
//! name PostgreSQL gives one by default, and their SQL.
//!
//! From PostgreSQL 18 every NOT NULL column has a named constraint, which may be
//! `NOT VALID` or `NO INHERIT`. The model keeps them on the column
//! ([`Column::not_null_name`], [`Column::not_null_not_valid`],
//! [`Column::not_null_no_inherit`]), the name only when it is not the default,
//! so a plain schema reads the same from every version.

use super::model::*;

/// PostgreSQL's identifier limit (`NAMEDATALEN - 1`), in bytes.
const MAX_IDENT: usize = 63;

/// `makeObjectName` of PostgreSQL (`src/backend/commands/indexcmds.c`):
/// `name1_name2_label`, where the longer of the two names is cut a byte at a
/// time until the whole fits in 63 bytes, then each cut back to a character
/// boundary (`pg_mbcliplen`; names arrive here as UTF-8).
pub fn make_object_name(name1: &str, name2: &str, label: &str) -> String {
    let overhead = 1 + label.len() + 1;
    let avail = MAX_IDENT.saturating_sub(overhead);
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    format!("{}_{}_{label}", clip(name1, n1), clip(name2, n2))
}

/// The name PostgreSQL 18 gives the NOT NULL constraint of `column` of table
/// `table` when none is given: `ChooseConstraintName(table, column, "not_null")`.
/// PostgreSQL appends a number to the label (`…_not_null1`) when that name is
/// already taken by a constraint in the schema; such a name depends on what
/// existed when it was chosen, so the model keeps it as an explicit name.
pub fn default_name(table: &str, column: &str) -> String {
    make_object_name(table, column, "not_null")
}

/// The name the model keeps for a NOT NULL constraint read from the catalog:
/// `None` when it is the default one.
pub fn model_name(table: &str, column: &str, conname: &str) -> Option<String> {
    (conname != default_name(table, column)).then(|| conname.to_string())
}

impl Column {
    /// True when the column's NOT NULL (if any) is what a plain `NOT NULL`
    /// creates on every version: default name, validated, inherited.
    pub fn not_null_is_plain(&self) -> bool {
        self.not_null_name.is_none() && !self.not_null_not_valid && !self.not_null_no_inherit
    }

    /// The real name of the column's NOT NULL constraint on PostgreSQL 18, in
    /// table `table`.
    pub fn not_null_constraint_name(&self, table: &str) -> String {
        self.not_null_name
            .clone()
            .unwrap_or_else(|| default_name(table, &self.name))
    }

    /// The same column with its NOT NULL constraint as a plain `NOT NULL`
    /// (what servers before 18 can hold).
    pub fn with_plain_not_null(&self) -> Column {
        Column {
            not_null_name: None,
            not_null_not_valid: false,
            not_null_no_inherit: false,
            ..self.clone()
        }
    }
}

/// The NOT NULL part of a column definition in `CREATE TABLE` or `ADD COLUMN`:
/// `NOT NULL`, `CONSTRAINT name NOT NULL`, `… NO INHERIT`. Empty when the
/// column is nullable, when its constraint is `NOT VALID` (added after the
/// column, see [`add_not_null`]: inside `CREATE TABLE` it would be validated),
/// or for a plain identity column (identity implies it).
pub fn column_clause(c: &Column) -> String {
    if !c.not_null || c.not_null_not_valid || (c.identity.is_some() && c.not_null_is_plain()) {
        return String::new();
    }
    let mut s = String::new();
    if let Some(name) = &c.not_null_name {
        s.push_str(&format!(" CONSTRAINT {}", quote_ident(name)));
    }
    s.push_str(" NOT NULL");
    if c.not_null_no_inherit {
        s.push_str(" NO INHERIT");
    }
    s
}

/// `ALTER TABLE … ADD CONSTRAINT name NOT NULL col [NOT VALID] [NO INHERIT];`
/// (PostgreSQL 18), named explicitly even when the name is the default one, so
/// the later steps that name it (`VALIDATE CONSTRAINT`) find it whatever else
/// the schema holds.
pub fn add_not_null(table: &QName, c: &Column, not_valid: bool) -> String {
    format!(
        "ALTER TABLE {} {};",
        table.sql(),
        add_not_null_clause(&table.name, c, not_valid)
    )
}

/// The `ADD CONSTRAINT name NOT NULL col [NOT VALID] [NO INHERIT]` subcommand.
pub fn add_not_null_clause(table: &str, c: &Column, not_valid: bool) -> String {
    format!(
        "ADD CONSTRAINT {} NOT NULL {}{}{}",
        quote_ident(&c.not_null_constraint_name(table)),
        quote_ident(&c.name),
        if not_valid { " NOT VALID" } else { "" },
        if c.not_null_no_inherit {
            " NO INHERIT"
        } else {
            ""
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected names as PostgreSQL 18.4 chose them (`CREATE TABLE … NOT NULL`,
    // then `SELECT conname FROM pg_constraint WHERE contype = 'n'`).
    #[test]
    fn default_names_match_postgresql() {
        assert_eq!(default_name("t", "a"), "t_a_not_null");
        assert_eq!(default_name("t_a", "b"), "t_a_b_not_null");
        let long_table = "t".repeat(62);
        assert_eq!(
            default_name(&long_table, "c"),
            format!("{}_c_not_null", "t".repeat(52))
        );
        assert_eq!(
            default_name(&long_table, &"c".repeat(62)),
            format!("{}_{}_not_null", "t".repeat(27), "c".repeat(26))
        );
        // Cut by bytes, then back to a character boundary.
        let table = format!("{}x", "Ü".repeat(31));
        let column = format!("{}y", "Ä".repeat(31));
        assert_eq!(
            default_name(&table, &column),
            format!("{}_{}_not_null", "Ü".repeat(13), "Ä".repeat(13))
        );
        assert_eq!(
            default_name(&table, "short"),
            format!("{}_short_not_null", "Ü".repeat(24))
        );
        for n in [
            default_name(&long_table, "c"),
            default_name(&table, &column),
        ] {
            assert!(n.len() <= 63, "{n}");
        }
    }

    #[test]
    fn only_other_names_are_kept() {
        assert_eq!(model_name("t", "a", "t_a_not_null"), None);
        assert_eq!(
            model_name("t", "a", "a_is_required"),
            Some("a_is_required".into())
        );
        // A number added to avoid a clash is not the default.
        assert_eq!(
            model_name("t", "a", "t_a_not_null1"),
            Some("t_a_not_null1".into())
        );
    }
}
