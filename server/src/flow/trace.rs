//! The login debugger's recorder: what one request of a login (a *leg*: the AuthnRequest or
//! IdP-initiated start, the email chooser, the provider's callback, a second-factor form) saw
//! and did, step by step, with each step's duration and, when it failed, the reason and what
//! to do about it.
//!
//! A leg costs the login one buffer and no I/O: each step and fact is written into it as the
//! JSON the store keeps (`json`), and at its end the leg is queued for the trace writer
//! (`services::login_traces`), which merges the legs of one login (they share the trace ID
//! carried in [`super::SpRequest::trace_id`]) into one row, off the response path. Never
//! recorded: tokens, codes, client secrets, TOTP codes, cookies. The XML kept here has its
//! signatures removed by the writer before it is stored.

use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use rosetta_api::{TraceFailure, TraceOutcome, TraceStepKind};
use uuid::Uuid;

use super::{FlowError, SsoSession};
use crate::oidc::VerifiedIdentity;
use crate::saml::keys::SigningKey;
use crate::saml::request::AuthnRequest;
use crate::saml::response::AssertionParams;

mod json;

/// One leg of a login, as recorded.
#[derive(Debug)]
pub struct Leg {
    /// The login's trace ID (shared by its legs).
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// When the leg started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: DateTime<Utc>,
    /// `sp`, `idp` or `test`, on the login's first leg.
    pub initiated: Option<&'static str>,
    /// The SP's name, once known.
    pub service_provider: Option<String>,
    /// The SP's entity ID, as sent or registered.
    pub entity_id: Option<String>,
    /// The identity source, once chosen.
    pub source: Option<String>,
    /// The user's email, once the provider named them.
    pub user_email: Option<String>,
    /// The steps, in order: the JSON array of the API's `TraceStep`, written as they were
    /// recorded (what the writer stores as it is).
    pub steps: String,
    /// Why the leg failed, when it did.
    pub failure: Option<TraceFailure>,
    /// Where the login stands after this leg.
    pub outcome: TraceOutcome,
    /// The AuthnRequest as received (signature values still in: the writer removes them).
    pub request_xml: Option<String>,
    /// The Response sent (signature values still in: the writer removes them).
    pub response_xml: Option<String>,
}

impl Leg {
    /// A new leg of a new login, starting now.
    fn new(tenant_id: Uuid) -> Self {
        let now = Utc::now();
        Self {
            id: crate::db::new_time_ordered_id(),
            tenant_id,
            started_at: now,
            ended_at: now,
            initiated: None,
            service_provider: None,
            entity_id: None,
            source: None,
            user_email: None,
            steps: String::new(),
            failure: None,
            outcome: TraceOutcome::InProgress,
            request_xml: None,
            response_xml: None,
        }
    }

    /// `next` (a later leg of the same login) added to this one: its steps follow, what it
    /// knows is kept, and the login stands where `next` left it.
    pub fn merge(&mut self, next: Leg) {
        json::append_array(&mut self.steps, next.steps);
        let fill = |mine: &mut Option<String>, theirs: Option<String>| {
            if theirs.is_some() {
                *mine = theirs;
            }
        };
        fill(&mut self.service_provider, next.service_provider);
        fill(&mut self.entity_id, next.entity_id);
        fill(&mut self.source, next.source);
        fill(&mut self.user_email, next.user_email);
        fill(&mut self.request_xml, next.request_xml);
        fill(&mut self.response_xml, next.response_xml);
        self.initiated = self.initiated.or(next.initiated);
        self.ended_at = next.ended_at;
        self.outcome = next.outcome;
        self.failure = next.failure;
    }
}

/// The step being recorded (its start and facts are already written).
struct Open {
    step: TraceStepKind,
    clock: Instant,
    facts: usize,
}

struct State {
    leg: Leg,
    /// The leg's steps as JSON so far: `[`, the closed steps, the open one's start and facts
    /// (empty until the first step).
    steps: String,
    open: Option<Open>,
    answered: bool,
}

