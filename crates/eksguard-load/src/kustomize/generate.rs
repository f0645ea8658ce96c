//! `configMapGenerator` and `secretGenerator`, and the content hash kustomize appends to
//! generated names.

use base64::Engine as _;
use eksguard_model::Pos;
use sha2::{Digest, Sha256};

use super::build::{normalize, Builder, Kust, R};
use super::res::Res;
use super::tree::{FileId, K, KV};

/// Generator settings: the kustomization's `generatorOptions` under an entry's `options`.
#[derive(Default, Clone)]
struct Options {
    labels: Vec<(String, K, Pos)>,
    annotations: Vec<(String, K, Pos)>,
    no_hash: bool,
    immutable: bool,
}

impl Options {
    fn read(o: Option<&K>, base: &Options) -> Options {
        let mut out = base.clone();
        let Some(o) = o else { return out };
        let pairs = |m: Option<&K>| -> Vec<(String, K, Pos)> {
            m.map(|m| {
                m.entries()
                    .iter()
                    .map(|e| {
                        let text = e.value.text().unwrap_or_default();
                        (
                            e.key.clone(),
                            K::str(&text, e.value.pos, e.value.file),
                            e.key_pos,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        out.labels.extend(pairs(o.get("labels")));
        out.annotations.extend(pairs(o.get("annotations")));
        let flag = |f: &str| o.get(f).map(|v| matches!(v.v, KV::Bool(true)));
        if let Some(b) = flag("disableNameSuffixHash") {
            out.no_hash = b;
        }
        if let Some(b) = flag("immutable") {
            out.immutable = b;
        }
        out
    }
}

pub(crate) fn run(b: &mut Builder<'_>, k: &Kust, ra: &mut Vec<Res>) -> R<()> {
    let base = Options::read(k.root.get("generatorOptions"), &Options::default());
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        let Some(list) = k.root.get(field) else {
            continue;
        };
        for item in list.items() {
            generate(b, k, ra, item, kind, &base)?;
        }
    }
    Ok(())
}

/// One `key → value` of generated data, with where it was written.
struct Datum {
    key: String,
    value: String,
    pos: Pos,
    file: FileId,
}

fn strip_quotes(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn data(b: &mut Builder<'_>, k: &Kust, item: &K) -> R<Vec<Datum>> {
    let mut out = Vec::new();
    let list = |f: &str| item.get(f).map(|l| l.items().to_vec()).unwrap_or_default();
    let mut env_files = list("envs");
    if let Some(env) = item.get("env").filter(|e| e.as_str().is_some()) {
        env_files.push(env.clone());
    }
    for e in env_files {
        let path = normalize(&k.dir.join(e.text().unwrap_or_default()));
        let text = b.read_text(&path, Some((k, e.pos)))?;
        let file = b.files.add(&crate::read::display(&path));
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                // A bare name takes its value from the environment, which a scan does
                // not read: left out, as with an unset variable.
                continue;
            };
            out.push(Datum {
                key: key.trim_end().to_string(),
                value: value.to_string(),
                pos: Pos::new(n as u32 + 1, 1),
                file,
            });
        }
    }
    for l in list("literals") {
        let text = l.text().unwrap_or_default();
        let Some((key, value)) = text.split_once('=') else {
            return Err(k.err(l.pos, format!("literal `{text}` is not KEY=VALUE")));
        };
        out.push(Datum {
            key: key.to_string(),
            value: strip_quotes(value).to_string(),
            pos: l.pos,
            file: l.file,
        });
    }
    for f in list("files") {
        let text = f.text().unwrap_or_default();
        let (key, path) = match text.split_once('=') {
            Some((key, path)) => (key.to_string(), path.to_string()),
            None => {
                let key = std::path::Path::new(&text)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (key, text.clone())
            }
        };
        let full = normalize(&k.dir.join(&path));
        if full.is_dir() {
            return Err(k.err(f.pos, format!("`{path}` is a directory; name files")));
        }
        let value = b.read_text(&full, Some((k, f.pos)))?;
        out.push(Datum {
            key,
            value,
            pos: f.pos,
            file: f.file,
        });
    }
    Ok(out)
}

fn generate(
    b: &mut Builder<'_>,
    k: &Kust,
    ra: &mut Vec<Res>,
    item: &K,
    kind: &str,
    base: &Options,
) -> R<()> {
    let Some(name) = item.get("name").and_then(K::text) else {
        return Err(k.err(item.pos, "a generator needs `name`"));
    };
    let opts = Options::read(item.get("options"), base);
    let behavior = item
        .get("behavior")
        .and_then(K::text)
        .unwrap_or_else(|| "create".into());
    let ns = item.get("namespace").and_then(K::text);
    let data = data(b, k, item)?;
    let (pos, file) = (item.pos, item.file);
    let secret = kind == "Secret";
    let data_key = "data";
    let mut data_map = K::map(pos, file);
    for d in &data {
        // A Secret's values point at the generator entry, not at the line holding the
        // value: a code frame never shows a secret.
        let (value, at, in_file) = match secret {
            true => (
                base64::engine::general_purpose::STANDARD.encode(d.value.as_bytes()),
                pos,
                file,
            ),
            false => (d.value.clone(), d.pos, d.file),
        };
        data_map.set(&d.key, at, K::str(&value, at, in_file));
    }
    let existing = ra.iter().position(|r| {
        r.kind() == kind && r.was_named(&name) && ns.as_deref().is_none_or(|ns| r.was_in(ns))
    });
    match (behavior.as_str(), existing) {
        ("create", Some(_)) => {
            return Err(k.err(
                pos,
                format!("{kind} `{name}` already exists; use `behavior: merge` or `replace`"),
            ))
        }
        ("merge" | "replace", None) => {
            return Err(k.err(pos, format!("no {kind} `{name}` to {behavior}")))
        }
        ("merge", Some(i)) => {
            let r = &mut ra[i];
            let target = r.root.map_at(data_key, pos, file);
            for e in data_map.entries() {
                target.set(&e.key, e.key_pos, e.value.clone());
            }
            put(&mut r.root, "labels", &opts.labels, pos, file);
            put(&mut r.root, "annotations", &opts.annotations, pos, file);
            r.hashed = r.hashed && !opts.no_hash;
            return Ok(());
        }
        ("replace", Some(i)) => {
            let r = &mut ra[i];
            r.root.set(data_key, pos, data_map);
            put(&mut r.root, "labels", &opts.labels, pos, file);
            put(&mut r.root, "annotations", &opts.annotations, pos, file);
            r.hashed = !opts.no_hash;
            return Ok(());
        }
        ("create", None) => {}
        (other, _) => return Err(k.err(pos, format!("unknown behavior `{other}`"))),
    }
    let mut root = K::map(pos, file);
    root.set("apiVersion", pos, K::str("v1", pos, file));
    root.set("kind", pos, K::str(kind, pos, file));
    let mut meta = K::map(pos, file);
    meta.set("name", pos, K::str(&name, pos, file));
    if let Some(ns) = &ns {
        meta.set("namespace", pos, K::str(ns, pos, file));
    }
    root.set("metadata", pos, meta);
    put(&mut root, "labels", &opts.labels, pos, file);
    put(&mut root, "annotations", &opts.annotations, pos, file);
    if secret {
        let ty = item
            .get("type")
            .and_then(K::text)
            .unwrap_or_else(|| "Opaque".into());
        root.set("type", pos, K::str(&ty, pos, file));
    }
    if !data.is_empty() {
        root.set(data_key, pos, data_map);
    }
    if opts.immutable {
        root.set("immutable", pos, K::new(KV::Bool(true), pos, file));
    }
    let mut r = Res::new(root, 0, None);
    r.hashed = !opts.no_hash;
    r.generated = true;
    ra.push(r);
    Ok(())
}

fn put(root: &mut K, field: &str, pairs: &[(String, K, Pos)], pos: Pos, file: FileId) {
    if pairs.is_empty() {
        return;
    }
    let m = root.map_at("metadata", pos, file).map_at(field, pos, file);
    for (key, value, key_pos) in pairs {
        m.set(key, *key_pos, value.clone());
    }
}

/// Kustomize's name suffix for a generated object: the first ten hex digits of the
/// SHA-256 of the JSON of its kind, data (and type for a Secret), with some digits
/// swapped for letters.
pub(crate) fn hash(r: &Res) -> String {
    let get = |p: &str| r.root.at(p).map(K::to_json);
    let or_empty = |v: Option<serde_json::Value>| {
        v.unwrap_or_else(|| serde_json::Value::String(String::new()))
    };
    let mut m = serde_json::Map::new();
    m.insert("kind".into(), r.kind().into());
    // Kustomize looks the name up as one field called `metadata/name`, finds none, and
    // hashes an empty name: the suffix depends on the content alone.
    m.insert("name".into(), "".into());
    m.insert("data".into(), or_empty(get("data")));
    if r.kind() == "Secret" {
        m.insert("type".into(), or_empty(get("type")));
        if let Some(v @ serde_json::Value::Object(_)) = get("stringData") {
            m.insert("stringData".into(), v);
        }
    } else if let Some(v @ serde_json::Value::Object(_)) = get("binaryData") {
        m.insert("binaryData".into(), v);
    }
    let text = go_json(&serde_json::Value::Object(m));
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// JSON as Go's `encoding/json` writes it: keys sorted, `<`, `>`, `&` and the line and
/// paragraph separators escaped.
fn go_json(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", go_string(k), go_json(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        J::Array(a) => format!("[{}]", a.iter().map(go_json).collect::<Vec<_>>().join(",")),
        J::String(s) => go_string(s),
        other => other.to_string(),
    }
}

fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_escapes_as_go_does() {
        let v = serde_json::json!({"b": "<x&y>", "a": ["\n", 1]});
        assert_eq!(go_json(&v), r#"{"a":["\n",1],"b":"\u003cx\u0026y\u003e"}"#);
    }

    #[test]
    fn hash_matches_kustomize() {
        // `kubectl kustomize` names this ConfigMap (literal a=b) cfg-4h2mbtbbt6, and
        // p-cfg-4h2mbtbbt6 under `namePrefix: p-`.
        let mut root = K::map(Pos::NONE, 0);
        root.set("kind", Pos::NONE, K::str("ConfigMap", Pos::NONE, 0));
        let mut meta = K::map(Pos::NONE, 0);
        meta.set("name", Pos::NONE, K::str("p-cfg", Pos::NONE, 0));
        root.set("metadata", Pos::NONE, meta);
        let mut data = K::map(Pos::NONE, 0);
        data.set("a", Pos::NONE, K::str("b", Pos::NONE, 0));
        root.set("data", Pos::NONE, data);
        assert_eq!(hash(&Res::new(root, 0, None)), "4h2mbtbbt6");
    }
}
