#!/usr/bin/env node
// Conformance peer for tokenbroker: panva's oidc-provider on 127.0.0.1.
//
//   node tests/oidc/server.mjs [--port N] [--keys-dir DIR] [--tls] [--exit-on-stdin-close] [--verbose]
//
// Prints exactly one line on stdout once listening:
//   {"issuer":"http://127.0.0.1:PORT","keys_dir":"/tmp/..."}
// With --tls it serves HTTPS with a certificate for 127.0.0.1 issued by a test CA made in
// keys_dir; the issuer is https://127.0.0.1:PORT and the line adds "ca_file" (the CA's PEM).
// Environment: OIDC_AT_TTL (access token seconds, default 300),
//              OIDC_DEVICE_INTERVAL (device flow poll interval, default 1).
// See README.md beside this file.

import http from 'node:http';
import https from 'node:https';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { execFileSync } from 'node:child_process';

// ------------------------------------------------------------------ arguments

function fatal(msg) {
  process.stderr.write(`oidc: ${msg}\n`);
  process.exit(2);
}

const opts = { port: 0, keysDir: null, tls: false, exitOnStdinClose: false, verbose: false };
{
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : fatal(`missing value for ${a}`));
    if (a === '--port') opts.port = Number(next());
    else if (a === '--keys-dir') opts.keysDir = next();
    else if (a === '--tls') opts.tls = true;
    else if (a === '--exit-on-stdin-close') opts.exitOnStdinClose = true;
    else if (a === '--verbose' || a === '-v') opts.verbose = true;
    else if (a === '--help' || a === '-h') {
      process.stderr.write('usage: node server.mjs [--port N] [--keys-dir DIR] [--tls] [--exit-on-stdin-close] [--verbose]\n');
      process.exit(0);
    } else fatal(`unknown argument: ${a}`);
  }
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) fatal('bad --port');
}

// oidc-provider prints notices with console.info (stdout). Our stdout carries exactly one
// JSON line, so route all console output to stderr, and keep it quiet unless --verbose.
for (const m of ['log', 'info', 'warn', 'debug']) {
  console[m] = (...a) => { if (opts.verbose) process.stderr.write(`${util.format(...a)}\n`); };
}
console.error = (...a) => process.stderr.write(`${util.format(...a)}\n`);

const envNum = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) fatal(`${name} must be a positive number`);
  return Math.floor(n);
};
const AT_TTL = envNum('OIDC_AT_TTL', 300);
const DEVICE_INTERVAL = envNum('OIDC_DEVICE_INTERVAL', 1);

// ------------------------------------------------------------------ keys for oidc-jwt

const keysDir = opts.keysDir ? path.resolve(opts.keysDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'tb-oidc-keys-'));
fs.mkdirSync(keysDir, { recursive: true });
const keyPath = path.join(keysDir, 'client-key.pem');
const certPath = path.join(keysDir, 'client-cert.pem');

if (!fs.existsSync(keyPath) || !fs.existsSync(certPath)) {
  // RSA-2048 key (PKCS#8 PEM) + self-signed X.509 certificate, made with openssl.
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
      '-subj', '/CN=oidc-jwt',
      '-keyout', keyPath, '-out', certPath,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    fatal(`openssl failed to create the oidc-jwt key/certificate: ${e.stderr?.toString() || e.message}`);
  }
  fs.chmodSync(keyPath, 0o600);
}

const clientPublicJwk = (() => {
  const cert = new crypto.X509Certificate(fs.readFileSync(certPath));
  const jwk = cert.publicKey.export({ format: 'jwk' });
  const kid = crypto.createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n })).digest('base64url');
  return {
    ...jwk, kid, use: 'sig', alg: 'RS256',
    x5c: [cert.raw.toString('base64')],
    'x5t#S256': crypto.createHash('sha256').update(cert.raw).digest('base64url'),
  };
})();

// Provider's own signing key (ID tokens), generated per start.
const providerSigningJwk = (() => {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: crypto.randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
})();

// ------------------------------------------------------------------ configuration

const { default: Provider, errors } = await import('oidc-provider');

