//! Terraform resources (from HCL or from a plan, which share attribute names) mapped onto
//! the AWS CLI shapes of [`crate::aws_json`] and onto Kubernetes objects.
//!
//! Identifiers Terraform computes are stood in for by the address (`aws_security_group.node`
//! for its ID, `arn:aws:iam::000000000000:role/NAME` for a role's ARN), the same stand-in
//! the HCL reader gives a reference to that attribute, so joins find each other.

use eksguard_model::aws_kinds as k;
use std::sync::Arc;

use eksguard_model::{FieldPath, Node, Object, Pos, Source, Value};

use super::{document, ir, str_node, Shape, Val, V};

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

/// A slot of the resource's attribute `k`.
fn slot(r: &Res, k: &str) -> ir::Slot {
    ir::Slot::of(r.get(k), p(k))
}

/// A slot of the attribute `k` of the nested block `block` (at `base`).
fn slot_in(block: Option<&V>, base: &str, k: &str) -> ir::Slot {
    ir::Slot::of(block.and_then(|b| b.get(k)), p(&format!("{base}.{k}")))
}

fn cluster(r: &Res) -> Vec<Object> {
    let base = "vpc_config[0]";
    let vpc = r.block("vpc_config");
    let vpc_pos = vpc.map_or(r.pos, |v| v.pos);
    let cluster_sg = vpc.map(|vpc| {
        let csg = vpc
            .get("cluster_security_group_id")
            .and_then(V::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{}.cluster_security_group_id", r.stand_in()));
        (csg, p(base))
    });
    let enc = r.get("encryption_config");
    let encryption = ir::Encryption {
        own: p("encryption_config"),
        list: enc.map(|l| (l.pos, l.file)),
        unknown: enc
            .filter(|l| l.is_unknown())
            .map(|_| "dynamic \"encryption_config\"".to_string()),
        items: enc
            .map(V::items)
            .unwrap_or(&[])
            .iter()
            .map(|ec| ir::EncryptionItem {
                pos: ec.pos,
                file: ec.file,
                resources: ec.get("resources").cloned(),
                key_arn: ec
                    .get("provider")
                    .and_then(V::first)
                    .and_then(|pv| pv.get("key_arn"))
                    .cloned(),
            })
            .collect(),
        item_owns: (0..enc.map_or(0, |l| l.items().len()))
            .map(|i| p(&format!("encryption_config[{i}]")))
            .collect(),
    };
    let ac = r.block("access_config");
    let cc = r.block("compute_config");
    let c = ir::Cluster {
        id: r.text("name").unwrap_or_else(|| r.address.to_string()),
        pos: r.pos,
        name: slot(r, "name"),
        version: slot(r, "version"),
        role_arn: slot(r, "role_arn"),
        vpc_pos,
        vpc_own: p(base),
        vpc: vpc.map(|v| ir::Vpc {
            block: ir::Block {
                pos: v.pos,
                own: p(base),
                unknown: v.is_unknown().then(|| "dynamic \"vpc_config\"".to_string()),
            },
            public_access: slot_in(Some(v), base, "endpoint_public_access"),
            private_access: slot_in(Some(v), base, "endpoint_private_access"),
            public_cidrs: slot_in(Some(v), base, "public_access_cidrs"),
            subnets: slot_in(Some(v), base, "subnet_ids"),
            security_groups: slot_in(Some(v), base, "security_group_ids"),
        }),
        cluster_sg,
        logging: ir::Logging {
            own: p("enabled_cluster_log_types"),
            types: match r.get("enabled_cluster_log_types") {
                Some(types) if !matches!(types.val, Val::Null) => {
                    ir::LogTypes::Given(types.clone())
                }
                _ => ir::LogTypes::Absent,
            },
        },
        encryption,
        access: ir::Access {
            own: p("access_config"),
            given: ac.is_some(),
            authentication_mode: slot_in(ac, "access_config[0]", "authentication_mode"),
            bootstrap_admin: slot_in(
                ac,
                "access_config[0]",
                "bootstrap_cluster_creator_admin_permissions",
            ),
        },
        // EKS Auto Mode: the role its nodes run as is a node role like a node group's.
        compute: cc.map(|cc| ir::Compute {
            enabled: slot_in(Some(cc), "compute_config[0]", "enabled"),
            node_pools: slot_in(Some(cc), "compute_config[0]", "node_pools"),
            node_role_arn: slot_in(Some(cc), "compute_config[0]", "node_role_arn"),
        }),
    };
    ir::cluster(r.shape(), &c, &|| r.shape(), r.path)
}

fn node_group(r: &Res) -> Object {
    let name = r
        .text("node_group_name")
        .or_else(|| r.text("node_group_name_prefix"))
        .unwrap_or_else(|| r.address.to_string());
    let ra = r.block("remote_access");
    let lt = r.block("launch_template");
    let lt_slot = |k: &str| {
        let v = lt.and_then(|lt| lt.get(k)).map(|v| match v.val {
            // The version is text in the CLI output.
            Val::Int(i) => V::new(Val::Str(i.to_string()), v.pos, v.file),
            _ => v.clone(),
        });
        ir::Slot::of(v.as_ref(), p(&format!("launch_template[0].{k}")))
    };
    let ng = ir::NodeGroup {
        pos: r.pos,
        root_own: None,
        name,
        name_own: p("node_group_name"),
        cluster_name: slot(r, "cluster_name"),
        node_role: slot(r, "node_role_arn"),
        subnets: slot(r, "subnet_ids"),
        ami_type: slot(r, "ami_type"),
        version: slot(r, "version"),
        release_version: slot(r, "release_version"),
        remote_access: ra.map(|ra| ir::RemoteAccess {
            own: p("remote_access[0]"),
            ssh_key: slot_in(Some(ra), "remote_access[0]", "ec2_ssh_key"),
            source_security_groups: slot_in(
                Some(ra),
                "remote_access[0]",
                "source_security_group_ids",
            ),
        }),
        launch_template: lt.map(|_| ir::LaunchTemplateRef {
            own: Some(p("launch_template[0]")),
            id: lt_slot("id"),
            name: lt_slot("name"),
            version: lt_slot("version"),
        }),
    };
    ir::node_group(r.shape(), &ng, r.path)
}

fn principal(r: &Res) -> String {
    r.text("principal_arn")
        .unwrap_or_else(|| r.address.to_string())
}

fn access_entry(r: &Res) -> Object {
    let e = ir::AccessEntry {
        id: principal(r),
        root_own: None,
        cluster_name: slot(r, "cluster_name"),
        principal_arn: slot(r, "principal_arn"),
        kubernetes_groups: slot(r, "kubernetes_groups"),
        entry_type: slot(r, "type"),
        username: slot(r, "user_name"),
    };
    ir::access_entry(r.shape(), &e, r.path)
}

fn access_policy(r: &Res) -> Object {
    let a = ir::AccessPolicies {
        id: principal(r),
        cluster_name: slot(r, "cluster_name"),
        principal_arn: slot(r, "principal_arn"),
        pos: r.pos,
        file: r.file,
        own: FieldPath::root(),
        policies: vec![ir::AccessPolicy {
            pos: r.pos,
            file: r.file,
            policy_arn: r.get("policy_arn").cloned(),
            scope: r.block("access_scope").map(|sc| {
                (
                    sc.pos,
                    sc.file,
                    sc.get("type").cloned(),
                    sc.get("namespaces").cloned(),
                )
            }),
        }],
        paths: vec![
            (p("associatedAccessPolicies[0].policyArn"), p("policy_arn")),
            (
                p("associatedAccessPolicies[0].accessScope"),
                p("access_scope[0]"),
            ),
        ],
    };
    ir::access_policies(r.shape(), &a, r.path)
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
    s.build(EKS, k::EKS_POD_IDENTITY_ASSOCIATION, r.address, r.path)
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
    s.build(EKS, k::EKS_ADDON, &name, r.path)
}

fn launch_template(r: &Res) -> Object {
    const METADATA: [(&str, &str); 3] = [
        ("HttpTokens", "http_tokens"),
        ("HttpPutResponseHopLimit", "http_put_response_hop_limit"),
        ("HttpEndpoint", "http_endpoint"),
    ];
    let md = |own: &str| p(&format!("metadata_options[0].{own}"));
    let network_interfaces = r.get("network_interfaces").map(|nis| {
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
        let mut paths = Vec::new();
        for i in 0..nis.items().len() {
            for (cli, own) in [
                ("AssociatePublicIpAddress", "associate_public_ip_address"),
                ("DeviceIndex", "device_index"),
                ("Groups", "security_groups"),
            ] {
                paths.push((
                    p(&format!("LaunchTemplateData.NetworkInterfaces[{i}].{cli}")),
                    p(&format!("network_interfaces[{i}].{own}")),
                ));
            }
        }
        (
            ir::Slot {
                v: Some(V::new(Val::List(items), nis.pos, nis.file)),
                own: p("network_interfaces"),
            },
            paths,
        )
    });
    let fields = ir::TemplateFields {
        metadata_owns: METADATA.iter().map(|(cli, own)| (*cli, md(own))).collect(),
        metadata_unknown: r
            .get("metadata_options")
            .filter(|l| l.is_unknown())
            .map(|_| "dynamic \"metadata_options\"".to_string()),
        metadata: r.block("metadata_options").map(|mo| ir::MetadataOptions {
            pos: mo.pos,
            own: p("metadata_options[0]"),
            options: METADATA
                .iter()
                .map(|(cli, own)| (*cli, ir::Slot::of(mo.get(own), md(own))))
                .collect(),
        }),
        security_groups: slot(r, "vpc_security_group_ids"),
        network_interfaces,
        image_id: slot(r, "image_id"),
        key_name: slot(r, "key_name"),
    };
    let lt = ir::LaunchTemplate {
        pos: r.pos,
        id: r.text("id").unwrap_or_else(|| r.stand_in()),
        name: r.text("name").unwrap_or_else(|| r.stand_in()),
        name_own: p("name"),
        version: r.get("latest_version").and_then(V::as_i64).unwrap_or(1),
        data: ir::TemplateData::Fields(Box::new(fields)),
    };
    ir::launch_template(&lt, r.shape(), r.path)
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

/// One ingress rule of Terraform attributes (`from_port`, `cidr_blocks`, ... or the VPC
/// rule's `cidr_ipv4`, ...) at `own`.
fn permission(rule: &V, own: &FieldPath, self_id: Option<&str>) -> ir::Permission {
    let mk = |val: Val| V::new(val, rule.pos, rule.file);
    // Each attribute of `tfs` as a list (a single value is one item), each item mapped
    // to its own path.
    let sources = |tfs: &[&str], pos: Pos, file: u32| {
        let mut src = ir::Sources {
            pos,
            file,
            items: Vec::new(),
            unknown: Vec::new(),
        };
        for tf in tfs {
            let Some(v) = rule.get(tf) else { continue };
            let (items, single): (Vec<&V>, bool) = match &v.val {
                Val::List(items) => (items.iter().collect(), false),
                Val::Null => continue,
                _ => (vec![v], true),
            };
            for (j, item) in items.into_iter().enumerate() {
                let own_item = if single {
                    own.key(tf)
                } else {
                    own.key(tf).index(j)
                };
                src.items
                    .push(ir::Source::at_value(item.clone(), Some(own_item)));
            }
            if v.is_unknown() {
                src.unknown.push(own.key(tf));
            }
        }
        src
    };
    let mut groups = ir::Sources {
        pos: rule.pos,
        file: rule.file,
        items: Vec::new(),
        unknown: Vec::new(),
    };
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
            groups.items.push(ir::Source::at_value(item.clone(), None));
        }
    }
    if rule.get("self").and_then(V::as_bool) == Some(true) {
        if let Some(id) = self_id {
            groups.items.push(ir::Source {
                v: mk(Val::Str(id.into())),
                pos: rule.pos,
                file: rule.file,
                own: None,
            });
        }
    }
    let prefix = ["prefix_list_ids", "prefix_list_id"]
        .into_iter()
        .find(|k| rule.get(k).is_some());
    ir::Permission {
        pos: rule.pos,
        file: rule.file,
        own: Some(own.clone()),
        protocol: rule
            .get("protocol")
            .or_else(|| rule.get("ip_protocol"))
            .cloned(),
        from_port: rule.get("from_port").cloned(),
        to_port: rule.get("to_port").cloned(),
        ipv4: Some(sources(&["cidr_blocks", "cidr_ipv4"], rule.pos, rule.file)),
        ipv6: Some(sources(
            &["ipv6_cidr_blocks", "cidr_ipv6"],
            rule.pos,
            rule.file,
        )),
        groups: Some(groups),
        prefix_lists: prefix.map(|k| {
            let v = rule
                .get(k)
                .map_or((rule.pos, rule.file), |v| (v.pos, v.file));
            sources(&[k], v.0, v.1)
        }),
    }
}

