// Every error kind arrives as a TokenBrokerError with a stable code; no secret in any output.
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'
import { inspect } from 'node:util'

import { Broker, TokenBrokerError, ErrorCode } from 'tokenbroker'
import { admin, alvysProfile, issuer, memoryConfig, newClient, provider, tempDir } from './helpers.mjs'

const SECRET = 'wrong-secret-value-123'

function assertNoSecret(err, ...secrets) {
  const text = [err.message, err.stack, inspect(err, { depth: 5 }), JSON.stringify(err), String(err)].join('\n')
  for (const s of secrets) assert.ok(!text.includes(s), `secret in error output: ${text}`)
}

async function rejectsWith(promise, code) {
  const err = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e) => e,
  )
  assert.ok(err instanceof TokenBrokerError, `not a TokenBrokerError: ${inspect(err)}`)
  assert.ok(err instanceof Error)
  assert.equal(err.code, code, err.message)
  assert.equal(err.name, 'TokenBrokerError')
  return err
}

test('every core error kind has its code, in JavaScript and in the typings', () => {
  const native = createRequire(import.meta.url)('../lib/native.js')
  const kinds = native.errorKinds()
  assert.ok(kinds.length > 0)
  assert.deepEqual(Object.keys(ErrorCode), kinds)
  const typings = readFileSync(new URL('../lib/index.d.ts', import.meta.url), 'utf8')
  for (const kind of kinds) {
    assert.ok(typings.includes(`| '${kind}'`), `ErrorKind in index.d.ts lacks '${kind}'`)
    assert.ok(typings.includes(`| '${ErrorCode[kind]}'`), `index.d.ts lacks '${ErrorCode[kind]}'`)
  }
})

test('codes are stable and one per kind', () => {
  assert.deepEqual(Object.values(ErrorCode), [
    'ERR_TOKENBROKER_CONFIG',
    'ERR_TOKENBROKER_TRANSPORT',
    'ERR_TOKENBROKER_TIMEOUT',
    'ERR_TOKENBROKER_OAUTH',
    'ERR_TOKENBROKER_INVALID_RESPONSE',
    'ERR_TOKENBROKER_CACHE',
    'ERR_TOKENBROKER_REGISTRATION',
    'ERR_TOKENBROKER_INTERACTION',
    'ERR_TOKENBROKER_RATE_LIMITED',
  ])
})

test('config: a bad section throws synchronously, a bad profile fails when used, unknown profile rejects and is counted', async () => {
  const broken = new Broker({ profiles: { a: { provider: 'nope', client_id: 'x' } } })
  const check = (e) => {
    assert.ok(e instanceof TokenBrokerError)
    assert.equal(e.code, 'ERR_TOKENBROKER_CONFIG')
    assert.equal(e.kind, 'config')
    assert.match(e.message, /unknown provider 'nope'/)
    return true
  }
  await assert.rejects(broken.token('a'), check)
  assert.throws(() => broken.cachedToken('a'), check)
  assert.throws(() => new Broker({ cache: { store: 'floppy' } }), { code: 'ERR_TOKENBROKER_CONFIG' })
  assert.throws(() => new Broker({ profiles: {}, extra: 1 }), { code: 'ERR_TOKENBROKER_CONFIG' })
  assert.throws(() => Broker.fromConfig('/nonexistent/tokenbroker.toml'), { code: 'ERR_TOKENBROKER_CONFIG' })

  const broker = new Broker(memoryConfig('a', { provider: 'alvys', tenant: 't', client_id: 'x', client_secret: 'y' }))
  const err = await rejectsWith(broker.token('nope'), 'ERR_TOKENBROKER_CONFIG')
  assert.match(err.message, /known: a/)
  assert.equal(broker.stats().errors, 1)
  assert.throws(() => broker.cachedToken('nope'), { code: 'ERR_TOKENBROKER_CONFIG' })
  await rejectsWith(broker.token('a', { minTtl: -1 }), 'ERR_TOKENBROKER_CONFIG')
})

test('oauth: a refused secret carries oauthError, description and status, never the secret', async () => {
  const base = await provider()
  const client = await newClient('bad')
  const broker = new Broker(memoryConfig('p', {
    provider: 'alliance',
    client_id: client.id,
    client_secret: SECRET,
    token_url: `${base}/API/v2/OAuth/token`,
  }))
  const err = await rejectsWith(broker.token('p'), 'ERR_TOKENBROKER_OAUTH')
  assert.equal(err.kind, 'oauth')
  assert.equal(err.oauthError, 'invalid_client')
  assert.equal(err.status, 401)
  assert.equal(typeof err.description, 'string')
  assert.deepEqual(err.providerCodes, [])
  assertNoSecret(err, SECRET)
})

test('oauth: Azure error codes are kept', async () => {
  const base = await provider()
  const client = await newClient('aad')
  const broker = new Broker(memoryConfig('pc', {
    provider: 'azure-ad-v1',
    tenant: 'contoso',
    resource: 'https://api.partnercenter.microsoft.com',
    grant: 'client_credentials',
    client_id: client.id,
    client_secret: 'not-the-client-secret-456',
    token_url: `${base}/contoso/oauth2/token`,
  }))
  const err = await rejectsWith(broker.token('pc'), 'ERR_TOKENBROKER_OAUTH')
  assert.equal(err.oauthError, 'invalid_client')
  assert.ok(err.providerCodes.length > 0, inspect(err))
  assertNoSecret(err, 'not-the-client-secret-456', client.secret)
})

