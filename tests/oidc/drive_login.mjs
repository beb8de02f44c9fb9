#!/usr/bin/env node
// Plays the browser for an authorization request, without a person.
//
//   node tests/oidc/drive_login.mjs [options] <authorization_url | device verification_uri_complete>
//
// Follows redirects by hand with a cookie jar, fills oidc-provider's devInteractions login
// (any login name) and consent forms, confirms device codes, and stops at the client's
// redirect_uri WITHOUT requesting it. Then it prints, on stdout:
//   - the URL the browser would land on (redirect_uri?code=...&state=...), or
//   - for response_mode=form_post: {"action": "...", "fields": {...}} (one JSON line), or
//   - for a device verification URL: {"device": "approved"|"denied"}.
// Also works with the test provider's authorize endpoints (Alliance 302, Azure form_post page)
// and its /generic/device/verify page.
//
// Options:
//   --follow         also deliver the result to the redirect_uri (GET the URL / POST the form),
//                    so a loopback listener under test receives it
//   --login NAME     login name for the login form (default: test-user)
//   --deny           abort at consent (oidc-provider) / deny the device (test provider)
//   --user-code C    user code to type if the device page asks for one
//   --max-steps N    give up after N HTTP requests (default 40)
//   --verbose        trace every request on stderr
// Exit codes: 0 done, 1 flow failed (message on stderr), 2 bad usage.

const args = process.argv.slice(2);
const opt = { follow: false, login: 'test-user', deny: false, userCode: null, maxSteps: 40, verbose: false, url: null };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const next = () => {
    if (i + 1 >= args.length) usage(`missing value for ${a}`);
    return args[++i];
  };
  if (a === '--follow') opt.follow = true;
  else if (a === '--login') opt.login = next();
  else if (a === '--deny') opt.deny = true;
  else if (a === '--user-code') opt.userCode = next();
  else if (a === '--max-steps') opt.maxSteps = Number(next());
  else if (a === '--verbose' || a === '-v') opt.verbose = true;
  else if (a === '--help' || a === '-h') usage(null, 0);
  else if (!a.startsWith('--') && !opt.url) opt.url = a;
  else usage(`unexpected argument ${a}`);
}
if (!opt.url) usage('an authorization URL is required');

function usage(msg, code = 2) {
  if (msg) process.stderr.write(`drive_login: ${msg}\n`);
  process.stderr.write('usage: node drive_login.mjs [--follow] [--login NAME] [--deny] [--user-code CODE] [--max-steps N] [--verbose] <url>\n');
  process.exit(code);
}

function fail(msg) {
  process.stderr.write(`drive_login: ${msg}\n`);
  process.exit(1);
}

const trace = (m) => { if (opt.verbose) process.stderr.write(`drive_login: ${m}\n`); };

// ------------------------------------------------------------------ cookie jar

const jar = new Map(); // `${host} ${path} ${name}` -> {host, path, name, value, expires}

function storeCookies(url, res) {
  const list = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
  for (const line of list) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let cpath = null;
    let expires = null;
    for (const attr of attrs) {
      const [k, ...v] = attr.split('=');
      const key = k.trim().toLowerCase();
      const val = v.join('=').trim();
      if (key === 'path' && val.startsWith('/')) cpath = val;
      else if (key === 'max-age') expires = Date.now() + Number(val) * 1000;
      else if (key === 'expires' && expires === null) { const t = Date.parse(val); if (!Number.isNaN(t)) expires = t; }
    }
    if (cpath === null) {
      // default-path (RFC 6265 §5.1.4)
      const p = url.pathname;
      cpath = p.lastIndexOf('/') > 0 ? p.slice(0, p.lastIndexOf('/')) : '/';
    }
    const key = `${url.host} ${cpath} ${name}`;
    if (expires !== null && expires <= Date.now()) jar.delete(key);
    else jar.set(key, { host: url.host, path: cpath, name, value, expires });
  }
}

function cookieHeader(url) {
  const out = [];
  for (const [key, c] of jar) {
    if (c.expires !== null && c.expires <= Date.now()) { jar.delete(key); continue; }
    if (c.host !== url.host) continue;
    const p = url.pathname;
    const match = p === c.path || (p.startsWith(c.path) && (c.path.endsWith('/') || p[c.path.length] === '/'));
    if (match) out.push(`${c.name}=${c.value}`);
  }
  return out.join('; ');
}

