use eksguard_model::aws_kinds as k;
use eksguard_model::Object;

use crate::aws_svc::{clusters, text};
use crate::{declare_rule, Ctx, InventoryRule, Sink};

declare_rule! {
    /// ## What it checks
    /// The scan holds the cluster and `ec2 describe-vpc-endpoints`, and the cluster's
    /// VPC lacks an interface endpoint for `com.amazonaws.<region>.ecr.api`, one for
    /// `com.amazonaws.<region>.ecr.dkr`, or an S3 endpoint (gateway or interface,
    /// `com.amazonaws.<region>.s3`) through which image layers are pulled. Endpoints in
    /// a state other than `available` (or `pending`) do not count. Reported on the
    /// cluster, listing what is missing.
    ///
    /// ## Why it matters
    /// Without the endpoints, nodes reach ECR over the internet (through a NAT gateway);
    /// with them, image pulls stay on the AWS network and endpoint policies (IMG010) can
    /// say which registries may be pulled from. Nodes in subnets without internet access
    /// cannot pull at all.
    ///
    /// ## Reads
    /// - CLI: `aws ec2 describe-vpc-endpoints`, `aws eks describe-cluster`
    /// - API: `DescribeVpcEndpoints`
    /// - Terraform: `aws_vpc_endpoint` (`service_name`, `vpc_endpoint_type`, `vpc_id`)
    /// - CloudFormation: `AWS::EC2::VPCEndpoint` (`ServiceName`, `VpcEndpointType`, `VpcId`)
    ///
    /// ## Example
    /// ```json
    /// {"VpcEndpoints": [{"VpcId": "vpc-0a1b", "ServiceName": "com.amazonaws.eu-west-1.ecr.api",
    ///   "VpcEndpointType": "Interface", "State": "available"}]}
    /// ```
    ///
    /// ## Fix
    /// Create interface endpoints for `ecr.api` and `ecr.dkr` and a gateway endpoint for
    /// S3 in the cluster's VPC.
    pub EcrPrivateEndpointsMissing {
        id: "IMG009",
        name: "ecr-private-endpoints-missing",
        severity: Info,
        data: [Ec2, Eks],
        scope: Inventory,
        reads: &[k::EC2_VPC_ENDPOINT_LIST, k::EC2_VPC_ENDPOINT, k::EKS_CLUSTER, "ClusterConfig", k::EC2_SUBNET],
        summary: "The cluster's VPC has no private endpoints for ECR",
        remediation: "Create `ecr.api` and `ecr.dkr` interface endpoints and an S3 endpoint in the cluster VPC.",
        guide: &["IM-07"],
    }
}

/// Whether an endpoint serves (`available`, or about to).
fn usable(ep: &Object) -> bool {
    text(&ep.root, "State").is_none_or(|s| {
        ["available", "pending", "pendingacceptance"]
            .iter()
            .any(|ok| s.eq_ignore_ascii_case(ok))
    })
}

impl InventoryRule for EcrPrivateEndpointsMissing {
    fn check_inventory(&self, cx: &Ctx<'_>, out: &mut Sink) {
        // The endpoint list must be in the scan (from the CLI, or declared as code).
        let endpoints: Vec<&Object> = cx.objects_of(k::EC2_VPC_ENDPOINT).collect();
        if cx.objects_of(k::EC2_VPC_ENDPOINT_LIST).next().is_none() && endpoints.is_empty() {
            return;
        }
        for c in clusters(cx) {
            let Some(vpc) = c.vpc_id.as_deref() else {
                continue;
            };
            let mine: Vec<(String, bool)> = endpoints
                .iter()
                .filter(|e| text(&e.root, "VpcId") == Some(vpc) && usable(e))
                .filter_map(|e| {
                    let service = text(&e.root, "ServiceName")?;
                    let interface = text(&e.root, "VpcEndpointType")
                        .is_none_or(|t| t.eq_ignore_ascii_case("Interface"));
                    Some((service.to_string(), interface))
                })
                .collect();
            let has = |suffix: &str, interface_only: bool| {
                mine.iter()
                    .any(|(s, i)| s.ends_with(suffix) && (*i || !interface_only))
            };
            let mut missing = Vec::new();
            if !has(".ecr.api", true) {
                missing.push("`ecr.api` (interface)");
            }
            if !has(".ecr.dkr", true) {
                missing.push("`ecr.dkr` (interface)");
            }
            if !has(".s3", false) {
                missing.push("`s3`");
            }
            if !missing.is_empty() {
                out.report(
                    c.obj,
                    c.vpc_path.clone(),
                    format!(
                        "VPC {vpc} of cluster {} has no endpoint for {}: image pulls leave the AWS network",
                        c.name,
                        missing.join(", ")
                    ),
                );
            }
        }
    }
}
