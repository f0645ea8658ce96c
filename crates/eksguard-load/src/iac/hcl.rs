//! Terraform HCL: the `.tf` files of one directory (one module scope) evaluated as far as
//! the code decides values on its own, into [`V`] trees per resource instance and
//! module block, then mapped by [`super::terraform`] and [`super::eks_module`].
//!
//! Evaluated: literals, `var.x` (default, then `terraform.tfvars`, `*.auto.tfvars` in name
//! order, then `--var-file` files in the order given), `local.x`, references to resources
//! and data sources of the same directory, `count.index`/`each.key`/`each.value`, string
//! templates, heredocs, conditionals with a known condition, `data
//! "aws_iam_policy_document"`, and the pure functions configurations use for these values
//! (`jsonencode`, `jsondecode`, `concat`, `merge`, `lookup`, `try`, `replace`, ...).
//! Anything else is unknown, with its expression.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use eksguard_model::{InputError, Pos};
use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::template::{Element, Template};
use hcl_edit::Span;

use super::{Val, MAX_DEPTH, V};

/// One parsed file of a directory.
pub struct TfFile {
    pub name: Arc<str>,
    pub text: String,
    line_starts: Vec<usize>,
    body: Body,
    /// How the parser's text differs from `text` (large objects split, see
    /// [`super::hcl_scan`]).
    scan: super::hcl_scan::Scan,
}

impl TfFile {
    /// Parses a `.tf` or `.tfvars` file; a syntax error names its line and column.
    pub fn parse(name: &str, text: String) -> Result<TfFile, InputError> {
        // The parser recurses per nesting level: bound the nesting before handing it text.
        let mut scan = super::hcl_scan::scan(&text, MAX_DEPTH);
        if let Some(line) = scan.too_deep {
            return Err(InputError::new(
                name,
                Some(line),
                format!("nesting deeper than {MAX_DEPTH} levels; file skipped"),
            ));
        }
        if let Some((line, key)) = &scan.duplicate {
            return Err(InputError::new(
                name,
                Some(*line),
                format!(
                    "invalid HCL: object key {} given twice; file skipped",
                    super::clip(key)
                ),
            ));
        }
        let parsed = scan.text.take();
        let body =
            hcl_edit::parser::parse_body(parsed.as_deref().unwrap_or(&text)).map_err(|e| {
                let loc = e.location();
                InputError::new(
                    name,
                    Some(loc.line() as u32),
                    format!(
                        "invalid HCL: {} (column {}); file skipped",
                        e.message(),
                        loc.column()
                    ),
                )
            })?;
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Ok(TfFile {
            name: name.into(),
            text,
            line_starts,
            body,
            scan,
        })
    }

    /// Whether `e` is an object the scan split into a tuple of objects.
    fn is_split(&self, span: Option<Range<usize>>) -> bool {
        span.is_some_and(|r| self.scan.split.contains(&self.scan.original(r.start)))
    }

    /// The position of a byte offset of the parser's text, past leading blanks.
    fn pos_at(&self, offset: usize) -> Pos {
        let mut offset = self.scan.original(offset);
        let bytes = self.text.as_bytes();
        while offset < bytes.len() && matches!(bytes[offset], b' ' | b'\t' | b'\r' | b'\n') {
            offset += 1;
        }
        // A span's end may fall inside a character: back off to where one starts.
        offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let col = self.text[start..offset.min(self.text.len())]
            .chars()
            .count()
            + 1;
        Pos::new(line as u32, col as u32)
    }

    fn pos(&self, span: Option<Range<usize>>) -> Pos {
        span.map_or(Pos::NONE, |r| self.pos_at(r.start))
    }

    fn src(&self, span: Option<Range<usize>>) -> String {
        span.and_then(|r| {
            let (a, b) = (self.scan.original(r.start), self.scan.original(r.end));
            self.text.get(a..b)
        })
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "(expression)".into())
    }

    fn last_line(&self, span: Option<Range<usize>>) -> u32 {
        span.map_or(0, |r| self.pos_at(r.end.saturating_sub(1)).line)
    }
}

/// A resource instance, data source instance or module block, evaluated.
pub struct Evaluated {
    /// `resource`, `data` or `module`.
    pub block: &'static str,
    /// The Terraform type (`aws_eks_cluster`), or `module`.
    pub ty: String,
    /// `aws_eks_cluster.main`, `aws_iam_role.irsa["app"]`, `module.eks`.
    pub address: String,
    pub file: u32,
    pub pos: Pos,
    pub attrs: V,
    /// Comment suppressions of the block.
    pub suppressions: Vec<(Pos, String)>,
    /// The instance's existence is undecided (`count`/`for_each` not literal).
    pub unknown_count: Option<String>,
}

/// The evaluated blocks of one directory and its files (for positions and names).
pub struct Module {
    pub files: Vec<TfFile>,
    pub blocks: Vec<Evaluated>,
    /// Values past the evaluation bounds.
    pub warnings: Vec<InputError>,
}

impl Module {
    pub fn file_name(&self, i: u32) -> Arc<str> {
        self.files[i as usize].name.clone()
    }
}

/// Instance context: `count.index`, `each.key`, `each.value`.
#[derive(Clone, Default)]
struct Inst {
    count: Option<V>,
    key: Option<V>,
    value: Option<V>,
}

/// Most expression evaluations for one directory: references can fan out (a local
/// listing itself twice doubles at each level), so a budget bounds the work whatever the
/// code; past it every value is unknown.
pub const MAX_STEPS: u64 = 300_000;

struct Scope<'a> {
    budget: super::Budget,
    /// Prefix of the stand-in identifiers of this directory (see [`super::stand_in`]).
    dir: String,
    files: &'a [TfFile],
    vars: HashMap<String, V>,
    locals: HashMap<String, (u32, &'a Expression)>,
    /// Locals evaluated, once each (`None` while being evaluated: a local that refers to
    /// itself is unknown at once rather than evaluated again to the depth bound).
    local_values: std::cell::RefCell<HashMap<String, Option<V>>>,
    /// (block kind, type, name) → (file, block).
    blocks: HashMap<(&'static str, String, String), (u32, &'a Block)>,
}

