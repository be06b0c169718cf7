//! What a service provider receives for a user: its NameID, its attributes and its groups,
//! from the rules an admin set ([`rosetta_api::Mapping`]).
//!
//! Rules are checked and compiled once per configuration ([`compile`]: paths split, regular
//! expressions built with a size bound, patterns and renames indexed), and a login only
//! evaluates them ([`Compiled::release`]) over what the provider vouched for ([`Subject`]).
//! Every bound holds at both ends: a rule that cannot be compiled is a field error naming
//! the rule; a value that breaks a bound at login is a [`MappingError`] naming the rule, and
//! the login stops before any assertion is written. No HTTP, no database.

mod groups;
mod path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rosetta_api::{AttributeRule, Claim, Mapping, NameIdRule, Transform, ValueSource};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use self::groups::GroupsFilter;
use self::path::ClaimPath;
use crate::saml::response::Attribute;
use crate::saml::uri::{NAMEID_EMAIL, NAMEID_PERSISTENT, NAMEID_TRANSIENT};

/// At most this many attribute rules per SP.
pub const MAX_RULES: usize = 32;
/// At most this many transforms per rule.
pub const MAX_TRANSFORMS: usize = 8;
/// At most this many values in an attribute (a groups attribute included).
pub const MAX_VALUES: usize = 256;
/// At most this many bytes in one value.
pub const MAX_VALUE_BYTES: usize = 2048;
/// At most this many bytes in all attribute values of one assertion.
pub const MAX_TOTAL_BYTES: usize = 64 * 1024;
/// At most this many characters in a regular expression.
pub const MAX_PATTERN_CHARS: usize = 256;
/// The compiled size a regular expression may reach (`regex`'s `size_limit`): a pattern
/// over it is "too costly". Matching is linear in the input, whose size is bounded above.
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// At most this many bytes in a NameID.
const MAX_NAME_ID_BYTES: usize = 256;

/// A rule that cannot be saved: `field` names it as the API reports it
/// (`attributes[2].transforms[0]`, `name_id`, `groups.allow[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// Where.
    pub field: String,
    /// What is wrong, naming the rule.
    pub message: String,
}

/// Why a login cannot be answered with this mapping: `rule` names it as the audit log and
/// the preview show it (`name_id`, `attributes[department]`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule `{rule}`: {message}")]
pub struct MappingError {
    /// The rule.
    pub rule: String,
    /// What happened.
    pub message: String,
}

/// What the provider vouched for, as the rules read it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Rosetta's user ID.
    pub user_id: Uuid,
    /// The verified email.
    pub email: &'a str,
    /// `given_name`.
    pub given_name: Option<&'a str>,
    /// `family_name`.
    pub family_name: Option<&'a str>,
    /// `name`.
    pub name: Option<&'a str>,
    /// The ID token's (and userinfo's) claims.
    pub claims: &'a Map<String, Value>,
    /// The user's upstream groups; `None` when unknown (an overage not fetched).
    pub groups: Option<&'a [String]>,
}

/// What an SP receives for one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The NameID.
    pub name_id: String,
    /// The attributes, in the rules' order (each with at least one value).
    pub attributes: Vec<Attribute>,
    /// The groups after the groups rule (`None`: the upstream groups are unknown).
    pub groups: Option<Vec<String>>,
}

/// A checked and compiled mapping.
#[derive(Debug, Clone)]
pub struct Compiled {
    name_id: CompiledValue,
    attributes: Vec<CompiledRule>,
    groups: GroupsFilter,
    provision_groups: bool,
}

/// The default mapping's rules: the verified email as NameID, no attribute, no group.
impl Default for Compiled {
    fn default() -> Self {
        Self {
            name_id: CompiledValue {
                source: Source::User(Claim::Email),
                transforms: Vec::new(),
            },
            attributes: Vec::new(),
            groups: GroupsFilter::default(),
            provision_groups: false,
        }
    }
}

