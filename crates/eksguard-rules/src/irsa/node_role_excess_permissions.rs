use eksguard_model::aws_kinds as k;
use std::collections::BTreeSet;

use eksguard_model::{iam_policy, FieldPath, Node, Object};

use crate::aws_iam::{aws_managed_policy_name, is_eksctl, role_name, statements};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

const WORKER_POLICY: &str = "AmazonEKSWorkerNodePolicy";
/// The reduced worker policy EKS Auto Mode and newer node roles use.
const WORKER_MINIMAL_POLICY: &str = "AmazonEKSWorkerNodeMinimalPolicy";

crate::rule_params! {
    pub struct Params {
        /// Policies a node role may carry: names of AWS-managed policies, or full policy ARNs.
        allowed_policies: Vec<String> = [
            WORKER_POLICY,
            WORKER_MINIMAL_POLICY,
            "AmazonEC2ContainerRegistryReadOnly",
            "AmazonEC2ContainerRegistryPullOnly",
            "AmazonEKS_CNI_Policy",
            "AmazonSSMManagedInstanceCore",
        ]
        .map(String::from)
        .to_vec(),
    }
}

/// eksctl `withAddonPolicies` switches and what they attach to the node role.
const ADDON_POLICIES: &[(&str, &str)] = &[
    ("imageBuilder", "ECR push access"),
    ("autoScaler", "Auto Scaling group control"),
    ("externalDNS", "Route 53 record changes"),
    ("certManager", "Route 53 record changes"),
    ("appMesh", "App Mesh access"),
    ("appMeshPreview", "App Mesh preview access"),
    ("ebs", "EBS volume create/attach/delete"),
    ("fsx", "FSx access"),
    ("efs", "EFS access"),
    (
        "awsLoadBalancerController",
        "load balancer and security group control",
    ),
    ("albIngress", "load balancer and security group control"),
    ("xRay", "X-Ray write access"),
    ("cloudWatch", "CloudWatch agent access"),
];

declare_rule! {
    /// ## What it checks
    /// The IAM role of worker nodes, for policies beyond what nodes need (by default
    /// `AmazonEKSWorkerNodePolicy` or `AmazonEKSWorkerNodeMinimalPolicy`,
    /// `AmazonEC2ContainerRegistryReadOnly` or `PullOnly`,
    /// `AmazonEKS_CNI_Policy` and `AmazonSSMManagedInstanceCore`; parameter
    /// `allowed_policies`) and for statements that allow every action (`*`, `service:*`
    /// or `NotAction`).
    ///
    /// AWS data is joined as follows. Node roles are the `nodeRole` ARNs of `EKSNodegroup`
    /// objects, the cluster's EKS Auto Mode `computeConfig.nodeRoleArn`, and the
    /// `spec.role` of Auto Mode `NodeClass` and Karpenter `EC2NodeClass` objects. An `IAMAttachedPolicies` (`list-attached-role-policies`, which does not
    /// name its role) belongs to a node role when its `RoleName` key names it, else when
    /// the role name is a component of its file path (`.../NodeRole/attached.json`,
    /// `NodeRole.json`; the longest name wins), else when the scan knows exactly one node
    /// role and holds exactly one such list. A list that includes
    /// `AmazonEKSWorkerNodePolicy` or `AmazonEKSWorkerNodeMinimalPolicy` is a node role's
    /// whatever its name: nothing else needs those policies. Inline policies (`IAMRolePolicy`, `get-role-policy`) are checked when
    /// their `RoleName` is a node role, or the role of a list with the worker policy.
    ///
    /// For eksctl `nodeGroups` and `managedNodeGroups`, `iam.attachPolicyARNs` outside
    /// the allowed set, each `iam.withAddonPolicies` switch that is on, and `*` actions
    /// in `iam.attachPolicy` are findings.
    ///
    /// ## Why it matters
    /// Every pod that reaches the instance metadata service (any pod, unless IMDS is
    /// blocked) gets the node role's credentials: whatever the node role can do, every
    /// workload on the node can do.
    ///
    /// ## Example
    /// ```yaml
    /// managedNodeGroups:
    ///   - name: ng-1
    ///     iam:
    ///       withAddonPolicies:
    ///         autoScaler: true
    ///         externalDNS: true
    /// ```
    ///
    /// ## Fix
    /// Keep only the worker policies on the node role; give add-ons and applications
    /// their own roles through IRSA or EKS Pod Identity.
    pub NodeRoleExcessPermissions {
        id: "IRSA010",
        name: "node-role-excess-permissions",
        severity: Medium,
        data: [Iam, Eks],
        scope: Inventory,
        reads: &["ClusterConfig", k::EKS_NODEGROUP, k::EKS_CLUSTER, "NodeClass", "EC2NodeClass", k::IAM_ATTACHED_POLICIES, k::IAM_ROLE_POLICY],
        summary: "Node IAM role carries permissions beyond the worker policies",
        remediation: "Remove extra policies from the node role and give the workloads that need them their own IAM roles (IRSA or Pod Identity).",
        params: Params,
    }
}