/// Evaluates one directory: `tf` are its `.tf` files, `tfvars` the variable files that
/// apply, in order of precedence (later wins).
pub fn evaluate(tf: Vec<TfFile>, tfvars: &[&TfFile]) -> Module {
    let mut blocks = Vec::new();
    let mut warnings = Vec::new();
    {
        let mut scope = Scope {
            budget: super::Budget::with_steps(MAX_STEPS),
            dir: tf
                .first()
                .map(|f| super::dir_of(&f.name))
                .unwrap_or_default(),
            files: &tf,
            vars: HashMap::new(),
            locals: HashMap::new(),
            local_values: Default::default(),
            blocks: HashMap::new(),
        };
        for (fi, f) in tf.iter().enumerate() {
            for b in f.body.blocks() {
                let kind: &'static str = match b.ident.as_str() {
                    "resource" => "resource",
                    "data" => "data",
                    "module" => "module",
                    "locals" => {
                        for a in b.body.attributes() {
                            scope
                                .locals
                                .insert(a.key.as_str().to_string(), (fi as u32, &a.value));
                        }
                        continue;
                    }
                    "variable" => {
                        let Some(name) = b.labels.first() else {
                            continue;
                        };
                        if let Some(d) = b.body.get_attribute("default") {
                            let v = scope.eval_top(&d.value, fi as u32, &Inst::default(), 0);
                            scope.vars.insert(name.as_str().to_string(), v);
                        } else {
                            let pos = f.pos(b.span());
                            let v = V::unknown(format!("var.{}", name.as_str()), pos, fi as u32);
                            scope.vars.insert(name.as_str().to_string(), v);
                        }
                        continue;
                    }
                    _ => continue,
                };
                let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
                let (ty, name) = match (kind, labels.as_slice()) {
                    ("module", [name, ..]) => ("module".to_string(), name.to_string()),
                    (_, [ty, name, ..]) => (ty.to_string(), name.to_string()),
                    _ => continue,
                };
                scope.blocks.insert((kind, ty, name), (fi as u32, b));
            }
        }
        // Variable files: literal values, later files overriding earlier ones.
        let none: &[TfFile] = &[];
        for f in tfvars {
            let vscope = Scope {
                budget: super::Budget::with_steps(MAX_STEPS),
                dir: String::new(),
                files: none,
                vars: HashMap::new(),
                locals: HashMap::new(),
                local_values: Default::default(),
                blocks: HashMap::new(),
            };
            for a in f.body.attributes() {
                let mut v = vscope.eval_in(f, &a.value, u32::MAX, &Inst::default(), 0);
                v.pos = f.pos(a.key.span());
                scope.vars.insert(a.key.as_str().to_string(), v);
            }
            warnings.extend(vscope.budget.warnings(|_| f.name.to_string()));
        }
        let mut keys: Vec<_> = scope.blocks.keys().cloned().collect();
        keys.sort_by_key(|k| {
            let (fi, b) = scope.blocks[k];
            (fi, b.span().map_or(0, |s| s.start))
        });
        for key in keys {
            let (fi, block) = scope.blocks[&key];
            if key.0 == "data" && key.1 != "aws_iam_policy_document" {
                continue;
            }
            scope.instances(key.0, &key.1, &key.2, fi, block, &mut blocks);
        }
        warnings.extend(scope.budget.warnings(|fi| {
            tf.get(fi as usize)
                .map_or_else(String::new, |f| f.name.to_string())
        }));
    }
    Module {
        files: tf,
        blocks,
        warnings,
    }
}

fn address(kind: &str, ty: &str, name: &str) -> String {
    match kind {
        "module" => format!("module.{name}"),
        "data" => format!("data.{ty}.{name}"),
        _ => format!("{ty}.{name}"),
    }
}

/// `["key"]` or `[0]` after an address.
fn index_suffix(key: &V) -> String {
    match &key.val {
        Val::Int(i) => format!("[{i}]"),
        _ => format!("[{:?}]", key.text().unwrap_or_default()),
    }
}

impl<'a> Scope<'a> {
    /// The instances of a block as `count`/`for_each` make them.
    fn instances(
        &self,
        kind: &'static str,
        ty: &str,
        name: &str,
        fi: u32,
        block: &'a Block,
        out: &mut Vec<Evaluated>,
    ) {
        let f = &self.files[fi as usize];
        let base = address(kind, ty, name);
        let pos = f.pos(block.span());
        let first = pos.line;
        let last = f.last_line(block.span());
        let suppressions = super::comment_suppressions(&f.text, first, last);
        let make = |inst: Inst, address: String, unknown_count: Option<String>| Evaluated {
            block: kind,
            ty: ty.to_string(),
            address,
            file: fi,
            pos,
            attrs: self.eval_body(&block.body, fi, &inst, 0),
            suppressions: suppressions.clone(),
            unknown_count,
        };
        for (inst, suffix) in match self.instance_keys(block, fi) {
            Ok(list) => list,
            Err(expr) => {
                out.push(make(Inst::default(), base, Some(expr)));
                return;
            }
        } {
            out.push(make(inst, format!("{base}{suffix}"), None));
        }
    }

    /// Instance contexts and address suffixes; `Err` with the expression when the count is
    /// not decided.
    fn instance_keys(&self, block: &Block, fi: u32) -> Result<Vec<(Inst, String)>, String> {
        let f = &self.files[fi as usize];
        if let Some(c) = block.body.get_attribute("count") {
            let v = self.eval_top(&c.value, fi, &Inst::default(), 0);
            let n = v.as_i64().ok_or_else(|| f.src(c.value.span()))?;
            // A literal count beyond any real configuration is not expanded.
            let n = n.clamp(0, 256);
            return Ok((0..n)
                .map(|i| {
                    let iv = V::new(Val::Int(i), v.pos, fi);
                    let suffix = index_suffix(&iv);
                    (
                        Inst {
                            count: Some(iv),
                            ..Inst::default()
                        },
                        suffix,
                    )
                })
                .collect());
        }
        if let Some(fe) = block.body.get_attribute("for_each") {
            let v = self.eval_top(&fe.value, fi, &Inst::default(), 0);
            let pairs: Vec<(V, V)> = match &v.val {
                Val::Map(m) => m
                    .iter()
                    .map(|(k, val)| (V::new(Val::Str(k.clone()), val.pos, fi), val.clone()))
                    .collect(),
                Val::List(items) if items.iter().all(|i| i.text().is_some()) => items
                    .iter()
                    .map(|i| {
                        let k = V::new(Val::Str(i.text().unwrap_or_default()), i.pos, fi);
                        (k.clone(), k)
                    })
                    .collect(),
                _ => return Err(f.src(fe.value.span())),
            };
            return Ok(pairs
                .into_iter()
                .take(256)
                .map(|(k, val)| {
                    let suffix = index_suffix(&k);
                    (
                        Inst {
                            key: Some(k),
                            value: Some(val),
                            count: None,
                        },
                        suffix,
                    )
                })
                .collect());
        }
        Ok(vec![(Inst::default(), String::new())])
    }

