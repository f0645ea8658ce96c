//! Live reads: the Kubernetes API through a kubeconfig (or the pod's service account) and,
//! for an EKS cluster, the AWS side, into one inventory. `cluster`, `snapshot`, the RBAC
//! queries and the server's scans read through here.

#[cfg(all(feature = "aws", feature = "cluster"))]
pub mod eks;

use eksguard_load::kubeconfig::{eks_target, parse_eks_arn};
use eksguard_model::{InputError, Inventory};

use crate::cli::{AwsArgs, KubeArgs};
use crate::term::shown;

/// Where a live read went, for snapshots.
#[derive(Debug, Clone, Default)]
pub struct LiveInfo {
    pub server: Option<String>,
    pub context: Option<String>,
    pub cluster: Option<String>,
}

/// Reads the Kubernetes API and, for an EKS cluster, the AWS side, into one inventory.
/// `None` (after a message on standard error) when there is nothing to read at all.
/// `aws` absent: no AWS flags, AWS read only for a kubeconfig context named by an EKS
/// cluster ARN.
pub fn read_live(
    kube: &KubeArgs,
    aws: Option<&AwsArgs>,
) -> anyhow::Result<Option<(Inventory, LiveInfo)>> {
    // `--cluster-name` may be the cluster's ARN, which names its region too.
    let mut aws = aws.cloned().unwrap_or_default();
    if let Some(arn) = aws.cluster_name.as_deref().and_then(parse_eks_arn) {
        aws.cluster_name = Some(arn.name);
        aws.conn.region = aws.conn.region.or(Some(arn.region));
    }
    let aws = &aws;
    // A cluster named without a kubeconfig to reach it: its API server from EKS, with a
    // token from the AWS credentials.
    if let (Some(name), None, None, false, false) = (
        &aws.cluster_name,
        &kube.context,
        &kube.kubeconfig,
        aws.aws_only,
        aws.no_aws,
    ) {
        return read_eks_direct(kube, aws, name).map(Some);
    }
    let target = eks_target(kube.kubeconfig.as_deref(), kube.context.as_deref())?;
    let aws_wanted =
        !aws.no_aws && (aws.aws || aws.aws_only || aws.cluster_name.is_some() || target.is_some());
    let mut inv = Inventory::default();
    let mut info = LiveInfo::default();
    if !aws.aws_only {
        match read_kube_with_info(kube) {
            Ok((k, server, context)) => {
                inv.extend(k);
                info.server = Some(server);
                info.context = context;
            }
            // No kubeconfig and not in a pod: an AWS-only scan, when AWS was asked for.
            Err(e) if aws_wanted && is_missing_config(&e) => {
                eprintln!(
                    "eksguard: {}; reading the AWS side only",
                    shown(format!("{e:#}"))
                );
            }
            Err(e) if aws_wanted => {
                inv.errors
                    .push(InputError::new("kubernetes", None, format!("{e:#}")))
            }
            Err(e) => {
                eprintln!(
                    "error: {}\n(for the AWS side alone: --aws-only --cluster-name NAME [--region REGION])",
                    shown(format!("{e:#}"))
                );
                return Ok(None);
            }
        }
    }
    if aws_wanted {
        let Some(name) = aws
            .cluster_name
            .clone()
            .or_else(|| target.as_ref().map(|k| k.name.clone()))
        else {
            eprintln!(
                "error: no cluster name: pass --cluster-name, or use a kubeconfig context named by \
                 an EKS cluster ARN"
            );
            return Ok(None);
        };
        let region = aws.conn.region.clone().or(target.map(|k| k.region));
        info.cluster = Some(name.clone());
        inv.extend(read_aws(aws, kube.concurrency, name, region)?);
    }
    Ok(Some((inv, info)))
}

/// One EKS cluster, AWS side and Kubernetes API, with nothing but AWS credentials.
#[cfg(all(feature = "aws", feature = "cluster"))]
fn read_eks_direct(
    kube: &KubeArgs,
    aws: &AwsArgs,
    name: &str,
) -> anyhow::Result<(Inventory, LiveInfo)> {
    use anyhow::Context;
    use eksguard_live::fleet_aws;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let settings = eks::ReadSettings {
        aws_only: false,
        concurrency: kube.concurrency.max(1),
        request_timeout: std::time::Duration::from_secs(kube.request_timeout.max(1)),
        max_response_bytes: kube.max_response_bytes,
        progress: !kube.no_progress,
        namespace: kube.namespace.clone(),
    };
    let read = rt.block_on(async {
        let base = fleet_aws::base_config(
            aws.conn.region.as_deref(),
            aws.conn.profile.as_deref(),
            aws.conn.endpoint_url.as_deref(),
        )
        .await?;
        let region = base.region().map(|r| r.to_string()).unwrap_or_default();
        let principal = fleet_aws::caller_identity(&base)
            .await
            .ok()
            .map(|(_, arn)| eks::principal_of(&arn));
        anyhow::Ok(eks::read_eks(&base, name, &region, principal.as_deref(), &settings).await)
    })?;
    if let Some(reason) = &read.reason {
        eprintln!("eksguard: {}", shown(reason));
    }
    let info = LiveInfo {
        server: None,
        context: None,
        cluster: Some(read.arn.clone().unwrap_or_else(|| name.to_string())),
    };
    Ok((read.inv, info))
}

