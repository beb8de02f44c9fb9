// The herd, the file store shared with another process, worker_threads, and a clean exit.
import assert from 'node:assert/strict'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'

import { Broker } from 'tokenbroker'
import { alvysProfile, clientRequests, memoryConfig, newClient, provider, runNode, tempDir } from './helpers.mjs'

test('1,000 concurrent token() calls on a cold cache make one provider request', async () => {
  const base = await provider()
  const client = await newClient('herd')
  const broker = new Broker(memoryConfig('h', await alvysProfile(base, client, 'herd')))
  const tokens = await Promise.all(Array.from({ length: 1000 }, () => broker.token('h')))
  assert.equal(new Set(tokens.map((t) => t.accessToken)).size, 1)
  assert.equal(await clientRequests(client.id), 1)
  const s = broker.stats()
  assert.equal(s.fetches, 1)
  assert.equal(s.coalesced + s.hits, 999, JSON.stringify(s))
})

test('a token cached in the file store by another process is used without a request, read on the calling thread', async () => {
  const base = await provider()
  const client = await newClient('filestore')
  const dir = join(tempDir(), 'cache')
  const key = Buffer.alloc(32, 0x5a).toString('base64')
  const config = {
    cache: { store: 'file', path: dir },
    profiles: { f: await alvysProfile(base, client, 'filestore') },
  }
  const child = await runNode(
    [
      '--input-type=module',
      '-e',
      `import { Broker } from 'tokenbroker'
       const b = new Broker(JSON.parse(process.env.TB_CONFIG))
       const t = await b.token('f')
       console.log(JSON.stringify({ header: t.header(), fetches: b.stats().fetches }))`,
    ],
    { env: { TB_CONFIG: JSON.stringify(config), TOKENBROKER_CACHE_KEY: key } },
  )
  assert.equal(child.code, 0, child.stderr)
  const fromChild = JSON.parse(child.stdout)
  assert.equal(fromChild.fetches, 1)
  assert.equal(await clientRequests(client.id), 1)

  // A process that only reads the file store never starts the core's runtime (its threads are
  // named `tokenbroker`).
  const reader = await runNode(
    [
      '-e',
      `const { readdirSync, readFileSync } = require('node:fs')
       const { Broker } = require('tokenbroker')
       new Broker(JSON.parse(process.env.TB_CONFIG)).token('f').then((t) => {
         const names = readdirSync('/proc/self/task').map((id) => readFileSync('/proc/self/task/' + id + '/comm', 'utf8').trim())
         console.log(JSON.stringify({ header: t.header(), runtimeThreads: names.filter((n) => n === 'tokenbroker').length }))
       })`,
    ],
    { env: { TB_CONFIG: JSON.stringify(config), TOKENBROKER_CACHE_KEY: key } },
  )
  assert.equal(reader.code, 0, reader.stderr)
  assert.deepEqual(JSON.parse(reader.stdout), { header: fromChild.header, runtimeThreads: 0 })
  assert.equal(await clientRequests(client.id), 1)

  const previous = process.env.TOKENBROKER_CACHE_KEY
  process.env.TOKENBROKER_CACHE_KEY = key
  try {
    const broker = new Broker(config)
    assert.equal(broker.cachedToken('f'), null, 'memory starts empty')
    const pending = broker.token('f')
    // The key is in the environment: token() read the entry on this thread before returning.
    const atHand = broker.cachedToken('f')
    assert.notEqual(atHand, null, 'token() left the file store read to another thread')
    const token = await pending
    assert.equal(token, atHand)
    assert.equal(token.header(), fromChild.header)
    // The same with options, through the path that reads them.
    const other = new Broker(config)
    const withOptions = other.token('f', { minTtl: 60 })
    assert.notEqual(other.cachedToken('f', { minTtl: 60 }), null, 'with options')
    assert.equal((await withOptions).header(), fromChild.header)
    assert.equal(await clientRequests(client.id), 1)
    const s = broker.stats()
    assert.equal(s.sharedHits, 1)
    assert.equal(s.fetches, 0)
    const entries = await broker.cacheEntries()
    assert.equal(entries.length, 1)
    assert.ok(entries[0].expiresAt instanceof Date)
    assert.ok(!JSON.stringify(entries).includes(token.accessToken))
  } finally {
    if (previous === undefined) delete process.env.TOKENBROKER_CACHE_KEY
    else process.env.TOKENBROKER_CACHE_KEY = previous
    rmSync(dir, { recursive: true, force: true })
  }
})

test('worker_threads: each worker gets a token through the shared runtime', async () => {
  const base = await provider()
  const client = await newClient('worker')
  const config = memoryConfig('w', await alvysProfile(base, client, 'worker'))
  const run = () =>
    new Promise((resolve, reject) => {
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads')
         const { Broker } = require('tokenbroker')
         new Broker(workerData).token('w').then(
           (t) => parentPort.postMessage({ type: t.tokenType, header: t.header() }),
           (e) => parentPort.postMessage({ error: e.code + ' ' + e.message }))`,
        { eval: true, workerData: config },
      )
      worker.once('message', resolve)
      worker.once('error', reject)
    })
  const [a, b] = await Promise.all([run(), run()])
  assert.equal(a.type, 'Bearer', JSON.stringify(a))
  assert.equal(b.type, 'Bearer', JSON.stringify(b))
  // Each worker has its own broker (memory tier), so each fetched once.
  assert.equal(await clientRequests(client.id), 2)
  // And the main thread still works after the workers exited.
  const main = new Broker(config)
  assert.equal((await main.token('w')).tokenType, 'Bearer')
})

test('a script that gets a token exits by itself', async () => {
  const base = await provider()
  const client = await newClient('exit')
  const config = memoryConfig('e', await alvysProfile(base, client, 'exit'))
  for (const script of [
    `const { Broker } = require('tokenbroker')
     new Broker(JSON.parse(process.env.TB_CONFIG)).token('e').then((t) => console.log(t.tokenType))`,
    `const { Broker } = require('tokenbroker')
     const b = new Broker(JSON.parse(process.env.TB_CONFIG))
     b.fetch('e', process.env.TB_URL).then(async (r) => console.log(r.status, (await r.json()).ok))`,
  ]) {
    const child = await runNode(['-e', script], {
      env: { TB_CONFIG: JSON.stringify(config), TB_URL: `${base}/api/me` },
      timeoutMs: 20_000,
    })
    assert.equal(child.signal, null, `killed after ${child.ms} ms: the process did not exit by itself`)
    assert.equal(child.code, 0, child.stderr)
    assert.match(child.stdout, /^(Bearer|200 true)\n$/)
    assert.ok(child.ms < 10_000, `took ${child.ms} ms`)
  }
})

test('the event loop keeps running while a token is fetched', async () => {
  const base = await provider()
  const client = await newClient('loop')
  const broker = new Broker(memoryConfig('l', await alvysProfile(base, client, 'loop')))
  const { admin } = await import('./helpers.mjs')
  await admin('faults', { route: 'alvys.token', kind: 'delay', delay_ms: 300, count: 1 })
  let ticks = 0
  const timer = setInterval(() => ticks++, 10)
  const started = Date.now()
  await broker.token('l')
  clearInterval(timer)
  const elapsed = Date.now() - started
  assert.ok(elapsed >= 250, `${elapsed}`)
  assert.ok(ticks >= elapsed / 10 / 3, `only ${ticks} timer ticks in ${elapsed} ms`)
})
