//! The brokered login, end to end, over the session store, the database and the protocol
//! modules. No HTTP types here: `routes::sso` turns requests into calls of these functions
//! and [`Outcome`]s into responses.
//!
//! 1. An AuthnRequest (or an IdP-initiated start) becomes an [`SpRequest`].
//! 2. A live broker session answers it at once; otherwise the browser goes to the tenant's
//!    OIDC provider (choosing one by email domain when there are several), with a pending
//!    login stored under the random `state` and bound to the browser by a cookie.
//! 3. The callback takes the pending login (single use), verifies the identity, records the
//!    user, opens a broker session and answers the SP with a signed Response.

mod advice;
mod mfa;
mod records;
mod trace;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use rosetta_api::TraceStepKind as Step;
use rosetta_entity::tenant;
use tracing::Instrument;

pub use self::advice::advice;
pub use self::mfa::{MfaStep, MfaView};
pub use self::records::{MfaPending, PendingLogin, SpRequest, SsoSession};
pub use self::trace::{Leg, TEST_TICKET_TTL, TestTarget, Tracer, issue_test_ticket};
use crate::credentials::constant_time_eq;
/// A random, URL-safe token with 256 bits of entropy.
pub use crate::credentials::link_token as random_token;
use crate::credentials::token_hash as fingerprint;
use crate::domain::TenantSlug;
use crate::oidc::{CallbackParams, OidcError, SourceConfig};
use crate::saml::request::{self, Binding, Received, Rejection, RequestContext, SpPolicy};
use crate::saml::response::{self, AssertionParams};
use crate::saml::status::SamlStatus;
use crate::services::end_users::{self, LoginIdentity};
use crate::services::service_providers::ServiceProvider;
use crate::services::{ServiceError, audit, grants};
use crate::state::AppState;
use crate::store::{StoreError, StoreKey};
use crate::tenancy::Tenant;

/// Store kind of the mark "this user's sessions were ended at" (Unix milliseconds).
const ENDED_KIND: &str = "sessions_ended";

/// A second leg to the provider that asks for a refresh token.
struct GrantLeg {
    /// The user's email, so the provider does not ask who they are.
    login_hint: String,
    /// When the login's first leg started.
    started_ms: i64,
}

/// What the mapping rules read of a session: the person the provider vouched for.
fn subject_of(session: &SsoSession) -> crate::mapping::Subject<'_> {
    let id = &session.identity;
    crate::mapping::Subject {
        user_id: session.user_id,
        email: &id.email,
        given_name: id.given_name.as_deref(),
        family_name: id.family_name.as_deref(),
        name: id.name.as_deref(),
        claims: &id.claims,
        groups: id.groups.as_deref(),
    }
}

/// Ends every broker session of `user_id` at `tenant`, on every replica (they share the
/// store): a session opened before now is refused at its next use (see `live_session`), and
/// a login waiting at the second factor is refused at its end. The mark outlives every
/// session it ends ([`SSO_SESSION_TTL`]). Called when an admin blocks the user, resets their
/// second factor or ends their sessions, and when the provider says they are gone.
pub async fn end_sessions(
    store: &dyn crate::store::SessionStore,
    tenant: &TenantSlug,
    user_id: uuid::Uuid,
) -> Result<(), StoreError> {
    let now = Utc::now().timestamp_millis().to_string();
    store
        .set(&ended_key(tenant, user_id), now.as_bytes(), SSO_SESSION_TTL)
        .await
}

/// Where the "sessions ended at" mark of a user lives (written by [`end_sessions`], read at
/// every reuse of a session).
fn ended_key(tenant: &TenantSlug, user_id: uuid::Uuid) -> StoreKey {
    StoreKey::tenant(tenant, ENDED_KIND, &user_id.to_string())
}

/// How long a login may take from the SP's request to the provider's callback.
pub const PENDING_TTL: Duration = Duration::from_secs(600);
/// How long a broker session lets further SPs in without the provider.
pub const SSO_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Clock skew accepted on AuthnRequest IssueInstant.
const REQUEST_SKEW: chrono::Duration = chrono::Duration::seconds(120);
/// How old an AuthnRequest may be.
const REQUEST_MAX_AGE: chrono::Duration = chrono::Duration::seconds(600);
/// How long an Assertion may be presented.
const ASSERTION_VALIDITY: chrono::Duration = chrono::Duration::minutes(5);

/// What the browser must be told next.
#[derive(Debug)]
pub enum Outcome {
    /// Go to `location` (the provider or the source chooser); set the login cookie if given.
    Redirect {
        /// Where to.
        location: String,
        /// Value of the browser-binding cookie for this login.
        login_cookie: Option<String>,
    },
    /// Post `saml_response` (base64) to the SP's ACS with RelayState; open a broker session.
    Post {
        /// The ACS URL, exactly as registered.
        acs_url: String,
        /// Base64 of the signed Response.
        saml_response: String,
        /// RelayState to echo verbatim.
        relay_state: Option<String>,
        /// A new broker session cookie value, when one was opened.
        sso_cookie: Option<String>,
    },
    /// Go to the second-factor page, with this cookie binding the browser to the step.
    Mfa {
        /// Value of the MFA cookie.
        cookie: String,
    },
    /// A source's Test login passed: say so (nothing goes to any application).
    Tested {
        /// The source tested.
        source: String,
        /// Who the provider vouched for.
        email: String,
    },
    /// Ask for the user's email to pick a source (home-realm discovery).
    ChooseSource {
        /// The stored request the choice belongs to.
        request: String,
        /// A message to show next to the field, if the last try failed.
        error: Option<String>,
    },
}

