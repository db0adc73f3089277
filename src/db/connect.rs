//! Opening a connection with [`ConnSettings`]: libpq's `sslmode` attempts
//! (`allow` tries plain first, `prefer` TLS first, each falling back like libpq),
//! the connect timeout over the whole handshake, and errors classified into one
//! sentence each (see [`super::connerr`]).

use super::conn::ConnSettings;
use super::conn::SslMode;
use super::connerr::{ConnectError, ConnectErrorKind, classify};
use super::tls::{MakeRustls, client_config};
use anyhow::{Result, anyhow};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio_postgres::config::{ChannelBinding, SslMode as PgSslMode};
use tokio_postgres::{Client, Config, Connection, NoTls};

/// One way of trying: without TLS, or with TLS in tokio-postgres's mode.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Plain,
    Tls(PgSslMode),
}

/// Connects and spawns the connection task. Errors name the target (never the
/// password) and carry everything the server said; they downcast to
/// [`ConnectError`] for callers that branch on the kind.
pub async fn connect(settings: &ConnSettings) -> Result<Client> {
    Ok(connect_with_notices(settings).await?.0)
}

/// Like [`connect`], and also returns the server's notices and warnings
/// (`RAISE NOTICE`, "table rewrite" messages…) as they arrive.
pub async fn connect_with_notices(
    settings: &ConnSettings,
) -> Result<(Client, UnboundedReceiver<String>)> {
    let attempts: &[Attempt] = match settings.sslmode {
        _ if settings.is_unix_socket() => &[Attempt::Plain],
        SslMode::Disable => &[Attempt::Plain],
        SslMode::Allow => &[Attempt::Plain, Attempt::Tls(PgSslMode::Require)],
        SslMode::Prefer => &[Attempt::Tls(PgSslMode::Prefer), Attempt::Plain],
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            &[Attempt::Tls(PgSslMode::Require)]
        }
    };
    let tls = if attempts.iter().any(|a| *a != Attempt::Plain) {
        let config =
            client_config(settings).map_err(|e| anyhow!("connecting to {settings}: {e:#}"))?;
        Some(MakeRustls(Arc::new(config)))
    } else {
        None
    };
    let mut last = None;
    for (i, attempt) in attempts.iter().enumerate() {
        match once(settings, *attempt, tls.clone()).await {
            Ok(ok) => return Ok(ok),
            Err(e) => {
                let more = i + 1 < attempts.len();
                let retry = match attempt {
                    // allow: the server refused plain text, try TLS.
                    Attempt::Plain => e.kind.is_server_refusal(),
                    // prefer: TLS failed or pg_hba.conf refused it, try plain text.
                    Attempt::Tls(_) => {
                        e.kind.is_tls() || e.kind == ConnectErrorKind::NotAllowedByHba
                    }
                };
                last = Some(e);
                if !(more && retry) {
                    break;
                }
            }
        }
    }
    Err(last.expect("at least one attempt").into())
}

async fn once(
    s: &ConnSettings,
    attempt: Attempt,
    tls: Option<MakeRustls>,
) -> Result<(Client, UnboundedReceiver<String>), ConnectError> {
    let mut config = driver_config(s);
    let fut = async {
        match (attempt, tls) {
            (Attempt::Tls(mode), Some(tls)) => {
                config.ssl_mode(mode);
                let (client, conn) = config.connect(tls).await?;
                Ok((client, spawn_connection(conn)))
            }
            _ => {
                config.ssl_mode(PgSslMode::Disable);
                let (client, conn) = config.connect(NoTls).await?;
                Ok((client, spawn_connection(conn)))
            }
        }
    };
    let used_tls = attempt != Attempt::Plain;
    let result = match s.connect_timeout {
        Some(t) => match tokio::time::timeout(t, fut).await {
            Ok(r) => r,
            Err(_) => return Err(ConnectError::timeout(s, t)),
        },
        None => fut.await,
    };
    result.map_err(|e: tokio_postgres::Error| classify(&e, s, used_tls))
}

/// The driver's configuration; TLS mode is set per attempt.
fn driver_config(s: &ConnSettings) -> Config {
    let mut c = Config::new();
    c.host(&s.host)
        .port(s.port)
        .user(&s.user)
        .dbname(&s.dbname)
        .application_name(&s.application_name)
        .channel_binding(match s.channel_binding.as_str() {
            "require" => ChannelBinding::Require,
            "disable" => ChannelBinding::Disable,
            _ => ChannelBinding::Prefer,
        });
    if let Some(pw) = &s.password {
        c.password(pw);
    }
    if let Some(t) = s.connect_timeout {
        c.connect_timeout(t);
    }
    if let Some(o) = &s.options {
        c.options(o);
    }
    c
}

/// Drives the connection in a task, forwarding notices.
fn spawn_connection<S, T>(mut connection: Connection<S, T>) -> UnboundedReceiver<String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    use futures_util::StreamExt;
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = messages.next().await {
            match message {
                Ok(tokio_postgres::AsyncMessage::Notice(n)) => {
                    let _ = tx.send(format!("{}: {}", n.severity().to_lowercase(), n.message()));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    rx
}

/// Sends a cancel request for the statement running on the session `token`
/// came from, the way that session was opened: over TLS when it is encrypted
/// (the token remembers whether it is), in plain text otherwise. A TLS-only
/// proxy drops a plain cancel request, so this is the one place that decides.
pub async fn cancel_query(
    token: &tokio_postgres::CancelToken,
    settings: &ConnSettings,
) -> Result<()> {
    let sent = if settings.is_unix_socket() || settings.sslmode == SslMode::Disable {
        token.cancel_query(NoTls).await
    } else {
        let config =
            client_config(settings).map_err(|e| anyhow!("cancelling on {settings}: {e:#}"))?;
        token.cancel_query(MakeRustls(Arc::new(config))).await
    };
    sent.map_err(|e| {
        anyhow!(
            "sending a cancel request to {settings}: {}",
            super::describe_error(&e)
        )
    })
}
