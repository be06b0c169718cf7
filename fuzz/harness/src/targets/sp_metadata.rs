//! SP metadata import: the XML an admin pastes or uploads (or that is fetched for them),
//! read in production and in dev mode.
//!
//! Beyond "no panic": what is imported is usable as registered. Exactly one default ACS and
//! it comes first, unique indexes, https ACS URLs outside dev mode (http only to loopback in
//! dev mode), real DER certificates without duplicates, a signing requirement only with a
//! certificate, a supported NameID format; and dev mode only ever relaxes the ACS scheme rule.

use crate::verbose;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::x509::X509;
use rosetta::saml::metadata::SUPPORTED_NAMEID_FORMATS;
use rosetta::saml::sp_metadata::{SpMetadata, parse_sp_metadata};
use url::{Host, Url};

/// One fuzz input (see the module documentation).
pub fn run(data: &[u8]) {
    let Ok(xml) = std::str::from_utf8(data) else {
        return;
    };
    let production = parse_sp_metadata(xml, false);
    let dev = parse_sp_metadata(xml, true);
    if verbose() {
        eprintln!("production: {production:?}\ndev: {dev:?}");
    }
    if let Ok(sp) = &production {
        check(sp, false);
        assert_eq!(
            dev.as_ref().ok(),
            Some(sp),
            "dev mode refused or changed what production accepts"
        );
    }
    if let Ok(sp) = &dev {
        check(sp, true);
    }
}

fn check(sp: &SpMetadata, dev: bool) {
    assert!(!sp.entity_id.to_string().is_empty());

    let acs = &sp.acs;
    assert!(!acs.is_empty(), "imported without an ACS");
    assert!(acs[0].is_default, "the default ACS must come first");
    assert_eq!(
        acs.iter().filter(|a| a.is_default).count(),
        1,
        "exactly one default ACS"
    );
    let rest: Vec<u16> = acs[1..].iter().map(|a| a.index).collect();
    assert!(
        rest.windows(2).all(|w| w[0] < w[1]),
        "non-default ACS by ascending index: {rest:?}"
    );
    assert!(!rest.contains(&acs[0].index), "ACS indexes must be unique");
    for a in acs {
        let url = Url::parse(a.url.as_str()).unwrap_or_else(|e| panic!("ACS {:?} is not a URL: {e}", a.url.as_str()));
        let loopback = match url.host() {
            Some(Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let allowed = url.scheme() == "https" || (dev && loopback && url.scheme() == "http");
        assert!(allowed, "ACS {:?} imported with dev={dev}", a.url.as_str());
        assert!(url.username().is_empty() && url.password().is_none() && url.fragment().is_none());
    }
    assert_eq!(sp.acs_endpoints().len(), acs.len());

    for (i, cert) in sp.signing_certs_base64.iter().enumerate() {
        let der = STANDARD
            .decode(cert)
            .unwrap_or_else(|e| panic!("stored certificate is not base64: {e}"));
        let parsed = X509::from_der(&der).unwrap_or_else(|e| panic!("stored certificate is not X.509: {e}"));
        assert_eq!(
            parsed.to_der().ok().as_deref(),
            Some(der.as_slice()),
            "not canonical DER"
        );
        assert!(!sp.signing_certs_base64[..i].contains(cert), "duplicate certificate");
    }
    assert!(
        !sp.want_requests_signed || !sp.signing_certs_base64.is_empty(),
        "requests must be signed but no certificate was imported"
    );
    if let Some(format) = &sp.name_id_format {
        assert!(SUPPORTED_NAMEID_FORMATS.contains(&format.as_str()), "{format:?}");
    }
}