fn security_group(r: &Res) -> Object {
    let id = r.text("id").unwrap_or_else(|| r.stand_in());
    let ingress = match r.get("ingress") {
        Some(v) if v.is_unknown() => ir::Ingress::Unknown {
            own: p("ingress"),
            note: "dynamic \"ingress\"".into(),
        },
        Some(list) => ir::Ingress::Rules {
            pos: list.pos,
            file: list.file,
            own: p("ingress"),
            rules: list
                .items()
                .iter()
                .enumerate()
                .map(|(i, rule)| permission(rule, &p(&format!("ingress[{i}]")), Some(&id)))
                .collect(),
        },
        None => ir::Ingress::Rules {
            pos: r.pos,
            file: r.file,
            own: p("ingress"),
            rules: Vec::new(),
        },
    };
    let g = ir::SecurityGroup {
        id,
        pos: r.pos,
        name: slot(r, "name"),
        description: slot(r, "description"),
        vpc_id: slot(r, "vpc_id"),
        tags: ir::Slot {
            v: r.get("tags").map(ec2_tags),
            own: p("tags"),
        },
        ingress,
    };
    ir::security_group(r.shape(), &g, r.path)
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
    let perm = permission(r.attrs, &FieldPath::root(), Some(&group));
    ir::set_permissions(&mut s, &[perm], r.pos, r.file, &FieldPath::root());
    s.build(EC2, k::EC2_SECURITY_GROUP, &group, r.path)
}

