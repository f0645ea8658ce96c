//! Which source lines may be shown in a code frame. The decision is made per line, from
//! what the line holds and the keys it sits under, never from the finding a frame belongs
//! to: a frame's context lines can belong to another field or another object (a Secret
//! above a Pod in a `kind: List`, a credential next to an unrelated finding).
//!
//! A masked line keeps its indentation, list dashes and key, and shows [`MASK`] for the
//! value. A line is masked when
//! - its key looks like a credential (`password`, `token`, `apiKey`, `tls.key`,
//!   `UserData`, ...) and it has a value, or it lies under such a key;
//! - it lies under `data`/`stringData`/`binaryData` of a Secret (or of an object whose
//!   kind the text does not say), also inside `kind: List` items and pretty JSON;
//! - it is the `value` of an environment entry whose `name` looks like a credential;
//! - it holds a flow mapping or one-line JSON with any of the above (masked whole);
//! - it holds `--password=...`, `PASSWORD=...`, a credential flag followed by its value
//!   (on the same line or as the next list item), or `-p<value>`;
//! - it is part of a PEM block, a heredoc under a credential key, or holds a long base64
//!   blob, a JWT, an AWS access key ID or a URL with userinfo.
//!
//! When in doubt the line is masked: a frame with a hidden line is still useful, a leaked
//! value is not.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use memchr::memmem::Finder;