    /// A block body: attributes, and nested blocks as lists of maps (as plans show them).
    fn eval_body(&self, body: &Body, fi: u32, inst: &Inst, depth: usize) -> V {
        let f = &self.files[fi as usize];
        let mut entries: Vec<(String, V)> = Vec::new();
        if depth > MAX_DEPTH {
            return V::unknown("(nested too deeply)", f.pos(body.span()), fi);
        }
        for a in body.attributes() {
            let key = a.key.as_str();
            if matches!(key, "count" | "for_each" | "depends_on" | "provider") {
                continue;
            }
            let mut v = self.eval_top(&a.value, fi, inst, depth);
            // Findings point at the attribute's line.
            let at = f.pos(a.key.span());
            if !matches!(v.val, Val::Map(_) | Val::List(_)) || v.file != fi {
                v.pos = at;
                v.file = fi;
            }
            entries.push((key.to_string(), v));
        }
        for b in body.blocks() {
            let ident = b.ident.as_str();
            if matches!(ident, "lifecycle" | "provisioner" | "connection") {
                continue;
            }
            if ident == "dynamic" {
                // Generated blocks: their number and contents are the iterator's.
                if let Some(l) = b.labels.first() {
                    let pos = f.pos(b.span());
                    let v = V::unknown(format!("dynamic \"{}\"", l.as_str()), pos, fi);
                    entries.push((l.as_str().to_string(), v));
                }
                continue;
            }
            let mut v = self.eval_body(&b.body, fi, inst, depth + 1);
            v.pos = f.pos(b.span());
            match entries.iter_mut().find(|(k, _)| k == ident) {
                Some((
                    _,
                    V {
                        val: Val::List(items),
                        ..
                    },
                )) => items.push(v),
                _ => {
                    let pos = v.pos;
                    entries.push((ident.to_string(), V::new(Val::List(vec![v]), pos, fi)));
                }
            }
        }
        V::new(Val::Map(entries), f.pos(body.span()), fi)
    }

    fn eval_top(&self, e: &Expression, fi: u32, inst: &Inst, depth: usize) -> V {
        let f = &self.files[fi as usize];
        self.eval_in(f, e, fi, inst, depth)
    }

    /// Evaluates `e` of file `f` (index `fi`, or `u32::MAX` for variable files).
    fn eval_in(&self, f: &TfFile, e: &Expression, fi: u32, inst: &Inst, depth: usize) -> V {
        let pos = f.pos(e.span());
        let unknown = || V::unknown(f.src(e.span()), pos, fi);
        if depth > MAX_DEPTH || !self.budget.step(fi, pos) {
            return unknown();
        }
        let d = depth + 1;
        let val = match e {
            Expression::Null(_) => Val::Null,
            Expression::Bool(b) => Val::Bool(*b.value()),
            Expression::Number(n) => {
                let n = n.value();
                match n.as_i64() {
                    Some(i) => Val::Int(i),
                    None => Val::Float(n.as_f64().unwrap_or(0.0)),
                }
            }
            Expression::String(s) => {
                if !self.budget.charge(s.value().len(), fi, pos) {
                    return unknown();
                }
                Val::Str(s.value().to_string())
            }
            // An object the scan split for the parser: its parts are one object.
            Expression::Array(a) if f.is_split(e.span()) => {
                let mut m = Vec::new();
                for part in a.iter() {
                    let Expression::Object(o) = part else {
                        return unknown();
                    };
                    if !self.object_items(f, o, fi, inst, d, &mut m) {
                        return unknown();
                    }
                }
                Val::Map(m)
            }
            Expression::Array(a) => {
                Val::List(a.iter().map(|x| self.eval_in(f, x, fi, inst, d)).collect())
            }
            Expression::Object(o) => {
                let mut m = Vec::new();
                if !self.object_items(f, o, fi, inst, d, &mut m) {
                    return unknown();
                }
                Val::Map(m)
            }
            Expression::StringTemplate(t) => {
                return self
                    .template(f, t, fi, inst, d, pos)
                    .unwrap_or_else(unknown);
            }
            Expression::HeredocTemplate(h) => {
                // The text starts on the line after the `<<EOF` marker.
                let start = Pos::new(pos.line + 1, 1);
                let Some(v) = self.template(f, &h.template, fi, inst, d, start) else {
                    return unknown();
                };
                match (h.indent(), v.val) {
                    (Some(n), Val::Str(s)) => Val::Str(dedent(&s, n)),
                    (_, other) => other,
                }
            }
            Expression::Parenthesis(p) => return self.eval_in(f, p.inner(), fi, inst, d),
            Expression::Variable(_) => return unknown(),
            Expression::Conditional(c) => {
                let cond = self.eval_in(f, &c.cond_expr, fi, inst, d);
                return match cond.as_bool() {
                    Some(true) => self.eval_in(f, &c.true_expr, fi, inst, d),
                    Some(false) => self.eval_in(f, &c.false_expr, fi, inst, d),
                    None => unknown(),
                };
            }
            Expression::UnaryOp(u) => {
                let v = self.eval_in(f, &u.expr, fi, inst, d);
                match (u.operator.value(), &v.val) {
                    (UnaryOperator::Not, Val::Bool(b)) => Val::Bool(!b),
                    (UnaryOperator::Neg, Val::Int(i)) => Val::Int(i.saturating_neg()),
                    (UnaryOperator::Neg, Val::Float(x)) => Val::Float(-x),
                    _ => return unknown(),
                }
            }
            Expression::BinaryOp(b) => {
                let l = self.eval_in(f, &b.lhs_expr, fi, inst, d);
                let r = self.eval_in(f, &b.rhs_expr, fi, inst, d);
                match binary(*b.operator.value(), &l, &r) {
                    Some(v) => v,
                    None => return unknown(),
                }
            }
            Expression::FuncCall(c) => {
                let name = c.name.name.as_str();
                if !c.name.namespace.is_empty() {
                    return unknown();
                }
                let args: Vec<V> = c
                    .args
                    .iter()
                    .map(|a| self.eval_in(f, a, fi, inst, d))
                    .collect();
                let what = format!("`{name}`");
                let fits = |len: usize| self.budget.string(len, &what, fi, pos);
                match function(name, args, pos, fi, &fits) {
                    Some(v) => return v,
                    None => return unknown(),
                }
            }
            Expression::Traversal(t) => {
                // What is referred to is copied: the copy counts.
                return match self.traversal(f, &t.expr, &t.operators, fi, inst, d) {
                    Some(v) if self.budget.charge(super::weight(&v), fi, pos) => v,
                    _ => unknown(),
                };
            }
            Expression::ForExpr(_) => return unknown(),
        };
        V::new(val, pos, fi)
    }

    /// The items of an object literal, added to `m`; `false` when a key is undecided
    /// (which makes the whole object undecided).
    fn object_items(
        &self,
        f: &TfFile,
        o: &hcl_edit::expr::Object,
        fi: u32,
        inst: &Inst,
        depth: usize,
        m: &mut Vec<(String, V)>,
    ) -> bool {
        for (k, v) in o.iter() {
            let key = match k {
                ObjectKey::Ident(i) => Some(i.as_str().to_string()),
                // `(var.x)` or a bare word in parentheses is an expression.
                ObjectKey::Expression(Expression::Variable(i)) => Some(i.as_str().to_string()),
                ObjectKey::Expression(x) => self.eval_in(f, x, fi, inst, depth).text(),
            };
            let value = self.eval_in(f, v.expr(), fi, inst, depth);
            match key {
                Some(k) => m.push((k, value)),
                None => return false,
            }
        }
        true
    }

