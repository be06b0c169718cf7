//! HTTP-POST AuthnRequests: base64 (whitespace-tolerant) → XML → validation, including the
//! enveloped XML signature check (shape checks, then xmlsec) for an SP that signs requests.
//!
//! Each input is used two ways:
//! 1. as the form's `SAMLRequest` value (after form decoding), for `decode`;
//! 2. as the AuthnRequest XML itself, base64-encoded by the harness: `decode` must give it back
//!    exactly; the parsed request is validated against an unsigned and a signing SP.

use crate::{check_parsed, validate_all, verbose};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rosetta::saml::request::{Binding, MAX_SAML_REQUEST_PARAM, Received, RequestError, decode, parse};

/// One fuzz input (see the module documentation).
pub fn run(data: &[u8]) {
    if let Ok(value) = std::str::from_utf8(data) {
        let outcome = decode(Binding::Post, value).and_then(|xml| {
            let req = parse(&xml)?;
            check_parsed(&req, &xml);
            Ok(validate_all(&req, &Received::Post))
        });
        if verbose() {
            eprintln!("form value: {outcome:?}");
        }
    }

    let encoded = STANDARD.encode(data);
    let decoded = decode(Binding::Post, &encoded);
    if !data.is_empty() && encoded.len() <= MAX_SAML_REQUEST_PARAM {
        match std::str::from_utf8(data) {
            Ok(text) => assert_eq!(decoded.as_deref(), Ok(text), "POST encoding does not round-trip"),
            Err(_) => assert_eq!(decoded, Err(RequestError::NotUtf8)),
        }
    }
    let outcome = decoded.and_then(|xml| {
        let req = parse(&xml)?;
        check_parsed(&req, &xml);
        Ok(validate_all(&req, &Received::Post))
    });
    if verbose() {
        eprintln!("xml: {outcome:?}");
    }
}
