//! Live reads of the Kubernetes API through a kubeconfig (or the in-cluster service
//! account): discovery first, to learn which of the kinds the rules read the server serves
//! and at which preferred version, then paginated list requests in parallel.
//!
//! List items become [`Object`]s with [`Source::Live`], exactly as the items of a saved
//! `kind: List` would. Secrets lose their values (`data`, `stringData` and the
//! last-applied annotation, which repeats them) before anything else sees them. A resource
//! type that is forbidden, not served, too slow or fails on some page becomes an
//! [`InputError`] naming the type, the failure and the rules left without its data; the
//! other types are still read.
//!
//! Every response body is read frame by frame into one buffer that may not grow past
//! [`KubeOptions::max_response_bytes`], and the request timeout covers the whole body, so
//! neither a huge nor an endless (chunked) answer can exhaust memory or stall the read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use eksguard_model::{InputError, Inventory, Node, Object, Source};
use futures_util::future::join_all;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value as Json;
use tokio::sync::Semaphore;

/// What to read and how to reach the cluster.
#[derive(Debug, Clone)]
pub struct KubeOptions {
    /// Kubeconfig file; `None` follows `$KUBECONFIG` (several files merged), then
    /// `~/.kube/config`, then the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context; `None` is the current one.
    pub context: Option<String>,
    /// Read namespaced kinds only in this namespace.
    pub namespace: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Items per list page.
    pub page_size: u32,
    /// Longest wait for one response, its whole body included.
    pub timeout: Duration,
    /// Largest response body read; a longer one fails its request.
    pub max_response_bytes: u64,
    /// A progress bar on standard error (only drawn when it is a terminal).
    pub progress: bool,
    /// Rule IDs that read each kind: named in the error when the kind cannot be read.
    pub rules_by_kind: BTreeMap<String, Vec<String>>,
}

/// Far above any real list page (500 objects of a few kB each), far below what would
/// strain memory.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// Error bodies carry a short `Status`; more than this is not read.
const MAX_ERROR_BODY: u64 = 64 * 1024;

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            kubeconfig: None,
            context: None,
            namespace: None,
            concurrency: 16,
            page_size: 500,
            timeout: Duration::from_secs(30),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            progress: false,
            rules_by_kind: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("cannot read kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("no Kubernetes configuration: no kubeconfig ({kubeconfig}) and not running in a pod ({incluster})")]
    NoConfig {
        kubeconfig: String,
        incluster: String,
    },
    #[error("cannot build the Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("cannot use the API server {server} (its address or CA): {message}")]
    Direct { server: String, message: String },
}

/// Where the API server was reached, for snapshots and messages.
#[derive(Debug, Clone, Default)]
pub struct ClusterInfo {
    pub server: String,
    pub context: Option<String>,
    /// Discovery answered: the lists were tried (each may still have failed on its own).
    pub reached: bool,
}

/// Bearer tokens for every request, signed anew when they age (EKS tokens).
pub trait BearerSource: Send + Sync {
    fn bearer(
        &self,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>> + Send + '_>>;
}

/// An API server reached without a kubeconfig: its address, the CA of its certificate
/// and a token source.
pub struct DirectApi<'a> {
    /// `https://…`.
    pub server: String,
    /// Base64 of the PEM bundle (EKS `certificateAuthority.data`); `None` trusts the
    /// system roots.
    pub ca_data: Option<String>,
    pub bearer: &'a dyn BearerSource,
    /// What a 401 or 403 on discovery means here, for the error.
    pub unauthorized: String,
}

/// A kind the rules read, where the API serves it.
#[derive(Debug, Clone, Copy)]
struct Wanted {
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    /// Absent from discovery is normal (removed APIs, optional add-ons): no error.
    optional: bool,
}

/// Every kind read from the API, in report order: the live rows of the kinds table.
static WANTED: std::sync::LazyLock<Vec<Wanted>> = std::sync::LazyLock::new(|| {
    eksguard_model::kinds::listed_live()
        .map(|k| Wanted {
            group: k.group,
            kind: k.kind,
            plural: k.plural,
            optional: k.live == eksguard_model::kinds::Live::Optional,
        })
        .collect()
});

/// The only ConfigMaps read: cluster access and VPC CNI settings. Others may hold
/// anything, and no rule but these needs them from a live cluster.
const CONFIG_MAPS: &[(&str, &str)] = &[
    ("kube-system", "aws-auth"),
    ("kube-system", "amazon-vpc-cni"),
];

/// Reads every kind the rules need. Unreadable types are in `errors` of the inventory;
/// only a missing configuration or a runtime that cannot start is an `Err`.
pub fn read_cluster(opts: &KubeOptions) -> Result<(Inventory, ClusterInfo), KubeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(read(opts))
}

