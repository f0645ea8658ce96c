//! Kubernetes objects (and, later, other documents) with their provenance.

use std::sync::Arc;

use crate::node::{Node, Pos};
use crate::path::FieldPath;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ObjectId(pub u32);

/// Where an object came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A document of a file (`-` is standard input); `doc` is 0-based, `item` is the index in
    /// a `kind: List`.
    File {
        path: Arc<str>,
        doc: u32,
        item: Option<u32>,
    },
    /// Read from a live API; positions are unknown.
    Live,
}

/// The identity of a resource as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Object {
    pub id: ObjectId,
    pub api_version: Box<str>,
    pub kind: Box<str>,
    pub name: Box<str>,
    /// The effective namespace: `None` for cluster-scoped objects.
    pub namespace: Option<Box<str>>,
    pub root: Node,
    pub source: Source,
    /// Set for objects read from infrastructure as code: how the input names the resource
    /// and its fields (see [`IacOrigin`]).
    pub iac: Option<Arc<IacOrigin>>,
    /// For an object built from several files (a kustomize overlay and its patches): the
    /// file each field was written in where it is not the object's own, by the field's
    /// path. The longest prefix of a located field wins.
    pub files: Vec<(FieldPath, Arc<str>)>,
}

/// An object that infrastructure as code (Terraform, CloudFormation) describes. The reader
/// builds the object in the AWS CLI shape the rules read, with the positions of the
/// code; this says how reports name it in the code's own terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IacOrigin {
    /// `terraform`, `terraform-plan` or `cloudformation`: the report's `api_version`.
    pub format: Box<str>,
    /// The Terraform type (`aws_eks_cluster`), `module`, or the CloudFormation type.
    pub kind: Box<str>,
    /// The Terraform address (`module.eks`) or the CloudFormation logical ID.
    pub name: Box<str>,
    /// CLI-shape path → the input's own path, for every field the reader set; a finding's
    /// path is translated through its longest prefix here.
    pub paths: Vec<(FieldPath, FieldPath)>,
    /// CLI-shape fields whose value the input leaves to be known at apply time (or gives
    /// by an expression the reader cannot evaluate), with the input's expression. A rule
    /// sees them as absent; a finding that touches one is set aside as undecided.
    pub unknown: Vec<(FieldPath, String)>,
    /// Fields decided together with an unknown one (the public endpoint and its CIDR
    /// list): a finding on the first is undecided by the unknown second.
    pub tied: Vec<(FieldPath, FieldPath)>,
    /// Inline suppressions (`# eksguard:ignore ...`, CloudFormation `Metadata`): the text
    /// in the annotation's syntax, and where it is written.
    pub suppressions: Vec<(Pos, String)>,
    /// CLI-shape fields set from a module's default rather than the code, with a note
    /// naming the default (`module default: endpoint_public_access = false (v21)`).
    pub defaults: Vec<(FieldPath, String)>,
}

impl IacOrigin {
    /// The note of the default a finding at `path` rests on, if any.
    pub fn default_note(&self, path: &FieldPath) -> Option<&str> {
        let p = path.segs();
        self.defaults
            .iter()
            .filter(|(d, _)| p.starts_with(d.segs()) || (!p.is_empty() && d.segs().starts_with(p)))
            .max_by_key(|(d, _)| d.segs().len())
            .map(|(_, n)| n.as_str())
    }

    /// The input's path for a CLI-shape path: the longest mapped prefix, with the rest
    /// appended as it is.
    pub fn input_path(&self, path: &FieldPath) -> FieldPath {
        let segs = path.segs();
        let best = self
            .paths
            .iter()
            .filter(|(cli, _)| segs.starts_with(cli.segs()))
            .max_by_key(|(cli, _)| cli.segs().len());
        match best {
            Some((cli, own)) => {
                let mut out = own.clone();
                for s in &segs[cli.segs().len()..] {
                    match s {
                        crate::path::Seg::Key(k) => out.push_key(k),
                        crate::path::Seg::Index(i) => out.push_index(*i),
                    }
                }
                out
            }
            None => path.clone(),
        }
    }

    /// The unknown field a finding at `path` depends on, if any: the field itself, one
    /// inside it or around it, or a sibling in a nested item (a rule reading one field of a
    /// permission or of metadata options decides with its neighbours). Readers tie other
    /// fields that decide together explicitly. An unknown whole object (an undecidable
    /// `count`) has the empty path.
    pub fn undecided_by(&self, path: &FieldPath) -> Option<&(FieldPath, String)> {
        let p = path.segs();
        let related = |u: &FieldPath| {
            let u = u.segs();
            p.starts_with(u)
                || u.starts_with(p)
                || (u.len() >= 3 && p.starts_with(&u[..u.len() - 1]))
        };
        self.unknown.iter().find(|(u, _)| related(u)).or_else(|| {
            let (_, original) = self.tied.iter().find(|(t, _)| related(t))?;
            self.unknown.iter().find(|(u, _)| u == original)
        })
    }
}

