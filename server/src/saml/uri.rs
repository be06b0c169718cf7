//! The URIs SAML 2.0 and XML Signature name things by, spelled once for the whole crate:
//! namespaces, bindings, NameID formats, status codes and the algorithms we sign and verify
//! with.

/// Namespace of SAML 2.0 protocol messages (`samlp:`); also the SAML 2.0 entry of a
/// metadata `protocolSupportEnumeration`.
pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// Namespace of SAML 2.0 assertions (`saml:`), where `Issuer` lives.
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// Namespace of SAML 2.0 metadata (`md:`).
pub const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// Namespace of XML Signature (`ds:`).
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The HTTP-Redirect binding.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// The HTTP-POST binding, the only one Responses are sent with.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// NameID format `emailAddress`.
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
/// NameID format `unspecified`: the SP leaves the choice to us.
pub const NAMEID_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
/// NameID format `persistent`: a stable opaque ID, pairwise (one per SP).
pub const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/// NameID format `transient`: a one-time identifier, new for every assertion.
pub const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
/// The NameID formats Rosetta can produce, and so the only ones an SP may be registered with.
pub const SUPPORTED_NAMEID_FORMATS: &[&str] = &[NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT, NAMEID_UNSPECIFIED];

/// Top-level status: the request was fulfilled.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Top-level status: the requester did something wrong.
pub const STATUS_REQUESTER: &str = "urn:oasis:names:tc:SAML:2.0:status:Requester";
/// Top-level status: the responder (we) could not answer.
pub const STATUS_RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
/// Top-level status: the request's SAML version is not 2.0.
pub const STATUS_VERSION_MISMATCH: &str = "urn:oasis:names:tc:SAML:2.0:status:VersionMismatch";
/// Second-level status: the requested binding is not supported.
pub const STATUS_UNSUPPORTED_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding";
/// Second-level status: the request is refused (stale, or from the future).
pub const STATUS_REQUEST_DENIED: &str = "urn:oasis:names:tc:SAML:2.0:status:RequestDenied";
/// Second-level status: IsPassive and no broker session.
pub const STATUS_NO_PASSIVE: &str = "urn:oasis:names:tc:SAML:2.0:status:NoPassive";
/// Second-level status: the requested NameID format cannot be produced.
pub const STATUS_INVALID_NAME_ID_POLICY: &str = "urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy";

/// Subject confirmation method `bearer`.
pub const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// `PasswordProtectedTransport`: the user authenticated at their provider over TLS.
pub const AUTHN_CONTEXT_PPT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
/// URI attribute names (Atlassian's claim names are URIs).
pub const ATTRNAME_FORMAT_URI: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri";
/// Unspecified attribute name format.
pub const ATTRNAME_FORMAT_UNSPECIFIED: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified";

/// Exclusive canonicalization without comments, the only one we write or accept.
pub const ALG_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ALG_ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// SHA-256 digest.
pub const ALG_SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// SHA-512 digest.
pub const ALG_SHA512: &str = "http://www.w3.org/2001/04/xmlenc#sha512";
/// RSA with SHA-256, what we sign with.
pub const ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/// RSA with SHA-512.
pub const ALG_RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
/// ECDSA with SHA-256.
pub const ALG_ECDSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256";
