// The warm path (token() and cachedToken() without options): the core decides on every call
// which token is valid; the JS layer only reuses what it converted for that same token.
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'node:test'

import { Broker } from 'tokenbroker'
import { alvysProfile, clientRequests, memoryConfig, newClient, provider, tempDir } from './helpers.mjs'

test('warm calls return the converted token until the core holds another one', async () => {
  const base = await provider()
  const client = await newClient('warm')
  const broker = new Broker(memoryConfig('w', await alvysProfile(base, client, 'warm')))
  assert.equal(broker.cachedToken('w'), null)

  const first = await broker.token('w')
  const warm = broker.cachedToken('w')
  assert.equal(warm.accessToken, first.accessToken)
  assert.equal(broker.cachedToken('w'), warm, 'the same token is converted once')
  assert.equal(await broker.token('w'), warm)
  assert.equal(broker.cachedToken('w', {}), warm, 'empty options take the same path')

  const forced = await broker.token('w', { forceRefresh: true })
  assert.notEqual(forced.accessToken, first.accessToken)
  assert.equal(broker.cachedToken('w').accessToken, forced.accessToken)
  assert.equal((await broker.token('w')).accessToken, forced.accessToken)
  assert.equal(await clientRequests(client.id), 2)

  await broker.clearCache()
  assert.equal(broker.cachedToken('w'), null, 'a cleared cache is not answered from JS')
  const after = await broker.token('w')
  assert.notEqual(after.accessToken, forced.accessToken)
  assert.equal(await clientRequests(client.id), 3)
  assert.equal(broker.cachedToken('w').accessToken, after.accessToken)

  await broker.forget('w')
  assert.equal(broker.cachedToken('w'), null, 'a forgotten profile is not answered from JS')
  assert.notEqual((await broker.token('w')).accessToken, after.accessToken)
  assert.equal(await clientRequests(client.id), 4)
})

test('warm calls for an unknown profile fail as before', async () => {
  const broker = new Broker(memoryConfig('w', await alvysProfile(await provider(), await newClient('warm'))))
  assert.throws(() => broker.cachedToken('nope'), { code: 'ERR_TOKENBROKER_CONFIG' })
  await assert.rejects(broker.token('nope'), { code: 'ERR_TOKENBROKER_CONFIG' })
  await assert.rejects(broker.token('nope'), { code: 'ERR_TOKENBROKER_CONFIG' })
})

test("the warm path honours another broker's invalidation of the shared tier within the bound", async () => {
  const base = await provider()
  const client = await newClient('warm-inval')
  const dir = join(tempDir(), 'cache')
  const config = {
    cache: { store: 'file', path: dir },
    profiles: { f: await alvysProfile(base, client, 'warm-inval') },
  }
  const previous = process.env.TOKENBROKER_CACHE_KEY
  process.env.TOKENBROKER_CACHE_KEY = Buffer.alloc(32, 0x3c).toString('base64')
  try {
    const warm = new Broker(config)
    const other = new Broker(config)
    const first = await warm.token('f')
    assert.equal(warm.cachedToken('f').accessToken, first.accessToken)
    assert.equal((await warm.token('f')).accessToken, first.accessToken)

    await other.clearCache()
    // INVALIDATION_BOUND is 1 s: once it has passed, a check is due and memory hits wait for it.
    await sleep(1100)
    assert.equal(warm.cachedToken('f'), null, 'no memory hit while a check is due')
    const next = await warm.token('f')
    assert.notEqual(next.accessToken, first.accessToken, 'the invalidated token was served')
    assert.equal(await clientRequests(client.id), 2)
    assert.equal(warm.cachedToken('f').accessToken, next.accessToken)
    assert.equal((await warm.token('f')).accessToken, next.accessToken)
  } finally {
    if (previous === undefined) delete process.env.TOKENBROKER_CACHE_KEY
    else process.env.TOKENBROKER_CACHE_KEY = previous
    rmSync(dir, { recursive: true, force: true })
  }
})
