//! The requests of a live read: which calls follow from which answers, paging, the
//! concurrency limit, and how a failed call becomes an error naming the rules it leaves
//! without data.

use eksguard_model::aws_kinds as k;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

use eksguard_model::{InputError, Node, Object, Source};
use futures_util::future::{join, join3, join4, join_all};

/// Users whose access keys are listed; past it the rest are reported as not read.
const MAX_USERS: usize = 1_000;
const ACCESS_KEY_KINDS: &[&str] = &[k::IAM_ACCESS_KEY];

/// Kinds of the EC2 network reads, for the rules a failed call leaves unchecked.
const FLOW_LOG_KINDS: &[&str] = &[k::EC2_FLOW_LOG_LIST, k::EC2_FLOW_LOG];
const VPC_ENDPOINT_KINDS: &[&str] = &[k::EC2_VPC_ENDPOINT_LIST, k::EC2_VPC_ENDPOINT];
const INSTANCE_TYPE_KINDS: &[&str] = &[k::EC2_INSTANCE_TYPE];
use serde_json::{json, Value as Json};
use tokio::sync::Semaphore;

use super::convert::{
    decode_policy_text, eks_access_entry, eks_addon, eks_associated_policies, eks_cluster,
    eks_nodegroup, eks_pod_identity, iam_attached_policies, iam_policy_version, iam_role,
    iam_role_policy, IAM_ACCESS_KEY, IAM_ATTACHED_POLICY, IAM_POLICY, IAM_POLICY_VERSION, IAM_ROLE,
    IAM_ROLE_POLICY, IAM_USER,
};
use super::{
    LiveOptions, ACCESS_ENTRY_KINDS, ACCESS_POLICY_KINDS, ADDON_KINDS, ATTACHED_POLICY_KINDS,
    CLUSTER_KINDS, LAUNCH_TEMPLATE_KINDS, NODEGROUP_KINDS, POD_IDENTITY_KINDS, POLICY_KINDS,
    ROLE_KINDS, ROLE_POLICY_KINDS, SG_KINDS, SUBNET_KINDS,
};
use crate::aws_api::{Eks, Iam};
use crate::aws_request::AwsError;
use crate::ec2_query::{Ec2Client, Ec2Error, STR};
use eksguard_load::aws_json::{self, Classified};

