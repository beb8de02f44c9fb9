// The needle rule of the leak matrix (tests/leak/README.md): random secrets, their encodings,
// 12-character windows, and the count of hits in outputs.
import { randomBytes, randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from './helpers.mjs'

/** tests/leak/cases.json. */
export const CASES = JSON.parse(readFileSync(join(REPO, 'tests/leak/cases.json'), 'utf8'))
const WINDOW = CASES.window

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const NON_ASCII = 'éüß€Ω中ж'

/** A fresh secret of `kind` (`text` or `header`). */
export function secret(kind) {
  const chars = [...'/+&%="\\']
  if (kind === 'text') for (let i = 0; i < 2; i++) chars.push(NON_ASCII[randomInt(NON_ASCII.length)])
  while (chars.length < 31) chars.push(ALNUM[randomInt(ALNUM.length)])
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]]
  }
  chars.splice(1 + randomInt(chars.length - 1), 0, ' ')
  return chars.join('')
}

/** A fresh client id. */
export function clientId() {
  return `leak-${randomBytes(6).toString('hex')}`
}

function urlEncode(v, space) {
  let out = ''
  for (const b of Buffer.from(v, 'utf8')) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9*\-._]/.test(c)) out += c
    else if (c === ' ') out += space
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

const base64 = (s) => Buffer.from(s, 'utf8').toString('base64')

/** Encodings 1–6 of `v`, and 7 (Basic) when the client id `id` is given. */
export function encodings(v, id) {
  const json = JSON.stringify(v).slice(1, -1)
  const out = [
    v,
    urlEncode(v, '+'),
    urlEncode(v, '%20'),
    json,
    json.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
    v.replaceAll('\\', '\\\\'),
  ]
  if (id !== undefined) {
    out.push(base64(`${urlEncode(id, '+')}:${urlEncode(v, '+')}`))
    out.push(base64(`${urlEncode(id, '%20')}:${urlEncode(v, '%20')}`))
    out.push(base64(`${id}:${v}`))
  }
  return [...new Set(out)]
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/

/** The needle values of a run and the hits they make in outputs. */
export class Needles {
  #windows = new Map() // window -> label of its needle value

  /** Adds a needle value (`id`: its case's client id, for the Basic encodings). */
  add(label, value, id) {
    for (const e of encodings(value, id)) {
      const chars = [...e]
      if (chars.length <= WINDOW) this.#windows.set(e, label)
      for (let i = 0; i + WINDOW <= chars.length; i++) this.#windows.set(chars.slice(i, i + WINDOW).join(''), label)
    }
  }

  /** Adds the needles the provider saw for these client ids: echoed tokens since `echoesFrom`, assertions, bearer tokens. */
  addFromProvider(echoes, requests, ids) {
    for (const e of echoes) {
      this.add('echoed access_token', e.access_token)
      this.add('echoed refresh_token', e.refresh_token)
    }
    for (const r of requests) {
      const auth = r.headers?.authorization ?? ''
      const basic = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : ''
      if (!ids.some((id) => r.path.includes(id) || (r.body ?? '').includes(id) || basic.includes(id))) continue
      const assertion = new URLSearchParams(r.body ?? '').get('client_assertion')
      if (assertion) {
        const [, payload, signature] = assertion.split('.')
        this.add('client_assertion payload', payload)
        this.add('client_assertion signature', signature)
      }
      if (auth.startsWith('Bearer ')) this.add('bearer token', auth.slice(7))
    }
  }

  /** The hits in one output: each needle value found (by label), and `control character`. */
  find(text) {
    const found = new Map()
    const chars = [...text]
    for (let i = 0; i + WINDOW <= chars.length; i++) {
      const w = chars.slice(i, i + WINDOW).join('')
      const label = this.#windows.get(w)
      if (label !== undefined && !found.has(label)) found.set(label, w)
    }
    const hits = [...found].map(([label, w]) => `${label} (${JSON.stringify(w)})`)
    const control = CONTROL.exec(text)
    if (control) hits.push(`control character ${JSON.stringify(control[0])}`)
    return hits
  }
}

/** `{route, kind: "echo", count: 1, ...echo}`, with `align_on` from the case's secrets. */
export function echoFault(route, echo, secrets, id) {
  const fault = { route, kind: 'echo', count: 1, ...echo }
  if (echo.align_at !== undefined) fault.align_on = Object.values(secrets).flatMap((v) => encodings(v, id))
  return fault
}

/** Fills a profile template's placeholders. */
export function fillProfile(template, { provider, id, secrets, privateKey }) {
  const fill = (v) => {
    if (typeof v === 'string') {
      return v.replace(/\$\{(PROVIDER|CLIENT_ID|PRIVATE_KEY|SECRET:(\w+))\}/g, (_, what, name) =>
        name ? secrets[name] : what === 'PROVIDER' ? provider : what === 'CLIENT_ID' ? id : privateKey)
    }
    if (Array.isArray(v)) return v.map(fill)
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]))
    return v
  }
  return fill(template)
}

/** Every case of the matrix with fresh secrets: `{name, profile (template), echo, id, secrets}`. */
export function expandCases() {
  return CASES.profiles.flatMap((p) =>
    CASES.echoes.map((echo, n) => {
      const secrets = Object.fromEntries(Object.entries(p.secrets).map(([name, kind]) => [name, secret(kind)]))
      return { name: `${p.id}/${n}-${echo.as}`, template: p, echo, id: clientId(), secrets }
    }))
}

/** The summary line every runner prints. */
export function summary(lang, cases, outputs, hits) {
  return `leak matrix (${lang}): ${cases} cases, ${outputs} outputs checked, ${hits} hits`
}
