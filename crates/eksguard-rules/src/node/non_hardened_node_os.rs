use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Node, Object, Severity};

use crate::aws_ec2::{eksctl_nodegroups, nodegroup_name, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The node operating system, from `eks describe-nodegroup` `amiType`, eksctl node
    /// groups' `amiFamily`, and Karpenter `EC2NodeClass` `spec.amiSelectorTerms[].alias`
    /// (`al2@latest`, ...) or `spec.amiFamily`. Bottlerocket and Amazon Linux 2023 pass.
    /// Amazon Linux 2 (`AL2_*`, `AmazonLinux2`, `AL2`, `al2@...`) is reported as medium: its
    /// EKS-optimized AMIs stopped at Kubernetes 1.32 and the OS reaches end of support in
    /// 2026. Anything else (Windows, Ubuntu, `CUSTOM` / `Custom` AMIs) is reported at the
    /// default severity, info, as a prompt to check the image's hardening. Unset eksctl
    /// `amiFamily` is not reported: the eksctl default depends on its release (recent ones
    /// choose Amazon Linux 2023).
    ///
    /// ## Why it matters
    /// Bottlerocket and AL2023 are built for containers: a read-only or minimal root file
    /// system, SELinux enforcing (Bottlerocket), IMDSv2 by default, and fewer packages to
    /// patch. An older general-purpose OS leaves more for an escaped container to use.
    ///
    /// ## Example
    /// `"amiType": "AL2_x86_64"` in `eks describe-nodegroup` output.
    ///
    /// ## Fix
    /// Move the node group to Bottlerocket or AL2023 (`amiType: BOTTLEROCKET_x86_64` or
    /// `AL2023_x86_64_STANDARD`; eksctl `amiFamily: Bottlerocket` / `AmazonLinux2023`;
    /// Karpenter `alias: bottlerocket@latest` / `al2023@latest`).
    pub NonHardenedNodeOs {
        id: "NODE003",
        name: "non-hardened-node-os",
        severity: Info,
        data: [Eks],
        scope: Objects(&[k::EKS_NODEGROUP, "ClusterConfig", "EC2NodeClass"]),
        summary: "Nodes run an OS other than Bottlerocket or Amazon Linux 2023",
        remediation: "Use Bottlerocket or Amazon Linux 2023 node images.",
        guide: &["HS-01"],
    }
}

enum Os {
    Hardened,
    Al2,
    Other,
}

/// Classifies the names EKS, eksctl and Karpenter use, case-insensitively.
fn classify(name: &str) -> Os {
    let n = name.to_ascii_lowercase();
    if n.starts_with("bottlerocket") || n.starts_with("al2023") || n == "amazonlinux2023" {
        Os::Hardened
    } else if n == "al2" || n.starts_with("al2_") || n == "amazonlinux2" {
        Os::Al2
    } else {
        Os::Other
    }
}

impl ObjectRule for NonHardenedNodeOs {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        match &*obj.kind {
            k::EKS_NODEGROUP => {
                if let Some(t) = text(obj.root.get("amiType")) {
                    let what = format!("node group `{}` uses AMI type {t}", nodegroup_name(obj));
                    report(out, obj, FieldPath::parse("amiType"), &t, what);
                }
            }
            "EC2NodeClass" => {
                let terms = obj
                    .root
                    .at("spec.amiSelectorTerms")
                    .map(Node::items)
                    .unwrap_or(&[]);
                for (i, term) in terms.iter().enumerate() {
                    if let Some(alias) = text(term.get("alias")) {
                        let family = alias.split('@').next().unwrap_or("").to_string();
                        let what = format!("EC2NodeClass `{}` selects AMI alias {alias}", obj.name);
                        let path = FieldPath::parse("spec.amiSelectorTerms")
                            .index(i)
                            .key("alias");
                        report(out, obj, path, &family, what);
                        return;
                    }
                }
                if let Some(f) = text(obj.root.at("spec.amiFamily")) {
                    let what = format!("EC2NodeClass `{}` uses AMI family {f}", obj.name);
                    report(out, obj, FieldPath::parse("spec.amiFamily"), &f, what);
                }
            }
            _ => {
                for ng in eksctl_nodegroups(obj) {
                    if let Some(f) = text(ng.node.get("amiFamily")) {
                        let what = format!("eksctl node group `{}` uses AMI family {f}", ng.name());
                        report(out, obj, ng.at("amiFamily"), &f, what);
                    }
                }
            }
        }
    }
}

fn report(out: &mut Sink, obj: &Object, path: FieldPath, name: &str, what: String) {
    match classify(name) {
        Os::Hardened => {}
        Os::Al2 => out.report_with(
            obj,
            path,
            Severity::Medium,
            format!(
                "{what}: Amazon Linux 2 is past its EKS AMI support; use Bottlerocket or AL2023"
            ),
        ),
        Os::Other => out.report(
            obj,
            path,
            format!("{what}, not Bottlerocket or AL2023: check the image's hardening"),
        ),
    }
}
