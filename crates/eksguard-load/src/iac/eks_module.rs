//! The `terraform-aws-modules/eks/aws` module: a `module` block with that source becomes
//! the cluster, node groups, launch templates, security groups and access entries the
//! module creates, from its inputs and, where an input is not set, from the module's own
//! default for its major version (19, 20 or 21, whose input names differ: v21 dropped the
//! `cluster_` prefix). A finding that rests on a default says which one.
//!
//! Defaults, as the module's `variables.tf` of v19.21, v20.37 and v21.19 give them:
//!
//! | input (v19/v20 name; v21 name) | v19 | v20 | v21 |
//! |---|---|---|---|
//! | `cluster_endpoint_public_access`; `endpoint_public_access` | false | false | false |
//! | `cluster_endpoint_private_access`; `endpoint_private_access` | true | true | true |
//! | `cluster_endpoint_public_access_cidrs`; `endpoint_public_access_cidrs` | 0.0.0.0/0 | 0.0.0.0/0 | 0.0.0.0/0 |
//! | `cluster_enabled_log_types`; `enabled_log_types` | audit, api, authenticator | same | same |
//! | `cluster_encryption_config`; `encryption_config` | secrets (KMS key made) | same | same |
//! | `authentication_mode` | (none: CONFIG_MAP) | API_AND_CONFIG_MAP | API_AND_CONFIG_MAP |
//! | `enable_cluster_creator_admin_permissions` | - | false | false |
//! | node group `metadata_options` hop limit | 2 | 2 | 1 |
//! | `node_security_group_enable_recommended_rules` | true | true | true |

use eksguard_model::aws_kinds as k;
use std::sync::Arc;

use eksguard_model::{FieldPath, InputError, Node, Object, Pos, Value};

use super::hcl::{is_eks_module, Evaluated};
use super::ir::{self, Slot};
use super::terraform::role_arn;
use super::{str_node, Shape, Val, V};
use crate::aws_json::{EC2, EKS, IAM};

/// The module's major version from `version` (`~> 20.0`, `20.8.4`) or a `?ref=v20.1.0`.
fn major(attrs: &V) -> Option<u32> {
    let from = |s: &str| -> Option<u32> {
        let digits: String = s
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    if let Some(v) = attrs.get("version").and_then(V::as_str) {
        return from(v);
    }
    let source = attrs.get("source").and_then(V::as_str)?;
    from(source.split("ref=").nth(1)?)
}

/// Input names of one major version.
struct Names {
    v: u32,
    name: &'static str,
    version: &'static str,
    public: &'static str,
    private: &'static str,
    cidrs: &'static str,
    logs: &'static str,
    encryption: &'static str,
    cluster_sg_rules: &'static str,
    addons: &'static str,
}

fn names(v: u32) -> Names {
    if v >= 21 {
        Names {
            v,
            name: "name",
            version: "kubernetes_version",
            public: "endpoint_public_access",
            private: "endpoint_private_access",
            cidrs: "endpoint_public_access_cidrs",
            logs: "enabled_log_types",
            encryption: "encryption_config",
            cluster_sg_rules: "security_group_additional_rules",
            addons: "addons",
        }
    } else {
        Names {
            v,
            name: "cluster_name",
            version: "cluster_version",
            public: "cluster_endpoint_public_access",
            private: "cluster_endpoint_private_access",
            cidrs: "cluster_endpoint_public_access_cidrs",
            logs: "cluster_enabled_log_types",
            encryption: "cluster_encryption_config",
            cluster_sg_rules: "cluster_security_group_additional_rules",
            addons: "cluster_addons",
        }
    }
}

/// The version when `version` does not say: v21's input names, or v20's access inputs.
fn guess(attrs: &V) -> Option<u32> {
    let has = |k: &str| attrs.get(k).is_some();
    if [
        "kubernetes_version",
        "endpoint_public_access",
        "enabled_log_types",
        "encryption_config",
    ]
    .iter()
    .any(|k| has(k))
    {
        Some(21)
    } else if [
        "authentication_mode",
        "access_entries",
        "enable_cluster_creator_admin_permissions",
    ]
    .iter()
    .any(|k| has(k))
    {
        Some(20)
    } else {
        None
    }
}

fn p(s: &str) -> FieldPath {
    FieldPath::parse(s)
}

fn key(base: &str, k: &str) -> FieldPath {
    FieldPath::parse(base).key(k)
}

struct Ctx<'a> {
    b: &'a Evaluated,
    path: &'a Arc<str>,
    n: Names,
    /// Version known: defaults that differ between versions can be applied.
    known: bool,
    cluster_name: String,
    /// The stand-in prefix of what the module creates (the address, scoped).
    addr: String,
}

