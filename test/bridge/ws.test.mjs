// WebSocket /ws: authentication, the message protocol, event delivery to
// every device of a user, resume, limits and slow consumers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import {
  Client, asUser, createDatabase, metrics, psql, ring, sign, startBridge, userToken, waitFor,
} from './lib.mjs';

const DB = createDatabase('bridge_ws');
let b;

before(async () => {
  b = await startBridge(DB, { args: ['--max-message', '4096', '--ws-calls', '2'] });
});
after(async () => { await b.stop(); });

function refusedUpgrade(url, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('error', () => {});
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: JSON.parse(body || 'null') }));
    });
  });
}

describe('upgrade', () => {
  test('without a token: 401 with WWW-Authenticate: Bearer', async () => {
    const r = await refusedUpgrade(b.wsUrl);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer');
    assert.equal(r.json.code, 'PGRST302');
  });

  test('with a bad token: 401 invalid_token', async () => {
    const r = await refusedUpgrade(`${b.wsUrl}?token=${sign({ sub: 'a' }, { secret: 'y'.repeat(32) })}`);
    assert.equal(r.status, 401);
    assert.match(r.headers['www-authenticate'], /^Bearer error="invalid_token"/);
    assert.equal(r.json.code, 'PGRST301');
  });

  test('with an expired token: 401 PGRST303', async () => {
    const r = await refusedUpgrade(`${b.wsUrl}?token=${userToken('a', { exp: Math.floor(Date.now() / 1000) - 100 })}`);
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 'PGRST303');
  });

  test('with a token that names no user: 401', async () => {
    const r = await refusedUpgrade(`${b.wsUrl}?token=${sign({ role: 'pgcall_user' })}`);
    assert.equal(r.status, 401);
    assert.equal(r.json.code, 'PGRST303');
  });

  test('on another path: 404', async () => {
    const r = await refusedUpgrade(`ws://127.0.0.1:${b.port}/elsewhere?token=${userToken('a')}`);
    assert.equal(r.status, 404);
  });

  test('the Authorization header works as well as ?token=', async () => {
    const ws = new WebSocket(b.wsUrl, { headers: { Authorization: `Bearer ${userToken('hdr')}` } });
    const m = await new Promise((resolve, reject) => { ws.on('message', (d) => resolve(JSON.parse(d))); ws.on('error', reject); });
    assert.equal(m.type, 'welcome');
    assert.equal(m.user, 'hdr');
    ws.close();
  });

  test('a role the authenticator cannot assume: error, then close 1008', async () => {
    const c = new Client(b, userToken('x', { role: 'postgres' }));
    const e = await c.next((m) => m.type === 'error', 'error');
    assert.equal(e.status, 401);
    assert.equal(e.error.code, '42501');
    const closed = await c.closed;
    assert.equal(closed.code, 1008);
  });
});

