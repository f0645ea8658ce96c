//! The dangerous powers RBAC can grant: one table, read by the IAM rules that judge a
//! role's rules and by `rbac risks`, which finds the subjects that hold them.
//!
//! A power's `severity` is what holding it cluster-wide means; the rules that flag a role
//! granting it carry the catalog's severity for a role on its own, which is never higher
//! (a test checks this).

use crate::finding::Severity;

/// One request a role may authorize: `verb` on `resource` (optionally
/// `resource/subresource`) in API group `group` (`""` is the core group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: &'static str,
}

impl Request {
    pub const fn new(verb: &'static str, group: &'static str, resource: &'static str) -> Self {
        Request {
            verb,
            group,
            resource,
        }
    }
}

const fn req(verb: &'static str, group: &'static str, resource: &'static str) -> Request {
    Request::new(verb, group, resource)
}

/// A power and the requests that exercise it; holding any one of them is holding it.
#[derive(Debug)]
pub struct Power {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// What the holder can do with it, completing "the holder ...".
    pub why: &'static str,
    pub requests: &'static [Request],
    /// Counted by `rbac risks` only when held in this namespace (or cluster-wide):
    /// creating workloads is everyday work elsewhere.
    pub namespace: Option<&'static str>,
}

const RBAC: &str = "rbac.authorization.k8s.io";
const ADMISSION: &str = "admissionregistration.k8s.io";

pub const FULL_CONTROL: Power = Power {
    id: "full-control",
    title: "every verb on every resource (cluster-admin or `*`)",
    severity: Severity::Critical,
    why: "the holder can do anything in the cluster",
    requests: &[req("*", "*", "*")],
    namespace: None,
};

pub const ESCALATE: Power = Power {
    id: "escalate",
    title: "escalate roles: grant permissions it does not hold",
    severity: Severity::Critical,
    why: "the holder can gain permissions it was not given",
    requests: &[
        req("escalate", RBAC, "roles"),
        req("escalate", RBAC, "clusterroles"),
    ],
    namespace: None,
};

pub const BIND: Power = Power {
    id: "bind",
    title: "bind roles it does not hold",
    severity: Severity::Critical,
    why: "the holder can gain permissions it was not given",
    requests: &[
        req("bind", RBAC, "roles"),
        req("bind", RBAC, "clusterroles"),
    ],
    namespace: None,
};

pub const IMPERSONATE: Power = Power {
    id: "impersonate",
    title: "impersonate users, groups, service accounts or UIDs",
    severity: Severity::Critical,
    why: "the holder can act as any other identity",
    requests: &[
        req("impersonate", "", "users"),
        req("impersonate", "", "groups"),
        req("impersonate", "", "serviceaccounts"),
        req("impersonate", "authentication.k8s.io", "uids"),
    ],
    namespace: None,
};

pub const WEBHOOK_WRITE: Power = Power {
    id: "webhook-write",
    title: "write admission webhook configurations",
    severity: Severity::High,
    why: "the holder can disable or subvert admission control",
    requests: &[
        req("create", ADMISSION, "validatingwebhookconfigurations"),
        req("update", ADMISSION, "validatingwebhookconfigurations"),
        req("patch", ADMISSION, "validatingwebhookconfigurations"),
        req("delete", ADMISSION, "validatingwebhookconfigurations"),
        req("create", ADMISSION, "mutatingwebhookconfigurations"),
        req("update", ADMISSION, "mutatingwebhookconfigurations"),
        req("patch", ADMISSION, "mutatingwebhookconfigurations"),
        req("delete", ADMISSION, "mutatingwebhookconfigurations"),
    ],
    namespace: None,
};

/// Any verb: the kubelet authorizes its whole API, exec included, as `nodes/proxy`.
pub const NODE_PROXY: Power = Power {
    id: "node-proxy",
    title: "reach the kubelet API through nodes/proxy",
    severity: Severity::High,
    why: "the holder can call the kubelet API directly",
    requests: &[
        req("get", "", "nodes/proxy"),
        req("list", "", "nodes/proxy"),
        req("watch", "", "nodes/proxy"),
        req("create", "", "nodes/proxy"),
        req("update", "", "nodes/proxy"),
        req("patch", "", "nodes/proxy"),
        req("delete", "", "nodes/proxy"),
        req("deletecollection", "", "nodes/proxy"),
    ],
    namespace: None,
};

