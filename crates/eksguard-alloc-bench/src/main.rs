//! Allocations per admission request: the bench AdmissionReview
//! (`bench/admission-review.json`) is judged N times through the path `/validate` takes
//! (parse, the watch cache's objects around it, the decision, the response document),
//! against a synced cache holding a busy namespace, under a counting allocator.
//!
//! usage: cargo run --release -p eksguard-alloc-bench -- [N] [PER_KIND]
//! N requests of each operation (default 2000); PER_KIND objects of each cached kind in
//! each of 20 namespaces (default 50).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use eksguard::serve::admission::{parse_review, Judge, Policy};
use eksguard::serve::cache::{Cache, WATCHED};
use eksguard_live::kube_live::live_object;
use eksguard_model::{Object, Severity};
use eksguard_rules::engine::EngineConfig;
use serde_json::{json, Value as Json};

/// Counts what passes through the allocator the server runs on.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        grew(layout.size());
        mimalloc::MiMalloc.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        mimalloc::MiMalloc.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        grew(layout.size());
        mimalloc::MiMalloc.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size as u64, Relaxed);
        LIVE.fetch_sub(layout.size(), Relaxed);
        grew(new_size);
        mimalloc::MiMalloc.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const NAMESPACES: usize = 20;

/// A cluster's worth of the objects the cache watches: every kind in every namespace,
/// the bench review's namespace (`shop`) among them.
fn fill(cache: &Cache, per_kind: usize) {
    let rbac = "rbac.authorization.k8s.io/v1";
    let namespaces: Vec<String> = std::iter::once("shop".to_string())
        .chain((1..NAMESPACES).map(|i| format!("team-{i}")))
        .collect();
    let meta = |ns: &str, name: String| json!({"name": name, "namespace": ns, "uid": format!("{ns}-{name}"), "resourceVersion": "1", "labels": {"app.kubernetes.io/part-of": ns}});
    let mut by_kind: Vec<(&str, Vec<Json>)> = Vec::new();
    let mut each = |kind: &str, make: &dyn Fn(&str, usize) -> Json, n: usize| {
        let items = namespaces
            .iter()
            .flat_map(|ns| (0..n).map(move |i| make(ns, i)))
            .collect();
        by_kind.push((Box::leak(kind.to_string().into_boxed_str()), items));
    };
    each(
        "ServiceAccount",
        &|ns, i| {
            json!({"metadata": meta(ns, format!("sa-{i}")),
        "automountServiceAccountToken": i % 2 == 0})
        },
        per_kind,
    );
    each(
        "Role",
        &|ns, i| {
            json!({"metadata": meta(ns, format!("role-{i}")),
        "rules": [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]},
                  {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}]})
        },
        per_kind,
    );
    each(
        "RoleBinding",
        &|ns, i| {
            json!({"metadata": meta(ns, format!("rb-{i}")),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": format!("role-{i}")},
        "subjects": [{"kind": "ServiceAccount", "name": format!("sa-{i}"), "namespace": ns}]})
        },
        per_kind,
    );
    each(
        "NetworkPolicy",
        &|ns, i| {
            json!({"metadata": meta(ns, format!("np-{i}")),
        "spec": {"podSelector": {"matchLabels": {"app": format!("a{i}")}}, "policyTypes": ["Ingress", "Egress"],
                 "ingress": [{"from": [{"podSelector": {}}], "ports": [{"port": 8080}]}],
                 "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}], "ports": [{"port": 53, "protocol": "UDP"}]}]}})
        },
        per_kind,
    );
    each(
        "ResourceQuota",
        &|ns, _| {
            json!({"metadata": meta(ns, "quota".into()),
        "spec": {"hard": {"requests.cpu": "20", "requests.memory": "64Gi", "pods": "200"}}})
        },
        1,
    );
    each(
        "LimitRange",
        &|ns, _| {
            json!({"metadata": meta(ns, "limits".into()),
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "512Mi"}, "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}})
        },
        1,
    );
    for (kind, items) in by_kind {
        let w = WATCHED
            .iter()
            .find(|w| w.kind == kind)
            .expect("a watched kind");
        let objects: Vec<Object> = items
            .into_iter()
            .filter_map(|i| live_object(i, w.kind, &w.api_version))
            .collect();
        cache.replace(w.kind, objects);
    }
    let cluster = |kind: &str, make: &dyn Fn(usize) -> Json, n: usize| -> Vec<Object> {
        (0..n)
            .filter_map(|i| {
                live_object(make(i), kind, if kind == "Namespace" { "v1" } else { rbac })
            })
            .collect()
    };
    cache.replace(
        "Namespace",
        namespaces
            .iter()
            .filter_map(|ns| {
                live_object(
                    json!({"metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns,
                        "pod-security.kubernetes.io/enforce": "restricted"}}}),
                    "Namespace",
                    "v1",
                )
            })
            .collect(),
    );
    cache.replace(
        "ClusterRole",
        cluster(
            "ClusterRole",
            &|i| {
                json!({"metadata": {"name": format!("cr-{i}")},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]})
            },
            per_kind * 4,
        ),
    );
    cache.replace(
        "ClusterRoleBinding",
        cluster("ClusterRoleBinding", &|i| json!({"metadata": {"name": format!("crb-{i}")},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("cr-{i}")},
            "subjects": [{"kind": "Group", "name": format!("g-{i}")}]}), per_kind * 4),
    );
    cache.replace(
        "ConfigMap",
        live_object(
            json!({"metadata": {"name": "aws-auth", "namespace": "kube-system"},
                "data": {"mapRoles": "- rolearn: arn:aws:iam::123456789012:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n"}}),
            "ConfigMap",
            "v1",
        )
        .into_iter()
        .collect(),
    );
    assert!(cache.unsynced().is_empty(), "every watched kind is filled");
}

