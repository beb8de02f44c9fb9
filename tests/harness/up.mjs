#!/usr/bin/env node
// Starts the shared test servers for every language's suite:
//   tests/provider/server.mjs  (programmable provider)   -> TB_TEST_PROVIDER
//   tests/oidc/server.mjs      (oidc-provider peer)       -> TB_TEST_ISSUER, TB_TEST_KEYS
//
//   node tests/harness/up.mjs [OUT.json] [-- command args...]
//
// Writes {"provider": "...", "issuer": "...", "keys_dir": "..."} to OUT.json (atomically) and
// prints the same line on stdout. Without a command it keeps running until SIGTERM/SIGINT,
// until its stdin closes (when stdin is a pipe or terminal, not /dev/null), or until its
// parent process dies; then it stops both servers, deletes OUT.json and the keys dir.
// With `-- command args...` it runs the command with TB_TEST_PROVIDER, TB_TEST_ISSUER and
// TB_TEST_KEYS set, then stops the servers and exits with the command's status.
//
// The provider also registers client `cert-client` (private_key_jwt, no secret) holding
// the certificate in keys_dir, so the same key pair works against both servers.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TESTS = path.resolve(HERE, '..');
const STARTUP_TIMEOUT_MS = 30_000;

const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
const own = dd >= 0 ? argv.slice(0, dd) : argv;
const command = dd >= 0 ? argv.slice(dd + 1) : [];
const outFile = own.find((a) => !a.startsWith('-')) ? path.resolve(own.find((a) => !a.startsWith('-'))) : null;
const verbose = own.includes('--verbose');

const say = (m) => process.stderr.write(`harness: ${m}\n`);
const children = [];
let keysDir = null;
let stopping = false;

function cleanup() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGTERM'); } catch { /* gone */ }
    }
  }
  if (outFile) { try { fs.unlinkSync(outFile); } catch { /* not there */ } }
  if (keysDir) { try { fs.rmSync(keysDir, { recursive: true, force: true }); } catch { /* ignore */ } }
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  cleanup();
  // give children a moment to exit on SIGTERM, then leave
  setTimeout(() => process.exit(code), 200).unref();
  const alive = () => children.some((c) => c.exitCode === null && c.signalCode === null);
  const t = setInterval(() => { if (!alive()) { clearInterval(t); process.exit(code); } }, 20);
}

process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(130));
process.on('exit', () => cleanup());

// Start one server, resolve with the JSON object from its first stdout line.
function startServer(name, script, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, '--exit-on-stdin-close', ...(verbose ? ['--verbose'] : []), ...args], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    children.push(child);
    let buf = '';
    let done = false;
    const timer = setTimeout(() => {
      if (!done) { done = true; reject(new Error(`${name} did not report its address within ${STARTUP_TIMEOUT_MS / 1000}s`)); }
    }, STARTUP_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      if (done) return; // servers print nothing else; ignore anything after the first line
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      done = true;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buf.slice(0, nl)));
      } catch {
        reject(new Error(`${name} printed an unexpected first line: ${buf.slice(0, nl)}`));
      }
    });
    child.on('exit', (code, signal) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
      } else if (!stopping) {
        say(`${name} exited unexpectedly (code ${code}, signal ${signal}); stopping`);
        stop(1);
      }
    });
    child.on('error', (e) => { if (!done) { done = true; clearTimeout(timer); reject(e); } });
  });
}

function watchStdin() {
  let st;
  try { st = fs.fstatSync(0); } catch { return; }
  // A pipe/socket/terminal means someone holds our stdin: its closing means "stop".
  // /dev/null or a file (e.g. `make` background jobs, CI) would close at once: ignore it.
  if (!(st.isFIFO() || st.isSocket() || process.stdin.isTTY)) return;
  process.stdin.on('end', () => stop(0));
  process.stdin.on('close', () => stop(0));
  process.stdin.on('error', () => stop(0));
  process.stdin.resume();
}

function watchParent() {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) { say('parent process went away; stopping'); stop(0); }
  }, 1000).unref();
}

async function main() {
  const oidcDir = path.join(TESTS, 'oidc');
  if (!fs.existsSync(path.join(oidcDir, 'node_modules', 'oidc-provider'))) {
    throw new Error('tests/oidc/node_modules is missing: run tests/harness/setup.sh first');
  }
  keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-test-keys-'));
  const oidc = await startServer('oidc', path.join(oidcDir, 'server.mjs'), ['--keys-dir', keysDir]);
  const certPath = path.join(oidc.keys_dir, 'client-cert.pem');
  const provider = await startServer('provider', path.join(TESTS, 'provider', 'server.mjs'), ['--client-cert', `cert-client=${certPath}`]);
  const info = { provider: provider.url, issuer: oidc.issuer, keys_dir: oidc.keys_dir };
  const line = JSON.stringify(info);
  if (outFile) {
    const tmp = `${outFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${line}\n`);
    fs.renameSync(tmp, outFile);
  }
  process.stdout.write(`${line}\n`);

  if (command.length) {
    const child = spawn(command[0], command.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, TB_TEST_PROVIDER: info.provider, TB_TEST_ISSUER: info.issuer, TB_TEST_KEYS: info.keys_dir },
    });
    child.on('exit', (code, signal) => stop(code ?? (signal ? 1 : 0)));
    child.on('error', (e) => { say(`cannot run ${command[0]}: ${e.message}`); stop(127); });
    return;
  }
  watchStdin();
  watchParent();
  setInterval(() => {}, 1 << 30); // stay alive
}

main().catch((e) => {
  say(e.message);
  stop(1);
});
