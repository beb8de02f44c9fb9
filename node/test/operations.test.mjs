// api/operations.json against the package: every operation under its camelCase name, a
// Promise for I/O operations, its options (camelCase) in the typings with the same defaults,
// and every probe failing with the same error kind and message.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { test } from 'node:test'

import { Broker, ErrorCode, TokenBrokerError } from 'tokenbroker'
import { NODE_DIR, REPO, alvysProfile, clientRequests, memoryConfig, newClient, provider } from './helpers.mjs'

const API = JSON.parse(readFileSync(join(REPO, 'api/operations.json'), 'utf8'))
const ts = createRequire(import.meta.url)(join(NODE_DIR, 'node_modules/typescript'))

/** Node-only helpers of Broker that are no core operation. */
const NODE_EXTRAS = new Set(['fetch', 'axiosInterceptor', 'useAxios'])

const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())

/** The methods of `class Broker` in index.d.ts: name -> {params, returns, options: {name -> default|undefined}}. */
function typedBroker() {
  const file = join(NODE_DIR, 'lib/index.d.ts')
  const program = ts.createProgram([file], { strict: true, noEmit: true, types: [] })
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(file)
  const cls = source.statements.find((s) => ts.isClassDeclaration(s) && s.name?.text === 'Broker')
  assert.ok(cls, 'index.d.ts declares class Broker')
  const methods = new Map()
  for (const m of cls.members) {
    if (!ts.isMethodDeclaration(m) || m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) continue
    const params = m.parameters.map((p) => p.name.getText(source))
    const returns = m.type.getText(source)
    const options = new Map()
    const last = m.parameters.at(-1)
    if (last?.name.getText(source) === 'options') {
      const type = checker.getTypeAtLocation(last)
      for (const prop of checker.getNonNullableType(type).getProperties()) {
        const tag = prop.getJsDocTags(checker).find((t) => t.name === 'defaultValue')
        options.set(prop.name, tag ? JSON.parse(ts.displayPartsToString(tag.text)) : null)
      }
    }
    methods.set(m.name.getText(source), { params, returns, options })
  }
  return methods
}

const TYPED = typedBroker()

for (const op of API.operations) {
  const name = camel(op.name)
  test(`${op.name}: Broker.${name}`, () => {
    assert.equal(typeof Broker.prototype[name], 'function', `Broker has no method ${name}`)
    const typed = TYPED.get(name)
    assert.ok(typed, `index.d.ts declares no Broker.${name}`)
    assert.deepEqual(typed.params.slice(0, op.args.length), op.args.map(camel), `${name}: positional arguments`)
    assert.equal(typed.returns.startsWith('Promise<'), op.io, `${name} returns ${typed.returns}; io: ${op.io}`)
    const wanted = Object.entries(op.options).map(([k, v]) => [camel(k), v])
    assert.deepEqual(
      [...typed.options.keys()].sort(),
      wanted.map(([k]) => k).sort(),
      `${name}: options in index.d.ts`,
    )
    for (const [k, v] of wanted) {
      assert.deepEqual(typed.options.get(k), v, `${name}: default of ${k} (a @defaultValue tag; none means null)`)
    }
  })
}

test('the typings declare no Broker method that is neither an operation nor a Node helper', () => {
  const ops = new Set(API.operations.map((op) => camel(op.name)))
  const extra = [...TYPED.keys()].filter((m) => !ops.has(m) && !NODE_EXTRAS.has(m))
  assert.deepEqual(extra, [], 'add them to api/operations.json or to NODE_EXTRAS')
})

/** Placeholder arguments for an operation, from a probe's `args` or plain dummies. */
function argsFor(op, given = {}) {
  const dummy = { profile: 'no-such-profile', metadata: {}, client_id: 'c', redirect_uri: 'http://127.0.0.1:9/cb', redirect_url: 'http://127.0.0.1:9/cb?code=x' }
  return op.args.map((a) => (a in given ? given[a] : dummy[a]))
}

test('io operations return a Promise, the others do not (called on an unknown profile)', async () => {
  const broker = new Broker(memoryConfig('a', { provider: 'alvys', tenant: 't', client_id: 'x', client_secret: 'y' }))
  const pending = await broker.beginLogin('a', 'http://127.0.0.1:9/cb').catch((e) => e)
  for (const op of API.operations) {
    const args = argsFor(op)
    if (op.name === 'complete_login') args[0] = pending
    let result
    try {
      result = broker[camel(op.name)](...args)
    } catch (err) {
      assert.ok(!op.io, `${op.name} threw synchronously instead of rejecting: ${err}`)
      continue
    }
    assert.equal(result instanceof Promise, op.io, `${op.name}`)
    if (result instanceof Promise) await result.catch(() => {})
  }
})

for (const probe of API.probes) {
  test(`probe: ${probe.operation}(${JSON.stringify(probe.args)}) fails with kind ${probe.kind}`, async () => {
    const broker = new Broker(memoryConfig('a', { provider: 'alvys', tenant: 't', client_id: 'x', client_secret: 'y' }))
    const op = API.operations.find((o) => o.name === probe.operation)
    assert.ok(op, `probe of an unknown operation ${probe.operation}`)
    let err
    try {
      await broker[camel(op.name)](...argsFor(op, probe.args))
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof TokenBrokerError, `${probe.operation} did not fail with a TokenBrokerError: ${err}`)
    assert.equal(err.kind, probe.kind)
    assert.equal(err.code, ErrorCode[probe.kind])
    assert.ok(err.message.includes(probe.message_contains), err.message)
  })
}

test('token options behave as their defaults say', async () => {
  const base = await provider()
  const client = await newClient('ops-defaults')
  const broker = new Broker(memoryConfig('d', await alvysProfile(base, client, 'ops-defaults')))
  const first = await broker.token('d', {})
  // forceRefresh false, minTtl 0, rejected null: the cached token, no second request.
  const again = await broker.token('d', { forceRefresh: false, minTtl: 0, rejected: null, scopes: null })
  assert.equal(again.accessToken, first.accessToken)
  assert.equal(broker.cachedToken('d', { minTtl: 0 }).accessToken, first.accessToken)
  assert.equal(await clientRequests(client.id), 1)
})

test('token({ rejected }) fetches one new token for every caller refused the same one', async () => {
  const base = await provider()
  const client = await newClient('ops-rejected')
  const broker = new Broker(memoryConfig('r', await alvysProfile(base, client, 'ops-rejected')))
  const refused = await broker.token('r')
  const fresh = await Promise.all(Array.from({ length: 5 }, () => broker.token('r', { rejected: refused })))
  assert.equal(new Set(fresh.map((t) => t.accessToken)).size, 1)
  assert.notEqual(fresh[0].accessToken, refused.accessToken)
  assert.equal(await clientRequests(client.id), 2)
  // Refusing a token that is no longer cached hands out the cached one.
  assert.equal((await broker.token('r', { rejected: refused })).accessToken, fresh[0].accessToken)
  assert.equal(await clientRequests(client.id), 2)
  await assert.rejects(broker.token('r', { rejected: { accessToken: 'x' } }), { code: 'ERR_TOKENBROKER_CONFIG' })
})
