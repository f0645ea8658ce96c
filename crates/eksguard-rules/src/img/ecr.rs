//! ECR repositories as the IMG rules judge them: the repositories the scan's workloads
//! come from (every repository when the scan holds no workloads), and the policy
//! statements that open them.

use eksguard_model::aws_kinds as k;
use eksguard_model::{Node, Object};

use crate::aws_iam::Statement;
use crate::aws_svc::{comes_from, ecr_image_uses, repository_key, text, ImageUse};
use crate::Ctx;

/// A repository with the workload containers that pull from it.
pub(crate) struct Judged<'a> {
    pub repo: &'a Object,
    pub uses: Vec<ImageUse<'a>>,
}

/// The repositories to judge: those a workload of the scan comes from, or, in a scan
/// without workloads (AWS outputs or infrastructure code alone), every repository.
pub(crate) fn judged_repositories<'a>(cx: &Ctx<'a>) -> Vec<Judged<'a>> {
    let has_workloads = cx.workloads().next().is_some();
    let mut uses = ecr_image_uses(cx);
    let mut out = Vec::new();
    for repo in cx.objects_of(k::ECR_REPOSITORY) {
        let Some(key) = repository_key(repo) else {
            continue;
        };
        let (mine, rest): (Vec<_>, Vec<_>) =
            uses.into_iter().partition(|u| comes_from(&u.ecr, &key));
        uses = rest;
        if !has_workloads || !mine.is_empty() {
            out.push(Judged { repo, uses: mine });
        }
    }
    out
}

/// The registry ID of a repository (its ARN's account, or `registryId`).
pub(crate) fn registry_of(repo: &Object) -> String {
    repository_key(repo)
        .map(|(r, _, _)| r)
        .filter(|r| !r.is_empty())
        .or_else(|| text(&repo.root, "registryId").map(str::to_string))
        .unwrap_or_default()
}

/// Condition keys that pin who may call: a statement with a positive test on one of them
/// does not open the resource to everyone.
pub(crate) fn limits_caller(st: &Statement<'_>, keys: &[&str]) -> bool {
    st.conditions().iter().any(|c| {
        c.is_positive_match()
            && !c.values.is_empty()
            && keys.iter().any(|k| c.key.eq_ignore_ascii_case(k))
    })
}

/// Whether a statement names every principal (`"*"` or `{"AWS": "*"}`).
pub(crate) fn anyone(st: &Statement<'_>) -> bool {
    st.principals("AWS").iter().any(|p| p == "*")
}

/// The items of a list field (empty when absent).
pub(crate) fn items<'a>(node: &'a Node, key: &str) -> &'a [Node] {
    node.get(key).map(Node::items).unwrap_or(&[])
}
