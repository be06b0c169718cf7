//! How an AuthnRequest arrives, and what it may weigh before it is read: the two bindings,
//! the raw material a signature covers, and the decoding of the `SAMLRequest` parameter
//! (size caps, base64, bounded inflate).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::request_error::RequestError;
use super::uri::{BINDING_POST, BINDING_REDIRECT};

/// Largest `SAMLRequest` parameter accepted, counted on the still base64-encoded text.
///
/// Checked before any decoding so an oversized parameter costs nothing. Real AuthnRequests
/// are a few KiB; 64 KiB leaves room for signed POST requests with certificates in KeyInfo.
pub const MAX_SAML_REQUEST_PARAM: usize = 64 * 1024;

/// Largest XML accepted after inflating an HTTP-Redirect `SAMLRequest`.
///
/// DEFLATE expands up to ~1000:1, so a 64 KiB parameter could otherwise become ~50 MB;
/// inflation stops as soon as this many bytes have been produced.
pub const MAX_INFLATED_XML: usize = 128 * 1024;

/// Most XML nodes we are willing to build for one AuthnRequest (a real one has a few dozen).
pub const MAX_XML_NODES: u32 = 10_000;

/// The SAML binding the request arrived with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `GET` with a deflated, base64, URL-encoded `SAMLRequest`.
    Redirect,
    /// `POST` form with a base64 `SAMLRequest` (not deflated).
    Post,
}

impl Binding {
    /// The binding's URI as used in metadata and `ProtocolBinding`.
    pub fn uri(self) -> &'static str {
        match self {
            Self::Redirect => BINDING_REDIRECT,
            Self::Post => BINDING_POST,
        }
    }
}

/// How the request reached us, as far as its signature is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// HTTP-Redirect: the raw query string exactly as received (everything after `?`,
    /// still URL-encoded), because the signature covers those octets.
    Redirect {
        /// The undecoded query string.
        raw_query: String,
    },
    /// HTTP-POST: any signature is enveloped in the XML.
    Post,
}

/// The base64 engine for `SAMLRequest`: standard alphabet, padding optional because some SPs
/// strip it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Turns the received `SAMLRequest` value (already URL/form-decoded by the HTTP layer) into XML text.
///
/// The size is checked on the base64 text first ([`MAX_SAML_REQUEST_PARAM`]); whitespace and
/// line breaks are ignored because real SPs wrap base64 in POST forms; HTTP-Redirect payloads
/// are raw-DEFLATE inflated with a hard output cap ([`MAX_INFLATED_XML`]).
pub fn decode(binding: Binding, saml_request: &str) -> Result<String, RequestError> {
    if saml_request.len() > MAX_SAML_REQUEST_PARAM {
        return Err(RequestError::TooLarge);
    }
    let compact: Vec<u8> = saml_request.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(RequestError::Missing);
    }
    let bytes = BASE64.decode(&compact).map_err(|_| RequestError::BadBase64)?;
    let xml = match binding {
        Binding::Post => bytes,
        Binding::Redirect => inflate_capped(&bytes)?,
    };
    String::from_utf8(xml).map_err(|_| RequestError::NotUtf8)
}

/// Output produced by one step of inflating a large request before what came out so far is
/// checked for too many attributes or namespace declarations (see [`inflate_capped`]).
const INFLATE_STEP: usize = 8 * 1024;

/// Raw-DEFLATE inflate that stops after [`MAX_INFLATED_XML`] bytes, so a bomb costs at most
/// that. Straight into the output buffer, with one decompressor per thread reused: a
/// streaming decoder would allocate and clear a 43 KB state (with its 32 KB window) for an
/// AuthnRequest of a few hundred bytes, which cost more than the inflating itself.
///
/// A request whose output outgrows the first buffer (at most [`INFLATE_STEP`]; a real
/// AuthnRequest fits, so for it nothing changes) has what came out so far checked for too
/// many attributes or namespace declarations before each further step: those counts only
/// grow, so a hostile root with thousands of attributes is refused after its first few
/// KiB, not after inflating up to the cap (Hardening II, 2).
fn inflate_capped(compressed: &[u8]) -> Result<Vec<u8>, RequestError> {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::inflate_flags::TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress};
    thread_local! {
        static DECOMPRESSOR: std::cell::RefCell<Box<DecompressorOxide>> = std::cell::RefCell::new(Box::default());
    }
    DECOMPRESSOR.with_borrow_mut(|d| {
        d.init();
        // One byte past the cap tells "exactly at the cap" from "over it".
        let limit = MAX_INFLATED_XML + 1;
        let mut out = vec![0u8; compressed.len().saturating_mul(4).clamp(1024, INFLATE_STEP)];
        let (mut read, mut written) = (0, 0);
        loop {
            let (status, r, w) = decompress(
                d,
                &compressed[read..],
                &mut out,
                written,
                TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
            );
            read += r;
            written += w;
            match status {
                TINFLStatus::Done if written <= MAX_INFLATED_XML => {
                    out.truncate(written);
                    return Ok(out);
                }
                TINFLStatus::Done => return Err(RequestError::InflatedTooLarge),
                TINFLStatus::HasMoreOutput if out.len() >= limit => return Err(RequestError::InflatedTooLarge),
                TINFLStatus::HasMoreOutput
                    if super::guard::attributes_exceed(
                        &out[..written],
                        super::guard::MAX_ATTRIBUTES_PER_ELEMENT,
                        super::guard::MAX_NAMESPACE_DECLARATIONS,
                    ) =>
                {
                    return Err(RequestError::TooManyAttributes);
                }
                // Earlier output stays where it is: later back-references read it.
                TINFLStatus::HasMoreOutput => out.resize(out.len().saturating_mul(2).min(limit), 0),
                // Truncated or corrupt streams, whatever the decoder says.
                _ => return Err(RequestError::BadDeflate),
            }
        }
    })
}
