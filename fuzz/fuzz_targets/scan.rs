//! Any bytes, as a YAML or JSON file, through the loader and every rule, then every finding
//! resolved to a position: nothing may panic, and every error or warning names the file
//! and a line of it.
#![no_main]

use eksguard_model::yaml::ParseLimits;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;
use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use libfuzzer_sys::fuzz_target;

static HOOK: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // Panics inside the YAML parser library are caught and reported as input errors (see
    // `yaml::in_parser`); every other panic is a crash.
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if !eksguard_model::yaml::in_parser() {
                eprintln!("{info}");
                std::process::abort();
            }
        }))
    });
    let name = if data.first() == Some(&b'{') { "f.json" } else { "f.yaml" };
    // Small budgets on some inputs, so the alias and nesting limits are reached by short
    // inputs too.
    let mut opts = LoadOptions::default();
    if data.len() % 2 == 1 {
        opts.limits = ParseLimits {
            max_depth: 8,
            max_alias_nodes: 64,
        };
    }
    let inv = load_text(name, data, &opts);
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u32 + 2;
    for e in inv.errors.iter().chain(&inv.warnings) {
        assert_eq!(e.file, name, "{e}");
        assert!(e.line.is_none_or(|l| l <= lines), "{e}");
    }
    let result = Engine::new(registry::all(), EngineConfig::default()).run(&inv);
    for f in &result.findings {
        let _ = inv.get(f.object).locate(&f.path);
    }
});
