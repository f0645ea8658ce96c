//! The watch cache: the objects the cross-object rules look at, listed once and kept
//! current by watches (resourceVersion carried from the list, a fresh list after 410 Gone,
//! bounded backoff after failures). Admission requests read it; nothing here blocks them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use eksguard_live::kube_live::{WatchError, WatchEvent, Watcher};
use eksguard_model::workload::WORKLOAD_KINDS;
use eksguard_model::Object;
use eksguard_rules::registry;

use super::admission::{scope, Scope};
use super::metrics::Metrics;

/// A watched resource type.
#[derive(Debug, Clone, Copy)]
pub struct Watched {
    pub kind: &'static str,
    pub api_version: &'static str,
    /// The collection URL (all namespaces), with a selector where only some objects
    /// matter.
    pub path: &'static str,
}

const fn w(kind: &'static str, api_version: &'static str, path: &'static str) -> Watched {
    Watched {
        kind,
        api_version,
        path,
    }
}

/// What the cache holds: the non-workload kinds that cache-backed rules read (a test
/// keeps this in step with the registry), the RBAC objects that binding rules resolve,
/// and the aws-auth ConfigMap alone of all ConfigMaps.
pub const WATCHED: &[Watched] = &[
    w("Namespace", "v1", "/api/v1/namespaces"),
    w("ServiceAccount", "v1", "/api/v1/serviceaccounts"),
    w("ResourceQuota", "v1", "/api/v1/resourcequotas"),
    w("LimitRange", "v1", "/api/v1/limitranges"),
    w(
        "NetworkPolicy",
        "networking.k8s.io/v1",
        "/apis/networking.k8s.io/v1/networkpolicies",
    ),
    w(
        "Role",
        "rbac.authorization.k8s.io/v1",
        "/apis/rbac.authorization.k8s.io/v1/roles",
    ),
    w(
        "ClusterRole",
        "rbac.authorization.k8s.io/v1",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    ),
    w(
        "RoleBinding",
        "rbac.authorization.k8s.io/v1",
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    ),
    w(
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    ),
    w(
        "ConfigMap",
        "v1",
        "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Daws-auth",
    ),
];

const RBAC_KINDS: &[&str] = &["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// Kinds that cache-backed rules read besides the workloads themselves (which the
/// request brings).
pub fn kinds_needed() -> BTreeSet<&'static str> {
    registry::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| scope(m) == Scope::Cache)
        .flat_map(|m| m.reads.iter().copied())
        .filter(|k| !WORKLOAD_KINDS.contains(k) && !matches!(*k, "PodTemplate" | "Rollout"))
        .collect()
}

type Key = (String, String);

#[derive(Default)]
pub struct Cache {
    /// kind → (namespace, name) → object. Shared: a request takes references, not copies,
    /// and holds the lock only while it gathers them.
    objects: RwLock<HashMap<&'static str, BTreeMap<Key, Arc<Object>>>>,
    synced: HashMap<&'static str, AtomicBool>,
}

fn key(o: &Object) -> Key {
    (o.ns().unwrap_or("").to_string(), o.name.to_string())
}

impl Cache {
    pub fn new() -> Cache {
        Cache {
            objects: RwLock::new(HashMap::new()),
            synced: WATCHED
                .iter()
                .map(|w| (w.kind, AtomicBool::new(false)))
                .collect(),
        }
    }

