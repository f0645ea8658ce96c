//! What rules see of a run: the inventory, indexes over it, and their parameters.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use eksguard_model::{Inventory, Object, ObjectId, RuleMeta};
use serde_json::Value as Json;

use crate::params::{ParamCache, RuleParams};

/// Per-rule parameters from the configuration, keyed by rule ID then parameter name.
/// Configuration loading checked them against the rule's parameter struct; rules read
/// them as that struct through [`Ctx::params`].
#[derive(Debug, Clone, Default)]
pub struct Params(pub HashMap<String, BTreeMap<String, Json>>);

/// Namespaces that no workload-namespace rule looks at by default.
pub const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

pub struct Ctx<'a> {
    pub inv: &'a Inventory,
    params: &'a Params,
    parsed: ParamCache,
    by_kind: HashMap<&'a str, Vec<ObjectId>>,
    /// kind → namespace → objects.
    by_kind_ns: HashMap<&'a str, HashMap<&'a str, Vec<ObjectId>>>,
    /// Workloads whose controller is in the inventory: reported through their owner.
    controlled: HashSet<ObjectId>,
    /// Kinds looked up through this context, when recording (see [`Ctx::recording`]).
    lookups: Option<Mutex<BTreeSet<String>>>,
}

impl<'a> Ctx<'a> {
    pub fn new(inv: &'a Inventory, params: &'a Params) -> Self {
        let mut by_kind: HashMap<&'a str, Vec<ObjectId>> = HashMap::new();
        let mut by_kind_ns: HashMap<&'a str, HashMap<&'a str, Vec<ObjectId>>> = HashMap::new();
        for o in &inv.objects {
            by_kind.entry(&o.kind).or_default().push(o.id);
            if let Some(ns) = o.ns() {
                by_kind_ns
                    .entry(&o.kind)
                    .or_default()
                    .entry(ns)
                    .or_default()
                    .push(o.id);
            }
        }
        Ctx {
            inv,
            params,
            parsed: ParamCache::default(),
            by_kind,
            by_kind_ns,
            controlled: eksguard_model::workload::controlled_workloads(inv),
            lookups: None,
        }
    }

    /// A context that records every kind looked up through it, so a test can hold each
    /// rule to the kinds its metadata declares (`kinds` and `reads`).
    pub fn recording(inv: &'a Inventory, params: &'a Params) -> Self {
        Ctx {
            lookups: Some(Mutex::new(BTreeSet::new())),
            ..Ctx::new(inv, params)
        }
    }

    /// The kinds looked up since the last call, when recording.
    pub fn take_lookups(&self) -> BTreeSet<String> {
        self.lookups
            .as_ref()
            .and_then(|l| l.lock().ok().map(|mut l| std::mem::take(&mut *l)))
            .unwrap_or_default()
    }

    fn record(&self, kind: &str) {
        if let Some(l) = &self.lookups {
            if let Ok(mut l) = l.lock() {
                l.insert(kind.to_string());
            }
        }
    }

    /// Every object of one kind, in input order.
    pub fn objects_of(&self, kind: &str) -> impl Iterator<Item = &'a Object> + '_ {
        self.record(kind);
        let inv = self.inv;
        self.by_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(move |id| inv.get(*id))
    }

    /// Objects of one kind in one namespace, from an index: rules call this once per
    /// workload, so a scan over all objects of the kind would make them quadratic.
    pub fn objects_in(&self, kind: &str, ns: &str) -> impl Iterator<Item = &'a Object> + '_ {
        self.record(kind);
        let inv = self.inv;
        let ids = self
            .by_kind_ns
            .get(kind)
            .and_then(|m| m.get(ns))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        ids.iter().map(move |id| inv.get(*id))
    }

    /// Objects that carry a pod spec, in input order, without those run by a controller
    /// that is itself here (see [`eksguard_model::workload::controlled_workloads`]).
    pub fn workloads(&self) -> impl Iterator<Item = &'a Object> + '_ {
        self.inv.objects.iter().map(|o| &**o).filter(|o| {
            crate::WORKLOAD_KINDS.contains(&&*o.kind)
                && !self.controlled.contains(&o.id)
                && o.pod_spec().is_some()
        })
    }

    /// Whether a controller present in the inventory runs this workload, so that its
    /// findings are the controller's.
    pub fn is_controlled(&self, id: ObjectId) -> bool {
        self.controlled.contains(&id)
    }

    /// Namespaces that hold workloads, minus those the rule skips (its `skip_namespaces`
    /// parameter), each with the object to report on: the Namespace object when the scan
    /// has it, otherwise the first workload there.
    pub fn workload_namespaces(&self, skip: &SkipNamespaces) -> Vec<(String, &'a Object)> {
        let mut seen: BTreeMap<String, &'a Object> = BTreeMap::new();
        for w in self.workloads() {
            if let Some(ns) = w.ns() {
                if !skip.skips(ns) {
                    seen.entry(ns.to_string()).or_insert(w);
                }
            }
        }
        for ns_obj in self.objects_of("Namespace") {
            if let Some(v) = seen.get_mut(&*ns_obj.name) {
                *v = ns_obj;
            }
        }
        seen.into_iter().collect()
    }

    /// The rule's parameters, read from the configuration once per run.
    pub fn params<P: RuleParams>(&self, meta: &'static RuleMeta) -> Arc<P> {
        self.parsed.get(self.params, meta)
    }
}

crate::rule_params! {
    /// The parameter most namespace-level rules share.
    pub struct SkipNamespaces {
        /// Namespaces this rule does not look at.
        skip_namespaces: Vec<String> = SYSTEM_NAMESPACES.iter().map(|s| s.to_string()).collect(),
    }
}

impl SkipNamespaces {
    pub fn skips(&self, ns: &str) -> bool {
        self.skip_namespaces.iter().any(|s| s == ns)
    }
}
