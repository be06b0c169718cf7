//! Server-rendered HTML for end users: branded, plain-language, no JavaScript needed.

use actix_web::http::StatusCode;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    // Runs of bytes that need nothing are copied whole: the signed Response (kilobytes of
    // base64) goes through here on every login.
    let mut out = String::with_capacity(text.len() + text.len() / 16);
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
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f5f7;color:#172b4d;margin:0}\
main{max-width:34rem;margin:12vh auto;background:#fff;border-radius:8px;padding:2rem 2.5rem;box-shadow:0 1px 3px rgba(9,30,66,.25)}\
h1{font-size:1.4rem;margin:0 0 1rem}p{line-height:1.5}.ref{color:#6b778c;font-size:.85rem;margin-top:2rem}\
.brand{color:#6b778c;font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;margin-bottom:1.5rem}";

/// A complete page; `title` and `body_html` are trusted (callers escape user data).
pub fn layout(title: &str, body_html: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main>\
<div class=\"brand\">Rosetta single sign-on</div>{body_html}</main></body></html>",
        title = escape(title)
    )
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
    fn error_pages_carry_the_reference_and_escape_the_message() {
        let page = error_page(StatusCode::BAD_REQUEST, "<script>x</script>", "abc123");
        assert!(page.contains("abc123"));
        assert!(!page.contains("<script>x"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
