//! Terraform plans and state as `terraform show -json` prints them: the resources of
//! `planned_values` (a plan) or `values` (state), through every child module, with the
//! values `resource_changes` marks as known only after apply made unknown.

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
        walk(
            m,
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

#[allow(clippy::too_many_arguments)]
fn walk(
    module: &Node,
    path: &Arc<str>,
    format: &str,
    default_ns: &str,
    changes: &std::collections::HashMap<&str, &Node>,
    out: &mut Vec<Object>,
    errors: &mut Vec<InputError>,
    depth: usize,
) {
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
        walk(
            child,
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
