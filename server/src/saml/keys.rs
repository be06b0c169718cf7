//! A tenant's SAML signing key: RSA-2048 with a self-signed certificate, parsed once and
//! kept in memory so that signing a response never re-reads key material.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::x509::{X509, X509NameBuilder};
use zeroize::Zeroizing;

use crate::crypto::pool::ContextPool;

/// Why key material could not be made, read or used.
#[derive(Debug, thiserror::Error)]
#[error("signing key: {0}")]
pub struct KeyError(String);

impl From<openssl::error::ErrorStack> for KeyError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self(e.to_string())
    }
}

/// How long generated certificates are valid. SAML peers pin the certificate rather than
/// check its dates; rotation is by publishing a next key, not by expiry.
const CERT_VALIDITY_DAYS: u32 = 3650;

/// A parsed private key and its certificate.
pub struct SigningKey {
    key: PKey<Private>,
    cert: X509,
    cert_der: Vec<u8>,
    /// SHA-256 fingerprint of the certificate, colon-separated hex.
    fingerprint: String,
    /// Initialised RSA-SHA256 signing contexts, reused: setting one up (algorithm fetch,
    /// padding and digest parameters) costs about as much as hashing a whole Response.
    contexts: ContextPool<(), PkeyCtx<Private>>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("certificate", &self.fingerprint_sha256())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh RSA-2048 key with a self-signed SHA-256 certificate naming `common_name`.
    pub fn generate(common_name: &str) -> Result<Self, KeyError> {
        Self::generate_valid_for(common_name, CERT_VALIDITY_DAYS)
    }

    /// [`Self::generate`] with a certificate valid for `days` from now.
    pub fn generate_valid_for(common_name: &str, days: u32) -> Result<Self, KeyError> {
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let mut name = X509NameBuilder::new()?;
        // X.509 caps CN at 64 characters; the entity ID can be longer.
        let cn: String = common_name.chars().take(64).collect();
        name.append_entry_by_text("CN", &cn)?;
        let name = name.build();
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let mut builder = X509::builder()?;
        builder.set_version(2)?;
        let serial = Asn1Integer::from_bn(&serial)?;
        builder.set_serial_number(&serial)?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(&name)?;
        builder.set_pubkey(&key)?;
        let not_before = Asn1Time::days_from_now(0)?;
        let not_after = Asn1Time::days_from_now(days)?;
        builder.set_not_before(&not_before)?;
        builder.set_not_after(&not_after)?;
        builder.sign(&key, MessageDigest::sha256())?;
        let cert = builder.build();
        let cert_der = cert.to_der()?;
        Ok(Self::new(key, cert, cert_der))
    }

    /// Rebuilds a key from its PKCS#8 DER private key and DER certificate, checking they match.
    pub fn from_der(private_key_der: &[u8], cert_der: &[u8]) -> Result<Self, KeyError> {
        let key = PKey::private_key_from_der(private_key_der)?;
        let cert = X509::from_der(cert_der)?;
        if !cert.public_key()?.public_eq(&key) {
            return Err(KeyError("certificate does not match the private key".into()));
        }
        Ok(Self::new(key, cert, cert_der.to_vec()))
    }

    fn new(key: PKey<Private>, cert: X509, cert_der: Vec<u8>) -> Self {
        Self {
            fingerprint: fingerprint(&cert),
            key,
            cert,
            cert_der,
            contexts: ContextPool::default(),
        }
    }

    /// The private key as PKCS#8 DER, for sealing at rest.
    pub fn private_key_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        Ok(Zeroizing::new(self.key.private_key_to_pkcs8()?))
    }

    /// The certificate in DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate as single-line base64 (the `ds:X509Certificate` content).
    pub fn cert_base64(&self) -> String {
        B64.encode(&self.cert_der)
    }

    /// The certificate as PEM, as admins paste it into Atlassian.
    pub fn cert_pem(&self) -> String {
        let b64 = self.cert_base64();
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(chunk));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// SHA-256 fingerprint of the certificate, colon-separated hex (computed once, with the
    /// key: every login's trace names it).
    pub fn fingerprint_sha256(&self) -> &str {
        &self.fingerprint
    }

    /// The certificate's expiry, as text.
    pub fn not_after(&self) -> String {
        self.cert.not_after().to_string()
    }

    /// RSA-SHA256 (PKCS#1 v1.5) signature over `data`.
    pub fn sign_rsa_sha256(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let digest = openssl::sha::sha256(data);
        let mut ctx = self.contexts.take(&(), || {
            let mut ctx = PkeyCtx::new(&self.key)?;
            ctx.sign_init()?;
            ctx.set_rsa_padding(Padding::PKCS1)?;
            ctx.set_signature_md(Md::sha256())?;
            Ok::<_, KeyError>(ctx)
        })?;
        let mut signature = Vec::with_capacity(self.key.size());
        ctx.sign_to_vec(&digest, &mut signature)?;
        self.contexts.give_back((), ctx);
        Ok(signature)
    }
}

fn fingerprint(cert: &X509) -> String {
    cert.digest(MessageDigest::sha256())
        .map(|d| d.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
        .unwrap_or_default()
}

/// SHA-256 fingerprint of a DER certificate, colon-separated hex (empty if it does not parse).
pub fn cert_fingerprint_sha256(der: &[u8]) -> String {
    X509::from_der(der).map(|c| fingerprint(&c)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_round_trip_through_der_and_sign() {
        let key = SigningKey::generate("https://acme.rosetta.example.com/saml/metadata").unwrap();
        let again = SigningKey::from_der(&key.private_key_der().unwrap(), key.cert_der()).unwrap();
        assert_eq!(key.fingerprint_sha256(), again.fingerprint_sha256());
        assert!(key.cert_pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
        let sig = again.sign_rsa_sha256(b"hello").unwrap();
        let public = X509::from_der(key.cert_der()).unwrap().public_key().unwrap();
        let mut verifier = openssl::sign::Verifier::new(MessageDigest::sha256(), &public).unwrap();
        verifier.update(b"hello").unwrap();
        assert!(verifier.verify(&sig).unwrap());
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn reused_signing_contexts_sign_as_a_fresh_signer_does() {
        let key = std::sync::Arc::new(SigningKey::generate("https://idp.example.com").unwrap());
        let reference = |data: &[u8]| {
            let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &key.key).unwrap();
            signer.update(data).unwrap();
            signer.sign_to_vec().unwrap()
        };
        // PKCS#1 v1.5 is deterministic: the pooled contexts must give the very same bytes,
        // first use and reuse, and from several threads at once.
        for data in [&b"first"[..], b"second", b""] {
            assert_eq!(key.sign_rsa_sha256(data).unwrap(), reference(data));
        }
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let key = key.clone();
                std::thread::spawn(move || {
                    (0..5)
                        .map(|j| {
                            let data = format!("thread {i} message {j}");
                            (data.clone(), key.sign_rsa_sha256(data.as_bytes()).unwrap())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for t in threads {
            for (data, sig) in t.join().unwrap() {
                assert_eq!(sig, reference(data.as_bytes()), "{data}");
            }
        }
        let idle = key.contexts.idle();
        assert!(
            (1..=crate::crypto::pool::MAX_IDLE).contains(&idle),
            "{idle} idle contexts"
        );
    }

    #[test]
    fn a_certificate_of_another_key_is_refused() {
        let a = SigningKey::generate("a").unwrap();
        let b = SigningKey::generate("b").unwrap();
        assert!(SigningKey::from_der(&a.private_key_der().unwrap(), b.cert_der()).is_err());
    }
}
