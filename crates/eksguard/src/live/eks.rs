//! One EKS cluster read with nothing but AWS credentials: the AWS side through the EKS,
//! IAM and EC2 APIs, the Kubernetes API at the endpoint `DescribeCluster` gives, with an
//! EKS token signed from the credentials.
//!
//! For tests only, `EKSGUARD_TEST_EKS_API_ENDPOINTS` (`NAME=URL,…`, keyed by cluster name
//! or ARN) replaces the API server address of the clusters it names and drops their CA,
//! so a test can serve the Kubernetes API over plain HTTP on a local port.

use anyhow::bail;
use eksguard_live::aws_live::{self, LiveOptions};
use eksguard_live::eks_token::{describe_endpoint, TokenSource};
use eksguard_live::fleet_aws;
use eksguard_live::kube_live::{self, DirectApi, KubeOptions};
use eksguard_model::{InputError, Inventory};
use eksguard_report::fleet::ReadStatus;

use super::rules_by_kind;

const ENDPOINT_OVERRIDE: &str = "EKSGUARD_TEST_EKS_API_ENDPOINTS";

/// How each cluster is read.
#[derive(Debug, Clone)]
pub struct ReadSettings {
    pub aws_only: bool,
    /// Requests in flight within one cluster.
    pub concurrency: usize,
    pub request_timeout: std::time::Duration,
    pub max_response_bytes: u64,
    /// A progress bar of the Kubernetes read (one cluster only).
    pub progress: bool,
    /// Read namespaced kinds only in this namespace (one cluster only).
    pub namespace: Option<String>,
}

/// One cluster read: its objects, how far it was read and why not further.
pub struct EksRead {
    pub inv: Inventory,
    pub status: ReadStatus,
    pub reason: Option<String>,
    pub arn: Option<String>,
}

/// Reads one cluster with the credentials and region of `conf`: the AWS side, and
/// (unless `aws_only`) the Kubernetes API through an EKS token. `principal` is the IAM
/// principal the token stands for, named when the cluster does not know it.
pub async fn read_eks(
    conf: &fleet_aws::SdkConfig,
    name: &str,
    region: &str,
    principal: Option<&str>,
    settings: &ReadSettings,
) -> EksRead {
    let endpoint = match describe_endpoint(conf, name).await {
        Ok(e) => e,
        Err(reason) => {
            let mut inv = Inventory::default();
            inv.errors.push(InputError::new(
                format!("cluster/{name}"),
                None,
                reason.clone(),
            ));
            return EksRead {
                inv,
                status: ReadStatus::NotRead,
                reason: Some(reason),
                arn: None,
            };
        }
    };
    let mut live = LiveOptions::new(name);
    live.concurrency = settings.concurrency;
    live.rules_by_kind = rules_by_kind(aws_live::kinds_read().iter().copied());
    let aws_side = aws_live::read_with_config(conf, &live);
    let kube_side = async {
        if settings.aws_only {
            return None;
        }
        Some(read_kube(conf, name, region, principal, &endpoint, settings).await)
    };
    let (mut inv, kube) = tokio::join!(aws_side, kube_side);
    let (status, reason) = match kube {
        None => (ReadStatus::AwsOnly, None),
        Some(Ok((k, true))) => {
            inv.extend(k);
            (ReadStatus::Full, None)
        }
        Some(Ok((k, false))) => {
            let reason = k
                .errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_else(|| "the Kubernetes API did not answer".into());
            inv.extend(k);
            (ReadStatus::AwsOnly, Some(reason))
        }
        Some(Err(e)) => {
            let reason = format!("{e:#}");
            inv.errors.push(InputError::new(
                format!("kubernetes {name}"),
                None,
                reason.clone(),
            ));
            (ReadStatus::AwsOnly, Some(reason))
        }
    };
    EksRead {
        inv,
        status,
        reason,
        arn: endpoint.arn,
    }
}

/// The Kubernetes side: objects, and whether discovery answered.
async fn read_kube(
    conf: &fleet_aws::SdkConfig,
    name: &str,
    region: &str,
    principal: Option<&str>,
    endpoint: &eksguard_live::eks_token::ApiEndpoint,
    settings: &ReadSettings,
) -> anyhow::Result<(Inventory, bool)> {
    let Some(provider) = conf.credentials_provider() else {
        bail!("no AWS credentials to sign an EKS token with");
    };
    let source = TokenSource::new(name, region, provider);
    let overridden = endpoint_override(endpoint.arn.as_deref(), name);
    let (server, ca_data) = match overridden {
        Some(url) => (url, None),
        None => (endpoint.server.clone(), endpoint.ca_data.clone()),
    };
    let who = principal.map(|p| format!(" ({p})")).unwrap_or_default();
    let principal_arn = principal.unwrap_or("ARN");
    let unauthorized = format!(
        "this identity{who} is not mapped in cluster {name}: add an access entry \
         (aws eks create-access-entry --cluster-name {name} --principal-arn {principal_arn}, \
         then aws eks associate-access-policy --cluster-name {name} --principal-arn \
         {principal_arn} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy \
         --access-scope type=cluster) or an aws-auth mapping, or scan with --aws-only"
    );
    let api = DirectApi {
        server,
        ca_data,
        bearer: &source,
        unauthorized,
    };
    let opts = KubeOptions {
        concurrency: settings.concurrency,
        timeout: settings.request_timeout,
        max_response_bytes: settings.max_response_bytes,
        progress: settings.progress,
        namespace: settings.namespace.clone(),
        rules_by_kind: rules_by_kind(kube_live::kinds_read()),
        ..KubeOptions::default()
    };
    let (mut inv, info) = kube_live::read_direct(&opts, &api).await?;
    if !info.reached && !endpoint.public {
        for e in &mut inv.errors {
            e.message.push_str(
                " (the endpoint is private: scan from a network that reaches the cluster's VPC)",
            );
        }
    }
    Ok((inv, info.reached))
}

/// The test-only replacement of a cluster's API server address.
fn endpoint_override(arn: Option<&str>, name: &str) -> Option<String> {
    let value = std::env::var(ENDPOINT_OVERRIDE).ok()?;
    value.split(',').find_map(|pair| {
        let (key, url) = pair.rsplit_once('=')?;
        (Some(key) == arn || key == name).then(|| url.to_string())
    })
}

/// The IAM principal behind an STS identity: an assumed role's session is its role
/// (`arn:aws:sts::1:assumed-role/R/s` → `arn:aws:iam::1:role/R`), which is what an
/// access entry names.
pub fn principal_of(arn: &str) -> String {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    if let [_, partition, "sts", _, account, resource] = parts.as_slice() {
        if let Some(rest) = resource.strip_prefix("assumed-role/") {
            let role = rest.split('/').next().unwrap_or(rest);
            return format!("arn:{partition}:iam::{account}:role/{role}");
        }
    }
    arn.to_string()
}
