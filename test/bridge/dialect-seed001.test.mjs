// Seed 001's Socket.IO API (namespace /calls, JWT in the handshake auth),
// served by the dialect seed001 (docs/migrating/seed001.md): the seed's
// "Recommended React Native Flow" with the real socket.io-client, io() called
// as the seed's guide calls it but for the URL, each event and ack checked
// against the shape the dialect documents; then hostile clients.
//
// The first flows take the seed's REST steps (initiate, join, media session,
// end, active call) on pgcall's native routes (POST /rpc/call_start, ...) with
// a --socketio-dialect bridge; the last one runs the whole flow against one
// origin, a --dialect seed001=PORT port that serves the seed's REST routes
// and its /calls namespace (docs/migrating/seed001.md, "REST").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { createDatabase, freePort, http, psql, sign, startBridge, userToken, waitFor } from './lib.mjs';

const DB = createDatabase('bridge_seed001');
let b;
let d;		// the --dialect bridge
let API;	// its origin: the only thing a seed 001 app changes

before(async () => {
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.rate_limit_calls = 0`);
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.disconnect_grace = 1`);
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.disconnect_leave_after = 3600`);
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.agora_app_id = '970CA35de60c44645bbae8a215061b33'`);
  psql(DB, `SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b')`);
  psql(DB, `INSERT INTO pgcall.profile VALUES ('s1-alice', 'Alice', 'https://img.example/alice.png')`);
  b = await startBridge(DB, { args: ['--socketio-dialect', 'seed001', '--socketio-connect-timeout', '3000'] });
  const port = await freePort();
  d = await startBridge(DB, { args: ['--dialect', `seed001=${port}`] });
  API = `http://127.0.0.1:${port}`;
});
after(async () => { await b.stop(); await d.stop(); });

// The seed's io() call, io(`${SOCKET_BASE_URL}/calls`, { auth: { token },
// transports: ['websocket'] }), with the bridge's URL.  The harness adds
// forceNew (several users in one process) and no reconnection (a test sees
// every failure).
function client(sub, opts = {}) {
  const socket = io(`${opts.origin ?? b.url}/calls`, {
    auth: { token: userToken(sub) }, transports: ['websocket'], reconnection: false, forceNew: true, ...opts,
  });
  socket.seen = [];
  socket.onAny((name, ...args) => socket.seen.push([name, ...args]));
  return socket;
}

function next(socket, name, pred = () => true) {
  return waitFor(() => {
    const i = socket.seen.findIndex(([n, p]) => n === name && pred(p));
    if (i < 0) return false;
    const [[, payload]] = socket.seen.splice(i, 1);
    return { payload };
  }, name, 15000).then((r) => r.payload);
}

function connected(socket) {
  return new Promise((resolve, reject) => {
    if (socket.connected) { resolve(); return; }
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
}

function connectError(socket) {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected')));
    socket.once('connect_error', resolve);
  });
}

// The REST steps, on pgcall's native routes.
async function rest(user, fn, body) {
  const r = await http(b, 'POST', `/rpc/${fn}`, { token: userToken(user), body });
  assert.equal(r.status, 200, `${fn}: ${r.text}`);
  return r.json;
}

async function online(...users) {
  await waitFor(() => users.every((u) => psql(DB, `SELECT (pgcall.presence_state('${u}')).online`) === 't'),
    `${users} online`);
}

const keys = (o) => Object.keys(o).sort();
const PARTICIPANT = ['isCameraOff', 'isMicMuted', 'isSharingScreen', 'joinedAt', 'leftAt', 'reason', 'role', 'status', 'userId'];

