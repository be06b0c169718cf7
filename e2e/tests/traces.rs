//! The login debugger end to end: every brokered login leaves a trace, step by step, with
//! the facts an admin needs and none of the login's secrets; a failed login names the step
//! that failed and what to do; a tenant keeps its newest traces only, and not for long.
//!
//! Traces are read as an operator reads them (`rosetta trace`), and straight from the
//! `login_trace` table where every column matters (the secret scan, the cap). They are
//! written just after each leg's response, off the response path: the tests wait for them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use base64::Engine;
use rosetta_e2e::bench::{form_field, location, user_agent};
use rosetta_e2e::second_factor::{codes_in, now_unix, require_end_user_mfa, text_of, totp_code};
use rosetta_e2e::world::{World, add_corp_source, idp_details, rows_when, run, start_rosetta_with, world, world_with};
use rosetta_e2e::{Rosetta, SamlValidation, Stack};
use sea_orm::ConnectionTrait;
use serde_json::Value;

/// Every column of `login_trace`, for the secret scan.
const ALL_COLUMNS: &str = "SELECT id, tenant_id, started_at, updated_at, outcome, initiated, service_provider, \
     entity_id, source, user_email, failure_code, body, failure, request_xml, response_xml, packed FROM login_trace";

/// The dictionary Rosetta compresses a trace's records with (format 1).
static DICTIONARY: &[u8] = include_bytes!("../../server/src/services/login_traces/dictionary.txt");

/// The parts of every record of a row's `packed` (each leg's steps, AuthnRequest and
/// Response), read here from the format as documented (`services::login_traces::pack`), not
/// through Rosetta's own reader.
fn records(mut packed: &[u8]) -> Vec<String> {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let mut parts = Vec::new();
    while !packed.is_empty() {
        assert_eq!(packed[0], 1, "format 1");
        let (held_len, block_len) = (u32_at(packed, 1), u32_at(packed, 5));
        let mut held = vec![0; held_len];
        let n = lz4_flex::block::decompress_into_with_dict(&packed[9..9 + block_len], &mut held, DICTIONARY).unwrap();
        assert_eq!(n, held_len);
        let mut rest = held.as_slice();
        for _ in 0..3 {
            let len = u32_at(rest, 0);
            rest = &rest[4..];
            if len != u32::MAX as usize {
                parts.push(String::from_utf8(rest[..len].to_vec()).unwrap());
                rest = &rest[len..];
            }
        }
        assert!(rest.is_empty(), "three parts");
        packed = &packed[9 + block_len..];
    }
    parts
}

/// The tenant's login attempts whose `trace list` (with `filters`) satisfies `done`, newest
/// first; as they are after 10 s, when they never do.
async fn list_when(rosetta: &Rosetta, filters: &[&str], done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let args: Vec<&str> = ["trace", "list", "acme"]
        .into_iter()
        .chain(filters.iter().copied())
        .chain(["--json"])
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let page = run(rosetta, rosetta.env(), &args).await;
        let items = page["items"].as_array().unwrap_or_else(|| panic!("{page}")).clone();
        if done(&items) || Instant::now() >= deadline {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `trace show --json` of one trace.
async fn show(rosetta: &Rosetta, id: &str) -> Value {
    run(rosetta, rosetta.env(), &["trace", "show", "acme", id, "--json"]).await
}

/// The value of the first fact `name` of a `step` of the trace.
fn fact<'a>(trace: &'a Value, step: &str, name: &str) -> Option<&'a str> {
    steps(trace)
        .filter(|s| s["step"] == step)
        .flat_map(|s| s["facts"].as_array().into_iter().flatten())
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
}

/// The names of the facts of the steps `step` that start with `prefix`.
fn facts_named<'a>(trace: &'a Value, step: &str, prefix: &str) -> Vec<&'a str> {
    steps(trace)
        .filter(|s| s["step"] == step)
        .flat_map(|s| s["facts"].as_array().into_iter().flatten())
        .filter_map(|f| f["name"].as_str())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

fn steps(trace: &Value) -> impl Iterator<Item = &Value> {
    trace["steps"].as_array().into_iter().flatten()
}

