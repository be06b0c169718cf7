//! The SAML 2.0 Identity Provider side: reading AuthnRequests, building and signing
//! Responses, publishing our metadata, reading SPs' metadata. Plain functions over plain
//! types; no HTTP here.

pub mod binding;
pub(crate) mod dom;
pub(crate) mod guard;
pub mod keys;
pub mod metadata;
pub mod request;
pub mod request_error;
pub mod request_signature;
pub mod response;
pub mod sp_metadata;
pub mod status;
pub mod uri;
pub mod xml;
