//! Discovery, the JWKS and the shared HTTP client, cached per issuer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{AdditionalProviderMetadata, JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyUse, JwsSigningAlgorithm};
use serde::{Deserialize, Serialize};
use url::Url;

use super::config::{IdTokenAlg, SourceConfig};
use super::error::OidcError;
use crate::outbound::{self, OutboundError};

/// Discovery fields openidconnect's core metadata does not model.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ExtraProviderMetadata {
    /// RFC 9207: the provider puts `iss` in every authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for ExtraProviderMetadata {}

/// The provider metadata type Rosetta reads.
pub type ProviderMetadata = openidconnect::ProviderMetadata<
    ExtraProviderMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the form-encoded client ID and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

/// A discovered provider: its metadata and its current key set.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The parsed discovery document; its issuer equals the configured one.
    pub metadata: ProviderMetadata,
    /// The keys last fetched from `jwks_uri`.
    pub jwks: CoreJsonWebKeySet,
    /// The client authentication method chosen from discovery.
    pub client_auth: ClientAuth,
    fetched_at: Instant,
}

impl Provider {
    /// Whether the provider advertises RFC 9207's `iss` authorization response parameter.
    pub fn advertises_response_iss(&self) -> bool {
        self.metadata
            .additional_metadata()
            .authorization_response_iss_parameter_supported
            .unwrap_or(false)
    }
}

/// What "test connection" found, for the admin console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionReport {
    /// The issuer the provider confirmed.
    pub issuer: String,
    /// Number of published keys usable with the source's allowed algorithms.
    pub usable_keys: usize,
    /// Whether the provider advertises RFC 9207.
    pub response_iss_supported: bool,
    /// Whether a userinfo endpoint is published.
    pub userinfo_endpoint: bool,
}

/// Timeouts, cache lifetime and refetch limit of the relying party.
#[derive(Debug, Clone)]
pub struct RpSettings {
    /// Per-request timeout of the shared HTTP client.
    pub http_timeout: Duration,
    /// Connect timeout of the shared HTTP client.
    pub connect_timeout: Duration,
    /// How long a discovery document and its JWKS stay cached.
    pub discovery_ttl: Duration,
    /// Minimum interval between two JWKS refetches caused by an unknown `kid`.
    pub jwks_refetch_interval: Duration,
    /// Largest response body read from a provider.
    pub max_body_bytes: usize,
    /// Which addresses requests may reach (`outbound`).
    pub policy: outbound::Policy,
    /// Microsoft Graph's base URL (Entra ID group overages).
    pub graph_url: String,
}

impl Default for RpSettings {
    fn default() -> Self {
        Self {
            http_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            discovery_ttl: Duration::from_secs(3600),
            jwks_refetch_interval: Duration::from_secs(60),
            max_body_bytes: 512 * 1024,
            policy: outbound::Policy::default(),
            graph_url: "https://graph.microsoft.com".into(),
        }
    }
}

#[derive(Default)]
struct Slot {
    current: Option<Arc<Provider>>,
    last_refetch: Option<Instant>,
    /// After a transient refresh failure the stale document is served until then.
    retry_after: Option<Instant>,
}

/// How long a stale document is served after a failed refresh before trying again.
const STALE_RETRY: Duration = Duration::from_secs(60);

/// The relying party: one per process, shared by every tenant.
///
/// It owns its client of the `outbound` module (only allowed addresses, resolved then pinned;
/// timeouts; no redirects: a provider cannot bounce the token request, with its client
/// secret, to another host) and the per-issuer cache. The
/// per-issuer async lock makes concurrent logins wait for one discovery fetch.
pub struct OidcRp {
    pub(crate) http: reqwest::Client,
    pub(crate) settings: RpSettings,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
}

