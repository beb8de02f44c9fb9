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
  const { byRequire, byAll } = JSON.parse(child.stdout)
  assert.equal(await clientRequests(client.id), 1, 'the new process fetched instead of reading the cache')
  // Not even Node's resolver of `exports` maps (internal/modules/esm/*, about 1.9 ms of a new
  // process): the package has `main` only, for that reason (package.json).
  assert.deepEqual(byRequire, [])
  assert.deepEqual(byAll, [])
})

// The package's own files a new process compiles for `require('tokenbroker')`: each costs a
// resolve, a read and a compile (tenths of a millisecond each in a new process), so the entry is
// one file bundled from lib/ (`npm run bundle`), and the binding loads through lib/native.js,
// not napi-rs's generated loader (which reads /usr/bin/ldd and probes other platforms first).
// Past that one file, loading calls `require` for nothing: the binary goes straight to
// `process.dlopen` (a `require` of it resolves and realpaths the path first), and no Node
// built-in is asked for (a new process's first `require` of one costs about 0.2 ms, even of
// one Node has loaded already). No timing: the files and the `require` calls.
test('require loads one file and the binary, and requires nothing else', async () => {
  const child = await runNode([
    '-e',
    `const Module = require('node:module')
     const asked = []
     const original = Module.prototype.require
     Module.prototype.require = function (id) {
       asked.push(id)
       return original.call(this, id)
     }
     const before = new Set(Object.keys(require.cache))
     require('tokenbroker')
     const files = Object.keys(require.cache).filter((f) => !before.has(f))
     process.stdout.write(JSON.stringify({ asked, files, addons: process.report.getReport().sharedObjects }))`,
  ])
  assert.equal(child.code, 0, child.stderr)
  const { asked, files, addons } = JSON.parse(child.stdout)
  assert.deepEqual(files.map((file) => relative(NODE_DIR, file)), ['dist/index.js'])
  assert.deepEqual(asked, ['tokenbroker'], 'require calls made while loading the package')
  assert.ok(
    addons.some((file) => /tokenbroker\.[a-z0-9-]+\.node$/.test(file)),
    `the binary is not among the loaded shared objects: ${addons}`,
  )
})

// Without its binary the package says which files it tried and why each failed.
test('a missing native binary is a clear error', async () => {
  const dir = tempDir()
  cpSync(join(NODE_DIR, 'dist'), join(dir, 'dist'), { recursive: true })
  const child = await runNode(['-e', `require(${JSON.stringify(join(dir, 'dist', 'index.js'))})`])
  assert.notEqual(child.code, 0)
  assert.match(child.stderr, /cannot load tokenbroker's native binding for [a-z0-9]+-[a-z0-9]+/)
  assert.match(child.stderr, new RegExp(`${join(dir, 'tokenbroker.').replace(/[.]/g, '\\.')}[a-z0-9-]+\\.node: cannot open shared object file`))
  assert.match(child.stderr, /tokenbroker-[a-z0-9-]+: Cannot find module/)
})

// With `main` only (no `exports` map), an ES module importing the package gets the CommonJS
// entry's own objects, every name of it as a named export (Node finds them in the bundle's
// `module.exports = { ... }`), and the same objects through `require`.
test('import and require give the same objects, every export by name', async () => {
  const child = await runNode([
    '--input-type=module',
    '-e',
    `import * as esm from 'tokenbroker'
     import { createRequire } from 'node:module'
     const cjs = createRequire(process.cwd() + '/')('tokenbroker')
     const names = Object.keys(cjs).sort()
     const same = names.every((name) => esm[name] === cjs[name])
     process.stdout.write(JSON.stringify({ names, esm: Object.keys(esm).sort(), same, whole: esm.default === cjs }))`,
  ])
  assert.equal(child.code, 0, child.stderr)
  const { names, esm, same, whole } = JSON.parse(child.stdout)
  assert.deepEqual(names, ['AccessToken', 'Broker', 'ErrorCode', 'PendingLogin', 'RegisteredClient', 'TokenBrokerError', 'setLogger'])
  assert.deepEqual(esm, [...names, 'default'].sort())
  assert.ok(same, 'a named export differs from the CommonJS one')
  assert.ok(whole, 'the default export is not module.exports')
})
