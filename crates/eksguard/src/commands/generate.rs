//! `eksguard generate`: read manifests, hand them to a generator, write its YAML.

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::Context;
use eksguard_model::Inventory;
use eksguard_policy::{netpol, pss};
use eksguard_sources::files::load_text;
use eksguard_sources::LoadOptions;

use crate::cli::{GenerateCommand, GenerateInput, NetworkPolicyArgs, PodSecurityArgs};
use crate::commands::open_output;
use crate::Outcome;

pub fn run(cmd: GenerateCommand) -> anyhow::Result<Outcome> {
    match cmd {
        GenerateCommand::PodSecurity(args) => pod_security(args),
        GenerateCommand::NetworkPolicy(args) => network_policy(args),
    }
}

/// Loads the inputs. Unreadable ones are reported on standard error; they fail the run only
/// when nothing at all could be read, since a directory often holds a stray file.
fn load_inputs(input: &GenerateInput) -> anyhow::Result<Option<Inventory>> {
    let mut opts = LoadOptions::default();
    if let Some(ns) = &input.namespace {
        opts.default_namespace = ns.clone();
    }
    let (stdin, files): (Vec<PathBuf>, Vec<PathBuf>) = input
        .paths
        .iter()
        .cloned()
        .partition(|p| p.as_os_str() == "-");
    let mut inv = eksguard_sources::load(&files, &opts);
    if !stdin.is_empty() {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(opts.max_file_size + 1)
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        inv.extend(load_text("-", &buf, &opts));
    }
    for e in &inv.errors {
        eprintln!("eksguard: {e}");
    }
    Ok((inv.errors.is_empty() || !inv.objects.is_empty()).then_some(inv))
}

fn write(input: &GenerateInput, text: &str) -> anyhow::Result<()> {
    let mut out = open_output(input.output.as_deref())?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn pod_security(args: PodSecurityArgs) -> anyhow::Result<Outcome> {
    let Some(inv) = load_inputs(&args.input)? else {
        return Ok(Outcome::Error);
    };
    let text = if args.patch {
        pss::render_patches(&inv.objects)
    } else {
        let levels = pss::namespace_levels(&inv.objects);
        // The blockers go to standard error too, so they are seen when the YAML is piped.
        for ns in &levels {
            eprint!("{}", pss::namespace_comment(ns));
        }
        pss::render_namespaces(&levels)
    };
    write(&args.input, &text)?;
    Ok(Outcome::Clean)
}

fn network_policy(args: NetworkPolicyArgs) -> anyhow::Result<Outcome> {
    let Some(inv) = load_inputs(&args.input)? else {
        return Ok(Outcome::Error);
    };
    let generated = netpol::generate(&inv.objects);
    write(&args.input, &netpol::render(&generated))?;
    Ok(Outcome::Clean)
}