impl Ctx<'_> {
    fn shape(&self, pos: Pos) -> Shape {
        let mut s = Shape::new("terraform", "module", &self.b.address, pos, self.b.file);
        for (pos, text) in &self.b.suppressions {
            s.suppress(*pos, text.clone());
        }
        if let Some(expr) = &self.b.unknown_count {
            s.unknown(&FieldPath::root(), expr);
        }
        s
    }

    fn get(&self, k: &str) -> Option<&V> {
        self.b.attrs.get(k).filter(|v| !matches!(v.val, Val::Null))
    }

    fn mk(&self, val: Val) -> V {
        V::new(val, self.b.pos, self.b.file)
    }

    fn version_note(&self) -> String {
        if self.known {
            format!("v{}", self.n.v)
        } else {
            format!("v{} guessed from the inputs", self.n.v)
        }
    }

    /// Sets `cli` from the input `input`, or from `default` with a note.
    fn input_or_default(
        &self,
        s: &mut Shape,
        cli: &str,
        input: &str,
        default: Option<V>,
        shown: &str,
    ) {
        match self.get(input) {
            Some(v) => s.set(cli, Some(v), &p(input)),
            None => {
                s.map_path(cli, &p(input));
                if let Some(d) = default {
                    s.set(cli, Some(&d), &p(input));
                    s.default_note(
                        cli,
                        format!(
                            "module default `{input} = {shown}`, {}",
                            self.version_note()
                        ),
                    );
                }
            }
        }
    }
}

fn strs(items: &[&str], pos: Pos, file: u32) -> V {
    V::new(
        Val::List(
            items
                .iter()
                .map(|s| V::new(Val::Str(s.to_string()), pos, file))
                .collect(),
        ),
        pos,
        file,
    )
}

/// The objects of a module block (none unless it is the EKS module), and warnings.
pub fn map_module(b: &Evaluated, path: &Arc<str>, scope: &str) -> (Vec<Object>, Vec<InputError>) {
    let source = b.attrs.get("source").and_then(V::as_str).unwrap_or("");
    if !is_eks_module(source) {
        return (Vec::new(), Vec::new());
    }
    let mut warnings = Vec::new();
    let (v, known) = match major(&b.attrs) {
        Some(v @ 19..=21) => (v, true),
        Some(v) if v > 21 => (21, false),
        found => {
            match guess(&b.attrs) {
                Some(v) => (v, false),
                None => {
                    if found.is_some() {
                        warnings.push(InputError::new(
                        &**path,
                        Some(b.pos.line),
                        format!("{}: EKS module versions before 19 are not read; only its inputs are", b.address),
                    ));
                    }
                    (20, false)
                }
            }
        }
    };
    let n = names(v);
    let cluster_name = b
        .attrs
        .get(n.name)
        .and_then(V::text)
        .unwrap_or_else(|| super::stand_in(scope, &b.address));
    let cx = Ctx {
        b,
        path,
        n,
        known,
        cluster_name,
        addr: super::stand_in(scope, &b.address),
    };
    let mut out = vec![cluster(&cx)];
    let node_sg = format!("{}.node_security_group_id", cx.addr);
    let cluster_sg = format!("{}.cluster_security_group_id", cx.addr);
    let creates_node_sg = cx.get("create_node_security_group").and_then(V::as_bool) != Some(false);
    if creates_node_sg {
        out.push(node_security_group(&cx, &node_sg, &cluster_sg));
    }
    out.push(cluster_security_group(&cx, &cluster_sg, &node_sg));
    out.push(super::eks_cluster_security_group(
        cx.shape(cx.b.pos),
        &format!("{}.eks_cluster_security_group_id", cx.addr),
        &FieldPath::root(),
        cx.b.pos,
        cx.path,
    ));
    out.extend(node_groups(
        &cx,
        creates_node_sg.then_some(node_sg.as_str()),
    ));
    out.extend(access_entries(&cx));
    out.extend(addons(&cx));
    (out, warnings)
}

