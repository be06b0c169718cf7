// A Microsoft Graph stand-in for Rosetta's end-to-end tests: the one call Rosetta makes to
// Graph, reading an Entra ID user's groups after a group overage, answered as Microsoft
// documents it (https://learn.microsoft.com/graph/api/directoryobject-getmembergroups).
// Node only, no dependencies.
//
// Configured from JSON: the first argument (inline JSON, or @path to a file), else the
// PEER_CONFIG environment variable. Fields:
//   port     required; 0 picks a free one (reported in the listening line)
//   op_url   optional (also set later, POST /__test/token-issuer): the test OpenID provider
//            (op.mjs), e.g. http://127.0.0.1:<port>. The tokens it issued with the
//            client_credentials grant and the scope https://graph.microsoft.com/.default are
//            the ones accepted here: it is asked at each call (POST
//            <op_url>/__test/client-credentials), so expiry counts. Without it every token is
//            refused
//   users    {"<user id>": {"groups": [group ids], "other_groups": [group ids]}}: `groups`
//            are security groups, `other_groups` Microsoft 365 / distribution groups
//
// The API, under http://127.0.0.1:<port>/v1.0 as under https://graph.microsoft.com/v1.0:
//   POST /v1.0/users/{id}/getMemberGroups   {"securityEnabledOnly": bool}
//     200 {"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
//          "value":["<group id>",...]}: the security groups, and with securityEnabledOnly
//          false the other groups too
//     401 InvalidAuthenticationToken: no bearer token ("Access token is empty."), or one the
//         provider did not issue for Graph
//     403 Authorization_RequestDenied while permission is denied (the app lacks
//         GroupMember.Read.All, or admin consent)
//     400 Request_BadRequest: a body that is not JSON with a boolean securityEnabledOnly
//     404 Request_ResourceNotFound: a user id it does not know
//   Errors have Graph's shape: {"error":{"code","message","innerError":{"date",
//   "request-id","client-request-id"}}}.
//
// Test-only controls (loopback clients only, no auth, JSON in and out):
//   POST /__test/token-issuer {"op_url": ...}  the provider whose Graph tokens are accepted
//   POST /__test/users     {"id", "groups": [...], "other_groups": [...]}  sets a user's groups
//                          (the user exists from then on)
//   POST /__test/deny      {"on": bool}  while on, every API call with a valid token answers 403
//   POST /__test/fail-next {"count": N, "status": S, "retry_after": R}  the next N API calls
//                          answer S (429 or 503, Graph's throttling and outage answers), with
//                          Retry-After: R when given, before any other check
//   GET  /__test/requests  {"requests": N, "last": {"method","path","authorization","body"}|null}:
//                          API calls received (refused ones included, controls not), and the
//                          last one (authorization: whether it had a bearer token)
//
// Prints {"event":"listening","url":...,"port":...} on stdout once it answers; logs go to
// stderr.

import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const log = (...args) => console.error('[graph]', ...args);

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const ODATA_CONTEXT = 'https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)';

function readConfig() {
  const arg = process.argv[2];
  const raw = arg ? (arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg) : process.env.PEER_CONFIG;
  if (!raw) throw new Error('usage: node graph.mjs <config JSON | @file> (or PEER_CONFIG)');
  const config = JSON.parse(raw);
  if (!Number.isInteger(config.port)) throw new Error('config.port must be an integer');
  return config;
}

const config = readConfig();
let opUrl = typeof config.op_url === 'string' && config.op_url ? config.op_url : undefined;
const users = new Map();
let denied = false;
let failNext = { count: 0, status: 503, retryAfter: undefined };
let requests = 0;
let last = null;

function setUser(id, groups, otherGroups) {
  if (typeof id !== 'string' || !id) throw new Error('a user id is required');
  const strings = (v) => (Array.isArray(v) ? v.map(String) : []);
  users.set(id, { groups: strings(groups), otherGroups: strings(otherGroups) });
}

for (const [id, user] of Object.entries(config.users ?? {})) setUser(id, user.groups, user.other_groups);

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

function json(res, status, value, headers = {}) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

// Graph's OData JSON and its error shape.
function graphJson(req, res, status, value, headers = {}) {
  const requestId = randomUUID();
  const clientRequestId = req.headers['client-request-id'] || requestId;
  json(res, status, value, {
    'content-type':
      'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8',
    'request-id': requestId,
    'client-request-id': clientRequestId,
    ...headers,
  });
}

function graphError(req, res, status, code, message, headers = {}) {
  const requestId = randomUUID();
  graphJson(
    req,
    res,
    status,
    {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString().replace(/\.\d+Z$/, ''),
          'request-id': requestId,
          'client-request-id': req.headers['client-request-id'] || requestId,
        },
      },
    },
    headers,
  );
}

const WWW_AUTHENTICATE = {
  'www-authenticate':
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", ' +
    'client_id="00000003-0000-0000-c000-000000000000"',
};