/// Substrings looked for on every line, each searcher built once.
static PEM_BEGIN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("-----BEGIN"));
static PEM_END: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("-----END"));
static JWT: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("eyJ"));
static SCHEME: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("://"));
static SHORT_P: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("-p"));
static AWS_KEY_PREFIXES: LazyLock<[Finder<'static>; 4]> =
    LazyLock::new(|| ["AKIA", "ASIA", "ABIA", "ACCA"].map(Finder::new));

fn has(finder: &Finder<'_>, s: &str) -> bool {
    finder.find(s.as_bytes()).is_some()
}

/// Shown instead of a masked value.
pub const MASK: &str = "********";

/// For each line of `text` (as [`str::lines`] splits it), whether it must be masked.
pub fn secret_lines(text: &str) -> Vec<bool> {
    secret_lines_of(text, None)
}

/// As [`secret_lines`], judged in full only for the lines marked in `shown` (0-based),
/// those a report will show: every other line comes out masked. What a line holds by
/// itself decides only that line, so the lines shown are judged exactly as a full pass
/// judges them; what carries over to the next lines (keys, blocks, PEM, a trailing
/// credential flag) is followed on every line.
pub fn secret_lines_of(text: &str, shown: Option<&[bool]>) -> Vec<bool> {
    let lines: Vec<&str> = text.lines().collect();
    secret_lines_in(&lines, shown)
}

/// As [`secret_lines_of`], for a text already cut into lines (as [`str::lines`] cuts it).
pub fn secret_lines_in(lines: &[&str], shown: Option<&[bool]>) -> Vec<bool> {
    let mut lines = lines;
    let total = lines.len();
    if let Some(shown) = shown {
        // Nothing from the document after the last line shown on bears on the lines
        // shown: every judgement looks back, or within its own document.
        let Some(last) = shown.iter().take(total).rposition(|s| *s) else {
            return vec![true; total];
        };
        if let Some(n) = lines[last + 1..].iter().position(|l| starts_document(l)) {
            lines = &lines[..last + 1 + n];
        }
    }
    let parsed: Vec<Line<'_>> = lines.iter().map(|l| Line::parse(l)).collect();
    let structure = Structure::build(&parsed);

    let mut masked = vec![false; lines.len()];
    // Whether a line's descendants are secret (the line bears secrets, or inherits that).
    let mut secret_below = vec![false; lines.len()];
    let mut in_pem = false;
    let mut heredoc_end: Option<String> = None;
    let mut flag_pending = false;
    for (i, line) in parsed.iter().enumerate() {
        if line.blank {
            continue;
        }
        let raw = lines[i];
        let mut hide = false;

        if let Some(end) = &heredoc_end {
            hide = true;
            if raw.trim() == end {
                heredoc_end = None;
            }
        }
        if has(&PEM_BEGIN, raw) {
            in_pem = !has(&PEM_END, raw);
            hide = true;
        } else if in_pem {
            hide = true;
            if has(&PEM_END, raw) {
                in_pem = false;
            }
        }
        // The value of a credential flag that ended the line before.
        hide |= flag_pending;

        let inherited = structure.parent[i].is_some_and(|p| secret_below[p]);
        // A key right under `data`: there, account names count too.
        let in_data = structure.parent[i]
            .and_then(|p| parsed[p].key)
            .is_some_and(|k| DATA_KEYS.contains(&k));
        hide |= inherited;

        if let Some(key) = line.key {
            let bears = bears_secrets(key, structure.kind_of(i)) || (in_data && account_key(key));
            secret_below[i] = inherited || bears;
            if bears && has_value(line.value) {
                hide = true;
            }
            if key == "value" && structure.name_of(i).is_some_and(credential_key) {
                hide = true;
            }
            if bears {
                if let Some(end) = heredoc_marker(line.value) {
                    heredoc_end = Some(end);
                }
            }
        } else {
            secret_below[i] = inherited;
        }

        let shown_here = shown.is_none_or(|s| s.get(i).copied().unwrap_or(false));
        let (local, next) = match shown_here {
            true => holds_secret(line.content),
            false => flag_secret(line.content),
        };
        hide |= local || !shown_here;
        flag_pending = next;

        masked[i] = hide;
    }
    masked.resize(total, true);
    masked
}

/// `line` as a masked frame shows it: the key kept, the value hidden; a line of flow
/// collection or JSON object hidden whole past its indentation.
pub fn mask_line(line: &str) -> String {
    let body = strip_lead(line);
    if body.starts_with(['{', '[']) {
        let lead = &line[..line.len() - body.len()];
        return format!("{lead}{MASK}");
    }
    mask_value(line)
}

/// Keeps indentation, list dashes and the key of a `key: value` line and hides the rest;
/// a line with no key (a block scalar's body) is hidden past its indentation.
pub fn mask_value(line: &str) -> String {
    let (lead, body) = line.split_at(line.len() - strip_lead(line).len());
    match key_end(body).or_else(|| assign_end(body)) {
        Some(end) if body[end..].trim().is_empty() => line.to_string(),
        Some(end) => format!("{lead}{} {MASK}", &body[..end]),
        None if body.trim().is_empty() => line.to_string(),
        None => format!("{lead}{MASK}"),
    }
}

/// One line, split into what the masking decision looks at.
struct Line<'a> {
    /// Byte column of the content past indentation and sequence dashes.
    col: usize,
    /// The line starts a sequence item.
    dash: bool,
    /// The mapping key, unquoted (`key:` in YAML and JSON, `key =` in HCL and TOML).
    key: Option<&'a str>,
    /// What follows the key, trimmed (a trailing JSON comma removed).
    value: &'a str,
    /// The line past indentation, dashes and a comment's `#`.
    content: &'a str,
    blank: bool,
    /// A comment, a document separator or a closing bracket: no place in the structure.
    structural: bool,
    doc_start: bool,
}

impl<'a> Line<'a> {
    fn parse(raw: &'a str) -> Self {
        let body = strip_lead(raw);
        let col = raw.len() - body.len();
        let t = raw.trim_start_matches([' ', '\t']);
        let dash = t == "-" || t.starts_with("- ") || t.starts_with("-\t");
        let blank = body.trim().is_empty() && !dash;
        let trimmed = raw.trim();
        let doc_start = starts_document(raw);
        let comment = body.starts_with('#');
        let content = if comment {
            body.trim_start_matches('#').trim_start()
        } else {
            body
        };
        let closing = body.starts_with(['}', ']']);
        let (key, value) = match key_end(content).or_else(|| assign_end(content)) {
            Some(end) => {
                let k = content[..end].trim_end_matches([':', '=']).trim();
                let v = content[end..].trim();
                let v = v.strip_suffix(',').unwrap_or(v).trim_end();
                (Some(unquote(k)), v)
            }
            None => (None, content.trim()),
        };
        Line {
            col,
            dash,
            key,
            value,
            content,
            blank: blank || trimmed.is_empty(),
            structural: !(comment || doc_start || closing),
            doc_start,
        }
    }
}

