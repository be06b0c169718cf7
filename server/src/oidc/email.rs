//! The email domain allow-list.

/// Whether `email`'s domain is exactly one of `allowed`.
///
/// The domain is what follows the **last** `@`, ASCII-lowercased; it must equal an allowed
/// entry (also lowercased, surrounding whitespace ignored) byte for byte. Suffix and prefix
/// matches never pass (`victim@corp.com.evil.com` is not `corp.com`), and subdomains are
/// not implied: an admin who wants `eu.corp.com` lists it. An empty list allows nobody.
pub fn email_domain_allowed(email: &str, allowed: &[String]) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    if local.is_empty() || domain.is_empty() {
        return false;
    }
    let domain = domain.to_ascii_lowercase();
    allowed.iter().any(|a| {
        let a = a.trim().to_ascii_lowercase();
        !a.is_empty() && a == domain
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corp() -> Vec<String> {
        vec!["corp.com".into()]
    }

    #[test]
    fn exact_domain_passes_in_any_case() {
        assert!(email_domain_allowed("alice@corp.com", &corp()));
        assert!(email_domain_allowed("Alice@CORP.Com", &corp()));
        assert!(email_domain_allowed("alice@corp.com", &["  Corp.COM ".to_owned()]));
    }

    #[test]
    fn suffix_and_prefix_attacks_fail() {
        assert!(!email_domain_allowed("victim@corp.com.evil.com", &corp()));
        assert!(!email_domain_allowed("victim@evilcorp.com", &corp()));
        assert!(!email_domain_allowed("victim@evil.corp.com", &corp()));
        assert!(!email_domain_allowed("victim@corp.com.", &corp()));
    }

    #[test]
    fn the_last_at_sign_decides() {
        assert!(!email_domain_allowed("victim@corp.com@evil.com", &corp()));
        assert!(email_domain_allowed("\"odd@evil.com\"@corp.com", &corp()));
    }

    #[test]
    fn malformed_or_empty_inputs_fail() {
        assert!(!email_domain_allowed("corp.com", &corp()));
        assert!(!email_domain_allowed("@corp.com", &corp()));
        assert!(!email_domain_allowed("alice@", &corp()));
        assert!(!email_domain_allowed("alice@corp.com", &[]));
        assert!(!email_domain_allowed("alice@", &[String::new()]));
    }
}
