//! CloudFormation templates (YAML with short-form tags such as `!Ref`, or JSON; CDK's
//! `cdk.out/*.template.json` are JSON templates) mapped onto the AWS CLI shapes.
//!
//! Intrinsic functions are evaluated where the template decides them: `Ref` to a
//! parameter with a default or to a resource (which stands for its ID or name),
//! `Fn::GetAtt` of a role's `Arn` and the other attributes the joins need, `Fn::Sub`,
//! `Fn::Join`, `Fn::Select`, `Fn::If` on conditions of known values. The rest is
//! unknown. Evaluation is bounded (see [`super::Budget`]): each resource's `Ref` value is
//! worked out once, strings are at most [`super::MAX_STRING`] bytes, and the steps and
//! bytes of one template are counted; past a bound the value is unknown and a warning names
//! where. Suppressions are written in a resource's `Metadata`, as
//! `eksguard.io/ignore: "IAM001 -- reason"` (a string or a list of them).

use eksguard_model::aws_kinds as k;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use eksguard_model::{FieldPath, InputError, Node, Object, Pos, Value};

use super::terraform::{role_arn, ACCOUNT};
use super::{document, ir, str_node, Budget, Loaded, Shape, Val, MAX_DEPTH, V};
use crate::aws_json::{EC2, EKS, IAM};

#[path = "cfn_services.rs"]
mod services;

/// A template: `Resources` holding at least one resource with an `AWS::` type.
pub fn is_template(root: &Node) -> bool {
    root.get("Resources").is_some_and(|r| {
        r.entries().iter().any(|e| {
            e.value
                .get("Type")
                .and_then(Node::as_str)
                .is_some_and(|t| t.starts_with("AWS::") || t.starts_with("Custom::"))
        })
    })
}

/// A cheap look at YAML text before parsing: a template names its format version or
/// holds `AWS::` resource types under `Resources`.
pub fn looks_like_yaml_template(text: &str) -> bool {
    text.contains("AWSTemplateFormatVersion")
        || (text.contains("Resources:") && text.contains("Type: AWS::"))
}

struct Template<'a> {
    /// Scope of stand-in identifiers: the template's path.
    scope: &'a str,
    params: HashMap<&'a str, &'a Node>,
    conditions: HashMap<&'a str, &'a Node>,
    resources: HashMap<&'a str, &'a Node>,
    budget: Budget,
    /// What `Ref` of a resource stands for, worked out once per resource (`None` while it
    /// is being worked out: a name that refers to itself gets the stand-in).
    refs: RefCell<HashMap<String, Option<String>>>,
    /// Named conditions, decided once each (`None` while being decided).
    decided: RefCell<HashMap<String, Option<Option<bool>>>>,
    /// The resource whose value is being worked out, for the warnings.
    current: RefCell<String>,
}

/// The objects of a template, its errors, and warnings for values past the evaluation
/// bounds.
pub fn load(root: &Node, path: &Arc<str>) -> Loaded {
    let map = |k: &str| -> HashMap<&str, &Node> {
        root.get(k)
            .map(Node::entries)
            .unwrap_or(&[])
            .iter()
            .map(|e| (&*e.key, &e.value))
            .collect()
    };
    let t = Template {
        scope: path,
        params: map("Parameters"),
        conditions: map("Conditions"),
        resources: map("Resources"),
        budget: Budget::default(),
        refs: RefCell::default(),
        decided: RefCell::default(),
        current: RefCell::default(),
    };
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for e in root.get("Resources").map(Node::entries).unwrap_or(&[]) {
        *t.current.borrow_mut() = e.key.to_string();
        let Some(ty) = e.value.get("Type").and_then(Node::as_str) else {
            if e.value.is_map() {
                errors.push(InputError::new(
                    &**path,
                    Some(e.key_pos.line),
                    format!("resource `{}` has no Type; skipped", e.key),
                ));
            }
            continue;
        };
        let props = e
            .value
            .get("Properties")
            .map(|p| t.eval(p, 0))
            .unwrap_or(V::new(Val::Map(Vec::new()), e.key_pos, 0));
        // A resource under a condition that is false does not exist.
        let exists = match e.value.get("Condition").and_then(Node::as_str) {
            Some(c) => t.condition(c, 0),
            None => Some(true),
        };
        if exists == Some(false) {
            continue;
        }
        let mut r = Res {
            ty,
            id: &e.key,
            props: &props,
            pos: e.key_pos,
            path,
            suppressions: Vec::new(),
            undecided: exists.is_none().then(|| {
                format!(
                    "Condition {}",
                    e.value
                        .get("Condition")
                        .and_then(Node::as_str)
                        .unwrap_or("")
                )
            }),
        };
        if let Some(meta) = e.value.get("Metadata") {
            let v = meta
                .get("eksguard.io/ignore")
                .or_else(|| meta.at("eksguard.ignore"));
            for n in v
                .map(|v| match v.as_seq() {
                    Some(items) => items.iter().collect::<Vec<_>>(),
                    None => vec![v],
                })
                .unwrap_or_default()
            {
                if let Some(s) = n.as_str() {
                    r.suppressions.push((n.pos, s.to_string()));
                }
            }
        }
        objects.extend(r.map());
    }
    Loaded {
        objects,
        errors,
        warnings: t.budget.warnings(|_| path.to_string()),
        ..Loaded::default()
    }
}

/// A short-form tag as its long form: `!Ref` → `Ref`, `!GetAtt` → `Fn::GetAtt`.
fn long_form(key: &str) -> Option<String> {
    let name = key.strip_prefix('!')?;
    Some(if name == "Ref" || name == "Condition" {
        name.to_string()
    } else {
        format!("Fn::{name}")
    })
}

