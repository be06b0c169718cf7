//! One module per fuzz target, each with `pub fn run(data: &[u8])`.

pub mod id_token;
pub mod saml_post_request;
pub mod saml_redirect_request;
pub mod sp_metadata;
pub mod tenant_host;

/// A target's entry: one input in, a panic when an invariant breaks.
pub type Run = fn(&[u8]);

/// Every target by the name of its cargo-fuzz binary and seed directory (`fuzz/corpus/<name>`).
pub const ALL: [(&str, Run); 5] = [
    ("saml_redirect_request", saml_redirect_request::run),
    ("saml_post_request", saml_post_request::run),
    ("sp_metadata", sp_metadata::run),
    ("id_token", id_token::run),
    ("tenant_host", tenant_host::run),
];