/// The kinds of the trace's steps in order, repeats of a kind in a row counted once (the
/// second factor spans three legs).
fn step_kinds(trace: &Value) -> Vec<&str> {
    let mut kinds: Vec<&str> = steps(trace).filter_map(|s| s["step"].as_str()).collect();
    kinds.dedup();
    kinds
}

/// Every string of a JSON value, keys included (numbers, such as step durations, are not
/// text a secret could be kept in).
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.clone()).chain(texts(v)))
            .collect(),
        _ => Vec::new(),
    }
}

/// The text of one `login_trace` row, every column (the body's strings).
fn row_texts(row: &sea_orm::QueryResult) -> Vec<String> {
    let mut out = Vec::new();
    for column in ["id", "tenant_id"] {
        out.push(row.try_get::<uuid::Uuid>("", column).unwrap().to_string());
    }
    for column in ["started_at", "updated_at"] {
        out.push(
            row.try_get::<chrono::DateTime<chrono::Utc>>("", column)
                .unwrap()
                .to_rfc3339(),
        );
    }
    for column in [
        "outcome",
        "initiated",
        "service_provider",
        "entity_id",
        "source",
        "user_email",
        "failure_code",
        "failure",
        "request_xml",
        "response_xml",
    ] {
        out.extend(row.try_get::<Option<String>>("", column).unwrap());
    }
    let body: String = row.try_get("", "body").unwrap();
    out.extend(texts(&serde_json::from_str(&body).unwrap()));
    let packed: Vec<u8> = row.try_get("", "packed").unwrap();
    let parts = records(&packed);
    assert!(parts.len() >= 3, "a login's legs each store their steps: {parts:?}");
    for part in parts {
        match serde_json::from_str(&part) {
            // The steps: their strings.
            Ok(steps @ Value::Array(_)) => out.extend(texts(&steps)),
            // The XML: as it is.
            _ => out.push(part),
        }
    }
    out
}

/// What the logins handed around that no trace may keep, each with what it is.
#[derive(Default)]
struct Secrets {
    found: Vec<(String, String)>,
    cookies: BTreeSet<String>,
}

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        self.found.push((what.to_owned(), value.to_owned()));
    }

    /// The query parameters `names` of `url`, each required.
    fn query(&mut self, url: &str, names: &[&str]) {
        let url = url::Url::parse(url).unwrap();
        for name in names {
            let value = url
                .query_pairs()
                .find(|(k, _)| k == name)
                .unwrap_or_else(|| panic!("no {name} in {url}"))
                .1;
            self.add(name, &value);
        }
    }

    /// The values of the cookies Rosetta set in `res` (a removal sets none).
    fn cookies(&mut self, res: &reqwest::Response) {
        for header in res.headers().get_all("set-cookie") {
            let (name, rest) = header.to_str().unwrap().split_once('=').unwrap();
            let value = rest.split(';').next().unwrap_or_default();
            if !value.is_empty() {
                self.cookies.insert(name.to_owned());
                self.add(&format!("cookie {name}"), value);
            }
        }
    }

    /// The base64 SAMLResponse and every signature and digest value in it.
    fn saml_response(&mut self, encoded: &str) {
        self.add("SAMLResponse", encoded);
        let xml = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).unwrap()).unwrap();
        for element in ["SignatureValue", "DigestValue"] {
            // `<ds:X>value</ds:X>`: every other piece between `X>`s is a value.
            let values: Vec<&str> = xml
                .split(&format!("{element}>"))
                .skip(1)
                .step_by(2)
                .map(|part| part.split("</").next().unwrap().trim())
                .collect();
            assert!(!values.is_empty(), "no {element} in {xml}");
            for value in values {
                self.add(element, value);
            }
        }
    }

    /// Fails the test when `text` holds a secret, naming it and where it was (`place`).
    fn assert_none_in(&self, text: &str, place: &str) {
        let lower = text.to_ascii_lowercase();
        for (what, secret) in &self.found {
            let at = if secret.len() <= 8 && secret.bytes().all(|b| b.is_ascii_digit()) {
                // A 6-digit code: only as a token of its own, not as digits inside an ID,
                // a timestamp or a certificate.
                let alnum = |i: Option<usize>| {
                    i.and_then(|i| text.as_bytes().get(i))
                        .is_some_and(u8::is_ascii_alphanumeric)
                };
                text.match_indices(secret.as_str())
                    .map(|(at, _)| at)
                    .find(|&at| !alnum(at.checked_sub(1)) && !alnum(Some(at + secret.len())))
            } else {
                lower.find(&secret.to_ascii_lowercase())
            };
            if let Some(at) = at {
                let around: String = text[..at]
                    .chars()
                    .rev()
                    .take(60)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                panic!("{place} keeps a {what}: …{around}[{secret}]…");
            }
        }
    }
}