describe('messages', () => {
  let c;
  before(async () => { c = new Client(b, userToken('msg-user')); await c.welcome(); });
  after(() => c.close());

  test('welcome names the user, the bridge and the last event id', async () => {
    const d = new Client(b, userToken('welcome-user'));
    const w = await d.welcome();
    assert.equal(w.user, 'welcome-user');
    assert.match(w.bridge, /^[0-9a-f-]{36}$/);
    assert.equal(typeof w.last_event_id, 'number');
    await d.close();
  });

  test('ping gets pong with the same id', async () => {
    c.send({ type: 'ping', id: 7 });
    const p = await c.next((m) => m.type === 'pong');
    assert.equal(p.id, 7);
  });

  test('call returns the result with the request id', async () => {
    const r = await c.call('current_user_id');
    assert.deepEqual(r.type, 'result');
    assert.equal(r.data, 'msg-user');
    const s = await c.ok('echo', { a: 'x', c: { deep: [1, { deeper: [[[[[[[[[[[[[[1]]]]]]]]]]]]]] }] } }).catch((e) => e);
    assert.ok(s instanceof Error, 'echo lives in bridge_test, not in the default schema');
    c.send({ type: 'call', id: 'sch', fn: 'echo', schema: 'bridge_test', args: { a: 'x', c: { deep: [1, [[[[[[[[[[[[[[1]]]]]]]]]]]]]]] } } });
    const e = await c.next((m) => m.id === 'sch');
    assert.equal(e.type, 'result');
    assert.equal(e.data.a, 'x');
    assert.equal(e.data.c.deep[0], 1);
  });

  test('void results are null', async () => {
    c.send({ type: 'call', id: 'v', fn: 'nothing', schema: 'bridge_test' });
    const r = await c.next((m) => m.id === 'v');
    assert.deepEqual(r, { type: 'result', id: 'v', data: null });
  });

  test('only fn and args reach the database: a member jsonb would refuse does not fail the call', async () => {
    // the call is the same pgcall.rpc statement HTTP sends, with the fn and
    // args the bridge checked; the rest of the message stays in the bridge
    c.send('{"type":"call","id":"nul","fn":"current_user_id","note":"a\\u0000b"}');
    assert.deepEqual(await c.next((m) => m.id === 'nul'), { type: 'result', id: 'nul', data: 'msg-user' });
    c.send('{"type":"call","id":"dup","fn":"echo","schema":"bridge_test","args":{"a":"first"},"args":{"a":"last"}}');
    assert.equal((await c.next((m) => m.id === 'dup')).data.a, 'last');
  });

  test('errors carry the HTTP status and the PostgREST error body', async () => {
    const r = await c.call('no_such_function');
    assert.equal(r.type, 'error');
    assert.equal(r.status, 404);
    assert.equal(r.error.code, 'PGRST202');
    c.send({ type: 'call', id: 'p', fn: 'raise', schema: 'bridge_test', args: { code: 'P409C', hint: 'h' } });
    const p = await c.next((m) => m.id === 'p');
    assert.deepEqual(p, { type: 'error', id: 'p', status: 409, error: { code: 'P409C', message: 'raised on purpose', details: '', hint: 'h' } });
  });

  test('malformed messages get errors and leave the socket open', async () => {
    c.send('{"type":');
    assert.equal((await c.next((m) => m.type === 'error')).error.code, 'PGRST100');
    c.send('[1,2]');
    assert.equal((await c.next((m) => m.type === 'error')).status, 400);
    c.send({ type: 'dance', id: 'd' });
    assert.match((await c.next((m) => m.id === 'd')).error.message, /Unknown message type/);
    c.send({ type: 'call', id: 'nofn' });
    assert.equal((await c.next((m) => m.id === 'nofn')).status, 400);
    c.send({ type: 'call', id: 'arr', fn: 'current_user_id', args: [1] });
    assert.equal((await c.next((m) => m.id === 'arr')).status, 400);
    c.send({ type: 'call', id: { no: 1 }, fn: 'x' });
    assert.equal((await c.next((m) => m.type === 'error' && m.id === null)).status, 400);
    c.send({ type: 'call', id: 'sch', fn: 'echo', schema: 'public' });
    assert.equal((await c.next((m) => m.id === 'sch')).status, 406);
    c.send({ type: 'resume', id: 'r', after: -1 });
    assert.equal((await c.next((m) => m.id === 'r')).status, 400);
    assert.equal(await c.ok('current_user_id'), 'msg-user');
  });

  test('more calls in flight than --ws-calls: 429', async () => {
    for (const id of ['s1', 's2', 's3']) c.send({ type: 'call', id, fn: 'sleep', schema: 'bridge_test', args: { seconds: 0.5 } });
    const third = await c.next((m) => m.id === 's3');
    assert.equal(third.status, 429);
    assert.equal((await c.next((m) => m.id === 's1')).type, 'result');
    assert.equal((await c.next((m) => m.id === 's2')).type, 'result');
  });

  test('a message over --max-message closes with 1009', async () => {
    const d = new Client(b, userToken('big'));
    await d.welcome();
    d.send({ type: 'ping', pad: 'x'.repeat(5000) });
    assert.equal((await d.closed).code, 1009);
  });

  test('binary frames close with 1003', async () => {
    const d = new Client(b, userToken('bin'));
    await d.welcome();
    d.ws.send(Buffer.from([1, 2, 3]));
    assert.equal((await d.closed).code, 1003);
  });

  test('a token that expires closes the socket with 1008', async () => {
    const d = new Client(b, userToken('short', { exp: Math.floor(Date.now() / 1000) + 1 }));
    await d.welcome();
    const closed = await d.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /expired/);
  });
});

