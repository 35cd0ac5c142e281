// Seed 000's REST routes on a --dialect port (docs/migrating/seed000.md):
// the seed's documented flow (caller creates a session, callee joins it by
// channelId, either ends it, both read their logs) with plain fetch, each
// response checked against the seed's shapes.  Seed 000 took userId from
// the body with no authentication; here the body's userId must be the
// token's user, or the token a backend's (pgcall_backend), which acts for
// the user the body names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, freePort, psql, sign, startBridge, userToken } from './lib.mjs';

const DB = createDatabase('bridge_dialect_seed000');
const APP_ID = '970ca35de60c44645bbae8a215061b33';
let b;
let API;

before(async () => {
  psql(DB, `ALTER DATABASE bridge_dialect_seed000 SET pgcall.rate_limit_calls = 0`);
  psql(DB, `ALTER DATABASE bridge_dialect_seed000 SET pgcall.agora_app_id = '${APP_ID}'`);
  psql(DB, `SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b')`);
  psql(DB, `INSERT INTO pgcall.profile VALUES ('bob', 'Bob Builder', 'https://img.example/bob.png')`);
  const port = await freePort();
  b = await startBridge(DB, { args: ['--dialect', `seed000=${port}`] });
  API = `http://127.0.0.1:${port}`;
});
after(async () => { await b.stop(); });

