//! `may-fail`: the statement depends on existing data; a blocker when a probe
//! shows it will certainly fail.

use super::{Found, Sizing};
use crate::hazard::action::{Action, ConKind, DomainOp, ObjKind, TableCmd};
use crate::hazard::context::Reach;
use crate::hazard::context::{Cx, Outcome, ProbeKey};
use crate::hazard::effects::pk_columns_not_null;
use crate::hazard::{HazardId::MayFail, Severity};

fn duplicates(rel: &crate::hazard::ast::Rel, cols: &[String], what: &str, cx: &Cx) -> Found {
    let name = cx.name(rel);
    let list = cols.join(", ");
    let mut f = Found::new(
        MayFail,
        Severity::Warning,
        format!("{what} fails if {name} has duplicate ({list})"),
    )
    .sized(rel, Sizing::EmptyIsInfo)
    .help(format!(
        "check first: SELECT {list}, count(*) FROM {name} GROUP BY {list} HAVING count(*) > 1"
    ));
    if !cols.is_empty() {
        let key = ProbeKey::Duplicates(rel.clone(), cols.to_vec());
        match cx.probe(key.clone()) {
            Some(Outcome::Count(0)) => {
                f.severity = Severity::Info;
                f.detail = format!("{what} on {name} ({list}): no duplicates now");
            }
            Some(Outcome::Count(n)) => {
                f.severity = Severity::Blocker;
                f.detail = format!("{what} will fail: {name} has duplicate ({list})");
                f.figures.push(key.parts().1.figure(*n));
            }
            Some(Outcome::Failed(why)) => f.figures.push(key.parts().1.failed(why)),
            None => {}
        }
    }
    f
}

