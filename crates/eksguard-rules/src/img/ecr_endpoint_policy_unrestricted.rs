use std::collections::BTreeSet;

use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use super::ecr::{anyone, limits_caller};
use crate::aws_iam::statements;
use crate::aws_svc::{clusters, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

/// Condition keys that tie an endpoint policy to an account or organisation.
const ACCOUNT_KEYS: &[&str] = &[
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
];

declare_rule! {
    /// ## What it checks
    /// ECR interface endpoints (`…ecr.api`, `…ecr.dkr`) in the cluster's VPC whose
    /// `PolicyDocument` allows every principal (`*`) `Action` `*` or `ecr:*` with no
    /// condition on the principal's or the resource's account or organisation
    /// (`aws:PrincipalAccount`, `aws:PrincipalOrgID`, `aws:ResourceAccount`,
    /// `aws:ResourceOrgID`): the default full-access policy. Endpoints of other VPCs,
    /// and scans without a cluster, are not judged.
    ///
    /// ## Why it matters
    /// The endpoint is the one path from the nodes to ECR; a policy on it decides which
    /// registries they may pull from and push to. The default lets a compromised pod
    /// push the cluster's data to an attacker's registry in another account, or pull
    /// from one.
    ///
    /// ## Reads
    /// - CLI: `aws ec2 describe-vpc-endpoints` (`PolicyDocument`), `aws eks describe-cluster`
    /// - API: `DescribeVpcEndpoints`
    /// - Terraform: `aws_vpc_endpoint.policy`
    /// - CloudFormation: `AWS::EC2::VPCEndpoint` `PolicyDocument`
    ///
    /// ## Example
    /// ```json
    /// {"VpcEndpointId": "vpce-0001", "VpcId": "vpc-0a1b", "ServiceName": "com.amazonaws.eu-west-1.ecr.dkr",
    ///  "PolicyDocument": "{\"Statement\":[{\"Action\":\"*\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"*\"}]}"}
    /// ```
    ///
    /// ## Fix
    /// Replace the default policy with one that allows the ECR actions the nodes need on
    /// your accounts' repositories (`aws:ResourceAccount` or `aws:ResourceOrgID`).
    pub EcrEndpointPolicyUnrestricted {
        id: "IMG010",
        name: "ecr-endpoint-policy-unrestricted",
        severity: Low,
        data: [Ec2],
        scope: Objects(&[k::EC2_VPC_ENDPOINT]),
        reads: &[k::EKS_CLUSTER, "ClusterConfig", k::EC2_SUBNET],
        summary: "An ECR VPC endpoint keeps the default full-access policy",
        remediation: "Limit the endpoint policy to your accounts' or organisation's repositories.",
        guide: &["IM-08"],
    }
}

impl ObjectRule for EcrEndpointPolicyUnrestricted {
    fn check_object(&self, cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let service = text(&obj.root, "ServiceName").unwrap_or("");
        if !(service.ends_with(".ecr.api") || service.ends_with(".ecr.dkr")) {
            return;
        }
        let vpcs: BTreeSet<String> = clusters(cx).into_iter().filter_map(|c| c.vpc_id).collect();
        if !text(&obj.root, "VpcId").is_some_and(|v| vpcs.contains(v)) {
            return;
        }
        let Some(doc) = obj.root.get("PolicyDocument").filter(|d| d.is_map()) else {
            return;
        };
        for st in statements(doc, &FieldPath::root().key("PolicyDocument")) {
            let full = st
                .actions()
                .iter()
                .any(|a| a.pattern == "*" || a.pattern.eq_ignore_ascii_case("ecr:*"));
            if st.is_allow() && anyone(&st) && full && !limits_caller(&st, ACCOUNT_KEYS) {
                let id = text(&obj.root, "VpcEndpointId").unwrap_or(&obj.name);
                out.report(
                    obj,
                    st.action_path(),
                    format!("ECR endpoint {id} ({service}) allows any principal every ECR action on any registry"),
                );
            }
        }
    }
}
