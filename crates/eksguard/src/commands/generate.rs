//! `eksguard generate`: reads the inputs, calls the generators, writes the result.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use eksguard_load::LoadOptions;
use eksguard_model::workload::controlled_workloads;
use eksguard_model::{Inventory, Object};
use eksguard_policy::seccomp::{self, Arch, Observed};
use eksguard_policy::tenant::{self, Pss, Tenant, Toleration};
use eksguard_policy::{isolate, netpol, pss};

use crate::cli::{
    AdmissionPolicyArgs, GenerateCommand, GenerateInput, IsolateArgs, NetworkPolicyArgs,
    PodSecurityArgs, SeccompArgs, TenantArgs,
};
use crate::pipeline::{fail_threshold, RunSpec, Selection};
use crate::Outcome;

pub fn run(cmd: GenerateCommand) -> anyhow::Result<Outcome> {
    match cmd {
        GenerateCommand::PodSecurity(args) => pod_security(args),
        GenerateCommand::Seccomp(args) => seccomp_cmd(args),
        GenerateCommand::Tenant(args) => tenant_cmd(args),
        GenerateCommand::NetworkPolicy(args) => network_policy(args),
        GenerateCommand::AdmissionPolicy(args) => admission_policy(args),
        GenerateCommand::Isolate(args) => isolate_cmd(args),
    }
}

fn write_out(path: Option<&Path>, text: &str) -> anyhow::Result<()> {
    let mut out = super::open_output(path)?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn seccomp_cmd(args: SeccompArgs) -> anyhow::Result<Outcome> {
    let arches = args
        .arch
        .iter()
        .map(|a| a.parse::<Arch>())
        .collect::<Result<Vec<_>, _>>()?;
    let mut observed = Observed::default();
    for path in &args.traces {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        observed.add_trace(&path.display().to_string(), &text, &arches);
    }
    for w in &observed.warnings {
        eprintln!("warning: {}", super::shown(w));
    }
    if observed.syscalls.is_empty() {
        bail!("no known syscalls in the given traces");
    }
    let profile = seccomp::profile(&observed.syscalls, &arches);
    write_out(args.output.as_deref(), &profile.to_json())?;
    let name = args
        .output
        .as_deref()
        .and_then(Path::file_stem)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "NAME".into());
    eprintln!(
        "Copy the profile to /var/lib/kubelet/seccomp/profiles/{}.json on each node and set in the pod spec:",
        super::shown(&name)
    );
    for line in seccomp::localhost_snippet(&name).lines() {
        eprintln!("{}", super::shown(line));
    }
    Ok(Outcome::Clean)
}

fn tenant_cmd(args: TenantArgs) -> anyhow::Result<Outcome> {
    let tenants = match (&args.file, &args.name) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            tenant::parse_file(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?
        }
        (None, Some(name)) => {
            let mut t = Tenant::new(name.clone());
            t.groups = args.groups;
            t.users = args.users;
            t.cpu = args.cpu;
            t.memory = args.memory;
            t.pods = args.pods;
            t.pss = Pss::parse(&args.pss).map_err(anyhow::Error::msg)?;
            for s in &args.node_selector {
                t.node_selector
                    .push(tenant::parse_selector(s).map_err(anyhow::Error::msg)?);
            }
            for s in &args.toleration {
                t.tolerations
                    .push(Toleration::parse(s).map_err(anyhow::Error::msg)?);
            }
            t.validate().map_err(anyhow::Error::msg)?;
            vec![t]
        }
        (None, None) => bail!("give a tenant NAME or --file"),
    };
    if tenants.is_empty() {
        bail!("no tenants to generate");
    }
    for t in &tenants {
        if t.groups.is_empty() && t.users.is_empty() {
            eprintln!(
                "warning: tenant `{}` has no --group or --user; no RoleBinding generated",
                super::shown(&t.name)
            );
        }
    }
    write_out(args.output.as_deref(), &tenant::render(&tenants))?;
    Ok(Outcome::Clean)
}

/// Loads the inputs. Unreadable ones (a stray file, a resource type the cluster refused)
/// are reported on standard error; the output is still written from the rest, and the
/// run ends with status 2 (see [`finished`]). `None` when nothing at all could be read.
/// With `--live` the objects come from the cluster of the kubeconfig.
fn load_inputs(input: &GenerateInput) -> anyhow::Result<Option<Inventory>> {
    let inv = if input.live {
        crate::live::read_kube(&input.kube)?
    } else {
        let mut opts = LoadOptions::default();
        if let Some(ns) = &input.kube.namespace {
            opts.default_namespace = ns.clone();
        }
        super::load_paths(&input.paths, &opts, None)?
    };
    for e in &inv.errors {
        eprintln!("eksguard: {}", super::shown(e));
    }
    Ok((inv.errors.is_empty() || !inv.objects.is_empty()).then_some(inv))
}

