//! AUD — detections over Kubernetes audit events (`eksguard audit scan`).
//!
//! Most rules look at the finished request (stage `ResponseComplete`) so that one request
//! logged at several stages reports once; long-running requests (exec, attach,
//! port-forward) are reported when their stream starts. Rules about created or changed
//! objects only count requests that succeeded.

mod admission_webhook_modified;
mod anonymous_request_allowed;
mod aws_auth_modified;
mod cluster_admin_binding_created;
mod configmap_with_credentials;
mod ephemeral_container;
mod exec_or_attach;
mod exec_role_created;
mod host_namespace_pod_created;
mod impersonation_used;
mod ingress_without_tls_created;
mod kube_namespace_pod_created;
mod kube_namespace_service_account_created;
mod network_policy_modified;
mod node_port_service_created;
mod port_forward;
mod privileged_pod_created;
mod rbac_modified;
mod secret_read;
mod secret_read_denied;
mod sensitive_mount_pod_created;
mod service_account_token_used_externally;
mod system_role_modified;
mod unauthorized_burst;
mod unexpected_user;
mod wildcard_role_created;

pub use admission_webhook_modified::AdmissionWebhookModified;
pub use anonymous_request_allowed::AnonymousRequestAllowed;
pub use aws_auth_modified::AwsAuthModified;
pub use cluster_admin_binding_created::ClusterAdminBindingCreated;
pub use configmap_with_credentials::ConfigmapWithCredentials;
pub use ephemeral_container::EphemeralContainer;
pub use exec_or_attach::ExecOrAttach;
pub use exec_role_created::ExecRoleCreated;
pub use host_namespace_pod_created::HostNamespacePodCreated;
pub use impersonation_used::ImpersonationUsed;
pub use ingress_without_tls_created::IngressWithoutTlsCreated;
pub use kube_namespace_pod_created::KubeNamespacePodCreated;
pub use kube_namespace_service_account_created::KubeNamespaceServiceAccountCreated;
pub use network_policy_modified::NetworkPolicyModified;
pub use node_port_service_created::NodePortServiceCreated;
pub use port_forward::PortForward;
pub use privileged_pod_created::PrivilegedPodCreated;
pub use rbac_modified::RbacModified;
pub use secret_read::SecretRead;
pub use secret_read_denied::SecretReadDenied;
pub use sensitive_mount_pod_created::SensitiveMountPodCreated;
pub use service_account_token_used_externally::ServiceAccountTokenUsedExternally;
pub use system_role_modified::SystemRoleModified;
pub use unauthorized_burst::UnauthorizedBurst;
pub use unexpected_user::UnexpectedUser;
pub use wildcard_role_created::WildcardRoleCreated;

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use eksguard_model::audit::AuditEvent;
use eksguard_model::{FieldPath, Object, Seg};
use serde_json::Value as Json;

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[
    &AnonymousRequestAllowed,
    &ExecOrAttach,
    &PortForward,
    &EphemeralContainer,
    &PrivilegedPodCreated,
    &SensitiveMountPodCreated,
    &HostNamespacePodCreated,
    &NodePortServiceCreated,
    &ConfigmapWithCredentials,
    &ClusterAdminBindingCreated,
    &WildcardRoleCreated,
    &ExecRoleCreated,
    &SystemRoleModified,
    &KubeNamespacePodCreated,
    &KubeNamespaceServiceAccountCreated,
    &SecretRead,
    &SecretReadDenied,
    &IngressWithoutTlsCreated,
    &AwsAuthModified,
    &UnauthorizedBurst,
    &ImpersonationUsed,
    &AdmissionWebhookModified,
    &RbacModified,
    &ServiceAccountTokenUsedExternally,
    &UnexpectedUser,
    &NetworkPolicyModified,
];

/// Namespaces that hold the cluster's own components.
pub(crate) const KUBE_NAMESPACES: &[&str] = &["kube-system", "kube-public"];

crate::rule_params! {
    /// The parameter of rules about changes the control plane makes routinely.
    pub struct IgnoredUsers {
        /// Users whose requests this rule ignores (a trailing `*` matches a prefix): by
        /// default the control plane's own identities.
        ignored_users: Vec<String> = crate::params::strings(&[
            "system:apiserver",
            "system:kube-controller-manager",
            "system:kube-scheduler",
            "system:serviceaccount:kube-system:clusterrole-aggregation-controller",
            "eks:*",
        ]),
    }
}

impl IgnoredUsers {
    pub(crate) fn ignores(&self, user: &str) -> bool {
        matches_any(&self.ignored_users, user)
    }

    /// Whether `ev` is a successful change to `resource` by a user not ignored.
    pub(crate) fn counts_change(&self, ev: &AuditEvent<'_>, resource: &str) -> bool {
        succeeded_on(ev, CHANGE_VERBS, resource) && !self.ignores(ev.username())
    }
}

/// Reports a change at its verb: "`alice` patch <what> <namespace>/<name>".
pub(crate) fn report_change(ev: &AuditEvent<'_>, what: &str, out: &mut crate::EventSink) {
    let what = if what.is_empty() {
        String::new()
    } else {
        format!("{what} ")
    };
    out.report(
        FieldPath::parse("verb"),
        format!("{} {} {what}{}", who(ev), ev.verb(), target_name(ev)),
    );
}

