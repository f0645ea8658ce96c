//! The watch cache: the objects the cross-object rules look at, listed once and kept
//! current by watches (resourceVersion carried from the list, a fresh list after 410 Gone,
//! bounded backoff after failures). Admission requests read it; nothing here blocks them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use eksguard_model::kinds::{self, WORKLOAD_KINDS};
use eksguard_model::Object;
use eksguard_rules::registry;
use eksguard_sources::kube_live::{WatchError, WatchEvent, Watcher};

use super::admission::{scope, Scope};
use super::metrics::Metrics;

/// A watched resource type.
#[derive(Debug, Clone)]
pub struct Watched {
    pub kind: &'static str,
    pub api_version: String,
    /// The collection URL (all namespaces), with a selector where only some objects
    /// matter.
    pub path: String,
}

/// What the cache holds, from the kinds table: the non-workload kinds that cache-backed
/// rules read (a test keeps this in step with the registry), the RBAC objects that
/// binding rules resolve, and the aws-auth ConfigMap alone of all ConfigMaps.
pub static WATCHED: LazyLock<Vec<Watched>> = LazyLock::new(|| {
    kinds::watched()
        .map(|k| Watched {
            kind: k.kind,
            api_version: k.api_version(),
            path: k.collection_path(),
        })
        .collect()
});

fn is_rbac(kind: &str) -> bool {
    kinds::get(kind).is_some_and(|k| k.group == "rbac.authorization.k8s.io")
}

/// Kinds that cache-backed rules read besides the workloads themselves (which the
/// request brings).
pub fn kinds_needed() -> BTreeSet<&'static str> {
    registry::all()
        .iter()
        .map(|r| r.meta())
        .filter(|m| scope(m) == Scope::Cache)
        .flat_map(|m| m.reads.iter().copied())
        .filter(|k| !WORKLOAD_KINDS.contains(k))
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
        let rbac = is_rbac(kind);
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
        for w in WATCHED.iter() {
            let (cache, watcher, metrics) = (self.clone(), watcher.clone(), metrics.clone());
            let w = w.clone();
            tokio::spawn(async move { cache.keep(w, &watcher, &metrics).await });
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
            let (objects, mut rv) = match watcher.list(&w.path, w.kind, &w.api_version).await {
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
                    .watch(
                        &w.path,
                        w.kind,
                        &w.api_version,
                        &rv,
                        WATCH_FOR,
                        &mut on_event,
                    )
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

    /// The watch cache holds exactly what the cache-backed rules read, plus the RBAC
    /// objects the binding rules resolve and aws-auth: no kind watched for nothing.
    #[test]
    fn the_cache_watches_nothing_the_rules_do_not_read() {
        let needed = kinds_needed();
        for w in WATCHED.iter() {
            assert!(
                needed.contains(w.kind) || is_rbac(w.kind) || w.kind == "ConfigMap",
                "{} is watched, but no cache-backed rule reads it",
                w.kind
            );
        }
    }

    /// A live read lists every Kubernetes kind some rule looks at, and no kind that no
    /// rule looks at.
    #[test]
    fn live_reads_are_the_kinds_the_rules_read() {
        use eksguard_model::Data;
        let metas: Vec<_> = registry::all().iter().map(|r| r.meta()).collect();
        let live: BTreeSet<&str> = eksguard_sources::kube_live::kinds_read().collect();
        // Listed today though no rule declares them: a rule that comes to read them
        // takes them off this list.
        let unread = [
            "MutatingWebhookConfiguration",
            "PriorityClass",
            "ValidatingWebhookConfiguration",
        ];
        let mut wrong = Vec::new();
        for k in &live {
            if !metas.iter().any(|m| m.uses_kind(k)) != unread.contains(k) {
                wrong.push(format!(
                    "{k}: listed live, read by a rule, and on the unread list disagree"
                ));
            }
        }
        // Kinds a cluster has no API for: pod templates are only ever embedded, and
        // eksctl's ClusterConfig and node files are not Kubernetes objects.
        let never_served = ["PodTemplate"];
        for m in metas.iter().filter(|m| m.data.contains(Data::Kubernetes)) {
            for k in m.kinds().iter().chain(m.reads) {
                if kinds::get(k).is_some() && !live.contains(k) && !never_served.contains(k) {
                    wrong.push(format!(
                        "{} reads {k}, which a live read does not list",
                        m.id
                    ));
                }
            }
        }
        wrong.sort();
        wrong.dedup();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
