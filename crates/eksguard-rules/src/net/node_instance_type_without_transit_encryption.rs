use std::collections::BTreeSet;

use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_svc::text;
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Node instance types whose `ec2 describe-instance-types` entry has
    /// `NetworkInfo.EncryptionInTransitSupported` false: managed node group
    /// `instanceTypes`, launch template `LaunchTemplateData.InstanceType`,
    /// `describe-instances` `InstanceType`, and the `node.kubernetes.io/instance-type`
    /// `In` values of Karpenter `NodePool` requirements. Types the scan does not describe
    /// are not judged. Reported on the node group, template, instance or node pool.
    ///
    /// ## Why it matters
    /// Nitro instances of the types that support it encrypt traffic between each other
    /// in hardware, at no cost, so pod-to-pod traffic across nodes is encrypted without
    /// a mesh. Older types send it in clear across the VPC.
    ///
    /// ## Reads
    /// - CLI: `aws ec2 describe-instance-types`, `aws eks describe-nodegroup`,
    ///   `aws ec2 describe-launch-template-versions`, `aws ec2 describe-instances`
    /// - API: `DescribeInstanceTypes`
    /// - Infrastructure code: none (instance-type facts come from the EC2 API)
    ///
    /// ## Example
    /// ```json
    /// {"InstanceTypes": [{"InstanceType": "t3.large",
    ///   "NetworkInfo": {"EncryptionInTransitSupported": false}}]}
    /// ```
    ///
    /// ## Fix
    /// Move the nodes to instance types that support encryption in transit (most
    /// current-generation Nitro types: `m6i`, `c6i`, `r6i`, `m7g` and later), or
    /// encrypt in the application or a mesh.
    pub NodeInstanceTypeWithoutTransitEncryption {
        id: "NET017",
        name: "node-instance-type-without-transit-encryption",
        severity: Info,
        data: [Ec2, Eks],
        scope: Inventory,
        reads: &[
            k::EC2_INSTANCE_TYPE,
            k::EC2_INSTANCE,
            k::EKS_NODEGROUP,
            k::EC2_LAUNCH_TEMPLATE_VERSION,
            "NodePool",
        ],
        summary: "Nodes run an instance type without Nitro encryption in transit",
        remediation: "Use instance types that support encryption in transit for nodes.",
        guide: &["NS-12"],
    }
}

/// Where an object names instance types: `(path, type)` for each.
fn named_types(obj: &Object) -> Vec<(FieldPath, String)> {
    let list = |path: &str| -> Vec<(FieldPath, String)> {
        obj.root
            .at(path)
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((FieldPath::parse(path).index(i), n.as_str()?.to_string())))
            .collect()
    };
    let one = |path: &str| -> Vec<(FieldPath, String)> {
        text(&obj.root, path)
            .map(|t| vec![(FieldPath::parse(path), t.to_string())])
            .unwrap_or_default()
    };
    match &*obj.kind {
        k::EKS_NODEGROUP => list("instanceTypes"),
        k::EC2_LAUNCH_TEMPLATE_VERSION => one("LaunchTemplateData.InstanceType"),
        k::EC2_INSTANCE => one("InstanceType"),
        "NodePool" if obj.api_version.starts_with("karpenter.sh/") => {
            let base = FieldPath::parse("spec.template.spec.requirements");
            let reqs = obj
                .root
                .at("spec.template.spec.requirements")
                .map(Node::items)
                .unwrap_or(&[]);
            let mut out = Vec::new();
            for (i, r) in reqs.iter().enumerate() {
                if text(r, "key") != Some("node.kubernetes.io/instance-type")
                    || text(r, "operator") != Some("In")
                {
                    continue;
                }
                for (j, v) in r
                    .get("values")
                    .map(Node::items)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                {
                    if let Some(t) = v.as_str() {
                        out.push((base.index(i).key("values").index(j), t.to_string()));
                    }
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

impl InventoryRule for NodeInstanceTypeWithoutTransitEncryption {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let clear: BTreeSet<String> = cx
            .objects_of(k::EC2_INSTANCE_TYPE)
            .filter(|t| {
                t.root
                    .at("NetworkInfo.EncryptionInTransitSupported")
                    .and_then(Node::as_bool_lenient)
                    == Some(false)
            })
            .filter_map(|t| text(&t.root, "InstanceType").map(str::to_string))
            .collect();
        if clear.is_empty() {
            return;
        }
        for kind in [
            k::EKS_NODEGROUP,
            k::EC2_LAUNCH_TEMPLATE_VERSION,
            k::EC2_INSTANCE,
            "NodePool",
        ] {
            for obj in cx.objects_of(kind) {
                for (path, ty) in named_types(obj) {
                    if clear.contains(&ty) {
                        out.report(
                            obj,
                            path,
                            format!("instance type {ty} does not encrypt traffic between nodes in transit"),
                        );
                    }
                }
            }
        }
    }
}