/// Kubernetes and EKS identities: `system:` users (nodes, service accounts, control-plane
/// components) and `eks:` control-plane users.
pub(crate) fn is_system_user(name: &str) -> bool {
    name.starts_with("system:") || name.starts_with("eks:")
}

pub(crate) fn matches_any(patterns: &[String], text: &str) -> bool {
    patterns
        .iter()
        .any(|p| eksguard_model::wildcard::star_match(p, text))
}

/// `` `alice` ``, or `` `admin` as `alice` `` when impersonating.
pub(crate) fn who(ev: &AuditEvent<'_>) -> String {
    let user = match ev.username() {
        "" => "an unauthenticated caller".to_string(),
        u => format!("`{u}`"),
    };
    match ev.impersonated_user.as_ref().map(|u| u.name()) {
        Some(as_user) if !as_user.is_empty() => format!("{user} as `{as_user}`"),
        _ => user,
    }
}

/// `ns/name`, or `name` for cluster-scoped targets.
pub(crate) fn target_name(ev: &AuditEvent<'_>) -> String {
    let name = ev
        .name()
        .map(|n| n.into_owned())
        .unwrap_or_else(|| "*".into());
    match ev.namespace() {
        Some(ns) => format!("{ns}/{name}"),
        None => name,
    }
}

/// A finished, successful request with one of `verbs` on `resource` itself (not a
/// subresource).
pub(crate) fn succeeded_on(ev: &AuditEvent<'_>, verbs: &[&str], resource: &str) -> bool {
    ev.is_complete()
        && ev.resource() == resource
        && ev.subresource().is_empty()
        && verbs.contains(&ev.verb())
        && ev.succeeded()
}

pub(crate) const CHANGE_VERBS: &[&str] =
    &["create", "update", "patch", "delete", "deletecollection"];

/// A pod created successfully: its request body as an object, so audit rules read the
/// pod spec through the same view, and the same pod security facts, as the pod rules.
/// Built once per event, whichever of the rules asks first.
pub(crate) fn created_pod(ev: &AuditEvent<'_>) -> Option<Arc<Object>> {
    if !succeeded_on(ev, &["create"], "pods") {
        return None;
    }
    ev.request_pod()
}

/// A field path of the pod view as a path in the audit event (under `requestObject`).
pub(crate) fn in_request(path: &FieldPath) -> FieldPath {
    let mut out = FieldPath::parse("requestObject");
    for seg in path.segs() {
        match seg {
            Seg::Key(k) => out.push_key(k),
            Seg::Index(i) => out.push_index(*i),
        }
    }
    out
}

pub(crate) fn str_at<'j>(v: &'j Json, path: &[&str]) -> Option<&'j str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// For a request that created a Role or ClusterRole: the first of its rules that `flag`
/// picks a field of (from the rule's verbs and resources), as the path of that field in
/// the request and the field's name.
pub(crate) fn created_role_rule(
    ev: &AuditEvent<'_>,
    flag: impl Fn(&[&str], &[&str]) -> Option<&'static str>,
) -> Option<(FieldPath, &'static str)> {
    fn strs<'j>(r: &'j Json, k: &str) -> Vec<&'j str> {
        r.get(k)
            .and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default()
    }
    if !is_role(ev.resource()) || !succeeded_on(ev, &["create"], ev.resource()) {
        return None;
    }
    let body = ev.request_json()?;
    let rules = body.get("rules").and_then(Json::as_array)?;
    rules.iter().enumerate().find_map(|(i, r)| {
        let field = flag(&strs(r, "verbs"), &strs(r, "resources"))?;
        Some((
            FieldPath::parse("requestObject.rules").index(i).key(field),
            field,
        ))
    })
}

pub(crate) fn is_role(resource: &str) -> bool {
    matches!(resource, "roles" | "clusterroles")
}

/// Keys a rule that reports once per period remembers at most.
pub(crate) const REPORTED_KEYS: usize = 100_000;

/// Remembers when a key was last reported, to report it once per period. Keys are
/// forgotten in the order they were reported once their period is over, each at
/// constant cost; beyond a fixed number the oldest go first (a key forgotten early is
/// only reported again sooner), so memory stays bounded.
pub(crate) struct ReportedRecently {
    last: HashMap<u64, i64>,
    /// (time reported, key), in the order reported.
    order: VecDeque<(i64, u64)>,
    period_micros: i64,
    cap: usize,
}

impl ReportedRecently {
    pub(crate) fn new(period_secs: i64, cap: usize) -> Self {
        ReportedRecently {
            last: HashMap::new(),
            order: VecDeque::new(),
            period_micros: period_secs.saturating_mul(1_000_000),
            cap: cap.max(1),
        }
    }