    fn template(
        &self,
        f: &TfFile,
        t: &Template,
        fi: u32,
        inst: &Inst,
        depth: usize,
        pos: Pos,
    ) -> Option<V> {
        let mut out = String::new();
        let elements: Vec<&Element> = t.iter().collect();
        // `"${x}"` alone keeps the value's type (a list, a bool).
        if let [Element::Interpolation(i)] = elements.as_slice() {
            let v = self.eval_in(f, &i.expr, fi, inst, depth);
            return (!v.is_unknown()).then_some(v);
        }
        for el in elements {
            if out.len() > super::MAX_STRING {
                break;
            }
            match el {
                Element::Literal(s) => out.push_str(s.value()),
                Element::Interpolation(i) => {
                    let v = self.eval_in(f, &i.expr, fi, inst, depth);
                    match v.text() {
                        Some(s) => out.push_str(&s),
                        None if matches!(v.val, Val::Map(_) | Val::List(_)) => {
                            out.push_str(&to_json(&v)?)
                        }
                        None => return None,
                    }
                }
                Element::Directive(_) => return None,
            }
        }
        if !self.budget.string(out.len(), "a string template", fi, pos) {
            return None;
        }
        Some(V::new(Val::Str(out), pos, fi))
    }

    fn traversal(
        &self,
        f: &TfFile,
        root: &Expression,
        ops: &[hcl_edit::Decorated<TraversalOperator>],
        fi: u32,
        inst: &Inst,
        depth: usize,
    ) -> Option<V> {
        let Expression::Variable(head) = root else {
            let v = self.eval_in(f, root, fi, inst, depth);
            return self.apply_ops(f, v, ops, fi, inst, depth);
        };
        let attr = |i: usize| match ops.get(i).map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.as_str().to_string()),
            _ => None,
        };
        let pos = f.pos(root.span());
        match head.as_str() {
            "var" => {
                let v = self.vars.get(&attr(0)?)?.clone();
                self.apply_ops(f, v, &ops[1..], fi, inst, depth)
            }
            "local" => {
                let v = self.local(&attr(0)?, depth)?;
                self.apply_ops(f, v, &ops[1..], fi, inst, depth)
            }
            "count" if attr(0).as_deref() == Some("index") => {
                self.apply_ops(f, inst.count.clone()?, &ops[1..], fi, inst, depth)
            }
            "each" => {
                let v = match attr(0).as_deref()? {
                    "key" => inst.key.clone()?,
                    "value" => inst.value.clone()?,
                    _ => return None,
                };
                self.apply_ops(f, v, &ops[1..], fi, inst, depth)
            }
            "data" => {
                let ty = attr(0)?;
                let name = attr(1)?;
                let (dfi, block) = *self.blocks.get(&("data", ty.clone(), name.clone()))?;
                if ty != "aws_iam_policy_document" || attr(2).as_deref() != Some("json") {
                    return None;
                }
                let body = self.eval_body(&block.body, dfi, &Inst::default(), depth + 1);
                Some(policy_document(&body, pos, fi))
            }
            "module" => {
                // The EKS module's outputs that name what it creates: the joins need them.
                let name = attr(0)?;
                let (mfi, block) =
                    *self
                        .blocks
                        .get(&("module", "module".to_string(), name.clone()))?;
                let source = block.body.get_attribute("source")?;
                let source = self.eval_top(&source.value, mfi, &Inst::default(), depth + 1);
                if !is_eks_module(source.as_str()?) {
                    return None;
                }
                let input = |keys: &[&str]| {
                    keys.iter().find_map(|k| {
                        let a = block.body.get_attribute(k)?;
                        let v = self.eval_top(&a.value, mfi, &Inst::default(), depth + 1);
                        v.text().map(|t| V::new(Val::Str(t), pos, fi))
                    })
                };
                match attr(1)?.as_str() {
                    "cluster_name" | "cluster_id" => input(&["cluster_name", "name"]),
                    "cluster_version" => input(&["cluster_version", "kubernetes_version"]),
                    out @ ("node_security_group_id" | "cluster_security_group_id") => Some(V::new(
                        Val::Str(super::stand_in(&self.dir, &format!("module.{name}.{out}"))),
                        pos,
                        fi,
                    )),
                    // The cluster's OIDC issuer is known only after apply; one stand-in for
                    // the issuer, its URL and its provider ARN keeps IRSA trusts joinable.
                    out @ ("oidc_provider" | "oidc_provider_arn" | "cluster_oidc_issuer_url") => {
                        let issuer = super::stand_in(&self.dir, &format!("module.{name}.oidc"));
                        let v = match out {
                            "oidc_provider" => issuer,
                            "oidc_provider_arn" => super::oidc_provider_arn(&issuer),
                            _ => format!("https://{issuer}"),
                        };
                        Some(V::new(Val::Str(v), pos, fi))
                    }
                    _ => None,
                }
            }
            "path" | "terraform" | "self" => None,
            ty => {
                let name = attr(0)?;
                let (rfi, block) = *self
                    .blocks
                    .get(&("resource", ty.to_string(), name.clone()))?;
                // An instance key right after the name: `aws_iam_role.r[0]`, `["a"]`.
                let (key, rest) = match ops.get(1).map(|o| o.value()) {
                    Some(TraversalOperator::Index(k)) => {
                        (Some(self.eval_in(f, k, fi, inst, depth + 1)), &ops[2..])
                    }
                    Some(TraversalOperator::LegacyIndex(n)) => (
                        Some(V::new(Val::Int(*n.value() as i64), pos, fi)),
                        &ops[2..],
                    ),
                    _ => (None, &ops[1..]),
                };
                let insts = self.instance_keys(block, rfi).ok()?;
                // `aws_subnet.private[*].id`: the attribute of every instance.
                if let Some(TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_)) =
                    ops.get(1).map(|o| o.value())
                {
                    let items: Option<Vec<V>> = insts
                        .into_iter()
                        .map(|(rinst, suffix)| {
                            let at = (ty, name.as_str(), suffix.as_str(), block, rfi);
                            self.instance_attr(f, at, &rinst, &ops[2..], fi, inst, depth, pos)
                        })
                        .collect();
                    return Some(V::new(Val::List(items?), pos, fi));
                }
                let (rinst, suffix) = match key {
                    Some(k) => {
                        let want = index_suffix(&k);
                        insts.into_iter().find(|(_, s)| *s == want)?
                    }
                    None if insts.len() == 1 && insts[0].1.is_empty() => {
                        insts.into_iter().next()?
                    }
                    None => return None,
                };
                let at = (ty, name.as_str(), suffix.as_str(), block, rfi);
                self.instance_attr(f, at, &rinst, rest, fi, inst, depth, pos)
            }
        }
    }

    /// A local's value, evaluated once; `None` for a local that refers to itself.
    fn local(&self, name: &str, depth: usize) -> Option<V> {
        if let Some(done) = self.local_values.borrow().get(name) {
            return done.clone();
        }
        let (lfi, expr) = *self.locals.get(name)?;
        self.local_values
            .borrow_mut()
            .insert(name.to_string(), None);
        let v = self.eval_top(expr, lfi, &Inst::default(), depth + 1);
        self.local_values
            .borrow_mut()
            .insert(name.to_string(), Some(v.clone()));
        Some(v)
    }

    /// An attribute of one resource instance (`rest` starts with its name) and what
    /// follows it.
    #[allow(clippy::too_many_arguments)]
    fn instance_attr(
        &self,
        f: &TfFile,
        (ty, name, suffix, block, rfi): (&str, &str, &str, &Block, u32),
        rinst: &Inst,
        rest: &[hcl_edit::Decorated<TraversalOperator>],
        fi: u32,
        inst: &Inst,
        depth: usize,
        pos: Pos,
    ) -> Option<V> {
        let address = format!("{ty}.{name}{suffix}");
        let attr_name = match rest.first().map(|o| o.value()) {
            Some(TraversalOperator::GetAttr(a)) => a.as_str().to_string(),
            _ => return None,
        };
        let rf = &self.files[rfi as usize];
        let given = block.body.get_attribute(&attr_name).map(|a| {
            let mut v = self.eval_in(rf, &a.value, rfi, rinst, depth + 1);
            if v.file != fi {
                v.pos = pos;
                v.file = fi;
            }
            v
        });
        let v = match given {
            Some(v) => v,
            None => {
                let rest_path: Vec<String> = rest[1..]
                    .iter()
                    .filter_map(|o| match o.value() {
                        TraversalOperator::GetAttr(a) => Some(a.as_str().to_string()),
                        _ => None,
                    })
                    .collect();
                let s = computed(
                    ty,
                    &super::stand_in(&self.dir, &address),
                    &attr_name,
                    &rest_path,
                    block,
                    |e| self.eval_in(rf, e, rfi, rinst, depth + 1),
                )?;
                // The computed value stands for the whole rest of the traversal.
                return Some(V::new(s, pos, fi));
            }
        };
        self.apply_ops(f, v, &rest[1..], fi, inst, depth)
    }

    fn apply_ops(
        &self,
        f: &TfFile,
        mut v: V,
        ops: &[hcl_edit::Decorated<TraversalOperator>],
        fi: u32,
        inst: &Inst,
        depth: usize,
    ) -> Option<V> {
        for op in ops {
            v = match op.value() {
                TraversalOperator::GetAttr(a) => v.get(a.as_str())?.clone(),
                TraversalOperator::Index(k) => {
                    let k = self.eval_in(f, k, fi, inst, depth + 1);
                    index(&v, &k)?
                }
                TraversalOperator::LegacyIndex(n) => v.items().get(*n.value() as usize)?.clone(),
                _ => return None,
            };
            if v.is_unknown() {
                return None;
            }
        }
        Some(v)
    }
}