/// One SP-initiated login to `jira` in a fresh user agent, through the provider, up to
/// Rosetta's second-factor page: the agent and the page. Every secret on the way is kept.
async fn to_second_factor(w: &World, relay: &str, secrets: &mut Secrets) -> (reqwest::Client, String) {
    let ua = user_agent(w.rosetta.port()).unwrap();
    let res = ua.get(w.jira.login_url(relay)).send().await.unwrap();
    let res = ua.get(location(&res).unwrap()).send().await.unwrap();
    assert_eq!(res.status(), 302, "{}", w.rosetta.logs());
    secrets.cookies(&res);
    let authorize = location(&res).unwrap();
    secrets.query(&authorize, &["state", "nonce", "code_challenge"]);
    let callback = w.op.scripted_login(&ua, &authorize, "ada-sub").await.unwrap();
    secrets.query(callback.as_str(), &["code", "state"]);
    let res = ua.get(callback.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 303, "{}", w.rosetta.logs());
    assert_eq!(location(&res).unwrap(), "/mfa");
    secrets.cookies(&res);
    let page = ua.get(mfa_url(w)).send().await.unwrap().text().await.unwrap();
    (ua, page)
}

fn mfa_url(w: &World) -> String {
    format!("http://acme.localhost:{}/mfa", w.rosetta.port())
}

