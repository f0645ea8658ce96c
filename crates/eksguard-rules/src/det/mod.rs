//! DET — detective controls: control-plane logging.

use crate::Rule;

pub const RULES: &[&dyn Rule] = &[];
