#!/usr/bin/env python3
"""Writes the checked-in seed corpora under fuzz/corpus/ from the server's fixtures and the
test keys in fuzz/keys/. Re-run it (from anywhere) when a fixture or an input format changes;
it overwrites only the files it names.

Needs python3 with `cryptography`, and `xmlsec1` for the signed HTTP-POST request.
"""

import base64
import json
import os
import subprocess
import tempfile
import urllib.parse
import zlib
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

FUZZ = Path(__file__).resolve().parent
SERVER_FIXTURES = FUZZ.parent / "server" / "tests" / "fixtures" / "saml"
KEYS = FUZZ / "keys"
CORPUS = FUZZ / "corpus"

FIXTURE = (SERVER_FIXTURES / "atlassian-authnrequest.xml").read_text()
ACS = "https://auth.atlassian.com/login/callback?connection=saml-2f1c7a52-8d4e-4b7e-9a55-3c0f6a1d2e90"
NOW = 1_795_939_260  # 2026-11-29T08:01:00Z, the fuzzing clock (fuzz/src/lib.rs)
ISSUER = "https://op.example.com"
CLIENT_ID = "rosetta"
CLIENT_SECRET = b"fuzz-client-secret-0123456789abcdef"
NONCE = "n-0S6_WzA2Mj"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"


def key(name):
    return serialization.load_pem_private_key((KEYS / name).read_bytes(), password=None)


def write(target, name, data):
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def deflate(xml):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(xml.encode() if isinstance(xml, str) else xml) + c.flush()


def redirect_value(xml):
    return base64.b64encode(deflate(xml)).decode()


def enc(value):
    return urllib.parse.quote_plus(value)


def with_attr(xml, attr):
    return xml.replace(" ID=", f" {attr} ID=", 1)


SIGNATURE_TEMPLATE = (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
    '<ds:SignatureMethod Algorithm="{alg}"/><ds:Reference URI="#{ref}"><ds:Transforms>'
    '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
    '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
    '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue>'
    "</ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>"
    "<ds:KeyInfo><ds:X509Data><ds:X509Certificate></ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"
)


def post_template(ref="_5f0e3c1a9b7d4e2f8a6c", alg=RSA_SHA256, extra=""):
    sig = SIGNATURE_TEMPLATE.format(alg=alg, ref=ref)
    return FIXTURE.replace("</saml:Issuer>", "</saml:Issuer>" + sig).replace(
        "</samlp:AuthnRequest>", extra + "</samlp:AuthnRequest>"
    )


def xmlsec_sign(template):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.xml"
        out = Path(tmp) / "s.xml"
        src.write_text(template)
        subprocess.run(
            [
                "xmlsec1", "--sign",
                "--privkey-pem", f"{KEYS / 'sp-rsa.key.pem'},{KEYS / 'sp-rsa.cert.pem'}",
                "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
                "--output", str(out), str(src),
            ],
            check=True,
        )
        return out.read_text()


