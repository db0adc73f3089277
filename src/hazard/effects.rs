//! From an action to its row of the lock table, with the relations it names.

use super::action::*;
use super::ast::{Rel, TypeSpec};
use super::context::{Cx, Reach};
use super::locks::{LockMode, Op, fact};
use super::types;

/// The locks an action takes and what it does to its table.
#[derive(Debug, Clone)]
pub struct Effect {
    pub op: Option<Op>,
    pub table: Rel,
    pub mode: LockMode,
    pub others: Vec<(Rel, LockMode)>,
    pub rewrite: bool,
    pub scan: bool,
}

impl Effect {
    fn from_op(op: Op, table: &Rel, others: Vec<Rel>, cx: &Cx) -> Effect {
        let f = fact(op, cx.major);
        let others = match f.other {
            Some((_, mode)) => others.into_iter().map(|r| (r, mode)).collect(),
            None => vec![],
        };
        Effect {
            op: Some(op),
            table: table.clone(),
            mode: f.table_lock,
            others,
            rewrite: f.rewrite,
            scan: f.scan,
        }
    }

    /// "ACCESS EXCLUSIVE on public.t and ACCESS EXCLUSIVE on public.p".
    pub fn describe(&self, cx: &Cx) -> String {
        let mut s = format!("{} on {}", self.mode, cx.name(&self.table));
        for (r, m) in &self.others {
            s.push_str(&format!(" and {m} on {}", cx.name(r)));
        }
        s
    }

    pub fn strongest(&self) -> LockMode {
        self.others
            .iter()
            .map(|o| o.1)
            .fold(self.mode, LockMode::max)
    }
}

/// Whether a constraint of `rel` named `name` is a foreign key.
pub fn is_foreign_key(rel: &Rel, name: &str, cx: &Cx) -> (bool, Option<Rel>) {
    if let Some(t) = cx.table(rel)
        && let Some((kind, target)) = t.constraints.get(name)
    {
        return (*kind == 'f', target.as_deref().map(qualified));
    }
    let fk = name.ends_with("_fkey")
        || name.ends_with("_fk")
        || name.starts_with("fk_")
        || name.starts_with("FK_");
    (fk, None)
}

/// Whether a constraint of `rel` named `name` is a NOT NULL constraint
/// (PostgreSQL 18): from the database when known, else by its default name.
fn is_not_null(rel: &Rel, name: &str, cx: &Cx) -> bool {
    if let Some(t) = cx.table(rel)
        && let Some((kind, _)) = t.constraints.get(name)
    {
        return *kind == 'n';
    }
    cx.major >= 18 && name.ends_with("_not_null")
}

fn qualified(name: &str) -> Rel {
    match name.split_once('.') {
        Some((s, n)) => Rel::new(Some(s), n),
        None => Rel::new(None, name),
    }
}

/// Whether every column of the index a `PRIMARY KEY USING INDEX` adopts is
/// known to be NOT NULL already (else adopting it sets NOT NULL, by a scan).
pub fn pk_columns_not_null(rel: &Rel, c: &Con, cx: &Cx) -> bool {
    let Some(cols) = c
        .using_index
        .as_deref()
        .and_then(|i| cx.index_columns(rel, i))
    else {
        return false;
    };
    !cols.is_empty()
        && cols
            .iter()
            .all(|col| cx.column_not_null(rel, col) == Some(true))
}

