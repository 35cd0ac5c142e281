// Seed 003's REST routes on a --dialect port (docs/migrating/seed003.md,
// "REST"): the seed's documented client flow with plain fetch, unchanged but
// for the origin, every response checked against the shape the seed
// documents; its Socket.IO on the same port, to show the callee ringing;
// then hostile requests.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { asUser, createDatabase, freePort, psql, startBridge, userToken, waitFor } from './lib.mjs';

const DB = createDatabase('bridge_dialect_seed003');
let b;
let API;	// the only thing a seed 003 app changes: where it sends its requests

before(async () => {
  psql(DB, `ALTER DATABASE bridge_dialect_seed003 SET pgcall.rate_limit_calls = 0`);
  psql(DB, `INSERT INTO pgcall.profile VALUES ('alice', 'Alice', 'https://img.example/alice.png'),
                                              ('bob', 'Bob', NULL)`);
  const port = await freePort();
  b = await startBridge(DB, { args: ['--dialect', `seed003=${port}`] });
  API = `http://127.0.0.1:${port}`;
});
after(async () => { await b.stop(); });

// The seed's REST client, as its guide writes it: fetch with a bearer token.
async function api(token, method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${API}${path}`, {
    method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, type: r.headers.get('content-type'), json: text ? JSON.parse(text) : null };
}

const keys = (o) => Object.keys(o).sort();
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;

function socket(sub) {
  const s = io(API, { auth: { token: userToken(sub) }, reconnection: false, forceNew: true });
  s.seen = [];
  s.onAny((name, ...args) => s.seen.push([name, ...args]));
  return s;
}

function next(s, name) {
  return waitFor(() => {
    const i = s.seen.findIndex(([n]) => n === name);
    return i >= 0 && s.seen.splice(i, 1)[0][1];
  }, name, 15000);
}

async function online(...users) {
  await waitFor(() => users.every((u) =>
    asUser(DB, u, `SELECT bool_and(online) FROM pgcall.presence(ARRAY['${u}'])`).split('\n').pop() === 't'),
  `${users} online`);
}

describe('seed 003 REST flow', () => {
  const alice = userToken('alice');
  const bob = userToken('bob');

  test('initiate, incomingCall, accept, end, history, delete from history', async () => {
    const bobSocket = socket('bob');
    await new Promise((resolve, reject) => { bobSocket.once('connect', resolve); bobSocket.once('connect_error', reject); });
    await online('bob');

    const init = await api(alice, 'POST', '/api/calls/initiate', { receiverId: 'bob', callType: 'video' });
    assert.equal(init.status, 201);
    assert.match(init.type, /^application\/json/);
    assert.deepEqual(keys(init.json), ['data', 'message', 'success']);
    assert.equal(init.json.success, true);
    assert.equal(init.json.message, 'Call initiated');
    const call = init.json.data;
    assert.deepEqual(keys(call), ['_id', 'callType', 'callerId', 'createdAt', 'endReason', 'receiverId', 'status']);
    assert.deepEqual(call.callerId, { _id: 'alice' });
    assert.deepEqual(call.receiverId, { _id: 'bob' });
    assert.equal(call.callType, 'video');
    assert.equal(call.status, 'no-answer', 'the seed says no-answer while a call rings');
    assert.equal(call.endReason, null);
    assert.match(call.createdAt, TS);
    const callId = call._id;
    const ringing = (await api(alice, 'GET', '/api/calls/history')).json.data.find((x) => x._id === callId);
    assert.equal(ringing.status, 'no-answer', 'history says no-answer for a call still ringing');

    // the same port's Socket.IO speaks seed 003 too
    const inc = await next(bobSocket, 'incomingCall');
    assert.deepEqual({ callId: inc.callId, callerId: inc.callerId, callType: inc.callType },
      { callId, callerId: 'alice', callType: 'video' });

    const acc = await api(bob, 'POST', '/api/calls/accept', { callId });
    assert.equal(acc.status, 200);
    assert.equal(acc.json.success, true);
    assert.equal(acc.json.message, 'Call accepted');
    assert.equal(acc.json.data._id, callId);
    assert.equal(acc.json.data.status, 'active');
    assert.deepEqual(acc.json.data.receiverId, { _id: 'bob' });
    assert.match(acc.json.data.startedAt, TS);

    const end = await api(alice, 'POST', '/api/calls/end', { callId });
    assert.equal(end.status, 200);
    assert.equal(end.json.message, 'Call ended');
    assert.equal(end.json.data.status, 'completed');
    assert.equal(typeof end.json.data.duration, 'number');
    assert.match(end.json.data.endedAt, TS);
    await next(bobSocket, 'callEnded');

    const hist = await api(alice, 'GET', '/api/calls/history?limit=50&skip=0');
    assert.equal(hist.status, 200);
    assert.deepEqual(keys(hist.json), ['data', 'hasMore', 'success']);
    assert.equal(hist.json.hasMore, false);
    const h = hist.json.data.find((x) => x._id === callId);
    assert.deepEqual(keys(h), ['_id', 'callType', 'callerId', 'createdAt', 'direction', 'duration', 'endedAt',
      'isMissed', 'receiverId', 'startedAt', 'status']);
    assert.deepEqual(h.callerId, { _id: 'alice', username: 'Alice', images: 'https://img.example/alice.png' });
    assert.deepEqual(h.receiverId, { _id: 'bob', username: 'Bob', images: null });
    assert.equal(h.direction, 'outgoing');
    assert.equal(h.isMissed, false);
    assert.equal(h.status, 'completed');
    assert.equal(h.callType, 'video');
    const bobHist = await api(bob, 'GET', '/api/calls/history?type=video');
    assert.equal(bobHist.json.data.find((x) => x._id === callId).direction, 'incoming');
    const audioOnly = await api(bob, 'GET', '/api/calls/history?type=audio');
    assert.equal(audioOnly.json.data.find((x) => x._id === callId), undefined, 'type filters');

    const del = await api(bob, 'DELETE', `/api/calls/history/${callId}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.json, { success: true, message: 'Call deleted from history' });
    assert.equal((await api(bob, 'GET', '/api/calls/history')).json.data.find((x) => x._id === callId), undefined);
    assert.ok((await api(alice, 'GET', '/api/calls/history')).json.data.find((x) => x._id === callId),
      'the other side keeps theirs');
    bobSocket.close();
  });

  test('reject; missed calls; hasMore pages', async () => {
    const bobSocket = socket('bob');
    await new Promise((resolve) => bobSocket.once('connect', resolve));
    await online('bob');
    const { json: { data: { _id: callId } } } = await api(alice, 'POST', '/api/calls/initiate',
      { receiverId: 'bob', callType: 'audio' });
    const rej = await api(bob, 'POST', '/api/calls/reject', { callId });
    assert.equal(rej.status, 200);
    assert.equal(rej.json.success, true);
    assert.equal(rej.json.message, 'Call rejected');
    assert.equal(rej.json.data.status, 'rejected');
    bobSocket.close();

    // carol is offline: the seed's "user not available"; the call shows as missed for her
    const off = await api(alice, 'POST', '/api/calls/initiate', { receiverId: 'carol', callType: 'audio' });
    assert.equal(off.status, 201);
    assert.equal(off.json.data.status, 'unavailable', 'an ended call says its end reason, as reject and end do');
    assert.equal(off.json.data.endReason, 'unavailable');
    const missed = await api(userToken('carol'), 'GET', '/api/calls/missed?limit=20&skip=0');
    assert.equal(missed.status, 200);
    assert.ok(missed.json.data.length >= 1);
    assert.ok(missed.json.data.every((x) => x.isMissed === true && x.direction === 'incoming'));

    const page = await api(alice, 'GET', '/api/calls/history?limit=1');
    assert.equal(page.json.data.length, 1);
    assert.equal(page.json.hasMore, true);
    const rest = await api(alice, 'GET', '/api/calls/history?limit=1&skip=1');
    assert.notEqual(rest.json.data[0]._id, page.json.data[0]._id);
  });
});

