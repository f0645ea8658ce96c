//! Source text for code frames, read late and only for files that have findings. Lines
//! come out already masked where they hold secrets (see [`crate::mask`]): no reporter can
//! get at a raw line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::mask;

/// A file's text with where each line starts and which lines are masked.
#[derive(Debug)]
struct FileText {
    text: Box<str>,
    /// Byte ranges of the lines, as [`str::lines`] splits them.
    lines: Vec<(usize, usize)>,
    masked: Vec<bool>,
}

impl FileText {
    fn new(text: &str) -> Self {
        let mut lines = Vec::new();
        let mut at = 0;
        for piece in text.split_inclusive('\n') {
            // The same lines as `str::lines`: without `\n` or `\r\n`.
            let line = piece
                .strip_suffix('\n')
                .map_or(piece, |l| l.strip_suffix('\r').unwrap_or(l));
            lines.push((at, at + line.len()));
            at += piece.len();
        }
        FileText {
            masked: mask::secret_lines(text),
            text: text.into(),
            lines,
        }
    }
}

impl FileText {
    fn shown_line(&self, line: u32) -> Option<String> {
        let i = line.checked_sub(1)? as usize;
        let &(a, b) = self.lines.get(i)?;
        let raw = &self.text[a..b];
        Some(if self.masked[i] {
            mask::mask_line(raw)
        } else {
            raw.to_string()
        })
    }
}

/// Reads scanned files on demand; standard input (`-`) and tests register text up front.
#[derive(Debug, Default)]
pub struct SourceCache {
    texts: Mutex<HashMap<String, Option<Arc<FileText>>>>,
}

impl SourceCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers text for a name that cannot be read again (stdin) or for tests.
    pub fn insert(&self, name: &str, text: &str) {
        if let Ok(mut m) = self.texts.lock() {
            m.insert(name.to_string(), Some(Arc::new(FileText::new(text))));
        }
    }

    /// Line `line` (1-based) of `file` as a frame may show it, without its newline: with
    /// its value replaced by [`mask::MASK`] when the line holds or sits under a secret.
    pub fn shown_line(&self, file: &str, line: u32) -> Option<String> {
        self.file(file)?.shown_line(line)
    }

    /// Reads and masks the named files in parallel, ahead of a reporter that will ask for
    /// their lines one at a time; names already known are left as they are.
    pub fn preload<'n>(&self, names: impl IntoIterator<Item = &'n str>) {
        let mut wanted: Vec<&str> = {
            let Ok(m) = self.texts.lock() else { return };
            names.into_iter().filter(|n| !m.contains_key(*n)).collect()
        };
        wanted.sort_unstable();
        wanted.dedup();
        let loaded: Vec<(String, Option<Arc<FileText>>)> = wanted
            .par_iter()
            .map(|name| (name.to_string(), read(name)))
            .collect();
        if let Ok(mut m) = self.texts.lock() {
            for (name, text) in loaded {
                m.entry(name).or_insert(text);
            }
        }
    }

    /// The lines of a code frame at `line`: one line of context either side, masked as
    /// [`Self::shown_line`] masks them; `None` without the line itself (file gone or
    /// changed), where a frame would mislead.
    pub fn frame(&self, file: &str, line: u32) -> Option<Vec<(u32, String)>> {
        let f = self.file(file)?;
        let first = line.saturating_sub(1).max(1);
        let lines: Vec<(u32, String)> = (first..=line.saturating_add(1))
            .filter_map(|n| f.shown_line(n).map(|l| (n, l)))
            .collect();
        lines.iter().any(|(n, _)| *n == line).then_some(lines)
    }

    fn file(&self, file: &str) -> Option<Arc<FileText>> {
        let mut m = self.texts.lock().ok()?;
        if let Some(known) = m.get(file) {
            return known.clone();
        }
        let text = read(file);
        m.insert(file.to_string(), text.clone());
        text
    }
}

fn read(file: &str) -> Option<Arc<FileText>> {
    std::fs::read_to_string(file)
        .ok()
        .map(|t| Arc::new(FileText::new(&t)))
}

#[cfg(test)]
mod tests {
    use super::SourceCache;

    #[test]
    fn lines_come_out_masked() {
        let s = SourceCache::new();
        s.insert("a.yaml", "kind: Secret\r\ndata:\r\n  k: aGk=\r\n\r\nend: 1");
        assert_eq!(s.shown_line("a.yaml", 1).as_deref(), Some("kind: Secret"));
        assert_eq!(s.shown_line("a.yaml", 3).as_deref(), Some("  k: ********"));
        assert_eq!(s.shown_line("a.yaml", 4).as_deref(), Some(""));
        assert_eq!(s.shown_line("a.yaml", 5).as_deref(), Some("end: 1"));
        assert_eq!(s.shown_line("a.yaml", 6), None);
        assert_eq!(s.shown_line("a.yaml", 0), None);
        assert_eq!(s.shown_line("missing.yaml", 1), None);
    }
}