#[derive(Debug, Clone)]
struct CompiledRule {
    name: String,
    /// `attributes[<name>]`: how errors, the audit log and the preview name the rule.
    label: String,
    name_format: String,
    value: CompiledValue,
    multi_valued: bool,
    required: bool,
}

#[derive(Debug, Clone)]
struct CompiledValue {
    source: Source,
    transforms: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Source {
    User(Claim),
    Claim(ClaimPath),
    FirstOf(Vec<ClaimPath>),
    Static(Vec<String>),
    Groups,
}

#[derive(Debug, Clone)]
enum Step {
    Lowercase,
    ReplaceDomain(String),
    Regex(regex::Regex),
}

/// Checks `mapping` and compiles it; every problem found, each naming its rule.
pub fn compile(mapping: &Mapping) -> Result<Compiled, Vec<RuleError>> {
    let mut errors = Vec::new();
    let name_id = compile_name_id(&mapping.name_id, &mut errors);
    if mapping.attributes.len() > MAX_RULES {
        errors.push(RuleError {
            field: "attributes".into(),
            message: format!("at most {MAX_RULES} attributes"),
        });
    }
    let mut seen = std::collections::HashSet::new();
    let attributes: Vec<CompiledRule> = mapping
        .attributes
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            let field = format!("attributes[{i}]");
            if !seen.insert(rule.name.as_str()) {
                errors.push(RuleError {
                    field: format!("{field}.name"),
                    message: format!("attribute `{}` appears twice", rule.name),
                });
            }
            compile_rule(rule, &field, &mut errors)
        })
        .collect();
    let groups = GroupsFilter::compile(&mapping.groups, &mut errors);
    match (name_id, errors.is_empty()) {
        (Some(name_id), true) => Ok(Compiled {
            name_id,
            attributes,
            groups,
            provision_groups: mapping.groups.provision,
        }),
        _ => Err(errors),
    }
}

fn compile_name_id(rule: &NameIdRule, errors: &mut Vec<RuleError>) -> Option<CompiledValue> {
    if matches!(rule.value, ValueSource::Groups) {
        errors.push(RuleError {
            field: "name_id".into(),
            message: "the NameID identifies one person: it cannot be their groups".into(),
        });
        return None;
    }
    if let ValueSource::Static { .. } = rule.value {
        errors.push(RuleError {
            field: "name_id".into(),
            message: "a fixed NameID would make every person the same account".into(),
        });
        return None;
    }
    compile_value(&rule.value, &rule.transforms, "name_id", "name_id", errors)
}

fn compile_rule(rule: &AttributeRule, field: &str, errors: &mut Vec<RuleError>) -> Option<CompiledRule> {
    let named = |m: &str| format!("attribute `{}`: {m}", rule.name);
    if rule.name.trim().is_empty() || rule.name.len() > 256 || rule.name.chars().any(char::is_control) {
        errors.push(RuleError {
            field: format!("{field}.name"),
            message: "an attribute name has 1 to 256 printable characters".into(),
        });
        return None;
    }
    if rule.name_format.trim().is_empty()
        || rule.name_format.len() > 256
        || rule.name_format.chars().any(char::is_control)
    {
        errors.push(RuleError {
            field: format!("{field}.name_format"),
            message: named("the name format is a URI of up to 256 characters"),
        });
        return None;
    }
    let value = compile_value(
        &rule.value,
        &rule.transforms,
        field,
        &format!("attribute `{}`", rule.name),
        errors,
    )?;
    Some(CompiledRule {
        name: rule.name.clone(),
        label: format!("attributes[{}]", rule.name),
        name_format: rule.name_format.clone(),
        value,
        multi_valued: rule.multi_valued,
        required: rule.required,
    })
}

