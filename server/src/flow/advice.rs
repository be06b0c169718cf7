//! What an admin should do about a failed login, by the failure's code: the reason in plain
//! words is the error's own message; this is the next step. `detail` is what the advice can
//! name: the requested ACS URL or Issuer, the email's domain, the provider's error code.

/// The advice for failure `code`.
pub fn advice(code: &str, detail: Option<&str>) -> String {
    let d = detail.unwrap_or("");
    // `before`, the detail and `after`; nothing when there is no detail.
    let with = |before: &str, after: &str| {
        if d.is_empty() {
            String::new()
        } else {
            format!("{before}{d}{after}")
        }
    };
    match code {
        "acs_not_registered" | "unknown_acs_index" => format!(
            "The application asked to return to an ACS URL that is not registered here{}. Atlassian's ACS URL \
             includes `?connection=…` (or ends with the connection's ID): copy it whole from admin.atlassian.com \
             (Security → Identity providers → your SAML connection) into this application's ACS URLs in Rosetta.",
            with(" (it asked for `", "`)")
        ),
        "no_acs_configured" => "Add the application's ACS URL (Atlassian: the \"Service provider assertion consumer \
             service URL\") on its page in Rosetta."
            .into(),
        "acs_ambiguous" => "The SP's request names its ACS both by URL and by index; fix the SP's configuration to \
             send one."
            .into(),
        "unknown_issuer" | "missing_issuer" => format!(
            "No application here has the entity ID this request came from{}. Copy the SP's entity ID (Atlassian: \
             \"Service provider entity URL\") whole into the application's entity ID in Rosetta, or register the \
             application.",
            with(" (its Issuer is `", "`)")
        ),
        "destination_mismatch" => "The request was addressed to another SSO URL. Paste Rosetta's SSO URL (on the \
             application's page in the console) into the SP's \"Identity provider SSO URL\"; check the tenant's \
             address in it."
            .into(),
        "signature_missing" => "This application must sign its requests and this one was unsigned. Turn request \
             signing on at the SP, or turn off \"Require signed requests\" for the application."
            .into(),
        "signature_invalid" | "signature_algorithm_not_allowed" => "The request's signature does not verify with \
             the SP certificate registered here. Re-import the SP's current metadata or paste its current signing \
             certificate; Rosetta accepts RSA or ECDSA with SHA-256 or stronger."
            .into(),
        "no_signing_certificate" => "The application requires signed requests but has no SP certificate. Import \
             the SP's metadata or paste its signing certificate."
            .into(),
        "request_too_large" | "request_missing" | "request_encoding" | "request_malformed" | "request_invalid" => {
            "The SP sent a request Rosetta cannot read. Start the login again from the application; if it repeats, \
             download the support bundle and send it to the SP's vendor."
                .into()
        }
        "relay_state_too_long" => "The SP's RelayState exceeds 80 bytes (the SAML limit). Shorten the return \
             address the SP sends."
            .into(),
        "request_denied" => "The request's IssueInstant is too old or in the future: the user reused an old sign-in \
             link, or the SP's clock is wrong. Start the login again from the application; check the SP's clock."
            .into(),
        "version_mismatch" => "The SP speaks another SAML version; Rosetta speaks SAML 2.0 only.".into(),
        "unsupported_binding" => "The SP asked for its answer on a binding other than HTTP-POST. Set the SP to \
             receive the SAML Response by HTTP-POST."
            .into(),
        "invalid_name_id_policy" => format!(
            "The SP asked for a NameID format{} this application is not set to send. Set the application's NameID \
             format to the one the SP asks for (Atlassian: email address), or have the SP ask for the configured one.",
            with(" (", ")")
        ),
        "no_passive" => "The SP asked for a silent sign-in (IsPassive) and the user had no Rosetta session. This is \
             normal: the SP starts an interactive login next."
            .into(),
        "replayed" => "The same sign-in request arrived twice (Back button, refresh, or a copied link). Start the \
             login again from the application."
            .into(),
        "no_source" => "No identity source is set up: add one on the Sources page.".into(),
        "domain_not_listed" => format!(
            "No identity source lists the email domain{}. Add the domain to the right source on the Sources page, \
             or check which email the user typed.",
            with(" `", "`")
        ),
        "unknown_application" => format!(
            "No application is called{} here. Check the link the user followed, or the application's name in \
             Rosetta.",
            with(" `", "`")
        ),
        "test_link_used" => "Each Test login link works once, for 10 minutes. Start a new one from the console.".into(),
        "abandoned" => "The user did not come back from the identity provider or the second factor within 10 \
             minutes: they closed the tab, could not sign in there, or the provider could not send them back. If \
             users report this, check that the source's redirect URI is registered at the provider."
            .into(),
        "login_expired" => "The login took longer than 10 minutes or was already completed. Start it again from \
             the application."
            .into(),
        "source_mismatch" => "The provider's answer came back to another source's callback URL. Check that each \
             source's redirect URI registered at its provider is its own (Sources page shows it)."
            .into(),
        "browser_mismatch" => "The login came back to a different browser than the one that started it (a link \
             opened in another browser or a private window, or cookies blocked). Start again in one browser."
            .into(),
        "stale_authentication" => "The SP demanded a fresh sign-in (ForceAuthn) and the provider did not confirm \
             one (its ID token's auth_time is older than the request). Make sure the provider honours `prompt=login` \
             and `max_age=0`, and returns `auth_time`."
            .into(),
        "user_refused" | "forbidden" => "Rosetta refused this user: they are blocked (People page). Unblock them if \
             that is a mistake."
            .into(),
        "mapping_refused" => format!(
            "A rule of the application's attribute mapping refused this user{}. Check the application's Attributes \
             page; its preview shows what each rule gives for a user.",
            with(" (rule `", "`)")
        ),
        "application_removed" => "The application was removed while the user was signing in.".into(),
        "mfa_code_wrong" => "The user typed a wrong second-factor code. Check the clock of their phone; after 5 wrong \
             codes they wait 5 minutes. An admin can reset their second factor on the People page."
            .into(),
        "oidc_token_rejected" | "oidc_provider_error" => provider_advice(d),
        "oidc_access_denied" => "The user cancelled, or the provider refused them (e.g. not assigned to the \
             application). Assign the user to the application at the provider."
            .into(),
        "oidc_email_domain_not_allowed" => format!(
            "The provider vouched for an email{} whose domain this source does not allow. Add the domain to the \
             source's domains, or check that the user signed in with their work account.",
            with(" at `", "`")
        ),
        "oidc_email_missing" => "The provider sent no email for the user. Ask for the `email` scope (the source \
             does), and make sure the provider releases the email claim for this application."
            .into(),
        "oidc_email_not_verified" => "The provider says the user's email is not verified. Verify it at the \
             provider, or (if the provider never marks emails verified) change the source's setting."
            .into(),
        "oidc_hd_mismatch" | "oidc_tid_mismatch" | "oidc_guest_refused" => "The user signed in with an account of \
             another organisation (Google hosted domain or Entra tenant), or as a guest. They must use their work \
             account of the organisation the source names."
            .into(),
        "oidc_aud_mismatch" | "oidc_azp_mismatch" => "The ID token was issued for another client. Check the \
             source's client ID against the provider's application."
            .into(),
        "oidc_iss_mismatch" | "oidc_discovery_issuer_mismatch" | "oidc_response_iss_mismatch" => "The provider \
             names another issuer than the source's. Copy the issuer URL exactly from the provider's \
             `/.well-known/openid-configuration`."
            .into(),
        "oidc_bad_signature" | "oidc_unknown_key" | "oidc_ambiguous_key" => "The ID token's signature does not \
             match the keys the provider publishes. Check the issuer URL points to the provider that issued it."
            .into(),
        "oidc_alg_not_allowed" | "oidc_alg_none" => "The provider signs ID tokens with an algorithm this source \
             does not allow. Allow it in the source's settings, or change it at the provider."
            .into(),
        "oidc_expired" | "oidc_iat_future" | "oidc_nbf_future" => "The ID token's times do not fit Rosetta's \
             clock. Check the provider's clock and the server's (NTP)."
            .into(),
        "oidc_nonce_mismatch" | "oidc_state_mismatch" | "oidc_pending_issuer_mismatch" => "The provider's answer \
             does not belong to this login (replayed or mixed up). Start again from the application."
            .into(),
        "oidc_discovery_unreachable"
        | "oidc_jwks_unreachable"
        | "oidc_token_unreachable"
        | "oidc_userinfo_unreachable"
        | "oidc_groups_unavailable"
        | "unavailable" => "Rosetta could not reach the identity provider (or it \
             answered with an error). Check the provider's status page and the source's issuer URL; Test \
             connection on the Sources page checks the path."
            .into(),
        "too_many" => "Too many sign-ins from this address or organisation just now. Wait a minute.".into(),
        "dependency" => "Rosetta's own database or session store did not answer. Your vendor is alerted; try again \
             in a moment."
            .into(),
        c if c.starts_with("oidc_") => "The identity provider's answer failed one of Rosetta's checks. Run Test \
             connection on the Sources page and compare the source's settings with the provider's application."
            .into(),
        _ => "Start the login again from the application; if it fails again, download the support bundle and send it \
             to your vendor."
            .into(),
    }
}