/// Posts the second-factor form; the page that comes back.
async fn post_mfa(w: &World, ua: &reqwest::Client, form: &[(&str, &str)], secrets: &mut Secrets) -> String {
    let res = ua
        .post(mfa_url(w))
        .header("origin", format!("http://acme.localhost:{}", w.rosetta.port()))
        .form(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", w.rosetta.logs());
    secrets.cookies(&res);
    res.text().await.unwrap()
}

/// Posts Rosetta's auto-post page to `jira`, which must accept it.
async fn to_sp(w: &World, page: &str, secrets: &mut Secrets) -> SamlValidation {
    let response = form_field(page, "SAMLResponse").unwrap_or_else(|| panic!("no SAMLResponse: {page}"));
    secrets.saml_response(&response);
    let verdict = w
        .jira
        .post_response(&response, form_field(page, "RelayState").as_deref())
        .await
        .unwrap();
    assert!(verdict.ok, "{:?}", verdict.error);
    assert_eq!(verdict.name_id.as_deref(), Some("ada@acme.example"));
    verdict
}

/// Three logins to `jira` with Rosetta's second factor required (enrolment, a TOTP code, a
/// recovery code), then: the first one's trace has every step and the facts that explain
/// it; no secret of any of them is in any column of any trace, nor in a support bundle.
async fn every_step_is_recorded_and_no_secret_is_stored(stack: Stack) {
    let w = world(stack).await;
    require_end_user_mfa(&w).await;
    let mut secrets = Secrets::default();
    secrets.add("client secret", "op-client-secret");

    // 1. Enrolment: the seed read from the page, a code computed like an app.
    let (ua, page) = to_second_factor(&w, "first", &mut secrets).await;
    assert!(page.contains("Set up two-step sign-in"), "{page}");
    let seed = text_of(&page, "totp-secret");
    secrets.add("TOTP seed", &seed);
    let enrolled_at = now_unix();
    let code = totp_code(&seed, enrolled_at);
    secrets.add("TOTP code", &code);
    let page = post_mfa(&w, &ua, &[("action", "enrol"), ("code", &code)], &mut secrets).await;
    let recovery = codes_in(&page, "recovery-codes");
    assert_eq!(recovery.len(), 10, "{page}");
    for code in &recovery {
        secrets.add("recovery code", code);
    }
    let page = post_mfa(&w, &ua, &[("action", "continue")], &mut secrets).await;
    let first = to_sp(&w, &page, &mut secrets).await;

    // 2. A new browser verifies with a code of a later time step than the enrolment's (a
    //    step is accepted once).
    let (ua, page) = to_second_factor(&w, "second", &mut secrets).await;
    assert!(page.contains("Two-step sign-in"), "{page}");
    let code = totp_code(&seed, now_unix().max(enrolled_at + 30));
    secrets.add("TOTP code", &code);
    let page = post_mfa(&w, &ua, &[("action", "verify"), ("code", &code)], &mut secrets).await;
    to_sp(&w, &page, &mut secrets).await;

    // 3. And one with a recovery code.
    let (ua, _) = to_second_factor(&w, "third", &mut secrets).await;
    let page = post_mfa(&w, &ua, &[("action", "verify"), ("code", &recovery[0])], &mut secrets).await;
    to_sp(&w, &page, &mut secrets).await;

    let expected = ["rosetta_login", "rosetta_mfa", "rosetta_sso"];
    assert_eq!(
        secrets.cookies,
        BTreeSet::from(expected.map(str::to_owned)),
        "every cookie Rosetta sets"
    );
    let issued = w.op.issued_tokens().await.unwrap();
    assert_eq!(
        (issued.access_tokens.len(), issued.id_tokens.len()),
        (3, 3),
        "one code exchange per login: {issued:?}"
    );
    for token in issued.all() {
        secrets.add("token the provider issued", token);
    }

    // The first login's trace: all its legs (SP request, callback, the second factor's
    // forms), every step passed.
    let items = list_when(&w.rosetta, &["--sp", "jira", "--outcome", "success"], |items| {
        items.len() == 3
    })
    .await;
    assert_eq!(items.len(), 3, "{items:?}");
    let mut first_trace = None;
    for item in &items {
        let trace = show(&w.rosetta, item["id"].as_str().unwrap()).await;
        assert_eq!(
            step_kinds(&trace),
            ["request", "redirect", "callback", "user", "mfa", "assertion"],
            "{trace}"
        );
        assert!(steps(&trace).all(|s| s["ok"] == true), "{trace}");
        assert!(trace["failure"].is_null(), "{trace}");
        if fact(&trace, "request", "Request ID") == first.in_response_to.as_deref() {
            first_trace = Some((item, trace));
        }
    }
    let (item, trace) = first_trace.expect("the first login's trace, by its request ID");
    for (field, value) in [
        ("outcome", "success"),
        ("initiated", "sp"),
        ("service_provider", "jira"),
        ("entity_id", "https://jira.example/saml"),
        ("source", "corp"),
        ("user_email", "ada@acme.example"),
    ] {
        assert_eq!(item[field], value, "{field}: {item}");
    }
    assert!(item["failure_code"].is_null(), "{item}");
    assert_eq!(
        fact(&trace, "request", "ACS URL requested"),
        Some(w.jira.acs_url()),
        "{trace}"
    );
    assert_eq!(fact(&trace, "request", "Application"), Some("jira"), "{trace}");
    let scopes = fact(&trace, "redirect", "Scopes").unwrap_or_else(|| panic!("{trace}"));
    assert!(scopes.split(' ').any(|s| s == "openid"), "{scopes}");
    assert_eq!(fact(&trace, "redirect", "PKCE"), Some("S256"), "{trace}");
    assert_eq!(fact(&trace, "callback", "Email"), Some("ada@acme.example"), "{trace}");
    assert_eq!(fact(&trace, "callback", "Subject"), Some("ada-sub"), "{trace}");
    assert_eq!(
        fact(&trace, "mfa", "Result"),
        Some("enrolled; recovery codes shown once"),
        "{trace}"
    );
    assert_eq!(fact(&trace, "assertion", "NameID"), Some("ada@acme.example"), "{trace}");
    let key = fact(&trace, "assertion", "Signing key (SHA-256)").unwrap_or_else(|| panic!("{trace}"));
    assert!(key.len() >= 64, "a SHA-256 fingerprint: {key}");
    assert!(!facts_named(&trace, "assertion", "Attribute ").is_empty(), "{trace}");

    // The support bundle: the XML kept, its signature values not.
    let id = item["id"].as_str().unwrap();
    let bundle = run(&w.rosetta, w.rosetta.env(), &["trace", "show", "acme", id, "--bundle"]).await;
    assert_eq!(bundle["tenant"], "acme");
    assert_eq!(bundle["trace"]["summary"]["id"], id);
    let response_xml = bundle["response_xml"].as_str().unwrap_or_else(|| panic!("{bundle}"));
    assert!(response_xml.contains("(removed)"), "{response_xml}");
    for gone in ["SignatureValue", "DigestValue", "X509Certificate", "SignedInfo"] {
        assert!(!response_xml.contains(gone), "{gone} in {response_xml}");
    }
    assert_eq!(
        fact(&trace, "assertion", "Signed"),
        Some("the Response and the Assertion (RSA-SHA256, exclusive C14N)"),
        "{trace}"
    );
    assert!(
        response_xml.contains(">ada@acme.example</saml:NameID>"),
        "{response_xml}"
    );
    let request_xml = bundle["authn_request_xml"]
        .as_str()
        .unwrap_or_else(|| panic!("{bundle}"));
    assert!(
        request_xml.contains(first.in_response_to.as_deref().unwrap()),
        "{request_xml}"
    );

    // The secret scan: every column of every row, and every bundle.
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    let rows = rows_when(&db, ALL_COLUMNS, |_| true).await;
    assert_eq!(rows.len(), 3, "one trace per login");
    for row in &rows {
        for text in row_texts(row) {
            secrets.assert_none_in(&text, "a login_trace row");
        }
    }
    for item in &items {
        let id = item["id"].as_str().unwrap();
        let bundle = run(&w.rosetta, w.rosetta.env(), &["trace", "show", "acme", id, "--bundle"]).await;
        for text in texts(&bundle) {
            secrets.assert_none_in(&text, "a support bundle");
        }
    }
}

#[tokio::test]
async fn every_step_is_recorded_and_no_secret_is_stored_on_sqlite_and_memory() {
    every_step_is_recorded_and_no_secret_is_stored(Stack::embedded()).await;
}

#[tokio::test]
async fn every_step_is_recorded_and_no_secret_is_stored_on_postgres_and_redis() {
    let Some(stack) = Stack::external().await else { return };
    every_step_is_recorded_and_no_secret_is_stored(stack).await;
}

/// An unsigned AuthnRequest from `issuer`, `id`, to `destination`, asking for the answer at
/// `acs_url`: the HTTP-POST binding's `SAMLRequest` (base64, no DEFLATE).
fn authn_request(id: &str, destination: &str, acs_url: &str, issuer: &str) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let xml = format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"{now}\" Destination=\"{destination}\" AssertionConsumerServiceURL=\"{acs_url}\">\
         <saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
    );
    base64::engine::general_purpose::STANDARD.encode(xml)
}

