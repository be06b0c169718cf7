//! Rosetta's real protocol peers, run as Node processes from `e2e/peers/`: an upstream
//! OpenID provider (oidc-provider) and an independent SAML service provider that
//! validates responses (node-saml); the Microsoft Graph stand-in (`graph_server.rs`) runs
//! the same way. Each runs on a free 127.0.0.1 port, is configured
//! from JSON in `PEER_CONFIG`, logs to a temporary file and is killed on drop.
//!
//! The npm dependencies are installed by `e2e/peers/install.sh` (`npm ci`), which the
//! first peer of a test binary runs when they are missing or stale.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{OnceLock, mpsc};
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

/// `e2e/peers/`, where the Node scripts and their `package.json` live.
pub fn peers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("peers")
}

/// Runs `e2e/peers/install.sh` once per test process (it is a no-op when up to date).
fn ensure_installed() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    let outcome = INSTALLED.get_or_init(|| {
        let script = peers_dir().join("install.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running {}: {e}", script.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "the e2e peers' npm dependencies are not installed and {} failed ({}): run it by hand \
                 (it needs node >= 20, npm and the npm registry)\n{}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    });
    outcome.clone().map_err(std::io::Error::other)
}

/// A Node peer process; killed on drop.
pub(crate) struct NodePeer {
    child: Child,
    pub(crate) port: u16,
    pub(crate) listening: serde_json::Value,
    log: NamedTempFile,
}

impl NodePeer {
    /// Starts `node e2e/peers/<script>` with `config(port)` in `PEER_CONFIG` on a free
    /// port, and waits (bounded) for its `{"event":"listening"}` line.
    pub(crate) fn start(script: &str, config: impl Fn(u16) -> serde_json::Value) -> std::io::Result<Self> {
        ensure_installed()?;
        let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
        let mut last = String::new();
        // The free port may be taken between the probe and the bind: try a few.
        for _ in 0..5 {
            let port = crate::free_port();
            let log = NamedTempFile::new()?;
            let mut child = Command::new(&node)
                .arg(peers_dir().join(script))
                .env("PEER_CONFIG", config(port).to_string())
                .current_dir(peers_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(log.reopen()?)
                .spawn()
                .map_err(|e| std::io::Error::other(format!("starting {node} (Node 20 must be on PATH): {e}")))?;
            let Some(stdout) = child.stdout.take() else {
                return Err(std::io::Error::other("no stdout pipe"));
            };
            // The first stdout line says it listens; the thread keeps draining the pipe.
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                let _ = tx.send(lines.next());
                for _ in lines {}
            });
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Some(Ok(line))) => {
                    if let Ok(listening) = serde_json::from_str::<serde_json::Value>(&line)
                        && listening["event"] == "listening"
                    {
                        return Ok(Self {
                            child,
                            port,
                            listening,
                            log,
                        });
                    }
                    last = format!("unexpected first line {line:?}");
                }
                Ok(_) => last = "it exited before listening".into(),
                Err(_) => last = "it did not listen within 30 s".into(),
            }
            let _ = child.kill();
            let _ = child.wait();
            last = format!("{last}; its log:\n{}", crate::read_text(log.path()));
        }
        Err(std::io::Error::other(format!("{script} did not start: {last}")))
    }

    pub(crate) fn logs(&self) -> String {
        crate::read_text(self.log.path())
    }
}

impl Drop for NodePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            // The test failed: its peers' logs are what explains it.
            let _ = writeln!(std::io::stderr(), "---- peer log ----\n{}", self.logs());
        }
    }
}

/// An HTTP client for driving logins like a browser: a cookie jar, redirects not followed.
pub fn cookie_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

async fn json_or_error<T: serde::de::DeserializeOwned>(res: reqwest::Response) -> anyhow::Result<T> {
    let status = res.status();
    let text = res.text().await?;
    anyhow::ensure!(status.is_success(), "HTTP {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("parsing {text}"))
}

// ---------------------------------------------------------------------------------------
// OpenID provider

/// A client registered at the test OpenID provider.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (test value; never logged by the provider).
    pub client_secret: String,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// `client_secret_basic` (default) or `client_secret_post`.
    pub token_endpoint_auth_method: String,
}

