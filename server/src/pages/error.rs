//! The branded error page: a title for the kind of failure, a plain reason, and the
//! correlation ID that also appears in the server log.

use actix_web::http::StatusCode;

use super::{Text, page};

/// The page for a refusal or failure with `status`, saying `message`.
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
    page!(title: title, body: {
        h1 { (Text(title)) }
        p { (Text(message)) }
        p class="ref" { "If you contact your administrator, quote this reference: " code { (Text(request_id)) } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_keep_their_bytes_and_escape_message_and_reference() {
        assert_eq!(
            error_page(
                StatusCode::BAD_REQUEST,
                "The ID token's <b>signature</b> & \"x\"",
                "abc'123<"
            ),
            include_str!("../../tests/fixtures/pages/error_400.html")
        );
        for (status, pinned) in [
            (
                StatusCode::NOT_FOUND,
                include_str!("../../tests/fixtures/pages/error_404.html"),
            ),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                include_str!("../../tests/fixtures/pages/error_413.html"),
            ),
            (
                StatusCode::TOO_MANY_REQUESTS,
                include_str!("../../tests/fixtures/pages/error_429.html"),
            ),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                include_str!("../../tests/fixtures/pages/error_503.html"),
            ),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                include_str!("../../tests/fixtures/pages/error_500.html"),
            ),
            (
                StatusCode::FORBIDDEN,
                include_str!("../../tests/fixtures/pages/error_403.html"),
            ),
        ] {
            assert_eq!(error_page(status, "msg", "rid"), pinned, "{status}");
        }
    }
}
