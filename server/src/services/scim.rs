//! A SCIM 2.0 client (RFC 7643/7644) for provisioning users, written to what Atlassian's
//! user-provisioning API accepts: users found by `userName eq "…"` only, `userName` equal to
//! the primary email, PATCH with `replace` operations, 409 for a `userName` or email already
//! taken, 429 with `Retry-After` under load. Every request goes through the outbound policy;
//! every answer is read up to a cap and parsed into what is needed, so a malformed answer is
//! an error with a reason, never a panic.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::outbound::{self, OutboundError, Policy};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SCIM_JSON: &str = "application/scim+json";
/// Larger answers are refused: a user or a one-user list is a few kilobytes.
const MAX_ANSWER: usize = 256 * 1024;

/// Why a SCIM request did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScimError {
    /// The URL, the network, DNS or TLS.
    #[error("{0}")]
    Outbound(#[from] OutboundError),
    /// 401: the key is wrong, expired or revoked.
    #[error("the SCIM server rejected the API key (HTTP 401): create a new key and paste it here")]
    KeyRejected,
    /// 403: the key may not do this.
    #[error("the SCIM server refused the request (HTTP 403): the API key lacks the rights to manage users")]
    Forbidden,
    /// 429: too many requests; try again after the given time.
    #[error("the SCIM server asks to slow down (HTTP 429)")]
    RateLimited {
        /// What `Retry-After` said, if anything usable.
        retry_after: Option<Duration>,
    },
    /// 409: another user holds this `userName` or email.
    #[error("the SCIM server already has a user with this userName or email (HTTP 409)")]
    Conflict,
    /// 5xx: the server failed; worth trying again.
    #[error("the SCIM server failed (HTTP {status}){}", detail_suffix(.detail))]
    Server {
        /// The status.
        status: u16,
        /// The SCIM error's `detail`, if any.
        detail: Option<String>,
    },
    /// Another 4xx: the request is refused as it is (trying again will not help).
    #[error("the SCIM server refused the user (HTTP {status}){}", detail_suffix(.detail))]
    Refused {
        /// The status.
        status: u16,
        /// The SCIM error's `detail`, if any.
        detail: Option<String>,
    },
    /// An answer that is not what SCIM promises.
    #[error("the answer is not SCIM: {0}")]
    NotScim(String),
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl ScimError {
    /// Whether the same request may succeed later (network, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Outbound(OutboundError::Unreachable | OutboundError::Timeout | OutboundError::Unresolvable { .. })
                | Self::RateLimited { .. }
                | Self::Server { .. }
        )
    }

    /// Whether the key itself is refused (the target pauses until it is replaced).
    pub fn is_key_problem(&self) -> bool {
        matches!(self, Self::KeyRejected | Self::Forbidden)
    }
}

/// A user as the directory holds it (the attributes Rosetta manages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser {
    /// The directory's `id`.
    pub id: String,
    /// `userName`.
    pub user_name: String,
    /// The primary (else first) email.
    pub email: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `active` (absent counts as active).
    pub active: bool,
}

/// What the user should be at the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    /// `userName`: the NameID the service provider receives ([`crate::flow::name_id`]).
    pub user_name: String,
    /// The primary email.
    pub email: String,
    /// The display name (the email when the provider gave none).
    pub display_name: String,
    /// Rosetta's user ID, as `externalId`.
    pub external_id: String,
    /// Whether the user may use the service.
    pub active: bool,
    /// The SCIM groups (display names) the user belongs in; `None`: their memberships are
    /// left as they are (groups not provisioned for this SP, or unknown at the last login).
    pub groups: Option<Vec<String>>,
}

impl DesiredUser {
    fn resource(&self) -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": self.user_name,
            "externalId": self.external_id,
            "displayName": self.display_name,
            "name": {"formatted": self.display_name},
            "emails": [{"value": self.email, "type": "work", "primary": true}],
            "active": self.active,
        })
    }

    /// The `replace` operations that bring `remote` to this state; empty when it is there.
    pub fn changes_from(&self, remote: &RemoteUser) -> Vec<Value> {
        let mut ops = Vec::new();
        if remote.user_name != self.user_name || remote.email.as_deref() != Some(self.email.as_str()) {
            ops.push(json!({"op": "replace", "path": "userName", "value": self.user_name}));
            ops.push(json!({"op": "replace", "path": "emails", "value": [
                {"value": self.email, "type": "work", "primary": true}
            ]}));
        }
        if remote.display_name.as_deref() != Some(self.display_name.as_str()) {
            ops.push(json!({"op": "replace", "path": "displayName", "value": self.display_name}));
            ops.push(json!({"op": "replace", "path": "name", "value": {"formatted": self.display_name}}));
        }
        if remote.active != self.active {
            ops.push(json!({"op": "replace", "path": "active", "value": self.active}));
        }
        ops
    }
}

/// One directory: base URL and key.
pub struct ScimClient<'a> {
    http: &'a reqwest::Client,
    policy: &'a Policy,
    base: Url,
    key: SecretString,
}

impl std::fmt::Debug for ScimClient<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct ListResponse {
    #[serde(rename = "Resources", default)]
    resources: Vec<Value>,
}

