#!/usr/bin/env node
// tokenbroker test provider: a programmable OAuth 2.0 server imitating the seed
// providers (Alliance, Alvaria, Alvys, Azure AD v1) plus a generic RFC 6749/8628
// endpoint, a protected resource, and an admin/fault-injection API.
//
// No npm dependencies. Binds 127.0.0.1 only. Prints exactly one line on stdout:
//   {"url":"http://127.0.0.1:PORT"}
// See README.md beside this file.

import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = { port: 0, exitOnStdinClose: false, verbose: false, clients: path.join(HERE, 'clients.json'), clientCerts: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) fatal(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--port') opts.port = Number(next());
    else if (a.startsWith('--port=')) opts.port = Number(a.slice(7));
    else if (a === '--exit-on-stdin-close') opts.exitOnStdinClose = true;
    else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--clients') opts.clients = next();
    else if (a === '--client-cert') opts.clientCerts.push(next()); // [client_id=]path/to/cert.pem
    else if (a === '--help' || a === '-h') {
      process.stderr.write('usage: node server.mjs [--port N] [--exit-on-stdin-close] [--verbose] [--clients FILE] [--client-cert [ID=]CERT.pem]\n');
      process.exit(0);
    } else fatal(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) fatal('bad --port');
  return opts;
}

function fatal(msg) {
  process.stderr.write(`provider: ${msg}\n`);
  process.exit(2);
}

const OPTS = parseArgs(process.argv.slice(2));
const log = (...a) => { if (OPTS.verbose) process.stderr.write(`[provider] ${a.join(' ')}\n`); };

// ---------------------------------------------------------------- helpers

const now = () => Date.now() / 1000;
const nowS = () => Math.floor(Date.now() / 1000);
const b64u = (buf) => Buffer.from(buf).toString('base64url');
const randomToken = (bytes = 32) => crypto.randomBytes(bytes).toString('base64url'); // 32 bytes -> 43 chars
const sha256 = (s) => crypto.createHash('sha256').update(s).digest();
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function safeEqual(a, b) {
  const x = Buffer.from(String(a));
  const y = Buffer.from(String(b));
  if (x.length !== y.length) return false;
  return crypto.timingSafeEqual(x, y);
}

function randomAlnum(n) {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += chars[bytes[i] % chars.length];
  return s;
}

function userCode() {
  // RFC 8628 §6.1 suggests a base-20 alphabet without vowels
  const chars = 'BCDFGHJKLMNPQRSTVWXZ';
  const bytes = crypto.randomBytes(8);
  let s = '';
  for (let i = 0; i < 8; i++) s += chars[bytes[i] % chars.length];
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}
const normUserCode = (c) => String(c || '').toUpperCase().replace(/[^A-Z0-9]/g, '');

