//! The authorization request and the callback.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::config::SourceConfig;
use super::error::{OidcError, sanitize_error_code};
use super::id_token;
use super::preset::{self, Groups};
use super::provider::{ClientAuth, FetchError, OidcRp, Provider, read_capped, send_retrying_once};
use crate::credentials::constant_time_eq;

/// What the callback needs from the authorization request; the caller stores it under
/// `state` for the login's lifetime (serde, a few hundred bytes).
///
/// It carries the PKCE verifier and the nonce, so `Debug` shows neither.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuth {
    /// The `state` sent to the provider (URL-safe base64, 256 bits).
    pub state: String,
    /// The `nonce` the ID token must echo.
    pub nonce: String,
    /// The PKCE S256 code verifier.
    pub pkce_verifier: String,
    /// The redirect URI sent, repeated at the token endpoint.
    pub redirect_uri: String,
    /// The issuer the login was started against.
    pub issuer: String,
}

impl std::fmt::Debug for PendingAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuth")
            .field("redirect_uri", &self.redirect_uri)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl PendingAuth {
    /// A new login's secrets: `state`, `nonce` and the PKCE verifier, each a
    /// [`link_token`](crate::credentials::link_token) (256 bits from the operating system's
    /// generator, URL-safe base64: 43 characters, as RFC 7636 asks of a verifier).
    fn fresh(redirect_uri: &str, issuer: &str) -> Self {
        use crate::credentials::link_token;
        Self {
            state: link_token(),
            nonce: link_token(),
            pkce_verifier: link_token(),
            redirect_uri: redirect_uri.to_owned(),
            issuer: issuer.to_owned(),
        }
    }
}

/// The authorization request (OpenID Connect Core 3.1.2.1): code flow, PKCE S256 (RFC 7636),
/// `state` and `nonce`, with the parameters in the order openidconnect writes them.
///
/// Written here rather than through an openidconnect client, which would be built from a
/// clone of the whole discovery document on every login; the test
/// `authorization_url_is_the_one_openidconnect_writes` holds the two to the same URL.
fn authorization_url(endpoint: &Url, config: &SourceConfig, pending: &PendingAuth) -> Url {
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.pkce_verifier.as_bytes()));
    let mut scope = String::from("openid");
    for extra in config.scopes.iter().filter(|s| s.as_str() != "openid") {
        scope.push(' ');
        scope.push_str(extra);
    }
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("state", &pending.state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("redirect_uri", &pending.redirect_uri)
        .append_pair("scope", &scope)
        .append_pair("nonce", &pending.nonce);
    url
}

/// The query parameters of the redirect back from the provider.
#[derive(Clone, Default, Deserialize)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` echoed by the provider.
    pub state: Option<String>,
    /// RFC 9207 issuer identifier.
    pub iss: Option<String>,
    /// OAuth error code when the provider refused.
    pub error: Option<String>,
    /// Free text from the provider; never shown or logged by Rosetta.
    pub error_description: Option<String>,
}

impl std::fmt::Debug for CallbackParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackParams")
            .field("has_code", &self.code.is_some())
            .field("iss", &self.iss)
            .field("error", &self.error.as_deref().map(sanitize_error_code))
            .finish_non_exhaustive()
    }
}

/// The person the provider vouched for. Accounts are keyed on (`issuer`, `subject`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedIdentity {
    /// The provider's issuer identifier.
    pub issuer: String,
    /// The provider's stable subject identifier.
    pub subject: String,
    /// A verified email on an allowed domain, as the provider spelled it.
    pub email: String,
    /// `given_name`, when sent.
    pub given_name: Option<String>,
    /// `family_name`, when sent.
    pub family_name: Option<String>,
    /// `name`, when sent.
    pub name: Option<String>,
    /// Authentication methods (`amr`), when sent.
    pub amr: Vec<String>,
    /// Authentication context class (`acr`), when sent.
    pub acr: Option<String>,
    /// When the person authenticated at the provider (`auth_time`, Unix seconds), when the
    /// ID token says; never taken from userinfo.
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// The ID token's and userinfo's claims, without the protocol ones and bounded
    /// ([`snapshot`]): what mapping rules read.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    /// The person's groups from the source's groups claim (Entra: or Microsoft Graph);
    /// `None` when unknown (an overage not fetched, an unreadable claim), so that nothing
    /// decided by groups changes on this login.
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// Why the groups are unknown, when they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_problem: Option<String>,
}

