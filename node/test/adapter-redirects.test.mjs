// broker.fetch and the axios interceptor across redirects: the token only ever goes to the
// origin the caller sent the request to, and only a 401 from that origin causes a refresh.
// Two API servers on 127.0.0.1 (different ports, so different origins) record every request
// and its Authorization header; tokens come from the test provider.
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { after, test } from 'node:test'

import axios from 'axios'
import { Broker } from 'tokenbroker'
import { alvysProfile, clientRequests, memoryConfig, newClient, provider } from './helpers.mjs'

/**
 * An API on 127.0.0.1: `/redirect?status=&to=` redirects, `/deny` always answers 401, any
 * other path answers 401 to a header in `refuse` and 200 otherwise.
 */
async function apiServer() {
  const api = { seen: [], refuse: new Set() }
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      const url = new URL(req.url, 'http://x')
      const auth = req.headers.authorization ?? null
      api.seen.push({ path: url.pathname, auth })
      if (url.pathname === '/redirect') {
        res.writeHead(Number(url.searchParams.get('status')), { location: url.searchParams.get('to') })
      } else if (url.pathname === '/deny' || api.refuse.has(auth)) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' })
      } else {
        res.writeHead(200)
      }
      res.end()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  after(() => server.close())
  api.url = `http://127.0.0.1:${server.address().port}`
  api.redirect = (status, to) => `${api.url}/redirect?${new URLSearchParams({ status, to })}`
  // Headers shown by their name in `names` (so that a failing assertion never prints a token).
  const named = (names) => (r) =>
    r.auth === null ? null : (Object.entries(names).find(([, v]) => v === r.auth)?.[0] ?? 'another token')
  api.headersAt = (path, names = {}) => api.seen.filter((r) => r.path === path).map(named(names))
  api.allHeaders = (names = {}) => api.seen.map(named(names))
  return api
}

async function setup(prefix) {
  const base = await provider()
  const client = await newClient(prefix)
  const broker = new Broker(memoryConfig('api', await alvysProfile(base, client, 't1')))
  return { client, broker, a: await apiServer(), b: await apiServer() }
}

async function viaFetch(broker, method, url, body) {
  const res = await broker.fetch('api', url, { method, body })
  await res.body?.cancel()
  return res.status
}

async function viaAxios(broker, method, url, body) {
  const client = axios.create({ validateStatus: () => true })
  client.interceptors.request.use(broker.axiosInterceptor('api'))
  return (await client.request({ method, url, data: body })).status
}

async function viaUseAxios(broker, method, url, body) {
  const client = broker.useAxios(axios.create({ validateStatus: () => true }), 'api')
  return (await client.request({ method, url, data: body })).status
}

const ADAPTERS = { fetch: viaFetch, axios: viaAxios, useAxios: viaUseAxios }

for (const [name, send] of Object.entries(ADAPTERS)) {
  for (const [status, method, body] of [[302, 'GET', undefined], [307, 'POST', 'payload']]) {
    test(`${name}: a ${status} to another origin that answers 401 never gets the token`, async () => {
      const { client, broker, a, b } = await setup(`redir-${name}-${status}`)
      const sent = (await broker.token('api')).header()
      assert.equal(await send(broker, method, a.redirect(status, `${b.url}/deny`), body), 401)
      assert.ok(b.seen.length > 0)
      assert.deepEqual(b.allHeaders(), b.seen.map(() => null))
      assert.deepEqual(a.allHeaders({ sent }), ['sent']) // no retry: the 401 did not refuse our token
      assert.equal(await clientRequests(client.id), 1) // and no refresh
    })
  }

  test(`${name}: a redirect through another origin and back drops the token for good`, async () => {
    const { broker, a, b } = await setup(`redir-${name}-back`)
    const sent = (await broker.token('api')).header()
    const url = a.redirect(302, b.redirect(302, `${a.url}/deny`))
    assert.equal(await send(broker, 'GET', url, undefined), 401)
    assert.deepEqual(b.allHeaders(), b.seen.map(() => null))
    // fetch cannot tell that the final 401 came from a request without the token (the chain
    // is hidden), so broker.fetch may retry once; the retry goes to the caller's origin only.
    const atA = a.headersAt('/redirect', { sent })
    assert.equal(atA[0], 'sent')
    assert.ok(atA.length <= (name === 'fetch' ? 2 : 1))
    assert.ok(atA.every((h) => h !== null))
    assert.ok(a.headersAt('/deny').length > 0)
    assert.ok(a.headersAt('/deny').every((h) => h === null))
  })
}

