//! IMG rules.

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[];
