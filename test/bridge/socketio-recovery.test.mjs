// Socket.IO connection state recovery (socket.io-client 4.6+) on pgcall's
// event ids: the CONNECT reply has a pid, each emit mapped from a pgcall
// event ends with that event's id (the client's offset), and a client that
// comes back with {pid, offset} is recovered (socket.recovered) and gets
// exactly what it missed, once, in order, before live events.  Tested with
// the real socket.io-client whose transport is cut under it; then the cases
// that must not recover, with raw frames.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { asUser, createDatabase, metrics, psql, startBridge, userToken, waitFor } from './lib.mjs';

const DB = createDatabase('bridge_socketio_recovery');
let b;
before(async () => {
  psql(DB, `ALTER DATABASE bridge_socketio_recovery SET pgcall.rate_limit_calls = 0`);
  b = await startBridge(DB, { args: ['--socketio-dialect', 'seed003'] });
});
after(async () => { await b.stop(); });

// The seed's client with the bridge's URL; reconnection as socket.io-client
// does it by default, only quicker.
function client(sub, opts = {}) {
  const socket = io(b.url, {
    auth: { token: userToken(sub) }, forceNew: true, reconnectionDelay: 300,
    reconnectionDelayMax: 300, randomizationFactor: 0, ...opts,
  });
  socket.seen = [];
  socket.onAny((name, ...args) => socket.seen.push([name, ...args]));
  return socket;
}

const connected = (s) => new Promise((resolve, reject) => {
  if (s.connected) { resolve(); return; }
  s.once('connect', resolve);
  s.once('connect_error', reject);
});

async function online(...users) {
  await waitFor(() => users.every((u) => asUser(DB, u, `SELECT bool_and(online) FROM pgcall.presence(ARRAY['${u}'])`).split('\n').pop() === 't'),
    `${users} online`);
}

const names = (s) => s.seen.map(([n]) => n);
const tag = (user) => crypto.createHash('sha256').update(user).digest('hex').slice(0, 16);

// Cut the transport under a socket.io-client socket: a WebSocket's TCP
// connection dies as in a network drop; long-polling's transport is closed.
function cut(socket) {
  const t = socket.io.engine.transport;
  if (t.name === 'websocket') t.ws._socket.destroy();
  else t.close();
}

// Every socket a test opens is closed, whatever happens (a socket left
// reconnecting would keep the file from ending).
const opened = [];
function track(...sockets) { opened.push(...sockets); return sockets; }
after(() => { for (const s of opened) s.close(); });

