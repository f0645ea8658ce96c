//! The typed form of the EKS resources every front-end reads (Terraform HCL and plans,
//! the EKS module, CloudFormation): each front-end fills these structures from its own
//! syntax, and the builders here alone turn them into the objects in the AWS CLI shape
//! with their [`eksguard_model::IacOrigin`].
//!
//! A field is a [`Slot`]: the value the code gives ([`V`], which is either known or
//! [`Val::Unknown`] until apply, and carries its file and position) or nothing when the
//! code leaves it out, together with the code's own path of the field. The path is kept
//! for an absent field too, so a finding on a missing setting still names where it goes.

use eksguard_model::aws_kinds as k;
use std::sync::Arc;

use eksguard_model::{FieldPath, Node, Object, Pos, Value};

use super::{str_node, Shape, Val, V};
use crate::aws_json::{EC2, EKS, IAM};

/// One field of the code: its value (known, or unknown before apply) or `None` when
/// absent, and its path in the code.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub v: Option<V>,
    pub own: FieldPath,
}

impl Slot {
    pub fn of(v: Option<&V>, own: FieldPath) -> Slot {
        Slot { v: v.cloned(), own }
    }

    /// A field the reader derives (a name defaulted to the address), at `pos`.
    pub fn derived(text: &str, pos: Pos, file: u32, own: FieldPath) -> Slot {
        Slot {
            v: Some(V::new(Val::Str(text.into()), pos, file)),
            own,
        }
    }

    pub fn absent(own: FieldPath) -> Slot {
        Slot { v: None, own }
    }

    pub fn is_unknown(&self) -> bool {
        self.v.as_ref().is_some_and(V::is_unknown)
    }

    /// Sets `cli` from the slot.
    fn set(&self, s: &mut Shape, cli: &str) {
        s.set(cli, self.v.as_ref(), &self.own);
    }

    /// Sets `cli`, a link to other resources, from the slot (see [`Shape::set_link`]).
    fn link(&self, s: &mut Shape, cli: &str) {
        s.set_link(cli, self.v.as_ref(), &self.own);
    }

    /// Maps `cli` to the slot's path whether the code gives it or not, then sets it.
    fn mapped(&self, s: &mut Shape, cli: &str) {
        s.map_path(cli, &self.own);
        self.set(s, cli);
    }
}

/// A nested block of the code (`vpc_config`, `ResourcesVpcConfig`): where it is, its own
/// path, and the note for a block written so it is unknown (`dynamic`, an intrinsic).
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub pos: Pos,
    pub own: FieldPath,
    pub unknown: Option<String>,
}

/// `aws_eks_cluster`, `AWS::EKS::Cluster`: `describe-cluster`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// The name the rules join node groups and access entries by.
    pub id: String,
    pub pos: Pos,
    pub name: Slot,
    pub version: Slot,
    pub role_arn: Slot,
    /// `resourcesVpcConfig`, always there (the block's position, else the resource's).
    pub vpc_pos: Pos,
    pub vpc_own: FieldPath,
    pub vpc: Option<Vpc>,
    /// The security group EKS creates (`clusterSecurityGroupId`): its ID, and the path the
    /// object standing for it is reported at.
    pub cluster_sg: Option<(String, FieldPath)>,
    pub logging: Logging,
    pub encryption: Encryption,
    pub access: Access,
    pub compute: Option<Compute>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    pub block: Block,
    pub public_access: Slot,
    pub private_access: Slot,
    pub public_cidrs: Slot,
    pub subnets: Slot,
    pub security_groups: Slot,
}

/// Control-plane log types.
#[derive(Debug, Clone, PartialEq)]
pub struct Logging {
    pub own: FieldPath,
    pub types: LogTypes,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LogTypes {
    /// None enabled.
    Absent,
    /// The list of type names (its items may be unknown).
    Given(V),
    /// The whole setting undecided, with the note.
    Unknown(String),
}

/// Envelope encryption: each item `{resources, provider: {keyArn}}` in the CLI shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Encryption {
    pub own: FieldPath,
    /// The list as written (its position), absent when the code has none.
    pub list: Option<(Pos, u32)>,
    pub unknown: Option<String>,
    pub items: Vec<EncryptionItem>,
    /// Paths of each item in the code, where the item maps one to one.
    pub item_owns: Vec<FieldPath>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EncryptionItem {
    pub pos: Pos,
    pub file: u32,
    pub resources: Option<V>,
    pub key_arn: Option<V>,
}

/// `accessConfig`.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub own: FieldPath,
    pub given: bool,
    pub authentication_mode: Slot,
    pub bootstrap_admin: Slot,
}

