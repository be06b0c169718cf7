//! Hardening II, 5: one tenant cannot lock another out. SP entity IDs and email domains are
//! claims within a tenant; a domain's ownership is proved by a DNS TXT record, looked up
//! with a real resolver at a real authoritative server (`rosetta_e2e::DnsServer`, dnslib),
//! and only that proof is exclusive. No message names the other tenant.

use rosetta::admin::service_providers::Which;
use rosetta::admin::{AdminError, Scope, identity_sources};
use rosetta::domain::TenantSlug;
use rosetta_api::{CreateIdentitySourceRequest, DomainVerification, IdentitySource};

use crate::helpers::{TestApp, add_atlassian_sp, both_stacks, spawn_app_with};
use crate::rp_conformance::case;

async fn scope(app: &TestApp, slug: &str) -> Scope {
    Scope::operator(&app.state, &TenantSlug::parse(slug).unwrap())
        .await
        .unwrap()
}

async fn add_source(app: &TestApp, scope: &Scope, domains: &[&str]) -> IdentitySource {
    add_source_at(app, scope, "https://accounts.example.com", domains).await
}

async fn add_source_at(app: &TestApp, scope: &Scope, issuer: &str, domains: &[&str]) -> IdentitySource {
    let body = CreateIdentitySourceRequest {
        name: "corp".into(),
        issuer: issuer.into(),
        client_id: "rosetta".into(),
        client_secret: "secret".into(),
        scopes: vec![],
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
        use_userinfo: false,
        offline_access: false,
        preset: Default::default(),
        groups_claim: None,
        allow_guests: false,
        fetch_group_overage: false,
    };
    identity_sources::create(&app.state, scope, body).await.unwrap()
}

async fn verify(app: &TestApp, scope: &Scope, domain: &str) -> Result<IdentitySource, AdminError> {
    identity_sources::verify_domain(&app.state, scope, Which::Name("corp"), domain).await
}

fn claim<'a>(source: &'a IdentitySource, domain: &str) -> &'a DomainVerification {
    source.domain_verification.iter().find(|d| d.domain == domain).unwrap()
}

/// The message of a refusal, and whether it was a conflict.
fn refusal(e: AdminError) -> (bool, String) {
    let conflict = matches!(e, AdminError::Conflict(_));
    let message = match &e {
        AdminError::Invalid(fields) => fields.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    };
    (conflict, message)
}

both_stacks!(
    a_domain_is_proved_by_its_dns_record_and_only_once,
    |stack: rosetta_e2e::Stack| async move {
        let mut dns = rosetta_e2e::DnsServer::start().expect("dnslib (scripts/setup.sh)");
        let nameserver = dns.addr();
        let app = spawn_app_with(stack, |s| s.server.dns_nameservers = vec![nameserver]).await;
        app.create_tenant("squatter", "Free Tier Squatter").await;
        app.create_tenant("bigcorp", "BigCorp").await;
        let (squatter, bigcorp) = (scope(&app, "squatter").await, scope(&app, "bigcorp").await);

        // The squatter claims BigCorp's domain first: BigCorp is not blocked.
        let theirs = add_source(&app, &squatter, &["bigcorp.example"]).await;
        let ours = add_source(&app, &bigcorp, &["bigcorp.example", "bigcorp-labs.example"]).await;
        let record = claim(&ours, "bigcorp.example").clone();
        assert!(!record.verified && record.verified_at.is_none());
        assert_eq!(record.txt_name, "_rosetta-challenge.bigcorp.example");
        assert!(record.txt_value.starts_with("rosetta-verification="));
        assert_ne!(record.txt_value, claim(&theirs, "bigcorp.example").txt_value);

        // No record yet: says where to publish what.
        let (conflict, message) = refusal(verify(&app, &bigcorp, "bigcorp.example").await.unwrap_err());
        assert!(!conflict);
        assert!(
            message.contains("no TXT record at `_rosetta-challenge.bigcorp.example`"),
            "{message}"
        );
        assert!(message.contains(&record.txt_value), "{message}");

        // Records that hold something else (the squatter's token, an SPF line) prove nothing.
        let squatters_value = claim(&theirs, "bigcorp.example").txt_value.clone();
        dns.set_txt(&record.txt_name, &["v=spf1 -all", &squatters_value]);
        let (_, message) = refusal(verify(&app, &bigcorp, "bigcorp.example").await.unwrap_err());
        assert!(
            message.contains("2 TXT record(s)") && message.contains("none holding"),
            "{message}"
        );

        // A nameserver failing is told as such.
        dns.fail("_rosetta-challenge.bigcorp-labs.example");
        let (_, message) = refusal(verify(&app, &bigcorp, "bigcorp-labs.example").await.unwrap_err());
        assert!(
            message.contains("DNS lookup") && message.contains("failed"),
            "{message}"
        );

        // BigCorp publishes its value: proved, recorded, shown.
        dns.set_txt(&record.txt_name, &["v=spf1 -all", &record.txt_value]);
        let proved = verify(&app, &bigcorp, "bigcorp.example").await.unwrap();
        let now = claim(&proved, "bigcorp.example");
        assert!(now.verified && now.verified_at.is_some(), "{now:?}");
        assert!(!claim(&proved, "bigcorp-labs.example").verified);
        let again = verify(&app, &bigcorp, "bigcorp.example").await.unwrap();
        assert!(claim(&again, "bigcorp.example").verified, "verifying twice is harmless");
        app.state.audit.flush().await;
        let events = rosetta::services::audit::recent(&app.state.db, bigcorp.tenant_id(), 50)
            .await
            .unwrap();
        let proofs: Vec<_> = events
            .iter()
            .filter(|e| e.action == "identity_source.domain_verified")
            .collect();
        assert_eq!(proofs.len(), 1, "one proof, one event");

        // The squatter cannot take the proof, even with its own value published too, and
        // is not told whose it is; its unverified claim stays usable inside its tenant.
        dns.set_txt(&record.txt_name, &[&record.txt_value, &squatters_value]);
        let (conflict, message) = refusal(verify(&app, &squatter, "bigcorp.example").await.unwrap_err());
        assert!(conflict, "{message}");
        assert!(message.contains("another organisation"), "{message}");
        assert!(
            !message.to_lowercase().contains("bigcorp ") && !message.contains("BigCorp"),
            "{message}"
        );
        let listed = identity_sources::list(&app.state, &squatter).await.unwrap();
        assert_eq!(listed[0].domains, ["bigcorp.example"]);
        assert!(!claim(&listed[0], "bigcorp.example").verified);

        // Removing the record later does not undo a proof already made (it is kept; only a
        // new claim needs a new record).
        dns.remove(&record.txt_name);
        let listed = identity_sources::list(&app.state, &bigcorp).await.unwrap();
        assert!(claim(&listed[0], "bigcorp.example").verified);

        // A domain the source does not route is not found, and an invalid one is a field error.
        assert!(matches!(
            verify(&app, &bigcorp, "other.example").await,
            Err(AdminError::NotFound(_))
        ));
        let (_, message) = refusal(verify(&app, &bigcorp, "not a domain").await.unwrap_err());
        assert!(!message.is_empty());
    }
);