describe('seed 001 flow with socket.io-client', () => {
  test('initiate, ring, join, join_call, media, status, drop and return, leave, end', async () => {
    const alice = client('s1-alice');
    const bob = client('s1-bob');
    const carol = client('s1-carol');
    await Promise.all([connected(alice), connected(bob), connected(carol)]);
    await online('s1-alice', 's1-bob', 's1-carol');

    // 1. Initiate (REST): a group call in a chat room
    const started = await rest('s1-alice', 'call_start',
      { invitees: ['s1-bob', 's1-carol'], type: 'video', room_id: 'room-42', is_group: true });
    const callId = started.call.id;
    // 2. the invitees' sockets ring
    for (const s of [bob, carol]) {
      const inc = await next(s, 'incoming_call');
      assert.deepEqual(inc, {
        callId, chatRoomId: 'room-42', type: 'video', isGroupCall: true, callerId: 's1-alice',
        caller: { id: 's1-alice', name: 'Alice', avatar: 'https://img.example/alice.png' },
      });
    }
    // 3. Join (REST): the others hear participant_joined
    const joined = await rest('s1-bob', 'call_join', { call_id: callId, mic_muted: false, camera_off: false });
    assert.equal(joined.call.status, 'active');
    const pj = await next(alice, 'participant_joined', (p) => p.userId === 's1-bob');
    assert.deepEqual(keys(pj), ['callId', 'participant', 'userId']);
    assert.equal(pj.callId, callId);
    assert.deepEqual(keys(pj.participant), PARTICIPANT);
    assert.deepEqual({ ...pj.participant, joinedAt: 'x' }, {
      userId: 's1-bob', role: 'member', status: 'joined', isMicMuted: false, isCameraOff: false,
      isSharingScreen: false, joinedAt: 'x', leftAt: null, reason: null,
    });
    // 4. join_call: the participants, as an event and as the ack
    const ack = await bob.emitWithAck('join_call', { callId });
    const list = await next(bob, 'call_participants');
    assert.deepEqual(ack, list);
    assert.deepEqual(keys(list), ['callId', 'participants', 'status']);
    assert.equal(list.callId, callId);
    assert.equal(list.status, 'active');
    assert.deepEqual(list.participants.map((p) => [p.userId, p.status]),
      [['s1-alice', 'joined'], ['s1-bob', 'joined'], ['s1-carol', 'invited']]);
    for (const p of list.participants) assert.deepEqual(keys(p), PARTICIPANT);
    // joining again (the seed's "after reconnect, emit join_call again") changes nothing
    await bob.emitWithAck('join_call', { callId });
    // 5. the media session (REST): Agora credentials for the call
    const media = await rest('s1-bob', 'call_media_session', { call_id: callId });
    assert.equal(media.agora.account, 's1-bob');
    assert.match(media.agora.token, /^007/);
    // 7. toggles: media_state_changed, everyone hears participant_media_changed
    const mack = await bob.emitWithAck('media_state_changed', { callId, isMicMuted: true });
    assert.deepEqual(mack, { callId, isMicMuted: true, isCameraOff: false, isSharingScreen: false });
    assert.deepEqual(await next(alice, 'participant_media_changed'),
      { callId, userId: 's1-bob', isMicMuted: true, isCameraOff: false, isSharingScreen: false });
    bob.emit('media_state_changed', { callId, isSharingScreen: true });
    assert.deepEqual(await next(alice, 'participant_media_changed'),
      { callId, userId: 's1-bob', isMicMuted: true, isCameraOff: false, isSharingScreen: true });
    // call_status_changed: carol declines with a reason
    const sack = await carol.emitWithAck('call_status_changed', { callId, status: 'declined', reason: 'busy' });
    assert.deepEqual(sack, { callId, status: 'declined', callStatus: 'active' });
    assert.deepEqual(await next(alice, 'participant_status_changed', (p) => p.userId === 's1-carol'),
      { callId, userId: 's1-carol', status: 'declined', reason: 'busy' });

    // active call recovery (REST)
    const active = await rest('s1-bob', 'call_active', { room_id: 'room-42' });
    assert.equal(active.id, callId);

    // bob's socket drops: after the grace, participant_disconnected
    bob.close();
    const gone = await next(alice, 'participant_disconnected');
    assert.deepEqual(keys(gone), ['callId', 'since', 'userId']);
    assert.equal(gone.callId, callId);
    assert.equal(gone.userId, 's1-bob');
    assert.ok(Date.parse(gone.since) > 0);
    // he comes back and joins again: participant_joined, reconnected
    const bob2 = client('s1-bob');
    await connected(bob2);
    const back = await next(alice, 'participant_joined', (p) => p.userId === 's1-bob');
    assert.equal(back.reconnected, true);
    assert.equal(back.participant.status, 'joined');
    await bob2.emitWithAck('join_call', { callId });
    await next(bob2, 'call_participants');

    // 8. leave_call: the others hear participant_left
    const lack = await bob2.emitWithAck('leave_call', { callId });
    assert.deepEqual(lack, { callId, status: 'left', callStatus: 'active' });
    assert.deepEqual(await next(alice, 'participant_left', (p) => p.userId === 's1-bob'),
      { callId, userId: 's1-bob', reason: null });
    // the host ends it (REST): call_ended
    await rest('s1-alice', 'call_end', { call_id: callId });
    const ended = await next(alice, 'call_ended');
    assert.deepEqual(keys(ended), ['callId', 'duration', 'endedBy', 'reason']);
    assert.deepEqual({ ...ended, duration: 0 }, { callId, endedBy: 's1-alice', reason: 'completed', duration: 0 });
    assert.equal(typeof ended.duration, 'number');
    assert.equal(await rest('s1-bob', 'call_active', { room_id: 'room-42' }), null);

    // nothing unmapped reached the clients (call.started, call.accepted...)
    const names = (s) => s.seen.map(([n]) => n);
    assert.deepEqual(names(alice).filter((n) => !['participant_joined', 'participant_status_changed'].includes(n)), []);
    assert.ok(!names(bob2).includes('call.accepted'));
    for (const s of [alice, bob2, carol]) s.close();
  });

  test('a direct call over the socket alone: join_call answers it, leave_call ends it', async () => {
    const alice = client('s1-alice');
    const dave = client('s1-dave');
    await Promise.all([connected(alice), connected(dave)]);
    const { call } = await rest('s1-alice', 'call_start', { invitees: ['s1-dave'], type: 'audio' });
    const inc = await next(dave, 'incoming_call');
    assert.equal(inc.isGroupCall, false);
    assert.equal(inc.chatRoomId, null);
    assert.equal(inc.type, 'audio');
    const list = await dave.emitWithAck('join_call', { callId: call.id });
    assert.equal(list.status, 'active');
    await next(alice, 'participant_joined', (p) => p.userId === 's1-dave');
    await dave.emitWithAck('leave_call', { callId: call.id });
    const ended = await next(alice, 'call_ended');
    assert.equal(ended.endedBy, 's1-dave');
    assert.equal(ended.reason, 'completed');
    await next(dave, 'call_ended');
    alice.close();
    dave.close();
  });

  test('a cancelled ring: call_ended with reason cancelled; the invitee hears it too', async () => {
    const alice = client('s1-alice');
    const erin = client('s1-erin');
    await Promise.all([connected(alice), connected(erin)]);
    const { call } = await rest('s1-alice', 'call_start', { invitees: ['s1-erin'], type: 'video' });
    await next(erin, 'incoming_call');
    await rest('s1-alice', 'call_end', { call_id: call.id });
    for (const s of [alice, erin]) {
      assert.deepEqual(await next(s, 'call_ended'),
        { callId: call.id, endedBy: 's1-alice', reason: 'cancelled', duration: 0 });
    }
    alice.close();
    erin.close();
  });
});

