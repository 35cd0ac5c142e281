// Shared harness of the bridge integration tests: a database per test file,
// bridges started on free loopback ports, JWTs, SQL through psql, and a
// WebSocket client that waits for messages by predicate.
//
// Environment (set by test/suites/60-bridge): PGHOST, PGPORT, PGUSER, ROOT,
// PGCALL_BRIDGE_BIN (the binary to test; an ASan build or a valgrind wrapper
// also fits), PGCALL_ARTIFACTS (bridge logs go there), PGCALL_BRIDGE_MODE
// (embedded: the cluster's embedded bridge, see embedded.mjs).

import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { embeddedFree, startEmbedded } from './embedded.mjs';

export const ROOT = process.env.ROOT ?? path.resolve(import.meta.dirname, '../..');
const BIN = process.env.PGCALL_BRIDGE_BIN ?? path.join(ROOT, 'worker/pgcall-bridge');
const WRAPPER = process.env.PGCALL_BRIDGE_WRAPPER ? process.env.PGCALL_BRIDGE_WRAPPER.split(' ') : [];
const ARTIFACTS = process.env.PGCALL_ARTIFACTS ?? '/tmp';
export const ARTIFACTS_DIR = ARTIFACTS;
export const SECRET = crypto.randomBytes(32).toString('hex');
export const AUTHENTICATOR = 'pgcall_authenticator';

export function sign(claims, { secret = SECRET, alg = 'HS256', header = {} } = {}) {
  const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
  const h = b64({ alg, typ: 'JWT', ...header });
  const p = b64(claims);
  if (alg === 'none') return `${h}.${p}.`;
  const algo = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[alg];
  const s = crypto.createHmac(algo, secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}

export function userToken(sub, extra = {}) {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub, role: 'pgcall_user', iat: now, exp: now + 3600, ...extra });
}

// ------------------------------------------------------------------ SQL

export function psql(db, sql, { user = process.env.PGUSER ?? 'postgres' } = {}) {
  return execFileSync('psql', ['-X', '-d', db, '-U', user, '-Atq', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// Run sql in one transaction as the user sub would through the bridge.
export function asUser(db, sub, sql) {
  const claims = JSON.stringify({ sub, role: 'pgcall_user' }).replace(/'/g, "''");
  return psql(db, `BEGIN; SET LOCAL ROLE pgcall_user;
    SELECT set_config('request.jwt.claims', '${claims}', true);
    ${sql}; COMMIT;`);
}

// A fresh database with pgcall, the authenticator role, and the fixtures.
export function createDatabase(name) {
  execFileSync('dropdb', ['--if-exists', '--force', name]);
  execFileSync('createdb', [name]);
  psql(name, 'CREATE EXTENSION pgcall');
  psql(name, `DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${AUTHENTICATOR}') THEN
        CREATE ROLE ${AUTHENTICATOR} LOGIN NOINHERIT;
      END IF; END $$;
    GRANT pgcall_anon, pgcall_user, pgcall_backend, pgcall_admin, pgcall_bridge, pgcall_authn TO ${AUTHENTICATOR};`);
  execFileSync('psql', ['-X', '-d', name, '-q', '-v', 'ON_ERROR_STOP=1', '-f',
    path.join(ROOT, 'test/bridge/fixtures.sql')], { stdio: ['ignore', 'ignore', 'pipe'] });
  return name;
}

export function conninfo(db) {
  return `host=${process.env.PGHOST} port=${process.env.PGPORT} dbname=${db} user=${AUTHENTICATOR}`;
}

// ---------------------------------------------------------------- bridge

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Options every test bridge gets before its own.
const DEFAULT_ARGS = ['--schemas', 'pgcall,bridge_test', '--heartbeat', '200', '--expire-interval', '200'];

let bridgeCount = 0;
const running = new Set();
// A test file that fails or is cancelled leaves no bridge behind.
process.on('exit', () => { for (const p of running) p.kill('SIGKILL'); });

// On a busy machine another process can take the free port before the
// bridge binds it: then a bridge on a port of our choosing starts again on
// another.
export async function startBridge(db, opts = {}) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startBridgeOnce(db, opts);
    } catch (e) {
      if (opts.port !== undefined || attempt >= 4 || !/cannot listen on/.test(e.message)) throw e;
    }
  }
}

async function startBridgeOnce(db, { args = [], env = {}, waitReady = true, port: wanted } = {}) {
  const port = wanted ?? await freePort();
  if (embeddedFree()) {
    return startEmbedded(db, { args, env, port },
      { secret: SECRET, waitFor, defaults: DEFAULT_ARGS });
  }
  const secretFile = path.join(ARTIFACTS, `jwt-secret-${process.pid}`);
  fs.writeFileSync(secretFile, SECRET, { mode: 0o600 });
  const logFile = path.join(ARTIFACTS, `bridge-${path.basename(process.argv[1] ?? 'x')}-${++bridgeCount}.log`);
  const log = fs.openSync(logFile, 'w');
  const argv = [...WRAPPER, BIN, '--port', String(port), '--db', conninfo(db),
    '--jwt-secret-file', secretFile, ...DEFAULT_ARGS, ...args];
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
  running.add(proc);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => { running.delete(proc); resolve({ code, signal }); }));
  const b = {
    port, proc, exited, logFile, db,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    log: () => fs.readFileSync(logFile, 'utf8'),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  if (waitReady) await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`bridge exited: ${b.log()}`);
    try {
      // healthy, and at least one request connection up (under ASan or
      // valgrind the pool can trail the listener by a while)
      const r = await fetch(`${b.url}/health`);
      if (r.status !== 200) return false;
      const h = await r.json();
      return !h.pool || h.pool.up > 0;
    } catch { return false; }
  }, `bridge on port ${port} to be healthy`);
  return b;
}

