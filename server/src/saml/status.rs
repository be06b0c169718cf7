//! The status of a SAML error Response: what request validation decides and the response
//! writer sends.

use super::uri::{
    STATUS_INVALID_NAME_ID_POLICY, STATUS_NO_PASSIVE, STATUS_REQUEST_DENIED, STATUS_REQUESTER, STATUS_RESPONDER,
    STATUS_UNSUPPORTED_BINDING, STATUS_VERSION_MISMATCH,
};

/// Why an SP's request gets a SAML error Response (top-level and optional second-level
/// StatusCode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamlStatus {
    /// The request's Version is not 2.0 (top-level `VersionMismatch`).
    VersionMismatch,
    /// `Requester` / `UnsupportedBinding`: the SP asked for a binding other than HTTP-POST.
    UnsupportedBinding,
    /// `Requester` / `RequestDenied`: the request is stale or from the future.
    RequestDenied,
    /// `Requester` / `InvalidNameIDPolicy`: we cannot produce the requested NameID format.
    InvalidNameIdPolicy,
    /// `Responder` / `NoPassive`: IsPassive with no broker session (decided by the caller).
    NoPassive,
}

impl SamlStatus {
    /// A stable code for the login debugger (its advice is `flow::advice`'s).
    pub fn code(self) -> &'static str {
        match self {
            Self::VersionMismatch => "version_mismatch",
            Self::UnsupportedBinding => "unsupported_binding",
            Self::RequestDenied => "request_denied",
            Self::InvalidNameIdPolicy => "invalid_name_id_policy",
            Self::NoPassive => "no_passive",
        }
    }

    /// The top-level StatusCode URI.
    pub fn top_level(self) -> &'static str {
        match self {
            Self::VersionMismatch => STATUS_VERSION_MISMATCH,
            Self::UnsupportedBinding | Self::RequestDenied | Self::InvalidNameIdPolicy => STATUS_REQUESTER,
            Self::NoPassive => STATUS_RESPONDER,
        }
    }

    /// The second-level StatusCode URI, if any.
    pub fn second_level(self) -> Option<&'static str> {
        match self {
            Self::VersionMismatch => None,
            Self::UnsupportedBinding => Some(STATUS_UNSUPPORTED_BINDING),
            Self::RequestDenied => Some(STATUS_REQUEST_DENIED),
            Self::InvalidNameIdPolicy => Some(STATUS_INVALID_NAME_ID_POLICY),
            Self::NoPassive => Some(STATUS_NO_PASSIVE),
        }
    }
}
