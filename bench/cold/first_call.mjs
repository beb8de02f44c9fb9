// First call on a new client, in one process: discovery + token request against the test
// provider's `plain` issuer, a fresh client object each iteration. bench/cold/cold.py runs
// this from bench/cold-local/node (where the peers are installed) and reads its last line.
//
// - tokenbroker: new Broker({memory store, issuer profile}).token('p') (the Node Broker has no
//   close(); it is dropped by the GC).
// - @azure/msal-node: a new ConfidentialClientApplication with protocolMode OIDC and the
//   authority `https://127.0.0.1:PORT/plain/TAG` (MSAL refuses http authorities); its
//   networkClient maps https://127.0.0.1:PORT onto the http provider, rewrites the discovery
//   document's URLs to match and adds the `authorization_endpoint` and `jwks_uri` MSAL
//   insists on (unused by client credentials); MSAL's discovery, issuer check and token
//   request run as usual.
// - openid-client: discovery() (allowInsecureRequests) + clientCredentialsGrant().
// - bare fetch: GET discovery, POST the token request (Basic).
// The fetch-based peers (openid-client, bare fetch, the msal shim) share Node's global
// connection pool across iterations; tokenbroker opens a new connection per broker.
import { createRequire } from 'node:module'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'

const require = createRequire(`${process.cwd()}/`)
const { ConfidentialClientApplication } = require('@azure/msal-node')
const oidc = await import(require.resolve('openid-client'))
const { Broker } = require('tokenbroker')

const PROVIDER = process.env.TB_TEST_PROVIDER.replace(/\/$/, '')
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 30)
const WARMUP = 3
const ISSUER = `${PROVIDER}/plain/max-age-3600.t${randomBytes(4).toString('hex')}`
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`

async function admin(path, body) {
  const res = await fetch(`${PROVIDER}/_admin/${path}`, body && {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return res.json()
}

const totalRequests = async () => Object.values((await admin('stats')).requests).reduce((a, b) => a + b, 0)

async function newClient(prefix) {
  const n = randomBytes(6).toString('hex')
  const c = { id: `${prefix}-${n}`, secret: `secret-${n}` }
  await admin('clients', { client_id: c.id, client_secret: c.secret })
  return c
}

function withTokenbroker(c) {
  const config = {
    cache: { store: 'memory' },
    profiles: {
      p: { provider: 'oidc', grant: 'client_credentials', issuer: ISSUER, client_id: c.id, client_secret: c.secret, scopes: ['read'] },
    },
  }
  return async () => {
    const broker = new Broker(config)
    return (await broker.token('p')).accessToken
  }
}

const FAKE = PROVIDER.replace('http://', 'https://')
const toReal = (url) => (url.startsWith(FAKE) ? PROVIDER + url.slice(FAKE.length) : url)
const msalNetwork = {
  async sendGetRequestAsync(url, options) {
    const res = await fetch(toReal(url), { headers: options?.headers })
    const body = JSON.parse((await res.text()).replaceAll(PROVIDER, FAKE))
    if (url.endsWith('/.well-known/openid-configuration')) {
      // MSAL requires these two even for client credentials; the plain issuer lists neither.
      body.authorization_endpoint ??= `${body.issuer}/authorize`
      body.jwks_uri ??= `${body.issuer}/keys`
    }
    return { status: res.status, headers: Object.fromEntries(res.headers), body }
  },
  async sendPostRequestAsync(url, options) {
    const res = await fetch(toReal(url), { method: 'POST', headers: options?.headers, body: options?.body })
    return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.json() }
  },
}

function withMsal(c) {
  return async () => {
    const app = new ConfidentialClientApplication({
      auth: {
        clientId: c.id,
        clientSecret: c.secret,
        authority: ISSUER.replace('http://', 'https://'),
        knownAuthorities: [new URL(PROVIDER).host],
      },
      system: { protocolMode: 'OIDC', networkClient: msalNetwork, loggerOptions: { loggerCallback: () => {}, piiLoggingEnabled: false } },
    })
    return (await app.acquireTokenByClientCredential({ scopes: ['read'] })).accessToken
  }
}

function withOpenidClient(c) {
  return async () => {
    const config = await oidc.discovery(new URL(ISSUER), c.id, c.secret, oidc.ClientSecretBasic(c.secret), {
      execute: [oidc.allowInsecureRequests],
    })
    return (await oidc.clientCredentialsGrant(config, { scope: 'read' })).access_token
  }
}

function withFetch(c) {
  const auth = `Basic ${Buffer.from(`${c.id}:${c.secret}`).toString('base64')}`
  return async () => {
    const meta = await (await fetch(DISCOVERY)).json()
    const res = await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read' }),
    })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    return (await res.json()).access_token
  }
}

async function measure(label, make) {
  const call = make(await newClient('first-node'))
  for (let i = 0; i < WARMUP; i++) if (!(await call())) throw new Error(`${label}: no token`)
  const before = await totalRequests()
  const times = []
  const cpu0 = process.cpuUsage()
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint()
    await call()
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  const cpu = process.cpuUsage(cpu0)
  const requests = (await totalRequests()) - before
  times.sort((a, b) => a - b)
  const median = RUNS % 2 ? times[RUNS >> 1] : (times[RUNS / 2 - 1] + times[RUNS / 2]) / 2
  return { label, median_ms: median, p90_ms: times[Math.min(RUNS - 1, Math.floor(RUNS * 0.9))], cpu_ms: (cpu.user + cpu.system) / 1000 / RUNS, requests, calls: RUNS }
}

const version = (name) => JSON.parse(readFileSync(`${process.cwd()}/node_modules/${name}/package.json`, 'utf8')).version
const rows = [
  await measure('tokenbroker: new Broker(memory store) + token()', withTokenbroker),
  await measure(`@azure/msal-node ${version('@azure/msal-node')}: new ConfidentialClientApplication (OIDC discovery) + acquireTokenByClientCredential`, withMsal),
  await measure(`openid-client ${version('openid-client')}: discovery() + clientCredentialsGrant()`, withOpenidClient),
  await measure('bare fetch: GET discovery + POST token', withFetch),
]
console.log(JSON.stringify(rows))