/// What the API server's discovery says it serves: every resource type of the core group
/// and of every group `/apis` lists, aggregated APIs included, at each served version.
#[derive(Debug, Clone, Default)]
pub struct ApiDiscovery {
    pub resources: Vec<eksguard_model::rbac::query::ServedResource>,
    /// Group versions whose document could not be read (an aggregated API that is down,
    /// say), each with the reason; their resources are missing from `resources`.
    pub errors: Vec<String>,
}

/// Far above the group versions of any real cluster (a few hundred with many operators):
/// a server listing more is not asked for them all.
const MAX_DISCOVERY_DOCUMENTS: usize = 1000;

/// Reads the discovery documents of the cluster of the kubeconfig. Only a cluster that
/// cannot be reached at all (no configuration, `/api` or `/apis` failing) is an `Err`.
pub fn discover_resources(opts: &KubeOptions) -> Result<ApiDiscovery, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| KubeError::from(e).to_string())?;
    rt.block_on(async {
        let (mut config, _) = client_config(opts).await.map_err(|e| e.to_string())?;
        // An aggregated API whose server is down answers 503 for as long as it is down:
        // retrying it would only hold up the answer until the timeout.
        config.default_retry = false;
        let client = Client::try_from(config).map_err(|e| KubeError::Client(e).to_string())?;
        let reader = Reader {
            client,
            opts,
            permits: Semaphore::new(opts.concurrency.max(1)),
            progress: Progress::new(false),
            direct: None,
        };
        reader.all_resources().await
    })
}

async fn client_config(opts: &KubeOptions) -> Result<(Config, Option<String>), KubeError> {
    let options = KubeConfigOptions {
        context: opts.context.clone(),
        ..KubeConfigOptions::default()
    };
    if let Some(path) = &opts.kubeconfig {
        let kubeconfig_err = |source| KubeError::Kubeconfig {
            path: path.display().to_string(),
            source,
        };
        let kc = Kubeconfig::read_from(path).map_err(kubeconfig_err)?;
        let context = opts.context.clone().or_else(|| kc.current_context.clone());
        let config = Config::from_custom_kubeconfig(kc, &options)
            .await
            .map_err(kubeconfig_err)?;
        return Ok((config, context));
    }
    match Config::from_kubeconfig(&options).await {
        Ok(config) => {
            let current = Kubeconfig::read().ok().and_then(|k| k.current_context);
            Ok((config, opts.context.clone().or(current)))
        }
        // A named context must come from a kubeconfig; without one, a pod's own account.
        Err(e) if opts.context.is_some() => Err(KubeError::Kubeconfig {
            path: "$KUBECONFIG or ~/.kube/config".into(),
            source: e,
        }),
        Err(e) => match Config::incluster() {
            Ok(config) => Ok((config, None)),
            Err(ic) => Err(KubeError::NoConfig {
                kubeconfig: e.to_string(),
                incluster: ic.to_string(),
            }),
        },
    }
}

/// A request that got no answer, on one line: each cause's own words once, and what to
/// look at.
fn send_error(e: &kube::Error) -> String {
    let mut causes: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        let text = text.lines().next().unwrap_or("").trim().to_string();
        if !text.is_empty() && !causes.iter().any(|c| c.contains(&text)) {
            causes.push(text);
        }
        next = err.source();
    }
    format!(
        "{}; check the server address of the kubeconfig context (--context, --kubeconfig) \
         and the network",
        causes.join(": ")
    )
}

async fn read(opts: &KubeOptions) -> Result<(Inventory, ClusterInfo), KubeError> {
    let (config, context) = client_config(opts).await?;
    read_with(config, context, opts, None).await
}

/// Reads every kind the rules need from an API server given by address, CA and token
/// source (no kubeconfig), as [`read_cluster`] does; async, for callers that read many
/// clusters on their own runtime.
pub async fn read_direct(
    opts: &KubeOptions,
    api: &DirectApi<'_>,
) -> Result<(Inventory, ClusterInfo), KubeError> {
    // The address and CA as a one-context kubeconfig, so kube decodes and checks the CA
    // as it would from a file.
    let kc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "eks", "cluster": {
            "server": api.server,
            "certificate-authority-data": api.ca_data,
        }}],
        "users": [{"name": "eks", "user": {}}],
        "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks"}}],
        "current-context": "eks",
    });
    let direct_err = |message: String| KubeError::Direct {
        server: api.server.clone(),
        message,
    };
    let kc: Kubeconfig = serde_json::from_value(kc).map_err(|e| direct_err(e.to_string()))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| direct_err(e.to_string()))?;
    read_with(config, None, opts, Some(api)).await
}

