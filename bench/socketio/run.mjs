// Socket.IO (seed 003's dialect) against the native WebSocket, in one run:
//
// 1. Event latency.  BENCH_PAIRS (20) callees each hold a native /ws socket
//    and a socket.io-client socket (transports: websocket) on the same
//    bridge; each is in an answered call with its own caller.  Callers send
//    BENCH_SIGNALS (2000) offers at BENCH_RATE (200) per second over their
//    native sockets (call_signal), each carrying a sequence number; the
//    clock starts just before the send and stops when the callee's socket
//    has the event: `call.signal` on /ws, `receiveOffer` on Socket.IO.  The
//    same event reaches both sockets, so the two columns differ only by the
//    delivery path (mapping and framing) and by which socket Node reads first.
// 2. Memory per idle connection.  Two fresh bridges; BENCH_CONNS (1000)
//    authenticated sockets on each, native on one, Socket.IO on the other;
//    the bridge's VmRSS growth divided by the count.
//
// Run by bench/socketio/run.sh (a throwaway cluster), or inside a test
// environment with PGHOST/PGPORT set.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const lib = await import(path.join(ROOT, 'test/bridge/lib.mjs'));
const { io } = createRequire(path.join(ROOT, 'test/bridge/package.json'))('socket.io-client');
const { Client, createDatabase, psql, startBridge, userToken, waitFor } = lib;

const PAIRS = Number(process.env.BENCH_PAIRS ?? 20);
const SIGNALS = Number(process.env.BENCH_SIGNALS ?? 2000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const CONNS = Number(process.env.BENCH_CONNS ?? 1000);

const DB = createDatabase('bench_socketio');
for (const g of ['rate_limit_calls', 'rate_limit_signals', 'rate_limit_signal_bytes', 'rate_limit_joins']) {
  psql(DB, `ALTER DATABASE bench_socketio SET pgcall.${g} = 0`);
}
const common = ['--socketio-dialect', 'seed003', '--log-level', 'warn'];

function sio(b, sub) {
  const s = io(b.url, { auth: { token: userToken(sub) }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => { s.once('connect', () => resolve(s)); s.once('connect_error', reject); });
}

function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (x) => `${x.toFixed(2)} ms`;

// ------------------------------------------------------------- latency
const b = await startBridge(DB, { args: common });
const t0 = new Map();
const lat = { native: [], socketio: [] };
const pairs = [];
for (let i = 0; i < PAIRS; i++) {
  const caller = new Client(b, userToken(`bc-${i}`));
  const callee = new Client(b, userToken(`be-${i}`));
  await Promise.all([caller.welcome(), callee.welcome()]);
  const s = await sio(b, `be-${i}`);
  const started = await caller.ok('call_start', { invitees: [`be-${i}`] });
  const callId = started.call.id;
  await callee.ok('call_accept', { call_id: callId });
  callee.ws.on('message', (d) => {
    const m = JSON.parse(d);
    if (m.type === 'event' && m.event === 'call.signal') lat.native.push(performance.now() - t0.get(m.data.payload.seq));
  });
  s.on('receiveOffer', ({ offer }) => lat.socketio.push(performance.now() - t0.get(offer.seq)));
  pairs.push({ caller, callee, s, callId, to: `be-${i}` });
}
let sent = 0;
await new Promise((resolve) => {
  const start = performance.now();
  const tick = () => {
    const due = Math.min(SIGNALS, Math.floor(((performance.now() - start) / 1000) * RATE));
    while (sent < due) {
      const p = pairs[sent % PAIRS];
      const seq = sent++;
      t0.set(seq, performance.now());
      p.caller.send({ type: 'call', id: `s${seq}`, fn: 'call_signal',
        args: { call_id: p.callId, to_user: p.to, kind: 'offer', payload: { type: 'offer', sdp: 'v=0', seq } } });
    }
    if (sent >= SIGNALS) resolve(); else setTimeout(tick, 2);
  };
  tick();
});
await waitFor(() => lat.native.length >= SIGNALS && lat.socketio.length >= SIGNALS, 'every signal on both sockets', 60000)
  .catch(() => {});
for (const p of pairs) { p.s.close(); p.caller.close(); p.callee.close(); }
await b.stop();

const out = [];
out.push(`signals ${SIGNALS} at ${RATE}/s over ${PAIRS} callees; received native ${lat.native.length}, Socket.IO ${lat.socketio.length}`);
out.push('| path | p50 | p90 | p99 | max |');
out.push('|---|---:|---:|---:|---:|');
for (const k of ['native', 'socketio']) {
  out.push(`| ${k === 'native' ? 'native /ws' : 'Socket.IO seed003'} | ${fmt(pct(lat[k], 50))} | ${fmt(pct(lat[k], 90))} | ${fmt(pct(lat[k], 99))} | ${fmt(Math.max(...lat[k]))} |`);
}
out.push(`p50 ratio Socket.IO / native: ${(pct(lat.socketio, 50) / pct(lat.native, 50)).toFixed(2)}`);

// -------------------------------------------------------------- memory
function rss(pid) {
  return Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}
async function perConn(kind) {
  const br = await startBridge(DB, { args: common });
  // one socket first, so what every bridge allocates once is not counted
  const first = kind === 'native' ? new Client(br, userToken('m-first')) : await sio(br, 'm-first');
  if (kind === 'native') await first.welcome();
  await new Promise((r) => setTimeout(r, 300));
  const before = rss(br.proc.pid);
  const socks = [];
  for (let i = 0; i < CONNS; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, CONNS - i) }, async (_, j) => {
      if (kind === 'native') { const c = new Client(br, userToken(`m-${i + j}`)); await c.welcome(); return c; }
      return sio(br, `m-${i + j}`);
    }));
    socks.push(...batch);
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = rss(br.proc.pid);
  for (const s of socks) s.close();
  first.close();
  await br.stop();
  return ((after - before) * 1024) / CONNS;
}
const memNative = await perConn('native');
const memSio = await perConn('socketio');
out.push(`memory per idle authenticated connection (${CONNS} each, VmRSS growth): native ${(memNative / 1024).toFixed(1)} KiB, ` +
  `Socket.IO ${(memSio / 1024).toFixed(1)} KiB, ratio ${(memSio / memNative).toFixed(2)}`);
console.log(out.join('\n'));
process.exit(0);
