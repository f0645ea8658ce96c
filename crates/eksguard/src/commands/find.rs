//! `eksguard find`: the workloads and pods that run an image, as a service account, or
//! for a workload, with the nodes they are on: the first question of incident response.

use eksguard_model::wildcard::star_match;
use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use eksguard_load::LoadOptions;
use eksguard_model::{Inventory, Node, Object};

use crate::cli::FindArgs;
use crate::Outcome;

/// Owner hops followed from a pod (pod, ReplicaSet, Deployment is two; a Job of a
/// CronJob two; more only in a cycle or a hand-made chain).
const MAX_OWNERS: usize = 4;

/// One object that runs pods and matched every filter.
#[derive(Debug, serde::Serialize)]
struct Match {
    kind: String,
    namespace: String,
    name: String,
    service_account: String,
    /// The node a Pod is bound to (live or snapshot data); none for controllers.
    node: Option<String>,
    images: Vec<String>,
    /// Controllers, nearest first, as `Kind/name`.
    owners: Vec<String>,
    /// Where the object was read: `file:line`, when from a file.
    source: Option<String>,
}

/// The filters, as given.
struct Filters {
    image: Option<String>,
    service_account: Option<(Option<String>, String)>,
    workload: Option<(Option<String>, String)>,
}

/// An image reference without the registry host and Docker Hub's `library/`.
fn without_registry(image: &str) -> &str {
    let short = match image.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            rest
        }
        _ => image,
    };
    short.strip_prefix("library/").unwrap_or(short)
}

/// An image reference without tag or digest.
fn repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

/// Whether an image matches a pattern: the whole reference or its repository, with or
/// without the registry (`nginx` and `nginx:1.*` match `docker.io/library/nginx:1.27`).
fn image_matches(pattern: &str, image: &str) -> bool {
    let image = image.trim();
    let short = without_registry(image);
    [image, repository(image), short, repository(short)]
        .iter()
        .any(|form| star_match(pattern, form))
}

/// `NAME` or `PREFIX/NAME`.
fn split_prefixed(s: &str) -> (Option<String>, String) {
    match s.split_once('/') {
        Some((a, b)) => (Some(a.to_string()), b.to_string()),
        None => (None, s.to_string()),
    }
}

/// The controllers of an object, nearest first, followed through the objects read and,
/// past them, as far as the last `ownerReferences` names.
fn owners(obj: &Object, by_name: &HashMap<(&str, Option<&str>, &str), &Object>) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = Some(obj);
    while let Some(o) = current.take() {
        if out.len() >= MAX_OWNERS {
            break;
        }
        let Some(r) = o
            .metadata()
            .get("ownerReferences")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .find(|r| r.get("controller").and_then(Node::as_bool) == Some(true))
        else {
            break;
        };
        let kind = r.get("kind").and_then(Node::as_str).unwrap_or("");
        let name = r.get("name").and_then(Node::as_str).unwrap_or("");
        if kind.is_empty() || name.is_empty() {
            break;
        }
        out.push(format!("{kind}/{name}"));
        current = by_name.get(&(kind, o.ns(), name)).copied();
    }
    out
}

fn matches(f: &Filters, m: &Match) -> bool {
    if let Some(p) = &f.image {
        if !m.images.iter().any(|i| image_matches(p, i)) {
            return false;
        }
    }
    if let Some((ns, name)) = &f.service_account {
        if ns.as_ref().is_some_and(|ns| *ns != m.namespace) || *name != m.service_account {
            return false;
        }
    }
    if let Some((kind, name)) = &f.workload {
        let own = format!("{}/{}", m.kind, m.name);
        let hit = std::iter::once(&own).chain(m.owners.iter()).any(|o| {
            let (k, n) = o.split_once('/').unwrap_or(("", o));
            n == name
                && kind
                    .as_ref()
                    .is_none_or(|kind| kind.eq_ignore_ascii_case(k))
        });
        if !hit {
            return false;
        }
    }
    true
}

