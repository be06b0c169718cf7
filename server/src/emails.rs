//! The emails Rosetta sends admins: plain text with a branded HTML alternative. Links go
//! to console pages that POST the token, so a mail scanner that follows links uses nothing.

use crate::mail::OutgoingEmail;
use crate::pages::escape;

fn html(title: &str, paragraphs: &[String], link: Option<(&str, &str)>) -> String {
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!("<p style=\"margin:0 0 16px\">{}</p>", escape(p)));
    }
    if let Some((label, url)) = link {
        body.push_str(&format!(
            "<p style=\"margin:24px 0\"><a href=\"{url}\" style=\"background:#1f3a5f;color:#fff;\
padding:12px 20px;border-radius:6px;text-decoration:none;font-weight:600\">{label}</a></p>\
<p style=\"margin:0 0 16px;font-size:13px;color:#555\">Or open this address: {url}</p>",
            url = escape(url),
            label = escape(label)
        ));
    }
    format!(
        "<!doctype html><html><body style=\"margin:0;background:#f4f5f7;font-family:-apple-system,\
Segoe UI,Helvetica,Arial,sans-serif;color:#172b4d\"><div style=\"max-width:560px;margin:32px auto;\
background:#fff;border-radius:8px;padding:32px\"><div style=\"font-size:20px;font-weight:700;\
color:#1f3a5f;margin-bottom:24px\">Rosetta</div><h1 style=\"font-size:18px;margin:0 0 16px\">{}</h1>{body}\
<p style=\"margin:32px 0 0;font-size:12px;color:#777\">You receive this email because of an action \
on Rosetta, the sign-in bridge for your organisation. If it was not you, ignore it.</p></div></body></html>",
        escape(title)
    )
}

fn text(paragraphs: &[String], link: Option<&str>) -> String {
    let mut out = paragraphs.join("\n\n");
    if let Some(url) = link {
        out.push_str("\n\n");
        out.push_str(url);
    }
    out.push_str("\n\n-- \nRosetta. If this was not you, ignore this email.\n");
    out
}

fn email(to: &str, subject: &str, paragraphs: Vec<String>, link: Option<(&str, &str)>) -> OutgoingEmail {
    OutgoingEmail {
        to: to.to_owned(),
        subject: subject.to_owned(),
        text: text(&paragraphs, link.map(|(_, url)| url)),
        html: Some(html(subject, &paragraphs, link)),
    }
}

/// "Confirm your email address", sent at sign-up and on request.
pub fn verify_email(to: &str, link: &str) -> OutgoingEmail {
    email(
        to,
        "Confirm your email address",
        vec![
            "Welcome to Rosetta. Confirm your email address to finish setting up your account.".into(),
            "The link works once, for 24 hours.".into(),
        ],
        Some(("Confirm email address", link)),
    )
}

/// Sent when someone signs up with an address that already has an account.
pub fn account_exists(to: &str, sign_in: &str, reset: &str) -> OutgoingEmail {
    email(
        to,
        "You already have a Rosetta account",
        vec![
            "Someone, probably you, tried to sign up with this address, which already has an account. \
No new tenant was created."
                .into(),
            format!("Sign in at {sign_in}. If you forgot your password, reset it at {reset}."),
        ],
        None,
    )
}

/// "Reset your password".
pub fn reset_password(to: &str, link: &str) -> OutgoingEmail {
    email(
        to,
        "Reset your Rosetta password",
        vec![
            "Follow the link to choose a new password. It works once, for one hour.".into(),
            "If you did not ask for this, your password is unchanged and you can ignore this email.".into(),
        ],
        Some(("Choose a new password", link)),
    )
}

/// An invitation to administer a tenant.
pub fn invitation(to: &str, tenant_name: &str, inviter: &str, role: &str, link: &str) -> OutgoingEmail {
    email(
        to,
        &format!("Join {tenant_name} on Rosetta"),
        vec![
            format!("{inviter} invited you to administer {tenant_name} on Rosetta as {role}."),
            "The link works once, for 7 days.".into(),
        ],
        Some(("Accept the invitation", link)),
    )
}

/// "Provisioning to <SP> is paused": the SCIM directory refused the key (sent to owners).
pub fn provisioning_paused(to: &str, sp_name: &str, reason: &str, link: &str) -> OutgoingEmail {
    email(
        to,
        &format!("Provisioning to {sp_name} is paused"),
        vec![
            format!("Rosetta stopped pushing users to the directory of {sp_name}: {reason}."),
            "Logins keep working. Joiners, changes and deactivations wait in the queue and are sent \
             as soon as a new API key is saved on the application's Provisioning page."
                .into(),
        ],
        Some(("Open the console", link)),
    )
}

/// "The signing certificate of <tenant> expires in N days" (sent to owners at 30 and 7
/// days): every SP that pins it (Atlassian does) refuses logins once it has expired.
pub fn signing_certificate_expiring(
    to: &str,
    tenant_name: &str,
    state: &str,
    days_left: i64,
    link: &str,
) -> OutgoingEmail {
    let when = if days_left < 0 {
        "has expired".to_owned()
    } else {
        format!("expires in {days_left} day(s)")
    };
    email(
        to,
        &format!("The {state} signing certificate of {tenant_name} {when}"),
        vec![
            format!("The {state} certificate Rosetta signs {tenant_name}'s SAML responses with {when}."),
            "Applications that check it (Atlassian does) refuse every login once it has expired. On the \
             console's Signing keys page: publish a next key, add its certificate to each application (for \
             Atlassian: admin.atlassian.com → Security → Identity providers → your SAML provider), then \
             promote it."
                .into(),
        ],
        Some(("Open Signing keys", link)),
    )
}

/// "The provisioning key for <SP> expires on <date>" (sent to owners at 30 and 7 days).
pub fn provisioning_key_expiring(
    to: &str,
    sp_name: &str,
    expires: chrono::NaiveDate,
    days_left: i64,
    link: &str,
) -> OutgoingEmail {
    let when = if days_left < 0 {
        format!("expired on {expires}")
    } else {
        format!("expires on {expires}, in {days_left} day(s)")
    };
    email(
        to,
        &format!("The provisioning key for {sp_name} {when}"),
        vec![
            format!("The API key Rosetta uses to provision users into {sp_name} {when}."),
            "Once it has expired, joiners, changes and deactivations wait in Rosetta's queue until a new \
             key is saved. Create a new key at the service provider (for Atlassian: admin.atlassian.com, \
             your identity provider's user provisioning settings) and paste it on the application's \
             Provisioning page, with its new expiry date."
                .into(),
        ],
        Some(("Open the console", link)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_have_text_and_escaped_html() {
        let e = invitation(
            "a@example.com",
            "<Acme>",
            "b@example.com",
            "admin",
            "https://r.example/x?token=a&b=c",
        );
        assert!(e.text.contains("https://r.example/x?token=a&b=c"));
        let html = e.html.unwrap_or_default();
        assert!(html.contains("&lt;Acme&gt;"));
        assert!(html.contains("token=a&amp;b=c"));
        assert!(!html.contains("<Acme>"));
    }
}
