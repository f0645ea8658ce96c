//! The kinds and API versions of the AWS security-service outputs (GuardDuty, Amazon
//! Inspector, ECR, KMS, CloudTrail, EFS, ACM Private CA, and the EC2 network outputs
//! beyond security groups). Readers of CLI JSON, live API answers and infrastructure as
//! code build objects of these kinds in the AWS CLI v2 shape, so rules read one shape
//! whatever the input.

pub const GUARDDUTY: &str = "aws:guardduty";
pub const INSPECTOR2: &str = "aws:inspector2";
pub const ECR: &str = "aws:ecr";
pub const KMS: &str = "aws:kms";
pub const CLOUDTRAIL: &str = "aws:cloudtrail";
pub const EC2: &str = "aws:ec2";
pub const EFS: &str = "aws:efs";
pub const ACM_PCA: &str = "aws:acm-pca";

/// `guardduty list-detectors`: the whole output (an empty `DetectorIds` is GuardDuty off).
pub const GUARDDUTY_DETECTOR_LIST: &str = "GuardDutyDetectorList";
/// `guardduty get-detector`.
pub const GUARDDUTY_DETECTOR: &str = "GuardDutyDetector";
/// One `Resources` item of `guardduty list-coverage`.
pub const GUARDDUTY_COVERAGE: &str = "GuardDutyCoverage";
/// One `accounts` item of `inspector2 batch-get-account-status`.
pub const INSPECTOR_ACCOUNT_STATUS: &str = "InspectorAccountStatus";
/// One `coveredResources` item of `inspector2 list-coverage`.
pub const INSPECTOR_COVERAGE: &str = "InspectorCoverage";
/// One `findings` item of `inspector2 list-findings`.
pub const INSPECTOR_FINDING: &str = "InspectorFinding";
/// One `repositories` item of `ecr describe-repositories`.
pub const ECR_REPOSITORY: &str = "ECRRepository";
/// `ecr get-registry-scanning-configuration`.
pub const ECR_REGISTRY_SCANNING: &str = "ECRRegistryScanningConfiguration";
/// `ecr get-repository-policy`, `policyText` parsed.
pub const ECR_REPOSITORY_POLICY: &str = "ECRRepositoryPolicy";
/// `ecr get-lifecycle-policy`: present only where a policy exists.
pub const ECR_LIFECYCLE_POLICY: &str = "ECRLifecyclePolicy";
/// `kms describe-key` (`KeyMetadata`).
pub const KMS_KEY: &str = "KMSKey";
/// `kms get-key-rotation-status`.
pub const KMS_KEY_ROTATION: &str = "KMSKeyRotationStatus";
/// One `Aliases` item of `kms list-aliases`.
pub const KMS_ALIAS: &str = "KMSAlias";
/// `cloudtrail describe-trails`: the whole output (an empty `trailList` is data).
pub const CLOUDTRAIL_TRAIL_LIST: &str = "CloudTrailTrailList";
/// One `trailList` item of `cloudtrail describe-trails`.
pub const CLOUDTRAIL_TRAIL: &str = "CloudTrailTrail";
/// `cloudtrail get-trail-status` (it does not name its trail).
pub const CLOUDTRAIL_TRAIL_STATUS: &str = "CloudTrailTrailStatus";
/// `cloudtrail get-event-selectors`.
pub const CLOUDTRAIL_EVENT_SELECTORS: &str = "CloudTrailEventSelectors";
/// `cloudtrail get-insight-selectors`.
pub const CLOUDTRAIL_INSIGHT_SELECTORS: &str = "CloudTrailInsightSelectors";
/// `ec2 describe-flow-logs`: the whole output (an empty `FlowLogs` is data).
pub const EC2_FLOW_LOG_LIST: &str = "EC2FlowLogList";
/// One `FlowLogs` item of `ec2 describe-flow-logs`.
pub const EC2_FLOW_LOG: &str = "EC2FlowLog";
/// `ec2 describe-vpc-endpoints`: the whole output.
pub const EC2_VPC_ENDPOINT_LIST: &str = "EC2VpcEndpointList";
/// One `VpcEndpoints` item, `PolicyDocument` parsed.
pub const EC2_VPC_ENDPOINT: &str = "EC2VpcEndpoint";
/// One `InstanceTypes` item of `ec2 describe-instance-types`.
pub const EC2_INSTANCE_TYPE: &str = "EC2InstanceType";
/// One instance of `ec2 describe-instances`.
pub const EC2_INSTANCE: &str = "EC2Instance";
/// One `FileSystems` item of `efs describe-file-systems`.
pub const EFS_FILE_SYSTEM: &str = "EFSFileSystem";
/// One `AccessPoints` item of `efs describe-access-points`.
pub const EFS_ACCESS_POINT: &str = "EFSAccessPoint";
/// `acm-pca describe-certificate-authority` (`CertificateAuthority`).
pub const ACMPCA_CA: &str = "ACMPCACertificateAuthority";