async fn read_with(
    config: Config,
    context: Option<String>,
    opts: &KubeOptions,
    direct: Option<&DirectApi<'_>>,
) -> Result<(Inventory, ClusterInfo), KubeError> {
    let mut info = ClusterInfo {
        server: config.cluster_url.to_string(),
        context,
        reached: false,
    };
    let client = Client::try_from(config).map_err(KubeError::Client)?;
    let progress = Progress::new(opts.progress);
    let reader = Reader {
        client,
        opts,
        permits: Semaphore::new(opts.concurrency.max(1)),
        progress,
        direct,
    };
    let mut inv = Inventory::default();
    let plan = match reader.discover().await {
        Ok(plan) => {
            info.reached = true;
            plan
        }
        Err(message) => {
            inv.errors.push(InputError::new(
                format!("kubernetes {}", info.server),
                None,
                format!("API discovery failed: {message}; nothing read from Kubernetes"),
            ));
            return Ok((inv, info));
        }
    };
    for w in WANTED.iter() {
        if !w.optional && !plan.iter().any(|(p, _)| p.kind == w.kind) {
            inv.errors.push(reader.error(
                w.kind,
                w.plural,
                "not served by the API server (not in discovery)",
            ));
        }
    }
    reader.progress.start(plan.len() + CONFIG_MAPS.len());
    let lists = join_all(plan.iter().map(|(w, gv)| reader.list(w, gv)));
    let maps = join_all(
        CONFIG_MAPS
            .iter()
            .filter(|(ns, _)| opts.namespace.as_deref().is_none_or(|n| n == *ns))
            .map(|(ns, name)| reader.config_map(ns, name)),
    );
    let (lists, maps) = futures_util::future::join(lists, maps).await;
    reader.progress.finish();
    for r in lists.into_iter().chain(maps) {
        match r {
            Ok(objects) => {
                for o in objects {
                    inv.push(o);
                }
            }
            Err(e) => inv.errors.push(e),
        }
    }
    Ok((inv, info))
}

struct Reader<'a> {
    client: Client,
    opts: &'a KubeOptions,
    permits: Semaphore,
    progress: Progress,
    direct: Option<&'a DirectApi<'a>>,
}

/// How one request failed.
#[derive(Debug)]
enum Failure {
    Status(u16, String),
    Other(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status(403, m) => write!(f, "forbidden (403): {m}"),
            Failure::Status(404, m) => write!(f, "not found (404): {m}"),
            Failure::Status(code, m) => write!(f, "HTTP {code}: {m}"),
            Failure::Other(m) => f.write_str(m),
        }
    }
}

