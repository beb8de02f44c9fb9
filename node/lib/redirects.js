'use strict'
// Keeping the Authorization header on its own origin: fetch's 401 check and axios redirects.

/** The origin of an absolute URL, or `null`. */
function originOf(url) {
  try {
    const origin = new URL(url).origin
    return origin === 'null' ? null : origin
  } catch {
    return null
  }
}

/** The origin an axios request config goes to (`url`, else `baseURL` for a relative `url`), or `null`. */
function axiosOrigin(config) {
  const url = typeof config.url === 'string' ? config.url : ''
  const absolute = /^([a-z][a-z\d+\-.]*:)?\/\//i.test(url) && config.allowAbsoluteUrls !== false
  return originOf(absolute || !config.baseURL ? url : config.baseURL)
}

const callerBeforeRedirect = Symbol('callerBeforeRedirect')

/**
 * axios' `beforeRedirect` (follow-redirects' options of the next hop): drops `Authorization`
 * unless the hop stays on `origin`, then runs the caller's own hook.
 */
function sameOriginRedirects(origin, previous) {
  const caller = previous && callerBeforeRedirect in previous ? previous[callerBeforeRedirect] : previous
  const hook = (redirect, ...rest) => {
    if (origin === null || originOf(redirect?.href) !== origin) {
      for (const name of Object.keys(redirect?.headers ?? {})) {
        if (name.toLowerCase() === 'authorization') delete redirect.headers[name]
      }
    }
    if (typeof caller === 'function') return caller(redirect, ...rest)
  }
  hook[callerBeforeRedirect] = caller
  return hook
}

module.exports = { originOf, axiosOrigin, sameOriginRedirects }
