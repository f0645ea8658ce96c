//! Which control-plane log types a cluster enables.

use eksguard_model::{FieldPath, Node, Object};

use crate::aws_iam::{is_eks_cluster, is_eksctl};

pub(crate) const ALL_TYPES: &[&str] = &[
    "api",
    "audit",
    "authenticator",
    "controllerManager",
    "scheduler",
];

/// The log types a cluster has on, and where to report a type that is off: the entry
/// of a disabled `clusterLogging` item naming it, or the list of enabled types.
pub(crate) struct Logging {
    pub enabled: Vec<String>,
    /// (type, path) of types listed under `enabled: false` (describe-cluster).
    pub disabled_at: Vec<(String, FieldPath)>,
    pub path: FieldPath,
    /// "eksctl's default" note when the config says nothing.
    pub note: &'static str,
}

impl Logging {
    pub fn is_on(&self, t: &str) -> bool {
        self.enabled.iter().any(|e| e.eq_ignore_ascii_case(t))
    }

    pub fn path_for(&self, t: &str) -> FieldPath {
        self.disabled_at
            .iter()
            .find(|(d, _)| d.eq_ignore_ascii_case(t))
            .map_or_else(|| self.path.clone(), |(_, p)| p.clone())
    }
}

pub(crate) fn logging(obj: &Object) -> Option<Logging> {
    if is_eks_cluster(obj) {
        let base = FieldPath::parse("logging.clusterLogging");
        let mut l = Logging {
            enabled: Vec::new(),
            disabled_at: Vec::new(),
            path: base.clone(),
            note: "",
        };
        let items = obj
            .root
            .at("logging.clusterLogging")
            .map(Node::items)
            .unwrap_or(&[]);
        for (i, item) in items.iter().enumerate() {
            let on = item.get("enabled").and_then(Node::as_bool_lenient) == Some(true);
            for (j, t) in item
                .get("types")
                .map(Node::items)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let Some(t) = t.as_str() else { continue };
                if on {
                    l.enabled.push(t.to_string());
                } else {
                    l.disabled_at
                        .push((t.to_string(), base.index(i).key("types").index(j)));
                }
            }
        }
        Some(l)
    } else if is_eksctl(obj) {
        let path = FieldPath::parse("cloudWatch.clusterLogging.enableTypes");
        let given = obj.root.at("cloudWatch.clusterLogging.enableTypes");
        let mut enabled = Vec::new();
        for t in given
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(Node::as_str)
        {
            if t == "*" || t.eq_ignore_ascii_case("all") {
                enabled.extend(ALL_TYPES.iter().map(|s| s.to_string()));
            } else {
                enabled.push(t.to_string());
            }
        }
        Some(Logging {
            enabled,
            disabled_at: Vec::new(),
            path,
            note: if given.is_some() {
                ""
            } else {
                " (eksctl enables none by default)"
            },
        })
    } else {
        None
    }
}
