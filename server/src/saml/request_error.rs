//! Why an AuthnRequest was refused before anything could be sent to its SP.

/// Why an AuthnRequest (or its RelayState or signature) was refused.
///
/// Messages are short and plain, fit for an end-user error page: they never contain XML,
/// parameter values or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The `SAMLRequest` parameter is larger than [`MAX_SAML_REQUEST_PARAM`](super::binding::MAX_SAML_REQUEST_PARAM).
    #[error("The sign-in request is too large.")]
    TooLarge,
    /// The `SAMLRequest` parameter is missing or empty.
    #[error("The sign-in request is missing.")]
    Missing,
    /// The `SAMLRequest` parameter is not valid base64.
    #[error("The sign-in request is not correctly encoded.")]
    BadBase64,
    /// The HTTP-Redirect payload is not valid raw DEFLATE data.
    #[error("The sign-in request could not be decompressed.")]
    BadDeflate,
    /// Inflating the HTTP-Redirect payload went past [`MAX_INFLATED_XML`](super::binding::MAX_INFLATED_XML).
    #[error("The sign-in request expands beyond the allowed size.")]
    InflatedTooLarge,
    /// The decoded request is not UTF-8 text.
    #[error("The sign-in request is not valid text.")]
    NotUtf8,
    /// The XML carries a document type declaration (entity expansion, XXE).
    #[error("The sign-in request contains a document type declaration, which is not allowed.")]
    Doctype,
    /// The XML is not well-formed.
    #[error("The sign-in request is not well-formed XML.")]
    MalformedXml,
    /// An element with more attributes, or a document with more namespace declarations,
    /// than any real request has.
    #[error("The sign-in request carries more attributes than a sign-in request has.")]
    TooManyAttributes,
    /// The root element is not a SAML 2.0 `samlp:AuthnRequest`.
    #[error("The sign-in request is not a SAML 2.0 authentication request.")]
    WrongRoot,
    /// A required attribute (`ID`, `Version`, `IssueInstant`) is absent or empty.
    #[error("The sign-in request lacks its {0} attribute.")]
    MissingAttribute(&'static str),
    /// An attribute or element has a value of the wrong shape.
    #[error("The sign-in request has an invalid {0}.")]
    InvalidValue(&'static str),
    /// No `saml:Issuer`: we cannot tell which application sent the request.
    #[error("The sign-in request does not say which application sent it.")]
    MissingIssuer,
    /// The Issuer is not an SP registered with this tenant.
    #[error("The application that sent this sign-in request is not registered here.")]
    UnknownIssuer,
    /// Both an ACS URL and an ACS index were given; the spec makes them exclusive.
    #[error("The sign-in request names its return address twice.")]
    AcsAmbiguous,
    /// The ACS URL is not exactly one registered for this SP.
    #[error("The sign-in request asks to return to an address that is not registered for this application.")]
    AcsNotRegistered,
    /// The ACS index is not one registered for this SP.
    #[error("The sign-in request asks for a return address that is not registered for this application.")]
    UnknownAcsIndex,
    /// The SP has no ACS at all, so there is nowhere to answer.
    #[error("This application has no return address configured.")]
    NoAcsConfigured,
    /// `Destination` is present and is not one of our SSO URLs.
    #[error("The sign-in request was addressed to another service.")]
    DestinationMismatch,
    /// RelayState longer than [`MAX_RELAY_STATE`](super::request::MAX_RELAY_STATE).
    #[error("The sign-in request's relay state is too long.")]
    RelayStateTooLong,
    /// The query string is malformed or repeats a SAML parameter.
    #[error("The sign-in request's parameters are malformed.")]
    MalformedQuery,
    /// The SP must sign its requests and this one is not signed.
    #[error("The sign-in request is not signed, but this application must sign its requests.")]
    SignatureMissing,
    /// The signature algorithm is not on our allow-list (e.g. RSA-SHA1).
    #[error("The sign-in request is signed with an algorithm that is not allowed.")]
    SignatureAlgorithmNotAllowed,
    /// The signature does not have the one permitted shape (one enveloped signature over the root).
    #[error("The sign-in request's signature does not cover the request as expected.")]
    SignatureStructure,
    /// No configured certificate verifies the signature.
    #[error("The sign-in request's signature is not valid.")]
    SignatureInvalid,
    /// The SP must sign its requests but no usable signing certificate is configured.
    #[error("No signing certificate is configured for this application.")]
    NoSigningCertificate,
}

impl RequestError {
    /// Whether the right HTTP answer is 413 (payload too large) rather than 400.
    pub fn is_too_large(&self) -> bool {
        matches!(self, Self::TooLarge | Self::InflatedTooLarge)
    }

    /// A stable code for the login debugger (its advice is `flow::advice`'s).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge | Self::InflatedTooLarge => "request_too_large",
            Self::Missing => "request_missing",
            Self::BadBase64 | Self::BadDeflate | Self::NotUtf8 | Self::MalformedQuery => "request_encoding",
            Self::Doctype | Self::MalformedXml | Self::TooManyAttributes | Self::WrongRoot => "request_malformed",
            Self::MissingAttribute(_) | Self::InvalidValue(_) => "request_invalid",
            Self::MissingIssuer => "missing_issuer",
            Self::UnknownIssuer => "unknown_issuer",
            Self::AcsAmbiguous => "acs_ambiguous",
            Self::AcsNotRegistered => "acs_not_registered",
            Self::UnknownAcsIndex => "unknown_acs_index",
            Self::NoAcsConfigured => "no_acs_configured",
            Self::DestinationMismatch => "destination_mismatch",
            Self::RelayStateTooLong => "relay_state_too_long",
            Self::SignatureMissing => "signature_missing",
            Self::SignatureAlgorithmNotAllowed => "signature_algorithm_not_allowed",
            Self::SignatureStructure | Self::SignatureInvalid => "signature_invalid",
            Self::NoSigningCertificate => "no_signing_certificate",
        }
    }
}