/// `eks describe-cluster` (`cluster`).
pub const EKS_CLUSTER: &str = "EKSCluster";
/// `eks describe-nodegroup` (`nodegroup`).
pub const EKS_NODEGROUP: &str = "EKSNodegroup";
/// `eks describe-addon` (`addon`).
pub const EKS_ADDON: &str = "EKSAddon";
/// `eks list-addons`: the whole output (an empty `addons` is data).
pub const EKS_ADDON_LIST: &str = "EKSAddonList";
/// `eks describe-access-entry` (`accessEntry`).
pub const EKS_ACCESS_ENTRY: &str = "EKSAccessEntry";
/// `eks list-associated-access-policies`.
pub const EKS_ACCESS_POLICIES: &str = "EKSAccessPolicies";
/// `eks describe-pod-identity-association` (`association`).
pub const EKS_POD_IDENTITY_ASSOCIATION: &str = "EKSPodIdentityAssociation";
/// `eks describe-identity-provider-config`.
pub const EKS_IDENTITY_PROVIDER_CONFIG: &str = "EKSIdentityProviderConfig";
/// `iam get-role` (`Role`), trust policy parsed.
pub const IAM_ROLE: &str = "IAMRole";
/// `iam get-role-policy`: one inline policy of a role.
pub const IAM_ROLE_POLICY: &str = "IAMRolePolicy";
/// `iam list-attached-role-policies`.
pub const IAM_ATTACHED_POLICIES: &str = "IAMAttachedPolicies";
/// A bare IAM policy document (a trust policy written out on its own).
pub const IAM_POLICY_DOCUMENT: &str = "IAMPolicyDocument";
/// One `UserDetailList` item of `iam get-account-authorization-details`.
pub const IAM_USER: &str = "IAMUser";
/// One `GroupDetailList` item of `iam get-account-authorization-details`.
pub const IAM_GROUP: &str = "IAMGroup";
/// One `Policies` item of `iam get-account-authorization-details`.
pub const IAM_MANAGED_POLICY: &str = "IAMManagedPolicy";
/// One `AccessKeyMetadata` item of `iam list-access-keys`.
pub const IAM_ACCESS_KEY: &str = "IAMAccessKey";
/// One `SecurityGroups` item of `ec2 describe-security-groups`.
pub const EC2_SECURITY_GROUP: &str = "EC2SecurityGroup";
/// One `Subnets` item of `ec2 describe-subnets`.
pub const EC2_SUBNET: &str = "EC2Subnet";
/// One `LaunchTemplateVersions` item of `ec2 describe-launch-template-versions`.
pub const EC2_LAUNCH_TEMPLATE_VERSION: &str = "EC2LaunchTemplateVersion";
/// One `Events` item of `cloudtrail lookup-events`, `CloudTrailEvent` parsed.
pub const CLOUDTRAIL_EVENT: &str = "CloudTrailEvent";
/// One `Features` item of `guardduty get-detector`.
pub const GUARDDUTY_DETECTOR_FEATURE: &str = "GuardDutyDetectorFeature";

/// Every AWS kind, with the name of its constant: the one place these strings are
/// written (a test keeps literals of them out of the rest of the source).
pub const ALL: &[(&str, &str)] = &[
    ("GUARDDUTY_DETECTOR_LIST", GUARDDUTY_DETECTOR_LIST),
    ("GUARDDUTY_DETECTOR", GUARDDUTY_DETECTOR),
    ("GUARDDUTY_COVERAGE", GUARDDUTY_COVERAGE),
    ("INSPECTOR_ACCOUNT_STATUS", INSPECTOR_ACCOUNT_STATUS),
    ("INSPECTOR_COVERAGE", INSPECTOR_COVERAGE),
    ("INSPECTOR_FINDING", INSPECTOR_FINDING),
    ("ECR_REPOSITORY", ECR_REPOSITORY),
    ("ECR_REGISTRY_SCANNING", ECR_REGISTRY_SCANNING),
    ("ECR_REPOSITORY_POLICY", ECR_REPOSITORY_POLICY),
    ("ECR_LIFECYCLE_POLICY", ECR_LIFECYCLE_POLICY),
    ("KMS_KEY", KMS_KEY),
    ("KMS_KEY_ROTATION", KMS_KEY_ROTATION),
    ("KMS_ALIAS", KMS_ALIAS),
    ("CLOUDTRAIL_TRAIL_LIST", CLOUDTRAIL_TRAIL_LIST),
    ("CLOUDTRAIL_TRAIL", CLOUDTRAIL_TRAIL),
    ("CLOUDTRAIL_TRAIL_STATUS", CLOUDTRAIL_TRAIL_STATUS),
    ("CLOUDTRAIL_EVENT_SELECTORS", CLOUDTRAIL_EVENT_SELECTORS),
    ("CLOUDTRAIL_INSIGHT_SELECTORS", CLOUDTRAIL_INSIGHT_SELECTORS),
    ("EC2_FLOW_LOG_LIST", EC2_FLOW_LOG_LIST),
    ("EC2_FLOW_LOG", EC2_FLOW_LOG),
    ("EC2_VPC_ENDPOINT_LIST", EC2_VPC_ENDPOINT_LIST),
    ("EC2_VPC_ENDPOINT", EC2_VPC_ENDPOINT),
    ("EC2_INSTANCE_TYPE", EC2_INSTANCE_TYPE),
    ("EC2_INSTANCE", EC2_INSTANCE),
    ("EFS_FILE_SYSTEM", EFS_FILE_SYSTEM),
    ("EFS_ACCESS_POINT", EFS_ACCESS_POINT),
    ("ACMPCA_CA", ACMPCA_CA),
    ("EKS_CLUSTER", EKS_CLUSTER),
    ("EKS_NODEGROUP", EKS_NODEGROUP),
    ("EKS_ADDON", EKS_ADDON),
    ("EKS_ADDON_LIST", EKS_ADDON_LIST),
    ("EKS_ACCESS_ENTRY", EKS_ACCESS_ENTRY),
    ("EKS_ACCESS_POLICIES", EKS_ACCESS_POLICIES),
    ("EKS_POD_IDENTITY_ASSOCIATION", EKS_POD_IDENTITY_ASSOCIATION),
    ("EKS_IDENTITY_PROVIDER_CONFIG", EKS_IDENTITY_PROVIDER_CONFIG),
    ("IAM_ROLE", IAM_ROLE),
    ("IAM_ROLE_POLICY", IAM_ROLE_POLICY),
    ("IAM_ATTACHED_POLICIES", IAM_ATTACHED_POLICIES),
    ("IAM_POLICY_DOCUMENT", IAM_POLICY_DOCUMENT),
    ("IAM_USER", IAM_USER),
    ("IAM_GROUP", IAM_GROUP),
    ("IAM_MANAGED_POLICY", IAM_MANAGED_POLICY),
    ("IAM_ACCESS_KEY", IAM_ACCESS_KEY),
    ("EC2_SECURITY_GROUP", EC2_SECURITY_GROUP),
    ("EC2_SUBNET", EC2_SUBNET),
    ("EC2_LAUNCH_TEMPLATE_VERSION", EC2_LAUNCH_TEMPLATE_VERSION),
    ("CLOUDTRAIL_EVENT", CLOUDTRAIL_EVENT),
    ("GUARDDUTY_DETECTOR_FEATURE", GUARDDUTY_DETECTOR_FEATURE),
];

