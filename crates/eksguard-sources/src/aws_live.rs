//! Live reads of one EKS cluster and the IAM and EC2 resources around it, with the default
//! credential chain: EKS and IAM through the AWS SDK, EC2 through [`crate::ec2_query`].
//!
//! Each output is rewritten as the JSON the AWS CLI prints for the same call (same
//! wrapper and field names, policy documents decoded) and handed to
//! [`aws_json::classify`], so a live object is the object a saved CLI output would give,
//! with [`Source::Live`]. A call that fails (after the SDK's own retries) becomes an
//! [`InputError`] naming the call, the resource and the rules left without data; the other
//! calls go on.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_eks::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eks::primitives::{DateTime, DateTimeFormat};
use eksguard_model::{InputError, Inventory, Node, Object, Source};
use futures_util::future::{join, join3, join4, join_all};
use serde_json::{json, Map, Value as Json};
use tokio::sync::Semaphore;

use crate::aws_json::{self, Classified};
use crate::ec2_query::{Ec2Client, Ec2Error};

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
const CLUSTER_KINDS: &[&str] = &["EKSCluster"];
const NODEGROUP_KINDS: &[&str] = &[
    "EKSNodegroup",
    "EC2LaunchTemplateVersion",
    "EC2Subnet",
    "IAMAttachedPolicies",
    "IAMRolePolicy",
];
const ACCESS_ENTRY_KINDS: &[&str] = &["EKSAccessEntry", "EKSAccessPolicies"];
const ACCESS_POLICY_KINDS: &[&str] = &["EKSAccessPolicies"];
const POD_IDENTITY_KINDS: &[&str] = &["EKSPodIdentityAssociation"];
const ADDON_KINDS: &[&str] = &["EKSAddon"];
const ROLE_KINDS: &[&str] = &["IAMRole"];
const ATTACHED_POLICY_KINDS: &[&str] = &["IAMAttachedPolicies"];
const ROLE_POLICY_KINDS: &[&str] = &["IAMRolePolicy"];
const SG_KINDS: &[&str] = &["EC2SecurityGroup"];
const LAUNCH_TEMPLATE_KINDS: &[&str] = &["EC2LaunchTemplateVersion"];
const SUBNET_KINDS: &[&str] = &["EC2Subnet"];