/// `ADD PRIMARY KEY USING INDEX` over columns that may hold NULLs: it sets
/// them NOT NULL and fails on a NULL (probed per column when they are known).
fn pk_nulls(rel: &crate::hazard::ast::Rel, c: &crate::hazard::action::Con, cx: &Cx) -> Found {
    let name = cx.name(rel);
    let index = c.using_index.clone().unwrap_or_default();
    let cols = cx.index_columns(rel, &index);
    let list = cols
        .as_ref()
        .map(|c| c.join(", "))
        .unwrap_or_else(|| "the index's columns".into());
    let mut f = Found::new(
        MayFail,
        Severity::Warning,
        format!("ADD PRIMARY KEY USING INDEX {index} fails if {list} of {name} hold NULLs"),
    )
    .sized(rel, Sizing::EmptyIsInfo)
    .help("backfill the NULLs and make the columns NOT NULL first");
    let Some(cols) = cols else { return f };
    let mut counts = Some(0);
    for col in cols
        .iter()
        .filter(|col| cx.column_not_null(rel, col) != Some(true))
    {
        let key = ProbeKey::Nulls(rel.clone(), col.clone());
        match cx.probe(key.clone()) {
            Some(Outcome::Count(n)) => {
                counts = counts.map(|c| c + n);
                if *n > 0 {
                    f.figures.push(key.parts().1.figure(*n));
                }
            }
            Some(Outcome::Failed(why)) => {
                counts = None;
                f.figures.push(key.parts().1.failed(why));
            }
            None => counts = None,
        }
    }
    match counts {
        Some(0) => {
            f.severity = Severity::Info;
            f.detail =
                format!("ADD PRIMARY KEY USING INDEX {index} on {name}: no NULLs in {list} now");
        }
        Some(_) => {
            f.severity = Severity::Blocker;
            f.detail = format!(
                "ADD PRIMARY KEY USING INDEX {index} will fail: {list} of {name} hold NULLs"
            );
        }
        None => {}
    }
    f
}

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let mut out = vec![];
    match action {
        Action::AlterTable { rel, cmd } if !cx.is_new(rel) => match cmd {
            TableCmd::SetNotNull { column } => {
                let name = format!("{}.{column}", cx.name(rel));
                let mut f = Found::new(
                    MayFail,
                    Severity::Warning,
                    format!("SET NOT NULL fails if {name} has NULLs"),
                )
                .sized(rel, Sizing::EmptyIsInfo)
                .help(format!(
                    "backfill first; check with SELECT count(*) FROM {} WHERE {column} IS NULL",
                    cx.name(rel)
                ));
                let key = ProbeKey::Nulls(rel.clone(), column.clone());
                match cx.probe(key.clone()) {
                    Some(Outcome::Count(0)) => {
                        f.severity = Severity::Info;
                        f.detail = format!("SET NOT NULL on {name}: no NULLs now");
                    }
                    Some(Outcome::Count(n)) => {
                        f.severity = Severity::Blocker;
                        f.detail = format!("SET NOT NULL will fail: {name} holds NULLs");
                        f.figures.push(key.parts().1.figure(*n));
                    }
                    Some(Outcome::Failed(why)) => f.figures.push(key.parts().1.failed(why)),
                    None => {}
                }
                out.push(f);
            }
            TableCmd::AddConstraint(c)
                if c.kind == ConKind::PrimaryKey
                    && c.using_index.is_some()
                    && !pk_columns_not_null(rel, c, cx) =>
            {
                out.push(pk_nulls(rel, c, cx));
            }
            TableCmd::AddConstraint(c)
                if matches!(c.kind, ConKind::Unique | ConKind::PrimaryKey)
                    && c.using_index.is_none() =>
            {
                out.push(duplicates(
                    rel,
                    &c.columns,
                    &format!("ADD {}", c.kind.word()),
                    cx,
                ));
            }
            TableCmd::ValidateConstraint { name } => {
                let mut f = Found::new(
                    MayFail,
                    Severity::Warning,
                    format!(
                        "VALIDATE CONSTRAINT {name} fails if rows of {} violate it",
                        cx.name(rel)
                    ),
                )
                .sized(rel, Sizing::EmptyIsInfo);
                if let Some(expr) = cx.check_expr(rel, name) {
                    let key = ProbeKey::Violates(rel.clone(), expr);
                    match cx.probe(key.clone()) {
                        Some(Outcome::Count(0)) => {
                            f.severity = Severity::Info;
                            f.detail = format!(
                                "VALIDATE CONSTRAINT {name} on {}: no row violates it now",
                                cx.name(rel)
                            );
                        }
                        Some(Outcome::Count(n)) => {
                            f.severity = Severity::Blocker;
                            f.detail = format!(
                                "VALIDATE CONSTRAINT {name} will fail: rows of {} violate it",
                                cx.name(rel)
                            );
                            f.figures.push(key.parts().1.figure(*n));
                        }
                        Some(Outcome::Failed(why)) => f.figures.push(key.parts().1.failed(why)),
                        None => {}
                    }
                }
                out.push(f);
            }
            // A validated CHECK fails on the first violating row: flagged
            // when the probe finds one (else the scan is the finding).
            TableCmd::AddConstraint(c)
                if c.kind == ConKind::Check && !c.not_valid && c.check.is_some() =>
            {
                let key = ProbeKey::Violates(rel.clone(), c.check.clone().unwrap_or_default());
                if let Some(Outcome::Count(n)) = cx.probe(key.clone())
                    && *n > 0
                {
                    out.push(
                        Found::new(
                            MayFail,
                            Severity::Blocker,
                            format!(
                                "ADD {} will fail: rows of {} violate it",
                                c.label(),
                                cx.name(rel)
                            ),
                        )
                        .figure(key.parts().1.figure(*n)),
                    );
                }
            }
            TableCmd::AddColumn(c)
                if c.not_null && c.default.is_none() && !c.identity && !c.generated_stored =>
            {
                let name = cx.name(rel);
                let mut f = Found::new(
                    MayFail,
                    Severity::Warning,
                    format!("adds NOT NULL column {name}.{} without a default: fails unless {name} is empty", c.name),
                )
                .sized(rel, Sizing::EmptyIsInfo)
                .help("add it nullable (or with a DEFAULT), backfill, then SET NOT NULL");
                if let Some(t) = cx.table(rel)
                    && t.size.rows.is_some_and(|r| r > 0.0)
                {
                    f.severity = Severity::Blocker;
                    f.detail = format!(
                        "adds NOT NULL column {name}.{} without a default: will fail, {name} has rows",
                        c.name
                    );
                }
                out.push(f);
            }
            TableCmd::AddColumn(c) => {
                for k in c
                    .constraints
                    .iter()
                    .filter(|k| matches!(k.kind, ConKind::Unique | ConKind::PrimaryKey))
                {
                    if c.default.is_some() {
                        out.push(duplicates(
                            rel,
                            std::slice::from_ref(&c.name),
                            &format!("ADD COLUMN … {}", k.kind.word()),
                            cx,
                        ));
                    }
                }
            }
            _ => {}
        },
        Action::AlterDomain { domain, op } => {
            let what = match op {
                DomainOp::SetNotNull => "a column of the domain holds NULLs",
                DomainOp::Validate { .. } => "a stored value violates the constraint",
                _ => return out,
            };
            out.push(
                Found::new(
                    MayFail,
                    Severity::Warning,
                    format!("ALTER DOMAIN {domain} fails if {what}"),
                )
                .sized(
                    &Reach::DomainUsers(domain.clone()).rel(),
                    Sizing::EmptyIsInfo,
                ),
            );
        }
        Action::CreateIndex {
            rel,
            unique: true,
            columns,
            name,
            ..
        } if !cx.is_new(rel) => {
            out.push(duplicates(
                rel,
                columns,
                &format!("CREATE UNIQUE INDEX {name}"),
                cx,
            ));
        }
        Action::Drop {
            kind: ObjKind::Table,
            objects,
            cascade: false,
            ..
        } => {
            // Keys the file dropped before, or whose table it drops before or
            // in the same statement, no longer stand in the way.
            let gone = |table: &str| {
                let bare = bare_name(table);
                cx.file.dropped_tables.contains(&bare) || objects.iter().any(|o| o.name == bare)
            };
            for rel in objects {
                let Some(t) = cx.table(rel) else { continue };
                let mut from: Vec<&str> = Vec::new();
                for (table, con) in &t.foreign_keys_in {
                    let dropped = cx
                        .file
                        .dropped_constraints
                        .contains(&(bare_name(table), con.clone()));
                    if !dropped && !gone(table) && !from.contains(&table.as_str()) {
                        from.push(table);
                    }
                }
                if !from.is_empty() {
                    out.push(Found::new(
                        MayFail,
                        Severity::Blocker,
                        format!(
                            "DROP TABLE {} will fail: foreign keys of {} point to it",
                            t.name,
                            from.join(", ")
                        ),
                    ));
                }
            }
        }
        _ => {}
    }
    out
}

