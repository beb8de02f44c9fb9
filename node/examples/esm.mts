// An ES module's view of the package: the CommonJS entry's types (lib/index.d.ts), its named
// exports and `module.exports` as the default.
import tokenbroker, { Broker, TokenBrokerError, setLogger, type AccessToken } from 'tokenbroker'

export function make(): Broker {
  const b: Broker = new tokenbroker.Broker({ cache: { store: 'memory' } })
  const isError: boolean = new Error('x') instanceof TokenBrokerError
  void isError
  tokenbroker.setLogger(null)
  setLogger((r) => console.error(r.message))
  return b
}

export async function get(b: Broker): Promise<string> {
  const t: AccessToken = await b.token('p')
  return t.header()
}
