//! What the login keeps in the session store between requests (JSON, well under 2 KB).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::oidc::{PendingAuth, VerifiedIdentity};

/// An SP's request, validated: where and how to answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpRequest {
    /// The SP's entity ID (the Audience).
    pub sp_entity_id: String,
    /// The registered ACS URL to post to.
    pub acs_url: String,
    /// The AuthnRequest ID (`None` for IdP-initiated).
    pub request_id: Option<String>,
    /// RelayState, verbatim.
    pub relay_state: Option<String>,
    /// NameID format to use.
    pub name_id_format: String,
    /// The SP demanded a fresh upstream login.
    pub force_authn: bool,
    /// The login debugger's trace, which every leg of this login writes to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<Uuid>,
    /// A Test login of an identity source: no application; the login ends once the
    /// provider's answer is verified, with no user recorded and no session opened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_test: bool,
}

/// A login waiting for the provider's callback, stored under its `state`.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    /// The SP request to answer.
    pub sp: SpRequest,
    /// The source the browser was sent to (its callback path must match: mix-up defence).
    pub source: String,
    /// SHA-256 of the browser-binding cookie.
    pub browser: String,
    /// The OIDC side: state, nonce, PKCE verifier.
    pub auth: PendingAuth,
    /// W3C `traceparent` of the request that started the login, so that the callback
    /// continues the same trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// When the login left for the provider (Unix milliseconds).
    #[serde(default)]
    pub started_ms: i64,
    /// This leg went back to the provider for a refresh token (`offline_access` with
    /// consent), after a first leg that identified the user: it is not sent again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub grant_leg: bool,
}

impl std::fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingLogin")
            .field("sp", &self.sp)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// A broker SSO session: lets further SPs of the tenant in without the provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SsoSession {
    /// The end user.
    pub user_id: Uuid,
    /// What the provider vouched for.
    pub identity: VerifiedIdentity,
    /// The source used.
    pub source: String,
    /// When the user authenticated upstream.
    pub authn_instant: DateTime<Utc>,
    /// When Rosetta's second factor was last passed in this session.
    #[serde(default)]
    pub mfa_at: Option<DateTime<Utc>>,
    /// The user chose "set up later" under an optional policy: not asked again in this
    /// session.
    #[serde(default)]
    pub mfa_skipped: bool,
    /// Unix milliseconds when the user's status was checked for this session (just before
    /// the login recorded the user): ending the user's sessions at or after this time ends
    /// this one ([`super::end_sessions`]).
    #[serde(default)]
    pub opened_ms: i64,
}

/// A login waiting for the user's second factor, stored under the SHA-256 of its cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaPending {
    /// The SP request to answer once the factor is passed.
    pub sp: SpRequest,
    /// The verified identity, not yet a broker session.
    pub session: SsoSession,
    /// Whether the user may skip enrolment (optional policy).
    pub can_skip: bool,
    /// Enrolment was just confirmed and the recovery codes shown: continue to the SP.
    #[serde(default)]
    pub enrolled: bool,
    /// The seed this parked login shows for enrolment, sealed (`second_factor::new_pending`):
    /// it lives and dies with this login, never on the user's row until confirmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolment: Option<Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::random_token;

    /// A pending login as an Atlassian login stores it: entity ID and ACS URL of Atlassian's
    /// shape, a typical RelayState, random state, nonce and verifier, a trace parent.
    fn atlassian_pending() -> PendingLogin {
        PendingLogin {
            sp: SpRequest {
                sp_entity_id: "https://auth.atlassian.com/saml/2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90".into(),
                acs_url:
                    "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90"
                        .into(),
                request_id: Some("_5f0e3c1a9b7d4e2f8a6c9d0e1f2a3b4c".into()),
                relay_state: Some(
                    "https://acme.atlassian.net/jira/software/projects/OPS/boards/12?selectedIssue=OPS-1234".into(),
                ),
                name_id_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
                force_authn: false,
                trace_id: Some(Uuid::from_u128(0x0193_8f2e_7b1c_7d4e_9a55_3c0f_6a1d_2e90)),
                source_test: false,
            },
            source: "corp".into(),
            browser: "a".repeat(64),
            auth: PendingAuth {
                state: random_token(),
                nonce: random_token(),
                pkce_verifier: random_token(),
                redirect_uri: "https://acme.rosetta.example.com/oidc/callback/corp".into(),
                issuer: "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0".into(),
            },
            trace: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            started_ms: 1_764_400_000_000,
            grant_leg: false,
        }
    }

    #[test]
    fn a_pending_login_stays_under_two_kilobytes() {
        let bytes = serde_json::to_vec(&atlassian_pending()).unwrap();
        assert!(bytes.len() < 2048, "{} bytes", bytes.len());
        // RelayState is the only part an SP controls; at its cap the record stays bounded.
        let mut long = atlassian_pending();
        long.sp.relay_state = Some("r".repeat(crate::saml::request::MAX_RELAY_STATE));
        assert!(serde_json::to_vec(&long).unwrap().len() < 2048 + crate::saml::request::MAX_RELAY_STATE);
    }
}
