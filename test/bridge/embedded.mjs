// The embedded bridge behind the same interface as a daemon started by
// lib.mjs's startBridge: with PGCALL_BRIDGE_MODE=embedded (test/suites/
// 48-embedded), the bridge a test starts is the one the cluster's pgcall
// bridge supervisor runs (shared_preload_libraries = 'pgcall').  Settings go
// through ALTER SYSTEM and a reload; the JWT secret through
// pgcall.set_secret('jwt_secret').  A cluster has one embedded bridge, so a
// second bridge a test starts while the first still runs is a daemon
// (b.embedded tells which).
//
// Environment: PGCALL_PG_LOG, the cluster's log, where the supervisor says
// how each bridge ended and the bridge writes its own log.

import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';

export const EMBEDDED = process.env.PGCALL_BRIDGE_MODE === 'embedded';
const PG_LOG = process.env.PGCALL_PG_LOG;

let inUse = false;

function sql(db, text) {
  return execFileSync('psql', ['-X', '-d', db, '-Atq', '-v', 'ON_ERROR_STOP=1', '-c', text],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const quote = (s) => `'${String(s).replace(/'/g, "''")}'`;

// A word of pgcall.bridge_options ('...' groups; values here hold no ').
function optionWord(w) {
  if (w.includes("'")) throw new Error(`embedded mode: an option with a quote: ${w}`);
  return /[\s"]/.test(w) || w === '' ? `'${w}'` : w;
}

function configure(settings) {
  const stmts = Object.entries(settings).map(([k, v]) => `ALTER SYSTEM SET pgcall.${k} = ${quote(v)};`);
  for (const s of stmts) sql('postgres', s);
  sql('postgres', 'SELECT pg_reload_conf()');
}

function logSince(offset) {
  const fd = fs.openSync(PG_LOG, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - offset));
    fs.readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally { fs.closeSync(fd); }
}

// The running bridge: the supervisor's child.
export function embeddedPid() {
  const sup = sql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgcall bridge supervisor'");
  if (!sup) return null;
  let out = '';
  try {
    out = execFileSync('ps', ['-o', 'pid=', '--ppid', sup], { encoding: 'utf8' }).trim();
  } catch { /* ps exits 1 when the supervisor has no child */ }
  return out ? Number(out.split(/\s+/)[0]) : null;
}

// How the bridge with this pid ended, from the supervisor's log line.
function exitOf(log, pid) {
  const re = new RegExp(`the embedded bridge \\(pid ${pid}\\) (?:exited with exit code (\\d+)|stopped with exit code (\\d+)|was terminated by signal (\\d+)|stopped by signal (\\d+)|refused its configuration)`);
  const m = re.exec(log);
  if (!m) return null;
  const signo = m[3] ?? m[4];
  const signal = signo
    ? Object.entries(os.constants.signals).find(([, n]) => n === Number(signo))?.[0] ?? signo : null;
  const code = m[1] ?? m[2];
  return { code: code !== undefined ? Number(code) : (signal ? null : 2), signal };
}

// The embedded bridge runs as the server's OS user: a --web-root the test
// made (mkdtemp: mode 0700) must be readable to it.
function shareWebRoot(args) {
  const i = args.indexOf('--web-root');
  if (i < 0) return;
  const walk = (p) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    fs.chmodSync(p, st.isDirectory() ? 0o755 : 0o644);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) walk(`${p}/${e}`);
  };
  walk(args[i + 1]);
}

// Whether startBridge should use the embedded bridge for this one.
export function embeddedFree() { return EMBEDDED && !inUse; }

// The embedded bridge always waits until healthy: its pid is known then.
export async function startEmbedded(db, { args = [], env = {}, port }, { secret, waitFor, defaults }) {
  if (Object.keys(env).length) throw new Error('embedded mode: environment options are not supported');
  inUse = true;
  try {
    const id = crypto.randomUUID();
    const words = [...defaults, ...args, '--bridge-id', id].map(optionWord);
    shareWebRoot(args);
    psql_secret(db, secret);
    const offset = fs.statSync(PG_LOG).size;
    configure({
      bridge_database: db, bridge_port: String(port), bridge_listen: '127.0.0.1',
      bridge_options: words.join(' '), bridge_enabled: 'on',
    });
    const b = {
      embedded: true, port, db,
      url: `http://127.0.0.1:${port}`,
      wsUrl: `ws://127.0.0.1:${port}/ws`,
      logFile: PG_LOG,
      log: () => logSince(offset),
    };
    const health = async () => {
      try {
        const r = await fetch(`${b.url}/health`);
        if (r.status !== 200) return false;
        const h = await r.json();
        return h.bridge === id && (!h.pool || h.pool.up > 0);
      } catch { return false; }
    };
    await waitFor(async () => {
      if (/refused its configuration/.test(b.log())) throw new Error(`the embedded bridge refused its options: ${b.log()}`);
      return health();
    }, `the embedded bridge on port ${port} to be healthy`, 60000);
    const pid = embeddedPid();
    let result = null;
    b.exited = (async () => {
      for (;;) {
        result = exitOf(b.log(), pid);
        if (result) { inUse = false; return result; }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    b.proc = {
      pid,
      get exitCode() { return result ? result.code : null; },
      get signalCode() { return result ? result.signal : null; },
      kill(signal = 'SIGTERM') { try { process.kill(pid, signal); } catch { /* gone */ } },
    };
    b.stop = async (signal = 'SIGTERM') => {
      if (result) { configure({ bridge_enabled: 'off' }); return result; }
      if (signal === 'SIGTERM') configure({ bridge_enabled: 'off' });
      else { b.proc.kill(signal); await b.exited; configure({ bridge_enabled: 'off' }); }
      return b.exited;
    };
    return b;
  } catch (e) {
    inUse = false;
    throw e;
  }
}

function psql_secret(db, secret) {
  sql(db, `SELECT pgcall.set_secret('jwt_secret', ${quote(secret)})`);
}
