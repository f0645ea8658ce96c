//! Terraform's JSON syntax (`.tf.json`, `.tfvars.json`) written out as the native syntax
//! the HCL reader evaluates, each item on the line the JSON gives it, so the same reader
//! (references, functions, the EKS module, suppressions aside) and the same positions
//! serve both syntaxes.
//!
//! In the JSON syntax a string is a template (`"${aws_iam_role.node.arn}"`), as a quoted
//! string is in the native syntax, except in a variable's `default` and in variable files,
//! where it is literal. Nested blocks are objects (or arrays of objects); whether a key
//! names a block or a map attribute depends on the provider's schema, which the reader
//! does not have: the block names the mappers read are listed, and a block given as one
//! object becomes a list of one, as a block written once is in the native syntax.
//!
//! Pretty-printed JSON keeps every line; in compact JSON, attributes of one block written
//! on one line each take the next line (the native syntax wants one per line).

use eksguard_model::{InputError, Node, Value};

use super::MAX_DEPTH;

/// Nested blocks of the resources the mappers read (an object under one of these keys is
/// a block, a list of one).
const BLOCKS: &[&str] = &[
    "vpc_config",
    "access_config",
    "compute_config",
    "encryption_config",
    "provider",
    "kubernetes_network_config",
    "launch_template",
    "remote_access",
    "scaling_config",
    "update_config",
    "taint",
    "access_scope",
    "ingress",
    "egress",
    "metadata_options",
    "network_interfaces",
    "block_device_mappings",
    "inline_policy",
    "oidc",
    "statement",
    "principals",
    "not_principals",
    "condition",
    "metadata",
    "datasources",
    "kubernetes",
    "audit_logs",
    "malware_protection",
    "scan_ec2_instance_with_findings",
    "ebs_volumes",
    "additional_configuration",
    "image_scanning_configuration",
    "encryption_configuration",
    "rule",
    "repository_filter",
    "event_selector",
    "advanced_event_selector",
    "field_selector",
    "data_resource",
    "insight_selector",
    "pod_identity_association",
];

/// The native-syntax text of a `.tf.json` file (`vars`: a `.tfvars.json` file).
pub fn to_hcl(name: &str, text: &str, vars: bool) -> Result<String, InputError> {
    let mut docs = eksguard_model::yaml::parse_documents(
        text,
        false,
        eksguard_model::yaml::ParseLimits::default(),
    );
    let root = match docs.pop() {
        Some(Ok(doc)) => doc.root,
        Some(Err(e)) => {
            return Err(InputError::new(
                name,
                Some(e.line),
                format!("invalid JSON: {}; file skipped", e.message),
            ))
        }
        None => return Ok(String::new()),
    };
    let Value::Map(entries) = &root.value else {
        return Err(InputError::new(
            name,
            Some(root.pos.line),
            "Terraform JSON must be an object; file skipped",
        ));
    };
    let mut w = Writer {
        out: String::new(),
        line: 1,
        name,
    };
    for e in entries {
        if vars {
            w.at(e.key_pos.line);
            w.attr(&e.key, &e.value, true, 0)?;
            continue;
        }
        match &*e.key {
            "resource" | "data" => {
                for (ty, names) in pairs(&e.value) {
                    for (n, body) in pairs(names) {
                        for body in bodies(body) {
                            w.at(body.pos.line);
                            w.open(&format!("{} {} {}", e.key, quote(ty), quote(n)));
                            w.body(body, 0)?;
                            w.close();
                        }
                    }
                }
            }
            "module" => {
                for (n, body) in pairs(&e.value) {
                    for body in bodies(body) {
                        w.at(body.pos.line);
                        w.open(&format!("module {}", quote(n)));
                        w.body(body, 0)?;
                        w.close();
                    }
                }
            }
            "variable" => {
                for (n, body) in pairs(&e.value) {
                    w.at(body.pos.line);
                    w.open(&format!("variable {}", quote(n)));
                    for d in body.entries().iter().filter(|d| &*d.key == "default") {
                        w.at(d.key_pos.line);
                        w.attr("default", &d.value, true, 0)?;
                    }
                    w.close();
                }
            }
            "locals" => {
                for body in bodies(&e.value) {
                    w.at(body.pos.line);
                    w.open("locals");
                    for l in body.entries() {
                        w.at(l.key_pos.line);
                        w.attr(&l.key, &l.value, false, 0)?;
                    }
                    w.close();
                }
            }
            // Outputs, providers and settings describe no resource.
            _ => {}
        }
    }
    Ok(w.out)
}

