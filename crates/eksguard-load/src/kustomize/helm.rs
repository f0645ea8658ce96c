//! Helm charts: rendered by `helm template` when a `helm` binary is on `PATH`, bounded in
//! time and output; findings point at the template each object came from (Helm's
//! `# Source:` comments) and at the template line that wrote the field where it can be
//! told. Without `helm`, one message per chart says how to render it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eksguard_model::{InputError, Inventory, Node, Pos, Value};

pub use crate::files::HelmOptions;
use crate::files::LoadOptions;
use crate::read::display;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Most bytes of Helm's error output kept for the message.
const MAX_STDERR: u64 = 64 * 1024;

fn find_helm() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("helm"))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// Renders the chart in `dir` and adds its objects to `inv`; `explicit`: the user named
/// the chart directory itself, so a chart left unrendered is an error, not a warning.
pub(crate) fn scan_chart(dir: &Path, explicit: bool, opts: &LoadOptions, inv: &mut Inventory) {
    let name = display(dir);
    let Some(helm) = find_helm() else {
        let message = format!(
            "a Helm chart, not rendered: no `helm` on PATH. Render it and scan the output: `helm template {name} | eksguard scan -`"
        );
        let sink = if explicit {
            &mut inv.errors
        } else {
            &mut inv.warnings
        };
        sink.push(InputError::new(name, None, message));
        return;
    };
    match render(&helm, dir, opts) {
        Ok(text) => add_rendered(dir, &text, opts, inv),
        Err(message) => inv.errors.push(InputError::new(
            name,
            None,
            format!("helm template failed: {message}"),
        )),
    }
}

fn render(helm: &Path, dir: &Path, opts: &LoadOptions) -> Result<String, String> {
    let mut cmd = Command::new(helm);
    cmd.arg("template").arg(dir);
    for v in &opts.helm.values {
        cmd.arg("--values").arg(v);
    }
    for s in &opts.helm.set {
        cmd.arg("--set").arg(s);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", helm.display()))?;
    let limit = opts.max_file_size;
    let over = Arc::new(AtomicBool::new(false));
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let flag = over.clone();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = stdout.take(limit + 1).read_to_end(&mut buf);
        if buf.len() as u64 > limit {
            flag.store(true, Ordering::SeqCst);
        }
        r.map(|_| buf)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut stderr = stderr;
        let _ = (&mut stderr).take(MAX_STDERR).read_to_end(&mut buf);
        // The rest is drained, so a chatty helm never blocks on a full pipe.
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        buf
    });
    let deadline = Instant::now() + opts.helm.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(format!("waiting for helm: {e}")),
        }
        if over.load(Ordering::SeqCst) {
            break Err(format!("output larger than {} bytes; stopped", limit));
        }
        if Instant::now() > deadline {
            break Err(format!(
                "no result within {} s; stopped",
                opts.helm.timeout.unwrap_or(DEFAULT_TIMEOUT).as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_err() {
        let _ = child.kill();
        let _ = child.wait();
    }
    let out = out_reader.join().ok().and_then(Result::ok);
    let err = err_reader.join().unwrap_or_default();
    let status = status?;
    if over.load(Ordering::SeqCst) {
        return Err(format!("output larger than {} bytes; stopped", limit));
    }
    if !status.success() {
        let text = String::from_utf8_lossy(&err);
        let first: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(5)
            .collect();
        return Err(format!("{status}: {}", first.join(" / ")));
    }
    String::from_utf8(out.unwrap_or_default()).map_err(|_| "output is not UTF-8".to_string())
}

/// One document of Helm's output: the template it came from, and its text.
struct Chunk<'t> {
    source: Option<&'t str>,
    text: String,
}

fn chunks(text: &str) -> Vec<Chunk<'_>> {
    let mut out = Vec::new();
    let mut current = Chunk {
        source: None,
        text: String::new(),
    };
    for line in text.lines() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            let done = std::mem::replace(
                &mut current,
                Chunk {
                    source: None,
                    text: String::new(),
                },
            );
            out.push(done);
            continue;
        }
        if current.source.is_none() {
            if let Some(s) = line.strip_prefix("# Source: ") {
                current.source = Some(s.trim());
            }
        }
        current.text.push_str(line);
        current.text.push('\n');
    }
    out.push(current);
    out.retain(|c| {
        c.text.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        })
    });
    out
}