impl OidcRp {
    /// Builds the authorization URL (code flow, PKCE S256, fresh `state` and `nonce`) and the
    /// pending data the callback will need.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub async fn start_login(
        &self,
        config: &SourceConfig,
        redirect_uri: &str,
    ) -> Result<(Url, PendingAuth), OidcError> {
        Url::parse(redirect_uri).map_err(|_| OidcError::InvalidConfig("the redirect URI is not a URL"))?;
        let provider = self.provider(config).await?;
        let pending = PendingAuth::fresh(redirect_uri, &config.issuer);
        let url = authorization_url(provider.metadata.authorization_endpoint().url(), config, &pending);
        Ok((url, pending))
    }

    /// Like [`Self::start_login`], asking also for a refresh token: `offline_access` (when
    /// discovery's `scopes_supported` allows it) with `prompt=consent` (OpenID Connect Core
    /// §11: the provider issues one only with consent),
    /// Google's `access_type=offline` (other providers ignore it, as OAuth asks of unknown
    /// parameters), and `login_hint` so the person is not asked who they are again.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub async fn start_login_for_grant(
        &self,
        config: &SourceConfig,
        redirect_uri: &str,
        login_hint: &str,
    ) -> Result<(Url, PendingAuth), OidcError> {
        let mut config = config.clone();
        // The scope only where discovery allows it: Google lists `scopes_supported` without
        // it and refuses unknown scopes (its refresh tokens come of `access_type=offline`).
        let provider = self.provider(&config).await?;
        let offline_scope = provider
            .metadata
            .scopes_supported()
            .is_none_or(|scopes| scopes.iter().any(|s| s.as_str() == "offline_access"));
        if offline_scope && !config.scopes.iter().any(|s| s == "offline_access") {
            config.scopes.push("offline_access".into());
        }
        let (mut url, pending) = self.start_login(&config, redirect_uri).await?;
        url.query_pairs_mut()
            .append_pair("prompt", "consent")
            .append_pair("access_type", "offline")
            .append_pair("login_hint", login_hint);
        Ok((url, pending))
    }

    /// Validates the callback, redeems the code and returns who logged in.
    ///
    /// The caller has already taken `pending` out of the session store (single use, bound to
    /// the browser); this checks that the callback's `state` is that one.
    pub async fn finish_login(
        &self,
        config: &SourceConfig,
        pending: &PendingAuth,
        params: &CallbackParams,
    ) -> Result<VerifiedIdentity, OidcError> {
        self.finish_login_with_grant(config, pending, params)
            .await
            .map(|(identity, _)| identity)
    }

    /// [`Self::finish_login`], with the refresh token the provider issued, if any (asked
    /// for with [`Self::start_login_for_grant`]).
    #[tracing::instrument(name = "finish_login", skip_all, fields(issuer = %config.issuer))]
    pub async fn finish_login_with_grant(
        &self,
        config: &SourceConfig,
        pending: &PendingAuth,
        params: &CallbackParams,
    ) -> Result<(VerifiedIdentity, Option<SecretString>), OidcError> {
        match &params.state {
            Some(state) if constant_time_eq(state.as_bytes(), pending.state.as_bytes()) => {}
            _ => return Err(OidcError::StateMismatch),
        }
        if pending.issuer != config.issuer {
            return Err(OidcError::PendingIssuerMismatch);
        }
        let provider = self.provider(config).await?;
        // RFC 9207, before looking at `error`: error responses are mix-up targets too.
        match &params.iss {
            Some(iss) if *iss == config.issuer => {}
            Some(_) => return Err(OidcError::ResponseIssuerMismatch),
            None if provider.advertises_response_iss() => return Err(OidcError::ResponseIssuerMissing),
            None => {}
        }
        if let Some(error) = &params.error {
            let mapped = OidcError::from_authorization_error(error);
            tracing::info!(code = mapped.code(), "provider refused the authorization request");
            return Err(mapped);
        }
        let code = params
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(OidcError::MissingCode)?;

        let tokens = self.exchange_code(config, &provider, pending, code).await?;
        let validated = id_token::validate(
            self,
            config,
            provider.clone(),
            &tokens.id_token,
            &pending.nonce,
            Utc::now(),
        )
        .await?;
        let mut claims = validated.claims;
        if config.fetch_userinfo {
            let access_token = tokens.access_token.as_deref().ok_or(OidcError::TokenResponseInvalid)?;
            let userinfo = self.userinfo(&provider, access_token, &validated.subject).await?;
            // Userinfo is fresher for profile claims; protocol and authentication-event
            // claims (how and when the person logged in) belong to the signed ID token.
            for (k, v) in userinfo {
                if !matches!(
                    k.as_str(),
                    "iss" | "aud" | "sub" | "exp" | "iat" | "nbf" | "nonce" | "azp" | "amr" | "acr" | "auth_time"
                ) {
                    claims.insert(k, v);
                }
            }
        }
        let (mut identity, groups) = identity_from_claims(config, validated.subject, &claims)?;
        match groups {
            Groups::Listed(list) => identity.groups = Some(list),
            Groups::Unreadable(why) => identity.groups_problem = Some(why.to_owned()),
            // A failure leaves the groups unknown (reported), not the person locked out.
            Groups::Overage { object_id } if config.checks.fetch_group_overage => {
                match self.graph_member_groups(config, &provider, &object_id).await {
                    Ok(groups) => identity.groups = Some(groups),
                    Err(e) => identity.groups_problem = Some(e.to_string()),
                }
            }
            Groups::Overage { .. } => {
                identity.groups_problem = Some(
                    "a group overage: the source does not allow Rosetta to read groups from Microsoft Graph".into(),
                );
            }
        }
        tracing::debug!("upstream login verified");
        Ok((identity, tokens.refresh_token.map(SecretString::from)))
    }

    #[tracing::instrument(skip_all)]
    async fn exchange_code(
        &self,
        config: &SourceConfig,
        provider: &Provider,
        pending: &PendingAuth,
        code: &str,
    ) -> Result<Tokens, OidcError> {
        let form: Vec<(&str, &str)> = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &pending.redirect_uri),
            ("code_verifier", &pending.pkce_verifier),
        ];
        let (status, json) = self.token_post(config, provider, form).await?;
        if !status.is_success() {
            let error = json.get("error").and_then(Value::as_str).unwrap_or("");
            let error = sanitize_error_code(error);
            tracing::info!(status = status.as_u16(), error = %error, "token endpoint refused the code");
            return Err(OidcError::TokenEndpointRejected { error });
        }
        match json.get("token_type").and_then(Value::as_str) {
            Some(t) if t.eq_ignore_ascii_case("bearer") => {}
            _ => return Err(OidcError::TokenResponseInvalid),
        }
        let id_token = match json.get("id_token") {
            Some(Value::String(t)) => t.clone(),
            _ => return Err(OidcError::MissingIdToken),
        };
        let access_token = json.get("access_token").and_then(Value::as_str).map(str::to_owned);
        let refresh_token = refresh_token_of(&json);
        Ok(Tokens {
            id_token,
            access_token,
            refresh_token,
        })
    }

    /// A POST to the token endpoint with the client's authentication: the status and the
    /// JSON object answered.
    async fn token_post(
        &self,
        config: &SourceConfig,
        provider: &Provider,
        mut form: Vec<(&str, &str)>,
    ) -> Result<(reqwest::StatusCode, Map<String, Value>), OidcError> {
        let token_url = provider
            .metadata
            .token_endpoint()
            .ok_or(OidcError::DiscoveryInvalid)?
            .url();
        self.require_allowed(token_url)?;
        let secret = config.client_secret.expose_secret();
        let mut request = self
            .http
            .post(token_url.as_str())
            .header(reqwest::header::ACCEPT, "application/json");
        match provider.client_auth {
            ClientAuth::Basic => {
                // RFC 6749 2.3.1: both halves are form-encoded before base64.
                let user: String = url::form_urlencoded::byte_serialize(config.client_id.as_bytes()).collect();
                let pass: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
                let basic = STANDARD.encode(format!("{user}:{pass}"));
                request = request.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
            }
            ClientAuth::Post => {
                form.push(("client_id", &config.client_id));
                form.push(("client_secret", secret));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = send_retrying_once(
            request
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body),
        )
        .await
        .map_err(|e| {
            FetchError::from(&e).into_error(OidcError::TokenEndpointUnreachable, |_| {
                OidcError::TokenEndpointUnreachable
            })
        })?;
        let status = response.status();
        let bytes = read_capped(response, self.settings.max_body_bytes)
            .await
            .map_err(|_| OidcError::TokenEndpointUnreachable)?;
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => Ok((status, m)),
            // A failing server's HTML page is an outage, not a refusal.
            _ if status.is_server_error() => Err(OidcError::TokenEndpointUnreachable),
            _ => Err(OidcError::TokenResponseInvalid),
        }
    }

    /// Redeems a refresh token (RFC 6749 §6): whether the provider still knows the user.
    /// `Ok` with the new refresh token when the provider rotates it; `invalid_grant`
    /// ([`OidcError::TokenEndpointRejected`]) when it refuses (account disabled or deleted,
    /// consent or sessions revoked); [`OidcError::TokenEndpointUnreachable`] for a network
    /// failure or a 5xx, which says nothing about the user.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub async fn refresh(
        &self,
        config: &SourceConfig,
        refresh_token: &SecretString,
    ) -> Result<Option<SecretString>, OidcError> {
        let provider = self.provider(config).await?;
        let form: Vec<(&str, &str)> = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose_secret()),
        ];
        let (status, json) = self.token_post(config, &provider, form).await?;
        if status.is_server_error() {
            return Err(OidcError::TokenEndpointUnreachable);
        }
        if !status.is_success() {
            let error = sanitize_error_code(json.get("error").and_then(Value::as_str).unwrap_or(""));
            tracing::info!(status = status.as_u16(), error = %error, "token endpoint refused the refresh token");
            return Err(OidcError::TokenEndpointRejected { error });
        }
        Ok(refresh_token_of(&json).map(SecretString::from))
    }

    #[tracing::instrument(skip_all)]
    async fn userinfo(
        &self,
        provider: &Provider,
        access_token: &str,
        subject: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let url = provider
            .metadata
            .userinfo_endpoint()
            .ok_or(OidcError::UserinfoUnreachable)?
            .url();
        self.require_allowed(url)?;
        let response = send_retrying_once(
            self.http
                .get(url.as_str())
                .bearer_auth(access_token)
                .header(reqwest::header::ACCEPT, "application/json"),
        )
        .await
        .map_err(|e| {
            FetchError::from(&e).into_error(OidcError::UserinfoUnreachable, |_| OidcError::UserinfoUnreachable)
        })?;
        if !response.status().is_success() {
            return Err(OidcError::UserinfoUnreachable);
        }
        let bytes = read_capped(response, self.settings.max_body_bytes)
            .await
            .map_err(|_| OidcError::UserinfoUnreachable)?;
        let map = match serde_json::from_slice(&bytes) {
            Ok(Value::Object(m)) => m,
            _ => return Err(OidcError::UserinfoInvalid),
        };
        match map.get("sub") {
            Some(Value::String(s)) if s == subject => Ok(map),
            Some(Value::String(_)) => Err(OidcError::UserinfoSubjectMismatch),
            _ => Err(OidcError::UserinfoInvalid),
        }
    }
}