/// Records the current leg of a login; one per request (see [`super::Flow`]). What it
/// records is written as the stored JSON at once, into one buffer: no value is kept as a
/// string of its own.
pub struct Tracer(Mutex<State>);

impl std::fmt::Debug for Tracer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer").field("id", &self.id()).finish()
    }
}

/// What a leg's steps usually take as JSON (a callback leg with a dozen claims and
/// attributes: about 3.5 KB).
const STEPS_CAPACITY: usize = 4096;

impl Tracer {
    /// A new leg of a new login at `tenant_id` (a login's later legs [`Tracer::adopt`] its ID).
    pub fn new(tenant_id: Uuid) -> Self {
        Self(Mutex::new(State {
            leg: Leg::new(tenant_id),
            steps: String::new(),
            open: None,
            answered: false,
        }))
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        // A poisoned lock only means a panic elsewhere mid-record; the leg is still usable.
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state)
    }

    /// The login's trace ID.
    pub fn id(&self) -> Uuid {
        self.with(|s| s.leg.id)
    }

    /// Continues the login of this trace ID (a later leg). A login begun before traces
    /// existed has none: it keeps the new ID.
    pub fn adopt(&self, id: Option<Uuid>) {
        if let Some(id) = id {
            self.with(|s| s.leg.id = id);
        }
    }

    /// Sets the leg's summary fields.
    pub fn summary(&self, f: impl FnOnce(&mut Leg)) {
        self.with(|s| f(&mut s.leg));
    }

    /// Ends the current step (passed) and starts `step`.
    pub fn begin(&self, step: TraceStepKind) {
        self.with(|s| {
            close(s, true);
            if s.steps.is_empty() {
                s.steps.reserve(STEPS_CAPACITY);
                s.steps.push('[');
            } else {
                s.steps.push(',');
            }
            json::open_step(&mut s.steps, step, Utc::now());
            s.open = Some(Open {
                step,
                clock: Instant::now(),
                facts: 0,
            });
        });
    }

    /// Adds a fact to the current step.
    pub fn fact(&self, name: &'static str, value: impl AsRef<str>) {
        self.push(name, "", value.as_ref(), false);
    }

    /// Adds a fact whose name varies (`prefix` and `name`: a claim's, an attribute's), its
    /// value cut at [`MAX_VALUE`] characters.
    pub fn fact_named(&self, prefix: &'static str, name: &str, value: &str) {
        self.push(prefix, name, value, true);
    }

    /// Adds a fact whose value is cut at [`MAX_VALUE`] characters.
    pub fn fact_clipped(&self, name: &'static str, value: &str) {
        self.push(name, "", value, true);
    }

    /// Adds a time (RFC 3339, to the second, UTC).
    pub fn fact_time(&self, name: &'static str, at: DateTime<Utc>) {
        self.with(|s| {
            if let Some(open) = &mut s.open {
                let mut text = String::new();
                json::push_rfc3339_secs(&mut text, at);
                add(&mut s.steps, open, name, "", &text, false);
            }
        });
    }

    fn push(&self, name: &'static str, varying: &str, value: &str, clipped: bool) {
        self.with(|s| {
            if let Some(open) = &mut s.open {
                let (value, cut) = if clipped { clip(value) } else { (value, false) };
                add(&mut s.steps, open, name, varying, value, cut);
            }
        });
    }

    /// The current step failed with `code` (see `advice`): what happened, and `detail` (a
    /// provider's error code, the requested value) for the advice. The first failure of a
    /// leg is the one kept.
    pub fn fail(&self, code: &str, message: &str, detail: Option<&str>) {
        self.with(|s| failed(s, code, message, detail));
    }

    /// The SP was answered with a signed assertion.
    pub fn answered(&self) {
        self.with(|s| s.answered = true);
    }

    /// Whether anything was recorded (a leg that stopped before its first step, e.g. rate
    /// limited or for an unknown `state`, is not written).
    pub fn is_empty(&self) -> bool {
        self.with(|s| s.steps.is_empty())
    }

    /// Ends the leg: `error` is what the request returned when it failed (its code when no
    /// step named one).
    pub fn finish(&self, error: Option<&FlowError>) -> Leg {
        self.with(|s| {
            if let Some(e) = error {
                failed(s, e.code(), &e.to_string(), None);
            }
            close(s, true);
            if s.steps.is_empty() {
                s.steps.push('[');
            }
            s.steps.push(']');
            s.leg.steps = std::mem::take(&mut s.steps);
            s.leg.ended_at = Utc::now();
            s.leg.outcome = if s.leg.failure.is_some() {
                TraceOutcome::Failure
            } else if s.answered {
                TraceOutcome::Success
            } else {
                TraceOutcome::InProgress
            };
            s.answered = false;
            let next = Leg::new(s.leg.tenant_id);
            std::mem::replace(&mut s.leg, next)
        })
    }
}

