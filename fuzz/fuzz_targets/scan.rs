//! Any bytes, as a YAML or JSON file, through the loader and every rule, then every finding
//! resolved to a position: nothing may panic.
#![no_main]

use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;
use eksguard_sources::files::load_text;
use eksguard_sources::LoadOptions;
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
    let inv = load_text(name, data, &LoadOptions::default());
    let result = Engine::new(registry::all(), EngineConfig::default()).run(&inv);
    for f in &result.findings {
        let _ = inv.get(f.object).locate(&f.path);
    }
});