/// Why a login step stopped, and what the user is told.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The request cannot be served; nothing goes to the SP.
    #[error("{0}")]
    BadRequest(String),
    /// The request is too large.
    #[error("{0}")]
    TooLarge(String),
    /// The user may not log in.
    #[error("{0}")]
    Forbidden(String),
    /// No such SP or source at this tenant.
    #[error("{0}")]
    NotFound(String),
    /// The identity provider is briefly unavailable; the message says which part.
    #[error("{0}")]
    Unavailable(String),
    /// Too many sign-ins from this address or for this organisation just now.
    #[error("too many sign-ins; try again in {retry_after} s")]
    TooMany {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// Rosetta's own store or database did not answer: the user sees a generic "try again
    /// in a moment" page, the cause goes to the log only.
    #[error("a dependency did not answer: {0:#}")]
    Dependency(#[source] anyhow::Error),
    /// A bug or unexpected failure.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl FlowError {
    /// The login debugger's code for a failure no step named more precisely.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::TooLarge(_) => "request_too_large",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Unavailable(_) => "unavailable",
            Self::TooMany { .. } => "too_many",
            Self::Dependency(_) => "dependency",
            Self::Internal(_) => "internal",
        }
    }
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Full(_) => Self::Dependency(e.into()),
            _ => Self::Internal(e.into()),
        }
    }
}

impl From<ServiceError> for FlowError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Forbidden(m) => Self::Forbidden(m),
            ServiceError::NotFound(m) => Self::NotFound(m),
            ServiceError::Database(_) => Self::Dependency(anyhow::anyhow!(e.to_string())),
            other => Self::Internal(anyhow::anyhow!(other.to_string())),
        }
    }
}

/// Who is asking, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// Correlation ID.
    pub request_id: String,
    /// Client address.
    pub ip: Option<String>,
    /// The browser's login cookie, when it already has one: a login started in a second
    /// tab keeps it, so the first tab's login still completes.
    pub login_cookie: Option<String>,
}

/// One tenant's view of the login machinery.
pub struct Flow<'a> {
    state: &'a AppState,
    tenant: &'a tenant::Model,
    slug: &'a TenantSlug,
    meta: RequestMeta,
    /// This request's leg of the login, for the login debugger.
    trace: Tracer,
}

impl<'a> Flow<'a> {
    /// The flow for `tenant`.
    pub fn new(state: &'a AppState, tenant: &'a Tenant, meta: RequestMeta) -> Self {
        Self {
            state,
            tenant: tenant.row(),
            slug: tenant.slug(),
            meta,
            trace: Tracer::new(tenant.row().id),
        }
    }

    /// Ends this request's leg of the login: queued for the trace writer (nothing waits).
    fn end_leg<T>(&self, result: &Result<T, FlowError>) {
        if self.trace.is_empty() {
            return;
        }
        self.state.traces.record(self.trace.finish(result.as_ref().err()));
    }

    /// Records `code` as the current step's failure and returns `error`.
    fn refuse(&self, code: &str, detail: Option<&str>, error: FlowError) -> FlowError {
        self.trace.fail(code, &error.to_string(), detail);
        error
    }

    fn key(&self, kind: &'static str, id: &str) -> StoreKey {
        StoreKey::tenant(self.slug, kind, id)
    }

    /// Counts one SSO request against the per-address and per-tenant limits (this
    /// replica's, in memory: no store round trip on the login's path).
    fn count_start(&self) -> Result<(), FlowError> {
        let address = self.meta.ip.as_deref().unwrap_or("unknown");
        self.state
            .starts_per_address
            .hit(address)
            .and_then(|()| self.state.starts_per_tenant.hit(self.slug.as_str()))
            .map_err(|retry_after| FlowError::TooMany { retry_after })
    }

    /// An SP-initiated AuthnRequest, as received on either binding.
    pub async fn authn_request(
        &self,
        binding: Binding,
        saml_request: &str,
        relay_state: Option<&str>,
        raw_query: Option<&str>,
        sso_cookie: Option<&str>,
    ) -> Result<Outcome, FlowError> {
        let result = self
            .sp_initiated(binding, saml_request, relay_state, raw_query, sso_cookie)
            .await;
        self.end_leg(&result);
        result
    }

