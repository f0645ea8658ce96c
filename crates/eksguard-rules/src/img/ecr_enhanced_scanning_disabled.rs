use eksguard_model::aws_kinds as k;
use eksguard_model::{FieldPath, Object};

use crate::aws_svc::{is, text};
use crate::{declare_rule, Ctx, ObjectRule, Sink};

declare_rule! {
    /// ## What it checks
    /// Enhanced (Amazon Inspector) scanning of the account's container images is off:
    /// an account of `inspector2 batch-get-account-status` whose
    /// `resourceState.ecr.status` is neither `ENABLED` nor `ENABLING`, or a registry
    /// scanning configuration whose `scanType` is `BASIC`.
    ///
    /// ## Why it matters
    /// Basic scanning looks at operating-system packages once, at push. Enhanced scanning
    /// also reads language packages (npm, pip, Maven, Go modules) and rescans images as
    /// new CVEs are published, and its findings are what IMG006 joins to the workloads
    /// running the images.
    ///
    /// ## Reads
    /// - CLI: `aws inspector2 batch-get-account-status`,
    ///   `aws ecr get-registry-scanning-configuration`
    /// - API: `BatchGetAccountStatus`, `GetRegistryScanningConfiguration`
    /// - Terraform: `aws_inspector2_enabler` (`resource_types` with `ECR`),
    ///   `aws_ecr_registry_scanning_configuration.scan_type`
    /// - CloudFormation: `AWS::ECR::RegistryScanningConfiguration` `ScanType`
    ///
    /// ## Example
    /// ```json
    /// {"registryId": "111122223333", "scanningConfiguration": {"scanType": "BASIC", "rules": []}}
    /// ```
    ///
    /// ## Fix
    /// `aws inspector2 enable --resource-types ECR`, or set the registry's scan type to
    /// `ENHANCED`.
    pub EcrEnhancedScanningDisabled {
        id: "IMG005",
        name: "ecr-enhanced-scanning-disabled",
        severity: Low,
        data: [Inspector, Ecr],
        scope: Objects(&[k::INSPECTOR_ACCOUNT_STATUS, k::ECR_REGISTRY_SCANNING]),
        summary: "Enhanced (Amazon Inspector) image scanning is off",
        remediation: "Enable Amazon Inspector ECR scanning (`aws inspector2 enable --resource-types ECR`) or set the registry scan type to `ENHANCED`.",
        guide: &["IM-04"],
    }
}

impl ObjectRule for EcrEnhancedScanningDisabled {
    fn check_object(&self, _cx: &Ctx<'_>, obj: &Object, out: &mut Sink) {
        if &*obj.kind == k::INSPECTOR_ACCOUNT_STATUS {
            let Some(status) = text(&obj.root, "resourceState.ecr.status") else {
                return;
            };
            if !["ENABLED", "ENABLING"]
                .iter()
                .any(|s| status.eq_ignore_ascii_case(s))
            {
                let account = text(&obj.root, "accountId").unwrap_or("the account");
                out.report(
                    obj,
                    FieldPath::parse("resourceState.ecr.status"),
                    format!("Amazon Inspector ECR scanning is {status} in account {account}"),
                );
            }
        } else if is(&obj.root, "scanningConfiguration.scanType", "BASIC") {
            let registry = text(&obj.root, "registryId")
                .map(|r| format!("registry {r}"))
                .unwrap_or_else(|| "the registry".to_string());
            out.report(
                obj,
                FieldPath::parse("scanningConfiguration.scanType"),
                format!("{registry} uses BASIC image scanning, not enhanced (Amazon Inspector) scanning"),
            );
        }
    }
}
