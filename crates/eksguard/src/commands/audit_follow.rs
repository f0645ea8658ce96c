//! `eksguard audit scan --cloudwatch GROUP --follow`: the long-running detector. Each poll
//! reads the new events of the group's audit streams, runs the AUD rules on them with
//! their state kept from poll to poll, writes the findings, then saves the checkpoint.
//!
//! Order within a poll: findings are written and flushed first, the checkpoint after. A
//! run killed between the two finds the same findings again on restart; when the output is
//! a file, the checkpoint records its length and the restart cuts off what was written
//! after it, so that each finding is in the file once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use eksguard_live::cloudwatch_follow::{FollowOptions, Follower, Positions};
use eksguard_live::security_hub::Importer;
use eksguard_load::audit::AuditReader;
use eksguard_model::audit::AuditEvent;
use eksguard_model::InputError;
use eksguard_report::asff::{self, AsffTarget};
use eksguard_report::{reporter, OutputFormat, Report, ReportFinding, Reporter};
use eksguard_rules::events::AuditEngine;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::cli::AuditScanArgs;
use crate::commands::audit;
use crate::metrics::FollowerMetrics;
use crate::pipeline::{self, Baseline};
use crate::term::{shown, use_color};
use crate::Outcome;

const CHECKPOINT_VERSION: u32 = 1;

/// Largest checkpoint read or written. What the follower writes is bounded: 37 bytes for
/// each of at most 200,000 events remembered within the look-back (7.4 MB), 11 for each of
/// at most 200,000 auditIDs (2.1 MB), and the rules' state, whose largest part is at most
/// 200,000 keys of 401/403 bursts with their user names (about 60 MB for names of 40
/// bytes). See the book's audit chapter.
pub const MAX_CHECKPOINT_BYTES: u64 = 256 * 1024 * 1024;

/// Bytes of the output before its mark that the checkpoint keeps a digest of.
const TAIL: u64 = 4096;

/// Errors kept for the closing JSON line; all are printed to standard error as they come.
const MAX_ERRORS_KEPT: usize = 1000;

/// What a restart needs: the position in each stream, the state of the rules that look
/// across events, the recent audit IDs of the duplicate filter, and how much of the
/// output file was written when it was saved.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    version: u32,
    log_group: String,
    positions: Positions,
    rules: serde_json::Value,
    /// (auditID, stage) hashes of the recent events, as little-endian u64s in base64.
    audit_ids: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output: Option<OutputMark>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OutputMark {
    path: PathBuf,
    bytes: u64,
    /// FNV-1a of the (up to) 4 KiB before `bytes`: the file must still hold what the
    /// checkpoint saw before a restart cuts it there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tail: Option<String>,
}

/// FNV-1a (64 bits) of `bytes`, as 16 hex digits: enough to tell an edited mark.
fn fnv(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The digest of the (up to) [`TAIL`] bytes of `f` before `at`.
fn tail_of(f: &mut std::fs::File, at: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let from = at.saturating_sub(TAIL);
    f.seek(SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.take(at - from).read_to_end(&mut buf)?;
    Ok(fnv(&buf))
}

/// Reads a checkpoint; `None` when the file does not exist yet. Only a regular file of
/// at most [`MAX_CHECKPOINT_BYTES`] is read.
fn read_checkpoint(path: &Path, group: &str) -> Result<Option<Checkpoint>, String> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    let meta = f
        .metadata()
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{}: not a regular file; a checkpoint is one",
            path.display()
        ));
    }
    if meta.len() > MAX_CHECKPOINT_BYTES {
        return Err(format!(
            "{}: {} bytes, more than a checkpoint's {MAX_CHECKPOINT_BYTES}",
            path.display(),
            meta.len()
        ));
    }
    let mut text = String::new();
    f.take(MAX_CHECKPOINT_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if text.len() as u64 > MAX_CHECKPOINT_BYTES {
        return Err(format!(
            "{}: more than a checkpoint's {MAX_CHECKPOINT_BYTES} bytes",
            path.display()
        ));
    }
    let cp: Checkpoint = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}: not an eksguard checkpoint: {e}",
            path.display(),
            e.line()
        )
    })?;
    if cp.version != CHECKPOINT_VERSION {
        return Err(format!(
            "{}: checkpoint version {} (this eksguard writes {CHECKPOINT_VERSION})",
            path.display(),
            cp.version
        ));
    }
    if cp.log_group != group {
        return Err(format!(
            "{}: checkpoint of log group {}, not {group}",
            path.display(),
            cp.log_group
        ));
    }
    Ok(Some(cp))
}

