// Seed 004's realtime gateway (Socket.IO namespace /realtime: call.incoming_call,
// call.call_accepted, ...), served by the dialect seed004
// (docs/migrating/seed004.md): the seed's 1-1 and group flows with the real
// socket.io-client, io() called as the seed's frontend calls it
// (VITE_SOCKET_URL=http://host/realtime) but for the URL, each event checked
// against the shape the seed's redux state reads; then hostile clients.
//
// The seed's clients act over REST (POST /call/start, /call/accept,
// /call/reject, /call/end): the first flows take those steps on pgcall's
// native routes (POST /rpc/call_start, ...) with a --socketio-dialect bridge;
// the last ones run against one origin, a --dialect seed004=PORT port that
// serves the seed's REST routes and its /realtime namespace
// (docs/migrating/seed004.md, "REST").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { createDatabase, freePort, http, metrics, psql, startBridge, userToken, waitFor } from './lib.mjs';

const DB = createDatabase('bridge_seed004');
let b;
let d;		// the --dialect bridge
let API;	// its origin (VITE_API_ROOT and VITE_SOCKET_URL's host)

before(async () => {
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.rate_limit_calls = 0`);
  psql(DB, `INSERT INTO pgcall.profile VALUES ('s4-alice', 'Alice', 'https://img.example/alice.png')`);
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.agora_app_id = '970CA35de60c44645bbae8a215061b33'`);
  psql(DB, `SELECT pgcall.set_secret('agora_app_certificate', '5CFd2fd1755d40ecb72977518be15d3b')`);
  b = await startBridge(DB, { args: ['--socketio-dialect', 'seed004', '--socketio-connect-timeout', '3000'] });
  const port = await freePort();
  d = await startBridge(DB, { args: ['--dialect', `seed004=${port}`] });
  API = `http://127.0.0.1:${port}`;
});
after(async () => { await b.stop(); await d.stop(); });

// The seed's frontend: io(VITE_SOCKET_URL) with VITE_SOCKET_URL ending in
// /realtime, the JWT in the handshake auth, default transports (long-polling
// first, then the upgrade).  The harness adds forceNew and no reconnection.
function client(sub, opts = {}) {
  const socket = io(`${opts.origin ?? b.url}/realtime`, {
    auth: { token: userToken(sub) }, reconnection: false, forceNew: true, ...opts,
  });
  socket.seen = [];
  socket.offsets = [];	// every emit's offset (its pgcall event id), never spliced
  socket.onAny((name, ...args) => {
    socket.seen.push([name, ...args]);
    socket.offsets.push([name, Number(args[args.length - 1])]);
  });
  return socket;
}

// Events reach a socket in commit order: each emit's offset (its pgcall
// event id) above the one before, whatever waited for a media session.
function inOrder(socket) {
  for (let i = 1; i < socket.offsets.length; i++) {
    assert.ok(socket.offsets[i][1] > socket.offsets[i - 1][1], `in order: ${JSON.stringify(socket.offsets)}`);
  }
}

// The names of what a socket got, in the order it got them.
const names = (socket) => socket.offsets.map(([n]) => n);