impl OidcClient {
    /// A confidential client using `client_secret_basic` with one redirect URI.
    pub fn new(client_id: &str, client_secret: &str, redirect_uri: &str) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![redirect_uri.into()],
            token_endpoint_auth_method: "client_secret_basic".into(),
        }
    }
}

/// An end user of the test OpenID provider. `None` fields are left out of the claims.
///
/// Other claims go in [`Self::extra`] (or [`Self::with_claim`], [`Self::from_claims`]):
/// Google's `hd`, Entra's `tid`, `oid`, `upn`, `preferred_username`, `acct`, `groups` or a
/// group overage's `_claim_names` / `_claim_sources`, Keycloak's `realm_access`, Auth0's
/// namespaced claims. They reach the ID token when the provider says
/// [`OidcProviderConfig::all_account_claims_in_id_token`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OidcAccount {
    /// `sub`; also accepted as the login name.
    pub sub: String,
    /// `email`; also accepted as the login name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `email_verified`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// `given_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// `family_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    /// `name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `amr` of the ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// `acr` of the ID token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Any other claim, by name. A name also set above (e.g. `email_verified` as the
    /// string `"true"`, as some providers send it) takes the place of a `None` field.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl OidcAccount {
    /// An account with a verified email and a name made of `given` and `family`.
    pub fn verified(sub: &str, email: &str, given: &str, family: &str) -> Self {
        Self {
            sub: sub.into(),
            email: Some(email.into()),
            email_verified: Some(true),
            given_name: Some(given.into()),
            family_name: Some(family.into()),
            name: Some(format!("{given} {family}")),
            amr: None,
            acr: None,
            extra: serde_json::Map::new(),
        }
    }

    /// The account whose claims are `claims`, a JSON object with a string `sub`, e.g. an
    /// Entra ID user: `{"sub", "tid", "oid", "preferred_username", "upn"}` (no `email`).
    ///
    /// # Panics
    /// When `claims` is not such an object.
    pub fn from_claims(claims: serde_json::Value) -> Self {
        let text = claims.to_string();
        serde_json::from_value(claims).unwrap_or_else(|e| panic!("an account's claims: {e}: {text}"))
    }

    /// This account with one more claim (replacing one of that name in [`Self::extra`]).
    #[must_use]
    pub fn with_claim(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(name.to_owned(), value.into());
        self
    }
}

/// Configuration of [`OidcProvider`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OidcProviderConfig {
    /// Host of the issuer: `127.0.0.1` when `None`, or a `*.localhost` name (the client
    /// must then resolve it to 127.0.0.1). The issuer is `http://<host>:<port><issuer_path>`.
    #[serde(skip)]
    pub issuer_host: Option<String>,
    /// Path of the issuer, `None` for none: e.g. `/<tenant id>/v2.0` as Entra ID's
    /// `https://login.microsoftonline.com/<tenant id>/v2.0` (the provider is mounted there:
    /// discovery at `<issuer>/.well-known/openid-configuration`, every endpoint under it),
    /// `/realms/<realm>` as Keycloak's, or `/` as Auth0's `https://<tenant>.auth0.com/`
    /// (the trailing slash is kept in discovery and in `iss`).
    #[serde(skip)]
    pub issuer_path: Option<String>,
    /// Registered clients.
    pub clients: Vec<OidcClient>,
    /// Accounts that can log in.
    pub accounts: Vec<OidcAccount>,
    /// `true`: the ID token carries only protocol claims, the email and profile claims
    /// come from userinfo alone (strict OIDC Core). `false` (default): the ID token
    /// carries them too, as Google and Entra ID do.
    pub conform_id_token_claims: bool,
    /// `true`: every claim of an account other than the standard ones of [`OidcAccount`]'s
    /// fields (its [`OidcAccount::extra`]) goes into the ID token (and userinfo) whatever the
    /// scopes, as Google's `hd`, Entra's `tid`/`oid`/`groups`, Okta's and Keycloak's group
    /// claims do; distributed claims (`_claim_names`, `_claim_sources`) go in as they are.
    /// `false` (default): those claims are dropped.
    pub all_account_claims_in_id_token: bool,
    /// `true`: the token endpoint refuses the `client_credentials` grant (400
    /// `invalid_request`, "requested grant type is not allowed for this client"). By default clients may use it, e.g. for an Entra-style
    /// application token for Microsoft Graph (scope `https://graph.microsoft.com/.default`),
    /// which [`crate::GraphServer`] accepts once it trusts this provider.
    #[serde(skip)]
    pub deny_client_credentials: bool,
}

