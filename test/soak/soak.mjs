// The bridge under a long mixed load: normal call flows over WebSockets,
// malformed and pipelined requests on raw sockets, floods of idle and
// slowloris connections, and reconnect storms, for PGCALL_SOAK_SECONDS
// (default 600).  Every 10 s it samples the bridge's resident memory and
// CPU time and how long /health takes.  It fails on a crash, on a /health
// that does not answer within 5 s (a hang), on a call flow that stops
// completing, or when memory keeps growing (last third's peak over 1.5x the
// first third's, after a warm-up minute).  Prints the samples and a summary
// line for docs/benchmarks.md.  Run by test/suites/95-soak in long mode.
import fs from 'node:fs';
import net from 'node:net';
import { Client, createDatabase, psql, startBridge, userToken } from '../bridge/lib.mjs';

const SECONDS = Number(process.env.PGCALL_SOAK_SECONDS ?? 600);
const DB = createDatabase('pgcall_soak');
psql(DB, `ALTER DATABASE pgcall_soak SET pgcall.rate_limit_calls = 0;
          ALTER DATABASE pgcall_soak SET pgcall.rate_limit_joins = 0;
          ALTER DATABASE pgcall_soak SET pgcall.rate_limit_media = 0`);
const b = await startBridge(DB, { args: ['--pool', '6'] });
const until = Date.now() + SECONDS * 1000;
const live = () => Date.now() < until;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stats = { flows: 0, flowErrors: 0, malformed: 0, floods: 0, storms: 0, stormWelcomed: 0, stormSockets: 0 };
const failures = [];

