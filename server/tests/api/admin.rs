//! The admin API: accounts, sessions, CSRF, rate limits, TOTP, email links, invitations,
//! secrets, and tenant isolation of every route in the OpenAPI document.

use std::collections::{BTreeSet, HashMap};

use reqwest::{Method, StatusCode};
use rosetta::credentials::totp;
use rosetta::domain::{DisplayName, EmailAddress, NewPassword, TenantSlug};
use rosetta::services::accounts::{self, SignUp, SignUpOutcome};
use rosetta::services::end_users::{self, LoginIdentity};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};

use crate::helpers::{TestApp, both_stacks, spawn_app};

const PASSWORD: &str = "plum harbour violet engine";

/// An API client with the session cookie and CSRF token it was given.
struct Client<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
    csrf: Option<String>,
    origin: Option<String>,
}

struct Reply {
    status: StatusCode,
    body: Value,
    text: String,
    headers: reqwest::header::HeaderMap,
}

impl<'a> Client<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookie: None,
            csrf: None,
            origin: Some(format!("http://localhost:{}", app.port)),
        }
    }

    async fn call(&mut self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call_with(method, path, body, &[]).await
    }

    async fn call_with(&mut self, method: Method, path: &str, body: Option<Value>, extra: &[(&str, &str)]) -> Reply {
        let port = self.app.port;
        let mut req = self
            .app
            .client
            .request(method.clone(), format!("http://127.0.0.1:{port}{path}"))
            .header("host", format!("localhost:{port}"));
        if let Some(c) = &self.cookie {
            req = req.header("cookie", format!("rosetta_admin={c}"));
        }
        if method != Method::GET {
            if let Some(o) = &self.origin {
                req = req.header("origin", o);
            }
            if let Some(t) = &self.csrf {
                req = req.header("x-csrf-token", t);
            }
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        for v in res.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("rosetta_admin=") {
                let value = rest.split(';').next().unwrap_or_default();
                self.cookie = (!value.is_empty()).then(|| value.to_owned());
            }
        }
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(t) = body.get("csrf_token").and_then(Value::as_str) {
            self.csrf = Some(t.to_owned());
        }
        Reply {
            status,
            body,
            text,
            headers,
        }
    }

    async fn get(&mut self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Reply {
        self.post("/api/v1/session", json!({"email": email, "password": password}))
            .await
    }
}

/// A verified account owning a new tenant (through the service layer), signed in.
async fn owner<'a>(app: &'a TestApp, email: &str, slug: &str) -> Client<'a> {
    owner_at(app, email, slug).await;
    let mut c = Client::new(app);
    let r = c.sign_in(email, PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    c
}