impl<'a> ScimClient<'a> {
    /// A client of the directory at `base_url` (checked against the outbound policy at each
    /// request).
    pub fn new(
        http: &'a reqwest::Client,
        policy: &'a Policy,
        base_url: &str,
        key: SecretString,
    ) -> Result<Self, ScimError> {
        let mut base = Url::parse(base_url).map_err(|_| ScimError::NotScim("the base URL is not a URL".into()))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self {
            http,
            policy,
            base,
            key,
        })
    }

    fn url(&self, path: &str) -> Result<Url, ScimError> {
        let url = self
            .base
            .join(path)
            .map_err(|_| ScimError::NotScim("the base URL cannot carry a path".into()))?;
        self.policy.check_url(&url)?;
        Ok(url)
    }

    /// `Users/{id}`, the `id` percent-encoded as one path segment.
    fn user_url(&self, id: &str) -> Result<Url, ScimError> {
        let mut url = self.url("Users")?;
        url.path_segments_mut()
            .map_err(|()| ScimError::NotScim("the base URL cannot carry a path".into()))?
            .push(id);
        Ok(url)
    }

    /// Sends a request; the JSON answer of a 2xx (`Null` for an empty body), else the error.
    async fn send(&self, method: reqwest::Method, url: Url, body: Option<&Value>) -> Result<Value, ScimError> {
        let mut request = self
            .http
            .request(method, url)
            .bearer_auth(self.key.expose_secret())
            .header(reqwest::header::ACCEPT, SCIM_JSON);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, SCIM_JSON)
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| outbound::classify(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let bytes = outbound::read_capped(response, MAX_ANSWER).await?;
        let json = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => v,
                Err(_) if (200..300).contains(&status) => {
                    return Err(ScimError::NotScim(format!(
                        "HTTP {status} with a body that is not JSON"
                    )));
                }
                Err(_) => Value::Null,
            }
        };
        let detail = || {
            json.get("detail")
                .and_then(Value::as_str)
                .map(|d| d.chars().take(300).collect::<String>())
        };
        match status {
            200..=299 => Ok(json),
            401 => Err(ScimError::KeyRejected),
            403 => Err(ScimError::Forbidden),
            409 => Err(ScimError::Conflict),
            429 => Err(ScimError::RateLimited { retry_after }),
            500..=599 => Err(ScimError::Server {
                status,
                detail: detail(),
            }),
            _ => Err(ScimError::Refused {
                status,
                detail: detail(),
            }),
        }
    }

    /// Checks the key and that the URL is a SCIM service: `GET /ServiceProviderConfig`.
    pub async fn check(&self) -> Result<(), ScimError> {
        let answer = self
            .send(reqwest::Method::GET, self.url("ServiceProviderConfig")?, None)
            .await?;
        let is_config = answer.get("schemas").and_then(Value::as_array).is_some_and(|s| {
            s.iter()
                .any(|v| v.as_str().is_some_and(|s| s.contains("ServiceProviderConfig")))
        });
        if !is_config {
            return Err(ScimError::NotScim(
                "/ServiceProviderConfig did not answer a SCIM service provider configuration".into(),
            ));
        }
        Ok(())
    }

    /// The user with this `userName`, if any.
    pub async fn find_by_user_name(&self, user_name: &str) -> Result<Option<RemoteUser>, ScimError> {
        let mut url = self.url("Users")?;
        let escaped = user_name.replace('\\', "\\\\").replace('"', "\\\"");
        url.query_pairs_mut()
            .append_pair("filter", &format!("userName eq \"{escaped}\""));
        let answer = self.send(reqwest::Method::GET, url, None).await?;
        let list: ListResponse = serde_json::from_value(answer)
            .map_err(|_| ScimError::NotScim("a user search did not answer a ListResponse".into()))?;
        let mut found = list.resources.iter().map(remote_user).collect::<Result<Vec<_>, _>>()?;
        // Filters on userName compare without case (RFC 7643 §4.1.1): take the one that is it.
        found.retain(|u| u.user_name.eq_ignore_ascii_case(user_name));
        Ok(found.into_iter().next())
    }

    /// The user with this `id`, or `None` when the directory no longer has it (404).
    pub async fn get(&self, id: &str) -> Result<Option<RemoteUser>, ScimError> {
        let url = self.user_url(id)?;
        match self.send(reqwest::Method::GET, url, None).await {
            Ok(answer) => remote_user(&answer).map(Some),
            Err(ScimError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the user; the created resource.
    pub async fn create(&self, user: &DesiredUser) -> Result<RemoteUser, ScimError> {
        let answer = self
            .send(reqwest::Method::POST, self.url("Users")?, Some(&user.resource()))
            .await?;
        remote_user(&answer)
    }

    /// The `id` of the group with this `displayName`, if any (Atlassian filters groups on
    /// `displayName eq`).
    pub async fn find_group(&self, display_name: &str) -> Result<Option<String>, ScimError> {
        let mut url = self.url("Groups")?;
        let escaped = display_name.replace('\\', "\\\\").replace('"', "\\\"");
        url.query_pairs_mut()
            .append_pair("filter", &format!("displayName eq \"{escaped}\""));
        let answer = self.send(reqwest::Method::GET, url, None).await?;
        let list: ListResponse = serde_json::from_value(answer)
            .map_err(|_| ScimError::NotScim("a group search did not answer a ListResponse".into()))?;
        Ok(list
            .resources
            .iter()
            .find(|g| g.get("displayName").and_then(Value::as_str) == Some(display_name))
            .and_then(|g| g.get("id").and_then(Value::as_str))
            .map(str::to_owned))
    }

    /// The `id` of the group with this `displayName`, created when absent (a 409 means
    /// another push created it meanwhile: it is looked up again).
    pub async fn ensure_group(&self, display_name: &str) -> Result<String, ScimError> {
        if let Some(id) = self.find_group(display_name).await? {
            return Ok(id);
        }
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name});
        match self.send(reqwest::Method::POST, self.url("Groups")?, Some(&body)).await {
            Ok(created) => created
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ScimError::NotScim("a created group has no id".into())),
            Err(ScimError::Conflict) => self.find_group(display_name).await?.ok_or(ScimError::Conflict),
            Err(e) => Err(e),
        }
    }

    /// Adds the user with SCIM `id` `user_id` to the group `group_id`, or removes them.
    pub async fn set_member(&self, group_id: &str, user_id: &str, member: bool) -> Result<(), ScimError> {
        let mut url = self.url("Groups")?;
        url.path_segments_mut()
            .map_err(|()| ScimError::NotScim("the base URL cannot carry a path".into()))?
            .push(group_id);
        let op = if member {
            json!({"op": "add", "path": "members", "value": [{"value": user_id}]})
        } else {
            let escaped = user_id.replace('"', "\\\"");
            json!({"op": "remove", "path": format!("members[value eq \"{escaped}\"]")})
        };
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [op]});
        self.send(reqwest::Method::PATCH, url, Some(&body)).await.map(drop)
    }

    /// Applies `operations` (`replace`s) to the user with this `id`.
    pub async fn patch(&self, id: &str, operations: Vec<Value>) -> Result<(), ScimError> {
        let url = self.user_url(id)?;
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": operations});
        self.send(reqwest::Method::PATCH, url, Some(&body)).await.map(drop)
    }
}

