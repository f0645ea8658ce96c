//! The watch cache: the objects the cross-object rules look at, listed once and kept
//! current by watches (resourceVersion carried from the list, a fresh list after 410 Gone,
//! bounded backoff after failures). Admission requests read it; nothing here blocks them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use eksguard_live::kube_live::{WatchError, WatchEvent, Watcher};
use eksguard_model::kinds::{self, WORKLOAD_KINDS};
use eksguard_model::{Object, ObjectId};
use eksguard_rules::registry;

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

/// Ids are handed out below this; past it, every object is numbered afresh. The objects
/// judged at admission take ids above those of the cache's.
const ID_LIMIT: u32 = u32::MAX / 2;

#[derive(Default)]
struct Store {
    /// kind → (namespace, name) → object.
    by_kind: HashMap<&'static str, BTreeMap<Key, Arc<Object>>>,
    /// The id of the next object stored: every object in the cache has an id of its own,
    /// so the objects around a request go into its inventory as they are, shared.
    next: u32,
}

impl Store {
    /// Makes room for `n` more ids.
    fn room(&mut self, n: usize) {
        if self.next as usize + n >= ID_LIMIT as usize {
            self.renumber();
        }
    }

    /// The object with the next id; [`Store::room`] first.
    fn numbered(&mut self, mut o: Object) -> Arc<Object> {
        o.id = ObjectId(self.next);
        self.next += 1;
        Arc::new(o)
    }

    /// Numbers every object from 0 again. A request that holds objects from before keeps
    /// its own copies, numbered as they were.
    fn renumber(&mut self) {
        self.next = 0;
        for map in self.by_kind.values_mut() {
            for o in map.values_mut() {
                Arc::make_mut(o).id = ObjectId(self.next);
                self.next += 1;
            }
        }
    }
}

#[derive(Default)]
pub struct Cache {
    /// Shared: a request takes references, not copies, and holds the lock only while it
    /// gathers them.
    objects: RwLock<Store>,
    synced: HashMap<&'static str, AtomicBool>,
}

fn key(o: &Object) -> Key {
    (o.ns().unwrap_or("").to_string(), o.name.to_string())
}

impl Cache {
    pub fn new() -> Cache {
        Cache {
            objects: RwLock::new(Store::default()),
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

    /// Replaces every object of `kind`, as a fresh list does, and marks it synced
    /// (benchmarks and tests fill a cache this way, without an API server).
    pub fn replace(&self, kind: &'static str, objects: Vec<Object>) -> usize {
        let mut n = 0;
        if let Ok(mut store) = self.objects.write() {
            // Those this list replaces are numbered too, should the ids run out.
            store.room(objects.len());
            let map: BTreeMap<Key, Arc<Object>> = objects
                .into_iter()
                .map(|o| (key(&o), store.numbered(o)))
                .collect();
            n = map.len();
            store.by_kind.insert(kind, map);
        }
        self.synced[kind].store(true, Ordering::Release);
        n
    }

    fn apply(&self, kind: &'static str, event: WatchEvent) -> usize {
        let Ok(mut store) = self.objects.write() else {
            return 0;
        };
        match event {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => {
                let k = key(&o);
                store.room(1);
                let o = store.numbered(o);
                store.by_kind.entry(kind).or_default().insert(k, o);
            }
            WatchEvent::Deleted(o) => {
                store.by_kind.entry(kind).or_default().remove(&key(&o));
            }
            WatchEvent::Bookmark => {}
        }
        store.by_kind.get(kind).map_or(0, BTreeMap::len)
    }

    /// The cached objects around an object of `kind` in `namespace`: the namespace and
    /// what lives in it, aws-auth, and for RBAC objects the cluster-wide roles and
    /// bindings; in increasing id order, as an inventory takes shared objects. `None`
    /// until every kind has synced.
    pub fn around(&self, kind: &str, namespace: Option<&str>) -> Option<Vec<Arc<Object>>> {
        if !self.unsynced().is_empty() {
            return None;
        }
        let store = self.objects.read().ok()?;
        let mut out = Vec::new();
        let rbac = is_rbac(kind);
        for (k, map) in store.by_kind.iter() {
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
        drop(store);
        out.sort_unstable_by_key(|o| o.id);
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
                        crate::term::shown(e),
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
                            crate::term::shown(e),
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

    fn sa(name: &str) -> Object {
        let item = serde_json::json!({"metadata": {"name": name, "namespace": "shop"}});
        eksguard_live::kube_live::live_object(item, "ServiceAccount", "v1").unwrap()
    }

    fn ids(objects: &[Arc<Object>]) -> Vec<u32> {
        objects.iter().map(|o| o.id.0).collect()
    }

    #[test]
    fn objects_around_a_request_have_increasing_ids_even_after_they_run_out() {
        let cache = Cache::new();
        for w in WATCHED.iter() {
            cache.replace(w.kind, Vec::new());
        }
        cache.replace("ServiceAccount", vec![sa("b"), sa("a")]);
        cache.apply("ServiceAccount", WatchEvent::Modified(sa("b")));
        let held = cache.around("Deployment", Some("shop")).unwrap();
        assert_eq!(ids(&held), [1, 2]);
        cache.objects.write().unwrap().next = ID_LIMIT - 1;
        cache.apply("ServiceAccount", WatchEvent::Added(sa("c")));
        let now = cache.around("Deployment", Some("shop")).unwrap();
        assert_eq!(ids(&now), [0, 1, 2]);
        let names: Vec<&str> = now.iter().map(|o| &*o.name).collect();
        assert_eq!(names, ["a", "b", "c"]);
        // A request that held objects from before keeps them as they were.
        assert_eq!(ids(&held), [1, 2]);
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
        let live: BTreeSet<&str> = eksguard_live::kube_live::kinds_read().collect();
        // Listed today though no rule declares them: a rule that comes to read them
        // takes them off this list.
        let unread = [
            "MutatingWebhookConfiguration",
            "PriorityClass",
            "ValidatingWebhookConfiguration",
        ];
        let mut wrong = Vec::new();
        for k in &live {
            if metas.iter().any(|m| m.uses_kind(k)) == unread.contains(k) {
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
