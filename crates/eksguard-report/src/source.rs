//! Source text for code frames, read late and only for files that have findings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Reads scanned files on demand; standard input (`-`) and tests register text up front.
#[derive(Debug, Default)]
pub struct SourceCache {
    texts: Mutex<HashMap<String, Option<Arc<str>>>>,
}

impl SourceCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers text for a name that cannot be read again (stdin) or for tests.
    pub fn insert(&self, name: &str, text: &str) {
        if let Ok(mut m) = self.texts.lock() {
            m.insert(name.to_string(), Some(text.into()));
        }
    }

    /// Line `line` (1-based) of `file`, without its newline.
    pub fn line(&self, file: &str, line: u32) -> Option<String> {
        let text = self.text(file)?;
        text.lines()
            .nth(line.checked_sub(1)? as usize)
            .map(str::to_string)
    }

    fn text(&self, file: &str) -> Option<Arc<str>> {
        let mut m = self.texts.lock().ok()?;
        m.entry(file.to_string())
            .or_insert_with(|| std::fs::read_to_string(file).ok().map(Into::into))
            .clone()
    }
}
