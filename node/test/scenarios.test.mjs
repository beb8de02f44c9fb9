// The language-neutral conformance scenarios of tests/scenarios.json (format: tests/README.md),
// run through the npm package; one test per scenario. core/tests/scenarios.rs is the Rust
// runner of the same list, tests/harness/reference_runner.mjs a stand-in broker that drives it.
//
// Provider scenarios reset the provider and count its requests globally, so they need a
// provider nobody else uses meanwhile. `node --test` runs the test files in parallel
// processes, and `make test` shares one set of servers (TB_TEST_*) between them: this file
// therefore always starts its own tests/harness/up.mjs (both servers plus the `cert-client`
// key pair the scenarios need), whatever TB_TEST_* say, and runs its scenarios one by one.
import { test, describe, before } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Broker, TokenBrokerError } from 'tokenbroker'
import { REPO, memoryConfig } from './helpers.mjs'

const SCENARIOS = JSON.parse(readFileSync(join(REPO, 'tests/scenarios.json'), 'utf8'))

/** Starts a private up.mjs; resolves with {provider, issuer, keys_dir}. */
function startHarness() {
  if (!existsSync(join(REPO, 'tests/oidc/node_modules/oidc-provider'))) {
    execFileSync('bash', [join(REPO, 'tests/harness/setup.sh')], { stdio: 'inherit' })
  }
  return new Promise((resolvePromise, reject) => {
    // up.mjs stops both servers (and removes its keys dir) when its stdin pipe closes, i.e.
    // when this process exits; the unref'd handles let it exit once the tests are done.
    const child = spawn(process.execPath, [join(REPO, 'tests/harness/up.mjs')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => reject(new Error(`up.mjs exited early (code ${code}, signal ${signal})`)))
    const lines = createInterface({ input: child.stdout })
    lines.once('line', (line) => {
      lines.close()
      child.stdout.destroy()
      child.stdin.unref?.()
      child.unref()
      try {
        const info = JSON.parse(line)
        if (!info.provider || !info.issuer || !info.keys_dir) throw new Error('fields missing')
        resolvePromise(info)
      } catch (e) {
        reject(new Error(`up.mjs printed ${JSON.stringify(line)}: ${e.message}`))
      }
    })
  })
}

let servers

function fill(value) {
  if (typeof value === 'string') {
    return value
      .replaceAll('${PROVIDER}', servers.provider)
      .replaceAll('${ISSUER}', servers.issuer)
      .replaceAll('${KEYS}', servers.keys_dir)
  }
  if (Array.isArray(value)) return value.map(fill)
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v)]))
  return value
}

async function admin(path, body) {
  const res = await fetch(`${servers.provider}/_admin/${path}`, body === undefined ? {} : {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`admin ${path}: HTTP ${res.status} ${text}`)
  return text ? JSON.parse(text) : null
}

const describeError = (e) => `${e.kind} error (${e.code}: ${e.message})`

/** Runs one scenario; resolves with what differed from its `expect` (empty: passed). */
async function run(scenario) {
  if (scenario.server === 'provider') await admin('reset', {})
  let broker
  let buildError = null
  try {
    broker = new Broker(memoryConfig('p', fill(scenario.profile)))
  } catch (e) {
    if (!(e instanceof TokenBrokerError)) throw e
    buildError = e // a config the broker refuses: every token step fails with it
  }
  const tokens = []
  let lastError = null
  for (const step of scenario.steps) {
    if (step.fault) await admin('faults', step.fault)
    else if (step.admin_config) await admin('config', step.admin_config)
    else if (step.token) {
      try {
        if (buildError) throw buildError
        tokens.push(await broker.token('p', { forceRefresh: step.token.force_refresh === true }))
        lastError = null
      } catch (e) {
        if (!(e instanceof TokenBrokerError)) throw e
        lastError = e
      }
    } else return [`unknown step ${JSON.stringify(step)}`]
  }

  const expect = scenario.expect ?? {}
  const problems = []
  if (expect.error_kind !== undefined) {
    if (!lastError) problems.push(`expected a ${expect.error_kind} error, the last token() succeeded`)
    else if (lastError.kind !== expect.error_kind) problems.push(`expected error_kind ${expect.error_kind}, got ${describeError(lastError)}`)
    if (expect.oauth_error !== undefined && lastError?.oauthError !== expect.oauth_error) {
      problems.push(`expected oauth_error ${expect.oauth_error}, got ${lastError?.oauthError}`)
    }
  } else if (lastError) {
    problems.push(`unexpected ${describeError(lastError)}`)
  }
  const last = tokens.at(-1)
  if (expect.token_type !== undefined && last?.tokenType !== expect.token_type) {
    problems.push(`token_type ${last?.tokenType}, expected ${expect.token_type}`)
  }
  if (expect.expires_in_approx !== undefined) {
    const left = last ? Math.round((last.expiresAt.getTime() - Date.now()) / 1000) : undefined
    if (left === undefined || Math.abs(left - expect.expires_in_approx) > 60) {
      problems.push(`expires in ${left}s, expected ${expect.expires_in_approx}s ± 60s`)
    }
  }
  if (expect.same_token !== undefined) {
    const same = tokens.length ? tokens[0].accessToken === last.accessToken : undefined
    if (same !== expect.same_token) problems.push(`same_token ${same} (${tokens.length} token(s)), expected ${expect.same_token}`)
  }
  if (expect.provider_requests) {
    const seen = (await admin('stats')).requests
    for (const [route, n] of Object.entries(expect.provider_requests)) {
      const got = seen[route] ?? 0
      if (got !== n) problems.push(`provider_requests[${route}] = ${got}, expected ${n}`)
    }
  }
  return problems
}

describe('conformance scenarios (tests/scenarios.json)', { concurrency: 1 }, () => {
  before(async () => {
    servers = await startHarness()
  })

  test('the scenario list is sane', () => {
    const ids = SCENARIOS.map((s) => s.id)
    assert.ok(ids.length >= 20, `tests/scenarios.json has only ${ids.length} scenarios`)
    assert.equal(new Set(ids).size, ids.length, 'duplicate scenario ids')
  })

  for (const scenario of SCENARIOS) {
    test(scenario.id, { timeout: 60_000 }, async () => {
      const problems = await run(scenario)
      if (problems.length) assert.fail(`scenario ${scenario.id}:\n  ${problems.join('\n  ')}`)
    })
  }
})