/// `Retry-After` as seconds (an HTTP date is read as "a minute", a bounded guess), capped at
/// an hour.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs = match value.trim().parse::<u64>() {
        Ok(secs) => secs,
        Err(_) if !value.trim().is_empty() => 60,
        Err(_) => return None,
    };
    Some(Duration::from_secs(secs.min(3600)))
}

/// Reads the attributes Rosetta manages from a SCIM user resource.
fn remote_user(value: &Value) -> Result<RemoteUser, ScimError> {
    let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let id = text("id").ok_or_else(|| ScimError::NotScim("a user without an `id`".into()))?;
    let user_name = text("userName").ok_or_else(|| ScimError::NotScim("a user without a `userName`".into()))?;
    let emails: Vec<&Value> = value
        .get("emails")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let email = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let active = match value.get("active") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ScimError::NotScim("`active` is not a boolean".into())),
    };
    Ok(RemoteUser {
        id,
        user_name,
        email,
        display_name: text("displayName"),
        active,
    })
}

/// A client for a directory, 10 s per request.
pub fn http_client(policy: &Policy) -> reqwest::Result<reqwest::Client> {
    outbound::client(policy, Duration::from_secs(10), Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_user_is_an_error_with_a_reason() {
        for (value, reason) in [
            (json!({"userName": "a@b.c"}), "`id`"),
            (json!({"id": "1"}), "`userName`"),
            (json!({"id": "1", "userName": "a@b.c", "active": "yes"}), "`active`"),
        ] {
            let e = remote_user(&value).unwrap_err();
            assert!(e.to_string().contains(reason), "{e}");
        }
        let user = remote_user(&json!({"id": "1", "userName": "a@b.c", "emails": [
            {"value": "x@b.c"}, {"value": "a@b.c", "primary": true}
        ]}))
        .unwrap();
        assert_eq!(user.email.as_deref(), Some("a@b.c"));
        assert!(user.active, "absent `active` is active");
    }

    #[test]
    fn changes_name_only_what_differs() {
        let desired = DesiredUser {
            user_name: "ada@corp.com".into(),
            email: "ada@corp.com".into(),
            display_name: "Ada".into(),
            external_id: "u1".into(),
            active: true,
            groups: None,
        };
        let mut remote = RemoteUser {
            id: "1".into(),
            user_name: "ada@corp.com".into(),
            email: Some("ada@corp.com".into()),
            display_name: Some("Ada".into()),
            active: true,
        };
        assert!(desired.changes_from(&remote).is_empty());
        remote.active = false;
        remote.display_name = Some("Ada L".into());
        let ops = desired.changes_from(&remote);
        let paths: Vec<&str> = ops.iter().map(|o| o["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["displayName", "name", "active"]);
    }

    #[test]
    fn retry_after_is_read_and_capped() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after(""), None);
    }
}
