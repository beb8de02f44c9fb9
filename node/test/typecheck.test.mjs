// tsc --noEmit over examples/typed.ts (CommonJS types) and examples/esm.mts (ESM types).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'

import { NODE_DIR, runNode } from './helpers.mjs'

test('tsc --noEmit on the typed examples', async () => {
  const tsc = join(NODE_DIR, 'node_modules/typescript/bin/tsc')
  const out = await runNode([tsc, '--noEmit', '-p', join(NODE_DIR, 'tsconfig.json')], { timeoutMs: 120_000 })
  assert.equal(out.code, 0, out.stdout + out.stderr)
})