/// `public."My T"` → `My T`: the table part of a `regclass` text.
fn bare_name(regclass: &str) -> String {
    let mut last = String::new();
    let mut quoted = false;
    let mut chars = regclass.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                last.push('"');
            }
            '"' => quoted = !quoted,
            '.' if !quoted => last.clear(),
            c => last.push(c),
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn data_dependent_statements_may_fail() {
        for sql in [
            "ALTER TABLE t ALTER COLUMN c SET NOT NULL",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)",
            "ALTER TABLE t ADD PRIMARY KEY (id)",
            "ALTER TABLE t VALIDATE CONSTRAINT c",
            "ALTER TABLE t ADD COLUMN c int NOT NULL",
            "CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)",
            "ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY USING INDEX t_id_key",
            "ALTER DOMAIN d SET NOT NULL",
            "ALTER DOMAIN d VALIDATE CONSTRAINT c",
        ] {
            assert_eq!(ids(check, sql), vec![(MayFail, Severity::Warning)], "{sql}");
        }
    }

    #[test]
    fn a_drop_table_fails_only_while_foreign_keys_still_point_to_it() {
        use crate::hazard::context::{DbFacts, LintContext, TableFacts};
        use crate::hazard::{ast::Rel, lint_sql};
        let gone_a = TableFacts {
            name: "public.gone_a".into(),
            kind: 'r',
            referenced_by: vec!["gone_b".into(), "\"My Keep\"".into()],
            foreign_keys_in: vec![
                ("gone_b".into(), "gone_b_a_fkey".into()),
                ("\"My Keep\"".into(), "keep_a_fkey".into()),
            ],
            ..Default::default()
        };
        let mut db = DbFacts::default();
        db.tables.insert(Rel::new(Some("public"), "gone_a"), gone_a);
        let ctx = LintContext {
            db: Some(db),
            ..Default::default()
        };
        let blockers = |sql: &str| -> Vec<String> {
            lint_sql(sql, &ctx)
                .unwrap()
                .statements
                .iter()
                .flat_map(|s| s.hazards.iter())
                .filter(|h| h.id == MayFail && h.severity == Severity::Blocker)
                .map(|h| h.detail.clone())
                .collect()
        };
        assert_eq!(
            blockers("DROP TABLE public.gone_a;"),
            vec![
                "DROP TABLE public.gone_a will fail: foreign keys of gone_b, \"My Keep\" point to it"
            ]
        );
        assert_eq!(
            blockers(
                "ALTER TABLE public.\"My Keep\" DROP CONSTRAINT keep_a_fkey;\nDROP TABLE public.gone_a;"
            ),
            vec!["DROP TABLE public.gone_a will fail: foreign keys of gone_b point to it"]
        );
        assert!(
            blockers(
                "ALTER TABLE public.\"My Keep\" DROP CONSTRAINT keep_a_fkey;\nDROP TABLE public.gone_b;\nDROP TABLE public.gone_a;"
            )
            .is_empty()
        );
        assert!(
            blockers("ALTER TABLE public.\"My Keep\" DROP CONSTRAINT keep_a_fkey;\nDROP TABLE public.gone_a, public.gone_b;")
                .is_empty()
        );
        assert_eq!(super::bare_name("\"My \"\"S\".\"a.b\""), "a.b");
    }

    #[test]
    fn safe_forms_do_not() {
        for sql in [
            "ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0",
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE USING INDEX i",
            "CREATE INDEX i ON t (a)",
        ] {
            assert!(ids(check, sql).is_empty(), "{sql}");
        }
    }
}
