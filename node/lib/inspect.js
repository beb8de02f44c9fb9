'use strict'
// `util.inspect` hooks without loading `node:util` up front: a new process's first `require`
// of a built-in costs about 0.2 ms, even of one Node has loaded already.

/** The symbol `util.inspect` looks up, registered globally under this documented name. */
const inspectCustom = Symbol.for('nodejs.util.inspect.custom')

/** The `inspect` that Node hands a custom inspector, else (a direct call) `util.inspect`. */
function inspectWith(inspectFn) {
  return typeof inspectFn === 'function' ? inspectFn : require('node:util').inspect
}

module.exports = { inspectCustom, inspectWith }