fn find(inv: &Inventory, f: &Filters) -> Vec<Match> {
    let by_name: HashMap<(&str, Option<&str>, &str), &Object> = inv
        .objects
        .iter()
        .map(|o| ((&*o.kind, o.ns(), &*o.name), &**o))
        .collect();
    let mut out: Vec<Match> = inv
        .objects
        .iter()
        .filter_map(|o| {
            let pod = o.pod_spec()?;
            let m = Match {
                kind: o.kind.to_string(),
                namespace: o.ns().unwrap_or("default").to_string(),
                name: o.name.to_string(),
                service_account: pod.service_account().to_string(),
                node: (&*o.kind == "Pod")
                    .then(|| pod.field("nodeName").and_then(Node::as_str))
                    .flatten()
                    .map(str::to_string),
                images: pod
                    .containers()
                    .filter_map(|c| c.image().map(str::to_string))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                owners: owners(o, &by_name),
                source: o.file().map(|file| {
                    match o.locate(&eksguard_model::FieldPath::parse("metadata.name")) {
                        Some(pos) => format!("{file}:{}", pos.line),
                        None => file.to_string(),
                    }
                }),
            };
            matches(f, &m).then_some(m)
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.namespace, a.kind == "Pod", &a.kind, &a.name).cmp(&(
            &b.namespace,
            b.kind == "Pod",
            &b.kind,
            &b.name,
        ))
    });
    out
}

/// The matches as aligned columns, then the nodes they run on.
fn render_text(matches: &[Match]) -> String {
    let dash = || "-".to_string();
    let rows: Vec<[String; 8]> = matches
        .iter()
        .map(|m| {
            [
                m.kind.clone(),
                m.namespace.clone(),
                m.name.clone(),
                m.service_account.clone(),
                m.node.clone().unwrap_or_else(dash),
                m.images.join(","),
                if m.owners.is_empty() {
                    dash()
                } else {
                    m.owners.join(" < ")
                },
                m.source.clone().unwrap_or_else(dash),
            ]
            .map(super::shown)
        })
        .collect();
    let header = [
        "KIND",
        "NAMESPACE",
        "NAME",
        "SERVICE ACCOUNT",
        "NODE",
        "IMAGES",
        "OWNERS",
        "SOURCE",
    ];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut s = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(c);
                l.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        s.push_str(l.trim_end());
        s.push('\n');
    };
    line(&header);
    for r in &rows {
        let cells: Vec<&str> = r.iter().map(String::as_str).collect();
        line(&cells);
    }
    let nodes: BTreeSet<&str> = matches.iter().filter_map(|m| m.node.as_deref()).collect();
    let pods = matches.iter().filter(|m| m.kind == "Pod").count();
    s.push_str(&format!(
        "\n{} matching: {pods} pods on {} nodes{}\n",
        matches.len(),
        nodes.len(),
        if nodes.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = nodes.iter().map(super::shown).collect();
            format!(" ({})", names.join(", "))
        }
    ));
    s
}

pub fn run(args: FindArgs) -> anyhow::Result<Outcome> {
    if args.image.is_none() && args.service_account.is_none() && args.workload.is_none() {
        anyhow::bail!("say what to find: --image, --service-account or --workload");
    }
    let filters = Filters {
        image: args.image.clone(),
        service_account: args.service_account.as_deref().map(split_prefixed),
        workload: args.workload.as_deref().map(split_prefixed),
    };
    let input = &args.input;
    let inv = if input.live {
        crate::live::read_kube(&input.kube)?
    } else {
        let mut opts = LoadOptions::default();
        if let Some(ns) = &input.kube.namespace {
            opts.default_namespace = ns.clone();
        }
        super::load_paths(&input.paths, &opts, None)?
    };
    for e in &inv.errors {
        eprintln!("eksguard: {}", super::shown(e));
    }
    let found = find(&inv, &filters);
    let text = if args.json {
        let errors: Vec<String> = inv.errors.iter().map(ToString::to_string).collect();
        let mut t = serde_json::to_string_pretty(&serde_json::json!({
            "matches": found,
            "errors": errors,
        }))?;
        t.push('\n');
        t
    } else {
        render_text(&found)
    };
    let mut out = super::open_output(input.output.as_deref())?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if !inv.errors.is_empty() {
        Outcome::Error
    } else if found.is_empty() {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_image_references() {
        assert!(image_matches("nginx", "docker.io/library/nginx:1.27"));
        assert!(image_matches("nginx", "nginx@sha256:abcd"));
        assert!(image_matches(
            "*.dkr.ecr.*.amazonaws.com/shop/*",
            "111122223333.dkr.ecr.eu-west-1.amazonaws.com/shop/web:1.4"
        ));
        assert!(image_matches(
            "registry:5000/team/app",
            "registry:5000/team/app:2"
        ));
        assert!(!image_matches(
            "nginx",
            "docker.io/library/nginx-exporter:1"
        ));
        assert!(!image_matches("web", "shop/web:1"));
        assert!(image_matches("*/web", "shop/web:1"));
        assert!(image_matches("nginx:1.*", "docker.io/library/nginx:1.27"));
        assert!(!image_matches("nginx:2.*", "docker.io/library/nginx:1.27"));
    }
}