    #[tracing::instrument(name = "authn_request", skip_all, fields(tenant = %self.slug))]
    async fn sp_initiated(
        &self,
        binding: Binding,
        saml_request: &str,
        relay_state: Option<&str>,
        raw_query: Option<&str>,
        sso_cookie: Option<&str>,
    ) -> Result<Outcome, FlowError> {
        self.count_start()?;
        self.trace.begin(Step::Request);
        self.trace.summary(|l| l.initiated = Some("sp"));
        self.trace.fact(
            "Binding",
            match binding {
                Binding::Redirect => "HTTP-Redirect",
                Binding::Post => "HTTP-POST",
            },
        );
        let local = |e: request::RequestError| {
            self.trace.fail(e.code(), &e.to_string(), None);
            if e.is_too_large() {
                FlowError::TooLarge(e.to_string())
            } else {
                FlowError::BadRequest(e.to_string())
            }
        };
        let xml = request::decode(binding, saml_request).map_err(local)?;
        let parsed = request::parse(&xml);
        self.trace.summary(|l| l.request_xml = Some(xml));
        let parsed = parsed.map_err(local)?;
        self.trace_request(&parsed, relay_state, raw_query);
        let relay_state = request::check_relay_state(relay_state).map_err(local)?;
        let issuer = parsed.issuer_for_lookup().map_err(local)?;
        self.trace.summary(|l| l.entity_id = Some(issuer.to_owned()));
        let Some(sp) = self.sp_by_entity_id(issuer).await? else {
            self.trace.fail(
                "unknown_issuer",
                &request::RequestError::UnknownIssuer.to_string(),
                Some(issuer),
            );
            return Err(local(request::RequestError::UnknownIssuer));
        };
        self.trace.summary(|l| l.service_provider = Some(sp.name.clone()));
        self.trace.fact("Application", sp.name.as_str());
        let policy = sp_policy(&sp)?;
        let ctx = RequestContext {
            sso_urls: vec![self.state.hosts.sso_url(self.slug)],
            now: Utc::now(),
            max_skew: REQUEST_SKEW,
            max_age: REQUEST_MAX_AGE,
            received: match binding {
                Binding::Redirect => Received::Redirect {
                    raw_query: raw_query.unwrap_or_default().to_owned(),
                },
                Binding::Post => Received::Post,
            },
        };
        let valid = match request::validate(&parsed, &policy, &ctx) {
            Ok(valid) => valid,
            Err(Rejection::Local(e)) => {
                let detail = match e {
                    request::RequestError::AcsNotRegistered => parsed.acs_url.as_deref(),
                    request::RequestError::DestinationMismatch => parsed.destination.as_deref(),
                    _ => None,
                };
                self.trace.fail(e.code(), &e.to_string(), detail);
                return Err(local(e));
            }
            Err(Rejection::Saml {
                status,
                acs_url,
                in_response_to,
                detail,
            }) => {
                let requested = parsed.name_id_policy.as_ref().and_then(|p| p.format.as_deref());
                self.trace.fail(status.code(), &detail, requested);
                return self
                    .error_response(&acs_url, Some(&in_response_to), status, &detail, relay_state)
                    .await;
            }
        };
        // Replay cache: an ID is remembered for as long as its request could be accepted.
        // It is claimed together with the state the request starts (one store round trip
        // when it sends the browser to a provider), and before any answer goes out.
        let guard = ReplayGuard {
            // Hashed: the key's size does not depend on what the SP sent.
            key: self.key("reqid", &fingerprint(&format!("{}\n{}", sp.entity_id, valid.id))),
            ttl: valid.replay_ttl.to_std().unwrap_or(Duration::from_secs(900)),
        };
        self.trace.fact(
            "Signature check",
            if sp.want_requests_signed {
                "passed"
            } else {
                "not required for this application"
            },
        );
        self.trace.fact("ACS URL used", valid.acs_url.as_str());
        self.trace.fact("NameID format used", valid.name_id_format.as_str());
        let request = SpRequest {
            sp_entity_id: sp.entity_id.clone(),
            acs_url: valid.acs_url,
            request_id: Some(valid.id),
            relay_state,
            name_id_format: valid.name_id_format,
            force_authn: valid.force_authn,
            trace_id: Some(self.trace.id()),
            source_test: false,
        };
        if valid.is_passive {
            self.claim(Some(guard)).await?;
            let live = match self.live_session(sso_cookie).await? {
                Some(session) if !self.mfa_required(&sp, &session).await? => Some(session),
                _ => None,
            };
            return match live {
                Some(session) => self.respond(&sp, &request, &session, None).await,
                None => {
                    self.error_response(
                        &request.acs_url,
                        request.request_id.as_deref(),
                        SamlStatus::NoPassive,
                        "The user is not signed in",
                        request.relay_state.clone(),
                    )
                    .await
                }
            };
        }
        self.proceed(sp, request, sso_cookie, Some(guard)).await
    }

    /// Claims the request's ID in the replay cache, if it has one to claim.
    async fn claim(&self, guard: Option<ReplayGuard>) -> Result<(), FlowError> {
        match guard {
            Some(g) if !self.state.store.set_if_absent(&g.key, b"1", g.ttl).await? => Err(self.replayed()),
            _ => Ok(()),
        }
    }

    /// IdP-initiated SSO to the SP named `sp_name` (no InResponseTo). With `test` (a ticket
    /// from the console's Test login), the login writes the trace the console follows and
    /// never reuses a broker session.
    pub async fn idp_initiated(
        &self,
        sp_name: &str,
        relay_state: Option<&str>,
        sso_cookie: Option<&str>,
        test: Option<&str>,
    ) -> Result<Outcome, FlowError> {
        let result = self.idp_started(sp_name, relay_state, sso_cookie, test).await;
        self.end_leg(&result);
        result
    }

