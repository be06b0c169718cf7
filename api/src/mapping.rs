//! What a service provider receives: its attribute rules, its NameID and its groups rule,
//! and the preview of them. Rules are checked when saved and compiled once per
//! configuration by the server (`server/src/mapping/`).

use serde::{Deserialize, Serialize};

use crate::Claim;

/// Where the values of an attribute (or of the NameID) come from.
///
/// A claim `path` names a claim of the ID token or of userinfo: first as a top-level name
/// (`upn`, `https://acme.example/roles` as Auth0 namespaces them), else as a dotted path
/// (`address.country`, `realm_access.roles`). An array gives each of its elements; a
/// number or boolean its text; an object is a type error.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ValueSource {
    /// A value Rosetta vouches for: the verified email, the names, Rosetta's user ID.
    User {
        /// Which one.
        value: Claim,
    },
    /// A claim at `path`.
    Claim {
        /// Top-level claim name, or dotted path.
        path: String,
    },
    /// The first of these claims with a non-empty value.
    FirstOf {
        /// Claim paths, tried in order.
        paths: Vec<String>,
    },
    /// Fixed values.
    Static {
        /// The values sent.
        values: Vec<String>,
    },
    /// The user's groups after the service provider's groups rule.
    Groups,
}

/// A bounded change applied to each value, in order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Transform {
    /// Lowercase (Unicode).
    Lowercase,
    /// `local@any` becomes `local@domain` (for an SP whose verified domain differs from the
    /// provider's); a value without `@` is dropped.
    ReplaceDomain {
        /// The new domain.
        domain: String,
    },
    /// The first capture group of a regular expression (the whole match when it has no
    /// group); a value that does not match is dropped. Linear-time matching, a pattern of at
    /// most 256 characters and a bounded compiled size.
    Regex {
        /// The pattern (Rust `regex` syntax: no look-around, no back-references).
        pattern: String,
    },
}

/// One attribute a service provider receives.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawAttributeRule")]
pub struct AttributeRule {
    /// SAML attribute `Name`.
    pub name: String,
    /// SAML `NameFormat`.
    pub name_format: String,
    /// Where its values come from.
    pub value: ValueSource,
    /// Changes applied to each value, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Transform>,
    /// Send every value (a multi-valued attribute); otherwise only the first.
    #[serde(default)]
    pub multi_valued: bool,
    /// Refuse the login when the rule yields no value (otherwise the attribute is left out).
    #[serde(default)]
    pub required: bool,
}

/// An attribute rule as accepted on the wire: `claim` is the form from before rules had a
/// `value` (`{"claim": "email"}` is `{"value": {"from": "user", "value": "email"}}`).
#[derive(Deserialize)]
struct RawAttributeRule {
    name: String,
    name_format: String,
    #[serde(default)]
    value: Option<ValueSource>,
    #[serde(default)]
    claim: Option<Claim>,
    #[serde(default)]
    transforms: Vec<Transform>,
    #[serde(default)]
    multi_valued: bool,
    #[serde(default)]
    required: bool,
}

impl TryFrom<RawAttributeRule> for AttributeRule {
    type Error = String;

    fn try_from(raw: RawAttributeRule) -> Result<Self, String> {
        let value = match (raw.value, raw.claim) {
            (Some(v), None) => v,
            (None, Some(claim)) => ValueSource::User { value: claim },
            (Some(_), Some(_)) => return Err("an attribute rule has `value` or the older `claim`, not both".into()),
            (None, None) => return Err("an attribute rule needs a `value`".into()),
        };
        Ok(Self {
            name: raw.name,
            name_format: raw.name_format,
            value,
            transforms: raw.transforms,
            multi_valued: raw.multi_valued,
            required: raw.required,
        })
    }
}

/// The NameID's value for the `email` and `unspecified` formats (`persistent` is a
/// pairwise identifier and `transient` a one-time one, both made by Rosetta).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameIdRule {
    /// Where the value comes from (the first value is used).
    pub value: ValueSource,
    /// Changes applied to it, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Transform>,
}

impl Default for NameIdRule {
    fn default() -> Self {
        Self {
            value: ValueSource::User { value: Claim::Email },
            transforms: Vec::new(),
        }
    }
}

/// An upstream group renamed for the service provider.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRename {
    /// The provider's group name (exact).
    pub from: String,
    /// The name the SP receives (for Atlassian: the group in its directory).
    pub to: String,
}

/// Which of the user's upstream groups an SP receives, and under which names.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupsRule {
    /// Groups that pass: exact names, or patterns with `*` (any run of characters).
    /// Empty: no group passes.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Renames applied to the groups that passed; the others keep their names.
    #[serde(default)]
    pub rename: Vec<GroupRename>,
    /// Whether the SP's provisioning target (if any) receives the memberships as SCIM
    /// groups (created when absent).
    #[serde(default)]
    pub provision: bool,
}

