//! A JSON-like value tree in which every node and every mapping key carries its position.

use crate::path::{FieldPath, Seg};

/// A 1-based line and column in the source text; `line == 0` means "no position" (live objects).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    pub const NONE: Pos = Pos { line: 0, col: 0 };

    pub fn new(line: u32, col: u32) -> Self {
        Pos { line, col }
    }

    pub fn is_known(self) -> bool {
        self.line > 0
    }
}

/// One mapping entry: the key keeps its own position because findings point at the key line.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Box<str>,
    pub key_pos: Pos,
    pub value: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Box<str>),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

static NULL: Node = Node {
    value: Value::Null,
    pos: Pos::NONE,
};

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Node { value, pos }
    }

    pub fn null() -> &'static Node {
        &NULL
    }

    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| &*e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    /// Follows a dotted path of mapping keys, e.g. `"spec.template.spec"`.
    pub fn at(&self, dotted: &str) -> Option<&Node> {
        dotted.split('.').try_fold(self, |n, k| n.get(k))
    }

    pub fn index(&self, i: usize) -> Option<&Node> {
        self.as_seq().and_then(|s| s.get(i))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar rendered as text, the way Kubernetes reads numbers given where strings belong.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// A boolean given either as a YAML boolean or as the strings "true"/"false"
    /// (annotations and StorageClass parameters carry booleans as strings).
    pub fn as_bool_lenient(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) => Some(*b),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a sequence, or nothing for any other value.
    pub fn items(&self) -> &[Node] {
        self.as_seq().unwrap_or(&[])
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(e) => e,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// True for `null`, `{}`, `[]` and `""`: the "absent or empty" test many rules need.
    pub fn is_empty_value(&self) -> bool {
        match &self.value {
            Value::Null => true,
            Value::Str(s) => s.is_empty(),
            Value::Seq(s) => s.is_empty(),
            Value::Map(m) => m.is_empty(),
            _ => false,
        }
    }

    /// The position of the field named by `path`, or of its nearest existing ancestor.
    /// The flag is true when the field itself exists.
    pub fn locate(&self, path: &FieldPath) -> (Pos, bool) {
        self.locate_from(path.segs(), true)
    }

    fn locate_from(&self, segs: &[Seg], embedded: bool) -> (Pos, bool) {
        let mut node = self;
        let mut pos = self.pos;
        for (depth, seg) in segs.iter().enumerate() {
            // YAML held in a string (aws-auth `mapRoles`): go on inside the parsed text,
            // one level deep only, and only when it holds a collection.
            if embedded && matches!(node.value, Value::Str(_)) {
                if let Some(Ok(inner)) = crate::yaml::parse_embedded(node) {
                    if matches!(inner.value, Value::Map(_) | Value::Seq(_)) {
                        let (p, found) = inner.locate_from(&segs[depth..], false);
                        return (if p.is_known() { p } else { pos }, found);
                    }
                }
            }
            let next = match seg {
                Seg::Key(k) => match &node.value {
                    Value::Map(entries) => entries
                        .iter()
                        .find(|e| e.key == *k)
                        .map(|e| (e.key_pos, &e.value)),
                    _ => None,
                },
                Seg::Index(i) => node.index(*i).map(|n| (n.pos, n)),
            };
            match next {
                Some((p, n)) => {
                    if p.is_known() {
                        pos = p;
                    }
                    node = n;
                }
                None => return (pos, false),
            }
        }
        (pos, true)
    }

    /// Converts to a `serde_json::Value` (snapshots, generators, JSON output of objects).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.to_string(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a position-less tree from JSON (objects read from a live API).
    pub fn from_json(v: &serde_json::Value) -> Node {
        use serde_json::Value as J;
        let value = match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Value::Str(s.as_str().into()),
            J::Array(a) => Value::Seq(a.iter().map(Node::from_json).collect()),
            J::Object(o) => Value::Map(
                o.iter()
                    .map(|(k, v)| Entry {
                        key: k.as_str().into(),
                        key_pos: Pos::NONE,
                        value: Node::from_json(v),
                    })
                    .collect(),
            ),
        };
        Node::new(value, Pos::NONE)
    }
}

impl Drop for Node {
    // Deep trees would overflow the stack with the default recursive drop; flatten iteratively.
    fn drop(&mut self) {
        let mut stack: Vec<Node> = Vec::new();
        take_children(&mut self.value, &mut stack);
        while let Some(mut n) = stack.pop() {
            take_children(&mut n.value, &mut stack);
        }
    }
}

fn take_children(v: &mut Value, stack: &mut Vec<Node>) {
    match v {
        Value::Seq(items) if items.iter().any(|n| n.has_children()) => {
            stack.append(items);
        }
        Value::Map(entries) if entries.iter().any(|e| e.value.has_children()) => {
            let taken = std::mem::take(entries);
            stack.extend(
                taken.into_iter().map(|mut e| {
                    std::mem::replace(&mut e.value, Node::new(Value::Null, Pos::NONE))
                }),
            );
        }
        _ => {}
    }
}

impl Node {
    fn has_children(&self) -> bool {
        match &self.value {
            Value::Seq(s) => !s.is_empty(),
            Value::Map(m) => !m.is_empty(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_tree_drops_without_overflow() {
        let mut n = Node::new(Value::Null, Pos::NONE);
        for _ in 0..200_000 {
            n = Node::new(Value::Seq(vec![n]), Pos::NONE);
        }
        drop(n);
    }

    #[test]
    fn locate_enters_embedded_yaml_once() {
        let text = Node::new(Value::Str("plain".into()), Pos::new(4, 7));
        let root = Node::new(
            Value::Map(vec![Entry {
                key: "data".into(),
                key_pos: Pos::new(4, 1),
                value: text,
            }]),
            Pos::new(4, 1),
        );
        // A scalar that parses to itself must not send the search round in circles.
        assert_eq!(
            root.locate(&FieldPath::parse("data.x.y")),
            (Pos::new(4, 1), false)
        );
    }

    #[test]
    fn locate_falls_back_to_nearest_ancestor() {
        let leaf = Node::new(Value::Bool(true), Pos::new(3, 5));
        let spec = Node::new(
            Value::Map(vec![Entry {
                key: "a".into(),
                key_pos: Pos::new(3, 3),
                value: leaf,
            }]),
            Pos::new(3, 3),
        );
        let root = Node::new(
            Value::Map(vec![Entry {
                key: "spec".into(),
                key_pos: Pos::new(2, 1),
                value: spec,
            }]),
            Pos::new(2, 1),
        );
        assert_eq!(
            root.locate(&FieldPath::parse("spec.a")),
            (Pos::new(3, 3), true)
        );
        assert_eq!(
            root.locate(&FieldPath::parse("spec.b.c")),
            (Pos::new(2, 1), false)
        );
    }
}