impl OidcProviderConfig {
    /// A provider shaped like Google: issuer at the origin, provider claims (`hd`) in the
    /// ID token. Clients and accounts are to be added.
    pub fn google() -> Self {
        Self {
            all_account_claims_in_id_token: true,
            ..Self::default()
        }
    }

    /// A provider shaped like Entra ID's v2.0 endpoint of the tenant `tenant_id`: issuer
    /// `http://127.0.0.1:<port>/<tenant_id>/v2.0`, provider claims (`tid`, `oid`, `upn`,
    /// `groups` or an overage...) in the ID token, client credentials for Graph tokens.
    pub fn entra(tenant_id: &str) -> Self {
        Self {
            issuer_path: Some(format!("/{tenant_id}/v2.0")),
            all_account_claims_in_id_token: true,
            ..Self::default()
        }
    }

    /// A provider shaped like Okta's custom authorization server `server` (`default` for
    /// the one every org has): issuer `http://127.0.0.1:<port>/oauth2/<server>`, claims
    /// such as `groups` in the ID token.
    pub fn okta(server: &str) -> Self {
        Self {
            issuer_path: Some(format!("/oauth2/{server}")),
            all_account_claims_in_id_token: true,
            ..Self::default()
        }
    }

    /// A provider shaped like Auth0: issuer `http://127.0.0.1:<port>/` (trailing slash),
    /// namespaced claims (`https://.../groups`) in the ID token.
    pub fn auth0() -> Self {
        Self {
            issuer_path: Some("/".into()),
            all_account_claims_in_id_token: true,
            ..Self::default()
        }
    }

    /// A provider shaped like Keycloak's realm `realm`: issuer
    /// `http://127.0.0.1:<port>/realms/<realm>`, mapped claims (`groups`, `realm_access`) in
    /// the ID token.
    pub fn keycloak(realm: &str) -> Self {
        Self {
            issuer_path: Some(format!("/realms/{realm}")),
            all_account_claims_in_id_token: true,
            ..Self::default()
        }
    }
}

/// The provider's keys: the signing kid and every kid its JWKS publishes.
#[derive(Debug, Clone, Deserialize)]
pub struct OidcKeys {
    /// The kid new tokens are signed with.
    pub signing_kid: String,
    /// The kids in the JWKS, the signing one first.
    pub kids: Vec<String>,
}

/// Every token a provider's token endpoint has issued, in order, by any grant.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IssuedTokens {
    /// Access tokens (opaque).
    pub access_tokens: Vec<String>,
    /// ID tokens (JWTs).
    pub id_tokens: Vec<String>,
    /// Refresh tokens.
    pub refresh_tokens: Vec<String>,
}

impl IssuedTokens {
    /// Every one of them, access tokens first.
    pub fn all(&self) -> impl Iterator<Item = &str> {
        self.access_tokens
            .iter()
            .chain(&self.id_tokens)
            .chain(&self.refresh_tokens)
            .map(String::as_str)
    }
}

/// A real OpenID provider (`e2e/peers/op.mjs`, oidc-provider 8): authorization code flow
/// with PKCE S256 required, RFC 9207 `iss` in authorization responses, userinfo, RS256
/// keys made at start, a scripted login form, and key rotation without restart.
pub struct OidcProvider {
    peer: NodePeer,
    issuer: String,
    admin: reqwest::Client,
}