// Poll until fn() is truthy.  The deadline only turns a hang into a failure
// with a message; no test asserts on how long anything took.
export async function waitFor(fn, what = 'condition', timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function http(b, method, p, { body, headers = {}, token } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined && typeof body !== 'string') {
    body = JSON.stringify(body);
    h['Content-Type'] ??= 'application/json';
  }
  const r = await fetch(`${b.url}${p}`, { method, headers: h, body });
  const text = await r.text();
  let json;
  try { json = text ? JSON.parse(text) : null; } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text, json };
}

// Raw HTTP/1.1 over TCP for what fetch will not send (no length, chunked, Expect).
export function rawHttp(port, request, { waitClose = true } = {}) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (d) => {
      data += d;
      if (!waitClose && /\r\n\r\n/.test(data)) {
        const m = /content-length: (\d+)/i.exec(data);
        const head = data.indexOf('\r\n\r\n') + 4;
        if (!m || data.length - head >= Number(m[1])) { s.destroy(); resolve(data); }
      }
    });
    s.on('end', () => resolve(data));
    s.on('close', () => resolve(data));
    s.on('error', reject);
    s.write(request);
  });
}

// Several requests on one keep-alive connection, each sent after the
// previous reply is complete (HTTP/1.1 pipelining is not supported).
export function sequentialHttp(port, requests) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    const replies = [];
    let data = '';
    s.setEncoding('utf8');
    const next = () => {
      if (replies.length === requests.length) { s.destroy(); resolve(replies); return; }
      s.write(requests[replies.length]);
    };
    s.on('data', (d) => {
      data += d;
      for (;;) {
        const head = data.indexOf('\r\n\r\n');
        if (head < 0) return;
        const m = /content-length: (\d+)/i.exec(data.slice(0, head));
        const end = head + 4 + (m ? Number(m[1]) : 0);
        if (data.length < end) return;
        replies.push(data.slice(0, end));
        data = data.slice(end);
        next();
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(replies));
    s.on('connect', next);
  });
}

// ------------------------------------------------------------- WebSocket

let nextId = 0;

export class Client {
  constructor(b, token, { after, headers } = {}) {
    let url = `${b.wsUrl}?token=${encodeURIComponent(token)}`;
    if (after !== undefined) url += `&after=${after}`;
    this.ws = new WebSocket(url, { headers });
    this.messages = [];
    this.waiters = [];
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', resolve);
      this.ws.on('error', reject);
      this.ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`),
          { status: res.statusCode, headers: res.headers, body })));
      });
    });
    this.ws.on('message', (data, binary) => {
      const m = JSON.parse(data.toString());
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => !w.check());
    });
  }

  // The next message (from the start, or after `from`) matching pred.
  next(pred, what = 'message', timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      const w = {
        check: () => {
          const i = this.messages.findIndex(pred);
          if (i < 0) return false;
          const [m] = this.messages.splice(i, 1);
          clearTimeout(w.timer);
          resolve(m);
          return true;
        },
      };
      if (w.check()) return;
      w.timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.messages).slice(0, 2000)}`)), timeoutMs);
      this.waiters.push(w);
    });
  }

  async welcome() {
    await this.opened;
    return this.next((m) => m.type === 'welcome', 'welcome');
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }

  // A call; resolves to the result or error message.
  async call(fn, args = {}) {
    const id = `c${++nextId}`;
    this.send({ type: 'call', id, fn, args });
    return this.next((m) => (m.type === 'result' || m.type === 'error') && m.id === id, `reply to ${fn}`);
  }

  async ok(fn, args = {}) {
    const r = await this.call(fn, args);
    if (r.type !== 'result') throw new Error(`${fn} failed: ${JSON.stringify(r)}`);
    return r.data;
  }

  event(pred = () => true, what = 'event') {
    return this.next((m) => m.type === 'event' && pred(m), what);
  }

  close() { this.ws.close(); return this.closed; }
}

// caller starts a direct call to callee; returns the call id.
export async function ring(caller, callee, args = {}) {
  const r = await caller.ok('call_start', { invitees: [callee], ...args });
  return r.call.id;
}

export async function metrics(b) {
  const t = await (await fetch(`${b.url}/metrics`)).text();
  const out = {};
  for (const line of t.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}
