//! Home-realm discovery: the page asking for a work email when a tenant has several identity
//! providers, to pick the one of its domain.

use super::{Text, page};

/// The page for the waiting login `request`, with the last try's `error` next to the field.
pub fn sign_in_page(request: &str, error: Option<&str>) -> String {
    page!(title: "Sign in", body: {
        h1 { "Sign in" }
        form method="post" action="/login" {
            input type="hidden" name="r" value=(Text(request));
            label for="email" { "Your work email" }
            br;
            input id="email" name="email" type="email" autocomplete="email" required autofocus
                aria-describedby=[error.map(|_| "email-error")];
            @if let Some(error) = error {
                p class="error" id="email-error" role="alert" { (Text(error)) }
            }
            p { button type="submit" { "Continue" } }
        }
    })
}

/// The end of a source's Test login: who the provider vouched for; nothing was sent to any
/// application.
pub fn source_tested_page(source: &str, email: &str) -> String {
    page!(title: "Test login passed", body: {
        h1 { "Test login passed" }
        p id="tested" { "The identity provider " strong { (Text(source)) } " signed in " strong { (Text(email)) } "." }
        p { "Nothing was sent to any application and no session was opened. The console shows every step of this \
             login; you can close this tab." }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_in_page_keeps_its_bytes() {
        assert_eq!(
            sign_in_page("r<&\"'>1", None),
            include_str!("../../tests/fixtures/pages/sign_in.html")
        );
        assert_eq!(
            sign_in_page("abc", Some("No sign-in <is> set up & 'x' \"y\"")),
            include_str!("../../tests/fixtures/pages/sign_in_error.html")
        );
    }

    #[test]
    fn the_test_login_page_escapes_what_the_provider_said() {
        let page = source_tested_page("corp", "<b>a&b</b>@example.com");
        assert!(page.contains("&lt;b&gt;a&amp;b&lt;/b&gt;@example.com"), "{page}");
        assert!(!page.contains("<b>a&b"), "{page}");
    }
}
