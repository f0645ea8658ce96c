//! Live reads of one EKS cluster and the IAM and EC2 resources around it, with the default
//! credential chain of the AWS SDK's configuration loader: EKS and IAM through
//! [`crate::aws_api`], EC2 through [`crate::ec2_query`], all over [`crate::aws_request`].
//!
//! Each output is rewritten as the JSON the AWS CLI prints for the same call (same
//! wrapper and field names, policy documents decoded) and handed to
//! [`eksguard_load::aws_json::classify`], so a live object is the object a saved CLI output would
//! give, with [`eksguard_model::Source::Live`]. A call that fails (after its retries) becomes an [`eksguard_model::InputError`] naming the call, the resource and
//! the rules left without data; the other calls go on.
//!
//! `fetch` makes the requests (paging, the concurrency limit, EC2's per-ID retry of a
//! call that names a deleted resource); `convert` turns each response into CLI JSON.

mod convert;
mod fetch;
pub mod services;

use eksguard_model::aws_kinds as k;
use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use eksguard_model::Inventory;

/// What to read and how to reach it.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub cluster_name: String,
    /// Overrides the region of the credential chain (environment, profile).
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Every client talks to this endpoint instead of AWS (an AWS-compatible server).
    pub endpoint_url: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The rules that read each kind, named when a call that provides the kind fails.
    pub rules_by_kind: BTreeMap<String, Vec<String>>,
}

impl LiveOptions {
    pub fn new(cluster_name: impl Into<String>) -> Self {
        LiveOptions {
            cluster_name: cluster_name.into(),
            region: None,
            profile: None,
            endpoint_url: None,
            concurrency: 16,
            rules_by_kind: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("no AWS region: pass --region, set AWS_REGION or configure one in the profile")]
    NoRegion,
}

// The kinds of objects each call provides, with those read only through its answer (a
// node group's launch template, subnets and role policies; an access entry's policies).
// A failed call names the rules that read them, from the rules' own declarations passed
// in as `rules_by_kind`.
const CLUSTER_KINDS: &[&str] = &[k::EKS_CLUSTER];
const NODEGROUP_KINDS: &[&str] = &[
    k::EKS_NODEGROUP,
    k::EC2_LAUNCH_TEMPLATE_VERSION,
    k::EC2_SUBNET,
    k::IAM_ATTACHED_POLICIES,
    k::IAM_ROLE_POLICY,
];
const ACCESS_ENTRY_KINDS: &[&str] = &[k::EKS_ACCESS_ENTRY, k::EKS_ACCESS_POLICIES];
const ACCESS_POLICY_KINDS: &[&str] = &[k::EKS_ACCESS_POLICIES];
const POD_IDENTITY_KINDS: &[&str] = &[k::EKS_POD_IDENTITY_ASSOCIATION];
const ADDON_KINDS: &[&str] = &[k::EKS_ADDON];
const ROLE_KINDS: &[&str] = &[k::IAM_ROLE];
const ATTACHED_POLICY_KINDS: &[&str] = &[k::IAM_ATTACHED_POLICIES];
const ROLE_POLICY_KINDS: &[&str] = &[k::IAM_ROLE_POLICY];
const POLICY_KINDS: &[&str] = &[k::IAM_POLICY_DOCUMENT];
const SG_KINDS: &[&str] = &[k::EC2_SECURITY_GROUP];
const LAUNCH_TEMPLATE_KINDS: &[&str] = &[k::EC2_LAUNCH_TEMPLATE_VERSION];
const SUBNET_KINDS: &[&str] = &[k::EC2_SUBNET];

/// Every kind a live AWS read produces.
pub fn kinds_read() -> &'static [&'static str] {
    &[
        k::EKS_CLUSTER,
        k::EKS_NODEGROUP,
        k::EKS_ACCESS_ENTRY,
        k::EKS_ACCESS_POLICIES,
        k::EKS_POD_IDENTITY_ASSOCIATION,
        k::EKS_ADDON,
        k::IAM_ROLE,
        k::IAM_ATTACHED_POLICIES,
        k::IAM_ROLE_POLICY,
        k::IAM_POLICY_DOCUMENT,
        k::IAM_ACCESS_KEY,
        k::EC2_SECURITY_GROUP,
        k::EC2_LAUNCH_TEMPLATE_VERSION,
        k::EC2_SUBNET,
        k::ECR_REPOSITORY,
        k::ECR_REGISTRY_SCANNING,
        k::ECR_REPOSITORY_POLICY,
        k::ECR_LIFECYCLE_POLICY,
        k::KMS_KEY,
        k::KMS_KEY_ROTATION,
        k::KMS_ALIAS,
        k::CLOUDTRAIL_TRAIL_LIST,
        k::CLOUDTRAIL_TRAIL,
        k::CLOUDTRAIL_TRAIL_STATUS,
        k::CLOUDTRAIL_EVENT_SELECTORS,
        k::CLOUDTRAIL_INSIGHT_SELECTORS,
        k::GUARDDUTY_DETECTOR_LIST,
        k::GUARDDUTY_DETECTOR,
        k::GUARDDUTY_COVERAGE,
        k::INSPECTOR_ACCOUNT_STATUS,
        k::INSPECTOR_COVERAGE,
        k::INSPECTOR_FINDING,
        k::EFS_FILE_SYSTEM,
        k::EFS_ACCESS_POINT,
        k::ACMPCA_CA,
        k::EC2_FLOW_LOG_LIST,
        k::EC2_FLOW_LOG,
        k::EC2_VPC_ENDPOINT_LIST,
        k::EC2_VPC_ENDPOINT,
        k::EC2_INSTANCE_TYPE,
    ]
}