/// `PUT /api/v1/service-providers/{id}/mapping`: the whole mapping of an SP.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// The NameID format URI (`…:nameid-format:emailAddress`, `…:persistent`, `…:transient`,
    /// `…:unspecified`); unchanged when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_id_format: Option<String>,
    /// The NameID's value (for the `email` and `unspecified` formats).
    #[serde(default)]
    pub name_id: NameIdRule,
    /// The attributes, in the order sent.
    pub attributes: Vec<AttributeRule>,
    /// The groups rule.
    #[serde(default)]
    pub groups: GroupsRule,
}

/// `POST /api/v1/service-providers/{id}/mapping/preview`: run a mapping (the saved one, or
/// `mapping` before it is saved) for a known user (their last login's claims) or a sample set
/// of claims.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingPreviewRequest {
    /// An end user's ID.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Or sample claims, as an ID token would carry them (a JSON object as text).
    #[serde(default)]
    pub claims_json: Option<String>,
    /// A mapping to try instead of the saved one.
    #[serde(default)]
    pub mapping: Option<Mapping>,
}

/// One attribute as the SP would receive it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewAttribute {
    /// SAML attribute `Name`.
    pub name: String,
    /// Its values (empty: left out of the assertion).
    pub values: Vec<String>,
}

/// A rule that would stop the login, or a value left out, and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewProblem {
    /// The rule: `name_id`, `attributes[<name>]` or `groups`.
    pub rule: String,
    /// What is wrong.
    pub message: String,
    /// Whether it refuses the login (otherwise the value is only left out).
    pub refuses_login: bool,
}

/// What the SP would receive.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingPreview {
    /// The NameID (for `transient`: an example, a new one each login).
    pub name_id: Option<String>,
    /// Its format URI.
    pub name_id_format: String,
    /// The attributes.
    pub attributes: Vec<PreviewAttribute>,
    /// The user's upstream groups, as the source sent them (`None`: unknown, e.g. an Entra
    /// group overage that was not fetched).
    pub upstream_groups: Option<Vec<String>>,
    /// The groups the SP receives, after the groups rule.
    pub groups: Vec<String>,
    /// Problems found.
    pub problems: Vec<PreviewProblem>,
    /// The claims the preview ran on (the user's last login, or the sample).
    pub claims_json: String,
}

/// Which kind of OpenID provider a source is: each preset fills the form, says what to set
/// up at the provider and adds its own checks at login.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourcePreset {
    /// Any OpenID provider: the standard checks only.
    #[default]
    Generic,
    /// Google Workspace: `hd` must be one of the source's domains.
    Google,
    /// Microsoft Entra ID: a tenant-specific issuer, `tid` checked, guests refused unless
    /// allowed, email from `email` or else the UPN on a listed domain, group overage.
    Entra,
    /// Okta (org or custom authorization server).
    Okta,
    /// Auth0 (custom domains, namespaced claims).
    Auth0,
    /// Keycloak (a realm's issuer, the groups mapper).
    Keycloak,
    /// GitLab (gitlab.com or self-managed).
    Gitlab,
}

/// What a preset asks of the admin, for the console's chooser and the docs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePresetInfo {
    /// The preset.
    pub preset: SourcePreset,
    /// Its name for people.
    pub label: String,
    /// The issuer, with `{placeholders}` for what the admin fills in.
    pub issuer_template: String,
    /// Scopes to ask (besides `openid`).
    pub scopes: Vec<String>,
    /// The claim carrying groups (empty: none by default).
    pub groups_claim: String,
    /// What to create and set at the provider, step by step (the redirect URI is the
    /// source's `redirect_uri`).
    pub steps: Vec<String>,
    /// What Rosetta checks at each login with this preset.
    pub checks: Vec<String>,
    /// What the provider needs for refresh tokens (offline access).
    pub offline_access: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_older_claim_form_still_reads_and_writes_the_new_one() {
        let old: AttributeRule =
            serde_json::from_str(r#"{"name":"email","name_format":"u","claim":"email"}"#).expect("older form");
        assert_eq!(old.value, ValueSource::User { value: Claim::Email });
        let written = serde_json::to_string(&old).expect("serialises");
        assert!(
            written.contains(r#""value":{"from":"user","value":"email"}"#),
            "{written}"
        );
        let back: AttributeRule = serde_json::from_str(&written).expect("new form");
        assert_eq!(back, old);
        assert!(
            serde_json::from_str::<AttributeRule>(
                r#"{"name":"e","name_format":"u","claim":"email","value":{"from":"groups"}}"#
            )
            .is_err()
        );
        assert!(serde_json::from_str::<AttributeRule>(r#"{"name":"e","name_format":"u"}"#).is_err());
    }

    #[test]
    fn value_sources_are_tagged_by_from() {
        let v: ValueSource = serde_json::from_str(r#"{"from":"first_of","paths":["email","upn"]}"#).expect("first_of");
        assert_eq!(
            v,
            ValueSource::FirstOf {
                paths: vec!["email".into(), "upn".into()]
            }
        );
        let t: Transform = serde_json::from_str(r#"{"op":"replace_domain","domain":"acme.com"}"#).expect("t");
        assert_eq!(
            t,
            Transform::ReplaceDomain {
                domain: "acme.com".into()
            }
        );
        assert_eq!(
            serde_json::to_string(&ValueSource::Groups).expect("g"),
            r#"{"from":"groups"}"#
        );
    }
}
