//! The HTTP-POST binding's page (SAML Bindings 3.5.4): a form carrying the signed Response
//! (and RelayState) to the SP's ACS, sent by its script or by its button. On every login's
//! path: its buffer is sized before anything is written, and the 10 KB Response is copied
//! in as it is.

use std::sync::OnceLock;

use base64::Engine;
use maud::PreEscaped;
use sha2::{Digest, Sha256};

use super::{Text, page};

/// The auto-submit script; allowed by its hash in the page's CSP, nothing else runs.
const AUTO_SUBMIT: &str = "document.getElementById('saml-form').submit();";

/// About the length of the page around its three values.
const FIXED_LEN: usize = 1100;

/// The auto-post page's CSP: nothing but inline style and the auto-submit script by its hash.
pub fn auto_post_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(AUTO_SUBMIT.as_bytes()));
        format!("default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'")
    })
}

/// The page posting `saml_response` (base64 of the signed Response) to `acs_url`, with
/// `relay_state` echoed verbatim (escaped, never followed).
pub fn auto_post_page(acs_url: &str, saml_response: &str, relay_state: Option<&str>) -> String {
    // Escaped ACS URL and RelayState may outgrow this (an entity per special character);
    // the buffer then grows once more.
    let size = FIXED_LEN + acs_url.len() + saml_response.len() + relay_state.map_or(0, str::len);
    page!(title: "Signing you in", reserve: size, body: {
        h1 { "Signing you in…" }
        form id="saml-form" method="post" action=(Text(acs_url)) {
            @if is_base64(saml_response) {
                // PreEscaped: base64 (letters, digits, `+`, `/`, `=`, as just checked) holds
                // nothing HTML escapes; the check runs without branches, cheaper than the
                // escaper's byte-by-byte scan that would change nothing.
                input type="hidden" name="SAMLResponse" value=(PreEscaped(saml_response));
            } @else {
                input type="hidden" name="SAMLResponse" value=(Text(saml_response));
            }
            @if let Some(relay_state) = relay_state {
                input type="hidden" name="RelayState" value=(Text(relay_state));
            }
            p { "If nothing happens, press the button." }
            button type="submit" { "Continue" }
        }
        // The script is code, not text: written as it is (and allowed by its hash).
        script { (PreEscaped(AUTO_SUBMIT)) }
    })
}

