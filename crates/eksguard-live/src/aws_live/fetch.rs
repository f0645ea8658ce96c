//! The requests of a live read: which calls follow from which answers, paging, the
//! concurrency limit, and how a failed call becomes an error naming the rules it leaves
//! without data.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use eksguard_model::{InputError, Node, Object, Source};
use futures_util::future::{join, join3, join4, join_all};

/// Kinds of the EC2 network reads, for the rules a failed call leaves unchecked.
const FLOW_LOG_KINDS: &[&str] = &["EC2FlowLogList", "EC2FlowLog"];
const VPC_ENDPOINT_KINDS: &[&str] = &["EC2VpcEndpointList", "EC2VpcEndpoint"];
const INSTANCE_TYPE_KINDS: &[&str] = &["EC2InstanceType"];
use serde_json::{json, Value as Json};
use tokio::sync::Semaphore;

use super::convert::{
    decode_policy_text, eks_access_entry, eks_addon, eks_associated_policies, eks_cluster,
    eks_nodegroup, eks_pod_identity, iam_attached_policies, iam_policy_version, iam_role,
    iam_role_policy,
};
use super::{
    LiveOptions, ACCESS_ENTRY_KINDS, ACCESS_POLICY_KINDS, ADDON_KINDS, ATTACHED_POLICY_KINDS,
    CLUSTER_KINDS, LAUNCH_TEMPLATE_KINDS, NODEGROUP_KINDS, POD_IDENTITY_KINDS, POLICY_KINDS,
    ROLE_KINDS, ROLE_POLICY_KINDS, SG_KINDS, SUBNET_KINDS,
};
use crate::ec2_query::{Ec2Client, Ec2Error};
use eksguard_load::aws_json::{self, Classified};

/// Makes every call of a live read with the SDK configuration `conf`: the objects made of
/// the answers, and an error for each call that failed.
pub(super) async fn fetch(
    conf: &aws_config::SdkConfig,
    opts: &LiveOptions,
) -> (Vec<Object>, Vec<InputError>) {
    let ctx = Ctx {
        eks: aws_sdk_eks::Client::new(conf),
        iam: aws_sdk_iam::Client::new(conf),
        ec2: Ec2Client::new(conf),
        services: super::services::Clients::new(conf),
        permits: Semaphore::new(opts.concurrency.max(1)),
        cluster: opts.cluster_name.clone(),
        objects: RefCell::new(Vec::new()),
        errors: RefCell::new(Vec::new()),
        rules_by_kind: opts.rules_by_kind.clone(),
        policies_seen: RefCell::default(),
    };
    ctx.run().await;
    (ctx.objects.into_inner(), ctx.errors.into_inner())
}

struct Ctx {
    eks: aws_sdk_eks::Client,
    iam: aws_sdk_iam::Client,
    ec2: Ec2Client,
    services: super::services::Clients,
    permits: Semaphore,
    cluster: String,
    // One thread drives every future and no borrow is held across an await.
    objects: RefCell<Vec<Object>>,
    errors: RefCell<Vec<InputError>>,
    rules_by_kind: BTreeMap<String, Vec<String>>,
    /// Customer-managed policies already read.
    policies_seen: RefCell<BTreeSet<String>>,
}

/// What the first round of EKS calls points at in IAM and EC2.
#[derive(Default)]
struct Refs {
    /// Role ARNs.
    roles: BTreeSet<String>,
    /// The cluster's account, from its ARN.
    account: Option<String>,
    security_groups: BTreeSet<String>,
    subnets: BTreeSet<String>,
    /// (id or name, is_id) -> versions
    launch_templates: BTreeMap<(String, bool), BTreeSet<String>>,
    oidc_issuer: Option<String>,
    /// The KMS keys of the cluster's Secrets encryption.
    keys: BTreeSet<String>,
    /// The cluster's VPC, and its own subnets (not the node groups').
    vpc: Option<String>,
    cluster_subnets: BTreeSet<String>,
    /// Instance types of the node groups.
    instance_types: BTreeSet<String>,
}