/// The tenant's failed login with `code`, in full (`trace show`), once it is written.
async fn failed_login(rosetta: &Rosetta, code: &str) -> Value {
    let items = list_when(rosetta, &["--outcome", "failure"], |items| {
        items.iter().any(|t| t["failure_code"] == code)
    })
    .await;
    let item = items
        .iter()
        .find(|t| t["failure_code"] == code)
        .unwrap_or_else(|| panic!("no failed login with {code}: {items:?}"));
    show(rosetta, item["id"].as_str().unwrap()).await
}

/// The failure of a trace: its step, and its advice (which must contain each of `advice`).
fn assert_failure(trace: &Value, code: &str, step: &str, advice: &[&str]) {
    let failure = &trace["failure"];
    assert_eq!(failure["code"], code, "{trace}");
    assert_eq!(failure["step"], step, "{trace}");
    assert_eq!(trace["summary"]["outcome"], "failure", "{trace}");
    let said = failure["advice"].as_str().unwrap_or_default();
    for part in advice {
        assert!(said.contains(part), "the advice names {part}: {said}");
    }
    let last = steps(trace).last().unwrap_or_else(|| panic!("{trace}"));
    assert_eq!(
        (&last["step"], &last["ok"]),
        (&Value::from(step), &Value::from(false)),
        "{trace}"
    );
}

