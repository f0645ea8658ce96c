//! `eksguard rbac`: who-can, lookup and risks over the RBAC model of the inputs.

use std::io::Write;

use anyhow::bail;
use eksguard_model::rbac::{
    probes, service_account_of, Binding, BoundRole, Grant, Identity, Origin, PolicyRule, RbacModel,
    RequestAttributes, Role, RoleKind, Subject, SubjectKind,
};
use eksguard_model::{InputError, Inventory};
use eksguard_report::escape;
use eksguard_sources::LoadOptions;
use serde::Serialize;

use crate::cli::{
    DataFormat, KubeArgs, LookupArgs, RbacCommand, RbacInput, RisksArgs, SubjectKindArg, WhoCanArgs,
};
use crate::Outcome;

pub fn run(cmd: RbacCommand) -> anyhow::Result<Outcome> {
    match cmd {
        RbacCommand::WhoCan(a) => who_can(a),
        RbacCommand::Lookup(a) => lookup(a),
        RbacCommand::Risks(a) => risks(a),
    }
}

/// The inventory every RBAC query runs on: the files, directories and standard input
/// named on the command line, or with `--live` the cluster of the kubeconfig (all
/// namespaces: a binding anywhere may grant the power asked about).
pub fn load_inventory(input: &RbacInput) -> anyhow::Result<Inventory> {
    if !input.live {
        return super::load_paths(&input.paths, &LoadOptions::default(), None);
    }
    let kube = KubeArgs::connect(input.context.clone(), input.kubeconfig.clone());
    match super::cluster::read_live(&kube, &input.aws)? {
        Some((inv, _)) => Ok(inv),
        None => bail!("nothing to read: no Kubernetes configuration and no EKS cluster"),
    }
}

/// Loads the input, printing its errors on standard error.
fn load(input: &RbacInput) -> anyhow::Result<(Inventory, RbacModel)> {
    let inv = load_inventory(input)?;
    for e in &inv.errors {
        eprintln!("error: {}", escape::terminal(&e.to_string()));
    }
    let model = RbacModel::from_inventory(&inv);
    Ok((inv, model))
}

fn finish(input: &RbacInput, inv: &Inventory, text: &str) -> anyhow::Result<Outcome> {
    let mut out = super::open_output(input.output.as_deref())?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if inv.errors.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Error
    })
}

// ---------------------------------------------------------------------------------------
// Shared pieces of every answer

/// A role or binding as the answers name it.
#[derive(Debug, Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct ObjRef {
    kind: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    /// From Kubernetes' default policy, not from the input.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    default_policy: bool,
    /// A role the binding refers to that the input does not hold.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    missing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

impl ObjRef {
    fn text(&self) -> String {
        let mut s = match &self.namespace {
            Some(ns) if self.kind == "RoleBinding" || self.kind == "Role" => {
                format!("{}/{ns}/{}", self.kind, self.name)
            }
            _ => format!("{}/{}", self.kind, self.name),
        };
        if self.default_policy {
            s.push_str(" (default)");
        }
        if self.missing {
            s.push_str(" (missing)");
        }
        s
    }
}

fn located(inv: &Inventory, origin: Origin, mut r: ObjRef) -> ObjRef {
    match origin {
        Origin::Object(id) => {
            let obj = inv.get(id);
            r.file = obj.file().map(str::to_string);
            r.line = Some(obj.root.pos.line).filter(|l| *l > 0);
        }
        Origin::DefaultPolicy => r.default_policy = true,
        Origin::AwsManaged => {}
    }
    r
}

fn binding_ref(inv: &Inventory, b: &Binding) -> ObjRef {
    let kind = match b.kind {
        eksguard_model::rbac::BindingKind::RoleBinding => "RoleBinding",
        eksguard_model::rbac::BindingKind::ClusterRoleBinding => "ClusterRoleBinding",
        eksguard_model::rbac::BindingKind::AccessPolicyAssociation => "AccessEntry",
    };
    located(
        inv,
        b.origin,
        ObjRef {
            kind: kind.into(),
            name: b.name.clone(),
            namespace: b.namespace.clone(),
            default_policy: false,
            missing: false,
            file: None,
            line: None,
        },
    )
}

fn role_kind(k: RoleKind) -> &'static str {
    match k {
        RoleKind::Role => "Role",
        RoleKind::ClusterRole => "ClusterRole",
        RoleKind::AccessPolicy => "AccessPolicy",
    }
}