describe('seed 001 attacked', () => {
  test('ids in the payload are not identities: the sender acts as the token says', async () => {
    const alice = client('s1-alice');
    const bob = client('s1-bob');
    await Promise.all([connected(alice), connected(bob)]);
    const { call } = await rest('s1-alice', 'call_start', { invitees: ['s1-bob'], type: 'video' });
    await next(bob, 'incoming_call');
    await bob.emitWithAck('join_call', { callId: call.id });
    // alice names bob: her own microphone is what changes
    await alice.emitWithAck('media_state_changed', { callId: call.id, userId: 's1-bob', isMicMuted: true });
    const m = await next(bob, 'participant_media_changed');
    assert.equal(m.userId, 's1-alice');
    // a forged token (another secret) opens no socket
    const forged = sign({ sub: 's1-bob', role: 'pgcall_user', exp: Math.floor(Date.now() / 1000) + 60 },
      { secret: 'x'.repeat(32) });
    const f = client('s1-bob', { auth: { token: forged } });
    const e = await connectError(f);
    assert.equal(e.data.code, 'PGRST301');
    f.close();
    // someone outside the call cannot join it, change it or end it
    const mallory = client('s1-mallory');
    await connected(mallory);
    for (const [ev, payload] of [['join_call', { callId: call.id }], ['leave_call', { callId: call.id }],
      ['media_state_changed', { callId: call.id, isMicMuted: true }],
      ['call_status_changed', { callId: call.id, status: 'joined' }]]) {
      const r = await mallory.emitWithAck(ev, payload);
      assert.equal(r.code, 'P403B', ev);
      assert.deepEqual(await next(mallory, 'error'), r);
    }
    await rest('s1-alice', 'call_end', { call_id: call.id });
    for (const s of [alice, bob, mallory]) s.close();
  });

  test('malformed payloads: the error event, in the ack too', async () => {
    const alice = client('s1-alice');
    await connected(alice);
    for (const [ev, payload, message, code] of [
      ['join_call', {}, 'callId required', 'P400R'],
      ['join_call', null, 'callId required', 'P400R'],
      ['join_call', ['x'], 'callId required', 'P400R'],
      ['join_call', 'callId', 'callId required', 'P400R'],
      ['call_status_changed', { callId: 'x' }, 'status required', 'P400R'],
      ['join_call', { callId: 'not-a-call' }, 'Invalid payload: callId must be a call id, media flags true or false', '22P02'],
      ['media_state_changed', { callId: '00000000-0000-4000-8000-000000000000', isMicMuted: 7 },
        'Invalid payload: callId must be a call id, media flags true or false', '22P02'],
      ['join_call', { callId: '00000000-0000-4000-8000-000000000000' }, 'Call not found', 'P404A'],
      ['initiateCall', { receiverId: 's1-bob' }, 'Unknown event "initiateCall"', '42883'],
    ]) {
      const r = await alice.emitWithAck(ev, payload);
      assert.deepEqual(r, { message, code }, `${ev} ${JSON.stringify(payload)}`);
      assert.deepEqual(await next(alice, 'error'), r);
    }
    // a status the participant state machine refuses
    const { call } = await rest('s1-alice', 'call_start', { invitees: ['s1-bob'], type: 'video' });
    const r = await alice.emitWithAck('call_status_changed', { callId: call.id, status: 'sleeping' });
    assert.equal(r.code.slice(0, 2), 'P4');
    await rest('s1-alice', 'call_end', { call_id: call.id });
    alice.close();
  });

  test('another namespace: Invalid namespace', async () => {
    for (const nsp of ['', '/realtime', '/call']) {
      const s = io(`${b.url}${nsp}`, { auth: { token: userToken('s1-alice') }, transports: ['websocket'], reconnection: false, forceNew: true });
      const e = await connectError(s);
      assert.equal(e.message, 'Invalid namespace', nsp);
      s.close();
    }
  });

  test('no token: connect_error', async () => {
    const s = io(`${b.url}/calls`, { transports: ['websocket'], reconnection: false, forceNew: true });
    const e = await connectError(s);
    assert.equal(e.data.code, 'PGRST302');
    s.close();
  });

  test('an event before the namespace CONNECT, or for another namespace: closed 1008', async () => {
    for (const frames of [['42/calls,["join_call",{"callId":"x"}]'],
      [`40/calls,${JSON.stringify({ token: userToken('s1-raw') })}`, '42["join_call",{"callId":"x"}]']]) {
      const ws = new WebSocket(`${b.wsUrl.replace('/ws', '/socket.io/')}?EIO=4&transport=websocket`);
      const got = [];
      ws.on('message', (d) => got.push(d.toString()));
      const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
      await new Promise((resolve) => ws.on('open', resolve));
      await waitFor(() => got.some((f) => f[0] === '0'), 'the open packet');
      for (const f of frames) {
        if (f.startsWith('42') && frames.length > 1) await waitFor(() => got.some((g) => g.startsWith('40/calls,')), 'CONNECT');
        ws.send(f);
      }
      assert.equal(await closed, 1008);
    }
  });
});

