// Type-checked with `npm run typecheck` (tsc --noEmit): the package's types as an app sees them.
import { inspect } from 'node:util'

import {
  AccessToken,
  Broker,
  ErrorCode,
  RegisteredClient,
  TokenBrokerError,
  setLogger,
  type Config,
  type LogRecord,
  type Stats,
} from 'tokenbroker'

const config: Config = {
  cache: { store: 'memory' },
  http: { timeout: 10, max_retries: 2 },
  profiles: {
    aos: {
      provider: 'alliance',
      host: 'iam.example.com',
      client_id: 'aos-client',
      client_secret: 'env:AOS_SECRET',
      scopes: ['User.Read.All'],
      enrollment: '6f1c2a4e-0b7d-4c1e-9a55-2f7f1b0e8c3d',
    },
  },
}

export async function main(): Promise<void> {
  const broker = new Broker(config)
  const fromFile: Broker = Broker.fromConfig()
  void fromFile

  const token: AccessToken = await broker.token('aos', { scopes: ['User.Read.All'], minTtl: 60 })
  const header: string = token.header()
  const expires: Date = token.expiresAt
  const scopes: string[] = token.scopes
  console.log(header.length, expires.toISOString(), scopes, inspect(token), JSON.stringify(token))

  // After the API refused `token` with a 401: one new token for every caller that saw it.
  const fresh: AccessToken = await broker.token('aos', { rejected: token })
  console.log(fresh.tokenType)

  setLogger((r: LogRecord) => console.error(r.level, r.target, r.message), { level: 'info' })
  setLogger(console)
  setLogger(null)

  const cached: AccessToken | null = broker.cachedToken('aos', { minTtl: 30 })
  if (cached !== null) console.log(cached.tokenType)

  const res: Response = await broker.fetch('aos', 'https://api.example.com/me', { method: 'GET' })
  console.log(res.status)

  // An axios-style interceptor, without depending on axios.
  const intercept = broker.axiosInterceptor('aos')
  const cfg = await intercept({ url: '/x', headers: {} as Record<string, unknown> })
  console.log(cfg.url)

  const stats: Stats = broker.stats()
  console.log(stats.hits + stats.fetches, broker.profileNames())

  try {
    await broker.token('missing')
  } catch (err) {
    if (err instanceof TokenBrokerError) {
      const code: 'ERR_TOKENBROKER_CONFIG' | string = err.code
      if (err.code === ErrorCode.oauth) console.log(err.oauthError, err.description, err.status)
      console.log(code, err.kind)
    }
  }

  await broker.deviceLogin('aos', { onCode: (c) => console.log(c.userCode, c.verificationUri) })
  await broker.login('aos', { openBrowser: false, timeout: 120, onUrl: (u) => console.log(u) })
  const pending = await broker.beginLogin('aos', 'http://127.0.0.1:8080/callback')
  await broker.completeLogin(pending, `${pending.url}&code=x`)
  await broker.clearCache()

  const client: RegisteredClient = await broker.registerClient('aos', { grant_types: ['client_credentials'], scope: 'a' })
  const secret: string | undefined = client.clientSecret
  console.log(client.clientId, secret === undefined, (await broker.listClients('aos')).length)
}
