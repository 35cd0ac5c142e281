// Resident memory of the bridge per idle authenticated WebSocket: RSS of
// BENCH_PID before any socket and once BENCH_IDLE sockets got their welcome.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WebSocket = createRequire(path.join(ROOT, 'test/bridge/package.json'))('ws');
const N = Number(process.env.BENCH_IDLE ?? 10000);
const url = process.env.BENCH_URL.replace('http', 'ws') + '/ws';
const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${process.env.BENCH_PID}/status`, 'utf8'))[1]);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const h = b64({ alg: 'HS256', typ: 'JWT' });
const token = (sub) => {
  const p = b64({ sub, role: 'pgcall_user', exp: Math.floor(Date.now() / 1000) + 7200 });
  return `${h}.${p}.${crypto.createHmac('sha256', process.env.BENCH_SECRET).update(`${h}.${p}`).digest('base64url')}`;
};

const before = rss();
const sockets = [];
let welcomed = 0;
for (let start = 1; start <= N; start += 500) {
  const batch = [];
  for (let i = start; i < start + 500 && i <= N; i++) {
    batch.push(new Promise((resolve, reject) => {
      const ws = new WebSocket(`${url}?token=${token(`idle${i}`)}`, { perMessageDeflate: false });
      ws.on('message', (d) => { if (JSON.parse(d).type === 'welcome') { welcomed++; resolve(); } });
      ws.on('error', reject);
      sockets.push(ws);
    }));
  }
  await Promise.all(batch);
}
await new Promise((r) => setTimeout(r, 2000));
const after = rss();
console.log(`idle: ${welcomed} sockets welcomed; bridge RSS ${before} kB -> ${after} kB; ` +
  `${((after - before) / welcomed * 1024).toFixed(0)} bytes (${((after - before) / welcomed).toFixed(2)} KiB) per connection`);
for (const ws of sockets) ws.terminate();
process.exit(0);
