//! RFC 6238 TOTP (SHA-1, 6 digits, 30 s) for admins and end users: ±1 step of skew, a step
//! never accepted twice, constant-time comparison.

use totp_rs::{Algorithm, TOTP};

/// Seconds per step.
pub const STEP: u64 = 30;

/// Why a TOTP could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("TOTP setup failed: {0}")]
pub struct TotpError(String);

/// A fresh 160-bit secret.
pub fn generate_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Result<TOTP, TotpError> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        STEP,
        secret.to_vec(),
        Some(issuer.replace(':', " ")),
        account.to_owned(),
    )
    .map_err(|e| TotpError(e.to_string()))
}

/// What an authenticator app needs: the `otpauth://` URL, the secret in base32 for typing,
/// and the URL as an SVG QR code.
#[derive(Clone)]
pub struct Enrolment {
    /// `otpauth://totp/...`.
    pub url: String,
    /// The secret, base32.
    pub secret_base32: String,
    /// QR code of `url`, as an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment([redacted])")
    }
}

/// Builds the enrolment data for `secret`.
pub fn enrolment(secret: &[u8], issuer: &str, account: &str) -> Result<Enrolment, TotpError> {
    let t = totp(secret, issuer, account)?;
    let url = t.get_url();
    let qr = qrcode::QrCode::new(url.as_bytes()).map_err(|e| TotpError(e.to_string()))?;
    let qr_svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(Enrolment {
        url,
        secret_base32: t.get_secret_base32(),
        qr_svg,
    })
}

/// The code for time `unix` (tests and authenticator simulations).
pub fn code_at(secret: &[u8], unix: u64) -> Result<String, TotpError> {
    Ok(totp(secret, "Rosetta", "user")?.generate(unix))
}

/// Checks `code` at time `unix`: the step it matched (current ±1), when that step is newer
/// than `last_step`. The caller stores the returned step, atomically, as the new last one.
pub fn verify(secret: &[u8], code: &str, unix: u64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret, "Rosetta", "user").ok()?;
    let current = i64::try_from(unix / STEP).ok()?;
    let mut matched = None;
    // Every candidate is computed and compared, so timing does not tell which one matched.
    for step in [current - 1, current, current + 1] {
        let Ok(at) = u64::try_from(step) else { continue };
        let expected = t.generate(at * STEP);
        if super::constant_time_eq(expected.as_bytes(), code.as_bytes()) && last_step.is_none_or(|l| step > l) {
            matched = Some(step);
        }
    }
    matched
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6238 appendix B, SHA-1 seed, truncated to 6 digits.
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_vectors() {
        assert_eq!(code_at(RFC_SEED, 59).unwrap(), "287082");
        assert_eq!(code_at(RFC_SEED, 1_111_111_109).unwrap(), "081804");
        assert_eq!(code_at(RFC_SEED, 1_234_567_890).unwrap(), "005924");
    }

    #[test]
    fn one_step_of_skew_and_no_replay() {
        let now = 1_234_567_890;
        let step = i64::try_from(now / STEP).unwrap();
        let code = code_at(RFC_SEED, now).unwrap();
        assert_eq!(verify(RFC_SEED, &code, now, None), Some(step));
        assert_eq!(verify(RFC_SEED, &code, now + STEP, None), Some(step), "one step late");
        assert_eq!(verify(RFC_SEED, &code, now - STEP, None), Some(step), "one step early");
        assert_eq!(verify(RFC_SEED, &code, now + 2 * STEP, None), None, "two steps late");
        assert_eq!(verify(RFC_SEED, &code, now, Some(step)), None, "replayed");
        assert_eq!(verify(RFC_SEED, "12345", now, None), None);
        assert_eq!(verify(RFC_SEED, "abcdef", now, None), None);
    }

    #[test]
    fn enrolment_has_a_url_and_a_qr_code() {
        let secret = generate_secret();
        let e = enrolment(&secret, "Rosetta (acme)", "ada@example.com").unwrap();
        assert!(e.url.starts_with("otpauth://totp/"), "{}", e.url);
        assert!(e.url.contains(&e.secret_base32));
        assert!(e.qr_svg.contains("<svg"));
        assert!(!format!("{e:?}").contains(&e.secret_base32));
    }
}
