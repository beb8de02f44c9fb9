'use strict'
// The typed JavaScript face of the native binding: errors with a stable `code`, tokens that
// never print themselves, and the fetch / axios helpers. Every OAuth and cache decision is
// made by the Rust core.

const { inspectCustom, inspectWith } = require('./inspect.js')
const native = require('./native.js')
const { ErrorCode, TokenBrokerError, configError, rethrow } = require('./errors.js')
const { setLogger } = require('./logging.js')
const { axiosUrl, sameOriginRedirects } = require('./redirects.js')
const { AccessToken, RegisteredClient, tokenIds, wrapClient, wrapToken } = require('./values.js')

// Scopes go to the core as given (a list or one space-separated string): it parses them.
function scopesOf(options) {
  return options?.scopes ?? undefined
}

// Where `useAxios` keeps, on a request's config, the token it sent and whether it retried.
const AXIOS_STATE = '_tokenbroker'

class Broker {
  #native

  /**
   * @param config an object of the same shape as the TOML file (`profiles`, `cache`, `http`),
   *   TOML text, or a native broker (internal); without one, the config file
   *   (`TOKENBROKER_CONFIG`, else `~/.config/tokenbroker/config.toml`), as `fromConfig()`.
   */
  constructor(config) {
    if (config instanceof native.NativeBroker) {
      this.#native = config
      return
    }
    try {
      this.#native = new native.NativeBroker(config === undefined ? null : config)
    } catch (err) {
      rethrow(err)
    }
  }

  /** A broker over the config file: `path`, else `TOKENBROKER_CONFIG`, else the user config. */
  static fromConfig(path) {
    try {
      return new Broker(native.NativeBroker.fromConfig(path ?? null))
    } catch (err) {
      rethrow(err)
    }
  }

  /** A valid access token: from memory (synchronously checked first), the shared tier, or the provider. */
  token(profile, options) {
    if (options === undefined) {
      // The warm path: no options to read, one core lookup, a promise made once per token.
      const warm = this.#warm.get(profile)
      if (warm !== undefined) {
        let data = null
        try {
          data = warm.cachedToken()
          if (data === null && this.#atHand(profile)) data = warm.cachedToken()
        } catch {
          // Let the core's token() report it.
        }
        if (data === true) return warm.resolved
        if (data !== null) return this.#converted(warm, data).resolved
        return this.#native.token(profile).then(wrapToken, rethrow)
      }
    }
    const scopes = scopesOf(options)
    const minTtl = options?.minTtl
    const force = options?.forceRefresh === true
    let rejected
    if (options?.rejected != null) {
      rejected = tokenIds.get(options.rejected)
      if (rejected === undefined) {
        return Promise.reject(configError("token options, key 'rejected'", 'not an AccessToken of this package'))
      }
    }
    let cached = null
    try {
      cached = this.#cached(profile, scopes, minTtl, force, rejected)
      if (cached === null && this.#atHand(profile, scopes, minTtl, force, rejected)) {
        cached = this.#cached(profile, scopes, minTtl, force, rejected)
      }
    } catch {
      // Let the core's token() report it (and count it in stats().errors).
    }
    if (cached !== null) return Promise.resolve(cached)
    return this.#native.token(profile, scopes, minTtl, force, rejected).then(wrapToken, rethrow)
  }

  /** The token held in memory, or `null`. Synchronous; never does I/O. */
  cachedToken(profile, options) {
    if (options === undefined) {
      const warm = this.#warm.get(profile)
      if (warm !== undefined) {
        const data = warm.cachedToken()
        return data === true ? warm.token : data === null ? null : this.#converted(warm, data).token
      }
    }
    try {
      return this.#cached(profile, scopesOf(options), options?.minTtl)
    } catch (err) {
      rethrow(err)
    }
  }

  // The core decides which token is valid, on every call; this only avoids converting the
  // same token twice. The native side answers `true` while the cached token is the one it
  // handed out last for this profile and options (ids are never reused), so a token crosses
  // the boundary once.
  //
  // Per profile, for calls without options: the native warm-path function, the token it
  // handed out last and an already-resolved promise of that token (a fulfilled promise never
  // changes, so every caller may await the same one).
  #warm = new Map()
  // Per profile and options, for calls with options: the last token converted.
  #others = new Map()

  #converted(warm, data) {
    const token = new AccessToken(data)
    warm.token = token
    warm.resolved = Promise.resolve(token)
    return warm
  }

