//! Host header / tenant resolution (`rosetta::tenancy`), as the `resolve_site` middleware and
//! the client-IP logic use it. Input: first byte picks the TCP peer (none, a trusted IPv4 or
//! IPv6 proxy, an untrusted IPv4 or IPv6 client); the rest is up to three lines: `Host`,
//! `X-Forwarded-Host`, `X-Forwarded-For` (a missing line is a missing header).
//!
//! Checked for several public URLs: forwarded headers count only from trusted peers; the
//! client IP is the peer or one of the forwarded hops; a tenant host re-renders (through
//! `tenant_url`) to a host that classifies as the same tenant; the console is exactly the
//! public host; classification ignores ASCII case.

use std::net::IpAddr;
use std::sync::LazyLock;

use ipnet::IpNet;
use rosetta::domain::TenantSlug;
use rosetta::tenancy::{HostClass, HostRouter, client_ip, effective_host, is_trusted};
use url::Url;

static ROUTERS: LazyLock<Vec<(Url, HostRouter)>> = LazyLock::new(|| {
    [
        "http://localhost:8080",
        "https://rosetta.example.com",
        "https://sso.example.com:8443/",
        "https://Rosetta.Example.NET./",
    ]
    .into_iter()
    .map(|u| {
        let url = Url::parse(u).expect("fixed public URL");
        let router = HostRouter::new(&url);
        (url, router)
    })
    .collect()
});

static TRUSTED: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    ["10.0.0.0/8", "::1/128"]
        .into_iter()
        .map(|n| n.parse().expect("fixed network"))
        .collect()
});

const PEERS: [Option<&str>; 5] = [
    None,
    Some("10.1.2.3"),
    Some("::1"),
    Some("203.0.113.9"),
    Some("2001:db8::7"),
];

/// One fuzz input (see the module documentation).
pub fn run(data: &[u8]) {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let peer: Option<IpAddr> = PEERS[usize::from(*selector) % PEERS.len()].and_then(|p| p.parse().ok());
    let mut lines = text.split('\n');
    let (host, forwarded_host, forwarded_for) = (lines.next(), lines.next(), lines.next());
    let trusted = is_trusted(peer, &TRUSTED);

    let effective = effective_host(host, forwarded_host, peer, &TRUSTED);
    if !trusted {
        assert_eq!(effective, host, "X-Forwarded-Host used from an untrusted peer");
    } else if effective != host {
        let used = effective.unwrap_or_default();
        assert!(!used.is_empty() && used.trim() == used);
        assert!(forwarded_host.unwrap_or_default().contains(used));
    }

    let ip = client_ip(peer, forwarded_for, &TRUSTED);
    if !trusted {
        assert_eq!(ip, peer, "X-Forwarded-For used from an untrusted peer");
    } else if ip != peer {
        let hops: Vec<IpAddr> = forwarded_for
            .unwrap_or_default()
            .split(',')
            .filter_map(|h| h.trim().parse().ok())
            .collect();
        assert!(
            ip.is_some_and(|ip| hops.contains(&ip)),
            "client IP {ip:?} is neither peer nor a hop"
        );
    }

    for value in [host, forwarded_host, effective].into_iter().flatten() {
        for (url, router) in ROUTERS.iter() {
            classify(url, router, value);
        }
    }
}

fn classify(public_url: &Url, router: &HostRouter, host: &str) {
    let class = router.classify(host);
    assert_eq!(
        router.classify(&host.to_ascii_uppercase()),
        class,
        "case changes the class of {host:?}"
    );
    let port = public_url.port_or_known_default().unwrap_or(80);
    match &class {
        HostClass::Tenant(slug) => {
            assert_eq!(
                TenantSlug::parse(slug.as_str()).as_ref(),
                Ok(slug),
                "slug does not re-parse"
            );
            let tenant_url = router.tenant_url(slug);
            let parsed = Url::parse(&tenant_url).unwrap_or_else(|e| panic!("tenant URL {tenant_url:?}: {e}"));
            let tenant_host = parsed.host_str().unwrap_or_default();
            assert_eq!(
                router.classify(tenant_host),
                class,
                "{tenant_url} does not classify back"
            );
            assert_eq!(router.classify(&format!("{tenant_host}:{port}")), class);
            assert!(router.sso_url(slug).starts_with(&tenant_url));
            assert!(router.idp_entity_id(slug).starts_with(&tenant_url));
        }
        HostClass::Console => {
            let public_host = public_url.host_str().unwrap_or_default();
            assert_eq!(router.classify(public_host), HostClass::Console);
            let name = host.trim();
            let name = match name.strip_prefix('[') {
                Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
                None => name.rsplit_once(':').map_or(name, |(n, _)| n),
            };
            assert!(
                name.trim_end_matches('.')
                    .eq_ignore_ascii_case(public_host.trim_end_matches('.')),
                "{host:?} is not the public host {public_host:?}"
            );
        }
        HostClass::Unknown => {}
    }
}
