//! Terraform plans and state as `terraform show -json` prints them: the resources of
//! `planned_values` (a plan) or `values` (state), through every child module, with the
//! values `resource_changes` marks as known only after apply made unknown.
//!
//! A value known only after apply that the configuration writes as a reference to another
//! resource of the plan (`role_arn = aws_iam_role.node.arn`, recorded under the plan's
//! `configuration` as `references`) gets the stand-in the HCL reader gives the same
//! reference, so a node group and its role's policy attachments meet as they do in HCL.

use std::sync::Arc;

use eksguard_model::{InputError, Node, Object};

use super::{Val, MAX_DEPTH, V};

/// A plan or state: `format_version` and `planned_values` or `values` with a root module.
pub fn is_plan(root: &Node) -> bool {
    root.get("format_version").is_some()
        && ["planned_values", "values"].iter().any(|k| {
            root.at(&format!("{k}.root_module"))
                .is_some_and(Node::is_map)
        })
}

pub fn load(root: &Node, path: &Arc<str>, default_ns: &str) -> (Vec<Object>, Vec<InputError>) {
    let values = root
        .at("planned_values.root_module")
        .or_else(|| root.at("values.root_module"));
    let format = if root.get("planned_values").is_some() {
        "terraform-plan"
    } else {
        "terraform-state"
    };
    let mut changes: std::collections::HashMap<&str, &Node> = Default::default();
    for c in root.get("resource_changes").map(Node::items).unwrap_or(&[]) {
        if let (Some(addr), Some(unknown)) = (
            c.get("address").and_then(Node::as_str),
            c.at("change.after_unknown"),
        ) {
            changes.insert(addr, unknown);
        }
    }
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    if let Some(m) = values {
        let config = root.at("configuration.root_module");
        walk(
            &Module {
                planned: m,
                config,
                prefix: String::new(),
            },
            path,
            format,
            default_ns,
            &changes,
            &mut objects,
            &mut errors,
            0,
        );
    }
    (objects, errors)
}

/// One module of the plan: its planned values, its configuration (absent in state, and
/// for modules the plan does not describe), and its address prefix (`module.eks.`).
struct Module<'a> {
    planned: &'a Node,
    config: Option<&'a Node>,
    prefix: String,
}

#[allow(clippy::too_many_arguments)]
fn walk(
    m: &Module<'_>,
    path: &Arc<str>,
    format: &str,
    default_ns: &str,
    changes: &std::collections::HashMap<&str, &Node>,
    out: &mut Vec<Object>,
    errors: &mut Vec<InputError>,
    depth: usize,
) {
    let module = m.planned;
    if depth > MAX_DEPTH {
        errors.push(InputError::new(
            &**path,
            Some(module.pos.line),
            "child modules nested too deeply; the rest is skipped",
        ));
        return;
    }
    for r in module.get("resources").map(Node::items).unwrap_or(&[]) {
        if r.get("mode").and_then(Node::as_str) == Some("data") {
            continue;
        }
        let (Some(ty), Some(address)) = (
            r.get("type").and_then(Node::as_str),
            r.get("address").and_then(Node::as_str),
        ) else {
            continue;
        };
        let Some(values) = r.get("values").filter(|v| v.is_map()) else {
            continue;
        };
        let mut v = V::from_node(values, 0);
        if let Some(unknown) = changes.get(address) {
            mark_unknown(&mut v, unknown, 0);
            if let Some(exprs) = m
                .config
                .and_then(|c| config_resource(c, address, &m.prefix))
            {
                let scope: &str = path;
                fill_references(&mut v, exprs, &|r| stand_in_for(scope, m, r), 0);
            }
        }
        out.extend(super::terraform::map_resource(
            format,
            path,
            ty,
            address,
            &v,
            r.pos,
            0,
            path,
            &[],
            None,
            default_ns,
        ));
    }
    for child in module.get("child_modules").map(Node::items).unwrap_or(&[]) {
        let addr = child.get("address").and_then(Node::as_str).unwrap_or("");
        // `module.a.module.b["x"]` is the call `b` of the module `a`.
        let call = addr
            .rsplit("module.")
            .next()
            .map(|c| c.split(['[', '.']).next().unwrap_or(c))
            .unwrap_or("");
        let config = m
            .config
            .and_then(|c| c.get("module_calls"))
            .and_then(|calls| calls.get(call))
            .and_then(|call| call.get("module"));
        walk(
            &Module {
                planned: child,
                config,
                prefix: format!("{addr}."),
            },
            path,
            format,
            default_ns,
            changes,
            out,
            errors,
            depth + 1,
        );
    }
}

