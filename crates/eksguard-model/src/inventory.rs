//! Everything one run has read: objects plus the inputs that could not be read.

use std::sync::Arc;

use crate::object::{Object, ObjectId};

/// An input that could not be read or parsed; reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputError {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub message: String,
}

impl InputError {
    pub fn new(file: impl Into<String>, line: Option<u32>, message: impl Into<String>) -> Self {
        InputError {
            file: file.into(),
            line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{}: {}", self.file, l, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Files a scan met but did not read, by reason: a manifest that would be applied must
/// never drop out of a scan without a count. Every key is always serialised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FilesSkipped {
    /// Matched by a `.gitignore` (honoured only inside a git work tree).
    pub gitignored: usize,
    /// Matched by an `--exclude` or `exclude` pattern.
    pub excluded: usize,
    /// Found by walking a directory, with an extension other than `.yaml`, `.yml`, `.json`,
    /// `.tf`, `.tfvars`.
    pub unrecognised_extension: usize,
    /// Over the size limit (also reported as an error).
    pub too_large: usize,
    /// A FIFO, socket or device (reported as an error when named on the command line).
    pub not_regular_file: usize,
    /// A symbolic link back to a directory the walk is already inside.
    pub symlink_loop: usize,
    /// Named on the command line, but holding no document eksguard reads (a CI workflow,
    /// `package.json`): skipped with a warning rather than judged an input error.
    pub not_an_input: usize,
}

impl FilesSkipped {
    pub fn total(&self) -> usize {
        self.gitignored
            + self.excluded
            + self.unrecognised_extension
            + self.too_large
            + self.not_regular_file
            + self.symlink_loop
            + self.not_an_input
    }

    /// `(name, count)` for every reason, in the order of the JSON object.
    pub fn by_reason(&self) -> [(&'static str, usize); 7] {
        [
            ("gitignored", self.gitignored),
            ("excluded", self.excluded),
            ("unrecognised_extension", self.unrecognised_extension),
            ("too_large", self.too_large),
            ("not_regular_file", self.not_regular_file),
            ("symlink_loop", self.symlink_loop),
            ("not_an_input", self.not_an_input),
        ]
    }

    pub fn add(&mut self, other: &FilesSkipped) {
        self.gitignored += other.gitignored;
        self.excluded += other.excluded;
        self.unrecognised_extension += other.unrecognised_extension;
        self.too_large += other.too_large;
        self.not_regular_file += other.not_regular_file;
        self.symlink_loop += other.symlink_loop;
        self.not_an_input += other.not_an_input;
    }
}

#[derive(Debug, Default)]
pub struct Inventory {
    /// Shared, so an inventory built around objects held elsewhere (the admission
    /// server's watch cache) copies pointers, not trees. Ids increase along the list.
    pub objects: Vec<Arc<Object>>,
    pub errors: Vec<InputError>,
    /// Inputs read but only partly understood (a document that is no Kubernetes object, a
    /// directory without a single manifest): reported, without failing the run.
    pub warnings: Vec<InputError>,
    pub files_scanned: usize,
    pub files_skipped: FilesSkipped,
    /// The aws-auth ConfigMaps parsed, on first use; `push` and `extend` clear it.
    pub aws_auth: crate::aws_auth::Cache,
}

impl Inventory {
    /// The id the next object gets: one past the last, so ids are positions unless
    /// shared objects brought ids of their own.
    fn next_id(&self) -> ObjectId {
        ObjectId(self.objects.last().map_or(0, |o| o.id.0 + 1))
    }

    /// Adds an object and gives it its id.
    pub fn push(&mut self, mut obj: Object) -> ObjectId {
        let id = self.next_id();
        obj.id = id;
        self.objects.push(Arc::new(obj));
        self.aws_auth = crate::aws_auth::Cache::default();
        id
    }

    /// Takes the last object off (a judged request, at admission), dropping views made
    /// with it.
    pub fn pop(&mut self) -> Option<Arc<Object>> {
        self.aws_auth = crate::aws_auth::Cache::default();
        self.objects.pop()
    }

    /// Keeps the objects `keep` accepts, dropping views made with the others.
    pub fn retain(&mut self, keep: impl FnMut(&Arc<Object>) -> bool) {
        self.aws_auth = crate::aws_auth::Cache::default();
        self.objects.retain(keep);
    }

    /// Adds an object shared with its owner, under the id the owner gave it, which must
    /// be above those of the objects already here (see [`Inventory::get`]).
    pub fn push_shared(&mut self, obj: Arc<Object>) -> ObjectId {
        let id = obj.id;
        assert!(
            self.objects.last().is_none_or(|o| o.id < id),
            "shared objects come in increasing id order"
        );
        self.objects.push(obj);
        self.aws_auth = crate::aws_auth::Cache::default();
        id
    }

    /// Every `kube-system/aws-auth` ConfigMap with its mappings parsed, computed once
    /// and computed again after `push`, `pop`, `retain` or `extend`. Code that edits
    /// `objects` directly after calling this sees the old view: use those methods.
    pub fn aws_auth(&self) -> &[crate::aws_auth::AwsAuth] {
        self.aws_auth
            .0
            .get_or_init(|| crate::aws_auth::read_all(self))
    }

    /// The parsed aws-auth of one object, when it is one.
    pub fn aws_auth_of(&self, id: ObjectId) -> Option<&crate::aws_auth::AwsAuth> {
        self.aws_auth().iter().find(|a| a.object == id)
    }

    pub fn get(&self, id: ObjectId) -> &Object {
        match self.objects.get(id.0 as usize) {
            Some(o) if o.id == id => o,
            // Shared objects keep their owner's ids, which still increase.
            _ => {
                let at = self
                    .objects
                    .binary_search_by_key(&id, |o| o.id)
                    .unwrap_or_else(|_| panic!("object {id:?} is not in this inventory"));
                &self.objects[at]
            }
        }
    }

    /// Every object, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Object> + '_ {
        self.objects.iter().map(|o| &**o)
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.iter().filter(move |o| &*o.kind == kind)
    }

    /// Merges another inventory into this one, renumbering its objects (copying only one
    /// that is shared elsewhere).
    pub fn extend(&mut self, other: Inventory) {
        for mut obj in other.objects {
            let id = self.next_id();
            if obj.id != id {
                Arc::make_mut(&mut obj).id = id;
            }
            self.objects.push(obj);
        }
        self.aws_auth = crate::aws_auth::Cache::default();
        self.errors.extend(other.errors);
        self.warnings.extend(other.warnings);
        self.files_scanned += other.files_scanned;
        self.files_skipped.add(&other.files_skipped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::{Node, Pos, Value};
    use crate::object::Source;

    fn obj(name: &str) -> Object {
        Object::synthetic(
            "v1",
            "Thing",
            name,
            Node::new(Value::Null, Pos::NONE),
            Source::Live,
        )
    }

    #[test]
    fn shared_objects_keep_their_ids_and_are_found_by_them() {
        let mut inv = Inventory::default();
        for (id, name) in [(7, "a"), (9, "b"), (30, "c")] {
            let mut o = obj(name);
            o.id = ObjectId(id);
            inv.push_shared(Arc::new(o));
        }
        let own = inv.push(obj("d"));
        assert_eq!(own, ObjectId(31));
        for (id, name) in [(7, "a"), (9, "b"), (30, "c"), (31, "d")] {
            assert_eq!(&*inv.get(ObjectId(id)).name, name);
        }
        let mut all = Inventory::default();
        all.push(obj("first"));
        all.extend(inv);
        let ids: Vec<u32> = all.objects.iter().map(|o| o.id.0).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
        assert_eq!(&*all.get(ObjectId(3)).name, "c");
    }
}
