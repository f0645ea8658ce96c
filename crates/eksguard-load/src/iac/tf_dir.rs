//! Terraform directories: the `.tf` and `.tfvars` files of each directory are evaluated
//! together as one module ([`hcl`]) and its blocks mapped to objects ([`terraform`] for
//! resources, [`eks_module`] for the EKS module).

use eksguard_model::{InputError, Object};

use super::{eks_module, hcl, terraform, Loaded};
use crate::read::{display, ReadError};

/// Variable files Terraform reads by itself in a directory: `terraform.tfvars` and
/// `terraform.tfvars.json`, then `*.auto.tfvars` and `*.auto.tfvars.json` in name order.
fn auto_var_file_rank(path: &std::path::Path) -> Option<(u8, String)> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    if name == "terraform.tfvars" || name == "terraform.tfvars.json" {
        Some((0, name))
    } else if name.ends_with(".auto.tfvars") || name.ends_with(".auto.tfvars.json") {
        Some((1, name))
    } else {
        None
    }
}

/// Whether a Terraform path holds variable values (`.tfvars`, `.tfvars.json`).
fn is_var_file(path: &std::path::Path) -> bool {
    let name = display(path).to_ascii_lowercase();
    name.ends_with(".tfvars") || name.ends_with(".tfvars.json")
}

/// Reads Terraform files, grouped by directory (each directory is one module scope),
/// with `var_files` (`--var-file`) applied to every directory after its own variable
/// files. Each file comes with whether it holds variable values (`.tfvars`) rather than
/// configuration, as the input table ([`crate::format`]) recognised it. `read` reads one
/// file under the loader's limits.
pub fn load_terraform(
    files: &[(std::path::PathBuf, bool)],
    var_files: &[std::path::PathBuf],
    default_ns: &str,
    read: &(dyn Fn(&std::path::Path) -> Result<Vec<u8>, ReadError> + Sync),
) -> Loaded {
    use rayon::prelude::*;
    use std::collections::BTreeMap;
    let mut out = Loaded::default();
    let parse = |p: &std::path::Path, out: &mut Loaded| -> Option<hcl::TfFile> {
        let name = display(p);
        let bytes = match read(p) {
            Ok(b) => b,
            Err(e) => {
                match e {
                    ReadError::TooLarge(_) => out.too_large += 1,
                    ReadError::NotRegular(_) => out.not_regular += 1,
                    ReadError::Io(_) => {}
                }
                out.errors.push(InputError::new(name, None, e.to_string()));
                return None;
            }
        };
        out.files_scanned += 1;
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
                out.errors.push(InputError::new(
                    name,
                    Some(line),
                    "invalid UTF-8; file skipped",
                ));
                return None;
            }
        };
        // The JSON syntax is read as the native text it stands for, line for line.
        let text = if name.to_ascii_lowercase().ends_with(".json") {
            match super::tf_json::to_hcl(&name, &text, is_var_file(p)) {
                Ok(t) => t,
                Err(e) => {
                    out.errors.push(e);
                    return None;
                }
            }
        } else {
            text
        };
        match hcl::TfFile::parse(&name, text) {
            Ok(f) => Some(f),
            Err(e) => {
                out.errors.push(e);
                None
            }
        }
    };
    let mut flags = Loaded::default();
    let extra: Vec<hcl::TfFile> = var_files
        .iter()
        .filter_map(|p| parse(p, &mut flags))
        .collect();
    // `--var-file` files are inputs of every directory, counted once.
    out.files_scanned += flags.files_scanned;
    out.errors.extend(flags.errors);
    let mut dirs: BTreeMap<std::path::PathBuf, Vec<(std::path::PathBuf, bool)>> = BTreeMap::new();
    for (f, is_vars) in files {
        let dir = f
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        dirs.entry(dir).or_default().push((f.clone(), *is_vars));
    }
    let results: Vec<Loaded> = dirs
        .into_par_iter()
        .map(|(_, mut paths)| {
            let mut r = Loaded::default();
            paths.sort();
            let mut tf = Vec::new();
            let mut vars: Vec<(u8, String, hcl::TfFile)> = Vec::new();
            for (p, is_vars) in &paths {
                let is_vars = *is_vars;
                let Some(f) = parse(p, &mut r) else { continue };
                if !is_vars {
                    tf.push(f);
                } else if let Some((rank, name)) = auto_var_file_rank(p) {
                    vars.push((rank, name, f));
                } else if !var_files.iter().any(|v| v == p) {
                    // Terraform itself reads only these two kinds; say so rather than
                    // apply or drop it silently.
                    r.warnings.push(InputError::new(
                        display(p),
                        None,
                        "variable file not applied: only terraform.tfvars and *.auto.tfvars are \
                         read with their directory; pass others with --var-file",
                    ));
                }
            }
            if tf.is_empty() {
                return r;
            }
            vars.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            let mut var_files: Vec<&hcl::TfFile> = vars.iter().map(|(_, _, f)| f).collect();
            var_files.extend(extra.iter());
            let module = hcl::evaluate(tf, &var_files);
            let (objects, warnings) = objects(&module, default_ns);
            r.objects = objects;
            r.warnings.extend(warnings);
            r
        })
        .collect();
    for r in results {
        out.objects.extend(r.objects);
        out.errors.extend(r.errors);
        out.warnings.extend(r.warnings);
        out.files_scanned += r.files_scanned;
        out.too_large += r.too_large;
        out.not_regular += r.not_regular;
    }
    out
}

/// One HCL text as a directory of its own (fuzzing, tests): its objects and the errors.
pub fn load_terraform_text(name: &str, text: &str) -> (Vec<Object>, Vec<InputError>) {
    match hcl::TfFile::parse(name, text.to_string()) {
        Ok(f) => {
            let module = hcl::evaluate(vec![f], &[]);
            objects(&module, "default")
        }
        Err(e) => (Vec::new(), vec![e]),
    }
}

/// Objects of `kubernetes_manifest` and the rest, for one evaluated directory.
fn objects(module: &hcl::Module, default_ns: &str) -> (Vec<Object>, Vec<InputError>) {
    let mut objects = Vec::new();
    let mut warnings = module.warnings.clone();
    let scope = module
        .files
        .first()
        .map(|f| super::dir_of(&f.name))
        .unwrap_or_default();
    for b in &module.blocks {
        let path = module.file_name(b.file);
        match b.block {
            "resource" => objects.extend(terraform::map_resource(
                "terraform",
                &scope,
                &b.ty,
                &b.address,
                &b.attrs,
                b.pos,
                b.file,
                &path,
                &b.suppressions,
                b.unknown_count.as_deref(),
                default_ns,
            )),
            "module" => {
                let (o, w) = eks_module::map_module(b, &path, &scope);
                objects.extend(o);
                warnings.extend(w);
            }
            _ => {}
        }
    }
    (objects, warnings)
}