/// The entries of an object (nothing for another value).
fn pairs(n: &Node) -> impl Iterator<Item = (&str, &Node)> {
    n.entries().iter().map(|e| (&*e.key, &e.value))
}

/// The bodies of a block given as an object or an array of objects.
fn bodies(n: &Node) -> Vec<&Node> {
    match &n.value {
        Value::Seq(items) => items.iter().filter(|i| i.is_map()).collect(),
        Value::Map(_) => vec![n],
        _ => Vec::new(),
    }
}

struct Writer<'a> {
    out: String,
    /// The line being written (1-based).
    line: u32,
    name: &'a str,
}

impl Writer<'_> {
    /// Starts a new line, blank lines first up to `line` where it is ahead.
    fn at(&mut self, line: u32) {
        if !self.out.is_empty() {
            self.newline();
        }
        while self.line < line {
            self.newline();
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.line += 1;
    }

    fn open(&mut self, head: &str) {
        self.out.push_str(head);
        self.out.push_str(" {");
    }

    fn close(&mut self) {
        self.newline();
        self.out.push('}');
    }

    /// The attributes of a block body; `depth` bounds the nesting.
    fn body(&mut self, body: &Node, depth: usize) -> Result<(), InputError> {
        for e in body.entries() {
            // `//` keys are comments; meta-arguments the reader ignores are left out.
            if matches!(
                &*e.key,
                "//" | "depends_on" | "lifecycle" | "provisioner" | "connection"
            ) {
                continue;
            }
            self.at(e.key_pos.line);
            let block = BLOCKS.contains(&&*e.key) && e.value.is_map();
            if block {
                // A block written once: a list of one, as the native syntax reads it.
                self.out.push_str(&e.key);
                self.out.push_str(" = [");
                self.value(&e.value, false, depth + 1)?;
                self.out.push(']');
            } else {
                self.attr(&e.key, &e.value, false, depth)?;
            }
        }
        Ok(())
    }

    /// An attribute `key = value`; a key that is no identifier cannot be one and is left
    /// out.
    fn attr(&mut self, key: &str, v: &Node, literal: bool, depth: usize) -> Result<(), InputError> {
        if !ident(key) {
            return Ok(());
        }
        self.out.push_str(key);
        self.out.push_str(" = ");
        self.value(v, literal, depth + 1)
    }

    /// A JSON value as a native expression, items on their own lines.
    fn value(&mut self, v: &Node, literal: bool, depth: usize) -> Result<(), InputError> {
        if depth > MAX_DEPTH {
            return Err(InputError::new(
                self.name,
                Some(v.pos.line),
                format!("nesting deeper than {MAX_DEPTH} levels; file skipped"),
            ));
        }
        match &v.value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) if f.is_finite() => self.out.push_str(&f.to_string()),
            Value::Float(_) => self.out.push_str("null"),
            Value::Str(s) => self.out.push_str(&string(s, literal)),
            Value::Seq(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    if item.pos.line > self.line {
                        self.at(item.pos.line);
                    }
                    self.value(item, literal, depth + 1)?;
                }
                self.out.push(']');
            }
            Value::Map(entries) => {
                // Items on a later line go there; items on the same line stay on it,
                // separated by commas, so compact JSON keeps its lines too.
                self.out.push('{');
                for (i, e) in entries.iter().enumerate() {
                    if e.key_pos.line > self.line {
                        self.at(e.key_pos.line);
                    } else if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.out.push_str(&quote(&e.key));
                    self.out.push_str(" = ");
                    self.value(&e.value, literal, depth + 1)?;
                }
                self.out.push('}');
            }
        }
        Ok(())
    }
}

/// Whether `s` is an identifier of the native syntax (an attribute's name).
fn ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// A quoted name (a label, a key): never a template.
fn quote(s: &str) -> String {
    string(s, true)
}