/// Makes every call of a live read with the SDK configuration `conf`: the objects made of
/// the answers, and an error for each call that failed.
pub(super) async fn fetch(
    conf: &aws_config::SdkConfig,
    opts: &LiveOptions,
) -> (Vec<Object>, Vec<InputError>) {
    let ctx = Ctx {
        eks: Eks::new(conf),
        iam: Iam::new(conf),
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
    eks: Eks,
    iam: Iam,
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
                self.eks.describe_cluster(&self.cluster),
            )
            .await;
        match described {
            Ok(out) => {
                if let Some(c) = out {
                    refs.add_cluster(&c);
                    self.add(json!({ "cluster": eks_cluster(&c) }));
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
            refs.roles.extend(text(a, "roleArn"));
            refs.roles.extend(text(a, "targetRoleArn"));
        }
        for a in &addons {
            refs.roles.extend(text(a, "serviceAccountRoleArn"));
        }

        // IAM and the launch templates are independent; security groups and subnets wait
        // for the templates, which name more of them.
        let (((), ()), (lt_groups, lt_subnets)) = join(
            join(self.roles(&refs), self.access_keys()),
            self.launch_templates(&refs),
        )
        .await;
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

    /// Runs one call under the concurrency limit; a failure is recorded and its error
    /// code handed back.
    async fn call<T>(
        &self,
        api: &str,
        resource: &str,
        kinds: &[&str],
        fut: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, Option<String>> {
        self.permitted(fut).await.map_err(|e| {
            self.fail(api, resource, kinds, &e.to_string());
            e.code
        })
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
    async fn list_then_describe<K, D>(
        &self,
        (list_api, describe_api): (&str, &str),
        kinds: &[&str],
        list: impl Future<Output = Result<Vec<K>, AwsError>>,
        describe: impl Fn(&K) -> Option<(String, D)>,
    ) -> Vec<Json>
    where
        D: Future<Output = Result<Option<Json>, AwsError>>,
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

    async fn nodegroups(&self) -> Vec<Json> {
        let nodegroups = self
            .list_then_describe(
                ("eks:ListNodegroups", "eks:DescribeNodegroup"),
                NODEGROUP_KINDS,
                self.eks.list_nodegroups(&self.cluster),
                |name: &String| {
                    let name = name.clone();
                    let resource = format!("nodegroup/{}/{name}", self.cluster);
                    let fut =
                        async move { self.eks.describe_nodegroup(&self.cluster, &name).await };
                    Some((resource, fut))
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
                self.eks.list_access_entries(&self.cluster),
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
                self.eks.describe_access_entry(&self.cluster, p),
            );
            let policies = self.call(
                "eks:ListAssociatedAccessPolicies",
                p,
                ACCESS_POLICY_KINDS,
                self.eks.list_associated_access_policies(&self.cluster, p),
            );
            let (entry, policies) = join(describe, policies).await;
            if let Some(e) = entry.ok().flatten() {
                self.add(json!({ "accessEntry": eks_access_entry(&e) }));
            }
            if let Ok(list) = policies {
                self.add(eks_associated_policies(&self.cluster, p, &list));
            }
        }))
        .await;
    }

    async fn pod_identity_associations(&self) -> Vec<Json> {
        let associations = self
            .list_then_describe(
                (
                    "eks:ListPodIdentityAssociations",
                    "eks:DescribePodIdentityAssociation",
                ),
                POD_IDENTITY_KINDS,
                self.eks.list_pod_identity_associations(&self.cluster),
                |summary: &Json| {
                    let id = summary.get("associationId")?.as_str()?.to_string();
                    let resource = format!("podidentityassociation/{}/{id}", self.cluster);
                    let fut = async move {
                        self.eks
                            .describe_pod_identity_association(&self.cluster, &id)
                            .await
                    };
                    Some((resource, fut))
                },
            )
            .await;
        for a in &associations {
            self.add(json!({ "association": eks_pod_identity(a) }));
        }
        associations
    }

    async fn addons(&self) -> Vec<Json> {
        let addons = self
            .list_then_describe(
                ("eks:ListAddons", "eks:DescribeAddon"),
                ADDON_KINDS,
                self.eks.list_addons(&self.cluster),
                |name: &String| {
                    let name = name.clone();
                    let resource = format!("addon/{}/{name}", self.cluster);
                    let fut = async move { self.eks.describe_addon(&self.cluster, &name).await };
                    Some((resource, fut))
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
                    self.iam.pages("ListRoles", &[], "Roles", &IAM_ROLE),
                )
                .await
            {
                arns.extend(
                    roles
                        .iter()
                        .filter(|r| {
                            text(r, "AssumeRolePolicyDocument")
                                .map(|d| decode_policy_text(&d))
                                .is_some_and(|doc| doc.contains(&provider))
                        })
                        .filter_map(|r| text(r, "Arn")),
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
        let by_name = [("RoleName", name)];
        let get = self.call(
            "iam:GetRole",
            resource,
            ROLE_KINDS,
            self.iam.get("GetRole", &by_name, "Role", &IAM_ROLE),
        );
        let attached = self.call(
            "iam:ListAttachedRolePolicies",
            resource,
            ATTACHED_POLICY_KINDS,
            self.iam.pages(
                "ListAttachedRolePolicies",
                &by_name,
                "AttachedPolicies",
                &IAM_ATTACHED_POLICY,
            ),
        );
        let inline = async {
            let Ok(policy_names) = self
                .call(
                    "iam:ListRolePolicies",
                    resource,
                    ROLE_POLICY_KINDS,
                    self.iam
                        .pages("ListRolePolicies", &by_name, "PolicyNames", &STR),
                )
                .await
            else {
                return;
            };
            join_all(
                policy_names
                    .iter()
                    .filter_map(Json::as_str)
                    .map(|policy| async move {
                        let params = [("RoleName", name), ("PolicyName", policy)];
                        let resource = format!("{arn}/{policy}");
                        let got =
                            self.call("iam:GetRolePolicy", &resource, ROLE_POLICY_KINDS, async {
                                let result = self.iam.call("GetRolePolicy", &params).await?;
                                Ok(crate::ec2_query::convert(&result, &IAM_ROLE_POLICY))
                            });
                        if let Ok(Some(out)) = got.await {
                            self.add(iam_role_policy(out));
                        }
                    }),
            )
            .await;
        };
        let (role, attached, ()) = join3(get, attached, inline).await;
        if let Some(r) = role.ok().flatten() {
            self.add(json!({ "Role": iam_role(r) }));
        }
        if let Ok(list) = attached {
            self.add(iam_attached_policies(name, &list));
            let customer = list
                .iter()
                .filter_map(|p| text(p, "PolicyArn"))
                .filter(|arn| arn.split(':').nth(4) != Some("aws"))
                .collect::<Vec<_>>();
            join_all(customer.iter().map(|arn| self.policy(arn))).await;
        }
    }

    /// The access keys of the account's IAM users (a user mapped into the cluster with an
    /// old active key is a finding), for the first [`MAX_USERS`] users.
    async fn access_keys(&self) {
        let Ok(users) = self
            .call(
                "iam:ListUsers",
                "users",
                ACCESS_KEY_KINDS,
                self.iam.pages("ListUsers", &[], "Users", &IAM_USER),
            )
            .await
        else {
            return;
        };
        let names: Vec<String> = users.iter().filter_map(|u| text(u, "UserName")).collect();
        if names.len() > MAX_USERS {
            self.fail(
                "iam:ListAccessKeys",
                "users",
                ACCESS_KEY_KINDS,
                &format!(
                    "{} users; the access keys of the first {MAX_USERS} were read (the cap), \
                     those of the other {} were not",
                    names.len(),
                    names.len() - MAX_USERS
                ),
            );
        }
        join_all(names.iter().take(MAX_USERS).map(|name| async move {
            let params = [("UserName", name.as_str())];
            if let Ok(keys) = self
                .call(
                    "iam:ListAccessKeys",
                    &format!("user/{name}"),
                    ACCESS_KEY_KINDS,
                    self.iam.pages(
                        "ListAccessKeys",
                        &params,
                        "AccessKeyMetadata",
                        &IAM_ACCESS_KEY,
                    ),
                )
                .await
            {
                if !keys.is_empty() {
                    self.add(json!({ "AccessKeyMetadata": keys }));
                }
            }
        }))
        .await;
    }

    /// The default version of a customer-managed policy, once per run: several roles may
    /// share it.
    async fn policy(&self, arn: &str) {
        if !self.policies_seen.borrow_mut().insert(arn.to_string()) {
            return;
        }
        let by_arn = [("PolicyArn", arn)];
        let Ok(got) = self
            .call(
                "iam:GetPolicy",
                arn,
                POLICY_KINDS,
                self.iam.get("GetPolicy", &by_arn, "Policy", &IAM_POLICY),
            )
            .await
        else {
            return;
        };
        let Some(version) = got.as_ref().and_then(|p| text(p, "DefaultVersionId")) else {
            return;
        };
        let params = [("PolicyArn", arn), ("VersionId", version.as_str())];
        if let Ok(Some(v)) = self
            .call(
                "iam:GetPolicyVersion",
                arn,
                POLICY_KINDS,
                self.iam.get(
                    "GetPolicyVersion",
                    &params,
                    "PolicyVersion",
                    &IAM_POLICY_VERSION,
                ),
            )
            .await
        {
            self.add(iam_policy_version(arn, v));
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
    fn add_cluster(&mut self, c: &Json) {
        self.roles.extend(text(c, "roleArn"));
        let vpc = c.get("resourcesVpcConfig");
        let at = |p: &str| c.pointer(p);
        if vpc.is_some() {
            self.vpc = text_at(at("/resourcesVpcConfig/vpcId"));
            self.cluster_subnets
                .extend(strings(at("/resourcesVpcConfig/subnetIds")));
        }
        for e in c
            .get("encryptionConfig")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            self.keys.extend(text_at(e.pointer("/provider/keyArn")));
        }
        self.account = text(c, "arn").and_then(|a| a.split(':').nth(4).map(str::to_string));
        self.roles.extend(text_at(at("/computeConfig/nodeRoleArn")));
        if vpc.is_some() {
            self.security_groups
                .extend(strings(at("/resourcesVpcConfig/securityGroupIds")));
            self.security_groups
                .extend(text_at(at("/resourcesVpcConfig/clusterSecurityGroupId")));
            self.subnets
                .extend(strings(at("/resourcesVpcConfig/subnetIds")));
        }
        self.oidc_issuer = text_at(at("/identity/oidc/issuer"));
    }

    fn add_nodegroup(&mut self, n: &Json) {
        self.roles.extend(text(n, "nodeRole"));
        self.subnets.extend(strings(n.get("subnets")));
        self.instance_types.extend(strings(n.get("instanceTypes")));
        self.security_groups
            .extend(strings(n.pointer("/remoteAccess/sourceSecurityGroups")));
        self.security_groups
            .extend(text_at(n.pointer("/resources/remoteAccessSecurityGroup")));
        if let Some(lt) = n.get("launchTemplate") {
            let key = match (text(lt, "id"), text(lt, "name")) {
                (Some(id), _) => (id, true),
                (None, Some(name)) => (name, false),
                (None, None) => return,
            };
            let version = text(lt, "version").unwrap_or_else(|| "$Default".to_string());
            self.launch_templates
                .entry(key)
                .or_default()
                .insert(version);
        }
    }
}

/// A string member of an answer.
fn text(v: &Json, key: &str) -> Option<String> {
    text_at(v.get(key))
}

fn text_at(v: Option<&Json>) -> Option<String> {
    v.and_then(Json::as_str).map(str::to_string)
}

/// The strings of a list member.
fn strings(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `arn:aws:iam::1:role/path/name` -> `name`.
fn role_name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_from_arns() {
        assert_eq!(role_name("arn:aws:iam::1:role/a/b/node"), "node");
        assert_eq!(role_name("arn:aws:iam::1:role/node"), "node");
    }

    #[test]
    fn references_from_a_described_cluster() {
        let mut refs = Refs::default();
        refs.add_cluster(&json!({
            "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/prod",
            "roleArn": "arn:aws:iam::111122223333:role/eks",
            "resourcesVpcConfig": {"vpcId": "vpc-1", "subnetIds": ["subnet-1"],
                "securityGroupIds": ["sg-1"], "clusterSecurityGroupId": "sg-2"},
            "encryptionConfig": [{"provider": {"keyArn": "arn:aws:kms:eu-west-1:1:key/k"}}],
            "identity": {"oidc": {"issuer": "https://oidc.eks/id/X"}}
        }));
        assert_eq!(refs.account.as_deref(), Some("111122223333"));
        assert_eq!(refs.vpc.as_deref(), Some("vpc-1"));
        assert_eq!(refs.security_groups.len(), 2);
        assert_eq!(refs.keys.len(), 1);
        assert_eq!(refs.oidc_issuer.as_deref(), Some("https://oidc.eks/id/X"));
        refs.add_nodegroup(&json!({"nodeRole": "arn:aws:iam::111122223333:role/n",
            "launchTemplate": {"name": "lt", "version": "3"}, "instanceTypes": ["t3.large"]}));
        assert!(refs
            .launch_templates
            .contains_key(&("lt".to_string(), false)));
        assert_eq!(refs.roles.len(), 2);
    }
}