/// A document separator or end marker.
fn starts_document(raw: &str) -> bool {
    raw.starts_with("---") || raw.starts_with("...")
}

/// Parents and mapping scopes by indentation: enough structure to know which key a line
/// sits under and which `kind` and `name` its mapping has, whatever the key order.
struct Structure {
    parent: Vec<Option<usize>>,
    scope: Vec<usize>,
    kinds: Vec<Option<String>>,
    names: Vec<Option<String>>,
}

impl Structure {
    fn build(lines: &[Line<'_>]) -> Self {
        struct Open {
            col: usize,
            line: usize,
            scope: usize,
        }
        let mut s = Structure {
            parent: vec![None; lines.len()],
            scope: vec![0; lines.len()],
            kinds: vec![None],
            names: vec![None],
        };
        let mut stack: Vec<Open> = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if l.doc_start {
                stack.clear();
                s.kinds.push(None);
                s.names.push(None);
            }
            if l.blank || !l.structural {
                // A comment or a closing bracket belongs under what encloses its column.
                s.scope[i] = s.kinds.len() - 1;
                s.parent[i] = stack.iter().rev().find(|o| o.col < l.col).map(|o| o.line);
                continue;
            }
            while stack.last().is_some_and(|o| o.col > l.col) {
                stack.pop();
            }
            let new_scope = |s: &mut Structure| {
                s.kinds.push(None);
                s.names.push(None);
                s.kinds.len() - 1
            };
            let (parent, scope) = match stack.last() {
                Some(top) if top.col == l.col => {
                    let scope = if l.dash { new_scope(&mut s) } else { top.scope };
                    stack.pop();
                    (stack.last().map(|o| o.line), scope)
                }
                Some(top) => (Some(top.line), new_scope(&mut s)),
                None => {
                    // Top-level keys of one document share a scope.
                    (None, s.kinds.len() - 1)
                }
            };
            stack.push(Open {
                col: l.col,
                line: i,
                scope,
            });
            s.parent[i] = parent;
            s.scope[i] = scope;
            match l.key {
                Some("kind") => s.kinds[scope] = Some(unquote(l.value).to_string()),
                Some("name") => s.names[scope] = Some(unquote(l.value).to_string()),
                _ => {}
            }
        }
        s
    }

    fn kind_of(&self, line: usize) -> Option<&str> {
        self.kinds[self.scope[line]].as_deref()
    }

    fn name_of(&self, line: usize) -> Option<&str> {
        self.names[self.scope[line]].as_deref()
    }
}

const DATA_KEYS: &[&str] = &["data", "stringData", "binaryData"];

/// Whether the value of `key` (in a mapping of kind `kind`) and everything under it is
/// secret.
fn bears_secrets(key: &str, kind: Option<&str>) -> bool {
    if DATA_KEYS.contains(&key) {
        return kind.is_none_or(|k| k == "Secret");
    }
    credential_key(key)
}

/// A value that shows something: not empty, not the start of a block or a collection,
/// not a boolean or null (those tell nothing about a secret).
fn has_value(value: &str) -> bool {
    let v = value.split(" #").next().unwrap_or("").trim();
    if v.is_empty() || matches!(v, "{" | "[" | "{}" | "[]" | "\"\"" | "''" | "~" | "null") {
        return false;
    }
    if matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off"
    ) {
        return false;
    }
    // A block scalar indicator, possibly after an anchor or a tag.
    let last = v.split_whitespace().last().unwrap_or("");
    !(last.starts_with(['|', '>']) && last.len() <= 3 && v.len() < 40)
}

/// The end marker of a heredoc (`<<EOF`, `<<-EOT`) the value opens.
fn heredoc_marker(value: &str) -> Option<String> {
    let at = value.find("<<")?;
    let rest = value[at + 2..].trim_start_matches(['-', '~']);
    let rest = rest.trim_matches(['"', '\'']);
    let marker: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!marker.is_empty()).then_some(marker)
}