/// `computeConfig` (EKS Auto Mode).
#[derive(Debug, Clone, PartialEq)]
pub struct Compute {
    pub enabled: Slot,
    pub node_pools: Slot,
    pub node_role_arn: Slot,
}

/// `aws_eks_node_group`, `AWS::EKS::Nodegroup`: `describe-nodegroup`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeGroup {
    pub pos: Pos,
    /// The code's path of the whole object where it is one item of a larger input (a
    /// module's map of node groups): fields not mapped otherwise fall under it.
    pub root_own: Option<FieldPath>,
    /// The name given or derived (a prefix, the address), and the name's own path.
    pub name: String,
    pub name_own: FieldPath,
    pub cluster_name: Slot,
    pub node_role: Slot,
    pub subnets: Slot,
    pub ami_type: Slot,
    pub version: Slot,
    pub release_version: Slot,
    pub remote_access: Option<RemoteAccess>,
    pub launch_template: Option<LaunchTemplateRef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemoteAccess {
    pub own: FieldPath,
    pub ssh_key: Slot,
    pub source_security_groups: Slot,
}

/// The launch template a node group names; the version as text, as the CLI prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchTemplateRef {
    /// The block's own path (a finding on the whole reference lands there).
    pub own: Option<FieldPath>,
    pub id: Slot,
    pub name: Slot,
    pub version: Slot,
}

/// `aws_eks_access_entry`, `AWS::EKS::AccessEntry`: `describe-access-entry`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessEntry {
    /// The principal's ARN as the rules join it, or a stand-in.
    pub id: String,
    /// As for [`NodeGroup::root_own`].
    pub root_own: Option<FieldPath>,
    pub cluster_name: Slot,
    pub principal_arn: Slot,
    pub kubernetes_groups: Slot,
    pub entry_type: Slot,
    pub username: Slot,
}

/// Access policies associated with one principal: `list-associated-access-policies`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessPolicies {
    pub id: String,
    pub cluster_name: Slot,
    pub principal_arn: Slot,
    /// The list's position and own path.
    pub pos: Pos,
    pub file: u32,
    pub own: FieldPath,
    pub policies: Vec<AccessPolicy>,
    /// Paths of the parts of the policies, where the code's layout differs from the CLI's.
    pub paths: Vec<(FieldPath, FieldPath)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccessPolicy {
    pub pos: Pos,
    pub file: u32,
    pub policy_arn: Option<V>,
    /// `accessScope` (where, `type`, `namespaces`).
    pub scope: Option<(Pos, u32, Option<V>, Option<V>)>,
}

/// One ingress permission of a security group, in EC2's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    pub pos: Pos,
    pub file: u32,
    /// The rule's own path (none for rules the reader adds, such as a module's defaults).
    pub own: Option<FieldPath>,
    pub protocol: Option<V>,
    pub from_port: Option<V>,
    pub to_port: Option<V>,
    pub ipv4: Option<Sources>,
    pub ipv6: Option<Sources>,
    pub groups: Option<Sources>,
    pub prefix_lists: Option<Sources>,
}

/// The sources of a permission of one kind (CIDRs, groups, prefix lists).
#[derive(Debug, Clone, PartialEq)]
pub struct Sources {
    pub pos: Pos,
    pub file: u32,
    pub items: Vec<Source>,
    /// Own paths of lists that are unknown as a whole.
    pub unknown: Vec<FieldPath>,
}

/// One source: the value, where its item sits, and its own path when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub v: V,
    pub pos: Pos,
    pub file: u32,
    pub own: Option<FieldPath>,
}

impl Source {
    /// A source whose item sits where its value is.
    pub fn at_value(v: V, own: Option<FieldPath>) -> Source {
        Source {
            pos: v.pos,
            file: v.file,
            v,
            own,
        }
    }
}

/// The protocol as EC2 prints it: `-1` for all, lower case otherwise.
pub fn protocol(v: &V) -> V {
    match v.text().map(|t| t.to_ascii_lowercase()).as_deref() {
        Some("all") | Some("-1") => V::new(Val::Str("-1".into()), v.pos, v.file),
        Some(t) => V::new(Val::Str(t.into()), v.pos, v.file),
        None => v.clone(),
    }
}