impl Ctx {
    async fn run(&self) {
        let mut refs = Refs::default();
        let cluster_arn = format!("cluster/{}", self.cluster);
        let described = self
            .call(
                "eks:DescribeCluster",
                &cluster_arn,
                CLUSTER_KINDS,
                self.eks.describe_cluster().name(&self.cluster).send(),
            )
            .await;
        match described {
            Ok(out) => {
                if let Some(c) = out.cluster() {
                    refs.add_cluster(c);
                    self.add(json!({ "cluster": eks_cluster(c) }));
                }
            }
            // Nothing else exists for a cluster that does not.
            Err(code) if code.as_deref() == Some("ResourceNotFoundException") => return,
            Err(_) => {}
        }

        let (nodegroups, (), pod_identity, addons) = join4(
            self.nodegroups(),
            self.access_entries(),
            self.pod_identity_associations(),
            self.addons(),
        )
        .await;
        for n in &nodegroups {
            refs.add_nodegroup(n);
        }
        for a in &pod_identity {
            refs.roles.extend(a.role_arn().map(str::to_string));
            refs.roles.extend(a.target_role_arn().map(str::to_string));
        }
        for a in &addons {
            refs.roles
                .extend(a.service_account_role_arn().map(str::to_string));
        }

        // IAM and the launch templates are independent; security groups and subnets wait
        // for the templates, which name more of them.
        let ((), (lt_groups, lt_subnets)) =
            join(self.roles(&refs), self.launch_templates(&refs)).await;
        let groups: BTreeSet<String> = refs.security_groups.union(&lt_groups).cloned().collect();
        let subnets: BTreeSet<String> = refs.subnets.union(&lt_subnets).cloned().collect();
        join3(
            join(self.security_groups(groups), self.subnets(subnets)),
            self.services(&refs.keys),
            self.network(&refs),
        )
        .await;
    }

    /// What EC2 says of the cluster's network: flow logs of its VPC and subnets, the
    /// VPC's endpoints, and whether the node groups' instance types encrypt in transit.
    async fn network(&self, refs: &Refs) {
        // Clusters described without `vpcId` (older API versions, AWS-compatible
        // servers): the VPC of the cluster's subnets.
        let mut vpc = refs.vpc.clone();
        if vpc.is_none() && !refs.cluster_subnets.is_empty() {
            let ids: Vec<String> = refs.cluster_subnets.iter().cloned().collect();
            let subnets = self
                .ec2_call(
                    "ec2:DescribeSubnets",
                    &ids.join(","),
                    SUBNET_KINDS,
                    self.ec2.describe_subnets(&ids),
                )
                .await
                .unwrap_or_default();
            vpc = subnets
                .iter()
                .find_map(|s| s.get("VpcId").and_then(Json::as_str).map(str::to_string));
        }
        if let Some(vpc) = &vpc {
            let mut resources = vec![vpc.clone()];
            resources.extend(refs.cluster_subnets.iter().cloned());
            let (flow_logs, endpoints) = join(
                self.ec2_call(
                    "ec2:DescribeFlowLogs",
                    vpc,
                    FLOW_LOG_KINDS,
                    self.ec2.describe_flow_logs(&resources),
                ),
                self.ec2_call(
                    "ec2:DescribeVpcEndpoints",
                    vpc,
                    VPC_ENDPOINT_KINDS,
                    self.ec2.describe_vpc_endpoints(vpc),
                ),
            )
            .await;
            if let Some(f) = flow_logs {
                self.add(json!({ "FlowLogs": f }));
            }
            if let Some(e) = endpoints {
                self.add(json!({ "VpcEndpoints": e }));
            }
        }
        if !refs.instance_types.is_empty() {
            let types: Vec<String> = refs.instance_types.iter().cloned().collect();
            let described = self
                .ec2_call(
                    "ec2:DescribeInstanceTypes",
                    &types.join(","),
                    INSTANCE_TYPE_KINDS,
                    self.ec2.describe_instance_types(&types),
                )
                .await;
            if let Some(t) = described.filter(|t| !t.is_empty()) {
                self.add(json!({ "InstanceTypes": t }));
            }
        }
    }