impl OidcProvider {
    /// Starts the provider on a free port.
    pub fn start(config: &OidcProviderConfig) -> std::io::Result<Self> {
        let host = config.issuer_host.clone().unwrap_or_else(|| "127.0.0.1".into());
        let path = config.issuer_path.clone().unwrap_or_default();
        if !(path.is_empty() || path.starts_with('/')) {
            return Err(std::io::Error::other(format!("issuer_path {path:?} must start with /")));
        }
        let peer = NodePeer::start("op.mjs", |port| {
            let mut value = serde_json::to_value(config).unwrap_or_default();
            value["port"] = port.into();
            value["issuer"] = format!("http://{host}:{port}{path}").into();
            value["client_credentials"] = (!config.deny_client_credentials).into();
            value
        })?;
        let issuer = peer.listening["issuer"].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            peer,
            issuer,
            admin: reqwest::Client::new(),
        })
    }

    /// The issuer, `http://<host>:<port>` followed by the configured
    /// [`OidcProviderConfig::issuer_path`], exactly as in discovery and `iss` (no trailing
    /// slash unless the path has one).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.peer.port
    }

    /// `<issuer>/.well-known/openid-configuration` (one slash after an issuer with a
    /// trailing one).
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'))
    }

    /// `http://127.0.0.1:<port><path>`: reachable whatever the issuer host.
    pub fn local_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.peer.port)
    }

    /// What it has logged so far.
    pub fn logs(&self) -> String {
        self.peer.logs()
    }

    /// Makes a new RS256 key with a new kid the signing key. With `keep_old` the old keys
    /// stay in the JWKS (graceful rotation); without, they are dropped (abrupt rotation).
    pub async fn rotate_keys(&self, keep_old: bool) -> anyhow::Result<OidcKeys> {
        let res = self
            .admin
            .post(self.local_url("/__test/rotate-keys"))
            .json(&serde_json::json!({ "keep_old": keep_old }))
            .send()
            .await?;
        json_or_error(res).await
    }

    /// The current keys.
    pub async fn keys(&self) -> anyhow::Result<OidcKeys> {
        json_or_error(self.admin.get(self.local_url("/__test/keys")).send().await?).await
    }

    /// The tokens its token endpoint has issued so far (to check that a relying party
    /// keeps none of them).
    pub async fn issued_tokens(&self) -> anyhow::Result<IssuedTokens> {
        json_or_error(self.admin.get(self.local_url("/__test/issued")).send().await?).await
    }

    /// Adds an account, or replaces the one with the same `sub`.
    pub async fn add_account(&self, account: &OidcAccount) -> anyhow::Result<()> {
        let res = self
            .admin
            .post(self.local_url("/__test/accounts"))
            .json(account)
            .send()
            .await?;
        json_or_error::<serde_json::Value>(res).await.map(|_| ())
    }

    /// Disables the account `sub`: it can no longer log in, and its refresh tokens answer
    /// `invalid_grant`.
    pub async fn disable_account(&self, sub: &str) -> anyhow::Result<()> {
        let res = self
            .admin
            .post(self.local_url("/__test/accounts/disable"))
            .json(&serde_json::json!({"sub": sub}))
            .send()
            .await?;
        json_or_error::<serde_json::Value>(res).await.map(|_| ())
    }

    /// Plays the end user: from `authorization_url` (the provider's authorize endpoint
    /// with the relying party's parameters), follows the provider's redirects with
    /// `client` (use [`cookie_client`]), submits the login form as `login` (sub or email)
    /// when asked, and returns the first redirect that leaves the provider: the relying
    /// party's redirect URI with `code`, `state` and `iss`, or with an `error`.
    pub async fn scripted_login(
        &self,
        client: &reqwest::Client,
        authorization_url: &str,
        login: &str,
    ) -> anyhow::Result<url::Url> {
        let origin = url::Url::parse(&self.issuer)?.origin();
        let mut next = url::Url::parse(authorization_url)?;
        let mut submitted = false;
        for _ in 0..10 {
            if next.origin() != origin {
                return Ok(next);
            }
            let res = client.get(next.clone()).send().await?;
            let res = if res.status() == 200 && next.path().starts_with("/interaction/") && !submitted {
                submitted = true;
                client.post(next.clone()).form(&[("login", login)]).send().await?
            } else {
                res
            };
            let status = res.status();
            let Some(location) = res.headers().get(reqwest::header::LOCATION) else {
                let body = res.text().await.unwrap_or_default();
                anyhow::bail!("HTTP {status} without redirect at {next}: {body}");
            };
            next = next.join(location.to_str()?)?;
        }
        anyhow::bail!("too many redirects, last {next}")
    }
}

// ---------------------------------------------------------------------------------------
// SAML service provider

/// How the SP checks `InResponseTo` (node-saml's `validateInResponseTo`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InResponseTo {
    /// Required, and must be an ID of a request this SP sent (SP-initiated only).
    #[default]
    #[serde(rename = "always")]
    Always,
    /// Checked when present (IdP-initiated responses have none).
    #[serde(rename = "ifPresent")]
    IfPresent,
    /// Not checked.
    #[serde(rename = "never")]
    Never,
}

