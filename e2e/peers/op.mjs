// A real upstream OpenID provider for Rosetta's end-to-end tests (oidc-provider 8).
//
// Configured from JSON: the first argument (inline JSON, or @path to a file), else the
// PEER_CONFIG environment variable. Fields (snake_case, as in OIDC metadata):
//   port                    required; 0 picks a free one (reported in the listening line)
//   issuer                  default http://127.0.0.1:<port>; "{port}" is replaced by the port.
//                           It may have a path, as Entra ID's http://<host>/<tenant id>/v2.0
//                           (the provider is then mounted under that path: discovery at
//                           <issuer>/.well-known/openid-configuration, every endpoint below
//                           it) or be a bare origin with a trailing slash, as Auth0's
//                           https://<tenant>.auth0.com/ (kept as is in discovery, `iss` and
//                           RFC 9207's `iss` parameter)
//   clients                 [{client_id, client_secret, redirect_uris, token_endpoint_auth_method}]
//   accounts                [{sub, email, email_verified, given_name, family_name, name, amr?, acr?,
//                             ...any other claim}]
//   conform_id_token_claims default false: the ID token carries the profile/email claims
//                           too, as Google and Entra do; true keeps them to userinfo only
//   all_account_claims_in_id_token
//                           default false: an account's claims other than the standard ones
//                           above (sub, email, email_verified, name, given_name, family_name,
//                           amr, acr) are dropped. true: every one of them goes into the ID
//                           token (and userinfo) whatever the scopes, as providers put their
//                           own claims there: Google's `hd`, Entra's `tid`, `oid`, `upn`,
//                           `preferred_username`, `acct`, `groups`, Okta's `groups`,
//                           Keycloak's `realm_access`, Auth0's namespaced claims such as
//                           `https://acme.example/groups`. Distributed claims (OIDC Core
//                           5.6.2, Entra's group overage): an account's `_claim_names` and
//                           `_claim_sources` go in as they are, e.g.
//                           {"_claim_names":{"groups":"src1"},"_claim_sources":{"src1":
//                           {"endpoint":"https://graph.windows.net/<tid>/users/<oid>/getMemberObjects"}}}
//   client_credentials      default true: clients may also use the client_credentials grant,
//                           as for Entra's application tokens (scope
//                           https://graph.microsoft.com/.default): an opaque access token,
//                           expires_in 3599 as Entra's; other scopes than that one, openid,
//                           offline_access, email and profile are dropped from the token.
//                           false: the token endpoint refuses the grant (400 invalid_request,
//                           "requested grant type is not allowed for this client")
//
// Login is scripted: GET /interaction/<uid> shows a form with one `login` field (sub, email,
// preferred_username or upn); POSTing it logs that account in and consents to everything
// asked, so a plain HTTP client with a cookie jar and a browser both get through. Dev
// interactions are off. The interaction pages are at the root, whatever the issuer's path.
//
// Test-only admin endpoints (loopback only, no auth):
//   POST /__test/rotate-keys {"keep_old": bool}  new RS256 signing key with a new kid
//   POST /__test/accounts {account}               adds or replaces an account
//   POST /__test/accounts/disable {"sub": ...}    disables an account: it can no longer log
//                                                 in, and its refresh tokens answer
//                                                 invalid_grant (as a disabled or deleted
//                                                 account does at Google, Entra, Okta...)
//
// Refresh tokens: issued for the `offline_access` scope when the request also says
// `prompt=consent` (OpenID Connect Core 11, as oidc-provider enforces), redeemed with the
// refresh_token grant.
//   GET  /__test/keys                             kids in JWKS order, signing kid first
//   GET  /__test/issued                           every token the token endpoint has issued
//                                                 so far, in order, by any grant:
//                                                 {"access_tokens":[...],"id_tokens":[...],
//                                                 "refresh_tokens":[...]}; what a test needs
//                                                 to show that the relying party stores or
//                                                 logs none of them
//   POST /__test/client-credentials {"token": t}  what the provider knows of an access token
//                                                 of the client_credentials grant:
//                                                 {"active":true,"client_id","scope","exp"},
//                                                 or {"active":false} (unknown, expired, or
//                                                 of another grant); how the Microsoft Graph
//                                                 stand-in (graph.mjs) checks its tokens
//
// Prints {"event":"listening","issuer":...,"port":...} on stdout once it answers; logs
// go to stderr.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const log = (...args) => console.error('[op]', ...args);

function readConfig() {
  const arg = process.argv[2];
  const raw = arg ? (arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg) : process.env.PEER_CONFIG;
  if (!raw) throw new Error('usage: node op.mjs <config JSON | @file> (or PEER_CONFIG)');
  const config = JSON.parse(raw);
  if (!Number.isInteger(config.port)) throw new Error('config.port must be an integer');
  return config;
}

const config = readConfig();
const accounts = new Map();
const keys = []; // private JWKs, the signing key first

