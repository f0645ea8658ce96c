//! Which reader takes an input: one table, [`FORMATS`], from a file name or a parsed
//! document to its reader. Walking a directory keeps the files a row names; loading a
//! file picks its reader from the row of its name (a file named by the user is read
//! whatever its name, as YAML documents); each document of a YAML or JSON file is then
//! offered to the content rows in table order until one takes it.
//!
//! A new input format is one reader (a module of this crate) and one line here.

use std::path::Path;
use std::sync::Arc;

use eksguard_model::{InputError, Node, Object, Source, Value};

use crate::aws_json::{classify, Classified};
use crate::iac::{cloudformation, plan};
use crate::snapshot;

/// One kind of input, how it is recognised and what reads it.
pub struct Format {
    /// What the input is, for readers of the table.
    pub name: &'static str,
    pub by: By,
    pub reader: Reader,
}

/// How a row recognises its input.
#[derive(Debug, Clone, Copy)]
pub enum By {
    /// A file name ending in one of these suffixes (ASCII case ignored) after a stem, as
    /// an extension is.
    Name(&'static [&'static str]),
    /// A parsed document's content.
    Content,
}

/// A document reader: takes the document (its objects, errors and warnings go to
/// `found`) and returns `None`, or hands it back untouched when it is not its format.
pub type DocumentReader = fn(Node, &At, &mut Found) -> Option<Node>;

/// What reads an input.
#[derive(Clone, Copy)]
pub enum Reader {
    /// Parsed as YAML (`json`: as JSON, a subset), each document then offered to the
    /// content rows.
    Documents { json: bool },
    /// Read with the other Terraform files of its directory as one module
    /// ([`crate::iac::load_terraform`]); `vars`: variable values, not configuration.
    Terraform { vars: bool },
    /// Recognised and skipped, with this note.
    Skipped(&'static str),
    /// One parsed document.
    Document(DocumentReader),
}

/// Every input eksguard reads offline, name rows first, then content rows in the order
/// a document is offered to them. (Kustomizations and Helm charts are recognised by
/// their directories in [`crate::kustomize`]; kubelet drop-ins are merged into their
/// base by [`crate::kubelet`] once loaded.)
pub const FORMATS: &[Format] = &[
    Format {
        name: "Terraform configuration",
        by: By::Name(&[".tf", ".tf.json"]),
        reader: Reader::Terraform { vars: false },
    },
    Format {
        name: "Terraform variable values",
        by: By::Name(&[".tfvars", ".tfvars.json"]),
        reader: Reader::Terraform { vars: true },
    },
    Format {
        name: "JSON documents",
        by: By::Name(&[".json"]),
        reader: Reader::Documents { json: true },
    },
    Format {
        name: "YAML documents",
        by: By::Name(&[".yaml", ".yml"]),
        reader: Reader::Documents { json: false },
    },
    Format {
        name: "eksguard cluster snapshot",
        by: By::Content,
        reader: Reader::Document(read_snapshot),
    },
    Format {
        name: "CDK output other than templates",
        by: By::Content,
        reader: Reader::Document(read_cdk_other),
    },
    Format {
        name: "Terraform plan or state (`terraform show -json`)",
        by: By::Content,
        reader: Reader::Document(read_plan),
    },
    Format {
        name: "CloudFormation template",
        by: By::Content,
        reader: Reader::Document(read_cloudformation),
    },
    Format {
        name: "Kubernetes list",
        by: By::Content,
        reader: Reader::Document(read_list),
    },
    Format {
        name: "Kubernetes object",
        by: By::Content,
        reader: Reader::Document(read_object),
    },
    Format {
        name: "AWS CLI output",
        by: By::Content,
        reader: Reader::Document(read_aws_cli),
    },
];

/// The row of a file name (its last component), if a row names it.
pub fn of_name(name: &str) -> Option<&'static Format> {
    let file = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    // As for an extension: a name that is only a suffix (`.yaml`) is no match.
    if file.rfind('.').is_none_or(|i| i == 0) {
        return None;
    }
    FORMATS.iter().find(|f| match f.by {
        By::Name(suffixes) => suffixes.iter().any(|s| file.ends_with(s)),
        By::Content => false,
    })
}

