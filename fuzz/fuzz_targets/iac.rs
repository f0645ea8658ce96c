//! Any bytes as Terraform HCL and as a CloudFormation template, through the readers and
//! every rule, then every finding resolved to a position and a path in the code's terms:
//! nothing may panic, and every error names the file and a line of it.
#![no_main]

use eksguard_model::yaml::{parse_documents_keeping_tags, ParseLimits};
use eksguard_model::Inventory;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;
use libfuzzer_sys::fuzz_target;

fn check(inv: &Inventory) {
    let result = Engine::new(registry::all(), EngineConfig::default()).run(inv);
    for f in &result.findings {
        let obj = inv.get(f.object);
        let _ = obj.locate(&f.path);
        let _ = obj.report_path(&f.path).to_string();
    }
}

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
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count() as u32 + 2;

    let (objects, errors) = eksguard_load::iac::load_terraform_text("main.tf", text);
    for e in &errors {
        assert_eq!(e.file, "main.tf", "{e}");
        assert!(e.line.is_none_or(|l| l <= lines), "{e}");
    }
    let mut inv = Inventory::default();
    for o in objects {
        inv.push(o);
    }
    check(&inv);

    let path: std::sync::Arc<str> = "template.yaml".into();
    let mut inv = Inventory::default();
    for doc in parse_documents_keeping_tags(text, true, ParseLimits::default())
        .into_iter()
        .flatten()
    {
        let r = eksguard_load::iac::cloudformation::load(&doc.root, &path);
        for e in r.errors.iter().chain(&r.warnings) {
            assert!(e.line.is_none_or(|l| l <= lines), "{e}");
        }
        for o in r.objects {
            inv.push(o);
        }
    }
    check(&inv);
});
