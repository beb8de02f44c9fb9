'use strict'
// Loads the compiled binding. `napi build --no-js` leaves this to us: napi-rs's generated
// loader probes the C library and every platform before it loads anything, about 2 ms of each
// new process's start (docs/benchmarks.md, "The binding's loader" under "Re-taken on main,
// 2026-12-03 16:48"). Here the platform names its one file: `tokenbroker.<platform>.node`
// beside the package (a local build, as `napi build --platform` names it), else the package
// `tokenbroker-<platform>`. The local file goes straight to `process.dlopen`: a `require` of
// it would resolve and realpath the path first (about 0.3 ms of a new process), and nothing
// here needs `require`'s cache (the bundle that loads this is itself loaded once).

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
  // The package root is this file's parent directory (lib/, or dist/ in the bundle).
  const local = `${__dirname.slice(0, __dirname.lastIndexOf('/'))}/tokenbroker.${platform}.node`
  const candidates = [local, `tokenbroker-${platform}`]
  const failures = []
  try {
    const addon = { exports: {} }
    process.dlopen(addon, local)
    return addon.exports
  } catch (err) {
    failures.push(err)
  }
  try {
    return require(candidates[1])
  } catch (err) {
    failures.push(err)
  }
  // dlopen's messages start with the path already.
  const reason = (err, candidate) => err.message.split('\n')[0].replace(`${candidate}: `, '')
  const tried = failures.map((err, i) => `  ${candidates[i]}: ${reason(err, candidates[i])}`).join('\n')
  const musl = process.platform === 'linux' ? ' (a glibc build: musl systems are not supported)' : ''
  throw new Error(`cannot load tokenbroker's native binding for ${host}${musl}; tried:\n${tried}`, {
    cause: failures[0],
  })
}

module.exports = load()