fn alter_op(rel: &Rel, cmd: &TableCmd, cx: &Cx) -> Option<(Op, Vec<Rel>)> {
    Some(match cmd {
        TableCmd::AddColumn(c) if c.generated_stored => (Op::AddColumnStoredGenerated, vec![]),
        TableCmd::AddColumn(c) if c.identity => (Op::AddColumnIdentity, vec![]),
        TableCmd::AddColumn(c) if c.default == Some(Default::Volatile) => {
            (Op::AddColumnVolatileDefault, vec![])
        }
        TableCmd::AddColumn(c) => {
            let refs: Vec<Rel> = c
                .constraints
                .iter()
                .filter_map(|k| k.references.clone())
                .collect();
            if refs.is_empty() {
                let check = c.constraints.iter().any(|k| k.kind == ConKind::Check);
                (
                    if check {
                        Op::AddColumnCheck
                    } else {
                        Op::AddColumn
                    },
                    vec![],
                )
            } else if c.default.is_some() {
                (Op::AddColumnForeignKeyDefault, refs)
            } else {
                (Op::AddColumnForeignKey, refs)
            }
        }
        TableCmd::DropColumn { .. } | TableCmd::DropAttribute { .. } => (Op::DropColumn, vec![]),
        TableCmd::AlterType { column, to, using } => {
            let from = cx.column_type(rel, column);
            // The conversions the column goes through: the assignment cast
            // alone, or `USING col::a::b` then the assignment to `to`. An
            // expression that is not the column through casts (a function,
            // AT TIME ZONE …) is computed for every row: a rewrite (measured).
            let mut chain: Vec<TypeSpec> = from.into_iter().collect();
            match using {
                None => {}
                Some(Using::Cast(casts)) => chain.extend(casts.iter().cloned()),
                Some(Using::AtTimeZone(_) | Using::Expr) => {
                    return Some((Op::AlterColumnType, vec![]));
                }
            }
            if chain.last() != Some(to) {
                chain.push(to.clone());
            }
            let utc = cx.timezone_utc();
            let ts = chain.windows(2).any(|w| {
                types::canon(&w[0].name) == "timestamp" && types::canon(&w[1].name) == "timestamptz"
            });
            let coercible = chain.len() >= 2
                && chain
                    .windows(2)
                    .all(|w| types::binary_coercible(&w[0], &w[1], utc, cx.major) == Some(true));
            match (ts, coercible) {
                (true, _) if utc && coercible => (Op::TimestampToTimestamptzUtc, vec![]),
                (true, _) if utc => (Op::AlterColumnType, vec![]),
                (_, true) => (Op::AlterColumnTypeCoercible, vec![]),
                _ => (Op::AlterColumnType, vec![]),
            }
        }
        TableCmd::SetNotNull { column } if cx.has_valid_not_null_check(rel, column) => {
            (Op::SetNotNullWithCheck, vec![])
        }
        TableCmd::SetNotNull { .. } => (Op::SetNotNull, vec![]),
        TableCmd::DropNotNull { .. } => (Op::DropNotNull, vec![]),
        TableCmd::SetDefault { .. } | TableCmd::DropDefault { .. } => (Op::SetDefault, vec![]),
        TableCmd::AddConstraint(c) => match c.kind {
            ConKind::Check if c.not_valid => (Op::AddCheckNotValid, vec![]),
            ConKind::Check => (Op::AddCheck, vec![]),
            ConKind::ForeignKey if c.not_valid => (
                Op::AddForeignKeyNotValid,
                c.references.clone().into_iter().collect(),
            ),
            ConKind::ForeignKey => (
                Op::AddForeignKey,
                c.references.clone().into_iter().collect(),
            ),
            ConKind::NotNull if c.not_valid => (Op::AddNotNullNotValid, vec![]),
            ConKind::NotNull => (Op::SetNotNull, vec![]),
            ConKind::PrimaryKey if c.using_index.is_some() && !pk_columns_not_null(rel, c, cx) => {
                (Op::AddPrimaryKeyUsingIndex, vec![])
            }
            _ if c.using_index.is_some() => (Op::AddConstraintUsingIndex, vec![]),
            _ => (Op::AddUniqueOrPrimaryKey, vec![]),
        },
        TableCmd::ValidateConstraint { name } => match is_foreign_key(rel, name, cx) {
            (true, target) => (Op::ValidateForeignKey, target.into_iter().collect()),
            _ if is_not_null(rel, name, cx) => (Op::ValidateNotNull, vec![]),
            _ => (Op::ValidateCheck, vec![]),
        },
        TableCmd::DropConstraint { name, .. } => match is_foreign_key(rel, name, cx) {
            (true, target) => (
                Op::DropForeignKey,
                vec![target.unwrap_or(Rel::new(None, "the referenced table"))],
            ),
            _ => (Op::DropCheck, vec![]),
        },
        TableCmd::SetLogged { .. } => (Op::SetLoggedOrUnlogged, vec![]),
        TableCmd::SetTablespace => (Op::SetTablespace, vec![]),
        TableCmd::RowSecurity { .. } => (Op::RowSecurity, vec![]),
        TableCmd::OwnerTo => (Op::OwnerTo, vec![]),
        TableCmd::AttachPartition { part } => (Op::AttachPartition, vec![part.clone()]),
        TableCmd::DetachPartition {
            part,
            concurrent: true,
        } => (Op::DetachPartitionConcurrently, vec![part.clone()]),
        TableCmd::DetachPartition { part, .. } => (Op::DetachPartition, vec![part.clone()]),
        TableCmd::Trigger { .. } => (Op::EnableDisableTrigger, vec![]),
        TableCmd::SetStatistics => (Op::SetStatistics, vec![]),
        TableCmd::SetOptions => (Op::SetFillfactor, vec![]),
        TableCmd::ReplicaIdentity => (Op::ReplicaIdentity, vec![]),
        TableCmd::SetStorage => (Op::SetStorage, vec![]),
        TableCmd::SetCompression => (Op::SetCompression, vec![]),
        TableCmd::SetColumnOptions => (Op::SetColumnOptions, vec![]),
        TableCmd::ClusterOn => (Op::ClusterOn, vec![]),
        TableCmd::SetAccessMethod => (Op::SetAccessMethod, vec![]),
        TableCmd::TypedTable => (Op::TypedTable, vec![]),
        TableCmd::RestartIdentity { .. } => (Op::RestartIdentity, vec![]),
        TableCmd::Other(_) => (Op::DropCheck, vec![]),
    })
}