fn index(v: &V, k: &V) -> Option<V> {
    match (&v.val, &k.val) {
        (Val::List(items), _) => items.get(usize::try_from(k.as_i64()?).ok()?).cloned(),
        (Val::Map(_), _) => v.get(&k.text()?).cloned(),
        _ => None,
    }
}

/// Attributes Terraform computes, where the rules need only a stable identifier to join
/// on: IDs, ARNs and names derived from the address.
fn computed(
    ty: &str,
    address: &str,
    attr: &str,
    rest: &[String],
    block: &Block,
    eval: impl Fn(&Expression) -> V,
) -> Option<Val> {
    let literal = |k: &str| {
        block
            .body
            .get_attribute(k)
            .map(|a| eval(&a.value))
            .and_then(|v| v.text())
    };
    let role_name = || literal("name").unwrap_or_else(|| address.to_string());
    let s = match (ty, attr) {
        ("aws_iam_role", "arn") => format!("arn:aws:iam::000000000000:role/{}", role_name()),
        ("aws_iam_role", "name" | "id") => role_name(),
        ("aws_iam_policy", "arn") => format!(
            "arn:aws:iam::000000000000:policy/{}",
            literal("name").unwrap_or_else(|| address.to_string())
        ),
        ("aws_launch_template", "latest_version" | "default_version") => return Some(Val::Int(1)),
        // Without a name (a `name_prefix`, none) the mapper names the template by its
        // stand-in: the same here, so a node group naming it finds it.
        ("aws_launch_template", "name") => literal("name").unwrap_or_else(|| address.to_string()),
        ("aws_eks_cluster", "vpc_config")
            if rest.last().map(String::as_str) == Some("cluster_security_group_id") =>
        {
            format!("{address}.cluster_security_group_id")
        }
        ("aws_eks_cluster", "name" | "id") => literal("name")?,
        ("aws_eks_cluster", "identity") if rest.last().map(String::as_str) == Some("issuer") => {
            format!("https://{address}.oidc")
        }
        ("aws_iam_openid_connect_provider", "arn") => {
            let url = literal("url")?;
            super::oidc_provider_arn(url.trim_start_matches("https://"))
        }
        (_, "id") => address.to_string(),
        // Any other resource of the directory has an ARN once applied: a stand-in that
        // names it, for fields that only need one to be there (a KMS key).
        (_, "arn") => format!("arn:aws:terraform:::{address}"),
        _ => return None,
    };
    Some(Val::Str(s))
}

fn binary(op: BinaryOperator, l: &V, r: &V) -> Option<Val> {
    use BinaryOperator as B;
    if l.is_unknown() || r.is_unknown() {
        return None;
    }
    Some(match op {
        B::Eq => Val::Bool(l.val == r.val || (l.text().is_some() && l.text() == r.text())),
        B::NotEq => Val::Bool(!(l.val == r.val || (l.text().is_some() && l.text() == r.text()))),
        B::And => Val::Bool(l.as_bool()? && r.as_bool()?),
        B::Or => Val::Bool(l.as_bool()? || r.as_bool()?),
        B::Plus => Val::Int(l.as_i64()?.checked_add(r.as_i64()?)?),
        B::Minus => Val::Int(l.as_i64()?.checked_sub(r.as_i64()?)?),
        B::Mul => Val::Int(l.as_i64()?.checked_mul(r.as_i64()?)?),
        B::Less => Val::Bool(l.as_i64()? < r.as_i64()?),
        B::LessEq => Val::Bool(l.as_i64()? <= r.as_i64()?),
        B::Greater => Val::Bool(l.as_i64()? > r.as_i64()?),
        B::GreaterEq => Val::Bool(l.as_i64()? >= r.as_i64()?),
        _ => return None,
    })
}

