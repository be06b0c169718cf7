//! Claims, groups and presets through the whole login (issue 23): the SP's rules decide the
//! NameID and every attribute of the assertion; a rule that cannot be saved is a field error
//! naming it; a rule that refuses a person ends the login on Rosetta's page, audited with
//! the rule, with no assertion; the preview runs the same rules on the last login's claims;
//! Google's `hd` is checked.

use rosetta::admin::service_providers::Which;
use rosetta::admin::{AdminError, Scope, mapping};
use rosetta::domain::TenantSlug;
use rosetta::services::audit;
use rosetta_api::{
    AttributeRule, GroupRename, GroupsRule, Mapping, MappingPreviewRequest, NameIdRule, SourcePreset, Transform,
    ValueSource,
};
use serde_json::{Value, json};

use crate::rp_conformance::{Case, case, case_with_source};
use crate::sso::posted_response;

async fn scope(c: &Case) -> Scope {
    Scope::operator(&c.app.state, &TenantSlug::parse("acme").unwrap())
        .await
        .unwrap()
}

fn rule(name: &str, value: ValueSource) -> AttributeRule {
    AttributeRule {
        name: name.into(),
        name_format: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic".into(),
        value,
        transforms: vec![],
        multi_valued: false,
        required: false,
    }
}

fn claim(path: &str) -> ValueSource {
    ValueSource::Claim { path: path.into() }
}

/// Ten attribute rules of every kind and a groups rule: what the benchmark runs too.
fn ten_rules_and_groups() -> Mapping {
    Mapping {
        name_id_format: None,
        name_id: NameIdRule {
            value: ValueSource::FirstOf {
                paths: vec!["upn".into(), "email".into()],
            },
            transforms: vec![Transform::Lowercase],
        },
        attributes: vec![
            rule(
                "email",
                ValueSource::User {
                    value: rosetta_api::Claim::Email,
                },
            ),
            rule("department", claim("department")),
            AttributeRule {
                transforms: vec![Transform::Lowercase],
                ..rule("department_lc", claim("department"))
            },
            rule("country", claim("address.country")),
            AttributeRule {
                multi_valued: true,
                ..rule("roles", claim("https://acme.example/roles"))
            },
            AttributeRule {
                transforms: vec![Transform::ReplaceDomain {
                    domain: "acme.example".into(),
                }],
                ..rule(
                    "atlassian_email",
                    ValueSource::User {
                        value: rosetta_api::Claim::Email,
                    },
                )
            },
            AttributeRule {
                transforms: vec![Transform::Regex {
                    pattern: r"^E-(\d+)$".into(),
                }],
                ..rule("employee_number", claim("employee_id"))
            },
            rule(
                "tier",
                ValueSource::Static {
                    values: vec!["gold".into()],
                },
            ),
            rule(
                "user_id",
                ValueSource::User {
                    value: rosetta_api::Claim::UserId,
                },
            ),
            AttributeRule {
                multi_valued: true,
                ..rule("groups", ValueSource::Groups)
            },
        ],
        groups: GroupsRule {
            allow: vec!["eng-*".into(), "admins".into()],
            rename: vec![GroupRename {
                from: "eng-all".into(),
                to: "jira-software-users".into(),
            }],
            provision: true,
        },
    }
}

fn rich_claims(claims: &mut serde_json::Map<String, Value>) {
    claims.insert("upn".into(), json!("Alice@CORP.com"));
    claims.insert("department".into(), json!("R&D"));
    claims.insert("address".into(), json!({"country": "UK"}));
    claims.insert("https://acme.example/roles".into(), json!(["admin", "dev"]));
    claims.insert("employee_id".into(), json!("E-042"));
    claims.insert("groups".into(), json!(["eng-all", "sales", "eng-ops"]));
}

/// `Name="<name>"` attribute's values in `xml`.
fn values(xml: &str, name: &str) -> Vec<String> {
    let Some(start) = xml.find(&format!("Name=\"{name}\"")) else {
        return vec![];
    };
    let end = xml[start..].find("</saml:Attribute>").unwrap() + start;
    xml[start..end]
        .split("<saml:AttributeValue")
        .skip(1)
        .map(|v| {
            let v = &v[v.find('>').unwrap() + 1..];
            v[..v.find("</saml:AttributeValue>").unwrap()].replace("&amp;", "&")
        })
        .collect()
}