// The seed's REST client: fetch with a bearer token, JSON bodies.
async function api(user, method, path, body, { token = user && userToken(user), raw } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${API}${path}`, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

const CALL = ['answeredAt', 'channelName', 'chatRoomId', 'createdAt', 'duration', 'endReason', 'endedAt', 'endedBy',
  'id', 'initiatorId', 'isGroupCall', 'maxParticipants', 'participants', 'status', 'type'];

describe('seed 001 on one origin: its REST routes and /calls (--dialect seed001=PORT)', () => {
  test('the seed\'s recommended flow, steps 1 to 8, and active-call recovery', async () => {
    const alice = client('s1r-alice', { origin: API });
    const bob = client('s1r-bob', { origin: API });
    await Promise.all([connected(alice), connected(bob)]);
    // 1. POST /calls/rooms/:chatRoomId/initiate
    const init = await api('s1r-alice', 'POST', '/api/v1/calls/rooms/room-9/initiate',
      { type: 'video', isGroupCall: true, inviteUserIds: ['s1r-bob'] });
    assert.equal(init.status, 201);
    assert.deepEqual(keys(init.json), ['data', 'message', 'statusCode']);
    assert.equal(init.json.statusCode, 201);
    assert.equal(init.json.message, 'Call initiated successfully');
    const call = init.json.data;
    assert.deepEqual(keys(call), CALL);
    assert.deepEqual([call.chatRoomId, call.type, call.isGroupCall, call.status, call.initiatorId],
      ['room-9', 'video', true, 'ringing', 's1r-alice']);
    assert.deepEqual(call.participants.map((p) => [p.userId, p.status]), [['s1r-alice', 'joined'], ['s1r-bob', 'invited']]);
    for (const p of call.participants) assert.deepEqual(keys(p), PARTICIPANT);
    // 2. the socket rings
    assert.equal((await next(bob, 'incoming_call')).callId, call.id);
    // 3. POST /calls/:id/join, 4. join_call
    const join = await api('s1r-bob', 'POST', `/api/v1/calls/${call.id}/join`, { isMicMuted: false, isCameraOff: true });
    assert.equal(join.status, 200);
    assert.equal(join.json.message, 'Joined call successfully');
    assert.equal(join.json.data.status, 'active');
    assert.deepEqual(join.json.data.participants.find((p) => p.userId === 's1r-bob'),
      { ...join.json.data.participants.find((p) => p.userId === 's1r-bob'), status: 'joined', isCameraOff: true });
    assert.equal((await next(alice, 'participant_joined')).userId, 's1r-bob');
    assert.equal((await bob.emitWithAck('join_call', { callId: call.id })).participants.length, 2);
    // 5. POST /calls/:id/media/session: the seed's documented answer
    const ms = await api('s1r-bob', 'POST', `/api/v1/calls/${call.id}/media/session`);
    assert.equal(ms.status, 200);
    assert.deepEqual(keys(ms.json.data), ['appId', 'channelName', 'expiresAt', 'mode', 'provider', 'rtcToken', 'userAccount']);
    assert.deepEqual({ ...ms.json, data: { ...ms.json.data, rtcToken: 't', expiresAt: 'e' } }, {
      statusCode: 200, message: 'Media session created successfully',
      data: { provider: 'agora', mode: 'sfu', channelName: call.channelName, userAccount: 's1r-bob',
        appId: '970CA35de60c44645bbae8a215061b33', rtcToken: 't', expiresAt: 'e' },
    });
    assert.match(ms.json.data.rtcToken, /^007/);
    // pgcall's expires_at: a Unix time in seconds, not the seed's ISO string (docs/migrating/seed001.md)
    assert.ok(Number.isInteger(ms.json.data.expiresAt) && ms.json.data.expiresAt * 1000 > Date.now());
    // 7. PATCH /calls/:id/media, and the socket tells the others
    const media = await api('s1r-bob', 'PATCH', `/api/v1/calls/${call.id}/media`, { isMicMuted: true, isSharingScreen: true });
    assert.equal(media.status, 200);
    assert.deepEqual(await next(alice, 'participant_media_changed'),
      { callId: call.id, userId: 's1r-bob', isMicMuted: true, isCameraOff: true, isSharingScreen: true });
    // active call recovery
    const active = await api('s1r-bob', 'GET', '/api/v1/calls/rooms/room-9/active');
    assert.equal(active.status, 200);
    assert.equal(active.json.data.id, call.id);
    assert.deepEqual(keys(active.json.data), CALL);
    // 8. PATCH /calls/:id/status (left), POST /calls/:id/end
    const st = await api('s1r-bob', 'PATCH', `/api/v1/calls/${call.id}/status`, { status: 'left' });
    assert.equal(st.status, 200);
    assert.deepEqual(await next(alice, 'participant_left'), { callId: call.id, userId: 's1r-bob', reason: null });
    const end = await api('s1r-alice', 'POST', `/api/v1/calls/${call.id}/end`);
    assert.equal(end.status, 200);
    assert.equal(end.json.data.status, 'ended');
    assert.equal(end.json.data.endReason, 'completed');
    assert.equal((await next(alice, 'call_ended')).callId, call.id);
    const none = await api('s1r-bob', 'GET', '/api/v1/calls/rooms/room-9/active');
    assert.deepEqual(none, { status: 200, json: { statusCode: 200, message: 'Active call retrieved successfully', data: null } });
    alice.close();
    bob.close();
  });

  test('REST attacked: errors as {statusCode, message, code}', async () => {
    const init = await api('s1r-alice', 'POST', '/api/v1/calls/rooms/room-10/initiate',
      { type: 'audio', inviteUserIds: ['s1r-bob'] });
    assert.equal(init.status, 201, JSON.stringify(init.json));
    const call = init.json.data;
    assert.equal(call.isGroupCall, false);
    for (const [user, method, path, body, status, message, opts] of [
      ['s1r-alice', 'POST', '/api/v1/calls/rooms/room-10/initiate', { type: 'video' }, 400, 'inviteUserIds required'],
      ['s1r-alice', 'POST', '/api/v1/calls/not-a-call/join', {}, 400,
        'Invalid payload: callId must be a call id, media flags true or false'],
      ['s1r-alice', 'POST', '/api/v1/calls/00000000-0000-4000-8000-000000000000/end', undefined, 404, 'Call not found'],
      ['s1r-mallory', 'PATCH', `/api/v1/calls/${call.id}/media`, { isMicMuted: true }, 403, 'you are not a participant of this call'],
      ['s1r-mallory', 'POST', `/api/v1/calls/${call.id}/media/session`, undefined, 403, null],
      ['s1r-alice', 'PATCH', `/api/v1/calls/${call.id}/status`, {}, 400, 'status required'],
      ['s1r-alice', 'POST', `/api/v1/calls/${call.id}/join`, undefined, 400, 'Invalid JSON body', { raw: '{"isMicMuted":' }],
      ['s1r-alice', 'DELETE', `/api/v1/calls/${call.id}`, undefined, 404, 'Route not found'],
      [null, 'POST', `/api/v1/calls/${call.id}/end`, undefined, 401, null],
    ]) {
      const r = await api(user, method, path, body, opts);
      assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.statusCode, status, path);
      if (message) assert.equal(r.json.message, message, path);
      assert.equal(typeof r.json.code, 'string', path);
    }
    // the call is as it was: nobody but alice joined, nothing ended
    const active = await api('s1r-alice', 'GET', '/api/v1/calls/rooms/room-10/active');
    assert.deepEqual(active.json.data.participants.map((p) => [p.userId, p.status, p.isMicMuted]),
      [['s1r-alice', 'joined', false], ['s1r-bob', 'invited', false]]);
    await api('s1r-alice', 'POST', `/api/v1/calls/${call.id}/end`);
  });
});
