//! HTTP-Redirect AuthnRequests: query string → base64 → bounded inflate → XML → validation.
//!
//! Each input is used three ways:
//! 1. as the raw query string of `GET /saml/sso`, split the way the route does it (last value
//!    wins) and the way the signature check does it (`redirect_params`, repeats refused); the
//!    two must never disagree about a SAML parameter's value, since that would let one value
//!    be verified and another be used (an input without `SAMLRequest=` is taken as its value);
//! 2. as raw DEFLATE data (base64-encoded by the harness), for the inflater and its caps;
//! 3. as the XML an SP deflated: `decode` must give it back exactly, and the parsed request is
//!    validated unsigned, and with a query the harness signs with the SP's EC test key, so that
//!    mutated XML reaches everything behind a valid signature.

use std::collections::HashMap;

use crate::{POLICIES, check_parsed, context, redirect_encode, signed_redirect_query, validate_all, verbose};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rosetta::saml::request::{
    AuthnRequest, Binding, MAX_INFLATED_XML, MAX_SAML_REQUEST_PARAM, Received, Rejection, RequestError,
    check_relay_state, decode, parse, validate,
};
use rosetta::saml::request_signature::redirect_params;

/// One fuzz input (see the module documentation).
pub fn run(data: &[u8]) {
    if let Ok(raw_query) = std::str::from_utf8(data) {
        as_query(raw_query);
    }
    as_deflate(data);
    as_xml(data);
}

/// The input as the query string the route receives.
fn as_query(raw_query: &str) {
    // The route: form-decoded pairs, the last value of a repeated name wins.
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect();
    // The signature layer reads the same query; where it accepts it, both must agree.
    if let Ok(params) = redirect_params(raw_query) {
        for (name, value) in [
            ("SAMLRequest", &params.saml_request),
            ("RelayState", &params.relay_state),
            ("SigAlg", &params.sig_alg),
            ("Signature", &params.signature),
        ] {
            assert_eq!(
                value.as_ref(),
                pairs.get(name),
                "the route and the signature check disagree about {name}"
            );
        }
    }
    // Without a SAMLRequest parameter, the input is taken as that parameter's (decoded) value.
    let saml_request = pairs.get("SAMLRequest").map_or(raw_query, String::as_str);
    let outcome = decode(Binding::Redirect, saml_request).and_then(|xml| {
        let req = parse(&xml)?;
        check_parsed(&req, &xml);
        check_relay_state(pairs.get("RelayState").map(String::as_str))?;
        let received = Received::Redirect {
            raw_query: raw_query.to_owned(),
        };
        Ok(validate_all(&req, &received))
    });
    if verbose() {
        eprintln!("query: {outcome:?}");
    }
}

/// The input as the DEFLATE stream inside `SAMLRequest`.
fn as_deflate(data: &[u8]) {
    let outcome = decode(Binding::Redirect, &STANDARD.encode(data));
    if let Ok(xml) = &outcome {
        assert!(xml.len() <= MAX_INFLATED_XML, "inflated past the cap");
        if let Ok(req) = parse(xml) {
            check_parsed(&req, xml);
        }
    }
    if verbose() {
        eprintln!("deflate: {:?}", outcome.map(|xml| xml.len()));
    }
}

/// The input as the AuthnRequest XML an SP sends.
fn as_xml(data: &[u8]) {
    let encoded = redirect_encode(data);
    let decoded = decode(Binding::Redirect, &encoded);
    if encoded.len() <= MAX_SAML_REQUEST_PARAM && data.len() <= MAX_INFLATED_XML {
        // A request with too many attributes or namespace declarations may be refused
        // while it inflates: then parse refuses the same text too (by that rule, or an
        // earlier one).
        match (std::str::from_utf8(data), &decoded) {
            (Ok(text), Err(RequestError::TooManyAttributes)) => {
                assert!(parse(text).is_err(), "refused while inflating, but parse accepts it")
            }
            (Ok(text), _) => assert_eq!(decoded.as_deref(), Ok(text), "redirect encoding does not round-trip"),
            (Err(_), _) => assert!(
                matches!(decoded, Err(RequestError::NotUtf8 | RequestError::TooManyAttributes)),
                "{decoded:?}"
            ),
        }
    }
    let Ok(xml) = decoded else {
        return;
    };
    let Ok(req) = parse(&xml) else {
        return;
    };
    check_parsed(&req, &xml);
    let unsigned = Received::Redirect {
        raw_query: format!("SAMLRequest={}", crate::form_encode(&encoded)),
    };
    let mut accepted = validate_all(&req, &unsigned);
    // Signing costs more than the rest; only worth it where the signature check is reached.
    if reaches_signature_check(&req) {
        let signed = Received::Redirect {
            raw_query: signed_redirect_query(&encoded, "https://acme.atlassian.net/"),
        };
        accepted += validate_all(&req, &signed);
    }
    if verbose() {
        eprintln!("xml: parsed, accepted by {accepted} of 4 checks");
    }
}

/// Whether `validate` gets as far as the signature check for this request: Issuer and ACS
/// must be the registered ones first.
fn reaches_signature_check(req: &AuthnRequest) -> bool {
    let ctx = context(Received::Post);
    !matches!(
        validate(req, &POLICIES[0], &ctx),
        Err(Rejection::Local(
            RequestError::MissingIssuer
                | RequestError::UnknownIssuer
                | RequestError::AcsAmbiguous
                | RequestError::AcsNotRegistered
                | RequestError::UnknownAcsIndex
                | RequestError::NoAcsConfigured
        ))
    )
}
