// The core's log events in Node: a logger given to setLogger, else util.debuglog's
// NODE_DEBUG=tokenbroker on stderr; a logger never keeps the process alive.
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { test } from 'node:test'

import { Broker, setLogger } from 'tokenbroker'
import { admin, alvysProfile, memoryConfig, newClient, provider, runNode } from './helpers.mjs'

/** Waits (at most ~2 s of event-loop turns) until `records` holds a record matching `pred`. */
async function arrived(records, pred) {
  for (let i = 0; i < 200 && !records.some(pred); i++) await new Promise((r) => setTimeout(r, 10))
  return records.find(pred)
}

test('a function logger gets the retry warning and the issued token of a fetch', async (t) => {
  const base = await provider()
  const client = await newClient('log-fn')
  const broker = new Broker(memoryConfig('l', await alvysProfile(base, client, 'log-fn')))
  const records = []
  setLogger((record) => records.push(record))
  t.after(() => setLogger(null))
  await admin('faults', { route: 'alvys.token', kind: 'status', status: 503, count: 1, client_id: client.id })
  await broker.token('l')
  const retry = await arrived(records, (r) => r.message.includes('retrying'))
  assert.ok(retry, `no retry event in ${JSON.stringify(records)}`)
  assert.equal(retry.level, 'info')
  assert.match(retry.target, /^tokenbroker\./)
  const issued = await arrived(records, (r) => r.message.includes('token issued'))
  assert.ok(issued, JSON.stringify(records))
  assert.match(issued.message, /profile=l/)
  for (const r of records) assert.match(r.target, /^tokenbroker/, 'only the core\'s own events are forwarded')
})

test('an object logger gets each event on its level method; its level option filters', async (t) => {
  const base = await provider()
  const client = await newClient('log-obj')
  const broker = new Broker(memoryConfig('o', await alvysProfile(base, client, 'log-obj')))
  const calls = []
  const logger = Object.fromEntries(['error', 'warn', 'info', 'debug'].map((lvl) => [lvl, (msg, meta) => calls.push({ lvl, msg, meta })]))
  setLogger(logger, { level: 'info' })
  t.after(() => setLogger(null))
  await broker.token('o')
  const issued = await arrived(calls, (c) => c.msg.includes('token issued'))
  assert.ok(issued, JSON.stringify(calls))
  assert.equal(issued.lvl, 'info')
  assert.match(issued.meta.target, /^tokenbroker\./)
  assert.ok(!calls.some((c) => c.lvl === 'debug'), `debug events below the level: ${JSON.stringify(calls)}`)
})

test('setLogger refuses what is not a logger, with a config error', () => {
  assert.throws(() => setLogger(42), { code: 'ERR_TOKENBROKER_CONFIG' })
  assert.throws(() => setLogger({ info() {} }), { code: 'ERR_TOKENBROKER_CONFIG' })
  assert.throws(() => setLogger(() => {}, { level: 'loud' }), { code: 'ERR_TOKENBROKER_CONFIG' })
})

test('a throwing logger does not break token calls', async (t) => {
  const base = await provider()
  const client = await newClient('log-throw')
  const broker = new Broker(memoryConfig('x', await alvysProfile(base, client, 'log-throw')))
  let called = 0
  setLogger(() => {
    called++
    throw new Error('logger broke')
  })
  t.after(() => setLogger(null))
  const warnings = []
  const onWarning = (w) => warnings.push(w)
  process.on('warning', onWarning)
  t.after(() => process.off('warning', onWarning))
  assert.equal((await broker.token('x')).tokenType, 'Bearer')
  await arrived([called], () => called > 0)
  for (let i = 0; i < 5; i++) await tick()
  assert.ok(called > 0)
})

const SCRIPT = `const { Broker } = require('tokenbroker')
new Broker(JSON.parse(process.env.TB_CONFIG)).token('d').then((t) => console.log(t.tokenType))`

test('NODE_DEBUG=tokenbroker prints the core events to stderr; without it nothing', async () => {
  const base = await provider()
  const client = await newClient('log-debug')
  const config = memoryConfig('d', await alvysProfile(base, client, 'log-debug'))
  const on = await runNode(['-e', SCRIPT], { env: { TB_CONFIG: JSON.stringify(config), NODE_DEBUG: 'tokenbroker' } })
  assert.equal(on.code, 0, on.stderr)
  assert.equal(on.signal, null)
  assert.equal(on.stdout, 'Bearer\n')
  assert.match(on.stderr, /^TOKENBROKER \d+: INFO tokenbroker\.flow: .*token issued/m)
  const off = await runNode(['-e', SCRIPT], { env: { TB_CONFIG: JSON.stringify(config), NODE_DEBUG: '' } })
  assert.equal(off.code, 0, off.stderr)
  assert.doesNotMatch(off.stderr, /TOKENBROKER/)
})

test('a process with a logger set exits by itself', async () => {
  const base = await provider()
  const client = await newClient('log-exit')
  const config = memoryConfig('e', await alvysProfile(base, client, 'log-exit'))
  const child = await runNode(
    [
      '-e',
      `const { Broker, setLogger } = require('tokenbroker')
       setLogger((r) => process.stderr.write(r.level + ' ' + r.message + '\\n'))
       new Broker(JSON.parse(process.env.TB_CONFIG)).token('e').then((t) => console.log(t.tokenType))`,
    ],
    { env: { TB_CONFIG: JSON.stringify(config) }, timeoutMs: 20_000 },
  )
  assert.equal(child.signal, null, `killed after ${child.ms} ms: the logger kept the process alive`)
  assert.equal(child.code, 0, child.stderr)
  assert.equal(child.stdout, 'Bearer\n')
})
