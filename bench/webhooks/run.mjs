// Webhooks benchmark (issue 14), driven by bench/webhooks/run.sh.
//
// Phase 1, latency: BENCH_CALLERS callers each hold a WebSocket; at a steady
// BENCH_RATE calls/s in all, a caller POSTs /rpc/call_start to a callee who
// has no socket, then cancels it (both through the bridge).  One endpoint
// wants call.started: its body's created_at is clock_timestamp() taken at
// PRE_COMMIT, just before the commit, and the same instant is the reference
// for the caller's call.started WebSocket event of the same call, so both
// paths are measured from the same commit: commit -> receiver's request and
// commit -> client's socket.
//
// Phase 2, throughput: the bridge is stopped (SIGSTOP), BENCH_BACKLOG
// deliveries are queued by calls in one transaction, the bridge continues,
// and the receiver counts how fast it drains them (deliveries/s).
import crypto from 'node:crypto';
import http from 'node:http';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WebSocket = createRequire(path.join(ROOT, 'test/bridge/package.json'))('ws');
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECS = Number(process.env.BENCH_SECONDS ?? 10);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 50);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 5000);
const BRIDGE = new URL(process.env.BRIDGE_URL);
const DB = process.env.DB;

const psql = (sql) => execFileSync('psql', ['-X', '-d', DB, '-Atq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
const token = (sub) => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub, role: 'pgcall_user', exp: Math.floor(Date.now() / 1000) + 7200 });
  return `${h}.${p}.${crypto.createHmac('sha256', process.env.BENCH_SECRET).update(`${h}.${p}`).digest('base64url')}`;
};
const wall = () => performance.timeOrigin + performance.now();   // ms, sub-ms precision
const pct = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))]; };
// ISO 8601 with up to microseconds -> ms since the epoch, sub-ms kept
const isoMs = (iso) => { const m = /\.(\d+)/.exec(iso); return Date.parse(iso) + (m ? (Number(`0.${m[1]}`) * 1000) % 1 : 0); };
const fmt = (a) => a.length ? `p50 ${pct(a, 50).toFixed(2)} ms, p90 ${pct(a, 90).toFixed(2)} ms, p99 ${pct(a, 99).toFixed(2)} ms, max ${Math.max(...a).toFixed(2)} ms (n=${a.length})` : 'none';

// the receiver: answers at once, records when each call.started arrived
const committed = new Map();   // call id -> created_at (ms)
const hookLat = [];
let received = 0;
const receiver = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const t = wall();
    received++;
    const b = JSON.parse(Buffer.concat(chunks));
    if (b.type === 'call.started') {
      const at = isoMs(b.created_at);
      committed.set(b.call.id, at);
      hookLat.push(t - at);
      const w = wsArrival.get(b.call.id);
      if (w !== undefined) wsLat.push(w - at);
    }
    res.writeHead(204).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const ep = JSON.parse(psql(`SELECT pgcall.webhook_endpoint_create('http://127.0.0.1:${receiver.address().port}/hook',
  ARRAY['call.started'], false, 64)`));

// the callers' sockets: call.started arrival per call
const wsArrival = new Map();
const wsLat = [];
const sockets = await Promise.all(Array.from({ length: CALLERS }, (_, i) => new Promise((resolve, reject) => {
  const ws = new WebSocket(`ws://${BRIDGE.host}/ws?token=${token(`bw-caller-${i}`)}`);
  ws.on('message', (d) => {
    const m = JSON.parse(d);
    if (m.type === 'welcome') resolve(ws);
    if (m.type === 'event' && m.event === 'call.started') {
      const t = wall();
      const at = committed.get(m.call_id);
      if (at !== undefined) wsLat.push(t - at); else wsArrival.set(m.call_id, t);
    }
  });
  ws.on('error', reject);
})));

