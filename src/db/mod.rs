//! Talking to PostgreSQL: connection settings the way libpq reads them, the
//! ephemeral local cluster, and the shadow database that materialises a desired
//! schema.

pub mod cancel;
pub mod cluster;
pub mod conn;
pub mod connect;
pub mod connerr;
pub mod conninfo;
pub mod env;
pub mod pg_env;
pub mod pgpass;
pub mod service;
pub mod shadow;
pub mod tls;
mod tls_stream;

pub use conn::{ConnSettings, connect};
pub use connect::cancel_query;
pub use connerr::{ConnectError, ConnectErrorKind};
pub use env::ConnEnv;

/// Formats a tokio-postgres error with everything the server said (SQLSTATE,
/// message, detail, hint) or the whole source chain for client-side errors, since
/// its `Display` alone is often just "db error".
pub fn describe_error(err: &tokio_postgres::Error) -> String {
    if let Some(db) = err.as_db_error() {
        let mut s = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            s.push_str(&format!("; detail: {d}"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; hint: {h}"));
        }
        return s;
    }
    let mut s = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        s.push_str(": ");
        s.push_str(&e.to_string());
        source = e.source();
    }
    s
}