/// The open step failed with `code` (the leg's first failure is the one kept).
fn failed(s: &mut State, code: &str, message: &str, detail: Option<&str>) {
    if s.leg.failure.is_some() {
        return;
    }
    let step = s.open.as_ref().map_or(TraceStepKind::Request, |o| o.step);
    close(s, false);
    s.leg.failure = Some(TraceFailure {
        step,
        code: code.to_owned(),
        message: message.to_owned(),
        advice: super::advice::advice(code, detail),
    });
}

/// Writes a fact of the open step.
fn add(steps: &mut String, open: &mut Open, name: &'static str, varying: &str, value: &str, cut: bool) {
    if open.facts > 0 {
        steps.push(',');
    }
    open.facts += 1;
    json::fact(steps, name, varying, value, cut);
}

/// Ends the open step, if any.
fn close(s: &mut State, ok: bool) {
    if let Some(open) = s.open.take() {
        let duration_us = u64::try_from(open.clock.elapsed().as_micros()).unwrap_or(u64::MAX);
        json::close_step(&mut s.steps, duration_us, ok);
    }
}

/// `yes` or `no`.
pub fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// Store kind of a Test login ticket (single use, [`TEST_TICKET_TTL`]).
const TEST_KIND: &str = "test_login";
/// How long a Test login link works.
pub const TEST_TICKET_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// What a Test login tests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestTarget {
    /// A login to the application of this name (IdP-initiated).
    Application(String),
    /// A login through the identity source of this name, to no application.
    Source(String),
}

impl TestTarget {
    /// The application's or the source's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Application(name) | Self::Source(name) => name,
        }
    }
}

/// What a Test login ticket names: what is tested and the trace the console follows.
#[derive(serde::Serialize, serde::Deserialize)]
struct TestTicket {
    target: TestTarget,
    trace: Uuid,
}

/// Stores a single-use Test login ticket for `target` at `tenant`; returns the ticket (for
/// the link) and the trace ID the login will write.
pub async fn issue_test_ticket(
    store: &dyn crate::store::SessionStore,
    tenant: &crate::domain::TenantSlug,
    target: TestTarget,
) -> Result<(String, Uuid), crate::store::StoreError> {
    let ticket = super::random_token();
    let trace = crate::db::new_time_ordered_id();
    // Two strings and a UUID always serialise; an empty body would only refuse the link.
    let body = serde_json::to_vec(&TestTicket { target, trace }).unwrap_or_default();
    let key = crate::store::StoreKey::tenant(tenant, TEST_KIND, &super::fingerprint(&ticket));
    store.set(&key, &body, TEST_TICKET_TTL).await?;
    Ok((ticket, trace))
}