impl std::fmt::Debug for OidcRp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcRp")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl OidcRp {
    /// Builds the relying party with default settings.
    pub fn new() -> Result<Self, OidcError> {
        Self::with_settings(RpSettings::default())
    }

    /// Builds the relying party with the given settings.
    pub fn with_settings(settings: RpSettings) -> Result<Self, OidcError> {
        let http = outbound::client(&settings.policy, settings.http_timeout, settings.connect_timeout)
            .map_err(|_| OidcError::HttpClient)?;
        Ok(Self {
            http,
            settings,
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// Runs discovery and the JWKS fetch without the cache, for the admin console.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub async fn test_connection(&self, config: &SourceConfig) -> Result<ConnectionReport, OidcError> {
        let provider = self.fetch_provider(config).await?;
        Ok(ConnectionReport {
            issuer: provider.metadata.issuer().as_str().to_owned(),
            usable_keys: usable_key_count(&provider.jwks, &config.allowed_algs),
            response_iss_supported: provider.advertises_response_iss(),
            userinfo_endpoint: provider.metadata.userinfo_endpoint().is_some(),
        })
    }

    /// The provider for this source, from the cache when fresh. (No span of its own: it runs
    /// twice per login and is a cache hit nearly always; fetching has one.)
    pub(crate) async fn provider(&self, config: &SourceConfig) -> Result<Arc<Provider>, OidcError> {
        let slot = self.slot(&config.issuer);
        let mut slot = slot.lock().await;
        if let Some(current) = &slot.current {
            let fresh = current.fetched_at.elapsed() < self.settings.discovery_ttl;
            let backing_off = slot.retry_after.is_some_and(|t| Instant::now() < t);
            if fresh || backing_off {
                return Ok(current.clone());
            }
        }
        match self.fetch_provider(config).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                slot.current = Some(fresh.clone());
                slot.retry_after = None;
                Ok(fresh)
            }
            // A provider briefly down should not stop logins that the cached document and
            // keys can still serve; a provider that now says something else must.
            Err(e) if e.is_transient() && slot.current.is_some() => {
                tracing::warn!(code = e.code(), "discovery refresh failed; serving the cached document");
                slot.retry_after = Some(Instant::now() + STALE_RETRY);
                slot.current.clone().ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// The provider after an unknown `kid`: its JWKS refetched if the per-issuer limit allows
    /// (at most once per refetch interval), else the cached one, which a concurrent login
    /// may just have refreshed. A failed refetch leaves the cached keys in place.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    pub(crate) async fn refetch_jwks(&self, config: &SourceConfig) -> Result<Arc<Provider>, OidcError> {
        let slot = self.slot(&config.issuer);
        let mut slot = slot.lock().await;
        let Some(current) = slot.current.clone() else {
            return self.fetch_provider(config).await.map(Arc::new);
        };
        if let Some(last) = slot.last_refetch
            && last.elapsed() < self.settings.jwks_refetch_interval
        {
            tracing::info!("unknown signing key; JWKS refetch rate-limited");
            return Ok(current);
        }
        slot.last_refetch = Some(Instant::now());
        tracing::info!("unknown signing key; refetching JWKS");
        let jwks = self.fetch_jwks(&current.metadata, &config.allowed_algs).await?;
        let updated = Arc::new(Provider {
            jwks,
            ..(*current).clone()
        });
        slot.current = Some(updated.clone());
        Ok(updated)
    }

    fn slot(&self, issuer: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        // The map only holds handles, so a panic elsewhere cannot leave it inconsistent.
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(issuer.to_owned()).or_default().clone()
    }

    /// Discovery and the JWKS, fetched.
    #[tracing::instrument(skip_all, fields(issuer = %config.issuer))]
    async fn fetch_provider(&self, config: &SourceConfig) -> Result<Provider, OidcError> {
        let issuer = Url::parse(&config.issuer).map_err(|_| OidcError::InvalidConfig("the issuer is not a URL"))?;
        self.require_allowed(&issuer)?;
        // Discovery appends a path to the issuer; a query or fragment would end up elsewhere.
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(OidcError::InvalidConfig("the issuer must not have a query or fragment"));
        }
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            config.issuer.trim_end_matches('/')
        );
        let body = self
            .get(&discovery_url)
            .await
            .map_err(|e| e.into_error(OidcError::DiscoveryUnreachable, OidcError::DiscoveryStatus))?;
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|_| OidcError::DiscoveryNotJson)?;
        let object = value.as_object().ok_or(OidcError::DiscoveryNotJson)?;
        // Checked on the raw JSON first so that a mismatch is reported as such even when the
        // rest of the document would not parse.
        match object.get("issuer").and_then(|v| v.as_str()) {
            Some(found) if found == config.issuer => {}
            Some(_) => return Err(OidcError::DiscoveryIssuerMismatch),
            None => return Err(OidcError::DiscoveryInvalid),
        }
        if !object.get("jwks_uri").is_some_and(|v| v.is_string()) {
            return Err(OidcError::JwksMissing);
        }
        let metadata: ProviderMetadata = serde_json::from_value(value).map_err(|_| OidcError::DiscoveryInvalid)?;
        if metadata.issuer().as_str() != config.issuer {
            return Err(OidcError::DiscoveryIssuerMismatch);
        }
        self.require_allowed(metadata.authorization_endpoint().url())?;
        let token_endpoint = metadata.token_endpoint().ok_or(OidcError::DiscoveryInvalid)?;
        self.require_allowed(token_endpoint.url())?;
        if let Some(userinfo) = metadata.userinfo_endpoint() {
            self.require_allowed(userinfo.url())?;
        }
        let client_auth = choose_client_auth(metadata.token_endpoint_auth_methods_supported())?;
        let jwks = self.fetch_jwks(&metadata, &config.allowed_algs).await?;
        Ok(Provider {
            metadata,
            jwks,
            client_auth,
            fetched_at: Instant::now(),
        })
    }

    async fn fetch_jwks(
        &self,
        metadata: &ProviderMetadata,
        allowed: &[IdTokenAlg],
    ) -> Result<CoreJsonWebKeySet, OidcError> {
        let url = metadata.jwks_uri().url();
        self.require_allowed(url)?;
        let body = self
            .get(url.as_str())
            .await
            .map_err(|e| e.into_error(OidcError::JwksUnreachable, |_| OidcError::JwksUnreachable))?;
        let jwks: CoreJsonWebKeySet = serde_json::from_slice(&body).map_err(|_| OidcError::JwksInvalid)?;
        // With only HMAC algorithms allowed the JWKS is legitimately unused.
        if usable_key_count(&jwks, allowed) == 0 && allowed.iter().any(|a| !a.is_symmetric()) {
            return Err(OidcError::JwksEmpty);
        }
        Ok(jwks)
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let response = send_retrying_once(self.http.get(url).header(reqwest::header::ACCEPT, "application/json"))
            .await
            .map_err(|e| FetchError::from(&e))?;
        if !response.status().is_success() {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        read_capped(response, self.settings.max_body_bytes)
            .await
            .map_err(|_| FetchError::Unreachable)
    }

    /// The outbound policy's check of a provider URL, before any request to it.
    pub(crate) fn require_allowed(&self, url: &Url) -> Result<(), OidcError> {
        self.settings.policy.check_url(url).map_err(|e| match e {
            OutboundError::Forbidden { .. } => OidcError::AddressNotAllowed,
            _ => OidcError::InsecureEndpoint,
        })
    }
}