/// Every kind a live AWS read produces.
pub fn kinds_read() -> &'static [&'static str] {
    &[
        "EKSCluster",
        "EKSNodegroup",
        "EKSAccessEntry",
        "EKSAccessPolicies",
        "EKSPodIdentityAssociation",
        "EKSAddon",
        "IAMRole",
        "IAMAttachedPolicies",
        "IAMRolePolicy",
        "EC2SecurityGroup",
        "EC2LaunchTemplateVersion",
        "EC2Subnet",
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
    let ctx = Ctx {
        eks: aws_sdk_eks::Client::new(&conf),
        iam: aws_sdk_iam::Client::new(&conf),
        ec2: Ec2Client::new(&conf),
        permits: Semaphore::new(opts.concurrency.max(1)),
        cluster: opts.cluster_name.clone(),
        objects: RefCell::new(Vec::new()),
        errors: RefCell::new(Vec::new()),
        rules_by_kind: opts.rules_by_kind.clone(),
    };
    ctx.run().await;
    let mut objects = ctx.objects.into_inner();
    objects.sort_by(|a, b| {
        (&a.api_version, &a.kind, &a.name).cmp(&(&b.api_version, &b.kind, &b.name))
    });
    let mut inv = Inventory::default();
    for o in objects {
        inv.push(o);
    }
    inv.errors = ctx.errors.into_inner();
    // Calls finish in any order; reports should not.
    inv.errors
        .sort_by(|a, b| (&a.file, &a.message).cmp(&(&b.file, &b.message)));
    Ok(inv)
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

struct Ctx {
    eks: aws_sdk_eks::Client,
    iam: aws_sdk_iam::Client,
    ec2: Ec2Client,
    permits: Semaphore,
    cluster: String,
    // One thread drives every future and no borrow is held across an await.
    objects: RefCell<Vec<Object>>,
    errors: RefCell<Vec<InputError>>,
    rules_by_kind: BTreeMap<String, Vec<String>>,
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
        join(self.security_groups(groups), self.subnets(subnets)).await;
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

    async fn nodegroups(&self) -> Vec<aws_sdk_eks::types::Nodegroup> {
        let resource = format!("cluster/{}", self.cluster);
        let Ok(names) = self
            .call(
                "eks:ListNodegroups",
                &resource,
                NODEGROUP_KINDS,
                self.eks
                    .list_nodegroups()
                    .cluster_name(&self.cluster)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            )
            .await
        else {
            return Vec::new();
        };
        let described = join_all(names.iter().map(|name| async move {
            self.call(
                "eks:DescribeNodegroup",
                &format!("nodegroup/{}/{name}", self.cluster),
                NODEGROUP_KINDS,
                self.eks
                    .describe_nodegroup()
                    .cluster_name(&self.cluster)
                    .nodegroup_name(name)
                    .send(),
            )
            .await
            .ok()
            .and_then(|o| o.nodegroup)
        }))
        .await;
        let nodegroups: Vec<_> = described.into_iter().flatten().collect();
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
                self.add(json!({
                    "clusterName": self.cluster,
                    "principalArn": p,
                    "associatedAccessPolicies":
                        list.iter().map(eks_associated_policy).collect::<Vec<_>>(),
                }));
            }
        }))
        .await;
    }

    async fn pod_identity_associations(&self) -> Vec<aws_sdk_eks::types::PodIdentityAssociation> {
        let resource = format!("cluster/{}", self.cluster);
        let Ok(summaries) = self
            .call(
                "eks:ListPodIdentityAssociations",
                &resource,
                POD_IDENTITY_KINDS,
                self.eks
                    .list_pod_identity_associations()
                    .cluster_name(&self.cluster)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            )
            .await
        else {
            return Vec::new();
        };
        let described = join_all(summaries.iter().filter_map(|s| s.association_id()).map(
            |id| async move {
                self.call(
                    "eks:DescribePodIdentityAssociation",
                    &format!("podidentityassociation/{}/{id}", self.cluster),
                    POD_IDENTITY_KINDS,
                    self.eks
                        .describe_pod_identity_association()
                        .cluster_name(&self.cluster)
                        .association_id(id)
                        .send(),
                )
                .await
                .ok()
                .and_then(|o| o.association)
            },
        ))
        .await;
        let associations: Vec<_> = described.into_iter().flatten().collect();
        for a in &associations {
            self.add(json!({ "association": eks_pod_identity(a) }));
        }
        associations
    }

    async fn addons(&self) -> Vec<aws_sdk_eks::types::Addon> {
        let resource = format!("cluster/{}", self.cluster);
        let Ok(names) = self
            .call(
                "eks:ListAddons",
                &resource,
                ADDON_KINDS,
                self.eks
                    .list_addons()
                    .cluster_name(&self.cluster)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect(),
            )
            .await
        else {
            return Vec::new();
        };
        let described = join_all(names.iter().map(|name| async move {
            self.call(
                "eks:DescribeAddon",
                &format!("addon/{}/{name}", self.cluster),
                ADDON_KINDS,
                self.eks
                    .describe_addon()
                    .cluster_name(&self.cluster)
                    .addon_name(name)
                    .send(),
            )
            .await
            .ok()
            .and_then(|o| o.addon)
        }))
        .await;
        let addons: Vec<_> = described.into_iter().flatten().collect();
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
                    self.add(json!({
                        "RoleName": out.role_name(),
                        "PolicyName": out.policy_name(),
                        "PolicyDocument": policy_json(out.policy_document()),
                    }));
                }
            }))
            .await;
        };
        let (role, attached, ()) = join3(get, attached, inline).await;
        if let Some(r) = role.ok().and_then(|o| o.role) {
            self.add(json!({ "Role": iam_role(&r) }));
        }
        if let Ok(list) = attached {
            // The CLI output does not name the role; the key lets rules join the two.
            self.add(json!({
                "RoleName": name,
                "AttachedPolicies": list.iter().map(|p| {
                    J::new()
                        .s("PolicyName", p.policy_name())
                        .s("PolicyArn", p.policy_arn())
                        .done()
                }).collect::<Vec<_>>(),
            }));
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
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
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
            _ => DisplayErrorContext(e).to_string(),
        },
    }
}