/// Every kind whose creation starts pods.
pub const WORKLOAD_CREATE: Power = Power {
    id: "workloads-kube-system",
    title: "create pods or workloads in kube-system",
    severity: Severity::High,
    why: "the holder can run pods as any service account of the namespace",
    requests: &[
        req("create", "", "pods"),
        req("create", "", "replicationcontrollers"),
        req("create", "apps", "deployments"),
        req("create", "apps", "replicasets"),
        req("create", "apps", "statefulsets"),
        req("create", "apps", "daemonsets"),
        req("create", "batch", "jobs"),
        req("create", "batch", "cronjobs"),
    ],
    namespace: Some("kube-system"),
};

/// Rewriting a workload controller: `patch` or `update` replaces its pod template, so it
/// runs any image as any service account of the namespace, as `create` does. The
/// `status` and `scale` subresources are other requests and do not match.
pub const WORKLOAD_REWRITE: Power = Power {
    id: "workloads-rewrite",
    title: "patch or update workload controllers",
    severity: Severity::Medium,
    why: "the holder can rewrite the pod template and run any image as any service account of the namespace",
    requests: &[
        req("patch", "", "replicationcontrollers"),
        req("update", "", "replicationcontrollers"),
        req("patch", "apps", "deployments"),
        req("update", "apps", "deployments"),
        req("patch", "apps", "replicasets"),
        req("update", "apps", "replicasets"),
        req("patch", "apps", "statefulsets"),
        req("update", "apps", "statefulsets"),
        req("patch", "apps", "daemonsets"),
        req("update", "apps", "daemonsets"),
        req("patch", "batch", "jobs"),
        req("update", "batch", "jobs"),
        req("patch", "batch", "cronjobs"),
        req("update", "batch", "cronjobs"),
    ],
    namespace: None,
};

/// Creating a Secret of type `kubernetes.io/service-account-token` that names a service
/// account makes the token controller fill in a long-lived token for it.
pub const SECRETS_CREATE: Power = Power {
    id: "secrets-create",
    title: "create Secrets",
    severity: Severity::Medium,
    why: "the holder can create a service-account-token Secret naming any service account of the namespace and have the token controller mint a long-lived token for it",
    requests: &[req("create", "", "secrets")],
    namespace: None,
};

pub const TOKEN_CREATE: Power = Power {
    id: "token-create",
    title: "create service account tokens",
    severity: Severity::High,
    why: "the holder can mint tokens for service accounts and act as them",
    requests: &[req("create", "", "serviceaccounts/token")],
    namespace: None,
};

pub const SECRETS_READ: Power = Power {
    id: "secrets-read",
    title: "read Secrets",
    severity: Severity::High,
    why: "the holder can read Secret values",
    requests: &[
        req("get", "", "secrets"),
        req("list", "", "secrets"),
        req("watch", "", "secrets"),
    ],
    namespace: None,
};

pub const POD_EXEC: Power = Power {
    id: "pod-exec",
    title: "exec or attach into pods",
    severity: Severity::High,
    why: "the holder can run commands inside pods",
    requests: &[
        req("create", "", "pods/exec"),
        req("get", "", "pods/exec"),
        req("create", "", "pods/attach"),
        req("get", "", "pods/attach"),
    ],
    namespace: None,
};

pub const PERSISTENT_VOLUME_CREATE: Power = Power {
    id: "persistent-volume-create",
    title: "create PersistentVolumes (host paths)",
    severity: Severity::Medium,
    why: "the holder can define volumes that expose host paths",
    requests: &[req("create", "", "persistentvolumes")],
    namespace: None,
};

/// Every power, most dangerous first: `rbac risks` reports a grant under the first power
/// it matches, and full control stands for the rest.
pub const POWERS: &[&Power] = &[
    &FULL_CONTROL,
    &ESCALATE,
    &BIND,
    &IMPERSONATE,
    &WEBHOOK_WRITE,
    &NODE_PROXY,
    &WORKLOAD_CREATE,
    &TOKEN_CREATE,
    &SECRETS_READ,
    &POD_EXEC,
    &PERSISTENT_VOLUME_CREATE,
];
