// The leak matrix (tests/leak/README.md) through the Node package: for every case the error's
// message, util.inspect and JSON.stringify, and every log record forwarded to a logger (debug
// level), must hold no secret in any encoding and no control character.
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'node:test'
import { inspect } from 'node:util'
import { Broker, setLogger } from 'tokenbroker'
import { admin, provider } from './helpers.mjs'
import { Needles, echoFault, expandCases, fillProfile, summary } from './leak_needles.mjs'

function privateKeyPem() {
  const keys = process.env.TB_TEST_KEYS
  if (keys) return readFileSync(join(keys, 'client-key.pem'), 'utf8')
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return privateKey.export({ type: 'pkcs8', format: 'pem' })
}

async function run(broker, action, name) {
  try {
    const value = action === 'list_clients' ? await broker.listClients(name) : await broker.token(name)
    return inspect(value)
  } catch (err) {
    return [err?.message ?? String(err), inspect(err), JSON.stringify(err)]
  }
}

/** Waits until no log record arrived for a few event-loop turns (at most ~2 s). */
async function settled(records) {
  for (let i = 0, seen = -1; i < 40 && seen !== records.length; i++) {
    seen = records.length
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('no secret and no control character in any error or log, for every case of the leak matrix', async (t) => {
  const logs = [] // [case name, text]
  let current = ''
  setLogger((r) => logs.push([current, `${r.level} ${r.target} ${r.message}`]), { level: 'trace' })
  t.after(() => setLogger(null))
  const base = await provider()
  const privateKey = privateKeyPem()
  const echoesFrom = (await admin('echoes')).length
  const cases = expandCases()
  const needles = new Needles()
  const outputs = [] // [case name, label, text]
  const sent = new Map() // case name -> JSON of the requests the provider logged for its route
  for (const c of cases) {
    const profile = fillProfile(c.template.profile, { provider: base, id: c.id, secrets: c.secrets, privateKey })
    const broker = new Broker({ cache: { store: 'memory' }, profiles: { leak: profile } })
    current = c.name
    await admin('faults', echoFault(c.template.route, c.echo, c.secrets, c.id))
    const texts = [await run(broker, c.template.action, 'leak')].flat()
    const pending = (await admin('stats')).faults_pending.filter((f) => f.route === c.template.route)
    if (pending.length) await admin('faults/clear', {})
    assert.equal(pending.length, 0, `${c.name}: the echo fault was not used: ${texts.join(' | ')}`)
    for (const [i, label] of ['message', 'inspect', 'JSON'].entries()) {
      if (texts[i] !== undefined) outputs.push([c.name, label, texts[i]])
    }
    // What the broker sent (assertions, bearer tokens), read now: the log keeps 500 requests.
    const requests = await admin(`requests?route=${c.template.route}`)
    needles.addFromProvider([], requests, [c.id])
    sent.set(c.name, JSON.stringify(requests))
  }

  await settled(logs)
  // The control of the logs: every case's token request logs at least its outcome.
  assert.ok(logs.length >= cases.length, `only ${logs.length} log records for ${cases.length} cases`)
  for (const [name, text] of logs) outputs.push([name, 'log', text])

  for (const c of cases) for (const [name, v] of Object.entries(c.secrets)) needles.add(`${c.name} secret ${name}`, v, c.id)
  needles.addFromProvider((await admin('echoes')).slice(echoesFrom), [], [])
  // The control: the needles must find each secret of a case in what the broker sent for it,
  // or a clean result would prove nothing.
  const blind = cases.flatMap((c) => {
    const found = needles.find(sent.get(c.name))
    return Object.keys(c.secrets)
      .map((n) => `${c.name} secret ${n}`)
      .filter((label) => !found.some((h) => h.startsWith(`${label} (`)))
  })
  assert.deepEqual(blind.slice(0, 5), [], 'the needles miss secrets in the requests sent')
  const hits = outputs.flatMap(([name, label, text]) => needles.find(text).map((h) => `${name} ${label}: ${h}`))
  console.log(summary('node', cases.length, outputs.length, hits.length))
  for (const h of hits.slice(0, 20)) console.log(`  ${h}`)
  assert.equal(hits.length, 0, `${hits.length} leaks, first: ${hits.slice(0, 5).join('; ')}`)
})
