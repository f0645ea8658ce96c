//! `eksguard serve`: a validating admission webhook over HTTPS (`POST /validate`, and
//! `GET /report` for authorised callers when it is on), with `GET /healthz`, `/readyz` and
//! `/metrics` on a plain-HTTP listener of their own.
//!
//! The decision itself is pure ([`admission`]); this module wires it to the network: TLS
//! that follows certificate rotation ([`tls`]), bounded request handling ([`http`]), the
//! watch cache of the objects cross-object rules need ([`cache`]), the periodic full scan
//! ([`scanner`]) and the metrics ([`metrics`]).

pub mod admission;
pub mod auth;
pub mod cache;
pub mod http;
pub use crate::metrics;
pub mod review;
pub mod scanner;
pub mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use eksguard_live::kube_live::{KubeOptions, Watcher};
use eksguard_model::Object;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{watch, Notify, Semaphore};

use admission::{Judge, Review};
use auth::{Authorizer, ReportAccess};
use cache::Cache;
use metrics::Metrics;
use scanner::{Scanner, Scans};
use tls::{Reload, Tls};

/// Longest wait for a client's TLS handshake (the API server's takes milliseconds; a
/// socket that never sends a ClientHello gives its slot back after this), and for the
/// headers of each request.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 1024;
/// Connections at once on the metrics listener, and from one client address: a
/// kubelet probe or a scrape takes one.
const MAX_PLAIN_CONNECTIONS: usize = 64;
const MAX_PLAIN_PER_PEER: usize = 8;
/// Longest wait, once the server stops accepting, for open requests to be answered.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// What the handlers share.
pub struct State {
    pub judge: Judge,
    pub metrics: Arc<Metrics>,
    pub cache: Option<Arc<Cache>>,
    pub scans: Option<Arc<Scans>>,
    /// Set on SIGTERM: readiness fails so the Service stops sending requests here.
    pub stopping: AtomicBool,
    /// Review slots: bodies read and objects judged at once.
    pub reviews: Arc<Semaphore>,
    pub max_reviews: usize,
    /// Checks who may read `/report`; `None`: the report is off.
    pub auth: Option<Authorizer>,
}

impl State {
    /// Why the server is not ready, or `None` when it is: the certificate is loaded
    /// before anything listens, so only the watch cache can hold it back.
    pub fn not_ready(&self) -> Option<String> {
        if self.stopping.load(Ordering::SeqCst) {
            return Some("shutting down".to_string());
        }
        let cache = self.cache.as_ref()?;
        let missing = cache.unsynced();
        (!missing.is_empty()).then(|| format!("watch cache not synced: {}", missing.join(", ")))
    }

    /// The cached objects the cross-object rules need for this request, once synced.
    pub fn context_for(&self, review: &Review) -> Option<Vec<Arc<Object>>> {
        let ns = review
            .namespace
            .as_deref()
            .or_else(|| review.object.as_ref()?.at("metadata.namespace")?.as_str());
        self.cache.as_ref()?.around(&review.kind, ns)
    }
}

pub struct Options {
    pub listen: SocketAddr,
    /// The plain-HTTP listener of the probes and metrics.
    pub metrics_listen: SocketAddr,
    /// Reviews judged at once; past them, 429 after a short wait.
    pub max_reviews: usize,
    /// Connections one client address may hold open on the webhook port.
    pub max_per_peer: usize,
    /// Who may read `/report`, and how to ask the API server; `None`: off.
    pub report: Option<(KubeOptions, ReportAccess)>,
    pub tls: Tls,
    pub judge: Judge,
    /// Where to watch; `None` for no cache.
    pub watch: Option<KubeOptions>,
    /// Whether a watch that cannot start is an error (a kubeconfig or context was
    /// named) rather than a warning.
    pub watch_required: bool,
    pub scanner: Option<Scanner>,
    /// After SIGTERM, how long to go on accepting connections (failing readiness) before
    /// draining: endpoints are removed from the Service a moment after the pod is told
    /// to stop, and requests routed here until then must still be answered.
    pub shutdown_delay: Duration,
}