#[cfg(not(all(feature = "aws", feature = "cluster")))]
fn read_eks_direct(_: &KubeArgs, _: &AwsArgs, _: &str) -> anyhow::Result<(Inventory, LiveInfo)> {
    anyhow::bail!(
        "reading an EKS cluster without a kubeconfig needs the `aws` and `cluster` features"
    )
}

/// Reads every Kubernetes kind the rules look at, through the kubeconfig (or the pod's
/// service account). Types that cannot be read are errors in the inventory naming the
/// rules they leave unchecked; the rest is read.
pub fn read_kube(args: &KubeArgs) -> anyhow::Result<Inventory> {
    read_kube_with_info(args).map(|(inv, _, _)| inv)
}

#[cfg(feature = "cluster")]
fn read_kube_with_info(args: &KubeArgs) -> anyhow::Result<(Inventory, String, Option<String>)> {
    use eksguard_live::kube_live::{read_cluster, KubeOptions};
    let rules_by_kind = rules_by_kind(eksguard_live::kube_live::kinds_read());
    let opts = KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespace: args.namespace.clone(),
        concurrency: args.concurrency,
        page_size: args.page_size.max(1),
        timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        max_response_bytes: args.max_response_bytes,
        progress: !args.no_progress,
        rules_by_kind,
    };
    let (inv, info) = read_cluster(&opts)?;
    Ok((inv, info.server, info.context))
}

/// For each kind a live reader produces, the rules that read it by their own
/// declarations: a failed read names them as not checked.
#[cfg(any(feature = "cluster", feature = "aws"))]
pub(crate) fn rules_by_kind<'k>(
    kinds: impl IntoIterator<Item = &'k str>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    kinds
        .into_iter()
        .map(|kind| {
            let ids = eksguard_rules::registry::all()
                .iter()
                .map(|r| r.meta())
                .filter(|m| m.uses_kind(kind))
                .map(|m| m.id.to_string())
                .collect();
            (kind.to_string(), ids)
        })
        .collect()
}

#[cfg(not(feature = "cluster"))]
fn read_kube_with_info(_args: &KubeArgs) -> anyhow::Result<(Inventory, String, Option<String>)> {
    anyhow::bail!("this eksguard was built without Kubernetes support (cargo feature `cluster`)")
}

/// The resource types the API server of the kubeconfig serves, and the group versions
/// whose discovery document could not be read.
#[cfg(feature = "cluster")]
pub fn discover_api(
    args: &KubeArgs,
) -> anyhow::Result<(
    Vec<eksguard_model::rbac::query::ServedResource>,
    Vec<String>,
)> {
    use eksguard_live::kube_live::{discover_resources, KubeOptions};
    let opts = KubeOptions {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        concurrency: args.concurrency,
        timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
        max_response_bytes: args.max_response_bytes,
        ..KubeOptions::default()
    };
    let found = discover_resources(&opts).map_err(anyhow::Error::msg)?;
    Ok((found.resources, found.errors))
}

#[cfg(not(feature = "cluster"))]
pub fn discover_api(
    _args: &KubeArgs,
) -> anyhow::Result<(
    Vec<eksguard_model::rbac::query::ServedResource>,
    Vec<String>,
)> {
    anyhow::bail!("this eksguard was built without Kubernetes support (cargo feature `cluster`)")
}

#[cfg(feature = "cluster")]
fn is_missing_config(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<eksguard_live::kube_live::KubeError>(),
        Some(eksguard_live::kube_live::KubeError::NoConfig { .. })
    )
}

#[cfg(not(feature = "cluster"))]
fn is_missing_config(_e: &anyhow::Error) -> bool {
    true
}

#[cfg(feature = "aws")]
fn read_aws(
    args: &AwsArgs,
    concurrency: usize,
    name: String,
    region: Option<String>,
) -> anyhow::Result<Inventory> {
    use eksguard_live::aws_live::{read_cluster, LiveOptions};
    let mut opts = LiveOptions::new(name);
    opts.region = region;
    opts.profile = args.conn.profile.clone();
    opts.endpoint_url = args.conn.endpoint_url.clone();
    opts.concurrency = concurrency;
    opts.rules_by_kind = rules_by_kind(eksguard_live::aws_live::kinds_read().iter().copied());
    Ok(read_cluster(&opts)?)
}

#[cfg(not(feature = "aws"))]
fn read_aws(
    _args: &AwsArgs,
    _concurrency: usize,
    _name: String,
    _region: Option<String>,
) -> anyhow::Result<Inventory> {
    anyhow::bail!("this eksguard was built without AWS support (cargo feature `aws`)")
}
