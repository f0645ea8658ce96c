//! End-to-end and corpus tests of the `eksguard` package, in one test binary: each module
//! was its own binary once, and every one of them linked the whole program again.

mod common;
mod fake_kube;

mod audit_cli;
mod audit_corpus;
mod audit_rbac;
mod aws_corpus;
mod aws_live;
mod aws_services;
mod book;
mod browser;
mod cli;
mod cluster;
mod completions;
mod corpus;
mod docs;
mod ec2_corpus;
mod everyday;
mod find;
mod fleet;
mod follow;
mod generate;
mod generate_admission;
mod generate_isolate;
mod generate_netpol;
mod generate_psa;
pub(crate) mod helm;
mod helm_charts;
mod holdout;
mod hostile_audit;
mod hostile_files;
mod hostile_output;
mod html;
mod iac;
mod kustomize;
mod kustomize_corpus;
mod node;
mod rbac;
mod rbac_gen;
mod security_hub;
mod serve;
mod suppression;