fn policy_allowed(allowed: &[String], arn: Option<&str>, name: Option<&str>) -> bool {
    match arn {
        Some(arn) => {
            allowed.iter().any(|a| a == arn)
                || aws_managed_policy_name(arn).is_some_and(|n| allowed.iter().any(|a| a == n))
        }
        None => name.is_some_and(|n| allowed.iter().any(|a| a == n)),
    }
}

/// The policies of an `IAMAttachedPolicies` list: (index, ARN, name).
fn attached(obj: &Object) -> Vec<(usize, Option<&str>, Option<&str>)> {
    obj.root
        .get("AttachedPolicies")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                i,
                p.get("PolicyArn").and_then(Node::as_str),
                p.get("PolicyName").and_then(Node::as_str),
            )
        })
        .collect()
}

fn has_worker_policy(obj: &Object) -> bool {
    attached(obj).iter().any(|(_, arn, name)| {
        arn.and_then(aws_managed_policy_name)
            .or(*name)
            .is_some_and(|n| n == WORKER_POLICY || n == WORKER_MINIMAL_POLICY)
    })
}

/// Whether `name` is a whole component of `path`: between separators, or followed by
/// a file extension.
fn path_names_role(path: &str, name: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    lower.split(['/', '\\']).any(|comp| {
        comp == name
            || comp
                .strip_prefix(name.as_str())
                .is_some_and(|rest| rest.starts_with('.') && !rest[1..].contains('.'))
    })
}

/// A statement allowing every action of everything or of a service.
fn full_wildcard(pattern: &str) -> bool {
    iam_policy::is_every_action(pattern) || iam_policy::whole_service(pattern).is_some()
}

fn report_star_actions(obj: &Object, doc: &Node, base: &FieldPath, who: &str, out: &mut Sink) {
    for st in statements(doc, base) {
        if !st.is_allow() {
            continue;
        }
        if let Some(p) = st.not_action_path() {
            out.report(
                obj,
                p,
                format!(
                    "{who} has a statement allowing every action except those listed (`NotAction`)"
                ),
            );
            continue;
        }
        for a in st.actions() {
            if full_wildcard(&a.pattern) {
                out.report(obj, a.path, format!("{who} allows action `{}`", a.pattern));
            }
        }
    }
}