test('transport: nothing listens at the token URL', async () => {
  const broker = new Broker({
    cache: { store: 'memory' },
    http: { max_retries: 0, connect_timeout: 2 },
    profiles: { p: { provider: 'alvys', tenant: 't', client_id: 'x', client_secret: SECRET, token_url: 'http://127.0.0.1:1/token' } },
  })
  const err = await rejectsWith(broker.token('p'), 'ERR_TOKENBROKER_TRANSPORT')
  assert.equal(err.kind, 'transport')
  assertNoSecret(err, SECRET)
})

test('timeout: the provider answers too late', async () => {
  const base = await provider()
  const client = await newClient('slow')
  const broker = new Broker({
    cache: { store: 'memory' },
    http: { max_retries: 0, timeout: 0.3 },
    profiles: { p: await alvysProfile(base, client, 'slow-tenant') },
  })
  await admin('faults', { route: 'alvys.token', kind: 'delay', delay_ms: 1500, count: 1 })
  const err = await rejectsWith(broker.token('p'), 'ERR_TOKENBROKER_TIMEOUT')
  assert.equal(err.kind, 'timeout')
  assertNoSecret(err, client.secret)
})

test('rate_limited: a Retry-After beyond the deadline carries retryAfter and is not retried', async () => {
  const base = await provider()
  const client = await newClient('limited')
  const broker = new Broker({
    cache: { store: 'memory' },
    http: { deadline: 10 },
    profiles: { p: await alvysProfile(base, client, 'limited') },
  })
  await admin('faults', { route: 'alvys.token', kind: 'status', status: 429, retry_after: '120', count: 1 })
  const err = await rejectsWith(broker.token('p'), 'ERR_TOKENBROKER_RATE_LIMITED')
  assert.equal(err.kind, 'rate_limited')
  assert.equal(err.status, 429)
  assert.equal(err.retryAfter, 120)
  assert.match(err.message, /retry after 120 s/)
  assertNoSecret(err, client.secret)
})

test('invalid_response: a malformed body', async () => {
  const base = await provider()
  const client = await newClient('malformed')
  const broker = new Broker({
    cache: { store: 'memory' },
    http: { max_retries: 0 },
    profiles: { p: await alvysProfile(base, client, 'malformed') },
  })
  await admin('faults', { route: 'alvys.token', kind: 'malformed', count: 1 })
  const err = await rejectsWith(broker.token('p'), 'ERR_TOKENBROKER_INVALID_RESPONSE')
  assert.equal(err.kind, 'invalid_response')
  assert.equal(err.status, 200)
  assertNoSecret(err, client.secret)
})

test('cache: the file store directory is replaced by a file', async () => {
  const base = await provider()
  const client = await newClient('cachefail')
  const dir = join(tempDir(), 'store')
  process.env.TOKENBROKER_CACHE_KEY ??= Buffer.alloc(32, 7).toString('base64')
  const broker = new Broker({
    cache: { store: 'file', path: dir },
    profiles: { p: await alvysProfile(base, client, 'cachefail') },
  })
  await broker.token('p')
  rmSync(dir, { recursive: true, force: true })
  writeFileSync(dir, 'not a directory')
  const err = await rejectsWith(broker.clearCache(), 'ERR_TOKENBROKER_CACHE')
  assert.equal(err.kind, 'cache')
  rmSync(dir, { force: true })
})

test('interaction: no browser comes back before the timeout', async () => {
  const iss = await issuer()
  const broker = new Broker(memoryConfig('p', {
    provider: 'oidc',
    issuer: iss,
    client_id: 'oidc-public',
    auth_method: 'none',
    redirect_uri: 'http://127.0.0.1/callback',
    grant: 'authorization_code',
    scopes: ['api:read'],
  }))
  let url
  const err = await rejectsWith(
    broker.login('p', { openBrowser: false, timeout: 0.3, onUrl: (u) => (url = u) }),
    'ERR_TOKENBROKER_INTERACTION',
  )
  assert.equal(err.kind, 'interaction')
  assert.match(url, /code_challenge=/)
})

test('secrets: inspect, JSON.stringify and String of a token never show it', async () => {
  const base = await provider()
  const client = await newClient('redact')
  const broker = new Broker(memoryConfig('p', await alvysProfile(base, client, 'redact')))
  const token = await broker.token('p')
  const value = token.accessToken
  assert.ok(value.length > 10)
  for (const text of [
    inspect(token),
    inspect(token, { showHidden: true, depth: 10 }),
    inspect({ nested: [token] }, { depth: 10 }),
    JSON.stringify(token),
    JSON.stringify({ token }),
    String(token),
    `${token}`,
    inspect(broker, { showHidden: true, depth: 10 }),
    Object.keys(token).join(','),
  ]) {
    assert.ok(!text.includes(value), `token shown in: ${text}`)
    assert.ok(!text.includes(client.secret), `secret shown in: ${text}`)
  }
  assert.match(inspect(token), /redacted/)
  assert.equal(JSON.parse(JSON.stringify(token)).tokenType, 'Bearer')
  assert.equal(token.header(), `Bearer ${value}`)
})
