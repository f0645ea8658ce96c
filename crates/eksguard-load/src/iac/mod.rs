//! Infrastructure as code: Terraform (HCL, the `terraform-aws-modules/eks/aws` module,
//! `terraform show -json` plans and state) and CloudFormation (YAML, JSON, CDK output).
//!
//! # Design
//!
//! The cluster-level rules read AWS resources in the shape the AWS CLI prints them
//! (`EKSCluster`, `EKSNodegroup`, `IAMRole`, `EC2SecurityGroup`, ... see
//! [`crate::aws_json`]). The readers here build objects of those same kinds and shapes, so
//! every rule and every join between resources (node group ↔ launch template, node role
//! ↔ attached policies, cluster ↔ security groups, trust policy ↔ service account) works
//! on code unchanged:
//!
//! * Each value of the code becomes a [`V`]: a JSON-like value with the position of the
//!   code that gives it, or [`Val::Unknown`] with the expression when it cannot be
//!   decided before apply (a module output, a computed attribute, a function the reader
//!   does not evaluate, a `count` that is not literal).
//! * A per-type mapper ([`terraform`], [`cloudformation`]) sets each CLI field from the
//!   code's field through a [`Shape`], which records the pair of paths (CLI shape →
//!   the code's own path) and, for an unknown value, leaves the field out and records
//!   it as unknown. The object carries this as its [`IacOrigin`] together with its name in
//!   the code (Terraform type and address, `module` and `module.NAME`, CloudFormation
//!   type and logical ID) and its inline suppressions.
//! * Late, where findings are resolved, reports show the code's identity and path
//!   ([`eksguard_model::Object::resource`], [`eksguard_model::Object::report_path`]);
//!   positions come from the tree itself (a missing field falls back to the nearest
//!   enclosing block). The engine sets aside a finding that touches an unknown field
//!   (the field, inside or around it, or a sibling) and warns once per such resource:
//!   an unknown value never makes a rule fire, and the warnings count the undecided
//!   resources.
//! * Links between resources (`aws_launch_template.lt.id`, `!Ref NodeRole`) resolve to
//!   stable identifiers derived from the address or logical ID, so the joins the rules
//!   make by ID, name or ARN find the linked object.
//! * Defaults the AWS API applies when a field is absent are left to the rules, which
//!   already apply them for CLI output; defaults of the EKS module, which the API does
//!   not know, are set by [`eks_module`], with the module block's position and a note of
//!   which default applied.

use eksguard_model::aws_kinds as k;
use std::sync::Arc;

use eksguard_model::node::Entry;
use eksguard_model::{FieldPath, IacOrigin, InputError, Node, Object, Pos, Source, Value};

pub mod cloudformation;
pub mod eks_module;
pub mod hcl;
mod hcl_scan;
pub mod ir;
pub mod ir_services;
pub mod plan;
pub mod terraform;
mod tf_dir;
mod tf_json;

pub use tf_dir::{load_terraform, load_terraform_text};

/// Deepest nesting the readers follow (expressions, references, values): hostile input
/// ends as unknown or as an error, never as a stack overflow.
pub const MAX_DEPTH: usize = 64;

/// Longest string an evaluation builds (a `Fn::Join`, a `Fn::Sub`, a template, a
/// `format`): longer than any AWS field the rules read, short enough that names built
/// from names cannot grow without end. Past it the value is unknown and a warning says so.
pub const MAX_STRING: usize = 64 * 1024;

/// Most evaluation steps (an expression, an intrinsic function, a reference followed)
/// for one template; a Terraform directory has [`hcl::MAX_STEPS`].
pub const MAX_STEPS: u64 = 1_000_000;

/// Most bytes of strings one directory or template may produce in all, copies included.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The work one evaluation may do, and what went past a bound (for the warnings).
/// References fan out (a name joining the previous name twice doubles at each step), so
/// the work is bounded whatever the code: past a bound, values are unknown.
pub struct Budget {
    max_steps: u64,
    steps: std::cell::Cell<u64>,
    bytes: std::cell::Cell<u64>,
    /// (file index, position, what) of each bound reached, first one per position.
    notes: std::cell::RefCell<Vec<(u32, Pos, String)>>,
}

/// Warnings kept per evaluation: past these, one more says how many were left out.
const MAX_NOTES: usize = 20;