fn cluster(cx: &Ctx) -> Object {
    let b = cx.b;
    let n = &cx.n;
    let mut s = cx.shape(b.pos);
    s.set_node("name", str_node(&cx.cluster_name, b.pos), Some(&p(n.name)));
    s.set("version", cx.get(n.version), &p(n.version));
    s.set_node(
        "resourcesVpcConfig",
        Node::new(Value::Map(Vec::new()), b.pos),
        None,
    );
    cx.input_or_default(
        &mut s,
        "resourcesVpcConfig.endpointPublicAccess",
        n.public,
        Some(cx.mk(Val::Bool(false))),
        "false",
    );
    cx.input_or_default(
        &mut s,
        "resourcesVpcConfig.endpointPrivateAccess",
        n.private,
        Some(cx.mk(Val::Bool(true))),
        "true",
    );
    cx.input_or_default(
        &mut s,
        "resourcesVpcConfig.publicAccessCidrs",
        n.cidrs,
        Some(strs(&["0.0.0.0/0"], b.pos, b.file)),
        "[\"0.0.0.0/0\"]",
    );
    s.tie(&[
        "resourcesVpcConfig.endpointPublicAccess",
        "resourcesVpcConfig.publicAccessCidrs",
    ]);
    let subnets = cx
        .get("control_plane_subnet_ids")
        .or_else(|| cx.get("subnet_ids"));
    s.set_link("resourcesVpcConfig.subnetIds", subnets, &p("subnet_ids"));
    let csg = cx
        .get("cluster_security_group_id")
        .and_then(V::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("{}.cluster_security_group_id", cx.addr));
    s.set_node(
        "resourcesVpcConfig.securityGroupIds",
        Node::new(Value::Seq(vec![str_node(&csg, b.pos)]), b.pos),
        None,
    );
    s.set_node(
        "resourcesVpcConfig.clusterSecurityGroupId",
        str_node(&format!("{}.eks_cluster_security_group_id", cx.addr), b.pos),
        None,
    );
    // Control-plane logs.
    let logs = match cx.get(n.logs) {
        Some(v) => v.clone(),
        None => strs(&["audit", "api", "authenticator"], b.pos, b.file),
    };
    let item = V::new(
        Val::Map(vec![
            ("types".into(), logs.clone()),
            (
                "enabled".into(),
                V::new(Val::Bool(true), logs.pos, logs.file),
            ),
        ]),
        logs.pos,
        logs.file,
    );
    s.set(
        "logging.clusterLogging",
        Some(&V::new(Val::List(vec![item]), logs.pos, logs.file)),
        &p(n.logs),
    );
    s.map_path("logging.clusterLogging[0].types", &p(n.logs));
    if cx.get(n.logs).is_none() {
        s.default_note(
            "logging.clusterLogging",
            format!(
                "module default `{} = [\"audit\", \"api\", \"authenticator\"]`, {}",
                n.logs,
                cx.version_note()
            ),
        );
    }
    // Envelope encryption: on by default with a key the module creates; `{}` (v19, v20)
    // or `null` turns it off.
    s.map_path("encryptionConfig", &p(n.encryption));
    let enc = cx.b.attrs.get(n.encryption);
    let create_key = cx.get("create_kms_key").and_then(V::as_bool) != Some(false);
    let off = match enc {
        None => false,
        Some(v) if matches!(v.val, Val::Null) => true,
        Some(V {
            val: Val::Map(m), ..
        }) => n.v < 21 && m.is_empty(),
        Some(v) if v.is_unknown() => {
            s.unknown(
                &p("encryptionConfig"),
                match &v.val {
                    Val::Unknown(e) => e,
                    _ => "",
                },
            );
            false
        }
        _ => false,
    };
    if off {
        s.set_node(
            "encryptionConfig",
            Node::new(Value::Seq(Vec::new()), enc.map_or(b.pos, |v| v.pos)),
            None,
        );
    } else {
        let given = enc.filter(|v| matches!(v.val, Val::Map(_)));
        let resources = given
            .and_then(|g| g.get("resources"))
            .cloned()
            .unwrap_or_else(|| strs(&["secrets"], b.pos, b.file));
        let key = if create_key {
            Some(cx.mk(Val::Str(format!("arn:aws:kms:::key/{}", cx.addr))))
        } else {
            given.and_then(|g| g.get("provider_key_arn")).cloned()
        };
        let mut m = vec![("resources".to_string(), resources)];
        if let Some(k) = key {
            m.push((
                "provider".into(),
                V::new(Val::Map(vec![("keyArn".into(), k.clone())]), k.pos, k.file),
            ));
        }
        let item = V::new(Val::Map(m), given.map_or(b.pos, |g| g.pos), b.file);
        s.set(
            "encryptionConfig",
            Some(&V::new(Val::List(vec![item]), b.pos, b.file)),
            &p(n.encryption),
        );
    }
    // Authentication (v20 on) and the creator's admin access.
    if n.v >= 20 {
        cx.input_or_default(
            &mut s,
            "accessConfig.authenticationMode",
            "authentication_mode",
            Some(cx.mk(Val::Str("API_AND_CONFIG_MAP".into()))),
            "\"API_AND_CONFIG_MAP\"",
        );
        cx.input_or_default(
            &mut s,
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
            "enable_cluster_creator_admin_permissions",
            Some(cx.mk(Val::Bool(false))),
            "false",
        );
        if !cx.known && cx.get("authentication_mode").is_none() {
            // v19 leaves the API's CONFIG_MAP, v20 and v21 set API_AND_CONFIG_MAP.
            s.unknown(
                &p("accessConfig.authenticationMode"),
                "the module's version",
            );
        }
    } else {
        s.map_path("accessConfig.authenticationMode", &FieldPath::root());
        s.default_note(
            "accessConfig.authenticationMode",
            "v19 of the module has no `authentication_mode` input: the API's `CONFIG_MAP` applies"
                .into(),
        );
    }
    s.build(EKS, k::EKS_CLUSTER, &cx.cluster_name, cx.path)
}