/// Reads the cluster and everything the E, I and C rules look at. Failed calls are in
/// `errors` of the inventory; only a runtime that cannot start or a missing region is an
/// `Err`.
pub fn read_cluster(opts: &LiveOptions) -> Result<Inventory, LiveError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(read(opts))
}

async fn read(opts: &LiveOptions) -> Result<Inventory, LiveError> {
    let conf = sdk_config(
        opts.region.as_deref(),
        opts.profile.as_deref(),
        opts.endpoint_url.as_deref(),
    )
    .await?;
    Ok(read_with_config(&conf, opts).await)
}

/// [`read_cluster`] with a configuration of the caller's (an assumed role's credentials,
/// a region of a fleet), on the caller's runtime; `opts`' region, profile and endpoint are
/// not used.
pub async fn read_with_config(conf: &aws_config::SdkConfig, opts: &LiveOptions) -> Inventory {
    let (mut objects, errors) = fetch::fetch(conf, opts).await;
    objects.sort_by(|a, b| {
        (&a.api_version, &a.kind, &a.name).cmp(&(&b.api_version, &b.kind, &b.name))
    });
    let mut inv = Inventory::default();
    for o in objects {
        inv.push(o);
    }
    inv.errors = errors;
    // Calls finish in any order; reports should not.
    inv.errors
        .sort_by(|a, b| (&a.file, &a.message).cmp(&(&b.file, &b.message)));
    inv
}

/// The SDK configuration every live reader shares: the default credential chain, rustls
/// with ring, bounded timeouts, and the overrides of the command line.
pub(crate) async fn sdk_config(
    region: Option<&str>,
    profile: Option<&str>,
    endpoint_url: Option<&str>,
) -> Result<aws_config::SdkConfig, LiveError> {
    // rustls with ring: the SDK's default client would build aws-lc from C sources.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    // The SDK sets no read timeout by default: an endpoint that accepts and never answers
    // would hold the scan forever.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .timeout_config(timeouts);
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let conf = loader.load().await;
    if conf.region().is_none() {
        return Err(LiveError::NoRegion);
    }
    Ok(conf)
}
