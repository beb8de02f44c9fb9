// Test servers and small helpers shared by the test files.
//
// The provider (tests/provider/server.mjs) and oidc-provider (tests/oidc/server.mjs) run as
// children with --exit-on-stdin-close; their pipes are unref'd, so a test process exits when
// its tests are done and the servers follow. TB_TEST_PROVIDER / TB_TEST_ISSUER reuse servers
// that are already running (tests/harness/up.mjs sets them).
import { spawn, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const NODE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO = resolve(NODE_DIR, '..')

function startServer(script, field) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(REPO, script), '--exit-on-stdin-close'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    child.on('error', reject)
    const lines = createInterface({ input: child.stdout })
    lines.once('line', (line) => {
      lines.close()
      child.stdout.destroy()
      child.stdin.unref?.()
      child.unref()
      try {
        resolvePromise(JSON.parse(line)[field])
      } catch (e) {
        reject(new Error(`${script} printed ${line}: ${e}`))
      }
    })
  })
}

let providerUrl
/** Base URL of the test provider. */
export async function provider() {
  providerUrl ??= process.env.TB_TEST_PROVIDER || startServer('tests/provider/server.mjs', 'url')
  return providerUrl
}

let issuerUrl
/** Issuer URL of oidc-provider (installs tests/oidc's packages if they are missing). */
export async function issuer() {
  if (!issuerUrl) {
    if (process.env.TB_TEST_ISSUER) {
      issuerUrl = process.env.TB_TEST_ISSUER
    } else {
      const dir = join(REPO, 'tests/oidc')
      if (!existsSync(join(dir, 'node_modules'))) {
        execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' })
      }
      issuerUrl = startServer('tests/oidc/server.mjs', 'issuer')
    }
  }
  return issuerUrl
}

/** Calls the provider's admin API: GET without a body, POST with one. */
export async function admin(path, body) {
  const url = `${await provider()}/_admin/${path}`
  const res = await fetch(url, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`admin ${path}: HTTP ${res.status}`)
  const text = await res.text()
  return text ? JSON.parse(text) : null
}

/** A fresh confidential client, so that request counts are this test's own. */
export async function newClient(prefix) {
  const n = randomBytes(6).toString('hex')
  const client = { id: `${prefix}-${n}`, secret: `secret-${n}-${n}` }
  await admin('clients', { client_id: client.id, client_secret: client.secret })
  return client
}

/** Tokens the provider issued to `clientId`. */
export async function clientRequests(clientId) {
  return (await admin('stats')).by_client[clientId] ?? 0
}

/** The requests logged for `route`, newest last. */
export async function logged(route) {
  return admin(`requests?route=${encodeURIComponent(route)}`)
}

/** A private scratch directory. */
export function tempDir() {
  return mkdtempSync(join(tmpdir(), 'tb-node-'))
}

/** A memory-cache config with one profile. */
export function memoryConfig(name, profile) {
  return { cache: { store: 'memory' }, profiles: { [name]: profile } }
}

/** An Alvys profile for a fresh client (the simplest client_credentials preset). */
export async function alvysProfile(base, client, tenant = 't1') {
  return {
    provider: 'alvys',
    tenant,
    client_id: client.id,
    client_secret: client.secret,
    token_url: `${base}/api/authentication/${tenant}/token`,
  }
}

/**
 * Signs in once at the provider's Azure AD v1 endpoints (query response mode) and returns
 * the refresh token, as seed 004's one-time consent step would.
 */
export async function azureRefreshToken(base, client) {
  const redirect = 'http://127.0.0.1:9/callback'
  const resource = 'https://api.partnercenter.microsoft.com'
  const authorize = new URL(`${base}/contoso/oauth2/authorize`)
  for (const [k, v] of Object.entries({
    client_id: client.id,
    redirect_uri: redirect,
    response_type: 'code',
    response_mode: 'query',
    resource,
    state: 's',
  })) authorize.searchParams.set(k, v)
  const res = await fetch(authorize, { redirect: 'manual' })
  const location = res.headers.get('location')
  if (!location) throw new Error(`authorize answered ${res.status} without a redirect`)
  const code = new URL(location).searchParams.get('code')
  const token = await fetch(`${base}/contoso/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirect,
      resource,
      client_id: client.id,
      client_secret: client.secret,
    }),
  })
  const body = await token.json()
  if (!body.refresh_token) throw new Error(`no refresh_token in ${JSON.stringify(body)}`)
  return body.refresh_token
}

/** Runs a node script in a child process; resolves with its exit code, signal, output and time. */
export function runNode(args, { env, timeoutMs = 30_000, input } = {}) {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, args, {
      cwd: NODE_DIR,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
    child.stdin.end(input ?? '')
  })
}
