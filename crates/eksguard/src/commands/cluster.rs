//! `eksguard cluster`: a live scan. The AWS part reads the EKS cluster and the IAM and EC2
//! resources around it; region and cluster name come from the flags or from the current
//! kubeconfig context when that is an EKS cluster ARN.

use std::path::{Path, PathBuf};

use anyhow::Context;
use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::Node;
use eksguard_report::SourceCache;

use crate::cli::ClusterArgs;
use crate::Outcome;

pub fn run(args: ClusterArgs) -> anyhow::Result<Outcome> {
    let kube = kube_target(args.kubeconfig.as_deref(), args.context.as_deref())?;
    let aws = args.aws || args.cluster_name.is_some() || kube.is_some();
    if !aws {
        eprintln!(
            "error: no EKS cluster to read: the kubeconfig context is not an EKS cluster ARN; \
             pass --aws --cluster-name NAME [--region REGION]"
        );
        return Ok(Outcome::Error);
    }
    let Some(name) = args
        .cluster_name
        .clone()
        .or_else(|| kube.as_ref().map(|k| k.name.clone()))
    else {
        eprintln!(
            "error: no cluster name: pass --cluster-name, or use a kubeconfig context named by \
             an EKS cluster ARN"
        );
        return Ok(Outcome::Error);
    };
    let region = args.region.clone().or(kube.map(|k| k.region));
    let Some(cfg) = super::scan::load_config(&args.check) else {
        return Ok(Outcome::Error);
    };
    let inv = read_aws(&args, name, region)?;
    let sources = SourceCache::new();
    super::scan::check_and_report(&args.check, &args.report, &cfg, &inv, &sources)
}

#[cfg(feature = "aws")]
fn read_aws(
    args: &ClusterArgs,
    name: String,
    region: Option<String>,
) -> anyhow::Result<eksguard_model::Inventory> {
    use eksguard_sources::aws_live::{read_cluster, LiveOptions};
    let mut opts = LiveOptions::new(name);
    opts.region = region;
    opts.profile = args.profile.clone();
    opts.endpoint_url = args.endpoint_url.clone();
    opts.concurrency = args.concurrency;
    Ok(read_cluster(&opts)?)
}

#[cfg(not(feature = "aws"))]
fn read_aws(
    _args: &ClusterArgs,
    _name: String,
    _region: Option<String>,
) -> anyhow::Result<eksguard_model::Inventory> {
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
    let mut parts = arn.splitn(6, ':');
    let (arn_, _partition, service, region, _account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let name = resource.strip_prefix("cluster/")?;
    (arn_ == "arn" && service == "eks" && !region.is_empty() && !name.is_empty()).then(|| {
        EksTarget {
            region: region.to_string(),
            name: name.to_string(),
        }
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
