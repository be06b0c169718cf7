//! The end user's second factor as the tests play it: turning it on for a tenant, reading
//! Rosetta's pages (the seed, the recovery codes) and computing the codes an authenticator
//! app would show.

use sea_orm::ConnectionTrait;

use crate::world::World;

/// Makes Rosetta's second factor required for every login at tenant `acme`. Straight in the
/// database: neither the CLI nor the admin API sets it for tests to use.
pub async fn require_end_user_mfa(w: &World) {
    let db = sea_orm::Database::connect(w.stack.database.url()).await.unwrap();
    db.execute_unprepared("UPDATE tenant SET end_user_mfa = 'required' WHERE slug = 'acme'")
        .await
        .unwrap();
}

/// The 6-digit code of a base32 secret at `unix` (what an authenticator app shows).
pub fn totp_code(secret_b32: &str, unix: u64) -> String {
    let secret = totp_rs::Secret::Encoded(secret_b32.to_owned()).to_bytes().unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret, None, "user".into())
        .unwrap()
        .generate(unix)
}

/// Now, in Unix seconds.
pub fn now_unix() -> u64 {
    chrono::Utc::now().timestamp().unsigned_abs()
}

/// The text of the element with `id` (no markup inside).
pub fn text_of(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[start..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap() + open;
    rest[open..close].to_owned()
}

/// The text of every `<code>` inside the element with `id`.
pub fn codes_in(page: &str, id: &str) -> Vec<String> {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {page}"));
    let rest = &page[start..];
    let end = rest
        .find("</ul>")
        .or_else(|| rest.find("</code>").map(|i| i + 7))
        .unwrap();
    rest[..end]
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_owned())
        .collect()
}