    /// The security services around the cluster (ECR, KMS, CloudTrail, GuardDuty,
    /// Inspector, EFS), as one request slot.
    async fn services(&self, keys: &BTreeSet<String>) {
        let read = self
            .permitted(super::services::read(&self.services, keys))
            .await;
        for output in read.outputs {
            self.add(output);
        }
        for (api, resource, kinds, detail) in read.failures {
            self.fail(api, &resource, kinds, &detail);
        }
    }

    /// Runs one SDK call under the concurrency limit; a failure is recorded and its error
    /// code handed back.
    async fn call<T, E>(
        &self,
        api: &str,
        resource: &str,
        kinds: &[&str],
        fut: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, Option<String>>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.try_call(fut).await.map_err(|e| {
            self.fail(api, resource, kinds, &describe_error(&e));
            e.code().map(str::to_string)
        })
    }

    /// Like [`Ctx::call`], leaving the failure to the caller.
    async fn try_call<T, E>(
        &self,
        fut: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, SdkError<E>> {
        self.permitted(fut).await
    }

    /// Runs `fut` once a request slot is free.
    async fn permitted<T>(&self, fut: impl Future<Output = T>) -> T {
        match self.permits.acquire().await {
            Ok(_permit) => fut.await,
            // The semaphore is never closed; run unbounded rather than not at all.
            Err(_) => fut.await,
        }
    }

    fn fail(&self, api: &str, resource: &str, kinds: &[&str], detail: &str) {
        let mut message = format!("{api} failed: {detail}");
        let rules: BTreeSet<&str> = kinds
            .iter()
            .filter_map(|k| self.rules_by_kind.get(*k))
            .flatten()
            .map(String::as_str)
            .collect();
        if !rules.is_empty() {
            let rules: Vec<&str> = rules.into_iter().collect();
            message.push_str(&format!("; not checked: {}", rules.join(", ")));
        }
        self.errors
            .borrow_mut()
            .push(InputError::new(resource, None, message));
    }

    /// Turns CLI-shaped JSON into objects exactly as a saved output would be.
    fn add(&self, cli_json: Json) {
        let node = Node::from_json(&cli_json);
        let path: Arc<str> = Arc::from("live");
        if let Classified::Objects(objects) = aws_json::classify(node, &path, 0) {
            self.objects
                .borrow_mut()
                .extend(objects.into_iter().map(|mut o| {
                    o.source = Source::Live;
                    o
                }));
        }
    }

    /// Lists the cluster's resources of one kind with `list`, then describes each one
    /// `describe` names (with the resource for messages): the resources described.
    async fn list_then_describe<K, T, LE, DE, D>(
        &self,
        (list_api, describe_api): (&str, &str),
        kinds: &[&str],
        list: impl Future<Output = Result<Vec<K>, SdkError<LE>>>,
        describe: impl Fn(&K) -> Option<(String, D)>,
    ) -> Vec<T>
    where
        LE: ProvideErrorMetadata + std::error::Error + 'static,
        DE: ProvideErrorMetadata + std::error::Error + 'static,
        D: Future<Output = Result<Option<T>, SdkError<DE>>>,
    {
        let resource = format!("cluster/{}", self.cluster);
        let Ok(items) = self.call(list_api, &resource, kinds, list).await else {
            return Vec::new();
        };
        let described = join_all(items.iter().filter_map(describe).map(
            |(resource, fut)| async move {
                self.call(describe_api, &resource, kinds, fut)
                    .await
                    .ok()
                    .flatten()
            },
        ))
        .await;
        described.into_iter().flatten().collect()
    }

    async fn nodegroups(&self) -> Vec<aws_sdk_eks::types::Nodegroup> {
        let list = self
            .eks
            .list_nodegroups()
            .cluster_name(&self.cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let nodegroups = self
            .list_then_describe(
                ("eks:ListNodegroups", "eks:DescribeNodegroup"),
                NODEGROUP_KINDS,
                list,
                |name: &String| {
                    let fut = self
                        .eks
                        .describe_nodegroup()
                        .cluster_name(&self.cluster)
                        .nodegroup_name(name)
                        .send();
                    let resource = format!("nodegroup/{}/{name}", self.cluster);
                    Some((resource, async { fut.await.map(|o| o.nodegroup) }))
                },
            )
            .await;
        for n in &nodegroups {
            self.add(json!({ "nodegroup": eks_nodegroup(n) }));
        }
        nodegroups
    }

    async fn access_entries(&self) {
        let resource = format!("cluster/{}", self.cluster);
        let Ok(principals) = self
            .call(
                "eks:ListAccessEntries",
                &resource,
                ACCESS_ENTRY_KINDS,
                self.eks
                    .list_access_entries()
                    .cluster_name(&self.cluster)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            )
            .await
        else {
            return;
        };
        join_all(principals.iter().map(|p| async move {
            let describe = self.call(
                "eks:DescribeAccessEntry",
                p,
                ACCESS_ENTRY_KINDS,
                self.eks
                    .describe_access_entry()
                    .cluster_name(&self.cluster)
                    .principal_arn(p)
                    .send(),
            );
            let policies = self.call(
                "eks:ListAssociatedAccessPolicies",
                p,
                ACCESS_POLICY_KINDS,
                self.eks
                    .list_associated_access_policies()
                    .cluster_name(&self.cluster)
                    .principal_arn(p)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            );
            let (entry, policies) = join(describe, policies).await;
            if let Some(e) = entry.ok().and_then(|o| o.access_entry) {
                self.add(json!({ "accessEntry": eks_access_entry(&e) }));
            }
            if let Ok(list) = policies {
                self.add(eks_associated_policies(&self.cluster, p, &list));
            }
        }))
        .await;
    }

    async fn pod_identity_associations(&self) -> Vec<aws_sdk_eks::types::PodIdentityAssociation> {
        let list = self
            .eks
            .list_pod_identity_associations()
            .cluster_name(&self.cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let associations = self
            .list_then_describe(
                (
                    "eks:ListPodIdentityAssociations",
                    "eks:DescribePodIdentityAssociation",
                ),
                POD_IDENTITY_KINDS,
                list,
                |summary: &aws_sdk_eks::types::PodIdentityAssociationSummary| {
                    let id = summary.association_id()?;
                    let fut = self
                        .eks
                        .describe_pod_identity_association()
                        .cluster_name(&self.cluster)
                        .association_id(id)
                        .send();
                    let resource = format!("podidentityassociation/{}/{id}", self.cluster);
                    Some((resource, async { fut.await.map(|o| o.association) }))
                },
            )
            .await;
        for a in &associations {
            self.add(json!({ "association": eks_pod_identity(a) }));
        }
        associations
    }

    async fn addons(&self) -> Vec<aws_sdk_eks::types::Addon> {
        let list = self
            .eks
            .list_addons()
            .cluster_name(&self.cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect();
        let addons = self
            .list_then_describe(
                ("eks:ListAddons", "eks:DescribeAddon"),
                ADDON_KINDS,
                list,
                |name: &String| {
                    let fut = self
                        .eks
                        .describe_addon()
                        .cluster_name(&self.cluster)
                        .addon_name(name)
                        .send();
                    let resource = format!("addon/{}/{name}", self.cluster);
                    Some((resource, async { fut.await.map(|o| o.addon) }))
                },
            )
            .await;
        for a in &addons {
            self.add(json!({ "addon": eks_addon(a) }));
        }
        addons
    }

    /// The roles the cluster names, plus the IRSA roles: those whose trust policy names
    /// the cluster's OIDC issuer (found only by listing roles).
    async fn roles(&self, refs: &Refs) {
        let mut arns = refs.roles.clone();
        if let Some(issuer) = &refs.oidc_issuer {
            let provider = issuer.trim_start_matches("https://").to_string();
            if let Ok(roles) = self
                .call(
                    "iam:ListRoles",
                    &format!("oidc-provider/{provider}"),
                    ROLE_KINDS,
                    self.iam
                        .list_roles()
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect(),
                )
                .await
            {
                arns.extend(
                    roles
                        .iter()
                        .filter(|r| {
                            r.assume_role_policy_document()
                                .map(decode_policy_text)
                                .is_some_and(|doc| doc.contains(&provider))
                        })
                        .map(|r| r.arn().to_string()),
                );
            }
        }
        // IAM looks roles up by name in the caller's account: a role of another account
        // (a Pod Identity target role, say) would be mistaken for a namesake here.
        let (here, elsewhere): (Vec<_>, Vec<_>) = arns.iter().partition(|arn| {
            let account = arn.split(':').nth(4).unwrap_or_default();
            account.is_empty() || refs.account.as_deref().is_none_or(|a| a == account)
        });
        for arn in elsewhere {
            self.fail(
                "iam:GetRole",
                arn,
                ROLE_KINDS,
                "the role belongs to another account and was not read",
            );
        }
        join_all(here.into_iter().map(|arn| self.role(arn))).await;
    }

    async fn role(&self, arn: &str) {
        let name = role_name(arn);
        let name = name.as_str();
        let resource = arn;
        let get = self.call(
            "iam:GetRole",
            resource,
            ROLE_KINDS,
            self.iam.get_role().role_name(name).send(),
        );
        let attached = self.call(
            "iam:ListAttachedRolePolicies",
            resource,
            ATTACHED_POLICY_KINDS,
            self.iam
                .list_attached_role_policies()
                .role_name(name)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
        );
        let inline = async {
            let Ok(policy_names) = self
                .call(
                    "iam:ListRolePolicies",
                    resource,
                    ROLE_POLICY_KINDS,
                    self.iam
                        .list_role_policies()
                        .role_name(name)
                        .into_paginator()
                        .items()
                        .send()
                        .try_collect(),
                )
                .await
            else {
                return;
            };
            join_all(policy_names.iter().map(|policy| async move {
                if let Ok(out) = self
                    .call(
                        "iam:GetRolePolicy",
                        &format!("{arn}/{policy}"),
                        ROLE_POLICY_KINDS,
                        self.iam
                            .get_role_policy()
                            .role_name(name)
                            .policy_name(policy)
                            .send(),
                    )
                    .await
                {
                    self.add(iam_role_policy(&out));
                }
            }))
            .await;
        };
        let (role, attached, ()) = join3(get, attached, inline).await;
        if let Some(r) = role.ok().and_then(|o| o.role) {
            self.add(json!({ "Role": iam_role(&r) }));
        }
        if let Ok(list) = attached {
            self.add(iam_attached_policies(name, &list));
            let customer = list
                .iter()
                .filter_map(|p| p.policy_arn())
                .filter(|arn| arn.split(':').nth(4) != Some("aws"));
            join_all(customer.map(|arn| self.policy(arn))).await;
        }
    }

    /// The default version of a customer-managed policy, once per run: several roles may
    /// share it.
    async fn policy(&self, arn: &str) {
        if !self.policies_seen.borrow_mut().insert(arn.to_string()) {
            return;
        }
        let Ok(got) = self
            .call(
                "iam:GetPolicy",
                arn,
                POLICY_KINDS,
                self.iam.get_policy().policy_arn(arn).send(),
            )
            .await
        else {
            return;
        };
        let Some(version) = got.policy().and_then(|p| p.default_version_id()) else {
            return;
        };
        if let Ok(out) = self
            .call(
                "iam:GetPolicyVersion",
                arn,
                POLICY_KINDS,
                self.iam
                    .get_policy_version()
                    .policy_arn(arn)
                    .version_id(version)
                    .send(),
            )
            .await
        {
            if let Some(v) = out.policy_version() {
                self.add(iam_policy_version(arn, v));
            }
        }
    }

    /// Returns the security groups and subnets the template versions name.
    async fn launch_templates(&self, refs: &Refs) -> (BTreeSet<String>, BTreeSet<String>) {
        let results = join_all(refs.launch_templates.iter().map(
            |((key, is_id), versions)| async move {
                let versions: Vec<String> = versions.iter().cloned().collect();
                self.ec2_call(
                    "ec2:DescribeLaunchTemplateVersions",
                    &format!("launch-template/{key}"),
                    LAUNCH_TEMPLATE_KINDS,
                    self.ec2
                        .describe_launch_template_versions(key, *is_id, &versions),
                )
                .await
                .unwrap_or_default()
            },
        ))
        .await;
        let versions: Vec<Json> = results.into_iter().flatten().collect();
        let (mut groups, mut subnets) = (BTreeSet::new(), BTreeSet::new());
        let strings = |v: Option<&Json>| -> Vec<String> {
            v.and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        for v in &versions {
            if let Some(d) = v.get("LaunchTemplateData") {
                groups.extend(strings(d.get("SecurityGroupIds")));
                for ni in d
                    .get("NetworkInterfaces")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    groups.extend(strings(ni.get("Groups")));
                    subnets.extend(
                        ni.get("SubnetId")
                            .and_then(Json::as_str)
                            .map(str::to_string),
                    );
                }
            }
        }
        if !versions.is_empty() {
            self.add(json!({ "LaunchTemplateVersions": versions }));
        }
        (groups, subnets)
    }

    async fn security_groups(&self, ids: BTreeSet<String>) {
        let describe =
            |ids: Vec<String>| async move { self.ec2.describe_security_groups(&ids).await };
        let groups = self
            .by_ids("ec2:DescribeSecurityGroups", SG_KINDS, ids, describe)
            .await;
        if !groups.is_empty() {
            self.add(json!({ "SecurityGroups": groups }));
        }
    }

    async fn subnets(&self, ids: BTreeSet<String>) {
        let describe = |ids: Vec<String>| async move { self.ec2.describe_subnets(&ids).await };
        let subnets = self
            .by_ids("ec2:DescribeSubnets", SUBNET_KINDS, ids, describe)
            .await;
        if !subnets.is_empty() {
            self.add(json!({ "Subnets": subnets }));
        }
    }

    /// One EC2 describe call for all `ids`. EC2 fails the whole call when one ID does not
    /// exist (a deleted group still named by the cluster), so then each ID is asked for on
    /// its own and only the missing ones are reported.
    async fn by_ids<F>(
        &self,
        api: &str,
        kinds: &[&str],
        ids: BTreeSet<String>,
        describe: impl Fn(Vec<String>) -> F,
    ) -> Vec<Json>
    where
        F: Future<Output = Result<Vec<Json>, Ec2Error>>,
    {
        if ids.is_empty() {
            return Vec::new();
        }
        let list: Vec<String> = ids.into_iter().collect();
        match self.permitted(describe(list.clone())).await {
            Ok(items) => items,
            Err(e) if e.code.as_deref().is_some_and(|c| c.ends_with(".NotFound")) => {
                let one = join_all(list.into_iter().map(|id| {
                    let fut = describe(vec![id.clone()]);
                    async move {
                        self.ec2_call(api, &id, kinds, fut)
                            .await
                            .unwrap_or_default()
                    }
                }))
                .await;
                one.into_iter().flatten().collect()
            }
            Err(e) => {
                self.fail(api, &list.join(","), kinds, &e.to_string());
                Vec::new()
            }
        }
    }

    /// An EC2 call under the concurrency limit; a failure is reported as `call` does.
    async fn ec2_call<T>(
        &self,
        api: &str,
        resource: &str,
        kinds: &[&str],
        fut: impl Future<Output = Result<T, Ec2Error>>,
    ) -> Option<T> {
        match self.permitted(fut).await {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(api, resource, kinds, &e.to_string());
                None
            }
        }
    }
}

impl Refs {
    fn add_cluster(&mut self, c: &aws_sdk_eks::types::Cluster) {
        self.roles.extend(c.role_arn().map(str::to_string));
        if let Some(v) = c.resources_vpc_config() {
            self.vpc = v.vpc_id().map(str::to_string);
            self.cluster_subnets
                .extend(v.subnet_ids().iter().map(String::clone));
        }
        for e in c.encryption_config() {
            self.keys
                .extend(e.provider().and_then(|p| p.key_arn()).map(str::to_string));
        }
        self.account = c
            .arn()
            .and_then(|a| a.split(':').nth(4))
            .map(str::to_string);
        if let Some(cc) = c.compute_config() {
            self.roles.extend(cc.node_role_arn().map(str::to_string));
        }
        if let Some(v) = c.resources_vpc_config() {
            self.security_groups
                .extend(v.security_group_ids().iter().cloned());
            self.security_groups
                .extend(v.cluster_security_group_id().map(str::to_string));
            self.subnets.extend(v.subnet_ids().iter().cloned());
        }
        self.oidc_issuer = c
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .map(str::to_string);
    }

    fn add_nodegroup(&mut self, n: &aws_sdk_eks::types::Nodegroup) {
        self.roles.extend(n.node_role().map(str::to_string));
        self.subnets.extend(n.subnets().iter().cloned());
        self.instance_types
            .extend(n.instance_types().iter().cloned());
        if let Some(r) = n.remote_access() {
            self.security_groups
                .extend(r.source_security_groups().iter().cloned());
        }
        if let Some(r) = n.resources() {
            self.security_groups
                .extend(r.remote_access_security_group().map(str::to_string));
        }
        if let Some(lt) = n.launch_template() {
            let key = match (lt.id(), lt.name()) {
                (Some(id), _) => (id.to_string(), true),
                (None, Some(name)) => (name.to_string(), false),
                (None, None) => return,
            };
            let version = lt.version().unwrap_or("$Default").to_string();
            self.launch_templates
                .entry(key)
                .or_default()
                .insert(version);
        }
    }
}

/// `arn:aws:iam::1:role/path/name` -> `name`.
fn role_name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// The error code and message AWS sent, or what went wrong on the way.
pub(crate) fn describe_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E>,
) -> String {
    let status = match e {
        SdkError::ServiceError(se) => format!(" (HTTP {})", se.raw().status().as_u16()),
        _ => String::new(),
    };
    // What to look at for the errors people meet.
    let check = |code: &str| match code {
        c if c.contains("AccessDenied")
            || c.contains("Unauthorized")
            || c.contains("NotAuthorized") =>
        {
            "; check the IAM permissions of the credentials in use"
        }
        "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidClientTokenId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "AuthFailure" => {
            "; check the AWS credentials (AWS_PROFILE or --profile, the environment)"
        }
        "ResourceNotFoundException" | "NoSuchEntity" => {
            "; check the name and the region (--region)"
        }
        _ => "",
    };
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}{status}: {}{}", first_line(msg), check(code)),
        (Some(code), None) => format!("{code}{status}{}", check(code)),
        _ => match e {
            // An answer that is not an AWS error (an endpoint that lacks the operation, a
            // proxy): its status says enough, the body may be a whole HTML page.
            SdkError::ServiceError(se) => {
                let status = se.raw().status().as_u16();
                match status {
                    404 => "HTTP 404: the endpoint does not implement this operation".into(),
                    _ => format!("HTTP {status}: unrecognised error response"),
                }
            }
            // Each cause's own words, once, on one line (the SDK's debug dump is no use
            // to a reader), and what to look at.
            _ => {
                let mut causes: Vec<String> = Vec::new();
                let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
                while let Some(err) = next {
                    let text = first_line(&err.to_string());
                    if !text.is_empty() && !causes.iter().any(|c| c.contains(&text)) {
                        causes.push(text);
                    }
                    next = err.source();
                }
                let all = causes.join(": ");
                let hint = match e {
                    _ if all.contains("credential") => {
                        "check the AWS credentials (AWS_PROFILE or --profile, the environment, \
                         the instance or pod role)"
                    }
                    SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                        "check the region (--region), the endpoint (--endpoint-url) and the \
                         network"
                    }
                    _ => "",
                };
                match hint {
                    "" => all,
                    h => format!("{all}; {h}"),
                }
            }
        },
    }
}

/// The first line of an error text, without a dangling `Attempted:` list heading.
fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    line.strip_suffix("Attempted:")
        .unwrap_or(line)
        .trim_end()
        .trim_end_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_keep_their_first_line() {
        assert_eq!(
            first_line("no credentials found in chain. Attempted:\n  Environment: not set"),
            "no credentials found in chain"
        );
        assert_eq!(
            first_line("User x is not authorized"),
            "User x is not authorized"
        );
    }

    #[test]
    fn role_names_from_arns() {
        assert_eq!(role_name("arn:aws:iam::1:role/a/b/node"), "node");
        assert_eq!(role_name("arn:aws:iam::1:role/node"), "node");
    }
}