    #[tracing::instrument(name = "idp_initiated", skip_all, fields(tenant = %self.slug))]
    async fn idp_started(
        &self,
        sp_name: &str,
        relay_state: Option<&str>,
        sso_cookie: Option<&str>,
        test: Option<&str>,
    ) -> Result<Outcome, FlowError> {
        self.count_start()?;
        self.trace.begin(Step::Request);
        let sso_cookie = match test {
            Some(ticket) => {
                let target = TestTarget::Application(sp_name.to_owned());
                let trace_id = self.take_test_ticket(&target, ticket).await?;
                self.trace.adopt(Some(trace_id));
                // A test proves the whole path: never answered from a live session.
                None
            }
            None => sso_cookie,
        };
        self.trace
            .summary(|l| l.initiated = Some(if test.is_some() { TEST_INITIATED } else { "idp" }));
        self.trace.fact("Start", "IdP-initiated (no AuthnRequest)");
        self.trace.fact("RelayState", relay_state_fact(relay_state));
        let relay_state = request::check_relay_state(relay_state)
            .map_err(|e| self.refuse(e.code(), None, FlowError::BadRequest(e.to_string())))?;
        let Some(sp) = self
            .state
            .config
            .service_providers(&self.state.db, self.tenant.id)
            .await?
            .iter()
            .find(|s| s.name == sp_name)
            .cloned()
        else {
            let error = FlowError::NotFound(format!("There is no application called “{sp_name}” here."));
            return Err(self.refuse("unknown_application", Some(sp_name), error));
        };
        self.trace.summary(|l| {
            l.service_provider = Some(sp.name.clone());
            l.entity_id = Some(sp.entity_id.clone());
        });
        self.trace.fact("Application", sp.name.as_str());
        let acs = sp
            .acs
            .iter()
            .find(|a| a.default)
            .or_else(|| sp.acs.first())
            .ok_or_else(|| FlowError::Internal(anyhow::anyhow!("service provider without ACS")))?;
        let request = SpRequest {
            sp_entity_id: sp.entity_id.clone(),
            acs_url: acs.url.clone(),
            request_id: None,
            relay_state,
            name_id_format: sp.name_id_format.clone(),
            force_authn: false,
            trace_id: Some(self.trace.id()),
            source_test: false,
        };
        self.trace.fact("ACS URL used", request.acs_url.as_str());
        self.proceed(sp, request, sso_cookie, None).await
    }

    /// The console's Test login of the identity source `source` (`ticket` from it): to the
    /// provider and back, with no application, no user recorded and no session opened.
    pub async fn test_source(&self, source: &str, ticket: &str) -> Result<Outcome, FlowError> {
        let result = self.source_tested(source, ticket).await;
        self.end_leg(&result);
        result
    }

    async fn source_tested(&self, source: &str, ticket: &str) -> Result<Outcome, FlowError> {
        self.count_start()?;
        self.trace.begin(Step::Request);
        let trace_id = self
            .take_test_ticket(&TestTarget::Source(source.to_owned()), ticket)
            .await?;
        self.trace.adopt(Some(trace_id));
        self.trace.summary(|l| l.initiated = Some(TEST_INITIATED));
        self.trace
            .fact("Start", "Test login of the identity source (no application)");
        let request = SpRequest {
            sp_entity_id: String::new(),
            acs_url: String::new(),
            request_id: None,
            relay_state: None,
            name_id_format: String::new(),
            force_authn: false,
            trace_id: Some(trace_id),
            source_test: true,
        };
        self.start_upstream(source, request, None, None).await
    }

    /// Answers from a live broker session, or sends the browser to a provider.
    async fn proceed(
        &self,
        sp: Arc<ServiceProvider>,
        request: SpRequest,
        sso_cookie: Option<&str>,
        guard: Option<ReplayGuard>,
    ) -> Result<Outcome, FlowError> {
        if !request.force_authn
            && let Some(session) = self.live_session(sso_cookie).await?
        {
            self.claim(guard).await?;
            self.trace_session(&session);
            if self.mfa_required(&sp, &session).await? {
                return self.start_mfa(request, session, &sp).await;
            }
            return self.respond(&sp, &request, &session, None).await;
        }
        let sources = self.sources().await?;
        match sources.as_slice() {
            [] => {
                self.claim(guard).await?;
                Err(self.refuse(
                    "no_source",
                    None,
                    FlowError::Unavailable(
                        "Single sign-on is not set up yet for this organisation: no identity provider is configured."
                            .into(),
                    ),
                ))
            }
            [(only, _)] => self.start_upstream(&only.name, request, guard, None).await,
            _ => {
                self.claim(guard).await?;
                self.trace.begin(Step::Discovery);
                self.trace.fact("Sources", sources.len().to_string());
                self.trace
                    .fact("Asked", "the user's email, to choose the source by its domain");
                let id = random_token();
                let body = serde_json::to_vec(&request).map_err(anyhow::Error::from)?;
                self.state.store.set(&self.key("hrd", &id), &body, PENDING_TTL).await?;
                Ok(Outcome::ChooseSource {
                    request: id,
                    error: None,
                })
            }
        }
    }

    /// Home-realm discovery: the user typed `email`; pick the source of its domain.
    pub async fn choose_source(&self, request_id: &str, email: &str) -> Result<Outcome, FlowError> {
        let result = self.discover(request_id, email).await;
        self.end_leg(&result);
        result
    }

