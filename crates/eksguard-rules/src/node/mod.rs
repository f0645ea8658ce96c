//! NODE — worker-node infrastructure: node groups, AMIs and kubelet configuration.

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[];