impl Reader<'_> {
    /// One GET under the concurrency limit, the timeout (headers and whole body) and the
    /// size cap, parsed as JSON.
    async fn get(&self, uri: &str) -> Result<Json, Failure> {
        let _permit = self.permits.acquire().await;
        let mut req = http::Request::get(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(|e| Failure::Other(format!("bad request {uri}: {e}")))?;
        if let Some(api) = self.direct {
            let token = api.bearer.bearer().await.map_err(Failure::Other)?;
            let mut value = http::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| Failure::Other("the token is not a valid header value".into()))?;
            value.set_sensitive(true);
            req.headers_mut().insert(http::header::AUTHORIZATION, value);
        }
        // Bytes of the body read so far, for the message when the time runs out.
        let received = AtomicU64::new(u64::MAX);
        let exchange = async {
            let res = self
                .client
                .send(req)
                .await
                .map_err(|e| Failure::Other(send_error(&e)))?;
            received.store(0, Ordering::Relaxed);
            let status = res.status();
            if status.is_client_error() || status.is_server_error() {
                let body = read_capped(res.into_body(), MAX_ERROR_BODY, &received).await;
                return Err(Failure::Status(
                    status.as_u16(),
                    status_message(body.as_deref().ok(), status),
                ));
            }
            let body = read_capped(res.into_body(), self.opts.max_response_bytes, &received)
                .await
                .map_err(Failure::Other)?;
            serde_json::from_slice::<Json>(&body)
                .map_err(|e| Failure::Other(format!("response is not JSON: {e}")))
        };
        match tokio::time::timeout(self.opts.timeout, exchange).await {
            Ok(r) => r,
            Err(_) => {
                let secs = self.opts.timeout.as_secs_f64();
                Err(Failure::Other(match received.load(Ordering::Relaxed) {
                    u64::MAX => format!("no answer within {secs} s"),
                    n => format!("response not complete within {secs} s ({n} bytes received)"),
                }))
            }
        }
    }

    /// The kinds of [`WANTED`] the server serves, each with the group version to read it
    /// at: the group's preferred version when it has the kind, else the first that does.
    async fn discover(&self) -> Result<Vec<(Wanted, String)>, String> {
        let groups = self
            .get("/apis")
            .await
            .map_err(|e| match (e, self.direct) {
                (Failure::Status(401 | 403, _), Some(api)) => api.unauthorized.clone(),
                (e, _) => format!("/apis: {e}"),
            })?;
        let mut versions: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        versions.insert("", vec!["v1".to_string()]);
        let needed: BTreeSet<&str> = WANTED.iter().map(|w| w.group).collect();
        for g in groups
            .get("groups")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = g.get("name").and_then(Json::as_str) else {
                continue;
            };
            let Some(&name) = needed.get(name) else {
                continue;
            };
            let preferred = g
                .pointer("/preferredVersion/groupVersion")
                .and_then(Json::as_str);
            let mut list: Vec<String> = preferred.into_iter().map(str::to_string).collect();
            for v in g
                .get("versions")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(gv) = v.get("groupVersion").and_then(Json::as_str) {
                    if !list.iter().any(|x| x == gv) {
                        list.push(gv.to_string());
                    }
                }
            }
            versions.insert(name, list);
        }
        let all: Vec<(&str, String)> = versions
            .iter()
            .flat_map(|(g, vs)| vs.iter().map(move |v| (*g, v.clone())))
            .collect();
        let docs = join_all(all.iter().map(|(g, gv)| async move {
            let path = if g.is_empty() {
                format!("/api/{gv}")
            } else {
                format!("/apis/{gv}")
            };
            (self.get(&path).await, path)
        }))
        .await;
        // (group version) -> plural names it serves with list.
        let mut served: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for ((_, gv), (doc, path)) in all.iter().zip(docs) {
            let doc = match doc {
                Ok(d) => d,
                // The core group is the one that must answer.
                Err(e) if gv == "v1" => return Err(format!("{path}: {e}")),
                Err(_) => continue,
            };
            let names = served.entry(gv.as_str()).or_default();
            for r in doc
                .get("resources")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let listable = r
                    .get("verbs")
                    .and_then(Json::as_array)
                    .is_none_or(|v| v.iter().any(|x| x.as_str() == Some("list")));
                if let (Some(n), true) = (r.get("name").and_then(Json::as_str), listable) {
                    names.insert(n.to_string());
                }
            }
        }
        let mut plan = Vec::new();
        for w in WANTED.iter() {
            let found = versions.get(w.group).and_then(|vs| {
                vs.iter().find(|gv| {
                    served
                        .get(gv.as_str())
                        .is_some_and(|s| s.contains(w.plural))
                })
            });
            if let Some(gv) = found {
                plan.push((*w, gv.clone()));
            }
        }
        Ok(plan)
    }

    /// Every resource type of every group version the server lists (see [`ApiDiscovery`]).
    async fn all_resources(&self) -> Result<ApiDiscovery, String> {
        let core = self.get("/api").await.map_err(|e| format!("/api: {e}"))?;
        let groups = self.get("/apis").await.map_err(|e| format!("/apis: {e}"))?;
        let strings = |v: Option<&Json>| -> Vec<String> {
            v.and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        };
        // (group, path of its version's document)
        let mut docs: Vec<(String, String)> = strings(core.get("versions"))
            .into_iter()
            .map(|v| (String::new(), format!("/api/{v}")))
            .collect();
        for g in groups
            .get("groups")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = g.get("name").and_then(Json::as_str) else {
                continue;
            };
            for v in g
                .get("versions")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(gv) = v.get("groupVersion").and_then(Json::as_str) {
                    docs.push((name.to_string(), format!("/apis/{gv}")));
                }
            }
        }
        let mut out = ApiDiscovery::default();
        if docs.len() > MAX_DISCOVERY_DOCUMENTS {
            out.errors.push(format!(
                "/apis lists {} group versions; only the first {MAX_DISCOVERY_DOCUMENTS} are read",
                docs.len()
            ));
            docs.truncate(MAX_DISCOVERY_DOCUMENTS);
        }
        let answers = join_all(docs.iter().map(|(_, path)| self.get(path))).await;
        for ((group, path), answer) in docs.iter().zip(answers) {
            let doc = match answer {
                Ok(d) => d,
                Err(e) => {
                    out.errors.push(format!("{path}: {e}"));
                    continue;
                }
            };
            for r in doc
                .get("resources")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                let text = |k: &str| r.get(k).and_then(Json::as_str).unwrap_or("").to_string();
                let plural = text("name");
                // Subresources (`pods/exec`) are reached through their resource.
                if plural.is_empty() || plural.contains('/') {
                    continue;
                }
                let served = eksguard_model::rbac::query::ServedResource {
                    group: group.clone(),
                    plural,
                    singular: text("singularName"),
                    kind: text("kind"),
                    short_names: strings(r.get("shortNames")),
                    namespaced: r.get("namespaced").and_then(Json::as_bool),
                };
                if !out.resources.contains(&served) {
                    out.resources.push(served);
                }
            }
        }
        Ok(out)
    }

    /// Every page of one kind's list.
    async fn list(&self, w: &Wanted, gv: &str) -> Result<Vec<Object>, InputError> {
        let base = if w.group.is_empty() {
            format!("/api/{gv}")
        } else {
            format!("/apis/{gv}")
        };
        let namespaced = !eksguard_model::object::is_cluster_scoped(w.kind);
        let mut url = match (&self.opts.namespace, namespaced) {
            (Some(ns), true) => format!("{base}/namespaces/{}/{}", enc(ns), w.plural),
            _ => format!("{base}/{}", w.plural),
        };
        url.push_str(&format!("?limit={}", self.opts.page_size));
        // One namespace asked for: of the Namespace objects, only that one.
        if let (Some(ns), "Namespace") = (&self.opts.namespace, w.kind) {
            url.push_str(&format!("&fieldSelector=metadata.name%3D{}", enc(ns)));
        }
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut page = 0usize;
        loop {
            page += 1;
            let uri = match &token {
                Some(t) => format!("{url}&continue={}", enc(t)),
                None => url.clone(),
            };
            let doc = match self.get(&uri).await {
                Ok(d) => d,
                Err(e) => {
                    self.progress.done_one();
                    let what = if page > 1 {
                        format!("page {page} failed after {} items: {e}", objects.len())
                    } else {
                        e.to_string()
                    };
                    return Err(self.error(w.kind, w.plural, &what));
                }
            };
            let Json::Object(mut doc) = doc else {
                self.progress.done_one();
                return Err(self.error(w.kind, w.plural, "list response is not a JSON object"));
            };
            let items = match doc.remove("items") {
                Some(Json::Array(items)) => items,
                Some(Json::Null) | None => Vec::new(),
                Some(_) => {
                    self.progress.done_one();
                    return Err(self.error(w.kind, w.plural, "`items` is not a list"));
                }
            };
            self.progress.add_objects(items.len());
            objects.extend(
                items
                    .into_iter()
                    .filter_map(|item| live_object(item, w.kind, gv)),
            );
            token = doc
                .get("metadata")
                .and_then(|m| m.get("continue"))
                .and_then(Json::as_str)
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            let Some(t) = &token else { break };
            // A token handed out twice would page forever, each page under the cap.
            if !seen.insert(t.clone()) {
                self.progress.done_one();
                return Err(self.error(
                    w.kind,
                    w.plural,
                    &format!(
                        "page {page}: the server repeated an earlier continue token; stopped after {} items",
                        objects.len()
                    ),
                ));
            }
        }
        self.progress.done_one();
        Ok(objects)
    }

    /// One named ConfigMap; its absence is normal (clusters that use access entries only).
    async fn config_map(&self, ns: &str, name: &str) -> Result<Vec<Object>, InputError> {
        let r = self
            .get(&format!("/api/v1/namespaces/{ns}/configmaps/{name}"))
            .await;
        self.progress.done_one();
        match r {
            Ok(item) => Ok(live_object(item, "ConfigMap", "v1").into_iter().collect()),
            Err(Failure::Status(404, _)) => Ok(Vec::new()),
            Err(e) => Err(self.error_named(
                &format!("configmaps {ns}/{name}"),
                "ConfigMap",
                &e.to_string(),
            )),
        }
    }

    fn error(&self, kind: &str, plural: &str, what: &str) -> InputError {
        self.error_named(plural, kind, what)
    }

    /// `kubernetes/<resource>: <failure>; not checked: <rules>`.
    fn error_named(&self, resource: &str, kind: &str, what: &str) -> InputError {
        let mut message = format!("cannot list {resource}: {what}");
        if let Some(rules) = self.opts.rules_by_kind.get(kind).filter(|r| !r.is_empty()) {
            message.push_str(&format!("; not checked: {}", rules.join(", ")));
        }
        InputError::new(format!("kubernetes/{resource}"), None, message)
    }
}