/// The row of a path's file name.
pub fn of_path(path: &Path) -> Option<&'static Format> {
    of_name(&path.file_name()?.to_string_lossy())
}

/// Where a document comes from.
pub struct At<'a> {
    pub path: &'a Arc<str>,
    /// Index of the document in its file.
    pub doc: u32,
    /// Namespace given to namespaced objects that name none.
    pub default_ns: &'a str,
}

/// What readers found in one document.
pub struct Found<'a> {
    pub objects: &'a mut Vec<Object>,
    pub errors: &'a mut Vec<InputError>,
    pub warnings: &'a mut Vec<InputError>,
    /// Items of a list that are no object of a known shape.
    pub(crate) unknown: &'a mut Vec<Unknown>,
}

/// Offers a document to the content rows in order; `Some` when none takes it.
pub(crate) fn read_document(root: Node, at: &At, found: &mut Found) -> Option<Node> {
    let mut root = root;
    for f in FORMATS {
        if let Reader::Document(read) = f.reader {
            root = read(root, at, found)?;
        }
    }
    Some(root)
}

fn read_snapshot(root: Node, at: &At, found: &mut Found) -> Option<Node> {
    if !snapshot::is_snapshot(&root) {
        return Some(root);
    }
    snapshot::load(
        &root,
        at.path,
        at.doc,
        at.default_ns,
        found.objects,
        found.errors,
    );
    None
}

/// CDK's other outputs (assets, manifest, tree) describe the build, not resources.
fn read_cdk_other(root: Node, at: &At, _: &mut Found) -> Option<Node> {
    let path = at.path;
    if path.contains("cdk.out/") && !path.ends_with(".template.json") && root.get("kind").is_none()
    {
        return None;
    }
    Some(root)
}

fn read_plan(root: Node, at: &At, found: &mut Found) -> Option<Node> {
    if !plan::is_plan(&root) {
        return Some(root);
    }
    let (objects, errors) = plan::load(&root, at.path, at.default_ns);
    found.objects.extend(objects);
    found.errors.extend(errors);
    None
}

fn read_cloudformation(root: Node, at: &At, found: &mut Found) -> Option<Node> {
    if !cloudformation::is_template(&root) {
        return Some(root);
    }
    let r = cloudformation::load(&root, at.path);
    found.objects.extend(r.objects);
    found.errors.extend(r.errors);
    found.warnings.extend(r.warnings);
    None
}

/// A `kind: List` (or `FooList`) yields its items.
fn read_list(root: Node, at: &At, found: &mut Found) -> Option<Node> {
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
    let is_list = kind.ends_with("List") && root.get("items").is_some_and(|i| i.as_seq().is_some());
    if !is_list {
        return Some(root);
    }
    let item_kind = kind.strip_suffix("List").unwrap_or("").to_string();
    let api_version = root
        .get("apiVersion")
        .and_then(Node::as_str)
        .unwrap_or("v1")
        .to_string();
    let mut root = root;
    let items = take_items(&mut root);
    for (i, mut item) in items.into_iter().enumerate() {
        // Lists served by the API omit kind and apiVersion on their items.
        if !item_kind.is_empty() {
            fill_identity(&mut item, &item_kind, &api_version);
        }
        let source = Source::File {
            path: at.path.clone(),
            doc: at.doc,
            item: Some(i as u32),
        };
        match Object::from_node(item, source, at.default_ns) {
            Ok(obj) => found.objects.push(obj),
            Err(item) => found.unknown.push(Unknown {
                line: item.pos.line,
                item: Some(i as u32),
                why: Missing::of(&item),
            }),
        }
    }
    None
}

