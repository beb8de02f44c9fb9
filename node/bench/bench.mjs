// Benchmark: tokenbroker vs @azure/msal-node, openid-client and simple-oauth2 on one server.
//
//   cd node && npm run build:release && npm run bench
//
// Every library gets its own fresh client at the test provider (tests/provider/server.mjs,
// or TB_TEST_PROVIDER) and the same grant: client_credentials at POST /generic/token with
// scope `api://bench/.default`, client_secret_basic where the library supports it.
//
// How each peer is set up (all against the same token endpoint):
// - msal-node: ConfidentialClientApplication, authority `https://login.bench.invalid/tenant`
//   (MSAL refuses http authorities) with `knownAuthorities` and inline `authorityMetadata`
//   whose token_endpoint is the local provider, so no discovery request is made. Its own
//   in-memory token cache answers warm calls.
// - openid-client 6: a Configuration built from {issuer, token_endpoint} (no discovery),
//   allowInsecureRequests (http), clientCredentialsGrant. It has no cache: the bench adds
//   the trivial reuse an app would write (keep the last response, reuse it while more than
//   60 s are left; no single flight).
// - simple-oauth2 5: ClientCredentials.getToken with the same trivial reuse, using its
//   `expired(60)`.
// - bare fetch: a form POST with Basic credentials and `await res.json()`, no reuse.
import { once } from 'node:events'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { loadavg } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

import { ConfidentialClientApplication } from '@azure/msal-node'
import * as oidc from 'openid-client'
import { ClientCredentials } from 'simple-oauth2'

import { Broker } from '../dist/index.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = join(HERE, '../..')
const native = createRequire(import.meta.url)('../lib/native.js')
const SCOPE = 'api://bench/.default'
const WARM_SYNC = Number(process.env.BENCH_WARM_SYNC ?? 200_000)
const WARM_ASYNC = Number(process.env.BENCH_WARM_ASYNC ?? 100_000)
const WARM_MSAL = Number(process.env.BENCH_WARM_MSAL ?? 20_000)
const COLD = Number(process.env.BENCH_COLD ?? 200)
const HERD = 1000

