//! The Kubernetes kinds eksguard knows, one row each: where each lives in the API, whether
//! it is namespaced, where its pod template is, and which readers take it (the live
//! cluster reader, the admission watch cache, the admission policies). Every list of
//! kinds elsewhere is a view of this table.
//!
//! Rows are in report order: a live read lists kinds in this order, so its objects (and
//! findings) come out in it.

/// Whether a live read lists the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    No,
    /// Listed; a server that does not serve it is an input error.
    Required,
    /// Listed where served: a custom resource, a removed kind, or one a namespace-scoped
    /// reader may not list.
    Optional,
}

/// Whether the admission server's watch cache holds the kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    No,
    /// Every object of the kind, in all namespaces.
    All,
    /// One object alone: (namespace, name).
    One(&'static str, &'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// API group, empty for the core group.
    pub group: &'static str,
    /// The version eksguard watches and writes; a live read discovers the served one.
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub short_names: &'static [&'static str],
    /// `Some(true)` namespaced, `Some(false)` cluster-scoped, `None` for custom resources
    /// whose definition decides (an object of one keeps the namespace it gives).
    pub namespaced: Option<bool>,
    /// Dotted path to the pod template (with its `metadata` and `spec`); empty for a Pod,
    /// which is its own template; `None` for kinds that run no pods.
    pub pod_template: Option<&'static str>,
    pub live: Live,
    pub watch: Watch,
    /// Judged by the generated admission policies.
    pub admission: bool,
}

const fn row(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        short_names: &[],
        namespaced: None,
        pod_template: None,
        live: Live::No,
        watch: Watch::No,
        admission: false,
    }
}

impl Kind {
    const fn short(mut self, names: &'static [&'static str]) -> Kind {
        self.short_names = names;
        self
    }
    const fn namespaced(mut self) -> Kind {
        self.namespaced = Some(true);
        self
    }
    const fn cluster(mut self) -> Kind {
        self.namespaced = Some(false);
        self
    }
    const fn template(mut self, path: &'static str) -> Kind {
        self.pod_template = Some(path);
        self
    }
    const fn live(mut self) -> Kind {
        self.live = Live::Required;
        self
    }
    const fn live_optional(mut self) -> Kind {
        self.live = Live::Optional;
        self
    }
    const fn watched(mut self) -> Kind {
        self.watch = Watch::All;
        self
    }
    const fn watched_one(mut self, namespace: &'static str, name: &'static str) -> Kind {
        self.watch = Watch::One(namespace, name);
        self
    }
    const fn admission(mut self) -> Kind {
        self.admission = true;
        self
    }

    /// The singular resource name (`deployment`).
    pub fn singular(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    /// `group/version`, or the version alone for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The collection URL across all namespaces (with a field selector for a single
    /// watched object).
    pub fn collection_path(&self) -> String {
        let base = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match self.watch {
            Watch::One(ns, name) => format!(
                "{base}/namespaces/{ns}/{}?fieldSelector=metadata.name%3D{name}",
                self.plural
            ),
            _ => format!("{base}/{}", self.plural),
        }
    }

    /// Whether a built-in controller creates the kind's pods (or their owners) from its
    /// template: every admission kind whose template is under `spec`.
    pub fn has_controller(&self) -> bool {
        self.admission && self.pod_template.is_some_and(|p| p.starts_with("spec."))
    }
}