impl InventoryRule for NodeRoleExcessPermissions {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        let params = cx.params::<Params>(&Self::META);
        let allowed = &params.allowed_policies;
        let mut node_roles: BTreeSet<String> = cx
            .objects_of(k::EKS_NODEGROUP)
            .filter_map(|ng| ng.root.get("nodeRole").and_then(Node::as_str))
            .chain(cx.objects_of(k::EKS_CLUSTER).filter_map(|c| {
                c.root
                    .at("computeConfig.nodeRoleArn")
                    .and_then(Node::as_str)
            }))
            .filter_map(role_name)
            .map(str::to_string)
            .collect();
        // Auto Mode NodeClasses and Karpenter EC2NodeClasses name the role, or give its ARN.
        let node_classes = cx
            .objects_of("NodeClass")
            .filter(|o| o.api_version.starts_with("eks.amazonaws.com/"))
            .chain(
                cx.objects_of("EC2NodeClass")
                    .filter(|o| o.api_version.starts_with("karpenter.k8s.aws/")),
            );
        for nc in node_classes {
            if let Some(r) = nc.spec().get("role").and_then(Node::as_str).map(str::trim) {
                let name = if r.starts_with("arn:") {
                    role_name(r)
                } else {
                    Some(r)
                };
                node_roles.extend(name.filter(|n| !n.is_empty()).map(str::to_string));
            }
        }
        let lists: Vec<&Object> = cx.objects_of(k::IAM_ATTACHED_POLICIES).collect();
        let single = (node_roles.len() == 1 && lists.len() == 1)
            .then(|| node_roles.iter().next().cloned())
            .flatten();
        for list in &lists {
            let named = list.root.get("RoleName").and_then(Node::as_str);
            let role = match named {
                Some(n) => node_roles
                    .iter()
                    .find(|r| r.eq_ignore_ascii_case(n))
                    .cloned()
                    .or_else(|| has_worker_policy(list).then(|| n.to_string())),
                None => {
                    let file = list.file().unwrap_or("");
                    node_roles
                        .iter()
                        .filter(|r| path_names_role(file, r))
                        .max_by_key(|r| r.len())
                        .cloned()
                        .or_else(|| single.clone())
                        .or_else(|| has_worker_policy(list).then(|| "(unnamed)".to_string()))
                }
            };
            let Some(role) = role else { continue };
            if let Some(n) = named {
                node_roles.insert(n.to_string());
            }
            for (i, arn, name) in attached(list) {
                if policy_allowed(allowed, arn, name) {
                    continue;
                }
                let shown = arn.or(name).unwrap_or("(unnamed policy)");
                let field = if arn.is_some() {
                    "PolicyArn"
                } else {
                    "PolicyName"
                };
                out.report(
                    list,
                    FieldPath::parse("AttachedPolicies").index(i).key(field),
                    format!("node role `{role}` has policy `{shown}` attached: every pod on its nodes can use it"),
                );
            }
        }
        for inline in cx.objects_of(k::IAM_ROLE_POLICY) {
            let Some(role) = inline.root.get("RoleName").and_then(Node::as_str) else {
                continue;
            };
            if !node_roles.iter().any(|r| r.eq_ignore_ascii_case(role)) {
                continue;
            }
            if let Some(doc) = inline.root.get("PolicyDocument") {
                report_star_actions(
                    inline,
                    doc,
                    &FieldPath::parse("PolicyDocument"),
                    &format!("node role `{role}`"),
                    out,
                );
            }
        }
        for cfg in cx.objects_of("ClusterConfig").filter(|o| is_eksctl(o)) {
            for key in ["nodeGroups", "managedNodeGroups"] {
                let groups = cfg.root.get(key).map(Node::items).unwrap_or(&[]);
                for (g, ng) in groups.iter().enumerate() {
                    let name = ng.get("name").and_then(Node::as_str).unwrap_or("(unnamed)");
                    let base = FieldPath::parse(key).index(g).key("iam");
                    let Some(iam) = ng.get("iam") else { continue };
                    for (i, p) in iam
                        .get("attachPolicyARNs")
                        .map(Node::items)
                        .unwrap_or(&[])
                        .iter()
                        .enumerate()
                    {
                        let Some(arn) = p.as_str() else { continue };
                        if !policy_allowed(allowed, Some(arn), None) {
                            out.report(
                                cfg,
                                base.key("attachPolicyARNs").index(i),
                                format!("node group `{name}` attaches `{arn}` to its node role: every pod on its nodes can use it"),
                            );
                        }
                    }
                    if let Some(addons) = iam.get("withAddonPolicies") {
                        for e in addons.entries() {
                            if e.value.as_bool_lenient() != Some(true) {
                                continue;
                            }
                            let what = ADDON_POLICIES
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(&e.key))
                                .map_or("add-on permissions", |(_, w)| w);
                            out.report(
                                cfg,
                                base.key("withAddonPolicies").key(&e.key),
                                format!("node group `{name}` gives its node role `{}` policies ({what}): every pod on its nodes gets them", e.key),
                            );
                        }
                    }
                    if let Some(doc) = iam.get("attachPolicy") {
                        report_star_actions(
                            cfg,
                            doc,
                            &base.key("attachPolicy"),
                            &format!("the node role of node group `{name}`"),
                            out,
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_in_paths() {
        assert!(path_names_role("aws/NodeRole/attached.json", "NodeRole"));
        assert!(path_names_role("aws/noderole.json", "NodeRole"));
        assert!(!path_names_role("aws/NodeRole-2.json", "NodeRole"));
        assert!(!path_names_role("aws/MyNodeRole.json", "NodeRole"));
        assert!(full_wildcard("s3:*"));
        assert!(!full_wildcard("ec2:Describe*"));
    }
}
