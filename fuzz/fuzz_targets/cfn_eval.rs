//! A CloudFormation template built from the input so that the evaluator, not the parser,
//! is what runs: resources whose names and properties nest `Ref`, `Fn::Join`, `Fn::Sub`,
//! `Fn::GetAtt`, `Fn::Select`, `Fn::If` and conditions over each other and over other
//! resources. Nothing may panic, every warning names a line of the template, and no
//! evaluated string is longer than the bound or than the template itself.
#![no_main]

use eksguard_model::yaml::{parse_documents_keeping_tags, ParseLimits};
use eksguard_model::{Node, Value};
use libfuzzer_sys::fuzz_target;

/// Reads the input a byte at a time; zeros once it is used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn below(&mut self, n: u8) -> u8 {
        self.byte() % n
    }
}

const TYPES: &[(&str, &str)] = &[
    ("AWS::IAM::Role", "RoleName"),
    ("AWS::EKS::Cluster", "Name"),
    ("AWS::EC2::SecurityGroup", "GroupName"),
    ("AWS::EC2::LaunchTemplate", "LaunchTemplateName"),
    ("AWS::KMS::Key", "Description"),
    ("AWS::EKS::Nodegroup", "NodegroupName"),
    ("AWS::IAM::Policy", "PolicyName"),
];
const ATTRS: &[&str] = &["Arn", "RoleId", "ClusterSecurityGroupId", "GroupId", "Nope"];
const WORDS: &[&str] = &["a", "x-", "${R0}", "${R1.Arn}", "${P0}", "${!Lit}", "${", "}", "é", ""];

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn word(b: &mut Bytes) -> String {
    let n = b.below(4) + 1;
    (0..n)
        .map(|_| WORDS[b.below(WORDS.len() as u8) as usize])
        .collect()
}

fn expr(b: &mut Bytes, resources: u8, depth: u32) -> String {
    let r = |b: &mut Bytes| format!("R{}", b.below(resources));
    if depth > 6 {
        return json_str(&word(b));
    }
    let d = depth + 1;
    match b.below(12) {
        0 => json_str(&word(b)),
        1 | 2 => format!("{{\"Ref\": {}}}", json_str(&r(b))),
        3 => format!("{{\"Ref\": \"P{}\"}}", b.below(3)),
        4 | 5 => {
            let n = b.below(4);
            let items: Vec<String> = (0..n).map(|_| expr(b, resources, d)).collect();
            format!(
                "{{\"Fn::Join\": [{}, [{}]]}}",
                json_str(&word(b)),
                items.join(", ")
            )
        }
        6 => format!("{{\"Fn::Sub\": {}}}", json_str(&word(b))),
        7 => format!(
            "{{\"Fn::Sub\": [{}, {{\"V\": {}}}]}}",
            json_str(&format!("${{V}}{}", word(b))),
            expr(b, resources, d)
        ),
        8 => format!(
            "{{\"Fn::GetAtt\": [{}, \"{}\"]}}",
            json_str(&r(b)),
            ATTRS[b.below(ATTRS.len() as u8) as usize]
        ),
        9 => format!(
            "{{\"Fn::Select\": [{}, [{}, {}]]}}",
            b.below(3),
            expr(b, resources, d),
            expr(b, resources, d)
        ),
        10 => format!(
            "{{\"Fn::If\": [\"C{}\", {}, {}]}}",
            b.below(3),
            expr(b, resources, d),
            expr(b, resources, d)
        ),
        _ => format!("[{}]", expr(b, resources, d)),
    }
}

fn condition(b: &mut Bytes, resources: u8, depth: u32) -> String {
    if depth > 4 {
        return format!("{{\"Condition\": \"C{}\"}}", b.below(3));
    }
    let d = depth + 1;
    match b.below(5) {
        0 => format!(
            "{{\"Fn::Equals\": [{}, {}]}}",
            expr(b, resources, d),
            expr(b, resources, d)
        ),
        1 => format!("{{\"Fn::Not\": [{}]}}", condition(b, resources, d)),
        2 => format!(
            "{{\"Fn::And\": [{}, {}]}}",
            condition(b, resources, d),
            condition(b, resources, d)
        ),
        3 => format!(
            "{{\"Fn::Or\": [{}, {}]}}",
            condition(b, resources, d),
            condition(b, resources, d)
        ),
        _ => format!("{{\"Condition\": \"C{}\"}}", b.below(3)),
    }
}

fn template(data: &[u8]) -> String {
    let mut b = Bytes(data);
    let resources = b.below(40) + 1;
    let params: Vec<String> = (0..3)
        .map(|i| format!("\"P{i}\": {{\"Type\": \"String\", \"Default\": {}}}", json_str(&word(&mut b))))
        .collect();
    let conditions: Vec<String> = (0..3)
        .map(|i| format!("\"C{i}\": {}", condition(&mut b, resources, 0)))
        .collect();
    let mut res = Vec::new();
    for i in 0..resources {
        let (ty, name) = TYPES[b.below(TYPES.len() as u8) as usize];
        let mut props = vec![format!("\"{name}\": {}", expr(&mut b, resources, 0))];
        if b.below(2) == 0 {
            props.push(format!("\"Roles\": [{}]", expr(&mut b, resources, 0)));
        }
        if b.below(2) == 0 {
            props.push(format!(
                "\"ResourcesVpcConfig\": {{\"SecurityGroupIds\": [{}], \"EndpointPublicAccess\": {}}}",
                expr(&mut b, resources, 0),
                expr(&mut b, resources, 0)
            ));
        }
        let cond = match b.below(4) {
            0 => format!(", \"Condition\": \"C{}\"", b.below(3)),
            _ => String::new(),
        };
        res.push(format!(
            "\"R{i}\": {{\"Type\": \"{ty}\"{cond}, \"Properties\": {{{}}}}}",
            props.join(",\n")
        ));
    }
    format!(
        "{{\"Parameters\": {{{}}},\n\"Conditions\": {{{}}},\n\"Resources\": {{\n{}\n}}}}\n",
        params.join(",\n"),
        conditions.join(",\n"),
        res.join(",\n")
    )
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
    let text = template(data);
    let lines = text.lines().count() as u32 + 1;
    let path: std::sync::Arc<str> = "template.json".into();
    for doc in parse_documents_keeping_tags(&text, false, ParseLimits::default())
        .into_iter()
        .flatten()
    {
        let r = eksguard_load::iac::cloudformation::load(&doc.root, &path);
        for e in r.errors.iter().chain(&r.warnings) {
            assert_eq!(e.file, "template.json");
            assert!(e.line.is_none_or(|l| (1..=lines).contains(&l)), "{e}");
        }
        let bound = eksguard_load::iac::MAX_STRING.max(text.len()) + 200;
        for o in &r.objects {
            let n = longest(&o.root, 0);
            assert!(n <= bound, "a string of {n} bytes from a template of {}", text.len());
        }
    }
});
