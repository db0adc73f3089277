//! The schema model, set-based introspection in one snapshot, and a stable
//! fingerprint.

pub mod ddl;
pub mod introspect;
pub mod model;
pub mod scope;

pub use introspect::{inspect, introspect};
pub use model::{Inspected, Model, QName};
pub use scope::Scope;

use crate::util::sha256_hex;

impl Model {
    /// SHA-256 over the canonical model: stable across runs and servers of the
    /// same major version, independent of column order (columns cannot be
    /// reordered in place, so order is not treated as drift).
    pub fn fingerprint(&self) -> String {
        let mut canonical = self.clone();
        for t in canonical.tables.values_mut() {
            t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
        let json = serde_json::to_vec(&canonical).expect("the model always serialises");
        sha256_hex(&json)
    }

    /// Number of managed objects, for summaries.
    pub fn object_count(&self) -> usize {
        self.schemas.len()
            + self.enums.len()
            + self.sequences.len()
            + self.tables.len()
            + self.indexes.len()
            + self
                .tables
                .values()
                .map(|t| t.columns.len() + t.constraints.len())
                .sum::<usize>()
    }
}
