//! The SAML 2.0 Identity Provider side: reading AuthnRequests, building and signing
//! Responses, publishing metadata. Plain functions over plain types; no HTTP here.

pub(crate) mod guard;
pub mod keys;
pub mod metadata;
pub mod request;
pub mod request_signature;
pub mod response;
pub mod xml;
