// Every seed preset's grant against the test provider, and oidc-provider through discovery.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Broker, AccessToken } from 'tokenbroker'
import {
  admin, alvysProfile, azureRefreshToken, clientRequests, issuer, logged, memoryConfig, newClient, provider,
} from './helpers.mjs'

const GUID = '6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d'

test('alliance: requested_scopes and the enrollment GUID, then memory', async () => {
  const base = await provider()
  const client = await newClient('aos')
  const broker = new Broker(memoryConfig('aos', {
    provider: 'alliance',
    client_id: client.id,
    client_secret: client.secret,
    scopes: ['User.Read.All', 'Orders.Read'],
    enrollment: GUID,
    token_url: `${base}/API/v2/OAuth/token`,
  }))
  const first = await broker.token('aos')
  const second = await broker.token('aos')
  assert.ok(first instanceof AccessToken)
  assert.equal(first.accessToken, second.accessToken)
  assert.equal(first.tokenType, 'Bearer')
  assert.equal(first.header(), `Bearer ${first.accessToken}`)
  assert.ok(first.expiresAt instanceof Date)
  assert.ok(first.expiresAt.getTime() - Date.now() > 3500_000)
  assert.equal(await clientRequests(client.id), 1)
  const sent = (await logged('alliance.token')).filter((r) => JSON.stringify(r).includes(client.id)).at(-1)
  const body = typeof sent.body === 'string' ? new URLSearchParams(sent.body) : new URLSearchParams(sent.body ?? {})
  assert.equal(body.get('requested_scopes'), 'User.Read.All,Orders.Read')
  assert.equal(body.get('requested_enrollment'), GUID)
  const stats = broker.stats()
  assert.deepEqual([stats.hits, stats.misses, stats.fetches], [1, 1, 1])
})

test('alvaria: region preset with the token URL overridden', async () => {
  const base = await provider()
  const client = await newClient('alvaria')
  const broker = new Broker(memoryConfig('alv', {
    provider: 'alvaria',
    region: 'eu',
    client_id: client.id,
    client_secret: client.secret,
    scopes: ['myaccount.clients.list'],
    token_url: `${base}/tokenservice/oauth2/access_token`,
  }))
  const token = await broker.token('alv')
  assert.deepEqual(token.scopes, ['myaccount.clients.list'])
  assert.equal(await clientRequests(client.id), 1)
})

test('alvys: the tenant in the path', async () => {
  const base = await provider()
  const client = await newClient('alvys')
  const broker = new Broker(memoryConfig('alvys', await alvysProfile(base, client, 'tenant-42')))
  await broker.token('alvys')
  await broker.token('alvys')
  assert.equal(await clientRequests(client.id), 1)
})

test('azure-ad-v1: refresh_token grant, each rotated token used for the next refresh', async () => {
  const base = await provider()
  const client = await newClient('azure')
  const refreshToken = await azureRefreshToken(base, client)
  const broker = new Broker(memoryConfig('pc', {
    provider: 'azure-ad-v1',
    tenant: 'contoso',
    resource: 'https://api.partnercenter.microsoft.com',
    grant: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.id,
    client_secret: client.secret,
    token_url: `${base}/contoso/oauth2/token`,
    jwks_url: `${base}/contoso/discovery/keys`,
    issuer: `${base}/contoso/`,
  }))
  const seen = new Set()
  for (let i = 0; i < 3; i++) {
    const t = await broker.token('pc', { forceRefresh: true })
    assert.ok(t.expiresAt.getTime() - Date.now() > 3500_000, 'string expires_in parsed')
    seen.add(t.accessToken)
  }
  assert.equal(seen.size, 3)
})

