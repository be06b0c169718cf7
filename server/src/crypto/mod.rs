//! Secrets at rest: AES-256-GCM envelopes bound to their tenant and record.
//!
//! Envelope layout (bytes): `version (1) | key id (4) | nonce (12) | ciphertext + tag`.
//! The associated data names the tenant, the kind of record and its ID, so a ciphertext
//! copied to another row, another column or another tenant fails to open. The key ID lets
//! several master keys coexist during rotation: the newest seals, any known key opens.

pub mod pool;

use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// Why a secret could not be sealed, opened or a key loaded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The stored bytes are not an envelope of a version we know.
    #[error("stored secret is malformed or of an unknown format")]
    Malformed,
    /// Sealed under a master key that is not configured.
    #[error("stored secret was sealed with master key {0}, which is not configured")]
    UnknownKey(String),
    /// Wrong key material, tampered bytes, or a ciphertext moved to another record.
    #[error("stored secret could not be decrypted: wrong master key, tampered data, or it belongs to another record")]
    Decrypt,
    /// A master key that is not base64 of exactly 32 bytes.
    #[error("master key must be base64 of exactly 32 bytes")]
    BadKey,
    /// Reading or creating the key file failed.
    #[error("master key file {path}: {reason}")]
    KeyFile {
        /// The file concerned.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// Names the record a secret belongs to; becomes the AEAD associated data.
#[derive(Debug, Clone, Copy)]
pub struct SecretContext<'a> {
    /// Tenant ID (or slug) owning the record.
    pub tenant: &'a str,
    /// Kind of record and field, e.g. `identity_source.client_secret`.
    pub kind: &'a str,
    /// The record's ID.
    pub record: &'a str,
}

