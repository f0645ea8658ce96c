use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object};

use crate::aws_iam::{flag, is_eks_cluster, is_eksctl};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// EKS clusters whose API server endpoint is public with no source restriction: the
    /// public CIDR allow-list is absent, empty, or contains `0.0.0.0/0` or `::/0`.
    ///
    /// - `describe-cluster` output: `resourcesVpcConfig.endpointPublicAccess` (EKS's
    ///   default when absent is on) and `resourcesVpcConfig.publicAccessCidrs`.
    /// - eksctl `ClusterConfig`: `vpc.clusterEndpoints.publicAccess` (eksctl's default is
    ///   on; `privateCluster.enabled: true` turns it off) and `vpc.publicAccessCIDRs`
    ///   (eksctl's default is `0.0.0.0/0`).
    ///
    /// The finding points at the world-open CIDR, or at the allow-list (or the field that
    /// turns public access on) when there is none.
    ///
    /// ## Why it matters
    /// An endpoint reachable from the whole internet exposes the API server to credential
    /// stuffing, to exploitation of authentication bugs, and to anyone holding a leaked
    /// kubeconfig or IAM key, from anywhere.
    ///
    /// ## Example
    /// ```json
    /// "resourcesVpcConfig": {
    ///   "endpointPublicAccess": true,
    ///   "publicAccessCidrs": ["0.0.0.0/0"]
    /// }
    /// ```
    ///
    /// ## Fix
    /// Turn off public access and reach the API through the VPC, or limit
    /// `publicAccessCidrs` to the networks that administer the cluster.
    pub PublicEndpointUnrestricted {
        id: "IAM001",
        name: "public-endpoint-unrestricted",
        severity: High,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Cluster API endpoint is public and open to any address",
        remediation: "Disable the public endpoint, or restrict `publicAccessCidrs` to known administrative networks.",
        guide: &["IAM-02"],
    }
}

fn is_world(cidr: &str) -> bool {
    matches!(cidr.trim(), "0.0.0.0/0" | "::/0")
}

/// Reports a public endpoint whose allow-list `cidrs` (at `cidrs_path`) admits everyone;
/// `on_path` is where public access is turned on, for an absent list.
fn check(
    obj: &Object,
    cidrs: Option<&Node>,
    cidrs_path: FieldPath,
    on_path: FieldPath,
    default_note: &str,
    out: &mut Sink,
) {
    match cidrs {
        Some(list) if !list.items().is_empty() => {
            for (i, c) in list.items().iter().enumerate() {
                if let Some(c) = c.as_str().filter(|c| is_world(c)) {
                    out.report(
                        obj,
                        cidrs_path.index(i),
                        format!("public API endpoint allows `{c}`: reachable from the whole internet"),
                    );
                }
            }
        }
        Some(_) => out.report(
            obj,
            cidrs_path,
            "public API endpoint with an empty CIDR allow-list: reachable from the whole internet",
        ),
        None => out.report(
            obj,
            on_path,
            format!("public API endpoint without a CIDR allow-list{default_note}: reachable from the whole internet"),
        ),
    }
}

impl ObjectRule for PublicEndpointUnrestricted {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if is_eks_cluster(obj) {
            let Some(vpc) = obj.root.get("resourcesVpcConfig") else {
                return;
            };
            if !flag(vpc, "endpointPublicAccess", true) {
                return;
            }
            let base = FieldPath::parse("resourcesVpcConfig");
            let on_path = if vpc.get("endpointPublicAccess").is_some() {
                base.key("endpointPublicAccess")
            } else {
                base.key("publicAccessCidrs")
            };
            check(
                obj,
                vpc.get("publicAccessCidrs"),
                base.key("publicAccessCidrs"),
                on_path,
                "",
                out,
            );
        } else if is_eksctl(obj) {
            let root = &obj.root;
            let private_cluster = flag(root, "privateCluster.enabled", false);
            if private_cluster || !flag(root, "vpc.clusterEndpoints.publicAccess", true) {
                return;
            }
            let on_path = if root.at("vpc.clusterEndpoints.publicAccess").is_some() {
                FieldPath::parse("vpc.clusterEndpoints.publicAccess")
            } else {
                FieldPath::parse("vpc.publicAccessCIDRs")
            };
            check(
                obj,
                root.at("vpc.publicAccessCIDRs"),
                FieldPath::parse("vpc.publicAccessCIDRs"),
                on_path,
                " (eksctl's default is public access from 0.0.0.0/0)",
                out,
            );
        }
    }
}
