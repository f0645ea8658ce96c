use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use crate::aws_svc::text;
use crate::{declare_rule, Ctx, ObjectRule, Sink};

/// States in which Inspector scans, or is about to.
const ON: &[&str] = &["ENABLED", "ENABLING"];

declare_rule! {
    /// ## What it checks
    /// An account of `inspector2 batch-get-account-status` whose `state.status` or
    /// `resourceState.ec2.status` is neither `ENABLED` nor `ENABLING` (`DISABLED`,
    /// `DISABLING`, `SUSPENDED`, `SUSPENDING`). In Terraform, an `aws_inspector2_enabler`
    /// whose `resource_types` lack `EC2`, or `aws_inspector2_organization_configuration`
    /// with `auto_enable.ec2 = false`. CloudFormation has no resource that enables
    /// Inspector.
    ///
    /// ## Why it matters
    /// The guide asks for Amazon Inspector on worker nodes: it finds the operating-system
    /// and package vulnerabilities of every instance continuously, as new CVEs appear,
    /// with no scanner to run.
    ///
    /// ## Reads
    /// - CLI: `aws inspector2 batch-get-account-status`
    /// - API: `BatchGetAccountStatus`
    /// - Terraform: `aws_inspector2_enabler` (`resource_types`),
    ///   `aws_inspector2_organization_configuration` (`auto_enable.ec2`)
    ///
    /// ## Example
    /// ```json
    /// {"accounts": [{"accountId": "111122223333", "state": {"status": "ENABLED"},
    ///   "resourceState": {"ec2": {"status": "DISABLED"}, "ecr": {"status": "ENABLED"}}}]}
    /// ```
    ///
    /// ## Fix
    /// `aws inspector2 enable --resource-types EC2` (with ECR, for IMG005), in every
    /// account and region with clusters.
    pub InspectorEc2ScanningDisabled {
        id: "NODE014",
        name: "inspector-ec2-scanning-disabled",
        severity: Medium,
        data: [Inspector],
        scope: Objects(&[k::INSPECTOR_ACCOUNT_STATUS]),
        summary: "Amazon Inspector does not scan the account's EC2 instances",
        remediation: "Enable Amazon Inspector EC2 scanning (`aws inspector2 enable --resource-types EC2`).",
        guide: &["HS-08"],
    }
}

impl ObjectRule for InspectorEc2ScanningDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        let account = text(&obj.root, "accountId").unwrap_or("the account");
        for (field, what) in [
            ("state.status", "Amazon Inspector"),
            ("resourceState.ec2.status", "Amazon Inspector EC2 scanning"),
        ] {
            let Some(status) = text(&obj.root, field) else {
                continue;
            };
            if !ON.iter().any(|s| status.eq_ignore_ascii_case(s)) {
                out.report(
                    obj,
                    FieldPath::parse(field),
                    format!("{what} is {status} in account {account}: worker nodes are not scanned for vulnerabilities"),
                );
                return;
            }
        }
    }
}