async function startProvider() {
  if (process.env.TB_TEST_PROVIDER) return process.env.TB_TEST_PROVIDER
  const child = spawn(process.execPath, [join(REPO, 'tests/provider/server.mjs'), '--exit-on-stdin-close'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const [line] = await once(createInterface({ input: child.stdout }), 'line')
  child.stdout.destroy()
  child.stdin.unref()
  child.unref()
  return JSON.parse(line).url
}

const base = await startProvider()
const tokenUrl = `${base}/generic/token`

async function admin(path, body) {
  const res = await fetch(`${base}/_admin/${path}`, body && {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return res.json()
}

async function newClient(prefix) {
  const n = randomBytes(6).toString('hex')
  const c = { id: `${prefix}-${n}`, secret: `secret-${n}` }
  await admin('clients', { client_id: c.id, client_secret: c.secret })
  return c
}

const requests = async (c) => (await admin('stats')).by_client[c.id] ?? 0

// ------------------------------------------------------------------ the libraries

function tokenbroker(c) {
  const broker = new Broker({
    cache: { store: 'memory' },
    profiles: {
      b: { provider: 'oidc', token_url: tokenUrl, client_id: c.id, client_secret: c.secret, scopes: [SCOPE] },
    },
  })
  return { broker, get: () => broker.token('b'), fresh: () => broker.token('b', { forceRefresh: true }) }
}

function msal(c) {
  const host = 'login.bench.invalid'
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: c.id,
      clientSecret: c.secret,
      authority: `https://${host}/tenant`,
      knownAuthorities: [host],
      authorityMetadata: JSON.stringify({
        issuer: `https://${host}/tenant`,
        token_endpoint: tokenUrl,
        authorization_endpoint: `https://${host}/tenant/authorize`,
        end_session_endpoint: `https://${host}/tenant/logout`,
        jwks_uri: `https://${host}/tenant/keys`,
      }),
      cloudDiscoveryMetadata: JSON.stringify({
        tenant_discovery_endpoint: `https://${host}/tenant/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      }),
    },
    system: { loggerOptions: { loggerCallback: () => {}, piiLoggingEnabled: false } },
  })
  return {
    get: () => app.acquireTokenByClientCredential({ scopes: [SCOPE] }),
    fresh: () => app.acquireTokenByClientCredential({ scopes: [SCOPE], skipCache: true }),
  }
}

function openidClient(c) {
  const config = new oidc.Configuration({ issuer: base, token_endpoint: tokenUrl }, c.id, c.secret)
  oidc.allowInsecureRequests(config)
  let last = null
  const fresh = async () => {
    const r = await oidc.clientCredentialsGrant(config, { scope: SCOPE })
    last = { r, expiresAt: Date.now() + r.expiresIn() * 1000 }
    return r
  }
  return { get: async () => (last && last.expiresAt - Date.now() > 60_000 ? last.r : fresh()), fresh }
}

function simpleOauth2(c) {
  const client = new ClientCredentials({
    client: { id: c.id, secret: c.secret },
    auth: { tokenHost: base, tokenPath: '/generic/token' },
  })
  let last = null
  const fresh = async () => (last = await client.getToken({ scope: SCOPE }))
  return { get: async () => (last && !last.expired(60) ? last : fresh()), fresh }
}

function bareFetch(c) {
  const auth = `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`
  const fresh = async () => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: SCOPE }),
    })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    return res.json()
  }
  return { get: fresh, fresh }
}

// ------------------------------------------------------------------ measurements

// Wall time per call, and CPU time per call (user + system, all threads of this process):
// on a loaded machine the wall time grows with the time spent waiting for a core, the CPU
// time much less.
const cpuNs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) * 1000
}

async function perCallAsync(fn, n) {
  for (let i = 0; i < Math.min(1000, n); i++) await fn()
  const [t0, c0] = [process.hrtime.bigint(), cpuNs()]
  for (let i = 0; i < n; i++) await fn()
  return { wall: Number(process.hrtime.bigint() - t0) / n, cpu: (cpuNs() - c0) / n }
}

function perCallSync(fn, n) {
  for (let i = 0; i < 1000; i++) fn()
  const [t0, c0] = [process.hrtime.bigint(), cpuNs()]
  for (let i = 0; i < n; i++) fn()
  return { wall: Number(process.hrtime.bigint() - t0) / n, cpu: (cpuNs() - c0) / n }
}

async function cold(fn, n) {
  await fn()
  const times = []
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await fn()
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  times.sort((a, b) => a - b)
  return { mean: times.reduce((a, b) => a + b, 0) / n, p50: times[n >> 1], p99: times[Math.floor(n * 0.99)] }
}

async function herd(make, prefix) {
  const c = await newClient(prefix)
  const lib = make(c)
  const results = await Promise.allSettled(Array.from({ length: HERD }, () => lib.get()))
  const failed = results.filter((r) => r.status === 'rejected').length
  return { requests: await requests(c), failed }
}

const libs = [
  ['tokenbroker', tokenbroker],
  ['@azure/msal-node', msal],
  ['openid-client + trivial reuse', openidClient],
  ['simple-oauth2 + trivial reuse', simpleOauth2],
  ['bare fetch (no reuse)', bareFetch],
]

const fmtNs = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`)
const fmtCall = (t) => `${fmtNs(t.wall)} (cpu ${fmtNs(t.cpu)})`
const rows = []
for (const [name, make] of libs) {
  const c = await newClient(name.replace(/\W+/g, '-'))
  const lib = make(c)
  const row = { name }
  if (name !== 'bare fetch (no reuse)') {
    await lib.get()
    row.warm = await perCallAsync(lib.get, name === '@azure/msal-node' ? WARM_MSAL : WARM_ASYNC)
  }
  if (lib.broker) {
    row.cached = perCallSync(() => lib.broker.cachedToken('b'), WARM_SYNC)
    // The same warm call without the JS-side synchronous check first (native async path).
    const nb = new native.NativeBroker({
      cache: { store: 'memory' },
      profiles: { b: { provider: 'oidc', token_url: tokenUrl, client_id: c.id, client_secret: c.secret, scopes: [SCOPE] } },
    })
    await nb.token('b')
    row.warmNativeAsync = await perCallAsync(() => nb.token('b'), WARM_ASYNC / 4)
  }
  row.cold = await cold(lib.fresh, COLD)
  row.herd = await herd(make, `herd-${name.replace(/\W+/g, '-')}`)
  rows.push(row)
  process.stderr.write(`${name}: done\n`)
}

console.log(`\nNode ${process.version}, ${process.platform}/${process.arch}; provider ${base}; warm: sequential awaited calls after the first, wall time (and CPU time) per call; load average ${loadavg().map((l) => l.toFixed(2)).join(', ')}; cold: ${COLD} sequential forced token requests; herd: ${HERD} concurrent calls on a cold cache.\n`)
console.log('| library | warm `await token()` per call | warm sync `cachedToken()` | cold fetch mean / p50 / p99 | herd: provider requests (failed calls) |')
console.log('|---|---|---|---|---|')
for (const r of rows) {
  const warm = r.warm === undefined ? '–' : fmtCall(r.warm) + (r.warmNativeAsync ? ` (native async path: ${fmtNs(r.warmNativeAsync.wall)})` : '')
  const cached = r.cached === undefined ? '–' : fmtCall(r.cached)
  const c = `${r.cold.mean.toFixed(2)} / ${r.cold.p50.toFixed(2)} / ${r.cold.p99.toFixed(2)} ms`
  console.log(`| ${r.name} | ${warm} | ${cached} | ${c} | ${r.herd.requests} (${r.herd.failed}) |`)
}