/// Reads a response body into one buffer of at most `cap` bytes: a declared length over
/// the cap fails before anything is read, and a body that grows past it (chunked, or
/// longer than declared) fails as soon as it does. The buffer never holds more than the
/// cap, so the peak is the cap however large the answer.
async fn read_capped(
    mut body: kube::client::Body,
    cap: u64,
    received: &AtomicU64,
) -> Result<Vec<u8>, String> {
    use http_body::Body as _;
    let declared = body.size_hint().exact();
    if let Some(len) = declared.filter(|&l| l > cap) {
        return Err(format!(
            "response of {len} bytes is over the limit of {cap} bytes (--max-response-bytes); not read"
        ));
    }
    let cap_usize = usize::try_from(cap).unwrap_or(usize::MAX);
    let mut buf: Vec<u8> = Vec::new();
    if let Some(len) = declared {
        buf.reserve_exact(usize::try_from(len).unwrap_or(cap_usize));
    }
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        let Some(frame) = frame else { break };
        let frame = frame.map_err(|e| format!("response body cut off: {e}"))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let len = buf.len() + data.len();
        if len > cap_usize {
            return Err(format!(
                "response grew past the limit of {cap} bytes (--max-response-bytes); read stopped"
            ));
        }
        if len > buf.capacity() {
            // Grow by doubling, but never past the cap.
            let target = len.max(buf.capacity().saturating_mul(2)).min(cap_usize);
            buf.reserve_exact(target - buf.len());
        }
        buf.extend_from_slice(&data);
        received.store(buf.len() as u64, Ordering::Relaxed);
    }
    Ok(buf)
}

