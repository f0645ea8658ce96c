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

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use eksguard_model::{FieldPath, InputError, Node, Object, Pos, Value};

use super::terraform::{role_arn, ACCOUNT};
use super::{document, str_node, Budget, Loaded, Shape, Val, MAX_DEPTH, V};
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
                "EKSPodIdentityAssociation",
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
                "EKSAddon",
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

    fn cluster(&self) -> Vec<Object> {
        let mut s = self.shape();
        let name = self.text("Name").unwrap_or_else(|| self.sid());
        s.set_node("name", str_node(&name, self.pos), Some(&p("Name")));
        s.set("version", self.get("Version"), &p("Version"));
        s.set_link("roleArn", self.get("RoleArn"), &p("RoleArn"));
        let vpc = self.get("ResourcesVpcConfig");
        let vpc_pos = vpc.map_or(self.pos, |v| v.pos);
        s.set_node(
            "resourcesVpcConfig",
            Node::new(Value::Map(Vec::new()), vpc_pos),
            Some(&p("ResourcesVpcConfig")),
        );
        if let Some(vpc) = vpc {
            if vpc.is_unknown() {
                s.unknown(
                    &FieldPath::parse("resourcesVpcConfig"),
                    "ResourcesVpcConfig",
                );
            }
            for (cli, own) in [
                ("endpointPublicAccess", "EndpointPublicAccess"),
                ("endpointPrivateAccess", "EndpointPrivateAccess"),
                ("publicAccessCidrs", "PublicAccessCidrs"),
            ] {
                let own = p(&format!("ResourcesVpcConfig.{own}"));
                s.map_path(&format!("resourcesVpcConfig.{cli}"), &own);
                s.set(
                    &format!("resourcesVpcConfig.{cli}"),
                    vpc.get(own_key(&own)),
                    &own,
                );
            }
            s.set_link(
                "resourcesVpcConfig.subnetIds",
                vpc.get("SubnetIds"),
                &p("ResourcesVpcConfig.SubnetIds"),
            );
            s.set_link(
                "resourcesVpcConfig.securityGroupIds",
                vpc.get("SecurityGroupIds"),
                &p("ResourcesVpcConfig.SecurityGroupIds"),
            );
        }
        let created_sg = format!("{}.ClusterSecurityGroupId", self.sid());
        s.set_node(
            "resourcesVpcConfig.clusterSecurityGroupId",
            str_node(&created_sg, vpc_pos),
            None,
        );
        s.tie(&[
            "resourcesVpcConfig.endpointPublicAccess",
            "resourcesVpcConfig.publicAccessCidrs",
        ]);
        let types_path = p("Logging.ClusterLogging.EnabledTypes");
        s.map_path("logging.clusterLogging", &types_path);
        s.map_path("logging.clusterLogging[0].types", &types_path);
        let types = self
            .get("Logging")
            .and_then(|l| l.get("ClusterLogging"))
            .and_then(|c| c.get("EnabledTypes"));
        match types {
            Some(t) if t.is_unknown() => {
                s.unknown(&FieldPath::parse("logging.clusterLogging"), "EnabledTypes")
            }
            Some(t) => {
                // `[{Type: api}, ...]` as the CLI's `types` list, one index per item.
                let names: Vec<V> = t
                    .items()
                    .iter()
                    .map(|i| i.get("Type").cloned().unwrap_or_else(|| i.clone()))
                    .collect();
                let item = V::new(
                    Val::Map(vec![
                        ("types".into(), V::new(Val::List(names), t.pos, 0)),
                        ("enabled".into(), V::new(Val::Bool(true), t.pos, 0)),
                    ]),
                    t.pos,
                    0,
                );
                s.set(
                    "logging.clusterLogging",
                    Some(&V::new(Val::List(vec![item]), t.pos, 0)),
                    &types_path,
                );
                s.map_path("logging.clusterLogging[0].types", &types_path);
            }
            None => s.set_node(
                "logging.clusterLogging",
                Node::new(Value::Seq(Vec::new()), self.pos),
                None,
            ),
        }
        s.map_path("encryptionConfig", &p("EncryptionConfig"));
        if let Some(ec) = self.get("EncryptionConfig") {
            if ec.is_unknown() {
                s.unknown(&FieldPath::parse("encryptionConfig"), "EncryptionConfig");
            } else {
                let items: Vec<V> = ec
                    .items()
                    .iter()
                    .map(|c| {
                        let mut m = Vec::new();
                        if let Some(r) = c.get("Resources") {
                            m.push(("resources".to_string(), r.clone()));
                        }
                        if let Some(k) = c.get("Provider").and_then(|pv| pv.get("KeyArn")) {
                            m.push((
                                "provider".to_string(),
                                V::new(Val::Map(vec![("keyArn".into(), k.clone())]), k.pos, 0),
                            ));
                        }
                        V::new(Val::Map(m), c.pos, 0)
                    })
                    .collect();
                s.set(
                    "encryptionConfig",
                    Some(&V::new(Val::List(items), ec.pos, 0)),
                    &p("EncryptionConfig"),
                );
            }
        }
        if let Some(ac) = self.get("AccessConfig") {
            s.set(
                "accessConfig.authenticationMode",
                ac.get("AuthenticationMode"),
                &p("AccessConfig.AuthenticationMode"),
            );
            s.set(
                "accessConfig.bootstrapClusterCreatorAdminPermissions",
                ac.get("BootstrapClusterCreatorAdminPermissions"),
                &p("AccessConfig.BootstrapClusterCreatorAdminPermissions"),
            );
        }
        s.map_path("accessConfig", &p("AccessConfig"));
        s.map_path(
            "accessConfig.authenticationMode",
            &p("AccessConfig.AuthenticationMode"),
        );
        s.map_path(
            "accessConfig.bootstrapClusterCreatorAdminPermissions",
            &p("AccessConfig.BootstrapClusterCreatorAdminPermissions"),
        );
        vec![
            s.build(EKS, "EKSCluster", &name, self.path),
            super::eks_cluster_security_group(
                self.shape(),
                &created_sg,
                &p("ResourcesVpcConfig"),
                vpc_pos,
                self.path,
            ),
        ]
    }

    fn nodegroup(&self) -> Object {
        let mut s = self.shape();
        let name = self
            .text("NodegroupName")
            .unwrap_or_else(|| self.id.to_string());
        s.set("clusterName", self.get("ClusterName"), &p("ClusterName"));
        s.set_node(
            "nodegroupName",
            str_node(&name, self.pos),
            Some(&p("NodegroupName")),
        );
        s.set_link("nodeRole", self.get("NodeRole"), &p("NodeRole"));
        s.set_link("subnets", self.get("Subnets"), &p("Subnets"));
        s.set("amiType", self.get("AmiType"), &p("AmiType"));
        s.set("version", self.get("Version"), &p("Version"));
        s.set(
            "releaseVersion",
            self.get("ReleaseVersion"),
            &p("ReleaseVersion"),
        );
        if let Some(ra) = self.get("RemoteAccess") {
            s.set(
                "remoteAccess.ec2SshKey",
                ra.get("Ec2SshKey"),
                &p("RemoteAccess.Ec2SshKey"),
            );
            s.set_link(
                "remoteAccess.sourceSecurityGroups",
                ra.get("SourceSecurityGroups"),
                &p("RemoteAccess.SourceSecurityGroups"),
            );
            s.map_path("remoteAccess", &p("RemoteAccess"));
        }
        if let Some(lt) = self.get("LaunchTemplate") {
            for (cli, own) in [("id", "Id"), ("name", "Name"), ("version", "Version")] {
                s.set_link(
                    &format!("launchTemplate.{cli}"),
                    lt.get(own),
                    &p(&format!("LaunchTemplate.{own}")),
                );
            }
        }
        s.build(EKS, "EKSNodegroup", &name, self.path)
    }

    fn access_entry(&self) -> Vec<Object> {
        let principal = self
            .text("PrincipalArn")
            .unwrap_or_else(|| self.id.to_string());
        let mut out = vec![self.simple(
            EKS,
            "EKSAccessEntry",
            &[
                ("clusterName", "ClusterName"),
                ("principalArn", "PrincipalArn"),
                ("kubernetesGroups", "KubernetesGroups"),
                ("type", "Type"),
                ("username", "Username"),
            ],
            &principal,
        )];
        if let Some(policies) = self.get("AccessPolicies") {
            let mut s = self.shape();
            s.set("clusterName", self.get("ClusterName"), &p("ClusterName"));
            s.set("principalArn", self.get("PrincipalArn"), &p("PrincipalArn"));
            let items: Vec<V> = policies
                .items()
                .iter()
                .map(|i| {
                    let mut m = Vec::new();
                    if let Some(a) = i.get("PolicyArn") {
                        m.push(("policyArn".to_string(), a.clone()));
                    }
                    if let Some(sc) = i.get("AccessScope") {
                        let mut sm = Vec::new();
                        if let Some(t) = sc.get("Type") {
                            sm.push(("type".to_string(), t.clone()));
                        }
                        if let Some(n) = sc.get("Namespaces") {
                            sm.push(("namespaces".to_string(), n.clone()));
                        }
                        m.push(("accessScope".to_string(), V::new(Val::Map(sm), sc.pos, 0)));
                    }
                    V::new(Val::Map(m), i.pos, 0)
                })
                .collect();
            s.set(
                "associatedAccessPolicies",
                Some(&V::new(Val::List(items), policies.pos, 0)),
                &p("AccessPolicies"),
            );
            out.push(s.build(EKS, "EKSAccessPolicies", &principal, self.path));
        }
        out
    }

    fn launch_template(&self) -> Object {
        let mut s = self.shape();
        let name = self
            .text("LaunchTemplateName")
            .unwrap_or_else(|| self.id.to_string());
        s.set_node("LaunchTemplateId", str_node(&self.sid(), self.pos), None);
        s.set_node(
            "LaunchTemplateName",
            str_node(&name, self.pos),
            Some(&p("LaunchTemplateName")),
        );
        s.set_node("VersionNumber", Node::new(Value::Int(1), self.pos), None);
        s.set_node(
            "DefaultVersion",
            Node::new(Value::Bool(true), self.pos),
            None,
        );
        // The template data has the CLI's shape already.
        match self.get("LaunchTemplateData") {
            Some(d) => s.set("LaunchTemplateData", Some(d), &p("LaunchTemplateData")),
            None => s.set_node(
                "LaunchTemplateData",
                Node::new(Value::Map(Vec::new()), self.pos),
                None,
            ),
        }
        s.build(
            EC2,
            "EC2LaunchTemplateVersion",
            &format!("{}:1", self.sid()),
            self.path,
        )
    }

    fn security_group(&self) -> Object {
        let mut s = self.shape();
        let gid = self.sid();
        s.set_node("GroupId", str_node(&gid, self.pos), None);
        s.set("GroupName", self.get("GroupName"), &p("GroupName"));
        s.set(
            "Description",
            self.get("GroupDescription"),
            &p("GroupDescription"),
        );
        s.set_link("VpcId", self.get("VpcId"), &p("VpcId"));
        s.set("Tags", self.get("Tags"), &p("Tags"));
        let rules = self.get("SecurityGroupIngress");
        match rules {
            Some(r) if r.is_unknown() => {
                s.map_path("IpPermissions", &p("SecurityGroupIngress"));
                s.unknown(&FieldPath::parse("IpPermissions"), "SecurityGroupIngress");
            }
            _ => {
                let base = p("SecurityGroupIngress");
                let items = rules.map(V::items).unwrap_or(&[]);
                let perms: Vec<(V, Vec<(FieldPath, FieldPath)>)> = items
                    .iter()
                    .enumerate()
                    .map(|(i, r)| permission(i, r, &base.index(i), &gid))
                    .collect();
                set_permissions(&mut s, perms, rules.map_or(self.pos, |r| r.pos), &base);
            }
        }
        s.build(EC2, "EC2SecurityGroup", &gid, self.path)
    }

    fn ingress(&self) -> Object {
        let mut s = self.shape();
        let group = self.text("GroupId").unwrap_or_else(|| self.sid());
        s.set_node("GroupId", str_node(&group, self.pos), Some(&p("GroupId")));
        let perm = permission(0, self.props, &FieldPath::parse("Properties"), &group);
        set_permissions(
            &mut s,
            vec![perm],
            self.pos,
            &FieldPath::parse("Properties"),
        );
        s.build(EC2, "EC2SecurityGroup", &group, self.path)
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
        s.build(EC2, "EC2Subnet", &self.sid(), self.path)
    }

    fn role(&self) -> Vec<Object> {
        let name = self.text("RoleName").unwrap_or_else(|| self.sid());
        let arn = role_arn(&name);
        let mut s = self.shape();
        s.set_node("RoleName", str_node(&name, self.pos), Some(&p("RoleName")));
        s.set_node("Arn", str_node(&arn, self.pos), None);
        if let Some(d) = self.get("AssumeRolePolicyDocument") {
            s.set(
                "AssumeRolePolicyDocument",
                Some(&document(d)),
                &p("AssumeRolePolicyDocument"),
            );
        }
        s.map_path("PermissionsBoundary", &p("PermissionsBoundary"));
        if let Some(b) = self.get("PermissionsBoundary") {
            s.set(
                "PermissionsBoundary",
                Some(&super::permissions_boundary(b)),
                &p("PermissionsBoundary"),
            );
        }
        let mut out = vec![s.build(IAM, "IAMRole", &arn, self.path)];
        for (i, pol) in self
            .get("Policies")
            .map(V::items)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let pname = pol
                .get("PolicyName")
                .and_then(V::text)
                .unwrap_or_else(|| format!("Policies[{i}]"));
            out.push(super::inline_role_policy(
                self.shape(),
                &name,
                self.pos,
                &pname,
                pol.pos,
                &p(&format!("Policies[{i}].PolicyName")),
                pol.get("PolicyDocument"),
                &p(&format!("Policies[{i}].PolicyDocument")),
                self.path,
            ));
        }
        if let Some(arns) = self.get("ManagedPolicyArns") {
            out.push(super::role_attached_policies(
                self.shape(),
                &name,
                self.pos,
                arns,
                &p("ManagedPolicyArns"),
                self.path,
            ));
        }
        out
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
        s.build(EKS, "EKSIdentityProviderConfig", &name, self.path)
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
            out.push(s.build(IAM, "IAMRolePolicy", &format!("{rname}/{pname}"), self.path));
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
                out.push(s.build(IAM, "IAMAttachedPolicies", &rname, self.path));
            }
        }
        out
    }
}