/// CloudWatch takes events stamped up to two hours ahead of its clock.
const FUTURE_MS: i64 = 2 * 3600 * 1000;

/// What a checkpoint read may hold, given the time now and the look-back: no position
/// later than now plus the look-back and the two hours CloudWatch allows events ahead (a
/// checkpoint from the future would stop all judging), and an output mark the output
/// file still agrees with. The error names the field.
fn validate(
    cp: &Checkpoint,
    now_ms: i64,
    look_back_ms: i64,
    output: Option<&Path>,
) -> Result<(), String> {
    let limit = now_ms
        .saturating_add(look_back_ms)
        .saturating_add(FUTURE_MS);
    for (name, s) in &cp.positions.streams {
        let field = |f: &str| format!("positions.streams[{name:?}].{f}");
        for (f, v) in [
            ("last_timestamp_ms", s.last_timestamp_ms),
            ("last_ingestion_ms", s.last_ingestion_ms),
            ("listed_ingestion_ms", s.listed_ingestion_ms),
            ("floor_ms", s.floor_ms),
        ] {
            if let Some(v) = v.filter(|&v| v > limit) {
                return Err(format!(
                    "{}: {v} is later than now plus the look-back and CloudWatch's two hours ({limit})",
                    field(f)
                ));
            }
        }
        if let Some((t, _)) = s.seen.iter().find(|(t, _)| *t > limit) {
            return Err(format!(
                "{}: {t} is later than now plus the look-back and CloudWatch's two hours ({limit})",
                field("seen")
            ));
        }
    }
    let (Some(mark), Some(out)) = (&cp.output, output) else {
        return Ok(());
    };
    if mark.path != out {
        return Ok(());
    }
    let mut f = match std::fs::File::open(out) {
        Ok(f) => f,
        // A mark of a file gone: there is nothing to cut.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && mark.bytes == 0 => return Ok(()),
        Err(e) => return Err(format!("output.path: cannot read {}: {e}", out.display())),
    };
    let len = f
        .metadata()
        .map_err(|e| format!("output.path: {}: {e}", out.display()))?
        .len();
    if mark.bytes > len {
        return Err(format!(
            "output.bytes: {} but {} holds {len} bytes",
            mark.bytes,
            out.display()
        ));
    }
    let tail = tail_of(&mut f, mark.bytes).map_err(|e| format!("output.path: {e}"))?;
    match &mark.tail {
        Some(t) if *t == tail => Ok(()),
        // Written before the digest was kept: only an exact length is trusted.
        None if mark.bytes == len => Ok(()),
        _ => Err(format!(
            "output.bytes: {} does not match the content of {} (its {len} bytes end otherwise); \
             the output file or the checkpoint was changed",
            mark.bytes,
            out.display()
        )),
    }
}

/// A temporary file of a name no one can guess, created new (`O_EXCL`) in `dir` and
/// never through a symbolic link (`O_NOFOLLOW`), readable by its owner only.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::hash::{BuildHasher, Hasher};
    let mut last = None;
    for _ in 0..16 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.write_u32(std::process::id());
        let tmp = dir.join(format!(".{name}.{:016x}.tmp", h.finish()));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW).mode(0o600);
        }
        match opts.open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary file name left")))
}

/// Writes `cp` to a new temporary file in the checkpoint's directory, syncs it and renames
/// it over `path`: a crash leaves the old checkpoint or the new one, never a mix, and a
/// file planted where the temporary file goes is never written through.
fn write_checkpoint(path: &Path, cp: &Checkpoint) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "checkpoint".into(), |n| n.to_string_lossy().into_owned());
    let mut text = serde_json::to_vec(cp)?;
    text.push(b'\n');
    // A checkpoint is never larger than one the next start would read.
    if text.len() as u64 > MAX_CHECKPOINT_BYTES {
        return Err(std::io::Error::other(format!(
            "{} bytes, more than a checkpoint's {MAX_CHECKPOINT_BYTES}",
            text.len()
        )));
    }
    let (tmp, mut f) = create_temp(&dir, &name)?;
    let written = f
        .write_all(&text)
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself is on disk once the directory is synced.
    #[cfg(unix)]
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(())
}

