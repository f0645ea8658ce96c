//! The admission handler: bytes as a whole AdmissionReview body, and as an object and an
//! old object (`OBJECT\0OLD`) set into an UPDATE review, through the parser and the judge.
//! Nothing may panic, and every answer keeps the webhook's promises: a deny carries a
//! message whose every line is free of control characters, warnings are few and short,
//! and an UPDATE that changes nothing is never denied.
#![no_main]

use std::sync::LazyLock;

use eksguard::serve::admission::{parse_review, Decision, Judge, Policy};
use eksguard_model::Severity;
use eksguard_rules::engine::EngineConfig;
use libfuzzer_sys::fuzz_target;

static JUDGE: LazyLock<Judge> = LazyLock::new(|| {
    Judge::new(
        EngineConfig::default(),
        Policy {
            deny_on: Some(Severity::Low),
            warn_on: Some(Severity::Info),
            ..Policy::default()
        },
    )
});

static HOOK: std::sync::Once = std::sync::Once::new();

fn check(body: &[u8], unchanged_update: bool) {
    let Ok(review) = parse_review(body) else {
        return;
    };
    let v = JUDGE.decide(review, None);
    let doc = v.to_json();
    assert!(doc["response"]["uid"].is_string());
    assert!(v.warnings.len() <= 20, "{:?}", v.warnings);
    assert!(v.warnings.iter().all(|w| w.len() <= 200), "{:?}", v.warnings);
    for value in v.audit.values() {
        assert!(value.len() <= 1024);
        assert!(!value.chars().any(char::is_control), "{value:?}");
    }
    if !v.allowed {
        let message = v.message.as_deref().expect("a deny has a message");
        for line in message.lines() {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert!(message.lines().count() <= 22, "{message}");
    }
    if unchanged_update {
        assert_ne!(v.decision, Decision::Denied, "{:?}", v.message);
    }
}

fuzz_target!(|data: &[u8]| {
    // Panics inside the YAML parser library are caught by the loaders; any panic here is
    // a crash.
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if !eksguard_model::yaml::in_parser() {
                eprintln!("{info}");
                std::process::abort();
            }
        }))
    });
    check(data, false);
    let text = String::from_utf8_lossy(data);
    let (object, old) = text.split_once('\0').unwrap_or((&text, &text));
    let wrap = |object: &str, old: &str| {
        format!(
            r#"{{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{{"uid":"u","operation":"UPDATE","kind":{{"group":"","version":"v1","kind":"Pod"}},"namespace":"shop","name":"p","userInfo":{{"username":"fuzz"}},"object":{object},"oldObject":{old}}}}}"#
        )
    };
    check(wrap(object, old).as_bytes(), false);
    check(wrap(object, object).as_bytes(), true);
});
