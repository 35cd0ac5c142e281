// Ring latency (issue 10): from the moment a caller's app starts its HTTP
// request to the moment the callee's socket holds the incoming call, at a
// steady BENCH_RATE calls/s (100), pgcall (POST /rpc/call_session, then
// call.incoming on the callee's WebSocket) against the Node baseline
// (POST /api/calls/session, then incoming_call on the callee's Socket.IO
// socket), in BENCH_ROUNDS alternating rounds of BENCH_SECONDS/BENCH_ROUNDS
// seconds each.  Every call has its own caller, to match event to request;
// BENCH_CALLEES callees (100) hold a socket each on both systems throughout.
// Run by bench/ring/run.sh, which starts both systems.
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WebSocket = createRequire(path.join(ROOT, 'test/bridge/package.json'))('ws');
const { io } = createRequire(path.join(ROOT, 'bench/node-baseline/package.json'))('socket.io-client');

const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const CALLEES = Number(process.env.BENCH_CALLEES ?? 100);
const BRIDGE = new URL(process.env.BRIDGE_URL);
const NODE = new URL(process.env.NODE_URL);

const token = (sub) => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub, role: 'pgcall_user', exp: Math.floor(Date.now() / 1000) + 7200 });
  return `${h}.${p}.${crypto.createHmac('sha256', process.env.BENCH_SECRET).update(`${h}.${p}`).digest('base64url')}`;
};
const now = () => performance.now();

// pending[caller] = {start, http}; one table per system.
const state = { pgcall: { pending: new Map(), lat: [], httpLat: [], errors: 0, sent: 0, late: 0 },
  node: { pending: new Map(), lat: [], httpLat: [], errors: 0, sent: 0, late: 0 } };
function arrived(sys, caller) {
  const st = state[sys];
  const p = st.pending.get(caller);
  if (!p) { st.late++; return; }
  st.pending.delete(caller);
  st.lat.push(now() - p.start);
}

const sockets = [];
await Promise.all(Array.from({ length: CALLEES }, (_, i) => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://${BRIDGE.host}/ws?token=${token(`rc-callee-${i}`)}`);
  ws.on('message', (d) => {
    const m = JSON.parse(d);
    if (m.type === 'welcome') resolve();
    if (m.type === 'event' && m.event === 'call.incoming') arrived('pgcall', m.call?.created_by);
  });
  ws.on('error', reject);
  sockets.push(ws);
})));
await Promise.all(Array.from({ length: CALLEES }, (_, i) => new Promise((resolve, reject) => {
  const s = io(NODE.origin, { auth: { userId: `rc-callee-${i}` }, transports: ['websocket'] });
  s.on('ready', resolve);
  s.on('incoming_call', (e) => arrived('node', e.callerId));
  s.on('connect_error', reject);
  sockets.push(s);
})));

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
function post(url, p, headers, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, path: p, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

let seq = 0;
async function call(sys, round) {
  const caller = `rc-${sys}-${round}-${++seq}`;
  const callee = `rc-callee-${Math.floor(Math.random() * CALLEES)}`;
  const st = state[sys];
  let hdr = {};
  let p, body;
  if (sys === 'pgcall') {
    hdr = { Authorization: `Bearer ${token(caller)}` };
    p = '/rpc/call_session';
    body = JSON.stringify({ other_user: callee, type: 'voice' });
  } else {
    p = '/api/calls/session';
    body = JSON.stringify({ userId: caller, otherUserId: callee, type: 'voice' });
  }
  const start = now();
  st.pending.set(caller, { start });
  st.sent++;
  const status = await post(sys === 'pgcall' ? BRIDGE : NODE, p, hdr, body);
  st.httpLat.push(now() - start);
  if (status !== 200) { st.errors++; st.pending.delete(caller); }
}

async function round(sys, r, secs) {
  const n = Math.round(RATE * secs);
  const t0 = now() + 20;
  const inflight = [];
  for (let k = 0; k < n; k++) {
    const wait = t0 + (k * 1000) / RATE - now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    inflight.push(call(sys, r));
  }
  await Promise.all(inflight);
  const deadline = now() + 3000;
  while (state[sys].pending.size > 0 && now() < deadline) await new Promise((res) => setTimeout(res, 20));
}

// one short warm-up each, not counted
for (const sys of ['node', 'pgcall']) await round(sys, 0, 1);
for (const sys of ['node', 'pgcall']) Object.assign(state[sys], { lat: [], httpLat: [], errors: 0, sent: 0, late: 0 });
state.node.pending.clear(); state.pgcall.pending.clear();

for (let r = 1; r <= ROUNDS; r++) {
  for (const sys of (r % 2 ? ['node', 'pgcall'] : ['pgcall', 'node'])) await round(sys, r, SECS / ROUNDS);
}

const q = (a, p) => a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))].toFixed(2) : 'n/a';
console.log(`ring: ${RATE} calls/s, ${SECS}s per system in ${ROUNDS} alternating rounds, ${CALLEES} callees each`);
console.log('| system | calls | received | lost | HTTP errors | ring p50 ms | p90 | p99 | max | HTTP p50 ms | HTTP p99 ms |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const sys of ['pgcall', 'node']) {
  const st = state[sys];
  st.lat.sort((a, b) => a - b);
  st.httpLat.sort((a, b) => a - b);
  console.log(`| ${sys} | ${st.sent} | ${st.lat.length} | ${st.pending.size} | ${st.errors} | ${q(st.lat, 0.5)} | ${q(st.lat, 0.9)} | ${q(st.lat, 0.99)} | ${q(st.lat, 1)} | ${q(st.httpLat, 0.5)} | ${q(st.httpLat, 0.99)} |`);
}
const r50 = Number(q(state.pgcall.lat, 0.5)) / Number(q(state.node.lat, 0.5));
console.log(`ring p50 ratio pgcall / node: ${r50.toFixed(2)}`);
for (const s of sockets) (s.terminate ? s.terminate() : s.disconnect());
agent.destroy();
process.exit(0);
