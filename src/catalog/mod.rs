//! The schema model, set-based introspection in one snapshot, and a stable
//! fingerprint.

pub mod ddl;
pub mod ident;
pub mod introspect;
pub mod kinds;
pub mod model;
pub mod notnull;
pub mod scope;

pub use introspect::{inspect, introspect};
pub use model::{Inspected, Model, QName};
pub use scope::Scope;

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

impl Model {
    /// SHA-256 over the canonical model: stable across runs and servers of the
    /// same major version, independent of column order (columns cannot be
    /// reordered in place, so order is not treated as drift).
    pub fn fingerprint(&self) -> String {
        self.fingerprint_with(true, true)
    }

    /// The fingerprint of this model with its privileges (`privileges` false)
    /// or owners (`owners` false) taken as empty, without copying the model:
    /// the canonical JSON is streamed into the hash.
    pub fn fingerprint_with(&self, privileges: bool, owners: bool) -> String {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, HashWriter(Sha256::new()));
        serde_json::to_writer(
            &mut out,
            &Canonical {
                m: self,
                privileges,
                owners,
            },
        )
        .expect("the model always serialises");
        let hasher = out
            .into_inner()
            .map_err(|e| e.into_error())
            .expect("hashing never fails")
            .0;
        hex::encode(hasher.finalize())
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

struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The model as `Model`'s own `Serialize` writes it (same fields, same order),
/// with each table's columns sorted by name and, optionally, privileges or
/// owners empty. The test below holds it to the derived serialisation.
struct Canonical<'a> {
    m: &'a Model,
    privileges: bool,
    owners: bool,
}

impl Serialize for Canonical<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.m;
        let none = BTreeMap::<String, String>::new();
        let no_privileges = BTreeMap::<String, Vec<String>>::new();
        let mut st = s.serialize_struct("Model", 21)?;
        st.serialize_field("schemas", &m.schemas)?;
        st.serialize_field("extensions", &m.extensions)?;
        st.serialize_field("enums", &m.enums)?;
        st.serialize_field("domains", &m.domains)?;
        st.serialize_field("composites", &m.composites)?;
        st.serialize_field("sequences", &m.sequences)?;
        st.serialize_field("tables", &SortedColumns(&m.tables))?;
        st.serialize_field("indexes", &m.indexes)?;
        st.serialize_field("views", &m.views)?;
        st.serialize_field("functions", &m.functions)?;
        st.serialize_field("triggers", &m.triggers)?;
        st.serialize_field("policies", &m.policies)?;
        st.serialize_field("statistics", &m.statistics)?;
        st.serialize_field("rules", &m.rules)?;
        st.serialize_field("collations", &m.collations)?;
        st.serialize_field("ranges", &m.ranges)?;
        st.serialize_field("aggregates", &m.aggregates)?;
        st.serialize_field("event_triggers", &m.event_triggers)?;
        if self.privileges {
            st.serialize_field("privileges", &m.privileges)?;
        } else {
            st.serialize_field("privileges", &no_privileges)?;
        }
        if self.owners {
            st.serialize_field("owners", &m.owners)?;
        } else {
            st.serialize_field("owners", &none)?;
        }
        st.serialize_field("unmanaged", &m.unmanaged)?;
        st.end()
    }
}

/// Tables with their columns sorted by name.
struct SortedColumns<'a>(&'a BTreeMap<QName, model::Table>);

impl Serialize for SortedColumns<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, table) in self.0 {
            map.serialize_entry(name, &CanonicalTable(table))?;
        }
        map.end()
    }
}

/// A table as `Table`'s own `Serialize` writes it, its columns by name.
struct CanonicalTable<'a>(&'a model::Table);

