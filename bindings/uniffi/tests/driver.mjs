#!/usr/bin/env node
// Lets tests that run where there is no node (the Swift tests inside the trixie chroot) use
// tests/oidc/drive_login.mjs: `POST /drive` with an authorization URL as the body answers with
// what drive_login.mjs printed (the redirect URL carrying code and state), or 500 and its stderr.
// `POST /drive?follow=1` also delivers the redirect (drive_login.mjs --follow), for a loopback
// listener under test.
// Prints {"url":"http://127.0.0.1:PORT"} once listening; exits when its stdin closes.
import { execFile } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '../../../tests/oidc/drive_login.mjs');

const server = http.createServer((req, res) => {
  const follow = req.url === '/drive?follow=1';
  if (req.method !== 'POST' || (req.url !== '/drive' && !follow)) {
    res.writeHead(404).end('POST /drive only\n');
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    const args = follow ? [script, '--follow', body.trim()] : [script, body.trim()];
    execFile(process.execPath, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      res.writeHead(err ? 500 : 200, { 'content-type': 'text/plain' }).end(err ? `${stderr}${err.message}` : stdout);
    });
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