describe('seed 003 REST: hostile requests', () => {
  const alice = userToken('alice');

  test('errors in the seed\'s shape and words, with its status codes', async () => {
    const cases = [
      [['POST', '/api/calls/nope', {}], 404, 'Route not found'],
      [['GET', '/api/calls/initiate'], 404, 'Route not found'],
      [['POST', '/api/calls/initiate', '{"receiverId": "bob",'], 400, 'Invalid JSON body'],
      [['POST', '/api/calls/initiate', { callType: 'audio' }], 400, 'receiverId required'],
      [['POST', '/api/calls/initiate', []], 400, 'receiverId required'],
      [['POST', '/api/calls/accept', {}], 400, 'callId required'],
      [['POST', '/api/calls/accept', { callId: 'not-a-uuid' }], 404, 'Call not found'],
      [['POST', '/api/calls/accept', { callId: '00000000-0000-4000-8000-000000000000' }], 404, 'Call not found'],
      [['DELETE', '/api/calls/history/%27%3B--'], 404, 'Call not found'],
      [['POST', '/api/calls/initiate', { receiverId: 'alice', callType: 'audio' }], 400, 'Receiver not found'],
    ];
    for (const [[m, p, body], status, message] of cases) {
      const r = await api(alice, m, p, body);
      assert.equal(r.status, status, `${m} ${p}`);
      assert.deepEqual(r.json, { success: false, message }, `${m} ${p}`);
    }
  });

  test('someone else\'s call: Not authorized or not found, and nothing changes', async () => {
    psql(DB, `SELECT 1`);
    const { json: { data: { _id: callId } } } = await api(alice, 'POST', '/api/calls/initiate',
      { receiverId: 'dave', callType: 'audio' });
    for (const path of ['/api/calls/accept', '/api/calls/end', '/api/calls/reject']) {
      const r = await api(userToken('mallory'), 'POST', path, { callId });
      assert.ok([403, 404].includes(r.status), `${path}: ${r.status}`);
      assert.equal(r.json.success, false);
      assert.ok(['Not authorized', 'Call not found'].includes(r.json.message), r.json.message);
    }
    assert.equal(asUser(DB, 'alice', `SELECT pgcall.call_get('${callId}')->>'status'`).split('\n').pop(), 'ended',
      'dave was offline: ended as unavailable, and untouched by mallory');
  });

  test('no token or a bad one: 401, never a user', async () => {
    const r = await fetch(`${API}/api/calls/history`);
    assert.equal(r.status, 401);
    assert.equal((await r.json()).success, false);
    const bad = await fetch(`${API}/api/calls/history`, { headers: { Authorization: 'Bearer x.y.z' } });
    assert.equal(bad.status, 401);
    assert.match(bad.headers.get('www-authenticate'), /invalid_token/);
  });

  test('CORS preflight allows the seed\'s methods; the native API stays on its own port', async () => {
    const pre = await fetch(`${API}/api/calls/history/x`, {
      method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'DELETE' },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-methods'), /DELETE/);
    // /rpc is not a route of the dialect port, and the dialect is not on the bridge's own port
    assert.equal((await api(alice, 'POST', '/rpc/call_history', {})).status, 404);
    const native = await fetch(`${b.url}/api/calls/history`, { headers: { Authorization: `Bearer ${alice}` } });
    assert.equal(native.status, 404);
    assert.equal((await native.json()).code, 'PGRST404');
  });
});
