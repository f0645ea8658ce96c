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
        Self::showing(text.into(), None)
    }

    /// The text with only the lines marked in `shown` (1-based line numbers) judged for
    /// secrets; the others are masked (see [`mask::secret_lines_of`]).
    fn showing(text: Box<str>, shown: Option<&[u32]>) -> Self {
        // The same lines as `str::lines`: without `\n` or `\r\n`, no empty last line.
        let bytes = text.as_bytes();
        let mut lines = Vec::new();
        let mut at = 0;
        let unterminated = !bytes.is_empty() && !bytes.ends_with(b"\n");
        let ends = memchr::memchr_iter(b'\n', bytes).chain(unterminated.then_some(bytes.len()));
        for end in ends {
            let line = &bytes[at..end];
            let line = line
                .strip_suffix(b"\r")
                .filter(|_| end < bytes.len())
                .unwrap_or(line);
            lines.push((at, at + line.len()));
            at = end + 1;
        }
        let shown = shown.map(|numbers| {
            let mut marks = vec![false; lines.len()];
            for n in numbers {
                if let Some(m) = (*n as usize).checked_sub(1).and_then(|i| marks.get_mut(i)) {
                    *m = true;
                }
            }
            marks
        });
        let texts: Vec<&str> = lines.iter().map(|&(a, b)| &text[a..b]).collect();
        let masked = mask::secret_lines_in(&texts, shown.as_deref());
        drop(texts);
        FileText {
            masked,
            text,
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

    /// Reads and masks, in parallel, the files of the code frames at `(file, line)` ahead of
    /// a reporter that will ask for exactly these frames: only their lines are judged
    /// for secrets, any other line of these files comes out masked. Names already known
    /// are left as they are.
    pub fn preload_frames<'n>(&self, frames: impl IntoIterator<Item = (&'n str, u32)>) {
        let mut wanted: HashMap<&str, Vec<u32>> = HashMap::new();
        {
            let Ok(m) = self.texts.lock() else { return };
            for (name, line) in frames {
                if !m.contains_key(name) {
                    let lines = wanted.entry(name).or_default();
                    let first = line.saturating_sub(1).max(1);
                    lines.extend(first..=line.saturating_add(1));
                }
            }
        }
        let mut wanted: Vec<(&str, Vec<u32>)> = wanted.into_iter().collect();
        wanted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let loaded: Vec<(String, Option<Arc<FileText>>)> = wanted
            .par_iter()
            .map(|(name, lines)| {
                let text = std::fs::read_to_string(name).ok();
                let text = text.map(|t| Arc::new(FileText::showing(t.into(), Some(lines))));
                (name.to_string(), text)
            })
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

    #[test]
    fn lines_are_cut_as_str_lines_cuts_them() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\nb\r\n",
            "a\r\nb\r",
            "\r\n\r\n",
            "a\n\nb",
            "x\ry\n",
        ] {
            let f = super::FileText::new(text);
            let got: Vec<&str> = f.lines.iter().map(|&(a, b)| &f.text[a..b]).collect();
            let want: Vec<&str> = text.lines().collect();
            assert_eq!(got, want, "{text:?}");
            assert_eq!(f.masked.len(), want.len());
        }
    }

    #[test]
    fn preloaded_frames_show_their_lines_and_mask_the_rest() {
        let dir = std::env::temp_dir().join(format!("eksguard-frames-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.yaml");
        let file = path.to_str().unwrap();
        std::fs::write(
            &path,
            "kind: Secret\ndata:\n  k: aGk=\nmetadata:\n  name: x\n  labels: {a: b}\n",
        )
        .unwrap();
        let s = SourceCache::new();
        s.preload_frames([(file, 2)]);
        let frame = s.frame(file, 2).unwrap();
        assert_eq!(
            frame,
            [
                (1, "kind: Secret".to_string()),
                (2, "data:".to_string()),
                (3, "  k: ********".to_string())
            ]
        );
        // A line no frame asked for is never shown as it is.
        assert_eq!(s.shown_line(file, 5).as_deref(), Some("  name: ********"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