impl OidcRp {
    /// Entra ID's group overage: the user's groups (object IDs, as the `groups` claim carries
    /// them) from Microsoft Graph's `getMemberGroups`, with an app token the source's own
    /// credentials get from its token endpoint (client credentials, scope
    /// `https://graph.microsoft.com/.default`; the app needs `GroupMember.Read.All`).
    #[tracing::instrument(skip_all)]
    async fn graph_member_groups(
        &self,
        config: &SourceConfig,
        provider: &Provider,
        object_id: &str,
    ) -> Result<Vec<String>, OidcError> {
        let form = vec![
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ];
        let (status, json) = self.token_post(config, provider, form).await?;
        let token = match json.get("access_token").and_then(Value::as_str) {
            Some(t) if status.is_success() && !t.is_empty() => t.to_owned(),
            _ => {
                let error = sanitize_error_code(json.get("error").and_then(Value::as_str).unwrap_or(""));
                tracing::info!(status = status.as_u16(), error = %error, "no Graph token");
                return Err(OidcError::GroupsUnavailable(
                    "the provider refused an application token: check the client's credentials",
                ));
            }
        };
        let mut url = Url::parse(&self.settings.graph_url)
            .map_err(|_| OidcError::GroupsUnavailable("Microsoft Graph's URL is not valid"))?;
        url.path_segments_mut()
            .map_err(|()| OidcError::GroupsUnavailable("Microsoft Graph's URL is not valid"))?
            .pop_if_empty()
            .extend(["v1.0", "users", object_id, "getMemberGroups"]);
        self.require_allowed(&url)?;
        let response = self
            .http
            .post(url.as_str())
            .bearer_auth(&token)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&serde_json::json!({"securityEnabledOnly": false}))
            .send()
            .await
            .map_err(|_| OidcError::GroupsUnavailable("Microsoft Graph could not be reached"))?;
        let status = response.status();
        let bytes = read_capped(response, self.settings.max_body_bytes)
            .await
            .map_err(|_| OidcError::GroupsUnavailable("Microsoft Graph's answer is too large"))?;
        match status.as_u16() {
            200 => {}
            401 | 403 => {
                return Err(OidcError::GroupsUnavailable(
                    "Microsoft Graph refused: the app needs the GroupMember.Read.All application permission, with \
                     admin consent",
                ));
            }
            404 => return Err(OidcError::GroupsUnavailable("Microsoft Graph does not know this user")),
            _ => return Err(OidcError::GroupsUnavailable("Microsoft Graph failed")),
        }
        let ids = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v.get("value").and_then(Value::as_array).cloned())
            .ok_or(OidcError::GroupsUnavailable(
                "Microsoft Graph's answer is not a list of groups",
            ))?;
        let groups: Vec<String> = ids.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        if groups.len() > preset::MAX_GROUPS {
            return Err(OidcError::GroupsUnavailable(
                "more groups than Rosetta keeps for a person",
            ));
        }
        Ok(groups)
    }
}