/// Whether `value` holds only base64 characters. Without an early exit, so that it runs as
/// a few vector instructions per 32 bytes.
fn is_base64(value: &str) -> bool {
    value.bytes().fold(true, |ok, b| {
        ok & (b.is_ascii_alphanumeric() | (b == b'+') | (b == b'/') | (b == b'='))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::{escape, escape_into};

    /// The auto-post page as the server wrote it before its pages moved to maud (by hand into
    /// one buffer), kept here as the reference the page must keep matching byte for byte.
    fn auto_post_page_as_written_by_hand(acs_url: &str, saml_response: &str, relay_state: Option<&str>) -> String {
        let mut page = String::from(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Signing you in</title><style>",
        );
        page.push_str(crate::pages::STYLE);
        page.push_str("</style></head><body><main><div class=\"brand\">Rosetta single sign-on</div>");
        page.push_str("<h1>Signing you in…</h1><form id=\"saml-form\" method=\"post\" action=\"");
        escape_into(&mut page, acs_url);
        page.push_str("\"><input type=\"hidden\" name=\"SAMLResponse\" value=\"");
        escape_into(&mut page, saml_response);
        page.push_str("\">");
        if let Some(relay) = relay_state {
            page.push_str("<input type=\"hidden\" name=\"RelayState\" value=\"");
            page.push_str(&escape(relay));
            page.push_str("\">");
        }
        page.push_str(
            "<p>If nothing happens, press the button.</p><button type=\"submit\">Continue</button></form><script>",
        );
        page.push_str(AUTO_SUBMIT);
        page.push_str("</script></main></body></html>");
        page
    }

    /// Every byte of the auto-post page for one fixed input: head, style, form, script.
    const AUTO_POST_PINNED: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Signing you in</title><style>\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f5f7;color:#172b4d;margin:0}\
main{max-width:34rem;margin:12vh auto;background:#fff;border-radius:8px;padding:2rem 2.5rem;box-shadow:0 1px 3px rgba(9,30,66,.25)}\
h1{font-size:1.4rem;margin:0 0 1rem}p{line-height:1.5}.ref{color:#6b778c;font-size:.85rem;margin-top:2rem}\
.brand{color:#6b778c;font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;margin-bottom:1.5rem}\
</style></head><body><main><div class=\"brand\">Rosetta single sign-on</div><h1>Signing you in…</h1>\
<form id=\"saml-form\" method=\"post\" action=\"https://sp.example/acs?a=1&amp;b=&quot;2&quot;\">\
<input type=\"hidden\" name=\"SAMLResponse\" value=\"PHNhbWxwOlJlc3BvbnNlLz4+/w==\">\
<input type=\"hidden\" name=\"RelayState\" value=\"https://x/?q=&lt;script&gt;&amp;r=&#39;1&#39;\">\
<p>If nothing happens, press the button.</p><button type=\"submit\">Continue</button></form>\
<script>document.getElementById('saml-form').submit();</script></main></body></html>";

    #[test]
    fn the_auto_post_page_is_pinned_to_the_byte() {
        let page = auto_post_page(
            "https://sp.example/acs?a=1&b=\"2\"",
            "PHNhbWxwOlJlc3BvbnNlLz4+/w==",
            Some("https://x/?q=<script>&r='1'"),
        );
        assert_eq!(page, AUTO_POST_PINNED);
    }

    #[test]
    fn the_auto_post_page_matches_the_hand_written_one() {
        let response = "PHNhbWxwOlJlc3BvbnNl+/=".repeat(400);
        for (acs, relay) in [
            ("https://acme.atlassian.net/login/saml", None),
            (
                "https://sp.example/acs?a=1&b=\"2\"",
                Some("https://x/?q=<script>&r='1'"),
            ),
            ("https://sp.example/acs", Some("")),
            ("https://sp.example/é?x=ü>", Some("\"><script>alert(1)</script>")),
        ] {
            let page = auto_post_page(acs, &response, relay);
            assert_eq!(page, auto_post_page_as_written_by_hand(acs, &response, relay));
            assert!(
                !page.contains("<script>&") && !page.contains("b=\"2") && !page.contains("<script>alert"),
                "{acs}"
            );
        }
        // The script the CSP allows is the one on the page.
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(AUTO_SUBMIT.as_bytes()));
        assert!(auto_post_csp().ends_with(&format!("script-src 'sha256-{hash}'")));
        assert!(auto_post_csp().starts_with("default-src 'none'"));
    }

    proptest::proptest! {
        #[test]
        fn the_auto_post_page_matches_the_hand_written_one_for_any_text(
            acs in "\\PC{0,60}",
            response in "[A-Za-z0-9+/=]{0,200}|\\PC{0,40}",
            relay in proptest::option::of("\\PC{0,80}"),
        ) {
            proptest::prop_assert_eq!(
                auto_post_page(&acs, &response, relay.as_deref()),
                auto_post_page_as_written_by_hand(&acs, &response, relay.as_deref())
            );
        }
    }

    #[test]
    fn a_value_that_is_not_base64_is_escaped_all_the_same() {
        assert!(is_base64("PHNhbWxwOlJlc3BvbnNlLz4+/w=="));
        assert!(!is_base64("PHN\"><script>"));
        let page = auto_post_page("https://sp.example/acs", "\"><script>alert(1)</script>", None);
        assert!(
            page.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""),
            "{page}"
        );
    }

    #[test]
    fn the_page_fits_the_buffer_it_reserves() {
        let response = "PHNhbWxwOlJlc3BvbnNl+/=".repeat(450);
        let acs = "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90";
        let page = auto_post_page(acs, &response, Some(&"r".repeat(2048)));
        let size = FIXED_LEN + acs.len() + response.len() + 2048;
        assert!(page.len() <= size, "{} > {size}", page.len());
    }
}