/// The pure functions configurations use around the values the rules read; `None` when
/// the function is another or an argument is unknown. A string made is first measured by
/// `fits` (see [`super::Budget::string`]).
fn function(
    name: &str,
    args: Vec<V>,
    pos: Pos,
    fi: u32,
    fits: &dyn Fn(usize) -> bool,
) -> Option<V> {
    let known = |a: &V| !a.is_unknown();
    let mk = |val: Val| match &val {
        Val::Str(s) if !fits(s.len()) => None,
        _ => Some(V::new(val, pos, fi)),
    };
    match (name, args.as_slice()) {
        // Kept as a structure: the mapper reads documents from it and renders text
        // where a string is wanted.
        // An unknown part leaves the rest readable: a policy's known statements stay so.
        ("jsonencode" | "yamlencode", [x]) => Some(x.clone()),
        ("jsondecode", [s]) => {
            let text = s.as_str()?;
            let mut docs = eksguard_model::yaml::parse_documents(
                text,
                false,
                eksguard_model::yaml::ParseLimits::default(),
            );
            let doc = docs.pop()?.ok()?;
            let mut v = V::from_node(&doc.root, fi);
            super::place(&mut v, s.pos, fi);
            Some(v)
        }
        ("try", _) => args.into_iter().find(known),
        ("coalesce", _) => args
            .into_iter()
            .find(|a| known(a) && !matches!(&a.val, Val::Null) && a.as_str() != Some("")),
        ("tolist" | "tomap" | "nonsensitive" | "sensitive", [x]) if known(x) => Some(x.clone()),
        // Equal items compare by value, wherever they are written.
        ("toset" | "distinct", [x]) if known(x) => match &x.val {
            Val::List(items) => {
                let mut seen: Vec<String> = Vec::new();
                let kept = items
                    .iter()
                    .filter(|i| match to_json(i) {
                        Some(j) if seen.contains(&j) => false,
                        Some(j) => {
                            seen.push(j);
                            true
                        }
                        None => true,
                    })
                    .cloned()
                    .collect();
                Some(V::new(Val::List(kept), x.pos, x.file))
            }
            _ => Some(x.clone()),
        },
        ("sort", [x]) if known(x) => {
            let mut items = x.items().to_vec();
            if items.iter().all(|i| i.as_str().is_some()) {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                Some(V::new(Val::List(items), x.pos, x.file))
            } else {
                Some(x.clone())
            }
        }
        ("tostring", [x]) => mk(Val::Str(x.text()?)),
        ("tonumber", [x]) => mk(Val::Int(x.as_i64()?)),
        ("tobool", [x]) => mk(Val::Bool(x.as_bool()?)),
        ("lower", [x]) => mk(Val::Str(x.as_str()?.to_lowercase())),
        ("upper", [x]) => mk(Val::Str(x.as_str()?.to_uppercase())),
        ("trimspace", [x]) => mk(Val::Str(x.as_str()?.trim().to_string())),
        ("trimprefix", [x, p]) => {
            let s = x.as_str()?;
            mk(Val::Str(
                s.strip_prefix(p.as_str()?).unwrap_or(s).to_string(),
            ))
        }
        ("replace", [x, a, b]) => {
            let (x, a, b) = (x.as_str()?, a.as_str()?, b.as_str()?);
            if a.starts_with('/') {
                return None;
            }
            // Measured before it is made.
            let n = x.matches(a).count();
            if !fits(x.len() - n * a.len() + n * b.len()) {
                return None;
            }
            Some(V::new(Val::Str(x.replace(a, b)), pos, fi))
        }
        ("concat", _) if args.iter().all(|a| matches!(a.val, Val::List(_))) => mk(Val::List(
            args.iter()
                .flat_map(|a| a.items().iter().cloned())
                .collect(),
        )),
        ("merge", _) if args.iter().all(|a| matches!(a.val, Val::Map(_))) => {
            let mut out: Vec<(String, V)> = Vec::new();
            for a in &args {
                if let Val::Map(m) = &a.val {
                    for (k, v) in m {
                        match out.iter_mut().find(|(ok, _)| ok == k) {
                            Some(e) => e.1 = v.clone(),
                            None => out.push((k.clone(), v.clone())),
                        }
                    }
                }
            }
            mk(Val::Map(out))
        }
        ("lookup", [m, k, rest @ ..]) if matches!(m.val, Val::Map(_)) => {
            m.get(&k.text()?).cloned().or_else(|| rest.first().cloned())
        }
        ("element", [l, i]) => {
            let items = l.items();
            let i = usize::try_from(i.as_i64()?).ok()?;
            (!items.is_empty()).then(|| items[i % items.len()].clone())
        }
        ("length", [x]) => match &x.val {
            Val::List(i) => mk(Val::Int(i.len() as i64)),
            Val::Map(m) => mk(Val::Int(m.len() as i64)),
            Val::Str(s) => mk(Val::Int(s.chars().count() as i64)),
            _ => None,
        },
        ("contains", [l, x]) if matches!(l.val, Val::List(_)) && known(x) => {
            if l.items().iter().any(|i| i.is_unknown()) {
                return None;
            }
            mk(Val::Bool(l.items().iter().any(|i| i.val == x.val)))
        }
        ("join", [sep, l]) => {
            let parts: Option<Vec<String>> = l.items().iter().map(V::text).collect();
            let (parts, sep) = (parts?, sep.as_str()?);
            let len = parts.iter().map(String::len).sum::<usize>()
                + sep.len() * parts.len().saturating_sub(1);
            if !fits(len) {
                return None;
            }
            Some(V::new(Val::Str(parts.join(sep)), pos, fi))
        }
        ("format", [fmt, rest @ ..]) => {
            let mut out = String::new();
            let mut it = rest.iter();
            let mut chars = fmt.as_str()?.chars().peekable();
            while let Some(c) = chars.next() {
                if c != '%' {
                    out.push(c);
                    continue;
                }
                match chars.next()? {
                    '%' => out.push('%'),
                    's' | 'd' | 'v' => out.push_str(&it.next()?.text()?),
                    _ => return None,
                }
                if out.len() > super::MAX_STRING {
                    fits(out.len());
                    return None;
                }
            }
            mk(Val::Str(out))
        }
        _ => None,
    }
}

/// Whether a module source is the EKS module (registry, GitHub or git address).
pub fn is_eks_module(source: &str) -> bool {
    let s = source.trim().to_ascii_lowercase();
    s.starts_with("terraform-aws-modules/eks/aws")
        && !s
            .trim_start_matches("terraform-aws-modules/eks/aws")
            .starts_with("//modules")
        || (s.contains("terraform-aws-modules/terraform-aws-eks") && !s.contains("//modules"))
}