fn encode_keys(keys: &[u64]) -> String {
    let bytes: Vec<u8> = keys.iter().flat_map(|k| k.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode_keys(text: &str) -> Option<Vec<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    (bytes.len() % 8 == 0).then(|| {
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect()
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Where findings go: the streaming reporter of the format (a text block, a JSON line or
/// an ASFF line each), and Security Hub.
struct Sink {
    /// `None` with `--quiet` and no `--output`.
    reporter: Option<Box<dyn Reporter>>,
    path: Option<PathBuf>,
    /// Account, region and scope of ASFF findings (`--format asff`, `--security-hub`).
    asff: Option<AsffTarget>,
    /// Findings found and not yet imported into Security Hub (with `--security-hub`).
    to_hub: Option<Vec<serde_json::Value>>,
}

/// Findings held for Security Hub while it cannot be reached; past this the oldest are
/// dropped (and counted as errors), so a long outage cannot exhaust memory.
const MAX_PENDING_HUB: usize = 10_000;

impl Sink {
    fn write(&mut self, f: &ReportFinding) -> std::io::Result<()> {
        if let (Some(pending), Some(t)) = (self.to_hub.as_mut(), &self.asff) {
            pending.push(asff::finding_as_found(f, t, env!("CARGO_PKG_VERSION")));
        }
        match self.reporter.as_mut() {
            Some(r) => r.finding(f.clone()),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.reporter.as_mut() {
            Some(r) => r.flush(),
            None => Ok(()),
        }
    }

    /// The output file's length now and a digest of its end, for the checkpoint.
    fn mark(&self) -> Option<OutputMark> {
        let path = self.path.clone()?;
        let mut f = std::fs::File::open(&path).ok()?;
        let bytes = f.metadata().ok()?.len();
        let tail = tail_of(&mut f, bytes).ok();
        Some(OutputMark { path, bytes, tail })
    }
}

/// Opens `--output` to append (a follower restarted goes on with the same file), first
/// cutting off what was written after the checkpoint was saved: those findings will be
/// found again.
fn open_output(path: &Path, mark: Option<&OutputMark>) -> anyhow::Result<Box<dyn Write>> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if let Some(m) = mark.filter(|m| m.path == path) {
        let len = f.metadata()?.len();
        if len > m.bytes {
            f.set_len(m.bytes)
                .with_context(|| format!("cannot truncate {}", path.display()))?;
        }
    }
    Ok(Box::new(std::io::BufWriter::new(f)))
}

pub fn run(args: AuditScanArgs) -> anyhow::Result<Outcome> {
    let group = args
        .input
        .cloudwatch
        .clone()
        .unwrap_or_else(|| unreachable!("clap requires --cloudwatch with --follow"));
    let form = args.report.format;
    if !matches!(
        form,
        OutputFormat::Text | OutputFormat::Jsonl | OutputFormat::Asff
    ) {
        eprintln!(
            "error: --follow writes findings as they are found: --format text, jsonl or asff, not {}",
            form.name()
        );
        return Ok(Outcome::Error);
    }
    // The account and region are looked up before following, so a mistake there stops
    // the run at once rather than at the first finding.
    let asff = match form == OutputFormat::Asff || args.report.security_hub {
        true => Some(crate::security_hub::target(&args.report)?),
        false => None,
    };
    if args.check.write_baseline.is_some() {
        eprintln!("error: --write-baseline needs a run that ends; it cannot be used with --follow");
        return Ok(Outcome::Error);
    }
    let Some(audit::ScanSetup {
        mut engine,
        mut reader,
        baseline,
        ..
    }) = audit::scan_setup(&args)?
    else {
        return Ok(Outcome::Error);
    };
    let label = format!("cloudwatch:{group}");

    let look_back_ms = i64::try_from(args.follow.look_back.as_millis()).unwrap_or(i64::MAX);
    let checkpoint = match args.follow.checkpoint.as_deref() {
        Some(p) => match read_checkpoint(p, &group).and_then(|cp| {
            if let Some(cp) = &cp {
                validate(cp, now_ms(), look_back_ms, args.report.output.as_deref())
                    .map_err(|e| format!("{}: {e}", p.display()))?;
            }
            Ok(cp)
        }) {
            Ok(cp) => cp,
            Err(e) => {
                // Starting over would judge events again or skip them: refuse instead.
                eprintln!("error: {}", shown(e));
                return Ok(Outcome::Error);
            }
        },
        None => None,
    };
    let mut positions = Positions::default();
    let mut output_mark = None;
    if let Some(cp) = checkpoint {
        let path = args.follow.checkpoint.as_deref().unwrap_or(Path::new(""));
        let restored = engine.restore_state(&cp.rules).and_then(|()| {
            decode_keys(&cp.audit_ids).ok_or_else(|| "audit_ids: not base64 of u64s".to_string())
        });
        match restored {
            Ok(keys) => reader.restore_dedup_keys(&keys),
            Err(e) => {
                eprintln!("error: {}: {}", path.display(), shown(e));
                return Ok(Outcome::Error);
            }
        }
        positions = cp.positions;
        output_mark = cp.output;
    }

    let mut opts = FollowOptions::new(&group);
    opts.stream_prefix = Some(args.input.log_stream_prefix.clone()).filter(|p| !p.is_empty());
    opts.region = args.input.region.clone();
    opts.profile = args.input.profile.clone();
    opts.endpoint_url = args.input.endpoint_url.clone();
    opts.look_back = args.follow.look_back;
    if let Some(v) = &args.input.since {
        match audit::parse_when(v, now_ms()) {
            Some(ms) => opts.start_ms = Some(ms),
            None => {
                eprintln!(
                    "error: {label}: --since {}: not a duration (2h, 30m, 7d) or an RFC 3339 time",
                    shown(format!("{v:?}"))
                );
                return Ok(Outcome::Error);
            }
        }
    }

    let out = match (&args.report.output, args.report.quiet) {
        (Some(p), _) => Some(open_output(p, output_mark.as_ref())?),
        (None, true) => None,
        (None, false) => Some(super::open_output(None)?),
    };
    let color = use_color(args.report.color, args.report.output.is_some());
    let reporter = match out {
        Some(out) => Some(reporter::streaming(form, color, asff.clone(), out)?),
        None => None,
    };
    let mut sink = Sink {
        reporter,
        path: args.report.output.clone(),
        asff,
        to_hub: args.report.security_hub.then(Vec::new),
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let metrics = Arc::new(FollowerMetrics::new(args.follow.poll_interval));
    let state = Run {
        group,
        label,
        args: &args,
        baseline,
        engine: &mut engine,
        reader: &mut reader,
        metrics: metrics.clone(),
        errors: Vec::new(),
        judged: 0,
    };
    rt.block_on(state.follow(opts, positions, &mut sink))
}

struct Run<'a, 'r> {
    group: String,
    label: String,
    args: &'a AuditScanArgs,
    baseline: Baseline,
    engine: &'a mut AuditEngine<'r>,
    reader: &'a mut AuditReader,
    metrics: Arc<FollowerMetrics>,
    errors: Vec<InputError>,
    judged: usize,
}

impl Run<'_, '_> {
    fn error(&mut self, kind: &str, e: InputError) {
        eprintln!("error: {}", shown(&e));
        self.metrics.error(kind);
        if self.errors.len() < MAX_ERRORS_KEPT {
            self.errors.push(e);
        }
    }

    async fn follow(
        mut self,
        opts: FollowOptions,
        positions: Positions,
        sink: &mut Sink,
    ) -> anyhow::Result<Outcome> {
        let interval = self.args.follow.poll_interval;
        if let Some(addr) = self.args.follow.metrics_listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr} for --metrics-listen"))?;
            tokio::spawn(crate::metrics::serve_plain(listener, self.metrics.clone()));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        crate::signals::on_stop(stop.clone(), wake.clone()).context("cannot watch for SIGTERM")?;
        let mut follower = match Follower::connect(opts, positions).await {
            Ok(f) => f,
            Err(e) => {
                eprintln!("error: {}: {}", self.label, shown(e));
                return Ok(Outcome::Error);
            }
        };
        let hub = match sink.to_hub.is_some() {
            true => Some(
                Importer::connect(&crate::security_hub::hub_options(&self.args.report))
                    .await
                    .context("Security Hub")?,
            ),
            false => None,
        };
        let mut failed_polls = 0u32;
        let mut first = true;
        loop {
            let started = Instant::now();
            let outcome = follower.poll().await;
            self.metrics.polls.inc();
            for e in &outcome.errors {
                if first && e.not_found && e.call == "DescribeLogStreams" {
                    // A group that is not there at the start is a mistake in the command
                    // line; one that goes away later is waited for.
                    eprintln!("error: {}: {}", self.label, shown(e));
                    return Ok(Outcome::Error);
                }
                let e = InputError::new(&self.label, None, e.to_string());
                self.error("api", e);
            }
            for s in &outcome.new_streams {
                eprintln!("eksguard: following {}/{}", shown(&self.group), shown(s));
            }
            for s in &outcome.deleted {
                eprintln!(
                    "warning: {}/{}: the stream was deleted; no longer followed",
                    shown(&self.group),
                    shown(s)
                );
            }
            self.judge(&outcome.events, sink)
                .context("cannot write the findings")?;
            self.metrics.events_repeated.inc_by(outcome.repeats);
            self.metrics.streams.set(outcome.streams as i64);
            self.metrics.lag.set(outcome.lag_ms as f64 / 1000.0);
            if let Some(hub) = &hub {
                self.send_to_hub(hub, sink).await;
            }
            self.save(&follower, sink);
            self.metrics
                .last_poll
                .store(now_ms() / 1000, Ordering::Relaxed);
            first = false;
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let wait = if outcome.more {
                Duration::ZERO
            } else if !outcome.errors.is_empty() {
                // The SDK has retried each call already; wait longer after each failed
                // poll, with jitter, up to five minutes.
                failed_polls = failed_polls.saturating_add(1);
                let base = interval.saturating_mul(1 << failed_polls.min(5));
                let capped = base.min(Duration::from_secs(300)).max(interval);
                capped.mul_f64(0.5 + jitter() * 0.5)
            } else {
                failed_polls = 0;
                interval.saturating_sub(started.elapsed())
            };
            if !wait.is_zero() && tokio::time::timeout(wait, wake.notified()).await.is_ok() {
                break;
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
        }
        if self.args.report.format == OutputFormat::Jsonl {
            if let Some(r) = sink.reporter.as_mut() {
                r.end(Report {
                    tool_version: env!("CARGO_PKG_VERSION"),
                    rules: Vec::new(),
                    findings: Vec::new(),
                    errors: std::mem::take(&mut self.errors),
                    warnings: Vec::new(),
                    resources_scanned: self.judged,
                    files_scanned: follower.positions().streams.len(),
                    files_skipped: None,
                    suppressed: self.engine.suppressed(),
                    audit: Some(self.reader.stats()),
                    suppressed_findings: Vec::new(),
                    config: None,
                })?;
            }
            sink.flush()?;
            self.save(&follower, sink);
        }
        eprintln!(
            "eksguard: stopped after {} events; {}",
            self.judged,
            match &self.args.follow.checkpoint {
                Some(p) => format!("checkpoint in {}", shown(p.display())),
                None => "no checkpoint kept (--checkpoint)".into(),
            }
        );
        Ok(Outcome::Clean)
    }

    /// Runs the rules on a poll's events and writes their findings.
    fn judge(
        &mut self,
        events: &[eksguard_live::cloudwatch_follow::FollowedEvent],
        sink: &mut Sink,
    ) -> std::io::Result<()> {
        let now = now_ms();
        let mut write_error = None;
        for e in events {
            if let Some(i) = e.ingestion_ms {
                self.metrics
                    .delay
                    .observe(now.saturating_sub(i).max(0) as f64 / 1000.0);
            }
        }
        self.metrics.events_read.inc_by(events.len() as u64);
        let engine = &mut *self.engine;
        let baseline = &self.baseline;
        let metrics = &self.metrics;
        let judged = &mut self.judged;
        // One call per run of events of the same stream, so each keeps its stream's name.
        for run in events.chunk_by(|a, b| a.stream == b.stream) {
            let numbered: Vec<(u32, &[u8])> = run
                .iter()
                .map(|m| (m.number, m.message.as_bytes()))
                .collect();
            let file = format!("{}/{}", self.group, run[0].stream);
            self.reader.read_messages(&file, &numbered, &mut |batch| {
                let evs: Vec<&AuditEvent<'_>> = batch.events.iter().map(|p| &p.event).collect();
                *judged += evs.len();
                for f in engine.check(&evs) {
                    let Some(finding) = pipeline::resolve_event(batch, f) else {
                        continue;
                    };
                    if baseline.knows(&finding) {
                        continue;
                    }
                    metrics
                        .findings
                        .get_or_create(&vec![("rule".into(), finding.rule.id.into())])
                        .inc();
                    if write_error.is_none() {
                        write_error = sink.write(&finding).err();
                    }
                }
            });
        }
        for e in self.reader.take_errors() {
            self.error("event", e);
        }
        if let Some(e) = write_error {
            return Err(e);
        }
        sink.flush()
    }

    /// Imports the findings found since the last import. Those Security Hub could not
    /// take (it could not be reached) are tried again after the next poll; those it
    /// refused are reported and dropped.
    async fn send_to_hub(&mut self, hub: &Importer, sink: &mut Sink) {
        let Some(pending) = sink.to_hub.as_mut() else {
            return;
        };
        if pending.len() > MAX_PENDING_HUB {
            let dropped = pending.len() - MAX_PENDING_HUB;
            pending.drain(..dropped);
            let e = InputError::new(
                "security hub",
                None,
                format!("{dropped} findings not imported: more than {MAX_PENDING_HUB} waiting"),
            );
            self.error("api", e);
        }
        if pending.is_empty() {
            return;
        }
        let batch = std::mem::take(pending);
        let r = hub.import(&batch).await;
        eprintln!(
            "security hub: {} findings imported, {} refused, {} to send again",
            r.imported,
            r.failed.len(),
            r.unsent.len()
        );
        for f in r.failed {
            let e = InputError::new(
                "security hub",
                None,
                format!("refused {}: {}: {}", f.id, f.code, f.message),
            );
            self.error("api", e);
        }
        for e in r.call_errors {
            self.error("api", InputError::new("security hub", None, e));
        }
        // Requests that failed are sent again after the next poll, before what it finds.
        if !r.unsent.is_empty() {
            if let Some(p) = sink.to_hub.as_mut() {
                let mut again: Vec<_> = r.unsent.iter().map(|&i| batch[i].clone()).collect();
                again.append(p);
                *p = again;
            }
        }
    }

    /// Saves the checkpoint after the poll's findings are out; a failure is reported and
    /// the next poll tries again.
    fn save(&mut self, follower: &Follower, sink: &Sink) {
        let Some(path) = self.args.follow.checkpoint.clone() else {
            return;
        };
        let cp = Checkpoint {
            version: CHECKPOINT_VERSION,
            log_group: self.group.clone(),
            positions: follower.positions().clone(),
            rules: self.engine.save_state(),
            audit_ids: encode_keys(&self.reader.dedup_keys()),
            output: sink.mark(),
        };
        if let Err(e) = write_checkpoint(&path, &cp) {
            let e = InputError::new(
                path.display().to_string(),
                None,
                format!("cannot write the checkpoint: {e}"),
            );
            self.error("checkpoint", e);
        }
    }
}

/// A number in [0, 1) that differs between processes and calls: enough to spread the
/// retries of several followers.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(now_ms());
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_id_keys_survive_the_checkpoint_encoding() {
        let keys = vec![0, 1, u64::MAX, 0x0123_4567_89ab_cdef];
        assert_eq!(decode_keys(&encode_keys(&keys)), Some(keys));
        assert_eq!(decode_keys("not base64!"), None);
        assert_eq!(decode_keys("AAAA"), None, "three bytes are no u64");
    }

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("eksguard-cp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const NOW: i64 = 1_765_000_000_000;

    fn checkpoint(streams: usize, seen: usize, keys: usize) -> Checkpoint {
        use eksguard_live::cloudwatch_follow::StreamPosition;
        let now = NOW;
        let mut positions = Positions::default();
        for s in 0..streams {
            positions.streams.insert(
                format!("kube-apiserver-audit-{s:032x}"),
                StreamPosition {
                    last_timestamp_ms: Some(now),
                    last_event_id: Some("3".repeat(56)),
                    events: u32::MAX,
                    last_ingestion_ms: Some(now),
                    listed_ingestion_ms: Some(now),
                    floor_ms: Some(now - 120_000),
                    seen: (0..seen / streams)
                        .map(|i| (now - i as i64, u64::MAX - i as u64))
                        .collect(),
                },
            );
        }
        Checkpoint {
            version: CHECKPOINT_VERSION,
            log_group: "/aws/eks/prod/cluster".into(),
            positions,
            rules: serde_json::json!({}),
            audit_ids: encode_keys(
                &(0..keys as u64)
                    .map(|k| k.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                    .collect::<Vec<_>>(),
            ),
            output: None,
        }
    }

    #[test]
    fn a_planted_symlink_is_never_written_through() {
        let d = dir("symlink");
        let target = d.join("target");
        std::fs::write(&target, "precious").unwrap();
        let path = d.join("cp.json");
        // Where a predictable temporary file would go.
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, d.join(".cp.json.tmp")).unwrap();
        write_checkpoint(&path, &checkpoint(1, 10, 10)).unwrap();
        write_checkpoint(&path, &checkpoint(1, 10, 10)).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        let cp = read_checkpoint(&path, "/aws/eks/prod/cluster")
            .unwrap()
            .unwrap();
        assert_eq!(cp.positions.streams.len(), 1);
        // No temporary file is left behind, and each had a name of its own.
        let left: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") && n != ".cp.json.tmp")
            .collect();
        assert!(left.is_empty(), "{left:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{mode:o}");
        }
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn positions_from_the_future_are_refused_naming_the_field() {
        let now = 1_765_000_000_000i64;
        let mut cp = checkpoint(1, 3, 3);
        assert_eq!(validate(&cp, now, 120_000, None), Ok(()));
        let s = cp.positions.streams.values_mut().next().unwrap();
        s.last_timestamp_ms = Some(10_000_000_000_000); // in 2286
        let e = validate(&cp, now, 120_000, None).unwrap_err();
        assert!(
            e.starts_with(&format!(
                "positions.streams[\"kube-apiserver-audit-{:032x}\"].last_timestamp_ms: 10000000000000 is later",
                0
            )),
            "{e}"
        );
        let s = cp.positions.streams.values_mut().next().unwrap();
        s.last_timestamp_ms = Some(now);
        s.seen.push((now + FUTURE_MS + 120_001, 1));
        let e = validate(&cp, now, 120_000, None).unwrap_err();
        assert!(e.contains("].seen: "), "{e}");
    }

    #[test]
    fn an_output_mark_must_agree_with_the_output() {
        let d = dir("mark");
        let out = d.join("findings.jsonl");
        std::fs::write(&out, "one\ntwo\n").unwrap();
        let mut f = std::fs::File::open(&out).unwrap();
        let mark = |bytes: u64, tail: Option<String>| OutputMark {
            path: out.clone(),
            bytes,
            tail,
        };
        let mut cp = checkpoint(1, 1, 1);
        // The mark the follower writes; then findings written after it (a crash).
        cp.output = Some(mark(4, Some(tail_of(&mut f, 4).unwrap())));
        assert_eq!(validate(&cp, NOW, 0, Some(&out)), Ok(()));
        // Edited to cut the whole file, or past its end: refused, naming the field.
        cp.output = Some(mark(0, Some(tail_of(&mut f, 4).unwrap())));
        let e = validate(&cp, NOW, 0, Some(&out)).unwrap_err();
        assert!(e.starts_with("output.bytes: 0 does not match"), "{e}");
        cp.output = Some(mark(100, None));
        let e = validate(&cp, NOW, 0, Some(&out)).unwrap_err();
        assert_eq!(
            e,
            format!("output.bytes: 100 but {} holds 8 bytes", out.display())
        );
        // A mark without a digest is trusted at the exact length only.
        cp.output = Some(mark(8, None));
        assert_eq!(validate(&cp, NOW, 0, Some(&out)), Ok(()));
        cp.output = Some(mark(4, None));
        assert!(validate(&cp, NOW, 0, Some(&out)).is_err());
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn only_a_regular_file_of_bounded_size_is_read() {
        #[cfg(unix)]
        {
            let e = read_checkpoint(Path::new("/dev/zero"), "g").unwrap_err();
            assert_eq!(e, "/dev/zero: not a regular file; a checkpoint is one");
        }
        let d = dir("big");
        let big = d.join("cp.json");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_CHECKPOINT_BYTES + 1).unwrap();
        let e = read_checkpoint(&big, "g").unwrap_err();
        assert!(e.contains("more than a checkpoint's 268435456"), "{e}");
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn the_largest_checkpoint_fits_the_cap() {
        // 100,000 events within the look-back of one stream, and as many auditIDs.
        let n = serde_json::to_vec(&checkpoint(1, 100_000, 100_000))
            .unwrap()
            .len();
        assert!((4_000_000..5_000_000).contains(&n), "{n}");
        // The bounds: 200,000 events remembered and 200,000 auditIDs, over 50 streams.
        let n = serde_json::to_vec(&checkpoint(50, 200_000, 200_000))
            .unwrap()
            .len() as u64;
        assert!((9_000_000..10_000_000).contains(&n), "{n}");
    }
}
