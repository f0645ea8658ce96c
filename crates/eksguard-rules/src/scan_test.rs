//! Unit-test helper: one rule run over a YAML stream, for the cases a fixture cannot hold
//! (a fixture must fire, and some hardened inputs are whole scans that must not).

use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;

use crate::engine::{Engine, EngineConfig};
use crate::registry;

/// The findings of rule `id` over `yaml`, as `(object name, field path, message)`.
pub(crate) fn findings(id: &str, yaml: &str) -> Vec<(String, String, String)> {
    let inv = load_text("t.yaml", yaml.as_bytes(), &LoadOptions::default());
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let config = EngineConfig {
        select: vec![id.into()],
        ..EngineConfig::default()
    };
    Engine::new(registry::all(), config)
        .run(&inv)
        .findings
        .iter()
        .map(|f| {
            (
                inv.get(f.object).name.to_string(),
                f.path.to_string(),
                f.message.to_string(),
            )
        })
        .collect()
}