/// The advice for an OAuth `error` code the provider answered with.
fn provider_advice(error: &str) -> String {
    match error {
        "invalid_client" | "unauthorized_client" => format!(
            "The provider refused: `{error}`: the client secret is wrong or expired (or the client ID is wrong). \
             Create a new client secret at the provider and paste it into the source's settings."
        ),
        "invalid_grant" => "The provider refused the authorization code (`invalid_grant`): it was used twice or \
             expired, or the redirect URI differs. Check that the source's redirect URI is registered at the provider \
             exactly as Rosetta shows it."
            .into(),
        "invalid_scope" => "The provider refused the scopes asked (`invalid_scope`). Remove the scopes it does not \
             offer from the source's settings."
            .into(),
        "redirect_uri_mismatch" | "invalid_request" => format!(
            "The provider refused the request (`{error}`): usually the redirect URI is not registered at the \
             provider. Copy it from the source's page in Rosetta into the provider's application."
        ),
        "consent_required" | "interaction_required" | "login_required" => format!(
            "The provider needs the user (or an admin) to consent or sign in (`{error}`). Grant consent for the \
             application at the provider."
        ),
        "" => "The provider refused. Check the source's client ID, secret and redirect URI at the provider.".into(),
        other => format!(
            "The provider refused with `{other}`. Check the source's client ID, secret and redirect URI at the \
             provider, and the provider's logs for this time."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::advice;

    #[test]
    fn advice_names_what_to_fix() {
        assert!(advice("acs_not_registered", Some("https://x.atlassian.net/login/callback")).contains("?connection="));
        assert!(advice("domain_not_listed", Some("example.org")).contains("`example.org`"));
        let secret = advice("oidc_token_rejected", Some("invalid_client"));
        assert!(
            secret.contains("`invalid_client`") && secret.contains("client secret"),
            "{secret}"
        );
        assert!(advice("oidc_token_rejected", Some("invalid_grant")).contains("redirect URI"));
        assert!(advice("oidc_something_new", None).contains("Test connection"));
        assert!(advice("never_heard_of", None).contains("support bundle"));
    }
}