/// The tag keys that name a node's cluster: `eks:cluster-name` and `aws:eks:cluster-name`
/// carry the name as value; `kubernetes.io/cluster/<name>` carries it in the key.
pub fn node_tag_cluster<'a>(key: &'a str, value: &'a str) -> Option<&'a str> {
    match key {
        "eks:cluster-name" | "aws:eks:cluster-name" => Some(value).filter(|v| !v.is_empty()),
        _ => key
            .strip_prefix("kubernetes.io/cluster/")
            .filter(|n| !n.is_empty()),
    }
}

/// The instance ID of a Kubernetes `Node`'s `spec.providerID` (`aws:///eu-west-1a/i-0abc`).
pub fn provider_instance_id(provider_id: &str) -> Option<&str> {
    let rest = provider_id.strip_prefix("aws://")?;
    let id = rest.rsplit('/').next()?;
    id.starts_with("i-").then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_tags_and_provider_ids() {
        assert_eq!(node_tag_cluster("eks:cluster-name", "prod"), Some("prod"));
        assert_eq!(
            node_tag_cluster("kubernetes.io/cluster/prod", "owned"),
            Some("prod")
        );
        assert_eq!(node_tag_cluster("Name", "prod"), None);
        assert_eq!(
            provider_instance_id("aws:///eu-west-1a/i-0abc"),
            Some("i-0abc")
        );
        assert_eq!(provider_instance_id("kind://docker/x"), None);
    }

    /// Every `.rs` file under `dir`.
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// No AWS kind is spelled out as a string outside this module, in any crate's
    /// library code: test modules and comments may, and so may the places where the
    /// same word is a field of CloudTrail's JSON rather than a kind.
    #[test]
    fn aws_kind_literals_live_here_alone() {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for c in std::fs::read_dir(&crates).unwrap().flatten() {
            let src = c.path().join("src");
            if src.is_dir() {
                rust_files(&src, &mut files);
            }
        }
        assert!(files.len() > 100, "{} files", files.len());
        let not_kinds = [
            ".get(\"CloudTrailEvent\")",
            "decode_policy_field(&mut n, \"CloudTrailEvent\")",
            "\"IAMUser\" => Some(format!",
        ];
        let mut found = Vec::new();
        for f in files {
            if f.ends_with("aws_kinds.rs") || f.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, line) in text.lines().enumerate() {
                if line.starts_with("#[cfg(test)]") {
                    break;
                }
                let code = line.trim_start();
                if code.starts_with("//") || not_kinds.iter().any(|n| line.contains(n)) {
                    continue;
                }
                for (_, kind) in ALL {
                    if line.contains(&format!("\"{kind}\"")) {
                        found.push(format!("{}:{}: {kind}", f.display(), i + 1));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "AWS kinds spelled out:\n{}",
            found.join("\n")
        );
    }

    #[test]
    fn every_kind_is_listed_once() {
        let mut names: Vec<&str> = ALL.iter().map(|(_, k)| *k).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }
}