/// How a request to a provider failed.
pub(crate) enum FetchError {
    /// No answer (connection, TLS, timeout).
    Unreachable,
    /// The name resolves to an address outbound requests may not reach.
    NotAllowed,
    /// An answer other than 2xx.
    Status(u16),
}

impl From<&reqwest::Error> for FetchError {
    fn from(e: &reqwest::Error) -> Self {
        match outbound::classify(e) {
            OutboundError::Forbidden { .. } => Self::NotAllowed,
            _ => Self::Unreachable,
        }
    }
}

impl FetchError {
    pub(crate) fn into_error(self, unreachable: OidcError, status: impl FnOnce(u16) -> OidcError) -> OidcError {
        match self {
            Self::Unreachable => unreachable,
            Self::NotAllowed => OidcError::AddressNotAllowed,
            Self::Status(code) => status(code),
        }
    }
}

/// Sends `request`, and once more if it failed before any answer came back: a pooled
/// connection the provider closed as idle (Node.js after 5 s, nginx after 75 s; the pool keeps
/// them 90 s) can fail a request in the moment between the pool handing it out and the
/// request going out. A timeout is not repeated. For the token request, a provider that did
/// redeem the code the first time refuses the second (`invalid_grant`): the login fails as
/// it would have without the second try.
pub(crate) async fn send_retrying_once(request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let again = request.try_clone();
    match request.send().await {
        Err(e) if !e.is_timeout() && (e.is_request() || e.is_connect()) => match again {
            Some(again) => {
                tracing::debug!(error = %e, "request to the provider failed before an answer; sending it once more");
                again.send().await
            }
            None => Err(e),
        },
        other => other,
    }
}