fn iam_role(r: &Res) -> Vec<Object> {
    let inline = r
        .get("inline_policy")
        .map(V::items)
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .map(|(i, ip)| ir::InlinePolicy {
            pos: ip.pos,
            name: ip
                .str_at("name")
                .unwrap_or_else(|| format!("inline_policy[{i}]")),
            name_own: p(&format!("inline_policy[{i}].name")),
            document: ir::Slot::of(ip.get("policy"), p(&format!("inline_policy[{i}].policy"))),
        })
        .collect();
    let role = ir::Role {
        pos: r.pos,
        name: r.text("name").unwrap_or_else(|| r.stand_in()),
        name_own: p("name"),
        trust_policy: slot(r, "assume_role_policy"),
        boundary: slot(r, "permissions_boundary"),
        inline,
        managed: r
            .get("managed_policy_arns")
            .map(|_| slot(r, "managed_policy_arns")),
    };
    ir::role(&role, &|| r.shape(), r.path)
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
    s.build(IAM, k::IAM_ATTACHED_POLICIES, &name, r.path)
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
    s.build(IAM, k::IAM_ROLE_POLICY, &format!("{role}/{pname}"), r.path)
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
    s.build(IAM, k::IAM_MANAGED_POLICY, &arn, r.path)
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
    s.build(EKS, k::EKS_IDENTITY_PROVIDER_CONFIG, &name, r.path)
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
    s.build(EC2, k::EC2_SUBNET, &id, r.path)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Vec<Object> {
        let (objects, errors) = super::super::load_terraform_text("main.tf", text);
        assert!(errors.is_empty(), "{errors:?}");
        objects
    }

    fn find<'a>(objs: &'a [Object], kind: &str) -> &'a Object {
        objs.iter().find(|o| &*o.kind == kind).unwrap()
    }

    const CLUSTER: &str = r#"resource "aws_iam_role" "auto" {
  name = "auto-nodes"
}
resource "aws_eks_cluster" "c" {
  name     = "prod"
  role_arn = aws_iam_role.cluster.arn
  vpc_config {
    subnet_ids             = ["subnet-1"]
    endpoint_public_access = var.public
  }
  compute_config {
    enabled       = true
    node_pools    = ["general-purpose"]
    node_role_arn = aws_iam_role.auto.arn
  }
  enabled_cluster_log_types = ["audit"]
  access_config {
    authentication_mode = "API"
  }
}
"#;

    #[test]
    fn cluster_fields_positions_and_auto_mode_node_role() {
        let objs = load(CLUSTER);
        let c = find(&objs, "EKSCluster");
        assert_eq!(&*c.name, "prod");
        let role = p("computeConfig.nodeRoleArn");
        assert_eq!(
            c.root
                .at("computeConfig.nodeRoleArn")
                .and_then(Node::as_str),
            Some("arn:aws:iam::000000000000:role/auto-nodes")
        );
        assert_eq!(c.locate(&role).unwrap().line, 14);
        assert_eq!(
            c.report_path(&role).to_string(),
            "compute_config[0].node_role_arn"
        );
        assert_eq!(
            c.root.at("computeConfig.enabled").and_then(Node::as_bool),
            Some(true)
        );
        // The unknown public endpoint leaves it and its CIDRs undecided.
        let iac = c.iac.as_ref().unwrap();
        let (_, expr) = iac
            .undecided_by(&p("resourcesVpcConfig.publicAccessCidrs"))
            .unwrap();
        assert_eq!(expr, "var.public");
        assert_eq!(
            c.root.at("logging.clusterLogging").unwrap().items()[0]
                .get("types")
                .unwrap()
                .items()[0]
                .as_str(),
            Some("audit")
        );
        assert_eq!(
            c.report_path(&p("accessConfig.authenticationMode"))
                .to_string(),
            "access_config[0].authentication_mode"
        );
        assert_eq!(
            c.locate(&p("accessConfig.authenticationMode"))
                .unwrap()
                .line,
            18
        );
        // The group EKS creates, named after the cluster's address.
        let sg = find(&objs, "EC2SecurityGroup");
        assert_eq!(&*sg.name, "./aws_eks_cluster.c.cluster_security_group_id");
    }

    #[test]
    fn node_group_links_its_role_and_launch_template() {
        let objs = load(
            r#"resource "aws_security_group" "nodes" {}
resource "aws_launch_template" "lt" {
  name                   = "nodes"
  vpc_security_group_ids = [aws_security_group.nodes.id]
}
resource "aws_eks_node_group" "ng" {
  cluster_name  = "prod"
  node_role_arn = aws_iam_role.node.arn
  subnet_ids    = ["subnet-1", var.more]
  launch_template {
    id      = aws_launch_template.lt.id
    version = aws_launch_template.lt.latest_version
  }
  remote_access {
    ec2_ssh_key = "ops"
  }
}
"#,
        );
        let ng = find(&objs, "EKSNodegroup");
        // Without a name, the address names it.
        assert_eq!(&*ng.name, "aws_eks_node_group.ng");
        assert_eq!(
            ng.root.at("launchTemplate.id").and_then(Node::as_str),
            Some("./aws_launch_template.lt")
        );
        // The version is text, as the CLI prints it.
        assert_eq!(
            ng.root.at("launchTemplate.version").and_then(Node::as_str),
            Some("1")
        );
        assert_eq!(ng.root.get("subnets").unwrap().items().len(), 1);
        assert_eq!(
            ng.report_path(&p("remoteAccess.ec2SshKey")).to_string(),
            "remote_access[0].ec2_ssh_key"
        );
        assert_eq!(ng.locate(&p("remoteAccess.ec2SshKey")).unwrap().line, 15);
        let lt = find(&objs, "EC2LaunchTemplateVersion");
        assert_eq!(
            lt.root
                .at("LaunchTemplateData.SecurityGroupIds")
                .unwrap()
                .items()[0]
                .as_str(),
            Some("./aws_security_group.nodes")
        );
    }

    #[test]
    fn security_group_rules_in_every_form() {
        let objs = load(
            r#"resource "aws_security_group" "g" {
  ingress {
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["10.0.0.0/8", var.extra]
    self        = true
  }
}
resource "aws_security_group_rule" "r" {
  type              = "ingress"
  security_group_id = aws_security_group.g.id
  protocol          = "-1"
  from_port         = 0
  to_port           = 0
  ipv6_cidr_blocks  = ["::/0"]
}
resource "aws_security_group_rule" "egress" {
  type = "egress"
}
resource "aws_vpc_security_group_ingress_rule" "v" {
  security_group_id = "sg-1"
  ip_protocol       = "tcp"
  prefix_list_id    = "pl-1"
}
"#,
        );
        let groups: Vec<&Object> = objs
            .iter()
            .filter(|o| &*o.kind == "EC2SecurityGroup")
            .collect();
        assert_eq!(groups.len(), 3);
        let g = groups[0];
        let perm = &g.root.get("IpPermissions").unwrap().items()[0];
        assert_eq!(perm.get("IpProtocol").and_then(Node::as_str), Some("tcp"));
        // The unknown CIDR stays in its place and makes the permission undecided.
        let second = p("IpPermissions[0].IpRanges[1].CidrIp");
        assert!(g.iac.as_ref().unwrap().undecided_by(&second).is_some());
        assert_eq!(
            g.report_path(&second).to_string(),
            "ingress[0].cidr_blocks[1]"
        );
        assert_eq!(
            perm.at("UserIdGroupPairs").unwrap().items()[0]
                .get("GroupId")
                .and_then(Node::as_str),
            Some("./aws_security_group.g")
        );
        let r = groups[1];
        assert_eq!(&*r.name, "./aws_security_group.g");
        assert_eq!(r.resource().name, "aws_security_group_rule.r");
        let v6 = p("IpPermissions[0].Ipv6Ranges[0].CidrIpv6");
        assert_eq!(r.report_path(&v6).to_string(), "ipv6_cidr_blocks[0]");
        assert_eq!(r.locate(&v6).unwrap().line, 16);
        // A prefix list in the EC2 shape: one item per list.
        let v = groups[2];
        let pl = &v.root.get("IpPermissions").unwrap().items()[0]
            .get("PrefixListIds")
            .unwrap()
            .items()[0];
        assert_eq!(pl.get("PrefixListId").and_then(Node::as_str), Some("pl-1"));
    }

    #[test]
    fn access_entries_roles_and_attachments() {
        let objs = load(
            r#"resource "aws_eks_access_entry" "a" {
  cluster_name      = "prod"
  principal_arn     = "arn:aws:iam::1:role/ops"
  kubernetes_groups = ["ops"]
}
resource "aws_eks_access_policy_association" "p" {
  cluster_name  = "prod"
  principal_arn = "arn:aws:iam::1:role/ops"
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
  access_scope {
    type = "cluster"
  }
}
resource "aws_iam_role" "r" {
  name               = "app"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [] })
  inline_policy {
    name   = "inline"
    policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
  }
  managed_policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
}
resource "aws_iam_role_policy_attachment" "x" {
  role       = aws_iam_role.r.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"#,
        );
        let e = find(&objs, "EKSAccessEntry");
        assert_eq!(&*e.name, "arn:aws:iam::1:role/ops");
        assert_eq!(e.locate(&p("kubernetesGroups")).unwrap().line, 4);
        let ap = find(&objs, "EKSAccessPolicies");
        assert_eq!(
            ap.report_path(&p("associatedAccessPolicies[0].accessScope.type"))
                .to_string(),
            "access_scope[0].type"
        );
        assert_eq!(
            ap.root.at("associatedAccessPolicies").unwrap().items()[0]
                .at("accessScope.type")
                .and_then(Node::as_str),
            Some("cluster")
        );
        let role = find(&objs, "IAMRole");
        assert_eq!(&*role.name, "arn:aws:iam::000000000000:role/app");
        assert_eq!(
            role.report_path(&p("AssumeRolePolicyDocument.Version"))
                .to_string(),
            "assume_role_policy.Version"
        );
        let inline = find(&objs, "IAMRolePolicy");
        assert_eq!(&*inline.name, "app/inline");
        assert_eq!(inline.locate(&p("PolicyName")).unwrap().line, 17);
        let lists: Vec<&Object> = objs
            .iter()
            .filter(|o| &*o.kind == "IAMAttachedPolicies")
            .collect();
        assert_eq!(lists.len(), 2);
        assert!(lists.iter().all(|l| &*l.name == "app"));
        assert_eq!(
            lists[1].root.get("AttachedPolicies").unwrap().items()[0]
                .get("PolicyName")
                .and_then(Node::as_str),
            Some("AdministratorAccess")
        );
    }
}
