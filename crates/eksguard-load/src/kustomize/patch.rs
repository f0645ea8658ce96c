//! Strategic-merge and JSON 6902 patches, applied as kustomize applies them.

use super::res::group_of;
use super::tree::{K, KE, KV};

/// API groups whose kinds kustomize knows the schema of: their lists merge by key. The
/// lists of other kinds are replaced whole, as kustomize does without a schema.
fn is_builtin_group(group: &str) -> bool {
    matches!(
        group,
        "" | "apps"
            | "batch"
            | "policy"
            | "autoscaling"
            | "networking.k8s.io"
            | "rbac.authorization.k8s.io"
            | "admissionregistration.k8s.io"
            | "storage.k8s.io"
            | "scheduling.k8s.io"
            | "apiextensions.k8s.io"
            | "apiregistration.k8s.io"
            | "coordination.k8s.io"
            | "discovery.k8s.io"
            | "node.k8s.io"
            | "certificates.k8s.io"
    )
}

/// The merge key of a list field of a built-in kind, by the field's name (and, for
/// `ports`, the items: a container's ports merge by `containerPort`, a Service's by
/// `port`).
fn merge_key(field: &str, items: &[K]) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "webhooks"
        | "resourceClaims"
        | "schedulingGates" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        "readinessGates" => "conditionType",
        "conditions" => "type",
        "ownerReferences" => "uid",
        "ports" => match items.iter().any(|i| i.get("containerPort").is_some()) {
            true => "containerPort",
            false => "port",
        },
        _ => return None,
    })
}

/// Merges the strategic-merge patch `patch` into the object `dst` of API group `group`.
pub(crate) fn strategic_merge(dst: &mut K, patch: &K, group: &str) {
    let mut patch = patch.clone();
    // What names the target is not merged: a patch chosen by a selector may name another.
    patch.remove("apiVersion");
    patch.remove("kind");
    if let Some(meta) = patch.get_mut("metadata") {
        meta.remove("name");
        meta.remove("namespace");
    }
    merge_map(dst, &patch, is_builtin_group(group));
}

fn directive(k: &K) -> Option<&str> {
    k.get("$patch").and_then(K::as_str)
}

/// A patch value without its directives, as it lands in the object.
fn clean(k: &K) -> K {
    let mut k = k.clone();
    strip(&mut k);
    k
}

fn strip(k: &mut K) {
    match &mut k.v {
        KV::Map(entries) => {
            entries.retain(|e| !e.key.starts_with('$'));
            entries.iter_mut().for_each(|e| strip(&mut e.value));
        }
        KV::Seq(items) => {
            items.retain(|i| directive(i) != Some("delete"));
            items.iter_mut().for_each(strip);
        }
        _ => {}
    }
}

fn merge_map(dst: &mut K, patch: &K, builtin: bool) {
    if directive(patch) == Some("replace") || !dst.is_map() {
        *dst = clean(patch);
        return;
    }
    for e in patch.entries() {
        if e.key.starts_with('$') {
            continue;
        }
        if matches!(e.value.v, KV::Null) || directive(&e.value) == Some("delete") {
            dst.remove(&e.key);
            continue;
        }
        let Some(d) = dst.get_mut(&e.key) else {
            dst.set(&e.key, e.key_pos, clean(&e.value));
            continue;
        };
        match (&mut d.v, &e.value.v) {
            (KV::Map(_), KV::Map(_)) => merge_map(d, &e.value, builtin),
            (KV::Seq(_), KV::Seq(_)) if builtin => merge_list(d, &e.value, &e.key),
            _ => dst.set(&e.key, e.key_pos, clean(&e.value)),
        }
    }
}

fn merge_list(dst: &mut K, patch: &K, field: &str) {
    let items = patch.items();
    if items.iter().any(|i| directive(i) == Some("replace")) {
        let kept: Vec<K> = items
            .iter()
            .filter(|i| directive(i) != Some("replace"))
            .map(clean)
            .collect();
        *dst = K::new(KV::Seq(kept), patch.pos, patch.file);
        return;
    }
    if field == "finalizers" {
        // A set of strings: the union, in order.
        let KV::Seq(have) = &mut dst.v else { return };
        for i in items {
            if !have.iter().any(|h| h.to_json() == i.to_json()) {
                have.push(i.clone());
            }
        }
        return;
    }
    let Some(key) = merge_key(field, items) else {
        *dst = clean(patch);
        return;
    };
    let KV::Seq(have) = &mut dst.v else { return };
    let key_of = |k: &K| k.get(key).map(K::to_json);
    // The patch's items come first, in its order (merged into the object's where the key
    // matches), then the object's others: the order kustomize gives.
    let mut rest: Vec<Option<K>> = std::mem::take(have).into_iter().map(Some).collect();
    let mut out = Vec::new();
    for item in items {
        let Some(want) = key_of(item) else {
            out.push(clean(item));
            continue;
        };
        let at = rest.iter().position(|h| {
            h.as_ref()
                .is_some_and(|h| key_of(h).as_ref() == Some(&want))
        });
        let existing = at.and_then(|i| rest[i].take());
        match (existing, directive(item)) {
            (_, Some("delete")) => {}
            (Some(mut e), _) => {
                merge_map(&mut e, item, true);
                out.push(e);
            }
            (None, _) => out.push(clean(item)),
        }
    }
    out.extend(rest.into_iter().flatten());
    *have = out;
}