impl Template<'_> {
    fn eval(&self, n: &Node, depth: usize) -> V {
        let unknown = |what: &str| V::unknown(what, n.pos, 0);
        if depth > MAX_DEPTH * 2 {
            return unknown("(nested too deeply)");
        }
        if !self.budget.step(0, n.pos) {
            return unknown("(past the evaluation bounds)");
        }
        let d = depth + 1;
        let val = match &n.value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Int(i) => Val::Int(*i),
            Value::Float(f) => Val::Float(*f),
            Value::Str(s) => {
                if !self.budget.charge(s.len(), 0, n.pos) {
                    return unknown("(past the evaluation bounds)");
                }
                Val::Str(s.to_string())
            }
            Value::Seq(items) => Val::List(
                items
                    .iter()
                    .filter(|i| !is_no_value(i))
                    .map(|i| self.eval(i, d))
                    .collect(),
            ),
            Value::Map(entries) => {
                if let [e] = entries.as_slice() {
                    let f = long_form(&e.key).unwrap_or_else(|| e.key.to_string());
                    if f == "Ref" || f.starts_with("Fn::") {
                        return self.intrinsic(&f, &e.value, n.pos, d);
                    }
                }
                Val::Map(
                    entries
                        .iter()
                        .filter_map(|e| {
                            let mut v = self.eval(&e.value, d);
                            if v.val == Val::Null && is_no_value(&e.value) {
                                return None;
                            }
                            if !matches!(v.val, Val::Map(_) | Val::List(_)) {
                                v.pos = e.key_pos;
                            }
                            Some((e.key.to_string(), v))
                        })
                        .collect(),
                )
            }
        };
        V::new(val, n.pos, 0)
    }

    fn intrinsic(&self, f: &str, arg: &Node, pos: Pos, depth: usize) -> V {
        let unknown = || V::unknown(format!("{f} {}", short(arg)), pos, 0);
        if depth > MAX_DEPTH * 2 || !self.budget.step(0, pos) {
            return unknown();
        }
        // A string made here counts against the bounds; past them the value is unknown.
        let fits = |len: usize| {
            let what = format!("resource `{}`: `{f}`", self.current.borrow());
            self.budget.string(len, &what, 0, pos)
        };
        let built = |s: String| {
            if fits(s.len()) {
                V::new(Val::Str(s), pos, 0)
            } else {
                unknown()
            }
        };
        let mk = |val: Val| V::new(val, pos, 0);
        match f {
            "Ref" => {
                let Some(name) = arg.as_str() else {
                    return unknown();
                };
                if name == "AWS::NoValue" {
                    return mk(Val::Null);
                }
                // Pseudo parameters that only shape ARNs and host names the rules match
                // by their last part; the account, region and stack stay unknown.
                match name {
                    "AWS::Partition" => return mk(Val::Str("aws".into())),
                    "AWS::URLSuffix" => return mk(Val::Str("amazonaws.com".into())),
                    _ => {}
                }
                if let Some(p) = self.params.get(name) {
                    return match p.get("Default") {
                        Some(d) => {
                            let mut v = self.eval(d, depth);
                            v.pos = pos;
                            v
                        }
                        None => unknown(),
                    };
                }
                match self.resources.get(name) {
                    Some(r) => built(self.ref_value(name, r, depth)),
                    None => unknown(),
                }
            }
            "Fn::GetAtt" => {
                let (res, attr) = match (&arg.value, arg.as_str()) {
                    (_, Some(s)) => match s.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => return unknown(),
                    },
                    (Value::Seq(items), _) if items.len() == 2 => {
                        match (items[0].as_str(), self.eval(&items[1], depth).text()) {
                            (Some(a), Some(b)) => (a.to_string(), b),
                            _ => return unknown(),
                        }
                    }
                    _ => return unknown(),
                };
                let Some(r) = self.resources.get(res.as_str()) else {
                    return unknown();
                };
                let ty = r.get("Type").and_then(Node::as_str).unwrap_or("");
                let name = self.ref_value(&res, r, depth);
                let s = match (ty, attr.as_str()) {
                    ("AWS::IAM::Role", "Arn") => role_arn(&name),
                    ("AWS::IAM::Role", "RoleId") => name,
                    ("AWS::EKS::Cluster", "ClusterSecurityGroupId") => {
                        format!(
                            "{}.ClusterSecurityGroupId",
                            super::stand_in(self.scope, &res)
                        )
                    }
                    ("AWS::EKS::Cluster", "Arn") => format!("arn:aws:eks:::cluster/{name}"),
                    (
                        "AWS::EC2::LaunchTemplate",
                        "LatestVersionNumber" | "DefaultVersionNumber",
                    ) => "1".into(),
                    ("AWS::EC2::LaunchTemplate", "LaunchTemplateId")
                    | ("AWS::EC2::SecurityGroup", "GroupId") => super::stand_in(self.scope, &res),
                    ("AWS::KMS::Key", "Arn") => {
                        format!("arn:aws:kms:::key/{}", super::stand_in(self.scope, &res))
                    }
                    _ => return unknown(),
                };
                built(s)
            }
            "Fn::Sub" => {
                let (text, vars) = match &arg.value {
                    Value::Str(s) => (s.to_string(), None),
                    Value::Seq(items) if !items.is_empty() => match items[0].as_str() {
                        Some(s) => (s.to_string(), items.get(1)),
                        None => return unknown(),
                    },
                    _ => return unknown(),
                };
                let mut out = String::new();
                let mut rest = text.as_str();
                while let Some(at) = rest.find("${") {
                    out.push_str(&rest[..at]);
                    let after = &rest[at + 2..];
                    let Some(end) = after.find('}') else {
                        return unknown();
                    };
                    let name = &after[..end];
                    if let Some(lit) = name.strip_prefix('!') {
                        out.push_str("${");
                        out.push_str(lit);
                        out.push('}');
                    } else {
                        let local = vars.and_then(|v| v.get(name)).map(|n| self.eval(n, depth));
                        let v = local.unwrap_or_else(|| {
                            let node = match name.split_once('.') {
                                Some((a, b)) => Node::new(
                                    Value::Seq(vec![str_node(a, pos), str_node(b, pos)]),
                                    pos,
                                ),
                                None => str_node(name, pos),
                            };
                            let f = if name.contains('.') {
                                "Fn::GetAtt"
                            } else {
                                "Ref"
                            };
                            self.intrinsic(f, &node, pos, depth + 1)
                        });
                        match v.text() {
                            Some(t) => out.push_str(&t),
                            None => return unknown(),
                        }
                    }
                    if out.len() > super::MAX_STRING {
                        fits(out.len());
                        return unknown();
                    }
                    rest = &after[end + 1..];
                }
                out.push_str(rest);
                built(out)
            }
            "Fn::Join" => {
                let items = arg.items();
                if items.len() != 2 {
                    return unknown();
                }
                let Some(sep) = items[0].as_str() else {
                    return unknown();
                };
                let list = self.eval(&items[1], depth);
                let parts: Option<Vec<String>> = list.items().iter().map(V::text).collect();
                match parts {
                    Some(p) if matches!(list.val, Val::List(_)) => {
                        // Measured before joining: the joined text is never built past the bound.
                        let len = p.iter().map(String::len).sum::<usize>()
                            + sep.len() * p.len().saturating_sub(1);
                        if !fits(len) {
                            return unknown();
                        }
                        mk(Val::Str(p.join(sep)))
                    }
                    _ => unknown(),
                }
            }
            "Fn::Select" => {
                let items = arg.items();
                if items.len() != 2 {
                    return unknown();
                }
                let i = self.eval(&items[0], depth).as_i64();
                let list = self.eval(&items[1], depth);
                match i
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| list.items().get(i))
                {
                    Some(v) => v.clone(),
                    None => unknown(),
                }
            }
            "Fn::If" => {
                let items = arg.items();
                if items.len() != 3 {
                    return unknown();
                }
                match items[0].as_str().and_then(|c| self.condition(c, depth)) {
                    Some(true) => self.eval(&items[1], depth),
                    Some(false) => self.eval(&items[2], depth),
                    None => unknown(),
                }
            }
            _ => unknown(),
        }
    }

    /// What `Ref` of a resource stands for: the name a role or cluster gives itself
    /// (evaluated, as the resource's own reader does, so `!Sub "${Env}-cluster"` joins),
    /// else the logical ID.
    /// Worked out once per resource: each `Ref` to it reuses the value.
    fn ref_value(&self, id: &str, r: &Node, depth: usize) -> String {
        let stand_in = || super::stand_in(self.scope, id);
        if let Some(done) = self.refs.borrow().get(id) {
            return done.clone().unwrap_or_else(stand_in);
        }
        let ty = r.get("Type").and_then(Node::as_str).unwrap_or("");
        let key = match ty {
            "AWS::IAM::Role" => "RoleName",
            "AWS::EKS::Cluster" => "Name",
            _ => "",
        };
        self.refs.borrow_mut().insert(id.to_string(), None);
        let outer = self.current.replace(id.to_string());
        let v = r
            .at("Properties")
            .and_then(|p| p.get(key))
            .and_then(|n| self.eval(n, depth + 1).text())
            .unwrap_or_else(stand_in);
        *self.current.borrow_mut() = outer;
        self.refs
            .borrow_mut()
            .insert(id.to_string(), Some(v.clone()));
        v
    }

    /// A named condition's value, when the template decides it; decided once.
    fn condition(&self, name: &str, depth: usize) -> Option<bool> {
        if let Some(done) = self.decided.borrow().get(name) {
            // A condition that depends on itself is undecided.
            return done.flatten();
        }
        let n = self.conditions.get(name)?;
        self.decided.borrow_mut().insert(name.to_string(), None);
        let v = self.cond_expr(n, depth + 1);
        self.decided.borrow_mut().insert(name.to_string(), Some(v));
        v
    }

    fn cond_expr(&self, n: &Node, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH || !self.budget.step(0, n.pos) {
            return None;
        }
        let [e] = n.entries() else { return None };
        let f = long_form(&e.key).unwrap_or_else(|| e.key.to_string());
        let args = e.value.items();
        match f.as_str() {
            "Fn::Equals" if args.len() == 2 => {
                let (a, b) = (self.eval(&args[0], depth), self.eval(&args[1], depth));
                Some(a.text()? == b.text()?)
            }
            "Fn::Not" if args.len() == 1 => self.cond_expr(&args[0], depth + 1).map(|b| !b),
            "Fn::And" => args
                .iter()
                .map(|a| self.cond_expr(a, depth + 1))
                .try_fold(true, |acc, b| Some(acc && b?)),
            "Fn::Or" => args
                .iter()
                .map(|a| self.cond_expr(a, depth + 1))
                .try_fold(false, |acc, b| Some(acc || b?)),
            "Condition" => self.condition(e.value.as_str()?, depth + 1),
            _ => None,
        }
    }
}