impl Default for Budget {
    fn default() -> Budget {
        Budget::with_steps(MAX_STEPS)
    }
}

impl Budget {
    pub fn with_steps(max_steps: u64) -> Budget {
        Budget {
            max_steps,
            steps: Default::default(),
            bytes: Default::default(),
            notes: Default::default(),
        }
    }

    /// Counts one step; `false` once the steps are spent.
    pub fn step(&self, file: u32, pos: Pos) -> bool {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n == self.max_steps + 1 {
            let max = self.max_steps;
            self.note(
                file,
                pos,
                format!(
                    "evaluation stopped after {max} steps; this value and every later one \
                     are unknown"
                ),
            );
        }
        n <= self.max_steps
    }

    /// Counts a string of `len` bytes made by `what`; `false` (and a note) when it is
    /// longer than [`MAX_STRING`] or the bytes of the evaluation are spent.
    pub fn string(&self, len: usize, what: &str, file: u32, pos: Pos) -> bool {
        if len > MAX_STRING {
            self.note(
                file,
                pos,
                format!(
                    "{what} builds a string longer than {MAX_STRING} bytes; its value is unknown"
                ),
            );
            return false;
        }
        self.charge(len, file, pos)
    }

    /// Counts `len` bytes copied (a literal, a value referred to); `false` (and a note)
    /// once the bytes of the evaluation are spent.
    pub fn charge(&self, len: usize, file: u32, pos: Pos) -> bool {
        let total = self.bytes.get() + len as u64;
        self.bytes.set(total);
        if total > MAX_BYTES {
            if total - (len as u64) <= MAX_BYTES {
                self.note(
                    file,
                    pos,
                    format!(
                        "evaluation stopped after building {MAX_BYTES} bytes of strings; this \
                         value and every later one are unknown"
                    ),
                );
            }
            return false;
        }
        true
    }

    /// Whether a bound was reached.
    pub fn spent(&self) -> bool {
        self.steps.get() > self.max_steps || self.bytes.get() > MAX_BYTES
    }

    /// Steps taken so far (tests measure the work with it).
    pub fn steps(&self) -> u64 {
        self.steps.get()
    }

    fn note(&self, file: u32, pos: Pos, what: String) {
        let mut notes = self.notes.borrow_mut();
        if notes.len() <= MAX_NOTES && !notes.iter().any(|(f, p, _)| *f == file && *p == pos) {
            notes.push((file, pos, what));
        }
    }

    /// The notes as warnings, `name` giving each file's name.
    pub fn warnings(&self, name: impl Fn(u32) -> String) -> Vec<InputError> {
        let notes = self.notes.borrow();
        let mut out: Vec<InputError> = notes
            .iter()
            .take(MAX_NOTES)
            .map(|(f, p, what)| {
                let line = p.is_known().then_some(p.line);
                InputError::new(name(*f), line, what.clone())
            })
            .collect();
        if notes.len() > MAX_NOTES {
            if let Some((f, _, _)) = notes.first() {
                out.push(InputError::new(
                    name(*f),
                    None,
                    "more values went past the evaluation bounds; only the first are named",
                ));
            }
        }
        out
    }
}

/// What copying a value costs: its strings' bytes and one per item.
pub fn weight(v: &V) -> usize {
    fn go(v: &V, depth: usize) -> usize {
        if depth > MAX_DEPTH * 4 {
            return 1;
        }
        1 + match &v.val {
            Val::Str(s) | Val::Unknown(s) => s.len(),
            Val::List(items) => items.iter().map(|i| go(i, depth + 1)).sum(),
            Val::Map(m) => m.iter().map(|(k, i)| k.len() + go(i, depth + 1)).sum(),
            _ => 0,
        }
    }
    go(v, 0)
}

/// A value of the code with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct V {
    pub val: Val,
    pub pos: Pos,
    /// Index of the file that gives the value, within one Terraform directory (0 for
    /// single-file inputs): positions from another file than the object's are not used.
    pub file: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<V>),
    Map(Vec<(String, V)>),
    /// Not known before apply; the text is the expression, for messages.
    Unknown(String),
}

impl V {
    pub fn new(val: Val, pos: Pos, file: u32) -> V {
        V { val, pos, file }
    }