/// The token endpoint's answer, reduced to what Rosetta uses.
struct Tokens {
    id_token: String,
    access_token: Option<String>,
    refresh_token: Option<String>,
}

/// The token response's refresh token, when it carries a usable one.
fn refresh_token_of(json: &Map<String, Value>) -> Option<String> {
    json.get("refresh_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty() && t.len() <= 8192)
        .map(str::to_owned)
}

/// Claims that say how the token was made, not who the person is: left out of the snapshot.
const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "azp",
    "at_hash",
    "c_hash",
    "s_hash",
    "sid",
    "jti",
    "auth_time",
    "_claim_names",
    "_claim_sources",
    "uti",
    "rh",
    "aio",
    "xms_tcdt",
];
/// At most this many bytes of claims are kept for a person (serialised); larger claims are
/// left out, largest first, and named under `_rosetta_dropped`.
pub const MAX_CLAIMS_BYTES: usize = 16 * 1024;

/// The claims mapping rules may read: the protocol ones left out, and bounded in size.
pub(crate) fn snapshot(claims: &Map<String, Value>) -> Map<String, Value> {
    let mut kept: Map<String, Value> = claims
        .iter()
        .filter(|(k, _)| !PROTOCOL_CLAIMS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let size = |m: &Map<String, Value>| serde_json::to_vec(m).map_or(usize::MAX, |v| v.len());
    if size(&kept) <= MAX_CLAIMS_BYTES {
        return kept;
    }
    let mut by_size: Vec<(String, usize)> = kept
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_vec(v).map_or(usize::MAX, |b| b.len())))
        .collect();
    by_size.sort_by_key(|b| std::cmp::Reverse(b.1));
    let mut dropped = Vec::new();
    for (name, _) in by_size {
        if size(&kept) + 64 + dropped.iter().map(|d: &String| d.len() + 3).sum::<usize>() <= MAX_CLAIMS_BYTES {
            break;
        }
        kept.remove(&name);
        dropped.push(name);
    }
    kept.insert("_rosetta_dropped".into(), Value::from(dropped));
    kept
}

