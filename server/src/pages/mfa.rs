//! The end user's second-factor pages: enrolment (QR code and key), verification, the
//! recovery codes. Plain HTML forms posting to `/mfa`, no script, labelled fields.

use base64::Engine;
use maud::{Markup, html};

use super::{Text, page};
use crate::flow::MfaView;

/// The pages' CSP: the QR code is a `data:` image, the forms post to their own host.
pub const MFA_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'";

/// The page for `view`, branded with the tenant's display name.
pub fn mfa_page(tenant: &str, view: &MfaView) -> String {
    match view {
        MfaView::Enrol {
            qr_svg,
            secret,
            can_skip,
            error,
        } => {
            let qr = base64::engine::general_purpose::STANDARD.encode(qr_svg.as_bytes());
            page!(title: "Set up two-step sign-in", body: {
                h1 { "Set up two-step sign-in" }
                p {
                    (Text(tenant)) " asks for a second step when you sign in: a 6-digit code from an authenticator \
            app on your phone, such as Google Authenticator, Microsoft Authenticator, 1Password or Authy. You set it up once."
                }
                ol {
                    li {
                        "In the app, add an account and scan this code:"
                        br;
                        img src={ "data:image/svg+xml;base64," (qr) } width="200" height="200"
                            alt="QR code to scan with your authenticator app";
                    }
                    li { "Cannot scan it? Type this key into the app instead: " code id="totp-secret" { (Text(secret)) } }
                    li { "Enter the code the app shows, to check that it works." }
                }
                (form("enrol", code_field("6-digit code", error.as_deref(), true), "Turn on two-step sign-in"))
                @if *can_skip {
                    (form("skip", html! {}, "Set up later"))
                }
            })
        }
        MfaView::Verify { error } => page!(title: "Two-step sign-in", body: {
            h1 { "Two-step sign-in" }
            p { "Open your authenticator app and enter the 6-digit code it shows for " (Text(tenant)) "." }
            (form("verify", code_field("Code", error.as_deref(), false), "Continue"))
            p {
                "Lost your phone? Enter one of your recovery codes instead (they look like " code { "abcde-fghjk" }
                "); each works once. No codes left? Ask your administrator to reset your two-step sign-in."
            }
        }),
        MfaView::Codes { codes } if codes.is_empty() => page!(title: "Two-step sign-in is on", body: {
            h1 { "Two-step sign-in is on" }
            p { "Your recovery codes were shown once and are not shown again." }
            (form("continue", html! {}, "Continue"))
        }),
        MfaView::Codes { codes } => page!(title: "Save your recovery codes", body: {
            h1 { "Save your recovery codes" }
            p {
                "Two-step sign-in is on. If you lose your phone, each of these codes lets you sign in once. Keep \
        them somewhere safe, such as a password manager: they are not shown again."
            }
            ul id="recovery-codes" {
                @for code in codes {
                    li { code { (Text(code)) } }
                }
            }
            (form("continue", html! {}, "I have saved them: continue"))
        }),
    }
}

/// A form posting `action` (what the flow does with it) and `fields` to `/mfa`.
fn form(action: &str, fields: Markup, button: &str) -> Markup {
    html! {
        form method="post" action="/mfa" {
            input type="hidden" name="action" value=(Text(action));
            (fields)
            p { button type="submit" { (Text(button)) } }
        }
    }
}

/// The code field with its label, and the last error tied to it for screen readers.
fn code_field(label: &str, error: Option<&str>, digits_only: bool) -> Markup {
    html! {
        label for="code" { (Text(label)) }
        br;
        input id="code" name="code" type="text" inputmode=(if digits_only { "numeric" } else { "text" })
            autocomplete="one-time-code" required autofocus pattern=[digits_only.then_some("[0-9]{6}")]
            maxlength=(if digits_only { "6" } else { "16" }) aria-describedby=[error.map(|_| "code-error")]
            aria-invalid=[error.map(|_| "true")];
        @if let Some(error) = error {
            p class="error" id="code-error" role="alert" { (Text(error)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tenant name every pinned page was written for: all five characters to escape.
    const TENANT: &str = "Acme & 'Co' <b>\"x\"";

    fn pinned(name: &str) -> &'static str {
        match name {
            "enrol" => include_str!("../../tests/fixtures/pages/mfa_enrol.html"),
            "enrol_skip_error" => include_str!("../../tests/fixtures/pages/mfa_enrol_skip_error.html"),
            "verify" => include_str!("../../tests/fixtures/pages/mfa_verify.html"),
            "verify_error" => include_str!("../../tests/fixtures/pages/mfa_verify_error.html"),
            "codes_empty" => include_str!("../../tests/fixtures/pages/mfa_codes_empty.html"),
            _ => include_str!("../../tests/fixtures/pages/mfa_codes.html"),
        }
    }

    #[test]
    fn every_second_factor_page_keeps_its_bytes() {
        let views = [
            (
                "enrol",
                MfaView::Enrol {
                    qr_svg: "<svg/>".into(),
                    secret: "JBSWY3DPEHPK3PXP".into(),
                    can_skip: false,
                    error: None,
                },
            ),
            (
                "enrol_skip_error",
                MfaView::Enrol {
                    qr_svg: "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".into(),
                    secret: "JBSWY3DP<&>'".into(),
                    can_skip: true,
                    error: Some("That code & 'it' <is> \"wrong\"".into()),
                },
            ),
            ("verify", MfaView::Verify { error: None }),
            (
                "verify_error",
                MfaView::Verify {
                    error: Some("Too many <attempts> & 'so'".into()),
                },
            ),
            ("codes_empty", MfaView::Codes { codes: vec![] }),
            (
                "codes",
                MfaView::Codes {
                    codes: vec!["abcde-fghjk".into(), "<x>&'\"".into()],
                },
            ),
        ];
        for (name, view) in views {
            assert_eq!(mfa_page(TENANT, &view), pinned(name), "{name}");
        }
    }
}