// An Agora token minted for user in the call's channel (roomId), as
// pgcall.agora_token_inspect reads it: the seed's client joins with it.
function assertTokenOf(token, user, roomId) {
  assert.match(token, /^007/);
  const t = JSON.parse(psql(DB, `SELECT pgcall.agora_token_inspect('${token}')`));
  assert.deepEqual({ channel: t.services[0].channel, uid: t.services[0].uid, valid: t.signature.valid },
    { channel: roomId, uid: user, valid: true }, `${user}'s token for ${roomId}`);
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

// A psql session kept open, so that a transaction can hold its locks while
// the test goes on: run() sends statements and waits until the session is
// in the state given ('idle in transaction', 'idle') after the statement
// that starts with last, as pg_stat_activity shows it (psql's output to a
// pipe is not flushed until it exits).
function holding(db) {
  const name = `hold-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const p = spawn('psql', ['-X', '-d', db, '-U', process.env.PGUSER ?? 'postgres', '-Atq', '-v', 'ON_ERROR_STOP=1'],
    { stdio: ['pipe', 'ignore', 'inherit'], env: { ...process.env, PGAPPNAME: name } });
  return {
    run: (sql, state, last) => {
      p.stdin.write(`${sql}\n`);
      return waitFor(() => psql(db, `SELECT state || ' ' || query FROM pg_stat_activity WHERE application_name = '${name}'`)
        .startsWith(`${state} ${last}`), `psql: ${state} after ${last}`);
    },
    end: () => { p.stdin.end(); },
  };
}

async function rest(user, fn, body) {
  const r = await http(b, 'POST', `/rpc/${fn}`, { token: userToken(user), body });
  assert.equal(r.status, 200, `${fn}: ${r.text}`);
  return r.json;
}

const keys = (o) => Object.keys(o).sort();

describe('seed 004 flows with socket.io-client', () => {
  test('1-1: start, incoming_call, accept, call_accepted to both, end, call_ended to both', async () => {
    const alice = client('s4-alice');
    const bob = client('s4-bob');
    await Promise.all([connected(alice), connected(bob)]);

    // POST /call/start {targetUserIds: [B], callType: 'DIRECT', mediaType: 'VIDEO'}
    const { call } = await rest('s4-alice', 'call_start', { invitees: ['s4-bob'], type: 'video' });
    const roomId = call.channel_id;
    // the callee: call.incoming_call, what setIncomingCall(data) reads
    const inc = await next(bob, 'call.incoming_call');
    assert.deepEqual(inc, {
      callId: call.id, roomId, conversationId: null, callType: 'DIRECT', mediaType: 'VIDEO',
      caller: { userId: 's4-alice', username: 'Alice', userAvatar: 'https://img.example/alice.png' },
    });
    assert.equal(alice.seen.length, 0, 'the caller is not rung');

    // POST /call/accept {callId, roomId}: call_accepted carries each
    // recipient's own token ("Includes token!"), and participant_joined,
    // committed with it, comes after it
    await rest('s4-bob', 'call_accept', { call_id: inc.callId });
    const tokens = {};
    for (const [s, user] of [[alice, 's4-alice'], [bob, 's4-bob']]) {
      const acc = await next(s, 'call.call_accepted');
      assert.deepEqual({ ...acc, token: 't' }, { callId: call.id, roomId, userId: 's4-bob', token: 't' });
      assertTokenOf(acc.token, user, roomId);
      tokens[user] = acc.token;
      assert.deepEqual(await next(s, 'call.participant_joined'), { callId: call.id, roomId, userId: 's4-bob' });
    }
    assert.notEqual(tokens['s4-alice'], tokens['s4-bob']);
    // POST /call/end {callId, roomId}
    await rest('s4-bob', 'call_end', { call_id: call.id });
    for (const s of [alice, bob]) {
      const ended = await next(s, 'call.call_ended');
      assert.deepEqual(keys(ended), ['callId', 'duration', 'endedBy', 'reason', 'roomId']);
      assert.deepEqual({ ...ended, duration: 0 }, { callId: call.id, roomId, endedBy: 's4-bob', reason: 'completed', duration: 0 });
    }
    // nothing unmapped: no call.started, no participant.*
    assert.deepEqual([...alice.seen, ...bob.seen], []);
    assert.deepEqual(names(alice), ['call.call_accepted', 'call.participant_joined', 'call.call_ended']);
    assert.deepEqual(names(bob), ['call.incoming_call', 'call.call_accepted', 'call.participant_joined', 'call.call_ended']);
    inOrder(alice);
    inOrder(bob);
    for (const s of [alice, bob]) {
      await waitFor(() => s.io.engine.transport.name === 'websocket', 'the upgrade');
      s.close();
    }
  });

  test('1-1 rejected: call.call_rejected to both, no participant event', async () => {
    const alice = client('s4-alice');
    const bob = client('s4-bob', { transports: ['polling'] });
    await Promise.all([connected(alice), connected(bob)]);
    const { call } = await rest('s4-alice', 'call_start', { invitees: ['s4-bob'], type: 'audio' });
    const inc = await next(bob, 'call.incoming_call');
    assert.equal(inc.mediaType, 'AUDIO');
    assert.equal(inc.callType, 'DIRECT');
    await rest('s4-bob', 'call_reject', { call_id: call.id });
    for (const s of [alice, bob]) {
      assert.deepEqual(await next(s, 'call.call_rejected'), { callId: call.id, roomId: call.channel_id, userId: 's4-bob' });
    }
    assert.deepEqual([...alice.seen, ...bob.seen], []);
    alice.close();
    bob.close();
  });

  test('the caller hangs up while it rings: call.call_ended, reason cancelled', async () => {
    const alice = client('s4-alice');
    const bob = client('s4-bob');
    await Promise.all([connected(alice), connected(bob)]);
    const { call } = await rest('s4-alice', 'call_start', { invitees: ['s4-bob'], type: 'video' });
    await next(bob, 'call.incoming_call');
    await rest('s4-alice', 'call_end', { call_id: call.id });
    for (const s of [alice, bob]) {
      assert.deepEqual(await next(s, 'call.call_ended'),
        { callId: call.id, roomId: call.channel_id, endedBy: 's4-alice', reason: 'cancelled', duration: 0 });
    }
    alice.close();
    bob.close();
  });

  test('group: incoming_call to every target, a decline is participant_left, accept, leave, end', async () => {
    const [alice, bob, carol] = ['s4-alice', 's4-bob', 's4-carol'].map((u) => client(u));
    await Promise.all([alice, bob, carol].map(connected));
    // POST /call/start {targetUserIds: [B, C], conversationId, callType: 'GROUP', mediaType: 'AUDIO'}
    const { call } = await rest('s4-alice', 'call_start',
      { invitees: ['s4-bob', 's4-carol'], type: 'audio', room_id: 'conv-7', is_group: true });
    const roomId = call.channel_id;
    for (const s of [bob, carol]) {
      const inc = await next(s, 'call.incoming_call');
      assert.deepEqual({ ...inc, caller: null }, {
        callId: call.id, roomId, conversationId: 'conv-7', callType: 'GROUP', mediaType: 'AUDIO', caller: null,
      });
    }
    // carol declines: the call goes on, the others see her leave
    await rest('s4-carol', 'call_reject', { call_id: call.id });
    assert.deepEqual(await next(alice, 'call.participant_left'), { callId: call.id, roomId, userId: 's4-carol', reason: 'declined' });
    // bob accepts: everyone in it hears call_accepted, with their own token, and participant_joined
    await rest('s4-bob', 'call_accept', { call_id: call.id });
    for (const [s, user] of [[alice, 's4-alice'], [bob, 's4-bob']]) {
      const acc = await next(s, 'call.call_accepted');
      assert.deepEqual({ ...acc, token: 't' }, { callId: call.id, roomId, userId: 's4-bob', token: 't' });
      assertTokenOf(acc.token, user, roomId);
      assert.deepEqual(await next(s, 'call.participant_joined'), { callId: call.id, roomId, userId: 's4-bob' });
    }
    // bob leaves; alice ends it
    await rest('s4-bob', 'call_leave', { call_id: call.id });
    assert.deepEqual(await next(alice, 'call.participant_left'), { callId: call.id, roomId, userId: 's4-bob', reason: null });
    await rest('s4-alice', 'call_end', { call_id: call.id });
    const ended = await next(alice, 'call.call_ended');
    assert.equal(ended.reason, 'completed');
    assert.equal(ended.endedBy, 's4-alice');
    assert.ok(!alice.seen.some(([n]) => n === 'call.call_rejected'), 'one decline does not end a group call');
    for (const s of [alice, bob, carol]) inOrder(s);
    for (const s of [alice, bob, carol]) s.close();
  });

  test('over long-polling: call_accepted with each one\'s token, and what follows it after it', async () => {
    const alice = client('s4p-alice', { transports: ['polling'] });
    const bob = client('s4p-bob', { transports: ['polling'] });
    await Promise.all([connected(alice), connected(bob)]);
    const { call } = await rest('s4p-alice', 'call_start', { invitees: ['s4p-bob'], type: 'audio' });
    const roomId = call.channel_id;
    await next(bob, 'call.incoming_call');
    // participant_joined, committed with the acceptance, waits behind the
    // call_accepted that waits for its token, on each socket
    await rest('s4p-bob', 'call_accept', { call_id: call.id });
    for (const [s, user] of [[alice, 's4p-alice'], [bob, 's4p-bob']]) {
      await next(s, 'call.participant_joined');
      assertTokenOf((await next(s, 'call.call_accepted')).token, user, roomId);
    }
    await rest('s4p-bob', 'call_end', { call_id: call.id });
    for (const s of [alice, bob]) {
      await next(s, 'call.call_ended');
      assert.deepEqual(names(s).filter((n) => n !== 'call.incoming_call'),
        ['call.call_accepted', 'call.participant_joined', 'call.call_ended']);
      inOrder(s);
      assert.equal(s.io.engine.transport.name, 'polling');
    }
    alice.close();
    bob.close();
  });

  test('many accepted calls in a row: each call_accepted has its token, all in commit order', async () => {
    const alice = client('s4m-alice', { transports: ['websocket'] });
    const bob = client('s4m-bob');
    await Promise.all([connected(alice), connected(bob)]);
    const rooms = [];
    for (let i = 0; i < 5; i++) {
      const { call } = await rest('s4m-alice', 'call_start', { invitees: ['s4m-bob'], type: 'video' });
      rooms.push(call.channel_id);
      await rest('s4m-bob', 'call_accept', { call_id: call.id });
      // (a call ended before its call_accepted goes out gets a null token)
      await waitFor(() => [alice, bob].every((s) => s.seen.some(([n, p]) => n === 'call.participant_joined' && p.callId === call.id)),
        'participant_joined');
      await rest('s4m-alice', 'call_end', { call_id: call.id });
    }
    for (const [s, user] of [[alice, 's4m-alice'], [bob, 's4m-bob']]) {
      await waitFor(() => names(s).filter((n) => n === 'call.call_ended').length === 5, 'five call_ended');
      const accepted = s.seen.filter(([n]) => n === 'call.call_accepted').map(([, p]) => p);
      assert.deepEqual(accepted.map((p) => p.roomId), rooms);
      for (const p of accepted) assertTokenOf(p.token, user, p.roomId);
      inOrder(s);
    }
    alice.close();
    bob.close();
  });

  test('a caller with no profile: caller has the user id only', async () => {
    const bob = client('s4-bob');
    const dave = client('s4-dave');
    await Promise.all([connected(bob), connected(dave)]);
    const { call } = await rest('s4-bob', 'call_start', { invitees: ['s4-dave'], type: 'video' });
    const inc = await next(dave, 'call.incoming_call');
    assert.deepEqual(inc.caller, { userId: 's4-bob' });
    await rest('s4-bob', 'call_end', { call_id: call.id });
    bob.close();
    dave.close();
  });
});

describe('seed 004 attacked', () => {
  test('the gateway takes no client events: each is refused in the ack, nothing runs', async () => {
    const alice = client('s4-alice');
    await connected(alice);
    for (const ev of ['call.started', 'call.accepted', 'call.incoming_call', 'start']) {
      const r = await alice.emitWithAck(ev, { targetUserIds: ['s4-bob'], callType: 'DIRECT', mediaType: 'VIDEO' });
      assert.deepEqual(r, { message: `Unknown event "${ev}"` });
    }
    assert.equal(psql(DB, `SELECT count(*) FROM pgcall.call WHERE status <> 'ended'`), '0');
    assert.deepEqual(alice.seen, [], 'no error event: the seed has none');
    alice.close();
  });

  test('another namespace: Invalid namespace', async () => {
    for (const nsp of ['', '/calls', '/realtime/x']) {
      const s = io(`${b.url}${nsp}`, { auth: { token: userToken('s4-alice') }, transports: ['websocket'], reconnection: false, forceNew: true });
      const e = await connectError(s);
      assert.equal(e.message, 'Invalid namespace', nsp);
      s.close();
    }
  });

  test('a token that names no user, or none: connect_error', async () => {
    const s = client('s4-alice', { auth: {} });
    assert.equal((await connectError(s)).data.code, 'PGRST302');
    s.close();
    const t = client('s4-alice', { auth: { token: userToken('s4-alice', { exp: Math.floor(Date.now() / 1000) - 120 }) } });
    assert.equal((await connectError(t)).message, 'JWT expired');
    t.close();
  });

  test('a recipient no longer in the call when its call_accepted goes out: token null, the rest in order', async () => {
    // bob takes part in a group call while offline, then comes back and
    // recovers what he missed (socket.io-client's {pid, offset}): his
    // call_accepted events go out after he left, when the database no
    // longer gives him a media session for the call
    const tag = crypto.createHash('sha256').update('s4h-bob').digest('hex').slice(0, 16);
    const base = psql(DB, 'SELECT pgcall.bridge_event_horizon()');
    const { call } = await rest('s4h-alice', 'call_start', { invitees: ['s4h-bob', 's4h-carol'], type: 'audio', is_group: true });
    await rest('s4h-bob', 'call_accept', { call_id: call.id });
    await rest('s4h-carol', 'call_accept', { call_id: call.id });
    await rest('s4h-bob', 'call_leave', { call_id: call.id });
    const carol = client('s4h-carol', { transports: ['websocket'] });
    await connected(carol);
    const media = async () => {
      const m = await metrics(b);
      return [m['pgcall_bridge_socketio_media_total{outcome="session"}'], m['pgcall_bridge_socketio_media_total{outcome="none"}']];
    };
    const [session0, none0] = await media();
    const bob = client('s4h-bob', { auth: { token: userToken('s4h-bob'), pid: `${tag}.${base}`, offset: base } });
    await connected(bob);
    await waitFor(() => names(bob).includes('call.participant_left'), 'bob\'s recovered events');
    assert.deepEqual(names(bob), ['call.incoming_call', 'call.call_accepted', 'call.participant_joined',
      'call.participant_joined', 'call.participant_left']);
    assert.deepEqual(bob.seen.find(([n]) => n === 'call.call_accepted')[1],
      { callId: call.id, roomId: call.channel_id, userId: 's4h-bob', token: null });
    inOrder(bob);
    assert.deepEqual(await media(), [session0, none0 + 1], 'one emit filled with null, counted');
    // the bridge goes on: a live call for bob gets his token
    const { call: c2 } = await rest('s4h-carol', 'call_start', { invitees: ['s4h-bob'], type: 'audio' });
    await next(bob, 'call.incoming_call');
    await rest('s4h-bob', 'call_accept', { call_id: c2.id });
    assertTokenOf((await next(bob, 'call.call_accepted', (p) => p.callId === c2.id)).token, 's4h-bob', c2.channel_id);
    assertTokenOf((await next(carol, 'call.call_accepted', (p) => p.callId === c2.id)).token, 's4h-carol', c2.channel_id);
    assert.deepEqual(await media(), [session0 + 2, none0 + 1], 'two from media sessions');
    inOrder(bob);
    inOrder(carol);
    await rest('s4h-carol', 'call_end', { call_id: c2.id });
    await rest('s4h-alice', 'call_end', { call_id: call.id });
    bob.close();
    carol.close();
  });

  test('a slow database holds events behind a call_accepted; past --send-queue the socket is dropped, nothing leaks', async () => {
    // bob's media session waits for a lock on his token count (an open
    // transaction holds its row); what else reaches his socket waits
    // behind the call_accepted, counted in his send queue, until it
    // overflows: 1013, as any slow consumer
    const small = await startBridge(DB, { args: ['--socketio-dialect', 'seed004', '--send-queue', '8192'] });
    const tx = holding(DB);
    try {
      const bob = io(`${small.url}/realtime`, { auth: { token: userToken('s4s-bob') }, reconnection: false, forceNew: true, transports: ['websocket'] });
      bob.seen = [];
      bob.onAny((name) => bob.seen.push(name));
      await connected(bob);
      const closed = new Promise((resolve) => bob.on('disconnect', resolve));
      const { call } = await rest('s4s-alice', 'call_start', { invitees: ['s4s-bob', 's4s-carol'], type: 'audio', is_group: true });
      await waitFor(() => bob.seen.includes('call.incoming_call'), 'incoming_call');
      await tx.run(`BEGIN;
        INSERT INTO pgcall.rate_limit AS r (user_id, action, scope, window_seconds, window_start, hits)
             VALUES ('s4s-bob', 'token', '', 60, now(), 1)
        ON CONFLICT (user_id, action, scope) DO UPDATE SET hits = r.hits;`, 'idle in transaction', 'INSERT');
      await rest('s4s-carol', 'call_accept', { call_id: call.id });
      const before = (await metrics(small))['pgcall_bridge_websockets_closed_total{reason="slow"}'];
      // signals from carol to bob: 3 KiB each, held behind the call_accepted
      for (let i = 0; i < 8 && !bob.disconnected; i++) {
        const r = await http(b, 'POST', '/rpc/call_signal', { token: userToken('s4s-carol'),
          body: { call_id: call.id, to_user: 's4s-bob', kind: 'offer', payload: { sdp: 'x'.repeat(3072) } } });
        assert.equal(r.status, 204, r.text);
      }
      assert.equal(await closed, 'transport close');
      assert.deepEqual(bob.seen, ['call.incoming_call'], 'nothing after the call_accepted that waited');
      assert.equal((await metrics(small))['pgcall_bridge_websockets_closed_total{reason="slow"}'], before + 1);
      await tx.run('COMMIT;', 'idle', 'COMMIT');
      // the bridge goes on: a new socket for bob gets his token
      await rest('s4s-alice', 'call_end', { call_id: call.id });
      const again = client('s4s-bob', { origin: small.url, transports: ['websocket'] });
      await connected(again);
      const { call: c2 } = await rest('s4s-alice', 'call_start', { invitees: ['s4s-bob'], type: 'audio' });
      await rest('s4s-bob', 'call_accept', { call_id: c2.id });
      assertTokenOf((await next(again, 'call.call_accepted')).token, 's4s-bob', c2.channel_id);
      await rest('s4s-alice', 'call_end', { call_id: c2.id });
      again.close();
      bob.close();
    } finally {
      tx.end();
      await small.stop();
    }
  });

  test('an event before the namespace CONNECT: closed 1008', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${b.port}/socket.io/?EIO=4&transport=websocket`);
    const got = [];
    ws.on('message', (d) => got.push(d.toString()));
    const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    await new Promise((resolve) => ws.on('open', resolve));
    await waitFor(() => got.some((f) => f[0] === '0'), 'the open packet');
    ws.send('42/realtime,["call.incoming_call",{}]');
    assert.equal(await closed, 1008);
  });
});

