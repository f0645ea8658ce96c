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
}