/// The template file of a `# Source:` path (`chart/templates/x.yaml`, the chart's own name
/// first).
fn template_path(dir: &Path, source: &str) -> PathBuf {
    match source.split_once('/') {
        Some((_, rest)) => dir.join(rest),
        None => dir.join(source),
    }
}

/// For each line of a rendered document, the template line that most likely wrote it:
/// lines the template has verbatim are matched in order; a line it lacks (a value, a
/// `toYaml` block) goes to the template line after the last match, the directive that
/// produced it.
fn line_map(rendered: &str, template: &str) -> Vec<u32> {
    let t: Vec<&str> = template.lines().map(str::trim).collect();
    let mut cursor = 0usize;
    let mut out = Vec::new();
    for line in rendered.lines() {
        let trimmed = line.trim();
        let found = (!trimmed.is_empty() && !trimmed.starts_with('#'))
            .then(|| {
                t.iter()
                    .skip(cursor)
                    .take(400)
                    .position(|l| *l == trimmed && !l.contains("{{"))
            })
            .flatten();
        match found {
            Some(i) => {
                cursor += i + 1;
                out.push(cursor as u32);
            }
            None => out.push((cursor + 1).min(t.len().max(1)) as u32),
        }
    }
    out
}

/// Moves positions to the template's lines; without a map (a template not on disk, as
/// in a packed subchart) everything points at the template's first line.
fn remap(node: &mut Node, map: &[u32]) {
    let fix = |p: &mut Pos| {
        if p.is_known() {
            p.line = map.get(p.line as usize - 1).copied().unwrap_or(1);
        }
    };
    fix(&mut node.pos);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|i| remap(i, map)),
        Value::Map(entries) => entries.iter_mut().for_each(|e| {
            fix(&mut e.key_pos);
            remap(&mut e.value, map)
        }),
        _ => {}
    }
}

fn add_rendered(dir: &Path, text: &str, opts: &LoadOptions, inv: &mut Inventory) {
    for chunk in chunks(text) {
        let (name, map) = match chunk.source {
            Some(src) => {
                let path = template_path(dir, src);
                let template = crate::read::read_file(&path, opts.max_file_size)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok());
                let map = template.map(|t| line_map(&chunk.text, &t));
                (display(&path), map)
            }
            None => (format!("{} (helm template output)", display(dir)), None),
        };
        let mut got = crate::files::load_text(&name, chunk.text.as_bytes(), opts);
        for mut obj in got.objects.drain(..).map(std::sync::Arc::unwrap_or_clone) {
            match &map {
                Some(map) => remap(&mut obj.root, map),
                None => remap(&mut obj.root, &[]),
            }
            inv.push(obj);
        }
        let fix_line = |e: &mut InputError| {
            e.line = e
                .line
                .and_then(|l| map.as_ref()?.get((l as usize).checked_sub(1)?).copied());
            e.message = format!("rendered by helm: {}", e.message);
        };
        for mut e in got.errors {
            fix_line(&mut e);
            inv.errors.push(e);
        }
        for mut w in got.warnings {
            fix_line(&mut w);
            inv.warnings.push(w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_lines_map_to_the_template_lines_that_wrote_them() {
        let template = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  containers:\n  - name: app\n    securityContext:\n      {{- toYaml .Values.sc | nindent 6 }}\n    image: x\n";
        let rendered = "# Source: c/templates/pod.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: rel\nspec:\n  containers:\n  - name: app\n    securityContext:\n      privileged: true\n      runAsUser: 0\n    image: x\n";
        let map = line_map(rendered, template);
        // The comment, then apiVersion (1), kind (2), metadata (3), the templated name (4).
        assert_eq!(&map[1..5], &[1, 2, 3, 4]);
        // The toYaml block lands on its directive (line 9); `image: x` on line 10.
        assert_eq!(&map[9..12], &[9, 9, 10]);
    }

    #[test]
    fn output_is_split_at_document_markers_with_its_source() {
        let text = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/b.yaml\nkind: B\n---\n";
        let c = chunks(text);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].source, Some("c/templates/a.yaml"));
        assert_eq!(c[1].text, "# Source: c/templates/b.yaml\nkind: B\n");
        assert_eq!(
            template_path(Path::new("charts/c"), "c/templates/a.yaml"),
            Path::new("charts/c/templates/a.yaml")
        );
    }
}
