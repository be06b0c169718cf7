// An independent SAML service provider that validates what Rosetta emits (node-saml 5).
//
// Configured from JSON: the first argument (inline JSON, or @path to a file), else the
// PEER_CONFIG environment variable. Fields:
//   port                     required; 0 picks a free one (reported in the listening line)
//   issuer                   SP entity ID; also the expected Audience
//   callback_url             ACS URL; "{port}" is replaced by the port
//   entry_point              IdP SSO URL (HTTP-Redirect binding)
//   idp_cert                 PEM certificate, or a list of them (any one may sign)
//   idp_issuer               optional: the IdP entity ID the Response and Assertion must name
//   validate_in_response_to  "always" (default), "ifPresent" (IdP-initiated), "never"
//   accepted_clock_skew_ms   default 2000
//   identifier_format        NameIDPolicy Format; null leaves it out; absent: node-saml's default
//   disable_requested_authn_context  default true (Atlassian sends none)
//   strict                   default true: also require Response Destination and the
//                            bearer SubjectConfirmationData Recipient to equal the ACS URL
//                            (node-saml does not check these itself)
//
// Endpoints:
//   GET  /login?relayState=...   302 to the IdP with an AuthnRequest (ID remembered)
//   POST <ACS path>              form SAMLResponse, RelayState → JSON {ok:true,...} or 400 {ok:false,error}
//   POST /config                 JSON merged into the configuration (e.g. new idp_cert)
//   GET  /last                   the last /acs result
//   GET  /metadata               SP metadata (handy for registering the SP by hand)
//
// Prints {"event":"listening","port":...,"acs":...} on stdout once it answers; logs go to stderr.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import nodeSaml from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import xpath from 'xpath';

const { SAML } = nodeSaml; // a CommonJS module

const log = (...args) => console.error('[sp]', ...args);

function readConfig() {
  const arg = process.argv[2];
  const raw = arg ? (arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg) : process.env.PEER_CONFIG;
  if (!raw) throw new Error('usage: node sp.mjs <config JSON | @file> (or PEER_CONFIG)');
  const config = JSON.parse(raw);
  if (!Number.isInteger(config.port)) throw new Error('config.port must be an integer');
  return config;
}

let config = readConfig();
let saml;
let last = null;

// Outstanding AuthnRequest IDs, kept across configuration changes.
const requestIdTtlMs = 10 * 60 * 1000;
const cache = (() => {
  const ids = new Map(); // request ID -> {value, createdAt}
  const fresh = (key) => {
    const item = ids.get(key);
    if (item && Date.now() - item.createdAt > requestIdTtlMs) ids.delete(key);
    return ids.get(key) ?? null;
  };
  return {
    async saveAsync(key, value) {
      if (fresh(key)) return null;
      const item = { value, createdAt: Date.now() };
      ids.set(key, item);
      return item;
    },
    async getAsync(key) {
      return fresh(key)?.value ?? null;
    },
    async removeAsync(key) {
      const item = key === null ? null : fresh(key);
      if (item) ids.delete(key);
      return item ? key : null;
    },
  };
})();

function buildSaml() {
  const options = {
    issuer: config.issuer,
    callbackUrl: config.callback_url,
    entryPoint: config.entry_point,
    idpCert: config.idp_cert,
    idpIssuer: config.idp_issuer ?? undefined,
    audience: config.issuer,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    signatureAlgorithm: 'sha256',
    acceptedClockSkewMs: config.accepted_clock_skew_ms ?? 2000,
    validateInResponseTo: config.validate_in_response_to ?? 'always',
    requestIdExpirationPeriodMs: requestIdTtlMs,
    cacheProvider: cache,
    disableRequestedAuthnContext: config.disable_requested_authn_context ?? true,
    authnRequestBinding: 'HTTP-Redirect',
  };
  if ('identifier_format' in config) options.identifierFormat = config.identifier_format;
  saml = new SAML(options);
}

const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
};
const select = xpath.useNamespaces(NS);