    /// Whether `key` is due for a report at `now` (microseconds; `None` when the event has
    /// no time, which always reports the first time only); records it when it is.
    pub(crate) fn due(&mut self, key: impl Hash, now: Option<i64>) -> bool {
        let mut h = Fnv(FNV_OFFSET);
        key.hash(&mut h);
        let k = h.finish();
        let now_v = now.unwrap_or(i64::MIN);
        // A key reported without a time never expires by time: it leaves at the bound.
        while let Some(&(t, old)) = self.order.front() {
            if t == i64::MIN || now_v.saturating_sub(t) < self.period_micros {
                break;
            }
            self.order.pop_front();
            // A key reported again since is queued again further back.
            if self.last.get(&old) == Some(&t) {
                self.last.remove(&old);
            }
        }
        match self.last.get(&k) {
            Some(&t) if now.is_none() || now_v.saturating_sub(t) < self.period_micros => false,
            _ => {
                // Each live key has its entry in the queue: bounding the queue bounds both.
                while self.order.len() >= self.cap {
                    let Some((t, old)) = self.order.pop_front() else {
                        break;
                    };
                    if self.last.get(&old) == Some(&t) {
                        self.last.remove(&old);
                    }
                }
                self.last.insert(k, now_v);
                self.order.push_back((now_v, k));
                true
            }
        }
    }
    /// The reports remembered, oldest first: `[[time, key], ...]`.
    pub(crate) fn save(&self) -> Json {
        Json::Array(
            self.order
                .iter()
                .map(|(t, k)| Json::Array(vec![(*t).into(), (*k).into()]))
                .collect(),
        )
    }

    pub(crate) fn restore(&mut self, state: &Json) -> Result<(), String> {
        let list = state.as_array().ok_or("not a list")?;
        self.last.clear();
        self.order.clear();
        // The newest reports matter most: under a smaller bound the oldest are left out.
        for pair in &list[list.len().saturating_sub(self.cap)..] {
            let (t, k) = match pair.as_array().map(Vec::as_slice) {
                Some([t, k]) => (t.as_i64(), k.as_u64()),
                _ => (None, None),
            };
            let (Some(t), Some(k)) = (t, k) else {
                return Err(format!("not a [time, key] pair: {pair}"));
            };
            // A key reported again is queued again further back: the later time wins.
            self.last.insert(k, t);
            self.order.push_back((t, k));
        }
        Ok(())
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, whose output does not change between builds: keys saved in a checkpoint by one
/// version of the program are found again by the next.
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs one audit rule over events written as JSON lines.
    use eksguard_model::audit::AuditEvent;

    use crate::engine::EngineConfig;
    use crate::events::AuditEngine;
    use crate::{Params, Rule};

    /// (line, field path, message) of each finding of rule `id` over `lines`.
    pub fn run(id: &str, params: Params, lines: &[String]) -> Vec<(usize, String, String)> {
        let events: Vec<AuditEvent<'_>> = lines
            .iter()
            .map(|l| AuditEvent::parse(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let refs: Vec<&AuditEvent<'_>> = events.iter().collect();
        let rules: Vec<&dyn Rule> = crate::registry::all().to_vec();
        let mut engine = AuditEngine::new(
            &rules,
            EngineConfig {
                select: vec![id.to_string()],
                params,
                ..EngineConfig::default()
            },
        );
        engine
            .check(&refs)
            .into_iter()
            .map(|f| (f.index + 1, f.hit.path.to_string(), f.hit.message))
            .collect()
    }

    /// A finished request by `user`; `extra` is merged into the event's top level.
    pub fn event(user: &str, verb: &str, object_ref: &str, code: i64, extra: &str) -> String {
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!(",{extra}")
        };
        format!(
            r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"00000000-0000-0000-0000-000000000001","stage":"ResponseComplete","requestURI":"/x","verb":"{verb}","user":{{"username":"{user}","groups":["system:authenticated"]}},"sourceIPs":["192.0.2.10"],"objectRef":{{{object_ref}}},"responseStatus":{{"code":{code}}},"stageTimestamp":"2024-05-01T12:00:00.000000Z"{extra}}}"#
        )
    }

    pub fn params(id: &str, name: &str, value: serde_json::Value) -> Params {
        let mut p = Params::default();
        p.0.entry(id.to_string())
            .or_default()
            .insert(name.to_string(), value);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::wildcard::star_match as glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("eks:*", "eks:node-manager"));
        assert!(glob_match(
            "*.dkr.ecr.*.amazonaws.com/eks/*",
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.11.1"
        ));
        assert!(!glob_match(
            "*.dkr.ecr.*.amazonaws.com/eks/*",
            "docker.io/eks/x"
        ));
        assert!(glob_match("alice", "alice"));
        assert!(!glob_match("alice", "alice2"));
        assert!(!glob_match("a*a", "a"));
    }

    #[test]
    fn reported_recently_is_bounded() {
        let mut r = ReportedRecently::new(60, 2);
        assert!(r.due("a", Some(0)));
        assert!(!r.due("a", Some(59_000_000)));
        assert!(r.due("a", Some(61_000_000)));
        assert!(r.due("b", Some(61_000_000)));
        assert!(r.due("c", Some(62_000_000)));
        assert!(r.last.len() <= 2);
        assert!(r.due("t", None));
        assert!(!r.due("t", None));
    }
}