#[tokio::test]
async fn verification_is_rate_limited_per_tenant() {
    let dns = rosetta_e2e::DnsServer::start().expect("dnslib (scripts/setup.sh)");
    let nameserver = dns.addr();
    let app = spawn_app_with(rosetta_e2e::Stack::embedded(), |s| {
        s.server.dns_nameservers = vec![nameserver]
    })
    .await;
    app.create_tenant("acme", "Acme").await;
    let acme = scope(&app, "acme").await;
    add_source(&app, &acme, &["acme.example"]).await;
    for _ in 0..30 {
        let e = identity_sources::verify_domain(&app.state, &acme, Which::Name("corp"), "acme.example")
            .await
            .unwrap_err();
        assert!(matches!(e, AdminError::Invalid(_)), "{e:?}");
    }
    let limited = identity_sources::verify_domain(&app.state, &acme, Which::Name("corp"), "acme.example").await;
    assert!(matches!(limited, Err(AdminError::RateLimited { .. })), "{limited:?}");
}

/// A tenant that registered the same SP entity ID and the same domain does not stop the
/// real tenant's users from logging in, and its own host still serves its own SP.
#[tokio::test]
async fn a_squatters_claims_do_not_change_anyone_elses_login() {
    let c = case().await;
    let squatter = c.app.create_tenant("squatter", "Squatter").await;
    add_atlassian_sp(&c.app, squatter.id).await;
    let squatter_scope = scope(&c.app, "squatter").await;
    add_source_at(&c.app, &squatter_scope, c.issuer(), &["corp.com"]).await;

    c.assert_accepted(c.login_edited(|_| {}).await).await;

    // The squatter's host knows the same entity ID as its own SP: the request is accepted
    // there and sent to the provider with the squatter's own callback.
    let client = rosetta_e2e::http_client(&["squatter.localhost"], c.app.port);
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_s1\" Version=\"2.0\" \
IssueInstant=\"{}\"><saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">{}</saml:Issuer>\
</samlp:AuthnRequest>",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        crate::helpers::SP
    );
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, xml.as_bytes()).unwrap();
    let request = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, enc.finish().unwrap());
    let param: String = url::form_urlencoded::byte_serialize(request.as_bytes()).collect();
    let res = client
        .get(format!(
            "http://squatter.localhost:{}/saml/sso?SAMLRequest={param}",
            c.app.port
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302, "{:?}", res.text().await);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(c.issuer()), "{location}");
    assert!(location.contains("squatter.localhost"), "{location}");
    assert!(!location.contains("acme.localhost"), "{location}");
}
