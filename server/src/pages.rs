//! Server-rendered HTML for end users: branded, plain-language, no JavaScript needed.

use std::sync::OnceLock;

use actix_web::http::StatusCode;
use base64::Engine;
use sha2::{Digest, Sha256};

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    escape_into(&mut out, text);
    out
}

/// [`escape`], appended to `out`.
pub fn escape_into(out: &mut String, text: &str) {
    // Runs of bytes that need nothing are copied whole: the signed Response (kilobytes of
    // base64) goes through here on every login.
    let mut plain = 0;
    for (i, b) in text.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&text[plain..i]);
        out.push_str(entity);
        plain = i + 1;
    }
    out.push_str(&text[plain..]);
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f5f7;color:#172b4d;margin:0}\
main{max-width:34rem;margin:12vh auto;background:#fff;border-radius:8px;padding:2rem 2.5rem;box-shadow:0 1px 3px rgba(9,30,66,.25)}\
h1{font-size:1.4rem;margin:0 0 1rem}p{line-height:1.5}.ref{color:#6b778c;font-size:.85rem;margin-top:2rem}\
.brand{color:#6b778c;font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;margin-bottom:1.5rem}";

/// A complete page; `title` and `body_html` are trusted (callers escape user data).
pub fn layout(title: &str, body_html: &str) -> String {
    let mut out = String::with_capacity(PAGE_HEAD_LEN + body_html.len() + PAGE_END.len());
    open_page(&mut out, title);
    out.push_str(body_html);
    out.push_str(PAGE_END);
    out
}

/// About the length of what [`open_page`] writes, for sizing a page's buffer.
pub const PAGE_HEAD_LEN: usize = 720;

/// Closes what [`open_page`] opened.
pub const PAGE_END: &str = "</main></body></html>";

/// Appends a page's head and the start of its body to `out`; the caller appends the body's
/// HTML and then [`PAGE_END`]. [`layout`] in one buffer, for a page built piece by piece.
pub fn open_page(out: &mut String, title: &str) {
    out.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>",
    );
    escape_into(out, title);
    out.push_str("</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body><main><div class=\"brand\">Rosetta single sign-on</div>");
}

/// An error page with the correlation ID that also appears in the server log.
pub fn error_page(status: StatusCode, message: &str, request_id: &str) -> String {
    let title = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::BAD_REQUEST => "This sign-in request cannot be used",
        StatusCode::PAYLOAD_TOO_LARGE => "This request is too large",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        StatusCode::SERVICE_UNAVAILABLE => "Sign-in is briefly unavailable",
        _ if status.is_server_error() => "Something went wrong on our side",
        _ => "This request cannot be completed",
    };
    layout(
        title,
        &format!(
            "<h1>{}</h1><p>{}</p><p class=\"ref\">If you contact your administrator, quote this reference: \
<code>{}</code></p>",
            escape(title),
            escape(message),
            escape(request_id)
        ),
    )
}

/// The auto-submit script; allowed by its hash in the page's CSP, nothing else runs.
const AUTO_SUBMIT: &str = "document.getElementById('saml-form').submit();";

/// The auto-post page's CSP: nothing but inline style and the auto-submit script by its hash.
pub fn auto_post_csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(AUTO_SUBMIT.as_bytes()));
        format!("default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'")
    })
}

/// The HTTP-POST binding's page (SAML Bindings 3.5.4): a form carrying the Response (and
/// RelayState) to the SP's ACS, sent by the script or by the button. Written into one buffer:
/// the base64 Response is most of its 10 KB.
pub fn auto_post_page(acs_url: &str, saml_response: &str, relay_state: Option<&str>) -> String {
    let relay_len = relay_state.map_or(0, |r| r.len() + 60);
    let mut page =
        String::with_capacity(PAGE_HEAD_LEN + 360 + acs_url.len() + saml_response.len() + relay_len + PAGE_END.len());
    open_page(&mut page, "Signing you in");
    page.push_str("<h1>Signing you in…</h1><form id=\"saml-form\" method=\"post\" action=\"");
    escape_into(&mut page, acs_url);
    page.push_str("\"><input type=\"hidden\" name=\"SAMLResponse\" value=\"");
    escape_into(&mut page, saml_response);
    page.push_str("\">");
    if let Some(relay) = relay_state {
        page.push_str("<input type=\"hidden\" name=\"RelayState\" value=\"");
        escape_into(&mut page, relay);
        page.push_str("\">");
    }
    page.push_str(
        "<p>If nothing happens, press the button.</p><button type=\"submit\">Continue</button></form><script>",
    );
    page.push_str(AUTO_SUBMIT);
    page.push_str("</script>");
    page.push_str(PAGE_END);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_break_out() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        // Multi-byte text around and between the entities is kept as it is.
        assert_eq!(escape("é<ü>ß&"), "é&lt;ü&gt;ß&amp;");
        assert_eq!(escape("nothing to do"), "nothing to do");
        assert_eq!(escape(""), "");
    }

    #[test]
    fn a_page_is_head_body_and_end_with_the_title_escaped() {
        let page = layout("A <b> & \"c\"", "<p>body</p>");
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"));
        assert!(page.contains("<title>A &lt;b&gt; &amp; &quot;c&quot;</title>"));
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(page.ends_with("<div class=\"brand\">Rosetta single sign-on</div><p>body</p></main></body></html>"));
        // The head estimate is close enough that a page does not grow its buffer.
        let head = page.len() - "<p>body</p>".len() - PAGE_END.len();
        assert!(head <= PAGE_HEAD_LEN, "{head}");
        let mut appended = String::from("x");
        escape_into(&mut appended, "<&>");
        assert_eq!(appended, "x&lt;&amp;&gt;");
    }

    #[test]
    fn error_pages_carry_the_reference_and_escape_the_message() {
        let page = error_page(StatusCode::BAD_REQUEST, "<script>x</script>", "abc123");
        assert!(page.contains("abc123"));
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&lt;script&gt;"));
    }

    /// The auto-post page as the server wrote it before its pages moved to templates, kept
    /// here as the reference the page must keep matching byte for byte.
    fn auto_post_page_as_written_by_hand(acs_url: &str, saml_response: &str, relay_state: Option<&str>) -> String {
        let relay = relay_state
            .map(|r| format!("<input type=\"hidden\" name=\"RelayState\" value=\"{}\">", escape(r)))
            .unwrap_or_default();
        layout(
            "Signing you in",
            &format!(
                "<h1>Signing you in…</h1><form id=\"saml-form\" method=\"post\" action=\"{}\">\
<input type=\"hidden\" name=\"SAMLResponse\" value=\"{}\">{relay}\
<p>If nothing happens, press the button.</p><button type=\"submit\">Continue</button></form>\
<script>{AUTO_SUBMIT}</script>",
                escape(acs_url),
                escape(saml_response),
            ),
        )
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
            response in "[A-Za-z0-9+/=]{0,200}",
            relay in proptest::option::of("\\PC{0,80}"),
        ) {
            proptest::prop_assert_eq!(
                auto_post_page(&acs, &response, relay.as_deref()),
                auto_post_page_as_written_by_hand(&acs, &response, relay.as_deref())
            );
        }
    }
}
