// Commit -> client latency: BENCH_SOCKETS callees each hold a WebSocket and
// a ringing call from their own caller; pgbench commits call_signal events
// at BENCH_RATE per second to random callees, each carrying
// clock_timestamp() taken inside its transaction (one statement, committed
// as soon as it ends); each client subtracts that from its arrival time
// (same machine, same clock).
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WebSocket = createRequire(path.join(ROOT, 'test/bridge/package.json'))('ws');
const N = Number(process.env.BENCH_SOCKETS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECS = Number(process.env.BENCH_SECONDS ?? 10);
const DB = process.env.BENCH_DB;
// several runs on one database (bench/embedded) use distinct users and tables
const P = process.env.BENCH_PREFIX ?? 'ev';
const T = P === 'ev' ? 'bench_calls' : `bench_calls_${P}`;
const url = process.env.BENCH_URL.replace('http', 'ws') + '/ws';

const psql = (sql) => execFileSync('psql', ['-X', '-d', DB, '-Atq', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
const token = (sub) => {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const h = b64({ alg: 'HS256', typ: 'JWT' });
  const p = b64({ sub, role: 'pgcall_user', exp: Math.floor(Date.now() / 1000) + 7200 });
  return `${h}.${p}.${crypto.createHmac('sha256', process.env.BENCH_SECRET).update(`${h}.${p}`).digest('base64url')}`;
};

psql(`CREATE TABLE ${T} (i integer PRIMARY KEY, call_id uuid NOT NULL);
  DO $$ BEGIN FOR i IN 1..${N} LOOP
    PERFORM set_config('request.jwt.claims', json_build_object('sub', '${P}-caller-' || i)::text, true);
    INSERT INTO ${T} SELECT i, (pgcall.call_start(ARRAY['${P}-callee-' || i], ring_timeout => 600) -> 'call' ->> 'id')::uuid;
  END LOOP; END $$;`);

const lat = [];
let received = 0;
const nowSec = () => (performance.timeOrigin + performance.now()) / 1000;
const sockets = [];
await new Promise((resolve, reject) => {
  let ready = 0;
  for (let i = 1; i <= N; i++) {
    const ws = new WebSocket(`${url}?token=${token(`${P}-callee-${i}`)}`);
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type === 'welcome' && ++ready === N) resolve();
      if (m.type === 'event' && m.event === 'call.signal') {
        lat.push((nowSec() - m.data.payload.t) * 1000);
        received++;
      }
    });
    ws.on('error', reject);
    sockets.push(ws);
  }
});

const script = path.join(os.tmpdir(), `bench-signal-${process.pid}.pgbench`);
fs.writeFileSync(script, `\\set i random(1, ${N})
WITH u AS MATERIALIZED (SELECT set_config('request.jwt.claims', '{"sub":"${P}-caller-' || :i || '"}', true))
SELECT pgcall.call_signal((SELECT call_id FROM ${T} WHERE i = :i), '${P}-callee-' || :i, 'candidate', jsonb_build_object('t', extract(epoch FROM clock_timestamp()))) FROM u;
`);
const pg = spawn('pgbench', ['-n', '-M', 'prepared', '-c', '4', '-j', '2', '-R', String(RATE), '-T', String(SECS), '-f', script, DB], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let err = '';
pg.stdout.on('data', (d) => { out += d; });
pg.stderr.on('data', (d) => { err += d; });
const code = await new Promise((r) => pg.on('exit', r));
const sent = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? 0);
const deadline = Date.now() + 10000;
while (received < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
for (const ws of sockets) ws.terminate();
fs.unlinkSync(script);

lat.sort((a, b) => a - b);
const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(3);
if (code !== 0) console.log(`events: pgbench failed: ${err.split('\n').slice(0, 3).join(' | ')}`);
console.log(`events: pgbench rc ${code}, committed ${sent}, received ${received} over ${N} sockets in ${SECS}s at ${RATE}/s`);
console.log(`events: latency ms p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} p99.9 ${q(0.999)} max ${lat[lat.length - 1].toFixed(3)}`);
process.exit(0);