const agent = new http.Agent({ keepAlive: true, maxSockets: CALLERS });
function rpc(sub, fn, args) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(args);
    const req = http.request({ host: BRIDGE.hostname, port: BRIDGE.port, path: `/rpc/${fn}`, method: 'POST', agent,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token(sub)}`, 'content-length': Buffer.byteLength(body) } },
    (res) => { const c = []; res.on('data', (x) => c.push(x)); res.on('end', () => res.statusCode < 300 ? resolve(JSON.parse(Buffer.concat(c))) : reject(new Error(`${res.statusCode} ${Buffer.concat(c)}`))); });
    req.on('error', reject);
    req.end(body);
  });
}

// phase 1
let n = 0;
let errors = 0;
const busy = new Array(CALLERS).fill(false);
const t0 = wall();
await new Promise((done) => {
  const iv = setInterval(() => {
    const due = Math.floor((wall() - t0) / 1000 * RATE);
    while (n < due) {
      const i = n % CALLERS;
      n++;
      if (busy[i]) { errors++; continue; }
      busy[i] = true;
      const sub = `bw-caller-${i}`;
      rpc(sub, 'call_start', { invitees: [`bw-callee-${n}`] })
        .then((r) => rpc(sub, 'call_cancel', { call_id: r.call.id }))
        .catch(() => { errors++; })
        .finally(() => { busy[i] = false; });
    }
    if (wall() - t0 >= SECS * 1000) { clearInterval(iv); done(); }
  }, 2);
});
await new Promise((r) => setTimeout(r, 1500));
console.log(`latency phase: ${n} calls at ${RATE}/s for ${SECS} s over ${CALLERS} callers (${errors} skipped or failed)`);
console.log(`  commit -> webhook receiver (call.started): ${fmt(hookLat)}`);
console.log(`  commit -> caller's WebSocket (call.started): ${fmt(wsLat)}`);

// where the time went, from the delivery log: HTTP time as the bridge saw
// it, and commit -> report (claim + HTTP + the report's own wait)
console.log('  from the log: ' + psql(`SELECT format('HTTP p50 %s ms p99 %s ms; commit -> report p50 %s ms p99 %s ms',
    percentile_disc(0.5) WITHIN GROUP (ORDER BY a.latency_ms), percentile_disc(0.99) WITHIN GROUP (ORDER BY a.latency_ms),
    round(percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.at - d.created_at) * 1000)::numeric, 1),
    round(percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.at - d.created_at) * 1000)::numeric, 1))
  FROM pgcall.webhook_delivery d JOIN pgcall.webhook_attempt a ON a.delivery_id = d.id`));

// phase 2
// the bridge is stopped (SIGSTOP) while the backlog is queued
process.kill(Number(process.env.BRIDGE_PID), 'SIGSTOP');
psql(`SET pgcall.user_id = 'bw-backlog';
  SELECT count(pgcall.call_start(ARRAY['bw-b-' || i])) FROM generate_series(1, ${BACKLOG}) i, LATERAL (SELECT set_config('pgcall.user_id', 'bw-a-' || i, true)) s`.replace(/\n/g, ' '));
const queued = Number(psql(`SELECT count(*) FROM pgcall.webhook_delivery WHERE endpoint_id = ${ep.id} AND status = 'pending'`));
const before = received;
const t1 = wall();
process.kill(Number(process.env.BRIDGE_PID), 'SIGCONT');
await new Promise((done) => { const iv = setInterval(() => { if (received - before >= queued) { clearInterval(iv); done(); } }, 5); });
const secs = (wall() - t1) / 1000;
console.log(`throughput phase: ${queued} queued deliveries drained in ${secs.toFixed(2)} s: ${(queued / secs).toFixed(0)} deliveries/s`);
const st = psql(`SELECT status || ' ' || count(*) FROM pgcall.webhook_delivery GROUP BY status ORDER BY 1`);
console.log(`outbox: ${st.replace(/\n/g, ', ')}`);
for (const ws of sockets) ws.close();
agent.destroy();
receiver.close();
process.exit(0);
