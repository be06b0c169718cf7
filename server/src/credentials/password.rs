//! Argon2id password hashes in PHC strings, with OWASP parameters (m=19456 KiB, t=2, p=1).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB.
pub const M_COST: u32 = 19_456;
/// Iterations.
pub const T_COST: u32 = 2;
/// Parallelism.
pub const P_COST: u32 = 1;

/// Why hashing failed (never because of a wrong password).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Result of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The password matches; `rehash` when the stored hash used other parameters.
    Match {
        /// Whether to store a fresh hash with the current parameters.
        rehash: bool,
    },
    /// Wrong password (or an unreadable stored hash).
    Mismatch,
}

fn hasher_with(m: u32, t: u32, p: u32) -> Result<Argon2<'static>, HashError> {
    let params = Params::new(m, t, p, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hasher() -> Result<Argon2<'static>, HashError> {
    hasher_with(M_COST, T_COST, P_COST)
}

/// Hashes a password with the current parameters and a fresh salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    hash_with(password, M_COST, T_COST, P_COST)
}

/// Hashes with explicit parameters (tests of the rehash path use weaker ones).
pub fn hash_with(password: &str, m: u32, t: u32, p: u32) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher_with(m, t, p)?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks `password` against a PHC string.
pub fn verify(password: &str, phc: &str) -> Verified {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return Verified::Mismatch;
    };
    let Ok(argon) = hasher() else {
        return Verified::Mismatch;
    };
    if argon.verify_password(password.as_bytes(), &parsed).is_err() {
        return Verified::Mismatch;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed)
            .is_ok_and(|p| p.m_cost() == M_COST && p.t_cost() == T_COST && p.p_cost() == P_COST);
    Verified::Match { rehash: !current }
}

/// Spends the time of one verification, for sign-ins with an unknown email, so timing
/// does not tell which addresses have accounts.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(phc) = DUMMY.get_or_init(|| hash("rosetta-dummy-password").ok()) {
        let _ = verify(password, phc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_phc_with_owasp_parameters() {
        let phc = hash("plum harbour violet engine").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert_eq!(
            verify("plum harbour violet engine", &phc),
            Verified::Match { rehash: false }
        );
        assert_eq!(verify("plum harbour violet engin", &phc), Verified::Mismatch);
        assert_ne!(phc, hash("plum harbour violet engine").unwrap(), "salted");
    }

    #[test]
    fn old_parameters_ask_for_a_rehash() {
        let weak = hash_with("plum harbour violet engine", 8192, 1, 1).unwrap();
        assert_eq!(
            verify("plum harbour violet engine", &weak),
            Verified::Match { rehash: true }
        );
        assert_eq!(verify("other", &weak), Verified::Mismatch);
    }

    #[test]
    fn garbage_hashes_never_match() {
        assert_eq!(verify("x", "not a phc string"), Verified::Mismatch);
        assert_eq!(verify("x", ""), Verified::Mismatch);
    }
}
