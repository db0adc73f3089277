//! `data-loss`: rows or values are destroyed.

use super::{Found, Sizing};
use crate::hazard::action::{Action, ObjKind, TableCmd};
use crate::hazard::context::{Cx, Outcome, ProbeKey, Reach};
use crate::hazard::{HazardId::DataLoss, Severity};

const HELP_DROP: &str =
    "rename it (…_old) first and drop it in a later release once nothing uses it; keep a backup";

pub fn check(action: &Action, cx: &Cx) -> Vec<Found> {
    let mut out = vec![];
    match action {
        Action::Drop {
            kind,
            objects,
            cascade,
            ..
        } => {
            let cascade_note = if *cascade {
                "; CASCADE also drops every object that depends on it"
            } else {
                ""
            };
            for rel in objects {
                let f = match kind {
                    ObjKind::Table | ObjKind::MatView => Found::new(
                        DataLoss,
                        Severity::Danger,
                        format!(
                            "drops {} {} and all its rows{cascade_note}",
                            kind.word(),
                            cx.name(rel)
                        ),
                    )
                    .sized(rel, Sizing::EmptyIsInfo)
                    .help(HELP_DROP),
                    ObjKind::Schema | ObjKind::Sequence => Found::new(
                        DataLoss,
                        Severity::Danger,
                        format!(
                            "drops {} {rel} and what it holds{cascade_note}",
                            kind.word()
                        ),
                    )
                    .help(HELP_DROP),
                    ObjKind::Extension if *cascade => extension(rel, cx),
                    ObjKind::Type | ObjKind::Domain if *cascade => Found::new(
                        DataLoss,
                        Severity::Danger,
                        format!(
                            "drops {} {rel} with CASCADE: every column of that type is dropped with its values",
                            kind.word()
                        ),
                    ),
                    _ if *cascade => Found::new(
                        DataLoss,
                        Severity::Warning,
                        format!(
                            "drops {} {rel} with CASCADE: dependent objects are dropped too",
                            kind.word()
                        ),
                    )
                    .help("drop the dependents by name first, then drop without CASCADE"),
                    _ => continue,
                };
                out.push(f);
            }
        }
        Action::CreateRule {
            rel,
            name,
            event: event @ ("INSERT" | "UPDATE" | "DELETE"),
            instead: true,
            nothing: true,
            conditional,
        } => out.push(
            Found::new(
                DataLoss,
                Severity::Danger,
                format!(
                    "rule {name}: every {event} on {}{} is silently discarded (DO INSTEAD NOTHING)",
                    cx.name(rel),
                    if *conditional {
                        " that meets its WHERE"
                    } else {
                        ""
                    }
                ),
            )
            .help(
                "refuse the writes with a trigger that raises an error, so clients see them fail",
            ),
        ),
        Action::DropDatabase { name } => {
            let reach = Reach::Database(name.clone()).rel();
            out.push(
                Found::new(
                    DataLoss,
                    Severity::Danger,
                    format!("drops {} and everything in it", cx.name(&reach)),
                )
                .sized(&reach, Sizing::Fixed)
                .help("keep a verified backup (pg_dump -Fc) and drop it in a window of its own"),
            );
        }
        Action::DropOwned { roles, .. } => {
            let reach = Reach::OwnedBy(roles.clone()).rel();
            let who = roles.join(", ");
            let f = match cx.table(&reach) {
                Some(t) if t.members.is_empty() => Found::new(
                    DataLoss,
                    Severity::Warning,
                    format!("drops every object owned by {who} in this database (functions, types, sequences …; no table)"),
                ),
                _ => Found::new(
                    DataLoss,
                    Severity::Danger,
                    format!(
                        "drops every object owned by {who} in this database, tables with their rows: {}",
                        cx.name(&reach)
                    ),
                )
                .sized(&reach, Sizing::EmptyIsInfo),
            };
            out.push(f.help(
                "REASSIGN OWNED BY … TO … first, so that DROP OWNED only revokes privileges",
            ));
        }
        Action::AlterTable {
            rel,
            cmd:
                TableCmd::DropAttribute {
                    attribute,
                    cascade: true,
                },
        } => {
            let reach = Reach::TypedTables(rel.clone()).rel();
            let f = match cx.table(&reach) {
                Some(t) if t.members.is_empty() => Found::new(
                    DataLoss,
                    Severity::Info,
                    format!("drops attribute {attribute} of type {rel}: no typed table uses it"),
                ),
                _ => Found::new(
                    DataLoss,
                    Severity::Danger,
                    format!(
                        "drops attribute {attribute} of type {rel} with CASCADE: column {attribute} of {} is dropped with its values",
                        cx.name(&reach)
                    ),
                )
                .sized(&reach, Sizing::EmptyIsInfo),
            };
            out.push(f);
        }
        Action::Truncate { rels, cascade } => {
            for rel in rels {
                let extra = if *cascade {
                    "; CASCADE also empties every table referencing it"
                } else {
                    ""
                };
                out.push(
                    Found::new(
                        DataLoss,
                        Severity::Danger,
                        format!("empties {}{extra}", cx.name(rel)),
                    )
                    .sized(rel, Sizing::EmptyIsInfo),
                );
            }
        }
        Action::Delete {
            rel,
            has_where: false,
        } => out.push(
            Found::new(
                DataLoss,
                Severity::Danger,
                format!("deletes every row of {} (no WHERE)", cx.name(rel)),
            )
            .sized(rel, Sizing::EmptyIsInfo)
            .help("add a WHERE clause; delete in batches"),
        ),
        Action::Update {
            rel,
            has_where: false,
        } => out.push(
            Found::new(
                DataLoss,
                Severity::Danger,
                format!(
                    "overwrites values in every row of {} (no WHERE)",
                    cx.name(rel)
                ),
            )
            .sized(rel, Sizing::EmptyIsInfo)
            .help("add a WHERE clause; update in batches of a few thousand rows"),
        ),
        Action::AlterTable {
            rel,
            cmd: TableCmd::DropColumn { column, cascade },
        } => {
            let mut detail = format!("drops {}.{column} and its values", cx.name(rel));
            let mut sev = Severity::Danger;
            let key = ProbeKey::NonNull(rel.clone(), column.clone());
            let mut figures = vec![];
            match cx.probe(key.clone()) {
                Some(Outcome::Count(0)) => {
                    detail = format!("drops {}.{column}: it holds no values", cx.name(rel));
                    sev = Severity::Info;
                }
                Some(Outcome::Count(n)) => figures.push(key.parts().1.figure(*n)),
                Some(Outcome::Failed(why)) => figures.push(key.parts().1.failed(why)),
                None => {}
            }
            if *cascade {
                detail.push_str("; CASCADE also drops views and constraints using it");
            }
            let mut f = Found::new(DataLoss, sev, detail)
                .sized(rel, Sizing::EmptyIsInfo)
                .help("stop using the column in the application first, then drop it in a later release");
            f.figures = figures;
            out.push(f);
        }
        Action::AlterTable {
            rel,
            cmd: TableCmd::AlterType { column, to, .. },
        } => {
            // Replacing an enum by a new one without some of its values.
            let Some(new_labels) = cx.file.enums.get(&to.name) else {
                return out;
            };
            let Some(old) = cx.column(rel, column).and_then(|c| c.enum_labels.clone()) else {
                return out;
            };
            let removed: Vec<String> = old
                .into_iter()
                .filter(|l| !new_labels.contains(l))
                .collect();
            if removed.is_empty() {
                return out;
            }
            let list = removed
                .iter()
                .map(|l| format!("'{l}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut f = Found::new(
                DataLoss,
                Severity::Danger,
                format!(
                    "removes enum value(s) {list} from {}.{column}",
                    cx.name(rel)
                ),
            );
            let key = ProbeKey::EnumUses(rel.clone(), column.clone(), removed);
            match cx.probe(key.clone()) {
                Some(Outcome::Count(0)) => {
                    f.detail.push_str(": no row uses them now");
                    f.severity = Severity::Info;
                }
                Some(Outcome::Count(n)) => {
                    f.detail.push_str(": rows use them");
                    f.figures.push(key.parts().1.figure(*n));
                }
                Some(Outcome::Failed(why)) => f.figures.push(key.parts().1.failed(why)),
                None => {}
            }
            out.push(
                f.help("migrate the rows using those values first (UPDATE … SET to a kept value)"),
            );
        }
        _ => {}
    }
    out
}

/// `DROP EXTENSION … CASCADE`: the columns of its types go with it.
fn extension(ext: &crate::hazard::ast::Rel, cx: &Cx) -> Found {
    let reach = Reach::ExtensionColumns(ext.name.clone()).rel();
    match cx.table(&reach) {
        Some(t) if t.members.is_empty() => Found::new(
            DataLoss,
            Severity::Warning,
            format!("drops extension {ext} with CASCADE: the objects that use it are dropped too (no column uses its types)"),
        )
        .help("drop the dependents by name first, then drop without CASCADE"),
        _ => Found::new(
            DataLoss,
            Severity::Danger,
            format!(
                "drops extension {ext} with CASCADE: the columns of its types are dropped with their values ({})",
                cx.name(&reach)
            ),
        )
        .sized(&reach, Sizing::EmptyIsInfo)
        .help("move the columns off its types first, then drop the extension without CASCADE"),
    }
}

/// 1234567 → "1.2M".
pub fn human(n: i64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1}G", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.0}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::ids;
    use super::*;

    #[test]
    fn drops_and_unbounded_writes_lose_data() {
        for sql in [
            "DROP TABLE t",
            "ALTER TABLE t DROP COLUMN c",
            "TRUNCATE t",
            "DELETE FROM t",
            "UPDATE t SET a = 1",
            "DROP SCHEMA s CASCADE",
            "DROP DATABASE shop",
            "DROP OWNED BY app",
            "ALTER TYPE addr DROP ATTRIBUTE zip CASCADE",
            "DROP EXTENSION hstore CASCADE",
            "CREATE RULE r AS ON DELETE TO t DO INSTEAD NOTHING",
        ] {
            assert_eq!(ids(check, sql), vec![(DataLoss, Severity::Danger)], "{sql}");
        }
    }

    #[test]
    fn bounded_writes_and_plain_drops_of_views_do_not() {
        for sql in [
            "DELETE FROM t WHERE id = 1",
            "UPDATE t SET a = 1 WHERE id = 2",
            "DROP VIEW v",
            "DROP INDEX i",
            "ALTER TYPE addr DROP ATTRIBUTE zip",
            "DROP EXTENSION hstore",
        ] {
            assert!(ids(check, sql).is_empty(), "{sql}");
        }
        assert_eq!(
            ids(check, "DROP VIEW v CASCADE"),
            vec![(DataLoss, Severity::Warning)]
        );
    }

    #[test]
    fn counts_are_short() {
        assert_eq!(human(1_234_567), "1.2M");
        assert_eq!(human(999), "999");
    }
}