/// The `message` of an error response's `Status`, else its text (short), else the
/// status line's reason.
fn status_message(body: Option<&[u8]>, status: http::StatusCode) -> String {
    let reason = || status.canonical_reason().unwrap_or("error").to_string();
    let Some(body) = body else { return reason() };
    if let Ok(doc) = serde_json::from_slice::<Json>(body) {
        if let Some(m) = doc.get("message").and_then(Json::as_str) {
            return m.to_string();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return reason();
    }
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

/// Everything but the unreserved characters of RFC 3986.
const ENCODED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query or path value.
fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ENCODED).to_string()
}

/// Turns one list item into an object: identity filled in (list items omit it), server
/// bookkeeping dropped, Secret values removed.
pub fn live_object(item: Json, kind: &str, api_version: &str) -> Option<Object> {
    let Json::Object(mut item) = item else {
        return None;
    };
    item.entry("kind")
        .or_insert_with(|| Json::String(kind.to_string()));
    item.entry("apiVersion")
        .or_insert_with(|| Json::String(api_version.to_string()));
    // Items of the Secret list are Secrets whatever their own `kind` says.
    eksguard_model::sanitize::sanitize_as(
        &mut item,
        eksguard_model::sanitize::is_secret_kind(kind),
    );
    let root = Node::from_json(&Json::Object(item));
    Object::from_node(root, Source::Live, "default").ok()
}

/// A change seen by a watch.
#[derive(Debug)]
pub enum WatchEvent {
    Added(Object),
    Modified(Object),
    Deleted(Object),
    /// Nothing changed; the watch has reached this resourceVersion.
    Bookmark,
}

/// How a watch ended other than by the server closing it.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// 410 Gone: the resourceVersion is too old; list again.
    #[error("resourceVersion expired (410 Gone)")]
    Gone,
    #[error("{0}")]
    Failed(String),
}

/// Lists and watches of single resource types, for callers that keep a cache current:
/// the same client, timeout and response cap as [`read_cluster`].
pub struct Watcher {
    client: Client,
    opts: KubeOptions,
    pub info: ClusterInfo,
}

impl Watcher {
    pub async fn connect(opts: &KubeOptions) -> Result<Watcher, KubeError> {
        let (config, context) = client_config(opts).await?;
        let info = ClusterInfo {
            server: config.cluster_url.to_string(),
            context,
            reached: false,
        };
        let client = Client::try_from(config).map_err(KubeError::Client)?;
        Ok(Watcher {
            client,
            opts: opts.clone(),
            info,
        })
    }

