//! Hardened twins of rules that judge a whole scan at once: a scan where the control is
//! in place must give the rule nothing to report. Each `clean/<ID>_<variant>.yaml` is one
//! scan, run with its rule alone. (The fixtures under `fixtures/` must fire, so a scan
//! that passes as a whole lives here.)

use std::path::Path;

use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;
use eksguard_rules::suppress::Date;

#[test]
fn hardened_scans_give_nothing_to_report() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clean");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let id = name.split(['_', '.']).next().unwrap().to_string();
        assert!(registry::find(&id).is_some(), "{name}: no rule {id}");
        let text = std::fs::read_to_string(&file).unwrap();
        let inv = load_text(&name, text.as_bytes(), &LoadOptions::default());
        assert!(inv.errors.is_empty(), "{name}: {:?}", inv.errors);
        assert!(!inv.objects.is_empty(), "{name}: no objects read");
        let config = EngineConfig {
            select: vec![id.clone()],
            today: Some(Date(2026, 1, 1)),
            ..EngineConfig::default()
        };
        let result = Engine::new(registry::all(), config).run(&inv);
        let found: Vec<String> = result
            .findings
            .iter()
            .map(|f| format!("{} {} {}", f.rule.id, f.path, f.message))
            .collect();
        assert!(found.is_empty(), "{name}: {found:#?}");
    }
}