/// Configuration of [`SamlSp`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SamlSpConfig {
    /// SP entity ID: the AuthnRequest's Issuer and the Audience the assertion must name.
    #[serde(rename = "issuer")]
    pub entity_id: String,
    /// The IdP's SSO URL (HTTP-Redirect binding).
    pub entry_point: String,
    /// The IdP's signing certificates, PEM; a signature by any of them is accepted.
    #[serde(rename = "idp_cert")]
    pub idp_certs: Vec<String>,
    /// The IdP entity ID the Response and Assertion Issuer must equal, if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_issuer: Option<String>,
    /// Path (and query, e.g. `/login/callback?connection=saml-x`) of the ACS on this SP.
    #[serde(skip)]
    pub acs_path: String,
    /// `InResponseTo` policy.
    pub validate_in_response_to: InResponseTo,
    /// Allowed clock skew.
    pub accepted_clock_skew_ms: u64,
    /// NameIDPolicy Format of AuthnRequests: `None` leaves the Format out.
    pub identifier_format: Option<String>,
    /// Also require Response `Destination` and bearer `Recipient` to equal the ACS URL.
    pub strict: bool,
}

impl SamlSpConfig {
    /// An SP with the given entity ID trusting `idp_cert` from the IdP at `entry_point`;
    /// ACS at `/acs`, InResponseTo required, 2 s skew, email NameID asked, strict checks.
    pub fn new(entity_id: &str, entry_point: &str, idp_cert: &str) -> Self {
        Self {
            entity_id: entity_id.into(),
            entry_point: entry_point.into(),
            idp_certs: vec![idp_cert.into()],
            idp_issuer: None,
            acs_path: "/acs".into(),
            validate_in_response_to: InResponseTo::Always,
            accepted_clock_skew_ms: 2000,
            identifier_format: Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into()),
            strict: true,
        }
    }
}

/// The SP's verdict on one SAMLResponse.
#[derive(Debug, Clone, Deserialize)]
pub struct SamlValidation {
    /// Whether the response was accepted.
    pub ok: bool,
    /// Why not.
    #[serde(default)]
    pub error: Option<String>,
    /// The NameID.
    #[serde(default, rename = "nameID")]
    pub name_id: Option<String>,
    /// The NameID Format.
    #[serde(default, rename = "nameIDFormat")]
    pub name_id_format: Option<String>,
    /// The assertion's Issuer.
    #[serde(default)]
    pub issuer: Option<String>,
    /// AuthnStatement SessionIndex.
    #[serde(default, rename = "sessionIndex")]
    pub session_index: Option<String>,
    /// The Response's InResponseTo.
    #[serde(default, rename = "inResponseTo")]
    pub in_response_to: Option<String>,
    /// Attributes: a string, or an array for several values.
    #[serde(default)]
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// The RelayState posted with it.
    #[serde(default, rename = "relayState")]
    pub relay_state: Option<String>,
}

impl SamlValidation {
    /// The values of one attribute (empty when absent).
    pub fn attribute(&self, name: &str) -> Vec<String> {
        match self.attributes.get(name) {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(values)) => {
                values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()
            }
            _ => Vec::new(),
        }
    }
}

/// A real SAML service provider (`e2e/peers/sp.mjs`, node-saml 5) that sends
/// AuthnRequests and validates responses: signed Response and Assertion required
/// (RSA-SHA256), audience, time window, InResponseTo, and in strict mode Destination,
/// Recipient and Issuer.
pub struct SamlSp {
    peer: NodePeer,
    acs_url: String,
    entity_id: String,
    http: reqwest::Client,
}

impl SamlSp {
    /// Starts the SP on a free port.
    pub fn start(config: &SamlSpConfig) -> std::io::Result<Self> {
        let peer = NodePeer::start("sp.mjs", |port| {
            let mut value = serde_json::to_value(config).unwrap_or_default();
            value["port"] = port.into();
            value["callback_url"] = format!("http://127.0.0.1:{port}{}", config.acs_path).into();
            value
        })?;
        let acs_url = peer.listening["acs"].as_str().unwrap_or_default().to_owned();
        Ok(Self {
            peer,
            acs_url,
            entity_id: config.entity_id.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("HTTP client"),
        })
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.peer.port
    }

