#!/usr/bin/env node
// A real browser sign-in for the CLI tests: Debian's Chromium, headless, driven through the
// DevTools protocol by playwright-core (which starts it with --remote-debugging-pipe).
//
//   node browser_login.mjs <authorization_url> [--login NAME] [--chromium PATH]
//
// Opens the authorization URL, signs in on oidc-provider's real login page, approves the
// consent page, and waits until the browser has landed on the authorization request's
// redirect_uri (the CLI's loopback listener), then prints one JSON line:
//   {"landed": "<redirect_uri without query>", "title": "<page title>", "steps": N}
// Only loopback addresses are reachable: every other request is aborted, and the host
// resolver maps every name but localhost to "not found".
// Exit codes: 0 landed, 1 the flow broke (message on stderr), 2 bad usage.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
let url = null;
let login = 'browser-user';
let executablePath = process.env.TB_CHROMIUM || '/usr/bin/chromium';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--login') login = args[++i];
  else if (args[i] === '--chromium') executablePath = args[++i];
  else if (!url) url = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!url) usage('an authorization URL is required');

function usage(msg) {
  process.stderr.write(`browser_login: ${msg}\nusage: node browser_login.mjs <url> [--login NAME] [--chromium PATH]\n`);
  process.exit(2);
}

const redirect = new URL(new URL(url).searchParams.get('redirect_uri') ?? usage('the URL has no redirect_uri'));
const isLoopback = (u) => ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(u).hostname);
const landed = (u) => {
  const p = new URL(u);
  return p.origin === redirect.origin && p.pathname === redirect.pathname;
};

const userDataDir = mkdtempSync(join(tmpdir(), 'tb-chromium-'));
let context;
const deadline = setTimeout(() => fail('no redirect to the loopback listener within 60 s'), 60_000);

async function fail(msg) {
  process.stderr.write(`browser_login: ${msg}\n`);
  try { await context?.close(); } catch {}
  rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
    ],
  });
  await context.route('**/*', (route) =>
    isLoopback(route.request().url()) ? route.continue() : route.abort('blockedbyclient'));
  const page = context.pages()[0] ?? (await context.newPage());
  let steps = 0;
  await page.goto(url, { waitUntil: 'load' });
  while (!landed(page.url())) {
    if (++steps > 10) await fail(`stuck at ${page.url()}`);
    const submit = page.locator('button[type="submit"]').first();
    if (await page.locator('input[name="login"]').count()) {
      await page.fill('input[name="login"]', login);
      await page.fill('input[name="password"]', 'any-password');
    } else if (!(await page.locator('input[name="prompt"][value="consent"]').count())) {
      await fail(`unexpected page at ${page.url()}: ${(await page.title())}`);
    }
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), submit.click()]);
  }
  const title = await page.title();
  process.stdout.write(JSON.stringify({ landed: redirect.origin + redirect.pathname, title, steps }) + '\n');
  clearTimeout(deadline);
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
} catch (e) {
  await fail(e?.message ?? String(e));
}
