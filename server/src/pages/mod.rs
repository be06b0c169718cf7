//! Every HTML page the server sends, rendered with maud (the markup is checked when the
//! crate compiles, and every value spliced into it is escaped): branded, plain-language,
//! no JavaScript needed (the auto-post page's one script only saves a click). One file per
//! family of pages; handlers choose a page and its headers, nothing more.
//!
//! Values are spliced as [`Text`], which escapes `'` as well as maud's four characters: the
//! pages keep the bytes they always had, and a value stays inert even in a single-quoted
//! attribute.

mod auto_post;
mod console;
mod error;
mod mfa;
mod sign_in;
mod tenant;

use maud::Render;

pub use self::auto_post::{auto_post_csp, auto_post_page};
pub use self::console::console_not_built_page;
pub use self::error::error_page;
pub use self::mfa::{MFA_CSP, mfa_page};
pub use self::sign_in::{sign_in_page, source_tested_page};
pub use self::tenant::tenant_home_page;

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    escape_into(&mut out, text);
    out
}

/// [`escape`], appended to `out`.
pub fn escape_into(out: &mut String, text: &str) {
    // Runs of bytes that need nothing are copied whole.
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

/// A value spliced into a page, escaped with [`escape_into`].
#[derive(Clone, Copy, Debug)]
pub struct Text<'a>(pub &'a str);

impl Render for Text<'_> {
    fn render_to(&self, out: &mut String) {
        escape_into(out, self.0);
    }
}

/// Grows the page's buffer to hold `self.0` bytes, written first in a page whose size is
/// known and far above what `html!` allocates from the template's length (the auto-post
/// page's Response is about 10 KB): one reallocation of the empty buffer instead of several
/// of a filling one. Writes nothing.
pub(crate) struct Reserve(pub usize);

impl Render for Reserve {
    fn render_to(&self, out: &mut String) {
        out.reserve(self.0.saturating_sub(out.len()));
    }
}

/// The house style of every page.
pub(crate) const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f5f7;color:#172b4d;margin:0}\
main{max-width:34rem;margin:12vh auto;background:#fff;border-radius:8px;padding:2rem 2.5rem;box-shadow:0 1px 3px rgba(9,30,66,.25)}\
h1{font-size:1.4rem;margin:0 0 1rem}p{line-height:1.5}.ref{color:#6b778c;font-size:.85rem;margin-top:2rem}\
.brand{color:#6b778c;font-size:.8rem;letter-spacing:.08em;text-transform:uppercase;margin-bottom:1.5rem}";

/// A whole page: the head (the title escaped, the house style), the brand line, then the
/// body's markup in `main`. A macro rather than a function taking the body as `Markup`, so
/// that a page is one `html!`, written into one buffer; `reserve:` sizes that buffer first.
macro_rules! page {
    (title: $title:expr, $(reserve: $reserve:expr,)? body: { $($body:tt)* }) => {
        maud::html! {
            $( ($crate::pages::Reserve($reserve)) )?
            (maud::DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width,initial-scale=1";
                    title { ($crate::pages::Text($title)) }
                    // The constant style sheet, written as it is (CSS is not HTML text).
                    style { (maud::PreEscaped($crate::pages::STYLE)) }
                }
                body {
                    main {
                        div class="brand" { "Rosetta single sign-on" }
                        $($body)*
                    }
                }
            }
        }
        .into_string()
    };
}
pub(crate) use page;

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
        let mut appended = String::from("x");
        escape_into(&mut appended, "<&>");
        assert_eq!(appended, "x&lt;&amp;&gt;");
    }

    #[test]
    fn a_page_is_head_brand_and_body_with_the_title_escaped() {
        let page = page!(title: "A <b> & \"c\" 'd'", body: { p { "body" } });
        assert_eq!(
            page,
            format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>A &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;</title><style>{STYLE}</style></head><body><main>\
<div class=\"brand\">Rosetta single sign-on</div><p>body</p></main></body></html>"
            )
        );
        let reserved = page!(title: "t", reserve: 4096, body: {});
        assert!(reserved.capacity() >= 4096);
    }
}