    async fn discover(&self, request_id: &str, email: &str) -> Result<Outcome, FlowError> {
        let key = self.key("hrd", request_id);
        let Some(body) = self.state.store.get(&key).await? else {
            // Not traced: nothing names the login this form belonged to.
            return Err(FlowError::BadRequest(
                "This sign-in took too long and has expired. Start again from the application.".into(),
            ));
        };
        let request: SpRequest = serde_json::from_slice(&body).map_err(anyhow::Error::from)?;
        self.trace.adopt(request.trace_id);
        self.trace.begin(Step::Discovery);
        let domain = email
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_ascii_lowercase())
            .unwrap_or_default();
        self.trace.fact("Email domain typed", domain.as_str());
        let sources = self.sources().await?;
        let Some((source, _)) = sources.iter().find(|(s, _)| s.domains.contains(&domain)) else {
            let message = "No sign-in is set up for that email address. Check it, or ask your administrator.";
            self.trace.fail("domain_not_listed", message, Some(&domain));
            return Ok(Outcome::ChooseSource {
                request: request_id.to_owned(),
                error: Some(message.into()),
            });
        };
        self.trace.fact("Source chosen", source.name.as_str());
        self.state.store.delete(&key).await?;
        self.start_upstream(&source.name, request, None, None).await
    }

    async fn source_config(&self, name: &str) -> Result<SourceConfig, FlowError> {
        let sources = self.sources().await?;
        let (source, secret) = sources.iter().find(|(s, _)| s.name == name).ok_or_else(|| {
            FlowError::NotFound("This sign-in link names an identity provider that does not exist.".into())
        })?;
        // Only what the configuration needs is copied out of the cached row.
        Ok(source.oidc_config(secret.clone()))
    }

    async fn start_upstream(
        &self,
        source: &str,
        request: SpRequest,
        guard: Option<ReplayGuard>,
        grant: Option<GrantLeg>,
    ) -> Result<Outcome, FlowError> {
        self.trace.begin(Step::Redirect);
        self.trace.summary(|l| l.source = Some(source.to_owned()));
        self.trace.fact("Source", source);
        let config = self.source_config(source).await?;
        let redirect_uri = self.state.hosts.callback_url(self.slug, source);
        let upstream = std::time::Instant::now();
        let started = match &grant {
            None => self.state.oidc.start_login(&config, &redirect_uri).await,
            Some(g) => {
                self.state
                    .oidc
                    .start_login_for_grant(&config, &redirect_uri, &g.login_hint)
                    .await
            }
        };
        self.state
            .metrics
            .upstream_duration
            .with_label_values(&["start_login"])
            .observe(upstream.elapsed().as_secs_f64());
        let (mut url, auth) = started.map_err(|e| self.oidc_refused(e))?;
        if request.force_authn {
            // The SP demanded a fresh authentication: ask the provider not to reuse its session.
            url.query_pairs_mut()
                .append_pair("prompt", "login")
                .append_pair("max_age", "0");
        }
        self.trace_redirect(&url, grant.is_some());
        // Only a value of the shape Rosetta issues (43 URL-safe characters, 256 bits) is kept.
        let cookie = match &self.meta.login_cookie {
            Some(c) if c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
                c.clone()
            }
            _ => random_token(),
        };
        let pending = PendingLogin {
            sp: request,
            source: source.to_owned(),
            browser: fingerprint(&cookie),
            auth,
            trace: current_traceparent(),
            // The grant leg keeps the login's start: ForceAuthn's freshness is the first leg's.
            started_ms: grant
                .as_ref()
                .map_or_else(|| Utc::now().timestamp_millis(), |g| g.started_ms),
            grant_leg: grant.is_some(),
        };
        let body = serde_json::to_vec(&pending).map_err(anyhow::Error::from)?;
        let key = self.key("pending", &pending.auth.state);
        let stored = match guard {
            Some(g) => {
                self.state
                    .store
                    .set_guarded(&g.key, g.ttl, &key, &body, PENDING_TTL)
                    .await?
            }
            None => {
                self.state.store.set(&key, &body, PENDING_TTL).await?;
                true
            }
        };
        if !stored {
            return Err(self.replayed());
        }
        Ok(Outcome::Redirect {
            location: url.to_string(),
            login_cookie: Some(cookie),
        })
    }

    /// The provider's redirect back to `/oidc/callback/{source}`.
    pub async fn callback(
        &self,
        source: &str,
        params: &CallbackParams,
        login_cookie: Option<&str>,
    ) -> Result<Outcome, FlowError> {
        let result = self.returned(source, params, login_cookie).await;
        self.end_leg(&result);
        result
    }

    #[tracing::instrument(name = "callback", skip_all, fields(tenant = %self.slug, source = %source))]
    async fn returned(
        &self,
        source: &str,
        params: &CallbackParams,
        login_cookie: Option<&str>,
    ) -> Result<Outcome, FlowError> {
        let expired = || {
            FlowError::BadRequest(
                "This sign-in has expired or was already completed. Start again from the application.".into(),
            )
        };
        let state = params
            .state
            .as_deref()
            .filter(|s| !s.is_empty() && s.len() <= 128)
            .ok_or_else(expired)?;
        // Single use: taken before anything else, so a replayed callback finds nothing.
        let body = self
            .state
            .store
            .take(&self.key("pending", state))
            .await?
            .ok_or_else(expired)?;
        let pending: PendingLogin = serde_json::from_slice(&body).map_err(anyhow::Error::from)?;
        self.trace.adopt(pending.sp.trace_id);
        self.trace.begin(Step::Callback);
        self.trace.summary(|l| l.source = Some(source.to_owned()));
        self.trace.fact("Source", source);
        self.trace.fact(
            "Answer",
            if params.error.is_some() {
                "an error"
            } else if params.code.is_some() {
                "an authorization code"
            } else {
                "nothing usable"
            },
        );
        // The rest continues the trace the login started in (the SP's request).
        let span = tracing::info_span!("login_continued");
        continue_trace(&span, pending.trace.as_deref());
        async move {
            if pending.source != source {
                return Err(self
                    .failed(
                        &pending,
                        "source_mismatch",
                        FlowError::BadRequest("This sign-in came back from the wrong identity provider.".into()),
                    )
                    .await);
            }
            if !login_cookie.is_some_and(|c| constant_time_eq(fingerprint(c).as_bytes(), pending.browser.as_bytes())) {
                return Err(self.failed(&pending, "browser_mismatch", FlowError::BadRequest(
                    "This sign-in was started in another browser. Start again from the application in this browser.".into(),
                )).await);
            }
            let config = self.source_config(source).await?;
            let upstream = std::time::Instant::now();
            let finished = self
                .state
                .oidc
                .finish_login_with_grant(&config, &pending.auth, params)
                .await;
            self.state
                .metrics
                .upstream_duration
                .with_label_values(&["finish_login"])
                .observe(upstream.elapsed().as_secs_f64());
            let (identity, refresh_token) = match finished {
                Ok(done) => done,
                Err(e) => {
                    self.trace.fail(e.code(), &e.to_string(), e.provider_error());
                    return Err(self.failed(&pending, e.code(), oidc_error(e)).await);
                }
            };
            self.trace_identity(&identity, refresh_token.is_some());
            if pending.sp.source_test {
                // A source's Test login ends here: the provider's answer is verified.
                self.trace.answered();
                return Ok(Outcome::Tested {
                    source: source.to_owned(),
                    email: identity.email,
                });
            }
            // ForceAuthn sent `max_age=0`: the provider must say the person signed in anew
            // for this login (`auth_time` no older than the request, with the skew allowed);
            // a provider that ignored the prompt would turn a step-up into a session reuse.
            if pending.sp.force_authn && !fresh_authentication(identity.auth_time, pending.started_ms) {
                return Err(self
                    .failed(
                        &pending,
                        "stale_authentication",
                        FlowError::BadRequest(
                            "The application asked for a new sign-in, and the identity provider did not confirm \
                             one. Sign in again."
                                .into(),
                        ),
                    )
                    .await);
            }
            let snapshot = end_users::snapshot_json(&identity.claims, identity.groups.as_deref());
            let who = LoginIdentity {
                issuer: &identity.issuer,
                subject: &identity.subject,
                email: &identity.email,
                name: identity.name.as_deref(),
                claims: snapshot.as_deref(),
            };
            // Taken before the user's status is read: a block that lands after the read
            // carries a later time, and ends the session this login opens.
            let opened_ms = Utc::now().timestamp_millis();
            self.trace.begin(Step::User);
            let user = match end_users::record_login(&self.state.db, self.tenant.id, &who).await {
                Ok(user) => user,
                Err(e) => return Err(self.failed(&pending, "user_refused", e.into()).await),
            };
            self.trace.fact("User ID", user.id.to_string());
            self.trace.fact("Status", "active");
            if let Some(leg) = self
                .keep_grant(source, &pending, &user, &identity.email, refresh_token.as_ref())
                .await?
            {
                return self.start_upstream(source, pending.sp, None, Some(leg)).await;
            }
            let authn_instant = authn_instant(identity.auth_time);
            let session = SsoSession {
                user_id: user.id,
                identity,
                source: source.to_owned(),
                authn_instant,
                mfa_at: None,
                mfa_skipped: false,
                opened_ms,
            };
            let sp = self.sp_by_entity_id(&pending.sp.sp_entity_id).await?.ok_or_else(|| {
                self.refuse(
                    "application_removed",
                    None,
                    FlowError::NotFound("The application this sign-in was for has been removed.".into()),
                )
            })?;
            // Rosetta's second factor, when the policy asks: no session, no assertion before it.
            if self.mfa_required(&sp, &session).await? {
                return self.start_mfa(pending.sp, session, &sp).await;
            }
            let outcome = self.open_session_and_respond(&sp, &pending.sp, session).await?;
            if pending.started_ms > 0 {
                let elapsed = (Utc::now().timestamp_millis() - pending.started_ms).max(0) as f64 / 1000.0;
                self.state.metrics.login_duration.observe(elapsed);
            }
            Ok(outcome)
        }
        .instrument(span)
        .await
    }

    /// For a source with `offline_access` on: keeps the refresh token this login brought
    /// (or notes that the provider issued none though asked); when the user has no working
    /// one and this login did not ask yet, the leg to send the browser on (once: consent,
    /// then straight back here). Other sources cost nothing here.
    async fn keep_grant(
        &self,
        source: &str,
        pending: &PendingLogin,
        user: &rosetta_entity::end_user::Model,
        email: &str,
        refresh_token: Option<&secrecy::SecretString>,
    ) -> Result<Option<GrantLeg>, FlowError> {
        let sources = self.sources().await?;
        let Some((row, _)) = sources.iter().find(|(s, _)| s.name == source) else {
            return Ok(None);
        };
        if !row.offline_access {
            return Ok(None);
        }
        let db = &self.state.db;
        if refresh_token.is_some() || pending.grant_leg {
            grants::store(db, &self.state.keyring, self.tenant.id, user.id, row.id, refresh_token).await?;
            return Ok(None);
        }
        if grants::needs_consent(grants::get(db, user.id).await?.as_ref(), Utc::now()) {
            return Ok(Some(GrantLeg {
                login_hint: email.to_owned(),
                started_ms: pending.started_ms,
            }));
        }
        Ok(None)
    }

    /// The tenant's SP with this entity ID (from the configuration cache).
    async fn sp_by_entity_id(&self, entity_id: &str) -> Result<Option<Arc<ServiceProvider>>, FlowError> {
        Ok(self
            .state
            .config
            .service_providers(&self.state.db, self.tenant.id)
            .await?
            .iter()
            .find(|s| s.entity_id == entity_id)
            .cloned())
    }

    /// The tenant's identity sources with their secrets (from the configuration cache).
    async fn sources(&self) -> Result<Arc<Vec<crate::config_cache::SourceWithSecret>>, FlowError> {
        Ok(self
            .state
            .config
            .sources(&self.state.db, &self.state.keyring, self.tenant.id)
            .await?)
    }

    /// Opens a broker session for `session` and answers the SP with it.
    async fn open_session_and_respond(
        &self,
        sp: &ServiceProvider,
        request: &SpRequest,
        session: SsoSession,
    ) -> Result<Outcome, FlowError> {
        let sso_cookie = random_token();
        let body = serde_json::to_vec(&session).map_err(anyhow::Error::from)?;
        let key = self.key("sso", &fingerprint(&sso_cookie));
        self.state.store.set(&key, &body, SSO_SESSION_TTL).await?;
        let answered = self.respond(sp, request, &session, Some(sso_cookie)).await;
        if answered.is_err() {
            // Refused (a mapping rule): the browser never gets the cookie, so the session
            // it would have named goes too, rather than waiting out its TTL.
            if let Err(e) = self.state.store.delete(&key).await {
                tracing::warn!(error = %e, "deleting the session of a refused login failed; it expires unused");
            }
        }
        answered
    }

    /// The broker session of this cookie, if it is live and its user's sessions were not
    /// ended since it opened (blocked, second factor reset, departed): then it is deleted and
    /// the login goes to the provider, where a blocked user is refused.
    async fn live_session(&self, sso_cookie: Option<&str>) -> Result<Option<SsoSession>, FlowError> {
        let Some(cookie) = sso_cookie.filter(|c| !c.is_empty() && c.len() <= 128) else {
            return Ok(None);
        };
        let key = self.key("sso", &fingerprint(cookie));
        let Some(session) = self
            .state
            .store
            .get(&key)
            .await?
            .and_then(|body| serde_json::from_slice::<SsoSession>(&body).ok())
        else {
            return Ok(None);
        };
        if self.ended_since(&session).await? {
            self.state.store.delete(&key).await?;
            return Ok(None);
        }
        Ok(Some(session))
    }

    /// Whether the session's user had their sessions ended at or after it opened.
    async fn ended_since(&self, session: &SsoSession) -> Result<bool, FlowError> {
        let key = ended_key(self.slug, session.user_id);
        Ok(match self.state.store.get(&key).await? {
            Some(at) => std::str::from_utf8(&at)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
                // An unreadable mark ends every session: failing closed.
                .is_none_or(|ended| ended >= session.opened_ms),
            None => false,
        })
    }

    #[tracing::instrument(skip_all, fields(sp = %sp.name))]
    async fn respond(
        &self,
        sp: &ServiceProvider,
        request: &SpRequest,
        session: &SsoSession,
        sso_cookie: Option<String>,
    ) -> Result<Outcome, FlowError> {
        let key = self.signing_key().await?;
        let id = &session.identity;
        // The SP's rules, compiled with its configuration: the NameID and every attribute,
        // or the rule that refuses this person (nothing is sent then).
        self.trace.begin(Step::Assertion);
        let release = match sp.release(&request.name_id_format, &subject_of(session)) {
            Ok(release) => release,
            Err(e) => {
                tracing::info!(rule = %e.rule, "mapping refused the login");
                self.trace.fail("mapping_refused", &e.to_string(), Some(&e.rule));
                self.audit_outcome("failure", &sp.entity_id, &id.email, serde_json::json!({
                    "source": session.source, "sp": sp.name, "reason": "mapping", "rule": e.rule, "message": e.message,
                }));
                return Err(FlowError::Forbidden(format!(
                    "{} cannot receive your account as it is set up here ({e}). Your administrator can fix this \
                     application's attribute rules.",
                    sp.name
                )));
            }
        };
        let params = AssertionParams {
            issuer: self.state.hosts.idp_entity_id(self.slug),
            acs_url: request.acs_url.clone(),
            in_response_to: request.request_id.clone(),
            audience: sp.entity_id.clone(),
            name_id: release.name_id,
            name_id_format: request.name_id_format.clone(),
            attributes: release.attributes,
            session_index: fingerprint(&format!("{}:{}", session.user_id, session.authn_instant.timestamp())),
            authn_instant: session.authn_instant,
            now: Utc::now(),
            validity: ASSERTION_VALIDITY,
        };
        self.trace_release(&params, &key, request.relay_state.as_deref());
        let xml = response::signed_response(&params, &key).map_err(|e| FlowError::Internal(e.into()))?;
        let mut detail = serde_json::json!({
            "source": session.source, "sp": sp.name, "subject": id.subject, "sso_session_reused": sso_cookie.is_none(),
        });
        if let Some(problem) = &id.groups_problem {
            // Reported, never silently dropped: the groups are unknown for this login.
            detail["groups_unknown"] = serde_json::Value::from(problem.as_str());
        }
        self.audit_outcome("success", &sp.entity_id, &id.email, detail);
        let saml_response = B64.encode(&xml);
        self.trace.summary(|l| l.response_xml = Some(xml));
        self.trace.answered();
        Ok(Outcome::Post {
            acs_url: request.acs_url.clone(),
            saml_response,
            relay_state: request.relay_state.clone(),
            sso_cookie,
        })
    }

    async fn error_response(
        &self,
        acs_url: &str,
        in_response_to: Option<&str>,
        status: SamlStatus,
        detail: &str,
        relay_state: Option<String>,
    ) -> Result<Outcome, FlowError> {
        let key = self.signing_key().await?;
        let xml = response::signed_error_response(
            &self.state.hosts.idp_entity_id(self.slug),
            acs_url,
            in_response_to,
            Utc::now(),
            status,
            detail,
            &key,
        )
        .map_err(|e| FlowError::Internal(e.into()))?;
        self.trace.fail(status.code(), detail, None);
        let saml_response = B64.encode(&xml);
        self.trace.summary(|l| l.response_xml = Some(xml));
        Ok(Outcome::Post {
            acs_url: acs_url.to_owned(),
            saml_response,
            relay_state,
            sso_cookie: None,
        })
    }

    async fn signing_key(&self) -> Result<Arc<crate::saml::keys::SigningKey>, FlowError> {
        self.state.signing_key(self.tenant.id).await.map_err(FlowError::from)
    }

    async fn failed(&self, pending: &PendingLogin, reason: &str, error: FlowError) -> FlowError {
        tracing::info!(reason, "login failed");
        self.trace.fail(reason, &error.to_string(), None);
        self.audit_outcome(
            "failure",
            &pending.sp.sp_entity_id,
            "anonymous",
            serde_json::json!({"source": pending.source, "reason": reason}),
        );
        error
    }

    fn audit_outcome(&self, outcome: &'static str, target: &str, actor: &str, detail: serde_json::Value) {
        let source = detail["source"].as_str().unwrap_or_default();
        self.state
            .metrics
            .logins
            .with_label_values(&[self.slug.as_str(), target, source, outcome])
            .inc();
        let event = audit::AuditEvent {
            tenant_id: Some(self.tenant.id),
            actor: actor.to_owned(),
            action: "login",
            outcome,
            target: Some(target.to_owned()),
            detail,
            ip: self.meta.ip.clone(),
            request_id: Some(self.meta.request_id.clone()),
        };
        // Written off the response path; the audit log cannot turn a login into an outage.
        self.state.audit.record(event);
    }
}

