//! sea-orm entities of Rosetta. Schema changes live in the `migration` crate.

pub mod admin_account;
pub mod audit_event;
pub mod email_token;
pub mod end_user;
pub mod end_user_grant;
pub mod identity_source;
pub mod identity_source_domain;
pub mod invitation;
pub mod login_trace;
pub mod membership;
pub mod provisioning_link;
pub mod provisioning_push;
pub mod provisioning_target;
pub mod service_provider;
pub mod signing_key;
pub mod tenant;