/// JSON text of a known value (`jsonencode` in a string), at most
/// [`super::MAX_STRING`] bytes.
pub fn to_json(v: &V) -> Option<String> {
    fn conv(v: &V, depth: usize) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        if depth > MAX_DEPTH * 4 {
            return None;
        }
        Some(match &v.val {
            Val::Null => J::Null,
            Val::Bool(b) => J::Bool(*b),
            Val::Int(i) => J::from(*i),
            Val::Float(f) => J::from(*f),
            Val::Str(s) => J::String(s.clone()),
            Val::List(items) => J::Array(
                items
                    .iter()
                    .map(|i| conv(i, depth + 1))
                    .collect::<Option<_>>()?,
            ),
            Val::Map(m) => J::Object(
                m.iter()
                    .map(|(k, i)| Some((k.clone(), conv(i, depth + 1)?)))
                    .collect::<Option<_>>()?,
            ),
            Val::Unknown(_) => return None,
        })
    }
    // JSON text is a string like any other: no longer than the bound.
    serde_json::to_string(&conv(v, 0)?)
        .ok()
        .filter(|t| t.len() <= super::MAX_STRING)
}

/// `<<-EOF` heredocs lose the smallest indentation of their lines.
fn dedent(s: &str, _n: usize) -> String {
    let min = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = s
        .lines()
        .map(|l| l.get(min..).unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n");
    // The text keeps its last line break, as the plain heredoc does.
    if s.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `data "aws_iam_policy_document"` as the JSON document it renders, keeping the
/// positions of its blocks.
fn policy_document(body: &V, pos: Pos, fi: u32) -> V {
    let mk = |val: Val, p: Pos| V::new(val, p, fi);
    let mut statements = Vec::new();
    for st in body.get("statement").map(V::items).unwrap_or(&[]) {
        let mut s: Vec<(String, V)> = Vec::new();
        let copy = |s: &mut Vec<(String, V)>, from: &str, to: &str| {
            if let Some(v) = st.get(from) {
                s.push((to.to_string(), v.clone()));
            }
        };
        copy(&mut s, "sid", "Sid");
        match st.get("effect") {
            Some(e) => s.push(("Effect".into(), e.clone())),
            None => s.push(("Effect".into(), mk(Val::Str("Allow".into()), st.pos))),
        }
        copy(&mut s, "actions", "Action");
        copy(&mut s, "not_actions", "NotAction");
        copy(&mut s, "resources", "Resource");
        copy(&mut s, "not_resources", "NotResource");
        for (block, key) in [
            ("principals", "Principal"),
            ("not_principals", "NotPrincipal"),
        ] {
            let Some(list) = st.get(block) else { continue };
            let mut by_type: Vec<(String, V)> = Vec::new();
            for p in list.items() {
                let Some(t) = p.get("type").and_then(V::as_str) else {
                    continue;
                };
                let ids = p
                    .get("identifiers")
                    .cloned()
                    .unwrap_or(mk(Val::Null, p.pos));
                match by_type.iter_mut().find(|(k, _)| k == t) {
                    Some((
                        _,
                        V {
                            val: Val::List(l), ..
                        },
                    )) => l.extend(ids.items().iter().cloned()),
                    _ => by_type.push((t.to_string(), ids)),
                }
            }
            s.push((key.into(), mk(Val::Map(by_type), list.pos)));
        }
        if let Some(conds) = st.get("condition") {
            let mut by_test: Vec<(String, V)> = Vec::new();
            for c in conds.items() {
                let (Some(test), Some(var)) = (c.get("test"), c.get("variable")) else {
                    continue;
                };
                let values = c.get("values").cloned().unwrap_or(mk(Val::Null, c.pos));
                // An undecided test or key leaves the whole condition undecided.
                let (Some(test), Some(var)) = (test.text(), var.text()) else {
                    by_test.push(("?".into(), V::unknown("condition", c.pos, fi)));
                    continue;
                };
                let entry = (var, values);
                match by_test.iter_mut().find(|(k, _)| *k == test) {
                    Some((
                        _,
                        V {
                            val: Val::Map(m), ..
                        },
                    )) => m.push(entry),
                    _ => by_test.push((test, mk(Val::Map(vec![entry]), c.pos))),
                }
            }
            if let Some(unknown) = by_test.iter().find(|(k, _)| k == "?") {
                s.push(("Condition".into(), unknown.1.clone()));
            } else {
                s.push(("Condition".into(), mk(Val::Map(by_test), conds.pos)));
            }
        }
        statements.push(mk(Val::Map(s), st.pos));
    }
    mk(
        Val::Map(vec![
            ("Version".into(), mk(Val::Str("2012-10-17".into()), pos)),
            ("Statement".into(), mk(Val::List(statements), pos)),
        ]),
        body.pos,
    )
}
#[cfg(test)]
mod tests {
    use super::*;

    /// The evaluated blocks of one file.
    fn blocks(text: &str) -> Vec<Evaluated> {
        let f = TfFile::parse("t.tf", text.to_string()).unwrap();
        evaluate(vec![f], &[]).blocks
    }

    /// The value of `expr` as the attribute `a` of a resource, after `prelude`.
    fn value_with(prelude: &str, expr: &str) -> V {
        let text = format!("{prelude}\nresource \"aws_iam_role\" \"t\" {{\n  a = {expr}\n}}\n");
        let b = blocks(&text);
        let r = b.iter().find(|b| b.address == "aws_iam_role.t").unwrap();
        r.attrs.get("a").cloned().unwrap()
    }

    fn value(expr: &str) -> V {
        value_with("", expr)
    }

    fn text(expr: &str) -> Option<String> {
        value(expr).text()
    }

    #[test]
    fn literals_and_positions() {
        let v = value("\"x\"");
        assert_eq!(v.as_str(), Some("x"));
        // The prelude is one empty line: the attribute is on line 3.
        assert_eq!(v.pos.line, 3);
        assert_eq!(value("42").as_i64(), Some(42));
        assert_eq!(value("1.5").val, Val::Float(1.5));
        assert_eq!(value("true").as_bool(), Some(true));
        assert_eq!(value("null").val, Val::Null);
        let list = value("[\"a\",\n    \"b\"]");
        assert_eq!(list.items().len(), 2);
        assert_eq!(list.items()[1].pos.line, 4);
        let map = value("{ k = \"v\", \"q\" = 1 }");
        assert_eq!(map.get("k").and_then(V::as_str), Some("v"));
        assert_eq!(map.get("q").and_then(V::as_i64), Some(1));
    }

    #[test]
    fn templates_and_heredocs() {
        let pre = "variable \"env\" {\n  default = \"prod\"\n}\nlocals {\n  n = 3\n}";
        assert_eq!(
            value_with(pre, "\"${var.env}-${local.n}\"").as_str(),
            Some("prod-3")
        );
        assert_eq!(
            value_with(pre, "<<-EOT\n    a ${var.env}\n    b\n  EOT").as_str(),
            Some("a prod\nb\n")
        );
        // A template over a value known only at apply is unknown as a whole.
        assert!(value("\"${aws_vpc.main.cidr_block}/x\"").is_unknown());
    }

    #[test]
    fn variables_locals_and_tfvars() {
        let pre = "variable \"public\" {\n  default = false\n}\nlocals {\n  p = var.public\n}";
        assert_eq!(value_with(pre, "local.p").as_bool(), Some(false));
        let tf = TfFile::parse(
            "main.tf",
            format!("{pre}\nresource \"aws_iam_role\" \"t\" {{\n  a = local.p\n}}\n"),
        )
        .unwrap();
        let vars = TfFile::parse("terraform.tfvars", "public = true\n".into()).unwrap();
        let m = evaluate(vec![tf], &[&vars]);
        let a = m.blocks[0].attrs.get("a").unwrap();
        assert_eq!(a.as_bool(), Some(true));
        // A variable without a default and not set is unknown.
        assert!(value_with("variable \"x\" {}", "var.x").is_unknown());
    }

    #[test]
    fn operators_and_conditionals() {
        assert_eq!(value("1 + 2").as_i64(), Some(3));
        assert_eq!(value("\"a\" == \"a\"").as_bool(), Some(true));
        assert_eq!(value("!true").as_bool(), Some(false));
        assert_eq!(text("true ? \"y\" : \"n\"").as_deref(), Some("y"));
        assert_eq!(text("(false ? \"y\" : \"n\")").as_deref(), Some("n"));
        // An undecided condition leaves the value unknown.
        assert!(value("var.nope ? 1 : 2").is_unknown());
        // `for` expressions are not evaluated: unknown, never wrong.
        assert!(value("[for s in [\"a\"] : upper(s)]").is_unknown());
    }

    #[test]
    fn functions() {
        for (expr, want) in [
            ("join(\",\", [\"a\", \"b\"])", "a,b"),
            ("format(\"%s-%d\", \"n\", 2)", "n-2"),
            ("replace(\"a-b-c\", \"-\", \"_\")", "a_b_c"),
            ("lower(\"AbC\")", "abc"),
            ("upper(\"abc\")", "ABC"),
            ("trimspace(\"  x \")", "x"),
            ("trimprefix(\"https://x\", \"https://\")", "x"),
            ("coalesce(\"\", \"b\")", "b"),
            ("element([\"a\", \"b\"], 1)", "b"),
            ("lookup({ a = \"1\" }, \"b\", \"d\")", "d"),
            ("tostring(5)", "5"),
            ("try(var.none, \"fallback\")", "fallback"),
        ] {
            assert_eq!(text(expr).as_deref(), Some(want), "{expr}");
        }
        assert_eq!(value("length([1, 2, 3])").as_i64(), Some(3));
        assert_eq!(value("contains([\"a\"], \"a\")").as_bool(), Some(true));
        assert_eq!(value("concat([1], [2, 3])").items().len(), 3);
        assert_eq!(value("distinct([1, 1, 2])").items().len(), 2);
        assert_eq!(value("toset([\"a\", \"a\"])").items().len(), 1);
        assert_eq!(text("sort([\"b\", \"a\"])[0]").as_deref(), Some("a"));
        let merged = value("merge({ a = 1 }, { a = 2, b = 3 })");
        assert_eq!(merged.get("a").and_then(V::as_i64), Some(2));
        assert_eq!(merged.get("b").and_then(V::as_i64), Some(3));
        assert_eq!(
            value("jsondecode(\"{\\\"k\\\": [1]}\")")
                .get("k")
                .map(|v| v.items().len()),
            Some(1)
        );
        // `jsonencode` keeps the structure (policies are read as structures).
        let enc = value("jsonencode({ Version = \"2012-10-17\" })");
        assert_eq!(enc.get("Version").and_then(V::as_str), Some("2012-10-17"));
        assert_eq!(
            to_json(&enc).as_deref(),
            Some("{\"Version\":\"2012-10-17\"}")
        );
        // A function the reader does not evaluate is unknown.
        assert!(value("cidrsubnet(\"10.0.0.0/16\", 8, 1)").is_unknown());
    }

    #[test]
    fn references_to_computed_attributes_are_stand_ins() {
        let pre = "resource \"aws_iam_role\" \"node\" {\n  name = \"nodes\"\n}\nresource \"aws_eks_cluster\" \"c\" {\n  name = \"prod\"\n}\nresource \"aws_security_group\" \"x\" {}";
        assert_eq!(
            value_with(pre, "aws_iam_role.node.arn").as_str(),
            Some("arn:aws:iam::000000000000:role/nodes")
        );
        assert_eq!(
            value_with(pre, "aws_eks_cluster.c.name").as_str(),
            Some("prod")
        );
        assert_eq!(
            value_with(
                pre,
                "aws_eks_cluster.c.vpc_config[0].cluster_security_group_id"
            )
            .as_str(),
            Some("./aws_eks_cluster.c.cluster_security_group_id")
        );
        assert_eq!(
            value_with(pre, "aws_security_group.x.id").as_str(),
            Some("./aws_security_group.x")
        );
        // A resource the directory does not declare gives nothing to stand in for.
        assert!(value_with(pre, "aws_security_group.y.id").is_unknown());
        // A plain attribute is read from the code; one only apply knows is unknown.
        assert_eq!(
            value_with(pre, "aws_iam_role.node.name").as_str(),
            Some("nodes")
        );
        assert!(value_with(pre, "aws_eks_cluster.c.endpoint").is_unknown());
    }

    #[test]
    fn count_and_for_each_make_addressed_instances() {
        let b = blocks(
            "resource \"aws_iam_role\" \"c\" {\n  count = 2\n  name = \"r${count.index}\"\n}\nresource \"aws_iam_role\" \"e\" {\n  for_each = { a = \"x\" }\n  name = \"${each.key}-${each.value}\"\n}\nresource \"aws_iam_role\" \"u\" {\n  count = var.n\n}\n",
        );
        let got: Vec<(&str, Option<&str>)> = b
            .iter()
            .map(|b| (b.address.as_str(), b.attrs.get("name").and_then(V::as_str)))
            .collect();
        assert_eq!(
            got,
            [
                ("aws_iam_role.c[0]", Some("r0")),
                ("aws_iam_role.c[1]", Some("r1")),
                ("aws_iam_role.e[\"a\"]", Some("a-x")),
                ("aws_iam_role.u", None),
            ]
        );
        assert_eq!(b[3].unknown_count.as_deref(), Some("var.n"));
    }

    #[test]
    fn policy_documents_from_data_sources() {
        let pre = "data \"aws_iam_policy_document\" \"d\" {\n  statement {\n    actions = [\"s3:*\"]\n    resources = [\"*\"]\n  }\n}";
        let doc = value_with(pre, "data.aws_iam_policy_document.d.json");
        let st = doc.get("Statement").unwrap().items();
        assert_eq!(st.len(), 1);
        assert_eq!(st[0].get("Effect").and_then(V::as_str), Some("Allow"));
        assert_eq!(st[0].get("Action").map(|a| a.items().len()), Some(1));
        // Positions point into the data source.
        assert_eq!(st[0].get("Action").unwrap().pos.line, 3);
    }
}
