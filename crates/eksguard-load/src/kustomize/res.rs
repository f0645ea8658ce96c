//! One resource of a build: its tree and what kustomize remembers about it.

use super::tree::{FileId, K};
use eksguard_model::Pos;

#[derive(Debug, Clone)]
pub(crate) struct Res {
    pub root: K,
    /// Document (and `List` item) of its file.
    pub doc: u32,
    pub item: Option<u32>,
    /// Names and namespaces it had before this build renamed it, oldest first: references
    /// to them are updated to the final name, as kustomize does.
    pub prev_names: Vec<String>,
    pub prev_namespaces: Vec<String>,
    /// Made by a generator: named with a content hash at the end of the build.
    pub hashed: bool,
    pub generated: bool,
}

impl Res {
    pub(crate) fn new(root: K, doc: u32, item: Option<u32>) -> Res {
        Res {
            root,
            doc,
            item,
            prev_names: Vec::new(),
            prev_namespaces: Vec::new(),
            hashed: false,
            generated: false,
        }
    }

    pub(crate) fn kind(&self) -> &str {
        self.root.get("kind").and_then(K::as_str).unwrap_or("")
    }

    pub(crate) fn api_version(&self) -> &str {
        self.root
            .get("apiVersion")
            .and_then(K::as_str)
            .unwrap_or("")
    }

    /// The API group (`""` for the core group).
    pub(crate) fn group(&self) -> &str {
        group_of(self.api_version())
    }

    pub(crate) fn name(&self) -> String {
        self.root
            .at("metadata/name")
            .and_then(K::text)
            .unwrap_or_default()
    }

    /// The namespace as written, `None` when none is.
    pub(crate) fn namespace(&self) -> Option<String> {
        self.root
            .at("metadata/namespace")
            .and_then(K::text)
            .filter(|s| !s.is_empty())
    }

    /// The namespace for comparing: an unset one is `default`, as the API reads it.
    pub(crate) fn effective_ns(&self) -> String {
        self.namespace().unwrap_or_else(|| "default".into())
    }

    pub(crate) fn file(&self) -> FileId {
        self.root.file
    }

    pub(crate) fn set_name(&mut self, name: &str, pos: Pos, file: FileId) {
        let old = self.name();
        if old == name {
            return;
        }
        if !self.prev_names.contains(&old) {
            self.prev_names.push(old);
        }
        let meta = self.root.map_at("metadata", pos, file);
        let key_pos = meta
            .entries()
            .iter()
            .find(|e| e.key == "name")
            .map_or(pos, |e| e.key_pos);
        meta.set("name", key_pos, K::str(name, pos, file));
    }

    pub(crate) fn set_namespace(&mut self, ns: &str, pos: Pos, file: FileId) {
        let old = self.effective_ns();
        if self.namespace().as_deref() == Some(ns) {
            return;
        }
        if !self.prev_namespaces.contains(&old) {
            self.prev_namespaces.push(old);
        }
        let meta = self.root.map_at("metadata", pos, file);
        meta.set("namespace", pos, K::str(ns, pos, file));
    }

    /// Whether `name` is this resource's name now or was before.
    pub(crate) fn was_named(&self, name: &str) -> bool {
        self.name() == name || self.prev_names.iter().any(|n| n == name)
    }

    pub(crate) fn was_in(&self, ns: &str) -> bool {
        self.effective_ns() == ns || self.prev_namespaces.iter().any(|n| n == ns)
    }

    pub(crate) fn labels(&self) -> Vec<(String, String)> {
        string_map(self.root.at("metadata/labels"))
    }

    pub(crate) fn annotations(&self) -> Vec<(String, String)> {
        string_map(self.root.at("metadata/annotations"))
    }

    /// `Deployment.v1.apps/web.prod` as kustomize names resources in its messages.
    pub(crate) fn id(&self) -> String {
        let (group, version) = match self.api_version().split_once('/') {
            Some((g, v)) => (g, v),
            None => ("[noGrp]", self.api_version()),
        };
        let ns = self.namespace().unwrap_or_else(|| "[noNs]".into());
        format!("{}.{version}.{group}/{}.{ns}", self.kind(), self.name())
    }
}

pub(crate) fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

fn string_map(k: Option<&K>) -> Vec<(String, String)> {
    k.map(|m| {
        m.entries()
            .iter()
            .filter_map(|e| Some((e.key.clone(), e.value.text()?)))
            .collect()
    })
    .unwrap_or_default()
}

/// Kinds kustomize leaves without a namespace: the built-in cluster-scoped kinds of its
/// schema. Custom kinds are namespaced to it, whatever their definition says.
pub(crate) fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "Node"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "PersistentVolume"
            | "StorageClass"
            | "CustomResourceDefinition"
            | "PodSecurityPolicy"
            | "ValidatingWebhookConfiguration"
            | "MutatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "MutatingAdmissionPolicy"
            | "MutatingAdmissionPolicyBinding"
            | "APIService"
            | "PriorityClass"
            | "RuntimeClass"
            | "IngressClass"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
            | "CertificateSigningRequest"
            | "FlowSchema"
            | "PriorityLevelConfiguration"
            | "ComponentStatus"
            | "SelfSubjectAccessReview"
            | "SelfSubjectRulesReview"
            | "SubjectAccessReview"
            | "TokenReview"
            | "ClusterTrustBundle"
            | "VolumeAttributesClass"
            | "DeviceClass"
    )
}
