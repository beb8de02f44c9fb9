#!/usr/bin/env node
// Reference runner for tests/scenarios.json: a tiny stand-in "broker" written in plain JS that
// shows how a language runner drives the scenarios (reset, steps, stats, expectations), and
// checks that the scenarios and the test servers agree with each other. It is NOT tokenbroker.
//
//   node tests/harness/up.mjs -- node tests/harness/reference_runner.mjs [scenario-id-prefix...]
//
// Needs TB_TEST_PROVIDER, TB_TEST_ISSUER, TB_TEST_KEYS (set by up.mjs). Prints one line per
// scenario and closes with "N passed, N failed".

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ENV = { PROVIDER: process.env.TB_TEST_PROVIDER, ISSUER: process.env.TB_TEST_ISSUER, KEYS: process.env.TB_TEST_KEYS };
for (const [k, v] of Object.entries(ENV)) if (!v) { console.error(`reference_runner: TB_TEST_${k} is not set (run under tests/harness/up.mjs)`); process.exit(2); }

const MAX_BODY = 1024 * 1024; // responses above 1 MiB are refused
const MAX_ATTEMPTS = 3; // 429/503 are retried, honouring Retry-After
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class BrokerError extends Error {
  constructor(kind, message, oauthError) { super(message); this.kind = kind; this.oauthError = oauthError; }
}

function expand(v) {
  if (typeof v === 'string') return v.replace(/\$\{(PROVIDER|ISSUER|KEYS)\}/g, (_, k) => ENV[k]);
  if (Array.isArray(v)) return v.map(expand);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]));
  return v;
}