/// Sets the values `after_unknown` marks `true` to unknown, adding those the plan leaves
/// out of `planned_values`.
fn mark_unknown(v: &mut V, unknown: &Node, depth: usize) {
    if depth > MAX_DEPTH * 4 {
        return;
    }
    match (&mut v.val, &unknown.value) {
        (_, eksguard_model::Value::Bool(true)) => {
            v.val = Val::Unknown("(known after apply)".into());
        }
        (Val::Map(entries), eksguard_model::Value::Map(marks)) => {
            for m in marks {
                match entries.iter_mut().find(|(k, _)| *k == *m.key) {
                    Some((_, child)) => mark_unknown(child, &m.value, depth + 1),
                    None if m.value.as_bool() == Some(true) => entries.push((
                        m.key.to_string(),
                        V::unknown("(known after apply)", m.key_pos, v.file),
                    )),
                    None => {}
                }
            }
        }
        (Val::List(items), eksguard_model::Value::Seq(marks)) => {
            for (item, m) in items.iter_mut().zip(marks) {
                mark_unknown(item, m, depth + 1);
            }
        }
        _ => {}
    }
}

/// The `expressions` of the configuration resource behind `address` (`module.eks.`
/// prefix and instance key left out: the configuration describes each resource once).
fn config_resource<'a>(config: &'a Node, address: &str, prefix: &str) -> Option<&'a Node> {
    let local = address.strip_prefix(prefix).unwrap_or(address);
    let local = match local.find('[') {
        Some(i) => &local[..i],
        None => local,
    };
    config
        .get("resources")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .find(|r| r.get("address").and_then(Node::as_str) == Some(local))
        .and_then(|r| r.get("expressions"))
}

/// Replaces unknown values whose expression references other resources with the
/// stand-ins of those references (one for a value, one per reference for a list).
fn fill_references(
    v: &mut V,
    expr: &Node,
    stand_in: &dyn Fn(&str) -> Option<String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let refs = || -> Vec<String> {
        expr.get("references")
            .map(Node::items)
            .unwrap_or(&[])
            .iter()
            .filter_map(Node::as_str)
            .filter_map(stand_in)
            .collect()
    };
    let (pos, file) = (v.pos, v.file);
    let at = |s: &String| V::new(Val::Str(s.clone()), pos, file);
    match &mut v.val {
        Val::Unknown(_) => match refs().as_slice() {
            [] => {}
            [one] => *v = at(one),
            many => *v = V::new(Val::List(many.iter().map(at).collect()), pos, file),
        },
        Val::Map(entries) => {
            for (k, child) in entries.iter_mut() {
                if let Some(e) = expr.get(k) {
                    fill_references(child, e, stand_in, depth + 1);
                }
            }
        }
        // Nested blocks: one expression object per block.
        Val::List(items) if expr.as_seq().is_some() => {
            for (item, e) in items.iter_mut().zip(expr.items()) {
                fill_references(item, e, stand_in, depth + 1);
            }
        }
        // A list of references with unknown items (`subnet_ids = [aws_subnet.a.id]`).
        Val::List(items) => {
            let refs = refs();
            if refs.len() == items.len() {
                for (item, r) in items.iter_mut().zip(&refs) {
                    if item.is_unknown() {
                        *item = V::new(Val::Str(r.clone()), item.pos, item.file);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The stand-in for a reference `TYPE.NAME[KEY].ATTR` to a resource of the module, as the
/// HCL reader and the mapping of that resource give it; `None` for references it does
/// not follow (variables, locals, module outputs, data sources, bare resources).
fn stand_in_for(scope: &str, m: &Module<'_>, reference: &str) -> Option<String> {
    let (target, attr) = reference.rsplit_once('.')?;
    let ty = target.split('.').next()?;
    if !ty.starts_with("aws_") || target.matches('.').count() != 1 {
        return None;
    }
    let address = format!("{}{target}", m.prefix);
    let resources = m.planned.get("resources").map(Node::items).unwrap_or(&[]);
    let values = resources
        .iter()
        .find(|r| {
            let a = r.get("address").and_then(Node::as_str);
            a == Some(address.as_str()) || a == Some(format!("{address}[0]").as_str())
        })
        .and_then(|r| r.get("values"));
    let full = || super::stand_in(scope, &address);
    let name = || {
        values
            .and_then(|v| v.get("name"))
            .and_then(Node::as_str)
            .map(str::to_string)
    };
    Some(match (ty, attr) {
        ("aws_iam_role", "arn") => super::terraform::role_arn(&name().unwrap_or_else(full)),
        ("aws_iam_role", "name" | "id") => name().unwrap_or_else(full),
        ("aws_iam_policy", "arn") => format!(
            "arn:aws:iam::{}:policy/{}",
            super::terraform::ACCOUNT,
            name().unwrap_or_else(|| address.clone())
        ),
        ("aws_eks_cluster", "name" | "id") => name()?,
        (_, "id") => full(),
        _ => return None,
    })
}