/// Key names that carry a credential-looking word but hold a setting or a reference.
const NOT_SECRET_KEYS: &[&str] = &[
    "automountserviceaccounttoken",
    "serviceaccounttoken",
    "imagepullsecrets",
    "secrets",
    "httptokens",
];

/// Last words that make a credential-looking key a reference or a setting: a path to a
/// file with the secret, a Secret's name, a mode.
const REFERENCE_WORDS: &[&str] = &[
    "ref",
    "refs",
    "name",
    "names",
    "path",
    "paths",
    "file",
    "files",
    "dir",
    "mode",
    "type",
    "enabled",
    "required",
    "selector",
    "seconds",
    "ttl",
    "expiration",
    "provider",
    "source",
    "length",
    "lifetime",
    "duration",
    "timeout",
    "namespace",
];

/// Parts of a lower-cased key that mark a credential wherever they appear.
const SECRET_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "secretkey",
    "credential",
    "userdata",
    "bearer",
];

/// Whole words of a key that mark a credential.
const SECRET_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "auth",
    "auths",
    "creds",
    "cert",
    "certs",
    "certificate",
    "certificates",
    "crt",
    "pem",
    "jwt",
    "hmac",
];

/// Adjacent words of a key that mark a credential.
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("private", "key"),
    ("access", "key"),
    ("client", "key"),
    ("ssh", "key"),
    ("signing", "key"),
    ("encryption", "key"),
    ("master", "key"),
    ("session", "key"),
    ("tls", "key"),
    ("user", "data"),
    ("connection", "string"),
    ("id", "rsa"),
    ("id", "dsa"),
    ("id", "ecdsa"),
    ("id", "ed25519"),
];

/// Whether a key (or a flag, or an environment variable's name) names a credential.
pub fn credential_key(key: &str) -> bool {
    // Asked for every key of every line of a file with findings, of the same few hundred
    // key names: remembered per thread, in a table kept small whatever the input.
    const MAX_KEY: usize = 64;
    const MAX_KEYS: usize = 4096;
    thread_local! {
        static KNOWN: RefCell<HashMap<Box<str>, bool>> = RefCell::new(HashMap::new());
    }
    if key.len() > MAX_KEY {
        return judge_key(key);
    }
    KNOWN.with(|known| {
        if let Some(&v) = known.borrow().get(key) {
            return v;
        }
        let v = judge_key(key);
        let mut known = known.borrow_mut();
        if known.len() >= MAX_KEYS {
            known.clear();
        }
        known.insert(key.into(), v);
        v
    })
}

fn judge_key(key: &str) -> bool {
    let key = unquote(key.trim()).trim_start_matches('-');
    let lower = key.to_ascii_lowercase();
    let compact: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    if compact.is_empty() || NOT_SECRET_KEYS.contains(&compact.as_str()) {
        return false;
    }
    let words = split_words(key);
    if words
        .last()
        .is_some_and(|w| REFERENCE_WORDS.contains(&w.as_str()))
    {
        return false;
    }
    [".key", ".pem", ".p12", ".pfx", ".jks"]
        .iter()
        .any(|s| lower.ends_with(s))
        || SECRET_PARTS.iter().any(|p| compact.contains(p))
        || words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || words
            .windows(2)
            .any(|w| SECRET_PAIRS.contains(&(w[0].as_str(), w[1].as_str())))
}

/// A key naming an account (`db_user`, `username`): half a credential, masked as a key
/// of a ConfigMap's `data` (elsewhere, `runAsUser` and the like are settings).
fn account_key(key: &str) -> bool {
    split_words(unquote(key))
        .iter()
        .any(|w| matches!(w.as_str(), "user" | "username" | "login" | "usr"))
}

/// Lower-case words of a key: split at punctuation and camel-case humps
/// (`clientKeyData` → client, key, data; `HTTPTokens` → http, tokens).
fn split_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in key.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let hump = c.is_uppercase()
                && prev.is_some_and(|p| {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
                });
            if hump && !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            words.push(word);
        }
    }
    words
}