/// The module's rules (`*_additional_rules` maps, and the recommended ones) as EC2
/// permissions, each mapped to its input.
fn rules_to_permissions(
    cx: &Ctx,
    s: &mut Shape,
    input: &str,
    self_id: &str,
    peer_id: &str,
    recommended: &[(i64, i64, &str, &str)],
) {
    let b = cx.b;
    let given = cx.get(input);
    if given.is_some_and(V::is_unknown) {
        s.map_path("IpPermissions", &p(input));
        s.unknown(&p("IpPermissions"), input);
        return;
    }
    let mut perms = Vec::new();
    for (k, r) in given
        .map(|g| match &g.val {
            Val::Map(m) => m.clone(),
            _ => Vec::new(),
        })
        .unwrap_or_default()
    {
        if r.get("type").and_then(V::as_str) != Some("ingress") {
            continue;
        }
        let own = key(input, &k);
        let ranges = |tf: &str| {
            r.get(tf).map(|v| ir::Sources {
                pos: v.pos,
                file: v.file,
                items: v
                    .items()
                    .iter()
                    .enumerate()
                    .map(|(j, c)| ir::Source::at_value(c.clone(), Some(own.key(tf).index(j))))
                    .collect(),
                unknown: Vec::new(),
            })
        };
        let group = |id: &str| ir::Source {
            v: cx.mk(Val::Str(id.into())),
            pos: r.pos,
            file: r.file,
            own: None,
        };
        let mut pairs = Vec::new();
        if r.get("self").and_then(V::as_bool) == Some(true) {
            pairs.push(group(self_id));
        }
        if r.get("source_cluster_security_group").and_then(V::as_bool) == Some(true)
            || r.get("source_node_security_group").and_then(V::as_bool) == Some(true)
        {
            pairs.push(group(peer_id));
        }
        if let Some(sg) = r
            .get("source_security_group_id")
            .filter(|v| !v.is_unknown())
        {
            pairs.push(ir::Source::at_value(sg.clone(), None));
        }
        perms.push(ir::Permission {
            pos: r.pos,
            file: r.file,
            protocol: r.get("protocol").cloned(),
            from_port: r.get("from_port").cloned(),
            to_port: r.get("to_port").cloned(),
            ipv4: ranges("cidr_blocks"),
            ipv6: ranges("ipv6_cidr_blocks"),
            groups: Some(ir::Sources {
                pos: r.pos,
                file: r.file,
                items: pairs,
                unknown: Vec::new(),
            }),
            prefix_lists: None,
            own: Some(own),
        });
    }
    // The rules the module adds by itself, at the module block.
    for (from, to, proto, from_peer) in recommended {
        let group = if *from_peer == "peer" {
            peer_id
        } else {
            self_id
        };
        perms.push(ir::Permission {
            pos: b.pos,
            file: b.file,
            own: None,
            protocol: Some(cx.mk(Val::Str(proto.to_string()))),
            from_port: Some(cx.mk(Val::Int(*from))),
            to_port: Some(cx.mk(Val::Int(*to))),
            ipv4: None,
            ipv6: None,
            groups: Some(ir::Sources {
                pos: b.pos,
                file: b.file,
                items: vec![ir::Source::at_value(cx.mk(Val::Str(group.into())), None)],
                unknown: Vec::new(),
            }),
            prefix_lists: None,
        });
    }
    ir::set_permissions(s, &perms, b.pos, b.file, &p(input));
}

fn node_security_group(cx: &Ctx, id: &str, cluster_sg: &str) -> Object {
    let mut s = cx.shape(cx.b.pos);
    s.set_node("GroupId", str_node(id, cx.b.pos), None);
    s.set_node(
        "GroupName",
        str_node(&format!("{}-node", cx.cluster_name), cx.b.pos),
        None,
    );
    let recommended: &[(i64, i64, &str, &str)] = if cx
        .get("node_security_group_enable_recommended_rules")
        .and_then(V::as_bool)
        == Some(false)
    {
        &[(443, 443, "tcp", "peer"), (10250, 10250, "tcp", "peer")]
    } else {
        &[
            (443, 443, "tcp", "peer"),
            (10250, 10250, "tcp", "peer"),
            (53, 53, "tcp", "self"),
            (1025, 65535, "tcp", "self"),
        ]
    };
    rules_to_permissions(
        cx,
        &mut s,
        "node_security_group_additional_rules",
        id,
        cluster_sg,
        recommended,
    );
    s.build(EC2, k::EC2_SECURITY_GROUP, id, cx.path)
}

fn cluster_security_group(cx: &Ctx, id: &str, node_sg: &str) -> Object {
    let mut s = cx.shape(cx.b.pos);
    s.set_node("GroupId", str_node(id, cx.b.pos), None);
    s.set_node(
        "GroupName",
        str_node(&format!("{}-cluster", cx.cluster_name), cx.b.pos),
        None,
    );
    rules_to_permissions(
        cx,
        &mut s,
        cx.n.cluster_sg_rules,
        id,
        node_sg,
        &[(443, 443, "tcp", "peer")],
    );
    s.build(EC2, k::EC2_SECURITY_GROUP, id, cx.path)
}