fn role_ref(inv: &Inventory, role: Option<&Role>, b: &Binding) -> ObjRef {
    let blank = |name: &str, ns: Option<String>, missing| ObjRef {
        kind: role_kind(b.role_ref.kind).into(),
        name: name.to_string(),
        namespace: ns,
        default_policy: false,
        missing,
        file: None,
        line: None,
    };
    match role {
        Some(r) => located(inv, r.origin, blank(&r.name, r.namespace.clone(), false)),
        None => {
            let ns = (b.role_ref.kind == RoleKind::Role)
                .then(|| b.namespace.clone())
                .flatten();
            blank(&b.role_ref.name, ns, true)
        }
    }
}

/// One rule that allows the request, named by the role that holds it.
#[derive(Debug, Serialize)]
struct RuleRef {
    role: String,
    index: usize,
    rule: PolicyRule,
}

impl RuleRef {
    fn text(&self) -> String {
        format!("{}:rules[{}]", self.role, self.index)
    }
}

fn scope_of(b: &Binding) -> String {
    b.namespace.clone().unwrap_or_else(|| "cluster-wide".into())
}

/// How an IAM principal reaches a binding subject.
#[derive(Debug, Serialize)]
struct Via {
    /// `aws-auth mapRoles[0]`, `access entry`, ...
    mapping: String,
    /// The user name (template) and groups it is mapped to.
    username: String,
    groups: Vec<String>,
    /// The binding subject it reaches.
    subject: Subject,
}

fn via_text(v: &Option<Via>) -> String {
    v.as_ref()
        .map(|v| format!("{} → {}", v.mapping, v.subject.display()))
        .unwrap_or_else(|| "-".into())
}

#[derive(Debug, Serialize)]
struct GrantRow {
    subject: Subject,
    #[serde(skip_serializing_if = "Option::is_none")]
    via: Option<Via>,
    scope: String,
    binding: ObjRef,
    role: ObjRef,
    rules: Vec<RuleRef>,
}

/// Grants grouped by binding subject, and each User or Group subject repeated for every
/// IAM principal mapped to it.
fn grant_rows(inv: &Inventory, m: &RbacModel, grants: &[Grant]) -> Vec<GrantRow> {
    let mut rows: Vec<GrantRow> = Vec::new();
    let mut keys: Vec<(usize, usize, usize)> = Vec::new();
    for g in grants {
        let b = &m.bindings[g.binding];
        let role = &m.roles[g.role];
        let entry = &role.rules[g.rule];
        let rule = RuleRef {
            role: entry.role.clone(),
            index: entry.index,
            rule: entry.rule.clone(),
        };
        if let Some(i) = keys
            .iter()
            .position(|k| (k.0, k.1) == (g.binding, g.subject))
        {
            rows[i].rules.push(rule);
            continue;
        }
        keys.push((g.binding, g.subject, g.role));
        rows.push(GrantRow {
            subject: b.subjects[g.subject].clone(),
            via: None,
            scope: scope_of(b),
            binding: binding_ref(inv, b),
            role: role_ref(inv, Some(role), b),
            rules: vec![rule],
        });
    }
    let mut iam_rows = Vec::new();
    for (row, &(bi, si, ri)) in rows.iter().zip(&keys) {
        let b = &m.bindings[bi];
        let s = &b.subjects[si];
        for mi in m.mappings_into(s) {
            let map = &m.mappings[mi];
            iam_rows.push(GrantRow {
                subject: Subject::new(SubjectKind::IamPrincipal, &map.arn, None),
                via: Some(Via {
                    mapping: map.describe(),
                    username: map.username.clone(),
                    groups: map.groups.clone(),
                    subject: s.clone(),
                }),
                scope: row.scope.clone(),
                binding: binding_ref(inv, b),
                role: role_ref(inv, Some(&m.roles[ri]), b),
                rules: row
                    .rules
                    .iter()
                    .map(|r| RuleRef {
                        role: r.role.clone(),
                        index: r.index,
                        rule: r.rule.clone(),
                    })
                    .collect(),
            });
        }
    }
    rows.extend(iam_rows);
    rows.sort_by(|a, b| {
        (&a.subject, &a.scope, &a.binding).cmp(&(&b.subject, &b.scope, &b.binding))
    });
    rows
}

