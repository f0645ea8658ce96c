//! Terraform resources (from HCL or from a plan, which share attribute names) mapped onto
//! the AWS CLI shapes of [`crate::aws_json`] and onto Kubernetes objects.
//!
//! Identifiers Terraform computes are stood in for by the address (`aws_security_group.node`
//! for its ID, `arn:aws:iam::000000000000:role/NAME` for a role's ARN), the same stand-in
//! the HCL reader gives a reference to that attribute, so joins find each other.

use std::sync::Arc;

use eksguard_model::{FieldPath, Node, Object, Pos, Source, Value};

use super::{document, str_node, Shape, Val, V};

#[path = "tf_services.rs"]
mod services;
use crate::aws_json::{EC2, EKS, IAM};

pub use super::ACCOUNT;

pub fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{name}")
}

fn p(s: &str) -> FieldPath {
    FieldPath::parse(s)
}

/// Where one resource comes from, for the objects made of it.
pub struct Res<'a> {
    pub format: &'a str,
    /// Scope of stand-in identifiers (the directory, or the plan file).
    pub scope: &'a str,
    pub ty: &'a str,
    pub address: &'a str,
    pub attrs: &'a V,
    pub pos: Pos,
    pub file: u32,
    pub path: &'a Arc<str>,
    pub suppressions: &'a [(Pos, String)],
    pub unknown_count: Option<&'a str>,
}

impl Res<'_> {
    fn shape(&self) -> Shape {
        let mut s = Shape::new(self.format, self.ty, self.address, self.pos, self.file);
        for (pos, text) in self.suppressions {
            s.suppress(*pos, text.clone());
        }
        if let Some(expr) = self.unknown_count {
            s.unknown(&FieldPath::root(), expr);
        }
        s
    }

    fn get(&self, k: &str) -> Option<&V> {
        self.attrs.get(k)
    }

    /// A nested block's first item (`vpc_config[0]`).
    fn block(&self, k: &str) -> Option<&V> {
        self.attrs.get(k).and_then(V::first)
    }

    fn text(&self, k: &str) -> Option<String> {
        self.get(k).and_then(V::text)
    }

    /// The stand-in for an identifier only apply knows.
    fn stand_in(&self) -> String {
        super::stand_in(self.scope, self.address)
    }
}

/// The objects one Terraform resource describes (none for types no rule reads).
#[allow(clippy::too_many_arguments)]
pub fn map_resource(
    format: &str,
    scope: &str,
    ty: &str,
    address: &str,
    attrs: &V,
    pos: Pos,
    file: u32,
    path: &Arc<str>,
    suppressions: &[(Pos, String)],
    unknown_count: Option<&str>,
    default_ns: &str,
) -> Vec<Object> {
    let r = Res {
        format,
        scope,
        ty,
        address,
        attrs,
        pos,
        file,
        path,
        suppressions,
        unknown_count,
    };
    match ty {
        "aws_eks_cluster" => cluster(&r),
        "aws_eks_node_group" => vec![node_group(&r)],
        "aws_eks_access_entry" => vec![access_entry(&r)],
        "aws_eks_access_policy_association" => vec![access_policy(&r)],
        "aws_eks_pod_identity_association" => vec![pod_identity(&r)],
        "aws_eks_addon" => vec![addon(&r)],
        "aws_launch_template" => vec![launch_template(&r)],
        "aws_security_group" => vec![security_group(&r)],
        "aws_security_group_rule" => security_group_rule(&r).into_iter().collect(),
        "aws_vpc_security_group_ingress_rule" => vec![vpc_ingress_rule(&r)],
        "aws_iam_role" => iam_role(&r),
        "aws_iam_role_policy_attachment" => vec![attachment(&r)],
        "aws_iam_role_policy" => vec![role_policy(&r)],
        "aws_iam_policy" => vec![managed_policy(&r)],
        "aws_eks_identity_provider_config" => vec![identity_provider(&r)],
        "aws_subnet" => vec![subnet(&r)],
        "kubernetes_config_map" | "kubernetes_config_map_v1" | "kubernetes_config_map_v1_data" => {
            config_map(&r, default_ns).into_iter().collect()
        }
        "kubernetes_manifest" => manifest(&r, default_ns).into_iter().collect(),
        t if services::TYPES.contains(&t) => services::map(&r),
        _ => Vec::new(),
    }
}