/// The cluster, and the object for the security group EKS creates when it has one.
pub fn cluster(
    mut s: Shape,
    c: &Cluster,
    fresh: &dyn Fn() -> Shape,
    path: &Arc<str>,
) -> Vec<Object> {
    const VPC: &str = "resourcesVpcConfig";
    c.name.set(&mut s, "name");
    c.version.set(&mut s, "version");
    c.role_arn.link(&mut s, "roleArn");
    s.set_node(
        VPC,
        Node::new(Value::Map(Vec::new()), c.vpc_pos),
        Some(&c.vpc_own),
    );
    if let Some(vpc) = &c.vpc {
        if let Some(note) = &vpc.block.unknown {
            s.unknown(&FieldPath::parse(VPC), note);
        }
        vpc.public_access
            .mapped(&mut s, "resourcesVpcConfig.endpointPublicAccess");
        vpc.private_access
            .mapped(&mut s, "resourcesVpcConfig.endpointPrivateAccess");
        vpc.public_cidrs
            .mapped(&mut s, "resourcesVpcConfig.publicAccessCidrs");
        vpc.subnets.link(&mut s, "resourcesVpcConfig.subnetIds");
        vpc.security_groups
            .link(&mut s, "resourcesVpcConfig.securityGroupIds");
    }
    if let Some((id, _)) = &c.cluster_sg {
        s.set_node(
            "resourcesVpcConfig.clusterSecurityGroupId",
            str_node(id, c.vpc_pos),
            None,
        );
    }
    s.tie(&[
        "resourcesVpcConfig.endpointPublicAccess",
        "resourcesVpcConfig.publicAccessCidrs",
    ]);
    let lg = &c.logging;
    s.map_path("logging.clusterLogging", &lg.own);
    s.map_path("logging.clusterLogging[0].types", &lg.own);
    match &lg.types {
        LogTypes::Given(types) => {
            let at = |val| V::new(val, types.pos, types.file);
            let item = at(Val::Map(vec![
                ("types".into(), types.clone()),
                ("enabled".into(), at(Val::Bool(true))),
            ]));
            s.set(
                "logging.clusterLogging",
                Some(&at(Val::List(vec![item]))),
                &lg.own,
            );
        }
        LogTypes::Unknown(note) => s.unknown(&FieldPath::parse("logging.clusterLogging"), note),
        LogTypes::Absent => s.set_node(
            "logging.clusterLogging",
            Node::new(Value::Seq(Vec::new()), c.pos),
            None,
        ),
    }
    let enc = &c.encryption;
    s.map_path("encryptionConfig", &enc.own);
    if let Some((pos, file)) = enc.list {
        if let Some(note) = &enc.unknown {
            s.unknown(&FieldPath::parse("encryptionConfig"), note);
        }
        for (i, own) in enc.item_owns.iter().enumerate() {
            s.map_path(&format!("encryptionConfig[{i}]"), own);
        }
        if enc.unknown.is_none() {
            let items = enc
                .items
                .iter()
                .map(|e| {
                    let mut m = Vec::new();
                    if let Some(r) = &e.resources {
                        m.push(("resources".to_string(), r.clone()));
                    }
                    if let Some(k) = &e.key_arn {
                        m.push((
                            "provider".to_string(),
                            V::new(Val::Map(vec![("keyArn".into(), k.clone())]), k.pos, k.file),
                        ));
                    }
                    V::new(Val::Map(m), e.pos, e.file)
                })
                .collect();
            s.set(
                "encryptionConfig",
                Some(&V::new(Val::List(items), pos, file)),
                &enc.own,
            );
        }
    }
    let ac = &c.access;
    if ac.given {
        ac.authentication_mode
            .set(&mut s, "accessConfig.authenticationMode");
        ac.bootstrap_admin.set(
            &mut s,
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
        );
    }
    s.map_path("accessConfig", &ac.own);
    s.map_path(
        "accessConfig.authenticationMode",
        &ac.authentication_mode.own,
    );
    s.map_path(
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        &ac.bootstrap_admin.own,
    );
    if let Some(cc) = &c.compute {
        cc.enabled.set(&mut s, "computeConfig.enabled");
        cc.node_pools.set(&mut s, "computeConfig.nodePools");
        cc.node_role_arn.link(&mut s, "computeConfig.nodeRoleArn");
    }
    let mut out = vec![s.build(EKS, k::EKS_CLUSTER, &c.id, path)];
    if let Some((id, at)) = &c.cluster_sg {
        out.push(super::eks_cluster_security_group(
            fresh(),
            id,
            at,
            c.vpc_pos,
            path,
        ));
    }
    out
}

