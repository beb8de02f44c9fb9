'use strict'
// The core's log events: to the logger given to setLogger, else (on the main thread) to
// util.debuglog's `tokenbroker` section, printed when NODE_DEBUG=tokenbroker.

const native = require('./native.js')
const { configError, rethrow } = require('./errors.js')

const METHODS = ['error', 'warn', 'info', 'debug']

// `util.debuglog` only when NODE_DEBUG names anything (it reads the variable as the process
// started, as this does): a new process's first `require` of a built-in costs about 0.2 ms.
const debug = process.env.NODE_DEBUG ? require('node:util').debuglog('tokenbroker') : { enabled: false }

// `node:worker_threads` loads some 25 internal modules (streams, messaging; 2-3 ms of CPU per
// new process), for a question asked only when NODE_DEBUG names tokenbroker.
const isMainThread = () => require('node:worker_threads').isMainThread

/** A sink that never throws into the event loop: a failing logger is reported once, as a warning. */
function guarded(deliver) {
  let warned = false
  return (record) => {
    try {
      deliver(record)
    } catch (e) {
      if (!warned) {
        warned = true
        process.emitWarning(`tokenbroker logger failed: ${e}`)
      }
    }
  }
}

/** The sink of a logger: a function of the record, or an object with a method per level. */
function sinkOf(logger) {
  if (typeof logger === 'function') return guarded((r) => logger(r))
  if (logger && typeof logger === 'object' && METHODS.every((m) => typeof logger[m] === 'function')) {
    return guarded((r) => logger[r.level === 'trace' ? 'debug' : r.level](r.message, { target: r.target }))
  }
  throw configError('setLogger', `the logger must be a function or an object with ${METHODS.join(', ')} methods`)
}

/**
 * Sends the core's log events to `logger` (process-wide; the last call wins): a function
 * given `{ level, target, message }`, or an object with `error`, `warn`, `info` and `debug`
 * methods given `(message, { target })`. `options.level` (default `debug`) is the most
 * verbose level sent. `null` restores the default: NODE_DEBUG=tokenbroker, else nothing.
 */
function setLogger(logger, options) {
  const level = options?.level ?? null
  try {
    if (logger != null) return native.setLogger(sinkOf(logger), level)
    if (debug.enabled && isMainThread()) {
      return native.setLogger(
        guarded((r) => debug('%s %s: %s', r.level.toUpperCase(), r.target, r.message)),
        level ?? 'debug',
      )
    }
    return native.setLogger(null, level)
  } catch (err) {
    rethrow(err)
  }
}

// NODE_DEBUG is read once, at load; a worker thread leaves the main thread's logger alone.
if (debug.enabled && isMainThread()) setLogger(null)

module.exports = { setLogger }