/// Applies the source's preset rules (the email and where it comes from, `hd`, `tid`,
/// guests) and builds the identity; the groups as the token states them.
pub(crate) fn identity_from_claims(
    config: &SourceConfig,
    subject: String,
    claims: &Map<String, Value>,
) -> Result<(VerifiedIdentity, Groups), OidcError> {
    let email = preset::email(&config.checks, claims, &config.allowed_email_domains)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    let amr = match claims.get("amr") {
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    // A JSON number of seconds; a fraction is cut (RFC 7519 NumericDate allows one).
    let auth_time = claims.get("auth_time").and_then(|t| match t {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        _ => None,
    });
    let groups = preset::groups(&config.checks, claims);
    Ok((
        VerifiedIdentity {
            issuer: config.issuer.clone(),
            subject,
            email,
            given_name: text("given_name"),
            family_name: text("family_name"),
            name: text("name"),
            amr,
            acr: text("acr"),
            auth_time,
            claims: snapshot(claims),
            groups: None,
            groups_problem: None,
        },
        groups,
    ))
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use serde_json::json;

    use super::*;

    #[test]
    fn pending_debug_hides_secrets() {
        let pending = PendingAuth {
            state: "STATE-VALUE".into(),
            nonce: "NONCE-VALUE".into(),
            pkce_verifier: "VERIFIER-VALUE".into(),
            redirect_uri: "https://acme.rosetta.example/oidc/callback/x".into(),
            issuer: "https://op.example".into(),
        };
        let printed = format!("{pending:?}");
        assert!(!printed.contains("VERIFIER-VALUE"));
        assert!(!printed.contains("NONCE-VALUE"));
        assert!(!printed.contains("STATE-VALUE"));
        let params = CallbackParams {
            code: Some("CODE-VALUE".into()),
            ..CallbackParams::default()
        };
        assert!(!format!("{params:?}").contains("CODE-VALUE"));
    }

    fn config() -> SourceConfig {
        SourceConfig::new("https://op.example", "rosetta", SecretString::from("s")).with_allowed_domains(["corp.com"])
    }

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn email_rules() {
        let ok = claims(json!({"email": "a@corp.com", "email_verified": true, "amr": ["pwd", "mfa"], "acr": "x"}));
        let identity = identity_from_claims(&config(), "s1".into(), &ok).map(|(i, _)| i);
        assert!(matches!(&identity, Ok(i) if i.email == "a@corp.com" && i.amr == ["pwd", "mfa"] && i.subject == "s1"));
        let cases = [
            (json!({"email_verified": true}), OidcError::EmailMissing),
            (json!({"email": "a@corp.com"}), OidcError::EmailNotVerified),
            (
                json!({"email": "a@corp.com", "email_verified": false}),
                OidcError::EmailNotVerified,
            ),
            (
                json!({"email": "a@corp.com", "email_verified": "true"}),
                OidcError::EmailNotVerified,
            ),
            (
                json!({"email": "a@corp.com.evil.com", "email_verified": true}),
                OidcError::EmailDomainNotAllowed,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(
                identity_from_claims(&config(), "s1".into(), &claims(value)).map(|(i, _)| i),
                Err(expected)
            );
        }
    }

    #[test]
    fn fresh_secrets_are_256_bit_url_safe_and_unrelated() {
        let a = PendingAuth::fresh("https://acme.rosetta.example/oidc/callback/x", "https://op.example");
        let b = PendingAuth::fresh("https://acme.rosetta.example/oidc/callback/x", "https://op.example");
        for secret in [&a.state, &a.nonce, &a.pkce_verifier] {
            assert_eq!(secret.len(), 43, "32 bytes in unpadded base64");
            assert!(
                secret
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            );
            let decoded = URL_SAFE_NO_PAD.decode(secret).unwrap();
            assert_eq!(decoded.len(), 32);
        }
        // Three independent secrets, none a copy of another, none repeated.
        let all = [
            &a.state,
            &a.nonce,
            &a.pkce_verifier,
            &b.state,
            &b.nonce,
            &b.pkce_verifier,
        ];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(a.redirect_uri, "https://acme.rosetta.example/oidc/callback/x");
        assert_eq!(a.issuer, "https://op.example");
    }

    #[test]
    fn authorization_url_is_the_one_openidconnect_writes() {
        use openidconnect::core::{CoreAuthenticationFlow, CoreClient};
        use openidconnect::{
            AuthUrl, ClientId, CsrfToken, IssuerUrl, JsonWebKeySet, Nonce, PkceCodeChallenge, PkceCodeVerifier,
            RedirectUrl, Scope,
        };
        let pending = PendingAuth::fresh(
            "https://acme.rosetta.example/oidc/callback/corp sso",
            "https://op.example",
        );
        // Scopes as an admin may type them: `openid` again, characters that need encoding.
        let mut config = config();
        config.scopes = vec!["openid".into(), "email".into(), "profile".into(), "groups:read".into()];
        config.client_id = "rosetta client/1&2".into();
        // An endpoint that already has a query keeps it, as openidconnect keeps it.
        for endpoint in [
            "https://op.example/authorize",
            "https://op.example/oauth2/v1/authorize?tenant=a+b",
        ] {
            let client = CoreClient::new(
                ClientId::new(config.client_id.clone()),
                IssuerUrl::new("https://op.example".into()).unwrap(),
                JsonWebKeySet::default(),
            )
            .set_auth_uri(AuthUrl::new(endpoint.into()).unwrap())
            .set_redirect_uri(RedirectUrl::new(pending.redirect_uri.clone()).unwrap());
            let (state, nonce) = (pending.state.clone(), pending.nonce.clone());
            let (expected, _, _) = client
                .authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state),
                    move || Nonce::new(nonce),
                )
                .add_scopes(
                    config
                        .scopes
                        .iter()
                        .filter(|s| s.as_str() != "openid")
                        .map(|s| Scope::new(s.clone())),
                )
                .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
                    pending.pkce_verifier.clone(),
                )))
                .url();
            let ours = authorization_url(&Url::parse(endpoint).unwrap(), &config, &pending);
            assert_eq!(ours.as_str(), expected.as_str());
        }
        // And what it says, read back.
        let url = authorization_url(&Url::parse("https://op.example/authorize").unwrap(), &config, &pending);
        let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["scope"], "openid email profile groups:read");
        assert_eq!(q["client_id"], "rosetta client/1&2");
        assert_eq!(
            q["code_challenge"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(pending.pkce_verifier.as_bytes()))
        );
    }
}
