//! The book under `docs/book/` and the README, read as Markdown sources (no network, no
//! mdbook needed): every internal link and anchor resolves, every page is in `SUMMARY.md`,
//! and every sample marked as a command's output is what the binary prints.
//!
//! A sample is a ```` ```console ```` block whose first line is `$ eksguard ARGS`; the
//! rest of the block is the command's standard output, run from the repository root. A
//! line `...` alone stands for any number of lines. Paths of the checkout and durations
//! are normalised; nothing else is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

fn book_src() -> PathBuf {
    repo().join("docs/book/src")
}

/// Every Markdown file under `dir`, recursively, in name order.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(markdown_files(&p));
        } else if p.extension().is_some_and(|e| e == "md") {
            out.push(p);
        }
    }
    out
}

/// The pages the book renders: the Markdown sources plus the README.
fn checked_files() -> Vec<PathBuf> {
    let mut files = markdown_files(&book_src());
    files.push(repo().join("README.md"));
    files
}

/// One line of a Markdown file with its number, outside fenced code blocks.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut fence: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let marker: String = t.chars().take_while(|c| *c == '`' || *c == '~').collect();
        if marker.len() >= 3 && marker.chars().all(|c| c == marker.chars().next().unwrap()) {
            match &fence {
                None => {
                    fence = Some(marker);
                    continue;
                }
                Some(open)
                    if marker.starts_with(open.as_str()) && t[marker.len()..].trim().is_empty() =>
                {
                    fence = None;
                    continue;
                }
                Some(_) => {}
            }
        }
        if fence.is_none() {
            out.push((i + 1, line));
        }
    }
    out
}

/// `line` without its code spans (a run of backticks up to the next run as long).
fn without_code_spans(line: &str) -> String {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'`' {
            let n = b[i..].iter().take_while(|c| **c == b'`').count();
            let fence = &line[i..i + n];
            if let Some(end) = line[i + n..].find(fence) {
                i += n + end + n;
                out.push_str("code");
                continue;
            }
            out.push_str(fence);
            i += n;
            continue;
        }
        let ch = line[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// The targets of inline links and images on one line: `[text](target)`.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code_spans(line);
    let mut out = Vec::new();
    let mut rest = line.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        // Balanced parentheses, as in `(a_(b).md)`.
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let mut target = after[..end].trim();
        // A title after the destination: `(page.md "Title")`.
        if let Some((dest, _)) = target.split_once(" \"") {
            target = dest.trim();
        }
        let target = target.trim_start_matches('<').trim_end_matches('>');
        out.push(target.to_string());
        rest = &after[end..];
    }
    out
}