// Checks node-saml leaves to the application. The assertion checked is the one whose
// signature node-saml verified, never one found elsewhere in the document.
function strictChecks(responseXml, assertionXml) {
  const parse = (xml) => new DOMParser().parseFromString(xml, 'text/xml');
  const response = parse(responseXml).documentElement;
  const assertion = parse(assertionXml).documentElement;
  const acs = config.callback_url;
  const destination = response.getAttribute('Destination');
  if (destination !== acs) throw new Error(`Response Destination ${JSON.stringify(destination)} is not the ACS URL`);
  const recipients = select("saml:Subject/saml:SubjectConfirmation[@Method='urn:oasis:names:tc:SAML:2.0:cm:bearer']/saml:SubjectConfirmationData/@Recipient", assertion).map((a) => a.value);
  if (recipients.length === 0 || recipients.some((r) => r !== acs)) {
    throw new Error(`SubjectConfirmationData Recipient ${JSON.stringify(recipients)} is not the ACS URL`);
  }
  if (config.idp_issuer) {
    for (const [what, node] of [['Response', response], ['Assertion', assertion]]) {
      const issuer = select('string(saml:Issuer)', node);
      if (issuer !== config.idp_issuer) throw new Error(`${what} Issuer ${JSON.stringify(issuer)} is not ${config.idp_issuer}`);
    }
  }
}

async function validate(form) {
  const SAMLResponse = form.get('SAMLResponse');
  const RelayState = form.get('RelayState') ?? undefined;
  if (!SAMLResponse) throw new Error('SAMLResponse is missing');
  const container = { SAMLResponse };
  if (RelayState !== undefined) container.RelayState = RelayState;
  const { profile } = await saml.validatePostResponseAsync(container);
  if (!profile) throw new Error('no profile (logout response?)');
  if (config.strict ?? true) strictChecks(profile.getSamlResponseXml(), profile.getAssertionXml());
  return {
    ok: true,
    nameID: profile.nameID,
    nameIDFormat: profile.nameIDFormat,
    issuer: profile.issuer,
    sessionIndex: profile.sessionIndex ?? null,
    inResponseTo: profile.inResponseTo ?? null,
    attributes: profile.attributes ?? {},
    relayState: RelayState ?? null,
  };
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, type, body, headers = {}) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  res.end(body);
}

const json = (res, status, value) => send(res, status, 'application/json', JSON.stringify(value));

async function handle(req, res) {
  const url = new URL(req.url, 'http://x');
  // The ACS path comes from the configured ACS URL (it may be e.g. /login/callback?connection=x).
  const acsPath = new URL(config.callback_url).pathname;
  const route = url.pathname === acsPath ? `${req.method} ACS` : `${req.method} ${url.pathname}`;
  switch (route) {
    case 'GET /login': {
      const relayState = url.searchParams.get('relayState') ?? url.searchParams.get('RelayState') ?? '';
      const location = await saml.getAuthorizeUrlAsync(relayState, undefined, {});
      log('AuthnRequest sent to', config.entry_point);
      send(res, 302, 'text/plain', '', { location });
      return;
    }
    case 'POST ACS': {
      const form = new URLSearchParams(await readBody(req));
      try {
        last = await validate(form);
        log('accepted response for', last.nameID);
        json(res, 200, last);
      } catch (err) {
        last = { ok: false, error: String(err?.message ?? err) };
        log('rejected response:', last.error);
        json(res, 400, last);
      }
      return;
    }
    case 'POST /config': {
      const update = JSON.parse(await readBody(req));
      delete update.port;
      config = { ...config, ...update };
      buildSaml();
      log('configuration updated:', Object.keys(update).join(', '));
      json(res, 200, { ok: true });
      return;
    }
    case 'GET /last':
      json(res, 200, last);
      return;
    case 'GET /metadata':
      send(res, 200, 'application/samlmetadata+xml', saml.generateServiceProviderMetadata(null));
      return;
    default:
      json(res, 404, { ok: false, error: 'not found' });
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    log('error on', req.method, req.url.split('?')[0], err?.message);
    if (!res.headersSent) json(res, 400, { ok: false, error: String(err?.message ?? err) });
    else res.end();
  });
});

// Idle keep-alive connections stay open longer than any test client keeps one in its pool
// (reqwest: 90 s). Node closes them after 5 s by default, and a client that reuses one at
// that instant sees "connection reset" (a login after a pause of about 5 s, as in
// e2e/tests/faults.rs during an outage).
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(config.port, '127.0.0.1', () => {
  const { port } = server.address();
  config.callback_url = (config.callback_url ?? 'http://127.0.0.1:{port}/acs').replaceAll('{port}', String(port));
  buildSaml();
  process.stdout.write(`${JSON.stringify({ event: 'listening', port, acs: config.callback_url })}\n`);
});

server.on('error', (err) => {
  log('server error', err.code ?? err.message);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