/// IAM returns policy documents URL-encoded; the CLI prints them decoded.
fn decode_policy_text(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn policy_json(text: &str) -> Json {
    let decoded = decode_policy_text(text);
    serde_json::from_str(&decoded).unwrap_or(Json::String(decoded))
}

/// A timestamp as the CLI prints it (Python's `isoformat` in UTC):
/// `2024-05-01T10:00:00+00:00`, with microseconds when there are any.
fn cli_time(d: &DateTime) -> Option<String> {
    let text = d.fmt(DateTimeFormat::DateTime).ok()?;
    let text = text.strip_suffix('Z')?;
    Some(match text.split_once('.') {
        Some((secs, frac)) => format!("{secs}.{:0<6.6}+00:00", frac),
        None => format!("{text}+00:00"),
    })
}

/// A JSON object that leaves out what the API did not return, as the CLI does.
struct J(Map<String, Json>);

impl J {
    fn new() -> Self {
        J(Map::new())
    }
    fn s(mut self, key: &str, v: Option<&str>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Json::String(v.into()));
        }
        self
    }
    fn b(mut self, key: &str, v: Option<bool>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Json::Bool(v));
        }
        self
    }
    fn n(mut self, key: &str, v: Option<impl Into<serde_json::Number>>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), Json::Number(v.into()));
        }
        self
    }
    fn t(self, key: &str, v: Option<&DateTime>) -> Self {
        let text = v.and_then(cli_time);
        self.s(key, text.as_deref())
    }
    fn strs(mut self, key: &str, v: Option<&Vec<String>>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), json!(v));
        }
        self
    }
    fn v(mut self, key: &str, v: Option<Json>) -> Self {
        if let Some(v) = v {
            self.0.insert(key.into(), v);
        }
        self
    }
    fn list<T>(self, key: &str, v: Option<&Vec<T>>, f: impl Fn(&T) -> Json) -> Self {
        let items = v.map(|items| Json::Array(items.iter().map(f).collect()));
        self.v(key, items)
    }
    fn map(self, key: &str, v: Option<&HashMap<String, String>>) -> Self {
        let m = v.map(|m| {
            let sorted: BTreeMap<_, _> = m.iter().collect();
            json!(sorted)
        });
        self.v(key, m)
    }
    fn done(self) -> Json {
        Json::Object(self.0)
    }
}

// EKS: camelCase, as `aws eks describe-*` prints.

// `encryptionConfig[].resources` is deprecated in the SDK, yet the API and the CLI still
// return it and DATA001 reads it.
#[allow(deprecated)]
fn eks_cluster(c: &aws_sdk_eks::types::Cluster) -> Json {
    J::new()
        .s("name", c.name())
        .s("arn", c.arn())
        .t("createdAt", c.created_at())
        .s("version", c.version())
        .s("endpoint", c.endpoint())
        .s("roleArn", c.role_arn())
        .v(
            "resourcesVpcConfig",
            c.resources_vpc_config().map(|v| {
                J::new()
                    .strs("subnetIds", v.subnet_ids.as_ref())
                    .strs("securityGroupIds", v.security_group_ids.as_ref())
                    .s("clusterSecurityGroupId", v.cluster_security_group_id())
                    .s("vpcId", v.vpc_id())
                    .b("endpointPublicAccess", Some(v.endpoint_public_access()))
                    .b("endpointPrivateAccess", Some(v.endpoint_private_access()))
                    .strs("publicAccessCidrs", v.public_access_cidrs.as_ref())
                    .done()
            }),
        )
        .v(
            "kubernetesNetworkConfig",
            c.kubernetes_network_config().map(|k| {
                J::new()
                    .s("serviceIpv4Cidr", k.service_ipv4_cidr())
                    .s("serviceIpv6Cidr", k.service_ipv6_cidr())
                    .s("ipFamily", k.ip_family().map(|f| f.as_str()))
                    .v(
                        "elasticLoadBalancing",
                        k.elastic_load_balancing()
                            .map(|e| J::new().b("enabled", e.enabled()).done()),
                    )
                    .done()
            }),
        )
        .v(
            "logging",
            c.logging().map(|l| {
                J::new()
                    .list("clusterLogging", l.cluster_logging.as_ref(), |s| {
                        J::new()
                            .list("types", s.types.as_ref(), |t| json!(t.as_str()))
                            .b("enabled", s.enabled())
                            .done()
                    })
                    .done()
            }),
        )
        .v(
            "identity",
            c.identity().map(|i| {
                J::new()
                    .v(
                        "oidc",
                        i.oidc().map(|o| J::new().s("issuer", o.issuer()).done()),
                    )
                    .done()
            }),
        )
        .s("status", c.status().map(|s| s.as_str()))
        .s("platformVersion", c.platform_version())
        .map("tags", c.tags())
        .list("encryptionConfig", c.encryption_config.as_ref(), |e| {
            J::new()
                .strs("resources", e.resources.as_ref())
                .v(
                    "provider",
                    e.provider()
                        .map(|p| J::new().s("keyArn", p.key_arn()).done()),
                )
                .done()
        })
        .v(
            "accessConfig",
            c.access_config().map(|a| {
                J::new()
                    .b(
                        "bootstrapClusterCreatorAdminPermissions",
                        a.bootstrap_cluster_creator_admin_permissions(),
                    )
                    .s(
                        "authenticationMode",
                        a.authentication_mode().map(|m| m.as_str()),
                    )
                    .done()
            }),
        )
        .v(
            "upgradePolicy",
            c.upgrade_policy().map(|u| {
                J::new()
                    .s("supportType", u.support_type().map(|s| s.as_str()))
                    .done()
            }),
        )
        .v(
            "computeConfig",
            c.compute_config().map(|cc| {
                J::new()
                    .b("enabled", cc.enabled())
                    .strs("nodePools", cc.node_pools.as_ref())
                    .s("nodeRoleArn", cc.node_role_arn())
                    .done()
            }),
        )
        .b("deletionProtection", c.deletion_protection())
        .done()
}