  // Whether the core put in memory, on this thread, the token the file store holds (it reads
  // it here when that needs no other thread and no keyring; see `tokenAtHand`). False also
  // when the arguments are bad: the core's token() reports those.
  #atHand(profile, scopes, minTtl, force, rejected) {
    try {
      return this.#native.tokenAtHand(profile, scopes, minTtl, force, rejected)
    } catch {
      return false
    }
  }

  // `force` and `rejected` go to the core, which decides whether memory may answer them.
  #cached(profile, scopes, minTtl, force = false, rejected = undefined) {
    if (scopes === undefined && minTtl === undefined && !force && rejected === undefined) {
      let warm = this.#warm.get(profile)
      if (warm === undefined) {
        warm = { cachedToken: this.#native.warm(profile), token: null, resolved: null }
        this.#warm.set(profile, warm)
      }
      const data = warm.cachedToken()
      return data === true ? warm.token : data === null ? null : this.#converted(warm, data).token
    }
    const named = scopes === undefined ? '\u0001' : Array.isArray(scopes) ? scopes.join(' ') : String(scopes)
    const key = `${profile}\u0000${named}\u0000${minTtl ?? ''}`
    const last = this.#others.get(key)
    const data = this.#native.cachedTokenUnless(profile, scopes, minTtl, last?.id, force, rejected)
    if (data === true) return last.token
    if (data === null) return null
    const token = new AccessToken(data)
    this.#others.set(key, { id: data[4], token })
    return token
  }

  /**
   * `fetch` with the profile's `Authorization` header. On a 401 from the request's own origin
   * the token is refreshed once (unless another caller already did) and the request retried once.
   */
  async fetch(profile, input, init, options) {
    const base = new Request(input, init)
    const send = (token, request) => {
      const headers = new Headers(request.headers)
      headers.set('authorization', token.header())
      return fetch(new Request(request, { headers }))
    }
    const token = await this.token(profile, options)
    const first = await send(token, base.clone())
    // fetch drops Authorization on every redirect to another origin, so the request that
    // answered carried our token exactly when it is of the caller's origin (the core checks).
    if (!native.retryWithNewToken(first.status, base.url, first.url || base.url, true, false)) return first
    await first.body?.cancel().catch(() => {})
    // The core refreshes once for every caller refused with the same token, and hands out a
    // newer cached token at once if there is one.
    return send(await this.token(profile, { ...options, forceRefresh: false, rejected: token }), base)
  }

  /**
   * An axios request interceptor: `axios.interceptors.request.use(broker.axiosInterceptor('p'))`.
   * Needs nothing from axios: it sets `config.headers.Authorization`, and a `beforeRedirect`
   * that drops it on a redirect to another origin (older axios keep it for subdomains). It
   * cannot retry after a 401: `useAxios` installs this and the retry.
   */
  axiosInterceptor(profile, options) {
    return async (config) => (await this.#axiosRequest(profile, options, config)).config
  }

  /**
   * Sends the profile's token with every request of an axios instance (as `axiosInterceptor`)
   * and, when the core says a 401 refused it (answered at the caller's origin, to a request
   * that carried it), gets a token with `rejected` and sends the request once more. Returns
   * the instance: `const api = broker.useAxios(axios.create(), 'p')`.
   */
  useAxios(instance, profile, options) {
    instance.interceptors.request.use(async (config) => {
      const retried = config[AXIOS_STATE]?.retried === true
      const { config: out, token } = await this.#axiosRequest(profile, options, config)
      // The token object only: axios serialises a failed request's config, and an
      // AccessToken never shows its value there.
      out[AXIOS_STATE] = { url: axiosUrl(out), token, retried }
      return out
    })
    const refused = async (response) => {
      const config = response?.config
      const state = config?.[AXIOS_STATE]
      const last = response?.request
      if (state === undefined || typeof last?.getHeader !== 'function') return null
      const carried = last.getHeader('authorization') === state.token.header()
      const answered = `${last.protocol}//${last.getHeader('host')}${last.path}`
      if (!native.retryWithNewToken(response.status, state.url, answered, carried, state.retried)) return null
      // The core refreshes once for every caller refused with the same token; the request
      // interceptor then sends the new one.
      await this.token(profile, { ...options, forceRefresh: false, rejected: state.token })
      config[AXIOS_STATE] = { ...state, retried: true }
      return instance.request(config)
    }
    instance.interceptors.response.use(
      async (response) => (await refused(response)) ?? response,
      async (error) => {
        const again = await refused(error?.response)
        if (again === null) throw error
        return again
      },
    )
    return instance
  }

  async #axiosRequest(profile, options, config) {
    const token = await this.token(profile, options)
    const headers = config.headers ?? (config.headers = {})
    if (typeof headers.set === 'function') headers.set('Authorization', token.header())
    else headers.Authorization = token.header()
    config.beforeRedirect = sameOriginRedirects(axiosUrl(config), config.beforeRedirect)
    return { config, token }
  }

  /** A snapshot of the broker's counters: every core figure, camelCase. */
  stats() {
    return this.#native.stats()
  }

  /** Names of the configured profiles, sorted. */
  profileNames() {
    return this.#native.profileNames()
  }

  /** Forgets every cached token, in memory and in the shared tier. */
  clearCache() {
    return this.#native.clearCache().catch(rethrow)
  }

  /**
   * Signs out: revokes the stored refresh token at the provider where it has a revocation
   * endpoint, then forgets the profile's tokens here (even when revocation failed, whose error
   * is still thrown). Resolves to whether a token was revoked.
   */
  logout(profile) {
    return this.#native.logout(profile).catch(rethrow)
  }

  /** Forgets the profile's cached token and stored refresh token (a local logout). */
  forget(profile) {
    return this.#native.forget(profile).catch(rethrow)
  }

  /** Entries of the shared tier (none for a memory-only broker), without secrets. */
  cacheEntries() {
    return this.#native.cacheEntries().then(
      (entries) => entries.map((e) => ({ ...e, expiresAt: new Date(e.expiresAt) })),
      rethrow,
    )
  }

  /** Authorization code sign-in through the system browser and a loopback listener. */
  login(profile, options) {
    const onUrl = options?.onUrl && guard(options.onUrl, 'onUrl')
    return this.#native
      .login(profile, options?.openBrowser, options?.timeout, scopesOf(options), onUrl)
      .then(wrapToken, rethrow)
  }

  /** Device authorization sign-in; `onCode` is told the code and URL to show the user. */
  deviceLogin(profile, options) {
    const onCode = options?.onCode && guard(options.onCode, 'onCode')
    return this.#native
      .deviceLogin(profile, scopesOf(options), onCode, options?.timeout)
      .then(wrapToken, rethrow)
  }

  /** Starts a sign-in whose browser step the app runs itself; open `pending.url`. */
  beginLogin(profile, redirectUri, options) {
    return this.#native.beginLogin(profile, redirectUri, scopesOf(options)).catch(rethrow)
  }

  /** Completes a sign-in from the redirect URL the app received. */
  completeLogin(pending, redirectUrl) {
    if (!(pending instanceof native.PendingLogin)) {
      return Promise.reject(configError('completeLogin', "'pending' must be the PendingLogin of beginLogin"))
    }
    return this.#native.completeLogin(pending, redirectUrl).then(wrapToken, rethrow)
  }

  /** Completes a sign-in from the `form_post` body (a Buffer or a string of form fields) the redirect URI received. */
  completeLoginForm(pending, body) {
    if (!(pending instanceof native.PendingLogin)) {
      return Promise.reject(configError('completeLoginForm', "'pending' must be the PendingLogin of beginLogin"))
    }
    return this.#native.completeLoginForm(pending, body).then(wrapToken, rethrow)
  }

  /** Registers a client at the profile's provider (RFC 7591, or Alvaria's client API). */
  registerClient(profile, metadata, options) {
    return this.#native
      .registerClient(profile, metadata, options?.initialAccessToken ?? null)
      .then(wrapClient, rethrow)
  }

  /** Reads a client's registration (RFC 7592 with the stored registration access token, or Alvaria). */
  readClient(profile, clientId) {
    return this.#native.readClient(profile, clientId).then(wrapClient, rethrow)
  }

  /** Replaces a client's metadata (start from `readClient(...).metadata`). */
  updateClient(profile, clientId, metadata) {
    return this.#native.updateClient(profile, clientId, metadata).then(wrapClient, rethrow)
  }

  /** Deletes a client. */
  deleteClient(profile, clientId) {
    return this.#native.deleteClient(profile, clientId).catch(rethrow)
  }

  /** Lists the clients of the profile's organisation (Alvaria; never with secrets). */
  listClients(profile) {
    return this.#native.listClients(profile).then((list) => list.map(wrapClient), rethrow)
  }

  [inspectCustom](depth, options, inspectFn) {
    return `Broker ${inspectWith(inspectFn)({ profiles: this.profileNames() }, options)}`
  }
}

/** A callback run from the native side must not throw into the void: report it as a warning. */
function guard(fn, name) {
  if (typeof fn !== 'function') {
    throw configError('login options', `'${name}' must be a function`)
  }
  return (arg) => {
    try {
      const r = fn(arg)
      if (r && typeof r.catch === 'function') r.catch((e) => process.emitWarning(`tokenbroker ${name} callback failed: ${e}`))
    } catch (e) {
      process.emitWarning(`tokenbroker ${name} callback failed: ${e}`)
    }
  }
}

const { PendingLogin } = native

// Names only, no `key: value`: ES modules importing this package get its named exports from
// Node's scan of this statement, which stops at the first one it cannot read.
module.exports = {
  Broker,
  AccessToken,
  RegisteredClient,
  TokenBrokerError,
  ErrorCode,
  PendingLogin,
  setLogger,
}
