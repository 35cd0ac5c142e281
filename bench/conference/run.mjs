// Issue 10: BENCH_JOINERS (1000) people join one public conference, one
// after another (one transaction each, a new join every BENCH_JOIN_MS ms,
// 40), each with its WebSocket open through the bridge before anyone joins.
// The host creates it (POST /rpc/conference_create), then each joiner posts
// /rpc/call_join.  Reports, in one run:
//   - join latency (HTTP, request to response) of the first 10 joins (a call
//     of up to 10 people) against the last 100, and of BENCH_ACCEPTS (100)
//     call_accept of 1:1 calls made afterwards the same way;
//   - the event rows and bytes pgcall wrote for the conference (payload and
//     recipients, and the table's size on disk);
//   - whether every socket saw the participant.joined of everyone who
//     joined after it (the host's of everyone), and how long after the
//     join's request each socket got it (p50/p99/max);
//   - the audience query of a participant event (participant_audience in
//     extension/call_triggers.c) at 10 and at 1000 participants;
//   - a user's events after an id (events_since) by the GIN index on
//     recipients against reaching them through the user's calls.
// Stops joining after BENCH_MAX_SECONDS (300).  Run by bench/conference/run.sh.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WebSocket = createRequire(path.join(ROOT, 'test/bridge/package.json'))('ws');
const N = Number(process.env.BENCH_JOINERS ?? 1000);
const JOIN_MS = Number(process.env.BENCH_JOIN_MS ?? 40);
const ACCEPTS = Number(process.env.BENCH_ACCEPTS ?? 100);
const MAX_MS = Number(process.env.BENCH_MAX_SECONDS ?? 300) * 1000;
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
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sorted = (a) => Float64Array.from(a).sort();
const pct = (s, q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const med = (a) => pct(sorted(a), 0.5);
const MB = (b) => (b / 1048576).toFixed(1);

const users = ['cf-host', ...Array.from({ length: N }, (_, i) => `cf-${i + 1}`)];
const sentAt = new Map();             // joiner -> performance.now() of its join request
const seen = new Map(users.map((u) => [u, new Set()]));
const delays = [];                    // ms from a join's request to a socket getting its participant.joined
let events = 0;
let eventBytes = 0;
let lastEvent = performance.now();
const sockets = [];
// connect in batches: the bridge registers each socket's presence
for (let i = 0; i < users.length; i += 100) {
  await Promise.all(users.slice(i, i + 100).map((u) => new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${BRIDGE.host}/ws?token=${token(u)}`);
    ws.on('message', (d) => {
      const now = performance.now();
      const m = JSON.parse(d);
      if (m.type === 'welcome') return resolve();
      if (m.type !== 'event') return;
      events++;
      eventBytes += d.length;
      lastEvent = now;
      if (m.event === 'participant.joined') {
        const who = m.participant?.user_id ?? m.data?.user_id;
        seen.get(u).add(who);
        if (sentAt.has(who)) delays.push(now - sentAt.get(who));
      }
    });
    ws.on('error', reject);
    sockets.push(ws);
  })));
}

const bytesSql = "SELECT count(*) || ' ' || coalesce(sum(octet_length(payload)), 0) || ' ' || coalesce(sum(pg_column_size(recipients)), 0) || ' ' || coalesce(sum(cardinality(recipients)), 0) FROM pgcall.event";
const before = psql(bytesSql).split(' ').map(Number);
const sizeBefore = Number(psql("SELECT pg_total_relation_size('pgcall.event')"));
const created = await rpc('conference_create', 'cf-host', { title: 'bench', is_public: true, max_participants: N + 2 });
const callId = created.call.id;
const lat = [];
const t0 = performance.now();
for (let i = 1; i <= N && performance.now() - t0 < MAX_MS; i++) {
  const due = t0 + (i - 1) * JOIN_MS;
  if (performance.now() < due) await sleep(due - performance.now());
  const s = performance.now();
  sentAt.set(`cf-${i}`, s);
  await rpc('call_join', `cf-${i}`, { call_id: callId });
  lat.push(performance.now() - s);
}
const joinSecs = (performance.now() - t0) / 1000;
const joined = lat.length;
// wait for the sockets to go quiet (2 s without an event, at most 60 s)
const quietDeadline = performance.now() + 60000;
while (performance.now() - lastEvent < 2000 && performance.now() < quietDeadline) await sleep(100);

const after = psql(bytesSql).split(' ').map(Number);
const sizeAfter = Number(psql("SELECT pg_total_relation_size('pgcall.event')"));
const [callEvents, maxPayload] = psql(`SELECT count(*) || ' ' || coalesce(max(octet_length(payload)), 0) FROM pgcall.event WHERE call_id = '${callId}'`).split(' ').map(Number);
let missing = 0;
let socketsMissing = 0;
for (let k = 0; k <= joined; k++) {
  const s = seen.get(users[k]);
  let m = 0;
  for (let j = Math.max(k, 1); j <= joined; j++) if (!s.has(users[j])) m++;
  missing += m;
  if (m) socketsMissing++;
}
const expected = joined + (joined * (joined + 1)) / 2;   // the host sees all; cf-k sees cf-k..cf-N

// call_accept of 1:1 calls, the same way (HTTP, one transaction each)
const acc = [];
for (let i = 1; i <= ACCEPTS; i++) {
  const r = await rpc('call_start', `acc-a${i}`, { invitees: [`acc-b${i}`], type: 'audio' });
  const s = performance.now();
  await rpc('call_accept', `acc-b${i}`, { call_id: r.call.id });
  acc.push(performance.now() - s);
  await rpc('call_end', `acc-a${i}`, { call_id: r.call.id });
}

// The audience query of a participant event, at 10 and at N+1 participants:
// the statement participant_audience() runs, timed in the server, 500 times.
const small = (await rpc('conference_create', 'cf-small', { title: 'small', is_public: true, max_participants: 20 })).call.id;
for (let i = 1; i <= 9; i++) await rpc('call_join', `cf-small-${i}`, { call_id: small });
const audience = (id) => Number(psql(`
  CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0;
  DO $$ DECLARE n bigint; BEGIN
    FOR i IN 1..500 LOOP
      SELECT count(*) INTO n FROM pgcall.call c LEFT JOIN pgcall.participant p ON p.call_id = c.id WHERE c.id = '${id}';
    END LOOP; END $$;
  SELECT round((extract(epoch FROM clock_timestamp() - t0) * 1000 / 500)::numeric, 4) FROM t;`));
const audSmall = audience(small);
const audBig = audience(callId);
const audPlan = psql(`EXPLAIN (COSTS OFF) SELECT c.status, p.user_id, p.status FROM pgcall.call c LEFT JOIN pgcall.participant p ON p.call_id = c.id WHERE c.id = '${callId}'`).split('\n').map((l) => l.trim()).join('; ');

// A user's events after an id: events_since (events of this large call
// through the user's calls, as it reads them) and the same by hand.
const mid = `cf-${Math.ceil(joined / 2)}`;
const resume = (sql) => Number(psql(`
  CREATE TEMP TABLE t AS SELECT clock_timestamp() AS t0;
  DO $$ DECLARE n bigint; BEGIN
    PERFORM set_config('pgcall.user_id', '${mid}', true);
    FOR i IN 1..200 LOOP SELECT count(*) INTO n FROM (${sql}) x; END LOOP; END $$;
  SELECT round((extract(epoch FROM clock_timestamp() - t0) * 1000 / 200)::numeric, 4) FROM t;`));
const afterId = Number(psql(`SELECT min(id) FROM pgcall.event WHERE call_id = '${callId}'`)) + Math.floor(joined * 0.9);
const viaGin = `SELECT * FROM pgcall.events_since(${afterId}, 1000)`;
const viaCalls = `SELECT e.id, e.payload FROM pgcall.participant p JOIN pgcall.event e ON e.call_id = p.call_id AND e.id > ${afterId} AND e.recipients @> ARRAY['${mid}'] WHERE p.user_id = '${mid}' ORDER BY e.id LIMIT 1000`;
const ginMs = resume(viaGin);
const callsMs = resume(viaCalls);
const ginCount = psql(`SET pgcall.user_id = '${mid}'; SELECT count(*) FROM (${viaGin}) x`).split('\n').pop();
const callsCount = psql(`SELECT count(*) FROM (${viaCalls}) x`);
const ginAll = resume(`SELECT * FROM pgcall.events_since(GREATEST(0, (SELECT through_id FROM pgcall.event_purged)), 1000)`);
const callsAll = resume(viaCalls.replace(`e.id > ${afterId}`, 'e.id > 0'));

const first = lat.slice(0, 10);
const last = lat.slice(-100);
const d = sorted(delays);
console.log(`conference: ${joined} of ${N} joined one public conference in ${joinSecs.toFixed(1)} s (one join every ${JOIN_MS} ms), ${users.length} sockets open through the bridge`);
console.log(`join latency ms: first 10 mean ${mean(first).toFixed(2)} median ${med(first).toFixed(2)}; last ${last.length} mean ${mean(last).toFixed(2)} median ${med(last).toFixed(2)} p99 ${pct(sorted(last), 0.99).toFixed(2)}; slowest ${Math.max(...lat).toFixed(2)}; ratio last/first (medians) ${(med(last) / med(first)).toFixed(2)}`);
console.log(`call_accept latency ms (${acc.length} 1:1 calls, same way): mean ${mean(acc).toFixed(2)} median ${med(acc).toFixed(2)}; last-100 joins / accept (medians) ${(med(last) / med(acc)).toFixed(2)}`);
console.log(`event rows written: ${after[0] - before[0]} (${callEvents} for this call), deliveries (recipients) ${after[3] - before[3]}, payload bytes ${after[1] - before[1]} (${MB(after[1] - before[1])} MiB; largest ${maxPayload}), recipients bytes ${after[2] - before[2]} (${MB(after[2] - before[2])} MiB), together ${MB(after[1] - before[1] + after[2] - before[2])} MiB; pgcall.event grew ${MB(sizeAfter - sizeBefore)} MiB on disk (TOAST and indexes)`);
console.log(`events received over WebSocket: ${events} messages, ${MB(eventBytes)} MiB`);
console.log(`participant.joined seen: ${expected - missing} of ${expected} expected (every socket, every join from its own on); sockets missing some: ${socketsMissing}`);
console.log(`join request to socket ms over ${d.length} deliveries: p50 ${pct(d, 0.5).toFixed(2)} p99 ${pct(d, 0.99).toFixed(2)} max ${d[d.length - 1].toFixed(2)}`);
console.log(`audience query (participant_audience) ms: 10 participants ${audSmall}, ${joined + 1} participants ${audBig}; plan: ${audPlan}`);
console.log(`events_since for ${mid} ms: after id ${afterId} (${ginCount}/${callsCount} rows) events_since ${ginMs}, by hand via calls ${callsMs}; from 0 events_since ${ginAll}, by hand ${callsAll}`);
if (process.env.BENCH_IDS) {
  (await import('node:fs')).writeFileSync(process.env.BENCH_IDS, `big=${callId}\nsmall=${small}\n`);
}
for (const s of sockets) s.terminate();
agent.destroy();
process.exit(0);