fn compile_value(
    source: &ValueSource,
    transforms: &[Transform],
    field: &str,
    rule: &str,
    errors: &mut Vec<RuleError>,
) -> Option<CompiledValue> {
    let before = errors.len();
    let mut error = |field: String, message: String| {
        errors.push(RuleError {
            field,
            message: format!("{rule}: {message}"),
        });
    };
    let source = match source {
        ValueSource::User { value } => Source::User(*value),
        ValueSource::Claim { path } => match ClaimPath::parse(path) {
            Ok(p) => Source::Claim(p),
            Err(m) => {
                error(format!("{field}.value"), m);
                return None;
            }
        },
        ValueSource::FirstOf { paths } => {
            if paths.is_empty() || paths.len() > 8 {
                error(format!("{field}.value"), "“first of” names 1 to 8 claims".into());
                return None;
            }
            let mut parsed = Vec::with_capacity(paths.len());
            for p in paths {
                match ClaimPath::parse(p) {
                    Ok(p) => parsed.push(p),
                    Err(m) => error(format!("{field}.value"), m),
                }
            }
            Source::FirstOf(parsed)
        }
        ValueSource::Static { values } => {
            if values.is_empty() || values.len() > 16 {
                error(format!("{field}.value"), "a fixed value lists 1 to 16 values".into());
            } else if let Some(v) = values
                .iter()
                .find(|v| v.is_empty() || v.len() > MAX_VALUE_BYTES || v.chars().any(char::is_control))
            {
                error(
                    format!("{field}.value"),
                    format!(
                        "a fixed value has 1 to {MAX_VALUE_BYTES} bytes and no control characters (not `{}`)",
                        truncated(v)
                    ),
                );
            }
            Source::Static(values.clone())
        }
        ValueSource::Groups => Source::Groups,
    };
    if transforms.len() > MAX_TRANSFORMS {
        error(
            format!("{field}.transforms"),
            format!("at most {MAX_TRANSFORMS} transforms"),
        );
    }
    let mut steps = Vec::with_capacity(transforms.len());
    for (i, t) in transforms.iter().enumerate() {
        let at = format!("{field}.transforms[{i}]");
        match t {
            Transform::Lowercase => steps.push(Step::Lowercase),
            Transform::ReplaceDomain { domain } => match crate::domain::EmailDomain::parse(domain) {
                Ok(d) => steps.push(Step::ReplaceDomain(d.to_string())),
                Err(_) => error(at, format!("`{}` is not a domain name", truncated(domain))),
            },
            Transform::Regex { pattern } => match compile_regex(pattern) {
                Ok(re) => steps.push(Step::Regex(re)),
                Err(m) => error(at, m),
            },
        }
    }
    (errors.len() == before).then_some(CompiledValue {
        source,
        transforms: steps,
    })
}

fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    if pattern.is_empty() || pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(format!("a pattern has 1 to {MAX_PATTERN_CHARS} characters"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(32)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => {
                "the pattern is too costly (its compiled form exceeds the size bound); simplify it".to_owned()
            }
            other => format!("the pattern is not valid: {}", first_line(&other.to_string())),
        })
}

fn first_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_owned()
}

fn truncated(v: &str) -> String {
    let mut end = v.len().min(40);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    if end < v.len() {
        format!("{}…", v[..end].escape_default())
    } else {
        v.escape_default().to_string()
    }
}

/// The persistent NameID of a user at an SP: a pairwise identifier (SHA-256 of the SP's
/// secret salt and the user ID), so two SPs never hold the same identifier for one person
/// and cannot link their accounts; an SP without a salt (registered before pairwise
/// identifiers) keeps the user ID its accounts are keyed on.
pub fn pairwise_id(salt: Option<&str>, user_id: Uuid) -> String {
    match salt {
        Some(salt) => {
            let mut h = Sha256::new();
            h.update(salt.as_bytes());
            h.update(b":");
            h.update(user_id.as_bytes());
            URL_SAFE_NO_PAD.encode(h.finalize())
        }
        None => user_id.to_string(),
    }
}

/// A transient NameID: 128 random bits, new for every assertion.
fn transient_id() -> String {
    format!("_{}", crate::credentials::hex(&rand::random::<[u8; 16]>()))
}

impl Compiled {
    /// Whether the SP's provisioning target receives group memberships.
    pub fn provisions_groups(&self) -> bool {
        self.provision_groups && !self.groups.is_empty()
    }

