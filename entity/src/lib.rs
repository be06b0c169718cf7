//! sea-orm entities of Rosetta. Schema changes live in the `migration` crate.

pub mod tenant;
