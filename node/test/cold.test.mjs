// A new process that finds its token in the file cache loads no Node built-in module beyond
// what a bare `node -e` has: `require` + `Broker.fromConfig` + `token()` is the whole of many
// short scripts' work, so every built-in the package pulls in is paid by each of them.
// Compares `process.moduleLoadList` before and after; no timing.
import assert from 'node:assert/strict'
import { chmodSync, cpSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { test } from 'node:test'

import { Broker } from 'tokenbroker'
import { NODE_DIR, alvysProfile, clientRequests, newClient, provider, runNode, tempDir } from './helpers.mjs'

test('a cached token in a new process loads no built-in module', async () => {
  const base = await provider()
  const client = await newClient('cold')
  const dir = tempDir()
  const profile = await alvysProfile(base, client, 'cold')
  const config = join(dir, 'config.toml')
  writeFileSync(
    config,
    `[cache]\nstore = "file"\npath = ${JSON.stringify(join(dir, 'cache'))}\n\n[profiles.p]\n` +
      Object.entries(profile).map(([k, v]) => `${k} = ${JSON.stringify(v)}\n`).join(''),
  )
  chmodSync(config, 0o600)
  const key = Buffer.alloc(32, 0x3c).toString('base64')
  const env = { TOKENBROKER_CACHE_KEY: key, TB_CONFIG_FILE: config, NODE_DEBUG: '' }
  const previous = process.env.TOKENBROKER_CACHE_KEY
  process.env.TOKENBROKER_CACHE_KEY = key
  try {
    await Broker.fromConfig(config).token('p') // fills the file cache
  } finally {
    if (previous === undefined) delete process.env.TOKENBROKER_CACHE_KEY
    else process.env.TOKENBROKER_CACHE_KEY = previous
  }
  assert.equal(await clientRequests(client.id), 1)

  const child = await runNode(
    [
      '-e',
      `const before = new Set(process.moduleLoadList)
       const { Broker } = require('tokenbroker')
       const byRequire = process.moduleLoadList.filter((m) => !before.has(m))
       Broker.fromConfig(process.env.TB_CONFIG_FILE).token('p').then((t) => {
         if (!t.accessToken) throw new Error('no token')
         const byAll = process.moduleLoadList.filter((m) => !before.has(m))
         process.stdout.write(JSON.stringify({ byRequire, byAll }))
       })`,
    ],
    { env },
  )
  assert.equal(child.code, 0, child.stderr)
  // Node's resolver of a package's `exports` map, which any such package loads.
  const ours = (m) => !m.startsWith('NativeModule internal/modules/esm/')
  const { byRequire, byAll } = JSON.parse(child.stdout)
  assert.equal(await clientRequests(client.id), 1, 'the new process fetched instead of reading the cache')
  assert.deepEqual(byRequire.filter(ours), [])
  assert.deepEqual(byAll.filter(ours), [])
})

// The package's own files a new process compiles for `require('tokenbroker')`: each costs a
// resolve, a read and a compile (tenths of a millisecond each in a new process), so the entry is
// one file bundled from lib/ (`npm run bundle`), and the binding loads through lib/native.js,
// not napi-rs's generated loader (which reads /usr/bin/ldd and probes other platforms first).
// No timing: the list of files.
test('require loads one file and the binary', async () => {
  const child = await runNode([
    '-e',
    `require('tokenbroker')
     process.stdout.write(JSON.stringify(Object.keys(require.cache)))`,
  ])
  assert.equal(child.code, 0, child.stderr)
  const loaded = JSON.parse(child.stdout).map((file) => relative(NODE_DIR, file)).sort()
  assert.equal(loaded.length, 2, `${loaded}`)
  assert.equal(loaded[0], 'dist/index.js')
  assert.match(loaded[1], /^tokenbroker\.[a-z0-9-]+\.node$/)
})

// Without its binary the package says which files it tried and why each failed.
test('a missing native binary is a clear error', async () => {
  const dir = tempDir()
  cpSync(join(NODE_DIR, 'dist'), join(dir, 'dist'), { recursive: true })
  const child = await runNode(['-e', `require(${JSON.stringify(join(dir, 'dist', 'index.js'))})`])
  assert.notEqual(child.code, 0)
  assert.match(child.stderr, /cannot load tokenbroker's native binding for [a-z0-9]+-[a-z0-9]+/)
  assert.match(child.stderr, new RegExp(`${join(dir, 'tokenbroker.').replace(/[.]/g, '\\.')}[a-z0-9-]+\\.node: Cannot find module`))
  assert.match(child.stderr, /tokenbroker-[a-z0-9-]+: Cannot find module/)
})