    /// The groups the SP receives out of `upstream`.
    pub fn groups(&self, upstream: &[String]) -> Vec<String> {
        self.groups.apply(upstream)
    }

    /// The NameID in `format` (a URI); `salt` is the SP's pairwise salt.
    pub fn name_id(&self, format: &str, salt: Option<&str>, subject: &Subject<'_>) -> Result<String, MappingError> {
        let fail = |message: String| MappingError {
            rule: "name_id".into(),
            message,
        };
        match format {
            NAMEID_PERSISTENT => return Ok(pairwise_id(salt, subject.user_id)),
            NAMEID_TRANSIENT => return Ok(transient_id()),
            _ => {}
        }
        let value = self
            .name_id
            .values(subject, None, "name_id")?
            .into_iter()
            .next()
            .ok_or_else(|| fail("it gives no value for this person, and a NameID cannot be empty".into()))?;
        if value.len() > MAX_NAME_ID_BYTES || value.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(fail(format!(
                "`{}` cannot be a NameID (at most {MAX_NAME_ID_BYTES} bytes, no spaces)",
                truncated(&value)
            )));
        }
        if format == NAMEID_EMAIL && !looks_like_email(&value) {
            return Err(fail(format!(
                "`{}` is not an email address, and the NameID format is email",
                truncated(&value)
            )));
        }
        Ok(value)
    }

    /// Everything the SP receives for `subject`; the first rule that fails stops it.
    pub fn release(&self, format: &str, salt: Option<&str>, subject: &Subject<'_>) -> Result<Release, MappingError> {
        let name_id = self.name_id(format, salt, subject)?;
        let groups = subject.groups.map(|g| self.groups.apply(g));
        let mut total = 0usize;
        let mut attributes = Vec::with_capacity(self.attributes.len());
        for rule in &self.attributes {
            let values = rule.values(subject, groups.as_deref())?;
            if values.is_empty() {
                if rule.required {
                    return Err(rule.no_value());
                }
                continue;
            }
            total += values.iter().map(String::len).sum::<usize>();
            if total > MAX_TOTAL_BYTES {
                return Err(MappingError {
                    rule: rule.label.clone(),
                    message: format!("the attributes reach more than {} KiB together", MAX_TOTAL_BYTES / 1024),
                });
            }
            attributes.push(Attribute {
                name: rule.name.clone(),
                name_format: rule.name_format.clone(),
                values,
            });
        }
        Ok(Release {
            name_id,
            attributes,
            groups,
        })
    }

    /// Like [`Self::release`], but going on past problems: what the SP would receive, and
    /// every problem with whether it refuses the login (the console's preview).
    pub fn preview(&self, format: &str, salt: Option<&str>, subject: &Subject<'_>) -> Preview {
        let mut problems = Vec::new();
        let name_id = self
            .name_id(format, salt, subject)
            .map_err(|e| problems.push((e, true)))
            .ok();
        let groups = subject.groups.map(|g| self.groups.apply(g));
        let mut attributes = Vec::new();
        for rule in &self.attributes {
            match rule.values(subject, groups.as_deref()) {
                Ok(values) => {
                    if values.is_empty() {
                        problems.push((rule.no_value(), rule.required));
                    }
                    attributes.push((rule.name.clone(), values));
                }
                Err(e) => {
                    problems.push((e, true));
                    attributes.push((rule.name.clone(), Vec::new()));
                }
            }
        }
        if subject.groups.is_none() && (!self.groups.is_empty() || self.uses_groups()) {
            problems.push((
                MappingError {
                    rule: "groups".into(),
                    message: "the provider's groups are unknown for this person (a group overage that was not \
                              fetched): no group is sent and memberships are left as they are"
                        .into(),
                },
                false,
            ));
        }
        Preview {
            name_id,
            attributes,
            groups: groups.unwrap_or_default(),
            problems,
        }
    }

    fn uses_groups(&self) -> bool {
        self.attributes.iter().any(|r| matches!(r.value.source, Source::Groups))
    }
}

