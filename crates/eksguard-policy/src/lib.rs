//! Generators: each turns what eksguard knows (objects, traces, a tenant description) into
//! ready-to-apply YAML or JSON. Pure functions; the binary does the I/O.

pub mod admission;
pub mod isolate;
pub mod netpol;
pub mod pss;
pub mod rbac_gen;
pub mod seccomp;
mod syscalls;
pub mod tenant;
pub mod yaml;