impl SecretContext<'_> {
    /// Length-prefixed so that no two different contexts encode alike.
    fn associated_data(&self) -> Vec<u8> {
        let mut out = b"rosetta-secret-v1".to_vec();
        for part in [self.tenant, self.kind, self.record] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// One AES-256 master key with its public ID.
pub struct MasterKey {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

impl MasterKey {
    /// Builds a key from its 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        let digest = Sha256::new_with_prefix(b"rosetta-master-key-id")
            .chain_update(bytes)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        let cipher = Aes256Gcm::new_from_slice(bytes).map_err(|_| CryptoError::BadKey)?;
        Ok(Self { id, cipher })
    }

    /// Parses base64 (standard alphabet, surrounding white space ignored).
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let bytes = Zeroizing::new(B64.decode(text.trim()).map_err(|_| CryptoError::BadKey)?);
        Self::from_bytes(&bytes)
    }

    /// A fresh random key, returned with its base64 form for storing.
    pub fn generate() -> Result<(Self, Zeroizing<String>), CryptoError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        let encoded = Zeroizing::new(B64.encode(bytes.as_ref()));
        Ok((Self::from_bytes(bytes.as_ref())?, encoded))
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh key when absent.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let err = |reason: String| CryptoError::KeyFile {
            path: path.display().to_string(),
            reason,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                warn_if_readable_by_others(path);
                Self::from_base64(&Zeroizing::new(text)).map_err(|e| err(e.to_string()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| err(e.to_string()))?;
                }
                let (key, encoded) = Self::generate()?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(|e| err(e.to_string()))?;
                file.write_all(encoded.as_bytes())
                    .and_then(|_| file.write_all(b"\n"))
                    .and_then(|_| file.sync_all())
                    .map_err(|e| err(e.to_string()))?;
                tracing::info!(path = %path.display(), key_id = %key.id_hex(), "generated a new master key");
                Ok(key)
            }
            Err(e) => Err(err(e.to_string())),
        }
    }

    /// The key's public ID in hex (safe to log).
    pub fn id_hex(&self) -> String {
        crate::credentials::hex(&self.id)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, <redacted>)", self.id_hex())
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "master key file is readable by other users; chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// The configured master keys: the first seals, all open.
#[derive(Debug)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// A keyring whose first key seals new secrets.
    pub fn new(primary: MasterKey, older: Vec<MasterKey>) -> Self {
        let mut keys = vec![primary];
        keys.extend(older);
        Self { keys }
    }

    /// Whether `envelope` was sealed under a key other than the newest (so `rosetta rekey`
    /// should re-seal it). Malformed envelopes are reported as needing nothing: opening
    /// them fails loudly elsewhere.
    pub fn is_stale(&self, envelope: &[u8]) -> bool {
        match (self.keys.first(), envelope.get(1..1 + KEY_ID_LEN)) {
            (Some(primary), Some(id)) if envelope.first() == Some(&VERSION) => primary.id != id,
            _ => false,
        }
    }

    /// The newest key's ID in hex.
    pub fn primary_id(&self) -> String {
        self.keys.first().map(MasterKey::id_hex).unwrap_or_default()
    }

    /// Encrypts `plaintext` for the record named by `ctx`.
    pub fn seal(&self, ctx: SecretContext<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key = self.keys.first().ok_or(CryptoError::BadKey)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = ctx.associated_data();
        let sealed = key
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts an envelope made by [`Keyring::seal`] for the same record.
    pub fn open(&self, ctx: SecretContext<'_>, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if envelope.len() < HEADER_LEN + 16 || envelope[0] != VERSION {
            return Err(CryptoError::Malformed);
        }
        let key_id = &envelope[1..1 + KEY_ID_LEN];
        let nonce = &envelope[1 + KEY_ID_LEN..HEADER_LEN];
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKey(crate::credentials::hex(key_id)))?;
        let aad = ctx.associated_data();
        key.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: &envelope[HEADER_LEN..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(tenant: &'a str, record: &'a str) -> SecretContext<'a> {
        SecretContext {
            tenant,
            kind: "identity_source.client_secret",
            record,
        }
    }

    fn ring() -> Keyring {
        Keyring::new(MasterKey::generate().unwrap().0, vec![])
    }

    #[test]
    fn round_trips_and_never_repeats_a_ciphertext() {
        let ring = ring();
        let a = ring.seal(ctx("acme", "1"), b"s3cret").unwrap();
        let b = ring.seal(ctx("acme", "1"), b"s3cret").unwrap();
        assert_ne!(a, b, "fresh nonce per seal");
        assert!(!a.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(ring.open(ctx("acme", "1"), &a).unwrap().as_slice(), b"s3cret");
    }

    #[test]
    fn moved_ciphertext_fails_closed() {
        let ring = ring();
        let sealed = ring.seal(ctx("acme", "1"), b"s3cret").unwrap();
        assert_eq!(ring.open(ctx("acme", "2"), &sealed).unwrap_err(), CryptoError::Decrypt);
        assert_eq!(
            ring.open(ctx("globex", "1"), &sealed).unwrap_err(),
            CryptoError::Decrypt
        );
        let other_kind = SecretContext {
            tenant: "acme",
            kind: "signing_key.private",
            record: "1",
        };
        assert_eq!(ring.open(other_kind, &sealed).unwrap_err(), CryptoError::Decrypt);
    }

    #[test]
    fn context_fields_cannot_be_shifted_into_each_other() {
        let ring = ring();
        let sealed = ring
            .seal(
                SecretContext {
                    tenant: "ab",
                    kind: "c",
                    record: "d",
                },
                b"x",
            )
            .unwrap();
        let shifted = SecretContext {
            tenant: "a",
            kind: "bc",
            record: "d",
        };
        assert_eq!(ring.open(shifted, &sealed).unwrap_err(), CryptoError::Decrypt);
    }

    #[test]
    fn wrong_key_and_tampering_fail_closed() {
        let sealed = ring().seal(ctx("acme", "1"), b"s3cret").unwrap();
        assert!(matches!(
            ring().open(ctx("acme", "1"), &sealed),
            Err(CryptoError::UnknownKey(_))
        ));

        let ring = ring();
        let mut sealed = ring.seal(ctx("acme", "1"), b"s3cret").unwrap();
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert_eq!(ring.open(ctx("acme", "1"), &sealed).unwrap_err(), CryptoError::Decrypt);
        assert_eq!(
            ring.open(ctx("acme", "1"), &sealed[..10]).unwrap_err(),
            CryptoError::Malformed
        );
        assert_eq!(ring.open(ctx("acme", "1"), &[]).unwrap_err(), CryptoError::Malformed);
    }

    #[test]
    fn stale_envelopes_are_recognised() {
        let (old, old_b64) = MasterKey::generate().unwrap();
        let sealed = Keyring::new(old, vec![]).seal(ctx("acme", "1"), b"x").unwrap();
        let rotated = Keyring::new(
            MasterKey::generate().unwrap().0,
            vec![MasterKey::from_base64(&old_b64).unwrap()],
        );
        assert!(rotated.is_stale(&sealed));
        let fresh = rotated.seal(ctx("acme", "1"), b"x").unwrap();
        assert!(!rotated.is_stale(&fresh));
        assert!(!rotated.is_stale(b"garbage"));
    }

    #[test]
    fn older_keys_still_open_after_rotation() {
        let (old, old_b64) = MasterKey::generate().unwrap();
        let sealed = Keyring::new(old, vec![]).seal(ctx("acme", "1"), b"s3cret").unwrap();
        let rotated = Keyring::new(
            MasterKey::generate().unwrap().0,
            vec![MasterKey::from_base64(&old_b64).unwrap()],
        );
        assert_eq!(rotated.open(ctx("acme", "1"), &sealed).unwrap().as_slice(), b"s3cret");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/master.key");
        let first = MasterKey::load_or_create(&path).unwrap();
        let second = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(first.id_hex(), second.id_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "not base64!").unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("master.key") && err.contains("32 bytes"), "{err}");
    }

    #[test]
    fn bad_keys_are_refused_and_debug_is_redacted() {
        assert_eq!(MasterKey::from_base64("c2hvcnQ=").unwrap_err(), CryptoError::BadKey);
        let (key, b64) = MasterKey::generate().unwrap();
        assert!(!format!("{key:?}").contains(b64.as_str()));
    }
}