function htmlEscape(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function isLoopback(u) {
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

// ---------------------------------------------------------------- state

const DEFAULT_CONFIG = {
  token_lifetime_s: null, // null = per-endpoint default (3599 Alliance/Azure as in the seeds, else 3600)
  refresh_in_s: null,
  rotate_refresh_tokens: true,
  device_interval_s: 1,
  device_expires_in_s: 600,
  slow_down_increment_s: 5,
  code_lifetime_s: 600,
  api_key: 'alvaria-api-key',
};

function loadStaticClients() {
  const out = new Map();
  let list = [];
  try {
    list = JSON.parse(fs.readFileSync(OPTS.clients, 'utf8')).clients || [];
  } catch (e) {
    fatal(`cannot read clients file ${OPTS.clients}: ${e.message}`);
  }
  for (const c of list) out.set(c.client_id, normalizeClient(c));
  for (const spec of OPTS.clientCerts) {
    const eq = spec.indexOf('=');
    const id = eq > 0 ? spec.slice(0, eq) : 'cert-client';
    const file = eq > 0 ? spec.slice(eq + 1) : spec;
    let pem;
    try { pem = fs.readFileSync(file, 'utf8'); } catch (e) { fatal(`cannot read --client-cert ${file}: ${e.message}`); }
    out.set(id, normalizeClient({ client_id: id, client_secret: null, certificate: pem, description: `private_key_jwt client (${file})` }));
  }
  return out;
}

function normalizeClient(c) {
  if (!c || typeof c.client_id !== 'string' || !c.client_id) throw new Error('client_id required');
  const client = {
    client_id: c.client_id,
    client_secret: typeof c.client_secret === 'string' && c.client_secret ? c.client_secret : null,
    scopes: Array.isArray(c.scopes) ? c.scopes.map(String) : (typeof c.scopes === 'string' ? c.scopes.split(/\s+/).filter(Boolean) : null),
    redirect_uris: Array.isArray(c.redirect_uris) ? c.redirect_uris.map(String) : null,
    description: c.description || undefined,
    keys: [],
  };
  if (c.certificate) {
    const cert = new crypto.X509Certificate(c.certificate);
    client.keys.push({ key: cert.publicKey, kid: null, x5t: b64u(crypto.createHash('sha1').update(cert.raw).digest()) });
  }
  if (c.jwks && Array.isArray(c.jwks.keys)) {
    for (const jwk of c.jwks.keys) client.keys.push({ key: crypto.createPublicKey({ key: jwk, format: 'jwk' }), kid: jwk.kid || null });
  }
  client.public = !client.client_secret && client.keys.length === 0;
  return client;
}

const STATIC_CLIENTS = loadStaticClients();

const S = {
  config: { ...DEFAULT_CONFIG },
  clients: new Map(STATIC_CLIENTS),
  tokens: new Map(), // value -> {type:'access'|'refresh', family, client_id, scopes, exp, resource, tenant, user, nonce}
  codes: new Map(), // code -> {...}
  devices: new Map(), // device_code -> {...}
  userCodes: new Map(), // normalized user code -> device_code
  alvariaOrgs: new Map(), // org -> Map(client_id -> metadata)
  jtis: new Map(), // client assertion jti -> exp
  faults: [],
  echoes: [], // tokens issued inside non-JSON bodies by the `echo` fault
  requests: {},
  tokensIssued: 0,
  byClient: {},
  log: [],
};

function resetState() {
  S.config = { ...DEFAULT_CONFIG };
  S.clients = new Map(STATIC_CLIENTS);
  S.tokens.clear(); S.codes.clear(); S.devices.clear(); S.userCodes.clear();
  S.alvariaOrgs.clear(); S.jtis.clear();
  S.faults = []; S.echoes = []; S.requests = {}; S.tokensIssued = 0; S.byClient = {}; S.log = [];
}

setInterval(() => {
  const t = now();
  for (const [k, v] of S.tokens) if (v.exp < t - 60) S.tokens.delete(k);
  for (const [k, v] of S.codes) if (v.exp < t - 60) S.codes.delete(k);
  for (const [k, v] of S.devices) if (v.exp < t - 600) { S.devices.delete(k); S.userCodes.delete(normUserCode(v.user_code)); }
  for (const [k, exp] of S.jtis) if (exp < t - 60) S.jtis.delete(k);
}, 30_000).unref();

// Azure signing key, generated at start.
const AZ_KEY = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const AZ_JWK = (() => {
  const j = AZ_KEY.publicKey.export({ format: 'jwk' });
  const thumb = b64u(sha256(JSON.stringify({ e: j.e, kty: j.kty, n: j.n })));
  return { kty: 'RSA', use: 'sig', alg: 'RS256', kid: thumb, n: j.n, e: j.e };
})();

function signJwt(claims) {
  const header = { typ: 'JWT', alg: 'RS256', kid: AZ_JWK.kid };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const sig = crypto.sign('sha256', Buffer.from(input), AZ_KEY.privateKey);
  return `${input}.${b64u(sig)}`;
}

let BASE = ''; // http://127.0.0.1:PORT, set once listening

// ---------------------------------------------------------------- errors

class HttpError extends Error {
  constructor(status, error, description, extra = {}) {
    super(description || error);
    this.status = status;
    this.error = error;
    this.description = description;
    this.extra = extra; // {headers, aadCode, body}
  }
}
const oauthErr = (status, error, description, extra) => new HttpError(status, error, description, extra);

// ---------------------------------------------------------------- response helpers

function send(res, status, body, headers = {}) {
  if (res.headersSent || res.destroyed) return;
  const buf = body === undefined || body === null ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(String(body));
  res.writeHead(status, { 'Content-Length': buf.length, ...headers });
  res.end(buf);
}

function sendJson(res, status, obj, headers = {}) {
  send(res, status, JSON.stringify(obj), { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache', ...headers });
}

function sendHtml(res, status, html, headers = {}) {
  send(res, status, html, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
}

function rfcErrorBody(err) {
  const body = { error: err.error };
  if (err.description) body.error_description = err.description;
  if (err.extra && err.extra.error_uri) body.error_uri = err.extra.error_uri;
  return body;
}

function aadErrorBody(err) {
  const trace = crypto.randomUUID();
  const corr = crypto.randomUUID();
  const ts = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const code = err.extra?.aadCode ?? 90000;
  return {
    error: err.error,
    error_description: `AADSTS${code}: ${err.description || err.error}\r\nTrace ID: ${trace}\r\nCorrelation ID: ${corr}\r\nTimestamp: ${ts}`,
    error_codes: [code],
    timestamp: ts,
    trace_id: trace,
    correlation_id: corr,
  };
}

function sendError(res, err, style = 'rfc') {
  const headers = { ...(err.extra?.headers || {}) };
  const body = style === 'aad' ? aadErrorBody(err) : rfcErrorBody(err);
  sendJson(res, err.status, body, headers);
}

// ---------------------------------------------------------------- request parsing

const MAX_BODY = 1024 * 1024;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(oauthErr(413, 'invalid_request', 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function mediaType(req) {
  return String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase();
}

// Parses an application/x-www-form-urlencoded body; rejects repeated parameters (RFC 6749 §3.1).
function parseForm(ctx) {
  if (ctx.form) return ctx.form;
  if (mediaType(ctx.req) !== 'application/x-www-form-urlencoded') {
    throw oauthErr(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
  }
  const params = new URLSearchParams(ctx.rawBody.toString('utf8'));
  const form = {};
  for (const [k, v] of params) {
    if (Object.hasOwn(form, k)) throw oauthErr(400, 'invalid_request', `parameter ${k} must not be repeated`);
    form[k] = v;
  }
  ctx.form = form;
  return form;
}

function parseJsonBody(ctx) {
  const text = ctx.rawBody.toString('utf8');
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw oauthErr(400, 'invalid_request', 'body is not valid JSON');
  }
}

function bearerToken(req) {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : '';
}

function basicCredentials(req) {
  const h = req.headers.authorization;
  if (!h || !/^Basic\s/i.test(h)) return null;
  let decoded;
  try {
    decoded = Buffer.from(h.replace(/^Basic\s+/i, '').trim(), 'base64').toString('utf8');
  } catch {
    throw oauthErr(401, 'invalid_client', 'malformed Basic authorization header', { headers: { 'WWW-Authenticate': 'Basic realm="tokenbroker-test"' } });
  }
  const i = decoded.indexOf(':');
  if (i < 0) throw oauthErr(401, 'invalid_client', 'malformed Basic authorization header', { headers: { 'WWW-Authenticate': 'Basic realm="tokenbroker-test"' } });
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding
  const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
  return { id: dec(decoded.slice(0, i)), secret: dec(decoded.slice(i + 1)) };
}

// ---------------------------------------------------------------- client authentication

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function verifyAssertion(ctx, client, assertion) {
  const parts = assertion.split('.');
  const bad = (d) => oauthErr(401, 'invalid_client', `client assertion rejected: ${d}`, { aadCode: 700027 });
  if (parts.length !== 3) throw bad('not a compact JWS');
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw bad('undecodable header or payload');
  }
  const algs = {
    RS256: ['sha256', {}], RS384: ['sha384', {}], RS512: ['sha512', {}],
    PS256: ['sha256', { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }],
    PS384: ['sha384', { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }],
    PS512: ['sha512', { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }],
    ES256: ['sha256', { dsaEncoding: 'ieee-p1363' }], ES384: ['sha384', { dsaEncoding: 'ieee-p1363' }],
  };
  const alg = algs[header.alg];
  if (!alg) throw bad(`unsupported alg ${header.alg}`);
  const candidates = client.keys.filter((k) => !header.kid || !k.kid || k.kid === header.kid);
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const sig = Buffer.from(parts[2], 'base64url');
  const ok = candidates.some((k) => {
    try { return crypto.verify(alg[0], data, { key: k.key, ...alg[1] }, sig); } catch { return false; }
  });
  if (!ok) throw bad('signature does not verify with the registered key');
  if (claims.iss !== client.client_id || claims.sub !== client.client_id) throw bad('iss and sub must equal client_id');
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const endpoint = `${BASE}${ctx.url.pathname}`;
  if (!aud.includes(endpoint) && !aud.includes(BASE) && !aud.includes(`${BASE}/`)) throw bad(`aud must be the token endpoint ${endpoint}`);
  const t = now();
  if (typeof claims.exp !== 'number' || claims.exp < t - 30) throw bad('expired or missing exp');
  if (typeof claims.nbf === 'number' && claims.nbf > t + 30) throw bad('not yet valid (nbf)');
  if (claims.jti) {
    const key = `${client.client_id}:${claims.jti}`;
    if (S.jtis.has(key)) throw bad('jti replayed');
    S.jtis.set(key, claims.exp);
  }
}

// opts: {allowBasic, allowBody, style}
function authenticateClient(ctx, form, opts = {}) {
  const { allowBasic = true, allowBody = true } = opts;
  const basicHdr = { 'WWW-Authenticate': 'Basic realm="tokenbroker-test"' };
  const basic = basicCredentials(ctx.req);
  const methods = [];
  if (basic) methods.push('client_secret_basic');
  if (form.client_secret !== undefined) methods.push('client_secret_post');
  if (form.client_assertion !== undefined || form.client_assertion_type !== undefined) methods.push('private_key_jwt');
  if (methods.length > 1) throw oauthErr(400, 'invalid_request', `more than one client authentication method used (${methods.join(', ')})`, { aadCode: 90023 });
  if (basic && !allowBasic) {
    throw oauthErr(401, 'invalid_client', 'this endpoint expects client_id and client_secret in the request body, not HTTP Basic', { headers: basicHdr, aadCode: 7000218 });
  }
  if (form.client_secret !== undefined && !allowBody) {
    throw oauthErr(401, 'invalid_client', 'this endpoint expects HTTP Basic client authentication', { aadCode: 7000218 });
  }
  let clientId = basic ? basic.id : form.client_id;
  if (basic && form.client_id !== undefined && form.client_id !== basic.id) {
    throw oauthErr(400, 'invalid_request', 'client_id in body does not match HTTP Basic credentials', { aadCode: 90023 });
  }
  if (!clientId && methods[0] === 'private_key_jwt' && form.client_assertion) {
    try { clientId = JSON.parse(Buffer.from(form.client_assertion.split('.')[1], 'base64url').toString('utf8')).sub; } catch { /* ignore */ }
  }
  if (!clientId) throw oauthErr(401, 'invalid_client', 'client_id is required', { aadCode: 900144 });
  const client = S.clients.get(clientId);
  const hdr = basic ? basicHdr : {};
  if (!client) throw oauthErr(401, 'invalid_client', `unknown client ${clientId}`, { headers: hdr, aadCode: 700016 });
  const method = methods[0] || 'none';
  if (client.public) {
    if (method !== 'none') throw oauthErr(401, 'invalid_client', 'public client must not present credentials', { headers: hdr, aadCode: 700025 });
    return { client, method };
  }
  if (method === 'none') throw oauthErr(401, 'invalid_client', 'client authentication required', { aadCode: 7000218 });
  if (method === 'private_key_jwt') {
    if (form.client_assertion_type !== ASSERTION_TYPE) throw oauthErr(400, 'invalid_request', `client_assertion_type must be ${ASSERTION_TYPE}`, { aadCode: 900144 });
    if (!form.client_assertion) throw oauthErr(400, 'invalid_request', 'client_assertion is required', { aadCode: 900144 });
    if (!client.keys.length) throw oauthErr(401, 'invalid_client', 'client has no registered key', { aadCode: 700027 });
    verifyAssertion(ctx, client, form.client_assertion);
    return { client, method };
  }
  const secret = basic ? basic.secret : form.client_secret;
  if (!client.client_secret || !safeEqual(secret, client.client_secret)) {
    throw oauthErr(401, 'invalid_client', 'client authentication failed', { headers: hdr, aadCode: 7000215 });
  }
  return { client, method };
}

// ---------------------------------------------------------------- token issuance

function lifetime(defaultS) {
  const v = S.config.token_lifetime_s;
  return typeof v === 'number' && v >= 0 ? v : defaultS;
}

function issueAccess(client, { family, scopes = [], resource, tenant, user, lifetimeS }) {
  const value = randomToken(32);
  const exp = now() + lifetimeS;
  S.tokens.set(value, { type: 'access', family, client_id: client.client_id, scopes, resource, tenant, user, exp });
  S.tokensIssued += 1;
  S.byClient[client.client_id] = (S.byClient[client.client_id] || 0) + 1;
  return value;
}

function issueRefresh(client, { family, scopes = [], resource, tenant, user, nonce }) {
  const value = randomToken(48);
  S.tokens.set(value, { type: 'refresh', family, client_id: client.client_id, scopes, resource, tenant, user, nonce, exp: now() + 90 * 86400 });
  return value;
}

function lookupToken(value, type) {
  if (!value) return null;
  const t = S.tokens.get(value);
  if (!t || t.type !== type) return null;
  if (t.exp <= now()) return null;
  return t;
}

function checkScopesAllowed(client, scopes, style) {
  if (!client.scopes) return;
  const bad = scopes.filter((s) => s !== 'default' && !client.scopes.includes(s));
  if (bad.length) throw oauthErr(400, 'invalid_scope', `scope not allowed for this client: ${bad.join(' ')}`, { aadCode: 70011 });
  void style;
}

function withRefreshIn(body, lifetimeS, asString = false) {
  if (typeof S.config.refresh_in_s === 'number') {
    const v = Math.min(S.config.refresh_in_s, lifetimeS);
    body.refresh_in = asString ? String(v) : v;
  }
  return body;
}

// ---------------------------------------------------------------- PKCE / authorization codes

function checkPkceParams(q) {
  if (q.code_challenge === undefined) {
    if (q.code_challenge_method !== undefined) return 'code_challenge_method without code_challenge';
    return null;
  }
  const method = q.code_challenge_method || 'plain';
  if (method !== 'S256') return 'code_challenge_method must be S256';
  if (!/^[A-Za-z0-9_-]{43}$/.test(q.code_challenge)) return 'code_challenge must be a base64url SHA-256 digest (43 chars)';
  return null;
}

function verifyPkce(code, verifier) {
  if (!code.code_challenge) {
    if (verifier !== undefined) return 'code_verifier sent but no code_challenge was used at the authorization endpoint';
    return null;
  }
  if (verifier === undefined) return 'code_verifier is required';
  if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) return 'code_verifier must be 43-128 unreserved characters';
  if (b64u(sha256(verifier)) !== code.code_challenge) return 'code_verifier does not match the code_challenge';
  return null;
}

function redirectAllowed(client, uri) {
  let u;
  try { u = new URL(uri); } catch { return false; }
  if (u.hash) return false;
  if (!client.redirect_uris) return true;
  if (client.redirect_uris.includes(uri)) return true;
  if (!isLoopback(u)) return false;
  // RFC 8252 §7.3: any port on loopback redirect URIs
  return client.redirect_uris.some((r) => {
    try {
      const a = new URL(r);
      if (!isLoopback(a)) return false;
      a.port = ''; const b = new URL(uri); b.port = '';
      return a.href === b.href;
    } catch { return false; }
  });
}

function takeCode(codeValue, family) {
  const c = S.codes.get(codeValue);
  if (!c || c.family !== family) return { error: 'invalid authorization code' };
  if (c.used) return { error: 'authorization code already redeemed', reused: true, record: c };
  if (c.exp <= now()) return { error: 'authorization code expired' };
  c.used = true;
  return { record: c };
}

// ---------------------------------------------------------------- faults

// A fault with `client_id` applies only to that client's requests (form body or Basic user),
// so tests sharing one provider do not take each other's faults.
function faultClientId(ctx) {
  const h = ctx?.req.headers.authorization;
  if (h && /^basic /i.test(h)) {
    const user = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8').split(':')[0];
    try { return decodeURIComponent(user.replace(/\+/g, ' ')); } catch { return user; }
  }
  return ctx ? new URLSearchParams(ctx.rawBody.toString('utf8')).get('client_id') : null;
}

function findFault(route, ctx) {
  const i = S.faults.findIndex((f) => f.remaining > 0 && (f.route === route || f.route === '*')
    && (f.client_id === undefined || f.client_id === faultClientId(ctx)));
  if (i < 0) return null;
  const f = S.faults[i];
  f.remaining -= 1;
  if (f.remaining <= 0) S.faults.splice(i, 1);
  return f;
}

let OVERSIZE = null;
function oversizeBody(bytes) {
  const n = bytes || 2 * 1024 * 1024;
  if (OVERSIZE && OVERSIZE.length === n) return OVERSIZE;
  const head = `{"access_token":"${randomToken(32)}","token_type":"Bearer","expires_in":3600,"padding":"`;
  const tail = '"}';
  const pad = Math.max(0, n - head.length - tail.length);
  OVERSIZE = Buffer.concat([Buffer.from(head), Buffer.alloc(pad, 'x'), Buffer.from(tail)]);
  return OVERSIZE;
}

async function applyFault(f, ctx) {
  const { res, req } = ctx;
  if (f.delay_ms) await sleep(f.delay_ms);
  const headers = {};
  if (f.retry_after !== undefined && f.retry_after !== null) headers['Retry-After'] = String(f.retry_after);
  switch (f.kind) {
    case 'delay':
      return false; // continue with normal handling
    case 'status': {
      const status = f.status || 503;
      let body = f.body;
      const ct = f.content_type || 'application/json';
      if (body === undefined) {
        const error = status === 401 ? 'invalid_client' : status >= 500 || status === 429 ? 'temporarily_unavailable' : 'invalid_request';
        body = { error, error_description: `injected fault: HTTP ${status}` };
      }
      if (typeof body !== 'string') body = JSON.stringify(body);
      send(res, status, body, { 'Content-Type': ct, 'Cache-Control': 'no-store', ...headers });
      return true;
    }
    case 'html':
      sendHtml(res, f.status || 500, f.body || '<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n<body><h1>Internal Server Error</h1><p>The server encountered an internal error (injected fault).</p></body></html>\n', headers);
      return true;
    case 'empty':
      send(res, f.status || 200, '', { 'Content-Type': 'application/json', ...headers });
      return true;
    case 'malformed':
      send(res, f.status || 200, f.body || '{"access_token":', { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
      return true;
    case 'oversize': {
      const body = oversizeBody(f.bytes);
      if (f.chunked) {
        res.writeHead(f.status || 200, { 'Content-Type': 'application/json', ...headers });
        for (let i = 0; i < body.length; i += 65536) {
          if (!res.write(body.subarray(i, i + 65536))) await new Promise((r) => { res.once('drain', r); res.once('close', r); });
          if (res.destroyed) return true;
        }
        res.end();
      } else {
        send(res, f.status || 200, body, { 'Content-Type': 'application/json', ...headers });
      }
      return true;
    }
    case 'reset': {
      const sock = req.socket;
      if (typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
      else sock.destroy();
      return true;
    }
    case 'echo':
      return echoFault(f, ctx, headers);
    case 'stall_body':
      return stallBodyFault(f, res, headers);
    default:
      return false;
  }
}

const FAULT_KINDS = new Set(['delay', 'status', 'html', 'empty', 'malformed', 'oversize', 'reset', 'echo', 'stall_body']);

// `stall_body` fault: 200 with the headers and the first half of a token response, then
// nothing for `stall_ms` (default 60 s) before the connection is closed without the rest.
async function stallBodyFault(f, res, headers) {
  const body = Buffer.from(JSON.stringify({ access_token: randomToken(32), token_type: 'Bearer', expires_in: 3600 }));
  res.writeHead(f.status || 200, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers });
  res.write(body.subarray(0, body.length >> 1));
  await new Promise((r) => { const t = setTimeout(r, f.stall_ms ?? 60000); res.once('close', () => { clearTimeout(t); r(); }); });
  if (!res.destroyed) res.destroy();
  return true;
}

// The whole request as a hostile server would quote it back: the request line, every header
// (Authorization with its base64 Basic credentials, x-api-key, ...), the raw body (secrets
// percent-encoded) and each decoded form value (secrets raw).
function echoDump(ctx) {
  const { req, rawBody } = ctx;
  const lines = [`${req.method} ${req.url}`];
  for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
  const raw = rawBody.toString('utf8');
  lines.push(`body: ${raw}`);
  if ((req.headers['content-type'] || '').includes('x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(raw)) lines.push(`decoded ${k}=${v}`);
  }
  return lines.join('\n');
}

// `echo` fault: quotes the request back. `as` picks where the quote lands:
//   oauth (default)  400 RFC 6749 error, the quote in error_description
//   error_code       400 RFC 6749 error, the quote as the `error` code itself
//   text             `status` (400) text/plain, the quote as the body
//   json_text        `status` (400) text/plain holding the quote JSON-escaped
//   tokens_text      200 text/plain that is not JSON but carries a new access and refresh token
//                    (kept for GET /_admin/echoes) before the quote
// `pad` puts that many filler characters first (to move a secret onto an excerpt boundary);
// `align_at` N with `align_on` [strings] chooses `pad` instead: the first of those strings found
// in the quoted place (error_description, error, or body) then straddles its character N (a
// negative pad leaves out the start of the quote).
// `prefix` is sent verbatim first (terminal escape sequences, control characters).
function echoFault(f, ctx, headers) {
  const { res } = ctx;
  const dump = echoDump(ctx);
  const issued = f.as === 'tokens_text' ? { access_token: randomToken(32), refresh_token: randomToken(32) } : null;
  const place = (pad) => echoPlace(f.as || 'oauth', (f.prefix || '') + (pad < 0 ? dump.slice(-pad) : 'x'.repeat(pad) + dump), issued);
  const pad = f.align_at === undefined ? f.pad || 0 : echoAlignedPad(f, place);
  const text = place(pad);
  const plain = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers };
  switch (f.as || 'oauth') {
    case 'oauth':
      sendJson(res, f.status || 400, { error: f.error || 'invalid_request', error_description: text }, headers);
      return true;
    case 'error_code':
      sendJson(res, f.status || 400, { error: text }, headers);
      return true;
    case 'text':
    case 'json_text':
      send(res, f.status || 400, text, plain);
      return true;
    case 'tokens_text':
      S.echoes.push(issued);
      send(res, 200, text, plain);
      return true;
    default:
      throw oauthErr(400, 'invalid_request', `echo: unknown 'as' ${f.as}`);
  }
}

// The string an echo puts where the broker reads it (description, code or body).
function echoPlace(as, text, issued) {
  if (as === 'json_text') return `echo ${JSON.stringify({ received: text })}`;
  if (as === 'tokens_text') {
    return `access_token=${issued.access_token}&token_type=Bearer&expires_in=3600&refresh_token=${issued.refresh_token}\n${text}`;
  }
  return text;
}

// The pad that centres the earliest of `align_on` on character `align_at` of the place; a
// negative pad leaves out the start of the quote (a few rounds: JSON escaping is uneven).
function echoAlignedPad(f, place) {
  let pad = 0;
  for (let round = 0; round < 4; round++) {
    const placed = place(pad);
    let at = -1;
    let len = 0;
    for (const s of f.align_on || []) {
      const i = s ? placed.indexOf(s) : -1;
      if (i >= 0 && (at < 0 || i < at)) [at, len] = [i, s.length];
    }
    const shift = at < 0 ? 0 : f.align_at - at - Math.floor(len / 2);
    if (shift === 0) break;
    pad += shift;
  }
  return pad;
}

// ---------------------------------------------------------------- Alliance (seeds 000/001)

async function allianceToken(ctx) {
  const form = parseForm(ctx);
  const { client } = authenticateClient(ctx, form, { allowBasic: false });
  const gt = form.grant_type;
  if (!gt) throw oauthErr(400, 'invalid_request', 'grant_type is required');
  const life = lifetime(3599);
  if (gt === 'client_credentials') {
    if (client.public) throw oauthErr(400, 'unauthorized_client', 'public clients cannot use client_credentials');
    if (form.requested_scopes === undefined) {
      if (form.scope !== undefined) throw oauthErr(400, 'invalid_request', 'unsupported parameter scope: send the permissions as requested_scopes (comma-separated)');
      throw oauthErr(400, 'invalid_request', 'requested_scopes is required (comma-separated permission ids, or "default")');
    }
    if (form.scope !== undefined) throw oauthErr(400, 'invalid_request', 'send either requested_scopes or scope, not both; this endpoint uses requested_scopes');
    const scopes = form.requested_scopes.split(',');
    if (scopes.some((s) => !/^[^\s,]+$/.test(s))) {
      throw oauthErr(400, 'invalid_scope', 'requested_scopes must be a comma-separated list without spaces or empty items');
    }
    checkScopesAllowed(client, scopes);
    let enrollment;
    if (form.requested_enrollment !== undefined) {
      const bare = form.requested_enrollment.replace(/^\{(.*)\}$/, '$1'); // .NET also writes {GUID}
      if (!GUID_RE.test(bare)) throw oauthErr(400, 'invalid_request', 'requested_enrollment must be a GUID');
      enrollment = bare.toLowerCase();
    }
    const at = issueAccess(client, { family: 'alliance', scopes, resource: enrollment, lifetimeS: life });
    return sendJson(ctx.res, 200, withRefreshIn({ token_type: 'Bearer', expires_in: life, access_token: at }, life));
  }
  if (gt === 'authorization_code') {
    for (const p of ['code', 'redirect_uri']) if (!form[p]) throw oauthErr(400, 'invalid_request', `${p} is required`);
    const taken = takeCode(form.code, 'alliance');
    if (!taken.record || taken.reused) throw oauthErr(400, 'invalid_grant', taken.error);
    const c = taken.record;
    if (c.client_id !== client.client_id) throw oauthErr(400, 'invalid_grant', 'code was issued to another client');
    if (c.redirect_uri !== form.redirect_uri) throw oauthErr(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
    if (c.resource !== undefined && form.resource !== undefined && c.resource !== form.resource) throw oauthErr(400, 'invalid_grant', 'resource does not match the authorization request');
    const pk = verifyPkce(c, form.code_verifier);
    if (pk) throw oauthErr(400, 'invalid_grant', pk);
    const resource = form.resource ?? c.resource;
    const at = issueAccess(client, { family: 'alliance', scopes: c.scopes, resource, user: c.user, lifetimeS: life });
    const rt = issueRefresh(client, { family: 'alliance', scopes: c.scopes, resource, user: c.user });
    const body = { token_type: 'Bearer', expires_in: life, access_token: at, refresh_token: rt };
    if (resource) body.resource = resource;
    return sendJson(ctx.res, 200, withRefreshIn(body, life));
  }
  if (gt === 'refresh_token') return refreshGrant(ctx, form, client, 'alliance', life);
  throw oauthErr(400, 'unsupported_grant_type', `grant_type ${gt} is not supported here`);
}

function authorizeCommon(ctx, family, style) {
  const q = Object.fromEntries(ctx.url.searchParams);
  const pageError = (msg) => {
    const e = oauthErr(400, 'invalid_request', msg, { aadCode: 900144 });
    e.page = true;
    return e;
  };
  if (!q.client_id) throw pageError('client_id is required');
  const client = S.clients.get(q.client_id);
  if (!client) throw Object.assign(oauthErr(400, 'unauthorized_client', `unknown client_id ${q.client_id}`, { aadCode: 700016 }), { page: true });
  if (!q.redirect_uri) throw pageError('redirect_uri is required');
  if (!redirectAllowed(client, q.redirect_uri)) throw pageError('redirect_uri is not an absolute URI or is not registered for this client');
  void style; void family;
  return { q, client };
}

function redirectWith(res, redirectUri, params, mode = 'query') {
  const u = new URL(redirectUri);
  params = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
  if (mode === 'fragment') {
    u.hash = new URLSearchParams(params).toString();
  } else {
    for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  }
  send(res, 302, '', { Location: u.href, 'Cache-Control': 'no-store' });
}

function sendPageError(res, err, style) {
  if (style === 'aad') {
    const b = aadErrorBody(err);
    return sendHtml(res, err.status, `<!DOCTYPE html>\n<html><head><title>Sign in to your account</title></head><body><h1>Sorry, but we're having trouble signing you in.</h1><p id="error">${htmlEscape(b.error_description.split('\r\n')[0])}</p></body></html>\n`);
  }
  return sendJson(res, err.status, rfcErrorBody(err));
}

async function allianceAuthorize(ctx) {
  let q; let client;
  try {
    ({ q, client } = authorizeCommon(ctx, 'alliance', 'rfc'));
  } catch (e) {
    if (e.page) return sendPageError(ctx.res, e, 'rfc');
    throw e;
  }
  const fail = (error, description) => redirectWith(ctx.res, q.redirect_uri, { error, error_description: description, state: q.state });
  if (q.response_type !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  const pk = checkPkceParams(q);
  if (pk) return fail('invalid_request', pk);
  if (client.public && !q.code_challenge) return fail('invalid_request', 'PKCE (code_challenge with S256) is required for public clients');
  const code = randomToken(32);
  S.codes.set(code, {
    family: 'alliance', client_id: client.client_id, redirect_uri: q.redirect_uri, resource: q.resource,
    code_challenge: q.code_challenge, scopes: q.scope ? q.scope.split(/[ ,]+/).filter(Boolean) : [],
    user: q.login_hint || 'account-holder', exp: now() + S.config.code_lifetime_s,
  });
  return redirectWith(ctx.res, q.redirect_uri, { code, state: q.state });
}

// ---------------------------------------------------------------- Alvaria (seed 002)

async function alvariaToken(ctx) {
  const form = parseForm(ctx);
  const { client } = authenticateClient(ctx, form);
  if (form.grant_type !== 'client_credentials') {
    if (!form.grant_type) throw oauthErr(400, 'invalid_request', 'grant_type is required');
    throw oauthErr(400, 'unsupported_grant_type', 'only client_credentials is supported');
  }
  if (client.public) throw oauthErr(400, 'unauthorized_client', 'public clients cannot use client_credentials');
  let scopes;
  if (form.scope !== undefined) {
    if (form.scope.includes(',')) throw oauthErr(400, 'invalid_scope', 'scope must be space-separated');
    scopes = form.scope.split(' ').filter(Boolean);
    checkScopesAllowed(client, scopes);
  } else {
    scopes = client.scopes ? [...client.scopes] : [];
  }
  const life = lifetime(3600);
  const at = issueAccess(client, { family: 'alvaria', scopes, lifetimeS: life });
  const body = { access_token: at, token_type: 'Bearer', expires_in: life };
  if (scopes.length) body.scope = scopes.join(' ');
  return sendJson(ctx.res, 200, withRefreshIn(body, life));
}

const ALVARIA_FIELDS = {
  redirect_uris: 'array', grant_types: 'array', response_types: 'array', contacts: 'array',
  client_name: 'string', scope: 'string', client_description: 'string',
};

function validateAlvariaMetadata(body) {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw oauthErr(400, 'invalid_client_metadata', 'body must be a JSON object');
  if (typeof body.scope !== 'string' || !body.scope.trim()) throw oauthErr(400, 'invalid_client_metadata', 'scope is required (space-separated string)');
  const out = {};
  for (const [k, type] of Object.entries(ALVARIA_FIELDS)) {
    if (body[k] === undefined) continue;
    if (type === 'array' && !(Array.isArray(body[k]) && body[k].every((x) => typeof x === 'string'))) throw oauthErr(400, 'invalid_client_metadata', `${k} must be an array of strings`);
    if (type === 'string' && typeof body[k] !== 'string') throw oauthErr(400, 'invalid_client_metadata', `${k} must be a string`);
    out[k] = body[k];
  }
  for (const u of out.redirect_uris || []) {
    try { new URL(u); } catch { throw oauthErr(400, 'invalid_redirect_uri', `invalid redirect uri ${u}`); }
  }
  out.scope = out.scope.split(/\s+/).filter(Boolean).join(' ');
  return out;
}

function alvariaPublic(meta) {
  const { client_secret: _omit, ...rest } = meta;
  return rest;
}

async function alvariaClients(ctx) {
  const { req, res } = ctx;
  const { org, clientId } = ctx.params;
  const allowed = clientId ? ['GET', 'PUT', 'DELETE'] : ['GET', 'POST'];
  if (!allowed.includes(req.method)) throw oauthErr(405, 'method_not_allowed', `method ${req.method} not allowed`, { headers: { Allow: allowed.join(', ') } });
  const bearer = bearerToken(req);
  const tok = lookupToken(bearer, 'access');
  if (!bearer || !tok || tok.family !== 'alvaria') {
    throw oauthErr(401, 'invalid_token', bearer ? 'access token is invalid, expired or not issued by the Alvaria token service' : 'missing bearer token', {
      headers: { 'WWW-Authenticate': bearer ? 'Bearer realm="alvaria", error="invalid_token"' : 'Bearer realm="alvaria"' },
    });
  }
  if (!safeEqual(req.headers['x-api-key'] || '', S.config.api_key)) throw oauthErr(403, 'access_denied', 'missing or invalid x-api-key');
  const op = !clientId ? (req.method === 'GET' ? 'list' : 'create') : ({ GET: 'view', PUT: 'modify', DELETE: 'delete' })[req.method];
  const need = `myaccount.clients.${op}`;
  if (!tok.scopes.includes(need)) {
    throw oauthErr(403, 'insufficient_scope', `token lacks scope ${need}`, { headers: { 'WWW-Authenticate': `Bearer realm="alvaria", error="insufficient_scope", scope="${need}"` } });
  }
  if (!S.alvariaOrgs.has(org)) S.alvariaOrgs.set(org, new Map());
  const store = S.alvariaOrgs.get(org);
  const base = `${BASE}/via/v1/organizations/${encodeURIComponent(org)}/oauth/clients`;
  if (op === 'list') return sendJson(res, 200, [...store.values()].map(alvariaPublic));
  if (op === 'create') {
    const meta = validateAlvariaMetadata(parseJsonBody(ctx));
    const id = randomAlnum(23);
    const full = {
      client_id: id,
      client_secret: randomAlnum(35),
      client_id_issued_at: nowS(),
      client_secret_expires_at: 0,
      redirect_uris: meta.redirect_uris || [],
      registration_client_uri: `${base}/${id}`,
      grant_types: meta.grant_types || ['client_credentials'],
      response_types: meta.response_types || [],
      client_name: meta.client_name || id,
      scope: meta.scope,
      x_api_key: crypto.randomBytes(32).toString('hex').toUpperCase(),
      client_description: meta.client_description || '',
      contacts: meta.contacts || [],
    };
    store.set(id, full);
    S.clients.set(id, normalizeClient({ client_id: id, client_secret: full.client_secret, scopes: full.scope.split(' '), redirect_uris: full.redirect_uris.length ? full.redirect_uris : null }));
    return sendJson(res, 201, full, { Location: full.registration_client_uri });
  }
  const existing = store.get(clientId);
  if (!existing) throw oauthErr(404, 'not_found', `client ${clientId} not found in organization ${org}`);
  if (op === 'view') return sendJson(res, 200, alvariaPublic(existing));
  if (op === 'modify') {
    const body = parseJsonBody(ctx);
    if (body && body.client_id !== undefined && body.client_id !== clientId) throw oauthErr(400, 'invalid_client_metadata', 'client_id cannot be changed');
    const meta = validateAlvariaMetadata(body);
    const updated = {
      ...existing,
      redirect_uris: meta.redirect_uris || [],
      grant_types: meta.grant_types || ['client_credentials'],
      response_types: meta.response_types || [],
      client_name: meta.client_name || existing.client_name,
      scope: meta.scope,
      client_description: meta.client_description || '',
      contacts: meta.contacts || [],
    };
    store.set(clientId, updated);
    const reg = S.clients.get(clientId);
    if (reg) {
      reg.scopes = updated.scope.split(' ');
      reg.redirect_uris = updated.redirect_uris.length ? updated.redirect_uris : null;
    }
    return sendJson(res, 200, alvariaPublic(updated));
  }
  // delete
  store.delete(clientId);
  S.clients.delete(clientId);
  for (const [v, t] of S.tokens) if (t.client_id === clientId) S.tokens.delete(v);
  return send(res, 204, '', { 'Cache-Control': 'no-store' });
}

// ---------------------------------------------------------------- Alvys (seed 003)

async function alvysToken(ctx) {
  const { tenant } = ctx.params;
  if (!/^[A-Za-z0-9-]+$/.test(tenant)) throw oauthErr(404, 'not_found', 'unknown tenant');
  const form = parseForm(ctx);
  const { client } = authenticateClient(ctx, form, { allowBasic: false });
  if (form.grant_type !== 'client_credentials') {
    if (!form.grant_type) throw oauthErr(400, 'invalid_request', 'grant_type is required');
    throw oauthErr(400, 'unsupported_grant_type', 'grant_type must be client_credentials');
  }
  if (client.public) throw oauthErr(400, 'unauthorized_client', 'public clients cannot use client_credentials');
  const scopes = form.scope ? form.scope.split(' ').filter(Boolean) : [];
  checkScopesAllowed(client, scopes);
  const life = lifetime(3600);
  const at = issueAccess(client, { family: 'alvys', scopes, tenant, lifetimeS: life });
  return sendJson(ctx.res, 200, withRefreshIn({ access_token: at, token_type: 'Bearer', expires_in: life }, life));
}

// ---------------------------------------------------------------- Azure AD v1 (seed 004)

function azureIdToken(client, tenant, { nonce, user, code }) {
  const t = nowS();
  const claims = {
    aud: client.client_id,
    iss: `${BASE}/${tenant}/`,
    iat: t,
    nbf: t,
    exp: t + 3600,
    amr: ['pwd'],
    name: 'Test User',
    oid: '00000000-0000-4000-8000-0000000000aa',
    sub: b64u(sha256(`${client.client_id}|${user}`)),
    tid: tenant,
    unique_name: user,
    upn: user,
    ver: '1.0',
  };
  if (nonce !== undefined) claims.nonce = nonce;
  if (code) claims.c_hash = b64u(sha256(code).subarray(0, 16));
  return signJwt(claims);
}

function formPostPage(action, fields) {
  const inputs = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${htmlEscape(k)}" value="${htmlEscape(v)}" />`)
    .join('');
  return `<html><head><title>Working...</title></head><body><form method="POST" name="hiddenform" action="${htmlEscape(action)}">${inputs}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit" /></noscript></form><script language="javascript">document.forms[0].submit();</script></body></html>`;
}

async function azureAuthorize(ctx) {
  const { tenant } = ctx.params;
  let q; let client;
  try {
    ({ q, client } = authorizeCommon(ctx, 'azure', 'aad'));
  } catch (e) {
    if (e.page) return sendPageError(ctx.res, e, 'aad');
    throw e;
  }
  const rtype = String(q.response_type || '').split(' ').filter(Boolean).sort().join(' ');
  const hybrid = rtype === 'code id_token';
  const mode = q.response_mode || (hybrid ? 'fragment' : 'query');
  const deliver = (fields) => {
    if (mode === 'form_post') return sendHtml(ctx.res, 200, formPostPage(q.redirect_uri, fields));
    return redirectWith(ctx.res, q.redirect_uri, fields, mode === 'fragment' ? 'fragment' : 'query');
  };
  if (!['query', 'fragment', 'form_post'].includes(mode)) {
    return sendPageError(ctx.res, oauthErr(400, 'invalid_request', `unsupported response_mode ${mode}`, { aadCode: 900144 }), 'aad');
  }
  const fail = (error, description, aadCode) => {
    const b = aadErrorBody(oauthErr(400, error, description, { aadCode }));
    return deliver({ error, error_description: b.error_description, state: q.state });
  };
  if (rtype !== 'code' && !hybrid) return fail('unsupported_response_type', 'response_type must be "code" or "code id_token"', 900144);
  if (hybrid && mode === 'query') return fail('invalid_request', 'response_mode query is not allowed with id_token', 900144);
  const pk = checkPkceParams(q);
  if (pk) return fail('invalid_request', pk, 501491);
  if (client.public && !q.code_challenge) return fail('invalid_request', 'PKCE is required for public clients', 9002325);
  const user = q.login_hint || 'test.user@tokenbroker.test';
  const code = randomToken(48);
  S.codes.set(code, {
    family: 'azure', tenant, client_id: client.client_id, redirect_uri: q.redirect_uri, resource: q.resource,
    code_challenge: q.code_challenge, nonce: q.nonce, user, scopes: ['user_impersonation'], exp: now() + S.config.code_lifetime_s,
  });
  const fields = { code };
  if (hybrid) fields.id_token = azureIdToken(client, tenant, { nonce: q.nonce, user, code });
  fields.state = q.state;
  fields.session_state = crypto.randomUUID();
  return deliver(fields);
}

function azureTokenResponse(client, tenant, { resource, user, nonce, withRefresh, withIdToken, scope = 'user_impersonation' }) {
  const life = lifetime(3599);
  const t = nowS();
  const at = issueAccess(client, { family: 'azure', scopes: scope ? scope.split(' ') : [], resource, tenant, user, lifetimeS: life });
  const body = {
    token_type: 'Bearer',
    scope: scope || undefined,
    expires_in: String(life),
    ext_expires_in: String(life),
    expires_on: String(t + life),
    not_before: String(t),
    resource,
    access_token: at,
  };
  if (withRefresh) body.refresh_token = issueRefresh(client, { family: 'azure', scopes: [scope], resource, tenant, user, nonce });
  if (withIdToken) body.id_token = azureIdToken(client, tenant, { user });
  return withRefreshIn(body, life, true);
}

async function azureToken(ctx) {
  const { tenant } = ctx.params;
  const form = parseForm(ctx);
  if (!form.grant_type) throw oauthErr(400, 'invalid_request', "The request body must contain the following parameter: 'grant_type'.", { aadCode: 900144 });
  if (!['authorization_code', 'refresh_token', 'client_credentials'].includes(form.grant_type)) {
    throw oauthErr(400, 'unsupported_grant_type', `The provided value for the input parameter 'grant_type' is not valid: ${form.grant_type}`, { aadCode: 70003 });
  }
  const { client } = authenticateClient(ctx, form);
  if (!form.resource) {
    throw oauthErr(400, 'invalid_request', "Resource identifier is not provided. The request body must contain the following parameter: 'resource'.", { aadCode: 50001 });
  }
  const res = ctx.res;
  if (form.grant_type === 'client_credentials') {
    if (client.public) throw oauthErr(400, 'unauthorized_client', 'public clients cannot use client_credentials', { aadCode: 7000218 });
    return sendJson(res, 200, azureTokenResponse(client, tenant, { resource: form.resource, withRefresh: false, withIdToken: false, scope: null }));
  }
  if (form.grant_type === 'authorization_code') {
    if (!form.code) throw oauthErr(400, 'invalid_request', "The request body must contain the following parameter: 'code'.", { aadCode: 900144 });
    const taken = takeCode(form.code, 'azure');
    if (taken.reused) throw oauthErr(400, 'invalid_grant', 'The provided authorization code or refresh token has expired due to inactivity. The code was already redeemed.', { aadCode: 54005 });
    if (!taken.record) throw oauthErr(400, 'invalid_grant', `Malformed or invalid authorization code: ${taken.error}.`, { aadCode: 70000 });
    const c = taken.record;
    if (c.tenant !== tenant) throw oauthErr(400, 'invalid_grant', 'The code was issued for another tenant.', { aadCode: 50148 });
    if (c.client_id !== client.client_id) throw oauthErr(400, 'invalid_grant', 'The code was issued to another client.', { aadCode: 70000 });
    if (form.redirect_uri !== undefined && form.redirect_uri !== c.redirect_uri) {
      throw oauthErr(400, 'invalid_grant', 'The reply URL specified in the request does not match the reply URL used to obtain the authorization code.', { aadCode: 500112 });
    }
    const pk = verifyPkce(c, form.code_verifier);
    if (pk) throw oauthErr(400, 'invalid_grant', `Proof Key for Code Exchange check failed: ${pk}.`, { aadCode: 501481 });
    return sendJson(res, 200, azureTokenResponse(client, tenant, { resource: form.resource, user: c.user, nonce: c.nonce, withRefresh: true, withIdToken: true }));
  }
  // refresh_token
  if (!form.refresh_token) throw oauthErr(400, 'invalid_request', "The request body must contain the following parameter: 'refresh_token'.", { aadCode: 900144 });
  const rt = S.tokens.get(form.refresh_token);
  if (!rt || rt.type !== 'refresh' || rt.family !== 'azure' || rt.tenant !== tenant) {
    throw oauthErr(400, 'invalid_grant', 'The provided authorization code or refresh token has expired due to inactivity. The token is not valid.', { aadCode: 70008 });
  }
  if (rt.revoked) throw oauthErr(400, 'invalid_grant', 'The provided authorization code or refresh token has expired due to inactivity. The refresh token was already used (it was rotated).', { aadCode: 70008 });
  if (rt.exp <= now()) throw oauthErr(400, 'invalid_grant', 'The provided authorization code or refresh token has expired due to inactivity.', { aadCode: 70008 });
  if (rt.client_id !== client.client_id) throw oauthErr(400, 'invalid_grant', 'The refresh token was issued to a different client.', { aadCode: 70000 });
  const rotate = S.config.rotate_refresh_tokens;
  if (rotate) rt.revoked = true;
  return sendJson(res, 200, azureTokenResponse(client, tenant, { resource: form.resource, user: rt.user, nonce: rt.nonce, withRefresh: rotate, withIdToken: !!rt.user }));
}

function azureKeys(ctx) {
  return sendJson(ctx.res, 200, { keys: [AZ_JWK] }, { 'Cache-Control': 'max-age=60' });
}

function azureDiscovery(ctx) {
  const { tenant } = ctx.params;
  const b = `${BASE}/${tenant}`;
  return sendJson(ctx.res, 200, {
    issuer: `${b}/`,
    authorization_endpoint: `${b}/oauth2/authorize`,
    token_endpoint: `${b}/oauth2/token`,
    jwks_uri: `${b}/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    response_types_supported: ['code', 'code id_token'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    code_challenge_methods_supported: ['S256'],
    subject_types_supported: ['pairwise'],
  }, { 'Cache-Control': 'max-age=60' });
}

// ---------------------------------------------------------------- generic RFC 6749 / RFC 8628

async function refreshGrant(ctx, form, client, family, life) {
  if (!form.refresh_token) throw oauthErr(400, 'invalid_request', 'refresh_token is required');
  const rt = S.tokens.get(form.refresh_token);
  if (!rt || rt.type !== 'refresh' || rt.family !== family) throw oauthErr(400, 'invalid_grant', 'refresh token is invalid');
  if (rt.revoked) throw oauthErr(400, 'invalid_grant', 'refresh token was already used (rotated)');
  if (rt.exp <= now()) throw oauthErr(400, 'invalid_grant', 'refresh token expired');
  if (rt.client_id !== client.client_id) throw oauthErr(400, 'invalid_grant', 'refresh token was issued to another client');
  let scopes = rt.scopes;
  if (form.scope !== undefined) {
    const req = form.scope.split(' ').filter(Boolean);
    const extra = req.filter((s) => !rt.scopes.includes(s));
    if (extra.length) throw oauthErr(400, 'invalid_scope', `scope exceeds the original grant: ${extra.join(' ')}`);
    scopes = req;
  }
  const at = issueAccess(client, { family, scopes, resource: rt.resource, tenant: rt.tenant, user: rt.user, lifetimeS: life });
  const body = { access_token: at, token_type: 'Bearer', expires_in: life };
  if (S.config.rotate_refresh_tokens) {
    rt.revoked = true;
    body.refresh_token = issueRefresh(client, { family, scopes: rt.scopes, resource: rt.resource, tenant: rt.tenant, user: rt.user });
  }
  if (scopes.length) body.scope = scopes.join(' ');
  return sendJson(ctx.res, 200, withRefreshIn(body, life));
}

async function genericDevice(ctx) {
  const form = parseForm(ctx);
  const { client } = authenticateClient(ctx, form);
  const scopes = form.scope ? form.scope.split(' ').filter(Boolean) : [];
  checkScopesAllowed(client, scopes);
  const deviceCode = randomToken(32);
  const uc = userCode();
  const expiresIn = S.config.device_expires_in_s;
  const interval = S.config.device_interval_s;
  S.devices.set(deviceCode, {
    client_id: client.client_id, scopes, user_code: uc, status: 'pending', exp: now() + expiresIn,
    interval, last_poll: 0, used: false,
  });
  S.userCodes.set(normUserCode(uc), deviceCode);
  const verification = `${BASE}/generic/device/verify`;
  return sendJson(ctx.res, 200, {
    device_code: deviceCode,
    user_code: uc,
    verification_uri: verification,
    verification_uri_complete: `${verification}?user_code=${encodeURIComponent(uc)}`,
    expires_in: expiresIn,
    interval,
  });
}

function decideDevice(userCodeValue, action) {
  const dc = S.userCodes.get(normUserCode(userCodeValue));
  const d = dc && S.devices.get(dc);
  if (!d) return { status: 404, error: 'unknown user_code' };
  if (d.exp <= now()) return { status: 400, error: 'user_code expired' };
  if (d.status !== 'pending') return { status: 409, error: `request already ${d.status}` };
  d.status = action === 'deny' ? 'denied' : 'approved';
  return { status: 200, result: d.status, client_id: d.client_id, scopes: d.scopes };
}

function genericVerify(ctx) {
  const q = Object.fromEntries(ctx.url.searchParams);
  let form = {};
  if (ctx.req.method === 'POST') form = parseForm(ctx);
  const userCodeValue = form.user_code ?? q.user_code;
  const action = form.action ?? q.action;
  const accept = String(ctx.req.headers.accept || '');
  const wantsJson = /application\/json/.test(accept) && !/text\/html/.test(accept);
  if (!userCodeValue || !action) {
    return sendHtml(ctx.res, 200, `<!DOCTYPE html>\n<html><head><title>Device sign-in</title></head><body><h1>Connect a device</h1>
<form method="get" action="/generic/device/verify"><label>Code shown on the device <input type="text" name="user_code" value="${htmlEscape(userCodeValue || '')}" autofocus></label>
<button type="submit" name="action" value="approve">Approve</button> <button type="submit" name="action" value="deny">Deny</button></form></body></html>\n`);
  }
  if (!['approve', 'deny'].includes(action)) {
    return wantsJson ? sendJson(ctx.res, 400, { error: 'invalid_request', error_description: 'action must be approve or deny' }) : sendHtml(ctx.res, 400, '<p>action must be approve or deny</p>');
  }
  const r = decideDevice(userCodeValue, action);
  if (wantsJson) return r.error ? sendJson(ctx.res, r.status, { error: 'invalid_request', error_description: r.error }) : sendJson(ctx.res, 200, { ok: true, status: r.result });
  if (r.error) return sendHtml(ctx.res, r.status, `<!DOCTYPE html>\n<html><body><h1>Cannot complete</h1><p>${htmlEscape(r.error)}</p></body></html>\n`);
  return sendHtml(ctx.res, 200, `<!DOCTYPE html>\n<html><body><h1>Device ${r.result}</h1><p>You can close this page and return to your device.</p></body></html>\n`);
}

async function genericToken(ctx) {
  const form = parseForm(ctx);
  if (!form.grant_type) throw oauthErr(400, 'invalid_request', 'grant_type is required');
  const { client } = authenticateClient(ctx, form);
  const life = lifetime(3600);
  const gt = form.grant_type;
  if (gt === 'client_credentials') {
    if (client.public) throw oauthErr(400, 'unauthorized_client', 'public clients cannot use client_credentials');
    const scopes = form.scope !== undefined ? form.scope.split(' ').filter(Boolean) : (client.scopes ? [...client.scopes] : []);
    checkScopesAllowed(client, scopes);
    const at = issueAccess(client, { family: 'generic', scopes, resource: form.resource, lifetimeS: life });
    const body = { access_token: at, token_type: 'Bearer', expires_in: life };
    if (scopes.length) body.scope = scopes.join(' ');
    return sendJson(ctx.res, 200, withRefreshIn(body, life));
  }
  if (gt === 'refresh_token') return refreshGrant(ctx, form, client, 'generic', life);
  if (gt === 'urn:ietf:params:oauth:grant-type:device_code') {
    if (!form.device_code) throw oauthErr(400, 'invalid_request', 'device_code is required');
    const d = S.devices.get(form.device_code);
    if (!d || d.client_id !== client.client_id) throw oauthErr(400, 'invalid_grant', 'device_code is invalid');
    if (d.used) throw oauthErr(400, 'invalid_grant', 'device_code was already redeemed');
    const t = now();
    if (d.exp <= t) throw oauthErr(400, 'expired_token', 'device_code has expired');
    if (d.status === 'denied') { d.used = true; throw oauthErr(400, 'access_denied', 'the user denied the request'); }
    const since = (t - d.last_poll) * 1000;
    d.last_poll = t;
    if (d.status === 'pending') {
      // 100 ms leeway for timer jitter between the client and us
      if (since < d.interval * 1000 - 100) {
        d.interval += S.config.slow_down_increment_s;
        throw oauthErr(400, 'slow_down', `polling too fast; interval is now ${d.interval}s`);
      }
      throw oauthErr(400, 'authorization_pending', 'the user has not yet approved the request');
    }
    d.used = true;
    const at = issueAccess(client, { family: 'generic', scopes: d.scopes, user: 'device-user', lifetimeS: life });
    const rt = issueRefresh(client, { family: 'generic', scopes: d.scopes, user: 'device-user' });
    const body = { access_token: at, token_type: 'Bearer', expires_in: life, refresh_token: rt };
    if (d.scopes.length) body.scope = d.scopes.join(' ');
    return sendJson(ctx.res, 200, withRefreshIn(body, life));
  }
  throw oauthErr(400, 'unsupported_grant_type', `grant_type ${gt} is not supported`);
}

// ---------------------------------------------------------------- protected resource

function resource(ctx) {
  const bearer = bearerToken(ctx.req);
  const tok = lookupToken(bearer, 'access');
  if (!tok) {
    const hdr = bearer ? 'Bearer realm="tokenbroker-test", error="invalid_token", error_description="token is unknown or expired"' : 'Bearer realm="tokenbroker-test", error="invalid_token", error_description="missing bearer token"';
    return sendJson(ctx.res, 401, { error: 'invalid_token', error_description: bearer ? 'token is unknown or expired' : 'missing bearer token' }, { 'WWW-Authenticate': hdr });
  }
  const body = { ok: true, client_id: tok.client_id, scopes: tok.scopes, issuer: tok.family, path: ctx.url.pathname, method: ctx.req.method, expires_at: Math.floor(tok.exp) };
  if (tok.resource) body.resource = tok.resource;
  if (tok.tenant) body.tenant = tok.tenant;
  if (tok.user) body.user = tok.user;
  return sendJson(ctx.res, 200, body);
}

// ---------------------------------------------------------------- admin

function admin(ctx) {
  const { req, res } = ctx;
  const p = ctx.url.pathname;
  const post = req.method === 'POST';
  const body = post ? parseJsonBody(ctx) : {};
  if (p === '/_admin/stats' && req.method === 'GET') {
    return sendJson(res, 200, { requests: S.requests, tokens_issued: S.tokensIssued, by_client: S.byClient, faults_pending: S.faults.map((f) => ({ route: f.route, kind: f.kind, remaining: f.remaining })) });
  }
  if (p === '/_admin/requests' && req.method === 'GET') {
    const route = ctx.url.searchParams.get('route');
    return sendJson(res, 200, route ? S.log.filter((e) => e.route === route) : S.log);
  }
  if (p === '/_admin/config' && req.method === 'GET') return sendJson(res, 200, S.config);
  if (p === '/_admin/echoes' && req.method === 'GET') return sendJson(res, 200, S.echoes);
  if (p === '/_admin/keys' && req.method === 'GET') return sendJson(res, 200, { keys: [AZ_JWK] });
  if (!post) throw oauthErr(req.method === 'GET' ? 404 : 405, 'invalid_request', `no admin route ${req.method} ${p}`);
  switch (p) {
    case '/_admin/reset':
      resetState();
      return sendJson(res, 200, { ok: true });
    case '/_admin/config': {
      const checks = {
        token_lifetime_s: (v) => v === null || (typeof v === 'number' && v >= 0),
        refresh_in_s: (v) => v === null || (typeof v === 'number' && v >= 0),
        rotate_refresh_tokens: (v) => typeof v === 'boolean',
        device_interval_s: (v) => typeof v === 'number' && v >= 0,
        device_expires_in_s: (v) => typeof v === 'number' && v >= 0,
        slow_down_increment_s: (v) => typeof v === 'number' && v >= 0,
        code_lifetime_s: (v) => typeof v === 'number' && v >= 0,
        api_key: (v) => typeof v === 'string',
      };
      for (const [k, v] of Object.entries(body)) {
        if (!checks[k]) throw oauthErr(400, 'invalid_request', `unknown config key ${k}`);
        if (!checks[k](v)) throw oauthErr(400, 'invalid_request', `bad value for ${k}`);
      }
      Object.assign(S.config, body);
      return sendJson(res, 200, S.config);
    }
    case '/_admin/faults': {
      const list = Array.isArray(body) ? body : [body];
      for (const f of list) {
        if (!f || typeof f.route !== 'string' || !f.route) throw oauthErr(400, 'invalid_request', 'route is required');
        if (f.route !== '*' && !ROUTE_NAMES.has(f.route)) throw oauthErr(400, 'invalid_request', `unknown route ${f.route}; known: ${[...ROUTE_NAMES].join(', ')}`);
        if (!FAULT_KINDS.has(f.kind)) throw oauthErr(400, 'invalid_request', `kind must be one of ${[...FAULT_KINDS].join(', ')}`);
        if (f.count !== undefined && !(Number.isInteger(f.count) && f.count > 0)) throw oauthErr(400, 'invalid_request', 'count must be a positive integer');
      }
      for (const f of list) S.faults.push({ ...f, remaining: f.count ?? 1 });
      return sendJson(res, 200, { ok: true, pending: S.faults.length });
    }
    case '/_admin/faults/clear':
      S.faults = [];
      return sendJson(res, 200, { ok: true });
    case '/_admin/clients': {
      let c;
      try { c = normalizeClient(body); } catch (e) { throw oauthErr(400, 'invalid_request', `bad client: ${e.message}`); }
      S.clients.set(c.client_id, c);
      return sendJson(res, 201, { client_id: c.client_id, public: c.public, scopes: c.scopes });
    }
    case '/_admin/device/approve':
    case '/_admin/device/deny': {
      const r = decideDevice(body.user_code, p.endsWith('deny') ? 'deny' : 'approve');
      if (r.error) throw oauthErr(r.status, 'invalid_request', r.error);
      return sendJson(res, 200, { ok: true, status: r.result });
    }
    case '/_admin/tokens/expire': {
      // make every issued access token (or the one given) expire now
      let n = 0;
      for (const [v, t] of S.tokens) {
        if (t.type === 'access' && (!body.access_token || body.access_token === v)) { t.exp = now() - 1; n++; }
      }
      return sendJson(res, 200, { ok: true, expired: n });
    }
    default:
      throw oauthErr(404, 'invalid_request', `no admin route ${p}`);
  }
}

// ---------------------------------------------------------------- routing

// [name, methods (null = any), regex, handler, errorStyle]
const ROUTES = [
  ['alliance.token', ['POST'], /^\/API\/v2\/OAuth\/token$/i, allianceToken, 'rfc'],
  ['alliance.authorize', ['GET'], /^\/API\/v2\/OAuth\/authorize$/i, allianceAuthorize, 'rfc'],
  ['alvaria.token', ['POST'], /^\/tokenservice\/oauth2\/access_token$/, alvariaToken, 'rfc'],
  ['alvaria.clients', null, /^\/via\/v1\/organizations\/(?<org>[^/]+)\/oauth\/clients(?:\/(?<clientId>[^/]+))?$/, alvariaClients, 'rfc'],
  ['alvys.token', ['POST'], /^\/api\/(?:p\/)?authentication\/(?<tenant>[^/]+)\/token$/, alvysToken, 'rfc'],
  ['generic.token', ['POST'], /^\/generic\/token$/, genericToken, 'rfc'],
  ['generic.device', ['POST'], /^\/generic\/device$/, genericDevice, 'rfc'],
  ['generic.verify', ['GET', 'POST'], /^\/generic\/device\/verify$/, genericVerify, 'rfc'],
  ['resource', null, /^\/api\/.*/, resource, 'rfc'],
  ['azure.authorize', ['GET'], /^\/(?<tenant>[^/_][^/]*)\/oauth2\/authorize$/, azureAuthorize, 'aad'],
  ['azure.token', ['POST'], /^\/(?<tenant>[^/_][^/]*)\/oauth2\/token$/, azureToken, 'aad'],
  ['azure.keys', ['GET'], /^\/(?<tenant>[^/_][^/]*)\/discovery\/keys$/, azureKeys, 'aad'],
  ['azure.discovery', ['GET'], /^\/(?<tenant>[^/_][^/]*)\/\.well-known\/openid-configuration$/, azureDiscovery, 'aad'],
];
const ROUTE_NAMES = new Set(ROUTES.map((r) => r[0]));

function matchRoute(pathname) {
  for (const [name, methods, re, handler, style] of ROUTES) {
    const m = re.exec(pathname);
    if (m) {
      const params = {};
      for (const [k, v] of Object.entries(m.groups || {})) {
        if (v === undefined) continue;
        try { params[k] = decodeURIComponent(v); } catch { params[k] = v; }
      }
      return { name, methods, handler, style, params };
    }
  }
  return null;
}

const SENSITIVE_LOG_HEADERS = ['authorization', 'content-type', 'accept', 'x-api-key', 'user-agent', 'dpop'];

async function handle(req, res) {
  const url = new URL(req.url, BASE || 'http://127.0.0.1');
  const ctx = { req, res, url, params: {}, rawBody: Buffer.alloc(0), form: null };
  const isAdmin = url.pathname.startsWith('/_admin/');
  const route = isAdmin ? null : matchRoute(url.pathname);
  const name = isAdmin ? 'admin' : route ? route.name : 'not_found';
  const style = route?.style || 'rfc';
  try {
    ctx.rawBody = await readBody(req);
  } catch (e) {
    return sendError(res, e instanceof HttpError ? e : oauthErr(400, 'invalid_request', 'cannot read body'), style);
  }
  if (!isAdmin) {
    S.requests[name] = (S.requests[name] || 0) + 1;
    const entry = {
      route: name, method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams),
      headers: Object.fromEntries(SENSITIVE_LOG_HEADERS.filter((h) => req.headers[h] !== undefined).map((h) => [h, req.headers[h]])),
      body: ctx.rawBody.length > 4096 ? `${ctx.rawBody.subarray(0, 4096).toString('utf8')}...` : ctx.rawBody.toString('utf8'),
      at: new Date().toISOString(),
    };
    S.log.push(entry);
    if (S.log.length > 500) S.log.shift();
    res.on('finish', () => { entry.status = res.statusCode; });
    log(req.method, url.pathname, '->', name);
  }
  try {
    if (isAdmin) return admin(ctx);
    if (!route) throw oauthErr(404, 'not_found', `no route for ${req.method} ${url.pathname}`);
    const fault = findFault(name, ctx);
    if (fault && (await applyFault(fault, ctx))) return undefined;
    if (route.methods && !route.methods.includes(req.method)) {
      throw oauthErr(405, 'method_not_allowed', `method ${req.method} not allowed`, { headers: { Allow: route.methods.join(', ') } });
    }
    ctx.params = route.params;
    return await route.handler(ctx);
  } catch (e) {
    if (e instanceof HttpError) return sendError(res, e, style);
    process.stderr.write(`[provider] internal error on ${req.method} ${url.pathname}: ${e.stack || e}\n`);
    return sendError(res, oauthErr(500, 'server_error', 'internal error in the test provider'), style);
  }
}

// ---------------------------------------------------------------- strict OpenID provider
// Stricter than oidc-provider where the RFCs allow. Issuer `${BASE}/strict/{tag}`: `tag` is words joined by
// '.', each changing one behaviour of that issuer only, so parallel tests never share state:
//   iss-missing | iss-wrong      the authorization response lacks / misstates RFC 9207 `iss` (still advertised)
//   iss-unadvertised             discovery does not advertise RFC 9207 and no `iss` is sent
//   {code|device|refresh}-{sig|iss|aud|exp|sub}   that grant's ID token has a bad signature / iss / aud /
//                                is expired / names another subject
//   refresh-dead                 every refresh answers invalid_grant (the session ended at the server)
// Client assertions must name the issuer or the token endpoint as `aud` at every endpoint (RFC 7523 §3 and
// draft-ietf-oauth-rfc7523bis), never the revocation or device endpoint itself.

const STRICT_KEY = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const STRICT_JWK = (() => {
  const j = STRICT_KEY.publicKey.export({ format: 'jwk' });
  return { kty: 'RSA', use: 'sig', alg: 'RS256', kid: 'strict-1', n: j.n, e: j.e };
})();

function strictInfo(ctx) {
  const { tag } = ctx.params;
  const words = new Set(tag.split('.'));
  const issuer = `${BASE}/strict/${tag}`;
  return { tag, words, issuer, family: `strict:${tag}`, tokenEndpoint: `${issuer}/token` };
}

function strictAuth(ctx, form, info) {
  if (form.client_assertion !== undefined) {
    let aud;
    try { aud = JSON.parse(Buffer.from(String(form.client_assertion).split('.')[1], 'base64url').toString('utf8')).aud; } catch { aud = undefined; }
    const auds = Array.isArray(aud) ? aud : [aud];
    const hit = [info.issuer, info.tokenEndpoint].find((a) => auds.includes(a));
    if (!hit) throw oauthErr(401, 'invalid_client', `client assertion rejected: aud must be the issuer ${info.issuer} or the token endpoint ${info.tokenEndpoint}`);
    return authenticateClient({ ...ctx, url: new URL(hit) }, form);
  }
  return authenticateClient(ctx, form);
}

function strictIdToken(info, client, grant, { user, nonce }) {
  const t = nowS();
  const defect = ['sig', 'iss', 'aud', 'exp', 'sub'].find((d) => info.words.has(`${grant}-${d}`));
  const claims = {
    iss: defect === 'iss' ? `${BASE}/strict/elsewhere` : info.issuer,
    sub: defect === 'sub' ? `${user}-someone-else` : user,
    aud: defect === 'aud' ? 'another-client' : client.client_id,
    iat: defect === 'exp' ? t - 7200 : t,
    exp: defect === 'exp' ? t - 3600 : t + 3600,
  };
  if (nonce !== undefined) claims.nonce = nonce;
  const header = { typ: 'JWT', alg: 'RS256', kid: STRICT_JWK.kid };
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  const key = defect === 'sig' ? AZ_KEY.privateKey : STRICT_KEY.privateKey;
  return `${input}.${b64u(crypto.sign('sha256', Buffer.from(input), key))}`;
}

function strictTokens(ctx, info, client, grant, { scopes, user, nonce }) {
  const life = lifetime(3600);
  const at = issueAccess(client, { family: info.family, scopes, user, lifetimeS: life });
  const body = { access_token: at, token_type: 'Bearer', expires_in: life, scope: scopes.join(' ') || undefined };
  body.refresh_token = issueRefresh(client, { family: info.family, scopes, user });
  if (scopes.includes('openid')) body.id_token = strictIdToken(info, client, grant, { user, nonce });
  return sendJson(ctx.res, 200, body, { 'Cache-Control': 'no-store' });
}

function strictDiscovery(ctx) {
  const info = strictInfo(ctx);
  const i = info.issuer;
  return sendJson(ctx.res, 200, {
    issuer: i,
    authorization_endpoint: `${i}/authorize`,
    token_endpoint: info.tokenEndpoint,
    device_authorization_endpoint: `${i}/device`,
    revocation_endpoint: `${i}/revoke`,
    jwks_uri: `${i}/keys`,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    code_challenge_methods_supported: ['S256'],
    id_token_signing_alg_values_supported: ['RS256'],
    authorization_response_iss_parameter_supported: !info.words.has('iss-unadvertised'),
  });
}

function strictKeys(ctx) {
  const cacheable = strictInfo(ctx).words.has('keys-cacheable');
  return sendJson(ctx.res, 200, { keys: [STRICT_JWK] }, cacheable ? { 'Cache-Control': 'max-age=300' } : {});
}

async function strictAuthorize(ctx) {
  const info = strictInfo(ctx);
  let q; let client;
  try {
    ({ q, client } = authorizeCommon(ctx, info.family, 'rfc'));
  } catch (e) {
    if (e.page) return sendPageError(ctx.res, e, 'rfc');
    throw e;
  }
  let iss = info.issuer;
  if (info.words.has('iss-missing') || info.words.has('iss-unadvertised')) iss = undefined;
  if (info.words.has('iss-wrong')) iss = `${BASE}/strict/elsewhere`;
  const fail = (error, description) => redirectWith(ctx.res, q.redirect_uri, { error, error_description: description, state: q.state, iss });
  if (q.response_type !== 'code') return fail('unsupported_response_type', 'response_type must be code');
  if (!q.code_challenge || q.code_challenge_method !== 'S256') return fail('invalid_request', 'PKCE with S256 is required');
  const code = randomToken(32);
  S.codes.set(code, {
    family: info.family, client_id: client.client_id, redirect_uri: q.redirect_uri, code_challenge: q.code_challenge,
    nonce: q.nonce, scopes: q.scope ? q.scope.split(' ').filter(Boolean) : [], user: 'strict-user', exp: now() + S.config.code_lifetime_s,
  });
  return redirectWith(ctx.res, q.redirect_uri, { code, state: q.state, iss });
}

async function strictDevice(ctx) {
  const info = strictInfo(ctx);
  const form = parseForm(ctx);
  const { client } = strictAuth(ctx, form, info);
  const scopes = form.scope ? form.scope.split(' ').filter(Boolean) : [];
  const deviceCode = randomToken(32);
  const uc = userCode();
  S.devices.set(deviceCode, {
    client_id: client.client_id, scopes, user_code: uc, status: 'pending', exp: now() + S.config.device_expires_in_s,
    interval: S.config.device_interval_s, last_poll: 0, used: false, family: info.family,
  });
  S.userCodes.set(normUserCode(uc), deviceCode);
  const verification = `${BASE}/generic/device/verify`;
  return sendJson(ctx.res, 200, {
    device_code: deviceCode, user_code: uc, verification_uri: verification,
    verification_uri_complete: `${verification}?user_code=${encodeURIComponent(uc)}`,
    expires_in: S.config.device_expires_in_s, interval: S.config.device_interval_s,
  });
}

async function strictToken(ctx) {
  const info = strictInfo(ctx);
  const form = parseForm(ctx);
  if (!form.grant_type) throw oauthErr(400, 'invalid_request', 'grant_type is required');
  const { client } = strictAuth(ctx, form, info);
  const gt = form.grant_type;
  if (gt === 'authorization_code') {
    const taken = takeCode(form.code, info.family);
    if (!taken.record) throw oauthErr(400, 'invalid_grant', taken.error);
    const c = taken.record;
    if (c.client_id !== client.client_id) throw oauthErr(400, 'invalid_grant', 'the code was issued to another client');
    if (form.redirect_uri !== c.redirect_uri) throw oauthErr(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
    const pk = verifyPkce(c, form.code_verifier);
    if (pk) throw oauthErr(400, 'invalid_grant', pk);
    return strictTokens(ctx, info, client, 'code', { scopes: c.scopes, user: c.user, nonce: c.nonce });
  }
  if (gt === 'refresh_token') {
    if (info.words.has('refresh-dead')) throw oauthErr(400, 'invalid_grant', 'the session has ended; sign in again');
    const rt = S.tokens.get(form.refresh_token);
    if (!rt || rt.type !== 'refresh' || rt.family !== info.family || rt.revoked || rt.exp <= now()) throw oauthErr(400, 'invalid_grant', 'refresh token is invalid, revoked or expired');
    if (rt.client_id !== client.client_id) throw oauthErr(400, 'invalid_grant', 'refresh token was issued to another client');
    rt.revoked = true;
    return strictTokens(ctx, info, client, 'refresh', { scopes: rt.scopes, user: rt.user });
  }
  if (gt === 'urn:ietf:params:oauth:grant-type:device_code') {
    const d = S.devices.get(form.device_code);
    if (!d || d.family !== info.family || d.client_id !== client.client_id || d.used) throw oauthErr(400, 'invalid_grant', 'device_code is invalid');
    if (d.exp <= now()) throw oauthErr(400, 'expired_token', 'device_code has expired');
    if (d.status === 'denied') { d.used = true; throw oauthErr(400, 'access_denied', 'the user denied the request'); }
    if (d.status === 'pending') throw oauthErr(400, 'authorization_pending', 'the user has not yet approved the request');
    d.used = true;
    return strictTokens(ctx, info, client, 'device', { scopes: d.scopes, user: 'strict-device-user' });
  }
  throw oauthErr(400, 'unsupported_grant_type', `grant_type ${gt} is not supported`);
}

async function strictRevoke(ctx) {
  const info = strictInfo(ctx);
  const form = parseForm(ctx);
  const { client } = strictAuth(ctx, form, info);
  const t = S.tokens.get(form.token);
  if (t && t.family === info.family && t.client_id === client.client_id) t.revoked = true;
  return send(ctx.res, 200, '', { 'Cache-Control': 'no-store' });
}

for (const r of [
  ['strict.discovery', ['GET'], /^\/strict\/(?<tag>[^/]+)\/\.well-known\/openid-configuration$/, strictDiscovery, 'rfc'],
  ['strict.keys', ['GET'], /^\/strict\/(?<tag>[^/]+)\/keys$/, strictKeys, 'rfc'],
  ['strict.authorize', ['GET'], /^\/strict\/(?<tag>[^/]+)\/authorize$/, strictAuthorize, 'rfc'],
  ['strict.device', ['POST'], /^\/strict\/(?<tag>[^/]+)\/device$/, strictDevice, 'rfc'],
  ['strict.token', ['POST'], /^\/strict\/(?<tag>[^/]+)\/token$/, strictToken, 'rfc'],
  ['strict.revoke', ['POST'], /^\/strict\/(?<tag>[^/]+)\/revoke$/, strictRevoke, 'rfc'],
]) {
  ROUTES.push(r);
  ROUTE_NAMES.add(r[0]);
}

// ---------------------------------------------------------------- plain issuers (discovery only)

// `/plain/{tag}`: an issuer whose metadata names `generic.token` (client credentials with any
// generic client). Its Cache-Control comes from the tag: `max-age-N`, `no-store`, or none.
function plainDiscovery(ctx) {
  const { tag } = ctx.params;
  const words = tag.split('.');
  const maxAge = words.find((w) => /^max-age-\d+$/.test(w));
  const headers = {};
  if (maxAge) headers['Cache-Control'] = `max-age=${maxAge.slice('max-age-'.length)}`;
  if (words.includes('no-store')) headers['Cache-Control'] = 'no-store';
  return sendJson(ctx.res, 200, {
    issuer: `${BASE}/plain/${tag}`,
    token_endpoint: `${BASE}/generic/token`,
    response_types_supported: ['code'],
    grant_types_supported: ['client_credentials'],
  }, headers);
}

ROUTES.push(['plain.discovery', ['GET'], /^\/plain\/(?<tag>[^/]+)\/\.well-known\/openid-configuration$/, plainDiscovery, 'rfc']);
ROUTE_NAMES.add('plain.discovery');

// ---------------------------------------------------------------- startup

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`[provider] unhandled: ${e.stack || e}\n`);
    try { if (!res.headersSent) { res.writeHead(500); } res.end(); } catch { /* ignore */ }
  });
});
server.on('clientError', (err, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
  else socket.destroy();
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (OPTS.exitOnStdinClose) {
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

server.listen(OPTS.port, '127.0.0.1', () => {
  const { port } = server.address();
  BASE = `http://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ url: BASE })}\n`);
});
server.on('error', (e) => fatal(`listen failed: ${e.message}`));