/// What the text of a line holds by itself: whether it shows a secret, and whether it
/// ends with a credential flag whose value is the next line.
fn holds_secret(content: &str) -> (bool, bool) {
    let mut hide = flow_secret(content)
        || assignment_secret(content)
        || pem_or_blob(content)
        || aws_key_id(content)
        || url_userinfo(content)
        || short_p_flag(content);
    let (flag, next) = flag_secret(content);
    hide |= flag;
    (hide, next)
}

/// A credential flag on the line: whether its value is on the line too, and whether the
/// flag ends the line (its value is the next line).
fn flag_secret(content: &str) -> (bool, bool) {
    let mut hide = false;
    let mut next = false;
    // Only a token starting with `-` can be a credential flag.
    if !content.contains('-') {
        return (hide, next);
    }
    let tokens: Vec<&str> = content
        .split(|c: char| c.is_whitespace() || "\"',[]{}".contains(c))
        .filter(|t| !t.is_empty())
        .collect();
    for (i, t) in tokens.iter().enumerate() {
        if t.starts_with('-') && !t.contains('=') && t.len() > 2 && credential_key(t) {
            match tokens.get(i + 1) {
                Some(v) if !v.starts_with('-') => hide = true,
                Some(_) => {}
                None => next = true,
            }
        }
    }
    hide |= next;
    (hide, next)
}

/// A flow mapping or sequence (`{name: X, value: y}`, one-line JSON) with a credential
/// key, a credential `name`, a Secret's kind or a `data`/`stringData` key inside.
fn flow_secret(content: &str) -> bool {
    if !content.contains(['{', '[']) {
        return false;
    }
    let opens_block = content
        .trim_end()
        .trim_end_matches(',')
        .ends_with(['{', '[']);
    content
        .split(['{', '}', '[', ']', ','])
        .filter_map(|seg| {
            let seg = seg.trim();
            let colon = seg.find(':')?;
            Some((
                unquote(seg[..colon].trim()),
                unquote(seg[colon + 1..].trim()),
            ))
        })
        .any(|(k, v)| match k {
            "kind" => v == "Secret",
            // A block opened at the end of the line is judged line by line below.
            "data" | "stringData" | "binaryData" => !opens_block,
            "name" => credential_key(v),
            k => credential_key(k) && has_value(v),
        })
}

/// `PASSWORD=x`, `--token=x`, `db.password=x` anywhere on the line.
fn assignment_secret(content: &str) -> bool {
    let bytes = content.as_bytes();
    content.match_indices('=').any(|(at, _)| {
        let start = content[..at]
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || "_.-".contains(*c)))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let name = &content[start..at];
        let value_start = content[at + 1..].trim_start_matches(' ');
        // `key = value` (HCL, TOML) counts; `a == b` does not.
        bytes.get(at + 1) != Some(&b'=')
            && (at == 0 || bytes[at - 1] != b'=')
            && !name.is_empty()
            && credential_key(name)
            && has_value(
                value_start
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .next()
                    .unwrap_or(""),
            )
    }) || {
        // `name = value` with blanks around `=`: the name is the key of the line.
        assign_end(content).is_some_and(|end| {
            credential_key(content[..end].trim_end_matches('=').trim())
                && has_value(content[end..].trim())
        })
    }
}

/// A PEM marker, a long base64 blob or a JWT.
fn pem_or_blob(content: &str) -> bool {
    if has(&PEM_BEGIN, content) || has(&PEM_END, content) {
        return true;
    }
    if has(&JWT, content) && jwt(content) {
        return true;
    }
    // A blob is 40 characters or more.
    content.len() >= 40
        && content
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='))
            .any(|t| {
                let t = t.trim_end_matches('=');
                t.len() >= 40
                && t.bytes().any(|b| b.is_ascii_uppercase())
                && t.bytes().any(|b| b.is_ascii_lowercase())
                && t.bytes().any(|b| b.is_ascii_digit())
                // A path has a slash every few characters; random base64 rarely does.
                && t.bytes().filter(|b| *b == b'/').count() * 16 <= t.len()
            })
}