fn eks_nodegroup(n: &aws_sdk_eks::types::Nodegroup) -> Json {
    J::new()
        .s("nodegroupName", n.nodegroup_name())
        .s("nodegroupArn", n.nodegroup_arn())
        .s("clusterName", n.cluster_name())
        .s("version", n.version())
        .s("releaseVersion", n.release_version())
        .t("createdAt", n.created_at())
        .t("modifiedAt", n.modified_at())
        .s("status", n.status().map(|s| s.as_str()))
        .s("capacityType", n.capacity_type().map(|s| s.as_str()))
        .v(
            "scalingConfig",
            n.scaling_config().map(|s| {
                J::new()
                    .n("minSize", s.min_size())
                    .n("maxSize", s.max_size())
                    .n("desiredSize", s.desired_size())
                    .done()
            }),
        )
        .strs("instanceTypes", n.instance_types.as_ref())
        .strs("subnets", n.subnets.as_ref())
        .v(
            "remoteAccess",
            n.remote_access().map(|r| {
                J::new()
                    .s("ec2SshKey", r.ec2_ssh_key())
                    .strs("sourceSecurityGroups", r.source_security_groups.as_ref())
                    .done()
            }),
        )
        .s("amiType", n.ami_type().map(|s| s.as_str()))
        .s("nodeRole", n.node_role())
        .map("labels", n.labels())
        .list("taints", n.taints.as_ref(), |t| {
            J::new()
                .s("key", t.key())
                .s("value", t.value())
                .s("effect", t.effect().map(|e| e.as_str()))
                .done()
        })
        .v(
            "resources",
            n.resources().map(|r| {
                J::new()
                    .list("autoScalingGroups", r.auto_scaling_groups.as_ref(), |g| {
                        J::new().s("name", g.name()).done()
                    })
                    .s(
                        "remoteAccessSecurityGroup",
                        r.remote_access_security_group(),
                    )
                    .done()
            }),
        )
        .n("diskSize", n.disk_size())
        .v(
            "health",
            n.health().map(|h| {
                J::new()
                    .list("issues", h.issues.as_ref(), |i| {
                        J::new()
                            .s("code", i.code().map(|c| c.as_str()))
                            .s("message", i.message())
                            .strs("resourceIds", i.resource_ids.as_ref())
                            .done()
                    })
                    .done()
            }),
        )
        .v(
            "updateConfig",
            n.update_config().map(|u| {
                J::new()
                    .n("maxUnavailable", u.max_unavailable())
                    .n("maxUnavailablePercentage", u.max_unavailable_percentage())
                    .done()
            }),
        )
        .v(
            "launchTemplate",
            n.launch_template().map(|l| {
                J::new()
                    .s("name", l.name())
                    .s("version", l.version())
                    .s("id", l.id())
                    .done()
            }),
        )
        .map("tags", n.tags())
        .done()
}

