//! sea-orm entities of Rosetta. Schema changes live in the `migration` crate.

pub mod audit_event;
pub mod end_user;
pub mod identity_source;
pub mod identity_source_domain;
pub mod service_provider;
pub mod signing_key;
pub mod tenant;
