#!/usr/bin/env node
// Runs a Postman collection with Newman (as a library) on tokens from the tokenbroker
// sidecar, keeping the sidecar's secret off every command line, out of Newman's reports and
// out of files.
//
//   node run-newman.mjs COLLECTION [--env-var KEY=VALUE]... [--iteration-count N]
//                      [--reporters cli,json] [--reporter-json-export FILE]
//
// The sidecar:
//   - by default this script starts `tokenbroker serve` itself ($TOKENBROKER_BIN, else
//     `tokenbroker` on PATH; $TOKENBROKER_CONFIG, $TOKENBROKER_PROFILE, … reach it) and reads
//     the per-run secret from its stdout pipe; the sidecar, and the secret with it, ends with
//     the run;
//   - with $TOKENBROKER_URL it uses that running sidecar, whose secret it reads from the 0600
//     file named by $TOKENBROKER_SECRET_FILE (`tokenbroker serve --secret-file FILE`).
// The secret reaches the collection as the environment variable `tokenbroker_secret` and is
// removed from the run's summary before any reporter sees it. Newman is loaded from the
// current directory (`npm install newman`). Exit code: 0 when every request and test passed.

import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const SECRET_VAR = 'tokenbroker_secret';

function fail(message) {
  process.stderr.write(`run-newman: ${message}\n`);
  process.exit(2);
}

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'env-var': { type: 'string', multiple: true, default: [] },
    'iteration-count': { type: 'string' },
    reporters: { type: 'string', default: 'cli' },
    'reporter-json-export': { type: 'string' },
  },
});
if (positionals.length !== 1) fail('usage: node run-newman.mjs COLLECTION [--env-var KEY=VALUE]... [--iteration-count N] [--reporters cli,json] [--reporter-json-export FILE]');

let newman;
try {
  newman = createRequire(join(process.cwd(), 'package.json'))('newman');
} catch {
  fail('Newman is not installed here: run `npm install newman` in this directory');
}

const envVar = opts['env-var'].map((pair) => {
  const i = pair.indexOf('=');
  if (i <= 0) fail(`--env-var wants KEY=VALUE, got ${JSON.stringify(pair.split('=')[0])}`);
  const key = pair.slice(0, i);
  if (key === SECRET_VAR) fail(`${SECRET_VAR} is set by this script, never on its command line`);
  return { key, value: pair.slice(i + 1) };
});

/** The secret of an already running sidecar, from its private file. */
function secretFromFile(path) {
  if (!path) fail('TOKENBROKER_URL is set: name the secret file in TOKENBROKER_SECRET_FILE');
  if (statSync(path).mode & 0o077) fail(`${path} is readable by group or others; run \`chmod 600\` on it`);
  return readFileSync(path, 'utf8').trim();
}

/** Starts `tokenbroker serve` on a free port; resolves with the child, its URL and secret. */
function startSidecar() {
  const bin = process.env.TOKENBROKER_BIN || 'tokenbroker';
  const child = spawn(bin, ['serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`cannot start ${bin}: ${e.message}`)));
    child.on('exit', (code) => reject(new Error(`${bin} serve exited with code ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      const { url, secret } = JSON.parse(line);
      resolve({ child, url, secret });
    });
  });
}

const sidecar = process.env.TOKENBROKER_URL
  ? { child: null, url: process.env.TOKENBROKER_URL, secret: secretFromFile(process.env.TOKENBROKER_SECRET_FILE) }
  : await startSidecar().catch((e) => fail(e.message));

const options = {
  collection: positionals[0],
  envVar: [{ key: 'tokenbroker_url', value: sidecar.url }, ...envVar, { key: SECRET_VAR, value: sidecar.secret }],
  reporters: opts.reporters.split(',').filter(Boolean),
  reporter: { json: { export: opts['reporter-json-export'] } },
};
if (opts['iteration-count']) options.iterationCount = Number(opts['iteration-count']);

const run = newman.run(options, (err, summary) => {
  if (sidecar.child) {
    sidecar.child.removeAllListeners('exit');
    sidecar.child.kill('SIGTERM');
  }
  if (err) {
    process.stderr.write(`run-newman: ${err.message}\n`);
    process.exitCode = 1;
  } else if (summary.run.failures.length || summary.run.error) {
    process.exitCode = 1;
  }
});
// Before any reporter writes the summary (the JSON reporter stores the environment's values),
// drop the secret from it. prependListener puts this ahead of the reporters' listeners.
run.prependListener('beforeDone', (_err, o) => {
  o?.summary?.environment?.unset(SECRET_VAR);
  o?.summary?.globals?.unset(SECRET_VAR);
});