impl Serialize for CanonicalTable<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut columns: Vec<&model::Column> = t.columns.iter().collect();
        columns.sort_by(|a, b| a.name.cmp(&b.name));
        let mut st = s.serialize_struct("Table", 17)?;
        st.serialize_field("name", &t.name)?;
        st.serialize_field("unlogged", &t.unlogged)?;
        st.serialize_field("columns", &columns)?;
        st.serialize_field("constraints", &t.constraints)?;
        st.serialize_field("options", &t.options)?;
        st.serialize_field("rls", &t.rls)?;
        st.serialize_field("partition_key", &t.partition_key)?;
        st.serialize_field("partition_of", &t.partition_of)?;
        st.serialize_field("inherits", &t.inherits)?;
        st.serialize_field("comment", &t.comment)?;
        // Fields added later are left out at their defaults, as the derived
        // serialisation does (`skip_serializing_if`).
        match &t.replica_identity {
            Some(r) => st.serialize_field("replica_identity", r)?,
            None => st.skip_field("replica_identity")?,
        }
        match &t.access_method {
            Some(a) => st.serialize_field("access_method", a)?,
            None => st.skip_field("access_method")?,
        }
        match &t.tablespace {
            Some(ts) => st.serialize_field("tablespace", ts)?,
            None => st.skip_field("tablespace")?,
        }
        match &t.of_type {
            Some(o) => st.serialize_field("of_type", o)?,
            None => st.skip_field("of_type")?,
        }
        match &t.cluster_on {
            Some(c) => st.serialize_field("cluster_on", c)?,
            None => st.skip_field("cluster_on")?,
        }
        if t.inherited_column_settings.is_empty() {
            st.skip_field("inherited_column_settings")?;
        } else {
            st.serialize_field("inherited_column_settings", &t.inherited_column_settings)?;
        }
        if t.partition_indexes.is_empty() {
            st.skip_field("partition_indexes")?;
        } else {
            st.serialize_field("partition_indexes", &t.partition_indexes)?;
        }
        st.end()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::model::*;
    use super::*;

    /// A model with something in every kind that matters to the canonical
    /// form: columns out of name order, privileges, owners.
    pub(crate) fn sample_model() -> Model {
        let mut m = Model::default();
        let col = |name: &str| Column {
            name: name.into(),
            data_type: "integer".into(),
            not_null: true,
            default: Some("0".into()),
            identity: None,
            generated: None,
            collation: None,
            comment: None,
            generated_virtual: false,
            identity_options: None,
            not_null_name: None,
            not_null_not_valid: false,
            not_null_no_inherit: false,
            settings: ColumnSettings::default(),
        };
        for (i, schema) in ["app", "My Schema"].iter().enumerate() {
            m.schemas.insert(
                schema.to_string(),
                SchemaDef {
                    name: schema.to_string(),
                    comment: None,
                },
            );
            let name = QName::new(*schema, format!("t{i}"));
            m.tables.insert(
                name.clone(),
                Table {
                    name: name.clone(),
                    unlogged: false,
                    columns: vec![col("b"), col("a"), col("c")],
                    constraints: BTreeMap::from([(
                        "k".to_string(),
                        Constraint {
                            name: "k".into(),
                            kind: ConstraintKind::PrimaryKey,
                            definition: "PRIMARY KEY (a)".into(),
                            references: None,
                            columns: vec!["a".into()],
                            comment: None,
                            tablespace: Some("fast".into()),
                        },
                    )]),
                    options: vec!["fillfactor=70".into()],
                    rls: Some("enabled".into()),
                    partition_key: None,
                    partition_of: None,
                    inherits: vec![QName::new("app", "parent")],
                    comment: Some("x".into()),
                    replica_identity: None,
                    access_method: None,
                    tablespace: None,
                    of_type: None,
                    cluster_on: None,
                    inherited_column_settings: BTreeMap::new(),
                    partition_indexes: BTreeMap::new(),
                },
            );
            m.privileges.insert(
                format!("TABLE {}", name.sql()),
                vec!["reader:SELECT".into()],
            );
            m.owners
                .insert(format!("TABLE {}", name.sql()), "owner".into());
        }
        let sorted = QName::new("app", "sorted");
        m.tables.insert(
            sorted.clone(),
            Table {
                name: sorted,
                columns: vec![col("a"), col("b")],
                ..m.tables.values().next().unwrap().clone()
            },
        );
        // Every table setting that is left out at its default, set.
        let mut set = col("s");
        set.settings = ColumnSettings {
            storage: Some("external".into()),
            type_storage: Some("extended".into()),
            compression: Some("lz4".into()),
            statistics: Some(500),
            options: vec!["n_distinct=10".into()],
        };
        let settings = QName::new("app", "settings");
        m.tables.insert(
            settings.clone(),
            Table {
                name: settings,
                columns: vec![set, col("a")],
                replica_identity: Some(ReplicaIdentity::Index("k".into())),
                access_method: Some("heap2".into()),
                tablespace: Some("fast".into()),
                of_type: Some(QName::new("app", "row_type")),
                cluster_on: Some("k".into()),
                inherited_column_settings: BTreeMap::from([(
                    "p".to_string(),
                    ColumnSettings {
                        statistics: Some(0),
                        ..Default::default()
                    },
                )]),
                ..m.tables.values().next().unwrap().clone()
            },
        );
        m.unmanaged
            .insert("foreign table app.remote".into(), "h".into());
        m
    }

    /// The fingerprint as it was first defined: a sorted copy, serialised.
    fn fingerprint_by_copy(m: &Model) -> String {
        let mut canonical = m.clone();
        for t in canonical.tables.values_mut() {
            t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
        crate::util::sha256_hex(&serde_json::to_vec(&canonical).unwrap())
    }

    #[test]
    fn settings_at_their_defaults_leave_the_json_and_fingerprint_as_before() {
        let m = sample_model();
        let plain = serde_json::to_value(&m.tables[&QName::new("app", "t0")]).unwrap();
        let keys: Vec<&String> = plain.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "columns",
                "comment",
                "constraints",
                "inherits",
                "name",
                "options",
                "partition_key",
                "partition_of",
                "rls",
                "unlogged"
            ]
        );
        let column = &plain["columns"][0];
        assert_eq!(column.as_object().unwrap().len(), 10, "{column}");
        // The model (flattened column settings included) reads back as written.
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<Model>(&json).unwrap(), m);
        let set = &serde_json::to_value(&m.tables[&QName::new("app", "settings")]).unwrap();
        assert_eq!(set["columns"][0]["storage"], "external");
        assert_eq!(set["columns"][0]["statistics"], 500);
        assert_eq!(set["replica_identity"]["index"], "k");
    }

    #[test]
    fn streamed_fingerprint_equals_the_copied_one() {
        let m = sample_model();
        assert_eq!(m.fingerprint(), fingerprint_by_copy(&m));
        assert_eq!(
            Model::default().fingerprint(),
            fingerprint_by_copy(&Model::default())
        );
        let mut bare = m.clone();
        bare.privileges.clear();
        assert_eq!(m.fingerprint_with(false, true), fingerprint_by_copy(&bare));
        bare.owners.clear();
        assert_eq!(m.fingerprint_with(false, false), fingerprint_by_copy(&bare));
        // Scopes without filters take the streamed path; with filters, the copy.
        for scope in [
            Scope::default(),
            Scope {
                with_privileges: true,
                ..Default::default()
            },
            Scope {
                exclude_schemas: vec!["My Schema".into()],
                ..Default::default()
            },
        ] {
            let mut copy = m.clone();
            scope.apply(&mut copy);
            assert_eq!(scope.fingerprint(&m), fingerprint_by_copy(&copy));
        }
    }
}
