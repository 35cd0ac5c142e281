// Reconnect storm: BENCH_STORM (10,000) WebSocket clients, distinct users,
// all opened at once against BENCH_URL, as after a bridge restart or a
// network blip.  Counts how many got their welcome (authenticated by the
// database) and how the others ended, and how long until the last welcome.
// Baseline in the same run: as many clients again, opened 500 at a time.
import crypto from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WebSocket = createRequire(path.join(ROOT, 'test/bridge/package.json'))('ws');
const N = Number(process.env.BENCH_STORM ?? 10000);
const url = process.env.BENCH_URL.replace('http', 'ws') + '/ws';
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const h = b64({ alg: 'HS256', typ: 'JWT' });
const token = (sub) => {
  const p = b64({ sub, role: 'pgcall_user', exp: Math.floor(Date.now() / 1000) + 7200 });
  return `${h}.${p}.${crypto.createHmac('sha256', process.env.BENCH_SECRET).update(`${h}.${p}`).digest('base64url')}`;
};

// One client: resolves to 'welcome' or how it ended, and keeps the socket.
function open(sub, sockets) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url}?token=${token(sub)}`, { perMessageDeflate: false });
    sockets.push(ws);
    ws.on('message', (d) => { if (JSON.parse(d).type === 'welcome') resolve('welcome'); });
    ws.on('unexpected-response', (req, res) => resolve(`refused ${res.statusCode}`));
    ws.on('close', (code) => resolve(`closed ${code}`));
    ws.on('error', (e) => resolve(`error ${e.code ?? e.message}`));
  });
}

async function round(name, batch) {
  const sockets = [];
  const tally = {};
  const t0 = Date.now();
  for (let start = 0; start < N; start += batch) {
    const outcomes = await Promise.all(Array.from({ length: Math.min(batch, N - start) },
      (_, i) => open(`${name}${start + i}`, sockets)));
    for (const o of outcomes) tally[o] = (tally[o] ?? 0) + 1;
  }
  const ms = Date.now() - t0;
  for (const ws of sockets) ws.terminate();
  await new Promise((r) => setTimeout(r, 3000));	// let the bridge see them go
  return { tally, ms };
}

const storm = await round('storm', N);
const paced = await round('paced', 500);
const line = (r) => `${r.tally.welcome ?? 0}/${N} welcomed in ${(r.ms / 1000).toFixed(1)} s ` +
  `${JSON.stringify(Object.fromEntries(Object.entries(r.tally).filter(([k]) => k !== 'welcome')))}`;
console.log(`storm: all at once: ${line(storm)}`);
console.log(`storm: 500 at a time (baseline): ${line(paced)}`);
console.log(`storm: time ratio at once / paced ${(storm.ms / paced.ms).toFixed(2)}`);
process.exit((storm.tally.welcome ?? 0) === N ? 0 : 1);
