'use strict'
// Keeping the Authorization header on its own origin (the core's rule, `keepsToken`): axios
// redirects. fetch drops the header on every cross-origin redirect itself.

const native = require('./native.js')

/** The absolute URL an axios request config goes to (`url`, else `baseURL` + a relative `url`), or `''`. */
function axiosUrl(config) {
  const url = typeof config.url === 'string' ? config.url : ''
  const absolute = /^([a-z][a-z\d+\-.]*:)?\/\//i.test(url) && config.allowAbsoluteUrls !== false
  if (absolute || !config.baseURL) return url
  try {
    return new URL(url, config.baseURL).href
  } catch {
    return ''
  }
}

const callerBeforeRedirect = Symbol('callerBeforeRedirect')

/**
 * axios' `beforeRedirect` (follow-redirects' options of the next hop): drops `Authorization`
 * unless the core keeps the token for that hop, then runs the caller's own hook.
 */
function sameOriginRedirects(requestUrl, previous) {
  const caller = previous && callerBeforeRedirect in previous ? previous[callerBeforeRedirect] : previous
  const hook = (redirect, ...rest) => {
    if (!native.keepsToken(requestUrl, String(redirect?.href ?? ''))) {
      for (const name of Object.keys(redirect?.headers ?? {})) {
        if (name.toLowerCase() === 'authorization') delete redirect.headers[name]
      }
    }
    if (typeof caller === 'function') return caller(redirect, ...rest)
  }
  hook[callerBeforeRedirect] = caller
  return hook
}

module.exports = { axiosUrl, sameOriginRedirects }