describe('events', () => {
  test('every device of a user gets each event once, in order; others get none', async () => {
    const alice = new Client(b, userToken('ev-alice'));
    const phone = new Client(b, userToken('ev-bob'));
    const laptop = new Client(b, userToken('ev-bob'));
    const eve = new Client(b, userToken('ev-eve'));
    await Promise.all([alice.welcome(), phone.welcome(), laptop.welcome(), eve.welcome()]);
    const call = await ring(alice, 'ev-bob');
    for (const dev of [phone, laptop]) {
      const inc = await dev.event((m) => m.event === 'call.incoming');
      assert.equal(inc.call_id, call);
    }
    asUser(DB, 'ev-alice', `SELECT pgcall.call_signal('${call}', 'ev-bob', 'candidate', jsonb_build_object('n', i)) FROM generate_series(1, 50) i`);
    for (const dev of [phone, laptop]) {
      const ns = [];
      let last = 0;
      while (ns.length < 50) {
        const m = await dev.event((e) => e.event === 'call.signal');
        assert.ok(m.id > last, 'ids increase');
        last = m.id;
        ns.push(m.data.payload.n);
      }
      assert.deepEqual(ns, Array.from({ length: 50 }, (_, i) => i + 1));
    }
    assert.equal(eve.messages.filter((m) => m.type === 'event').length, 0);
    await Promise.all([alice.close(), phone.close(), laptop.close(), eve.close()]);
  });

  test('presence follows the sockets of a user', async () => {
    const online = () => psql(DB, "SELECT online FROM pgcall.presence(ARRAY['pr-user'])");
    assert.equal(online(), 'f');
    const one = new Client(b, userToken('pr-user'));
    const two = new Client(b, userToken('pr-user'));
    await Promise.all([one.welcome(), two.welcome()]);
    await waitFor(() => psql(DB, "SELECT connections FROM pgcall.presence WHERE user_id = 'pr-user'") === '2', 'two connections');
    await one.close();
    await waitFor(() => psql(DB, "SELECT connections FROM pgcall.presence WHERE user_id = 'pr-user'") === '1', 'one connection');
    assert.equal(online(), 't');
    await two.close();
    await waitFor(() => online() === 'f', 'offline');
  });

  test('resume with ?after= delivers what was missed, then live events', async () => {
    const alice = new Client(b, userToken('rs-alice'));
    let bob = new Client(b, userToken('rs-bob'));
    await Promise.all([alice.welcome(), bob.welcome()]);
    const call = await ring(alice, 'rs-bob');
    const seen = (await bob.event((m) => m.event === 'call.incoming')).id;
    await bob.close();
    asUser(DB, 'rs-alice', `SELECT pgcall.call_signal('${call}', 'rs-bob', 'candidate', jsonb_build_object('n', i)) FROM generate_series(1, 30) i`);
    bob = new Client(b, userToken('rs-bob'), { after: seen });
    await bob.welcome();
    const got = [];
    for (let i = 0; i < 30; i++) got.push((await bob.event((m) => m.event === 'call.signal')).data.payload.n);
    assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => i + 1));
    await alice.ok('call_signal', { call_id: call, to_user: 'rs-bob', kind: 'offer', payload: { sdp: 'live' } });
    const live = await bob.event((m) => m.event === 'call.signal');
    assert.equal(live.data.payload.sdp, 'live');
    assert.equal(bob.messages.filter((m) => m.type === 'event').length, 0, 'nothing twice');
    await Promise.all([alice.close(), bob.close()]);
  });

  test('resume with a message, across pages of --event-batch', async () => {
    const paged = await startBridge(DB, { args: ['--event-batch', '7'] });
    try {
      const alice = new Client(paged, userToken('pg-alice'));
      const bob = new Client(paged, userToken('pg-bob'));
      await Promise.all([alice.welcome(), bob.welcome()]);
      const call = await ring(alice, 'pg-bob');
      const first = (await bob.event((m) => m.event === 'call.incoming')).id;
      asUser(DB, 'pg-alice', `SELECT pgcall.call_signal('${call}', 'pg-bob', 'candidate', jsonb_build_object('n', i)) FROM generate_series(1, 40) i`);
      const live = [];
      while (live.length < 40) live.push((await bob.event((m) => m.event === 'call.signal')).data.payload.n);
      bob.send({ type: 'resume', id: 'again', after: first });
      const replay = [];
      while (replay.length < 40) replay.push((await bob.event((m) => m.event === 'call.signal')).data.payload.n);
      assert.deepEqual(replay, live);
      await Promise.all([alice.close(), bob.close()]);
    } finally { await paged.stop(); }
  });

  test('resuming from before purged events is an error (P410A)', async () => {
    const top = Number(psql(DB, 'SELECT pgcall.bridge_event_horizon()'));
    psql(DB, `UPDATE pgcall.event_purged SET through_id = ${top}`);
    try {
      const c = new Client(b, userToken('purged-user'), { after: 0 });
      await c.welcome();
      const e = await c.next((m) => m.type === 'error');
      assert.equal(e.status, 410);
      assert.equal(e.error.code, 'P410A');
      assert.equal(await c.ok('current_user_id'), 'purged-user', 'the socket stays usable');
      await c.close();
    } finally {
      psql(DB, 'UPDATE pgcall.event_purged SET through_id = 0');
    }
  });
});

