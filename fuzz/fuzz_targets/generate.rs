//! Any bytes as manifests, a tenant file and a trace through the generators: nothing may
//! panic, and every output must parse back to exactly the documents written, with no line
//! break or control character anywhere but at line ends.
#![no_main]

use eksguard_model::yaml::{parse_documents, ParseLimits};
use eksguard_policy::seccomp::{self, Arch, Observed};
use eksguard_policy::yaml::must_escape;
use eksguard_policy::{netpol, pss, tenant};
use eksguard_load::files::load_text;
use eksguard_load::LoadOptions;
use libfuzzer_sys::fuzz_target;

static HOOK: std::sync::Once = std::sync::Once::new();

fn clean(text: &str) -> bool {
    !text.chars().any(|c| c != '\n' && must_escape(c))
}

/// Parses generated YAML back and checks it holds exactly `expected` documents.
fn check(what: &str, text: &str, expected: usize) {
    assert!(clean(text), "{what}: control character in {text:?}");
    let docs = parse_documents(text, true, ParseLimits::default());
    assert!(
        docs.iter().all(Result::is_ok),
        "{what}: output does not parse: {text:?}"
    );
    let real = docs
        .iter()
        .filter(|d| d.as_ref().is_ok_and(|d| !d.root.is_null()))
        .count();
    assert_eq!(real, expected, "{what}: {text:?}");
}

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
    let inv = load_text("f.yaml", data, &LoadOptions::default());

    let levels = pss::namespace_levels(inv.iter());
    check(
        "pod-security",
        &pss::render_namespaces(&levels),
        levels.len(),
    );
    for ns in &levels {
        assert!(clean(&pss::namespace_comment(ns)));
    }
    let patches = inv
        .objects
        .iter()
        .filter(|o| pss::patch_for(o).is_some())
        .count();
    check(
        "pod-security --patch",
        &pss::render_patches(inv.iter()),
        patches,
    );

    let generated = netpol::generate(inv.iter());
    let policies = generated.iter().map(|n| n.policies.len()).sum();
    check("network-policy", &netpol::render(&generated), policies);

    let text = String::from_utf8_lossy(data);
    if let Ok(tenants) = tenant::parse_file(&text) {
        let docs = tenants.iter().map(|t| tenant::documents_for(t).len()).sum();
        check("tenant", &tenant::render(&tenants), docs);
    }
    let mut observed = Observed::default();
    observed.add_trace("f", &text, &[Arch::X86_64, Arch::Aarch64]);
    assert!(observed
        .warnings
        .iter()
        .all(|w| clean(w) && !w.contains('\n')));
    check("seccomp snippet", &seccomp::localhost_snippet(&text), 1);
});
