// Issue 10: BENCH_JOINERS (200) people join one public conference, one
// after another, each with its WebSocket open before anyone joins.  The
// host creates it (POST /rpc/conference_create), then each joiner posts
// /rpc/call_join (one transaction each).  Reports the join latency (HTTP,
// request to response) of the first 10 joins against the last 100, the
// event rows and payload bytes pgcall wrote, and whether every socket saw
// the participant.joined of everyone who joined after it (and the host's
// of everyone).  Stops joining after BENCH_MAX_SECONDS (150).
// Run by bench/conference/run.sh.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WebSocket = createRequire(path.join(ROOT, 'test/bridge/package.json'))('ws');
const N = Number(process.env.BENCH_JOINERS ?? 200);
const MAX_MS = Number(process.env.BENCH_MAX_SECONDS ?? 150) * 1000;
const BRIDGE = new URL(process.env.BRIDGE_URL);
const psql = (sql) => execFileSync('psql', ['-X', '-d', process.env.DB, '-Atq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
const token = (sub) => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub, role: 'pgcall_user', exp: Math.floor(Date.now() / 1000) + 7200 });
  return `${h}.${p}.${crypto.createHmac('sha256', process.env.BENCH_SECRET).update(`${h}.${p}`).digest('base64url')}`;
};
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
function rpc(fn, who, args) {
  const body = JSON.stringify(args);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: BRIDGE.hostname, port: BRIDGE.port, path: `/rpc/${fn}`, method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Authorization: `Bearer ${token(who)}` } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${fn}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const users = ['cf-host', ...Array.from({ length: N }, (_, i) => `cf-${i + 1}`)];
const seen = new Map(users.map((u) => [u, new Set()]));
let events = 0;
let eventBytes = 0;
let lastEvent = performance.now();
const sockets = [];
await Promise.all(users.map((u) => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://${BRIDGE.host}/ws?token=${token(u)}`);
  ws.on('message', (d) => {
    const m = JSON.parse(d);
    if (m.type === 'welcome') return resolve();
    if (m.type !== 'event') return;
    events++;
    eventBytes += d.length;
    lastEvent = performance.now();
    if (m.event === 'participant.joined') seen.get(u).add(m.data?.user_id);
  });
  ws.on('error', reject);
  sockets.push(ws);
})));

const before = psql('SELECT count(*) || \' \' || coalesce(sum(octet_length(payload)), 0) FROM pgcall.event').split(' ').map(Number);
const created = await rpc('conference_create', 'cf-host', { title: 'bench', is_public: true, max_participants: Math.max(2, N + 1) });
const callId = created.call.id;
const lat = [];
const t0 = performance.now();
for (let i = 1; i <= N && performance.now() - t0 < MAX_MS; i++) {
  const s = performance.now();
  await rpc('call_join', `cf-${i}`, { call_id: callId });
  lat.push(performance.now() - s);
}
const joinSecs = (performance.now() - t0) / 1000;
const joined = lat.length;
// wait for the sockets to go quiet (2 s without an event, at most 30 s)
const quietDeadline = performance.now() + 30000;
while (performance.now() - lastEvent < 2000 && performance.now() < quietDeadline) await new Promise((r) => setTimeout(r, 100));

const after = psql('SELECT count(*) || \' \' || coalesce(sum(octet_length(payload)), 0) FROM pgcall.event').split(' ').map(Number);
const [callEvents, callBytes, maxPayload] = psql(`SELECT count(*) || ' ' || coalesce(sum(octet_length(payload)), 0) || ' ' || coalesce(max(octet_length(payload)), 0) FROM pgcall.event WHERE call_id = '${callId}'`).split(' ').map(Number);
let missing = 0;
let socketsMissing = 0;
for (let k = 0; k <= joined; k++) {
  const s = seen.get(users[k]);
  let m = 0;
  for (let j = k + 1; j <= joined; j++) if (!s.has(users[j])) m++;
  missing += m;
  if (m) socketsMissing++;
}
const expected = (joined * (joined + 1)) / 2;
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const sorted = (a) => [...a].sort((x, y) => x - y);
const med = (a) => sorted(a)[Math.floor(a.length / 2)];
const first = lat.slice(0, 10);
const last = lat.slice(-100);
const MB = (b) => (b / 1048576).toFixed(1);
console.log(`conference: ${joined} of ${N} joined one public conference in ${joinSecs.toFixed(1)} s (one after another), ${users.length} sockets open`);
console.log(`join latency ms: first 10 mean ${mean(first).toFixed(2)} median ${med(first).toFixed(2)}; last ${last.length} mean ${mean(last).toFixed(2)} median ${med(last).toFixed(2)}; slowest ${Math.max(...lat).toFixed(2)}; ratio last/first (means) ${(mean(last) / mean(first)).toFixed(1)}`);
console.log(`event rows written: ${after[0] - before[0]} (${callEvents} for this call), payload bytes ${after[1] - before[1]} (${MB(after[1] - before[1])} MiB; largest payload ${maxPayload} bytes)`);
console.log(`events received over WebSocket: ${events} messages, ${MB(eventBytes)} MiB`);
console.log(`participant.joined seen: ${expected - missing} of ${expected} expected (every socket, every join after it); sockets missing some: ${socketsMissing}`);
console.log(`table size: ${psql("SELECT pg_size_pretty(pg_total_relation_size('pgcall.event'))")} (pgcall.event with TOAST and indexes)`);
for (const s of sockets) s.terminate();
agent.destroy();
process.exit(0);