fn name_id(xml: &str) -> String {
    let start = xml.find("<saml:NameID").unwrap();
    let v = &xml[start..];
    let v = &v[v.find('>').unwrap() + 1..];
    v[..v.find("</saml:NameID>").unwrap()].to_owned()
}

async fn with_groups_claim() -> Case {
    case_with_source(|_| {}, |s| s.groups_claim = Some("groups".into())).await
}

#[tokio::test]
async fn the_rules_decide_the_name_id_and_every_attribute() {
    let c = with_groups_claim().await;
    let sp = mapping::set(
        &c.app.state,
        &scope(&c).await,
        Which::Name("jira"),
        ten_rules_and_groups(),
    )
    .await
    .unwrap();
    assert_eq!(sp.attributes.len(), 10);
    let (status, page) = c.login_edited(rich_claims).await;
    c.assert_accepted((status, page.clone())).await;
    let xml = posted_response(&page);
    assert_eq!(name_id(&xml), "alice@corp.com", "first of upn, email; lowercased");
    assert_eq!(values(&xml, "email"), ["alice@corp.com"]);
    assert_eq!(values(&xml, "department"), ["R&D"]);
    assert_eq!(values(&xml, "department_lc"), ["r&d"]);
    assert_eq!(values(&xml, "country"), ["UK"]);
    assert_eq!(values(&xml, "roles"), ["admin", "dev"]);
    assert_eq!(values(&xml, "atlassian_email"), ["alice@acme.example"]);
    assert_eq!(values(&xml, "employee_number"), ["042"]);
    assert_eq!(values(&xml, "tier"), ["gold"]);
    assert_eq!(values(&xml, "user_id").len(), 1);
    assert_eq!(values(&xml, "groups"), ["jira-software-users", "eng-ops"]);

    // The preview of that user's last login says the same, from the claims it kept.
    let users = rosetta::services::end_users::page(&c.app.state.db, c.tenant_id, None, 1, 10)
        .await
        .unwrap()
        .0;
    let preview = mapping::preview(
        &c.app.state,
        &scope(&c).await,
        Which::Name("jira"),
        MappingPreviewRequest {
            user_id: Some(users[0].id.to_string()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(preview.name_id.as_deref(), Some("alice@corp.com"));
    let department = preview.attributes.iter().find(|a| a.name == "department_lc").unwrap();
    assert_eq!(department.values, ["r&d"]);
    assert_eq!(preview.groups, ["jira-software-users", "eng-ops"]);
    assert_eq!(
        preview.upstream_groups.as_deref(),
        Some(&["eng-all".to_owned(), "sales".to_owned(), "eng-ops".to_owned()][..])
    );
    assert!(preview.problems.is_empty(), "{:?}", preview.problems);
    assert!(!preview.claims_json.contains("nonce"), "protocol claims are not kept");
}

#[tokio::test]
async fn a_rule_that_refuses_a_person_ends_the_login_audited_with_the_rule() {
    let c = case().await;
    let mut m = ten_rules_and_groups();
    m.attributes[1].required = true;
    mapping::set(&c.app.state, &scope(&c).await, Which::Name("jira"), m.clone())
        .await
        .unwrap();
    // No `department` claim: the required rule refuses.
    let (status, page) = c.login_edited(|_| {}).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("department") && page.contains("required"), "{page}");
    assert!(!page.contains("SAMLResponse"), "no assertion");
    c.app.state.audit.flush().await;
    let events = audit::recent(&c.app.state.db, c.tenant_id, 20).await.unwrap();
    let failure = events
        .iter()
        .find(|e| e.action == "login" && e.outcome == "failure")
        .expect("audited");
    let detail: Value = serde_json::from_str(&failure.detail).unwrap();
    assert_eq!(detail["reason"], "mapping");
    assert_eq!(detail["rule"], "attributes[department]");
    assert_eq!(
        c.app.state.store.count_kind("sso").await.unwrap(),
        0,
        "no broker session is left behind by the refused login"
    );

    // A claim of the wrong type is a clear failure too, never a half-filled assertion.
    m.attributes[1].required = false;
    mapping::set(&c.app.state, &scope(&c).await, Which::Name("jira"), m)
        .await
        .unwrap();
    let (status, page) = c
        .login_edited(|claims| {
            claims.insert("department".into(), json!({"name": "R&D"}));
        })
        .await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("is an object"), "{page}");

    // An email NameID from a claim that is no email refuses too.
    let mut m = ten_rules_and_groups();
    m.name_id.value = claim("employee_id");
    mapping::set(&c.app.state, &scope(&c).await, Which::Name("jira"), m)
        .await
        .unwrap();
    let (status, page) = c.login_edited(rich_claims).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("name_id"), "{page}");
}