describe('connection state recovery with socket.io-client', () => {
  test('each mapped event carries its pgcall event id; the pid is the user\'s', async () => {
    const [alice, bob] = track(client('r-alice', { transports: ['websocket'] }), client('r-bob', { transports: ['websocket'] }));
    await Promise.all([connected(alice), connected(bob)]);
    assert.equal(bob.recovered, false);
    assert.match(bob._pid, new RegExp(`^${tag('r-bob')}\\.\\d+$`));
    await online('r-alice', 'r-bob');
    const init = await alice.emitWithAck('initiateCall', { receiverId: 'r-bob', callType: 'audio' });
    await waitFor(() => names(bob).includes('incomingCall'), 'incomingCall');
    const [[, payload, offset]] = bob.seen;
    assert.equal(payload.callId, init.callId);
    assert.match(offset, /^\d+$/);
    const ev = psql(DB, `SELECT max(id) FROM pgcall.event WHERE type = 'call.incoming'`);
    assert.equal(offset, ev);
    assert.equal(bob._lastOffset, offset);
    // replies to one's own events are not events: no offset
    assert.deepEqual(alice.seen.find(([n]) => n === 'callInitiated').length, 2);
    alice.close();
    bob.close();
  });

  for (const transports of [['websocket'], ['polling'], undefined]) {
    test(`a cut transport (${transports ?? 'polling, then upgraded'}): recovered, the missed events once and in order, then live ones`, async () => {
      const caller = `rc-alice-${transports ?? 'default'}`;
      const callee = `rc-bob-${transports ?? 'default'}`;
      const [alice, bob] = track(client(caller, { transports }), client(callee, { transports }));
      await Promise.all([connected(alice), connected(bob)]);
      if (!transports) await waitFor(() => bob.io.engine.transport.name === 'websocket', 'the upgrade');
      await online(caller, callee);
      const { callId } = await alice.emitWithAck('initiateCall', { receiverId: callee, callType: 'video' });
      await waitFor(() => names(bob).includes('incomingCall'), 'incomingCall');
      assert.deepEqual(await bob.emitWithAck('acceptCall', { callId }), { callId });
      const firstPid = bob._pid;

      // bob stays away until alice is done (the reconnect is his own again below)
      const resumed = (await metrics(b))['pgcall_bridge_events_total{outcome="resumed"}'];
      bob.io.reconnection(false);
      const down = new Promise((resolve) => bob.once('disconnect', resolve));
      cut(bob);
      assert.match(await down, /^transport (close|error)$/);
      // while bob is away: an offer and ICE candidates for him
      const sent = [];
      await alice.emitWithAck('sendOffer', { to: callee, offer: { type: 'offer', sdp: 'v=0 n=0' }, callId });
      for (let n = 1; n <= 5; n++) {
        const candidate = { candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`, sdpMid: '0', sdpMLineIndex: 0 };
        await alice.emitWithAck('sendIceCandidate', { to: callee, candidate, callId });
        sent.push(candidate.candidate);
      }
      bob.io.reconnection(true);
      bob.connect();
      await waitFor(() => bob.connected, 'the reconnect', 15000);
      assert.equal(bob.recovered, true);
      // the offer and the five candidates came from the database, not live
      await waitFor(() => names(bob).filter((n) => n === 'receiveIceCandidate').length >= 5, 'the missed candidates');
      assert.ok((await metrics(b))['pgcall_bridge_events_total{outcome="resumed"}'] - resumed >= 6);
      assert.equal(bob._pid, firstPid);
      // live again: one more after the recovery
      await alice.emitWithAck('sendIceCandidate', { to: callee, candidate: { candidate: 'candidate:9 1 udp 1 127.0.0.1 5009 typ host', sdpMid: '0', sdpMLineIndex: 0 }, callId });
      sent.push('candidate:9 1 udp 1 127.0.0.1 5009 typ host');
      await waitFor(() => names(bob).filter((n) => n === 'receiveIceCandidate').length >= 6, 'all candidates');
      // nothing twice, nothing missed, in order, the offsets increasing
      assert.deepEqual(names(bob), ['incomingCall', 'callAcceptedConfirm', 'receiveOffer', ...Array(6).fill('receiveIceCandidate')]);
      assert.deepEqual(bob.seen.filter(([n]) => n === 'receiveIceCandidate').map(([, p]) => p.candidate.candidate), sent);
      // offsets on what pgcall events became; the reply to bob's own acceptCall has none
      assert.equal(bob.seen[1].length, 2);
      const offsets = bob.seen.filter((e) => e.length === 3).map((e) => Number(e[2]));
      assert.equal(offsets.length, 8);
      assert.deepEqual([...offsets].sort((x, y) => x - y), offsets);
      assert.equal(new Set(offsets).size, offsets.length);
      // and the socket works as before
      assert.deepEqual(await bob.emitWithAck('endCall', { callId }), { callId });
      await waitFor(() => names(alice).includes('callEnded'), 'callEnded');
      alice.close();
      bob.close();
    });
  }

  test('recovered after the bridge restarts: the state is the database\'s', async () => {
    const port = b.port;
    const [alice, bob] = track(client('rr-alice', { transports: ['websocket'] }),
      client('rr-bob', { transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 500 }));
    await Promise.all([connected(alice), connected(bob)]);
    await online('rr-alice', 'rr-bob');
    const { callId } = await alice.emitWithAck('initiateCall', { receiverId: 'rr-bob', callType: 'audio' });
    await waitFor(() => names(bob).includes('incomingCall'), 'incomingCall');
    await bob.emitWithAck('acceptCall', { callId });
    alice.close();
    await b.stop();
    // the caller ends the call through the database while no bridge runs
    asUser(DB, 'rr-alice', `SELECT pgcall.call_end('${callId}')`);
    b = await startBridge(DB, { port, args: ['--socketio-dialect', 'seed003'] });
    await waitFor(() => names(bob).includes('callEnded'), 'callEnded after the restart', 20000);
    assert.equal(bob.recovered, true);
    assert.deepEqual(names(bob), ['incomingCall', 'callAcceptedConfirm', 'callEnded']);
    bob.close();
  });
});

describe('recovery larger than the send queue', () => {
  for (const transports of [['polling'], ['websocket']]) {
    test(`${transports[0]}: paged as the client reads, every event once and in order`, async () => {
      // a bridge whose --send-queue holds a few of the missed events: the
      // resume waits for the client to read, then fetches on
      const small = await startBridge(DB, { args: ['--socketio-dialect', 'seed003', '--send-queue', '4096'] });
      try {
        const [alice, bob] = [`rq-alice-${transports[0]}`, `rq-bob-${transports[0]}`];
        const base = psql(DB, 'SELECT pgcall.bridge_event_horizon()');
        const callId = asUser(DB, alice, `SELECT pgcall.call_start(ARRAY['${bob}'], 'audio') #>> '{call,id}'`).split('\n').pop();
        asUser(DB, bob, `SELECT pgcall.call_accept('${callId}')`);
        const sent = [];
        for (let n = 0; n < 40; n++) {
          const candidate = `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host ${'x'.repeat(300)}`;
          asUser(DB, alice, `SELECT pgcall.call_signal('${callId}', '${bob}', 'candidate', '{"candidate": "${candidate}"}')`);
          sent.push(candidate);
        }
        const [s] = track(io(small.url, {
          auth: { token: userToken(bob), pid: `${tag(bob)}.${base}`, offset: base }, transports, reconnection: false, forceNew: true,
        }));
        s.seen = [];
        s.onAny((name, ...args) => s.seen.push([name, ...args]));
        await connected(s);
        await waitFor(() => names(s).filter((n) => n === 'receiveIceCandidate').length >= 40, 'the 40 missed candidates');
        assert.deepEqual(s.seen.filter(([n]) => n === 'receiveIceCandidate').map(([, p]) => p.candidate.candidate), sent);
        const offsets = s.seen.map((e) => Number(e[e.length - 1]));
        assert.deepEqual([...offsets].sort((x, y) => x - y), offsets);
        assert.equal(new Set(offsets).size, offsets.length);
        asUser(DB, alice, `SELECT pgcall.call_end('${callId}')`);
        s.close();
      } finally {
        await small.stop();
      }
    });
  }
});

// Raw Socket.IO over WebSocket: the CONNECT reply for a given auth.
async function connectWith(auth) {
  const ws = new WebSocket(`ws://127.0.0.1:${b.port}/socket.io/?EIO=4&transport=websocket`);
  const frames = [];
  ws.on('message', (d) => frames.push(d.toString()));
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
  ws.send(`40${JSON.stringify(auth)}`);
  const f = await waitFor(() => frames.find((x) => x.startsWith('40') || x.startsWith('44')), 'CONNECT reply');
  return { ws, frames, reply: f.startsWith('40') ? JSON.parse(f.slice(2)) : { error: JSON.parse(f.slice(2)) } };
}

describe('what is not recovered', () => {
  const top = () => Number(psql(DB, 'SELECT pgcall.bridge_event_horizon()'));

  test('a pid that is another user\'s, malformed, or an offset that is no event id: a new session', async () => {
    const t = userToken('nr-bob');
    // older than the cursor, so that a new session's pid differs
    const base = top() - 1;
    assert.ok(base > 0);
    for (const [pid, offset] of [[`${tag('nr-alice')}.${base}`, undefined], [`${tag('nr-alice')}.${base}`, String(base)],
      ['zz', undefined], [`${tag('nr-bob')}`, undefined], [`${tag('nr-bob')}.`, undefined], [`${tag('nr-bob')}.-1`, undefined],
      [`${tag('nr-bob')}.${'9'.repeat(17)}`, undefined], [`${tag('nr-bob')}.${base}`, '1e3'], [`${tag('nr-bob')}.${base}`, 5],
      [`${tag('nr-bob')}.${base}`, '9007199254740992'], [`${tag('nr-bob').toUpperCase()}.${base}`, undefined], [42, undefined]]) {
      const { ws, reply } = await connectWith({ token: t, pid, offset });
      assert.ok(reply.sid, JSON.stringify({ pid, offset, reply }));
      assert.notEqual(reply.pid, pid, JSON.stringify({ pid, offset }));
      assert.match(reply.pid, new RegExp(`^${tag('nr-bob')}\\.\\d+$`));
      ws.close();
    }
    // the user's own pid is recovered: the same pid back
    const pid = `${tag('nr-bob')}.${base}`;
    const ok = await connectWith({ token: t, pid });
    assert.equal(ok.reply.pid, pid);
    ok.ws.close();
  });

  test('events after the offset already purged (P410A): a new session, and new events only', async () => {
    const t = userToken('nr-carol');
    const base = top();
    psql(DB, `UPDATE pgcall.event_purged SET through_id = ${base}`);
    try {
      const { ws, reply } = await connectWith({ token: t, pid: `${tag('nr-carol')}.0`, offset: '0' });
      assert.ok(reply.sid);
      assert.notEqual(reply.pid, `${tag('nr-carol')}.0`);
      assert.ok(Number(reply.pid.split('.')[1]) >= base);
      ws.close();
    } finally {
      psql(DB, 'UPDATE pgcall.event_purged SET through_id = 0');
    }
  });

  test('a recovery still needs a valid token: no pid opens anything without one', async () => {
    const { ws, reply } = await connectWith({ pid: `${tag('nr-bob')}.1`, offset: '1' });
    assert.equal(reply.error.data.code, 'PGRST302');
    ws.close();
  });
});