fn jwt(content: &str) -> bool {
    JWT.find_iter(content.as_bytes()).any(|at| {
        let t: String = content[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
            .collect();
        t.matches('.').count() >= 1 && t.len() >= 20
    })
}

/// An AWS access key ID: a known prefix and 16 upper-case letters or digits.
fn aws_key_id(content: &str) -> bool {
    let b = content.as_bytes();
    // A prefix and 16 characters.
    if b.len() < 20 {
        return false;
    }
    AWS_KEY_PREFIXES.iter().any(|p| {
        p.find_iter(b).any(|at| {
            let start_ok = at == 0 || !b[at - 1].is_ascii_alphanumeric();
            let id = &b[at + 4..];
            start_ok
                && id.len() >= 16
                && id[..16]
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                && id.get(16).is_none_or(|c| !c.is_ascii_alphanumeric())
        })
    })
}

/// A URL with user information (`https://user:pass@host`, `https://token@host`).
fn url_userinfo(content: &str) -> bool {
    SCHEME.find_iter(content.as_bytes()).any(|at| {
        let authority = content[at + 3..]
            .split(|c: char| c.is_whitespace() || "/?#\"'<>".contains(c))
            .next()
            .unwrap_or("");
        authority.contains('@')
    })
}

/// `-p<value>`: a password glued to its short flag (`mysql -uroot -phunter2`).
fn short_p_flag(content: &str) -> bool {
    let b = content.as_bytes();
    SHORT_P.find_iter(content.as_bytes()).any(|at| {
        let start_ok = at == 0 || b[at - 1].is_ascii_whitespace() || b"\"'[,".contains(&b[at - 1]);
        let next = b.get(at + 2);
        start_ok
            && next.is_some_and(|c| !c.is_ascii_whitespace() && !b"\"',]=".contains(c))
            // A double-dash flag is judged by its name elsewhere.
            && !(at > 0 && b[at - 1] == b'-')
    })
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = s.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    s
}

/// `line` without its indentation and sequence dashes (`- - key: v` → `key: v`).
fn strip_lead(mut line: &str) -> &str {
    loop {
        line = line.trim_start_matches([' ', '\t']);
        match line.strip_prefix('-') {
            Some(rest) if rest.is_empty() || rest.starts_with([' ', '\t']) => line = rest,
            _ => return line,
        }
    }
}

/// Byte index just past the colon ending a mapping key at the start of `s`, if any.
/// Handles quoted keys (YAML and JSON); a colon must be followed by a blank or the end,
/// or, after a quoted key, by anything (`{"a":1}`).
fn key_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    if let Some(&q @ (b'"' | b'\'')) = bytes.first() {
        i = 1;
        while i < bytes.len() && bytes[i] != q {
            i += if bytes[i] == b'\\' && q == b'"' { 2 } else { 1 };
        }
        i += 1;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        return (bytes.get(i) == Some(&b':')).then_some(i + 1);
    }
    while i < bytes.len() {
        if bytes[i] == b':' && matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')) {
            return Some(i + 1);
        }
        i += 1;
    }
    None
}

