//! Finding the kubeconfig as kubectl does (`--kubeconfig`, then every file of
//! `$KUBECONFIG`, then `~/.kube/config`), and the EKS cluster a context points at: its
//! name and region, for reading the AWS side of a live cluster.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use eksguard_model::arn::Arn;
use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_model::Node;

use crate::read::{read_file, ReadError};
use crate::rootfs::DEFAULT_MAX_FILE_BYTES;

/// An EKS cluster named by a kubeconfig context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksTarget {
    pub region: String,
    pub name: String,
}

/// A kubeconfig named with `--kubeconfig` that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {reason}", path.display())]
pub struct KubeconfigError {
    pub path: PathBuf,
    reason: String,
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

/// The kubeconfig files in the order kubectl merges them: the one named, else those of
/// `kubeconfig_env` (`$KUBECONFIG`, a path list), else `.kube/config` under `home`.
pub fn kubeconfig_files(
    named: Option<&Path>,
    kubeconfig_env: Option<OsString>,
    home: Option<OsString>,
) -> Vec<PathBuf> {
    if let Some(p) = named {
        return vec![p.to_path_buf()];
    }
    match kubeconfig_env.filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list).collect(),
        None => home
            .filter(|h| !h.is_empty())
            .map(|h| Path::new(&h).join(".kube").join("config"))
            .into_iter()
            .collect(),
    }
}

/// The EKS cluster of the kubeconfig context (`context` or the current one), if it is one,
/// with the files found from the environment. A missing kubeconfig means no Kubernetes
/// access, not an error; one named with `--kubeconfig` must be readable.
pub fn eks_target(
    named: Option<&Path>,
    context: Option<&str>,
) -> Result<Option<EksTarget>, KubeconfigError> {
    let files = kubeconfig_files(
        named,
        std::env::var_os("KUBECONFIG"),
        std::env::var_os("HOME"),
    );
    let mut roots = Vec::new();
    for f in &files {
        match read_file(f, DEFAULT_MAX_FILE_BYTES) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                if let Some(Ok(doc)) = parse_documents(&text, false, ParseLimits::default())
                    .into_iter()
                    .next()
                {
                    roots.push(doc.root);
                }
            }
            Err(e) if named.is_some() => {
                let reason = match e {
                    ReadError::Io(io) => io.to_string(),
                    // Not a scanned file: the scan's size setting does not apply.
                    ReadError::TooLarge(limit) => format!("larger than {limit} bytes; not read"),
                    e => e.to_string(),
                };
                return Err(KubeconfigError {
                    path: f.clone(),
                    reason,
                });
            }
            Err(_) => {}
        }
    }
    Ok(eks_target_in(&roots, context))
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
        assert!(parse_eks_arn("arn:aws:eks:eu-west-1:1:cluster/").is_none());
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

    #[test]
    fn first_current_context_and_first_definition_win() {
        let mut merged = roots(
            "current-context: dev\ncontexts:\n- name: dev\n  context: {cluster: 'arn:aws:eks:us-west-2:1:cluster/first'}\n",
        );
        merged.extend(roots(
            "current-context: other\ncontexts:\n- name: dev\n  context: {cluster: 'arn:aws:eks:us-west-2:1:cluster/second'}\n",
        ));
        assert_eq!(eks_target_in(&merged, None).unwrap().name, "first");
    }

    #[test]
    fn files_in_kubectl_order() {
        let named = Path::new("/etc/kc");
        assert_eq!(
            kubeconfig_files(Some(named), Some("/a".into()), Some("/home/u".into())),
            [PathBuf::from("/etc/kc")]
        );
        let list = std::env::join_paths(["/a", "/b"]).unwrap();
        assert_eq!(
            kubeconfig_files(None, Some(list), Some("/home/u".into())),
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(
            kubeconfig_files(None, Some("".into()), Some("/home/u".into())),
            [PathBuf::from("/home/u/.kube/config")]
        );
        assert!(kubeconfig_files(None, None, Some("".into())).is_empty());
    }

    #[test]
    fn a_named_kubeconfig_must_be_readable() {
        let dir = std::env::temp_dir().join(format!("eksguard-kc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("absent");
        let e = eks_target(Some(&missing), None).unwrap_err();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        assert!(e.to_string().contains("absent"), "{e}");
        // Read with the bounded reader, which refuses what is not a regular file.
        let e = eks_target(Some(&dir), None).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let kc = dir.join("config");
        std::fs::write(
            &kc,
            "current-context: arn:aws:eks:eu-west-3:1:cluster/named\ncontexts: []\n",
        )
        .unwrap();
        assert_eq!(
            eks_target(Some(&kc), None).unwrap(),
            Some(EksTarget {
                region: "eu-west-3".into(),
                name: "named".into()
            })
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
