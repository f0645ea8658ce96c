//! The server's certificate and key: read at start, and read again when either file
//! changes (cert-manager and kubelet rotate mounted Secrets in place), checked on each new
//! connection. A rotation that fails to load keeps the previous pair and says so.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no PEM certificate in it")]
    NoCertificate { path: String },
    #[error("{path}: no PEM private key in it (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: String },
    #[error("{path}: {message}")]
    Pem { path: String, message: String },
    #[error("certificate {cert} and key {key} cannot be used: {source}")]
    Config {
        cert: String,
        key: String,
        #[source]
        source: rustls::Error,
    },
}

/// What identifies a version of the two files: modification time and length of each.
type Stamp = [(Option<SystemTime>, u64); 2];

struct Loaded {
    stamp: Stamp,
    acceptor: TlsAcceptor,
    /// The stamp of the last pair that failed, so it is not parsed again on every
    /// connection.
    failed: Option<Stamp>,
}

pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    loaded: Mutex<Loaded>,
}

/// What a check for new files did.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Reloaded,
    Failed(String),
}

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let one = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| (m.modified().ok(), m.len()))
            .unwrap_or((None, 0))
    };
    [one(cert), one(key)]
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Builds the acceptor from the two PEM files.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let cert_name = cert.display().to_string();
    let key_name = key.display().to_string();
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert_name.clone(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate { path: cert_name });
    }
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: key_name.clone(),
        },
        e => TlsError::Pem {
            path: key_name.clone(),
            message: e.to_string(),
        },
    })?;
    let config_err = |source| TlsError::Config {
        cert: cert_name.clone(),
        key: key_name.clone(),
        source,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(config_err)?
    .with_no_client_auth()
    .with_single_cert(chain, private)
    .map_err(config_err)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

impl Tls {
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let stamp = stamp(cert, key);
        let acceptor = acceptor(cert, key)?;
        Ok(Tls {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            loaded: Mutex::new(Loaded {
                stamp,
                acceptor,
                failed: None,
            }),
        })
    }

    /// The acceptor for a new connection, after loading the files again if they changed.
    pub fn current(&self) -> (TlsAcceptor, Reload) {
        let now = stamp(&self.cert, &self.key);
        let mut l = match self.loaded.lock() {
            Ok(l) => l,
            Err(poisoned) => poisoned.into_inner(),
        };
        if now == l.stamp || l.failed == Some(now) {
            return (l.acceptor.clone(), Reload::Unchanged);
        }
        match acceptor(&self.cert, &self.key) {
            Ok(a) => {
                l.stamp = now;
                l.acceptor = a;
                l.failed = None;
                (l.acceptor.clone(), Reload::Reloaded)
            }
            Err(e) => {
                // A rotation caught between writing the certificate and the key fails
                // here; the next change of either file is tried again.
                l.failed = Some(now);
                (l.acceptor.clone(), Reload::Failed(e.to_string()))
            }
        }
    }
}