async function readLimited(res) {
  const chunks = [];
  let n = 0;
  for await (const c of res.body ?? []) {
    n += c.length;
    if (n > MAX_BODY) throw new BrokerError('invalid_response', `response body exceeds ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function retryDelayMs(h) {
  if (!h) return 1000;
  if (/^\d+$/.test(h)) return Number(h) * 1000;
  const t = Date.parse(h);
  return Number.isNaN(t) ? 1000 : Math.max(0, t - Date.now());
}

// tokenbroker profiles take PEM text inline or as "file:PATH"
const pem = (v) => (v.startsWith('file:') ? fs.readFileSync(v.slice(5), 'utf8') : v);

function assertion(profile, aud) {
  const key = crypto.createPrivateKey(pem(profile.private_key));
  const cert = profile.certificate ? new crypto.X509Certificate(pem(profile.certificate)) : null;
  const header = { alg: 'RS256', typ: 'JWT' };
  if (cert) header.x5t = crypto.createHash('sha1').update(cert.raw).digest('base64url');
  const t = Math.floor(Date.now() / 1000);
  const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b(header)}.${b({ iss: profile.client_id, sub: profile.client_id, aud, iat: t, nbf: t, exp: t + 120, jti: crypto.randomUUID() })}`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

class MiniBroker {
  constructor(profile) {
    this.p = profile;
    this.cache = null;
    const kind = profile.provider;
    if (kind === 'alliance' && profile.enrollment !== undefined && !GUID_RE.test(profile.enrollment)) {
      this.configError = 'enrollment must be a GUID';
    }
    if (kind === 'azure-ad-v1' && !profile.resource) this.configError = 'azure-ad-v1 needs resource';
  }

  async tokenUrl() {
    if (this.p.token_url) return this.p.token_url;
    if (this.p.provider === 'oidc') {
      let res;
      try { res = await fetch(`${this.p.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`); } catch (e) { throw new BrokerError('transport', e.message); }
      const doc = JSON.parse(await readLimited(res));
      if (doc.issuer !== this.p.issuer) throw new BrokerError('invalid_response', 'issuer mismatch in discovery');
      return doc.token_endpoint;
    }
    throw new BrokerError('config', 'token_url required');
  }

  async request() {
    const p = this.p;
    const url = await this.tokenUrl();
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const method = p.auth_method || ({ alvaria: 'client_secret_basic', oidc: 'client_secret_basic' }[p.provider] ?? 'client_secret_post');
    if (method === 'client_secret_basic') {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(p.client_id)}:${encodeURIComponent(p.client_secret)}`).toString('base64')}`;
    } else if (method === 'client_secret_post') {
      form.set('client_id', p.client_id);
      form.set('client_secret', p.client_secret);
    } else if (method === 'private_key_jwt') {
      form.set('client_id', p.client_id);
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', assertion(p, url));
    }
    const scopes = p.scopes || [];
    if (p.provider === 'alliance') form.set('requested_scopes', scopes.length ? scopes.join(',') : 'default');
    else if (scopes.length) form.set('scope', scopes.join(' '));
    if (p.provider === 'alliance' && p.enrollment) form.set('requested_enrollment', p.enrollment);
    if (p.resource) form.set('resource', p.resource);

    for (let attempt = 1; ; attempt++) {
      let res;
      try {
        res = await fetch(url, { method: 'POST', headers, body: form.toString(), signal: AbortSignal.timeout(10_000) });
      } catch (e) {
        if (e.name === 'TimeoutError') throw new BrokerError('timeout', e.message);
        throw new BrokerError('transport', e.cause?.code || e.message);
      }
      if ((res.status === 429 || res.status === 503) && attempt < MAX_ATTEMPTS) {
        await res.arrayBuffer().catch(() => {});
        await new Promise((r) => setTimeout(r, Math.min(retryDelayMs(res.headers.get('retry-after')), 5000)));
        continue;
      }
      let text;
      try { text = await readLimited(res); } catch (e) {
        if (e instanceof BrokerError) throw e;
        throw new BrokerError('transport', e.message);
      }
      let body;
      try { body = JSON.parse(text); } catch { throw new BrokerError('invalid_response', `HTTP ${res.status}, body is not JSON`); }
      if (!res.ok) {
        if (body && typeof body.error === 'string') throw new BrokerError('oauth', body.error_description || body.error, body.error);
        throw new BrokerError('invalid_response', `HTTP ${res.status} without an OAuth error`);
      }
      if (!body || typeof body.access_token !== 'string' || typeof body.token_type !== 'string') throw new BrokerError('invalid_response', 'missing access_token/token_type');
      const exp = Number(body.expires_in); // numbers or (Azure v1) strings
      return { access_token: body.access_token, token_type: body.token_type, expires_in: Number.isFinite(exp) ? exp : 3600, expires_at: Date.now() / 1000 + (Number.isFinite(exp) ? exp : 3600) };
    }
  }

  async token({ force_refresh: force = false } = {}) {
    if (this.configError) throw new BrokerError('config', this.configError);
    if (!force && this.cache && this.cache.expires_at - 30 > Date.now() / 1000) return this.cache;
    this.cache = await this.request();
    return this.cache;
  }
}

async function admin(pathname, body) {
  const res = await fetch(`${ENV.PROVIDER}${pathname}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`admin ${pathname}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

async function runScenario(sc) {
  const profile = expand(sc.profile);
  if (sc.server === 'provider') await admin('/_admin/reset', {});
  const broker = new MiniBroker(profile);
  const tokens = [];
  let lastError = null;
  for (const step of sc.steps) {
    if (step.fault) await admin('/_admin/faults', step.fault);
    else if (step.admin_config) await admin('/_admin/config', step.admin_config);
    else if (step.token) {
      try {
        tokens.push(await broker.token(step.token));
        lastError = null;
      } catch (e) {
        if (!(e instanceof BrokerError)) throw e;
        lastError = e;
      }
    } else throw new Error(`unknown step ${JSON.stringify(step)}`);
  }
  const ex = sc.expect || {};
  const problems = [];
  if (ex.error_kind) {
    if (!lastError) problems.push(`expected ${ex.error_kind} error, got a token`);
    else if (lastError.kind !== ex.error_kind) problems.push(`expected error_kind ${ex.error_kind}, got ${lastError.kind} (${lastError.message})`);
    if (ex.oauth_error && lastError?.oauthError !== ex.oauth_error) problems.push(`expected oauth_error ${ex.oauth_error}, got ${lastError?.oauthError}`);
  } else if (lastError) {
    problems.push(`unexpected ${lastError.kind} error: ${lastError.message}`);
  }
  const last = tokens[tokens.length - 1];
  if (ex.token_type && last?.token_type !== ex.token_type) problems.push(`token_type ${last?.token_type} != ${ex.token_type}`);
  if (ex.expires_in_approx !== undefined && !(last && Math.abs(last.expires_in - ex.expires_in_approx) <= 60)) problems.push(`expires_in ${last?.expires_in} not within 60s of ${ex.expires_in_approx}`);
  if (ex.same_token !== undefined && tokens.length >= 2) {
    const same = tokens[0].access_token === tokens[tokens.length - 1].access_token;
    if (same !== ex.same_token) problems.push(`same_token ${same} != ${ex.same_token}`);
  }
  if (ex.provider_requests) {
    const stats = await admin('/_admin/stats');
    for (const [route, n] of Object.entries(ex.provider_requests)) {
      const got = stats.requests[route] || 0;
      if (got !== n) problems.push(`provider_requests[${route}] = ${got}, expected ${n}`);
    }
  }
  return problems;
}

const filters = process.argv.slice(2);
const scenarios = JSON.parse(fs.readFileSync(path.join(HERE, '..', 'scenarios.json'), 'utf8'))
  .filter((s) => !filters.length || filters.some((f) => s.id.startsWith(f)));
let passed = 0;
let failed = 0;
for (const sc of scenarios) {
  let problems;
  try { problems = await runScenario(sc); } catch (e) { problems = [`runner error: ${e.stack || e}`]; }
  if (problems.length) { failed++; console.log(`FAIL ${sc.id}: ${problems.join('; ')}`); } else { passed++; console.log(`ok   ${sc.id}`); }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