/// A node group's setting: its own, else the `*_defaults` (v19, v20), else `None`.
fn setting<'a>(group: &'a V, defaults: Option<&'a V>, k: &str) -> Option<(&'a V, &'static str)> {
    if let Some(v) = group.get(k).filter(|v| !matches!(v.val, Val::Null)) {
        return Some((v, "group"));
    }
    defaults
        .and_then(|d| d.get(k))
        .filter(|v| !matches!(v.val, Val::Null))
        .map(|v| (v, "defaults"))
}

fn node_groups(cx: &Ctx, node_sg: Option<&str>) -> Vec<Object> {
    let mut out = Vec::new();
    for (input, managed) in [
        ("eks_managed_node_groups", true),
        ("self_managed_node_groups", false),
    ] {
        let defaults_input = format!("{}_defaults", input.trim_end_matches('s'));
        let defaults = if cx.n.v < 21 {
            cx.get(&defaults_input)
        } else {
            None
        };
        let Some(groups) = cx.get(input) else {
            continue;
        };
        let Val::Map(entries) = &groups.val else {
            continue;
        };
        for (k, g) in entries {
            if g.is_unknown() {
                continue;
            }
            let base = key(input, k);
            let own = |f: &str, from: &str| -> FieldPath {
                if from == "defaults" {
                    key(&defaults_input, f)
                } else {
                    base.key(f)
                }
            };
            let ng_name = setting(g, defaults, "name")
                .and_then(|(v, _)| v.text())
                .unwrap_or_else(|| k.clone());
            // The launch template the module creates for the group (on by default).
            let custom_lt = setting(g, defaults, "use_custom_launch_template")
                .and_then(|(v, _)| v.as_bool())
                != Some(false)
                && setting(g, defaults, "create_launch_template").and_then(|(v, _)| v.as_bool())
                    != Some(false);
            let lt_id = format!("{}.{input}[\"{k}\"].launch_template", cx.addr);
            if custom_lt || !managed {
                let mut s = cx.shape(g.pos);
                s.set_node("LaunchTemplateId", str_node(&lt_id, g.pos), None);
                s.set_node("LaunchTemplateName", str_node(&ng_name, g.pos), None);
                s.set_node("VersionNumber", Node::new(Value::Int(1), g.pos), None);
                s.set_node("DefaultVersion", Node::new(Value::Bool(true), g.pos), None);
                let hop = if cx.n.v >= 21 { 1 } else { 2 };
                let md = setting(g, defaults, "metadata_options");
                let base_md = "LaunchTemplateData.MetadataOptions";
                s.set_node(
                    base_md,
                    Node::new(Value::Map(Vec::new()), md.map_or(g.pos, |(v, _)| v.pos)),
                    None,
                );
                for (cli, tf, default, shown) in [
                    (
                        "HttpTokens",
                        "http_tokens",
                        Val::Str("required".into()),
                        "\"required\"".to_string(),
                    ),
                    (
                        "HttpPutResponseHopLimit",
                        "http_put_response_hop_limit",
                        Val::Int(hop),
                        hop.to_string(),
                    ),
                    (
                        "HttpEndpoint",
                        "http_endpoint",
                        Val::Str("enabled".into()),
                        "\"enabled\"".to_string(),
                    ),
                ] {
                    let cli_path = format!("{base_md}.{cli}");
                    s.map_path(&cli_path, &base.key("metadata_options").key(tf));
                    // A map given replaces the default map in v19/v20; v21 merges per field.
                    let given = md.and_then(|(m, from)| m.get(tf).map(|v| (v, from)));
                    match (given, md) {
                        (Some((v, from)), _) => {
                            s.set(&cli_path, Some(v), &own("metadata_options", from).key(tf))
                        }
                        (None, Some((m, from))) if cx.n.v < 21 => {
                            if m.is_unknown() {
                                s.map_path(&cli_path, &own("metadata_options", from));
                                s.unknown(&p(&cli_path), "metadata_options");
                            }
                        }
                        _ => {
                            let at = base.key("metadata_options").key(tf);
                            s.set(&cli_path, Some(&V::new(default, g.pos, g.file)), &at);
                            s.default_note(
                                &cli_path,
                                format!(
                                    "module default `metadata_options.{tf} = {shown}`, {}",
                                    cx.version_note()
                                ),
                            );
                        }
                    }
                }
                let mut sgs: Vec<V> = node_sg
                    .map(|id| cx.mk(Val::Str(id.into())))
                    .into_iter()
                    .collect();
                // The module adds the cluster security group EKS created only when asked.
                let primary = setting(g, defaults, "attach_cluster_primary_security_group")
                    .and_then(|(v, _)| v.as_bool())
                    == Some(true);
                if primary {
                    sgs.push(cx.mk(Val::Str(format!(
                        "{}.eks_cluster_security_group_id",
                        cx.addr
                    ))));
                }
                if let Some((v, _)) = setting(g, defaults, "vpc_security_group_ids") {
                    sgs.extend(v.items().iter().filter(|i| !i.is_unknown()).cloned());
                }
                s.set_node(
                    "LaunchTemplateData.SecurityGroupIds",
                    Node::new(
                        Value::Seq(
                            sgs.iter()
                                .filter_map(|v| v.text())
                                .map(|t| str_node(&t, g.pos))
                                .collect(),
                        ),
                        g.pos,
                    ),
                    None,
                );
                s.map_path("", &base);
                out.push(s.build(
                    EC2,
                    k::EC2_LAUNCH_TEMPLATE_VERSION,
                    &format!("{lt_id}:1"),
                    cx.path,
                ));
            }
            if !managed {
                continue;
            }
            let role = setting(g, defaults, "iam_role_arn")
                .and_then(|(v, _)| v.text())
                .unwrap_or_else(|| role_arn(&format!("{}.{input}[\"{k}\"].iam_role", cx.addr)));
            // What the module derives maps under the group's own path.
            let derived = |text: &str, cli: &str| Slot::derived(text, g.pos, g.file, base.key(cli));
            let given = |tf: &str| match setting(g, defaults, tf) {
                Some((v, from)) => Slot::of(Some(v), own(tf, from)),
                None => Slot::absent(base.key(tf)),
            };
            let version_key = if cx.n.v >= 21 {
                "kubernetes_version"
            } else {
                "cluster_version"
            };
            let ra = setting(g, defaults, "remote_access");
            let lt_key = base.key("launchTemplate");
            let ng = ir::NodeGroup {
                pos: g.pos,
                root_own: Some(base.clone()),
                name: ng_name.clone(),
                name_own: base.key("name"),
                cluster_name: derived(&cx.cluster_name, "clusterName"),
                node_role: derived(&role, "nodeRole"),
                subnets: match setting(g, defaults, "subnet_ids") {
                    Some((v, from)) => Slot::of(Some(v), own("subnet_ids", from)),
                    None => Slot::of(cx.get("subnet_ids"), p("subnet_ids")),
                },
                ami_type: given("ami_type"),
                version: match setting(g, defaults, version_key) {
                    Some((v, from)) => Slot::of(Some(v), own(version_key, from)),
                    None => Slot::of(cx.get(cx.n.version), p(cx.n.version)),
                },
                release_version: given("ami_release_version"),
                remote_access: ra.map(|(ra, from)| {
                    let at = own("remote_access", from);
                    ir::RemoteAccess {
                        ssh_key: Slot::of(ra.get("ec2_ssh_key"), at.key("ec2_ssh_key")),
                        source_security_groups: Slot::of(
                            ra.get("source_security_group_ids"),
                            at.key("source_security_group_ids"),
                        ),
                        own: at,
                    }
                }),
                launch_template: custom_lt.then(|| ir::LaunchTemplateRef {
                    own: None,
                    id: Slot::derived(&lt_id, g.pos, g.file, lt_key.key("id")),
                    name: Slot::absent(lt_key.key("name")),
                    version: Slot::derived("1", g.pos, g.file, lt_key.key("version")),
                }),
            };
            out.push(ir::node_group(cx.shape(g.pos), &ng, cx.path));

            // The node role the module creates carries the worker policies and any
            // `iam_role_additional_policies`.
            if setting(g, defaults, "iam_role_arn").is_none() {
                let mut s = cx.shape(g.pos);
                let rname = role.rsplit('/').next().unwrap_or("").to_string();
                s.set_node("RoleName", str_node(&rname, g.pos), None);
                let mut items: Vec<V> = [
                    "AmazonEKSWorkerNodePolicy",
                    "AmazonEC2ContainerRegistryReadOnly",
                    "AmazonEKS_CNI_Policy",
                ]
                .iter()
                .map(|n| {
                    cx.mk(Val::Map(vec![
                        (
                            "PolicyArn".into(),
                            cx.mk(Val::Str(format!("arn:aws:iam::aws:policy/{n}"))),
                        ),
                        ("PolicyName".into(), cx.mk(Val::Str(n.to_string()))),
                    ]))
                })
                .collect();
                let mut paths = Vec::new();
                if let Some((extra, from)) = setting(g, defaults, "iam_role_additional_policies") {
                    if let Val::Map(m) = &extra.val {
                        for (ek, ev) in m {
                            if let Some(arn) = ev.as_str() {
                                paths.push((
                                    FieldPath::parse("AttachedPolicies").index(items.len()),
                                    own("iam_role_additional_policies", from).key(ek),
                                ));
                                items.push(V::new(
                                    Val::Map(vec![
                                        ("PolicyArn".into(), ev.clone()),
                                        (
                                            "PolicyName".into(),
                                            V::new(
                                                Val::Str(
                                                    arn.rsplit('/').next().unwrap_or(arn).into(),
                                                ),
                                                ev.pos,
                                                ev.file,
                                            ),
                                        ),
                                    ]),
                                    ev.pos,
                                    ev.file,
                                ));
                            }
                        }
                    }
                }
                s.set(
                    "AttachedPolicies",
                    Some(&V::new(Val::List(items), g.pos, g.file)),
                    &base,
                );
                for (cli, own) in paths {
                    s.map_path(&cli.to_string(), &own);
                }
                out.push(s.build(IAM, k::IAM_ATTACHED_POLICIES, &rname, cx.path));
            }
        }
    }
    out
}

