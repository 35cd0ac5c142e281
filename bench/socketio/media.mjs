// What a per-recipient token costs an emit ($.media, issue 13): seed 004's
// call.call_accepted with each recipient's own Agora token against the same
// event mapped without it, in one run.
//
// One bridge serves two dialect ports: seed004 (its call.call_accepted reads
// "token": "$.media.agora.token", so the bridge runs call_media_session as
// the recipient before sending it) and bench004, a copy of seed004 made here
// whose rule leaves the token out.  The caller holds a socket.io-client
// socket (transports: websocket) on each; BENCH_CALLS (300) times, one after
// the other, it starts a call over its native /ws socket, the callee
// accepts over its own, and the clock runs from just before the accept is
// sent until call.call_accepted reaches each of the caller's sockets.  The
// same event reaches both, so the columns differ by the database round
// trip for the token alone.
//
// Run by bench/socketio/run.sh media (a throwaway cluster), or inside a
// test environment with PGHOST/PGPORT set.
import path from 'node:path';
import { createRequire } from 'node:module';

const ROOT = path.resolve(import.meta.dirname, '../..');
const lib = await import(path.join(ROOT, 'test/bridge/lib.mjs'));
const { io } = createRequire(path.join(ROOT, 'test/bridge/package.json'))('socket.io-client');
const { Client, createDatabase, freePort, psql, startBridge, userToken, waitFor } = lib;

const CALLS = Number(process.env.BENCH_CALLS ?? 300);

const DB = createDatabase('bench_socketio_media');
for (const g of ['rate_limit_calls', 'rate_limit_tokens', 'rate_limit_joins']) {
  psql(DB, `ALTER DATABASE bench_socketio_media SET pgcall.${g} = 0`);
}
psql(DB, `ALTER DATABASE bench_socketio_media SET pgcall.agora_app_id = '970CA35de60c44645bbae8a215061b33'`);
psql(DB, `SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b')`);
psql(DB, `INSERT INTO pgcall.dialect (name, namespace) VALUES ('bench004', '/realtime');
  INSERT INTO pgcall.dialect_emit (dialect, pgcall_event, seq, "when", event, payload)
  SELECT 'bench004', pgcall_event, seq, "when", event, payload - 'token'
    FROM pgcall.dialect_emit WHERE dialect = 'seed004'`);

const [withPort, withoutPort] = [await freePort(), await freePort()];
const b = await startBridge(DB, { args: ['--dialect', `seed004=${withPort},bench004=${withoutPort}`, '--log-level', 'warn'] });

function sio(port, sub) {
  const s = io(`http://127.0.0.1:${port}/realtime`, { auth: { token: userToken(sub) }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => { s.once('connect', () => resolve(s)); s.once('connect_error', reject); });
}

function pct(a, p) {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const fmt = (x) => `${x.toFixed(2)} ms`;

const caller = new Client(b, userToken('bm-caller'));
const callee = new Client(b, userToken('bm-callee'));
await Promise.all([caller.welcome(), callee.welcome()]);
const sockets = { token: await sio(withPort, 'bm-caller'), plain: await sio(withoutPort, 'bm-caller') };
const lat = { token: [], plain: [] };
const arrived = { token: new Map(), plain: new Map() };
let tokens = 0;
for (const k of ['token', 'plain']) {
  sockets[k].on('call.call_accepted', (p) => {
    arrived[k].set(p.callId, performance.now());
    if (k === 'token' && typeof p.token === 'string' && p.token.startsWith('007')) tokens++;
  });
}
for (let i = 0; i < CALLS; i++) {
  const { call } = await caller.ok('call_start', { invitees: ['bm-callee'] });
  const t0 = performance.now();
  await callee.ok('call_accept', { call_id: call.id });
  await waitFor(() => arrived.token.has(call.id) && arrived.plain.has(call.id), 'call_accepted on both sockets');
  for (const k of ['token', 'plain']) lat[k].push(arrived[k].get(call.id) - t0);
  await caller.ok('call_end', { call_id: call.id });
}
for (const s of Object.values(sockets)) s.close();
caller.close();
callee.close();
await b.stop();

const out = [];
out.push(`${CALLS} calls accepted one after the other; call.call_accepted with a token ${lat.token.length} (${tokens} tokens), without ${lat.plain.length}`);
out.push('| call.call_accepted | p50 | p90 | p99 | max |');
out.push('|---|---:|---:|---:|---:|');
for (const k of ['plain', 'token']) {
  out.push(`| ${k === 'token' ? 'with the recipient\'s token ($.media)' : 'without'} | ${fmt(pct(lat[k], 50))} | ${fmt(pct(lat[k], 90))} | ${fmt(pct(lat[k], 99))} | ${fmt(Math.max(...lat[k]))} |`);
}
out.push(`p50 ratio with / without: ${(pct(lat.token, 50) / pct(lat.plain, 50)).toFixed(2)}; ` +
  `p50 difference ${fmt(pct(lat.token, 50) - pct(lat.plain, 50))}`);
console.log(out.join('\n'));
process.exit(0);