fn cluster(r: &Res) -> Vec<Object> {
    let mut s = r.shape();
    let mut created_sg = None;
    let name = r.text("name").unwrap_or_else(|| r.address.to_string());
    s.set("name", r.get("name"), &p("name"));
    s.set("version", r.get("version"), &p("version"));
    s.set_link("roleArn", r.get("role_arn"), &p("role_arn"));
    let vpc = r.block("vpc_config");
    let vpc_pos = vpc.map_or(r.pos, |v| v.pos);
    s.set_node(
        "resourcesVpcConfig",
        Node::new(Value::Map(Vec::new()), vpc_pos),
        Some(&p("vpc_config[0]")),
    );
    if let Some(vpc) = vpc {
        if vpc.is_unknown() {
            s.unknown(&p("resourcesVpcConfig"), "dynamic \"vpc_config\"");
        }
        let base = "vpc_config[0]";
        for (cli, own) in [
            ("endpointPublicAccess", "endpoint_public_access"),
            ("endpointPrivateAccess", "endpoint_private_access"),
            ("publicAccessCidrs", "public_access_cidrs"),
        ] {
            s.map_path(
                &format!("resourcesVpcConfig.{cli}"),
                &p(&format!("{base}.{own}")),
            );
            s.set(
                &format!("resourcesVpcConfig.{cli}"),
                vpc.get(own),
                &p(&format!("{base}.{own}")),
            );
        }
        s.set_link(
            "resourcesVpcConfig.subnetIds",
            vpc.get("subnet_ids"),
            &p(&format!("{base}.subnet_ids")),
        );
        s.set_link(
            "resourcesVpcConfig.securityGroupIds",
            vpc.get("security_group_ids"),
            &p(&format!("{base}.security_group_ids")),
        );
        let csg = vpc
            .get("cluster_security_group_id")
            .and_then(V::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.cluster_security_group_id", r.stand_in()));
        s.set_node(
            "resourcesVpcConfig.clusterSecurityGroupId",
            str_node(&csg, vpc_pos),
            None,
        );
        created_sg = Some(super::eks_cluster_security_group(
            r.shape(),
            &csg,
            &p(base),
            vpc_pos,
            r.path,
        ));
    }
    s.tie(&[
        "resourcesVpcConfig.endpointPublicAccess",
        "resourcesVpcConfig.publicAccessCidrs",
    ]);
    // Control-plane logs: the list of enabled types, none when absent.
    s.map_path("logging.clusterLogging", &p("enabled_cluster_log_types"));
    s.map_path(
        "logging.clusterLogging[0].types",
        &p("enabled_cluster_log_types"),
    );
    match r.get("enabled_cluster_log_types") {
        Some(types) if !matches!(types.val, Val::Null) => {
            let item = V::new(
                Val::Map(vec![
                    ("types".into(), types.clone()),
                    (
                        "enabled".into(),
                        V::new(Val::Bool(true), types.pos, types.file),
                    ),
                ]),
                types.pos,
                types.file,
            );
            let list = V::new(Val::List(vec![item]), types.pos, types.file);
            s.set(
                "logging.clusterLogging",
                Some(&list),
                &p("enabled_cluster_log_types"),
            );
        }
        _ => s.set_node(
            "logging.clusterLogging",
            Node::new(Value::Seq(Vec::new()), r.pos),
            None,
        ),
    }
    // Envelope encryption: `encryption_config { resources, provider { key_arn } }`.
    s.map_path("encryptionConfig", &p("encryption_config"));
    if let Some(list) = r.get("encryption_config") {
        if list.is_unknown() {
            s.unknown(&p("encryptionConfig"), "dynamic \"encryption_config\"");
        }
        for i in 0..list.items().len() {
            s.map_path(
                &format!("encryptionConfig[{i}]"),
                &p(&format!("encryption_config[{i}]")),
            );
        }
        let items: Vec<V> = list
            .items()
            .iter()
            .map(|ec| {
                let mut entries = vec![];
                if let Some(res) = ec.get("resources") {
                    entries.push(("resources".to_string(), res.clone()));
                }
                if let Some(k) = ec
                    .get("provider")
                    .and_then(V::first)
                    .and_then(|pv| pv.get("key_arn"))
                {
                    entries.push((
                        "provider".to_string(),
                        V::new(Val::Map(vec![("keyArn".into(), k.clone())]), k.pos, k.file),
                    ));
                }
                V::new(Val::Map(entries), ec.pos, ec.file)
            })
            .collect();
        if !list.is_unknown() {
            s.set(
                "encryptionConfig",
                Some(&V::new(Val::List(items), list.pos, list.file)),
                &p("encryption_config"),
            );
        }
    }
    if let Some(ac) = r.block("access_config") {
        s.set(
            "accessConfig.authenticationMode",
            ac.get("authentication_mode"),
            &p("access_config[0].authentication_mode"),
        );
        s.set(
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
            ac.get("bootstrap_cluster_creator_admin_permissions"),
            &p("access_config[0].bootstrap_cluster_creator_admin_permissions"),
        );
    }
    s.map_path("accessConfig", &p("access_config"));
    s.map_path(
        "accessConfig.authenticationMode",
        &p("access_config[0].authentication_mode"),
    );
    s.map_path(
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        &p("access_config[0].bootstrap_cluster_creator_admin_permissions"),
    );
    let mut out = vec![s.build(EKS, "EKSCluster", &name, r.path)];
    out.extend(created_sg);
    out
}

fn node_group(r: &Res) -> Object {
    let mut s = r.shape();
    let name = r
        .text("node_group_name")
        .or_else(|| r.text("node_group_name_prefix"))
        .unwrap_or_else(|| r.address.to_string());
    s.set("clusterName", r.get("cluster_name"), &p("cluster_name"));
    s.set_node(
        "nodegroupName",
        str_node(&name, r.pos),
        Some(&p("node_group_name")),
    );
    s.set_link("nodeRole", r.get("node_role_arn"), &p("node_role_arn"));
    s.set_link("subnets", r.get("subnet_ids"), &p("subnet_ids"));
    s.set("amiType", r.get("ami_type"), &p("ami_type"));
    s.set("version", r.get("version"), &p("version"));
    s.set(
        "releaseVersion",
        r.get("release_version"),
        &p("release_version"),
    );
    if let Some(ra) = r.block("remote_access") {
        s.set(
            "remoteAccess.ec2SshKey",
            ra.get("ec2_ssh_key"),
            &p("remote_access[0].ec2_ssh_key"),
        );
        s.set_link(
            "remoteAccess.sourceSecurityGroups",
            ra.get("source_security_group_ids"),
            &p("remote_access[0].source_security_group_ids"),
        );
        s.map_path("remoteAccess", &p("remote_access[0]"));
    }
    if let Some(lt) = r.block("launch_template") {
        for (cli, own) in [("id", "id"), ("name", "name"), ("version", "version")] {
            let v = lt.get(own).map(|v| match v.val {
                // The version is text in the CLI output.
                Val::Int(i) => V::new(Val::Str(i.to_string()), v.pos, v.file),
                _ => v.clone(),
            });
            s.set_link(
                &format!("launchTemplate.{cli}"),
                v.as_ref(),
                &p(&format!("launch_template[0].{own}")),
            );
        }
    }
    s.build(EKS, "EKSNodegroup", &name, r.path)
}

fn access_entry(r: &Res) -> Object {
    let mut s = r.shape();
    s.set("clusterName", r.get("cluster_name"), &p("cluster_name"));
    s.set("principalArn", r.get("principal_arn"), &p("principal_arn"));
    s.set(
        "kubernetesGroups",
        r.get("kubernetes_groups"),
        &p("kubernetes_groups"),
    );
    s.set("type", r.get("type"), &p("type"));
    s.set("username", r.get("user_name"), &p("user_name"));
    let name = r
        .text("principal_arn")
        .unwrap_or_else(|| r.address.to_string());
    s.build(EKS, "EKSAccessEntry", &name, r.path)
}

fn access_policy(r: &Res) -> Object {
    let mut s = r.shape();
    s.set("clusterName", r.get("cluster_name"), &p("cluster_name"));
    s.set("principalArn", r.get("principal_arn"), &p("principal_arn"));
    let scope = r.block("access_scope");
    let mut item = vec![];
    if let Some(a) = r.get("policy_arn") {
        item.push(("policyArn".to_string(), a.clone()));
    }
    if let Some(sc) = scope {
        let mut m = vec![];
        if let Some(t) = sc.get("type") {
            m.push(("type".to_string(), t.clone()));
        }
        if let Some(n) = sc.get("namespaces") {
            m.push(("namespaces".to_string(), n.clone()));
        }
        item.push((
            "accessScope".to_string(),
            V::new(Val::Map(m), sc.pos, sc.file),
        ));
    }
    let list = V::new(
        Val::List(vec![V::new(Val::Map(item), r.pos, r.file)]),
        r.pos,
        r.file,
    );
    s.map_path("associatedAccessPolicies[0].policyArn", &p("policy_arn"));
    s.map_path(
        "associatedAccessPolicies[0].accessScope",
        &p("access_scope[0]"),
    );
    s.set("associatedAccessPolicies", Some(&list), &FieldPath::root());
    let name = r
        .text("principal_arn")
        .unwrap_or_else(|| r.address.to_string());
    s.build(EKS, "EKSAccessPolicies", &name, r.path)
}

fn pod_identity(r: &Res) -> Object {
    let mut s = r.shape();
    s.set("clusterName", r.get("cluster_name"), &p("cluster_name"));
    s.set("namespace", r.get("namespace"), &p("namespace"));
    s.set(
        "serviceAccount",
        r.get("service_account"),
        &p("service_account"),
    );
    s.set_link("roleArn", r.get("role_arn"), &p("role_arn"));
    s.set_link(
        "targetRoleArn",
        r.get("target_role_arn"),
        &p("target_role_arn"),
    );
    s.build(EKS, "EKSPodIdentityAssociation", r.address, r.path)
}

/// A structure where the API takes JSON text (`jsonencode(...)` kept as a structure by
/// the HCL reader) rendered as that text.
fn as_text(v: &V) -> V {
    match &v.val {
        Val::Map(_) | Val::List(_) => match super::hcl::to_json(v) {
            Some(t) => V::new(Val::Str(t), v.pos, v.file),
            None => V::unknown("(a value known only at apply)", v.pos, v.file),
        },
        _ => v.clone(),
    }
}

fn addon(r: &Res) -> Object {
    let mut s = r.shape();
    let name = r
        .text("addon_name")
        .unwrap_or_else(|| r.address.to_string());
    s.set("addonName", r.get("addon_name"), &p("addon_name"));
    s.set("clusterName", r.get("cluster_name"), &p("cluster_name"));
    s.set("addonVersion", r.get("addon_version"), &p("addon_version"));
    // A role the add-on's service account uses: absent is a finding, unknown is undecided.
    s.set(
        "serviceAccountRoleArn",
        r.get("service_account_role_arn"),
        &p("service_account_role_arn"),
    );
    s.map_path("serviceAccountRoleArn", &p("service_account_role_arn"));
    s.set(
        "podIdentityAssociations",
        r.get("pod_identity_association"),
        &p("pod_identity_association"),
    );
    let cv = r.get("configuration_values").map(as_text);
    s.set(
        "configurationValues",
        cv.as_ref(),
        &p("configuration_values"),
    );
    s.build(EKS, "EKSAddon", &name, r.path)
}

fn launch_template(r: &Res) -> Object {
    let mut s = r.shape();
    let id = r.text("id").unwrap_or_else(|| r.stand_in());
    let name = r.text("name").unwrap_or_else(|| r.stand_in());
    s.set_node("LaunchTemplateId", str_node(&id, r.pos), None);
    s.set_node(
        "LaunchTemplateName",
        str_node(&name, r.pos),
        Some(&p("name")),
    );
    let version = r.get("latest_version").and_then(V::as_i64).unwrap_or(1);
    s.set_node("VersionNumber", Node::new(Value::Int(version), r.pos), None);
    s.set_node("DefaultVersion", Node::new(Value::Bool(true), r.pos), None);
    s.set_node(
        "LaunchTemplateData",
        Node::new(Value::Map(Vec::new()), r.pos),
        Some(&FieldPath::root()),
    );
    for (cli, own) in [
        ("HttpTokens", "http_tokens"),
        ("HttpPutResponseHopLimit", "http_put_response_hop_limit"),
        ("HttpEndpoint", "http_endpoint"),
    ] {
        s.map_path(
            &format!("LaunchTemplateData.MetadataOptions.{cli}"),
            &p(&format!("metadata_options[0].{own}")),
        );
    }
    if let Some(list) = r.get("metadata_options") {
        if list.is_unknown() {
            s.unknown(
                &p("LaunchTemplateData.MetadataOptions"),
                "dynamic \"metadata_options\"",
            );
        }
    }
    if let Some(mo) = r.block("metadata_options") {
        s.set_node(
            "LaunchTemplateData.MetadataOptions",
            Node::new(Value::Map(Vec::new()), mo.pos),
            Some(&p("metadata_options[0]")),
        );
        for (cli, own) in [
            ("HttpTokens", "http_tokens"),
            ("HttpPutResponseHopLimit", "http_put_response_hop_limit"),
            ("HttpEndpoint", "http_endpoint"),
        ] {
            s.set(
                &format!("LaunchTemplateData.MetadataOptions.{cli}"),
                mo.get(own),
                &p(&format!("metadata_options[0].{own}")),
            );
        }
    }
    s.set_link(
        "LaunchTemplateData.SecurityGroupIds",
        r.get("vpc_security_group_ids"),
        &p("vpc_security_group_ids"),
    );
    if let Some(nis) = r.get("network_interfaces") {
        let items: Vec<V> = nis
            .items()
            .iter()
            .map(|ni| {
                let groups: Vec<V> = ni
                    .get("security_groups")
                    .map(V::items)
                    .unwrap_or(&[])
                    .iter()
                    .filter(|g| !g.is_unknown())
                    .cloned()
                    .collect();
                let mut entries = vec![(
                    "Groups".to_string(),
                    V::new(Val::List(groups), ni.pos, ni.file),
                )];
                for (cli, own) in [
                    ("AssociatePublicIpAddress", "associate_public_ip_address"),
                    ("DeviceIndex", "device_index"),
                ] {
                    if let Some(v) = ni.get(own).filter(|v| !v.is_unknown()) {
                        entries.push((cli.to_string(), v.clone()));
                    }
                }
                V::new(Val::Map(entries), ni.pos, ni.file)
            })
            .collect();
        s.set(
            "LaunchTemplateData.NetworkInterfaces",
            Some(&V::new(Val::List(items), nis.pos, nis.file)),
            &p("network_interfaces"),
        );
        for i in 0..nis.items().len() {
            for (cli, own) in [
                ("AssociatePublicIpAddress", "associate_public_ip_address"),
                ("DeviceIndex", "device_index"),
                ("Groups", "security_groups"),
            ] {
                s.map_path(
                    &format!("LaunchTemplateData.NetworkInterfaces[{i}].{cli}"),
                    &p(&format!("network_interfaces[{i}].{own}")),
                );
            }
        }
    }
    s.set(
        "LaunchTemplateData.ImageId",
        r.get("image_id"),
        &p("image_id"),
    );
    s.set(
        "LaunchTemplateData.KeyName",
        r.get("key_name"),
        &p("key_name"),
    );
    s.build(
        EC2,
        "EC2LaunchTemplateVersion",
        &format!("{id}:{version}"),
        r.path,
    )
}

/// `tags = { k = v }` as the EC2 list of `Key`/`Value`.
fn ec2_tags(v: &V) -> V {
    let Val::Map(m) = &v.val else {
        return v.clone();
    };
    let items = m
        .iter()
        .map(|(k, val)| {
            V::new(
                Val::Map(vec![
                    ("Key".into(), V::new(Val::Str(k.clone()), val.pos, val.file)),
                    ("Value".into(), val.clone()),
                ]),
                val.pos,
                val.file,
            )
        })
        .collect();
    V::new(Val::List(items), v.pos, v.file)
}

/// The protocol as EC2 prints it: `-1` for all.
fn protocol(v: Option<&V>) -> Option<V> {
    let v = v?;
    Some(match v.text().as_deref() {
        Some("all") | Some("-1") => V::new(Val::Str("-1".into()), v.pos, v.file),
        Some(t) => V::new(Val::Str(t.to_ascii_lowercase()), v.pos, v.file),
        None => v.clone(),
    })
}

/// One ingress permission in the EC2 shape, with its paths, from Terraform attributes
/// (`from_port`, `cidr_blocks`, ... or the VPC rule's `cidr_ipv4`, ...).
fn permission(
    i: usize,
    rule: &V,
    own: &FieldPath,
    self_id: Option<&str>,
) -> (V, Vec<(FieldPath, FieldPath)>) {
    let base = FieldPath::parse("IpPermissions").index(i);
    let mut entries: Vec<(String, V)> = Vec::new();
    let mk = |val: Val| V::new(val, rule.pos, rule.file);
    if let Some(pv) = protocol(rule.get("protocol").or_else(|| rule.get("ip_protocol"))) {
        entries.push(("IpProtocol".into(), pv));
    }
    for (cli, tf) in [("FromPort", "from_port"), ("ToPort", "to_port")] {
        if let Some(v) = rule.get(tf) {
            entries.push((cli.into(), v.clone()));
        }
    }
    let mut paths: Vec<(FieldPath, FieldPath)> = vec![(base.clone(), own.clone())];
    for (list, key, tfs) in [
        ("IpRanges", "CidrIp", &["cidr_blocks", "cidr_ipv4"][..]),
        (
            "Ipv6Ranges",
            "CidrIpv6",
            &["ipv6_cidr_blocks", "cidr_ipv6"][..],
        ),
    ] {
        let mut ranges = Vec::new();
        for tf in tfs {
            let Some(v) = rule.get(tf) else { continue };
            let items: Vec<&V> = match &v.val {
                Val::List(items) => items.iter().collect(),
                Val::Null => continue,
                _ => vec![v],
            };
            let single = !matches!(v.val, Val::List(_));
            for (j, item) in items.into_iter().enumerate() {
                let at = ranges.len();
                let own_item = if single {
                    own.key(tf)
                } else {
                    own.key(tf).index(j)
                };
                paths.push((base.key(list).index(at).key(key), own_item));
                ranges.push(V::new(
                    Val::Map(vec![(key.into(), item.clone())]),
                    item.pos,
                    item.file,
                ));
            }
            if v.is_unknown() {
                paths.push((base.key(list), own.key(tf)));
            }
        }
        if !ranges.is_empty() {
            entries.push((list.into(), mk(Val::List(ranges))));
        }
    }
    let mut pairs = Vec::new();
    for tf in [
        "security_groups",
        "source_security_group_id",
        "referenced_security_group_id",
    ] {
        let Some(v) = rule.get(tf) else { continue };
        let items: Vec<&V> = match &v.val {
            Val::List(items) => items.iter().collect(),
            Val::Null | Val::Unknown(_) => continue,
            _ => vec![v],
        };
        for item in items.into_iter().filter(|i| !i.is_unknown()) {
            pairs.push(V::new(
                Val::Map(vec![("GroupId".into(), item.clone())]),
                item.pos,
                item.file,
            ));
        }
    }
    if rule.get("self").and_then(V::as_bool) == Some(true) {
        if let Some(id) = self_id {
            pairs.push(mk(Val::Map(vec![(
                "GroupId".into(),
                mk(Val::Str(id.into())),
            )])));
        }
    }
    if !pairs.is_empty() {
        entries.push(("UserIdGroupPairs".into(), mk(Val::List(pairs))));
    }
    if let Some(pl) = rule
        .get("prefix_list_ids")
        .or_else(|| rule.get("prefix_list_id"))
    {
        if !matches!(pl.val, Val::Null) {
            entries.push(("PrefixListIds".into(), pl.clone()));
        }
    }
    (V::new(Val::Map(entries), rule.pos, rule.file), paths)
}

/// Sets `IpPermissions` from permissions and their paths.
fn set_permissions(
    s: &mut Shape,
    perms: Vec<(V, Vec<(FieldPath, FieldPath)>)>,
    pos: Pos,
    file: u32,
) {
    let mut items = Vec::new();
    let mut all = Vec::new();
    for (v, paths) in perms {
        items.push(v);
        all.extend(paths);
    }
    s.set(
        "IpPermissions",
        Some(&V::new(Val::List(items), pos, file)),
        &p("ingress"),
    );
    for (cli, own) in all {
        s.map_path(&cli.to_string(), &own);
    }
}

fn security_group(r: &Res) -> Object {
    let mut s = r.shape();
    let id = r.text("id").unwrap_or_else(|| r.stand_in());
    s.set_node("GroupId", str_node(&id, r.pos), None);
    s.set("GroupName", r.get("name"), &p("name"));
    s.set("Description", r.get("description"), &p("description"));
    s.set_link("VpcId", r.get("vpc_id"), &p("vpc_id"));
    if let Some(t) = r.get("tags") {
        s.set("Tags", Some(&ec2_tags(t)), &p("tags"));
    }
    match r.get("ingress") {
        Some(v) if v.is_unknown() => {
            s.map_path("IpPermissions", &p("ingress"));
            s.unknown(&p("IpPermissions"), "dynamic \"ingress\"");
        }
        Some(list) => {
            let perms = list
                .items()
                .iter()
                .enumerate()
                .map(|(i, rule)| permission(i, rule, &p(&format!("ingress[{i}]")), Some(&id)))
                .collect();
            set_permissions(&mut s, perms, list.pos, list.file);
        }
        None => set_permissions(&mut s, Vec::new(), r.pos, r.file),
    }
    s.build(EC2, "EC2SecurityGroup", &id, r.path)
}

/// `aws_security_group_rule` of type `ingress`: an object of its own for the group it
/// adds to, so a finding names the rule resource.
fn security_group_rule(r: &Res) -> Option<Object> {
    match r.get("type") {
        Some(t) if t.as_str() == Some("ingress") => {}
        Some(t) if t.is_unknown() => {}
        _ => return None,
    }
    Some(standalone_rule(r))
}

fn vpc_ingress_rule(r: &Res) -> Object {
    standalone_rule(r)
}

fn standalone_rule(r: &Res) -> Object {
    let mut s = r.shape();
    let group = r
        .get("security_group_id")
        .and_then(V::text)
        .unwrap_or_else(|| r.stand_in());
    s.set_link(
        "GroupId",
        r.get("security_group_id"),
        &p("security_group_id"),
    );
    if !s.has("GroupId") {
        s.set_node("GroupId", str_node(&group, r.pos), None);
    }
    if r.get("type").is_some_and(V::is_unknown) {
        s.unknown(&p("IpPermissions"), "type");
    }
    let perm = permission(0, r.attrs, &FieldPath::root(), Some(&group));
    set_permissions(&mut s, vec![perm], r.pos, r.file);
    s.map_path("IpPermissions", &FieldPath::root());
    s.build(EC2, "EC2SecurityGroup", &group, r.path)
}

fn iam_role(r: &Res) -> Vec<Object> {
    let mut out = Vec::new();
    let name = r.text("name").unwrap_or_else(|| r.stand_in());
    let arn = role_arn(&name);
    let mut s = r.shape();
    s.set_node("RoleName", str_node(&name, r.pos), Some(&p("name")));
    s.set_node("Arn", str_node(&arn, r.pos), None);
    if let Some(doc) = r.get("assume_role_policy") {
        s.set(
            "AssumeRolePolicyDocument",
            Some(&document(doc)),
            &p("assume_role_policy"),
        );
    }
    s.map_path("PermissionsBoundary", &p("permissions_boundary"));
    if let Some(b) = r.get("permissions_boundary") {
        s.set(
            "PermissionsBoundary",
            Some(&super::permissions_boundary(b)),
            &p("permissions_boundary"),
        );
    }
    out.push(s.build(IAM, "IAMRole", &arn, r.path));
    // Inline policies and exclusive managed policy lists written on the role.
    if let Some(list) = r.get("inline_policy") {
        for (i, ip) in list.items().iter().enumerate() {
            let pname = ip
                .str_at("name")
                .unwrap_or_else(|| format!("inline_policy[{i}]"));
            out.push(super::inline_role_policy(
                r.shape(),
                &name,
                r.pos,
                &pname,
                ip.pos,
                &p(&format!("inline_policy[{i}].name")),
                ip.get("policy"),
                &p(&format!("inline_policy[{i}].policy")),
                r.path,
            ));
        }
    }
    if let Some(arns) = r.get("managed_policy_arns") {
        out.push(super::role_attached_policies(
            r.shape(),
            &name,
            r.pos,
            arns,
            &p("managed_policy_arns"),
            r.path,
        ));
    }
    out
}

impl V {
    fn str_at(&self, k: &str) -> Option<String> {
        self.get(k).and_then(|v| match &v.val {
            Val::Str(s) => Some(s.clone()),
            _ => None,
        })
    }
}

/// The role name of a `role` attribute, which takes a name or (in older code) an ARN.
fn role_of(v: Option<&V>) -> Option<V> {
    let v = v?;
    let s = v.as_str()?;
    let name = match s.strip_prefix("arn:") {
        Some(_) => s.rsplit('/').next()?.to_string(),
        None => s.to_string(),
    };
    Some(V::new(Val::Str(name), v.pos, v.file))
}

fn attachment(r: &Res) -> Object {
    let mut s = r.shape();
    let role = role_of(r.get("role"));
    match &role {
        Some(v) => s.set("RoleName", Some(v), &p("role")),
        None => {
            if let Some(v) = r.get("role") {
                s.set("RoleName", Some(v), &p("role"));
            }
        }
    }
    if let Some(a) = r.get("policy_arn") {
        s.set(
            "AttachedPolicies",
            Some(&super::attached(a)),
            &p("policy_arn"),
        );
        s.map_path("AttachedPolicies[0]", &p("policy_arn"));
        s.map_path("AttachedPolicies[0].PolicyArn", &p("policy_arn"));
    }
    let name = role
        .and_then(|v| v.text())
        .unwrap_or_else(|| r.address.to_string());
    s.build(IAM, "IAMAttachedPolicies", &name, r.path)
}

fn role_policy(r: &Res) -> Object {
    let mut s = r.shape();
    let role = role_of(r.get("role"));
    if let Some(v) = &role {
        s.set("RoleName", Some(v), &p("role"));
    }
    let pname = r.text("name").unwrap_or_else(|| r.address.to_string());
    s.set_node("PolicyName", str_node(&pname, r.pos), Some(&p("name")));
    if let Some(doc) = r.get("policy") {
        s.set("PolicyDocument", Some(&document(doc)), &p("policy"));
    }
    let role = role.and_then(|v| v.text()).unwrap_or_default();
    s.build(IAM, "IAMRolePolicy", &format!("{role}/{pname}"), r.path)
}

/// A customer-managed policy, as `get-account-authorization-details` lists it: its one
/// version is the default. The ARN is the stand-in a reference to it gives.
fn managed_policy(r: &Res) -> Object {
    let mut s = r.shape();
    let name = r.text("name").unwrap_or_else(|| r.address.to_string());
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
    s.set_node("PolicyName", str_node(&name, r.pos), Some(&p("name")));
    s.set_node("Arn", str_node(&arn, r.pos), None);
    s.set_node("DefaultVersionId", str_node("v1", r.pos), None);
    if let Some(doc) = r.get("policy") {
        let at = |val| V::new(val, doc.pos, doc.file);
        let version = at(Val::Map(vec![
            ("VersionId".to_string(), at(Val::Str("v1".into()))),
            ("IsDefaultVersion".to_string(), at(Val::Bool(true))),
            ("Document".to_string(), document(doc)),
        ]));
        s.set(
            "PolicyVersionList",
            Some(&at(Val::List(vec![version]))),
            &p("policy"),
        );
        s.map_path("PolicyVersionList[0].Document", &p("policy"));
    }
    s.build(IAM, "IAMManagedPolicy", &arn, r.path)
}

fn identity_provider(r: &Res) -> Object {
    let mut s = r.shape();
    s.set("clusterName", r.get("cluster_name"), &p("cluster_name"));
    let oidc = r.block("oidc");
    for (cli, own) in [
        (
            "identityProviderConfigName",
            "identity_provider_config_name",
        ),
        ("issuerUrl", "issuer_url"),
        ("clientId", "client_id"),
        ("usernameClaim", "username_claim"),
        ("usernamePrefix", "username_prefix"),
        ("groupsClaim", "groups_claim"),
        ("groupsPrefix", "groups_prefix"),
    ] {
        s.set(
            cli,
            oidc.and_then(|o| o.get(own)),
            &p(&format!("oidc[0].{own}")),
        );
    }
    let name = oidc
        .and_then(|o| o.get("identity_provider_config_name"))
        .and_then(V::text)
        .unwrap_or_else(|| r.address.to_string());
    s.build(EKS, "EKSIdentityProviderConfig", &name, r.path)
}

fn subnet(r: &Res) -> Object {
    let mut s = r.shape();
    let id = r.text("id").unwrap_or_else(|| r.stand_in());
    s.set_node("SubnetId", str_node(&id, r.pos), None);
    s.set(
        "MapPublicIpOnLaunch",
        r.get("map_public_ip_on_launch"),
        &p("map_public_ip_on_launch"),
    );
    if !s.has("MapPublicIpOnLaunch") && r.get("map_public_ip_on_launch").is_none() {
        // The API's default.
        s.set_node(
            "MapPublicIpOnLaunch",
            Node::new(Value::Bool(false), r.pos),
            None,
        );
    }
    s.set_link("VpcId", r.get("vpc_id"), &p("vpc_id"));
    s.set("CidrBlock", r.get("cidr_block"), &p("cidr_block"));
    if let Some(t) = r.get("tags") {
        s.set("Tags", Some(&ec2_tags(t)), &p("tags"));
    }
    s.build(EC2, "EC2Subnet", &id, r.path)
}

/// A Kubernetes object from a `V` tree, with the resource's identity and paths under
/// `prefix` (`manifest`, or none for the ConfigMap resources).
fn kubernetes(r: &Res, root: V, prefix: &FieldPath, default_ns: &str) -> Option<Object> {
    let mut s = r.shape();
    s.set("", Some(&root), prefix);
    let (node, origin) = s.into_parts();
    let source = Source::File {
        path: r.path.clone(),
        doc: 0,
        item: None,
    };
    let mut obj = Object::from_node(node, source, default_ns).ok()?;
    obj.iac = Some(Arc::new(origin));
    Some(obj)
}

fn config_map(r: &Res, default_ns: &str) -> Option<Object> {
    let meta = r.block("metadata")?;
    let mut m: Vec<(String, V)> = vec![
        (
            "apiVersion".into(),
            V::new(Val::Str("v1".into()), r.pos, r.file),
        ),
        (
            "kind".into(),
            V::new(Val::Str("ConfigMap".into()), r.pos, r.file),
        ),
        ("metadata".into(), meta.clone()),
    ];
    if let Some(data) = r.get("data") {
        let data = match &data.val {
            Val::Map(entries) => V::new(
                Val::Map(
                    entries
                        .iter()
                        .map(|(k, v)| (k.clone(), as_text(v)))
                        .collect(),
                ),
                data.pos,
                data.file,
            ),
            _ => data.clone(),
        };
        m.push(("data".into(), data));
    }
    let root = V::new(Val::Map(m), r.pos, r.file);
    let mut obj = kubernetes(r, root, &FieldPath::root(), default_ns)?;
    if let Some(iac) = obj.iac.as_mut().map(Arc::make_mut) {
        iac.paths.push((
            FieldPath::parse("metadata"),
            FieldPath::parse("metadata[0]"),
        ));
    }
    Some(obj)
}

fn manifest(r: &Res, default_ns: &str) -> Option<Object> {
    let m = r.get("manifest")?;
    kubernetes(r, m.clone(), &p("manifest"), default_ns)
}
