//! `eksguard cluster`: a live scan. The AWS part reads the EKS cluster and the IAM and EC2
//! resources around it; region and cluster name come from the flags or from the current
//! kubeconfig context when that is an EKS cluster ARN.

use std::path::{Path, PathBuf};

use anyhow::Context;
use eksguard_model::arn::Arn;
use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::{InputError, Inventory, Node};
use eksguard_report::SourceCache;

use crate::cli::{AwsArgs, ClusterArgs, KubeArgs};
use crate::Outcome;

pub fn run(mut args: ClusterArgs) -> anyhow::Result<Outcome> {
    let Some(cfg) = super::scan::load_config(&args.check) else {
        return Ok(Outcome::Error);
    };
    let Some((inv, info)) = read_live(&args.kube, &args.aws)? else {
        return Ok(Outcome::Error);
    };
    // Findings of one cluster in Security Hub: named by the EKS cluster when known.
    let name = info
        .cluster
        .or(info.context)
        .or(info.server)
        .unwrap_or_else(|| "in-cluster".into());
    args.report.aws = crate::cli::AwsReportContext {
        region: args.aws.region.clone(),
        profile: args.aws.profile.clone(),
        endpoint_url: args.aws.endpoint_url.clone(),
        scope: format!("cluster:{name}"),
    };
    let sources = SourceCache::new();
    super::scan::check_and_report(
        &args.check,
        &args.inline,
        &args.report,
        &cfg,
        &inv,
        &sources,
    )
}

/// Where a live read went, for snapshots.
#[derive(Debug, Clone, Default)]
pub struct LiveInfo {
    pub server: Option<String>,
    pub context: Option<String>,
    pub cluster: Option<String>,
}

/// Reads the Kubernetes API and, for an EKS cluster, the AWS side, into one inventory.
/// `None` (after a message on standard error) when there is nothing to read at all.
pub fn read_live(kube: &KubeArgs, aws: &AwsArgs) -> anyhow::Result<Option<(Inventory, LiveInfo)>> {
    let target = kube_target(kube.kubeconfig.as_deref(), kube.context.as_deref())?;
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
                    super::shown(format!("{e:#}"))
                );
            }
            Err(e) if aws_wanted => {
                inv.errors
                    .push(InputError::new("kubernetes", None, format!("{e:#}")))
            }
            Err(e) => {
                eprintln!(
                    "error: {}\n(for the AWS side alone: --aws-only --cluster-name NAME [--region REGION])",
                    super::shown(format!("{e:#}"))
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
        let region = aws.region.clone().or(target.map(|k| k.region));
        info.cluster = Some(name.clone());
        inv.extend(read_aws(aws, kube.concurrency, name, region)?);
    }
    Ok(Some((inv, info)))
}

/// Reads every Kubernetes kind the rules look at, through the kubeconfig (or the pod's
/// service account). Types that cannot be read are errors in the inventory naming the
/// rules they leave unchecked; the rest is read.
pub fn read_kube(args: &KubeArgs) -> anyhow::Result<Inventory> {
    read_kube_with_info(args).map(|(inv, _, _)| inv)
}

#[cfg(feature = "cluster")]
fn read_kube_with_info(args: &KubeArgs) -> anyhow::Result<(Inventory, String, Option<String>)> {
    use eksguard_sources::kube_live::{read_cluster, KubeOptions};
    let rules_by_kind = rules_by_kind(eksguard_sources::kube_live::kinds_read());
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
fn rules_by_kind<'k>(
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

#[cfg(feature = "cluster")]
fn is_missing_config(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<eksguard_sources::kube_live::KubeError>(),
        Some(eksguard_sources::kube_live::KubeError::NoConfig { .. })
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
    use eksguard_sources::aws_live::{read_cluster, LiveOptions};
    let mut opts = LiveOptions::new(name);
    opts.region = region;
    opts.profile = args.profile.clone();
    opts.endpoint_url = args.endpoint_url.clone();
    opts.concurrency = concurrency;
    opts.rules_by_kind = rules_by_kind(eksguard_sources::aws_live::kinds_read().iter().copied());
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

/// An EKS cluster named by a kubeconfig context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksTarget {
    pub region: String,
    pub name: String,
}

/// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME` (any partition).
pub fn parse_eks_arn(arn: &str) -> Option<EksTarget> {
    let a = Arn::parse(arn)?;
    let name = a.resource.strip_prefix("cluster/")?;
    (a.service == "eks" && !a.region.is_empty() && !name.is_empty()).then(|| EksTarget {
        region: a.region.to_string(),
        name: name.to_string(),
    })
}

/// The EKS cluster of the kubeconfig context (`context` or the current one), if it is one.
/// A missing kubeconfig means no Kubernetes access, not an error; one named with
/// `--kubeconfig` must be readable.
fn kube_target(path: Option<&Path>, context: Option<&str>) -> anyhow::Result<Option<EksTarget>> {
    let files: Vec<PathBuf> = match path {
        Some(p) => vec![p.to_path_buf()],
        None => match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            Some(list) => std::env::split_paths(&list).collect(),
            None => home_kubeconfig().into_iter().collect(),
        },
    };
    let mut roots = Vec::new();
    for f in &files {
        match std::fs::read_to_string(f) {
            Ok(text) => {
                if let Some(Ok(doc)) = parse_documents(&text, false, ParseLimits::default())
                    .into_iter()
                    .next()
                {
                    roots.push(doc.root);
                }
            }
            Err(e) if path.is_some() => {
                return Err(e).with_context(|| format!("cannot read {}", f.display()))
            }
            Err(_) => {}
        }
    }
    Ok(eks_target_in(&roots, context))
}