fn own_key(p: &FieldPath) -> &str {
    match p.segs().last() {
        Some(eksguard_model::Seg::Key(k)) => k,
        _ => "",
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

/// One ingress rule (`CidrIp`, `SourceSecurityGroupId`, ...) as an EC2 permission.
fn permission(
    i: usize,
    rule: &V,
    own: &FieldPath,
    self_id: &str,
) -> (V, Vec<(FieldPath, FieldPath)>) {
    let base = FieldPath::parse("IpPermissions").index(i);
    let mk = |val: Val, pos: Pos| V::new(val, pos, 0);
    let mut m: Vec<(String, V)> = Vec::new();
    let mut paths = vec![(base.clone(), own.clone())];
    if let Some(pv) = rule.get("IpProtocol") {
        let t = pv.text().map(|t| {
            if t == "all" {
                "-1".to_string()
            } else {
                t.to_ascii_lowercase()
            }
        });
        m.push((
            "IpProtocol".into(),
            t.map_or(pv.clone(), |t| mk(Val::Str(t), pv.pos)),
        ));
    }
    for k in ["FromPort", "ToPort"] {
        if let Some(v) = rule.get(k) {
            m.push((k.into(), v.clone()));
        }
    }
    for (list, key, src) in [
        ("IpRanges", "CidrIp", "CidrIp"),
        ("Ipv6Ranges", "CidrIpv6", "CidrIpv6"),
        ("UserIdGroupPairs", "GroupId", "SourceSecurityGroupId"),
        ("PrefixListIds", "PrefixListId", "SourcePrefixListId"),
    ] {
        if let Some(v) = rule.get(src) {
            if v.is_unknown() && list == "UserIdGroupPairs" {
                continue;
            }
            let v = if v.as_str() == Some(self_id) && list == "UserIdGroupPairs" {
                mk(Val::Str(self_id.into()), v.pos)
            } else {
                v.clone()
            };
            paths.push((base.key(list).index(0).key(key), own.key(src)));
            m.push((
                list.into(),
                mk(
                    Val::List(vec![mk(Val::Map(vec![(key.into(), v.clone())]), v.pos)]),
                    v.pos,
                ),
            ));
        }
    }
    (V::new(Val::Map(m), rule.pos, 0), paths)
}

fn set_permissions(
    s: &mut Shape,
    perms: Vec<(V, Vec<(FieldPath, FieldPath)>)>,
    pos: Pos,
    own: &FieldPath,
) {
    let mut items = Vec::new();
    let mut all = Vec::new();
    for (v, paths) in perms {
        items.push(v);
        all.extend(paths);
    }
    s.set(
        "IpPermissions",
        Some(&V::new(Val::List(items), pos, 0)),
        own,
    );
    for (cli, own) in all {
        s.map_path(&cli.to_string(), &own);
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
}
