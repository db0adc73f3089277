//! Connection failures as one lowercase sentence naming `user@host:port/db`,
//! followed by everything the driver and the server said (the whole source
//! chain), and never the password.

use super::conn::ConnSettings;
use super::tls::roots_origin;
use std::error::Error as StdError;
use std::time::Duration;

/// What went wrong, for callers that branch (the wizard's hints, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// Connection refused, no route, unknown host, no socket.
    Unreachable,
    Timeout,
    PasswordFailed,
    /// The server asked for a password and none was found anywhere.
    PasswordMissing,
    DatabaseMissing,
    RoleMissing,
    /// `pg_hba.conf` allows only TLS connections and this one was plain.
    TlsRequiredByServer,
    /// `pg_hba.conf` has no entry for this client at all.
    NotAllowedByHba,
    CertificateNotTrusted,
    HostnameMismatch,
    /// Other certificate problems (expired, not yet valid, revoked…).
    CertificateInvalid,
    /// The server answered "no TLS here" while TLS was required.
    ServerWithoutTls,
    /// Any other TLS handshake failure.
    Tls,
    ChannelBinding,
    Other,
}

impl ConnectErrorKind {
    pub fn is_tls(self) -> bool {
        use ConnectErrorKind::*;
        matches!(
            self,
            CertificateNotTrusted | HostnameMismatch | CertificateInvalid | ServerWithoutTls | Tls
        )
    }

    /// The server answered and refused (worth another try in another TLS mode).
    pub fn is_server_refusal(self) -> bool {
        use ConnectErrorKind::*;
        matches!(self, TlsRequiredByServer | NotAllowedByHba | Other)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub kind: ConnectErrorKind,
    message: String,
}

impl ConnectError {
    fn new(
        kind: ConnectErrorKind,
        s: &ConnSettings,
        sentence: String,
        detail: &str,
    ) -> ConnectError {
        let mut message = if detail.is_empty() {
            sentence
        } else {
            format!("{sentence}: {detail}")
        };
        // Defence in depth: no server or library message should hold the
        // password, but nothing that prints it leaves this function.
        if let Some(pw) = s.password.as_deref().filter(|p| !p.is_empty()) {
            message = message.replace(pw, "********");
        }
        ConnectError { kind, message }
    }

    pub fn timeout(s: &ConnSettings, t: Duration) -> ConnectError {
        let sentence = format!(
            "connecting to {s} timed out after {}s (the host does not answer: wrong address, down, or a firewall drops the packets)",
            t.as_secs()
        );
        ConnectError::new(ConnectErrorKind::Timeout, s, sentence, "")
    }
}

/// Classifies a driver error for `s`; `used_tls` says whether this attempt
/// asked for TLS.
pub fn classify(e: &tokio_postgres::Error, s: &ConnSettings, used_tls: bool) -> ConnectError {
    let detail = super::describe_error(e);
    let (kind, sentence) = sentence(e, s, used_tls);
    ConnectError::new(kind, s, sentence, &detail)
}

fn sentence(
    e: &tokio_postgres::Error,
    s: &ConnSettings,
    used_tls: bool,
) -> (ConnectErrorKind, String) {
    use ConnectErrorKind::*;
    if let Some(db) = e.as_db_error() {
        let msg = db.message();
        return match db.code().code() {
            "28P01" => {
                let from = match &s.passfile {
                    Some(f) => format!(" (the password came from {})", f.display()),
                    None => String::new(),
                };
                (
                    PasswordFailed,
                    format!("password authentication failed for {s}{from}"),
                )
            }
            "3D000" => (
                DatabaseMissing,
                format!("database \"{}\" does not exist on {s}", s.dbname),
            ),
            "28000" if msg.starts_with("role ") && msg.ends_with("does not exist") => (
                RoleMissing,
                format!("role \"{}\" does not exist on {s}", s.user),
            ),
            "28000" if msg.contains("no pg_hba.conf entry") => {
                let plain = msg.ends_with("no encryption") || msg.ends_with("SSL off");
                if plain && !used_tls {
                    (
                        TlsRequiredByServer,
                        format!(
                            "{s} requires TLS but sslmode={} connected without it (pg_hba.conf has no entry for unencrypted connections); use sslmode=verify-full or require",
                            s.sslmode
                        ),
                    )
                } else {
                    (
                        NotAllowedByHba,
                        format!("{s} does not allow this client: no pg_hba.conf entry matches it"),
                    )
                }
            }
            _ => (Other, format!("{s} refused the connection")),
        };
    }
    if let Some(err) = find::<rustls::Error>(e) {
        use rustls::CertificateError as C;
        return match err {
            rustls::Error::InvalidCertificate(C::UnknownIssuer) => (
                CertificateNotTrusted,
                format!(
                    "the server certificate of {s} is not trusted: no chain to {} (unknown issuer)",
                    roots_origin(s)
                ),
            ),
            rustls::Error::InvalidCertificate(
                C::NotValidForName | C::NotValidForNameContext { .. },
            ) => (
                HostnameMismatch,
                format!(
                    "the server certificate of {s} is not valid for the host name \"{}\" (hostname mismatch; sslmode=verify-full checks it)",
                    s.host
                ),
            ),
            rustls::Error::InvalidCertificate(_) => (
                CertificateInvalid,
                format!("the server certificate of {s} was rejected"),
            ),
            _ => (Tls, format!("the tls handshake with {s} failed")),
        };
    }
    let text = chain_text(e);
    if text.contains("server does not support TLS") {
        return (
            ServerWithoutTls,
            format!(
                "{s} does not support TLS, but sslmode={} requires it",
                s.sslmode
            ),
        );
    }
    if text.contains("password missing") {
        let mut sentence = format!(
            "{s} asks for a password and none was given (put it in the URL, PGPASSWORD, a service file or ~/.pgpass)"
        );
        for w in &s.warnings {
            sentence.push_str(&format!("; note: {w}"));
        }
        return (PasswordMissing, sentence);
    }
    if text.contains("channel binding") {
        return (
            ChannelBinding,
            format!(
                "{s} did not use SCRAM channel binding, but channel_binding=require asks for it"
            ),
        );
    }
    if let Some(io) = find::<std::io::Error>(e) {
        use std::io::ErrorKind as K;
        let connecting = text.starts_with("error connecting");
        let found = match io.kind() {
            K::ConnectionRefused => Some((
                Unreachable,
                format!(
                    "connection to {s} was refused (is the server running and accepting TCP connections on port {}?)",
                    s.port
                ),
            )),
            K::TimedOut => Some((
                Timeout,
                format!("connecting to {s} timed out (the host does not answer)"),
            )),
            K::NotFound if s.is_unix_socket() => Some((
                Unreachable,
                format!(
                    "no server socket for {s} (is the server running locally on port {}?)",
                    s.port
                ),
            )),
            _ if text.contains("lookup address") => {
                Some((Unreachable, format!("cannot resolve the host name of {s}")))
            }
            _ if connecting => Some((Unreachable, format!("cannot reach {s}"))),
            _ => None,
        };
        if let Some(found) = found {
            return found;
        }
    }
    if text.contains("TLS") || text.contains("tls") {
        return (Tls, format!("the tls handshake with {s} failed"));
    }
    (Other, format!("connecting to {s} failed"))
}

fn chain_text(e: &tokio_postgres::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

/// The first error of type `T` in the chain, looking inside `io::Error`s too
/// (tokio-rustls wraps rustls errors in them).
fn find<T: StdError + 'static>(e: &tokio_postgres::Error) -> Option<&T> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<T>());
        if inner.is_some() {
            return inner;
        }
        cur = err.source();
    }
    None
}