/// An AuthnRequest's ID, to be claimed in the replay cache for `ttl`.
struct ReplayGuard {
    key: StoreKey,
    ttl: Duration,
}

/// Whether `auth_time` (Unix seconds) proves a sign-in at the provider after the login left
/// for it (`started_ms`, Unix milliseconds), allowing [`REQUEST_SKEW`] between the clocks.
fn fresh_authentication(auth_time: Option<i64>, started_ms: i64) -> bool {
    auth_time.is_some_and(|t| t >= started_ms / 1000 - REQUEST_SKEW.num_seconds())
}

/// The assertion's `AuthnInstant`: when the person signed in at the provider, when it says
/// (never in the future), else now.
fn authn_instant(auth_time: Option<i64>) -> chrono::DateTime<Utc> {
    let now = Utc::now();
    auth_time
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or(now, |t| t.min(now))
}

/// What the summary says of a login started by the console's Test login.
pub const TEST_INITIATED: &str = "test";

/// The RelayState as the trace shows it: its length only (it may carry the SP's state).
fn relay_state_fact(relay_state: Option<&str>) -> String {
    relay_state.map_or_else(|| "none".to_owned(), |r| format!("{} bytes", r.len()))
}

fn sp_policy(sp: &ServiceProvider) -> Result<SpPolicy, FlowError> {
    let certs = sp
        .request_signing_certs
        .iter()
        .map(|c| B64.decode(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| FlowError::Internal(e.into()))?;
    Ok(SpPolicy {
        entity_id: sp.entity_id.clone(),
        acs: sp
            .acs
            .iter()
            .map(|a| request::Acs {
                index: a.index,
                url: a.url.clone(),
                is_default: a.default,
            })
            .collect(),
        name_id_format: sp.name_id_format.clone(),
        want_requests_signed: sp.want_requests_signed,
        signing_certs_der: certs,
    })
}

fn oidc_error(e: OidcError) -> FlowError {
    if e.is_transient() {
        FlowError::Unavailable(e.to_string())
    } else {
        FlowError::BadRequest(e.to_string())
    }
}

/// The W3C `traceparent` of the current span, when traces are exported.
fn current_traceparent() -> Option<String> {
    use opentelemetry::propagation::TextMapPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let mut carrier = std::collections::HashMap::new();
    opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .inject_context(&tracing::Span::current().context(), &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` part of the trace the login started in.
fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    use opentelemetry::propagation::TextMapPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let Some(traceparent) = traceparent else { return };
    let carrier = std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let cx = opentelemetry_sdk::propagation::TraceContextPropagator::new().extract(&carrier);
    // Without an exporter there is no OpenTelemetry layer; nothing to continue then.
    let _ = span.set_parent(cx);
}