/// The single-use token in the newest outbox message with `subject_part`.
fn outbox_token(app: &TestApp, subject_part: &str) -> String {
    let dir = app.state.settings.outbox_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files.iter().rev() {
        let raw = std::fs::read_to_string(f).unwrap();
        // Quoted-printable: join soft line breaks, decode `=3D`.
        let text = raw.replace("=\r\n", "").replace("=3D", "=");
        if text.contains(subject_part) {
            let start = text.find("token=").expect("a link with a token") + 6;
            return text[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
        }
    }
    panic!("no email about {subject_part} in {dir:?}");
}

both_stacks!(sign_up_verify_and_sign_in, |stack| async move {
    let app = spawn_app(stack).await;
    let mut c = Client::new(&app);
    let body = json!({"email": "Ada@Example.com", "password": PASSWORD, "tenant_slug": "acme", "tenant_name": "Acme"});
    let r = c.post("/api/v1/signup", body.clone()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);

    let r = c.sign_in("ada@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.body["code"], "email_not_verified");

    let token = outbox_token(&app, "Confirm your email");
    let r = c.post("/api/v1/verify-email", json!({"token": token})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = c.post("/api/v1/verify-email", json!({"token": token})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a link works once");
    assert_eq!(r.body["fields"][0]["field"], "token");

    let r = c.sign_in("ADA@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stage"], "complete");
    assert_eq!(r.body["tenant"]["slug"], "acme");
    assert_eq!(r.body["role"], "owner");
    let r = c.get("/api/v1/tenant").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body["details"]["idp"]["entity_id"],
        format!("http://acme.localhost:{}/saml/metadata", app.port)
    );

    // Same email again: the same answer, nothing created, the owner is told by email.
    let again =
        json!({"email": "ada@example.com", "password": PASSWORD, "tenant_slug": "other", "tenant_name": "Other"});
    let r = Client::new(&app).post("/api/v1/signup", again).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(
        rosetta::services::tenants::find(&app.state.db, &TenantSlug::parse("other").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    outbox_token_absent_but_notice(&app);

    // A taken or reserved slug is a field error.
    let r = Client::new(&app)
        .post(
            "/api/v1/signup",
            json!({"email": "bob@example.com", "password": PASSWORD, "tenant_slug": "acme", "tenant_name": "B"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body["fields"][0]["field"], "slug");
    let r = Client::new(&app)
        .post(
            "/api/v1/signup",
            json!({"email": "bob@example.com", "password": "short", "tenant_slug": "www", "tenant_name": ""}),
        )
        .await;
    let fields: BTreeSet<String> = r.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["password", "tenant_name", "tenant_slug"]
            .map(String::from)
            .into_iter()
            .collect()
    );
});

fn outbox_token_absent_but_notice(app: &TestApp) {
    let dir = app.state.settings.outbox_dir();
    let found = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .any(|m| m.contains("You already have a Rosetta account"));
    assert!(found, "the address's owner is told");
}

both_stacks!(weak_long_passwords_and_expired_links, |stack| async move {
    let app = spawn_app(stack).await;
    for (password, why) in [
        ("short", "too short"),
        ("password1234", "well known"),
        ("aaaaaaaaaaaaaaaa", "one character"),
        ("carol@example.com", "the email"),
    ] {
        let r = Client::new(&app)
            .post(
                "/api/v1/signup",
                json!({"email": "carol@example.com", "password": password, "tenant_slug": "c", "tenant_name": "C"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{why}");
        assert_eq!(r.body["fields"][0]["field"], "password", "{why}");
    }
    let long = "x1".repeat(200);
    let r = Client::new(&app)
        .post(
            "/api/v1/signup",
            json!({"email": "carol@example.com", "password": long, "tenant_slug": "c", "tenant_name": "C"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["fields"][0]["message"].as_str().unwrap().contains("at most"));
    // An over-long password at sign-in is refused without hashing it.
    let r = Client::new(&app).sign_in("carol@example.com", &long).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Password reset: the link works once and not after it expires; a weak password leaves
    // it usable.
    let mut c = owner(&app, "dan@example.com", "dan").await;
    let r = Client::new(&app)
        .post("/api/v1/password-reset", json!({"email": "dan@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = Client::new(&app)
        .post("/api/v1/password-reset", json!({"email": "nobody@example.com"}))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "no account enumeration");
    let token = outbox_token(&app, "Reset your Rosetta password");
    let r = Client::new(&app)
        .post(
            "/api/v1/password-reset/confirm",
            json!({"token": token, "password": "weak"}),
        )
        .await;
    assert_eq!(r.body["fields"][0]["field"], "password");
    let new_password = "amber meadow quiet lantern";
    let r = Client::new(&app)
        .post(
            "/api/v1/password-reset/confirm",
            json!({"token": token, "password": new_password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = Client::new(&app)
        .post(
            "/api/v1/password-reset/confirm",
            json!({"token": token, "password": "another fine passphrase"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "reused link");
    // The reset ended the session that was open.
    assert_eq!(c.get("/api/v1/account").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        Client::new(&app).sign_in("dan@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Client::new(&app).sign_in("dan@example.com", new_password).await.status,
        StatusCode::OK
    );

    // An expired link.
    Client::new(&app)
        .post("/api/v1/password-reset", json!({"email": "dan@example.com"}))
        .await;
    let token = outbox_token(&app, "Reset your Rosetta password");
    let hash = rosetta::credentials::token_hash(&token);
    let row = rosetta_entity::email_token::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.token_hash == hash)
        .unwrap();
    let mut row = row.into_active_model();
    row.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    row.update(&app.state.db).await.unwrap();
    let r = Client::new(&app)
        .post(
            "/api/v1/password-reset/confirm",
            json!({"token": token, "password": "yet another passphrase"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "expired link");
    assert!(r.body["message"].as_str().unwrap().contains("expired"));
});

both_stacks!(csrf_fixation_and_sign_out, |stack| async move {
    let app = spawn_app(stack).await;
    let mut c = owner(&app, "erin@example.com", "erin").await;
    let sp = json!({"name": "jira", "preset": "atlassian", "entity_id": "https://erin.atlassian.net",
        "acs_urls": ["https://auth.atlassian.com/login/callback?connection=saml-1"]});

    let token = c.csrf.take();
    let r = c.post("/api/v1/service-providers", sp.clone()).await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf_token")),
        "no token"
    );
    c.csrf = Some("forged".into());
    let r = c.post("/api/v1/service-providers", sp.clone()).await;
    assert_eq!(r.body["code"], "csrf_token", "wrong token");
    c.csrf = token;
    c.origin = Some("https://evil.example".into());
    let r = c.post("/api/v1/service-providers", sp.clone()).await;
    assert_eq!(r.body["code"], "csrf_origin", "foreign origin");
    c.origin = None;
    let r = c
        .call_with(
            Method::POST,
            "/api/v1/service-providers",
            Some(sp.clone()),
            &[("referer", "https://evil.example/x")],
        )
        .await;
    assert_eq!(r.body["code"], "csrf_origin", "foreign referer");
    let r = c.post("/api/v1/service-providers", sp.clone()).await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "a program without Origin, with the token: {}",
        r.text
    );
    c.origin = Some(format!("http://localhost:{}", app.port));
    // Sign-in itself refuses a cross-site form (login CSRF).
    let mut cross = Client::new(&app);
    cross.origin = Some("https://evil.example".into());
    let r = cross.sign_in("erin@example.com", PASSWORD).await;
    assert_eq!(r.body["code"], "csrf_origin");

    // Fixation: a session ID planted before sign-in is replaced, and dies.
    let mut planted = Client::new(&app);
    planted.cookie = Some("attacker-chosen-id".into());
    let r = planted.sign_in("erin@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(planted.cookie.as_deref(), Some("attacker-chosen-id"));
    let mut attacker = Client::new(&app);
    attacker.cookie = Some("attacker-chosen-id".into());
    assert_eq!(attacker.get("/api/v1/account").await.status, StatusCode::UNAUTHORIZED);
    // A signed-in browser that signs in again gets a new ID; the old one is gone.
    let old = planted.cookie.clone();
    planted.sign_in("erin@example.com", PASSWORD).await;
    assert_ne!(planted.cookie, old);
    let mut stale = Client::new(&app);
    stale.cookie = old;
    assert_eq!(stale.get("/api/v1/account").await.status, StatusCode::UNAUTHORIZED);

    // Cookie attributes (http here: no __Host- prefix, which needs Secure).
    let r = Client::new(&app).sign_in("erin@example.com", PASSWORD).await;
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );

    // Sign-out deletes the server-side session: the old cookie no longer works.
    let cookie = c.cookie.clone();
    let r = c.call(Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let mut replay = Client::new(&app);
    replay.cookie = cookie;
    assert_eq!(replay.get("/api/v1/tenant").await.status, StatusCode::UNAUTHORIZED);
});

/// Runs `attempt` until it is refused with 429; returns how many attempts the limit's
/// fixed window allowed before that refusal, counted in the refusal's window.
///
/// Attempts run back to back, so when a window ends during the run its boundary falls inside
/// one attempt, and the server's clock alone decided which window counted it. The count is
/// therefore a range: exact when no allowed attempt straddles the boundary into the refusal's
/// window (nearly every run), one wider when one does. (The old helper retried after a
/// rollover but counted from zero again, although the new window already held the attempts
/// made since the boundary: a run that crossed a quarter hour reported 0 of 50.)
async fn allowed_before_limit<F, Fut>(window_secs: i64, mut attempt: F) -> (std::ops::RangeInclusive<usize>, Reply)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let window = || chrono::Utc::now().timestamp() / window_secs;
    // The windows at the start and at the end of each allowed attempt.
    let mut allowed: Vec<(i64, i64)> = Vec::new();
    for _ in 0..300 {
        let before = window();
        let r = attempt().await;
        let after = window();
        if r.status != StatusCode::TOO_MANY_REQUESTS {
            allowed.push((before, after));
            continue;
        }
        if before != after {
            // Refused at a boundary: by the old window or the new one; the next attempt tells.
            continue;
        }
        let surely = allowed.iter().filter(|(b, _)| *b == after).count();
        let straddling = allowed.iter().filter(|(b, a)| *b < after && *a == after).count();
        return (surely..=surely + straddling, r);
    }
    panic!("never rate limited");
}

both_stacks!(sign_in_and_totp_are_rate_limited, |stack| async move {
    let app = spawn_app(stack).await;
    owner(&app, "fay@example.com", "fay").await;
    let (allowed, r) = allowed_before_limit(900, || async {
        Client::new(&app)
            .sign_in("fay@example.com", "wrong password here")
            .await
    })
    .await;
    // The owner() sign-in succeeded and reset the count; ten wrong ones are allowed.
    assert!(allowed.contains(&10), "{allowed:?}");
    let retry: u64 = r.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry));
    assert_eq!(r.body["code"], "rate_limited");
    assert_eq!(r.body["retry_after"], retry);
    assert!(
        r.body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("try again in {retry} s"))
    );
    // Even the right password waits now.
    assert_eq!(
        Client::new(&app).sign_in("fay@example.com", PASSWORD).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another account is not affected.
    owner(&app, "gus@example.com", "gus").await;
});

both_stacks!(
    a_concurrent_burst_of_guesses_gets_exactly_the_limit,
    |stack| async move {
        // Sixty wrong passwords for one account at once (issue 8, abuse): the counter is
        // shared and atomic, so exactly ten reach the password check, whatever the interleaving.
        let app = crate::helpers::spawn_app_with(stack, |s| {
            s.server.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        })
        .await;
        for round in 0..2 {
            // A fresh account and client address each round: after a rollover the new window
            // already counts the guesses that landed in it.
            let email = format!("ivy{round}@example.com");
            let address = format!("198.51.100.{round}");
            owner_at(&app, &email, &format!("ivy{round}")).await;
            let window = chrono::Utc::now().timestamp() / 900;
            let burst = (0..60).map(|_| {
                let (app, email, address) = (&app, &email, &address);
                async move {
                    let body = json!({"email": email, "password": "wrong password here"});
                    Client::new(app)
                        .call_with(
                            Method::POST,
                            "/api/v1/session",
                            Some(body),
                            &[("x-forwarded-for", address)],
                        )
                        .await
                        .status
                }
            });
            let statuses = futures::future::join_all(burst).await;
            if chrono::Utc::now().timestamp() / 900 != window {
                continue; // the 15-minute window rolled over mid-burst: run it again
            }
            let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
            let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
            assert_eq!((checked, limited), (10, 50), "{statuses:?}");
            return;
        }
        panic!("the window rolled over twice");
    }
);

both_stacks!(totp_enrolment_replay_and_recovery_codes, |stack| async move {
    let app = spawn_app(stack).await;
    let mut c = owner(&app, "hal@example.com", "hal").await;
    let r = c.post("/api/v1/account/totp", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.body["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(r.body["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/"));
    let secret = totp_rs::Secret::Encoded(r.body["secret"].as_str().unwrap().to_owned())
        .to_bytes()
        .unwrap();
    let now = chrono::Utc::now().timestamp() as u64;
    let r = c.post("/api/v1/account/totp/confirm", json!({"code": "000000"})).await;
    assert_eq!(r.body["fields"][0]["field"], "code");
    let before = c.cookie.clone();
    let r = c
        .post(
            "/api/v1/account/totp/confirm",
            json!({"code": totp::code_at(&secret, now).unwrap()}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_ne!(c.cookie, before, "new session ID after MFA");
    let codes: Vec<String> = serde_json::from_value(r.body["codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);

    // The account's views never show the secret.
    let account = c.get("/api/v1/account").await;
    assert_eq!(account.body["totp_enabled"], true);
    assert_eq!(account.body["recovery_codes_left"], 10);
    assert!(!account.text.contains(&secret_b32(&secret)));

    // Password, then the code (the next step: within the ±1 window, newer than the last).
    let mut d = Client::new(&app);
    let r = d.sign_in("hal@example.com", PASSWORD).await;
    assert_eq!(r.body["stage"], "second_factor");
    assert!(r.body.get("account").is_none(), "nothing before the second factor");
    assert_eq!(d.get("/api/v1/tenant").await.status, StatusCode::UNAUTHORIZED);
    let half = d.cookie.clone();
    let next = totp::code_at(&secret, now + 30).unwrap();
    let r = d.post("/api/v1/session/totp", json!({"code": next})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["stage"], "complete");
    assert_ne!(d.cookie, half, "new session ID after the second factor");
    assert_eq!(d.get("/api/v1/tenant").await.status, StatusCode::OK);

    // The same code again: refused (a time step is never accepted twice).
    let mut e = Client::new(&app);
    e.sign_in("hal@example.com", PASSWORD).await;
    let r = e.post("/api/v1/session/totp", json!({"code": next})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "replayed TOTP");
    // A recovery code works once.
    let r = e
        .post("/api/v1/session/totp", json!({"code": codes[0].to_uppercase()}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let mut f = Client::new(&app);
    f.sign_in("hal@example.com", PASSWORD).await;
    let r = f.post("/api/v1/session/totp", json!({"code": codes[0]})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "used recovery code");
    assert_eq!(e.get("/api/v1/account").await.body["recovery_codes_left"], 9);

    // Wrong codes are rate limited per account.
    let (allowed, r) = allowed_before_limit(300, || {
        let app = &app;
        async move {
            let mut g = Client::new(app);
            g.sign_in("hal@example.com", PASSWORD).await;
            g.post("/api/v1/session/totp", json!({"code": "999999"})).await
        }
    })
    .await;
    assert!(*allowed.start() <= 5, "{allowed:?}");
    assert_eq!(r.body["code"], "rate_limited");
});

fn secret_b32(secret: &[u8]) -> String {
    totp_rs::Secret::Raw(secret.to_vec()).to_encoded().to_string()
}

both_stacks!(tenants_can_require_admin_totp, |stack| async move {
    let app = spawn_app(stack).await;
    let mut c = owner(&app, "ida@example.com", "ida").await;
    let r = c
        .call(
            Method::PATCH,
            "/api/v1/tenant",
            Some(json!({"admin_mfa_required": true, "end_user_mfa": "optional"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["end_user_mfa"], "optional");
    let r = c.get("/api/v1/service-providers").await;
    assert_eq!(r.body["code"], "mfa_enrolment_required");
    let r = c.get("/api/v1/session").await;
    assert_eq!(r.body["mfa_enrolment_required"], true);
    // The account endpoints still answer, so the admin can enrol.
    let r = c.post("/api/v1/account/totp", json!({})).await;
    let secret = totp_rs::Secret::Encoded(r.body["secret"].as_str().unwrap().to_owned())
        .to_bytes()
        .unwrap();
    let code = totp::code_at(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
    assert_eq!(
        c.post("/api/v1/account/totp/confirm", json!({"code": code}))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(c.get("/api/v1/service-providers").await.status, StatusCode::OK);
    let audit = c.get("/api/v1/audit?action=tenant.update").await;
    assert_eq!(audit.body["total"], 1);
    let detail: Value = serde_json::from_str(audit.body["items"][0]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(detail["before"]["admin_mfa_required"], false);
    assert_eq!(detail["after"]["admin_mfa_required"], true);
});

both_stacks!(invitations_members_and_roles, |stack| async move {
    let app = spawn_app(stack).await;
    let mut owner_c = owner(&app, "jo@example.com", "jo").await;
    let r = owner_c
        .post(
            "/api/v1/invitations",
            json!({"email": "Kim@Example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["email"], "kim@example.com");
    let token = outbox_token(&app, "Join jo on Rosetta");
    let r = Client::new(&app)
        .post("/api/v1/invitations/accept", json!({"token": token}))
        .await;
    assert_eq!(
        r.body["fields"][0]["field"], "password",
        "a new account needs a password"
    );
    let r = Client::new(&app)
        .post(
            "/api/v1/invitations/accept",
            json!({"token": token, "password": "kim's own long passphrase"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = Client::new(&app)
        .post(
            "/api/v1/invitations/accept",
            json!({"token": token, "password": "kim's own long passphrase"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "single use");

    let mut kim = Client::new(&app);
    let r = kim.sign_in("kim@example.com", "kim's own long passphrase").await;
    assert_eq!(r.body["role"], "admin");
    let r = kim
        .post(
            "/api/v1/invitations",
            json!({"email": "x@example.com", "role": "owner"}),
        )
        .await;
    assert_eq!(r.body["code"], "owner_required");
    let members = owner_c.get("/api/v1/members").await;
    assert_eq!(members.body.as_array().unwrap().len(), 2);
    let jo_id = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "jo@example.com")
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let kim_id = members
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "kim@example.com")
        .unwrap()["account_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = owner_c
        .call(Method::DELETE, &format!("/api/v1/members/{jo_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "the last owner stays");

    // An admin may belong to several tenants and switch between them.
    let r = kim
        .post("/api/v1/tenants", json!({"slug": "kim-co", "display_name": "Kim Co"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let other = r.body["id"].as_str().unwrap().to_owned();
    let before = kim.cookie.clone();
    let r = kim
        .call(Method::PUT, "/api/v1/session/tenant", Some(json!({"tenant_id": other})))
        .await;
    assert_eq!(r.body["tenant"]["slug"], "kim-co");
    assert_eq!(r.body["role"], "owner");
    assert_ne!(kim.cookie, before, "privilege change: new session ID");
    assert_eq!(
        kim.get("/api/v1/account").await.body["memberships"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = kim
        .call(
            Method::PUT,
            "/api/v1/session/tenant",
            Some(json!({"tenant_id": owner_c_tenant(&mut owner_c).await})),
        )
        .await;
    assert_eq!(r.body["tenant"]["slug"], "jo");

    // Removal takes effect at once for the removed member's session.
    let r = owner_c
        .call(Method::DELETE, &format!("/api/v1/members/{kim_id}"), None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(kim.get("/api/v1/service-providers").await.body["code"], "not_a_member");
    let log = owner_c.get("/api/v1/audit?action=member.remove").await;
    assert_eq!(log.body["items"][0]["target"], "kim@example.com");
});

async fn owner_c_tenant(c: &mut Client<'_>) -> String {
    c.get("/api/v1/session").await.body["tenant"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

both_stacks!(secrets_are_write_only_and_changes_audited, |stack| async move {
    let app = spawn_app(stack).await;
    let mut c = owner(&app, "lee@example.com", "lee").await;
    let secret = "client-secret-that-must-never-come-back";
    let r = c
        .post(
            "/api/v1/identity-sources",
            json!({"name": "corp", "issuer": "http://127.0.0.1:9/", "client_id": "rosetta",
                "client_secret": secret, "domains": ["Lee.Example"], "scopes": ["profile"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["domains"], json!(["lee.example"]));
    assert_eq!(
        r.body["redirect_uri"],
        format!("http://lee.localhost:{}/oidc/callback/corp", app.port)
    );
    let r = c
        .call(
            Method::PATCH,
            &format!("/api/v1/identity-sources/{id}"),
            Some(json!({"client_secret": "rotated-secret-value-2"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for path in [
        "/api/v1/identity-sources".to_owned(),
        format!("/api/v1/identity-sources/{id}"),
        "/api/v1/audit".into(),
        "/api/v1/audit.csv".into(),
    ] {
        let r = c.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(
            !r.text.contains(secret) && !r.text.contains("rotated-secret-value-2"),
            "{path}: {}",
            r.text
        );
    }
    let csv = c.get("/api/v1/audit.csv?action=identity_source.update").await;
    assert!(csv.text.contains("client_secret_changed"), "{}", csv.text);
    assert!(
        csv.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );

    // Test connection names the failing step.
    let r = c.post(&format!("/api/v1/identity-sources/{id}/test"), json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["ok"], false);
    assert_eq!(r.body["steps"][0]["step"], "discovery");
    assert_eq!(r.body["steps"][0]["ok"], false);

    // Field-level errors, all at once.
    let r = c
        .post(
            "/api/v1/service-providers",
            json!({"name": "bad name!", "preset": "generic", "entity_id": "", "acs_urls": ["javascript:alert(1)"]}),
        )
        .await;
    let fields: BTreeSet<String> = r.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["acs_urls", "entity_id", "name"]
            .map(String::from)
            .into_iter()
            .collect()
    );

    // Keys: publish next, promote, retire; the active one cannot be retired.
    let r = c.post("/api/v1/signing-keys", json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let next = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        c.get("/api/v1/tenant").await.body["details"]["idp"]["certificates"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = c.post(&format!("/api/v1/signing-keys/{next}/promote"), json!({})).await;
    assert_eq!(r.body["state"], "active");
    let r = c.post(&format!("/api/v1/signing-keys/{next}/retire"), json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(!c.get("/api/v1/signing-keys").await.text.contains("PRIVATE KEY"));
});

both_stacks!(end_users_search_block_and_unknown_routes, |stack| async move {
    let app = spawn_app(stack).await;
    let mut c = owner(&app, "max@example.com", "max").await;
    let tenant_id = uuid::Uuid::parse_str(&owner_c_tenant(&mut c).await).unwrap();
    for (sub, email) in [
        ("1", "alice@max.example"),
        ("2", "bob@max.example"),
        ("3", "al_x@max.example"),
    ] {
        end_users::record_login(
            &app.state.db,
            tenant_id,
            &LoginIdentity {
                issuer: "https://idp.example",
                subject: sub,
                email,
                name: Some("Person"),
                claims: None,
            },
        )
        .await
        .unwrap();
    }
    let r = c.get("/api/v1/end-users?search=AL").await;
    assert_eq!(r.body["total"], 2);
    let r = c.get("/api/v1/end-users?search=al_").await;
    assert_eq!(r.body["total"], 1, "LIKE wildcards are literal");
    let r = c.get("/api/v1/end-users?per_page=1&page=2").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["total"], 3);
    let id = r.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = c.post(&format!("/api/v1/end-users/{id}/block"), json!({})).await;
    assert_eq!(r.body["status"], "blocked");
    // Reset MFA clears an enrolment: the user enrols again at the next login.
    let row = end_users::get(&app.state.db, tenant_id, uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    let mut row = row.into_active_model();
    row.totp_secret = Set(Some(vec![1, 2, 3]));
    row.totp_enabled_at = Set(Some(chrono::Utc::now()));
    row.recovery_codes = Set(Some("[]".into()));
    row.update(&app.state.db).await.unwrap();
    assert_eq!(
        c.get(&format!("/api/v1/end-users/{id}")).await.body["mfa_enrolled"],
        true
    );
    let r = c.post(&format!("/api/v1/end-users/{id}/reset-mfa"), json!({})).await;
    assert_eq!(r.body["mfa_enrolled"], false, "{}", r.text);
    let row = end_users::get(&app.state.db, tenant_id, uuid::Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    assert!(row.totp_secret.is_none() && row.recovery_codes.is_none());
    assert_eq!(c.get("/api/v1/audit?action=end_user.reset_mfa").await.body["total"], 1);
    // The tenant's end-user MFA settings.
    let r = c
        .call(
            Method::PATCH,
            "/api/v1/tenant",
            Some(json!({"end_user_mfa": "required", "end_user_mfa_trust_upstream": true,
                "end_user_mfa_trusted_acr": ["urn:acr:gold"], "end_user_mfa_max_age_hours": 12})),
        )
        .await;
    assert_eq!(r.body["end_user_mfa"], "required", "{}", r.text);
    assert_eq!(r.body["end_user_mfa_trusted_acr"], json!(["urn:acr:gold"]));
    assert_eq!(r.body["end_user_mfa_max_age_hours"], 12);
    let r = c
        .call(
            Method::PATCH,
            "/api/v1/tenant",
            Some(json!({"end_user_mfa_max_age_hours": 0})),
        )
        .await;
    assert!(
        r.body.get("end_user_mfa_max_age_hours").is_none_or(Value::is_null),
        "{}",
        r.text
    );
    let r = c
        .call(
            Method::PATCH,
            "/api/v1/tenant",
            Some(json!({"end_user_mfa_trusted_acr": ["has space"]})),
        )
        .await;
    assert_eq!(r.body["fields"][0]["field"], "end_user_mfa_trusted_acr");
    let user = c.get(&format!("/api/v1/end-users/{id}")).await;
    assert!(user.body["last_login_at"].is_string(), "{}", user.text);
    // NUL and other control characters (which PostgreSQL text refuses) are field errors.
    let r = c.get("/api/v1/end-users?search=a%00b").await;
    assert_eq!(r.body["fields"][0]["field"], "search");
    let r = c.get("/api/v1/audit?actor=a%00b").await;
    assert_eq!(r.body["fields"][0]["field"], "actor");
    let r = c
        .post(
            "/api/v1/identity-sources",
            json!({"name": "nul", "issuer": "http://127.0.0.1:9/", "client_id": "a\u{0}b", "client_secret": "s", "domains": ["nul.example"]}),
        )
        .await;
    assert_eq!(r.body["fields"][0]["field"], "client_id", "{}", r.text);
    let r = c.get("/api/v1/end-users?per_page=500").await;
    assert_eq!(r.body["fields"][0]["field"], "per_page");
    let r = c.get("/api/v1/nothing-here").await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let r = c
        .call_with(
            Method::POST,
            "/api/v1/service-providers",
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.body["code"], "invalid_body");
});

/// Every route of the OpenAPI document, used by an admin of tenant A on tenant B's
/// objects, answers 404, and no listing shows B's objects. A route this test does not know
/// how to classify fails it, so a new route must be added here with its check.
#[tokio::test]
async fn every_route_isolates_tenants() {
    let app = spawn_app(rosetta_e2e::Stack::embedded()).await;
    let mut a = owner(&app, "a@example.com", "tenant-a").await;
    let mut b = owner(&app, "b@example.com", "tenant-b").await;

    // Tenant B's objects, one of each kind.
    let sp = b
        .post(
            "/api/v1/service-providers",
            json!({"name": "b-jira", "preset": "atlassian", "entity_id": "https://b-secret-sp.example",
            "acs_urls": ["https://auth.atlassian.com/login/callback?connection=saml-b"]}),
        )
        .await;
    let source = b
        .post(
            "/api/v1/identity-sources",
            json!({"name": "b-idp", "issuer": "http://127.0.0.1:9/b", "client_id": "b-client",
            "client_secret": "b-secret", "domains": ["b-only.example"]}),
        )
        .await;
    let key = b.post("/api/v1/signing-keys", json!({})).await;
    let invitation = b
        .post(
            "/api/v1/invitations",
            json!({"email": "b-invitee@example.com", "role": "admin"}),
        )
        .await;
    let b_tenant = uuid::Uuid::parse_str(&owner_c_tenant(&mut b).await).unwrap();
    let user = end_users::record_login(
        &app.state.db,
        b_tenant,
        &LoginIdentity {
            issuer: "https://idp.example",
            subject: "b-user",
            email: "b-user@b-only.example",
            name: None,
            claims: None,
        },
    )
    .await
    .unwrap();
    let b_member = b.get("/api/v1/account").await.body["id"].as_str().unwrap().to_owned();
    // A login trace of tenant B, as the trace writer leaves it.
    let trace = uuid::Uuid::new_v4();
    {
        rosetta_entity::login_trace::ActiveModel {
            id: Set(trace),
            tenant_id: Set(b_tenant),
            started_at: Set(chrono::Utc::now()),
            updated_at: Set(chrono::Utc::now()),
            outcome: Set("success".into()),
            initiated: Set("sp".into()),
            service_provider: Set(Some("b-jira".into())),
            entity_id: Set(Some("https://b-secret-sp.example".into())),
            source: Set(Some("b-idp".into())),
            user_email: Set(Some("b-user@b-only.example".into())),
            failure_code: Set(None),
            body: Set("[]".into()),
            failure: Set(None),
            request_xml: Set(None),
            response_xml: Set(None),
            packed: Set(None),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    let ids: HashMap<&str, String> = HashMap::from([
        ("logins", trace.to_string()),
        ("service-providers", sp.body["id"].as_str().unwrap().to_owned()),
        ("identity-sources", source.body["id"].as_str().unwrap().to_owned()),
        ("signing-keys", key.body["id"].as_str().unwrap().to_owned()),
        ("invitations", invitation.body["id"].as_str().unwrap().to_owned()),
        ("end-users", user.id.to_string()),
        ("members", b_member.clone()),
    ]);
    let b_markers = [
        "https://b-secret-sp.example",
        "b-idp",
        "b-only.example",
        "b-invitee@example.com",
        "b@example.com",
        "tenant-b",
    ];

    // Routes that act on the caller's own account or session, or on nothing yet, with the
    // check that covers them.
    let account_routes: BTreeSet<&str> = [
        "/api/v1/signup",
        "/api/v1/verify-email",
        "/api/v1/verify-email/resend",
        "/api/v1/session",
        "/api/v1/session/totp",
        "/api/v1/password-reset",
        "/api/v1/password-reset/confirm",
        "/api/v1/account",
        "/api/v1/account/password",
        "/api/v1/account/totp",
        "/api/v1/account/totp/confirm",
        "/api/v1/tenants",
        "/api/v1/invitations/accept",
    ]
    .into();
    let doc = a.get("/api/v1/openapi.json").await.body;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if account_routes.contains(path.as_str()) {
                if m == Method::GET {
                    let r = a.get(path).await;
                    for marker in b_markers {
                        assert!(!r.text.contains(marker), "GET {path} shows {marker}");
                    }
                }
                continue;
            }
            if path == "/api/v1/session/tenant" {
                let r = a.call(m, path, Some(json!({"tenant_id": b_tenant.to_string()}))).await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {path}");
                checked += 1;
                continue;
            }
            if path.contains('{') {
                let kind = path.trim_start_matches("/api/v1/").split('/').next().unwrap();
                let id = ids
                    .get(kind)
                    .unwrap_or_else(|| panic!("no object of kind {kind} for {path}: add one"));
                let concrete = path
                    .replace("{id}", id)
                    .replace("{account_id}", id)
                    .replace("{user_id}", &ids["end-users"])
                    .replace("{domain}", "b-only.example");
                let body = match (m.as_str(), kind) {
                    ("PATCH", "members") => Some(json!({"role": "admin"})),
                    ("PUT", "service-providers") if path.ends_with("/mapping") => Some(json!({"attributes": []})),
                    ("PUT", "service-providers") => Some(json!({
                        "base_url": "https://api.atlassian.com/scim/directory/b", "api_key": "k", "enabled": true
                    })),
                    ("GET", _) => None,
                    _ => Some(json!({})),
                };
                let r = a.call(m.clone(), &concrete, body).await;
                assert_eq!(
                    r.status,
                    StatusCode::NOT_FOUND,
                    "{method} {path} on tenant B's object: {}",
                    r.text
                );
                checked += 1;
            } else if m == Method::GET {
                let r = a.get(path).await;
                assert_eq!(r.status, StatusCode::OK, "GET {path}: {}", r.text);
                for marker in b_markers {
                    assert!(
                        !r.text.contains(marker),
                        "GET {path} shows tenant B's {marker}: {}",
                        r.text
                    );
                }
                checked += 1;
            } else {
                // Creation routes create in the caller's tenant: checked below by listing.
                assert!(
                    [
                        "/api/v1/service-providers",
                        "/api/v1/service-providers/import",
                        "/api/v1/identity-sources",
                        "/api/v1/signing-keys",
                        "/api/v1/invitations",
                        "/api/v1/tenant"
                    ]
                    .contains(&path.as_str()),
                    "unclassified route {method} {path}: add it to this test"
                );
            }
        }
    }
    assert!(checked >= 26, "{checked}");
    // B's objects are all still there, untouched.
    assert_eq!(
        b.get(&format!("/api/v1/service-providers/{}", ids["service-providers"]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        b.get(&format!("/api/v1/identity-sources/{}", ids["identity-sources"]))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(b.get("/api/v1/members").await.body.as_array().unwrap().len(), 1);
    assert_eq!(b.get("/api/v1/invitations").await.body.as_array().unwrap().len(), 1);
    assert_eq!(
        b.get(&format!("/api/v1/end-users/{}", ids["end-users"])).await.body["status"],
        "active"
    );
    let keys = b.get("/api/v1/signing-keys").await;
    assert!(
        keys.text.contains("\"next\""),
        "B's next key was neither promoted nor retired"
    );
}

both_stacks!(
    password_hashes_with_old_parameters_are_replaced_at_sign_in,
    |stack| async move {
        let app = spawn_app(stack).await;
        owner(&app, "nia@example.com", "nia").await;
        let account = accounts::find_by_email(&app.state.db, "nia@example.com")
            .await
            .unwrap()
            .unwrap();
        assert!(account.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let weak = rosetta::credentials::password::hash_with(PASSWORD, 8192, 1, 1).unwrap();
        let mut row = account.into_active_model();
        row.password_hash = Set(weak.clone());
        row.update(&app.state.db).await.unwrap();
        assert_eq!(
            Client::new(&app).sign_in("nia@example.com", PASSWORD).await.status,
            StatusCode::OK
        );
        let account = accounts::find_by_email(&app.state.db, "nia@example.com")
            .await
            .unwrap()
            .unwrap();
        assert_ne!(account.password_hash, weak);
        assert!(
            account.password_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            account.password_hash
        );
        assert_eq!(
            Client::new(&app).sign_in("nia@example.com", PASSWORD).await.status,
            StatusCode::OK
        );
    }
);

both_stacks!(https_deployments_use_host_prefixed_secure_cookies, |stack| async move {
    let app = crate::helpers::spawn_app_with(stack, |s| {
        s.server.public_url = "https://localhost".parse().unwrap();
    })
    .await;
    owner_at(&app, "ola@example.com", "ola").await;
    let res = app
        .client
        .post(format!("http://127.0.0.1:{}/api/v1/session", app.port))
        .header("host", "localhost")
        .header("origin", "https://localhost")
        .json(&json!({"email": "ola@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let set = res.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(set.starts_with("__Host-rosetta_admin="), "{set}");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attribute), "{attribute}: {set}");
    }
    assert!(!set.to_ascii_lowercase().contains("domain="), "{set}");
    // The plain name is not honoured on https.
    let value = set
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("__Host-rosetta_admin=");
    let res = app
        .client
        .get(format!("http://127.0.0.1:{}/api/v1/account", app.port))
        .header("host", "localhost")
        .header("cookie", format!("rosetta_admin={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
});

/// An account created through the service layer, verified, not signed in.
async fn owner_at(app: &TestApp, email: &str, slug: &str) {
    let state = &app.state;
    let address = EmailAddress::parse(email).unwrap();
    let new = SignUp {
        password: NewPassword::parse(PASSWORD, &address).unwrap(),
        email: address,
        slug: TenantSlug::parse(slug).unwrap(),
        name: DisplayName::parse(slug).unwrap(),
    };
    let SignUpOutcome::Created { verify_token, .. } = accounts::sign_up(&state.db, &state.keyring, &state.hosts, new)
        .await
        .unwrap()
    else {
        panic!("new account expected");
    };
    accounts::verify_email(&state.db, &verify_token).await.unwrap();
}

both_stacks!(one_address_cannot_spray_many_accounts, |stack| async move {
    let app = spawn_app(stack).await;
    // Fifty different accounts guessed from one address, then the address is refused.
    let mut n = 0;
    let (allowed, r) = allowed_before_limit(900, || {
        n += 1;
        let email = format!("user{n}@spray.example");
        let app = &app;
        async move { Client::new(app).sign_in(&email, "a wrong password").await }
    })
    .await;
    assert!(allowed.contains(&50), "{allowed:?}");
    assert_eq!(r.body["code"], "rate_limited");
});

both_stacks!(
    sign_up_answers_alike_for_existing_and_new_addresses,
    |stack| async move {
        // Hardening II, 6: the answer to a sign-up never tells whether the address has an
        // account (the slug is checked first whoever asks).
        let app = spawn_app(stack).await;
        owner_at(&app, "ada@example.com", "acme").await;
        let sign_up = |email: &'static str, slug: &'static str| {
            let app = &app;
            async move {
                let body = json!({"email": email, "password": PASSWORD, "tenant_slug": slug, "tenant_name": "X"});
                let r = Client::new(app).post("/api/v1/signup", body).await;
                (
                    r.status,
                    r.body["code"].clone(),
                    r.body["fields"].clone(),
                    r.body["message"].clone(),
                )
            }
        };
        // A taken slug: the same field error for the existing and for a new address.
        let existing = sign_up("ada@example.com", "acme").await;
        let new = sign_up("nobody@example.com", "acme").await;
        assert_eq!(existing.0, StatusCode::BAD_REQUEST);
        assert_eq!(existing, new);
        // A free slug: the same acknowledgement.
        let existing = sign_up("ada@example.com", "free-one").await;
        let new = sign_up("nobody@example.com", "free-two").await;
        assert_eq!(existing.0, StatusCode::ACCEPTED);
        assert_eq!(existing, new);
    }
);

both_stacks!(two_owners_demoting_each_other_leave_an_owner, |stack| async move {
    // Hardening II, 6: "a tenant keeps an owner" holds under concurrent demotions and
    // removals, not only one at a time.
    use rosetta::services::members;
    let app = spawn_app(stack).await;
    let mut one_c = owner(&app, "one@example.com", "pair").await;
    let r = one_c
        .post(
            "/api/v1/invitations",
            json!({"email": "two@example.com", "role": "owner"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = outbox_token(&app, "Join pair on Rosetta");
    let r = Client::new(&app)
        .post(
            "/api/v1/invitations/accept",
            json!({"token": token, "password": "two's own long passphrase"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let db = &app.state.db;
    let tenant = rosetta::services::tenants::find(db, &TenantSlug::parse("pair").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let one = accounts::find_by_email(db, "one@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let two = accounts::find_by_email(db, "two@example.com")
        .await
        .unwrap()
        .unwrap()
        .id;
    let owners = || async {
        members::list(db, tenant)
            .await
            .unwrap()
            .iter()
            .filter(|m| m.role == accounts::Role::Owner)
            .count()
    };
    for round in 0..20 {
        let demote = |who| members::set_role(db, tenant, who, accounts::Role::Admin);
        let (a, b) = futures::future::join(demote(one), demote(two)).await;
        assert_eq!(owners().await, 1, "round {round}: {a:?}, {b:?}");
        assert!(
            a.is_ok() != b.is_ok(),
            "round {round}: exactly one demotion wins: {a:?}, {b:?}"
        );
        for who in [one, two] {
            members::set_role(db, tenant, who, accounts::Role::Owner).await.unwrap();
        }
    }
    // A demotion and a removal at once, last.
    let (a, b) = futures::future::join(
        members::set_role(db, tenant, one, accounts::Role::Admin),
        members::remove(db, tenant, two),
    )
    .await;
    assert_eq!(owners().await, 1, "{a:?}, {b:?}");
    assert!(a.is_ok() != b.is_ok(), "{a:?}, {b:?}");
});

both_stacks!(invitations_are_limited_per_tenant, |stack| async move {
    // Hardening II, 6: the tenant's name goes into mail sent from Rosetta's domain.
    let app = spawn_app(stack).await;
    let mut c = owner(&app, "lee@example.com", "lee").await;
    for n in 0..20 {
        let r = c
            .post(
                "/api/v1/invitations",
                json!({"email": format!("guest{n}@example.com"), "role": "admin"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{n}: {}", r.text);
    }
    let r = c
        .post(
            "/api/v1/invitations",
            json!({"email": "one-more@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.body["code"], "rate_limited");
});

both_stacks!(
    accepting_into_a_never_verified_account_replaces_its_password,
    |stack| async move {
        // Hardening II, 6: someone signs up with the victim's address and a password of
        // theirs, never verifies; the victim is invited and accepts. The link proves the
        // address: the account takes the victim's password, the squatter's stops working.
        let app = spawn_app(stack).await;
        let squat = json!({"email": "vic@example.com", "password": "the squatter's passphrase", "tenant_slug": "squat", "tenant_name": "S"});
        assert_eq!(
            Client::new(&app).post("/api/v1/signup", squat).await.status,
            StatusCode::ACCEPTED
        );
        let mut owner_c = owner(&app, "boss@example.com", "corp").await;
        let r = owner_c
            .post(
                "/api/v1/invitations",
                json!({"email": "vic@example.com", "role": "admin"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let token = outbox_token(&app, "Join corp on Rosetta");
        let r = Client::new(&app)
            .post("/api/v1/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(r.body["fields"][0]["field"], "password", "{}", r.text);
        let r = Client::new(&app)
            .post(
                "/api/v1/invitations/accept",
                json!({"token": token, "password": "victim's own passphrase"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let r = Client::new(&app)
            .sign_in("vic@example.com", "the squatter's passphrase")
            .await;
        assert_eq!(r.body["code"], "bad_credentials");
        let r = Client::new(&app)
            .sign_in("vic@example.com", "victim's own passphrase")
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["stage"], "complete");
    }
);
