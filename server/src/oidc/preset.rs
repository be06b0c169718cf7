//! Provider presets: what each kind of OpenID provider needs when a source is set up, and
//! what Rosetta checks at each login through it (Google's `hd`, Entra ID's `tid`, guests,
//! where the email comes from, where the groups are).

use rosetta_api::{SourcePreset, SourcePresetInfo};
use serde_json::{Map, Value};
use url::Url;

use super::email::email_domain_allowed;
use super::error::OidcError;

/// A preset's checks as a source configures them.
#[derive(Debug, Clone, Default)]
pub struct ProviderChecks {
    /// The kind of provider.
    pub preset: SourcePreset,
    /// Entra ID: the directory (tenant) ID, taken from the issuer.
    pub entra_tenant: Option<String>,
    /// Entra ID: guest accounts may log in.
    pub allow_guests: bool,
    /// The claim carrying groups (empty: groups are not read).
    pub groups_claim: String,
    /// Entra ID: a group overage is read from Microsoft Graph.
    pub fetch_group_overage: bool,
}

/// At most this many groups are kept for a user; more leave the groups unknown (reported).
pub const MAX_GROUPS: usize = 2048;
/// At most this many bytes of group names in all.
const MAX_GROUP_BYTES: usize = 64 * 1024;

/// The user's groups as the token states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Groups {
    /// The groups (empty when the source reads none or the user has none).
    Listed(Vec<String>),
    /// Entra ID's overage: too many groups for the token; Graph has them for this object ID.
    Overage {
        /// The user's object ID (`oid`).
        object_id: String,
    },
    /// The claim is there but cannot be used (wrong type, over the bounds); why.
    Unreadable(&'static str),
}

const GOOGLE_ISSUER: &str = "https://accounts.google.com";
const ENTRA_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
];

fn loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
        || url.host_str().is_some_and(|h| h.ends_with(".localhost"))
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The directory (tenant) ID of an Entra ID v2.0 issuer, `https://login.microsoftonline.com/{tid}/v2.0`.
pub fn entra_tenant_of(issuer: &str) -> Option<String> {
    let url = Url::parse(issuer).ok()?;
    let segments: Vec<&str> = url.path_segments()?.collect();
    match segments.as_slice() {
        [tid, "v2.0"] if is_guid(tid) => Some(tid.to_ascii_lowercase()),
        _ => None,
    }
}

/// Checks `issuer` against what `preset` requires; the message says what to enter instead.
/// Loopback issuers pass the host checks in dev mode (the test providers), never the path
/// checks.
pub fn check_issuer(preset: SourcePreset, issuer: &str, dev: bool) -> Result<(), String> {
    let url = Url::parse(issuer).map_err(|_| "the issuer must be an absolute URL".to_owned())?;
    let stand_in = dev && loopback(&url);
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    match preset {
        SourcePreset::Google => {
            if issuer != GOOGLE_ISSUER && !stand_in {
                return Err(format!("Google's issuer is exactly `{GOOGLE_ISSUER}`"));
            }
        }
        SourcePreset::Entra => {
            if !stand_in && !url.host_str().is_some_and(|h| ENTRA_HOSTS.contains(&h)) {
                if url.host_str() == Some("sts.windows.net") {
                    return Err(
                        "that is the v1.0 issuer: use `https://login.microsoftonline.com/<tenant ID>/v2.0`".into(),
                    );
                }
                return Err(
                    "Entra ID's issuer is `https://login.microsoftonline.com/<Directory (tenant) ID>/v2.0`".into(),
                );
            }
            match segments.first().copied() {
                Some(multi @ ("common" | "organizations")) => {
                    return Err(format!(
                        "`/{multi}` lets users of every Microsoft tenant sign in, so it cannot say which directory \
                         is yours: use your own issuer, `https://login.microsoftonline.com/<Directory (tenant) ID>/v2.0` \
                         (Entra admin center → Overview → Tenant ID)"
                    ));
                }
                Some("consumers") => {
                    return Err(
                        "`/consumers` is for personal Microsoft accounts: use your directory's issuer, \
                                `https://login.microsoftonline.com/<Directory (tenant) ID>/v2.0`"
                            .into(),
                    );
                }
                _ => {}
            }
            if entra_tenant_of(issuer).is_none() {
                return Err(
                    "Entra ID's issuer is `https://login.microsoftonline.com/<Directory (tenant) ID>/v2.0`, the ID \
                     being a GUID"
                        .into(),
                );
            }
        }
        SourcePreset::Auth0 => {
            if !issuer.ends_with('/') {
                return Err(format!(
                    "Auth0's issuer ends with a slash: `{issuer}/` (your tenant's domain, or your custom domain)"
                ));
            }
        }
        SourcePreset::Keycloak => {
            let realm = segments.iter().rposition(|s| *s == "realms");
            if realm.is_none_or(|at| at + 2 != segments.len()) {
                return Err("Keycloak's issuer is the realm's URL: `https://<host>/realms/<realm>`".into());
            }
        }
        SourcePreset::Okta => {
            let fine = match segments.as_slice() {
                [] => true,
                ["oauth2", id] => !id.is_empty(),
                _ => false,
            };
            if !fine {
                return Err(
                    "Okta's issuer is `https://<org>.okta.com` (org authorization server) or \
                            `https://<org>.okta.com/oauth2/<server ID>` (a custom one, e.g. `default`)"
                        .into(),
                );
            }
        }
        SourcePreset::Gitlab | SourcePreset::Generic => {}
    }
    Ok(())
}