test('oidc-provider: client_credentials through discovery', async () => {
  const iss = await issuer()
  const broker = new Broker(memoryConfig('o', {
    provider: 'oidc',
    issuer: iss,
    client_id: 'oidc-basic',
    client_secret: 'oidc-basic-secret',
    scopes: ['api:read'],
  }))
  const token = await broker.token('o')
  assert.equal(token.tokenType, 'Bearer')
  assert.deepEqual(token.scopes, ['api:read'])
  assert.equal((await broker.token('o')).accessToken, token.accessToken)
  assert.equal(broker.stats().fetches, 1)
})

test('scopes and minTtl: a longer minTtl fetches anew, cachedToken never does I/O', async () => {
  const base = await provider()
  const client = await newClient('opts')
  const broker = new Broker(memoryConfig('s', {
    provider: 'alliance',
    client_id: client.id,
    client_secret: client.secret,
    token_url: `${base}/API/v2/OAuth/token`,
  }))
  assert.equal(broker.cachedToken('s', { scopes: ['a', 'b'] }), null)
  assert.equal(await clientRequests(client.id), 0)
  const ab = await broker.token('s', { scopes: ['a', 'b'] })
  const ba = await broker.token('s', { scopes: 'b a' })
  assert.equal(ab.accessToken, ba.accessToken)
  assert.equal(broker.cachedToken('s', { scopes: ['b', 'a'] }).accessToken, ab.accessToken)
  assert.equal(broker.cachedToken('s', { scopes: ['a', 'b'], minTtl: 7200 }), null)
  const long = await broker.token('s', { scopes: ['a', 'b'], minTtl: 7200 })
  assert.notEqual(long.accessToken, ab.accessToken)
  assert.equal(await clientRequests(client.id), 2)
  await broker.token('s', { scopes: ['a', 'b'], forceRefresh: true })
  assert.equal(await clientRequests(client.id), 3)
  await broker.clearCache()
  assert.equal(broker.cachedToken('s', { scopes: ['a', 'b'] }), null)
  assert.deepEqual(broker.profileNames(), ['s'])
  void admin
})

test('Broker.fromConfig, new Broker() and new Broker(text) read TOML (explicit path, TOKENBROKER_CONFIG, text)', async () => {
  const { writeFileSync, chmodSync, readFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tempDir } = await import('./helpers.mjs')
  const base = await provider()
  const client = await newClient('toml')
  const file = join(tempDir(), 'config.toml')
  writeFileSync(file, `[cache]
store = "memory"
[profiles.t]
provider = "alvys"
tenant = "toml"
client_id = "${client.id}"
client_secret = "${client.secret}"
token_url = "${base}/api/authentication/toml/token"
`)
  chmodSync(file, 0o600)
  const broker = Broker.fromConfig(file)
  assert.deepEqual(broker.profileNames(), ['t'])
  assert.equal((await broker.token('t')).tokenType, 'Bearer')
  process.env.TOKENBROKER_CONFIG = file
  try {
    assert.deepEqual(Broker.fromConfig().profileNames(), ['t'])
    // As in Python: `new Broker()` finds the config file too.
    assert.deepEqual(new Broker().profileNames(), ['t'])
  } finally {
    delete process.env.TOKENBROKER_CONFIG
  }
  // TOML text, as every binding takes it.
  const text = readFileSync(file, 'utf8')
  assert.equal((await new Broker(text).token('t')).tokenType, 'Bearer')
  assert.throws(() => new Broker(text.replace('[profiles.t]', '[profiles.t')), (e) => {
    assert.equal(e.code, 'ERR_TOKENBROKER_CONFIG')
    assert.ok(!e.message.includes(client.secret))
    return true
  })
  process.env.TOKENBROKER_CONFIG = '/nonexistent/tokenbroker.toml'
  try {
    assert.throws(() => new Broker(), { code: 'ERR_TOKENBROKER_CONFIG', message: /nonexistent/ })
  } finally {
    delete process.env.TOKENBROKER_CONFIG
  }
  chmodSync(file, 0o644)
  assert.throws(() => Broker.fromConfig(file), { code: 'ERR_TOKENBROKER_CONFIG', message: /chmod 600/ })
})