/// Every kind, in report order.
#[rustfmt::skip]
pub const KINDS: &[Kind] = &[
    row("", "v1", "Namespace", "namespaces").short(&["ns"]).cluster().live().watched(),
    row("", "v1", "Pod", "pods").short(&["po"]).namespaced().template("").live().admission(),
    row("", "v1", "ReplicationController", "replicationcontrollers").short(&["rc"]).namespaced().template("spec.template").live().admission(),
    row("", "v1", "PodTemplate", "podtemplates").namespaced().template("template").admission(),
    row("", "v1", "ServiceAccount", "serviceaccounts").short(&["sa"]).namespaced().live().watched(),
    row("", "v1", "Secret", "secrets").namespaced().live(),
    row("", "v1", "Service", "services").short(&["svc"]).namespaced().live(),
    row("", "v1", "ResourceQuota", "resourcequotas").short(&["quota"]).namespaced().live().watched(),
    row("", "v1", "LimitRange", "limitranges").short(&["limits"]).namespaced().live().watched(),
    row("", "v1", "PersistentVolume", "persistentvolumes").short(&["pv"]).cluster().live(),
    row("apps", "v1", "Deployment", "deployments").short(&["deploy"]).namespaced().template("spec.template").live().admission(),
    row("apps", "v1", "ReplicaSet", "replicasets").short(&["rs"]).namespaced().template("spec.template").live().admission(),
    row("apps", "v1", "StatefulSet", "statefulsets").short(&["sts"]).namespaced().template("spec.template").live().admission(),
    row("apps", "v1", "DaemonSet", "daemonsets").short(&["ds"]).namespaced().template("spec.template").live().admission(),
    row("batch", "v1", "Job", "jobs").namespaced().template("spec.template").live().admission(),
    row("batch", "v1", "CronJob", "cronjobs").short(&["cj"]).namespaced().template("spec.jobTemplate.spec.template").live().admission(),
    row("rbac.authorization.k8s.io", "v1", "Role", "roles").namespaced().live().watched(),
    row("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles").cluster().live().watched(),
    row("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings").namespaced().live().watched(),
    row("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings").cluster().live().watched(),
    row("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies").short(&["netpol"]).namespaced().live().watched(),
    row("", "v1", "ConfigMap", "configmaps").short(&["cm"]).namespaced().watched_one("kube-system", "aws-auth"),
    row("networking.k8s.io", "v1", "Ingress", "ingresses").short(&["ing"]).namespaced().live(),
    row("storage.k8s.io", "v1", "StorageClass", "storageclasses").short(&["sc"]).cluster().live(),
    row("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations").cluster().live(),
    row("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations").cluster().live(),
    row("policy", "v1beta1", "PodSecurityPolicy", "podsecuritypolicies").short(&["psp"]).cluster().live_optional(),
    row("karpenter.k8s.aws", "v1", "EC2NodeClass", "ec2nodeclasses").live_optional(),
    row("argoproj.io", "v1alpha1", "Rollout", "rollouts").short(&["ro"]).namespaced().template("spec.template").live_optional(),
    row("", "v1", "Node", "nodes").short(&["no"]).cluster().live_optional(),
    row("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses").short(&["pc"]).cluster().live_optional(),
    row("eks.amazonaws.com", "v1", "NodeClass", "nodeclasses").live_optional(),
    row("karpenter.sh", "v1", "NodePool", "nodepools").live_optional(),
    row("vpcresources.k8s.aws", "v1beta1", "SecurityGroupPolicy", "securitygrouppolicies").live_optional(),
    row("security.istio.io", "v1", "PeerAuthentication", "peerauthentications").live_optional(),
    row("kyverno.io", "v1", "ClusterPolicy", "clusterpolicies").short(&["cpol"]).live_optional(),
    row("kyverno.io", "v1", "Policy", "policies").short(&["pol"]).live_optional(),
    row("policies.kyverno.io", "v1alpha1", "ImageValidatingPolicy", "imagevalidatingpolicies").live_optional(),
    row("policy.sigstore.dev", "v1beta1", "ClusterImagePolicy", "clusterimagepolicies").live_optional(),
    row("config.ratify.deislabs.io", "v1beta1", "Verifier", "verifiers").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPAllowPrivilegeEscalationContainer", "k8spspallowprivilegeescalationcontainer").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPAllowedUsers", "k8spspallowedusers").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPAppArmor", "k8spspapparmor").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPCapabilities", "k8spspcapabilities").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPFSGroup", "k8spspfsgroup").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPFlexVolumes", "k8spspflexvolumes").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPForbiddenSysctls", "k8spspforbiddensysctls").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPHostFilesystem", "k8spsphostfilesystem").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPHostNamespace", "k8spsphostnamespace").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPHostNetworkingPorts", "k8spsphostnetworkingports").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPPrivilegedContainer", "k8spspprivilegedcontainer").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPProcMount", "k8spspprocmount").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPReadOnlyRootFilesystem", "k8spspreadonlyrootfilesystem").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPSELinuxV2", "k8spspselinuxv2").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPSeccomp", "k8spspseccomp").live_optional(),
    row("constraints.gatekeeper.sh", "v1beta1", "K8sPSPVolumeTypes", "k8spspvolumetypes").live_optional(),
    row("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims").short(&["pvc"]).namespaced(),
    row("", "v1", "Event", "events").short(&["ev"]).namespaced(),
    row("", "v1", "Endpoints", "endpoints").short(&["ep"]).namespaced(),
    row("coordination.k8s.io", "v1", "Lease", "leases").namespaced(),
    row("authentication.k8s.io", "v1", "TokenReview", "tokenreviews").cluster(),
    row("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews").cluster(),
    row("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews").cluster(),
    row("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests").short(&["csr"]).cluster(),
    row("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions").short(&["crd", "crds"]).cluster(),
    row("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies").cluster(),
    row("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings").cluster(),
    row("admissionregistration.k8s.io", "v1", "MutatingAdmissionPolicy", "mutatingadmissionpolicies").cluster(),
    row("admissionregistration.k8s.io", "v1", "MutatingAdmissionPolicyBinding", "mutatingadmissionpolicybindings").cluster(),
    row("apiregistration.k8s.io", "v1", "APIService", "apiservices").cluster(),
    row("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses").cluster().live_optional(),
    row("networking.k8s.io", "v1", "IngressClass", "ingressclasses").cluster(),
    row("storage.k8s.io", "v1", "CSIDriver", "csidrivers").cluster(),
    row("storage.k8s.io", "v1", "CSINode", "csinodes").cluster(),
    row("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments").cluster(),
    row("cert-manager.io", "v1", "ClusterIssuer", "clusterissuers").cluster().live_optional(),
    row("cert-manager.io", "v1", "Issuer", "issuers").namespaced().live_optional(),
    row("external-secrets.io", "v1", "SecretStore", "secretstores").short(&["ss"]).namespaced().live_optional(),
    row("external-secrets.io", "v1", "ClusterSecretStore", "clustersecretstores").short(&["css"]).cluster().live_optional(),
    row("flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", "flowschemas").cluster(),
    row("flowcontrol.apiserver.k8s.io", "v1", "PriorityLevelConfiguration", "prioritylevelconfigurations").cluster(),
    row("", "v1", "ComponentStatus", "componentstatuses").cluster(),
    row("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers").short(&["hpa"]).namespaced(),
    row("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets").short(&["pdb"]).namespaced(),
    row("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices").namespaced(),
    row("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews").cluster(),
    row("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews").cluster(),
    row("certificates.k8s.io", "v1", "ClusterTrustBundle", "clustertrustbundles").cluster(),
    row("storage.k8s.io", "v1", "VolumeAttributesClass", "volumeattributesclasses").cluster(),
    row("resource.k8s.io", "v1", "DeviceClass", "deviceclasses").cluster(),
    row("networking.k8s.io", "v1", "IPAddress", "ipaddresses").cluster(),
    row("networking.k8s.io", "v1", "ServiceCIDR", "servicecidrs").cluster(),
];

