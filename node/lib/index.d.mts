export * from './index.js'
import * as tokenbroker from './index.js'
export default tokenbroker