pub fn node_group(mut s: Shape, ng: &NodeGroup, path: &Arc<str>) -> Object {
    if let Some(own) = &ng.root_own {
        s.map_path("", own);
    }
    ng.cluster_name.set(&mut s, "clusterName");
    s.set_node(
        "nodegroupName",
        str_node(&ng.name, ng.pos),
        Some(&ng.name_own),
    );
    ng.node_role.link(&mut s, "nodeRole");
    ng.subnets.link(&mut s, "subnets");
    ng.ami_type.set(&mut s, "amiType");
    ng.version.set(&mut s, "version");
    ng.release_version.set(&mut s, "releaseVersion");
    if let Some(ra) = &ng.remote_access {
        ra.ssh_key.set(&mut s, "remoteAccess.ec2SshKey");
        ra.source_security_groups
            .link(&mut s, "remoteAccess.sourceSecurityGroups");
        s.map_path("remoteAccess", &ra.own);
    }
    if let Some(lt) = &ng.launch_template {
        if let Some(own) = &lt.own {
            s.map_path("launchTemplate", own);
        }
        lt.id.link(&mut s, "launchTemplate.id");
        lt.name.link(&mut s, "launchTemplate.name");
        lt.version.link(&mut s, "launchTemplate.version");
    }
    s.build(EKS, k::EKS_NODEGROUP, &ng.name, path)
}

pub fn access_entry(mut s: Shape, e: &AccessEntry, path: &Arc<str>) -> Object {
    if let Some(own) = &e.root_own {
        s.map_path("", own);
    }
    e.cluster_name.set(&mut s, "clusterName");
    e.principal_arn.set(&mut s, "principalArn");
    e.kubernetes_groups.set(&mut s, "kubernetesGroups");
    e.entry_type.set(&mut s, "type");
    e.username.set(&mut s, "username");
    s.build(EKS, k::EKS_ACCESS_ENTRY, &e.id, path)
}

pub fn access_policies(mut s: Shape, a: &AccessPolicies, path: &Arc<str>) -> Object {
    a.cluster_name.set(&mut s, "clusterName");
    a.principal_arn.set(&mut s, "principalArn");
    let items = a
        .policies
        .iter()
        .map(|pol| {
            let mut m = Vec::new();
            if let Some(arn) = &pol.policy_arn {
                m.push(("policyArn".to_string(), arn.clone()));
            }
            if let Some((pos, file, ty, namespaces)) = &pol.scope {
                let mut sm = Vec::new();
                if let Some(t) = ty {
                    sm.push(("type".to_string(), t.clone()));
                }
                if let Some(n) = namespaces {
                    sm.push(("namespaces".to_string(), n.clone()));
                }
                m.push(("accessScope".to_string(), V::new(Val::Map(sm), *pos, *file)));
            }
            V::new(Val::Map(m), pol.pos, pol.file)
        })
        .collect();
    for (cli, own) in &a.paths {
        s.map_path(&cli.to_string(), own);
    }
    s.set(
        "associatedAccessPolicies",
        Some(&V::new(Val::List(items), a.pos, a.file)),
        &a.own,
    );
    s.build(EKS, k::EKS_ACCESS_POLICIES, &a.id, path)
}

/// Sets `IpPermissions` from the permissions, the list at `pos` mapped to `own`, and each
/// part of each permission to its own path.
pub fn set_permissions(s: &mut Shape, perms: &[Permission], pos: Pos, file: u32, own: &FieldPath) {
    let mut items = Vec::new();
    let mut paths = Vec::new();
    for (i, perm) in perms.iter().enumerate() {
        let (v, p) = permission(i, perm);
        items.push(v);
        paths.extend(p);
    }
    s.set(
        "IpPermissions",
        Some(&V::new(Val::List(items), pos, file)),
        own,
    );
    for (cli, own) in paths {
        s.map_path(&cli.to_string(), &own);
    }
}