const fn count_templates() -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < KINDS.len() {
        if KINDS[i].pod_template.is_some() {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn template_kinds<const N: usize>() -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut j) = (0, 0);
    while i < KINDS.len() {
        if KINDS[i].pod_template.is_some() {
            out[j] = KINDS[i].kind;
            j += 1;
        }
        i += 1;
    }
    out
}

const WORKLOADS: usize = count_templates();

/// Kinds that carry a pod spec or a pod template, in table order: a constant, so rules
/// can name it as their scope.
pub const WORKLOAD_KINDS: &[&str] = &template_kinds::<WORKLOADS>();

/// The row of a kind.
pub fn get(kind: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// Whether the API group is Kubernetes' own rather than an add-on's.
fn builtin_group(group: &str) -> bool {
    matches!(group, "" | "apps" | "batch" | "policy" | "autoscaling") || group.ends_with(".k8s.io")
}

/// The built-in kind of a resource plural (`daemonsets` → `DaemonSet`).
pub fn of_plural(plural: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.plural == plural && builtin_group(k.group))
}

/// Whether objects of the kind live outside namespaces.
pub fn is_cluster_scoped(kind: &str) -> bool {
    get(kind).is_some_and(|k| k.namespaced == Some(false))
}

/// Whether a built-in resource plural is cluster-scoped.
pub fn is_cluster_scoped_resource(plural: &str) -> bool {
    of_plural(plural).is_some_and(|k| k.namespaced == Some(false))
}