def saml_seeds():
    name_id = FIXTURE.replace(
        "</samlp:AuthnRequest>",
        '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" '
        'AllowCreate="true"/></samlp:AuthnRequest>',
    )
    by_index = with_attr(FIXTURE.replace(f'AssertionConsumerServiceURL="{ACS.replace("&", "&amp;")}"', ""),
                         'AssertionConsumerServiceIndex="7"')
    xml_variants = {
        "xml-atlassian": FIXTURE,
        "xml-nameid-policy": name_id,
        "xml-acs-index-7": by_index,
        "xml-passive-force": with_attr(FIXTURE, 'IsPassive="true" ForceAuthn="1"'),
        "xml-version-1.1": FIXTURE.replace('Version="2.0"', 'Version="1.1"'),
        "xml-redirect-binding": FIXTURE.replace("bindings:HTTP-POST", "bindings:HTTP-Redirect"),
        "xml-comment-in-issuer": FIXTURE.replace("auth.atlassian.com/saml/", "auth.atlassian.com<!---->/saml/"),
        "xml-doctype": '<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + FIXTURE,
        "xml-deep": FIXTURE.replace("</samlp:AuthnRequest>", "<a>" * 70 + "</a>" * 70 + "</samlp:AuthnRequest>"),
        # Hardening II, 2: an ID far beyond an xs:ID's length, and an element with more
        # attributes (or namespace declarations) than the parser is allowed to see.
        "xml-long-id": FIXTURE.replace('ID="', 'ID="_' + "a" * 4096, 1),
        "xml-many-attributes": with_attr(FIXTURE, " ".join(f'a{i}="x"' for i in range(200))),
        "xml-many-namespaces": with_attr(FIXTURE, " ".join(f'xmlns:n{i}="urn:n{i}"' for i in range(200))),
    }
    signed = xmlsec_sign(post_template())
    wrapped = xmlsec_sign(post_template()).replace(
        "</samlp:AuthnRequest>",
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_evil" Version="2.0" '
        'IssueInstant="2026-11-29T08:00:00Z"/></samlp:AuthnRequest>',
    )
    post_only = {
        "xml-signed-rsa": signed,
        "xml-signed-then-wrapped": wrapped,
        "xml-signed-sha1-template": post_template(alg=RSA_SHA1),
        "xml-signed-other-ref": post_template(ref="_other", extra='<x ID="_other"/>'),
    }

    for name, xml in {**xml_variants, **post_only}.items():
        write("saml_post_request", name, xml)
    b64 = base64.b64encode(FIXTURE.encode()).decode()
    write("saml_post_request", "value-wrapped-base64", "\r\n".join(b64[i:i + 76] for i in range(0, len(b64), 76)))
    write("saml_post_request", "value-unpadded", b64.rstrip("="))
    write("saml_post_request", "value-signed", base64.b64encode(signed.encode()).decode())
    write("saml_post_request", "value-latin1", base64.b64encode(b"<a>\xe9</a>").decode())

    for name, xml in xml_variants.items():
        write("saml_redirect_request", name, xml)
    value = redirect_value(FIXTURE)
    relay = "https://acme.atlassian.net/?a=1&b=%2F"
    write("saml_redirect_request", "value-atlassian", value)
    write("saml_redirect_request", "query-atlassian", f"SAMLRequest={enc(value)}&RelayState={enc(relay)}")
    unsigned = f"SAMLRequest={enc(value)}&RelayState={enc(relay)}&SigAlg={enc(RSA_SHA256)}"
    signature = key("sp-rsa.key.pem").sign(unsigned.encode(), padding.PKCS1v15(), hashes.SHA256())
    write("saml_redirect_request", "query-signed-rsa", f"{unsigned}&Signature={enc(base64.b64encode(signature).decode())}")
    write("saml_redirect_request", "query-sha1",
          f"SAMLRequest={enc(value)}&SigAlg={enc(RSA_SHA1)}&Signature=AAAA")
    write("saml_redirect_request", "query-repeated", f"SAMLRequest={enc(value)}&SAMLRequest=AAAA&SAML%52equest=x")
    bomb = base64.b64encode(deflate(b"\0" * 300_000)).decode()
    write("saml_redirect_request", "value-inflate-bomb", bomb)
    write("saml_redirect_request", "value-not-deflate", base64.b64encode(b"\xff" * 16).decode())


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes):
    c = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "248289761001", "exp": NOW + 300, "iat": NOW - 10,
         "nonce": NONCE, "email": "ada@acme.example", "email_verified": True}
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return json.dumps(c, separators=(",", ":"))