    pub fn unknown(expr: impl Into<String>, pos: Pos, file: u32) -> V {
        V::new(Val::Unknown(expr.into()), pos, file)
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        match &self.val {
            Val::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The first item of a list (a Terraform nested block is a list of one), or the value.
    pub fn first(&self) -> Option<&V> {
        match &self.val {
            Val::List(items) => items.first(),
            Val::Null => None,
            _ => Some(self),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.val {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.val {
            Val::Bool(b) => Some(*b),
            Val::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Val::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.val {
            Val::Int(i) => Some(*i),
            Val::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            Val::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.val, Val::Unknown(_))
    }

    pub fn items(&self) -> &[V] {
        match &self.val {
            Val::List(items) => items,
            _ => &[],
        }
    }

    /// Scalar text as Terraform converts numbers and booleans to strings.
    pub fn text(&self) -> Option<String> {
        match &self.val {
            Val::Str(s) => Some(s.clone()),
            Val::Bool(b) => Some(b.to_string()),
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            _ => None,
        }
    }

    /// Turns a parsed JSON or YAML tree into a value (every node known).
    pub fn from_node(n: &Node, file: u32) -> V {
        V::from_node_depth(n, file, 0)
    }

    fn from_node_depth(n: &Node, file: u32, depth: usize) -> V {
        if depth > MAX_DEPTH * 4 {
            return V::unknown("(nested too deeply)", n.pos, file);
        }
        let val = match &n.value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Int(i) => Val::Int(*i),
            Value::Float(f) => Val::Float(*f),
            Value::Str(s) => Val::Str(s.to_string()),
            Value::Seq(items) => Val::List(
                items
                    .iter()
                    .map(|i| V::from_node_depth(i, file, depth + 1))
                    .collect(),
            ),
            Value::Map(entries) => Val::Map(
                entries
                    .iter()
                    .map(|e| {
                        let mut v = V::from_node_depth(&e.value, file, depth + 1);
                        // A finding on the field points at its key, as for YAML.
                        if e.key_pos.is_known() && !matches!(v.val, Val::Map(_) | Val::List(_)) {
                            v.pos = e.key_pos;
                        }
                        (e.key.to_string(), v)
                    })
                    .collect(),
            ),
        };
        V::new(val, n.pos, file)
    }
}

/// Builds one object in the AWS CLI shape from a value of the code, recording for every
/// field set the code's own path, and the fields left unknown.
pub struct Shape {
    root: Vec<Entry>,
    pos: Pos,
    /// The file the object is reported in; values from other files take the position of
    /// the field they are set on.
    file: u32,
    origin: IacOrigin,
}

impl Shape {
    pub fn new(format: &str, kind: &str, name: &str, pos: Pos, file: u32) -> Shape {
        Shape {
            root: Vec::new(),
            pos,
            file,
            origin: IacOrigin {
                format: format.into(),
                kind: kind.into(),
                name: name.into(),
                ..IacOrigin::default()
            },
        }
    }

    /// Maps the CLI path `cli` (dotted) to the code's path `own` without setting a value:
    /// for findings on fields the code leaves out.
    pub fn map_path(&mut self, cli: &str, own: &FieldPath) {
        self.origin.paths.push((FieldPath::parse(cli), own.clone()));
    }

    /// Sets `cli` (dotted, creating mappings on the way) from `v` found at `own`; nothing
    /// when `v` is absent or null, an unknown field when it is unknown.
    pub fn set(&mut self, cli: &str, v: Option<&V>, own: &FieldPath) {
        let Some(v) = v else { return };
        if matches!(v.val, Val::Null) {
            return;
        }
        let path = FieldPath::parse(cli);
        self.origin.paths.push((path.clone(), own.clone()));
        let fallback = if v.file == self.file && v.pos.is_known() {
            v.pos
        } else {
            self.pos
        };
        let node = self.node_of(v, &path, fallback, 0);
        match node {
            Some(mut node) if path.is_root() && node.is_map() => {
                if let Value::Map(entries) = std::mem::replace(&mut node.value, Value::Null) {
                    self.root = entries;
                }
                self.pos = node.pos;
            }
            Some(node) => self.put(&path, node, fallback),
            None => {}
        }
    }

    /// Sets a field that links to other resources (subnet, security group IDs): an unknown
    /// one is left out without making findings undecided, since a link that is not there
    /// only leaves a join without a partner.
    pub fn set_link(&mut self, cli: &str, v: Option<&V>, own: &FieldPath) {
        let Some(v) = v else { return };
        let known = match &v.val {
            Val::Unknown(_) => return,
            Val::List(items) => V::new(
                Val::List(items.iter().filter(|i| !i.is_unknown()).cloned().collect()),
                v.pos,
                v.file,
            ),
            _ => v.clone(),
        };
        self.set(cli, Some(&known), own);
    }

    /// Sets `cli` to a value the reader derives (a link, a default), at `pos`.
    pub fn set_node(&mut self, cli: &str, node: Node, own: Option<&FieldPath>) {
        let path = FieldPath::parse(cli);
        if let Some(own) = own {
            self.origin.paths.push((path.clone(), own.clone()));
        }
        let pos = node.pos;
        self.put(&path, node, pos);
    }

    /// Records `cli` as unknown because of `expr`.
    pub fn unknown(&mut self, cli: &FieldPath, expr: &str) {
        if !self.origin.unknown.iter().any(|(p, _)| p == cli) {
            self.origin.unknown.push((cli.clone(), clip(expr)));
        }
    }

    /// Fields a rule decides together (the public endpoint and its CIDR list): when one is
    /// unknown, all are.
    pub fn tie(&mut self, fields: &[&str]) {
        let paths: Vec<FieldPath> = fields.iter().map(|f| FieldPath::parse(f)).collect();
        let found = self
            .origin
            .unknown
            .iter()
            .find(|(u, _)| paths.iter().any(|p| u.segs().starts_with(p.segs())))
            .map(|(u, _)| u.clone());
        if let Some(original) = found {
            for p in paths {
                self.origin.tied.push((p, original.clone()));
            }
        }
    }

    /// Records that `cli` holds a module's default, and which.
    pub fn default_note(&mut self, cli: &str, note: String) {
        self.origin.defaults.push((FieldPath::parse(cli), note));
    }

    pub fn suppress(&mut self, pos: Pos, text: String) {
        self.origin.suppressions.push((pos, text));
    }

    /// Whether a field is set (for defaults applied only when the code gives none).
    pub fn has(&self, cli: &str) -> bool {
        let path = FieldPath::parse(cli);
        let node = Node::new(Value::Map(self.root.clone()), self.pos);
        node.locate(&path).1
    }

    fn node_of(&mut self, v: &V, path: &FieldPath, fallback: Pos, depth: usize) -> Option<Node> {
        let pos = if v.file == self.file && v.pos.is_known() {
            v.pos
        } else {
            fallback
        };
        if depth > MAX_DEPTH * 4 {
            self.unknown(path, "(nested too deeply)");
            return None;
        }
        let value = match &v.val {
            Val::Unknown(expr) => {
                self.unknown(path, expr);
                return None;
            }
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::Int(*i),
            Val::Float(f) => Value::Float(*f),
            Val::Str(s) => Value::Str(s.as_str().into()),
            Val::List(items) => Value::Seq(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        // An unknown item stays as a null so later indexes keep their place.
                        self.node_of(item, &path.index(i), pos, depth + 1)
                            .unwrap_or_else(|| Node::new(Value::Null, pos))
                    })
                    .collect(),
            ),
            Val::Map(entries) => Value::Map(
                entries
                    .iter()
                    .filter_map(|(k, item)| {
                        let node = self.node_of(item, &path.key(k), pos, depth + 1)?;
                        Some(Entry {
                            key: k.as_str().into(),
                            key_pos: node.pos,
                            value: node,
                        })
                    })
                    .collect(),
            ),
        };
        Some(Node::new(value, pos))
    }

    fn put(&mut self, path: &FieldPath, node: Node, pos: Pos) {
        use eksguard_model::Seg;
        let mut entries = &mut self.root;
        let segs = path.segs();
        for (i, seg) in segs.iter().enumerate() {
            let Seg::Key(k) = seg else { return };
            let last = i + 1 == segs.len();
            let at = match entries.iter().position(|e| e.key == *k) {
                Some(at) => at,
                None => {
                    entries.push(Entry {
                        key: k.clone(),
                        key_pos: pos,
                        value: Node::new(Value::Map(Vec::new()), pos),
                    });
                    entries.len() - 1
                }
            };
            if last {
                entries[at].key_pos = node.pos;
                entries[at].value = node;
                return;
            }
            let e = &mut entries[at];
            if !e.value.is_map() {
                e.value = Node::new(Value::Map(Vec::new()), pos);
            }
            let Value::Map(inner) = &mut e.value.value else {
                return;
            };
            entries = inner;
        }
    }

    /// The tree and the origin, for objects built otherwise (Kubernetes objects).
    pub fn into_parts(self) -> (Node, IacOrigin) {
        (Node::new(Value::Map(self.root), self.pos), self.origin)
    }

    /// The object, named `name` as the rules join it (an ID or ARN).
    pub fn build(self, api: &str, kind: &str, name: &str, path: &Arc<str>) -> Object {
        let mut obj = Object::synthetic(
            api,
            kind,
            name,
            Node::new(Value::Map(self.root), self.pos),
            Source::File {
                path: path.clone(),
                doc: 0,
                item: None,
            },
        );
        obj.iac = Some(Arc::new(self.origin));
        obj
    }
}

/// The security group EKS creates for a cluster (its `clusterSecurityGroupId`), which no
/// code declares: as EKS makes it, admitting all traffic from itself. Rules the code adds
/// to it are objects of their own with its ID, so the port checks between the control
/// plane and the nodes see the group whole. `s` is the cluster's shape (findings land on
/// the cluster, at `at`), `id` the group's ID or stand-in.
pub fn eks_cluster_security_group(
    mut s: Shape,
    id: &str,
    at: &FieldPath,
    pos: Pos,
    path: &Arc<str>,
) -> Object {
    let entry = |key: &str, value: Node| Entry {
        key: key.into(),
        key_pos: pos,
        value,
    };
    let from_itself = Node::new(
        Value::Map(vec![
            entry("IpProtocol", str_node("-1", pos)),
            entry(
                "UserIdGroupPairs",
                Node::new(
                    Value::Seq(vec![Node::new(
                        Value::Map(vec![entry("GroupId", str_node(id, pos))]),
                        pos,
                    )]),
                    pos,
                ),
            ),
        ]),
        pos,
    );
    s.set_node("GroupId", str_node(id, pos), Some(at));
    s.set_node(
        "Description",
        str_node("created by EKS for the cluster", pos),
        Some(at),
    );
    s.set_node(
        "IpPermissions",
        Node::new(Value::Seq(vec![from_itself]), pos),
        Some(at),
    );
    s.build(crate::aws_json::EC2, k::EC2_SECURITY_GROUP, id, path)
}

/// A policy ARN list as `list-attached-role-policies` shows it: each ARN with the name
/// after its last `/`; an unknown list stays unknown.
pub fn attached(arns: &V) -> V {
    let one = |a: &V| {
        let mut m = vec![("PolicyArn".to_string(), a.clone())];
        if let Some(name) = a.as_str().and_then(|s| s.rsplit('/').next()) {
            m.push((
                "PolicyName".into(),
                V::new(Val::Str(name.into()), a.pos, a.file),
            ));
        }
        V::new(Val::Map(m), a.pos, a.file)
    };
    match &arns.val {
        Val::List(items) => V::new(
            Val::List(items.iter().map(one).collect()),
            arns.pos,
            arns.file,
        ),
        Val::Unknown(_) => arns.clone(),
        _ => V::new(Val::List(vec![one(arns)]), arns.pos, arns.file),
    }
}

/// A role's permissions boundary as `get-role` shows it, from the policy ARN the code
/// gives (an unknown ARN stays unknown).
pub fn permissions_boundary(arn: &V) -> V {
    if arn.is_unknown() {
        return arn.clone();
    }
    let at = |val| V::new(val, arn.pos, arn.file);
    at(Val::Map(vec![
        (
            "PermissionsBoundaryType".to_string(),
            at(Val::Str("Policy".into())),
        ),
        ("PermissionsBoundaryArn".to_string(), arn.clone()),
    ]))
}

/// The stand-in account of ARNs Terraform computes.
pub const ACCOUNT: &str = "000000000000";

/// The identifier standing for what apply computes (an ID, an unnamed role's name) for
/// the resource at `address` of the directory or template `scope`: unique across the
/// scan, since two directories may both hold `aws_subnet.private`.
pub fn stand_in(scope: &str, address: &str) -> String {
    if scope.is_empty() {
        address.to_string()
    } else {
        format!("{scope}/{address}")
    }
}

/// The IAM OIDC provider ARN of an issuer (`oidc.eks.REGION.amazonaws.com/id/ID`).
pub fn oidc_provider_arn(issuer: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}")
}

/// The directory part of a file's display path.
pub fn dir_of(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

/// What loading Terraform directories gives.
#[derive(Default)]
pub struct Loaded {
    pub objects: Vec<Object>,
    pub errors: Vec<InputError>,
    pub warnings: Vec<InputError>,
    pub files_scanned: usize,
    pub too_large: usize,
    pub not_regular: usize,
}

/// Every position of `v` set to `pos` (text decoded from a string sits at the string).
pub fn place(v: &mut V, pos: Pos, file: u32) {
    v.pos = pos;
    v.file = file;
    match &mut v.val {
        Val::List(items) => items.iter_mut().for_each(|i| place(i, pos, file)),
        Val::Map(m) => m.iter_mut().for_each(|(_, i)| place(i, pos, file)),
        _ => {}
    }
}

/// A policy document given as a structure (`jsonencode`, a policy data source, YAML) or
/// as JSON text (a heredoc, a string): as a structure, with the positions of the text
/// counted from where the string starts in the file.
pub fn document(v: &V) -> V {
    let Some(text) = v.as_str() else {
        return v.clone();
    };
    if !text.trim_start().starts_with('{') {
        return v.clone();
    }
    let mut docs = eksguard_model::yaml::parse_documents(
        text,
        false,
        eksguard_model::yaml::ParseLimits::default(),
    );
    match docs.pop() {
        Some(Ok(doc)) => {
            let mut out = V::from_node(&doc.root, v.file);
            shift(&mut out, v.pos, 0);
            out
        }
        _ => V::unknown("(policy text that is not JSON)", v.pos, v.file),
    }
}

fn shift(v: &mut V, at: Pos, depth: usize) {
    if depth > MAX_DEPTH * 4 {
        return;
    }
    if at.is_known() && v.pos.is_known() {
        let col = if v.pos.line == 1 {
            at.col + v.pos.col - 1
        } else {
            v.pos.col
        };
        v.pos = Pos::new(at.line + v.pos.line - 1, col);
    } else {
        v.pos = at;
    }
    match &mut v.val {
        Val::List(items) => items.iter_mut().for_each(|i| shift(i, at, depth + 1)),
        Val::Map(m) => m.iter_mut().for_each(|(_, i)| shift(i, at, depth + 1)),
        _ => {}
    }
}

/// Expressions in messages are cut short.
fn clip(s: &str) -> String {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let s = s.as_str();
    if s.chars().count() <= 80 {
        return s.to_string();
    }
    let mut out: String = s.chars().take(77).collect();
    out.push_str("...");
    out
}

/// A node for a value the reader derives, at `pos`.
pub fn str_node(s: &str, pos: Pos) -> Node {
    Node::new(Value::Str(s.into()), pos)
}

/// Suppressions written as comments: `# eksguard:ignore IDS -- reason [until=DATE]` (or
/// `//`), in the comment lines right above the line `first` (1-based) or on lines of
/// `first..=last`. Returns the text after the marker, in the annotation's syntax.
pub fn comment_suppressions(text: &str, first: u32, last: u32) -> Vec<(Pos, String)> {
    const MARK: &str = "eksguard:ignore";
    let lines: Vec<&str> = text.lines().collect();
    fn comment(l: &str) -> Option<&str> {
        let t = l.trim_start();
        t.strip_prefix('#')
            .or_else(|| t.strip_prefix("//"))
            .map(str::trim)
    }
    let mut out = Vec::new();
    let mut take = |n: usize, body: &str| {
        if let Some(rest) = body.strip_prefix(MARK) {
            let col = lines[n].find(MARK).unwrap_or(0) as u32 + 1;
            out.push((Pos::new(n as u32 + 1, col), rest.trim().to_string()));
        }
    };
    let start = (first as usize).saturating_sub(1).min(lines.len());
    let mut above = Vec::new();
    for n in (0..start).rev() {
        match comment(lines[n]) {
            Some(body) => above.push((n, body)),
            None => break,
        }
    }
    for (n, body) in above.into_iter().rev() {
        take(n, body);
    }
    let end = (last as usize).min(lines.len());
    for (n, line) in lines.iter().enumerate().take(end).skip(start) {
        // Within the block only whole-line comments count: a `#` in a string is no comment.
        if let Some(body) = comment(line) {
            take(n, body);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_records_paths_and_unknowns() {
        let mut s = Shape::new(
            "terraform",
            "aws_eks_cluster",
            "aws_eks_cluster.a",
            Pos::new(1, 1),
            0,
        );
        let cidrs = V::new(
            Val::List(vec![
                V::new(Val::Str("0.0.0.0/0".into()), Pos::new(3, 5), 0),
                V::unknown("var.extra", Pos::new(3, 20), 0),
            ]),
            Pos::new(3, 3),
            0,
        );
        let own = FieldPath::parse("vpc_config[0].public_access_cidrs");
        s.set("resourcesVpcConfig.publicAccessCidrs", Some(&cidrs), &own);
        s.set(
            "resourcesVpcConfig.endpointPublicAccess",
            Some(&V::unknown("module.x.public", Pos::new(2, 3), 0)),
            &FieldPath::parse("vpc_config[0].endpoint_public_access"),
        );
        let o = s.build("aws:eks", "EKSCluster", "a", &Arc::from("main.tf"));
        let iac = o.iac.as_ref().unwrap();
        assert_eq!(
            o.report_path(&FieldPath::parse("resourcesVpcConfig.publicAccessCidrs[0]"))
                .to_string(),
            "vpc_config[0].public_access_cidrs[0]"
        );
        assert_eq!(
            o.root
                .at("resourcesVpcConfig.publicAccessCidrs")
                .unwrap()
                .items()
                .len(),
            2
        );
        assert!(o
            .root
            .at("resourcesVpcConfig.endpointPublicAccess")
            .is_none());
        assert!(iac
            .undecided_by(&FieldPath::parse("resourcesVpcConfig.publicAccessCidrs[0]"))
            .is_some());
        assert!(iac
            .undecided_by(&FieldPath::parse("logging.clusterLogging"))
            .is_none());
        assert_eq!(o.resource().kind, "aws_eks_cluster");
    }

    #[test]
    fn readers_survive_hostile_snippets() {
        for text in [
            "",
            "resource",
            "resource \"aws_eks_cluster\" {",
            "resource \"aws_eks_cluster\" \"a\" { vpc_config = 3 }",
            "resource \"aws_eks_cluster\" \"a\" { count = -5 }",
            "resource \"aws_iam_role\" \"a\" { assume_role_policy = \"{not json\" }",
            "resource \"aws_iam_role\" \"a\" { for_each = { a = 1 } name = each.value.x }",
            "locals { a = local.b\n b = local.a }\nresource \"aws_subnet\" \"s\" { map_public_ip_on_launch = local.a }",
            "module \"eks\" {\n source = \"terraform-aws-modules/eks/aws\"\n eks_managed_node_groups = [1, 2]\n access_entries = \"x\"\n }",
            "resource \"aws_security_group\" \"s\" { ingress { cidr_blocks = 5 } ingress {} }",
            "resource \"aws_subnet\" \"é\" {\n  tags = { ü = \"é\" }\n}é",
            "resource \"aws_subnet\" \"s\" {\n  tags = { a = \"é\" } }",
        ] {
            let (_, errors) = load_terraform_text("t.tf", text);
            for e in errors {
                assert_eq!(e.file, "t.tf");
            }
        }
        let path: Arc<str> = "t.yaml".into();
        for text in [
            "Resources: {A: {Type: AWS::EKS::Cluster, Properties: !Ref A}}",
            "Resources: {A: {Type: AWS::EKS::Cluster, Properties: {ResourcesVpcConfig: !GetAtt [A]}}}",
            "Resources: {A: {Type: AWS::EC2::SecurityGroup, Properties: {SecurityGroupIngress: !Sub '${A.B'}}}",
            "Conditions: {C: !Equals [!Condition C, x]}\nResources: {A: {Type: AWS::IAM::Role, Condition: C}}",
            "Resources: {A: {Type: AWS::IAM::Policy, Properties: {Roles: [!Ref A], PolicyDocument: 7}}}",
        ] {
            let docs = eksguard_model::yaml::parse_documents_keeping_tags(
                text,
                true,
                eksguard_model::yaml::ParseLimits::default(),
            );
            for doc in docs.into_iter().flatten() {
                let _ = cloudformation::load(&doc.root, &path);
            }
        }
    }

    #[test]
    fn hcl_strings_and_work_are_bounded() {
        // Each local joins the one before twice: without bounds the last is 2^12 times
        // the first, and each reference evaluates the chain again.
        let mut text = format!("locals {{\n  a0 = \"{}\"\n", "x".repeat(15_000));
        for i in 1..13 {
            let p = i - 1;
            text.push_str(&format!("  a{i} = \"${{local.a{p}}}${{local.a{p}}}\"\n"));
        }
        text.push_str("}\nresource \"aws_iam_role\" \"r\" {\n  name = local.a12\n}\n");
        text.push_str("resource \"aws_iam_role\" \"s\" {\n  name = local.a1\n}\n");
        let (objects, warnings) = load_terraform_text("t.tf", &text);
        let names: Vec<Option<&str>> = objects
            .iter()
            .filter(|o| &*o.kind == "IAMRole")
            .map(|o| o.root.get("RoleName").and_then(Node::as_str))
            .collect();
        // The name past the bound is not known (the address stands in); the one within it is.
        assert_eq!(names.len(), 2);
        assert!(names[0].is_some_and(|n| n.len() < 100), "{names:?}");
        assert_eq!(names[1].map(str::len), Some(30_000));
        // a2 is 60,000 bytes; a3 (line 5) is the first template past the bound.
        assert_eq!(warnings[0].file, "t.tf");
        assert_eq!(warnings[0].line, Some(5));
        assert_eq!(
            warnings[0].message,
            "a string template builds a string longer than 65536 bytes; its value is unknown"
        );
    }

    #[test]
    fn hcl_locals_are_evaluated_once_and_cycles_end_at_once() {
        // Found by fuzzing: a local that refers to itself three times ran to the step bound.
        let text = "locals {\n  l0 = replace(local.l0, \"a\", \"${local.l0}${local.l0}\")\n  l1 = \"x\"\n  l2 = \"${local.l1}${local.l1}\"\n}\nresource \"aws_iam_role\" \"r\" {\n  name = \"${local.l0}${local.l2}\"\n  description = local.l2\n}\n";
        let f = hcl::TfFile::parse("t.tf", text.to_string()).unwrap();
        let m = hcl::evaluate(vec![f], &[]);
        assert!(m.warnings.is_empty(), "{:?}", m.warnings);
        let attrs = &m.blocks[0].attrs;
        assert!(attrs.get("name").unwrap().is_unknown());
        assert_eq!(attrs.get("description").unwrap().as_str(), Some("xx"));
    }

    #[test]
    fn hcl_functions_measure_before_they_build() {
        let text = format!(
            "locals {{\n  a = \"{}\"\n  b = replace(local.a, \"x\", local.a)\n  c = join(\",\", [local.a, local.a, local.a, local.a, local.a])\n}}\nresource \"aws_iam_role\" \"r\" {{\n  name = local.b\n  description = local.c\n}}\n",
            "x".repeat(20_000)
        );
        let (_, warnings) = load_terraform_text("t.tf", &text);
        let lines: Vec<Option<u32>> = warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [Some(3), Some(4)], "{warnings:?}");
        assert!(warnings[0]
            .message
            .starts_with("`replace` builds a string longer"));
        assert!(warnings[1]
            .message
            .starts_with("`join` builds a string longer"));
    }

    #[test]
    fn comment_suppressions_above_and_inside() {
        let text = "# keep\n# eksguard:ignore IAM001 -- VPN only\nresource \"x\" \"y\" {\n  // eksguard:ignore IAM002 -- later until=2030-01-01\n  a = \"# eksguard:ignore NO\"\n}\n";
        let s = comment_suppressions(text, 3, 6);
        assert_eq!(
            s,
            [
                (Pos::new(2, 3), "IAM001 -- VPN only".to_string()),
                (
                    Pos::new(4, 6),
                    "IAM002 -- later until=2030-01-01".to_string()
                ),
            ]
        );
    }
}