function addAccount(account) {
  if (typeof account?.sub !== 'string' || !account.sub) throw new Error('account.sub is required');
  accounts.set(account.sub, account);
}

function findAccountByLogin(login) {
  if (accounts.has(login)) return accounts.get(login);
  return [...accounts.values()].find((a) => [a.email, a.preferred_username, a.upn].includes(login));
}

let keyCounter = 0;
function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keyCounter += 1;
  // A fresh random kid each time, so a relying party's cached JWKS cannot match it.
  const kid = `k${keyCounter}-${randomBytes(6).toString('hex')}`;
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
}

// The standard claims an account may carry, by scope.
const claimsByScope = {
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name'],
};

// The claims of each scope: the standard ones, and with all_account_claims_in_id_token every
// other claim some account carries, in `openid` (always granted, so in every ID token, also
// with conform_id_token_claims). The names of distributed claims (`_claim_names`) count as
// claims: oidc-provider keeps a `_claim_names` entry (and its `_claim_sources`) only when
// that claim is one the token carries.
function claimsConfig() {
  const standard = new Set([...Object.values(claimsByScope).flat(), 'acr', 'amr']);
  const extra = new Set();
  if (config.all_account_claims_in_id_token) {
    for (const account of accounts.values()) {
      for (const name of Object.keys(account)) {
        if (name !== '_claim_names' && name !== '_claim_sources') extra.add(name);
      }
      for (const name of Object.keys(account._claim_names ?? {})) extra.add(name);
    }
  }
  for (const name of standard) extra.delete(name);
  return {
    openid: [...claimsByScope.openid, ...extra],
    email: [...claimsByScope.email],
    profile: [...claimsByScope.profile],
  };
}

// Every token the token endpoint answered with (GET /__test/issued). Module-level, so a
// key rotation's new provider instance keeps adding to it.
const issued = { access_tokens: [], id_tokens: [], refresh_tokens: [] };

// The cookie signing keys outlive provider instances (see rotation below).
const cookieKeys = [randomBytes(32).toString('hex')];

