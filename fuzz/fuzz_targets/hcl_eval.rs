//! Terraform built from the input so that expression evaluation, not the parser, is what
//! runs: locals that refer to each other through templates, functions (`join`,
//! `format`, `replace`, `merge`, `concat`, `lookup`, ...), conditionals, objects and
//! indexes, used by a resource. Nothing may panic, every warning names a line, and no
//! string the evaluation builds is longer than the bound or than the text itself.
#![no_main]

use eksguard_model::{Node, Value};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn below(&mut self, n: u8) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                b % n
            }
            None => 0,
        }
    }
}

const WORDS: &[&str] = &["a", "x-", "%s", "${", "}", "é", "", "\\\"", "$${x}", "%%"];

fn word(b: &mut Bytes) -> String {
    let n = b.below(3) + 1;
    (0..n)
        .map(|_| WORDS[b.below(WORDS.len() as u8) as usize])
        .collect()
}

fn expr(b: &mut Bytes, locals: u8, depth: u32) -> String {
    let l = |b: &mut Bytes| format!("local.l{}", b.below(locals));
    if depth > 5 {
        return format!("\"{}\"", word(b));
    }
    let d = depth + 1;
    match b.below(14) {
        0 => format!("\"{}\"", word(b)),
        1 | 2 => l(b),
        3 => format!("\"${{{}}}${{{}}}\"", l(b), l(b)),
        4 => format!("join(\"{}\", [{}, {}])", word(b), expr(b, locals, d), expr(b, locals, d)),
        5 => format!("format(\"%s{}%s\", {}, {})", word(b), expr(b, locals, d), expr(b, locals, d)),
        6 => format!("replace({}, \"{}\", {})", expr(b, locals, d), word(b), expr(b, locals, d)),
        7 => format!("merge({{ a = {} }}, {{ b = {} }})", expr(b, locals, d), expr(b, locals, d)),
        8 => format!("concat([{}], [{}])", expr(b, locals, d), expr(b, locals, d)),
        9 => format!("lookup({{ k = {} }}, \"k\", {})", expr(b, locals, d), expr(b, locals, d)),
        10 => format!("{} == {} ? {} : {}", l(b), l(b), expr(b, locals, d), expr(b, locals, d)),
        11 => format!("[{}, {}][{}]", expr(b, locals, d), expr(b, locals, d), b.below(3)),
        12 => format!("jsonencode({{ v = {} }})", expr(b, locals, d)),
        _ => format!("<<EOF\n{}${{{}}}\nEOF\n", word(b), expr(b, locals, d)),
    }
}

fn text(data: &[u8]) -> String {
    let mut b = Bytes(data);
    let locals = b.below(30) + 1;
    let mut t = String::from("locals {\n");
    for i in 0..locals {
        t.push_str(&format!("  l{i} = {}\n", expr(&mut b, locals, 0)));
    }
    t.push_str("}\n");
    t.push_str(&format!(
        "resource \"aws_iam_role\" \"r\" {{\n  name = {}\n  description = {}\n  tags = {{ a = {} }}\n}}\n",
        expr(&mut b, locals, 0),
        expr(&mut b, locals, 0),
        expr(&mut b, locals, 0)
    ));
    t
}

fn longest(n: &Node, depth: usize) -> usize {
    if depth > 256 {
        return 0;
    }
    match &n.value {
        Value::Str(s) => s.len(),
        Value::Seq(items) => items.iter().map(|i| longest(i, depth + 1)).max().unwrap_or(0),
        Value::Map(entries) => entries
            .iter()
            .map(|e| e.key.len().max(longest(&e.value, depth + 1)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let t = text(data);
    let lines = t.lines().count() as u32 + 1;
    let (objects, warnings) = eksguard_load::iac::load_terraform_text("main.tf", &t);
    for w in &warnings {
        assert_eq!(w.file, "main.tf", "{w}");
        assert!(w.line.is_none_or(|l| (1..=lines).contains(&l)), "{w}");
    }
    let bound = eksguard_load::iac::MAX_STRING.max(t.len()) + 200;
    for o in &objects {
        let n = longest(&o.root, 0);
        assert!(n <= bound, "a string of {n} bytes from {} bytes of code", t.len());
    }
});
