//! The admin API (`/api/v1/`), one typed function per endpoint: pages never write a path.
//! Every call returns `Result` with the API's own error (stable code, message, field errors)
//! or a network failure.
//!
//! Calls that need no session are free functions; the rest are methods of [`Client`], which
//! carries the session's CSRF token (taken from context by `session::use_api`).

use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::*;
use rosetta_api::{
    AcceptInvitationRequest, ApiError, AuditPage, AuditQuery, ChangePasswordRequest, CodeRequest, ConnectionTest,
    CreateIdentitySourceRequest, CreateServiceProviderRequest, EmailRequest, EndUser, EndUserPage, EndUserQuery,
    ErrorCode, GoLiveChecklist, IdentitySource, ImportServiceProviderRequest, InactivePreview, InactiveQuery,
    Invitation, InviteRequest, LoginTrace, LoginTracePage, LoginTraceQuery, Mapping, MappingPreview,
    MappingPreviewRequest, Member, Message, PageQuery, ProvisioningTarget, ProvisioningTest, ProvisioningUser,
    ProvisioningUserPage, PutProvisioningRequest, RecoveryCodes, ResetPasswordRequest, ServiceProvider, Session,
    SetupProgress, SignInRequest, SignUpRequest, SigningKey, SourcePresetInfo, SwitchTenantRequest, SyncPreview,
    SyncResult, TenantSettings, TestLoginStart, TokenRequest, TotpEnrolment, UpdateIdentitySourceRequest,
    UpdateServiceProviderRequest, UpdateTenantRequest,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Why a call failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Failure {
    /// The API refused, with its code, message and field errors.
    #[error("{}", .0.message)]
    Api(ApiError),
    /// The API could not be reached or answered something unreadable.
    #[error("Rosetta could not be reached ({0})")]
    Network(String),
}

impl Failure {
    /// The API's stable code, when the API answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(e) => Some(e.code),
            Self::Network(_) => None,
        }
    }

    /// The message for a field, if the API named it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            Self::Api(e) => e.fields.iter().find(|f| f.field == name).map(|f| f.message.clone()),
            Self::Network(_) => None,
        }
    }

    /// The message for the form or page as a whole (field errors stand by their fields).
    pub fn message(&self) -> String {
        match self {
            Self::Api(e) => match e.code {
                ErrorCode::InvalidField if !e.fields.is_empty() => "Some fields need attention.".into(),
                ErrorCode::RateLimited => match e.retry_after {
                    Some(s) => format!("{} Try again in {s} seconds.", e.message),
                    None => e.message.clone(),
                },
                ErrorCode::Unavailable => {
                    "Rosetta cannot reach its database or session store just now. Try again in a moment.".into()
                }
                ErrorCode::Internal => format!(
                    "Something went wrong on Rosetta's side (reference {}). Try again, or tell your vendor.",
                    e.request_id
                ),
                _ => e.message.clone(),
            },
            Self::Network(m) => format!("Rosetta could not be reached ({m}). Check your connection and try again."),
        }
    }
}

fn network(e: impl std::fmt::Display) -> Failure {
    Failure::Network(e.to_string())
}

fn url(path: &str) -> String {
    format!("/api/v1/{path}")
}

/// A query string from a serializable query struct (`None` fields are left out); pages use
/// it for links that carry filters (`/logins?service_provider=jira`).
pub fn query_string<Q: Serialize>(query: &Q) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(query) else {
        return String::new();
    };
    let pairs: Vec<String> = map
        .into_iter()
        .filter_map(|(k, v)| {
            let value = match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            Some(format!("{k}={}", percent_encode(&value)))
        })
        .collect();
    pairs.join("&")
}

/// Percent-encodes everything but unreserved characters (for data: URLs and queries).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn read<T: DeserializeOwned>(res: Response) -> Result<T, Failure> {
    if res.ok() {
        return res.json::<T>().await.map_err(network);
    }
    match res.json::<ApiError>().await {
        Ok(e) => Err(Failure::Api(e)),
        Err(_) => Err(Failure::Network(format!("HTTP {}", res.status()))),
    }
}