const API_RESOURCE = 'urn:tokenbroker:api';
const API_SCOPES = 'api:read api:write';
const ALL_SCOPES = `openid offline_access ${API_SCOPES}`;
const LOOPBACK_CALLBACK = 'http://127.0.0.1/callback';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const clients = [
  {
    client_id: 'oidc-basic',
    client_secret: 'oidc-basic-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials', 'refresh_token', DEVICE_GRANT],
    response_types: [],
    redirect_uris: [],
    scope: ALL_SCOPES,
  },
  {
    client_id: 'oidc-post',
    client_secret: 'oidc-post-secret',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['client_credentials', 'refresh_token', DEVICE_GRANT],
    response_types: [],
    redirect_uris: [],
    scope: ALL_SCOPES,
  },
  {
    client_id: 'oidc-jwt',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'RS256',
    jwks: { keys: [clientPublicJwk] },
    application_type: 'native',
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    redirect_uris: [LOOPBACK_CALLBACK],
    scope: ALL_SCOPES,
  },
  {
    // Confidential client driving authorization_code. application_type native makes
    // oidc-provider accept http://127.0.0.1:<any port>/callback (RFC 8252 §7.3).
    client_id: 'oidc-web',
    client_secret: 'oidc-web-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [LOOPBACK_CALLBACK],
    scope: ALL_SCOPES,
  },
  {
    client_id: 'oidc-public',
    token_endpoint_auth_method: 'none',
    application_type: 'native',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT],
    response_types: ['code'],
    redirect_uris: [LOOPBACK_CALLBACK],
    scope: ALL_SCOPES,
  },
];

function configuration() {
  return {
    clients,
    jwks: { keys: [providerSigningJwk] },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    scopes: ALL_SCOPES.split(' '),
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@tokenbroker.test`, email_verified: true }),
    }),
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      registration: { enabled: true, initialAccessToken: false },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Without a resource, client_credentials would drop the non-OIDC scopes; default to our API.
        defaultResource: async () => API_RESOURCE,
        // Auth-code/refresh/device tokens also go to the granted API resource (not to userinfo).
        useGrantedResource: async () => true,
        // Any absolute URI is accepted as a resource; tokens stay opaque.
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (!resourceIndicator) throw new errors.InvalidTarget();
          return { scope: API_SCOPES, audience: resourceIndicator, accessTokenTTL: AT_TTL, accessTokenFormat: 'opaque' };
        },
      },
    },
    // PKCE (S256 only in oidc-provider 9) required for public clients.
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    // Every refresh rotates; reusing the old refresh token is invalid_grant.
    rotateRefreshToken: true,
    // oidc-provider drops offline_access from an authorization request unless it also carries
    // prompt=consent (OIDC Core §11). Issue refresh tokens to every client allowed the
    // refresh_token grant instead, with or without offline_access, and don't tie them to the session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: AT_TTL,
      ClientCredentials: AT_TTL,
      AuthorizationCode: 120,
      DeviceCode: 600,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Interaction: 3600,
      Session: 24 * 3600,
    },
  };
}

// ------------------------------------------------------------------ server

// --tls: a test CA (EC P-256) and a server certificate for 127.0.0.1 it issued, made with
// openssl in keys_dir and reused if already there.
function tlsFiles() {
  const f = (name) => path.join(keysDir, name);
  const files = { ca: f('tls-ca.pem'), key: f('tls-server-key.pem'), cert: f('tls-server-cert.pem') };
  if (fs.existsSync(files.ca) && fs.existsSync(files.key) && fs.existsSync(files.cert)) return files;
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '30'];
  const run = (args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    run(['req', '-x509', ...ec, '-subj', '/CN=tokenbroker test CA', '-keyout', f('tls-ca-key.pem'), '-out', files.ca,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    run(['req', '-x509', ...ec, '-subj', '/CN=127.0.0.1', '-CA', files.ca, '-CAkey', f('tls-ca-key.pem'),
      '-keyout', files.key, '-out', files.cert, '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth']);
  } catch (e) {
    fatal(`openssl failed to create the TLS certificates: ${e.stderr?.toString() || e.message}`);
  }
  return files;
}
const tls = opts.tls ? tlsFiles() : null;

let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = tls
  ? https.createServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) }, (req, res) => handler(req, res))
  : http.createServer((req, res) => handler(req, res));

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(opts.port, '127.0.0.1', resolve);
});
const issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, configuration());

// oidc-provider's device authorization response carries no `interval` (clients then default
// to 5 s); add one so tests poll quickly.
provider.use(async (ctx, next) => {
  await next();
  if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body.interval = DEVICE_INTERVAL;
  }
});

if (opts.verbose) {
  provider.use(async (ctx, next) => {
    await next();
    process.stderr.write(`[oidc] ${ctx.method} ${ctx.path} -> ${ctx.status}\n`);
  });
  for (const ev of ['grant.error', 'server_error', 'authorization.error', 'introspection.error', 'registration_create.error']) {
    provider.on(ev, (_ctx, err) => process.stderr.write(`[oidc] ${ev}: ${err.message} ${err.error_description || ''}\n`));
  }
}

handler = provider.callback();

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (opts.exitOnStdinClose) {
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

process.stdout.write(`${JSON.stringify({ issuer, keys_dir: keysDir, ...(tls ? { ca_file: tls.ca } : {}) })}\n`);
