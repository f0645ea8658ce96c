//! `eksguard rbac`: who-can, lookup and risks over the RBAC model of the inputs.

use std::io::Write;

use anyhow::bail;
use eksguard_load::LoadOptions;
use eksguard_model::rbac::query::{self, LookupKind, ServedResource};
use eksguard_model::rbac::RbacModel;
use eksguard_model::Inventory;
use eksguard_report::escape;
use eksguard_report::rbac::{self as answer, AnswerFormat};

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
    match crate::live::read_live(&kube, Some(&input.aws))? {
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

fn format(f: DataFormat) -> AnswerFormat {
    match f {
        DataFormat::Text => AnswerFormat::Text,
        DataFormat::Json => AnswerFormat::Json,
        DataFormat::Markdown => AnswerFormat::Markdown,
    }
}

/// With `--live`, the resource types the cluster's discovery lists, so that custom
/// resources and aggregated APIs are known by every name; `None` offline, or when
/// discovery cannot be read (a note says so, and the built-in names are used).
fn served_resources(input: &RbacInput) -> Option<Vec<ServedResource>> {
    if !input.live || input.aws.aws_only {
        return None;
    }
    if input.aws.cluster_name.is_some() && input.context.is_none() && input.kubeconfig.is_none() {
        eprintln!(
            "note: resource names are resolved from the built-in table: the cluster's API \
             discovery is read through a kubeconfig (--context or --kubeconfig)"
        );
        return None;
    }
    match crate::live::discover_api(&KubeArgs::connect(
        input.context.clone(),
        input.kubeconfig.clone(),
    )) {
        Ok((served, errors)) => {
            for e in errors {
                eprintln!(
                    "note: API discovery: {}; its resources are not known by name",
                    escape::terminal(&e)
                );
            }
            Some(served)
        }
        Err(e) => {
            eprintln!(
                "note: API discovery failed ({}); resource names are resolved from the \
                 built-in table",
                escape::terminal(&format!("{e:#}"))
            );
            None
        }
    }
}

fn who_can(args: WhoCanArgs) -> anyhow::Result<Outcome> {
    let (inv, m) = load(&args.input)?;
    let mut names = query::ResourceNames::new(&m, &inv);
    if let Some(served) = served_resources(&args.input) {
        names = names.with_served(&served);
    }
    let q = query::parse_request(
        &m,
        &names,
        &args.verb,
        &args.resource,
        args.namespace.as_deref(),
        args.name.as_deref(),
    )?;
    for note in &q.notes {
        eprintln!("note: {}", escape::terminal(note));
    }
    if let Some(res) = &q.namespace_ignored_for {
        eprintln!(
            "note: {} are cluster-scoped; --namespace is ignored",
            escape::terminal(res)
        );
    }
    let rows = query::grant_rows(&inv, &m, &m.who_can(&q.request));
    let what = query::describe_query(&q.request, &m);
    let text = answer::who_can(
        format(args.input.format),
        &q.request,
        &what,
        &rows,
        &inv.errors,
    )?;
    finish(&args.input, &inv, &text)
}

fn lookup(args: LookupArgs) -> anyhow::Result<Outcome> {
    let (inv, m) = load(&args.input)?;
    let kind = args.kind.map(|k| match k {
        SubjectKindArg::User => LookupKind::User,
        SubjectKindArg::Group => LookupKind::Group,
        SubjectKindArg::Serviceaccount => LookupKind::ServiceAccount,
    });
    let ids = query::identities(&m, &args.subject, kind);
    let rows = query::lookup_rows(&inv, &m, &ids);
    let text = answer::lookup(
        format(args.input.format),
        &args.subject,
        args.subject.starts_with("arn:") && kind.is_none(),
        &query::identities_out(&ids),
        &rows,
        &inv.errors,
    )?;
    finish(&args.input, &inv, &text)
}

fn risks(args: RisksArgs) -> anyhow::Result<Outcome> {
    let (inv, m) = load(&args.input)?;
    let rows = query::risk_rows(&inv, &m, args.all);
    let text = answer::risks(format(args.input.format), &rows, &inv.errors)?;
    finish(&args.input, &inv, &text)
}