fn access_entries(cx: &Ctx) -> Vec<Object> {
    let mut out = Vec::new();
    let Some(V {
        val: Val::Map(entries),
        ..
    }) = cx.get("access_entries")
    else {
        return out;
    };
    for (k, e) in entries {
        let base = key("access_entries", k);
        let principal = e
            .get("principal_arn")
            .and_then(V::text)
            .unwrap_or_else(|| k.clone());
        let entry = ir::AccessEntry {
            id: principal.clone(),
            root_own: Some(base.clone()),
            cluster_name: Slot::derived(&cx.cluster_name, e.pos, e.file, base.key("clusterName")),
            principal_arn: Slot::of(e.get("principal_arn"), base.key("principal_arn")),
            kubernetes_groups: Slot::of(e.get("kubernetes_groups"), base.key("kubernetes_groups")),
            entry_type: Slot::of(e.get("type"), base.key("type")),
            username: Slot::absent(base.key("user_name")),
        };
        out.push(ir::access_entry(cx.shape(e.pos), &entry, cx.path));
        if let Some(V {
            val: Val::Map(assocs),
            ..
        }) = e.get("policy_associations")
        {
            let at = |ak: &str| base.key("policy_associations").key(ak);
            let a = ir::AccessPolicies {
                id: principal,
                cluster_name: Slot::derived(
                    &cx.cluster_name,
                    e.pos,
                    e.file,
                    base.key("clusterName"),
                ),
                principal_arn: Slot::of(e.get("principal_arn"), base.key("principal_arn")),
                pos: e.pos,
                file: e.file,
                own: base.key("policy_associations"),
                policies: assocs
                    .iter()
                    .map(|(_, a)| ir::AccessPolicy {
                        pos: a.pos,
                        file: a.file,
                        policy_arn: a.get("policy_arn").cloned(),
                        scope: a.get("access_scope").map(|sc| {
                            (
                                sc.pos,
                                sc.file,
                                sc.get("type").cloned(),
                                sc.get("namespaces").cloned(),
                            )
                        }),
                    })
                    .collect(),
                paths: assocs
                    .iter()
                    .enumerate()
                    .map(|(i, (ak, _))| {
                        (
                            FieldPath::parse("associatedAccessPolicies").index(i),
                            at(ak),
                        )
                    })
                    .collect(),
            };
            out.push(ir::access_policies(cx.shape(e.pos), &a, cx.path));
        }
    }
    out
}