// What the provider says of a bearer token: Graph's if issued by the client_credentials grant
// with Graph's scope and not expired.
async function tokenIsGraphs(token) {
  if (!opUrl) {
    log('no provider to check tokens with (POST /__test/token-issuer)');
    return false;
  }
  const res = await fetch(new URL('/__test/client-credentials', opUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (!res.ok) throw new Error(`the provider answered ${res.status} about a token`);
  const info = await res.json();
  return info.active === true && String(info.scope ?? '').split(' ').includes(GRAPH_SCOPE);
}

async function handleApi(req, res, path) {
  requests += 1;
  const authorization = req.headers.authorization ?? '';
  const text = await readBody(req);
  last = { method: req.method, path, authorization: /^Bearer \S/i.test(authorization), body: text };

  if (failNext.count > 0) {
    failNext.count -= 1;
    const headers = failNext.retryAfter !== undefined ? { 'retry-after': String(failNext.retryAfter) } : {};
    if (failNext.status === 429) {
      graphError(req, res, 429, 'TooManyRequests', 'Too many requests.', headers);
    } else {
      graphError(req, res, failNext.status, 'ServiceNotAvailable', 'Service unavailable.', headers);
    }
    return;
  }

  const match = /^\/v1\.0\/users\/([^/]+)\/getMemberGroups$/.exec(path);
  if (!match) {
    graphError(req, res, 400, 'BadRequest', `Resource not found for the segment '${path.split('/').pop()}'.`);
    return;
  }
  if (req.method !== 'POST') {
    graphError(req, res, 405, 'Request_BadRequest', 'The HTTP method is not allowed for this resource.');
    return;
  }

  const token = /^Bearer (\S+)$/i.exec(authorization)?.[1];
  if (!token) {
    graphError(req, res, 401, 'InvalidAuthenticationToken', 'Access token is empty.', WWW_AUTHENTICATE);
    return;
  }
  if (!(await tokenIsGraphs(token))) {
    log('refused a token the provider did not issue for Graph');
    graphError(req, res, 401, 'InvalidAuthenticationToken', 'Access token validation failure.', WWW_AUTHENTICATE);
    return;
  }
  if (denied) {
    graphError(req, res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    return;
  }

  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body?.securityEnabledOnly !== 'boolean') {
    graphError(
      req,
      res,
      400,
      'Request_BadRequest',
      "Invalid request: the parameter 'securityEnabledOnly' is required and must be a boolean.",
    );
    return;
  }

  const id = decodeURIComponent(match[1]);
  const user = users.get(id);
  if (!user) {
    graphError(
      req,
      res,
      404,
      'Request_ResourceNotFound',
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
    return;
  }
  const value = body.securityEnabledOnly ? user.groups : [...user.groups, ...user.otherGroups];
  log('getMemberGroups', id, 'securityEnabledOnly', body.securityEnabledOnly, '->', value.length, 'groups');
  graphJson(req, res, 200, { '@odata.context': ODATA_CONTEXT, value });
}

async function handleControl(req, res, path) {
  if (req.method === 'GET' && path === '/__test/requests') {
    json(res, 200, { requests, last });
    return;
  }
  if (req.method !== 'POST') {
    json(res, 405, { error: 'method not allowed' });
    return;
  }
  const text = await readBody(req);
  const body = text ? JSON.parse(text) : {};
  if (path === '/__test/token-issuer') {
    if (typeof body.op_url !== 'string' || !body.op_url) throw new Error('op_url is required');
    opUrl = body.op_url;
    log('tokens from', opUrl);
    json(res, 200, { ok: true });
  } else if (path === '/__test/users') {
    setUser(body.id, body.groups, body.other_groups);
    log('user set', body.id);
    json(res, 200, { ok: true });
  } else if (path === '/__test/deny') {
    denied = body.on === true;
    log('permission', denied ? 'denied' : 'granted');
    json(res, 200, { ok: true });
  } else if (path === '/__test/fail-next') {
    failNext = {
      count: Number.isInteger(body.count) ? body.count : 1,
      status: Number.isInteger(body.status) ? body.status : 503,
      retryAfter: Number.isInteger(body.retry_after) ? body.retry_after : undefined,
    };
    json(res, 200, { ok: true });
  } else {
    json(res, 404, { error: 'not found' });
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

const server = createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  try {
    if (path.startsWith('/__test/')) {
      if (!LOOPBACK.has(req.socket.remoteAddress)) {
        json(res, 403, { error: 'test controls are for loopback clients only' });
        return;
      }
      await handleControl(req, res, path);
    } else {
      await handleApi(req, res, path);
    }
  } catch (err) {
    log('error on', req.method, path, err?.name, err?.message);
    if (!res.headersSent) graphError(req, res, 500, 'generalException', 'An internal server error occurred.');
    else res.end();
  }
});

// Idle keep-alive connections stay open longer than any test client keeps one in its pool
// (reqwest: 90 s). Node closes them after 5 s by default, and a client that reuses one at
// that instant sees "connection reset" (a login after a pause of about 5 s, as in
// e2e/tests/faults.rs during an outage).
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;

server.listen(config.port, '127.0.0.1', () => {
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;
  log('listening at', url, 'tokens from', opUrl ?? '(no provider yet)');
  process.stdout.write(`${JSON.stringify({ event: 'listening', url, port })}\n`);
});

server.on('error', (err) => {
  log('server error', err.code ?? err.message);
  process.exit(1);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
