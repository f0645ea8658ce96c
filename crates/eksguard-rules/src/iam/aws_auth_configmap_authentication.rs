use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object, Severity};

use crate::aws_iam::{is_eks_cluster, is_eksctl, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The cluster's authentication mode (`accessConfig.authenticationMode`):
    ///
    /// - `CONFIG_MAP`: only the `aws-auth` ConfigMap maps IAM principals (medium);
    /// - `API_AND_CONFIG_MAP`: access entries and the ConfigMap both work (low);
    /// - `API`: access entries only, no finding.
    ///
    /// When the field is absent, the mode is the one the cluster was created with by
    /// default: `CONFIG_MAP` for a `describe-cluster` output (clusters created through the
    /// EKS API, CloudFormation or before access entries existed), `API_AND_CONFIG_MAP` for
    /// an eksctl `ClusterConfig` (eksctl's default).
    ///
    /// ## Why it matters
    /// The `aws-auth` ConfigMap is edited in-cluster: a typo locks everyone out, anyone who
    /// can edit it in `kube-system` can grant themselves cluster access, and its mappings
    /// are invisible to IAM and CloudTrail. Access entries are managed through the EKS API,
    /// with IAM permissions and an audit trail.
    ///
    /// ## Example
    /// ```json
    /// "accessConfig": {"authenticationMode": "CONFIG_MAP"}
    /// ```
    ///
    /// ## Fix
    /// Migrate the `aws-auth` mappings to access entries, switch to
    /// `API_AND_CONFIG_MAP`, then to `API`.
    pub AwsAuthConfigmapAuthentication {
        id: "IAM003",
        name: "aws-auth-configmap-authentication",
        severity: Medium,
        data: [Eks],
        scope: Objects(&[k::EKS_CLUSTER, "ClusterConfig"]),
        summary: "Cluster authentication still uses the aws-auth ConfigMap",
        remediation: "Migrate aws-auth mappings to EKS access entries and set the authentication mode to `API`.",
        guide: &["AM-01", "IAM-01"],
    }
}

impl ObjectRule for AwsAuthConfigmapAuthentication {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let default = if is_eks_cluster(obj) {
            "CONFIG_MAP"
        } else if is_eksctl(obj) {
            "API_AND_CONFIG_MAP"
        } else {
            return;
        };
        let given = text(&obj.root, "accessConfig.authenticationMode");
        let mode = given.as_deref().unwrap_or(default).to_ascii_uppercase();
        let how = if given.is_some() {
            ""
        } else {
            " (the default)"
        };
        let path = FieldPath::parse("accessConfig.authenticationMode");
        match mode.as_str() {
            "CONFIG_MAP" => out.report_with(
                obj,
                path,
                Severity::Medium,
                format!("authentication mode is `CONFIG_MAP`{how}: IAM access is managed only through the aws-auth ConfigMap"),
            ),
            "API_AND_CONFIG_MAP" => out.report_with(
                obj,
                path,
                Severity::Low,
                format!("authentication mode is `API_AND_CONFIG_MAP`{how}: the aws-auth ConfigMap still grants access besides access entries"),
            ),
            _ => {}
        }
    }
}
