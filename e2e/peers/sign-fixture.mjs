// Builds and signs a SAML Response the way an IdP does, for tests of the SP validator
// (and any test that needs a known-good signed Response). A throwaway key only.
//
// Reads one JSON object on stdin, writes the signed XML on stdout:
//   private_key  PEM (PKCS#8 or PKCS#1) of the signing key
//   cert         PEM certificate put in KeyInfo (validators must ignore it and use theirs)
//   xml          an unsigned Response to sign as is; or, to build one, `response`:
//   response     {issuer, destination, audience, recipient, in_response_to?, name_id,
//                 name_id_format?, session_index?, attributes?: {name: [values]},
//                 valid_for_secs? (default 300)}
//   sign         which elements to sign: ["assertion", "response"] (default both)
//
// Signatures: RSA-SHA256, SHA-256 digest, exclusive C14N, enveloped, one Reference to the
// element's own ID, placed right after its Issuer as the schema requires.

import { randomBytes } from 'node:crypto';

import { SignedXml } from 'xml-crypto';

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';

const escapeXml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]);

// IDs must be NCNames: a letter or underscore first.
const newId = () => `_${randomBytes(20).toString('hex')}`;

function buildResponse(r) {
  const now = new Date();
  const until = new Date(now.getTime() + (r.valid_for_secs ?? 300) * 1000);
  const instant = now.toISOString();
  const irt = r.in_response_to ? ` InResponseTo="${escapeXml(r.in_response_to)}"` : '';
  const format = r.name_id_format ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
  const attributes = Object.entries(r.attributes ?? {})
    .map(
      ([name, values]) =>
        `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${[]
          .concat(values)
          .map((v) => `<saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`)
          .join('')}</saml:Attribute>`,
    )
    .join('');
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ` +
    `ID="${newId()}" Version="2.0" IssueInstant="${instant}" Destination="${escapeXml(r.destination)}"${irt}>` +
    `<saml:Issuer>${escapeXml(r.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="${newId()}" Version="2.0" IssueInstant="${instant}">` +
    `<saml:Issuer>${escapeXml(r.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${escapeXml(format)}">${escapeXml(r.name_id)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">` +
    `<saml:SubjectConfirmationData NotOnOrAfter="${until.toISOString()}" Recipient="${escapeXml(r.recipient ?? r.destination)}"${irt}/>` +
    `</saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${instant}" NotOnOrAfter="${until.toISOString()}">` +
    `<saml:AudienceRestriction><saml:Audience>${escapeXml(r.audience)}</saml:Audience></saml:AudienceRestriction>` +
    `</saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${instant}" SessionIndex="${escapeXml(r.session_index ?? newId())}">` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext>` +
    `</saml:AuthnStatement>` +
    (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : '') +
    `</saml:Assertion></samlp:Response>`
  );
}

function sign(xml, element, input) {
  const sig = new SignedXml({
    privateKey: input.private_key,
    publicCert: input.cert,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
  });
  sig.addReference({ xpath: element, digestAlgorithm: SHA256, transforms: [ENVELOPED, EXC_C14N] });
  sig.computeSignature(xml, { location: { reference: `${element}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

let xml = input.xml ?? buildResponse(input.response);
const what = input.sign ?? ['assertion', 'response'];
// The assertion first: the Response signature then covers the signed assertion.
if (what.includes('assertion')) xml = sign(xml, "/*[local-name(.)='Response']/*[local-name(.)='Assertion']", input);
if (what.includes('response')) xml = sign(xml, "/*[local-name(.)='Response']", input);
process.stdout.write(xml);