impl super::Flow<'_> {
    /// Takes the Test login ticket for `target`: the trace ID it names.
    pub(super) async fn take_test_ticket(&self, target: &TestTarget, ticket: &str) -> Result<Uuid, FlowError> {
        let used = || {
            self.refuse(
                "test_link_used",
                None,
                FlowError::BadRequest(
                    "This test link was already used or has expired. Start a new test from the console.".into(),
                ),
            )
        };
        if ticket.is_empty() || ticket.len() > 128 {
            return Err(used());
        }
        let key = self.key(TEST_KIND, &super::fingerprint(ticket));
        let body = self.state.store.take(&key).await?.ok_or_else(used)?;
        match serde_json::from_slice::<TestTicket>(&body) {
            Ok(t) if &t.target == target => Ok(t.trace),
            _ => Err(used()),
        }
    }

    /// The AuthnRequest as received.
    pub(super) fn trace_request(&self, parsed: &AuthnRequest, relay_state: Option<&str>, raw_query: Option<&str>) {
        let t = &self.trace;
        t.fact("Request ID", parsed.id.as_str());
        t.fact("Issuer (entity ID)", parsed.issuer.as_deref().unwrap_or("(none)"));
        t.fact("Destination", parsed.destination.as_deref().unwrap_or("(none)"));
        let acs = match (&parsed.acs_url, parsed.acs_index) {
            (Some(url), _) => url.clone(),
            (None, Some(index)) => format!("index {index}"),
            (None, None) => "(not given: the registered default)".to_owned(),
        };
        t.fact("ACS URL requested", acs);
        if let Some(binding) = &parsed.protocol_binding {
            t.fact("Response binding requested", binding.as_str());
        }
        let policy = parsed.name_id_policy.as_ref();
        t.fact(
            "NameID policy",
            policy.and_then(|p| p.format.as_deref()).unwrap_or("(any format)"),
        );
        if let Some(allow) = policy.and_then(|p| p.allow_create) {
            t.fact("AllowCreate", yes_no(allow));
        }
        t.fact("ForceAuthn", yes_no(parsed.force_authn));
        t.fact("IsPassive", yes_no(parsed.is_passive));
        t.fact("RelayState", super::relay_state_fact(relay_state));
        let signed_query = raw_query.is_some_and(|q| q.contains("Signature="));
        t.fact(
            "Signed",
            match (parsed.has_signature, signed_query) {
                (true, _) => "yes (XML signature)",
                (false, true) => "yes (query string signature)",
                (false, false) => "no",
            },
        );
    }

    /// A live broker session answered: no provider this time.
    pub(super) fn trace_session(&self, session: &SsoSession) {
        let t = &self.trace;
        t.begin(TraceStepKind::Session);
        t.summary(|l| {
            l.source = Some(session.source.clone());
            l.user_email = Some(session.identity.email.clone());
        });
        t.fact("Source", session.source.as_str());
        t.fact_time("Signed in at the provider", session.authn_instant);
        match session.mfa_at {
            Some(at) => t.fact_time("Second factor passed", at),
            None => t.fact("Second factor passed", "no"),
        }
    }

    /// Where the browser goes: the provider's endpoint and what is asked of it (never the
    /// state, nonce or PKCE challenge).
    pub(super) fn trace_redirect(&self, url: &url::Url, grant_leg: bool) {
        let t = &self.trace;
        if url.username().is_empty() && url.password().is_none() {
            t.fact("Authorization endpoint", &url[..url::Position::AfterPath]);
        } else {
            // Credentials in the URL are never shown.
            t.fact(
                "Authorization endpoint",
                format!("{}{}", url.origin().ascii_serialization(), url.path()),
            );
        }
        // Only the parameters shown are decoded (never the state, nonce or PKCE challenge).
        for pair in url.query().unwrap_or_default().split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let shown = match name {
                "scope" => "Scopes",
                "prompt" => "Prompt",
                "max_age" => "max_age",
                "response_type" => "Response type",
                "code_challenge_method" => "PKCE",
                "redirect_uri" => "Redirect URI",
                "client_id" => "Client ID",
                _ => continue,
            };
            if !value.bytes().any(|b| b == b'%' || b == b'+') {
                t.fact(shown, value);
            } else if let Some((_, value)) = url::form_urlencoded::parse(pair.as_bytes()).next() {
                t.fact(shown, value);
            }
        }
        if grant_leg {
            t.fact("Why", "a second leg, for the refresh token (offline access)");
        }
    }

    /// What the callback verified: the token exchange, the ID token's checks, the claims.
    pub(super) fn trace_identity(&self, identity: &VerifiedIdentity, refresh_token: bool) {
        let t = &self.trace;
        t.summary(|l| l.user_email = Some(identity.email.clone()));
        t.fact("Token exchange", "passed (authorization code with PKCE)");
        t.fact(
            "ID token checks passed",
            "signature, algorithm, issuer, audience, expiry, issued-at, nonce",
        );
        t.fact("Issuer", identity.issuer.as_str());
        t.fact("Subject", identity.subject.as_str());
        t.fact("Email", identity.email.as_str());
        if let Some(at) = identity.auth_time.and_then(|t| chrono::DateTime::from_timestamp(t, 0)) {
            t.fact_time("Signed in at the provider", at);
        }
        if !identity.amr.is_empty() {
            t.fact("Methods (amr)", identity.amr.join(", "));
        }
        t.fact("Refresh token issued", yes_no(refresh_token));
        for (name, value) in &identity.claims {
            let mut digits = [0; 20];
            match value {
                serde_json::Value::String(s) => t.fact_named("Claim ", name, s),
                // Times and counts (`exp`, `iat`, `auth_time`) without a formatter.
                serde_json::Value::Number(n) if n.is_u64() => {
                    t.fact_named(
                        "Claim ",
                        name,
                        json::decimal(n.as_u64().unwrap_or_default(), &mut digits),
                    );
                }
                serde_json::Value::Bool(b) => t.fact_named("Claim ", name, if *b { "true" } else { "false" }),
                // Compact JSON, as `Display` writes it, without its formatter.
                other => t.fact_named("Claim ", name, &serde_json::to_string(other).unwrap_or_default()),
            }
        }
        match (&identity.groups, &identity.groups_problem) {
            (Some(groups), _) => t.fact_clipped("Groups", &groups.join(", ")),
            (None, Some(problem)) => t.fact("Groups", format!("unknown: {problem}")),
            (None, None) => {}
        }
    }

    /// The assertion about to be signed: every value the SP receives.
    pub(super) fn trace_release(&self, params: &AssertionParams, key: &SigningKey, relay_state: Option<&str>) {
        let t = &self.trace;
        t.fact("NameID", params.name_id.as_str());
        t.fact("NameID format", params.name_id_format.as_str());
        for a in &params.attributes {
            match a.values.as_slice() {
                [one] => t.fact_named("Attribute ", &a.name, one),
                values => t.fact_named("Attribute ", &a.name, &values.join(", ")),
            }
        }
        t.fact("Audience", params.audience.as_str());
        t.fact("Recipient (ACS URL)", params.acs_url.as_str());
        t.fact(
            "InResponseTo",
            params.in_response_to.as_deref().unwrap_or("(none: IdP-initiated)"),
        );
        let mut valid = String::with_capacity(44);
        json::push_rfc3339_secs(&mut valid, params.now);
        valid.push_str(" to ");
        json::push_rfc3339_secs(&mut valid, params.now + params.validity);
        t.fact("Valid", valid);
        t.fact("Signing key (SHA-256)", key.fingerprint_sha256());
        // The stored Response keeps its Signature elements empty: what they were is here.
        t.fact("Signed", "the Response and the Assertion (RSA-SHA256, exclusive C14N)");
        t.fact("RelayState", super::relay_state_fact(relay_state));
    }

    /// A replayed request: recorded, and the user's error.
    pub(super) fn replayed(&self) -> FlowError {
        self.refuse(
            "replayed",
            None,
            FlowError::BadRequest("This sign-in request was already used. Start again from the application.".into()),
        )
    }

    /// The provider could not be used (discovery, keys): recorded, and the user's error.
    pub(super) fn oidc_refused(&self, e: crate::oidc::OidcError) -> FlowError {
        self.trace.fail(e.code(), &e.to_string(), e.provider_error());
        super::oidc_error(e)
    }
}