// ------------------------------------------------------------------ HTML helpers

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (m, e) => {
    const l = e.toLowerCase();
    if (l === 'amp') return '&';
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'quot') return '"';
    if (l === 'apos' || l === '#39') return "'";
    if (l.startsWith('#x')) return String.fromCodePoint(parseInt(l.slice(2), 16));
    if (l.startsWith('#')) return String.fromCodePoint(parseInt(l.slice(1), 10));
    return m;
  });
}

function attrs(tag) {
  const out = {};
  const re = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  const inner = tag.replace(/^<\s*\w+/, '').replace(/\/?>$/, '');
  let m;
  while ((m = re.exec(inner))) {
    out[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function parseForms(html) {
  const forms = [];
  const re = /<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi;
  let m;
  while ((m = re.exec(html))) {
    const open = m[0].match(/^<form\b[^>]*>/i)[0];
    const a = attrs(open);
    const body = m[1];
    const inputs = [];
    for (const t of body.match(/<input\b[^>]*>/gi) || []) inputs.push(attrs(t));
    const buttons = [];
    for (const t of body.match(/<button\b[^>]*>/gi) || []) buttons.push(attrs(t));
    forms.push({ id: a.id, action: a.action, method: (a.method || 'get').toUpperCase(), inputs, buttons });
  }
  return forms;
}

function textOf(html) {
  return decodeEntities(html.replace(/<script[\s\S]*?<\/script>/gi, ' ').replace(/<style[\s\S]*?<\/style>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim().slice(0, 400);
}

// ------------------------------------------------------------------ flow

const start = new URL(opt.url);
const redirectParam = start.searchParams.get('redirect_uri');
const redirectTarget = redirectParam ? (() => { try { return new URL(redirectParam); } catch { return null; } })() : null;
const isDeviceStart = !start.searchParams.has('response_type') && !start.searchParams.has('client_id');
let steps = 0;
let denySubmitted = false;

function sameEndpoint(u, target) {
  return u.protocol === target.protocol && u.host === target.host && u.pathname === target.pathname;
}

// Is this URL where the browser would hand the result to the client?
function isClientDestination(u, current) {
  if (redirectTarget) return sameEndpoint(u, redirectTarget);
  // redirect_uri omitted (single registered one): anything off the authorization server
  return u.origin !== current.origin || !/^https?:$/.test(u.protocol);
}

async function request(method, url, body) {
  if (++steps > opt.maxSteps) fail(`gave up after ${opt.maxSteps} requests (redirect loop?) at ${url}`);
  const headers = { accept: 'text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8', 'user-agent': 'tokenbroker-drive-login/1' };
  const ck = cookieHeader(url);
  if (ck) headers.cookie = ck;
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  trace(`${method} ${url.href}`);
  let res;
  try {
    res = await fetch(url, { method, headers, body, redirect: 'manual' });
  } catch (e) {
    fail(`${method} ${url.href} failed: ${e.cause?.code || e.cause?.message || e.message}`);
  }
  storeCookies(url, res);
  const text = await res.text();
  trace(`  -> ${res.status}${res.headers.get('location') ? ` Location: ${res.headers.get('location')}` : ''}`);
  return { res, text };
}

function formBody(fields) {
  return new URLSearchParams(fields).toString();
}

async function deliver(result) {
  if (!opt.follow) return;
  let res;
  try {
    if (result.kind === 'url') {
      res = await fetch(result.url, { redirect: 'manual' });
    } else {
      res = await fetch(result.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: formBody(result.fields), redirect: 'manual' });
    }
    await res.arrayBuffer();
  } catch (e) {
    fail(`--follow: delivering to ${result.kind === 'url' ? result.url : result.action} failed: ${e.cause?.code || e.cause?.message || e.message}`);
  }
  process.stderr.write(`drive_login: delivered to the redirect_uri, it answered HTTP ${res.status}\n`);
}

function pickForm(forms) {
  // oidc-provider devInteractions login
  const login = forms.find((f) => f.inputs.some((i) => i.name === 'login'));
  if (login) return { form: login, fill: { login: opt.login, password: 'any-password' } };
  // oidc-provider devInteractions consent
  const consent = forms.find((f) => f.inputs.some((i) => i.name === 'prompt' && i.value === 'consent'));
  if (consent) return { form: consent, kind: 'consent' };
  // oidc-provider device confirmation / user code entry
  const confirm = forms.find((f) => f.id === 'op.deviceConfirmForm');
  if (confirm) return { form: confirm, fill: opt.deny ? { abort: 'yes' } : {} };
  const input = forms.find((f) => f.id === 'op.deviceInputForm' || f.inputs.some((i) => i.name === 'user_code' && (i.type || 'text') === 'text'));
  if (input) {
    const current = input.inputs.find((i) => i.name === 'user_code')?.value;
    const code = opt.userCode || current;
    if (!code) fail('the page asks for a user code; pass --user-code or use verification_uri_complete');
    const fill = { user_code: code };
    const btn = input.buttons.find((b) => b.name === 'action' && b.value === (opt.deny ? 'deny' : 'approve'));
    if (btn) fill.action = btn.value;
    return { form: input, fill };
  }
  if (forms.length === 1) return { form: forms[0] };
  return null;
}

async function main() {
  let url = start;
  let method = 'GET';
  let body;
  for (;;) {
    const { res, text } = await request(method, url, body);
    method = 'GET';
    body = undefined;
    if (res.status >= 300 && res.status < 400) {
      const loc = res.headers.get('location');
      if (!loc) fail(`HTTP ${res.status} without Location at ${url.href}`);
      const next = new URL(loc, url);
      if (isClientDestination(next, url)) {
        const q = next.hash ? new URLSearchParams(next.hash.slice(1)) : next.searchParams;
        if (q.get('error')) process.stderr.write(`drive_login: authorization server returned error=${q.get('error')} ${q.get('error_description') || ''}\n`);
        process.stdout.write(`${next.href}\n`);
        await deliver({ kind: 'url', url: next.href });
        return;
      }
      url = next;
      continue;
    }
    if (res.status >= 400) {
      const ct = res.headers.get('content-type') || '';
      fail(`HTTP ${res.status} at ${url.href}: ${ct.includes('json') ? text.slice(0, 400) : textOf(text)}`);
    }
    const forms = parseForms(text);
    // form_post response: an auto-submitting form aimed at the client
    const post = forms.find((f) => f.action && isClientDestination(new URL(f.action, url), url));
    if (post) {
      const fields = {};
      for (const i of post.inputs) if (i.name && (i.type || 'text') !== 'submit') fields[i.name] = i.value ?? '';
      const action = new URL(post.action, url).href;
      if (fields.error) process.stderr.write(`drive_login: authorization server returned error=${fields.error} ${fields.error_description || ''}\n`);
      process.stdout.write(`${JSON.stringify({ action, fields })}\n`);
      await deliver({ kind: 'form', action, fields });
      return;
    }
    if (denySubmitted && /interrupted|abort|denied/i.test(textOf(text))) {
      process.stdout.write(`${JSON.stringify({ device: 'denied' })}\n`);
      return;
    }
    const picked = pickForm(forms);
    if (!picked) {
      const t = textOf(text);
      if (isDeviceStart || /success|approved|denied|aborted/i.test(t)) {
        const denied = /denied|abort/i.test(t);
        if (/success|approved|denied|abort/i.test(t)) {
          process.stdout.write(`${JSON.stringify({ device: denied ? 'denied' : 'approved' })}\n`);
          return;
        }
      }
      fail(`stuck at ${url.href} (HTTP ${res.status}): no form to submit and no redirect. Page says: ${t}`);
    }
    if (picked.kind === 'consent' && opt.deny) {
      const abort = /href="([^"]*\/abort[^"]*)"/i.exec(text);
      if (!abort) fail('--deny: no abort link on the consent page');
      url = new URL(decodeEntities(abort[1]), url);
      continue;
    }
    const { form } = picked;
    const fields = {};
    for (const i of form.inputs) {
      if (!i.name) continue;
      const type = (i.type || 'text').toLowerCase();
      if (type === 'submit' || type === 'button' || type === 'image') continue;
      if ((type === 'checkbox' || type === 'radio') && !('checked' in i)) continue;
      fields[i.name] = i.value ?? '';
    }
    Object.assign(fields, picked.fill || {});
    if (opt.deny && (fields.abort || fields.action === 'deny')) denySubmitted = true;
    const target = new URL(form.action || url.href, url);
    trace(`  submitting form ${form.id || ''} ${form.method} ${target.href} fields=${Object.keys(fields).join(',')}`);
    if (form.method === 'POST') {
      url = target;
      method = 'POST';
      body = formBody(fields);
    } else {
      target.search = formBody(fields);
      url = target;
    }
  }
}

main().catch((e) => fail(e.stack || String(e)));
