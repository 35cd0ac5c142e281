// Seed 002's REST routes on a --dialect port (docs/migrating/seed002.md):
// the seed's flow with plain fetch (create a conference, join, the token for
// the channel, my calls, preferences, leave; the administrators' end,
// remove, details and analytics), each response checked against the seed's
// shapes; the token-by-channel route is for backend tokens only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, freePort, psql, sign, startBridge, userToken } from './lib.mjs';

const DB = createDatabase('bridge_dialect_seed002');
const APP_ID = '970ca35de60c44645bbae8a215061b33';
let b;
let API;

before(async () => {
  psql(DB, `ALTER DATABASE bridge_dialect_seed002 SET pgcall.rate_limit_calls = 0`);
  psql(DB, `ALTER DATABASE bridge_dialect_seed002 SET pgcall.agora_app_id = '${APP_ID}'`);
  psql(DB, `SELECT pgcall.set_secret('agora_app_certificate', '5cfd2fd1755d40ecb72977518be15d3b')`);
  const port = await freePort();
  b = await startBridge(DB, { args: ['--dialect', `seed002=${port}`] });
  API = `http://127.0.0.1:${port}`;
});
after(async () => { await b.stop(); });

// As the seed's usage examples call it: fetch with the bearer token.
async function api(token, method, path, body) {
  const r = await fetch(`${API}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: r.status, ok: r.ok, json: await r.json() };
}

const keys = (o) => Object.keys(o).sort();
const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;
const now = () => Math.floor(Date.now() / 1000);
const backendToken = () => sign({ role: 'pgcall_backend', iat: now(), exp: now() + 600 });
const adminToken = () => sign({ sub: 'ops', role: 'pgcall_admin', iat: now(), exp: now() + 600 });

describe('seed 002 REST flow', () => {
  const alice = userToken('alice');
  const bob = userToken('bob');
  const carol = userToken('carol');
  let callId;
  let channelName;

  test('create a public call, join it, get a token for its channel, find it in my calls', async () => {
    const c = await api(alice, 'POST', '/api/calling/create',
      { title: 'Weekly Team Meeting', description: 'Discuss', isPublic: true, maxParticipants: 2 });
    assert.equal(c.status, 200);
    assert.deepEqual(keys(c.json), ['callId', 'channelName', 'description', 'isPublic', 'maxParticipants', 'title']);
    assert.deepEqual({ ...c.json, callId: undefined, channelName: undefined },
      { callId: undefined, channelName: undefined, title: 'Weekly Team Meeting', description: 'Discuss',
        isPublic: true, maxParticipants: 2 });
    ({ callId, channelName } = c.json);

    // the seed's joinCall(): join, then the token for the channel
    const j = await api(bob, 'POST', `/api/calling/${callId}/join`);
    assert.equal(j.status, 200);
    assert.equal(j.json.success, true);
    assert.equal(j.json.channelName, channelName);
    assert.equal(j.json.callTitle, 'Weekly Team Meeting');
    assert.match(j.json.token, /^007/, 'the join answers with the caller\'s own token');
    assert.equal(j.json.appId, APP_ID);

    const t = await api(backendToken(), 'POST', '/api/calling/token', { channelName, uid: 789012, userId: 'bob' });
    assert.equal(t.status, 200);
    assert.deepEqual(keys(t.json), ['appId', 'channelName', 'expiresAt', 'token', 'uid', 'userAccount']);
    assert.equal(t.json.channelName, channelName);
    assert.equal(t.json.uid, 789012);
    assert.equal(t.json.appId, APP_ID);
    assert.match(t.json.token, /^007/);
    assert.ok(t.json.expiresAt > now());
    const inspected = JSON.parse(psql(DB, `SELECT pgcall.agora_token_inspect('${t.json.token}')`));
    assert.deepEqual({ uid: inspected.services[0].uid, channel: inspected.services[0].channel },
      { uid: '789012', channel: channelName }, 'a token for that uid in that channel');
    assert.equal(inspected.signature.valid, true);

    const full = await api(carol, 'POST', `/api/calling/${callId}/join`);
    assert.equal(full.status, 400);
    assert.deepEqual(full.json, { success: false, error: 'Call is full' });

    const mine = await api(alice, 'GET', '/api/calling/my-calls?limit=20&status=active');
    assert.equal(mine.status, 200);
    assert.ok(Array.isArray(mine.json));
    const m = mine.json.find((x) => x.id === callId);
    for (const k of ['id', 'title', 'description', 'channel_id', 'created_by', 'is_public', 'max_participants',
      'status', 'created_at', 'role', 'participant_count']) assert.ok(k in m, k);
    assert.equal(m.created_by, 'alice');
    assert.match(m.created_at, TS);
  });

  test('preferences: read the defaults, update, read back', async () => {
    const g = await api(bob, 'GET', '/api/calling/preferences');
    assert.equal(g.status, 200);
    assert.deepEqual(keys(g.json), ['auto_mute_on_join', 'created_at', 'preferred_avatar', 'updated_at',
      'video_masking_enabled', 'video_quality', 'voice_masking_enabled']);
    const body = { voice_masking_enabled: true, video_masking_enabled: false, auto_mute_on_join: true,
      video_quality: 'sd', preferred_avatar: 'avatar_002.png' };
    const p = await api(bob, 'PUT', '/api/calling/preferences', body);
    assert.equal(p.status, 200);
    assert.deepEqual(p.json, { success: true, message: 'Preferences updated successfully', preferences: body });
    const again = await api(bob, 'GET', '/api/calling/preferences');
    assert.equal(again.json.video_quality, 'sd');
    assert.match(again.json.updated_at, TS);
    const bad = await api(bob, 'PUT', '/api/calling/preferences', { video_quality: '8k' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.success, false);
  });

  test('leave; administrators: details, remove a participant, force end, analytics', async () => {
    const l = await api(bob, 'POST', `/api/calling/${callId}/leave`);
    assert.equal(l.status, 200);
    assert.deepEqual(l.json, { success: true });
    assert.equal((await api(bob, 'POST', `/api/calling/${callId}/join`)).status, 200, 'and back');

    const d = await api(adminToken(), 'GET', `/api/calling/admin/${callId}/details`);
    assert.equal(d.status, 200);
    assert.deepEqual(keys(d.json).filter((k) => k !== 'pseudonymous'), ['call', 'participants', 'stats']);
    assert.equal(d.json.call.id, callId);

    const rm = await api(adminToken(), 'DELETE', `/api/calling/admin/${callId}/participants/bob`);
    assert.equal(rm.status, 200);
    assert.deepEqual(rm.json, { success: true, message: 'Participant removed from call' });
    const back = await api(bob, 'POST', `/api/calling/${callId}/join`);
    assert.equal(back.status, 403, 'removed for good');

    const e = await api(adminToken(), 'POST', `/api/calling/admin/${callId}/end`);
    assert.equal(e.status, 200);
    assert.deepEqual(keys(e.json), ['endedAt', 'message', 'success']);
    assert.equal(e.json.message, 'Call ended successfully');
    assert.match(e.json.endedAt, TS);
    const ended = await api(carol, 'POST', `/api/calling/${callId}/join`);
    assert.equal(ended.status, 404);
    assert.deepEqual(ended.json, { success: false, error: 'Call not found or ended' });

    const a = await api(adminToken(), 'GET', '/api/calling/admin/analytics?days=7&groupBy=day');
    assert.equal(a.status, 200);
    assert.deepEqual(keys(a.json), ['dailyStats', 'summary']);
    assert.equal(a.json.dailyStats.length, 7);
    assert.deepEqual(keys(a.json.dailyStats[0]), ['audio_minutes', 'avg_duration', 'date', 'total_calls',
      'total_participants', 'video_minutes']);
    assert.deepEqual(keys(a.json.summary), ['averageCallDuration', 'peakParticipants', 'totalAudioMinutes',
      'totalCalls', 'totalParticipants', 'totalVideoMinutes']);
    assert.ok(a.json.summary.totalCalls >= 1);
  });
});

describe('seed 002 REST: hostile requests', () => {
  const alice = userToken('alice');

  test('the token-by-channel route is for backend tokens only, with the checks of a media session', async () => {
    const c = await api(alice, 'POST', '/api/calling/create', { title: 'Private', isPublic: false });
    const { channelName, callId } = c.json;
    const asUser = await api(alice, 'POST', '/api/calling/token', { channelName, uid: 1, userId: 'alice' });
    assert.equal(asUser.status, 403);
    assert.deepEqual(asUser.json, { success: false, error: 'Access denied' });
    const stranger = await api(backendToken(), 'POST', '/api/calling/token', { channelName, uid: 1, userId: 'mallory' });
    assert.equal(stranger.status, 404, 'not a participant: no call of theirs on that channel');
    assert.equal(stranger.json.success, false);
    const missing = await api(backendToken(), 'POST', '/api/calling/token', { channelName });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.json, { success: false, error: 'userId required' });
    const badUid = await api(backendToken(), 'POST', '/api/calling/token', { channelName, uid: -1, userId: 'alice' });
    assert.equal(badUid.status, 400);
    const priv = await api(userToken('bob'), 'POST', `/api/calling/${callId}/join`);
    assert.equal(priv.status, 403);
    assert.deepEqual(priv.json, { success: false, error: 'Access denied to private call' });
  });

  test('a GET route runs read-only: over a function that writes it is refused, in the seed\'s shape', async () => {
    // a test-only route: GET over preferences_set, which writes
    psql(DB, `INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args) VALUES
      ('seed002', 'GET', '/api/calling/test-get-writes', 'preferences_set', '{"video_quality": "$.query.q"}')`);
    const dave = userToken('dave');
    const before = await api(dave, 'GET', '/api/calling/preferences');
    assert.equal(before.status, 200);
    const r = await api(dave, 'GET', '/api/calling/test-get-writes?q=sd');
    assert.equal(r.status, 405);
    assert.deepEqual(keys(r.json), ['error', 'success']);
    assert.equal(r.json.success, false);
    assert.match(r.json.error, /changes data and cannot be called with GET/);
    const after = await api(dave, 'GET', '/api/calling/preferences');
    assert.deepEqual(after.json, before.json);
    // the same route declared as writing runs read-write
    psql(DB, `UPDATE pgcall.dialect_route SET writes = true WHERE path = '/api/calling/test-get-writes'`);
    const w = await api(dave, 'GET', '/api/calling/test-get-writes?q=sd');
    assert.equal(w.status, 200);
    assert.equal((await api(dave, 'GET', '/api/calling/preferences')).json.video_quality, 'sd');
    psql(DB, `DELETE FROM pgcall.dialect_route WHERE path = '/api/calling/test-get-writes'`);
  });

  test('users on admin routes, unknown calls and routes, malformed bodies', async () => {
    const cases = [
      [[alice, 'GET', '/api/calling/admin/analytics'], 403],
      [[alice, 'POST', '/api/calling/admin/00000000-0000-4000-8000-000000000000/end'], 403],
      [[adminToken(), 'POST', '/api/calling/admin/00000000-0000-4000-8000-000000000000/end'], 404],
      [[alice, 'POST', '/api/calling/not-a-uuid/join'], 404],
      [[alice, 'POST', '/api/calling/00000000-0000-4000-8000-000000000000/join'], 404],
      [[alice, 'POST', '/api/calling/create', '{"title": '], 400],
      [[alice, 'POST', '/api/calling/create', {}], 400],
      [[alice, 'POST', '/api/calling/create', { title: '' }], 400],
      [[alice, 'GET', '/api/calling/nothing/here/at/all'], 404],
      [[alice, 'PATCH', '/api/calling/preferences', {}], 404],
    ];
    for (const [[token, m, p, body], status] of cases) {
      const r = await api(token, m, p, body);
      assert.equal(r.status, status, `${m} ${p}`);
      assert.equal(r.json.success, false, `${m} ${p}`);
      assert.equal(typeof r.json.error, 'string', `${m} ${p}`);
    }
  });
});
