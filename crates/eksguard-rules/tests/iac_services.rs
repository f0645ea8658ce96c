//! The AWS security-service rules on infrastructure code: Terraform files and
//! CloudFormation templates under `iac/` carry `# expect: ID[, ID]` on the lines their
//! findings must point at; every finding of these rules must be expected, and a
//! `hardened` file expects none.

use std::collections::BTreeMap;
use std::path::Path;

use eksguard_load::files::load_text;
use eksguard_load::iac::load_terraform_text;
use eksguard_load::LoadOptions;
use eksguard_model::Inventory;
use eksguard_rules::engine::{Engine, EngineConfig};
use eksguard_rules::registry;
use eksguard_rules::suppress::Date;

const RULES: &[&str] = &[
    "RUN005", "RUN006", "RUN007", "NODE014", "NODE015", "NODE016", "IMG004", "IMG005", "IMG006",
    "IMG007", "IMG008", "IMG009", "IMG010", "IMG011", "DATA007", "DATA008", "DATA009", "DET003",
    "DET004", "NET012", "NET017", "NET018",
];

fn expectations(text: &str) -> BTreeMap<(u32, String), usize> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(idx) = line.find("# expect:") {
            for id in line[idx + 9..]
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                *out.entry((i as u32 + 1, id.to_string())).or_insert(0) += 1;
            }
        }
    }
    out
}

fn load(name: &str, text: &str) -> Inventory {
    if name.ends_with(".tf") {
        let (objects, errors) = load_terraform_text(name, text);
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let mut inv = Inventory::default();
        for o in objects {
            inv.push(o);
        }
        inv
    } else {
        let inv = load_text(name, text.as_bytes(), &LoadOptions::default());
        assert!(inv.errors.is_empty(), "{name}: {:?}", inv.errors);
        inv
    }
}

#[test]
fn service_rules_read_terraform_and_cloudformation() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/iac");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let inv = load(&name, &text);
        let config = EngineConfig {
            select: RULES.iter().map(|s| s.to_string()).collect(),
            today: Some(Date(2026, 1, 1)),
            ..EngineConfig::default()
        };
        let result = Engine::new(registry::all(), config).run(&inv);
        let mut got: BTreeMap<(u32, String), usize> = BTreeMap::new();
        let mut report = String::new();
        for f in &result.findings {
            let obj = inv.get(f.object);
            let line = obj.locate(&f.path).map_or(0, |p| p.line);
            *got.entry((line, f.rule.id.to_string())).or_insert(0) += 1;
            report.push_str(&format!(
                "{line} {} {} {} {}\n",
                f.rule.id,
                obj.display_name(),
                obj.report_path(&f.path),
                f.message
            ));
        }
        assert_eq!(got, expectations(&text), "{name}:\n{report}");
        if name.starts_with("hardened") {
            assert!(result.findings.is_empty(), "{name}:\n{report}");
        } else {
            assert!(!result.findings.is_empty(), "{name}");
        }
    }
}
