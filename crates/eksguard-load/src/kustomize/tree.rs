//! The tree a build works on: a [`Node`] whose every value also knows the file it was
//! written in, so a finding on a patched field points at the patch, not at the base.

use std::sync::Arc;

use eksguard_model::node::Entry;
use eksguard_model::{FieldPath, Node, Pos, Value};

/// Index of a file in the build's [`Files`].
pub(crate) type FileId = u32;

/// The files a build read, by [`FileId`].
#[derive(Debug, Default)]
pub(crate) struct Files {
    names: Vec<Arc<str>>,
}

impl Files {
    pub(crate) fn add(&mut self, name: &str) -> FileId {
        if let Some(i) = self.names.iter().position(|n| &**n == name) {
            return i as FileId;
        }
        self.names.push(name.into());
        (self.names.len() - 1) as FileId
    }

    pub(crate) fn name(&self, id: FileId) -> &Arc<str> {
        &self.names[id as usize]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct K {
    pub v: KV,
    pub pos: Pos,
    pub file: FileId,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KV {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<K>),
    Map(Vec<KE>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KE {
    pub key: String,
    pub key_pos: Pos,
    pub value: K,
}

impl K {
    pub(crate) fn new(v: KV, pos: Pos, file: FileId) -> K {
        K { v, pos, file }
    }

    pub(crate) fn str(s: &str, pos: Pos, file: FileId) -> K {
        K::new(KV::Str(s.to_string()), pos, file)
    }

    pub(crate) fn map(pos: Pos, file: FileId) -> K {
        K::new(KV::Map(Vec::new()), pos, file)
    }

    pub(crate) fn from_node(n: &Node, file: FileId) -> K {
        let v = match &n.value {
            Value::Null => KV::Null,
            Value::Bool(b) => KV::Bool(*b),
            Value::Int(i) => KV::Int(*i),
            Value::Float(f) => KV::Float(*f),
            Value::Str(s) => KV::Str(s.to_string()),
            Value::Seq(items) => KV::Seq(items.iter().map(|i| K::from_node(i, file)).collect()),
            Value::Map(entries) => KV::Map(
                entries
                    .iter()
                    .map(|e| KE {
                        key: e.key.to_string(),
                        key_pos: e.key_pos,
                        value: K::from_node(&e.value, file),
                    })
                    .collect(),
            ),
        };
        K::new(v, n.pos, file)
    }

    /// The plain tree, and the fields written in a file other than `own`: only the top of
    /// each such subtree, so the list stays short.
    pub(crate) fn into_node(
        self,
        files: &Files,
        own: FileId,
    ) -> (Node, Vec<(FieldPath, Arc<str>)>) {
        let mut table = Vec::new();
        let node = self.convert(files, own, &mut FieldPath::root(), &mut table);
        (node, table)
    }

    fn convert(
        self,
        files: &Files,
        parent: FileId,
        path: &mut FieldPath,
        table: &mut Vec<(FieldPath, Arc<str>)>,
    ) -> Node {
        if self.file != parent {
            table.push((path.clone(), files.name(self.file).clone()));
        }
        let file = self.file;
        let value = match self.v {
            KV::Null => Value::Null,
            KV::Bool(b) => Value::Bool(b),
            KV::Int(i) => Value::Int(i),
            KV::Float(f) => Value::Float(f),
            KV::Str(s) => Value::Str(s.into()),
            KV::Seq(items) => Value::Seq(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let mut p = path.index(i);
                        item.convert(files, file, &mut p, table)
                    })
                    .collect(),
            ),
            KV::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|e| {
                        let mut p = path.key(&e.key);
                        Entry {
                            key: e.key.into(),
                            key_pos: e.key_pos,
                            value: e.value.convert(files, file, &mut p, table),
                        }
                    })
                    .collect(),
            ),
        };
        Node::new(value, self.pos)
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.v {
            KV::Null => J::Null,
            KV::Bool(b) => J::Bool(*b),
            KV::Int(i) => J::from(*i),
            KV::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            KV::Str(s) => J::String(s.clone()),
            KV::Seq(items) => J::Array(items.iter().map(K::to_json).collect()),
            KV::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&K> {
        match &self.v {
            KV::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut K> {
        match &mut self.v {
            KV::Map(entries) => entries
                .iter_mut()
                .find(|e| e.key == key)
                .map(|e| &mut e.value),
            _ => None,
        }
    }

    /// Follows `a/b/c`.
    pub(crate) fn at(&self, path: &str) -> Option<&K> {
        path.split('/').try_fold(self, |n, k| n.get(k))
    }

    pub(crate) fn at_mut(&mut self, path: &str) -> Option<&mut K> {
        path.split('/').try_fold(self, |n, k| n.get_mut(k))
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.v {
            KV::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text, as YAML would read it into a string field.
    pub(crate) fn text(&self) -> Option<String> {
        match &self.v {
            KV::Str(s) => Some(s.clone()),
            KV::Bool(b) => Some(b.to_string()),
            KV::Int(i) => Some(i.to_string()),
            KV::Float(f) => Some(f.to_string()),
            _ => None,
        }
    }

    pub(crate) fn items(&self) -> &[K] {
        match &self.v {
            KV::Seq(s) => s,
            _ => &[],
        }
    }

    pub(crate) fn entries(&self) -> &[KE] {
        match &self.v {
            KV::Map(e) => e,
            _ => &[],
        }
    }

    pub(crate) fn is_map(&self) -> bool {
        matches!(self.v, KV::Map(_))
    }

    /// Sets `key` (key and value both from the writer of `value`, as a finding on the key
    /// must then point at that writer).
    pub(crate) fn set(&mut self, key: &str, key_pos: Pos, value: K) {
        if !self.is_map() {
            *self = K::map(value.pos, value.file);
        }
        if let KV::Map(entries) = &mut self.v {
            match entries.iter_mut().find(|e| e.key == key) {
                Some(e) => {
                    e.key_pos = key_pos;
                    e.value = value;
                }
                None => entries.push(KE {
                    key: key.to_string(),
                    key_pos,
                    value,
                }),
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<K> {
        match &mut self.v {
            KV::Map(entries) => {
                let i = entries.iter().position(|e| e.key == key)?;
                Some(entries.remove(i).value)
            }
            _ => None,
        }
    }

    /// The mapping under `key`, made (by `pos`/`file`) when absent or not a mapping.
    pub(crate) fn map_at(&mut self, key: &str, pos: Pos, file: FileId) -> &mut K {
        let present = self.get(key).is_some_and(K::is_map);
        if !present {
            self.set(key, pos, K::map(pos, file));
        }
        self.get_mut(key).expect("just set")
    }
}