/// Whether an object of the kind that names no namespace is in the default one.
pub fn defaults_namespace(kind: &str) -> bool {
    get(kind).is_some_and(|k| k.namespaced == Some(true))
}

/// Kinds a live read lists.
pub fn listed_live() -> impl Iterator<Item = &'static Kind> {
    KINDS.iter().filter(|k| k.live != Live::No)
}

/// Kinds the admission watch cache holds.
pub fn watched() -> impl Iterator<Item = &'static Kind> {
    KINDS.iter().filter(|k| k.watch != Watch::No)
}

/// Kinds the admission policies judge.
pub fn admitted() -> impl Iterator<Item = &'static Kind> {
    KINDS.iter().filter(|k| k.admission)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_plurals_are_unique() {
        let mut kinds: Vec<&str> = KINDS.iter().map(|k| k.kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len());
        for k in KINDS {
            let same: Vec<&Kind> = KINDS
                .iter()
                .filter(|o| o.plural == k.plural && o.group == k.group)
                .collect();
            assert_eq!(same.len(), 1, "{}", k.plural);
            assert!(k
                .plural
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        }
    }

    #[test]
    fn workloads_are_the_template_kinds() {
        assert_eq!(
            WORKLOAD_KINDS,
            [
                "Pod",
                "ReplicationController",
                "PodTemplate",
                "Deployment",
                "ReplicaSet",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "CronJob",
                "Rollout"
            ]
        );
        let controllers: Vec<&str> = KINDS
            .iter()
            .filter(|k| k.has_controller())
            .map(|k| k.kind)
            .collect();
        assert_eq!(
            controllers,
            [
                "ReplicationController",
                "Deployment",
                "ReplicaSet",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "CronJob"
            ]
        );
        // Every kind with a template is namespaced.
        for k in KINDS.iter().filter(|k| k.pod_template.is_some()) {
            assert_eq!(k.namespaced, Some(true), "{}", k.kind);
        }
    }

    #[test]
    fn lookups() {
        assert_eq!(of_plural("daemonsets").map(|k| k.kind), Some("DaemonSet"));
        assert_eq!(of_plural("policies"), None);
        assert!(is_cluster_scoped("ClusterRole"));
        assert!(!is_cluster_scoped("Role"));
        assert!(defaults_namespace("Rollout"));
        assert!(!defaults_namespace("NodePool"));
        assert_eq!(get("Deployment").unwrap().singular(), "deployment");
        assert_eq!(
            get("ConfigMap").unwrap().collection_path(),
            "/api/v1/namespaces/kube-system/configmaps?fieldSelector=metadata.name%3Daws-auth"
        );
        assert_eq!(
            get("NetworkPolicy").unwrap().collection_path(),
            "/apis/networking.k8s.io/v1/networkpolicies"
        );
    }
}
