// ESM entry: the same objects as the CommonJS entry, so `instanceof` works across both.
import cjs from '../dist/index.js'

export const { Broker, AccessToken, RegisteredClient, TokenBrokerError, ErrorCode, PendingLogin, setLogger } = cjs
export default cjs