    /// Its entity ID.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// Its ACS URL, `http://127.0.0.1:<port><acs_path>`.
    pub fn acs_url(&self) -> &str {
        &self.acs_url
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.peer.port)
    }

    /// The SP-initiated login URL: a GET answers 302 to the IdP with a fresh AuthnRequest.
    pub fn login_url(&self, relay_state: &str) -> String {
        let mut url = url::Url::parse(&self.url("/login")).expect("SP URL");
        url.query_pairs_mut().append_pair("relayState", relay_state);
        url.into()
    }

    /// What it has logged so far.
    pub fn logs(&self) -> String {
        self.peer.logs()
    }

    /// Replaces the trusted IdP certificates (PEM), e.g. after a key rotation at the IdP.
    pub async fn set_idp_certs(&self, certs: &[String]) -> anyhow::Result<()> {
        let res = self
            .http
            .post(self.url("/config"))
            .json(&serde_json::json!({ "idp_cert": certs }))
            .send()
            .await?;
        json_or_error::<serde_json::Value>(res).await.map(|_| ())
    }

    /// Posts a `SAMLResponse` form value (base64, as the IdP's auto-post form sends it)
    /// to the ACS and returns the verdict; a rejection is `ok: false`, not an `Err`.
    pub async fn post_response(
        &self,
        saml_response: &str,
        relay_state: Option<&str>,
    ) -> anyhow::Result<SamlValidation> {
        let mut form = vec![("SAMLResponse", saml_response)];
        if let Some(relay_state) = relay_state {
            form.push(("RelayState", relay_state));
        }
        let res = self.http.post(&self.acs_url).form(&form).send().await?;
        let status = res.status();
        let text = res.text().await?;
        let verdict: SamlValidation = serde_json::from_str(&text).with_context(|| format!("HTTP {status}: {text}"))?;
        anyhow::ensure!(
            verdict.ok == status.is_success(),
            "HTTP {status} does not match the verdict {text}"
        );
        Ok(verdict)
    }

    /// [`Self::post_response`] with the Response XML, base64-encoded here.
    pub async fn post_response_xml(&self, xml: &str, relay_state: Option<&str>) -> anyhow::Result<SamlValidation> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(xml);
        self.post_response(&encoded, relay_state).await
    }

    /// The last verdict, if any.
    pub async fn last(&self) -> anyhow::Result<Option<SamlValidation>> {
        json_or_error(self.http.get(self.url("/last")).send().await?).await
    }
}

// ---------------------------------------------------------------------------------------
// Signed SAML fixtures

/// A SAML Response for [`sign_saml_response`] to build: Success status, one Assertion
/// with a bearer SubjectConfirmation, Conditions with an AudienceRestriction, an
/// AuthnStatement and the attributes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SamlResponseFixture {
    /// Issuer of Response and Assertion.
    pub issuer: String,
    /// Response Destination.
    pub destination: String,
    /// The Audience.
    pub audience: String,
    /// SubjectConfirmationData Recipient; the destination when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// InResponseTo on Response and SubjectConfirmationData.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_response_to: Option<String>,
    /// The NameID.
    pub name_id: String,
    /// NameID Format; emailAddress when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_id_format: Option<String>,
    /// Attribute name → values.
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Validity of the assertion from now; 300 s when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_for_secs: Option<u64>,
}

/// Builds the fixture's Response and signs it with `e2e/peers/sign-fixture.mjs`
/// (xml-crypto: RSA-SHA256, SHA-256, exclusive C14N, enveloped), the Assertion and/or
/// the Response as `sign_assertion` / `sign_response` say. Returns the XML.
pub fn sign_saml_response(
    fixture: &SamlResponseFixture,
    private_key_pem: &str,
    cert_pem: &str,
    sign_assertion: bool,
    sign_response: bool,
) -> std::io::Result<String> {
    ensure_installed()?;
    let mut sign = Vec::new();
    if sign_assertion {
        sign.push("assertion");
    }
    if sign_response {
        sign.push("response");
    }
    let input = serde_json::json!({
        "private_key": private_key_pem,
        "cert": cert_pem,
        "response": fixture,
        "sign": sign,
    });
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let mut child = Command::new(node)
        .arg(peers_dir().join("sign-fixture.mjs"))
        .current_dir(peers_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.to_string().as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "sign-fixture.mjs failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    String::from_utf8(out.stdout).map_err(std::io::Error::other)
}
