//! `eksguard snapshot`: reads a live cluster as `cluster` does and writes what it read
//! (Secret values removed) to one file that `eksguard scan` loads later.

use std::io::Write;

use anyhow::Context;
use eksguard_load::snapshot::{self, SnapshotMeta};

use crate::cli::SnapshotArgs;
use crate::Outcome;

pub fn run(args: SnapshotArgs) -> anyhow::Result<Outcome> {
    let Some((inv, info)) = crate::live::read_live(&args.kube, Some(&args.aws))? else {
        return Ok(Outcome::Error);
    };
    let meta = SnapshotMeta {
        server: info.server,
        context: info.context,
        cluster: info.cluster,
    };
    let doc = snapshot::to_json(&inv, &meta);
    let mut out = super::open_output(Some(&args.output))?;
    eksguard_report::escape::write_json(&doc, &mut out, true)
        .and_then(|()| out.write_all(b"\n"))
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    out.flush()
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    for e in &inv.errors {
        eprintln!("eksguard: {}", super::shown(e));
    }
    eprintln!(
        "eksguard: wrote {} objects and {} read errors to {}",
        inv.objects.len(),
        inv.errors.len(),
        super::shown(args.output.display())
    );
    Ok(if inv.errors.is_empty() {
        Outcome::Clean
    } else {
        Outcome::Error
    })
}
