//! Any bytes as an audit log (plain, gzip, JSON lines, documents, CloudWatch envelopes)
//! through the reader, every AUD rule, and the report views of each event (request body,
//! redacted URI and command included): nothing may panic.
#![no_main]

use eksguard_model::audit::AuditEvent;
use eksguard_rules::engine::EngineConfig;
use eksguard_rules::events::AuditEngine;
use eksguard_rules::registry;
use eksguard_load::audit::{AuditReader, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut engine = AuditEngine::new(registry::all(), EngineConfig::default());
    // Small batches and limits so that batch and element boundaries get exercised.
    let mut reader = AuditReader::new(ReadOptions {
        batch_bytes: 97,
        dedup_window: 8,
        max_event_bytes: 4096,
        max_errors: 4,
    });
    reader.read_stream("fuzz", data, &mut |batch| {
        let events: Vec<&AuditEvent<'_>> = batch.events.iter().map(|p| &p.event).collect();
        for f in engine.check(&events) {
            let ev = events[f.index];
            let _ = (ev.target(), ev.summary(), f.hit.path.to_string());
        }
        // The depth-bounded body reader and the redaction of URIs and commands, on
        // every event, not only those a rule reported.
        for ev in &events {
            let _ = (ev.request_json(), ev.uri(), ev.command());
        }
    });
    let _ = (reader.errors(), reader.stats());
});