function proc() {
  const status = fs.readFileSync(`/proc/${b.proc.pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const stat = fs.readFileSync(`/proc/${b.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const cpu = (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime, s
  return { rss, cpu };
}

async function health() {
  const t0 = performance.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5000);
  try {
    const r = await fetch(`${b.url}/health`, { signal: ac.signal });
    await r.text();
    return { ms: performance.now() - t0, status: r.status };
  } catch {
    return { ms: Infinity, status: 0 };
  } finally { clearTimeout(timer); }
}

// A caller and a callee, over and over: start, accept, end.
async function flows(k) {
  while (live()) {
    const a = new Client(b, userToken(`soak-a${k}`));
    const c = new Client(b, userToken(`soak-b${k}`));
    try {
      await a.welcome();
      await c.welcome();
      for (let i = 0; i < 20 && live(); i++) {
        const r = await a.ok('call_start', { invitees: [`soak-b${k}`] });
        const id = r.call.id;
        await c.event((m) => m.event === 'call.incoming' && m.call_id === id, 'incoming', 10000);
        await c.ok('call_accept', { call_id: id });
        await a.ok('call_set_media', { call_id: id, mic_muted: i % 2 === 0 });
        await a.ok('call_end', { call_id: id });
        await c.event((m) => m.event === 'call.ended' && m.call_id === id, 'ended', 10000);
        stats.flows++;
      }
    } catch (e) {
      stats.flowErrors++;
      if (stats.flowErrors > 10) failures.push(`call flows keep failing: ${e.message}`);
    } finally {
      a.close(); c.close();
    }
  }
}

const GARBAGE = [
  'POST /rpc/current_user_id HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}'.repeat(3),
  'GET /health HTTP/1.1\r\nHost: x\r\n\r\nPOST /rpc/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello',
  `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(9000)}\r\n\r\n`,
  'POST /rpc/x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
  'GET /rpc/%ff%00 HTTP/1.1\r\nHost: x\r\n\r\n',
  `GET /rpc/error_codes?${Array.from({ length: 300 }, (_, i) => `a${i}=1`).join('&')} HTTP/1.1\r\nHost: x\r\n\r\n`,
  '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage',
  'GET /ws?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  'POST /rpc/call_start HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{"invitees":',
];

function rawOnce(payload) {
  return new Promise((resolve) => {
    const s = net.connect(b.port, '127.0.0.1');
    const done = () => { s.destroy(); resolve(); };
    s.setTimeout(3000, done);
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {});
    s.write(payload, () => setTimeout(done, 200));
  });
}

async function malformed() {
  let i = 0;
  while (live()) {
    await rawOnce(GARBAGE[i++ % GARBAGE.length]);
    stats.malformed++;
    await sleep(20);
  }
}

async function floods() {
  await sleep(15000);
  while (live()) {
    const socks = [];
    for (let i = 0; i < 500; i++) {
      const s = net.connect(b.port, '127.0.0.1');
      s.on('error', () => {});
      if (i % 5 === 0) s.on('connect', () => s.write('GET /health HTTP/1.1\r\nHo'));
      socks.push(s);
    }
    stats.floods++;
    await sleep(8000);
    for (const s of socks) s.destroy();
    await sleep(30000);
  }
}

async function storms() {
  await sleep(30000);
  while (live()) {
    const clients = Array.from({ length: 400 }, (_, i) => new Client(b, userToken(`storm-${i}`)));
    const results = await Promise.allSettled(clients.map((c) => c.welcome()));
    stats.storms++;
    stats.stormSockets += clients.length;
    stats.stormWelcomed += results.filter((r) => r.status === 'fulfilled').length;
    await Promise.allSettled(clients.map((c) => c.close()));
    await sleep(45000);
  }
}

const samples = [];
async function monitor() {
  const t0 = Date.now();
  while (live()) {
    await sleep(10000);
    if (b.proc.exitCode !== null || b.proc.signalCode !== null) {
      failures.push(`bridge exited: ${b.proc.exitCode ?? b.proc.signalCode}`);
      return;
    }
    const h = await health();
    const p = proc();
    samples.push({ t: Math.round((Date.now() - t0) / 1000), rss_kb: p.rss, cpu_s: p.cpu, health_ms: Math.round(h.ms * 10) / 10, ...stats });
    console.log(JSON.stringify(samples.at(-1)));
    if (h.status !== 200) failures.push(`/health did not answer within 5 s at t=${samples.at(-1).t}s`);
  }
}

await Promise.all([monitor(), malformed(), floods(), storms(), ...Array.from({ length: 4 }, (_, k) => flows(k))]);

const h = await health();
if (h.status !== 200) failures.push('/health does not answer at the end');
const warm = samples.filter((s) => s.t >= 60);
if (warm.length >= 6) {
  const third = Math.floor(warm.length / 3);
  const first = Math.max(...warm.slice(0, third).map((s) => s.rss_kb));
  const last = Math.max(...warm.slice(-third).map((s) => s.rss_kb));
  console.log(`# memory: first third peak ${first} kB, last third peak ${last} kB`);
  if (last > first * 1.5) failures.push(`memory grows: ${first} kB -> ${last} kB`);
}
if (stats.flows === 0) failures.push('no call flow completed');
if (stats.storms > 0 && stats.stormWelcomed !== stats.stormSockets) failures.push(`storms: ${stats.stormWelcomed}/${stats.stormSockets} welcomed`);
const worst = Math.max(...samples.map((s) => s.health_ms));
const end = samples.at(-1) ?? {};
console.log(`# soak ${SECONDS}s: ${stats.flows} call flows (${stats.flowErrors} errors), ${stats.malformed} malformed requests, ` +
  `${stats.floods} floods of 500, ${stats.storms} storms (${stats.stormWelcomed}/${stats.stormSockets} welcomed); ` +
  `RSS ${samples[0]?.rss_kb} -> ${end.rss_kb} kB, bridge CPU ${end.cpu_s} s, worst /health ${worst} ms`);
await b.stop();
const exit = await b.exited;
if (exit.code !== 0) failures.push(`bridge exited ${exit.code ?? exit.signal} on SIGTERM`);
if (failures.length) {
  console.log(`not ok - soak\n${failures.map((f) => `# ${f}`).join('\n')}`);
  process.exit(1);
}
console.log('ok - soak');
