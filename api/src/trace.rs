//! Wire types of the login debugger (`/api/v1/logins`) and the go-live checklist.

use serde::{Deserialize, Serialize};

/// How a login attempt ended (so far).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceOutcome {
    /// The SP received a signed assertion.
    Success,
    /// A step refused the login; the trace names it and says what to do.
    Failure,
    /// The login is at the provider or at the second factor (or was abandoned there).
    InProgress,
}

impl TraceOutcome {
    /// Every outcome.
    pub const ALL: [Self; 3] = [Self::Success, Self::Failure, Self::InProgress];

    /// The outcome as the API names it (JSON, queries, the stored column): `success`,
    /// `failure`, `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::InProgress => "in_progress",
        }
    }

    /// The outcome named `text` ([`Self::as_str`]).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The outcome in the words the console shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Failure => "Failed",
            Self::InProgress => "In progress",
        }
    }
}

/// A step of a brokered login, in the order they happen.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceStepKind {
    /// The SP's AuthnRequest as received (or the IdP-initiated start).
    Request,
    /// A live broker session of the browser answered without the provider.
    Session,
    /// Home-realm discovery: the user's email chose the identity source.
    Discovery,
    /// The browser was sent to the identity provider.
    Redirect,
    /// The provider's callback: code exchange, ID-token checks, claims.
    Callback,
    /// The user was recorded and allowed to log in.
    User,
    /// Rosetta's own second factor.
    Mfa,
    /// The signed assertion sent to the SP.
    Assertion,
}

impl TraceStepKind {
    /// Every step, in the order they happen.
    pub const ALL: [Self; 8] = [
        Self::Request,
        Self::Session,
        Self::Discovery,
        Self::Redirect,
        Self::Callback,
        Self::User,
        Self::Mfa,
        Self::Assertion,
    ];

    /// The step as the API names it (`request`, `callback`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Session => "session",
            Self::Discovery => "discovery",
            Self::Redirect => "redirect",
            Self::Callback => "callback",
            Self::User => "user",
            Self::Mfa => "mfa",
            Self::Assertion => "assertion",
        }
    }

    /// The step's title in the console and the CLI.
    pub fn title(self) -> &'static str {
        match self {
            Self::Request => "Sign-in request (or Test login start)",
            Self::Session => "Existing sign-in session",
            Self::Discovery => "Home-realm discovery (which identity provider)",
            Self::Redirect => "Sent to the identity provider",
            Self::Callback => "Back from the identity provider",
            Self::User => "User checked",
            Self::Mfa => "Second factor",
            Self::Assertion => "Assertion sent to the application",
        }
    }
}

/// One thing a step saw or did (`name`: `value`), e.g. `ACS URL`: `https://…`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceFact {
    /// What it is.
    pub name: String,
    /// Its value, as text.
    pub value: String,
}

/// One step of a login, with its duration and what it saw.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceStep {
    /// Which step.
    pub step: TraceStepKind,
    /// RFC 3339 time the step started.
    pub at: String,
    /// How long it took, microseconds.
    pub duration_us: u64,
    /// Whether it passed.
    pub ok: bool,
    /// What it saw and did.
    pub facts: Vec<TraceFact>,
}

/// Why a login failed, and what to do about it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceFailure {
    /// The step that failed.
    pub step: TraceStepKind,
    /// Stable code, e.g. `acs_not_registered`, `oidc_token_rejected`.
    pub code: String,
    /// What happened, in plain words.
    pub message: String,
    /// What to do about it.
    pub advice: String,
}

/// A login attempt's summary, as listed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTraceSummary {
    /// Stable identifier.
    pub id: String,
    /// RFC 3339 start.
    pub started_at: String,
    /// RFC 3339 time of the last step.
    pub updated_at: String,
    /// How it ended (so far).
    pub outcome: TraceOutcome,
    /// `sp` (AuthnRequest), `idp` (IdP-initiated) or `test` (the console's Test login).
    pub initiated: String,
    /// The SP's name, when known.
    pub service_provider: Option<String>,
    /// The SP's entity ID as sent or registered, when known.
    pub entity_id: Option<String>,
    /// The identity source, when chosen.
    pub source: Option<String>,
    /// The user's email, once the provider named them.
    pub user_email: Option<String>,
    /// The failure's code.
    pub failure_code: Option<String>,
}