/// Byte index just past the `=` of an HCL or TOML assignment (`name = value`) at the start
/// of `s`: a bare identifier, blanks, `=`, not `==`.
fn assign_end(s: &str) -> Option<usize> {
    let ident = s
        .find(|c: char| !(c.is_alphanumeric() || "_.-\"".contains(c)))
        .filter(|&n| n > 0)?;
    let rest = &s[ident..];
    let eq = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    (eq > 0 && rest[eq..].starts_with('=') && !rest[eq..].starts_with("=="))
        .then_some(ident + eq + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_values_but_keeps_keys() {
        assert_eq!(mask_value("  password: hunter2"), "  password: ********");
        assert_eq!(mask_value("  - token: abc: def"), "  - token: ********");
        assert_eq!(
            mask_value(r#"  "pass:word": "x","#),
            r#"  "pass:word": ********"#
        );
        assert_eq!(mask_value("  'k' : v"), "  'k' : ********");
        assert_eq!(mask_value("  url: http://a:b@c"), "  url: ********");
        assert_eq!(mask_value("data:"), "data:");
        assert_eq!(mask_value("    -----BEGIN KEY-----"), "    ********");
        assert_eq!(mask_value("   "), "   ");
        assert_eq!(mask_value("a:b"), "********");
        assert_eq!(mask_value("- - k: v"), "- - k: ********");
        assert_eq!(mask_value("  - plain"), "  - ********");
        assert_eq!(mask_value("  password = \"x\""), "  password = ********");
        assert_eq!(mask_line(r#"{"kind":"Secret","data":{}}"#), "********");
        assert_eq!(mask_line("  - {name: A, value: b}"), "  - ********");
    }

    #[test]
    fn lines_shown_are_judged_as_in_a_full_pass() {
        // State that carries from line to line: a Secret's data, a PEM block, a heredoc
        // under a credential key, a credential flag whose value is the next line.
        let text = lines(&[
            "apiVersion: v1",
            "kind: Secret",
            "data:",
            "  a: aGk=",
            "---",
            "kind: ConfigMap",
            "data:",
            "  cert: |",
            "    -----BEGIN CERTIFICATE-----",
            "    MIIB",
            "    -----END CERTIFICATE-----",
            "  script: |",
            "    mysql --password",
            "    hunter2",
            "    curl https://u:p@example.com",
            "  plain: value",
            "  token: <<EOF",
            "    abc",
            "  EOF",
            "  after: 1",
            "---",
            "data:",
            "  password: x",
            "kind: Secret",
            "...",
            "stringData: {a: b}",
        ]);
        let full = secret_lines(&text);
        let n = full.len();
        for step in 1..=4 {
            let shown: Vec<bool> = (0..n).map(|i| i % step == 0).collect();
            let some = secret_lines_of(&text, Some(&shown));
            for i in 0..n {
                let want = if shown[i] { full[i] } else { true };
                assert_eq!(some[i], want, "line {}, every {step}th shown", i + 1);
            }
        }
        // One line shown at a time: the lines of later documents are not even looked at.
        for k in 0..n {
            let shown: Vec<bool> = (0..n).map(|i| i == k).collect();
            let some = secret_lines_of(&text, Some(&shown));
            assert_eq!(some[k], full[k], "line {} alone", k + 1);
            assert!(some.iter().enumerate().all(|(i, m)| i == k || *m));
        }
        assert_eq!(secret_lines_of(&text, None), full);
    }

    /// Lines joined with newlines (a string continuation would drop the first indent).
    fn lines(l: &[&str]) -> String {
        l.join("\n") + "\n"
    }

    /// The lines of `text` the frame masks, 1-based.
    fn masked(text: &str) -> Vec<usize> {
        secret_lines(text)
            .iter()
            .enumerate()
            .filter(|(_, m)| **m)
            .map(|(i, _)| i + 1)
            .collect()
    }

    #[test]
    fn secret_data_in_a_list_item() {
        let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  stringData:
    db: s3cr3t
    nested: |
      line one
  kind: Secret
  metadata:
    name: creds
- apiVersion: v1
  kind: Pod
  metadata:
    name: web
  spec:
    containers:
    - name: app
      image: nginx
      securityContext:
        privileged: true
";
        assert_eq!(masked(text), vec![6, 7, 8]);
    }

    #[test]
    fn configmap_credential_keys_only() {
        let text = "\
kind: ConfigMap
metadata:
  name: app
data:
  db_host: db.internal
  db_user: admin
  db_password: hunter2
  apiKey: abc
  tls.key: |
    stuff
  logLevel: debug
";
        assert_eq!(masked(text), vec![6, 7, 8, 10]);
    }

    #[test]
    fn one_line_json_secret() {
        let text = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"data":{"k":"aHVudGVyMg=="}}"#;
        assert_eq!(masked(text), vec![1]);
        assert_eq!(mask_line(text), MASK);
    }

    #[test]
    fn pretty_json_secret_data() {
        let text = r#"{
  "data": {
    "k": "aHVudGVyMg=="
  },
  "kind": "Secret",
  "metadata": {
    "name": "x"
  }
}"#;
        assert_eq!(masked(text), vec![3]);
    }

    #[test]
    fn credential_arguments() {
        let text = lines(&[
            "    args:",
            "    - --password=hunter2",
            "    - --token",
            "    - abc123",
            "    - --verbose",
            "    - --client-secret sEcReT",
            "    command: [\"sh\", \"-c\", \"mysql -uroot -phunter2\"]",
            "    - --token-auth-file=/etc/tokens.csv",
            "    - --anonymous-auth=false",
        ]);
        assert_eq!(masked(&text), vec![2, 3, 4, 6, 7]);
    }

    #[test]
    fn env_value_under_a_credential_name() {
        let text = lines(&[
            "      env:",
            "      - name: DB_PASSWORD",
            "        value: hunter2",
            "      - value: also-hidden",
            "        name: API_TOKEN",
            "      - name: LOG_LEVEL",
            "        value: debug",
            "      - {name: AWS_SECRET_ACCESS_KEY, value: wJalr}",
        ]);
        assert_eq!(masked(&text), vec![3, 4, 8]);
    }

    #[test]
    fn pem_blocks_blobs_key_ids_and_urls() {
        let text = lines(&[
            "  ca: |",
            "    -----BEGIN CERTIFICATE-----",
            "    MIIBszCCAVmgAwIBAgIU",
            "    -----END CERTIFICATE-----",
            "  note: fine",
            "  blob: QmFzZTY0IGVuY29kZWQgdGV4dCB0aGF0IGlzIGxvbmcgZW5vdWdoIHRvIG1hdHRlcg==",
            "  image: nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "  id: AKIAIOSFODNN7EXAMPLE",
            "  url: https://user:pw@git.example.com/repo.git",
            "  plain: https://git.example.com/repo.git",
            "  jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        ]);
        assert_eq!(masked(&text), vec![2, 3, 4, 6, 8, 9, 11]);
    }

    #[test]
    fn user_data_under_launch_template() {
        let text = r#"{
  "LaunchTemplateData": {
    "UserData": "IyEvYmluL2Jhc2gKZWNobyBoaQ==",
    "MetadataOptions": {
      "HttpTokens": "optional",
      "HttpPutResponseHopLimit": 2
    }
  }
}"#;
        assert_eq!(masked(text), vec![3]);
        let cfn = lines(&[
            "      UserData:",
            "        Fn::Base64: !Sub |",
            "          #!/bin/bash",
            "          /etc/eks/bootstrap.sh ${Cluster}",
            "      MetadataOptions:",
            "        HttpTokens: optional",
        ]);
        assert_eq!(masked(&cfn), vec![2, 3, 4]);
        let tf = lines(&[
            "  user_data = <<-EOT",
            "    #!/bin/bash",
            "    echo hi",
            "  EOT",
            "  metadata_options {",
            "    http_tokens = \"optional\"",
            "  }",
        ]);
        assert_eq!(masked(&tf), vec![1, 2, 3, 4]);
    }

    #[test]
    fn settings_named_like_credentials_are_shown() {
        let text = "\
automountServiceAccountToken: true
authentication:
  anonymous:
    enabled: true
  x509:
    clientCAFile: /etc/kubernetes/pki/ca.crt
authorization:
  mode: AlwaysAllow
tlsPrivateKeyFile: /var/lib/kubelet/pki/kubelet.key
rotateCertificates: false
imagePullSecrets:
- name: regcred
env:
- name: PASSWORD
  valueFrom:
    secretKeyRef:
      name: db
      key: password
";
        assert_eq!(masked(text), Vec::<usize>::new());
    }

    #[test]
    fn comments_and_deeper_lines_under_secret_keys() {
        let text = "\
# password: hunter2
credentials:
  user: admin
  list:
    - one
spec: {}
";
        assert_eq!(masked(text), vec![1, 3, 4, 5]);
    }

    #[test]
    fn words() {
        assert_eq!(split_words("clientKeyData"), ["client", "key", "data"]);
        assert_eq!(split_words("HTTPTokens"), ["http", "tokens"]);
        assert_eq!(split_words("tls.key"), ["tls", "key"]);
        assert!(credential_key("AWS_SECRET_ACCESS_KEY"));
        assert!(credential_key("client-key-data"));
        assert!(credential_key("\"UserData\""));
        assert!(credential_key("--password"));
        assert!(!credential_key("secretKeyRef"));
        assert!(!credential_key("authorization"));
        assert!(!credential_key("key"));
    }
}
