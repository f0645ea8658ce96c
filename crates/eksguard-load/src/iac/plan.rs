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

#[cfg(test)]
mod tests {
    use super::*;
    use eksguard_model::FieldPath;

    fn load_text(text: &str) -> Vec<Object> {
        let mut docs = eksguard_model::yaml::parse_documents(
            text,
            false,
            eksguard_model::yaml::ParseLimits::default(),
        );
        let root = docs.pop().unwrap().unwrap().root;
        assert!(is_plan(&root));
        let (objects, errors) = load(&root, &Arc::from("plan.json"), "default");
        assert!(errors.is_empty(), "{errors:?}");
        objects
    }

    const PLAN: &str = r#"{
  "format_version": "1.2",
  "planned_values": {"root_module": {
    "resources": [
      {"address": "aws_iam_role.node", "mode": "managed", "type": "aws_iam_role", "name": "node",
       "values": {"name": "nodes"}},
      {"address": "aws_eks_node_group.ng", "mode": "managed", "type": "aws_eks_node_group", "name": "ng",
       "values": {"cluster_name": "prod", "node_group_name": "ng", "subnet_ids": ["subnet-1"]}},
      {"address": "aws_eks_cluster.c", "mode": "managed", "type": "aws_eks_cluster", "name": "c",
       "values": {"name": "prod", "vpc_config": [{"endpoint_public_access": true}]}}
    ],
    "child_modules": [{"address": "module.apps", "resources": [
      {"address": "module.apps.aws_iam_role.app[0]", "mode": "managed", "type": "aws_iam_role",
       "name": "app", "index": 0, "values": {"name": "app"}}
    ]}]
  }},
  "resource_changes": [
    {"address": "aws_eks_node_group.ng", "change": {"after_unknown": {"node_role_arn": true}}},
    {"address": "aws_eks_cluster.c", "change": {"after_unknown": {"vpc_config": [{"public_access_cidrs": true}]}}}
  ],
  "configuration": {"root_module": {"resources": [
    {"address": "aws_eks_node_group.ng", "expressions": {
      "node_role_arn": {"references": ["aws_iam_role.node.arn", "aws_iam_role.node"]}}}
  ]}}
}"#;

    #[test]
    fn values_positions_and_child_modules() {
        let objs = load_text(PLAN);
        let role = objs
            .iter()
            .find(|o| &*o.name == "arn:aws:iam::000000000000:role/nodes");
        let role = role.unwrap();
        assert_eq!(role.resource().name, "aws_iam_role.node");
        assert_eq!(role.iac.as_ref().unwrap().format.as_ref(), "terraform-plan");
        // A name the mapper sets sits at the resource; a value at its own line.
        assert_eq!(role.locate(&FieldPath::parse("RoleName")).unwrap().line, 5);
        let ng = objs.iter().find(|o| &*o.kind == "EKSNodegroup").unwrap();
        assert_eq!(ng.locate(&FieldPath::parse("subnets")).unwrap().line, 8);
        let app = objs
            .iter()
            .find(|o| o.resource().name == "module.apps.aws_iam_role.app[0]");
        assert_eq!(&*app.unwrap().name, "arn:aws:iam::000000000000:role/app");
    }

    #[test]
    fn references_known_after_apply_meet_as_in_hcl() {
        let objs = load_text(PLAN);
        let ng = objs.iter().find(|o| &*o.kind == "EKSNodegroup").unwrap();
        // The role's ARN is computed; the configuration names the role it comes from.
        assert_eq!(
            ng.root.get("nodeRole").and_then(Node::as_str),
            Some("arn:aws:iam::000000000000:role/nodes")
        );
    }

    #[test]
    fn values_known_after_apply_are_unknown() {
        let objs = load_text(PLAN);
        let c = objs.iter().find(|o| &*o.kind == "EKSCluster").unwrap();
        assert_eq!(
            c.root
                .at("resourcesVpcConfig.endpointPublicAccess")
                .and_then(Node::as_bool),
            Some(true)
        );
        let iac = c.iac.as_ref().unwrap();
        // The CIDRs are unknown, and the public endpoint decides with them.
        let (_, expr) = iac
            .undecided_by(&FieldPath::parse("resourcesVpcConfig.endpointPublicAccess"))
            .unwrap();
        assert_eq!(expr, "(known after apply)");
    }

    #[test]
    fn state_is_read_as_state() {
        let objs = load_text(
            r#"{"format_version": "1.0", "values": {"root_module": {"resources": [
  {"address": "aws_iam_role.r", "mode": "managed", "type": "aws_iam_role", "name": "r",
   "values": {"name": "r"}},
  {"address": "data.aws_iam_role.d", "mode": "data", "type": "aws_iam_role", "name": "d",
   "values": {"name": "d"}}
]}}}"#,
        );
        assert_eq!(objs.len(), 1);
        assert_eq!(
            objs[0].iac.as_ref().unwrap().format.as_ref(),
            "terraform-state"
        );
    }
}