fn eks_access_entry(e: &aws_sdk_eks::types::AccessEntry) -> Json {
    J::new()
        .s("clusterName", e.cluster_name())
        .s("principalArn", e.principal_arn())
        .strs("kubernetesGroups", e.kubernetes_groups.as_ref())
        .s("accessEntryArn", e.access_entry_arn())
        .t("createdAt", e.created_at())
        .t("modifiedAt", e.modified_at())
        .map("tags", e.tags())
        .s("username", e.username())
        .s("type", e.r#type())
        .done()
}

fn eks_associated_policy(p: &aws_sdk_eks::types::AssociatedAccessPolicy) -> Json {
    J::new()
        .s("policyArn", p.policy_arn())
        .v(
            "accessScope",
            p.access_scope().map(|s| {
                J::new()
                    .s("type", s.r#type().map(|t| t.as_str()))
                    .strs("namespaces", s.namespaces.as_ref())
                    .done()
            }),
        )
        .t("associatedAt", p.associated_at())
        .t("modifiedAt", p.modified_at())
        .done()
}

fn eks_pod_identity(a: &aws_sdk_eks::types::PodIdentityAssociation) -> Json {
    J::new()
        .s("clusterName", a.cluster_name())
        .s("namespace", a.namespace())
        .s("serviceAccount", a.service_account())
        .s("roleArn", a.role_arn())
        .s("associationArn", a.association_arn())
        .s("associationId", a.association_id())
        .map("tags", a.tags())
        .t("createdAt", a.created_at())
        .t("modifiedAt", a.modified_at())
        .s("ownerArn", a.owner_arn())
        .b("disableSessionTags", a.disable_session_tags())
        .s("targetRoleArn", a.target_role_arn())
        .s("externalId", a.external_id())
        .done()
}

fn eks_addon(a: &aws_sdk_eks::types::Addon) -> Json {
    J::new()
        .s("addonName", a.addon_name())
        .s("clusterName", a.cluster_name())
        .s("status", a.status().map(|s| s.as_str()))
        .s("addonVersion", a.addon_version())
        .s("addonArn", a.addon_arn())
        .t("createdAt", a.created_at())
        .t("modifiedAt", a.modified_at())
        .s("serviceAccountRoleArn", a.service_account_role_arn())
        .map("tags", a.tags())
        .s("publisher", a.publisher())
        .s("owner", a.owner())
        .s("configurationValues", a.configuration_values())
        .strs(
            "podIdentityAssociations",
            a.pod_identity_associations.as_ref(),
        )
        .v(
            "namespaceConfig",
            a.namespace_config()
                .map(|n| J::new().s("namespace", n.namespace()).done()),
        )
        .done()
}

// IAM and EC2: PascalCase, as `aws iam` / `aws ec2` print.

fn iam_tags(tags: &[aws_sdk_iam::types::Tag]) -> Json {
    Json::Array(
        tags.iter()
            .map(|t| json!({ "Key": t.key(), "Value": t.value() }))
            .collect(),
    )
}

fn iam_role(r: &aws_sdk_iam::types::Role) -> Json {
    J::new()
        .s("Path", Some(r.path()))
        .s("RoleName", Some(r.role_name()))
        .s("RoleId", Some(r.role_id()))
        .s("Arn", Some(r.arn()))
        .t("CreateDate", Some(r.create_date()))
        .v(
            "AssumeRolePolicyDocument",
            r.assume_role_policy_document().map(policy_json),
        )
        .s("Description", r.description())
        .n("MaxSessionDuration", r.max_session_duration())
        .v(
            "PermissionsBoundary",
            r.permissions_boundary().map(|b| {
                J::new()
                    .s(
                        "PermissionsBoundaryType",
                        b.permissions_boundary_type().map(|t| t.as_str()),
                    )
                    .s("PermissionsBoundaryArn", b.permissions_boundary_arn())
                    .done()
            }),
        )
        .v("Tags", r.tags.as_ref().map(|t| iam_tags(t)))
        .v(
            "RoleLastUsed",
            r.role_last_used().map(|u| {
                J::new()
                    .t("LastUsedDate", u.last_used_date())
                    .s("Region", u.region())
                    .done()
            }),
        )
        .done()
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents, ParseLimits};

    /// The objects `classify` makes of CLI output text, positions dropped.
    fn from_cli(text: &str) -> Vec<(String, String, Json)> {
        let mut docs = parse_documents(text, false, ParseLimits::default());
        let Ok(doc) = docs.remove(0) else {
            panic!("bad fixture")
        };
        match aws_json::classify(doc.root, &Arc::from("cli.json"), 0) {
            Classified::Objects(o) => o
                .into_iter()
                .map(|o| (o.kind.to_string(), o.name.to_string(), o.root.to_json()))
                .collect(),
            other => panic!("not objects: {other:?}"),
        }
    }

    fn from_live(cli_json: Json) -> Vec<(String, String, Json)> {
        match aws_json::classify(Node::from_json(&cli_json), &Arc::from("live"), 0) {
            Classified::Objects(o) => o
                .into_iter()
                .map(|o| (o.kind.to_string(), o.name.to_string(), o.root.to_json()))
                .collect(),
            other => panic!("not objects: {other:?}"),
        }
    }

    #[test]
    fn live_cluster_equals_describe_cluster_output() {
        use aws_sdk_eks::types::*;
        let c = Cluster::builder()
            .name("prod")
            .arn("arn:aws:eks:eu-west-1:111122223333:cluster/prod")
            .version("1.31")
            .role_arn("arn:aws:iam::111122223333:role/eks")
            .resources_vpc_config(
                VpcConfigResponse::builder()
                    .subnet_ids("subnet-1")
                    .security_group_ids("sg-1")
                    .cluster_security_group_id("sg-2")
                    .endpoint_public_access(true)
                    .endpoint_private_access(false)
                    .public_access_cidrs("0.0.0.0/0")
                    .build(),
            )
            .logging(
                Logging::builder()
                    .cluster_logging(
                        LogSetup::builder()
                            .types(LogType::Api)
                            .types(LogType::Audit)
                            .enabled(false)
                            .build(),
                    )
                    .build(),
            )
            .access_config(
                AccessConfigResponse::builder()
                    .bootstrap_cluster_creator_admin_permissions(true)
                    .authentication_mode(AuthenticationMode::ConfigMap)
                    .build(),
            )
            .build();
        let cli = r#"{
            "cluster": {
                "name": "prod",
                "arn": "arn:aws:eks:eu-west-1:111122223333:cluster/prod",
                "version": "1.31",
                "roleArn": "arn:aws:iam::111122223333:role/eks",
                "resourcesVpcConfig": {
                    "subnetIds": ["subnet-1"],
                    "securityGroupIds": ["sg-1"],
                    "clusterSecurityGroupId": "sg-2",
                    "endpointPublicAccess": true,
                    "endpointPrivateAccess": false,
                    "publicAccessCidrs": ["0.0.0.0/0"]
                },
                "logging": {"clusterLogging": [{"types": ["api", "audit"], "enabled": false}]},
                "accessConfig": {
                    "bootstrapClusterCreatorAdminPermissions": true,
                    "authenticationMode": "CONFIG_MAP"
                }
            }
        }"#;
        assert_eq!(
            from_live(json!({ "cluster": eks_cluster(&c) })),
            from_cli(cli)
        );
    }

    #[test]
    fn live_role_equals_get_role_output() {
        use aws_sdk_iam::types::Role;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        let Ok(r) = Role::builder()
            .path("/")
            .role_name("node")
            .role_id("AROA1")
            .arn("arn:aws:iam::111122223333:role/node")
            .create_date(DateTime::from_secs(1_700_000_000))
            .assume_role_policy_document(encoded)
            .build()
        else {
            panic!("role builds")
        };
        let cli = r#"{"Role": {
            "Path": "/", "RoleName": "node", "RoleId": "AROA1",
            "Arn": "arn:aws:iam::111122223333:role/node",
            "CreateDate": "2023-11-14T22:13:20+00:00",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        }}"#;
        assert_eq!(from_live(json!({ "Role": iam_role(&r) })), from_cli(cli));
    }

    #[test]
    fn timestamps_as_the_cli_prints_them() {
        assert_eq!(
            cli_time(&DateTime::from_secs(1_700_000_000)).as_deref(),
            Some("2023-11-14T22:13:20+00:00")
        );
        assert_eq!(
            cli_time(&DateTime::from_millis(1_700_000_000_492)).as_deref(),
            Some("2023-11-14T22:13:20.492000+00:00")
        );
    }

    #[test]
    fn role_names_from_arns() {
        assert_eq!(role_name("arn:aws:iam::1:role/a/b/node"), "node");
        assert_eq!(role_name("arn:aws:iam::1:role/node"), "node");
    }

    #[test]
    fn policy_documents_are_decoded_into_objects() {
        let doc = policy_json("%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D");
        assert_eq!(doc, json!({"Version": "2012-10-17", "Statement": []}));
    }
}
