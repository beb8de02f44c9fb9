// Interactive sign-in: the browser step is driven by tests/oidc/drive_login.mjs or the
// provider's admin API; the core runs the loopback listener, PKCE and the device polling.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'

import { Broker } from 'tokenbroker'
import { REPO, admin, issuer, memoryConfig, newClient, provider, runNode } from './helpers.mjs'

test('login: authorization code with PKCE through the loopback listener (oidc-provider)', async () => {
  const iss = await issuer()
  const broker = new Broker(memoryConfig('web', {
    provider: 'oidc',
    issuer: iss,
    client_id: 'oidc-public',
    auth_method: 'none',
    redirect_uri: 'http://127.0.0.1/callback',
    grant: 'authorization_code',
    scopes: ['api:read'],
  }))
  let driven
  const token = await broker.login('web', {
    openBrowser: false,
    timeout: 30,
    onUrl: (url) => {
      driven = runNode([join(REPO, 'tests/oidc/drive_login.mjs'), '--follow', url])
    },
  })
  const browser = await driven
  assert.equal(browser.code, 0, browser.stderr)
  assert.deepEqual(token.scopes, ['api:read'])
  assert.equal(broker.cachedToken('web').accessToken, token.accessToken)
  // The stored refresh token now serves a forced refresh without the browser.
  const refreshed = await broker.token('web', { forceRefresh: true })
  assert.notEqual(refreshed.accessToken, token.accessToken)
  // logout revokes the refresh token at the server and forgets the sign-in here.
  assert.equal(await broker.logout('web'), true)
  assert.equal(broker.cachedToken('web'), null)
  await assert.rejects(broker.token('web'), (err) => err.code === 'ERR_TOKENBROKER_INTERACTION')
  assert.equal(await broker.logout('web'), false, 'nothing left to revoke')
})

test('deviceLogin: onCode is told the code, the user approves, the token arrives', async () => {
  const base = await provider()
  const client = await newClient('device')
  const broker = new Broker(memoryConfig('dev', {
    provider: 'oidc',
    client_id: client.id,
    client_secret: client.secret,
    token_url: `${base}/generic/token`,
    device_url: `${base}/generic/device`,
    grant: 'device_code',
    scopes: ['read', 'write'],
  }))
  let shown
  const token = await broker.deviceLogin('dev', {
    onCode: (code) => {
      shown = code
      setTimeout(() => admin('device/approve', { user_code: code.userCode }), 200)
    },
  })
  assert.equal(typeof shown.userCode, 'string')
  assert.match(shown.verificationUri, /\/generic\/device\/verify$/)
  assert.match(shown.verificationUriComplete, /user_code=/)
  assert.equal(shown.interval, 1)
  assert.deepEqual(shown.scopes, ['read', 'write'])
  assert.deepEqual(token.scopes, ['read', 'write'])
  assert.equal(broker.cachedToken('dev').accessToken, token.accessToken)
})

test('deviceLogin: a denied code is an interaction error', async () => {
  const base = await provider()
  const client = await newClient('device-deny')
  const broker = new Broker(memoryConfig('dev', {
    provider: 'oidc',
    client_id: client.id,
    client_secret: client.secret,
    token_url: `${base}/generic/token`,
    device_url: `${base}/generic/device`,
    grant: 'device_code',
  }))
  const err = await broker
    .deviceLogin('dev', { onCode: (c) => setTimeout(() => admin('device/deny', { user_code: c.userCode }), 100) })
    .then(() => assert.fail('expected a denial'), (e) => e)
  assert.equal(err.code, 'ERR_TOKENBROKER_INTERACTION')
  assert.match(err.message, /denied|access_denied/)
})

test('beginLogin / completeLogin: the app runs the browser step itself (Alliance)', async () => {
  const base = await provider()
  const client = await newClient('aos-code')
  const broker = new Broker(memoryConfig('aos', {
    provider: 'alliance',
    client_id: client.id,
    client_secret: client.secret,
    token_url: `${base}/API/v2/OAuth/token`,
    authorize_url: `${base}/API/v2/OAuth/authorize`,
    grant: 'authorization_code',
    resource: 'https://aos.example.com/api',
  }))
  const redirectUri = 'https://app.example.com/callback'
  const pending = await broker.beginLogin('aos', redirectUri)
  assert.equal(pending.profile, 'aos')
  assert.ok(pending.url.includes(`state=${pending.state}`))
  const res = await fetch(pending.url, { redirect: 'manual' })
  const location = res.headers.get('location')
  assert.ok(location.startsWith(redirectUri), location)
  const token = await broker.completeLogin(pending, location)
  assert.equal(token.tokenType, 'Bearer')
  const err = await broker.completeLogin(pending, `${redirectUri}?code=x&state=wrong`).then(
    () => assert.fail('state mismatch accepted'),
    (e) => e,
  )
  assert.equal(err.code, 'ERR_TOKENBROKER_INTERACTION')
})

test('beginLogin / completeLoginForm: the form_post body of Azure AD v1 (seed 004)', async () => {
  const base = await provider()
  const broker = new Broker(memoryConfig('pc', {
    provider: 'azure-ad-v1',
    tenant: 'contoso',
    resource: 'https://api.partnercenter.microsoft.com',
    client_id: 'azure-client',
    client_secret: 'azure-secret',
    token_url: `${base}/contoso/oauth2/token`,
    authorize_url: `${base}/contoso/oauth2/authorize`,
    jwks_url: `${base}/contoso/discovery/keys`,
    issuer: `${base}/contoso/`,
  }))
  const redirectUri = 'https://app.example.com/callback'
  const pending = await broker.beginLogin('pc', redirectUri)
  assert.match(pending.url, /response_mode=form_post/)
  // The provider answers with the auto-submitting form a browser would POST to the app.
  const page = await (await fetch(pending.url)).text()
  const fields = new URLSearchParams()
  for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    fields.append(name, value)
  }
  assert.ok(fields.has('code') && fields.has('id_token'), page)

  const forged = new URLSearchParams(fields)
  forged.set('state', 'forged')
  const err = await broker.completeLoginForm(pending, forged.toString()).then(
    () => assert.fail('a forged state was accepted'),
    (e) => e,
  )
  assert.equal(err.code, 'ERR_TOKENBROKER_INTERACTION')

  const token = await broker.completeLoginForm(pending, Buffer.from(fields.toString()))
  assert.equal(token.tokenType, 'Bearer')
  // expires_in arrived as a string ("3599")
  assert.ok(token.expiresAt.getTime() - Date.now() > 3500_000, String(token.expiresAt))
})
