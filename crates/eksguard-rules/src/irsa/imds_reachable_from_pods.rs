use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object, Severity};

use crate::aws_ec2::{eksctl_nodegroups, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

crate::rule_params! {
    pub struct Params {
        /// Highest acceptable HttpPutResponseHopLimit. 1 keeps IMDSv2 responses on the node;
        /// 2 lets pods on the pod network reach instance metadata.
        max_hop_limit: i64 = 1,
    }
}

declare_rule! {
    /// ## What it checks
    /// The instance metadata options of worker nodes: `HttpTokens` must be `required`
    /// (IMDSv2 only; anything else is reported as high) and `HttpPutResponseHopLimit` must
    /// not exceed `max_hop_limit` (default 1; reported as medium). Metadata switched off
    /// (`HttpEndpoint: disabled`) passes. Sources:
    ///
    /// - `ec2 describe-launch-template-versions`: `LaunchTemplateData.MetadataOptions`. A
    ///   launch template that sets no `HttpTokens` is reported: EC2 then launches with
    ///   tokens optional unless the AMI (`ImdsSupport: v2.0`, as the EKS-optimized AL2023
    ///   AMIs set) or the account's metadata defaults say otherwise, and the scan sees
    ///   neither. An unset hop limit is EC2's default, 1.
    /// - `ec2 describe-instances`: `MetadataOptions`, the effective state. Instances whose
    ///   output has no `MetadataOptions` are skipped.
    /// - Karpenter `EC2NodeClass` `spec.metadataOptions`; an unset field takes Karpenter's
    ///   default: `httpTokens: required`, and a hop limit of 1 in `karpenter.k8s.aws/v1`
    ///   (2 in `v1beta1`).
    /// - eksctl `nodeGroups` / `managedNodeGroups`. eksctl writes the metadata options into
    ///   the launch template it generates: tokens are required unless `disableIMDSv1: false`
    ///   (current eksctl defaults `disableIMDSv1` to true) and `disablePodIMDS` is not set;
    ///   the hop limit is 2 unless `disablePodIMDS: true`, which makes it 1. So an eksctl
    ///   node group without `disablePodIMDS: true` is reported for its hop limit. Managed
    ///   node groups that bring their own `launchTemplate` are skipped: the template
    ///   decides, and the scan judges it when it holds that template.
    ///
    /// Every launch template and instance in the scan is judged, not only those the scan
    /// can link to a node group: IMDSv1 is a credential-theft path (SSRF) on any instance.
    ///
    /// ## Why it matters
    /// Instance metadata hands out the node IAM role's credentials. A pod that can reach it
    /// acts with the node's permissions (pulling any image, describing the account's EC2
    /// resources, and more), whatever IRSA or Pod Identity role it was given. IMDSv1 answers
    /// any GET, including one forged through an SSRF bug; with IMDSv2 and a hop limit of 1
    /// the token response does not survive the extra hop into a pod's network namespace.
    ///
    /// ## Example
    /// ```json
    /// "MetadataOptions": { "HttpTokens": "optional", "HttpPutResponseHopLimit": 2 }
    /// ```
    ///
    /// ## Fix
    /// Set `HttpTokens` to `required` and `HttpPutResponseHopLimit` to 1 in the node launch
    /// template (eksctl: `disablePodIMDS: true`; Karpenter: keep the v1 defaults). Pods that
    /// need AWS access get it from IRSA or EKS Pod Identity. Host-network pods still reach
    /// the metadata service; a hop limit of 2 is only needed where pods must read it.
    pub ImdsReachableFromPods {
        id: "IRSA009",
        name: "imds-reachable-from-pods",
        severity: High,
        data: [Ec2, Eks],
        scope: Objects(&[k::EC2_LAUNCH_TEMPLATE_VERSION, k::EC2_INSTANCE, "EC2NodeClass", "ClusterConfig"]),
        summary: "Pods can reach the node's instance metadata and its IAM credentials",
        remediation: "Require IMDSv2 (HttpTokens required) and set the metadata hop limit to 1; give pods IAM roles through IRSA or Pod Identity.",
        params: Params,
        guide: &["IAM-14", "IAM-17"],
    }
}

/// The metadata options as one source spells them.
struct Keys {
    tokens: &'static str,
    hop: &'static str,
    endpoint: &'static str,
}

const EC2_KEYS: Keys = Keys {
    tokens: "HttpTokens",
    hop: "HttpPutResponseHopLimit",
    endpoint: "HttpEndpoint",
};

const KARPENTER_KEYS: Keys = Keys {
    tokens: "httpTokens",
    hop: "httpPutResponseHopLimit",
    endpoint: "httpEndpoint",
};

impl ObjectRule for ImdsReachableFromPods {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let max_hop = cx.params::<Params>(&Self::META).max_hop_limit;
        match &*obj.kind {
            k::EC2_LAUNCH_TEMPLATE_VERSION => {
                let base = FieldPath::parse("LaunchTemplateData.MetadataOptions");
                let md = obj.root.at("LaunchTemplateData.MetadataOptions");
                check_options(
                    out,
                    obj,
                    &base,
                    md,
                    &EC2_KEYS,
                    None,
                    1,
                    max_hop,
                    "launch template",
                );
            }
            k::EC2_INSTANCE => {
                if let Some(md) = obj.root.get("MetadataOptions") {
                    let base = FieldPath::parse("MetadataOptions");
                    if text(md.get("HttpTokens")).is_some() {
                        check_options(
                            out,
                            obj,
                            &base,
                            Some(md),
                            &EC2_KEYS,
                            None,
                            1,
                            max_hop,
                            "instance",
                        );
                    }
                }
            }
            "EC2NodeClass" => {
                let default_hop = if obj.api_version.ends_with("/v1beta1") {
                    2
                } else {
                    1
                };
                let base = FieldPath::parse("spec.metadataOptions");
                let md = obj.root.at("spec.metadataOptions");
                check_options(
                    out,
                    obj,
                    &base,
                    md,
                    &KARPENTER_KEYS,
                    Some("required"),
                    default_hop,
                    max_hop,
                    "EC2NodeClass",
                );
            }
            _ => check_eksctl(out, obj, max_hop),
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_options(
    out: &mut Sink,
    obj: &Object,
    base: &FieldPath,
    md: Option<&Node>,
    keys: &Keys,
    default_tokens: Option<&str>,
    default_hop: i64,
    max_hop: i64,
    what: &str,
) {
    let md = md.unwrap_or(Node::null());
    if text(md.get(keys.endpoint)).is_some_and(|e| e.eq_ignore_ascii_case("disabled")) {
        return;
    }
    match (text(md.get(keys.tokens)), default_tokens) {
        (Some(t), _) if t.eq_ignore_ascii_case("required") => {}
        (None, Some("required")) => {}
        (Some(t), _) => out.report(
            obj,
            base.key(keys.tokens),
            format!(
                "{what} metadata option {} is `{t}`: IMDSv1 answers without a token, so pods \
                 and SSRF bugs can read the node role's credentials",
                keys.tokens
            ),
        ),
        (None, _) => out.report(
            obj,
            base.key(keys.tokens),
            format!(
                "{what} does not set {}: EC2 then allows IMDSv1 unless the AMI or the account \
                 default requires tokens",
                keys.tokens
            ),
        ),
    }
    let hop = md.get(keys.hop).and_then(Node::as_i64);
    let effective = hop.unwrap_or(default_hop);
    if effective > max_hop {
        let how = if hop.is_some() { "is" } else { "defaults to" };
        out.report_with(
            obj,
            base.key(keys.hop),
            Severity::Medium,
            format!(
                "{what} metadata hop limit {how} {effective} (maximum {max_hop}): \
                 pods on the pod network can reach instance metadata"
            ),
        );
    }
}

fn check_eksctl(out: &mut Sink, obj: &Object, max_hop: i64) {
    for ng in eksctl_nodegroups(obj) {
        if ng.managed && ng.node.get("launchTemplate").is_some() {
            continue;
        }
        let name = ng.name();
        let flag = |k: &str| ng.node.get(k).and_then(Node::as_bool_lenient);
        let pod_imds_off = flag("disablePodIMDS") == Some(true);
        if flag("disableIMDSv1") == Some(false) && !pod_imds_off {
            out.report(
                obj,
                ng.at("disableIMDSv1"),
                format!(
                    "eksctl node group `{name}` sets disableIMDSv1: false, so its nodes answer \
                     IMDSv1 requests without a token"
                ),
            );
        }
        let hop = if pod_imds_off { 1 } else { 2 };
        if hop > max_hop {
            out.report_with(
                obj,
                ng.at("disablePodIMDS"),
                Severity::Medium,
                format!(
                    "eksctl node group `{name}` does not set disablePodIMDS: true, so eksctl sets \
                     the metadata hop limit to {hop} (maximum {max_hop}) and pods can reach \
                     instance metadata"
                ),
            );
        }
    }
}