    fn reader(&self) -> Reader<'_> {
        Reader {
            client: self.client.clone(),
            opts: &self.opts,
            permits: Semaphore::new(self.opts.concurrency.max(1)),
            progress: Progress::new(false),
            direct: None,
        }
    }

    /// Every page of the list at `path` (a collection URL, optionally with a query), and
    /// the list's resourceVersion to watch from.
    pub async fn list(
        &self,
        path: &str,
        kind: &str,
        api_version: &str,
    ) -> Result<(Vec<Object>, String), String> {
        let reader = self.reader();
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = format!("{path}{sep}limit={}", self.opts.page_size.max(1));
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        let mut seen: BTreeSet<String> = BTreeSet::new();
        loop {
            let uri = match &token {
                Some(t) => format!("{url}&continue={}", enc(t)),
                None => url.clone(),
            };
            let Json::Object(mut doc) = reader.get(&uri).await.map_err(|e| e.to_string())? else {
                return Err("list response is not a JSON object".into());
            };
            if let Some(Json::Array(items)) = doc.remove("items") {
                objects.extend(
                    items
                        .into_iter()
                        .filter_map(|i| live_object(i, kind, api_version)),
                );
            }
            let meta = doc.get("metadata");
            let text = |k: &str| {
                meta.and_then(|m| m.get(k))
                    .and_then(Json::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
            };
            token = text("continue");
            match &token {
                Some(t) if !seen.insert(t.clone()) => {
                    return Err("the server repeated an earlier continue token".into())
                }
                Some(_) => {}
                None => return Ok((objects, text("resourceVersion").unwrap_or_default())),
            }
        }
    }

    /// Creates `body` at `path` and returns the server's answer: for the reviews that are
    /// answered rather than stored (TokenReview, SubjectAccessReview). Held to the same
    /// timeout and response cap as reads.
    pub async fn create(&self, path: &str, body: &Json) -> Result<Json, String> {
        let req = http::Request::post(path)
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(kube::client::Body::from(body.to_string().into_bytes()))
            .map_err(|e| format!("bad request {path}: {e}"))?;
        let received = AtomicU64::new(0);
        let exchange = async {
            let res = self.client.send(req).await.map_err(|e| e.to_string())?;
            let status = res.status();
            if status.is_client_error() || status.is_server_error() {
                let body = read_capped(res.into_body(), MAX_ERROR_BODY, &received).await;
                return Err(format!(
                    "{}: {}",
                    status.as_u16(),
                    status_message(body.as_deref().ok(), status)
                ));
            }
            let body =
                read_capped(res.into_body(), self.opts.max_response_bytes, &received).await?;
            serde_json::from_slice::<Json>(&body).map_err(|e| format!("response is not JSON: {e}"))
        };
        tokio::time::timeout(self.opts.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(format!(
                    "no answer within {} s",
                    self.opts.timeout.as_secs_f64()
                ))
            })
    }

    /// Watches `path` from `resource_version` until the server ends the watch (after
    /// about `timeout` at the latest); each event goes to `on_event`. Returns the last
    /// resourceVersion seen. Every event line is held to the response cap, and the whole
    /// watch to `timeout` plus the request timeout.
    pub async fn watch(
        &self,
        path: &str,
        kind: &str,
        api_version: &str,
        resource_version: &str,
        timeout: Duration,
        on_event: &mut (dyn FnMut(WatchEvent) + Send),
    ) -> Result<String, WatchError> {
        use http_body::Body as _;
        let sep = if path.contains('?') { '&' } else { '?' };
        let uri = format!(
            "{path}{sep}watch=1&allowWatchBookmarks=true&resourceVersion={}&timeoutSeconds={}",
            enc(resource_version),
            timeout.as_secs().max(1)
        );
        let req = http::Request::get(&uri)
            .header(http::header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(|e| WatchError::Failed(format!("bad request {uri}: {e}")))?;
        let cap = usize::try_from(self.opts.max_response_bytes).unwrap_or(usize::MAX);
        let mut rv = resource_version.to_string();
        let exchange = async {
            let res = self
                .client
                .send(req)
                .await
                .map_err(|e| WatchError::Failed(e.to_string()))?;
            let status = res.status();
            if status == http::StatusCode::GONE {
                return Err(WatchError::Gone);
            }
            if !status.is_success() {
                let body = read_capped(res.into_body(), MAX_ERROR_BODY, &AtomicU64::new(0)).await;
                return Err(WatchError::Failed(format!(
                    "HTTP {}: {}",
                    status.as_u16(),
                    status_message(body.as_deref().ok(), status)
                )));
            }
            let mut body = res.into_body();
            let mut line: Vec<u8> = Vec::new();
            loop {
                let frame =
                    std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
                let Some(frame) = frame else {
                    return Ok(());
                };
                let frame = frame.map_err(|e| WatchError::Failed(format!("watch cut off: {e}")))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let mut rest: &[u8] = &data;
                while let Some(end) = rest.iter().position(|b| *b == b'\n') {
                    line.extend_from_slice(&rest[..end]);
                    rest = &rest[end + 1..];
                    let event = std::mem::take(&mut line);
                    if let Some(v) = watch_event(&event, kind, api_version)? {
                        if let Some(r) = v.1 {
                            rv = r;
                        }
                        on_event(v.0);
                    }
                }
                if line.len() + rest.len() > cap {
                    return Err(WatchError::Failed(format!(
                        "a watch event grew past the limit of {cap} bytes (--max-response-bytes)"
                    )));
                }
                line.extend_from_slice(rest);
            }
        };
        match tokio::time::timeout(timeout + self.opts.timeout, exchange).await {
            Ok(Ok(())) => Ok(rv),
            Ok(Err(e)) => Err(e),
            // The server should have ended it; start again from where it got.
            Err(_) => Ok(rv),
        }
    }
}

/// One line of a watch stream: the event and the resourceVersion it carries. An `ERROR`
/// event is the watch's end: 410 means the version expired.
#[allow(clippy::type_complexity)]
fn watch_event(
    line: &[u8],
    kind: &str,
    api_version: &str,
) -> Result<Option<(WatchEvent, Option<String>)>, WatchError> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let doc: Json = serde_json::from_slice(line)
        .map_err(|e| WatchError::Failed(format!("watch event is not JSON: {e}")))?;
    let object = doc.get("object").cloned().unwrap_or(Json::Null);
    let rv = object
        .pointer("/metadata/resourceVersion")
        .and_then(Json::as_str)
        .map(str::to_string);
    let ty = doc.get("type").and_then(Json::as_str).unwrap_or("");
    let obj = || {
        live_object(object.clone(), kind, api_version)
            .ok_or_else(|| WatchError::Failed(format!("{ty} event without an object")))
    };
    let event = match ty {
        "ADDED" => WatchEvent::Added(obj()?),
        "MODIFIED" => WatchEvent::Modified(obj()?),
        "DELETED" => WatchEvent::Deleted(obj()?),
        "BOOKMARK" => WatchEvent::Bookmark,
        "ERROR" => {
            let code = object.get("code").and_then(Json::as_u64);
            return Err(match code {
                Some(410) => WatchError::Gone,
                _ => WatchError::Failed(format!(
                    "watch error: {}",
                    object
                        .get("message")
                        .and_then(Json::as_str)
                        .unwrap_or("no message")
                )),
            });
        }
        other => {
            return Err(WatchError::Failed(format!(
                "unknown watch event type `{other}`"
            )))
        }
    };
    Ok(Some((event, rv)))
}