/// The groups claim a preset reads unless the admin names another.
pub fn default_groups_claim(preset: SourcePreset) -> &'static str {
    match preset {
        SourcePreset::Entra | SourcePreset::Okta | SourcePreset::Keycloak => "groups",
        SourcePreset::Gitlab => "groups_direct",
        SourcePreset::Google | SourcePreset::Auth0 | SourcePreset::Generic => "",
    }
}

/// The verified email of the person, by the preset's rules, on one of `allowed` domains.
pub(crate) fn email(
    checks: &ProviderChecks,
    claims: &Map<String, Value>,
    allowed: &[String],
) -> Result<String, OidcError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    let email = if checks.preset == SourcePreset::Entra {
        // The tenant-specific issuer and `tid` confine logins to the customer's directory,
        // whose admins own its addresses; Entra sends no `email_verified`. `email` is empty
        // for unlicensed users: the UPN stands in, on a listed domain only (checked below).
        let tid = claims.get("tid").and_then(Value::as_str).map(str::to_ascii_lowercase);
        if tid.is_none() || tid != checks.entra_tenant {
            return Err(OidcError::TenantMismatch);
        }
        let guest = ["upn", "preferred_username", "unique_name"]
            .iter()
            .filter_map(|c| text(c))
            .any(|v| v.to_ascii_uppercase().contains("#EXT#"))
            || claims.get("acct").and_then(Value::as_i64) == Some(1);
        if guest && !checks.allow_guests {
            return Err(OidcError::GuestRefused);
        }
        ["email", "preferred_username", "upn"]
            .iter()
            .filter_map(|c| text(c))
            .find(|v| v.contains('@') && !v.to_ascii_uppercase().contains("#EXT#"))
            .ok_or(OidcError::EmailMissing)?
            .to_owned()
    } else {
        let email = text("email").ok_or(OidcError::EmailMissing)?.to_owned();
        // Only a JSON `true`: a missing claim or the string "true" does not count.
        if claims.get("email_verified") != Some(&Value::Bool(true)) {
            return Err(OidcError::EmailNotVerified);
        }
        email
    };
    if !email_domain_allowed(&email, allowed) {
        return Err(OidcError::EmailDomainNotAllowed);
    }
    if checks.preset == SourcePreset::Google {
        // Without `hd` this is a consumer account (gmail.com, or an address of the domain
        // registered as a personal Google account): never the Workspace's.
        let hd = text("hd").map(str::to_ascii_lowercase);
        if !hd.is_some_and(|hd| allowed.iter().any(|a| a.trim().eq_ignore_ascii_case(&hd))) {
            return Err(OidcError::HostedDomainMismatch);
        }
    }
    Ok(email)
}

/// The user's groups from `claims`, by the source's groups claim.
pub(crate) fn groups(checks: &ProviderChecks, claims: &Map<String, Value>) -> Groups {
    if checks.groups_claim.is_empty() {
        return Groups::Listed(Vec::new());
    }
    let overage = claims
        .get("_claim_names")
        .and_then(Value::as_object)
        .is_some_and(|names| names.contains_key(&checks.groups_claim))
        || claims.get("hasgroups") == Some(&Value::Bool(true));
    let value = match claims.get(&checks.groups_claim) {
        Some(v) => v,
        None if overage => {
            return match claims.get("oid").and_then(Value::as_str) {
                Some(oid) if is_guid(oid) => Groups::Overage {
                    object_id: oid.to_ascii_lowercase(),
                },
                _ => Groups::Unreadable("a group overage without the user's object ID (`oid`)"),
            };
        }
        None => return Groups::Listed(Vec::new()),
    };
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        Value::String(_) => vec![value],
        Value::Null => Vec::new(),
        _ => return Groups::Unreadable("the groups claim is not a list of names"),
    };
    if items.len() > MAX_GROUPS {
        return Groups::Unreadable("more groups than Rosetta keeps for a person");
    }
    let mut names = Vec::with_capacity(items.len());
    let mut bytes = 0;
    for item in items {
        let name = match item {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Groups::Unreadable("the groups claim is not a list of names"),
        };
        bytes += name.len();
        if bytes > MAX_GROUP_BYTES {
            return Groups::Unreadable("the group names are longer than Rosetta keeps for a person");
        }
        names.push(name);
    }
    Groups::Listed(names)
}

