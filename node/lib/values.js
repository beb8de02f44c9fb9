'use strict'
// The values the broker hands out: tokens and registered clients that never print a secret.

const { inspectCustom, inspectWith } = require('./inspect.js')

// The core's id of each token object, for `rejected`; not part of the public API.
const tokenIds = new WeakMap()

/** An access token. `inspect`, `JSON.stringify` and `String()` never show its value. */
class AccessToken {
  #value
  #header

  /** @param data the native array `[accessToken, tokenType, header, expiresAtMs, id, ...scopes]` */
  constructor(data) {
    tokenIds.set(this, data[4])
    this.#value = data[0]
    this.#header = data[2]
    this.tokenType = data[1]
    this.expiresAt = new Date(data[3])
    this.scopes = data.slice(5)
  }

  /** The access token value. */
  get accessToken() {
    return this.#value
  }

  /** The `Authorization` header value, `Bearer <token>`. */
  header() {
    return this.#header
  }

  toJSON() {
    return { tokenType: this.tokenType, expiresAt: this.expiresAt, scopes: this.scopes, accessToken: '[redacted]' }
  }

  toString() {
    return `[AccessToken ${this.tokenType} [redacted], expires ${this.expiresAt.toISOString()}]`
  }

  [inspectCustom](depth, options, inspectFn) {
    const shown = { tokenType: this.tokenType, expiresAt: this.expiresAt, scopes: this.scopes, accessToken: '[redacted]' }
    return `AccessToken ${inspectWith(inspectFn)(shown, options)}`
  }
}

/** A registered client. `inspect` and `JSON.stringify` never show its credentials. */
class RegisteredClient {
  #clientSecret
  #registrationAccessToken
  #apiKey

  constructor(data) {
    const info = data.info
    this.clientId = info.client_id
    /** Every public field the server returned (RFC 7591 names), `client_id` included. */
    this.metadata = info
    this.#clientSecret = data.clientSecret ?? undefined
    this.#registrationAccessToken = data.registrationAccessToken ?? undefined
    this.#apiKey = data.apiKey ?? undefined
  }

  /** The client secret, when the server sent one (on creation: keep it). */
  get clientSecret() {
    return this.#clientSecret
  }

  /** The RFC 7592 registration access token, when issued or rotated (the broker stores it too). */
  get registrationAccessToken() {
    return this.#registrationAccessToken
  }

  /** Alvaria's `x_api_key` for the new client, when issued. */
  get apiKey() {
    return this.#apiKey
  }

  toJSON() {
    return this.metadata
  }

  [inspectCustom](depth, options, inspectFn) {
    const shown = { clientId: this.clientId, metadata: this.metadata }
    if (this.#clientSecret !== undefined) shown.clientSecret = '[redacted]'
    if (this.#registrationAccessToken !== undefined) shown.registrationAccessToken = '[redacted]'
    if (this.#apiKey !== undefined) shown.apiKey = '[redacted]'
    return `RegisteredClient ${inspectWith(inspectFn)(shown, options)}`
  }
}

const wrapClient = (data) => new RegisteredClient(data)

function wrapToken(data) {
  return new AccessToken(data)
}

module.exports = { AccessToken, RegisteredClient, tokenIds, wrapToken, wrapClient }
