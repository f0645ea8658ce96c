//! TEN rules.

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[];