/// The lock-table row of an action, if it touches a table.
pub fn effect(action: &Action, cx: &Cx) -> Option<Effect> {
    let e = |op, rel: &Rel, others| Some(Effect::from_op(op, rel, others, cx));
    match action {
        Action::CreateTable {
            rel, references, ..
        } if !references.is_empty() => e(
            Op::CreateTableWithFk,
            rel,
            references.iter().filter(|r| *r != rel).cloned().collect(),
        ),
        Action::Drop {
            kind: ObjKind::Table | ObjKind::MatView,
            objects,
            ..
        } => {
            let rel = objects.first()?;
            let mut targets: Vec<Rel> = objects[1..].to_vec();
            if let Some(t) = cx.table(rel) {
                targets.extend(
                    t.constraints
                        .values()
                        .filter(|c| c.0 == 'f')
                        .filter_map(|c| c.1.as_deref().map(qualified)),
                );
            }
            targets.extend(
                cx.file
                    .created_refs
                    .get(&rel.name)
                    .cloned()
                    .unwrap_or_default(),
            );
            e(Op::DropTable, rel, targets)
        }
        Action::Drop {
            kind: ObjKind::Index,
            objects,
            concurrent,
            ..
        } => {
            let idx = objects.first()?;
            let table = cx
                .table(idx)
                .and_then(|t| t.index_of.clone())
                .map(|n| qualified(&n));
            let op = if *concurrent {
                Op::DropIndexConcurrently
            } else {
                Op::DropIndex
            };
            let mut eff = Effect::from_op(op, table.as_ref().unwrap_or(idx), vec![idx.clone()], cx);
            if table.is_none() {
                eff.others.clear();
            }
            Some(eff)
        }
        Action::Drop {
            kind: ObjKind::Trigger,
            on: Some(t),
            ..
        } => e(Op::DropTrigger, t, vec![]),
        Action::Drop {
            kind: ObjKind::Policy,
            on: Some(t),
            ..
        } => e(Op::DropPolicy, t, vec![]),
        Action::Truncate { rels, .. } => e(Op::Truncate, rels.first()?, vec![]),
        // Measured: ACCESS EXCLUSIVE on the type and on its typed tables.
        Action::AlterTable {
            rel,
            cmd: TableCmd::DropAttribute { cascade, .. },
        } => cascade.then(|| {
            Effect::from_op(
                Op::DropColumn,
                &Reach::TypedTables(rel.clone()).rel(),
                vec![],
                cx,
            )
        }),
        Action::AlterTable { rel, cmd } => {
            let (op, others) = alter_op(rel, cmd, cx)?;
            e(op, rel, others)
        }
        Action::CreateIndex {
            rel, concurrent, ..
        } => e(
            if *concurrent {
                Op::CreateIndexConcurrently
            } else {
                Op::CreateIndex
            },
            rel,
            vec![],
        ),
        Action::Reindex {
            concurrent: true,
            rel,
            index,
            ..
        } => e(
            Op::ReindexConcurrently,
            rel.as_ref().or(index.as_ref())?,
            vec![],
        ),
        Action::Reindex { rel: Some(rel), .. } => e(Op::ReindexTable, rel, vec![]),
        Action::Reindex {
            index: Some(idx), ..
        } => {
            let table = cx
                .table(idx)
                .and_then(|t| t.index_of.clone())
                .map(|n| qualified(&n));
            match table {
                Some(t) => e(Op::ReindexIndex, &t, vec![idx.clone()]),
                None => e(Op::ReindexIndex, idx, vec![]),
            }
        }
        Action::Vacuum { rels, full } => e(
            if *full { Op::VacuumFull } else { Op::Vacuum },
            rels.first()?,
            vec![],
        ),
        Action::Cluster { rel: Some(rel) } => e(Op::Cluster, rel, vec![]),
        Action::Cluster { rel: None } => e(Op::ClusterAll, &Reach::Clustered.rel(), vec![]),
        Action::Refresh { rel, concurrent } => e(
            if *concurrent {
                Op::RefreshMatviewConcurrently
            } else {
                Op::RefreshMatview
            },
            rel,
            vec![],
        ),
        Action::Update { rel, .. } => e(Op::Update, rel, vec![]),
        Action::Delete { rel, .. } => e(Op::Delete, rel, vec![]),
        Action::Insert { rel } => e(Op::Insert, rel, vec![]),
        Action::Rename {
            kind: ObjKind::Table | ObjKind::Column | ObjKind::View | ObjKind::MatView,
            rel: Some(r),
            ..
        } => e(
            if matches!(
                action,
                Action::Rename {
                    kind: ObjKind::Column,
                    ..
                }
            ) {
                Op::RenameColumn
            } else {
                Op::RenameTable
            },
            r,
            vec![],
        ),
        Action::Rename {
            kind: ObjKind::Index,
            rel: Some(r),
            ..
        } => e(Op::RenameIndex, r, vec![]),
        Action::SetSchema {
            kind: ObjKind::Table | ObjKind::View | ObjKind::MatView | ObjKind::Sequence,
            rel: Some(r),
            ..
        } => e(Op::SetSchema, r, vec![]),
        Action::CreateRule { rel, .. } => e(Op::CreateRule, rel, vec![]),
        Action::Policy { rel, .. } => e(Op::CreatePolicy, rel, vec![]),
        Action::CreateTrigger { rel, .. } => e(Op::CreateTrigger, rel, vec![]),
        Action::AlterSequence { rel, .. } => e(Op::AlterSequence, rel, vec![]),
        Action::Comment { rel: Some(r) } => e(Op::CommentOn, r, vec![]),
        Action::AlterDomain { domain, op } => {
            let op = match op {
                DomainOp::AddConstraint { not_valid: false } => Op::DomainAddConstraint,
                DomainOp::SetNotNull => Op::DomainSetNotNull,
                DomainOp::Validate { .. } => Op::DomainValidateConstraint,
                _ => return None,
            };
            e(op, &Reach::DomainUsers(domain.clone()).rel(), vec![])
        }
        Action::Lock { rels, mode } => Some(Effect {
            op: None,
            table: rels.first()?.clone(),
            mode: *mode,
            others: rels[1..].iter().map(|r| (r.clone(), *mode)).collect(),
            rewrite: false,
            scan: false,
        }),
        _ => None,
    }
}