/// A login attempt in full.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTrace {
    /// The summary.
    pub summary: LoginTraceSummary,
    /// Every step, in order.
    pub steps: Vec<TraceStep>,
    /// Why it failed, when it did.
    pub failure: Option<TraceFailure>,
}

/// `GET /api/v1/logins` answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTracePage {
    /// Traces on this page, newest first.
    pub items: Vec<LoginTraceSummary>,
    /// Matching traces in all.
    pub total: u64,
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
}

/// `GET /api/v1/logins` query: filters and paging.
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginTraceQuery {
    /// The SP's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider: Option<String>,
    /// The source's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Part of the user's email, any case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// How it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<TraceOutcome>,
    /// RFC 3339: logins started at or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// RFC 3339: logins started before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Page number, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
}

/// `GET /api/v1/logins/{id}/bundle`: a trace to send to support.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportBundle {
    /// Rosetta's version.
    pub rosetta_version: String,
    /// The tenant's slug.
    pub tenant: String,
    /// RFC 3339 time the bundle was made.
    pub generated_at: String,
    /// The trace.
    pub trace: LoginTrace,
    /// The AuthnRequest as received (any signature emptied to `(removed)`).
    pub authn_request_xml: Option<String>,
    /// The Response sent (each signature emptied to `(removed)`).
    pub response_xml: Option<String>,
}

/// `POST /api/v1/service-providers/{id}/test-login` answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestLoginStart {
    /// Open this in a new tab: the login starts there, never reusing a broker session.
    pub url: String,
    /// The trace the login writes, to follow as it happens.
    pub trace_id: String,
    /// RFC 3339 end of the link's validity (single use).
    pub expires_at: String,
}

/// Where a go-live item stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoLiveState {
    /// Rosetta holds the evidence.
    Done,
    /// Not seen yet.
    Pending,
    /// Seen, and wrong: the detail says what to fix.
    Problem,
    /// Does not apply (e.g. no provisioning set up).
    NotApplicable,
}

/// One item of the go-live checklist, from evidence Rosetta holds.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLiveItem {
    /// Stable key, e.g. `login_seen`.
    pub key: String,
    /// What is checked.
    pub title: String,
    /// Where it stands.
    pub state: GoLiveState,
    /// The evidence, or what to do.
    pub detail: String,
    /// The trace that proves it, when one does.
    pub trace_id: Option<String>,
}

/// Something Rosetta cannot see, to check at Atlassian.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLiveReminder {
    /// What to check.
    pub title: String,
    /// Why.
    pub detail: String,
    /// Where, at admin.atlassian.com.
    pub path: String,
}

/// `GET /api/v1/service-providers/{id}/go-live` answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoLiveChecklist {
    /// The SP's name.
    pub service_provider: String,
    /// Whether every item is done (or not applicable).
    pub ready: bool,
    /// What Rosetta checked.
    pub items: Vec<GoLiveItem>,
    /// What to check at Atlassian.
    pub reminders: Vec<GoLiveReminder>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_round_trip_through_their_names() {
        for o in TraceOutcome::ALL {
            assert_eq!(TraceOutcome::parse(o.as_str()), Some(o));
            assert_eq!(serde_json::to_value(o).ok(), Some(serde_json::json!(o.as_str())));
        }
        assert_eq!(TraceOutcome::parse("maybe"), None);
    }

    #[test]
    fn step_names_are_the_wire_names() {
        for step in TraceStepKind::ALL {
            assert_eq!(serde_json::to_value(step).ok(), Some(serde_json::json!(step.as_str())));
        }
    }
}