pub fn is_cluster_scoped(kind: &str) -> bool {
    crate::kinds::is_cluster_scoped(kind)
}

impl Object {
    /// Builds an object from a parsed document, or `None` when it lacks `apiVersion`/`kind`.
    /// `default_ns` fills in the namespace of namespaced kinds that give none.
    pub fn from_node(root: Node, source: Source, default_ns: &str) -> Result<Object, Node> {
        let (Some(api_version), Some(kind)) = (
            root.get("apiVersion").and_then(Node::as_str),
            root.get("kind").and_then(Node::as_str),
        ) else {
            return Err(root);
        };
        let api_version: Box<str> = api_version.into();
        let kind: Box<str> = kind.into();
        let meta = root.get("metadata");
        let name: Box<str> = meta
            .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
            .and_then(Node::scalar_text)
            .unwrap_or_default()
            .into();
        let given_ns = meta
            .and_then(|m| m.get("namespace"))
            .and_then(Node::scalar_text)
            .filter(|s| !s.is_empty());
        let namespace = if is_cluster_scoped(&kind) {
            None
        } else {
            match given_ns {
                Some(ns) => Some(ns.into()),
                None if crate::kinds::defaults_namespace(&kind) => Some(default_ns.into()),
                None => None,
            }
        };
        Ok(Object {
            id: ObjectId(0),
            api_version,
            kind,
            name,
            namespace,
            root,
            source,
            iac: None,
            files: Vec::new(),
        })
    }

    /// An object for data that is not a Kubernetes object (AWS API output, node facts):
    /// cluster-scoped, named by its ARN or ID.
    pub fn synthetic(
        api_version: &str,
        kind: &str,
        name: &str,
        root: Node,
        source: Source,
    ) -> Object {
        Object {
            id: ObjectId(0),
            api_version: api_version.into(),
            kind: kind.into(),
            name: name.into(),
            namespace: None,
            root,
            source,
            iac: None,
            files: Vec::new(),
        }
    }

    pub fn ns(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    pub fn resource(&self) -> ResourceRef {
        if let Some(iac) = &self.iac {
            return ResourceRef {
                api_version: iac.format.to_string(),
                kind: iac.kind.to_string(),
                namespace: None,
                name: iac.name.to_string(),
            };
        }
        ResourceRef {
            api_version: self.api_version.to_string(),
            kind: self.kind.to_string(),
            namespace: self.namespace.as_ref().map(|s| s.to_string()),
            name: self.name.to_string(),
        }
    }

    /// `Kind/namespace/name` or `Kind/name`, as text reports print it.
    pub fn display_name(&self) -> String {
        if let Some(iac) = &self.iac {
            return format!("{}/{}", iac.kind, iac.name);
        }
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    pub fn metadata(&self) -> &Node {
        self.root.get("metadata").unwrap_or(Node::null())
    }

    pub fn labels(&self) -> &Node {
        self.metadata().get("labels").unwrap_or(Node::null())
    }

    pub fn annotations(&self) -> &Node {
        self.metadata().get("annotations").unwrap_or(Node::null())
    }

    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations().get(key).and_then(Node::as_str)
    }

    pub fn spec(&self) -> &Node {
        self.root.get("spec").unwrap_or(Node::null())
    }

    pub fn file(&self) -> Option<&str> {
        match &self.source {
            Source::File { path, .. } => Some(path),
            Source::Live => None,
        }
    }

    /// A finding's path as reports show it: in the input's own terms for infrastructure
    /// as code, as it is otherwise.
    pub fn report_path(&self, path: &FieldPath) -> FieldPath {
        match &self.iac {
            Some(iac) => iac.input_path(path),
            None => path.clone(),
        }
    }

    /// The position of `path` in the source, or of its nearest existing ancestor.
    pub fn locate(&self, path: &FieldPath) -> Option<Pos> {
        let (pos, _) = self.root.locate(path);
        pos.is_known().then_some(pos)
    }

    /// The file and position of `path` (or of its nearest existing ancestor): the file
    /// that wrote that field, for an object built from several.
    pub fn locate_in_file(&self, path: &FieldPath) -> Option<(&str, Pos)> {
        let pos = self.locate(path)?;
        let written = self
            .files
            .iter()
            .filter(|(prefix, _)| path.segs().starts_with(prefix.segs()))
            .max_by_key(|(prefix, _)| prefix.segs().len())
            .map(|(_, file)| &**file);
        Some((written.or(self.file())?, pos))
    }
}