/// The anchor mdBook gives a heading: its text without markup, lower case, spaces as `-`,
/// and only letters, digits, `-` and `_` kept.
fn anchor_of(heading: &str) -> String {
    let text = without_markup(heading);
    text.chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c.to_lowercase().next().unwrap_or(c))
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// Heading text as rendered: code spans keep their text, links their label, emphasis
/// markers go.
fn without_markup(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after
            .find("](")
            .and_then(|m| after[m..].find(')').map(|e| (m, m + e)))
        {
            Some((m, e)) => {
                out.push_str(&after[..m]);
                rest = &after[e + 1..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace(['`', '*'], "")
}

/// The anchors of a Markdown file: its headings (repeats numbered `-1`, `-2`, as mdBook
/// numbers them) and explicit `id="..."` attributes.
fn anchors(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for (_, line) in prose_lines(&text) {
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let id = anchor_of(line[hashes..].trim());
            let n = seen.entry(id.clone()).or_insert(0);
            out.insert(if *n == 0 {
                id.clone()
            } else {
                format!("{id}-{n}")
            });
            *n += 1;
        }
        let mut rest = line;
        while let Some(at) = rest.find("id=\"") {
            let after = &rest[at + 4..];
            if let Some(end) = after.find('"') {
                out.insert(after[..end].to_string());
            }
            rest = after;
        }
    }
    out
}

/// `base/rel` with `.` and `..` resolved lexically.
fn join(base: &Path, rel: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in base.join(rel).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out
}

/// The pages `SUMMARY.md` lists, as paths under the book's sources.
fn summary_pages() -> Vec<PathBuf> {
    let text = std::fs::read_to_string(book_src().join("SUMMARY.md")).expect("SUMMARY.md");
    prose_lines(&text)
        .into_iter()
        .flat_map(|(_, l)| link_targets(l))
        .map(|t| join(&book_src(), &t))
        .collect()
}

#[test]
fn every_internal_link_and_anchor_resolves() {
    let root = repo();
    let listed: BTreeSet<PathBuf> = summary_pages().into_iter().collect();
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in checked_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel_file = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                checked += 1;
                let (path, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let dest = if path.is_empty() {
                    file.clone()
                } else {
                    join(file.parent().unwrap(), path)
                };
                let mut fail =
                    |why: String| broken.push(format!("{rel_file}:{n}: {target}: {why}"));
                if !dest.starts_with(&root) {
                    fail("leads outside the repository".into());
                    continue;
                }
                if !dest.exists() {
                    fail("no such file".into());
                    continue;
                }
                // The book renders only the pages of its summary; a link from the book to
                // any other page would be dead in the HTML.
                let in_book = file.starts_with(book_src());
                if in_book && dest.extension().is_some_and(|e| e == "md") && !listed.contains(&dest)
                {
                    fail("a page not listed in SUMMARY.md".into());
                    continue;
                }
                // mdBook renders `README.md` as `index.html` but links to it as `README.html`.
                if in_book && dest.file_name().is_some_and(|n| n == "README.md") {
                    fail(
                        "a README.md, which mdBook renders as index.html: name it index.md".into(),
                    );
                    continue;
                }
                if in_book && !dest.starts_with(book_src()) {
                    fail("outside the book's sources (dead in the HTML)".into());
                    continue;
                }
                if let Some(a) = anchor {
                    if dest.extension().is_none_or(|e| e != "md") {
                        fail("an anchor into a file that is not Markdown".into());
                    } else if !anchors(&dest).contains(a) {
                        fail(format!("no heading with anchor `{a}`"));
                    }
                }
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} links found: is the parser broken?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_page_is_in_the_summary_and_every_entry_exists() {
    let listed = summary_pages();
    let missing: Vec<_> = listed.iter().filter(|p| !p.is_file()).collect();
    assert!(
        missing.is_empty(),
        "SUMMARY.md lists missing pages: {missing:?}"
    );
    let mut dupes = BTreeSet::new();
    let twice: BTreeSet<&PathBuf> = listed.iter().filter(|p| !dupes.insert(*p)).collect();
    assert!(twice.is_empty(), "listed twice in SUMMARY.md: {twice:?}");
    let unlisted: Vec<String> = markdown_files(&book_src())
        .into_iter()
        .filter(|p| !p.ends_with("SUMMARY.md") && !listed.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    assert!(unlisted.is_empty(), "pages not in SUMMARY.md: {unlisted:?}");
}

/// A fence opened inside a list item (indented) whose lines or closing fence fall back to
/// the margin ends the item there, and Markdown then reads the rest of the page as code.
#[test]
fn indented_code_blocks_stay_in_their_list_items() {
    let root = repo();
    let mut wrong = Vec::new();
    for file in checked_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        let mut open: Option<(usize, usize)> = None;
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            let indent = line.len() - t.len();
            let fence = t.starts_with("```") || t.starts_with("~~~");
            match open {
                None if fence => open = Some((i + 1, indent)),
                Some((_, n)) if fence && indent == n && t.trim_end().len() == 3 => open = None,
                Some((at, n)) if n > 0 && !t.is_empty() && indent < n => {
                    wrong.push(format!(
                        "{rel}:{}: less indented than its fence at line {at}",
                        i + 1
                    ));
                    open = None;
                }
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn anchors_follow_mdbook() {
    assert_eq!(
        anchor_of("Admission webhook and continuous scanning: `eksguard serve`"),
        "admission-webhook-and-continuous-scanning-eksguard-serve"
    );
    assert_eq!(
        anchor_of("Hostile input: bounds of IaC, Security Hub and the follower"),
        "hostile-input-bounds-of-iac-security-hub-and-the-follower"
    );
    assert_eq!(anchor_of("What `scan` reads"), "what-scan-reads");
    assert_eq!(
        anchor_of("See [the guide](x.md) *now*"),
        "see-the-guide-now"
    );
    assert_eq!(
        link_targets("a [b](c.md#d) `[not](x.md)` ![i](../img.png \"t\")"),
        ["c.md#d", "../img.png"]
    );
}

/// A console sample: where it is, the arguments, and the expected output lines.
struct Sample {
    at: String,
    args: Vec<String>,
    expected: Vec<String>,
}

/// Words of a command line: spaces separate, single and double quotes group.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

fn samples() -> Vec<Sample> {
    let root = repo();
    let mut out = Vec::new();
    for file in checked_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let rel = file.strip_prefix(&root).unwrap().display().to_string();
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            let open = lines[i].trim_start();
            if open != "```console" {
                i += 1;
                continue;
            }
            let indent = lines[i].len() - open.len();
            let start = i + 1;
            let mut end = start;
            while end < lines.len() && lines[end].trim() != "```" {
                end += 1;
            }
            let body: Vec<String> = lines[start..end]
                .iter()
                .map(|l| l.get(indent..).unwrap_or("").to_string())
                .collect();
            i = end + 1;
            let Some(cmd) = body.first().and_then(|l| l.strip_prefix("$ eksguard ")) else {
                continue;
            };
            out.push(Sample {
                at: format!("{rel}:{}", start + 1),
                args: words(cmd),
                expected: body[1..].to_vec(),
            });
        }
    }
    out
}

/// Durations (`0.12 s`, `35ms`) as `<time>`, and the checkout's path as `.`.
fn normalise(text: &str, root: &str) -> Vec<String> {
    let is_num = |w: &str| {
        !w.is_empty()
            && w.chars().all(|c| c.is_ascii_digit() || c == '.')
            && w.chars().any(|c| c.is_ascii_digit())
    };
    text.replace(root, ".")
        .lines()
        .map(|l| {
            let words: Vec<&str> = l.split(' ').collect();
            let mut out: Vec<&str> = Vec::new();
            let mut i = 0;
            while i < words.len() {
                let w = words[i];
                let joined = ["ms", "s"]
                    .iter()
                    .any(|u| w.strip_suffix(u).is_some_and(is_num));
                if joined {
                    out.push("<time>");
                } else if is_num(w) && matches!(words.get(i + 1), Some(&"s" | &"ms")) {
                    out.push("<time>");
                    i += 1;
                } else {
                    out.push(w);
                }
                i += 1;
            }
            out.join(" ").trim_end().to_string()
        })
        .collect()
}

/// Whether `actual` matches `expected`, where a line `...` matches any run of lines.
fn matches(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|k| matches(rest, &actual[k..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| a == first && matches(rest, more)),
    }
}

#[test]
fn console_samples_are_what_the_binary_prints() {
    let root = repo();
    let root_text = root.display().to_string();
    let samples = samples();
    assert!(
        samples.len() >= 4,
        "only {} console samples found",
        samples.len()
    );
    let mut wrong = Vec::new();
    for s in &samples {
        let out = Command::new(env!("CARGO_BIN_EXE_eksguard"))
            .args(&s.args)
            .current_dir(&root)
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        let actual = normalise(&String::from_utf8_lossy(&out.stdout), &root_text);
        let expected = normalise(&s.expected.join("\n"), &root_text);
        if !matches(&expected, &actual) {
            wrong.push(format!(
                "{}: `eksguard {}` printed:\n{}\n(stderr: {})",
                s.at,
                s.args.join(" "),
                actual.join("\n"),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn sample_matching_and_normalising() {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(matches(&v(&["a", "...", "d"]), &v(&["a", "b", "c", "d"])));
    assert!(matches(&v(&["a", "...", "d"]), &v(&["a", "d"])));
    assert!(!matches(&v(&["a", "d"]), &v(&["a", "b", "d"])));
    assert_eq!(
        normalise("took 0.12 s and 35ms in /x/y/z  \n", "/x/y"),
        ["took <time> and <time> in ./z"]
    );
    assert_eq!(words("scan 'a b' \"c\" d"), ["scan", "a b", "c", "d"]);
}