/// The objects generators look at: a controller's pods and ReplicaSets share its
/// template, so only the controller counts.
fn owners_only(inv: &Inventory) -> Vec<&Object> {
    let controlled = controlled_workloads(inv);
    inv.objects
        .iter()
        .map(|o| &**o)
        .filter(|o| !controlled.contains(&o.id))
        .collect()
}

fn pod_security(args: PodSecurityArgs) -> anyhow::Result<Outcome> {
    let Some(inv) = load_inputs(&args.input)? else {
        return Ok(Outcome::Error);
    };
    let text = if args.patch {
        pss::render_patches(owners_only(&inv))
    } else {
        let levels = pss::namespace_levels(owners_only(&inv));
        // The blockers go to standard error too, so they are seen when the YAML is piped.
        for ns in &levels {
            for line in pss::namespace_comment(ns).lines() {
                eprintln!("{}", super::shown(line));
            }
        }
        pss::render_namespaces(&levels)
    };
    write_out(args.input.output.as_deref(), &text)?;
    Ok(finished(&inv))
}

/// Status 2 when some input could not be read: the output may lack what it held.
fn finished(inv: &Inventory) -> Outcome {
    if inv.errors.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Error
    }
}

fn network_policy(args: NetworkPolicyArgs) -> anyhow::Result<Outcome> {
    let Some(inv) = load_inputs(&args.input)? else {
        return Ok(Outcome::Error);
    };
    let generated = netpol::generate(owners_only(&inv));
    write_out(args.input.output.as_deref(), &netpol::render(&generated))?;
    Ok(finished(&inv))
}

fn isolate_cmd(args: IsolateArgs) -> anyhow::Result<Outcome> {
    let target = isolate::Target::parse(&args.target)
        .map_err(|e| anyhow::anyhow!("`{}`: {e}", super::shown(&args.target)))?;
    let Some(inv) = load_inputs(&args.input)? else {
        return Ok(Outcome::Error);
    };
    let mut iso = isolate::isolate(target, inv.objects.iter().map(|o| &**o));
    // A policy only isolates where something enforces NetworkPolicies.
    let config = eksguard_rules::engine::EngineConfig {
        select: vec!["NET010".to_string()],
        ..Default::default()
    };
    let result =
        eksguard_rules::engine::Engine::new(eksguard_rules::registry::all(), config).run(&inv);
    iso.warnings.extend(
        result
            .findings
            .iter()
            .map(|f| format!("NetworkPolicies are not enforced (NET010): {}", f.message)),
    );
    for w in &iso.warnings {
        eprintln!("eksguard: warning: {}", super::shown(w));
    }
    write_out(args.input.output.as_deref(), &isolate::render(&iso))?;
    Ok(finished(&inv))
}

fn admission_policy(args: AdmissionPolicyArgs) -> anyhow::Result<Outcome> {
    use eksguard_policy::admission::{self, Options, Selected};
    // The objects are named `NAME-deny` and `NAME-warn`: a DNS subdomain name.
    let valid_name = !args.name.is_empty()
        && args.name.len() <= 200
        && args
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && args.name.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_name {
        bail!(
            "--name `{}`: use lower-case letters, digits, `-` and `.`, starting with a letter or digit",
            super::shown(&args.name)
        );
    }
    let selection = Selection {
        select: &args.select,
        ignore: &args.ignore,
        config: args.config.as_deref(),
        no_config: args.no_config,
    };
    let Some(spec) = RunSpec::judging(&selection) else {
        return Ok(Outcome::Error);
    };
    let engine_cfg = spec.engine;
    let engine =
        eksguard_rules::engine::Engine::new(eksguard_rules::registry::all(), engine_cfg.clone());
    let rules: Vec<Selected> = engine
        .rules()
        .iter()
        .map(|r| {
            let meta = r.meta();
            let severity = engine_cfg
                .severity_overrides
                .get(meta.id)
                .copied()
                .unwrap_or(meta.severity);
            Selected { meta, severity }
        })
        .collect();
    let opts = Options {
        deny_on: fail_threshold(Some(args.deny_on), None),
        warn_on: fail_threshold(Some(args.warn_on), None),
        exempt_namespaces: args.exempt_namespaces,
        name: args.name,
    };
    let enforced = |r: &&Selected| {
        admission::check(r.meta.id).is_some()
            && [opts.deny_on, opts.warn_on]
                .iter()
                .flatten()
                .any(|t| r.severity >= *t)
    };
    let count = rules.iter().filter(enforced).count();
    if count == 0 {
        bail!("no selected rule with a CEL form is at or above --deny-on or --warn-on");
    }
    eprintln!("{count} rules in CEL; rules without a CEL form are listed in the output's comments");
    write_out(args.output.as_deref(), &admission::render(&rules, &opts))?;
    Ok(Outcome::Clean)
}
