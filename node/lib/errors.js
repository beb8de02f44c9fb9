'use strict'
// Errors: the native side encodes each core error as `TOKENBROKER_ERROR {json}` (an async
// rejection cannot carry a custom `code`); this rebuilds it as a TokenBrokerError.

const native = require('./native.js')

const ERROR_PREFIX = 'TOKENBROKER_ERROR '

/** Stable `code` of each error kind the core reports: `ERR_TOKENBROKER_` and the kind in capitals. */
const ErrorCode = Object.freeze(
  Object.fromEntries(native.errorKinds().map((kind) => [kind, `ERR_TOKENBROKER_${kind.toUpperCase()}`])),
)

class TokenBrokerError extends Error {
  constructor(detail, options) {
    super(detail.message, options)
    this.name = 'TokenBrokerError'
    this.kind = detail.kind
    this.code = ErrorCode[detail.kind] || 'ERR_TOKENBROKER'
    if (detail.status !== undefined) this.status = detail.status
    if (detail.retryAfter !== undefined) this.retryAfter = detail.retryAfter
    if (detail.kind === 'oauth') {
      this.oauthError = detail.oauthError
      this.description = detail.description ?? undefined
      this.uri = detail.uri ?? undefined
      this.providerCodes = detail.providerCodes ?? []
    }
  }
}

/** Rebuilds the typed error from a native one; anything else is returned unchanged. */
function convertError(err) {
  const message = err && err.message
  if (typeof message !== 'string' || !message.startsWith(ERROR_PREFIX)) return err
  let detail
  try {
    detail = JSON.parse(message.slice(ERROR_PREFIX.length))
  } catch {
    return err
  }
  return new TokenBrokerError(detail)
}

function rethrow(err) {
  throw convertError(err)
}

/** A config error about `location`, as the core words them. */
function configError(location, reason) {
  return new TokenBrokerError({ kind: 'config', message: `config error in ${location}: ${reason}` })
}

module.exports = { ErrorCode, TokenBrokerError, convertError, rethrow, configError }