/// A quoted string; `literal` escapes the template sequences.
fn string(s: &str, literal: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if literal && chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::super::hcl;
    use super::*;

    fn eval(text: &str) -> hcl::Module {
        let native = to_hcl("main.tf.json", text, false).unwrap();
        let f = hcl::TfFile::parse("main.tf.json", native).unwrap();
        hcl::evaluate(vec![f], &[])
    }

    #[test]
    fn resources_keep_their_lines_and_blocks_become_lists_of_one() {
        let text = r#"{
  "resource": {
    "aws_eks_cluster": {
      "c": {
        "name": "prod",
        "vpc_config": {
          "endpoint_public_access": true,
          "public_access_cidrs": ["0.0.0.0/0"]
        },
        "tags": {"team": "ops"},
        "role_arn": "${aws_iam_role.r.arn}"
      }
    },
    "aws_iam_role": {"r": {"name": "cluster"}}
  }
}"#;
        let m = eval(text);
        let c = m.blocks.iter().find(|b| b.ty == "aws_eks_cluster").unwrap();
        assert_eq!(c.address, "aws_eks_cluster.c");
        assert_eq!(c.pos.line, 4);
        let vpc = c.attrs.get("vpc_config").unwrap();
        assert_eq!(vpc.items().len(), 1);
        let public = vpc.items()[0].get("endpoint_public_access").unwrap();
        assert_eq!(public.as_bool(), Some(true));
        assert_eq!(public.pos.line, 7);
        assert_eq!(
            vpc.items()[0].get("public_access_cidrs").unwrap().pos.line,
            8
        );
        // A map attribute stays a map.
        assert_eq!(
            c.attrs
                .get("tags")
                .and_then(|t| t.get("team"))
                .and_then(super::super::V::as_str),
            Some("ops")
        );
        // Strings are templates: references resolve as in the native syntax.
        assert_eq!(
            c.attrs.get("role_arn").and_then(super::super::V::as_str),
            Some("arn:aws:iam::000000000000:role/cluster")
        );
    }

    #[test]
    fn variables_locals_modules_and_arrays_of_blocks() {
        let text = r#"{
  "variable": {
    "env": {
      "type": "string",
      "default": "${not-a-template}"
    }
  },
  "locals": {
    "n": "${var.env}-x"
  },
  "module": {
    "eks": {
      "source": "terraform-aws-modules/eks/aws",
      "version": "20.8.0"
    }
  },
  "resource": {
    "aws_security_group": {
      "g": {
        "ingress": [
          {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
          {"from_port": 443, "to_port": 443, "protocol": "tcp"}
        ],
        "description": "${local.n}"
      }
    }
  },
  "output": {"o": {"value": "x"}}
}"#;
        let m = eval(text);
        let g = m
            .blocks
            .iter()
            .find(|b| b.ty == "aws_security_group")
            .unwrap();
        let ingress = g.attrs.get("ingress").unwrap().items();
        assert_eq!(ingress.len(), 2);
        // Items of one line stay on it.
        assert_eq!(ingress[0].get("cidr_blocks").unwrap().pos.line, 21);
        assert_eq!(ingress[1].get("from_port").unwrap().pos.line, 22);
        assert_eq!(g.attrs.get("description").unwrap().pos.line, 24);
        // A variable's default is literal, never a template.
        assert_eq!(
            g.attrs.get("description").and_then(super::super::V::as_str),
            Some("${not-a-template}-x")
        );
        let module = m.blocks.iter().find(|b| b.block == "module").unwrap();
        assert_eq!(module.address, "module.eks");
        assert_eq!(module.pos.line, 12);
    }

    #[test]
    fn variable_files_and_bad_input() {
        let vars = to_hcl(
            "x.tfvars.json",
            "{\"public\": true,\n \"cidrs\": [\"a\"]}",
            true,
        )
        .unwrap();
        assert_eq!(vars, "public = true\ncidrs = [\"a\"]");
        let e = to_hcl("x.tf.json", "[1]", false).unwrap_err();
        assert_eq!(e.file, "x.tf.json");
        let e = to_hcl("x.tf.json", "{\n \"resource\": {,\n}", false).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.message.starts_with("invalid JSON"), "{}", e.message);
        assert_eq!(string("a\"b\\c${x}", true), "\"a\\\"b\\\\c$${x}\"");
    }
}
