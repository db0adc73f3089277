//! Identity and serial-style columns: the implicit sequence of an identity
//! that goes, when the plan creates a sequence of the same name, and the
//! counters of sequences that start counting for a column that already holds
//! values.
//!
//! PostgreSQL names an identity's sequence like a serial column's
//! (`<table>_<column>_seq`, `ChooseRelationName`), so an identity column that
//! becomes a serial-style one (an owned sequence and a `nextval` default) needs
//! that name while the identity still holds it: the identity is dropped before
//! the sequences are created. The model does not record the names of identity
//! sequences (they are internal); the name PostgreSQL gives by default is the
//! one that can clash, and dropping an identity early is harmless when it was
//! named otherwise.

use super::*;
use crate::catalog::notnull::make_object_name;

impl Builder<'_> {
    /// Drops, before any sequence is created, the identities whose implicit
    /// sequence would hold the name of a sequence the plan creates: identities
    /// the desired side no longer has, on columns and tables it drops too.
    pub(super) fn release_identities(&mut self) {
        let live = &self.live.model;
        let mut early = Vec::new();
        for t in live.tables.values() {
            for c in t.columns.iter().filter(|c| c.identity.is_some()) {
                let seq = QName::new(
                    t.name.schema.clone(),
                    make_object_name(&t.name.name, &c.name, "seq"),
                );
                if !self.desired.sequences.contains_key(&seq) || live.sequences.contains_key(&seq) {
                    continue;
                }
                let want = self.desired.tables.get(&t.name);
                let kept = want.and_then(|w| w.column(&c.name));
                if kept.is_some_and(|k| k.identity.is_some()) {
                    continue; // the identity stays: its sequence was named otherwise
                }
                early.push((t.name.clone(), c.name.clone(), seq, kept.is_some()));
            }
        }
        for (table, column, seq, kept) in early {
            let title = format!(
                "drop identity of {table}.{column} (its sequence holds the name {seq}, created below)"
            );
            let sql = format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP IDENTITY;",
                table.sql(),
                quote_ident(&column)
            );
            let hz = vec![self.lock(&table, "briefly")];
            if kept {
                self.push(Phase::ReleaseIdentity, title, sql, hz);
            } else {
                // The column or its table is dropped later in the plan.
                self.destructive(Phase::ReleaseIdentity, title, sql, hz);
            }
            self.early_identity_drops.insert((table, column));
        }
    }

    /// After a created sequence is attached to a column that may already hold
    /// values (`OWNED BY` a kept column of a live table): it continues after
    /// the highest one (whatever the table's size: the plan does not depend
    /// on row counts, and the statement does nothing on an empty table).
    pub(super) fn continue_created_sequence(&mut self, s: &Sequence) {
        let Some((table, column)) = &s.owned_by else {
            return;
        };
        let held = self
            .live
            .model
            .tables
            .get(table)
            .is_some_and(|t| t.column(column).is_some())
            && !self.new_tables.contains(table);
        if !held {
            return;
        }
        self.push(
            Phase::SequenceOwner,
            format!(
                "continue sequence {} after the highest {table}.{column}",
                s.name
            ),
            ddl::continue_sequence(&s.name, table, column),
            vec![],
        );
    }

    /// After an identity is added to a column of a live table: its sequence
    /// continues after the column's highest value.
    pub(super) fn continue_added_identity(&mut self, t: &QName, column: &str) {
        if self.new_tables.contains(t) {
            return;
        }
        self.push(
            Phase::AlterColumn,
            format!("continue the identity of {t}.{column} after its highest value"),
            ddl::continue_identity(t, column),
            vec![],
        );
    }
}