fn home_kubeconfig() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(Path::new(&home).join(".kube").join("config"))
}

/// Looks through merged kubeconfig files as kubectl does: the first `current-context`
/// wins, and so does the first definition of a name.
pub fn eks_target_in(roots: &[Node], context: Option<&str>) -> Option<EksTarget> {
    let current = match context {
        Some(c) => c.to_string(),
        None => roots
            .iter()
            .find_map(|r| r.get("current-context").and_then(Node::as_str))
            .filter(|s| !s.is_empty())?
            .to_string(),
    };
    let named = |list: &str, name: &str| -> Option<&Node> {
        roots.iter().find_map(|r| {
            r.get(list)?
                .items()
                .iter()
                .find(|i| i.get("name").and_then(Node::as_str) == Some(name))
        })
    };
    let ctx = named("contexts", &current).and_then(|c| c.get("context"));
    let cluster = ctx.and_then(|c| c.get("cluster")).and_then(Node::as_str);
    // `aws eks update-kubeconfig` names both the context and the cluster by the ARN; an
    // `aws eks get-token` exec plugin names the cluster and region in its arguments.
    parse_eks_arn(&current)
        .or_else(|| cluster.and_then(parse_eks_arn))
        .or_else(|| {
            let user = ctx.and_then(|c| c.get("user")).and_then(Node::as_str)?;
            let args = named("users", user)?.at("user.exec.args")?.items();
            let value = |flag: &str| {
                args.iter()
                    .position(|a| a.as_str() == Some(flag))
                    .and_then(|i| args.get(i + 1))
                    .and_then(Node::as_str)
                    .map(str::to_string)
            };
            Some(EksTarget {
                name: value("--cluster-name")?,
                region: value("--region")?,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(text: &str) -> Vec<Node> {
        parse_documents(text, false, ParseLimits::default())
            .into_iter()
            .filter_map(Result::ok)
            .map(|d| d.root)
            .collect()
    }

    #[test]
    fn arns() {
        assert_eq!(
            parse_eks_arn("arn:aws:eks:eu-west-1:123456789012:cluster/prod"),
            Some(EksTarget {
                region: "eu-west-1".into(),
                name: "prod".into()
            })
        );
        assert!(parse_eks_arn("arn:aws:iam::123456789012:role/prod").is_none());
        assert!(parse_eks_arn("kind-kind").is_none());
    }

    #[test]
    fn context_by_arn_cluster_or_exec_args() {
        let by_name = roots(
            "current-context: arn:aws:eks:us-east-1:1:cluster/a\ncontexts:\n- name: arn:aws:eks:us-east-1:1:cluster/a\n  context: {cluster: x, user: u}\n",
        );
        assert_eq!(eks_target_in(&by_name, None).unwrap().name, "a");
        let by_cluster = roots(
            "current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: 'arn:aws:eks:us-west-2:1:cluster/b', user: u}\n",
        );
        assert_eq!(
            eks_target_in(&by_cluster, None).unwrap(),
            EksTarget {
                region: "us-west-2".into(),
                name: "b".into()
            }
        );
        let by_exec = roots(
            "current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user:\n    exec:\n      command: aws\n      args: [--region, ap-south-1, eks, get-token, --cluster-name, c3]\n",
        );
        assert_eq!(eks_target_in(&by_exec, None).unwrap().name, "c3");
        let kind =
            roots("current-context: kind\ncontexts:\n- name: kind\n  context: {cluster: kind}\n");
        assert!(eks_target_in(&kind, None).is_none());
        assert_eq!(
            eks_target_in(&by_name, Some("arn:aws:eks:eu-north-1:1:cluster/z"))
                .unwrap()
                .region,
            "eu-north-1"
        );
    }
}
