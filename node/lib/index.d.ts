// Types of the tokenbroker package (hand-written over the generated `native.d.ts`).

import type { inspect } from 'node:util'

/** A provider preset shipped with the core. */
export type ProviderName = 'alliance' | 'alvaria' | 'alvys' | 'azure-ad-v1' | 'oidc' | (string & {})

/** One profile: same keys as a `[profiles.NAME]` table of the TOML file (snake_case). */
export interface ProfileConfig {
  provider: ProviderName
  client_id: string
  /** A literal secret, `env:NAME` or `file:PATH`. */
  client_secret?: string
  scopes?: string[] | string
  auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none'
  private_key?: string
  certificate?: string
  redirect_uri?: string
  issuer?: string
  grant?: 'client_credentials' | 'authorization_code' | 'refresh_token' | 'device_code'
  ca_file?: string
  api_key?: string
  refresh_token?: string
  headers?: Record<string, string>
  token_url?: string
  authorize_url?: string
  device_url?: string
  registration_url?: string
  revocation_url?: string
  jwks_url?: string
  /** Preset parameters: `tenant`, `region`, `enrollment`, `resource`, `org`, … */
  [param: string]: unknown
}

export interface CacheConfig {
  store?: 'memory' | 'file' | 'redis'
  path?: string
  redis_url?: string
  redis_prefix?: string
  max_entries?: number
  refresh_share?: number
  refresh_jitter?: number
  default_ttl?: number
}

export interface HttpConfig {
  connect_timeout?: number
  timeout?: number
  max_retries?: number
  max_retry_wait?: number
  ca_file?: string
}

/** The configuration: the same shape as the TOML file. */
export interface Config {
  profiles?: Record<string, ProfileConfig>
  cache?: CacheConfig
  http?: HttpConfig
}

/** Options of `cachedToken` (and of `token`). */
export interface CachedTokenOptions {
  /** Scopes to request instead of the profile's (an array, or one space-separated string). */
  scopes?: string[] | string | null
  /**
   * The token must stay valid at least this many seconds.
   * @defaultValue 0
   */
  minTtl?: number
}

export interface TokenOptions extends CachedTokenOptions {
  /**
   * Fetch a new token even if a valid one is cached.
   * @defaultValue false
   */
  forceRefresh?: boolean
  /**
   * A token the API refused (HTTP 401): a fresh one is fetched once for every caller that
   * refused the same token; if a newer token is already cached, that one is returned.
   */
  rejected?: AccessToken | null
}

export interface LoginOptions {
  /**
   * Open the system browser.
   * @defaultValue true
   */
  openBrowser?: boolean
  /**
   * Seconds to wait for the browser to come back.
   * @defaultValue 300
   */
  timeout?: number
  scopes?: string[] | string | null
  /** Told the authorization URL, to print it or drive a browser. */
  onUrl?: ((url: string) => void) | null
}

export interface DeviceCode {
  userCode: string
  verificationUri: string
  verificationUriComplete?: string
  /** Seconds the code stays valid. */
  expiresIn: number
  /** Seconds between polls. */
  interval: number
  scopes: string[]
}

export interface DeviceLoginOptions {
  scopes?: string[] | string | null
  /** Told what to show the user. */
  onCode?: ((code: DeviceCode) => void) | null
  /** Seconds to wait for the user's approval; without one, until the code expires. */
  timeout?: number | null
}

/** A log level of the core's events, most severe first. */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace'

/** One core log event. Its text holds no secret: the core never logs one. */
export interface LogRecord {
  level: LogLevel
  /** The core module that logged it, dotted: `tokenbroker.http.client`. */
  target: string
  /** Enclosing spans with their fields, the message, then the event's fields. */
  message: string
}

/** A logger object such as `console`, pino or winston (`trace` events go to `debug`). */
export interface LevelLogger {
  error(message: string, meta: { target: string }): unknown
  warn(message: string, meta: { target: string }): unknown
  info(message: string, meta: { target: string }): unknown
  debug(message: string, meta: { target: string }): unknown
}

export interface SetLoggerOptions {
  /**
   * The most verbose level sent to the logger.
   * @defaultValue "debug"
   */
  level?: LogLevel
}

/**
 * Sends the core's log events to `logger`, process-wide (the last call wins; a logger set in a
 * worker thread is called on that thread). `null` restores the default: with
 * `NODE_DEBUG=tokenbroker`, `util.debuglog` on stderr, else nothing. A logger never keeps the
 * process alive and is never called on the warm path of `token()`.
 */
export declare function setLogger(logger: ((record: LogRecord) => void) | LevelLogger | null, options?: SetLoggerOptions): void

export interface Stats {
  hits: number
  misses: number
  sharedHits: number
  fetches: number
  backgroundRefreshes: number
  coalesced: number
  errors: number
  storeErrors: number
  /** Shared-tier entries skipped because they do not open with this broker's cache key. */
  undecryptable: number
  entries: number
  fetchMeanMs: number
  fetchP50Ms: number
  fetchP99Ms: number
  fetchMaxMs: number
}

export interface CacheEntry {
  key: string
  expiresAt: Date
  scopes: string[]
  hasRefreshToken: boolean
}

export type ErrorKind =
  | 'config'
  | 'transport'
  | 'timeout'
  | 'oauth'
  | 'invalid_response'
  | 'cache'
  | 'registration'
  | 'interaction'
  | 'rate_limited'

