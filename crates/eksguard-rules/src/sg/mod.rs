//! SG — security groups of the cluster and its nodes.

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[];