#[tokio::test]
async fn rules_that_cannot_be_saved_are_field_errors_naming_them_and_nothing_changes() {
    let c = case().await;
    let s = scope(&c).await;
    let before = rosetta::admin::service_providers::get(&c.app.state, &s, Which::Name("jira"))
        .await
        .unwrap();
    let mut m = ten_rules_and_groups();
    m.attributes[6].transforms = vec![Transform::Regex { pattern: "(E-".into() }];
    m.attributes[2].transforms = vec![Transform::Regex {
        pattern: r"(\w{100}){100}".into(),
    }];
    m.attributes[7].value = ValueSource::Static {
        values: vec!["x".repeat(5000)],
    };
    m.name_id.value = ValueSource::Static {
        values: vec!["everyone".into()],
    };
    m.groups.allow.push(String::new());
    let err = mapping::set(&c.app.state, &s, Which::Name("jira"), m)
        .await
        .unwrap_err();
    let AdminError::Invalid(fields) = err else {
        panic!("a field error, not {err:?}");
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        names,
        [
            "name_id",
            "attributes[2].transforms[0]",
            "attributes[6].transforms[0]",
            "attributes[7].value",
            "groups.allow[2]"
        ]
    );
    assert!(fields[1].message.contains("too costly"), "{}", fields[1].message);
    assert!(
        fields[2].message.starts_with("attribute `employee_number`"),
        "{}",
        fields[2].message
    );
    let after = rosetta::admin::service_providers::get(&c.app.state, &s, Which::Name("jira"))
        .await
        .unwrap();
    assert_eq!(before, after, "nothing saved");
    // Sample claims that are not an object are a field error too.
    let err = mapping::preview(
        &c.app.state,
        &s,
        Which::Name("jira"),
        MappingPreviewRequest {
            claims_json: Some("[1, 2]".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.fields()[0].field, "claims_json");
}

#[tokio::test]
async fn persistent_name_ids_are_pairwise_and_stable() {
    let c = case().await;
    let s = scope(&c).await;
    let m = Mapping {
        name_id_format: Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into()),
        ..ten_rules_and_groups()
    };
    mapping::set(&c.app.state, &s, Which::Name("jira"), m).await.unwrap();
    let first = name_id(&posted_response(&c.login_edited(rich_claims).await.1));
    let again = name_id(&posted_response(&c.login_edited(rich_claims).await.1));
    assert_eq!(first, again, "stable across logins");
    let users = rosetta::services::end_users::page(&c.app.state.db, c.tenant_id, None, 1, 10)
        .await
        .unwrap()
        .0;
    assert_ne!(
        first,
        users[0].id.to_string(),
        "not Rosetta's user ID, which other SPs see"
    );
    assert_eq!(first.len(), 43, "a SHA-256, base64url");
}

#[tokio::test]
async fn google_workspace_checks_the_hosted_domain() {
    let c = case_with_source(|_| {}, |s| s.preset = SourcePreset::Google).await;
    // A personal account with an address on the domain: no `hd`.
    let (status, page) = c.login_edited(|_| {}).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Google Workspace"), "{page}");
    assert!(!page.contains("SAMLResponse"));
    assert_eq!(c.last_failure_reason().await, "oidc_hd_mismatch");
    let (status, _) = c
        .login_edited(|claims| {
            claims.insert("hd".into(), json!("other.example"));
        })
        .await;
    assert_eq!(status, 400);
    c.assert_accepted(
        c.login_edited(|claims| {
            claims.insert("hd".into(), json!("corp.com"));
        })
        .await,
    )
    .await;
}