/// Input text (names, the query) escaped for the output: Markdown, or a terminal.
fn esc(s: &str, markdown: bool) -> String {
    if markdown {
        escape::markdown(s)
    } else {
        escape::terminal(s).into_owned()
    }
}

/// An aligned text table, or a Markdown one; cells are escaped for the output here.
fn table(headers: &[&str], rows: &[Vec<String>], markdown: bool) -> String {
    let mut out = String::new();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| esc(c, markdown)).collect())
        .collect();
    if markdown {
        out.push_str(&format!("| {} |\n", headers.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(headers.len())));
        for r in &rows {
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        return out;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = *w));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    out.push_str(&line(headers.to_vec()));
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn json<T: Serialize>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

// ---------------------------------------------------------------------------------------
// who-can

/// Short names kubectl accepts for common resources.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("po", "pods"),
    ("svc", "services"),
    ("cm", "configmaps"),
    ("ns", "namespaces"),
    ("no", "nodes"),
    ("sa", "serviceaccounts"),
    ("deploy", "deployments"),
    ("ds", "daemonsets"),
    ("sts", "statefulsets"),
    ("rs", "replicasets"),
    ("cj", "cronjobs"),
    ("pv", "persistentvolumes"),
    ("pvc", "persistentvolumeclaims"),
    ("ing", "ingresses"),
    ("netpol", "networkpolicies"),
    ("crd", "customresourcedefinitions"),
    ("ep", "endpoints"),
    ("hpa", "horizontalpodautoscalers"),
    ("pdb", "poddisruptionbudgets"),
];

/// Turns `VERB RESOURCE` into a request: `/path`, `res`, `res.group`, `res/sub`,
/// `res.group/sub`, or a short name.
fn parse_request(
    m: &RbacModel,
    verb: &str,
    resource: &str,
    ns: Option<&str>,
    name: Option<&str>,
) -> anyhow::Result<RequestAttributes> {
    if verb.is_empty() || resource.is_empty() {
        bail!("give a VERB and a RESOURCE");
    }
    if resource.starts_with('/') {
        if ns.is_some() || name.is_some() {
            bail!("a non-resource URL takes neither --namespace nor --name");
        }
        return Ok(RequestAttributes::non_resource(verb, resource));
    }
    let (base, sub) = match resource.split_once('/') {
        Some((b, s)) => (b, Some(s)),
        None => (resource, None),
    };
    let (res, group) = match base.split_once('.') {
        Some((r, g)) => (r.to_string(), Some(g.to_string())),
        None => (base.to_string(), None),
    };
    let res = SHORT_NAMES
        .iter()
        .find(|(s, _)| *s == res)
        .map(|(_, full)| full.to_string())
        .unwrap_or(res)
        .to_lowercase();
    let group = group.unwrap_or_else(|| m.group_of(&res));
    let combined = match sub {
        Some(s) => format!("{res}/{s}"),
        None => res.clone(),
    };
    let mut req = RequestAttributes::resource(verb, &group, &combined);
    if let Some(ns) = ns {
        if m.is_cluster_scoped(&group, &res) {
            eprintln!(
                "note: {} are cluster-scoped; --namespace is ignored",
                escape::terminal(&res)
            );
        } else {
            req = req.in_namespace(ns);
        }
    }
    if let Some(n) = name {
        req = req.named(n);
    }
    Ok(req)
}

#[derive(Serialize)]
struct WhoCanAnswer<'a> {
    schema_version: u32,
    query: &'a RequestAttributes,
    grants: Vec<GrantRow>,
    errors: &'a [InputError],
}

fn describe_query(req: &RequestAttributes, m: &RbacModel) -> String {
    let mut d = req.describe();
    if req.is_resource_request()
        && req.namespace.is_none()
        && !m.is_cluster_scoped(&req.api_group, &req.resource)
    {
        d = d.replace(" cluster-wide", " in any namespace");
    }
    d
}

