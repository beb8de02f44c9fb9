'use strict'
// Loads the compiled binding. `napi build --no-js` leaves this to us: napi-rs's generated
// loader probes the C library and every platform before it loads anything, about 2 ms of each
// new process's start (docs/benchmarks.md, "The binding's loader" under "Re-taken on main,
// 2026-12-03 16:48"). Here the platform names its one file: `tokenbroker.<platform>.node`
// beside the package (a local build, as `napi build --platform` names it), else the package
// `tokenbroker-<platform>`.

const { join } = require('node:path')

// `process.platform-process.arch` → the suffix napi-rs gives each target of package.json.
const PLATFORMS = {
  'linux-x64': 'linux-x64-gnu',
  'linux-arm64': 'linux-arm64-gnu',
  'darwin-x64': 'darwin-x64',
  'darwin-arm64': 'darwin-arm64',
}

function load() {
  const host = `${process.platform}-${process.arch}`
  const platform = PLATFORMS[host]
  if (platform === undefined) {
    throw new Error(`tokenbroker has no native build for ${host} (built for: ${Object.keys(PLATFORMS).join(', ')})`)
  }
  const candidates = [join(__dirname, '..', `tokenbroker.${platform}.node`), `tokenbroker-${platform}`]
  const failures = []
  for (const candidate of candidates) {
    try {
      return require(candidate)
    } catch (err) {
      failures.push(err)
    }
  }
  const tried = failures.map((err, i) => `  ${candidates[i]}: ${err.message.split('\n')[0]}`).join('\n')
  const musl = process.platform === 'linux' ? ' (a glibc build: musl systems are not supported)' : ''
  throw new Error(`cannot load tokenbroker's native binding for ${host}${musl}; tried:\n${tried}`, {
    cause: failures[0],
  })
}

module.exports = load()