export type TokenBrokerErrorCode =
  | 'ERR_TOKENBROKER_CONFIG'
  | 'ERR_TOKENBROKER_TRANSPORT'
  | 'ERR_TOKENBROKER_TIMEOUT'
  | 'ERR_TOKENBROKER_OAUTH'
  | 'ERR_TOKENBROKER_INVALID_RESPONSE'
  | 'ERR_TOKENBROKER_CACHE'
  | 'ERR_TOKENBROKER_REGISTRATION'
  | 'ERR_TOKENBROKER_INTERACTION'
  | 'ERR_TOKENBROKER_RATE_LIMITED'

export declare const ErrorCode: Readonly<Record<ErrorKind, TokenBrokerErrorCode>>

/** Every failure: `code` is stable, messages never contain a secret. */
export declare class TokenBrokerError extends Error {
  readonly name: 'TokenBrokerError'
  readonly code: TokenBrokerErrorCode
  readonly kind: ErrorKind
  /** HTTP status, when the server answered. */
  readonly status?: number
  /**
   * Seconds the server asked to wait (`Retry-After`), when it did: kind `rate_limited` means
   * it asked for longer than the call's `http.deadline` allows.
   */
  readonly retryAfter?: number
  /** OAuth `error` (kind `oauth` only), e.g. `invalid_client`. */
  readonly oauthError?: string
  /** OAuth `error_description` (kind `oauth` only). */
  readonly description?: string
  /** OAuth `error_uri` (kind `oauth` only). */
  readonly uri?: string
  /** Provider error codes such as Azure's AADSTS numbers (kind `oauth` only). */
  readonly providerCodes?: number[]
}

/** An access token; `inspect`, `JSON.stringify` and `String()` never show its value. */
export declare class AccessToken {
  private constructor()
  readonly accessToken: string
  readonly tokenType: string
  readonly expiresAt: Date
  readonly scopes: string[]
  /** `Bearer <token>`. */
  header(): string
  toJSON(): { tokenType: string; expiresAt: Date; scopes: string[]; accessToken: '[redacted]' }
  toString(): string
  [inspect.custom](): string
}

/** RFC 7591 client metadata (snake_case field names), e.g. `grant_types`, `scope`, `redirect_uris`. */
export type ClientMetadata = Record<string, unknown>

/** A registered client; `inspect` and `JSON.stringify` never show its credentials. */
export declare class RegisteredClient {
  private constructor()
  readonly clientId: string
  /** Every public field the server returned, `client_id` and `registration_client_uri` included. */
  readonly metadata: ClientMetadata
  readonly clientSecret: string | undefined
  readonly registrationAccessToken: string | undefined
  readonly apiKey: string | undefined
  toJSON(): ClientMetadata
}

/** A sign-in started by `beginLogin`. */
export declare class PendingLogin {
  private constructor()
  readonly url: string
  readonly state: string
  readonly profile: string
}

/** Request config as axios passes it to a request interceptor (only what is used). */
export interface InterceptedRequest {
  headers?: { set(name: string, value: string): unknown } | Record<string, unknown>
  url?: string
  baseURL?: string
  allowAbsoluteUrls?: boolean
  /** Replaced by a hook that drops `Authorization` on a redirect to another origin, then calls this one. */
  beforeRedirect?: (...args: any[]) => unknown
}

/** An axios instance as `useAxios` uses it (only what is used). */
export interface AxiosLike {
  interceptors: {
    request: { use(onFulfilled: (config: any) => any): unknown }
    response: { use(onFulfilled: (response: any) => any, onRejected: (error: any) => any): unknown }
  }
  request(config: any): Promise<any>
}

export declare class Broker {
  /**
   * From a config object of the same shape as the TOML file, or TOML text; without one, from
   * the config file (`TOKENBROKER_CONFIG`, else `~/.config/tokenbroker/config.toml`).
   */
  constructor(config?: Config | string)
  static fromConfig(path?: string): Broker
  token(profile: string, options?: TokenOptions): Promise<AccessToken>
  cachedToken(profile: string, options?: CachedTokenOptions): AccessToken | null
  fetch(profile: string, input: string | URL | Request, init?: RequestInit, options?: TokenOptions): Promise<Response>
  axiosInterceptor(profile: string, options?: TokenOptions): <C extends InterceptedRequest>(config: C) => Promise<C>
  /** Installs the token and the one retry after a refused 401 on an axios instance; returns it. */
  useAxios<I extends AxiosLike>(instance: I, profile: string, options?: TokenOptions): I
  stats(): Stats
  profileNames(): string[]
  clearCache(): Promise<void>
  /** Revokes the stored refresh token where the provider can, then forgets the profile's tokens; whether one was revoked. */
  logout(profile: string): Promise<boolean>
  forget(profile: string): Promise<void>
  cacheEntries(): Promise<CacheEntry[]>
  login(profile: string, options?: LoginOptions): Promise<AccessToken>
  deviceLogin(profile: string, options?: DeviceLoginOptions): Promise<AccessToken>
  beginLogin(profile: string, redirectUri: string, options?: { scopes?: string[] | string | null }): Promise<PendingLogin>
  /** Completes a sign-in from the redirect URL the app received. */
  completeLogin(pending: PendingLogin, redirectUrl: string): Promise<AccessToken>
  /** Completes a sign-in from the `form_post` body the redirect URI received. */
  completeLoginForm(pending: PendingLogin, body: Buffer | string): Promise<AccessToken>
  registerClient(profile: string, metadata: ClientMetadata, options?: { initialAccessToken?: string | null }): Promise<RegisteredClient>
  readClient(profile: string, clientId: string): Promise<RegisteredClient>
  updateClient(profile: string, clientId: string, metadata: ClientMetadata): Promise<RegisteredClient>
  deleteClient(profile: string, clientId: string): Promise<void>
  listClients(profile: string): Promise<RegisteredClient[]>
}