fn who_can(args: WhoCanArgs) -> anyhow::Result<Outcome> {
    let (inv, m) = load(&args.input)?;
    let req = parse_request(
        &m,
        &args.verb,
        &args.resource,
        args.namespace.as_deref(),
        args.name.as_deref(),
    )?;
    let rows = grant_rows(&inv, &m, &m.who_can(&req));
    let what = describe_query(&req, &m);
    let text = match args.input.format {
        DataFormat::Json => json(&WhoCanAnswer {
            schema_version: 1,
            query: &req,
            grants: rows,
            errors: &inv.errors,
        })?,
        f => {
            let md = f == DataFormat::Markdown;
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.subject.display(),
                        via_text(&r.via),
                        r.scope.clone(),
                        r.binding.text(),
                        r.role.text(),
                        r.rules
                            .iter()
                            .map(RuleRef::text)
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect();
            let what = esc(&what, md);
            let title = if rows.is_empty() {
                format!("No subject may {what}.\n")
            } else {
                format!("Who may {what}: {} grants\n", rows.len())
            };
            let mut s = if md { format!("## {title}") } else { title };
            if !rows.is_empty() {
                s.push('\n');
                s.push_str(&table(
                    &["SUBJECT", "VIA", "SCOPE", "BINDING", "ROLE", "RULES"],
                    &cells,
                    md,
                ));
            }
            s
        }
    };
    finish(&args.input, &inv, &text)
}

// ---------------------------------------------------------------------------------------
// lookup

#[derive(Debug, Serialize)]
struct IdentityOut {
    user: String,
    groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mapping: Option<String>,
}

#[derive(Debug, Serialize)]
struct LookupRow {
    /// The binding subject that names the identity.
    subject: Subject,
    /// `direct`, `group system:authenticated`, `aws-auth mapRoles[0]`, ...
    via: String,
    scope: String,
    role: ObjRef,
    binding: ObjRef,
}

#[derive(Serialize)]
struct LookupAnswer<'a> {
    schema_version: u32,
    query: &'a str,
    identities: Vec<IdentityOut>,
    bindings: Vec<LookupRow>,
    errors: &'a [InputError],
}

/// The identities a lookup query stands for, with how each was reached.
fn identities(
    m: &RbacModel,
    q: &str,
    kind: Option<SubjectKindArg>,
) -> Vec<(Identity, Option<String>)> {
    let sa = |s: &str| {
        service_account_of(s)
            .map(|(ns, n)| (ns.to_string(), n.to_string()))
            .or_else(|| {
                s.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            })
    };
    match kind {
        Some(SubjectKindArg::User) => vec![(Identity::user(q, &[]), None)],
        Some(SubjectKindArg::Group) => vec![(
            Identity {
                user: String::new(),
                groups: vec![q.to_string()],
            },
            None,
        )],
        Some(SubjectKindArg::Serviceaccount) => match sa(q) {
            Some((ns, n)) => vec![(Identity::service_account(&ns, &n), None)],
            None => Vec::new(),
        },
        None if q.starts_with("arn:") => m
            .resolve_iam(q)
            .into_iter()
            .map(|(mi, id)| (id, Some(m.mappings[mi].describe())))
            .collect(),
        None if q.starts_with("system:serviceaccount:") => match sa(q) {
            Some((ns, n)) => vec![(Identity::service_account(&ns, &n), None)],
            None => Vec::new(),
        },
        None => vec![
            (Identity::user(q, &[]), None),
            (
                Identity {
                    user: String::new(),
                    groups: vec![q.to_string()],
                },
                None,
            ),
        ],
    }
}