fn read_object(root: Node, at: &At, found: &mut Found) -> Option<Node> {
    let source = Source::File {
        path: at.path.clone(),
        doc: at.doc,
        item: None,
    };
    match Object::from_node(root, source, at.default_ns) {
        Ok(obj) => {
            found.objects.push(obj);
            None
        }
        Err(root) => Some(root),
    }
}

/// AWS CLI outputs yield their resources.
fn read_aws_cli(root: Node, at: &At, found: &mut Found) -> Option<Node> {
    match classify(root, at.path, at.doc) {
        Classified::Objects(objects) => {
            found.objects.extend(objects);
            None
        }
        Classified::Known => None,
        Classified::Unknown(root) => Some(root),
    }
}

/// What a document that is no object lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    NotAMapping,
    ApiVersion,
    Kind,
    Both,
}

impl Missing {
    pub(crate) fn of(node: &Node) -> Missing {
        if !matches!(node.value, Value::Map(_)) {
            return Missing::NotAMapping;
        }
        let has = |k: &str| node.get(k).and_then(Node::as_str).is_some();
        match (has("apiVersion"), has("kind")) {
            (false, false) => Missing::Both,
            (false, true) => Missing::ApiVersion,
            (true, false) => Missing::Kind,
            // Both present but not strings of an object: reported as lacking both.
            (true, true) => Missing::Both,
        }
    }

    pub(crate) fn text(self) -> &'static str {
        match self {
            Missing::NotAMapping => "not a mapping",
            Missing::ApiVersion => "no apiVersion",
            Missing::Kind => "no kind",
            Missing::Both => "no apiVersion or kind",
        }
    }
}

/// A document, or an item of a list, that is no object of a known shape.
pub(crate) struct Unknown {
    pub(crate) line: u32,
    pub(crate) item: Option<u32>,
    pub(crate) why: Missing,
}

fn take_items(root: &mut Node) -> Vec<Node> {
    if let Value::Map(entries) = &mut root.value {
        if let Some(e) = entries.iter_mut().find(|e| &*e.key == "items") {
            if let Value::Seq(items) = &mut e.value.value {
                return std::mem::take(items);
            }
        }
    }
    Vec::new()
}

fn fill_identity(item: &mut Node, kind: &str, api_version: &str) {
    use eksguard_model::node::Entry;
    let pos = item.pos;
    if let Value::Map(entries) = &mut item.value {
        for (k, v) in [("kind", kind), ("apiVersion", api_version)] {
            if !entries.iter().any(|e| &*e.key == k) {
                entries.push(Entry {
                    key: k.into(),
                    key_pos: pos,
                    value: Node::new(Value::Str(v.into()), pos),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_pick_their_row_as_extensions_do() {
        let name = |n: &str| of_name(n).map(|f| f.name);
        assert_eq!(name("a/main.TF"), Some("Terraform configuration"));
        assert_eq!(name("x.tf.json"), Some("Terraform configuration"));
        assert_eq!(name("prod.tfvars.json"), Some("Terraform variable values"));
        assert_eq!(name("terraform.tfvars"), Some("Terraform variable values"));
        assert_eq!(name("d/pod.YML"), Some("YAML documents"));
        assert_eq!(name("plan.json"), Some("JSON documents"));
        assert_eq!(name(".yaml"), None);
        assert_eq!(name("README.md"), None);
        assert_eq!(name("-"), None);
    }

    #[test]
    fn every_reader_is_reachable() {
        for f in FORMATS {
            match (f.by, f.reader) {
                (By::Name(s), Reader::Document(_)) => panic!("{s:?}: a name row reads files"),
                (By::Content, Reader::Document(_)) => {}
                (By::Content, _) => panic!("{}: a content row reads documents", f.name),
                (By::Name(s), _) => assert!(s.iter().all(|s| s.starts_with('.'))),
            }
        }
    }
}