const clientCredentials = config.client_credentials ?? true;
// The scope of Entra's application tokens for Microsoft Graph. oidc-provider drops the
// scopes it does not know from a client_credentials request, so it is declared here and
// the token remembers it (graph.mjs accepts only tokens with it).
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: (config.clients ?? []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', ...(clientCredentials ? ['client_credentials'] : [])],
      response_types: ['code'],
    })),
    jwks: { keys },
    claims: claimsConfig(),
    scopes: ['openid', 'offline_access', ...(clientCredentials ? [GRAPH_SCOPE] : [])],
    conformIdTokenClaims: config.conform_id_token_claims ?? false,
    acrValues: [...new Set([...accounts.values()].map((a) => a.acr).filter(Boolean))],
    cookies: {
      keys: cookieKeys,
      // The default SameSite=None needs Secure, which browsers refuse to set over http.
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      clientCredentials: { enabled: true },
    },
    // Entra's application tokens say expires_in 3599.
    ttl: { ClientCredentials: 3599 },
    pkce: { methods: ['S256'], required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(ctx, id) {
      const account = accounts.get(id);
      if (!account) return undefined;
      return {
        accountId: id,
        async claims() {
          const { amr, acr, ...claims } = account;
          return claims;
        },
      };
    },
    // Consent is automatic: every request gets a grant for what it asks.
    async loadExistingGrant(ctx) {
      const { oidc } = ctx;
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
      grant.addOIDCClaims([...oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>error</title><pre>${escapeHtml(JSON.stringify(out))}</pre>`;
    },
  });
  provider.on('server_error', (ctx, err) => log('server_error', err));
  // Runs around oidc-provider's own middleware: after it, the token endpoint's answer is
  // still the object it will send.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || typeof ctx.body !== 'object') return;
    const { access_token: access, id_token: id, refresh_token: refresh } = ctx.body;
    if (access) issued.access_tokens.push(access);
    if (id) issued.id_tokens.push(id);
    if (refresh) issued.refresh_tokens.push(refresh);
  });
  return provider;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

const json = (res, status, value) => send(res, status, 'application/json', JSON.stringify(value));

function loginForm(uid, clientId, error) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Test OP login</title></head>
<body>
<h1>Sign in to the test provider</h1>
<p>Client: ${escapeHtml(clientId)}</p>
${error ? `<p id="error" style="color:red">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}">
<label>Account (sub or email) <input name="login" autofocus></label>
<button type="submit">Sign in</button>
</form>
</body></html>`;
}

async function handleInteraction(req, res, provider) {
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;
  if (req.method === 'GET') {
    if (prompt.name === 'login') {
      send(res, 200, 'text/html; charset=utf-8', loginForm(uid, params.client_id));
      return;
    }
    // Already logged in and asked for consent again (prompt=consent): grant it at once.
    await provider.interactionFinished(req, res, { consent: {} }, { mergeWithLastSubmission: true });
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, 'text/plain', 'method not allowed');
    return;
  }
  const form = new URLSearchParams(await readBody(req));
  const account = findAccountByLogin(form.get('login') ?? '');
  if (!account) {
    send(res, 400, 'text/html; charset=utf-8', loginForm(uid, params.client_id, 'unknown account'));
    return;
  }
  log('login', account.sub, 'for client', params.client_id);
  const login = { accountId: account.sub, remember: true };
  if (account.amr) login.amr = account.amr;
  if (account.acr) login.acr = account.acr;
  await provider.interactionFinished(req, res, { login, consent: {} }, { mergeWithLastSubmission: false });
}

async function handleAdmin(req, res, path) {
  if (req.method === 'GET' && path === '/__test/keys') {
    json(res, 200, { signing_kid: keys[0].kid, kids: keys.map((k) => k.kid) });
    return;
  }
  if (req.method === 'GET' && path === '/__test/issued') {
    json(res, 200, issued);
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, 'text/plain', 'method not allowed');
    return;
  }
  const text = await readBody(req);
  const body = text ? JSON.parse(text) : {};
  if (path === '/__test/rotate-keys') {
    const key = newSigningKey();
    if (body.keep_old) keys.unshift(key);
    else keys.splice(0, keys.length, key);
    rebuild();
    log('rotated signing key to', key.kid, body.keep_old ? '(old keys kept)' : '(old keys dropped)');
    json(res, 200, { signing_kid: key.kid, kids: keys.map((k) => k.kid) });
    return;
  }
  if (path === '/__test/accounts/disable') {
    const removed = accounts.delete(body.sub);
    log('account disabled', body.sub, removed ? '' : '(unknown)');
    json(res, removed ? 200 : 404, { ok: removed });
    return;
  }
  if (path === '/__test/client-credentials') {
    const found = typeof body.token === 'string' && body.token;
    const token = found ? await provider.ClientCredentials.find(body.token) : undefined;
    if (!token) {
      json(res, 200, { active: false });
      return;
    }
    json(res, 200, { active: true, client_id: token.clientId, scope: token.scope ?? '', exp: token.exp });
    return;
  }
  if (path === '/__test/accounts') {
    addAccount(body);
    rebuild(); // acrValues and the claims of the ID token may have changed
    log('account set', body.sub);
    json(res, 200, { ok: true });
    return;
  }
  send(res, 404, 'text/plain', 'not found');
}

let issuer;
let provider;
let providerCallback;
// The issuer's path without a trailing slash ('' for a bare origin, with or without '/'):
// the provider is mounted there.
let mountPath = '';

// oidc-provider reads its keys once, at construction. Rotating therefore builds a new
// instance with the new key set and routes requests to it. Nothing is lost: its default
// memory adapter keeps sessions, interactions, grants and codes in module-level storage
// shared by every instance, and the cookie keys are the same.
function rebuild() {
  provider = buildProvider(issuer);
  providerCallback = provider.callback();
}

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  const current = provider;
  try {
    if (path.startsWith('/__test/')) {
      await handleAdmin(req, res, path);
    } else if (path.startsWith('/interaction/')) {
      await handleInteraction(req, res, current);
    } else if (!mountPath) {
      providerCallback(req, res);
    } else if (path.startsWith(`${mountPath}/`)) {
      // Mounted as Express's app.use(mountPath, ...) would: the provider routes on the rest
      // and finds its mount path (for the URLs it makes) in originalUrl.
      req.originalUrl = req.url;
      req.url = req.url.slice(mountPath.length);
      providerCallback(req, res);
    } else {
      json(res, 404, { error: 'not_found', error_description: `this provider lives under ${mountPath}/` });
    }
  } catch (err) {
    log('error on', req.method, path, err?.name, err?.message);
    if (!res.headersSent) json(res, 400, { error: err?.name ?? 'error', error_description: err?.message });
    else res.end();
  }
});

for (const account of config.accounts ?? []) addAccount(account);
keys.push(newSigningKey());

// Idle keep-alive connections stay open longer than any test client keeps one in its pool
// (reqwest: 90 s). Node closes them after 5 s by default, and a client that reuses one at
// that instant sees "connection reset" (a login after a pause of about 5 s, as in
// e2e/tests/faults.rs during an outage).
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(config.port, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = (config.issuer ?? 'http://127.0.0.1:{port}').replaceAll('{port}', String(port));
  mountPath = new URL(issuer).pathname.replace(/\/$/, '');
  rebuild();
  log('issuer', issuer, 'signing kid', keys[0].kid);
  process.stdout.write(`${JSON.stringify({ event: 'listening', issuer, port })}\n`);
});

server.on('error', (err) => {
  log('server error', err.code ?? err.message);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