describe('slow consumers', () => {
  test('a client that stops reading is dropped, and loses nothing when it resumes', async () => {
    const small = await startBridge(DB, { args: ['--send-queue', '16384'] });
    try {
      const alice = new Client(small, userToken('sl-alice'));
      const probe = new Client(small, userToken('sl-bob'));
      await Promise.all([alice.welcome(), probe.welcome()]);
      const call = await ring(alice, 'sl-bob');
      const seen = (await probe.event((m) => m.event === 'call.incoming')).id;
      await probe.close();

      // A raw WebSocket that completes the handshake and never reads again.
      const sock = net.connect(small.port, '127.0.0.1');
      await new Promise((r) => sock.on('connect', r));
      sock.write(`GET /ws?token=${userToken('sl-bob')} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      await new Promise((r) => sock.once('data', r));
      sock.pause();
      await waitFor(async () => (await metrics(small)).pgcall_bridge_users >= 2, 'the stalled client to register');
      const closed = new Promise((r) => sock.on('close', r));

      const pad = 'p'.repeat(2000);
      for (let round = 0; round < 40; round++) {
        asUser(DB, 'sl-alice', `SELECT pgcall.call_signal('${call}', 'sl-bob', 'candidate', jsonb_build_object('n', ${round} * 50 + i, 'pad', '${pad}')) FROM generate_series(1, 50) i`);
        if ((await metrics(small))['pgcall_bridge_websockets_closed_total{reason="slow"}'] >= 1) break;
      }
      await waitFor(async () => (await metrics(small))['pgcall_bridge_websockets_closed_total{reason="slow"}'] >= 1, 'the slow client to be dropped');
      sock.resume();
      await closed;
      const sent = Number(psql(DB, `SELECT count(*) FROM pgcall.event WHERE recipients @> ARRAY['sl-bob'] AND type = 'call.signal'`));

      const bob = new Client(small, userToken('sl-bob'), { after: seen });
      await bob.welcome();
      const got = [];
      while (got.length < sent) got.push((await bob.event((m) => m.event === 'call.signal')).data.payload.n);
      assert.deepEqual(got, Array.from({ length: sent }, (_, i) => i + 1));
      await Promise.all([alice.close(), bob.close()]);
    } finally { await small.stop(); }
  });
});

describe('empty messages', () => {
  // An empty text frame once dereferenced the idle socket's NULL receive
  // buffer and killed the bridge.
  test('an empty text frame is an error message, and the bridge lives on', async () => {
    const c = new Client(b, userToken('empty-frame'));
    await c.welcome();
    c.ws.send('');
    const m = await c.next((x) => x.type === 'error', 'error for an empty message');
    assert.equal(m.status, 400);
    assert.equal(m.error.code, 'PGRST100');
    assert.equal((await fetch(`${b.url}/health`)).status, 200);
    assert.deepEqual(await c.ok('current_user_id'), 'empty-frame');
    c.close();
  });
});
