//! Everything one run has read: objects plus the inputs that could not be read.

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

#[derive(Debug, Default)]
pub struct Inventory {
    pub objects: Vec<Object>,
    pub errors: Vec<InputError>,
    pub files_scanned: usize,
}

impl Inventory {
    /// Adds an object and gives it its id.
    pub fn push(&mut self, mut obj: Object) -> ObjectId {
        let id = ObjectId(self.objects.len() as u32);
        obj.id = id;
        self.objects.push(obj);
        id
    }

    pub fn get(&self, id: ObjectId) -> &Object {
        &self.objects[id.0 as usize]
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Object> + 'a {
        self.objects.iter().filter(move |o| &*o.kind == kind)
    }

    /// Merges another inventory into this one, renumbering its objects.
    pub fn extend(&mut self, other: Inventory) {
        for obj in other.objects {
            self.push(obj);
        }
        self.errors.extend(other.errors);
        self.files_scanned += other.files_scanned;
    }
}