fn is_no_value(n: &Node) -> bool {
    let [e] = n.entries() else { return false };
    (&*e.key == "Ref" || &*e.key == "!Ref") && e.value.as_str() == Some("AWS::NoValue")
}

fn short(n: &Node) -> String {
    match &n.value {
        Value::Str(s) => s.to_string(),
        Value::Seq(items) => items
            .iter()
            .map(|i| i.scalar_text().unwrap_or_else(|| "...".into()))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "...".into(),
    }
}

struct Res<'a> {
    ty: &'a str,
    id: &'a str,
    props: &'a V,
    pos: Pos,
    path: &'a Arc<str>,
    suppressions: Vec<(Pos, String)>,
    undecided: Option<String>,
}

fn p(s: &str) -> FieldPath {
    FieldPath::parse("Properties").join(s)
}

impl Res<'_> {
    fn shape(&self) -> Shape {
        let mut s = Shape::new("cloudformation", self.ty, self.id, self.pos, 0);
        for (pos, text) in &self.suppressions {
            s.suppress(*pos, text.clone());
        }
        if let Some(c) = &self.undecided {
            s.unknown(&FieldPath::root(), c);
        }
        // Whatever keeps its name between the shapes maps under `Properties`.
        s.map_path("", &FieldPath::parse("Properties"));
        s
    }

    fn get(&self, k: &str) -> Option<&V> {
        self.props.get(k)
    }

    fn text(&self, k: &str) -> Option<String> {
        self.get(k).and_then(V::text)
    }

    /// The stand-in for the resource's ID, as `Ref` gives it (see [`Template::ref_value`]).
    fn sid(&self) -> String {
        super::stand_in(self.path, self.id)
    }

    fn map(&self) -> Vec<Object> {
        match self.ty {
            "AWS::EKS::Cluster" => self.cluster(),
            "AWS::EKS::Nodegroup" => vec![self.nodegroup()],
            "AWS::EKS::AccessEntry" => self.access_entry(),
            "AWS::EKS::PodIdentityAssociation" => vec![self.simple(
                EKS,
                k::EKS_POD_IDENTITY_ASSOCIATION,
                &[
                    ("clusterName", "ClusterName"),
                    ("namespace", "Namespace"),
                    ("serviceAccount", "ServiceAccount"),
                    ("roleArn", "RoleArn"),
                    ("targetRoleArn", "TargetRoleArn"),
                ],
                self.id,
            )],
            "AWS::EKS::IdentityProviderConfig" => vec![self.identity_provider()],
            "AWS::EKS::Addon" => vec![self.simple(
                EKS,
                k::EKS_ADDON,
                &[
                    ("addonName", "AddonName"),
                    ("clusterName", "ClusterName"),
                    ("addonVersion", "AddonVersion"),
                    ("configurationValues", "ConfigurationValues"),
                    ("serviceAccountRoleArn", "ServiceAccountRoleArn"),
                    ("podIdentityAssociations", "PodIdentityAssociations"),
                ],
                &self
                    .text("AddonName")
                    .unwrap_or_else(|| self.id.to_string()),
            )],
            "AWS::EC2::LaunchTemplate" => vec![self.launch_template()],
            "AWS::EC2::SecurityGroup" => vec![self.security_group()],
            "AWS::EC2::SecurityGroupIngress" => vec![self.ingress()],
            "AWS::EC2::Subnet" => vec![self.subnet()],
            "AWS::IAM::Role" => self.role(),
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => self.policy(),
            t if services::TYPES.contains(&t) => services::map(self),
            _ => Vec::new(),
        }
    }

    fn simple(&self, api: &str, kind: &str, fields: &[(&str, &str)], name: &str) -> Object {
        let mut s = self.shape();
        for (cli, own) in fields {
            let v = self.get(own).map(|v| {
                if *own == "ConfigurationValues" {
                    json_text(v)
                } else {
                    v.clone()
                }
            });
            s.set(cli, v.as_ref(), &p(own));
        }
        s.build(api, kind, name, self.path)
    }

    /// A slot of the property at `own` (dotted, under `Properties`).
    fn slot(&self, own: &str) -> ir::Slot {
        let mut v = Some(self.props);
        for k in own.split('.') {
            v = v.and_then(|v| v.get(k));
        }
        ir::Slot::of(v, p(own))
    }

    fn cluster(&self) -> Vec<Object> {
        let name = self.text("Name").unwrap_or_else(|| self.sid());
        let vpc = self.get("ResourcesVpcConfig");
        let vpc_pos = vpc.map_or(self.pos, |v| v.pos);
        let types = self
            .get("Logging")
            .and_then(|l| l.get("ClusterLogging"))
            .and_then(|c| c.get("EnabledTypes"));
        let ec = self.get("EncryptionConfig");
        let vpc_slot = |k: &str| self.slot(&format!("ResourcesVpcConfig.{k}"));
        let c = ir::Cluster {
            id: name.clone(),
            pos: self.pos,
            name: ir::Slot::derived(&name, self.pos, 0, p("Name")),
            version: self.slot("Version"),
            role_arn: self.slot("RoleArn"),
            vpc_pos,
            vpc_own: p("ResourcesVpcConfig"),
            vpc: vpc.map(|v| ir::Vpc {
                block: ir::Block {
                    pos: v.pos,
                    own: p("ResourcesVpcConfig"),
                    unknown: v.is_unknown().then(|| "ResourcesVpcConfig".to_string()),
                },
                public_access: vpc_slot("EndpointPublicAccess"),
                private_access: vpc_slot("EndpointPrivateAccess"),
                public_cidrs: vpc_slot("PublicAccessCidrs"),
                subnets: vpc_slot("SubnetIds"),
                security_groups: vpc_slot("SecurityGroupIds"),
            }),
            cluster_sg: Some((
                format!("{}.ClusterSecurityGroupId", self.sid()),
                p("ResourcesVpcConfig"),
            )),
            logging: ir::Logging {
                own: p("Logging.ClusterLogging.EnabledTypes"),
                types: match types {
                    Some(t) if t.is_unknown() => ir::LogTypes::Unknown("EnabledTypes".into()),
                    // `[{Type: api}, ...]` as the CLI's `types` list, one index per item.
                    Some(t) => ir::LogTypes::Given(V::new(
                        Val::List(
                            t.items()
                                .iter()
                                .map(|i| i.get("Type").cloned().unwrap_or_else(|| i.clone()))
                                .collect(),
                        ),
                        t.pos,
                        0,
                    )),
                    None => ir::LogTypes::Absent,
                },
            },
            encryption: ir::Encryption {
                own: p("EncryptionConfig"),
                list: ec.map(|l| (l.pos, 0)),
                unknown: ec
                    .filter(|l| l.is_unknown())
                    .map(|_| "EncryptionConfig".to_string()),
                items: ec
                    .map(V::items)
                    .unwrap_or(&[])
                    .iter()
                    .map(|c| ir::EncryptionItem {
                        pos: c.pos,
                        file: 0,
                        resources: c.get("Resources").cloned(),
                        key_arn: c.get("Provider").and_then(|pv| pv.get("KeyArn")).cloned(),
                    })
                    .collect(),
                item_owns: Vec::new(),
            },
            access: ir::Access {
                own: p("AccessConfig"),
                given: self.get("AccessConfig").is_some(),
                authentication_mode: self.slot("AccessConfig.AuthenticationMode"),
                bootstrap_admin: self.slot("AccessConfig.BootstrapClusterCreatorAdminPermissions"),
            },
            compute: self.get("ComputeConfig").map(|_| ir::Compute {
                enabled: self.slot("ComputeConfig.Enabled"),
                node_pools: self.slot("ComputeConfig.NodePools"),
                node_role_arn: self.slot("ComputeConfig.NodeRoleArn"),
            }),
        };
        ir::cluster(self.shape(), &c, &|| self.shape(), self.path)
    }

    fn nodegroup(&self) -> Object {
        let ng = ir::NodeGroup {
            pos: self.pos,
            root_own: None,
            name: self
                .text("NodegroupName")
                .unwrap_or_else(|| self.id.to_string()),
            name_own: p("NodegroupName"),
            cluster_name: self.slot("ClusterName"),
            node_role: self.slot("NodeRole"),
            subnets: self.slot("Subnets"),
            ami_type: self.slot("AmiType"),
            version: self.slot("Version"),
            release_version: self.slot("ReleaseVersion"),
            remote_access: self.get("RemoteAccess").map(|_| ir::RemoteAccess {
                own: p("RemoteAccess"),
                ssh_key: self.slot("RemoteAccess.Ec2SshKey"),
                source_security_groups: self.slot("RemoteAccess.SourceSecurityGroups"),
            }),
            launch_template: self.get("LaunchTemplate").map(|_| ir::LaunchTemplateRef {
                own: Some(p("LaunchTemplate")),
                id: self.slot("LaunchTemplate.Id"),
                name: self.slot("LaunchTemplate.Name"),
                version: self.slot("LaunchTemplate.Version"),
            }),
        };
        ir::node_group(self.shape(), &ng, self.path)
    }

    fn access_entry(&self) -> Vec<Object> {
        let principal = self
            .text("PrincipalArn")
            .unwrap_or_else(|| self.id.to_string());
        let e = ir::AccessEntry {
            id: principal.clone(),
            root_own: None,
            cluster_name: self.slot("ClusterName"),
            principal_arn: self.slot("PrincipalArn"),
            kubernetes_groups: self.slot("KubernetesGroups"),
            entry_type: self.slot("Type"),
            username: self.slot("Username"),
        };
        let mut out = vec![ir::access_entry(self.shape(), &e, self.path)];
        if let Some(policies) = self.get("AccessPolicies") {
            let a = ir::AccessPolicies {
                id: principal,
                cluster_name: self.slot("ClusterName"),
                principal_arn: self.slot("PrincipalArn"),
                pos: policies.pos,
                file: 0,
                own: p("AccessPolicies"),
                policies: policies
                    .items()
                    .iter()
                    .map(|i| ir::AccessPolicy {
                        pos: i.pos,
                        file: 0,
                        policy_arn: i.get("PolicyArn").cloned(),
                        scope: i.get("AccessScope").map(|sc| {
                            (
                                sc.pos,
                                0,
                                sc.get("Type").cloned(),
                                sc.get("Namespaces").cloned(),
                            )
                        }),
                    })
                    .collect(),
                paths: Vec::new(),
            };
            out.push(ir::access_policies(self.shape(), &a, self.path));
        }
        out
    }

    fn launch_template(&self) -> Object {
        let lt = ir::LaunchTemplate {
            pos: self.pos,
            id: self.sid(),
            name: self
                .text("LaunchTemplateName")
                .unwrap_or_else(|| self.id.to_string()),
            name_own: p("LaunchTemplateName"),
            version: 1,
            // The template data has the CLI's shape already.
            data: ir::TemplateData::Given(self.slot("LaunchTemplateData")),
        };
        ir::launch_template(&lt, self.shape(), self.path)
    }

    fn security_group(&self) -> Object {
        let gid = self.sid();
        let rules = self.get("SecurityGroupIngress");
        let base = p("SecurityGroupIngress");
        let ingress = match rules {
            Some(r) if r.is_unknown() => ir::Ingress::Unknown {
                own: base,
                note: "SecurityGroupIngress".into(),
            },
            _ => ir::Ingress::Rules {
                pos: rules.map_or(self.pos, |r| r.pos),
                file: 0,
                rules: rules
                    .map(V::items)
                    .unwrap_or(&[])
                    .iter()
                    .enumerate()
                    .map(|(i, r)| permission(r, &base.index(i)))
                    .collect(),
                own: base,
            },
        };
        let g = ir::SecurityGroup {
            id: gid.clone(),
            pos: self.pos,
            name: self.slot("GroupName"),
            description: self.slot("GroupDescription"),
            vpc_id: self.slot("VpcId"),
            tags: self.slot("Tags"),
            ingress,
        };
        ir::security_group(self.shape(), &g, self.path)
    }

    fn ingress(&self) -> Object {
        let mut s = self.shape();
        let group = self.text("GroupId").unwrap_or_else(|| self.sid());
        s.set_node("GroupId", str_node(&group, self.pos), Some(&p("GroupId")));
        let own = FieldPath::parse("Properties");
        let perm = permission(self.props, &own);
        ir::set_permissions(&mut s, &[perm], self.pos, 0, &own);
        s.build(EC2, k::EC2_SECURITY_GROUP, &group, self.path)
    }

    fn subnet(&self) -> Object {
        let mut s = self.shape();
        s.set_node("SubnetId", str_node(&self.sid(), self.pos), None);
        s.set(
            "MapPublicIpOnLaunch",
            self.get("MapPublicIpOnLaunch"),
            &p("MapPublicIpOnLaunch"),
        );
        if self.get("MapPublicIpOnLaunch").is_none() {
            s.set_node(
                "MapPublicIpOnLaunch",
                Node::new(Value::Bool(false), self.pos),
                None,
            );
        }
        s.set_link("VpcId", self.get("VpcId"), &p("VpcId"));
        s.set("CidrBlock", self.get("CidrBlock"), &p("CidrBlock"));
        s.set("Tags", self.get("Tags"), &p("Tags"));
        s.build(EC2, k::EC2_SUBNET, &self.sid(), self.path)
    }

    fn role(&self) -> Vec<Object> {
        let inline = self
            .get("Policies")
            .map(V::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, pol)| ir::InlinePolicy {
                pos: pol.pos,
                name: pol
                    .get("PolicyName")
                    .and_then(V::text)
                    .unwrap_or_else(|| format!("Policies[{i}]")),
                name_own: p(&format!("Policies[{i}].PolicyName")),
                document: ir::Slot::of(
                    pol.get("PolicyDocument"),
                    p(&format!("Policies[{i}].PolicyDocument")),
                ),
            })
            .collect();
        let role = ir::Role {
            pos: self.pos,
            name: self.text("RoleName").unwrap_or_else(|| self.sid()),
            name_own: p("RoleName"),
            trust_policy: self.slot("AssumeRolePolicyDocument"),
            boundary: self.slot("PermissionsBoundary"),
            inline,
            managed: self
                .get("ManagedPolicyArns")
                .map(|_| self.slot("ManagedPolicyArns")),
        };
        ir::role(&role, &|| self.shape(), self.path)
    }

    fn identity_provider(&self) -> Object {
        let mut s = self.shape();
        s.set("clusterName", self.get("ClusterName"), &p("ClusterName"));
        s.set(
            "identityProviderConfigName",
            self.get("IdentityProviderConfigName"),
            &p("IdentityProviderConfigName"),
        );
        let oidc = self.get("Oidc");
        for (cli, own) in [
            ("issuerUrl", "IssuerUrl"),
            ("clientId", "ClientId"),
            ("usernameClaim", "UsernameClaim"),
            ("usernamePrefix", "UsernamePrefix"),
            ("groupsClaim", "GroupsClaim"),
            ("groupsPrefix", "GroupsPrefix"),
        ] {
            s.set(
                cli,
                oidc.and_then(|o| o.get(own)),
                &p(&format!("Oidc.{own}")),
            );
        }
        let name = self
            .text("IdentityProviderConfigName")
            .unwrap_or_else(|| self.id.to_string());
        s.build(EKS, k::EKS_IDENTITY_PROVIDER_CONFIG, &name, self.path)
    }

    /// `AWS::IAM::Policy` (inline, on `Roles`) and `AWS::IAM::ManagedPolicy` (attached to
    /// `Roles`): one object per role.
    fn policy(&self) -> Vec<Object> {
        let managed = self.ty == "AWS::IAM::ManagedPolicy";
        let pname = self
            .text(if managed {
                "ManagedPolicyName"
            } else {
                "PolicyName"
            })
            .unwrap_or_else(|| self.id.to_string());
        let mut out = Vec::new();
        for (i, role) in self
            .get("Roles")
            .map(V::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Some(rname) = role.text() else { continue };
            let mut s = self.shape();
            s.set("RoleName", Some(role), &p(&format!("Roles[{i}]")));
            s.set_node("PolicyName", str_node(&pname, self.pos), None);
            if let Some(d) = self.get("PolicyDocument") {
                s.set("PolicyDocument", Some(&document(d)), &p("PolicyDocument"));
            }
            out.push(s.build(
                IAM,
                k::IAM_ROLE_POLICY,
                &format!("{rname}/{pname}"),
                self.path,
            ));
            if managed {
                let mut s = self.shape();
                s.set("RoleName", Some(role), &p(&format!("Roles[{i}]")));
                let arn = V::new(
                    Val::Str(format!("arn:aws:iam::{ACCOUNT}:policy/{pname}")),
                    self.pos,
                    0,
                );
                s.set(
                    "AttachedPolicies",
                    Some(&super::attached(&arn)),
                    &FieldPath::parse("Properties"),
                );
                out.push(s.build(IAM, k::IAM_ATTACHED_POLICIES, &rname, self.path));
            }
        }
        out
    }
}

