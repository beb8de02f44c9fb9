// broker.fetch against the provider's resource server, and the axios interceptor.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Broker } from 'tokenbroker'
import { admin, alvysProfile, clientRequests, logged, memoryConfig, newClient, provider } from './helpers.mjs'

async function setup(tenant) {
  const base = await provider()
  const client = await newClient(tenant)
  const broker = new Broker(memoryConfig('api', await alvysProfile(base, client, tenant)))
  return { base, client, broker }
}

test('fetch attaches the header', async () => {
  const { base, client, broker } = await setup('fetch-ok')
  const res = await broker.fetch('api', `${base}/api/me`)
  assert.equal(res.status, 200)
  const body = await res.json()
  assert.equal(body.ok, true)
  assert.equal(body.client_id, client.id)
  const again = await broker.fetch('api', new URL(`${base}/api/me`), { headers: { 'x-extra': '1' } })
  assert.equal(again.status, 200)
  await again.body.cancel()
  assert.equal(await clientRequests(client.id), 1)
})

test('fetch: a 401 refreshes once and retries once, body included', async () => {
  const { base, client, broker } = await setup('fetch-401')
  const token = await broker.token('api')
  await admin('tokens/expire', { access_token: token.accessToken })
  const res = await broker.fetch('api', `${base}/api/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ n: 1 }),
  })
  assert.equal(res.status, 200)
  assert.equal((await res.json()).client_id, client.id)
  assert.equal(await clientRequests(client.id), 2)
  assert.notEqual(broker.cachedToken('api').accessToken, token.accessToken)
  const posts = (await logged('resource')).filter((r) => r.path === '/api/items').slice(-2)
  assert.deepEqual(posts.map((r) => r.status), [401, 200])
  for (const r of posts) assert.match(JSON.stringify(r.body), /"?n"?\W+1/)
})

test('fetch: a resource that keeps refusing gets one retry only', async () => {
  const { base, client, broker } = await setup('fetch-always-401')
  await broker.token('api')
  await admin('faults', { route: 'resource', kind: 'status', status: 401, count: 2 })
  const res = await broker.fetch('api', `${base}/api/me`)
  assert.equal(res.status, 401)
  await res.body?.cancel()
  assert.equal(await clientRequests(client.id), 2)
})

test('fetch: a request another caller already refreshed for is retried without a new fetch', async () => {
  const { base, client, broker } = await setup('fetch-concurrent')
  const token = await broker.token('api')
  await admin('tokens/expire', { access_token: token.accessToken })
  const results = await Promise.all(Array.from({ length: 20 }, () => broker.fetch('api', `${base}/api/me`)))
  for (const r of results) {
    assert.equal(r.status, 200)
    await r.body.cancel()
  }
  assert.equal(await clientRequests(client.id), 2)
})

test('axiosInterceptor sets Authorization on plain and AxiosHeaders-like headers', async () => {
  const { broker } = await setup('axios')
  const intercept = broker.axiosInterceptor('api')
  const plain = await intercept({ url: '/x', headers: {} })
  const token = broker.cachedToken('api')
  assert.equal(plain.headers.Authorization, token.header())
  const none = await intercept({ url: '/x' })
  assert.equal(none.headers.Authorization, token.header())
  const set = new Map()
  const config = { headers: { set: (k, v) => set.set(k, v) } }
  assert.equal(await intercept(config), config)
  assert.equal(set.get('Authorization'), token.header())
})
