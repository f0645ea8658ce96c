use std::collections::BTreeMap;

use eksguard_model::Object;

use super::list_others;
use crate::context::SkipNamespaces;
use crate::{declare_rule, Ctx, InventoryRule, Sink, WORKLOAD_KINDS};

declare_rule! {
    /// ## What it checks
    /// Two or more workloads of one namespace that run as the same ServiceAccount other
    /// than `default` (sharing `default` is IRSA002's finding). Workloads are counted
    /// once per controller: a ReplicaSet or Pod owned by a Deployment of the scan is that
    /// Deployment, a Job owned by a CronJob that CronJob. Each sharing workload is
    /// reported, naming the others. Namespaces of the `skip_namespaces` parameter (by
    /// default `kube-system`, `kube-public` and `kube-node-lease`) are left alone. In files,
    /// workloads are compared within one directory (a rendered chart, a kustomization's
    /// output), and a workload written twice under one name counts once.
    ///
    /// ## Why it matters
    /// Workloads that share a service account share every RBAC permission and IAM role
    /// given to it: least privilege is lost, and audit logs cannot tell them apart.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: {name: api}
    /// spec: {template: {spec: {serviceAccountName: shared}}}
    /// ---
    /// kind: Deployment
    /// metadata: {name: worker}
    /// spec: {template: {spec: {serviceAccountName: shared}}}
    /// ```
    ///
    /// ## Fix
    /// Give each workload its own ServiceAccount with only the permissions it needs.
    pub SharedServiceAccount {
        id: "IRSA013",
        name: "shared-service-account",
        severity: Low,
        data: [Kubernetes],
        scope: Inventory,
        reads: WORKLOAD_KINDS,
        summary: "Several workloads share one service account",
        remediation: "Create a dedicated ServiceAccount for each workload.",
        params: SkipNamespaces,
        guide: &["IAM-19"],
    }
}

/// The directory of a workload's file (empty for live objects): manifests of separate
/// directories are separate deployments (test cases, environments) unless one directory
/// holds them together, as a rendered chart or a kustomization output does.
fn directory(w: &Object) -> String {
    let file = w.file().unwrap_or("");
    match file.rfind(['/', '\\']) {
        Some(i) => file[..i].to_string(),
        None => String::new(),
    }
}

impl InventoryRule for SharedServiceAccount {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let skip = cx.params::<SkipNamespaces>(&Self::META);
        let mut groups: BTreeMap<(String, String, String), Vec<&Object>> = BTreeMap::new();
        for w in cx.workloads() {
            let Some(pod) = w.pod_spec() else { continue };
            let sa = pod.service_account();
            let ns = w.ns().unwrap_or("default");
            if sa == "default" || sa.is_empty() || skip.skips(ns) {
                continue;
            }
            let ws = groups
                .entry((directory(w), ns.to_string(), sa.to_string()))
                .or_default();
            // The same workload written twice (variants of one manifest) is one workload.
            if !ws.iter().any(|o| o.kind == w.kind && o.name == w.name) {
                ws.push(w);
            }
        }
        for ((_, _, sa), ws) in groups {
            if ws.len() < 2 {
                continue;
            }
            for w in &ws {
                let others: Vec<String> = ws
                    .iter()
                    .filter(|o| o.id != w.id)
                    .map(|o| format!("{} `{}`", o.kind, o.name))
                    .collect();
                let listed = list_others(&others);
                let pod = w.pod_spec();
                let path = pod
                    .as_ref()
                    .map(|p| {
                        p.field_path(if p.field("serviceAccountName").is_some() {
                            "serviceAccountName"
                        } else {
                            "serviceAccount"
                        })
                    })
                    .unwrap_or_else(eksguard_model::FieldPath::root);
                out.report(
                    w,
                    path,
                    format!("service account `{sa}` is shared with {listed}"),
                );
            }
        }
    }
}