/// JSON text where the API takes text and the template gives a structure.
fn json_text(v: &V) -> V {
    match &v.val {
        Val::Map(_) | Val::List(_) => match super::hcl::to_json(v) {
            Some(t) => V::new(Val::Str(t), v.pos, v.file),
            None => V::unknown("(a value known only at deploy)", v.pos, v.file),
        },
        _ => v.clone(),
    }
}

/// One ingress rule (`CidrIp`, `SourceSecurityGroupId`, ...) at `own`.
fn permission(rule: &V, own: &FieldPath) -> ir::Permission {
    let one = |src: &str, group: bool| {
        let v = rule.get(src)?;
        // A group that is not known is no partner to join; a CIDR that is not known
        // leaves the permission undecided.
        if group && v.is_unknown() {
            return None;
        }
        Some(ir::Sources {
            pos: v.pos,
            file: 0,
            items: vec![ir::Source::at_value(v.clone(), Some(own.key(src)))],
            unknown: Vec::new(),
        })
    };
    ir::Permission {
        pos: rule.pos,
        file: 0,
        own: Some(own.clone()),
        protocol: rule.get("IpProtocol").cloned(),
        from_port: rule.get("FromPort").cloned(),
        to_port: rule.get("ToPort").cloned(),
        ipv4: one("CidrIp", false),
        ipv6: one("CidrIpv6", false),
        groups: one("SourceSecurityGroupId", true),
        prefix_lists: one("SourcePrefixListId", false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::yaml::{parse_documents_keeping_tags, ParseLimits};

    fn parse(text: &str) -> Node {
        let mut docs = parse_documents_keeping_tags(text, true, ParseLimits::default());
        docs.remove(0).unwrap().root
    }

    /// Roles whose names join the previous role's name twice: `n` roles, the first named
    /// `first`.
    fn doubling(n: usize, first: &str) -> String {
        let mut t = format!(
            "Resources:\n  R0:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: {first}\n"
        );
        for i in 1..n {
            let p = i - 1;
            t.push_str(&format!(
                "  R{i}:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Join [\"\", [!Ref R{p}, !Ref R{p}]]\n"
            ));
        }
        t
    }

    fn role_names(l: &Loaded) -> Vec<Option<String>> {
        l.objects
            .iter()
            .filter(|o| &*o.kind == "IAMRole")
            .map(|o| {
                o.root
                    .get("RoleName")
                    .and_then(Node::as_str)
                    .map(str::to_string)
            })
            .collect()
    }

    #[test]
    fn each_resource_is_referred_to_once() {
        // Without the memo, evaluating role n takes 2^n steps.
        let root = parse(&doubling(61, "ab"));
        let t = Template {
            scope: "t.yaml",
            params: HashMap::new(),
            conditions: HashMap::new(),
            resources: root
                .get("Resources")
                .unwrap()
                .entries()
                .iter()
                .map(|e| (&*e.key, &e.value))
                .collect(),
            budget: Budget::default(),
            refs: RefCell::default(),
            decided: RefCell::default(),
            current: RefCell::default(),
        };
        let r60 = t.resources["R60"];
        let _ = t.ref_value("R60", r60, 0);
        assert!(t.budget.steps() < 61 * 20, "{} steps", t.budget.steps());
    }

    #[test]
    fn names_past_the_bound_are_unknown_and_named() {
        let text = doubling(61, &"x".repeat(15_000));
        let l = load(&parse(&text), &Arc::from("t.yaml"));
        let names = role_names(&l);
        assert_eq!(names.len(), 61);
        assert_eq!(names[0].as_deref().map(str::len), Some(15_000));
        assert_eq!(names[2].as_deref().map(str::len), Some(60_000));
        // Past the bound the name is the role's stand-in, and later names that join it
        // stay within the bound.
        assert!(names[3].as_deref().unwrap().len() < 100);
        for n in names.iter().flatten() {
            assert!(n.len() <= crate::iac::MAX_STRING, "{}", n.len());
        }
        // R3's `Fn::Join` (line 17) is the first to go past the bound.
        assert_eq!(l.warnings[0].file, "t.yaml");
        assert_eq!(l.warnings[0].line, Some(17));
        assert_eq!(
            l.warnings[0].message,
            "resource `R3`: `Fn::Join` builds a string longer than 65536 bytes; its value is unknown"
        );
        assert!(l.warnings.len() <= 21);
    }

    #[test]
    fn names_that_fit_are_joined_once_and_right() {
        let l = load(&parse(&doubling(5, "ab")), &Arc::from("t.yaml"));
        let names = role_names(&l);
        let want: Vec<Option<String>> = (0..5).map(|i| Some("ab".repeat(1 << i))).collect();
        assert_eq!(names, want);
        assert!(l.warnings.is_empty());
    }

    #[test]
    fn sub_and_conditions_are_bounded_too() {
        let mut t = String::from("Conditions:\n  C0: !Equals [a, a]\n");
        for i in 1..64 {
            let p = i - 1;
            t.push_str(&format!(
                "  C{i}: !And [!Condition C{p}, !Or [!Condition C{p}, !Condition C{p}]]\n"
            ));
        }
        t.push_str(
            "Resources:\n  R0:\n    Type: AWS::IAM::Role\n    Condition: C63\n    Properties:\n      RoleName: !Sub '${R0}-x'\n",
        );
        let l = load(&parse(&t), &Arc::from("t.yaml"));
        // The condition holds; the name that refers to itself ends at the stand-in.
        let names = role_names(&l);
        assert_eq!(names.len(), 1);
        assert!(names[0].as_deref().unwrap().ends_with("-x"));
    }

    fn objects(text: &str) -> Vec<Object> {
        load(&parse(text), &Arc::from("t.yaml")).objects
    }

    /// The `RoleName` of the role `R` in a template with `rest` (parameters, conditions,
    /// more resources) and `R`'s name given by `expr`.
    fn name_of(rest: &str, expr: &str) -> Option<String> {
        let text = format!(
            "{rest}\nResources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: {expr}\n"
        );
        let objs = objects(&text);
        let role = objs.iter().find(|o| &*o.kind == "IAMRole")?;
        role.root
            .get("RoleName")
            .and_then(Node::as_str)
            .map(str::to_string)
    }

    #[test]
    fn intrinsics() {
        let params =
            "Parameters:\n  Env:\n    Type: String\n    Default: prod\n  Open:\n    Type: String";
        for (expr, want) in [
            ("!Ref Env", "prod"),
            ("!Sub '${Env}-nodes'", "prod-nodes"),
            ("!Sub ['${A}-${Env}', {A: x}]", "x-prod"),
            ("!Join ['-', [a, !Ref Env]]", "a-prod"),
            ("!Select [1, [a, b, c]]", "b"),
            (
                "!Sub '${AWS::Partition}.${AWS::URLSuffix}'",
                "aws.amazonaws.com",
            ),
            ("{\"Fn::Join\": [\"\", [x, y]]}", "xy"),
        ] {
            assert_eq!(name_of(params, expr).as_deref(), Some(want), "{expr}");
        }
        // A parameter without a default is not known before deploy: the name is the
        // resource's stand-in.
        assert_eq!(name_of(params, "!Ref Open").as_deref(), Some("t.yaml/R"));
    }

    #[test]
    fn conditions_choose_branches_and_drop_resources() {
        let conds = "Parameters:\n  Env:\n    Type: String\n    Default: prod\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\n  NotProd: !Not [!Condition IsProd]\n  Either: !Or [!Condition IsProd, !Condition NotProd]\n  Both: !And [!Condition IsProd, !Condition NotProd]";
        assert_eq!(
            name_of(conds, "!If [IsProd, big, small]").as_deref(),
            Some("big")
        );
        assert_eq!(
            name_of(conds, "!If [Both, big, small]").as_deref(),
            Some("small")
        );
        assert_eq!(
            name_of(conds, "!If [Either, big, small]").as_deref(),
            Some("big")
        );
        // A resource whose condition is false is not created.
        let text = format!(
            "{conds}\nResources:\n  R:\n    Type: AWS::IAM::Role\n    Condition: NotProd\n    Properties:\n      RoleName: x\n"
        );
        assert!(objects(&text).is_empty());
    }

    #[test]
    fn refs_and_getatts_link_resources_with_positions() {
        let text = "Resources:\n  Node:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: nodes\n  C:\n    Type: AWS::EKS::Cluster\n    Properties:\n      Name: prod\n      ResourcesVpcConfig:\n        EndpointPublicAccess: true\n        SecurityGroupIds: [!Ref Sg]\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n  Ng:\n    Type: AWS::EKS::Nodegroup\n    Properties:\n      ClusterName: !Ref C\n      NodeRole: !GetAtt Node.Arn\n";
        let objs = objects(text);
        let ng = objs.iter().find(|o| &*o.kind == "EKSNodegroup").unwrap();
        assert_eq!(
            ng.root.get("nodeRole").and_then(Node::as_str),
            Some("arn:aws:iam::000000000000:role/nodes")
        );
        assert_eq!(
            ng.root.get("clusterName").and_then(Node::as_str),
            Some("prod")
        );
        assert_eq!(ng.locate(&FieldPath::parse("nodeRole")).unwrap().line, 21);
        assert_eq!(
            ng.report_path(&FieldPath::parse("nodeRole")).to_string(),
            "Properties.NodeRole"
        );
        let c = objs.iter().find(|o| &*o.kind == "EKSCluster").unwrap();
        assert_eq!(
            c.root
                .at("resourcesVpcConfig.securityGroupIds")
                .unwrap()
                .items()[0]
                .as_str(),
            Some("t.yaml/Sg")
        );
        let public = FieldPath::parse("resourcesVpcConfig.endpointPublicAccess");
        assert_eq!(c.locate(&public).unwrap().line, 11);
        assert_eq!(
            c.report_path(&public).to_string(),
            "Properties.ResourcesVpcConfig.EndpointPublicAccess"
        );
        // The group EKS creates for the cluster comes with it.
        assert!(objs
            .iter()
            .any(|o| &*o.name == "t.yaml/C.ClusterSecurityGroupId"));
    }

    #[test]
    fn auto_mode_node_role_and_ingress_rules() {
        let text = "Resources:\n  C:\n    Type: AWS::EKS::Cluster\n    Properties:\n      Name: auto\n      ComputeConfig:\n        Enabled: true\n        NodeRoleArn: arn:aws:iam::1:role/auto-nodes\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      SecurityGroupIngress:\n        - IpProtocol: ALL\n          CidrIp: 0.0.0.0/0\n";
        let objs = objects(text);
        let c = objs.iter().find(|o| &*o.kind == "EKSCluster").unwrap();
        let role = FieldPath::parse("computeConfig.nodeRoleArn");
        assert_eq!(
            c.root
                .at("computeConfig.nodeRoleArn")
                .and_then(Node::as_str),
            Some("arn:aws:iam::1:role/auto-nodes")
        );
        assert_eq!(c.locate(&role).unwrap().line, 8);
        assert_eq!(
            c.report_path(&role).to_string(),
            "Properties.ComputeConfig.NodeRoleArn"
        );
        let sg = objs.iter().find(|o| &*o.name == "t.yaml/Sg").unwrap();
        let perm = &sg.root.get("IpPermissions").unwrap().items()[0];
        assert_eq!(perm.get("IpProtocol").and_then(Node::as_str), Some("-1"));
        let cidr = FieldPath::parse("IpPermissions[0].IpRanges[0].CidrIp");
        assert_eq!(
            sg.report_path(&cidr).to_string(),
            "Properties.SecurityGroupIngress[0].CidrIp"
        );
        assert_eq!(sg.locate(&cidr).unwrap().line, 15);
    }
}