    /// Kinds not listed yet; empty once the cache has synced.
    pub fn unsynced(&self) -> Vec<&'static str> {
        WATCHED
            .iter()
            .map(|w| w.kind)
            .filter(|k| !self.synced[k].load(Ordering::Acquire))
            .collect()
    }

    fn replace(&self, kind: &'static str, objects: Vec<Object>) -> usize {
        let map: BTreeMap<Key, Arc<Object>> = objects
            .into_iter()
            .map(|o| (key(&o), Arc::new(o)))
            .collect();
        let n = map.len();
        if let Ok(mut all) = self.objects.write() {
            all.insert(kind, map);
        }
        self.synced[kind].store(true, Ordering::Release);
        n
    }

    fn apply(&self, kind: &'static str, event: WatchEvent) -> usize {
        let Ok(mut all) = self.objects.write() else {
            return 0;
        };
        let map = all.entry(kind).or_default();
        match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                map.insert(key(&o), Arc::new(o));
            }
            WatchEvent::Deleted(o) => {
                map.remove(&key(&o));
            }
            WatchEvent::Bookmark => {}
        }
        map.len()
    }

    /// The cached objects around an object of `kind` in `namespace`: the namespace and
    /// what lives in it, aws-auth, and for RBAC objects the cluster-wide roles and
    /// bindings. `None` until every kind has synced.
    pub fn around(&self, kind: &str, namespace: Option<&str>) -> Option<Vec<Arc<Object>>> {
        if !self.unsynced().is_empty() {
            return None;
        }
        let all = self.objects.read().ok()?;
        let mut out = Vec::new();
        let rbac = RBAC_KINDS.contains(&kind);
        for (k, map) in all.iter() {
            match *k {
                "Namespace" => {
                    if let Some(ns) = namespace {
                        out.extend(map.get(&(String::new(), ns.to_string())).cloned());
                    }
                }
                "ClusterRole" | "ClusterRoleBinding" if rbac => out.extend(map.values().cloned()),
                "ClusterRole" | "ClusterRoleBinding" => {}
                "ConfigMap" => out.extend(map.values().cloned()),
                _ => {
                    if let Some(ns) = namespace {
                        out.extend(
                            map.range((ns.to_string(), String::new())..)
                                .take_while(|((n, _), _)| n == ns)
                                .map(|(_, o)| o.clone()),
                        );
                    }
                }
            }
        }
        Some(out)
    }

    /// Lists and watches every kind, each on a task of its own, for as long as the
    /// runtime lives.
    pub fn spawn(self: &Arc<Self>, watcher: Arc<Watcher>, metrics: Arc<Metrics>) {
        for w in WATCHED {
            let (cache, watcher, metrics) = (self.clone(), watcher.clone(), metrics.clone());
            tokio::spawn(async move { cache.keep(*w, &watcher, &metrics).await });
        }
    }

    async fn keep(&self, w: Watched, watcher: &Watcher, metrics: &Metrics) {
        const FIRST: Duration = Duration::from_millis(500);
        const MAX: Duration = Duration::from_secs(60);
        // Under the client's idle-read limit, so the server ends each watch first.
        const WATCH_FOR: Duration = Duration::from_secs(240);
        let label = || [("kind", w.kind.to_string())];
        let mut backoff = FIRST;
        loop {
            let (objects, mut rv) = match watcher.list(w.path, w.kind, w.api_version).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!(
                        "eksguard serve: cannot list {}: {}; again in {} s",
                        w.kind,
                        crate::commands::shown(e),
                        backoff.as_secs_f64()
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX);
                    continue;
                }
            };
            let n = self.replace(w.kind, objects);
            metrics.cache_objects.get_or_create(&label()).set(n as i64);
            metrics.cache_synced.get_or_create(&label()).set(1);
            loop {
                let mut on_event = |e: WatchEvent| {
                    let n = self.apply(w.kind, e);
                    metrics.cache_objects.get_or_create(&label()).set(n as i64);
                };
                let started = std::time::Instant::now();
                match watcher
                    .watch(w.path, w.kind, w.api_version, &rv, WATCH_FOR, &mut on_event)
                    .await
                {
                    Ok(next) => {
                        rv = next;
                        // A server that ends every watch at once must not be asked in
                        // a tight loop.
                        if started.elapsed() < Duration::from_secs(1) {
                            tokio::time::sleep(backoff).await;
                            backoff = (backoff * 2).min(MAX);
                        } else {
                            backoff = FIRST;
                        }
                    }
                    Err(WatchError::Gone) => {
                        metrics.cache_relists.get_or_create(&label()).inc();
                        break;
                    }
                    Err(WatchError::Failed(e)) => {
                        eprintln!(
                            "eksguard serve: watch of {} failed: {}; listing again in {} s",
                            w.kind,
                            crate::commands::shown(e),
                            backoff.as_secs_f64()
                        );
                        metrics.cache_relists.get_or_create(&label()).inc();
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX);
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_holds_every_kind_the_cache_backed_rules_read() {
        for k in kinds_needed() {
            assert!(
                WATCHED.iter().any(|w| w.kind == k),
                "a cache-backed rule reads {k}, which the cache does not watch"
            );
        }
    }
}
