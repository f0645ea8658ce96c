//! `eksguard serve`: a validating admission webhook over HTTPS (`POST /validate`), with
//! `GET /healthz`, `/readyz`, `/metrics` and, with continuous scanning, `/report`.
//!
//! The decision itself is pure ([`admission`]); this module wires it to the network: TLS
//! that follows certificate rotation ([`tls`]), bounded request handling ([`http`]), the
//! watch cache of the objects cross-object rules need ([`cache`]), the periodic full scan
//! ([`scanner`]) and the metrics ([`metrics`]).

pub mod admission;
pub mod cache;
pub mod http;
pub mod metrics;
pub mod scanner;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use eksguard_model::Object;
use eksguard_sources::kube_live::{KubeOptions, Watcher};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use admission::{Judge, Review};
use cache::Cache;
use metrics::Metrics;
use scanner::{Scanner, Scans};
use tls::{Reload, Tls};

/// Longest wait for a client's TLS handshake, and for the headers of each request.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;

/// What the handlers share.
pub struct State {
    pub judge: Judge,
    pub metrics: Arc<Metrics>,
    pub cache: Option<Arc<Cache>>,
    pub scans: Option<Arc<Scans>>,
}

impl State {
    /// Why the server is not ready, or `None` when it is: the certificate is loaded
    /// before anything listens, so only the watch cache can hold it back.
    pub fn not_ready(&self) -> Option<String> {
        let cache = self.cache.as_ref()?;
        let missing = cache.unsynced();
        (!missing.is_empty()).then(|| format!("watch cache not synced: {}", missing.join(", ")))
    }

    /// The cached objects the cross-object rules need for this request, once synced.
    pub fn context_for(&self, review: &Review) -> Option<Vec<Object>> {
        let ns = review.namespace.as_deref().or_else(|| {
            review
                .object
                .as_ref()?
                .pointer("/metadata/namespace")?
                .as_str()
        });
        self.cache.as_ref()?.around(&review.kind, ns)
    }
}

pub struct Options {
    pub listen: SocketAddr,
    pub tls: Tls,
    pub judge: Judge,
    /// Where to watch; `None` for no cache.
    pub watch: Option<KubeOptions>,
    /// Whether a watch that cannot start is an error (a kubeconfig or context was
    /// named) rather than a warning.
    pub watch_required: bool,
    pub scanner: Option<Scanner>,
}

/// Serves until the process is stopped.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(serve(opts))
}

async fn serve(opts: Options) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let cache = match &opts.watch {
        None => None,
        Some(kube) => match Watcher::connect(kube).await {
            Ok(watcher) => {
                eprintln!(
                    "eksguard serve: watching {} for the cross-object rules",
                    watcher.info.server
                );
                let cache = Arc::new(Cache::new());
                cache.spawn(Arc::new(watcher), metrics.clone());
                Some(cache)
            }
            Err(e) if !opts.watch_required => {
                eprintln!(
                    "eksguard serve: no watch cache ({}); only rules that need nothing but the object run",
                    crate::commands::shown(&e)
                );
                None
            }
            Err(e) => return Err(e).context("cannot start the watch cache"),
        },
    };
    let scans = match opts.scanner {
        Some(s) => {
            let scans = Arc::new(Scans::default());
            s.spawn(scans.clone(), metrics.clone())
                .context("cannot start the scanner")?;
            Some(scans)
        }
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let local = listener.local_addr()?;
    eprintln!("eksguard serve: listening on https://{local}");
    let state = Arc::new(State {
        judge: opts.judge,
        metrics,
        cache,
        scans,
    });
    let tls = Arc::new(opts.tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                eprintln!("eksguard serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, reload) = tls.current();
        match reload {
            Reload::Unchanged => {}
            Reload::Reloaded => {
                eprintln!("eksguard serve: certificate and key reloaded");
                state
                    .metrics
                    .tls_reloads
                    .get_or_create(&[("result", "success".into())])
                    .inc();
            }
            Reload::Failed(e) => {
                eprintln!(
                    "eksguard serve: new certificate or key not loaded, the previous pair stays: {}",
                    crate::commands::shown(e)
                );
                state
                    .metrics
                    .tls_reloads
                    .get_or_create(&[("result", "failure".into())])
                    .inc();
            }
        }
        let state = state.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            else {
                return;
            };
            let service = hyper::service::service_fn(move |req| http::handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
