use crate::catalog::{self, Inspected, Model};
use crate::cli::{InspectArgs, PlanFormat};
use crate::db::ConnSettings;
use crate::exit::Exit;
use crate::plan::script;
use anyhow::Result;
use serde::ser::{Error as _, Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;
use std::io::Write;

pub async fn run(args: InspectArgs) -> Result<Exit> {
    let settings = ConnSettings::parse(args.db.conninfo())?;
    let started = std::time::Instant::now();
    let mut inspected = catalog::inspect(&settings).await?;
    timing("introspection", started);
    let started = std::time::Instant::now();
    // Show privileges and owners; the fingerprint printed is the one plans use
    // (compared within the same scope as `diff` with these flags). Narrowing
    // to the shown scope first changes nothing the fingerprint's scope keeps.
    let scope = args.scope.scope();
    let shown = catalog::Scope {
        with_privileges: true,
        with_owners: true,
        ..scope.clone()
    };
    shown.apply(&mut inspected.model);
    let fingerprint = scope.fingerprint(&inspected.model);
    timing("fingerprint", started);
    let started = std::time::Instant::now();
    match args.format {
        PlanFormat::Json => write_stdout(|out| {
            serde_json::to_writer_pretty(&mut *out, &JsonOutput(&inspected, &fingerprint))?;
            out.write_all(b"\n")?;
            Ok(())
        })?,
        PlanFormat::Sql => super::print_stdout(&format!(
            "-- pgalign inspect of {settings} (PostgreSQL {})\n-- fingerprint: {}\n\n{}",
            inspected.server_version,
            fingerprint,
            script::from_empty(&inspected.model)
        ))?,
    }
    timing("output", started);
    Ok(Exit::Ok)
}

/// Prints how long a phase took when `PGALIGN_TIMINGS` is set.
fn timing(what: &str, started: std::time::Instant) {
    if std::env::var_os("PGALIGN_TIMINGS").is_some() {
        eprintln!(
            "pgalign: {what} took {:.1} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

/// Streams to standard output through a buffer (a closed pipe is not an error).
fn write_stdout(
    write: impl FnOnce(&mut std::io::BufWriter<std::io::StdoutLock<'_>>) -> Result<()>,
) -> Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let result = write(&mut out).and_then(|_| Ok(out.flush()?));
    match result {
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                    || c.downcast_ref::<serde_json::Error>()
                        .and_then(|j| j.io_error_kind())
                        == Some(std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            Ok(())
        }
        other => other.map_err(|e| anyhow::anyhow!("writing to standard output: {e}")),
    }
}

/// `inspect --format json`: the inspected model and its fingerprint, written as
/// `serde_json::to_value` of it would print (every object's keys sorted), but
/// streamed one object at a time instead of building the whole tree and string.
struct JsonOutput<'a>(&'a Inspected, &'a str);

impl Serialize for JsonOutput<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = self.0;
        let mut map = s.serialize_map(Some(8))?;
        map.serialize_entry("current_user", &i.current_user)?;
        map.serialize_entry("database", &i.database)?;
        map.serialize_entry("database_bytes", &i.database_bytes)?;
        map.serialize_entry("fingerprint", self.1)?;
        map.serialize_entry("model", &SortedModel(&i.model))?;
        map.serialize_entry("server_version", &i.server_version)?;
        map.serialize_entry("server_version_num", &i.server_version_num)?;
        map.serialize_entry("stats", &SortedMap(&i.stats))?;
        map.end()
    }
}

/// The model's fields in name order.
struct SortedModel<'a>(&'a Model);

impl Serialize for SortedModel<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = s.serialize_map(Some(21))?;
        map.serialize_entry("aggregates", &SortedMap(&m.aggregates))?;
        map.serialize_entry("collations", &SortedMap(&m.collations))?;
        map.serialize_entry("composites", &SortedMap(&m.composites))?;
        map.serialize_entry("domains", &SortedMap(&m.domains))?;
        map.serialize_entry("enums", &SortedMap(&m.enums))?;
        map.serialize_entry("event_triggers", &SortedMap(&m.event_triggers))?;
        map.serialize_entry("extensions", &SortedMap(&m.extensions))?;
        map.serialize_entry("functions", &SortedMap(&m.functions))?;
        map.serialize_entry("indexes", &SortedMap(&m.indexes))?;
        map.serialize_entry("owners", &SortedMap(&m.owners))?;
        map.serialize_entry("policies", &SortedMap(&m.policies))?;
        map.serialize_entry("privileges", &SortedMap(&m.privileges))?;
        map.serialize_entry("ranges", &SortedMap(&m.ranges))?;
        map.serialize_entry("rules", &SortedMap(&m.rules))?;
        map.serialize_entry("schemas", &SortedMap(&m.schemas))?;
        map.serialize_entry("sequences", &SortedMap(&m.sequences))?;
        map.serialize_entry("statistics", &SortedMap(&m.statistics))?;
        map.serialize_entry("tables", &SortedMap(&m.tables))?;
        map.serialize_entry("triggers", &SortedMap(&m.triggers))?;
        map.serialize_entry("unmanaged", &SortedMap(&m.unmanaged))?;
        map.serialize_entry("views", &SortedMap(&m.views))?;
        map.end()
    }
}

/// A map with its keys in the order of their JSON strings (a `QName` key sorts
/// by its SQL form there), each value converted to a `serde_json::Value` on its
/// own so that its keys are sorted too.
struct SortedMap<'a, K, V>(&'a BTreeMap<K, V>);

impl<K: Serialize, V: Serialize> Serialize for SortedMap<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut entries = Vec::with_capacity(self.0.len());
        for (k, v) in self.0 {
            match serde_json::to_value(k).map_err(S::Error::custom)? {
                serde_json::Value::String(key) => entries.push((key, v)),
                other => return Err(S::Error::custom(format!("map key {other} is not a string"))),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut map = s.serialize_map(Some(entries.len()))?;
        for (k, v) in entries {
            let v = serde_json::to_value(v).map_err(S::Error::custom)?;
            map.serialize_entry(&k, &v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_json_equals_the_value_rendering() {
        let mut inspected = Inspected {
            current_user: "me".into(),
            server_version_num: 150018,
            server_version: "15.18".into(),
            database: "db".into(),
            database_bytes: 42,
            model: crate::catalog::tests::sample_model(),
            stats: BTreeMap::new(),
        };
        for (n, name) in inspected.model.tables.keys().enumerate() {
            inspected.stats.insert(
                name.clone(),
                catalog::model::TableStats {
                    rows: (n > 0).then_some(n as f64 * 1.5),
                    bytes: 8192,
                },
            );
        }
        let fingerprint = inspected.model.fingerprint();
        // As `inspect` printed it before it streamed.
        let mut v = serde_json::to_value(&inspected).unwrap();
        v["fingerprint"] = serde_json::Value::String(fingerprint.clone());
        let expected = serde_json::to_string_pretty(&v).unwrap();
        let streamed = serde_json::to_string_pretty(&JsonOutput(&inspected, &fingerprint)).unwrap();
        assert_eq!(streamed, expected);
    }
}