/// Applies JSON 6902 operations; the error names the operation (1-based) that failed.
pub(crate) fn json6902(dst: &mut K, ops: &K) -> Result<(), String> {
    for (n, op) in ops.items().iter().enumerate() {
        apply_op(dst, op).map_err(|e| format!("operation {}: {e}", n + 1))?;
    }
    Ok(())
}

fn pointer(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(format!("path `{text}` does not start with `/`"));
    };
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn child_mut<'a>(k: &'a mut K, token: &str) -> Option<&'a mut K> {
    match &mut k.v {
        KV::Map(entries) => entries
            .iter_mut()
            .find(|e| e.key == token)
            .map(|e| &mut e.value),
        KV::Seq(items) => items.get_mut(token.parse::<usize>().ok()?),
        _ => None,
    }
}

fn walk<'a>(k: &'a mut K, tokens: &[String]) -> Result<&'a mut K, String> {
    let mut node = k;
    for t in tokens {
        node = child_mut(node, t).ok_or_else(|| format!("no field `{t}`"))?;
    }
    Ok(node)
}

fn get(k: &mut K, tokens: &[String]) -> Result<K, String> {
    walk(k, tokens).map(|n| n.clone())
}

fn remove(k: &mut K, tokens: &[String]) -> Result<K, String> {
    let (last, parent) = tokens
        .split_last()
        .ok_or("cannot remove the whole object")?;
    let parent = walk(k, parent)?;
    match &mut parent.v {
        KV::Map(_) => parent
            .remove(last)
            .ok_or_else(|| format!("no field `{last}`")),
        KV::Seq(items) => {
            let i: usize = last.parse().map_err(|_| format!("bad index `{last}`"))?;
            (i < items.len())
                .then(|| items.remove(i))
                .ok_or_else(|| format!("index {i} out of range"))
        }
        _ => Err(format!("`{last}` is not in a mapping or list")),
    }
}

fn add(k: &mut K, tokens: &[String], value: K, replace: bool) -> Result<(), String> {
    let Some((last, parent)) = tokens.split_last() else {
        *k = value;
        return Ok(());
    };
    let parent = walk(k, parent)?;
    match &mut parent.v {
        KV::Map(entries) => {
            if replace && !entries.iter().any(|e| &e.key == last) {
                return Err(format!("no field `{last}` to replace"));
            }
            let pos = value.pos;
            match entries.iter_mut().find(|e| &e.key == last) {
                Some(e) => {
                    e.key_pos = pos;
                    e.value = value;
                }
                None => entries.push(KE {
                    key: last.clone(),
                    key_pos: pos,
                    value,
                }),
            }
            Ok(())
        }
        KV::Seq(items) => {
            let i = match last.as_str() {
                "-" if !replace => items.len(),
                t => t.parse().map_err(|_| format!("bad index `{t}`"))?,
            };
            if replace {
                let slot = items.get_mut(i).ok_or(format!("index {i} out of range"))?;
                *slot = value;
            } else if i <= items.len() {
                items.insert(i, value);
            } else {
                return Err(format!("index {i} out of range"));
            }
            Ok(())
        }
        _ => Err(format!("`{last}` is not in a mapping or list")),
    }
}

fn apply_op(dst: &mut K, op: &K) -> Result<(), String> {
    let name = op.get("op").and_then(K::as_str).ok_or("no `op`")?;
    let path = pointer(op.get("path").and_then(K::as_str).ok_or("no `path`")?)?;
    let value = || op.get("value").cloned().ok_or("no `value`");
    let from = || pointer(op.get("from").and_then(K::as_str).unwrap_or_default());
    match name {
        "add" => add(dst, &path, value()?, false),
        "replace" => add(dst, &path, value()?, true),
        "remove" => remove(dst, &path).map(drop),
        "move" => {
            let v = remove(dst, &from()?)?;
            add(dst, &path, v, false)
        }
        "copy" => {
            let v = get(dst, &from()?)?;
            add(dst, &path, v, false)
        }
        "test" => {
            let have = get(dst, &path)?;
            match have.to_json() == value()?.to_json() {
                true => Ok(()),
                false => Err("test failed".into()),
            }
        }
        other => Err(format!("unknown op `{other}`")),
    }
}

/// Whether a patch text is a JSON 6902 operation list rather than a strategic merge.
pub(crate) fn is_json6902(k: &K) -> bool {
    matches!(k.v, KV::Seq(_))
}

/// The group of a patch's `apiVersion`.
pub(crate) fn patch_group(k: &K) -> &str {
    group_of(k.get("apiVersion").and_then(K::as_str).unwrap_or(""))
}