/// Resource types done and objects read, on standard error when it is a terminal.
struct Progress(Option<indicatif::ProgressBar>, AtomicUsize);

impl Progress {
    fn new(wanted: bool) -> Self {
        use std::io::IsTerminal;
        let on = wanted && std::io::stderr().is_terminal();
        Progress(
            on.then(|| {
                let bar = indicatif::ProgressBar::with_draw_target(
                    None,
                    indicatif::ProgressDrawTarget::stderr(),
                );
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} reading Kubernetes: {pos}/{len} resource types, {msg} objects",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_message("0");
                bar
            }),
            AtomicUsize::new(0),
        )
    }

    fn start(&self, types: usize) {
        if let Some(b) = &self.0 {
            b.set_length(types as u64);
            b.enable_steady_tick(Duration::from_millis(120));
        }
    }

    fn add_objects(&self, n: usize) {
        if let Some(b) = &self.0 {
            let total = self.1.fetch_add(n, Ordering::Relaxed) + n;
            b.set_message(total.to_string());
        }
    }

    fn done_one(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// Kinds read from a live cluster, for callers that map them to rules.
pub fn kinds_read() -> impl Iterator<Item = &'static str> {
    WANTED
        .iter()
        .map(|w| w.kind)
        .chain(std::iter::once("ConfigMap"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_lose_their_values() {
        let item = json!({
            "metadata": {"name": "s", "namespace": "a", "managedFields": [{"x": 1}],
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"k\":\"c2VjcmV0\"}}", "keep": "me"}},
            "type": "Opaque",
            "data": {"k": "c2VjcmV0"},
            "stringData": {"k": "secret"}
        });
        let o = live_object(item, "Secret", "v1").unwrap();
        let text = o.root.to_json().to_string();
        assert!(
            !text.contains("c2VjcmV0") && !text.contains("secret\""),
            "{text}"
        );
        assert_eq!(o.annotation("keep"), Some("me"));
        assert!(o.metadata().get("managedFields").is_none());
        assert_eq!(&*o.kind, "Secret");
        assert_eq!(o.ns(), Some("a"));
        assert_eq!(o.source, Source::Live);
    }

    #[test]
    fn list_items_get_their_identity() {
        let o = live_object(json!({"metadata": {"name": "d"}}), "Deployment", "apps/v1").unwrap();
        assert_eq!(
            (&*o.api_version, &*o.kind, o.ns()),
            ("apps/v1", "Deployment", Some("default"))
        );
        let kept = live_object(
            json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "c"}}),
            "X",
            "y",
        )
        .unwrap();
        assert_eq!(&*kept.kind, "ConfigMap");
        assert!(live_object(json!([1]), "Pod", "v1").is_none());
    }

    #[test]
    fn watch_lines_become_events() {
        let added = br#"{"type":"ADDED","object":{"metadata":{"name":"a","namespace":"x","resourceVersion":"7"}}}"#;
        let (e, rv) = watch_event(added, "NetworkPolicy", "networking.k8s.io/v1")
            .unwrap()
            .unwrap();
        assert!(
            matches!(e, WatchEvent::Added(o) if &*o.kind == "NetworkPolicy" && &*o.name == "a")
        );
        assert_eq!(rv.as_deref(), Some("7"));
        let gone = br#"{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old"}}"#;
        assert!(matches!(
            watch_event(gone, "Pod", "v1"),
            Err(WatchError::Gone)
        ));
        assert!(watch_event(b"  ", "Pod", "v1").unwrap().is_none());
        assert!(matches!(
            watch_event(b"{", "Pod", "v1"),
            Err(WatchError::Failed(_))
        ));
        // A watched Secret loses its values as a listed one does.
        let secret =
            br#"{"type":"MODIFIED","object":{"metadata":{"name":"s"},"data":{"k":"c2VjcmV0"}}}"#;
        let (e, _) = watch_event(secret, "Secret", "v1").unwrap().unwrap();
        let WatchEvent::Modified(o) = e else { panic!() };
        assert!(!o.root.to_json().to_string().contains("c2VjcmV0"));
    }

    #[test]
    fn every_wanted_kind_is_distinct() {
        let kinds: BTreeSet<&str> = WANTED.iter().map(|w| w.kind).collect();
        assert_eq!(kinds.len(), WANTED.len());
    }
}