/// One permission as EC2 prints it, and the paths of its parts.
fn permission(i: usize, perm: &Permission) -> (V, Vec<(FieldPath, FieldPath)>) {
    let base = FieldPath::parse("IpPermissions").index(i);
    let mut paths: Vec<(FieldPath, FieldPath)> =
        perm.own.iter().map(|o| (base.clone(), o.clone())).collect();
    let mut m: Vec<(String, V)> = Vec::new();
    if let Some(pv) = &perm.protocol {
        m.push(("IpProtocol".into(), protocol(pv)));
    }
    for (k, v) in [("FromPort", &perm.from_port), ("ToPort", &perm.to_port)] {
        if let Some(v) = v {
            m.push((k.into(), v.clone()));
        }
    }
    for (list, key, sources) in [
        ("IpRanges", "CidrIp", &perm.ipv4),
        ("Ipv6Ranges", "CidrIpv6", &perm.ipv6),
        ("UserIdGroupPairs", "GroupId", &perm.groups),
        ("PrefixListIds", "PrefixListId", &perm.prefix_lists),
    ] {
        let Some(src) = sources else { continue };
        for own in &src.unknown {
            paths.push((base.key(list), own.clone()));
        }
        if src.items.is_empty() {
            continue;
        }
        let items = src
            .items
            .iter()
            .enumerate()
            .map(|(j, item)| {
                if let Some(own) = &item.own {
                    paths.push((base.key(list).index(j).key(key), own.clone()));
                }
                V::new(
                    Val::Map(vec![(key.into(), item.v.clone())]),
                    item.pos,
                    item.file,
                )
            })
            .collect();
        m.push((list.into(), V::new(Val::List(items), src.pos, src.file)));
    }
    (V::new(Val::Map(m), perm.pos, perm.file), paths)
}

/// A security group (or the rules one resource adds to it) with its permissions.
pub struct SecurityGroup {
    pub id: String,
    pub pos: Pos,
    pub name: Slot,
    pub description: Slot,
    pub vpc_id: Slot,
    pub tags: Slot,
    pub ingress: Ingress,
}

/// A group's ingress: the rules, or a list unknown as a whole (with its own path).
pub enum Ingress {
    Rules {
        pos: Pos,
        file: u32,
        own: FieldPath,
        rules: Vec<Permission>,
    },
    Unknown {
        own: FieldPath,
        note: String,
    },
}

pub fn security_group(mut s: Shape, g: &SecurityGroup, path: &Arc<str>) -> Object {
    s.set_node("GroupId", str_node(&g.id, g.pos), None);
    g.name.set(&mut s, "GroupName");
    g.description.set(&mut s, "Description");
    g.vpc_id.link(&mut s, "VpcId");
    g.tags.set(&mut s, "Tags");
    ingress(&mut s, &g.ingress);
    s.build(EC2, k::EC2_SECURITY_GROUP, &g.id, path)
}

fn ingress(s: &mut Shape, i: &Ingress) {
    match i {
        Ingress::Rules {
            pos,
            file,
            own,
            rules,
        } => set_permissions(s, rules, *pos, *file, own),
        Ingress::Unknown { own, note } => {
            s.map_path("IpPermissions", own);
            s.unknown(&FieldPath::parse("IpPermissions"), note);
        }
    }
}

/// `aws_launch_template`, `AWS::EC2::LaunchTemplate`: the version the code describes,
/// as `describe-launch-template-versions` shows it (the default version).
pub struct LaunchTemplate {
    pub pos: Pos,
    pub id: String,
    pub name: String,
    pub name_own: FieldPath,
    pub version: i64,
    pub data: TemplateData,
}

pub enum TemplateData {
    /// The data in the CLI's shape already (CloudFormation), or absent.
    Given(Slot),
    /// The data from the code's own fields (Terraform).
    Fields(Box<TemplateFields>),
}

