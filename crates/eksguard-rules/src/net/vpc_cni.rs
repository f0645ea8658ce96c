//! The Amazon VPC CNI's settings as the scan shows them: the kube-system `aws-node`
//! DaemonSet and the `vpc-cni` add-on (`describe-addon`, eksctl `addons`).

use eksguard_model::aws_kinds as k;
use eksguard_model::workload::{ContainerKind, ContainerView};
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_iam::{eksctl_addon, is_eksctl};
use crate::Ctx;

/// The kube-system `aws-node` DaemonSets.
pub(crate) fn aws_node<'a>(cx: &Ctx<'a>) -> impl Iterator<Item = &'a Object> + 'a {
    cx.objects_in("DaemonSet", "kube-system")
        .filter(|o| &*o.name == "aws-node")
        .collect::<Vec<_>>()
        .into_iter()
}

/// A regular or init container of `ds` by name.
pub(crate) fn container<'a>(ds: &'a Object, name: &str) -> Option<ContainerView<'a>> {
    ds.pod_spec()?
        .containers()
        .find(|c| c.kind != ContainerKind::Ephemeral && c.name() == name)
}

/// The literal value of an environment variable of a container, with its path.
pub(crate) fn env<'a>(c: &ContainerView<'a>, name: &str) -> Option<(Option<&'a str>, FieldPath)> {
    let list = c.node.get("env").map(Node::items).unwrap_or(&[]);
    list.iter().enumerate().find_map(|(i, e)| {
        (e.get("name").and_then(Node::as_str) == Some(name)).then(|| {
            (
                e.get("value").and_then(Node::as_str),
                c.path_to("env").index(i).key("value"),
            )
        })
    })
}

/// The value of `--flag=value` (or a bare `--flag`, which is `true`) in a container's
/// arguments, the last one winning as the flag parser does, with its path.
pub(crate) fn flag(c: &ContainerView<'_>, flag: &str) -> Option<(String, FieldPath)> {
    let args = c.node.get("args").map(Node::items).unwrap_or(&[]);
    let mut found = None;
    for (i, a) in args.iter().enumerate() {
        let Some(a) = a.as_str() else { continue };
        let value = match a.split_once('=') {
            Some((f, v)) if f == flag => v.trim().to_string(),
            None if a == flag => "true".to_string(),
            _ => continue,
        };
        found = Some((value, c.path_to("args").index(i)));
    }
    found
}

/// A `vpc-cni` add-on of the scan: the object, the path of the add-on within it, the key
/// naming it, and its parsed `configurationValues` (`None` when absent or unparsable).
pub(crate) struct CniAddon<'a> {
    pub obj: &'a Object,
    pub base: FieldPath,
    pub name_key: &'static str,
    pub config: Option<Node>,
}

impl CniAddon<'_> {
    /// Where to report: the configuration when it is there, else the add-on's name.
    pub fn at(&self, rest: &str) -> FieldPath {
        if self.config.is_some() {
            self.base.key("configurationValues").join(rest)
        } else {
            self.base.key(self.name_key)
        }
    }

    /// A setting of the configuration, read leniently (`"true"` and `true` alike).
    pub fn setting(&self, dotted: &str) -> Option<&Node> {
        self.config.as_ref()?.at(dotted)
    }
}

pub(crate) fn vpc_cni_addons<'a>(cx: &Ctx<'a>) -> Vec<CniAddon<'a>> {
    let parse = |addon: &Node| {
        let raw = addon
            .get("configurationValues")
            .filter(|v| !v.is_empty_value())?;
        eksguard_model::yaml::parse_embedded(raw)?.ok()
    };
    let mut out = Vec::new();
    for obj in cx.objects_of(k::EKS_ADDON) {
        if obj.root.get("addonName").and_then(Node::as_str) == Some("vpc-cni") {
            out.push(CniAddon {
                obj,
                base: FieldPath::root(),
                name_key: "addonName",
                config: parse(&obj.root),
            });
        }
    }
    for obj in cx.objects_of("ClusterConfig").filter(|o| is_eksctl(o)) {
        if let Some((i, addon)) = eksctl_addon(obj, "vpc-cni") {
            out.push(CniAddon {
                obj,
                base: FieldPath::parse("addons").index(i),
                name_key: "name",
                config: parse(addon),
            });
        }
    }
    out
}