/// Reads a body up to `max` bytes; a provider cannot make Rosetta buffer gigabytes.
pub(crate) async fn read_capped(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, ()> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|_| ())? {
        if body.len() + chunk.len() > max {
            return Err(());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `client_secret_basic` when offered (it is also the default when the provider lists
/// nothing), else `client_secret_post`.
pub(crate) fn choose_client_auth(supported: Option<&Vec<CoreClientAuthMethod>>) -> Result<ClientAuth, OidcError> {
    let Some(methods) = supported else {
        return Ok(ClientAuth::Basic);
    };
    if methods.contains(&CoreClientAuthMethod::ClientSecretBasic) {
        Ok(ClientAuth::Basic)
    } else if methods.contains(&CoreClientAuthMethod::ClientSecretPost) {
        Ok(ClientAuth::Post)
    } else {
        Err(OidcError::UnsupportedClientAuth)
    }
}

/// Whether a key may verify a signature made with `alg`: signing use, matching key type and
/// a matching (or absent) `alg` on the key.
pub(crate) fn key_fits(key: &CoreJsonWebKey, alg: IdTokenAlg) -> bool {
    let core = alg.core();
    if let Some(key_use) = key.key_use()
        && !key_use.allows_signature()
    {
        return false;
    }
    if core.key_type().as_ref() != Some(key.key_type()) {
        return false;
    }
    match key.signing_alg() {
        JsonWebKeyAlgorithm::Unspecified => true,
        JsonWebKeyAlgorithm::Algorithm(a) => *a == core,
        JsonWebKeyAlgorithm::Unsupported => false,
    }
}

fn usable_key_count(jwks: &CoreJsonWebKeySet, allowed: &[IdTokenAlg]) -> usize {
    jwks.keys()
        .iter()
        .filter(|k| allowed.iter().any(|a| !a.is_symmetric() && key_fits(k, *a)))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads one HTTP/1.1 request (head, then a `content-length` body); false at end of stream.
    async fn read_request(sock: &mut tokio::net::TcpStream) -> bool {
        use tokio::io::AsyncReadExt;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let body = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + body {
                    return true;
                }
            }
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    #[tokio::test]
    async fn a_request_on_a_connection_the_provider_closed_is_sent_once_more() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::AsyncWriteExt;
        // Each connection: the first request answered (kept alive), the second read and left
        // unanswered, the connection closed. That is what a client meets when it reuses a
        // pooled connection the server is closing as idle.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if read_request(&mut sock).await {
                        let answer =
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        let _ = sock.write_all(answer).await;
                        read_request(&mut sock).await;
                    }
                });
            }
        });
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let token_request = || client.post(&url).body("grant_type=authorization_code&code=c");

        assert_eq!(send_retrying_once(token_request()).await.unwrap().status(), 200);
        // Sent once only, the request on the reused connection fails: the server above does
        // what it should.
        assert!(token_request().send().await.is_err());
        // A new connection answers; the next request reuses it, is refused by the closing,
        // and is sent once more, on a third connection, which answers.
        assert_eq!(send_retrying_once(token_request()).await.unwrap().status(), 200);
        assert_eq!(send_retrying_once(token_request()).await.unwrap().status(), 200);
        assert_eq!(connections.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn basic_is_preferred_then_post() {
        assert_eq!(choose_client_auth(None), Ok(ClientAuth::Basic));
        let both = vec![
            CoreClientAuthMethod::ClientSecretPost,
            CoreClientAuthMethod::ClientSecretBasic,
        ];
        assert_eq!(choose_client_auth(Some(&both)), Ok(ClientAuth::Basic));
        let post = vec![CoreClientAuthMethod::ClientSecretPost];
        assert_eq!(choose_client_auth(Some(&post)), Ok(ClientAuth::Post));
        let jwt = vec![CoreClientAuthMethod::PrivateKeyJwt];
        assert_eq!(choose_client_auth(Some(&jwt)), Err(OidcError::UnsupportedClientAuth));
    }

    #[test]
    fn provider_urls_follow_the_outbound_policy() -> Result<(), url::ParseError> {
        let rp = |dev| {
            OidcRp::with_settings(RpSettings {
                policy: outbound::Policy {
                    dev,
                    allowed: Vec::new(),
                },
                ..RpSettings::default()
            })
        };
        let (production, dev) = (
            rp(false).map_err(|_| url::ParseError::EmptyHost)?,
            rp(true).map_err(|_| url::ParseError::EmptyHost)?,
        );
        assert!(production.require_allowed(&Url::parse("https://op.example")?).is_ok());
        assert_eq!(
            production.require_allowed(&Url::parse("http://op.example")?),
            Err(OidcError::InsecureEndpoint)
        );
        assert_eq!(
            production.require_allowed(&Url::parse("http://127.0.0.1:8080")?),
            Err(OidcError::InsecureEndpoint),
            "plain http to loopback only in dev mode"
        );
        assert_eq!(
            production.require_allowed(&Url::parse("https://127.0.0.1:8080")?),
            Err(OidcError::AddressNotAllowed)
        );
        assert!(dev.require_allowed(&Url::parse("http://127.0.0.1:8080")?).is_ok());
        assert!(dev.require_allowed(&Url::parse("http://[::1]:8080")?).is_ok());
        assert_eq!(
            dev.require_allowed(&Url::parse("ftp://op.example")?),
            Err(OidcError::InsecureEndpoint)
        );
        Ok(())
    }
}