fn addons(cx: &Ctx) -> Vec<Object> {
    let mut out = Vec::new();
    let input = cx.n.addons;
    let Some(V {
        val: Val::Map(entries),
        ..
    }) = cx.get(input)
    else {
        return out;
    };
    for (k, a) in entries {
        let base = key(input, k);
        let name = a.get("name").and_then(V::text).unwrap_or_else(|| k.clone());
        let mut s = cx.shape(a.pos);
        s.map_path("", &base);
        s.set_node("addonName", str_node(&name, a.pos), None);
        s.set_node("clusterName", str_node(&cx.cluster_name, a.pos), None);
        s.set(
            "serviceAccountRoleArn",
            a.get("service_account_role_arn"),
            &base.key("service_account_role_arn"),
        );
        s.set(
            "podIdentityAssociations",
            a.get("pod_identity_association"),
            &base.key("pod_identity_association"),
        );
        if let Some(cv) = a.get("configuration_values") {
            let text = match &cv.val {
                Val::Map(_) | Val::List(_) => super::hcl::to_json(cv)
                    .map(|t| V::new(Val::Str(t), cv.pos, cv.file))
                    .unwrap_or_else(|| V::unknown("configuration_values", cv.pos, cv.file)),
                _ => cv.clone(),
            };
            s.set(
                "configurationValues",
                Some(&text),
                &base.key("configuration_values"),
            );
        }
        out.push(s.build(EKS, k::EKS_ADDON, &name, cx.path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_versions() {
        assert!(is_eks_module("terraform-aws-modules/eks/aws"));
        assert!(is_eks_module(
            "git::https://example.com/terraform-aws-modules/terraform-aws-eks.git?ref=v20.8.4"
        ));
        assert!(!is_eks_module(
            "terraform-aws-modules/eks/aws//modules/karpenter"
        ));
        assert!(!is_eks_module("terraform-aws-modules/vpc/aws"));
        let v = |s: &str| {
            V::new(
                Val::Map(vec![(
                    "version".into(),
                    V::new(Val::Str(s.into()), Pos::NONE, 0),
                )]),
                Pos::NONE,
                0,
            )
        };
        assert_eq!(major(&v("~> 20.0")), Some(20));
        assert_eq!(major(&v("21.1.0")), Some(21));
        assert_eq!(major(&v(">= 19.15, < 20")), Some(19));
    }

    const MODULE: &str = r#"module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "~> 20.0"

  cluster_name                   = "prod"
  cluster_endpoint_public_access = true

  eks_managed_node_groups = {
    general = {
      ami_type = "AL2023_x86_64_STANDARD"
      metadata_options = {
        http_tokens = "optional"
      }
    }
  }

  node_security_group_additional_rules = {
    ssh = {
      type        = "ingress"
      protocol    = "tcp"
      from_port   = 22
      to_port     = 22
      cidr_blocks = ["0.0.0.0/0"]
    }
  }

  access_entries = {
    ops = {
      principal_arn = "arn:aws:iam::1:role/ops"
      policy_associations = {
        admin = {
          policy_arn   = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = { type = "cluster" }
        }
      }
    }
  }
}
"#;

    fn objects() -> Vec<Object> {
        let (objects, errors) = super::super::load_terraform_text("main.tf", MODULE);
        assert!(errors.is_empty(), "{errors:?}");
        objects
    }

    #[test]
    fn cluster_defaults_carry_a_note() {
        let objs = objects();
        let c = objs.iter().find(|o| &*o.kind == "EKSCluster").unwrap();
        assert_eq!(&*c.name, "prod");
        let public = p("resourcesVpcConfig.endpointPublicAccess");
        assert_eq!(
            c.report_path(&public).to_string(),
            "cluster_endpoint_public_access"
        );
        assert_eq!(c.locate(&public).unwrap().line, 6);
        let cidrs = p("resourcesVpcConfig.publicAccessCidrs");
        assert_eq!(
            c.iac.as_ref().unwrap().default_note(&cidrs),
            Some("module default `cluster_endpoint_public_access_cidrs = [\"0.0.0.0/0\"]`, v20")
        );
    }

    #[test]
    fn node_groups_and_their_templates() {
        let objs = objects();
        let ng = objs.iter().find(|o| &*o.kind == "EKSNodegroup").unwrap();
        assert_eq!(&*ng.name, "general");
        assert_eq!(
            ng.report_path(&p("amiType")).to_string(),
            "eks_managed_node_groups.general.ami_type"
        );
        assert_eq!(ng.locate(&p("amiType")).unwrap().line, 10);
        assert_eq!(
            ng.root.at("launchTemplate.version").and_then(Node::as_str),
            Some("1")
        );
        let lt = objs
            .iter()
            .find(|o| &*o.kind == "EC2LaunchTemplateVersion")
            .unwrap();
        let tokens = p("LaunchTemplateData.MetadataOptions.HttpTokens");
        assert_eq!(
            lt.root
                .at("LaunchTemplateData.MetadataOptions.HttpTokens")
                .and_then(Node::as_str),
            Some("optional")
        );
        assert_eq!(
            lt.report_path(&tokens).to_string(),
            "eks_managed_node_groups.general.metadata_options.http_tokens"
        );
        // The node role the module creates, with the worker policies.
        let role = objs
            .iter()
            .find(|o| &*o.kind == "IAMAttachedPolicies")
            .unwrap();
        assert_eq!(role.root.get("AttachedPolicies").unwrap().items().len(), 3);
    }

    #[test]
    fn additional_rules_come_before_the_recommended_ones() {
        let objs = objects();
        let node_sg = objs
            .iter()
            .find(|o| o.name.ends_with("module.eks.node_security_group_id"))
            .unwrap();
        let perms = node_sg.root.get("IpPermissions").unwrap().items();
        // The rule given, then 443 and 10250 from the cluster, 53 and 1025-65535 within.
        assert_eq!(perms.len(), 5);
        let cidr = p("IpPermissions[0].IpRanges[0].CidrIp");
        assert_eq!(
            node_sg.report_path(&cidr).to_string(),
            "node_security_group_additional_rules.ssh.cidr_blocks[0]"
        );
        assert_eq!(node_sg.locate(&cidr).unwrap().line, 23);
        assert_eq!(perms[1].get("FromPort").and_then(Node::as_i64), Some(443));
        assert_eq!(perms[4].get("ToPort").and_then(Node::as_i64), Some(65535));
    }

    #[test]
    fn access_entries_and_their_policies() {
        let objs = objects();
        let e = objs.iter().find(|o| &*o.kind == "EKSAccessEntry").unwrap();
        assert_eq!(&*e.name, "arn:aws:iam::1:role/ops");
        assert_eq!(
            e.root.get("clusterName").and_then(Node::as_str),
            Some("prod")
        );
        let ap = objs
            .iter()
            .find(|o| &*o.kind == "EKSAccessPolicies")
            .unwrap();
        let arn = p("associatedAccessPolicies[0].policyArn");
        assert_eq!(
            ap.report_path(&arn).to_string(),
            "access_entries.ops.policy_associations.admin.policyArn"
        );
        assert_eq!(ap.locate(&arn).unwrap().line, 32);
    }
}