/// The most characters a value that varies (a claim, an attribute, the groups) keeps.
pub const MAX_VALUE: usize = 512;

/// `text` cut at [`MAX_VALUE`] characters, and whether it was.
fn clip(text: &str) -> (&str, bool) {
    if text.len() <= MAX_VALUE {
        // No more bytes than that, so no more characters.
        return (text, false);
    }
    match text.char_indices().nth(MAX_VALUE) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_keeps_its_facts_and_the_first_reason() {
        let t = Tracer::new(Uuid::nil());
        t.begin(TraceStepKind::Request);
        t.fact("Binding", "HTTP-Redirect");
        t.begin(TraceStepKind::Discovery);
        t.fail("domain_not_listed", "No source for example.org", Some("example.org"));
        t.fail("later", "ignored", None);
        let leg = t.finish(None);
        assert_eq!(leg.outcome, TraceOutcome::Failure);
        let steps: Vec<rosetta_api::TraceStep> = serde_json::from_str(&leg.steps).expect("steps");
        assert_eq!(steps.len(), 2);
        assert!(steps[0].ok && !steps[1].ok);
        assert_eq!(
            (steps[0].step, steps[1].step),
            (TraceStepKind::Request, TraceStepKind::Discovery)
        );
        assert_eq!(steps[0].facts[0].value, "HTTP-Redirect");
        let failure = leg.failure.expect("failure");
        assert_eq!(
            (failure.step, failure.code.as_str()),
            (TraceStepKind::Discovery, "domain_not_listed")
        );
        assert!(failure.advice.contains("example.org"), "{}", failure.advice);
        assert!(t.is_empty(), "finish starts a new leg");
    }

    #[test]
    fn values_that_vary_are_cut_and_a_step_without_facts_is_kept() {
        let t = Tracer::new(Uuid::nil());
        assert!(t.is_empty());
        t.fact("Before any step", "dropped");
        t.begin(TraceStepKind::Callback);
        let long = "é".repeat(MAX_VALUE + 1);
        t.fact_named("Claim ", "name\"quoted", &long);
        t.fact_clipped("Groups", &"g".repeat(MAX_VALUE));
        t.begin(TraceStepKind::Assertion);
        let mut leg = t.finish(None);
        let steps: Vec<rosetta_api::TraceStep> = serde_json::from_str(&leg.steps).expect("steps");
        assert_eq!(steps.len(), 2);
        let facts = &steps[0].facts;
        assert_eq!(facts.len(), 2);
        assert_eq!(facts[0].name, "Claim name\"quoted");
        assert_eq!(facts[0].value, format!("{}…", "é".repeat(MAX_VALUE)));
        assert_eq!(facts[1].value, "g".repeat(MAX_VALUE), "not over: kept whole");
        assert!(steps[1].facts.is_empty());
        let empty = Tracer::new(Uuid::nil()).finish(None);
        assert_eq!(empty.steps, "[]");
        leg.merge(empty);
        let merged: Vec<rosetta_api::TraceStep> = serde_json::from_str(&leg.steps).expect("steps");
        assert_eq!(merged, steps);
    }

    #[test]
    fn an_error_without_a_code_is_named_by_its_kind() {
        let t = Tracer::new(Uuid::nil());
        t.begin(TraceStepKind::Callback);
        let leg = t.finish(Some(&FlowError::Unavailable("down".into())));
        let failure = leg.failure.expect("failure");
        assert_eq!(
            (failure.step, failure.code.as_str()),
            (TraceStepKind::Callback, "unavailable")
        );
        let t = Tracer::new(Uuid::nil());
        t.begin(TraceStepKind::Assertion);
        t.answered();
        assert_eq!(t.finish(None).outcome, TraceOutcome::Success);
    }
}