// The seed's request, as its guide shows it: POST with a JSON body; the one
// addition is the Authorization header (seed 000 had no authentication).
async function post(token, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${API}${path}`, {
    method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

const keys = (o) => Object.keys(o).sort();
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;
const backendToken = () => {
  const now = Math.floor(Date.now() / 1000);
  return sign({ role: 'pgcall_backend', iat: now, exp: now + 600 });
};

describe('seed 000 REST flow', () => {
  const alice = userToken('alice');
  const bob = userToken('bob');

  test('create (caller), join (callee), end with duration, logs with role and other user', async () => {
    const created = await post(alice, '/api/calls/session', { userId: 'alice', otherUserId: 'bob', type: 'voice' });
    assert.equal(created.status, 200);
    assert.deepEqual(keys(created.json), ['appId', 'channelId', 'expireAt', 'success', 'token', 'type']);
    assert.equal(created.json.success, true);
    assert.equal(created.json.appId, APP_ID);
    assert.match(created.json.channelId, /^call-[0-9a-f-]{36}$/);
    assert.match(created.json.token, /^007/);
    assert.ok(Number.isInteger(created.json.expireAt) && created.json.expireAt > Date.now() / 1000);
    assert.equal(created.json.type, 'voice', 'the type as the client sent it');
    const { channelId } = created.json;

    const joined = await post(bob, '/api/calls/session',
      { userId: 'bob', otherUserId: 'alice', type: 'voice', channelId });
    assert.equal(joined.status, 200);
    assert.deepEqual(keys(joined.json), keys(created.json));
    assert.equal(joined.json.channelId, channelId, 'the same channel');
    assert.notEqual(joined.json.token, created.json.token, 'a token of its own');

    const ended = await post(bob, '/api/calls/end', { userId: 'bob', channelId });
    assert.equal(ended.status, 200);
    assert.deepEqual(keys(ended.json), ['callLog', 'message', 'success']);
    assert.equal(ended.json.message, 'Call ended');
    assert.deepEqual(keys(ended.json.callLog), ['channelId', 'durationSeconds', 'endedAt', 'id']);
    assert.equal(ended.json.callLog.channelId, channelId);
    assert.ok(Number.isInteger(ended.json.callLog.durationSeconds));
    assert.match(ended.json.callLog.endedAt, TS);

    const logs = await post(alice, '/api/calls/logs', { userId: 'alice', page: 1, limit: 20 });
    assert.equal(logs.status, 200);
    assert.deepEqual(keys(logs.json), ['logs', 'pagination', 'success']);
    assert.deepEqual(logs.json.pagination, { page: 1, limit: 20, total: 1 });
    const [log] = logs.json.logs;
    assert.deepEqual(keys(log), ['channelId', 'durationSeconds', 'endedAt', 'id', 'otherUser', 'role', 'startedAt', 'type']);
    assert.equal(log.id, ended.json.callLog.id);
    assert.equal(log.role, 'caller');
    assert.deepEqual(log.otherUser, { id: 'bob', fullName: 'Bob Builder', profilePicture: 'https://img.example/bob.png' });
    assert.match(log.startedAt, TS);
    assert.match(log.endedAt, TS);

    const bobLogs = await post(bob, '/api/calls/logs', { userId: 'bob' });
    assert.equal(bobLogs.json.logs[0].role, 'callee');
    assert.deepEqual(bobLogs.json.logs[0].otherUser, { id: 'alice', fullName: null, profilePicture: null });
    assert.deepEqual(bobLogs.json.pagination, { page: 1, limit: 20, total: 1 }, 'page and limit default as in the seed');
  });

  test('a backend token acts for the user the body names', async () => {
    const r = await post(backendToken(), '/api/calls/logs', { userId: 'bob', page: 1, limit: 5 });
    assert.equal(r.status, 200);
    assert.equal(r.json.logs[0].role, 'callee', 'bob\'s logs');
    assert.deepEqual(r.json.pagination, { page: 1, limit: 5, total: 1 });
    const s = await post(backendToken(), '/api/calls/session', { userId: 'carol', otherUserId: 'dave', type: 'video' });
    assert.equal(s.status, 200);
    assert.equal(psql(DB, `SELECT created_by FROM pgcall.call WHERE channel_id = '${s.json.channelId}'`), 'carol');
  });
});

describe('seed 000 REST: the hole closed, and hostile requests', () => {
  const alice = userToken('alice');

  test('a forged userId is refused, and nothing is created or ended', async () => {
    const before = psql(DB, 'SELECT count(*) FROM pgcall.call');
    const forged = await post(alice, '/api/calls/session', { userId: 'bob', otherUserId: 'carol', type: 'voice' });
    assert.equal(forged.status, 403);
    assert.deepEqual(forged.json, { success: false, message: 'userId must be the authenticated user' });
    assert.equal(psql(DB, 'SELECT count(*) FROM pgcall.call'), before);
    const logs = await post(alice, '/api/calls/logs', { userId: 'bob' });
    assert.equal(logs.status, 403, 'nor someone else\'s logs');
    const num = await post(alice, '/api/calls/logs', { userId: 42 });
    assert.equal(num.status, 400);
    assert.equal(num.json.success, false);
  });

  test('without a token, as seed 000 was called: 401, not anyone', async () => {
    const r = await post(null, '/api/calls/session', { userId: 'alice', otherUserId: 'bob', type: 'voice' });
    assert.equal(r.status, 401);
    assert.deepEqual(r.json, { success: false, message: 'Authentication required' });
  });

  test('the seed\'s 400s, malformed bodies, unknown routes', async () => {
    const cases = [
      [['/api/calls/session', { userId: 'alice', type: 'voice' }], 400, 'userId and otherUserId are required'],
      [['/api/calls/session', { otherUserId: 'bob' }], 400, 'userId and otherUserId are required'],
      [['/api/calls/session', '{"userId": "alice", "otherUserId": '], 400, 'Invalid JSON body'],
      [['/api/calls/session', '"alice"'], 400, 'userId and otherUserId are required'],
      [['/api/calls/end', { userId: 'alice' }], 400, 'userId and channelId are required'],
      [['/api/calls/end', { userId: 'alice', channelId: 'call-nope' }], 404, 'Call not found'],
      [['/api/calls/logs', {}], 400, 'userId is required'],
      [['/api/calls/sessions', { userId: 'alice' }], 404, 'Not found'],
    ];
    for (const [[path, body], status, message] of cases) {
      const r = await post(alice, path, body);
      assert.equal(r.status, status, path);
      assert.equal(r.json.success, false, path);
      if (message) assert.equal(r.json.message, message, path);
    }
    const get = await fetch(`${API}/api/calls/logs`, { headers: { Authorization: `Bearer ${alice}` } });
    assert.equal(get.status, 404, 'GET is not a route of seed 000');
    const type = await post(alice, '/api/calls/session', { userId: 'alice', otherUserId: 'bob', type: 'hologram' });
    assert.equal(type.status, 400);
    assert.equal(type.json.success, false);
  });
});
