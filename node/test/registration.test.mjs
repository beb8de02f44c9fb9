// Client registration: RFC 7591/7592 at oidc-provider, Alvaria's client API at the provider.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { inspect } from 'node:util'

import { Broker, RegisteredClient, TokenBrokerError } from 'tokenbroker'
import { admin, issuer, memoryConfig, provider } from './helpers.mjs'

const machine = (scope) => ({
  grant_types: ['client_credentials'],
  response_types: [],
  token_endpoint_auth_method: 'client_secret_basic',
  scope,
  client_name: 'tokenbroker node test',
})

function assertHidden(client, ...secrets) {
  for (const text of [inspect(client, { depth: 10, showHidden: true }), JSON.stringify(client), Object.keys(client).join()]) {
    for (const s of secrets) assert.ok(!text.includes(s), `credential shown in ${text}`)
  }
}

test('RFC 7591/7592: register, use, read, update, delete; server refusals are registration errors', async () => {
  const iss = await issuer()
  const broker = new Broker(memoryConfig('reg', { provider: 'oidc', issuer: iss, client_id: 'registrar' }))
  const created = await broker.registerClient('reg', machine('api:read'))
  assert.ok(created instanceof RegisteredClient)
  assert.equal(typeof created.clientSecret, 'string')
  assert.equal(typeof created.registrationAccessToken, 'string')
  assert.equal(created.metadata.scope, 'api:read')
  assertHidden(created, created.clientSecret, created.registrationAccessToken)

  const issued = new Broker(memoryConfig('issued', {
    provider: 'oidc',
    issuer: iss,
    client_id: created.clientId,
    client_secret: created.clientSecret,
    scopes: ['api:read'],
  }))
  assert.deepEqual((await issued.token('issued')).scopes, ['api:read'])

  const read = await broker.readClient('reg', created.clientId)
  assert.equal(read.clientId, created.clientId)
  const updated = await broker.updateClient('reg', created.clientId, { ...machine('api:read'), client_name: 'renamed' })
  assert.equal(updated.metadata.client_name, 'renamed')
  await broker.deleteClient('reg', created.clientId)
  const gone = await issued.token('issued', { forceRefresh: true }).then(assert.fail, (e) => e)
  assert.equal(gone.code, 'ERR_TOKENBROKER_OAUTH')
  assert.equal(gone.oauthError, 'invalid_client')

  const refused = await broker
    .registerClient('reg', {
      application_type: 'web',
      redirect_uris: ['http://127.0.0.1/cb'],
      grant_types: ['implicit'],
      response_types: ['id_token'],
    })
    .then(assert.fail, (e) => e)
  assert.ok(refused instanceof TokenBrokerError)
  assert.equal(refused.code, 'ERR_TOKENBROKER_REGISTRATION')
  assert.equal(refused.kind, 'registration')
  assert.equal(refused.status, 400)
  assert.match(refused.message, /invalid_redirect_uri/)

  const noList = await broker.listClients('reg').then(assert.fail, (e) => e)
  assert.equal(noList.code, 'ERR_TOKENBROKER_CONFIG')
})

test('Alvaria: create, list, delete with a management client', async () => {
  const base = await provider()
  const n = randomBytes(6).toString('hex')
  const mgmt = { id: `alv-mgmt-${n}`, secret: `alv-mgmt-secret-${n}` }
  await admin('clients', {
    client_id: mgmt.id,
    client_secret: mgmt.secret,
    scopes: ['list', 'create', 'view', 'modify', 'delete'].map((s) => `myaccount.clients.${s}`),
  })
  const org = `org${n}`
  const broker = new Broker(memoryConfig('alv', {
    provider: 'alvaria',
    region: 'us',
    client_id: mgmt.id,
    client_secret: mgmt.secret,
    api_key: 'alvaria-api-key',
    token_url: `${base}/tokenservice/oauth2/access_token`,
    registration_url: `${base}/via/v1/organizations/${org}/oauth/clients`,
  }))
  const created = await broker.registerClient('alv', machine('myaspect.users'))
  assert.equal(typeof created.clientSecret, 'string')
  assert.equal(typeof created.apiKey, 'string')
  assertHidden(created, created.clientSecret, created.apiKey)
  const listed = await broker.listClients('alv')
  assert.deepEqual(listed.map((c) => c.clientId), [created.clientId])
  assert.equal(listed[0].clientSecret, undefined)
  await broker.deleteClient('alv', created.clientId)
  assert.deepEqual(await broker.listClients('alv'), [])
  const missing = await broker.readClient('alv', created.clientId).then(assert.fail, (e) => e)
  assert.equal(missing.code, 'ERR_TOKENBROKER_REGISTRATION')
  assert.equal(missing.status, 404)
})