/// For answers without a body (204).
async fn read_empty(res: Response) -> Result<(), Failure> {
    if res.ok() {
        Ok(())
    } else {
        read::<serde_json::Value>(res).await.map(drop)
    }
}

async fn send_json<B: Serialize, T: DeserializeOwned>(req: RequestBuilder, body: &B) -> Result<T, Failure> {
    let res = req.json(body).map_err(network)?.send().await.map_err(network)?;
    read(res).await
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, Failure> {
    let res = Request::get(&url(path)).send().await.map_err(network)?;
    read(res).await
}

/// `service-providers/{id}/provisioning{rest}`.
fn provisioning_path(sp_id: &str, rest: &str) -> String {
    format!("service-providers/{}/provisioning{rest}", percent_encode(sp_id))
}

// --- Without a session ------------------------------------------------------------------

/// `GET /api/v1/session`: the caller's session (`unauthenticated` when there is none).
pub async fn current_session() -> Result<Session, Failure> {
    get("session").await
}

/// `POST /api/v1/signup`.
pub async fn sign_up(body: SignUpRequest) -> Result<Message, Failure> {
    send_json(Request::post(&url("signup")), &body).await
}

/// `POST /api/v1/verify-email`.
pub async fn verify_email(body: TokenRequest) -> Result<Message, Failure> {
    send_json(Request::post(&url("verify-email")), &body).await
}

/// `POST /api/v1/verify-email/resend`.
pub async fn resend_verification(body: EmailRequest) -> Result<Message, Failure> {
    send_json(Request::post(&url("verify-email/resend")), &body).await
}

/// `POST /api/v1/password-reset`.
pub async fn request_reset(body: EmailRequest) -> Result<Message, Failure> {
    send_json(Request::post(&url("password-reset")), &body).await
}

/// `POST /api/v1/password-reset/confirm`.
pub async fn confirm_reset(body: ResetPasswordRequest) -> Result<Message, Failure> {
    send_json(Request::post(&url("password-reset/confirm")), &body).await
}

/// `POST /api/v1/invitations/accept`.
pub async fn accept_invitation(body: AcceptInvitationRequest) -> Result<Message, Failure> {
    send_json(Request::post(&url("invitations/accept")), &body).await
}

/// `POST /api/v1/session`: sign in.
pub async fn sign_in(body: SignInRequest) -> Result<Session, Failure> {
    send_json(Request::post(&url("session")), &body).await
}

/// The session's side of the API: every state-changing call sends its CSRF token.
#[derive(Clone, Copy)]
pub struct Client {
    csrf: Signal<String>,
}

impl Client {
    /// A client sending the token `csrf` holds at the time of each call.
    pub fn new(csrf: Signal<String>) -> Self {
        Self { csrf }
    }

    fn token(self) -> String {
        self.csrf.try_get_untracked().unwrap_or_default()
    }

    fn post(self, path: &str) -> RequestBuilder {
        Request::post(&url(path)).header("X-CSRF-Token", &self.token())
    }

    fn put(self, path: &str) -> RequestBuilder {
        Request::put(&url(path)).header("X-CSRF-Token", &self.token())
    }

    fn patch(self, path: &str) -> RequestBuilder {
        Request::patch(&url(path)).header("X-CSRF-Token", &self.token())
    }

    async fn delete(self, path: &str) -> Result<(), Failure> {
        let res = Request::delete(&url(path))
            .header("X-CSRF-Token", &self.token())
            .send()
            .await
            .map_err(network)?;
        read_empty(res).await
    }

    /// A POST whose body the endpoint ignores.
    async fn post_empty<T: DeserializeOwned>(self, path: &str) -> Result<T, Failure> {
        send_json(self.post(path), &serde_json::json!({})).await
    }

    // Session and account.

    /// `POST /api/v1/session/totp`: the second factor.
    pub async fn second_factor(self, body: CodeRequest) -> Result<Session, Failure> {
        send_json(self.post("session/totp"), &body).await
    }

    /// `DELETE /api/v1/session`: sign out.
    pub async fn sign_out(self) -> Result<(), Failure> {
        self.delete("session").await
    }

    /// `PUT /api/v1/session/tenant`: work on another of one's tenants.
    pub async fn switch_tenant(self, tenant_id: String) -> Result<Session, Failure> {
        send_json(self.put("session/tenant"), &SwitchTenantRequest { tenant_id }).await
    }

    /// `PUT /api/v1/account/password`.
    pub async fn change_password(self, body: ChangePasswordRequest) -> Result<Session, Failure> {
        send_json(self.put("account/password"), &body).await
    }

    /// `POST /api/v1/account/totp`: start enrolment.
    pub async fn begin_totp(self) -> Result<TotpEnrolment, Failure> {
        self.post_empty("account/totp").await
    }

    /// `POST /api/v1/account/totp/confirm`.
    pub async fn confirm_totp(self, body: CodeRequest) -> Result<RecoveryCodes, Failure> {
        send_json(self.post("account/totp/confirm"), &body).await
    }

    // Tenant.

    /// `GET /api/v1/tenant`.
    pub async fn tenant(self) -> Result<TenantSettings, Failure> {
        get("tenant").await
    }

    /// `PATCH /api/v1/tenant`.
    pub async fn update_tenant(self, body: UpdateTenantRequest) -> Result<TenantSettings, Failure> {
        send_json(self.patch("tenant"), &body).await
    }

    /// `GET /api/v1/tenant/inactive-users`: who the inactivity rule would mark departed.
    pub async fn inactive_users(self, query: InactiveQuery) -> Result<InactivePreview, Failure> {
        get(&format!("tenant/inactive-users?{}", query_string(&query))).await
    }

    /// `GET /api/v1/tenant/setup`.
    pub async fn setup_progress(self) -> Result<SetupProgress, Failure> {
        get("tenant/setup").await
    }

    // Service providers.

    /// `GET /api/v1/service-providers`.
    pub async fn service_providers(self) -> Result<Vec<ServiceProvider>, Failure> {
        get("service-providers").await
    }

    /// `GET /api/v1/service-providers/{id}`; `None` when there is no such SP (any more).
    pub async fn service_provider(self, id: String) -> Result<Option<ServiceProvider>, Failure> {
        match get(&format!("service-providers/{}", percent_encode(&id))).await {
            Ok(sp) => Ok(Some(sp)),
            Err(f) if f.code() == Some(ErrorCode::NotFound) => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// `POST /api/v1/service-providers`.
    pub async fn create_service_provider(self, body: CreateServiceProviderRequest) -> Result<ServiceProvider, Failure> {
        send_json(self.post("service-providers"), &body).await
    }

    /// `POST /api/v1/service-providers/import`.
    pub async fn import_service_provider(self, body: ImportServiceProviderRequest) -> Result<ServiceProvider, Failure> {
        send_json(self.post("service-providers/import"), &body).await
    }

    /// `PATCH /api/v1/service-providers/{id}`.
    pub async fn update_service_provider(
        self,
        id: String,
        body: UpdateServiceProviderRequest,
    ) -> Result<ServiceProvider, Failure> {
        send_json(self.patch(&format!("service-providers/{}", percent_encode(&id))), &body).await
    }

    /// `DELETE /api/v1/service-providers/{id}`.
    pub async fn delete_service_provider(self, id: String) -> Result<(), Failure> {
        self.delete(&format!("service-providers/{}", percent_encode(&id))).await
    }

    // What a service provider receives (attributes, NameID, groups).

    /// `PUT /api/v1/service-providers/{id}/mapping`: the whole mapping.
    pub async fn put_mapping(self, sp_id: String, body: Mapping) -> Result<ServiceProvider, Failure> {
        send_json(
            self.put(&format!("service-providers/{}/mapping", percent_encode(&sp_id))),
            &body,
        )
        .await
    }

    /// `POST /api/v1/service-providers/{id}/mapping/preview`: what the SP would receive.
    pub async fn preview_mapping(self, sp_id: String, body: MappingPreviewRequest) -> Result<MappingPreview, Failure> {
        send_json(
            self.post(&format!("service-providers/{}/mapping/preview", percent_encode(&sp_id))),
            &body,
        )
        .await
    }

    // Provisioning (SCIM) of a service provider.

    /// `GET /api/v1/service-providers/{id}/provisioning`; `None` when the SP has no target.
    pub async fn provisioning(self, sp_id: String) -> Result<Option<ProvisioningTarget>, Failure> {
        match get(&provisioning_path(&sp_id, "")).await {
            Ok(target) => Ok(Some(target)),
            Err(f) if f.code() == Some(ErrorCode::NotFound) => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// `PUT /api/v1/service-providers/{id}/provisioning`.
    pub async fn put_provisioning(
        self,
        sp_id: String,
        body: PutProvisioningRequest,
    ) -> Result<ProvisioningTarget, Failure> {
        send_json(self.put(&provisioning_path(&sp_id, "")), &body).await
    }

    /// `DELETE /api/v1/service-providers/{id}/provisioning`.
    pub async fn delete_provisioning(self, sp_id: String) -> Result<(), Failure> {
        self.delete(&provisioning_path(&sp_id, "")).await
    }

    /// `POST /api/v1/service-providers/{id}/provisioning/test`.
    pub async fn test_provisioning(self, sp_id: String) -> Result<ProvisioningTest, Failure> {
        self.post_empty(&provisioning_path(&sp_id, "/test")).await
    }

    /// `GET /api/v1/service-providers/{id}/provisioning/sync-preview`: what a sync would do.
    pub async fn sync_preview(self, sp_id: String) -> Result<SyncPreview, Failure> {
        get(&provisioning_path(&sp_id, "/sync-preview")).await
    }

    /// `POST /api/v1/service-providers/{id}/provisioning/sync`.
    pub async fn sync_provisioning(self, sp_id: String) -> Result<SyncResult, Failure> {
        self.post_empty(&provisioning_path(&sp_id, "/sync")).await
    }

    /// `GET /api/v1/service-providers/{id}/provisioning/users`.
    pub async fn provisioning_users(self, sp_id: String, query: PageQuery) -> Result<ProvisioningUserPage, Failure> {
        get(&format!(
            "{}?{}",
            provisioning_path(&sp_id, "/users"),
            query_string(&query)
        ))
        .await
    }

    /// `POST /api/v1/service-providers/{id}/provisioning/users/{user_id}/retry`.
    pub async fn retry_provisioning(self, sp_id: String, user_id: String) -> Result<ProvisioningUser, Failure> {
        self.post_empty(&provisioning_path(
            &sp_id,
            &format!("/users/{}/retry", percent_encode(&user_id)),
        ))
        .await
    }

    // Identity sources.

    /// `GET /api/v1/identity-source-presets`: the kinds of provider, for the chooser.
    pub async fn identity_source_presets(self) -> Result<Vec<SourcePresetInfo>, Failure> {
        get("identity-source-presets").await
    }

    /// `GET /api/v1/identity-sources`.
    pub async fn identity_sources(self) -> Result<Vec<IdentitySource>, Failure> {
        get("identity-sources").await
    }

    /// `POST /api/v1/identity-sources`.
    pub async fn create_identity_source(self, body: CreateIdentitySourceRequest) -> Result<IdentitySource, Failure> {
        send_json(self.post("identity-sources"), &body).await
    }

    /// `PATCH /api/v1/identity-sources/{id}`.
    pub async fn update_identity_source(
        self,
        id: String,
        body: UpdateIdentitySourceRequest,
    ) -> Result<IdentitySource, Failure> {
        send_json(self.patch(&format!("identity-sources/{}", percent_encode(&id))), &body).await
    }

    /// `DELETE /api/v1/identity-sources/{id}`.
    pub async fn delete_identity_source(self, id: String) -> Result<(), Failure> {
        self.delete(&format!("identity-sources/{}", percent_encode(&id))).await
    }

    /// `POST /api/v1/identity-sources/{id}/test`.
    pub async fn test_identity_source(self, id: String) -> Result<ConnectionTest, Failure> {
        self.post_empty(&format!("identity-sources/{}/test", percent_encode(&id)))
            .await
    }

    /// `POST /api/v1/identity-sources/{id}/domains/{domain}/verify`: prove a domain by its
    /// DNS TXT record.
    pub async fn verify_source_domain(self, id: String, domain: String) -> Result<IdentitySource, Failure> {
        self.post_empty(&format!(
            "identity-sources/{}/domains/{}/verify",
            percent_encode(&id),
            percent_encode(&domain)
        ))
        .await
    }

    // Signing keys.

    /// `GET /api/v1/signing-keys`.
    pub async fn signing_keys(self) -> Result<Vec<SigningKey>, Failure> {
        get("signing-keys").await
    }

    /// `POST /api/v1/signing-keys`: publish a next key.
    pub async fn publish_key(self) -> Result<SigningKey, Failure> {
        self.post_empty("signing-keys").await
    }

    /// `POST /api/v1/signing-keys/{id}/promote`.
    pub async fn promote_key(self, id: String) -> Result<SigningKey, Failure> {
        self.post_empty(&format!("signing-keys/{}/promote", percent_encode(&id)))
            .await
    }

    /// `POST /api/v1/signing-keys/{id}/retire`.
    pub async fn retire_key(self, id: String) -> Result<SigningKey, Failure> {
        self.post_empty(&format!("signing-keys/{}/retire", percent_encode(&id)))
            .await
    }

    // End users.

    /// `GET /api/v1/end-users`.
    pub async fn end_users(self, query: EndUserQuery) -> Result<EndUserPage, Failure> {
        get(&format!("end-users?{}", query_string(&query))).await
    }

    /// `POST /api/v1/end-users/{id}/block`.
    pub async fn block_user(self, id: String) -> Result<EndUser, Failure> {
        self.post_empty(&format!("end-users/{}/block", percent_encode(&id)))
            .await
    }

    /// `POST /api/v1/end-users/{id}/unblock`.
    pub async fn unblock_user(self, id: String) -> Result<EndUser, Failure> {
        self.post_empty(&format!("end-users/{}/unblock", percent_encode(&id)))
            .await
    }

    /// `POST /api/v1/end-users/{id}/reset-mfa`.
    pub async fn reset_user_mfa(self, id: String) -> Result<EndUser, Failure> {
        self.post_empty(&format!("end-users/{}/reset-mfa", percent_encode(&id)))
            .await
    }

    // Audit log.

    /// `GET /api/v1/audit`.
    pub async fn audit(self, query: AuditQuery) -> Result<AuditPage, Failure> {
        get(&format!("audit?{}", query_string(&query))).await
    }

    /// The address of `GET /api/v1/audit.csv` for the same filters (a download link).
    pub fn audit_csv_url(self, query: &AuditQuery) -> String {
        url(&format!("audit.csv?{}", query_string(query)))
    }

    // Login debugger.

    /// `GET /api/v1/logins`: login attempts, newest first.
    pub async fn logins(self, query: LoginTraceQuery) -> Result<LoginTracePage, Failure> {
        get(&format!("logins?{}", query_string(&query))).await
    }

    /// `GET /api/v1/logins/{id}`; `None` when there is no such trace (yet: a Test login's
    /// trace is written once its first request has been handled).
    pub async fn login(self, id: String) -> Result<Option<LoginTrace>, Failure> {
        match get(&format!("logins/{}", percent_encode(&id))).await {
            Ok(trace) => Ok(Some(trace)),
            Err(f) if f.code() == Some(ErrorCode::NotFound) => Ok(None),
            Err(f) => Err(f),
        }
    }

    /// The address of `GET /api/v1/logins/{id}/bundle`, the support bundle (a download link).
    pub fn login_bundle_url(self, id: &str) -> String {
        url(&format!("logins/{}/bundle", percent_encode(id)))
    }

    /// `POST /api/v1/service-providers/{id}/test-login`: a single-use link that starts a login
    /// to the SP, and the trace it will write.
    pub async fn test_login(self, sp_id: String) -> Result<TestLoginStart, Failure> {
        self.start_test_login("service-providers", &sp_id).await
    }

    /// `POST /api/v1/identity-sources/{id}/test-login`: a single-use link that signs in at the
    /// source and comes back to Rosetta's "Test login passed" page (no application, no user
    /// recorded, no session), and the trace it will write.
    pub async fn test_source_login(self, source_id: String) -> Result<TestLoginStart, Failure> {
        self.start_test_login("identity-sources", &source_id).await
    }

    /// `POST /api/v1/{collection}/{id}/test-login`.
    async fn start_test_login(self, collection: &str, id: &str) -> Result<TestLoginStart, Failure> {
        self.post_empty(&format!("{collection}/{}/test-login", percent_encode(id)))
            .await
    }

    /// `GET /api/v1/service-providers/{id}/go-live`.
    pub async fn go_live(self, sp_id: String) -> Result<GoLiveChecklist, Failure> {
        get(&format!("service-providers/{}/go-live", percent_encode(&sp_id))).await
    }

    // Members and invitations.

    /// `GET /api/v1/members`.
    pub async fn members(self) -> Result<Vec<Member>, Failure> {
        get("members").await
    }

    /// `DELETE /api/v1/members/{account_id}`.
    pub async fn remove_member(self, account_id: String) -> Result<(), Failure> {
        self.delete(&format!("members/{}", percent_encode(&account_id))).await
    }

    /// `GET /api/v1/invitations`.
    pub async fn invitations(self) -> Result<Vec<Invitation>, Failure> {
        get("invitations").await
    }

    /// `POST /api/v1/invitations`.
    pub async fn invite(self, body: InviteRequest) -> Result<Invitation, Failure> {
        send_json(self.post("invitations"), &body).await
    }

    /// `DELETE /api/v1/invitations/{id}`.
    pub async fn revoke_invitation(self, id: String) -> Result<(), Failure> {
        self.delete(&format!("invitations/{}", percent_encode(&id))).await
    }
}

#[cfg(test)]
mod tests {
    use rosetta_api::AuditOutcome;

    use super::*;

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
        assert_eq!(percent_encode("ada@acme.example"), "ada%40acme.example");
        assert_eq!(percent_encode("x y&z=1"), "x%20y%26z%3D1");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode("-----BEGIN\n"), "-----BEGIN%0A");
    }

    #[test]
    fn queries_leave_out_what_is_not_set() {
        let q = AuditQuery {
            action: Some("service_provider.update".into()),
            outcome: Some(AuditOutcome::Failure),
            page: Some(2),
            per_page: Some(25),
            ..AuditQuery::default()
        };
        let s = query_string(&q);
        for part in [
            "action=service_provider.update",
            "outcome=failure",
            "page=2",
            "per_page=25",
        ] {
            assert!(s.split('&').any(|p| p == part), "{part} in {s}");
        }
        assert!(!s.contains("actor"), "{s}");
        let e = EndUserQuery {
            search: Some("ada lovelace".into()),
            ..EndUserQuery::default()
        };
        assert_eq!(query_string(&e), "search=ada%20lovelace");
    }
}
