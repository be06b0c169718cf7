//! A tenant host's root page: whose sign-in service this is and where to start.

use super::{Text, page};

/// The home page of the tenant called `display_name`.
pub fn tenant_home_page(display_name: &str) -> String {
    page!(title: display_name, body: {
        h1 { (Text(display_name)) }
        p {
            "This is the single sign-on service of " (Text(display_name)) ". Start from your application's login \
    page (for example your Atlassian site) and you will be brought here automatically."
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_home_page_keeps_its_bytes_and_escapes_the_name() {
        assert_eq!(
            tenant_home_page("Globex & 'Co' <b>\"x\""),
            include_str!("../../tests/fixtures/pages/tenant_home.html")
        );
    }
}