/// Serves until SIGTERM or SIGINT, then drains: readiness fails at once, new connections
/// are accepted for [`Options::shutdown_delay`], then open connections finish their
/// request under way (for at most [`DRAIN_TIMEOUT`]) and the server returns.
pub fn run(opts: Options) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served = rt.block_on(serve(opts));
    // The watch and scan loops never end by themselves: do not wait for them.
    rt.shutdown_timeout(Duration::from_millis(100));
    served
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
                    crate::term::shown(&e)
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
    let auth = match opts.report {
        None => None,
        Some((kube, access)) => {
            let watcher = Watcher::connect(&kube)
                .await
                .context("--report-access: cannot reach the API server to check callers")?;
            eprintln!(
                "eksguard serve: /report served to callers allowed get on services/proxy of {}/{}",
                access.namespace, access.service
            );
            Some(Authorizer { watcher, access })
        }
    };
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let plain = tokio::net::TcpListener::bind(opts.metrics_listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.metrics_listen))?;
    let local = listener.local_addr()?;
    eprintln!(
        "eksguard serve: metrics and probes on http://{}",
        plain.local_addr()?
    );
    eprintln!("eksguard serve: listening on https://{local}");
    let max_reviews = opts.max_reviews.max(1);
    let state = Arc::new(State {
        judge: opts.judge,
        metrics,
        cache,
        scans,
        stopping: AtomicBool::new(false),
        reviews: Arc::new(Semaphore::new(max_reviews)),
        max_reviews,
        auth,
    });
    tokio::spawn(serve_plain(plain, state.clone()));
    let tls = Arc::new(opts.tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let peers = Peers::default();
    let stop = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    crate::signals::on_stop(stop.clone(), wake.clone()).context("cannot watch for SIGTERM")?;
    // Tells every open connection to finish its request under way and close.
    let (drain, draining) = watch::channel(false);
    let mut accept_until: Option<tokio::time::Instant> = None;
    loop {
        let accepted = tokio::select! {
            _ = wake.notified(), if accept_until.is_none() => {
                state.stopping.store(true, Ordering::SeqCst);
                eprintln!(
                    "eksguard serve: stopping: not ready; accepting for {} more, then draining",
                    humantime::format_duration(opts.shutdown_delay)
                );
                accept_until = Some(tokio::time::Instant::now() + opts.shutdown_delay);
                continue;
            }
            _ = sleep_until(accept_until) => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let (tcp, peer, slot) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait, do not spin.
                eprintln!("eksguard serve: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // One client address cannot take every slot.
        let Some(peer_slot) = peers.enter(peer.ip(), opts.max_per_peer.max(1)) else {
            state
                .metrics
                .connections_refused
                .get_or_create(&[("reason", "per-peer".into())])
                .inc();
            drop(tcp);
            continue;
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
                    crate::term::shown(e)
                );
                state
                    .metrics
                    .tls_reloads
                    .get_or_create(&[("result", "failure".into())])
                    .inc();
            }
        }
        let state = state.clone();
        let mut draining = draining.clone();
        tokio::spawn(async move {
            let _slot = (slot, peer_slot);
            let Ok(Ok(stream)) =
                tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
            else {
                return;
            };
            let service = hyper::service::service_fn(move |req| http::handle(state.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = async { drop(draining.wait_for(|d| *d).await) } => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let _ = drain.send(true);
    let all = MAX_CONNECTIONS as u32;
    match tokio::time::timeout(DRAIN_TIMEOUT, slots.acquire_many(all)).await {
        Ok(_) => eprintln!("eksguard serve: stopped"),
        Err(_) => eprintln!(
            "eksguard serve: stopped with {} connections still open after {}",
            MAX_CONNECTIONS - slots.available_permits(),
            humantime::format_duration(DRAIN_TIMEOUT)
        ),
    }
    Ok(())
}

/// The next connection and its address, once a connection slot is free.
async fn accept(
    listener: &tokio::net::TcpListener,
    slots: &Arc<Semaphore>,
) -> std::io::Result<(
    tokio::net::TcpStream,
    SocketAddr,
    tokio::sync::OwnedSemaphorePermit,
)> {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .map_err(std::io::Error::other)?;
    let (tcp, peer) = listener.accept().await?;
    Ok((tcp, peer, slot))
}

/// Open connections by client address.
#[derive(Default, Clone)]
struct Peers(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection of a peer; leaving gives the place back.
struct PeerSlot(Peers, IpAddr);

impl Peers {
    fn enter(&self, ip: IpAddr, max: usize) -> Option<PeerSlot> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(PeerSlot(self.clone(), ip))
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut map = (self.0).0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.1);
            }
        }
    }
}

/// The probes and metrics, over plain HTTP on a listener of their own: a kubelet probe
/// or a scrape never waits behind the webhook's connections.
async fn serve_plain(listener: tokio::net::TcpListener, state: Arc<State>) {
    let slots = Arc::new(Semaphore::new(MAX_PLAIN_CONNECTIONS));
    let peers = Peers::default();
    loop {
        let (tcp, peer, slot) = match accept(&listener, &slots).await {
            Ok(c) => c,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Some(peer_slot) = peers.enter(peer.ip(), MAX_PLAIN_PER_PEER) else {
            state
                .metrics
                .connections_refused
                .get_or_create(&[("reason", "metrics-per-peer".into())])
                .inc();
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _slot = (slot, peer_slot);
            let service =
                hyper::service::service_fn(move |req| http::handle_plain(state.clone(), req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(true)
                .serve_connection(TokioIo::new(tcp), service);
            // A connection idle past the header timeout is closed by hyper; one that
            // never finishes is cut here.
            let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
        });
    }
}

/// Waits until `at`, or forever when there is no time set.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