def jws(header, payload):
    h = json.loads(header)
    signing_input = f"{b64url(header.encode())}.{b64url(payload.encode())}".encode()
    alg = h.get("alg")
    if alg == "RS256":
        sig = key("op-rsa.key.pem").sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        sig = key("op-rsa.key.pem").sign(
            signing_input, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    elif alg == "ES256":
        r, s = decode_dss_signature(key("op-ec.key.pem").sign(signing_input, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "HS256":
        mac = hmac.HMAC(CLIENT_SECRET, hashes.SHA256())
        mac.update(signing_input)
        sig = mac.finalize()
    else:
        sig = b""
    return f"{signing_input.decode()}.{b64url(sig)}"


def jwks():
    rsa = key("op-rsa.key.pem").public_key().public_numbers()
    ecn = key("op-ec.key.pem").public_key().public_numbers()
    n = rsa.n.to_bytes((rsa.n.bit_length() + 7) // 8, "big")
    return {"keys": [
        {"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": b64url(n), "e": b64url(rsa.e.to_bytes(3, "big"))},
        {"kty": "EC", "kid": "ec-1", "use": "sig", "crv": "P-256",
         "x": b64url(ecn.x.to_bytes(32, "big")), "y": b64url(ecn.y.to_bytes(32, "big"))},
    ]}


def id_token_seeds():
    t = "id_token"
    write(t, "raw-rs256", jws('{"alg":"RS256","kid":"rsa-1","typ":"JWT"}', claims()))
    write(t, "raw-ps256", jws('{"alg":"PS256","kid":"rsa-1"}', claims()))
    write(t, "raw-es256", jws('{"alg":"ES256","kid":"ec-1"}', claims()))
    write(t, "raw-hs256", jws('{"alg":"HS256"}', claims()))
    write(t, "raw-alg-none", jws('{"alg":"none"}', claims()))
    write(t, "raw-jwe", "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d")
    write(t, "raw-not-json", f"{b64url(b'[1,2]')}.{b64url(b'nope')}.AAAA")
    # Crashed openidconnect's HMAC check (signature shorter than the digest); regression
    # test hmac_signature_of_the_wrong_length_is_invalid_not_a_panic in server/src/oidc/id_token.rs.
    write(t, "regression-hs256-empty-signature", "eyJhbGciOiJIUzI1NiJ9..")
    signed = {
        "signed-rs256": ('{"alg":"RS256","kid":"rsa-1"}', claims()),
        "signed-es256-nbf": ('{"alg":"ES256"}', claims(nbf=NOW + 30)),
        "signed-hs256-multi-aud": ('{"alg":"HS256","typ":"JWT"}', claims(aud=[CLIENT_ID, "other"], azp=CLIENT_ID)),
        "signed-hs512-float-exp": ('{"alg":"HS512"}', claims(exp=NOW + 0.5, iat=float(NOW))),
        "signed-expired": ('{"alg":"HS256"}', claims(exp=NOW - 120)),
        "signed-bad-nonce": ('{"alg":"HS256"}', claims(nonce="other")),
        "signed-no-sub": ('{"alg":"HS384"}', claims(sub=None)),
        "signed-typ-at-jwt": ('{"alg":"HS256","typ":"at+jwt"}', claims()),
        "signed-crit": ('{"alg":"ES256","crit":["exp"]}', claims()),
        "signed-updated-at-string": ('{"alg":"HS256"}', claims(updated_at="2026-01-01T00:00:00Z")),
    }
    for name, (header, payload) in signed.items():
        write(t, name, f"S{header}\n{payload}")
    write(t, "jwks-fixed", "K" + json.dumps(jwks()))
    write(t, "jwks-oct-confusion", "K" + json.dumps({"keys": [
        {"kty": "oct", "kid": "oct-1", "k": b64url(b"attacker-chosen-key")}] + jwks()["keys"]}))
    dup = jwks()["keys"][0]
    write(t, "jwks-duplicate-kid", "K" + json.dumps({"keys": [dup, dict(dup, alg="RS256")]}))
    write(t, "jwks-tiny-rsa", "K" + json.dumps({"keys": [{"kty": "RSA", "kid": "rsa-1", "n": "AQ", "e": "AQAB"}]}))


def metadata_seeds():
    for f in sorted((SERVER_FIXTURES / "metadata").glob("*.xml")):
        write("sp_metadata", f.stem, f.read_bytes())
    many = " ".join(f'a{i}="x"' for i in range(200))
    write("sp_metadata", "many-attributes", f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" {many} entityID="https://sp.example/saml">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs" index="1"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
""")
    cert = "".join((KEYS / "sp-rsa.cert.pem").read_text().strip().splitlines()[1:-1])
    write("sp_metadata", "signed-requests-two-acs", f"""<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.example/saml">
  <md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
{cert}
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="http://localhost:9000/acs" index="3"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/acs?x=1&amp;y=2" index="1" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
""")


def tenant_host_seeds():
    t = "tenant_host"
    seeds = {
        "tenant-prod": b"\x03acme.rosetta.example.com",
        "tenant-dev-mixed-case": b"\x00Acme.Localhost.:8080",
        "console-port": b"\x03rosetta.example.com:443",
        "trusted-proxy-forwarded": b"\x01localhost:8080\nx, acme.localhost:8080\n198.51.100.7, 1.2.3.4, 10.9.9.9",
        "untrusted-forwarded": b"\x03localhost\nacme.localhost\n1.2.3.4",
        "trusted-v6-garbage": b"\x02[::1]:8080\n, ,\n garbage, ::1",
        "punycode-label": b"\x03xn--e1afmkfd.rosetta.example.com:443",
        "explicit-port": b"\x04globex.sso.example.com:8443\n\n2001:db8::1",
        "reserved-and-nested": b"\x03www.rosetta.example.com\na.b.rosetta.example.com",
        "userinfo-like": b"\x01acme@localhost:8080\nacme.localhost:99999",
    }
    for name, data in seeds.items():
        write(t, name, data)


if __name__ == "__main__":
    os.chdir(FUZZ)
    saml_seeds()
    id_token_seeds()
    metadata_seeds()
    tenant_host_seeds()