/// One request as `/validate` handles it, up to the response bytes.
fn request(judge: &Judge, cache: &Cache, body: &[u8]) -> usize {
    let review = parse_review(body).expect("the bench review parses");
    let ns = review
        .namespace
        .as_deref()
        .or_else(|| review.object.as_ref()?.at("metadata.namespace")?.as_str())
        .map(str::to_string);
    let context: Option<Vec<Arc<Object>>> = cache.around(&review.kind, ns.as_deref());
    let verdict = judge.decide_guarded(review, context);
    serde_json::to_vec(&verdict.to_json())
        .expect("a response")
        .len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let per_kind: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../bench/admission-review.json"
    );
    let create = std::fs::read(path).expect("bench/admission-review.json");
    // The same Deployment as an UPDATE: the old object is judged too.
    let mut doc: Json = serde_json::from_slice(&create).expect("JSON");
    doc["request"]["operation"] = json!("UPDATE");
    doc["request"]["oldObject"] = doc["request"]["object"].clone();
    let update = serde_json::to_vec(&doc).expect("JSON");

    let cache = Cache::new();
    fill(&cache, per_kind);
    let judge = Judge::new(
        EngineConfig::default(),
        Policy {
            deny_on: Some(Severity::High),
            warn_on: Some(Severity::Low),
            ..Policy::default()
        },
    );
    let around = cache
        .around("Deployment", Some("shop"))
        .map_or(0, |c| c.len());
    println!(
        "cache: {per_kind} objects of each namespaced kind in each of {NAMESPACES} namespaces; {around} around a Deployment in shop"
    );
    for (label, body) in [("CREATE", &create), ("UPDATE", &update)] {
        // Warm: engines are built on first use and kept.
        let answer = request(&judge, &cache, body);
        let (a0, b0) = (ALLOCS.load(Relaxed), BYTES.load(Relaxed));
        let live0 = LIVE.load(Relaxed);
        PEAK.store(live0, Relaxed);
        let started = std::time::Instant::now();
        for _ in 0..n {
            request(&judge, &cache, body);
        }
        let took = started.elapsed();
        let (a, b) = (ALLOCS.load(Relaxed) - a0, BYTES.load(Relaxed) - b0);
        println!(
            "{label}: {n} requests, {:.0} allocations and {:.0} bytes per request, peak {} bytes live above the idle heap, {:.1} µs per request ({answer} response bytes)",
            a as f64 / n as f64,
            b as f64 / n as f64,
            PEAK.load(Relaxed).saturating_sub(live0),
            took.as_secs_f64() * 1e6 / n as f64
        );
    }
}