// The seed's API client (its redux thunks): POST with a bearer token.
async function api(user, path, body, { raw } = {}) {
  const headers = { 'Content-Type': 'application/json' };
  if (user) headers.Authorization = `Bearer ${userToken(user)}`;
  const r = await fetch(`${API}${path}`, { method: 'POST', headers, body: raw ?? JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

describe('seed 004 on one origin: its REST routes and /realtime (--dialect seed004=PORT)', () => {
  test('1-1: POST /call/start, incoming_call, POST /call/accept with tokens, POST /call/end', async () => {
    const alice = client('s4r-alice', { origin: API });
    const bob = client('s4r-bob', { origin: API });
    await Promise.all([connected(alice), connected(bob)]);
    const start = await api('s4r-alice', '/call/start', { targetUserIds: ['s4r-bob'], callType: 'DIRECT', mediaType: 'VIDEO' });
    assert.equal(start.status, 201);
    const { callId, roomId } = start.json;
    assert.deepEqual(keys(start.json), ['appId', 'callId', 'callType', 'conversationId', 'mediaType', 'roomId', 'status', 'token', 'userId']);
    assert.deepEqual({ ...start.json, token: 't' }, {
      callId, roomId: `call-${callId}`, conversationId: null, callType: 'DIRECT', mediaType: 'VIDEO', status: 'ringing',
      userId: 's4r-alice', token: 't', appId: '970CA35de60c44645bbae8a215061b33',
    });
    assert.match(start.json.token, /^007/, 'the caller\'s Agora token, as the seed\'s call.started had it');
    const inc = await next(bob, 'call.incoming_call');
    assert.deepEqual([inc.callId, inc.roomId, inc.callType, inc.mediaType], [callId, roomId, 'DIRECT', 'VIDEO']);

    // POST /call/accept {callId, roomId}: the acceptor's token
    const acc = await api('s4r-bob', '/call/accept', { callId, roomId });
    assert.equal(acc.status, 201);
    assert.deepEqual({ ...acc.json, token: 't' }, {
      callId, roomId, conversationId: null, callType: 'DIRECT', mediaType: 'VIDEO', status: 'active',
      userId: 's4r-bob', token: 't', appId: '970CA35de60c44645bbae8a215061b33',
    });
    assert.match(acc.json.token, /^007/);
    assert.notEqual(acc.json.token, start.json.token);
    for (const [s, user] of [[alice, 's4r-alice'], [bob, 's4r-bob']]) {
      const ev = await next(s, 'call.call_accepted');
      assert.deepEqual({ ...ev, token: 't' }, { callId, roomId, userId: 's4r-bob', token: 't' });
      assertTokenOf(ev.token, user, roomId);
    }

    // POST /call/end {callId, roomId, reason}
    const end = await api('s4r-alice', '/call/end', { callId, roomId, reason: 'user hung up' });
    assert.equal(end.status, 201);
    assert.deepEqual({ ...end.json, duration: 0 }, { callId, roomId, endedBy: 's4r-alice', reason: 'completed', duration: 0 });
    for (const s of [alice, bob]) assert.equal((await next(s, 'call.call_ended')).callId, callId);
    alice.close();
    bob.close();
  });

  test('group: POST /call/start with a conversation, POST /call/reject', async () => {
    const alice = client('s4r-alice', { origin: API });
    const bob = client('s4r-bob', { origin: API });
    await Promise.all([connected(alice), connected(bob)]);
    const start = await api('s4r-alice', '/call/start',
      { targetUserIds: ['s4r-bob', 's4r-carol'], conversationId: 'conv-9', callType: 'GROUP', mediaType: 'AUDIO' });
    assert.equal(start.status, 201);
    assert.deepEqual([start.json.callType, start.json.mediaType, start.json.conversationId], ['GROUP', 'AUDIO', 'conv-9']);
    const { callId, roomId } = start.json;
    assert.equal((await next(bob, 'call.incoming_call')).callType, 'GROUP');
    const rej = await api('s4r-bob', '/call/reject', { callId, roomId });
    assert.deepEqual([rej.status, rej.json], [201, { callId, roomId, status: 'ringing', userId: 's4r-bob' }]);
    assert.deepEqual(await next(alice, 'call.participant_left'), { callId, roomId, userId: 's4r-bob', reason: 'declined' });
    await api('s4r-alice', '/call/end', { callId, roomId });
    alice.close();
    bob.close();
  });

  test('REST attacked: a forged roomId buys no token for another channel; errors as {statusCode, message}', async () => {
    const start = await api('s4r-alice', '/call/start', { targetUserIds: ['s4r-bob'], callType: 'DIRECT', mediaType: 'AUDIO' });
    const { callId, roomId } = start.json;
    // the seed minted a token for whatever roomId it was sent: here the room is the call's
    const acc = await api('s4r-bob', '/call/accept', { callId, roomId: 'someone-elses-room' });
    assert.equal(acc.status, 201);
    assert.equal(acc.json.roomId, roomId);
    const channel = psql(DB, `SELECT pgcall.agora_token_inspect('${acc.json.token}') #>> '{services,0,channel}'`);
    assert.equal(channel, roomId);
    for (const [user, path, body, status, message, opts] of [
      ['s4r-alice', '/call/start', { callType: 'DIRECT' }, 400, 'targetUserIds required'],
      ['s4r-alice', '/call/accept', {}, 400, 'callId required'],
      ['s4r-alice', '/call/accept', { callId: 'nope' }, 400, 'Invalid payload: callId must be a call id'],
      ['s4r-alice', '/call/end', { callId: '00000000-0000-4000-8000-000000000000' }, 404, 'Call not found'],
      ['s4r-mallory', '/call/end', { callId }, 403, null],
      ['s4r-alice', '/call/end', null, 400, 'Invalid JSON body', { raw: '{"callId"' }],
      ['s4r-alice', '/call/hangup', { callId }, 404, 'Route not found'],
      [null, '/call/end', { callId }, 401, null],
    ]) {
      const r = await api(user, path, body, opts);
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.json)}`);
      assert.deepEqual(keys(r.json), ['message', 'statusCode'], path);
      assert.equal(r.json.statusCode, status, path);
      if (message) assert.equal(r.json.message, message, path);
    }
    assert.equal(psql(DB, `SELECT status FROM pgcall.call WHERE id = '${callId}'`), 'active', 'nothing ended it');
    await api('s4r-alice', '/call/end', { callId });
  });

  test('a GET route runs read-only: over a function that writes it is 405, as {statusCode, message}', async () => {
    // a test-only route: GET over call_end, which writes
    psql(DB, `INSERT INTO pgcall.dialect_route (dialect, method, path, fn, args) VALUES
      ('seed004', 'GET', '/call/test-get-end', 'call_end', '{"call_id": "$.query.callId"}')`);
    const start = await api('s4r-alice', '/call/start', { targetUserIds: ['s4r-bob'], callType: 'DIRECT', mediaType: 'AUDIO' });
    const { callId } = start.json;
    const was = psql(DB, `SELECT status FROM pgcall.call WHERE id = '${callId}'`);
    const r = await fetch(`${API}/call/test-get-end?callId=${callId}`,
      { headers: { Authorization: `Bearer ${userToken('s4r-alice')}` } });
    assert.equal(r.status, 405);
    const j = await r.json();
    assert.deepEqual(keys(j), ['message', 'statusCode']);
    assert.equal(j.statusCode, 405);
    assert.match(j.message, /cannot be called with GET/);
    assert.equal(psql(DB, `SELECT status FROM pgcall.call WHERE id = '${callId}'`), was, 'nothing ended it');
    psql(DB, `DELETE FROM pgcall.dialect_route WHERE path = '/call/test-get-end'`);
    await api('s4r-alice', '/call/end', { callId });
  });
});