fn lookup(args: LookupArgs) -> anyhow::Result<Outcome> {
    let (inv, m) = load(&args.input)?;
    let ids = identities(&m, &args.subject, args.kind);
    let mut rows: Vec<LookupRow> = Vec::new();
    let mut seen: Vec<(usize, usize, Option<String>)> = Vec::new();
    for (id, mapping) in &ids {
        for BoundRole {
            binding,
            subject,
            role,
        } in m.bound_roles(id)
        {
            if seen.contains(&(binding, subject, mapping.clone())) {
                continue;
            }
            seen.push((binding, subject, mapping.clone()));
            let b = &m.bindings[binding];
            let s = &b.subjects[subject];
            let how = match s.kind {
                SubjectKind::Group => format!("group {}", s.name),
                _ => "direct".to_string(),
            };
            let via = match mapping {
                Some(mp) => format!("{mp}, {how}"),
                None => how,
            };
            rows.push(LookupRow {
                subject: s.clone(),
                via,
                scope: scope_of(b),
                role: role_ref(&inv, role.map(|r| &m.roles[r]), b),
                binding: binding_ref(&inv, b),
            });
        }
    }
    rows.sort_by(|a, b| {
        (&a.scope != "cluster-wide", &a.scope, &a.role, &a.binding).cmp(&(
            &b.scope != "cluster-wide",
            &b.scope,
            &b.role,
            &b.binding,
        ))
    });
    let ids_out: Vec<IdentityOut> = ids
        .iter()
        .filter(|(id, _)| !id.user.is_empty())
        .map(|(id, mp)| IdentityOut {
            user: id.user.clone(),
            groups: id.groups.clone(),
            mapping: mp.clone(),
        })
        .collect();
    let text = match args.input.format {
        DataFormat::Json => json(&LookupAnswer {
            schema_version: 1,
            query: &args.subject,
            identities: ids_out,
            bindings: rows,
            errors: &inv.errors,
        })?,
        f => {
            let md = f == DataFormat::Markdown;
            let subject = esc(&args.subject, md);
            let mut s = String::new();
            if md {
                s.push_str(&format!("## Roles bound to {subject}\n\n"));
            }
            if args.subject.starts_with("arn:") && args.kind.is_none() {
                if ids_out.is_empty() {
                    s.push_str(&format!(
                        "{subject} is mapped by no aws-auth entry or access entry.\n"
                    ));
                }
                for i in &ids_out {
                    s.push_str(&format!(
                        "{subject} authenticates as user {} in groups {} ({})\n",
                        esc(&i.user, md),
                        esc(&i.groups.join(", "), md),
                        esc(i.mapping.as_deref().unwrap_or("-"), md)
                    ));
                }
                s.push('\n');
            }
            if rows.is_empty() {
                s.push_str(&format!("No role is bound to {subject}.\n"));
            } else {
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.subject.display(),
                            r.via.clone(),
                            r.scope.clone(),
                            r.role.text(),
                            r.binding.text(),
                        ]
                    })
                    .collect();
                s.push_str(&table(
                    &["SUBJECT", "VIA", "SCOPE", "ROLE", "BINDING"],
                    &cells,
                    md,
                ));
            }
            s
        }
    };
    finish(&args.input, &inv, &text)
}

// ---------------------------------------------------------------------------------------
// risks

#[derive(Debug, Serialize)]
struct RiskRow {
    severity: &'static str,
    risk: &'static str,
    title: &'static str,
    /// The request the grant allows.
    request: String,
    #[serde(flatten)]
    grant: GrantRow,
}

#[derive(Serialize)]
struct RisksAnswer<'a> {
    schema_version: u32,
    risks: Vec<RiskRow>,
    errors: &'a [InputError],
}

fn risks(args: RisksArgs) -> anyhow::Result<Outcome> {
    let (inv, m) = load(&args.input)?;
    let probes = probes();
    let mut rows: Vec<RiskRow> = Vec::new();
    for r in m.risks(args.all) {
        let p = &probes[r.probe];
        for grant in grant_rows(&inv, &m, &[r.grant]) {
            rows.push(RiskRow {
                severity: r.severity.as_str(),
                risk: p.power.id,
                title: p.power.title,
                request: r.request.describe(),
                grant,
            });
        }
    }
    let text = match args.input.format {
        DataFormat::Json => json(&RisksAnswer {
            schema_version: 1,
            risks: rows,
            errors: &inv.errors,
        })?,
        f => {
            let md = f == DataFormat::Markdown;
            let mut s = if md {
                "## RBAC risks\n\n".to_string()
            } else {
                String::new()
            };
            if rows.is_empty() {
                s.push_str("No subject holds a dangerous power.\n");
            } else {
                let cells: Vec<Vec<String>> = rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.severity.to_string(),
                            r.risk.to_string(),
                            r.grant.subject.display(),
                            via_text(&r.grant.via),
                            r.grant.scope.clone(),
                            r.grant.binding.text(),
                            r.grant.role.text(),
                            r.grant
                                .rules
                                .iter()
                                .map(RuleRef::text)
                                .collect::<Vec<_>>()
                                .join(", "),
                        ]
                    })
                    .collect();
                s.push_str(&table(
                    &[
                        "SEVERITY", "RISK", "SUBJECT", "VIA", "SCOPE", "BINDING", "ROLE", "RULE",
                    ],
                    &cells,
                    md,
                ));
                s.push_str(&format!("\n{} grants of dangerous powers\n", rows.len()));
            }
            s
        }
    };
    finish(&args.input, &inv, &text)
}
