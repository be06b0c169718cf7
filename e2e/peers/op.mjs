// A real upstream OpenID provider for Rosetta's end-to-end tests (oidc-provider 8).
//
// Configured from JSON: the first argument (inline JSON, or @path to a file), else the
// PEER_CONFIG environment variable. Fields (snake_case, as in OIDC metadata):
//   port                    required; 0 picks a free one (reported in the listening line)
//   issuer                  default http://127.0.0.1:<port>; "{port}" is replaced by the port
//   clients                 [{client_id, client_secret, redirect_uris, token_endpoint_auth_method}]
//   accounts                [{sub, email, email_verified, given_name, family_name, name, amr?, acr?}]
//   conform_id_token_claims default false: the ID token carries the profile/email claims
//                           too, as Google and Entra do; true keeps them to userinfo only
//
// Login is scripted: GET /interaction/<uid> shows a form with one `login` field (sub or
// email); POSTing it logs that account in and consents to everything asked, so a plain
// HTTP client with a cookie jar and a browser both get through. Dev interactions are off.
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
  return [...accounts.values()].find((a) => a.email === login);
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

// The cookie signing keys outlive provider instances (see rotation below).
const cookieKeys = [randomBytes(32).toString('hex')];

function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: (config.clients ?? []).map((c) => ({
      client_id: c.client_id,
      client_secret: c.client_secret,
      redirect_uris: c.redirect_uris,
      token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    jwks: { keys },
    claims: claimsByScope,
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
    },
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
  if (path === '/__test/accounts') {
    addAccount(body);
    rebuild(); // acrValues may have changed
    log('account set', body.sub);
    json(res, 200, { ok: true });
    return;
  }
  send(res, 404, 'text/plain', 'not found');
}

let issuer;
let provider;
let providerCallback;

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
    } else {
      providerCallback(req, res);
    }
  } catch (err) {
    log('error on', req.method, path, err?.name, err?.message);
    if (!res.headersSent) json(res, 400, { error: err?.name ?? 'error', error_description: err?.message });
    else res.end();
  }
});

for (const account of config.accounts ?? []) addAccount(account);
keys.push(newSigningKey());

server.listen(config.port, '127.0.0.1', () => {
  const { port } = server.address();
  issuer = (config.issuer ?? 'http://127.0.0.1:{port}').replaceAll('{port}', String(port));
  rebuild();
  log('issuer', issuer, 'signing kid', keys[0].kid);
  process.stdout.write(`${JSON.stringify({ event: 'listening', issuer, port })}\n`);
});

server.on('error', (err) => {
  log('server error', err.code ?? err.message);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