test('fetch: a same-origin redirect keeps the token, and a 401 behind it is retried once', async () => {
  const { client, broker, a } = await setup('redir-fetch-same')
  const first = (await broker.token('api')).header()
  const url = a.redirect(302, `${a.url}/ok`)
  assert.equal(await viaFetch(broker, 'GET', url), 200)
  assert.deepEqual(a.headersAt('/ok', { first }), ['first'])

  a.refuse.add(first) // the API now refuses the token behind the redirect
  assert.equal(await viaFetch(broker, 'GET', url), 200)
  const fresh = (await broker.token('api')).header()
  assert.ok(fresh !== first)
  assert.deepEqual(a.headersAt('/ok', { first, fresh }), ['first', 'first', 'fresh'])
  assert.equal(await clientRequests(client.id), 2)

  // A target on the same origin that refuses every token: one refresh, one retry, then the 401.
  assert.equal(await viaFetch(broker, 'GET', a.redirect(302, `${a.url}/deny`)), 401)
  const newest = (await broker.token('api')).header()
  assert.ok(newest !== fresh)
  assert.deepEqual(a.headersAt('/deny', { fresh, newest }), ['fresh', 'newest'])
  assert.equal(await clientRequests(client.id), 3)
})

test('axios: a same-origin redirect keeps the token', async () => {
  const { client, broker, a } = await setup('redir-axios-same')
  const sent = (await broker.token('api')).header()
  assert.equal(await viaAxios(broker, 'GET', a.redirect(302, `${a.url}/ok`)), 200)
  assert.deepEqual(a.headersAt('/ok', { sent }), ['sent'])
  assert.deepEqual(a.headersAt('/redirect', { sent }), ['sent'])
  assert.equal(await clientRequests(client.id), 1)
})

test('axiosInterceptor: its beforeRedirect drops the token unless the next hop stays on the origin', async () => {
  const { broker } = await setup('redir-axios-hook')
  const intercept = broker.axiosInterceptor('api')
  const hops = []
  const config = await intercept({
    baseURL: 'http://api.example.test:8080',
    url: '/v1/items',
    headers: {},
    beforeRedirect: (options) => hops.push(options.href),
  })
  const header = config.headers.Authorization
  // follow-redirects' options of the next hop, as axios hands them to `beforeRedirect`
  const next = (href) => {
    const options = { href, headers: { Authorization: header, 'x-other': '1' } }
    config.beforeRedirect(options, { statusCode: 302, headers: {} })
    return options.headers
  }
  assert.ok(next('http://api.example.test:8080/v2/items').Authorization === header)
  for (const href of [
    'http://sub.api.example.test:8080/v1/items', // follow-redirects alone keeps it for a subdomain
    'https://api.example.test:8080/v1/items',
    'http://api.example.test:8081/v1/items',
    'http://api.example.test/v1/items',
    'not a url',
  ]) {
    const headers = next(href)
    assert.equal(headers.Authorization, undefined, href)
    assert.equal(headers['x-other'], '1')
  }
  assert.equal(hops.length, 6) // the caller's own hook still runs, once per hop
  await intercept(config) // the same config intercepted again (a retry) does not stack hooks
  next('http://api.example.test:8080/v3/items')
  assert.equal(hops.length, 7)
  const absolute = await intercept({ baseURL: 'http://other.test', url: 'http://api.example.test:8080/x', headers: {} })
  const options = { href: 'http://api.example.test:8080/y', headers: { authorization: header } }
  absolute.beforeRedirect(options)
  assert.ok(options.headers.authorization === header)
})

for (const [name, validateStatus] of [['useAxios', () => true], ['useAxios (401 as an error)', undefined]]) {
  test(`${name}: a same-origin redirect keeps the token, and a 401 behind it is retried once`, async () => {
    const { client, broker, a } = await setup(`redir-use-axios-${validateStatus ? 'ok' : 'err'}`)
    const api = broker.useAxios(axios.create(validateStatus ? { validateStatus } : {}), 'api')
    const status = async (url) => {
      try {
        return (await api.get(url)).status
      } catch (e) {
        if (e.response) return e.response.status
        throw e
      }
    }
    const first = (await broker.token('api')).header()
    const url = a.redirect(302, `${a.url}/ok`)
    assert.equal(await status(url), 200)
    a.refuse.add(first) // the API now refuses the token behind the redirect
    assert.equal(await status(url), 200)
    const fresh = (await broker.token('api')).header()
    assert.ok(fresh !== first)
    assert.deepEqual(a.headersAt('/ok', { first, fresh }), ['first', 'first', 'fresh'])
    assert.equal(await clientRequests(client.id), 2)

    // A target on the same origin that refuses every token: one refresh, one retry, then the 401.
    assert.equal(await status(a.redirect(302, `${a.url}/deny`)), 401)
    const newest = (await broker.token('api')).header()
    assert.deepEqual(a.headersAt('/deny', { fresh, newest }), ['fresh', 'newest'])
    assert.equal(await clientRequests(client.id), 3)
  })
}