/// Three failures an admin meets when setting up an application, each named at its step
/// with what to do: an ACS URL that is not registered, an email of a domain no source
/// lists, a wrong client secret.
#[tokio::test]
async fn failures_name_their_step_and_what_to_do() {
    let stack = Stack::embedded();
    // The sources change mid-way: the server must see each change at once.
    let rosetta = start_rosetta_with(&stack, &[("ROSETTA_CONFIG_CACHE_TTL_SECS", "0")]).await;
    let w = world_with(rosetta, stack).await;
    let port = w.rosetta.port();
    let env = w.rosetta.env().to_vec();

    // 1. The SP asks for an ACS URL that is not registered (Atlassian's, with its
    //    connection): refused at the request.
    let idp = idp_details(&w.rosetta, "acme").await;
    let unregistered = "https://acme.atlassian.net/login/callback?connection=saml-0123";
    let request = authn_request("_acs1", &idp.sso_url, unregistered, "https://jira.example/saml");
    let ua = user_agent(port).unwrap();
    let res = ua
        .post(&idp.sso_url)
        .form(&[("SAMLRequest", request)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "{}", w.rosetta.logs());
    let trace = failed_login(&w.rosetta, "acs_not_registered").await;
    assert_failure(
        &trace,
        "acs_not_registered",
        "request",
        &["?connection=", &format!("`{unregistered}`")],
    );
    assert_eq!(trace["summary"]["service_provider"], "jira", "{trace}");
    assert_eq!(fact(&trace, "request", "ACS URL requested"), Some(unregistered));

    // 2. With two sources Rosetta asks for the email first; one of a domain neither lists.
    let secret = w.rosetta.data_dir().join("other-secret");
    std::fs::write(&secret, "op-client-secret\n").unwrap();
    let other = [
        "source",
        "add",
        "acme",
        "--name",
        "other",
        "--issuer",
        w.op.issuer(),
        "--client-id",
        "rosetta",
        "--client-secret-file",
        secret.to_str().unwrap(),
        "--domains",
        "other.example",
        "--json",
    ];
    run(&w.rosetta, &env, &other).await;
    let ua = user_agent(port).unwrap();
    let res = ua.get(w.jira.login_url("domain")).send().await.unwrap();
    let res = ua.get(location(&res).unwrap()).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", w.rosetta.logs());
    let page = res.text().await.unwrap();
    let chooser = form_field(&page, "r").unwrap_or_else(|| panic!("the source chooser: {page}"));
    let res = ua
        .post(format!("http://acme.localhost:{port}/login"))
        .form(&[("r", chooser.as_str()), ("email", "eve@unlisted.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("No sign-in is set up for that email address")
    );
    let trace = failed_login(&w.rosetta, "domain_not_listed").await;
    assert_failure(&trace, "domain_not_listed", "discovery", &["`unlisted.example`"]);
    assert_eq!(
        fact(&trace, "discovery", "Email domain typed"),
        Some("unlisted.example")
    );
    run(&w.rosetta, &env, &["source", "remove", "acme", "other", "--json"]).await;

    // 3. The source's client secret is wrong: the provider's token endpoint refuses it.
    run(&w.rosetta, &env, &["source", "remove", "acme", "corp", "--json"]).await;
    add_corp_source(&w.rosetta, w.op.issuer(), "wrong-secret").await;
    let ua = user_agent(port).unwrap();
    let res = ua.get(w.jira.login_url("secret")).send().await.unwrap();
    let res = ua.get(location(&res).unwrap()).send().await.unwrap();
    let callback =
        w.op.scripted_login(&ua, &location(&res).unwrap(), "ada-sub")
            .await
            .unwrap();
    let res = ua.get(callback.as_str()).send().await.unwrap();
    assert!(
        res.status().is_client_error() || res.status().is_server_error(),
        "{}",
        res.status()
    );
    let page = res.text().await.unwrap();
    assert!(!page.contains("SAMLResponse"), "no assertion: {page}");
    let trace = failed_login(&w.rosetta, "oidc_token_rejected").await;
    assert_failure(
        &trace,
        "oidc_token_rejected",
        "callback",
        &["invalid_client", "client secret"],
    );
    assert!(w.jira.last().await.unwrap().is_none(), "nothing reached the SP");
}

/// The ID of the AuthnRequest a trace row keeps (in its first leg's record).
fn request_id(row: &sea_orm::QueryResult) -> String {
    let packed: Vec<u8> = row.try_get("", "packed").unwrap();
    let xml = records(&packed)
        .into_iter()
        .find(|part| part.starts_with("<samlp:AuthnRequest"))
        .unwrap_or_else(|| panic!("an AuthnRequest kept"));
    let start = xml.find(" ID=\"").unwrap() + 5;
    xml[start..start + xml[start..].find('"').unwrap()].to_owned()
}

fn request_ids(rows: &[sea_orm::QueryResult]) -> BTreeSet<String> {
    rows.iter().map(request_id).collect()
}

fn cap_ids(from: usize, to: usize) -> BTreeSet<String> {
    (from..=to).map(|n| format!("_cap{n}")).collect()
}

/// With `ROSETTA_LOGIN_TRACE_MAX=10` a tenant keeps its ten newest traces as they are
/// written; the lifecycle run deletes those older than `ROSETTA_LOGIN_TRACE_DAYS` (7).
#[tokio::test]
async fn traces_are_capped_per_tenant_and_swept_for_age() {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
    let stack = Stack::embedded();
    let rosetta = start_rosetta_with(&stack, &[("ROSETTA_LOGIN_TRACE_MAX", "10")]).await;
    run(&rosetta, rosetta.env(), &["tenant", "create", "acme", "--json"]).await;
    let db = sea_orm::Database::connect(stack.database.url()).await.unwrap();
    // The scheduler's own lifecycle run (a minute after start) would sweep too: as far as it
    // knows, it has just run.
    let ran = Query::update()
        .table(Alias::new("tenant"))
        .value(Alias::new("liveness_checked_at"), chrono::Utc::now())
        .and_where(Expr::col(Alias::new("slug")).eq("acme"))
        .to_owned();
    assert_eq!(db.execute(&ran).await.unwrap().rows_affected(), 1);

    // Fourteen requests from an SP nobody registered: each refused, each traced, in order.
    let idp = idp_details(&rosetta, "acme").await;
    let ua = user_agent(rosetta.port()).unwrap();
    for n in 1..=14 {
        let request = authn_request(
            &format!("_cap{n}"),
            &idp.sso_url,
            "https://unknown.example/acs",
            "https://unknown.example/saml",
        );
        let res = ua
            .post(&idp.sso_url)
            .form(&[("SAMLRequest", request)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{}", rosetta.logs());
    }
    // (acme is the only tenant: every row is its.) Ten rows with the last request among them
    // means the last batch was written and trimmed.
    let rows = rows_when(&db, "SELECT packed FROM login_trace", |rows| {
        rows.len() == 10 && request_ids(rows).contains("_cap14")
    })
    .await;
    assert_eq!(request_ids(&rows), cap_ids(5, 14), "the ten newest are kept");
    let listed = list_when(&rosetta, &[], |_| true).await;
    assert_eq!(listed.len(), 10, "{listed:?}");
    assert!(
        listed.iter().all(|t| t["failure_code"] == "unknown_issuer"),
        "{listed:?}"
    );

    // The three oldest started eight days ago: the lifecycle run deletes them, and only them.
    let oldest = Query::select()
        .column(Alias::new("id"))
        .from(Alias::new("login_trace"))
        .order_by(Alias::new("started_at"), Order::Asc)
        .limit(3)
        .to_owned();
    let aged = Query::update()
        .table(Alias::new("login_trace"))
        .value(Alias::new("started_at"), chrono::Utc::now() - chrono::Duration::days(8))
        .and_where(Expr::col(Alias::new("id")).in_subquery(oldest))
        .to_owned();
    assert_eq!(db.execute(&aged).await.unwrap().rows_affected(), 3);
    let report = run(&rosetta, rosetta.env(), &["lifecycle", "run", "acme", "--json"]).await;
    assert_eq!(report["traces_deleted"], 3, "{report}");
    let rows = rows_when(&db, "SELECT packed FROM login_trace", |_| true).await;
    assert_eq!(request_ids(&rows), cap_ids(8, 14), "the seven newer are kept");
}
