// Test harness of the console browser tests: the real `agusto serve` on a
// free loopback port with a temporary data dir, webhook receivers, an API
// client, headless Chromium, axe-core, screenshots. Every wait has a deadline.

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const shotsDir = process.env.CONSOLE_SCREENSHOTS || path.join(root, 'target/console-screenshots');

/** Waits until `check` returns a truthy value, polling; fails after `ms`. */
export async function until(what, check, ms = 20000, every = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Starts `agusto serve`; resolves to { base, admin, stop }. */
export async function startServer() {
  const bin = path.resolve(root, process.env.AGUSTO_BIN || 'target/debug/agusto');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agusto-console-'));
  const admin = 'adm_console_' + Math.random().toString(36).slice(2) + Date.now().toString(36) + 'x'.repeat(20);
  const env = { ...process.env, AGUSTO_ADMIN_TOKEN: admin, RUST_LOG: 'warn',
    AGUSTO_WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8', AGUSTO_WEBHOOK_MAX_RETRIES: '1',
    AGUSTO_WEBHOOK_BACKOFF_BASE_MS: '100', AGUSTO_WEBHOOK_TIMEOUT_MS: '2000' };
  for (const k of ['AGUSTO_CONFIG', 'AGUSTO_LISTEN', 'AGUSTO_METRICS_LISTEN', 'AGUSTO_DATA_DIR']) delete env[k];
  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', path.join(dir, 'data')],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let log = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { log += d; });
  let exited = false;
  child.on('exit', () => { exited = true; });
  const base = await until('the server to report its address', () => {
    if (exited) throw new Error('agusto serve exited at start-up:\n' + log);
    const m = /agusto listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    return m && m[1];
  }, 30000);
  await until('/healthz', async () => (await fetch(base + '/healthz').catch(() => null))?.ok, 10000);
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await until('the server to stop', () => exited, 10000).catch(() => child.kill('SIGKILL'));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { base, admin, stop, log: () => log };
}

/** A webhook receiver on a free port: records every POST; answers `status()`. */
export async function startReceiver(status = () => 200) {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let json = null;
      try { json = JSON.parse(body); } catch { /* recorded as null */ }
      got.push({ headers: req.headers, body: json });
      res.writeHead(status());
      res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/hook`;
  return { url, got, stop: () => new Promise((r) => server.close(r)) };
}

/** An API client of `base`: call(method, path, token, body?, headers?) -> { status, body }. */
export function apiClient(base) {
  return async function call(method, p, token, body, headers = {}) {
    const init = { method, headers: { Authorization: `Bearer ${token}`, ...headers } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const r = await fetch(base + p, init);
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: r.status, body: json };
  };
}

/** Headless Chromium from Debian's package. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
}

/** axe-core on the page: the serious and critical violations (none expected). */
export async function seriousViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** A full-page screenshot under the screenshots folder. */
export async function shot(page, name) {
  fs.mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true });
}

/** Signs in on a new page of `context`; resolves to the page (on the pick list). */
export async function signIn(context, base, token) {
  const page = await context.newPage();
  await page.goto(base + '/console');
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.waitForURL(/\/console\/pick-list$/, { timeout: 10000 });
  return page;
}
