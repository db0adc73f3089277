//! TLS for PostgreSQL connections, with libpq's `sslmode` semantics.
//!
//! Why this stack: **rustls with the ring provider**, wired into tokio-postgres
//! by our own `MakeTlsConnect` (about 60 lines below) instead of
//! `tokio-postgres-rustls` or `postgres-native-tls`:
//! - rustls + ring need no system library at build or run time (native-tls needs
//!   OpenSSL headers), so pgalign is one static-ish binary on any Linux host.
//! - libpq's modes need verifiers the ready-made adapters do not offer:
//!   `require` encrypts without verifying (unless a root certificate is
//!   configured, then it behaves like `verify-ca`, as libpq does for backwards
//!   compatibility); `verify-ca` checks the chain but not the host name;
//!   `verify-full` checks both. Owning the adapter keeps that in one place.
//! - SCRAM channel binding (`tls-server-end-point`) needs the hash of the server
//!   certificate with the certificate's own signature hash; we compute it here.
//! - `sslrootcert=system` uses the platform's trust store through
//!   `rustls-native-certs` (the same files OpenSSL, and so libpq, reads), not a
//!   bundled copy that would disagree with psql on the same machine.

use super::conn::ConnSettings;
use anyhow::{Context, Result, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;

pub use super::tls_stream::MakeRustls;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// How the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypt only (`allow`, `prefer`, `require` without a root certificate).
    None,
    /// The chain up to a trusted root, not the host name (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    Full,
}

/// The check `settings` asks for.
pub fn verify_level(s: &ConnSettings) -> Verify {
    use super::conn::SslMode;
    match s.sslmode {
        SslMode::VerifyFull => Verify::Full,
        SslMode::VerifyCa => Verify::Chain,
        // libpq: a root certificate makes the weaker modes check the chain.
        SslMode::Disable | SslMode::Allow | SslMode::Prefer | SslMode::Require
            if s.sslrootcert.is_some() =>
        {
            Verify::Chain
        }
        SslMode::Disable | SslMode::Allow | SslMode::Prefer | SslMode::Require => Verify::None,
    }
}

/// A human name for where trusted roots come from, for error messages.
pub fn roots_origin(s: &ConnSettings) -> String {
    match s.sslrootcert.as_deref() {
        Some("system") => "the system's trust store (sslrootcert=system)".into(),
        Some(file) => format!("sslrootcert {file}"),
        None => "no root certificate (set sslrootcert to a CA file or to 'system')".into(),
    }
}

/// The rustls client configuration for `settings`.
pub fn client_config(s: &ConnSettings) -> Result<ClientConfig> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match verify_level(s) {
        Verify::None => Arc::new(NoVerify(provider.clone())),
        level => {
            let roots = Arc::new(load_roots(s)?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .context("building the certificate verifier")?;
            if level == Verify::Full {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("choosing TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match (&s.sslcert, &s.sslkey) {
        (Some(cert), Some(key)) => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .and_then(|i| i.collect())
                .with_context(|| {
                    format!("reading client certificate sslcert {}", cert.display())
                })?;
            check_key_permissions(key)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading client key sslkey {}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .context("using the client certificate")?
        }
        (Some(cert), None) => bail!("sslcert {} is set but sslkey is not", cert.display()),
        _ => builder.with_no_client_auth(),
    };
    Ok(config)
}

fn load_roots(s: &ConnSettings) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    match s.sslrootcert.as_deref() {
        None => bail!(
            "sslmode={} needs a root certificate to check the server against, and ~/.postgresql/root.crt \
             does not exist: set sslrootcert to the CA file or to 'system', or use sslmode=require",
            s.sslmode
        ),
        Some("system") => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                bail!(
                    "sslrootcert=system: no trusted root certificates found in the system's trust store"
                );
            }
        }
        Some(file) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
                .and_then(|i| i.collect())
                .with_context(|| format!("reading root certificate file sslrootcert {file}"))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                bail!("root certificate file sslrootcert {file} holds no usable certificate");
            }
        }
    }
    Ok(roots)
}

/// libpq refuses a private key others can read (0640 is allowed for root-owned
/// keys, so a system-managed group can share it).
fn check_key_permissions(key: &std::path::Path) -> Result<()> {
    let meta = std::fs::metadata(key)
        .with_context(|| format!("reading client key sslkey {}", key.display()))?;
    let mode = meta.permissions().mode();
    let too_open = if meta.uid() == 0 {
        mode & 0o037 != 0
    } else {
        mode & 0o077 != 0
    };
    if too_open {
        bail!(
            "private key file {} has group or world access; permissions should be u=rw (0600) or less",
            key.display()
        );
    }
    Ok(())
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // webpki checks the name only after the chain verified.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(m, c, d)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(m, c, d)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require` without a root certificate: encrypted, the server not authenticated
/// (the handshake signature is still checked against the presented key).
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