pub struct TemplateFields {
    /// Each metadata option's CLI name and own path, mapped whether given or not.
    pub metadata_owns: Vec<(&'static str, FieldPath)>,
    /// The note of a metadata block written so it is unknown (`dynamic`).
    pub metadata_unknown: Option<String>,
    pub metadata: Option<MetadataOptions>,
    pub security_groups: Slot,
    /// The network interfaces in the CLI shape, and the paths of their fields.
    pub network_interfaces: Option<(Slot, Vec<(FieldPath, FieldPath)>)>,
    pub image_id: Slot,
    pub key_name: Slot,
}

pub struct MetadataOptions {
    pub pos: Pos,
    pub own: FieldPath,
    /// (CLI name, slot) of each option.
    pub options: Vec<(&'static str, Slot)>,
}

pub fn launch_template(lt: &LaunchTemplate, mut s: Shape, path: &Arc<str>) -> Object {
    const DATA: &str = "LaunchTemplateData";
    s.set_node("LaunchTemplateId", str_node(&lt.id, lt.pos), None);
    s.set_node(
        "LaunchTemplateName",
        str_node(&lt.name, lt.pos),
        Some(&lt.name_own),
    );
    s.set_node(
        "VersionNumber",
        Node::new(Value::Int(lt.version), lt.pos),
        None,
    );
    s.set_node("DefaultVersion", Node::new(Value::Bool(true), lt.pos), None);
    let empty = || Node::new(Value::Map(Vec::new()), lt.pos);
    match &lt.data {
        TemplateData::Given(slot) => match &slot.v {
            Some(d) => s.set(DATA, Some(d), &slot.own),
            None => s.set_node(DATA, empty(), None),
        },
        TemplateData::Fields(f) => {
            s.set_node(DATA, empty(), Some(&FieldPath::root()));
            for (cli, own) in &f.metadata_owns {
                s.map_path(&format!("{DATA}.MetadataOptions.{cli}"), own);
            }
            if let Some(note) = &f.metadata_unknown {
                s.unknown(
                    &FieldPath::parse("LaunchTemplateData.MetadataOptions"),
                    note,
                );
            }
            if let Some(mo) = &f.metadata {
                s.set_node(
                    "LaunchTemplateData.MetadataOptions",
                    Node::new(Value::Map(Vec::new()), mo.pos),
                    Some(&mo.own),
                );
                for (cli, slot) in &mo.options {
                    slot.set(&mut s, &format!("{DATA}.MetadataOptions.{cli}"));
                }
            }
            f.security_groups
                .link(&mut s, "LaunchTemplateData.SecurityGroupIds");
            if let Some((nis, paths)) = &f.network_interfaces {
                nis.set(&mut s, "LaunchTemplateData.NetworkInterfaces");
                for (cli, own) in paths {
                    s.map_path(&cli.to_string(), own);
                }
            }
            f.image_id.set(&mut s, "LaunchTemplateData.ImageId");
            f.key_name.set(&mut s, "LaunchTemplateData.KeyName");
        }
    }
    s.build(
        EC2,
        k::EC2_LAUNCH_TEMPLATE_VERSION,
        &format!("{}:{}", lt.id, lt.version),
        path,
    )
}

/// `aws_iam_role`, `AWS::IAM::Role`: `get-role`, with the inline policies and the
/// exclusive list of managed policies written on the role itself.
pub struct Role {
    pub pos: Pos,
    /// The name given, else the stand-in apply would replace.
    pub name: String,
    pub name_own: FieldPath,
    pub trust_policy: Slot,
    pub boundary: Slot,
    pub inline: Vec<InlinePolicy>,
    /// `managed_policy_arns`, `ManagedPolicyArns`.
    pub managed: Option<Slot>,
}

/// An inline policy of a role: `get-role-policy`.
pub struct InlinePolicy {
    pub pos: Pos,
    pub name: String,
    pub name_own: FieldPath,
    pub document: Slot,
}

/// The role, its inline policies and its managed policy list; `fresh` makes the shape of
/// each object.
pub fn role(r: &Role, fresh: &dyn Fn() -> Shape, path: &Arc<str>) -> Vec<Object> {
    let arn = super::terraform::role_arn(&r.name);
    let mut s = fresh();
    s.set_node("RoleName", str_node(&r.name, r.pos), Some(&r.name_own));
    s.set_node("Arn", str_node(&arn, r.pos), None);
    if let Some(doc) = &r.trust_policy.v {
        s.set(
            "AssumeRolePolicyDocument",
            Some(&super::document(doc)),
            &r.trust_policy.own,
        );
    }
    s.map_path("PermissionsBoundary", &r.boundary.own);
    if let Some(b) = &r.boundary.v {
        s.set(
            "PermissionsBoundary",
            Some(&super::permissions_boundary(b)),
            &r.boundary.own,
        );
    }
    let mut out = vec![s.build(IAM, k::IAM_ROLE, &arn, path)];
    for ip in &r.inline {
        let mut s = fresh();
        s.set_node("RoleName", str_node(&r.name, r.pos), None);
        s.set_node("PolicyName", str_node(&ip.name, ip.pos), Some(&ip.name_own));
        if let Some(d) = &ip.document.v {
            s.set(
                "PolicyDocument",
                Some(&super::document(d)),
                &ip.document.own,
            );
        }
        out.push(s.build(
            IAM,
            k::IAM_ROLE_POLICY,
            &format!("{}/{}", r.name, ip.name),
            path,
        ));
    }
    if let Some(Slot { v: Some(arns), own }) = &r.managed {
        let mut s = fresh();
        s.set_node("RoleName", str_node(&r.name, r.pos), None);
        s.set("AttachedPolicies", Some(&super::attached(arns)), own);
        s.map_path("AttachedPolicies", own);
        out.push(s.build(IAM, k::IAM_ATTACHED_POLICIES, &r.name, path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(val: Val, line: u32) -> V {
        V::new(val, Pos::new(line, 3), 0)
    }

    fn s(text: &str, line: u32) -> V {
        at(Val::Str(text.into()), line)
    }

    fn shape() -> Shape {
        Shape::new(
            "terraform",
            "aws_eks_cluster",
            "aws_eks_cluster.a",
            Pos::new(1, 1),
            0,
        )
    }

    fn cluster_ir() -> Cluster {
        let p = FieldPath::parse;
        Cluster {
            id: "prod".into(),
            pos: Pos::new(1, 1),
            name: Slot::of(Some(&s("prod", 2)), p("name")),
            version: Slot::absent(p("version")),
            role_arn: Slot::of(
                Some(&V::unknown("var.role", Pos::new(3, 3), 0)),
                p("role_arn"),
            ),
            vpc_pos: Pos::new(4, 3),
            vpc_own: p("vpc_config[0]"),
            vpc: Some(Vpc {
                block: Block {
                    pos: Pos::new(4, 3),
                    own: p("vpc_config[0]"),
                    unknown: None,
                },
                public_access: Slot::of(
                    Some(&V::unknown("var.public", Pos::new(5, 5), 0)),
                    p("vpc_config[0].endpoint_public_access"),
                ),
                private_access: Slot::absent(p("vpc_config[0].endpoint_private_access")),
                public_cidrs: Slot::absent(p("vpc_config[0].public_access_cidrs")),
                subnets: Slot::absent(p("vpc_config[0].subnet_ids")),
                security_groups: Slot::absent(p("vpc_config[0].security_group_ids")),
            }),
            cluster_sg: Some(("sg-eks".into(), p("vpc_config[0]"))),
            logging: Logging {
                own: p("enabled_cluster_log_types"),
                types: LogTypes::Given(at(Val::List(vec![s("audit", 7)]), 7)),
            },
            encryption: Encryption {
                own: p("encryption_config"),
                list: None,
                unknown: None,
                items: Vec::new(),
                item_owns: Vec::new(),
            },
            access: Access {
                own: p("access_config"),
                given: false,
                authentication_mode: Slot::absent(p("access_config[0].authentication_mode")),
                bootstrap_admin: Slot::absent(p(
                    "access_config[0].bootstrap_cluster_creator_admin_permissions",
                )),
            },
            compute: Some(Compute {
                enabled: Slot::of(
                    Some(&at(Val::Bool(true), 9)),
                    p("compute_config[0].enabled"),
                ),
                node_pools: Slot::absent(p("compute_config[0].node_pools")),
                node_role_arn: Slot::of(
                    Some(&s("arn:aws:iam::1:role/auto", 10)),
                    p("compute_config[0].node_role_arn"),
                ),
            }),
        }
    }

    #[test]
    fn cluster_fields_land_with_positions_paths_and_unknowns() {
        let path: Arc<str> = "main.tf".into();
        let objs = cluster(shape(), &cluster_ir(), &shape, &path);
        assert_eq!(objs.len(), 2);
        let c = &objs[0];
        assert_eq!(&*c.kind, "EKSCluster");
        assert_eq!(&*c.name, "prod");
        let role = c.root.at("computeConfig.nodeRoleArn").unwrap();
        assert_eq!(role.as_str(), Some("arn:aws:iam::1:role/auto"));
        assert_eq!(role.pos, Pos::new(10, 3));
        assert_eq!(
            c.report_path(&FieldPath::parse("computeConfig.nodeRoleArn"))
                .to_string(),
            "compute_config[0].node_role_arn"
        );
        // An unknown link is left out without making findings undecided.
        assert!(c.root.get("roleArn").is_none());
        let iac = c.iac.as_ref().unwrap();
        assert!(iac.undecided_by(&FieldPath::parse("roleArn")).is_none());
        // The public endpoint is unknown, and its CIDRs decide with it.
        assert!(iac
            .undecided_by(&FieldPath::parse("resourcesVpcConfig.publicAccessCidrs"))
            .is_some());
        assert_eq!(
            c.root
                .at("resourcesVpcConfig.clusterSecurityGroupId")
                .and_then(Node::as_str),
            Some("sg-eks")
        );
        assert_eq!(
            c.root.at("logging.clusterLogging").unwrap().items()[0]
                .get("types")
                .unwrap()
                .items()[0]
                .pos,
            Pos::new(7, 3)
        );
        assert_eq!(
            c.report_path(&FieldPath::parse("accessConfig.authenticationMode"))
                .to_string(),
            "access_config[0].authentication_mode"
        );
        assert_eq!(&*objs[1].kind, "EC2SecurityGroup");
        assert_eq!(&*objs[1].name, "sg-eks");
    }

    #[test]
    fn permissions_normalise_protocols_and_map_each_source() {
        let own = FieldPath::parse("ingress[0]");
        let perm = Permission {
            pos: Pos::new(3, 3),
            file: 0,
            own: Some(own.clone()),
            protocol: Some(s("ALL", 4)),
            from_port: Some(at(Val::Int(0), 5)),
            to_port: None,
            ipv4: Some(Sources {
                pos: Pos::new(6, 3),
                file: 0,
                items: vec![Source::at_value(
                    s("0.0.0.0/0", 6),
                    Some(own.key("cidr_blocks").index(0)),
                )],
                unknown: vec![],
            }),
            ipv6: Some(Sources {
                pos: Pos::new(7, 3),
                file: 0,
                items: vec![],
                unknown: vec![own.key("ipv6_cidr_blocks")],
            }),
            groups: None,
            prefix_lists: Some(Sources {
                pos: Pos::new(8, 3),
                file: 0,
                items: vec![Source::at_value(s("pl-1", 8), None)],
                unknown: vec![],
            }),
        };
        let mut sh = shape();
        set_permissions(
            &mut sh,
            &[perm],
            Pos::new(3, 3),
            0,
            &FieldPath::parse("ingress"),
        );
        let o = sh.build(EC2, "EC2SecurityGroup", "sg", &Arc::from("main.tf"));
        let p0 = &o.root.get("IpPermissions").unwrap().items()[0];
        assert_eq!(p0.get("IpProtocol").and_then(Node::as_str), Some("-1"));
        assert!(p0.get("Ipv6Ranges").is_none());
        assert_eq!(
            p0.at("PrefixListIds").unwrap().items()[0]
                .get("PrefixListId")
                .and_then(Node::as_str),
            Some("pl-1")
        );
        let cidr = FieldPath::parse("IpPermissions[0].IpRanges[0].CidrIp");
        assert_eq!(
            o.report_path(&cidr).to_string(),
            "ingress[0].cidr_blocks[0]"
        );
        assert_eq!(o.locate(&cidr), Some(Pos::new(6, 3)));
        assert_eq!(
            o.report_path(&FieldPath::parse("IpPermissions[0].Ipv6Ranges"))
                .to_string(),
            "ingress[0].ipv6_cidr_blocks"
        );
    }

    #[test]
    fn node_group_links_drop_unknowns_and_keep_the_name() {
        let p = FieldPath::parse;
        let ng = NodeGroup {
            pos: Pos::new(1, 1),
            root_own: None,
            name: "ng".into(),
            name_own: p("node_group_name"),
            cluster_name: Slot::of(Some(&s("prod", 2)), p("cluster_name")),
            node_role: Slot::of(Some(&s("arn:aws:iam::1:role/n", 3)), p("node_role_arn")),
            subnets: Slot::of(
                Some(&at(
                    Val::List(vec![s("subnet-1", 4), V::unknown("x", Pos::new(4, 20), 0)]),
                    4,
                )),
                p("subnet_ids"),
            ),
            ami_type: Slot::absent(p("ami_type")),
            version: Slot::absent(p("version")),
            release_version: Slot::absent(p("release_version")),
            remote_access: None,
            launch_template: Some(LaunchTemplateRef {
                own: Some(p("launch_template[0]")),
                id: Slot::of(Some(&s("lt-1", 6)), p("launch_template[0].id")),
                name: Slot::absent(p("launch_template[0].name")),
                version: Slot::of(Some(&s("1", 7)), p("launch_template[0].version")),
            }),
        };
        let o = node_group(shape(), &ng, &Arc::from("main.tf"));
        assert_eq!(o.root.get("subnets").unwrap().items().len(), 1);
        assert_eq!(
            o.root.at("launchTemplate.version").and_then(Node::as_str),
            Some("1")
        );
        assert_eq!(o.locate(&p("nodeRole")), Some(Pos::new(3, 3)));
        assert_eq!(
            o.report_path(&p("nodegroupName")).to_string(),
            "node_group_name"
        );
    }
}