/// What [`Compiled::preview`] found.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The NameID, unless its rule fails.
    pub name_id: Option<String>,
    /// Each attribute's values, in the rules' order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The groups after the groups rule.
    pub groups: Vec<String>,
    /// Problems, with whether each refuses the login.
    pub problems: Vec<(MappingError, bool)>,
}

fn looks_like_email(v: &str) -> bool {
    v.rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
}

impl CompiledRule {
    /// The rule's values for `subject` (only the first unless multi-valued); `groups` are
    /// the SP's groups.
    fn values(&self, subject: &Subject<'_>, groups: Option<&[String]>) -> Result<Vec<String>, MappingError> {
        let mut values = self.value.values(subject, groups, &self.label)?;
        if !self.multi_valued {
            values.truncate(1);
        }
        Ok(values)
    }

    /// What an empty result means: a refusal when the rule is required, else a note.
    fn no_value(&self) -> MappingError {
        MappingError {
            rule: self.label.clone(),
            message: if self.required {
                "it gives no value for this person, and it is required".into()
            } else {
                "it gives no value for this person: the attribute is left out".into()
            },
        }
    }
}

impl CompiledValue {
    /// The values, transformed; `groups` are the SP's groups (for [`Source::Groups`]).
    fn values(
        &self,
        subject: &Subject<'_>,
        groups: Option<&[String]>,
        rule: &str,
    ) -> Result<Vec<String>, MappingError> {
        let fail = |message: String| MappingError {
            rule: rule.to_owned(),
            message,
        };
        let raw: Vec<String> = match &self.source {
            Source::User(claim) => match claim {
                Claim::Email => Some(subject.email.to_owned()),
                Claim::GivenName => subject.given_name.map(str::to_owned),
                Claim::FamilyName => subject.family_name.map(str::to_owned),
                Claim::Name => subject.name.map(str::to_owned),
                Claim::UserId => Some(subject.user_id.to_string()),
            }
            .into_iter()
            .collect(),
            Source::Claim(path) => path.values(subject.claims).map_err(fail)?,
            Source::FirstOf(paths) => {
                let mut found = Vec::new();
                for p in paths {
                    let mut v = p.values(subject.claims).map_err(fail)?;
                    v.retain(|s| !s.is_empty());
                    if !v.is_empty() {
                        found = v;
                        break;
                    }
                }
                found
            }
            Source::Static(values) => values.clone(),
            Source::Groups => groups.map(<[String]>::to_vec).unwrap_or_default(),
        };
        let mut out = Vec::with_capacity(raw.len());
        for value in raw {
            if value.len() > MAX_VALUE_BYTES {
                return Err(fail(format!(
                    "a value of {} bytes, more than the {MAX_VALUE_BYTES} allowed",
                    value.len()
                )));
            }
            if let Some(v) = self.transform(value)
                && !v.is_empty()
            {
                out.push(v);
            }
            if out.len() > MAX_VALUES {
                return Err(fail(format!("more than the {MAX_VALUES} values allowed")));
            }
        }
        Ok(out)
    }

    fn transform(&self, mut value: String) -> Option<String> {
        for step in &self.transforms {
            value = match step {
                Step::Lowercase => value.to_lowercase(),
                Step::ReplaceDomain(domain) => {
                    let (local, _) = value.rsplit_once('@')?;
                    if local.is_empty() {
                        return None;
                    }
                    format!("{local}@{domain}")
                }
                Step::Regex(re) => {
                    let caps = re.captures(&value)?;
                    caps.get(1).or_else(|| caps.get(0))?.as_str().to_owned()
                }
            };
        }
        Some(value)
    }
}

/// The mapping an SP gets from its preset when none is stored.
pub fn default_mapping(attributes: Vec<AttributeRule>) -> Mapping {
    Mapping {
        name_id_format: None,
        name_id: NameIdRule::default(),
        attributes,
        groups: rosetta_api::GroupsRule::default(),
    }
}

#[cfg(test)]
mod tests;
