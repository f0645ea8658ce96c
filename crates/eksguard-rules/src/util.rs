//! Small helpers shared by rules.

pub use eksguard_model::selector::{map_selector_matches, selector_matches};