/// Every preset, for the console's chooser and the docs.
pub fn all() -> Vec<SourcePresetInfo> {
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
    let redirect =
        "Redirect URI: the one Rosetta shows for this source (https://<your Rosetta host>/oidc/callback/<name>)";
    vec![
        SourcePresetInfo {
            preset: SourcePreset::Google,
            label: "Google Workspace".into(),
            issuer_template: GOOGLE_ISSUER.into(),
            scopes: s(&["email", "profile"]),
            groups_claim: String::new(),
            steps: s(&[
                "Google Cloud console → APIs & Services → OAuth consent screen: User type Internal (only your Workspace's accounts).",
                "Credentials → Create credentials → OAuth client ID → Web application.",
                redirect,
                "Copy the client ID and client secret here; list your Workspace's domains as this source's email domains.",
            ]),
            checks: s(&[
                "The account's hosted domain (hd) must be one of this source's domains: personal Google accounts are refused, even with an address on your domain.",
                "email_verified must be true.",
            ]),
            offline_access: "Google refuses the offline_access scope: Rosetta asks access_type=offline with prompt=consent instead. Nothing to set up at Google.".into(),
        },
        SourcePresetInfo {
            preset: SourcePreset::Entra,
            label: "Microsoft Entra ID".into(),
            issuer_template: "https://login.microsoftonline.com/{tenant-id}/v2.0".into(),
            scopes: s(&["email", "profile"]),
            groups_claim: "groups".into(),
            steps: s(&[
                "Entra admin center → App registrations → New registration; Supported account types: Accounts in this organizational directory only.",
                redirect,
                "Certificates & secrets → New client secret; copy its Value (not its ID) here, and note its expiry.",
                "Token configuration → Add optional claim (ID token): email, upn; Add groups claim (Security groups, emitted as Group ID) if groups decide access.",
                "The issuer is https://login.microsoftonline.com/<Directory (tenant) ID>/v2.0 (Overview → Directory (tenant) ID); /common and /organizations are refused.",
                "For group overages (users in more than 200 groups): API permissions → Microsoft Graph → Application permission GroupMember.Read.All → Grant admin consent, then tick \"Fetch group overage\".",
            ]),
            checks: s(&[
                "tid must be your directory's ID: accounts of other Microsoft tenants are refused.",
                "Guest accounts (#EXT#) are refused unless \"Allow guest accounts\" is ticked.",
                "The email comes from email, else preferred_username or upn (unlicensed users have no email), and must be on one of this source's domains.",
                "A group overage is read from Microsoft Graph with this source's credentials when allowed; otherwise it is reported and the person's groups are left as they were.",
            ]),
            offline_access: "Nothing to set up: Entra issues refresh tokens for offline_access to web apps with a client secret.".into(),
        },
        SourcePresetInfo {
            preset: SourcePreset::Okta,
            label: "Okta".into(),
            issuer_template: "https://{org}.okta.com/oauth2/default".into(),
            scopes: s(&["email", "profile", "groups"]),
            groups_claim: "groups".into(),
            steps: s(&[
                "Okta Admin Console → Applications → Create App Integration → OIDC - OpenID Connect → Web Application.",
                "Sign-in redirect URI: the one Rosetta shows for this source; Grant type: Authorization Code (and Refresh Token for offline access).",
                "Assignments: the people or groups who may sign in.",
                "Groups: Security → API → Authorization Servers → default → Claims → Add Claim \"groups\" (ID Token, Always, Filter: Matches regex .*); on the org server use the app's Sign On tab → Groups claim filter.",
                "The issuer is https://<org>.okta.com/oauth2/default (custom authorization server) or https://<org>.okta.com (org server).",
            ]),
            checks: s(&["email_verified must be true."]),
            offline_access: "Tick the Refresh Token grant type on the application; Okta then honours offline_access.".into(),
        },
        SourcePresetInfo {
            preset: SourcePreset::Auth0,
            label: "Auth0".into(),
            issuer_template: "https://{tenant}.{region}.auth0.com/".into(),
            scopes: s(&["email", "profile"]),
            groups_claim: String::new(),
            steps: s(&[
                "Auth0 Dashboard → Applications → Create Application → Regular Web Application.",
                "Allowed Callback URLs: the redirect URI Rosetta shows for this source.",
                "The issuer is your tenant's domain (or your custom domain) with a trailing slash.",
                "Groups or roles reach the ID token only through an Action that sets a namespaced claim, e.g. https://acme.example/groups; name that claim as this source's groups claim.",
            ]),
            checks: s(&["The issuer must end with a slash, as Auth0 writes it.", "email_verified must be true."]),
            offline_access: "Application → Advanced settings → Grant Types: Refresh Token; and under APIs allow offline access.".into(),
        },
        SourcePresetInfo {
            preset: SourcePreset::Keycloak,
            label: "Keycloak".into(),
            issuer_template: "https://{host}/realms/{realm}".into(),
            scopes: s(&["email", "profile"]),
            groups_claim: "groups".into(),
            steps: s(&[
                "Realm → Clients → Create client: OpenID Connect, Client authentication on, Standard flow.",
                "Valid redirect URIs: the redirect URI Rosetta shows for this source.",
                "Credentials tab: copy the client secret.",
                "Groups: Client scopes → <client>-dedicated → Add mapper → Group Membership, Token Claim Name \"groups\", Full group path off, Add to ID token on.",
            ]),
            checks: s(&["The issuer must be the realm's URL.", "email_verified must be true (the realm verifies emails, or the user's email is marked verified)."]),
            offline_access: "The realm's offline_access role must be granted to the users (it is a default role).".into(),
        },
        SourcePresetInfo {
            preset: SourcePreset::Gitlab,
            label: "GitLab".into(),
            issuer_template: "https://gitlab.com".into(),
            scopes: s(&["email", "profile"]),
            groups_claim: "groups_direct".into(),
            steps: s(&[
                "GitLab → Group (or Admin Area) → Applications → Add new application: Confidential, scopes openid, email, profile.",
                "Redirect URI: the one Rosetta shows for this source.",
                "The issuer is https://gitlab.com, or your self-managed instance's URL.",
            ]),
            checks: s(&["email_verified must be true."]),
            offline_access: "GitLab always issues refresh tokens to confidential applications.".into(),
        },
        SourcePresetInfo {
            preset: SourcePreset::Generic,
            label: "Another OpenID provider".into(),
            issuer_template: "https://{issuer}".into(),
            scopes: s(&["email", "profile"]),
            groups_claim: String::new(),
            steps: s(&[
                "Register a confidential web application (authorization code flow with PKCE, client secret).",
                redirect,
            ]),
            checks: s(&["email_verified must be true, and the email on one of this source's domains."]),
            offline_access: "The provider must issue refresh tokens for the offline_access scope.".into(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TID: &str = "8e2f1b7c-5d3a-4c9e-b1f0-2a6d7e8f9a0b";

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn entra(allow_guests: bool) -> ProviderChecks {
        ProviderChecks {
            preset: SourcePreset::Entra,
            entra_tenant: Some(TID.into()),
            allow_guests,
            groups_claim: "groups".into(),
            fetch_group_overage: false,
        }
    }

    fn domains() -> Vec<String> {
        vec!["corp.example".into()]
    }

    #[test]
    fn issuers_by_preset() {
        let entra_issuer = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(check_issuer(SourcePreset::Entra, &entra_issuer, false).is_ok());
        assert_eq!(entra_tenant_of(&entra_issuer).as_deref(), Some(TID));
        for multi in ["common", "organizations"] {
            let e = check_issuer(
                SourcePreset::Entra,
                &format!("https://login.microsoftonline.com/{multi}/v2.0"),
                false,
            )
            .expect_err(multi);
            assert!(e.contains("every Microsoft tenant"), "{e}");
        }
        assert!(
            check_issuer(
                SourcePreset::Entra,
                "https://login.microsoftonline.com/consumers/v2.0",
                false
            )
            .is_err()
        );
        assert!(check_issuer(SourcePreset::Entra, &format!("https://sts.windows.net/{TID}/"), false).is_err());
        assert!(
            check_issuer(
                SourcePreset::Entra,
                "https://login.microsoftonline.com/contoso.com/v2.0",
                false
            )
            .is_err()
        );
        assert!(check_issuer(SourcePreset::Entra, &format!("https://evil.example/{TID}/v2.0"), false).is_err());
        // A stand-in on loopback in dev mode: the path rules still hold.
        assert!(check_issuer(SourcePreset::Entra, &format!("http://127.0.0.1:9/{TID}/v2.0"), true).is_ok());
        assert!(check_issuer(SourcePreset::Entra, "http://127.0.0.1:9/common/v2.0", true).is_err());
        assert!(check_issuer(SourcePreset::Google, "https://accounts.google.com", false).is_ok());
        assert!(check_issuer(SourcePreset::Google, "https://accounts.google.com/", false).is_err());
        assert!(check_issuer(SourcePreset::Auth0, "https://acme.eu.auth0.com/", false).is_ok());
        assert!(check_issuer(SourcePreset::Auth0, "https://acme.eu.auth0.com", false).is_err());
        assert!(check_issuer(SourcePreset::Keycloak, "https://kc.example/realms/corp", false).is_ok());
        assert!(check_issuer(SourcePreset::Keycloak, "https://kc.example/auth/realms/corp", false).is_ok());
        assert!(check_issuer(SourcePreset::Keycloak, "https://kc.example/corp", false).is_err());
        assert!(check_issuer(SourcePreset::Okta, "https://acme.okta.com", false).is_ok());
        assert!(check_issuer(SourcePreset::Okta, "https://acme.okta.com/oauth2/default", false).is_ok());
        assert!(check_issuer(SourcePreset::Okta, "https://acme.okta.com/other/x", false).is_err());
    }

    #[test]
    fn google_checks_the_hosted_domain() {
        let google = ProviderChecks {
            preset: SourcePreset::Google,
            ..ProviderChecks::default()
        };
        let ok = claims(json!({"email": "ada@corp.example", "email_verified": true, "hd": "corp.example"}));
        assert_eq!(email(&google, &ok, &domains()).as_deref(), Ok("ada@corp.example"));
        for bad in [
            json!({"email": "ada@corp.example", "email_verified": true}),
            json!({"email": "ada@corp.example", "email_verified": true, "hd": "other.example"}),
        ] {
            assert_eq!(
                email(&google, &claims(bad), &domains()),
                Err(OidcError::HostedDomainMismatch)
            );
        }
    }

    #[test]
    fn entra_checks_tid_guests_and_takes_the_upn() {
        let member = claims(json!({"tid": TID, "preferred_username": "bob@corp.example", "oid": TID}));
        assert_eq!(
            email(&entra(false), &member, &domains()).as_deref(),
            Ok("bob@corp.example")
        );
        let other = claims(json!({"tid": "00000000-0000-0000-0000-000000000000", "email": "bob@corp.example"}));
        assert_eq!(email(&entra(false), &other, &domains()), Err(OidcError::TenantMismatch));
        let guest = claims(json!({"tid": TID, "email": "carol@corp.example",
            "upn": "carol_gmail.com#EXT#@corp.onmicrosoft.com"}));
        assert_eq!(email(&entra(false), &guest, &domains()), Err(OidcError::GuestRefused));
        assert_eq!(
            email(&entra(true), &guest, &domains()).as_deref(),
            Ok("carol@corp.example")
        );
        let elsewhere = claims(json!({"tid": TID, "upn": "bob@corp.onmicrosoft.com"}));
        assert_eq!(
            email(&entra(false), &elsewhere, &domains()),
            Err(OidcError::EmailDomainNotAllowed)
        );
        assert_eq!(
            email(&entra(false), &claims(json!({"tid": TID})), &domains()),
            Err(OidcError::EmailMissing)
        );
    }

    #[test]
    fn groups_overage_and_bad_shapes() {
        let listed = claims(json!({"groups": ["a", "b", 7]}));
        assert_eq!(
            groups(&entra(false), &listed),
            Groups::Listed(vec!["a".into(), "b".into(), "7".into()])
        );
        let overage = claims(json!({"oid": TID, "_claim_names": {"groups": "src1"},
            "_claim_sources": {"src1": {"endpoint": "https://graph.windows.net/x/users/y/getMemberObjects"}}}));
        assert_eq!(
            groups(&entra(false), &overage),
            Groups::Overage { object_id: TID.into() }
        );
        assert!(matches!(
            groups(&entra(false), &claims(json!({"groups": {"a": 1}}))),
            Groups::Unreadable(_)
        ));
        let many: Vec<String> = (0..=MAX_GROUPS).map(|i| i.to_string()).collect();
        assert!(matches!(
            groups(&entra(false), &claims(json!({"groups": many}))),
            Groups::Unreadable(_)
        ));
        assert_eq!(
            groups(&ProviderChecks::default(), &listed),
            Groups::Listed(Vec::new()),
            "no groups claim set"
        );
    }
}
