// Calls end to end over WebSockets, the way the seeds' mobile apps drive
// them: a 1:1 call with offer/answer/ICE through call_signal, and a group
// call with three clients.  Every rule is the database's; the bridge only
// carries calls and events.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, createDatabase, http, psql, startBridge, userToken } from './lib.mjs';

const DB = createDatabase('bridge_calls');
let b;
before(async () => { b = await startBridge(DB); });
after(async () => { await b.stop(); });

test('a 1:1 video call: start, incoming, accept, offer/answer/ICE, end, history', async () => {
  const alice = new Client(b, userToken('alice'));
  const bob = new Client(b, userToken('bob'));
  await Promise.all([alice.welcome(), bob.welcome()]);

  const started = await alice.ok('call_start', { invitees: ['bob'], type: 'video' });
  const callId = started.call.id;
  assert.equal(started.call.status, 'ringing');

  const incoming = await bob.event((m) => m.event === 'call.incoming');
  assert.equal(incoming.call_id, callId);
  assert.equal(incoming.call.media, 'video');

  await bob.ok('call_accept', { call_id: callId, device_id: 'bob-phone' });
  const accepted = await alice.event((m) => m.event === 'call.accepted');
  assert.equal(accepted.call_id, callId);

  const sdpOffer = { type: 'offer', sdp: 'v=0\r\no=alice 1 1 IN IP4 0.0.0.0\r\n' };
  await alice.ok('call_signal', { call_id: callId, to_user: 'bob', kind: 'offer', payload: sdpOffer });
  const offer = await bob.event((m) => m.event === 'call.signal' && m.data.kind === 'offer');
  assert.equal(offer.data.from, 'alice');
  assert.deepEqual(offer.data.payload, sdpOffer);

  await bob.ok('call_signal', { call_id: callId, to_user: 'alice', kind: 'answer', payload: { type: 'answer', sdp: 'v=0' } });
  assert.equal((await alice.event((m) => m.event === 'call.signal' && m.data.kind === 'answer')).data.from, 'bob');

  const candidate = { candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host', sdpMid: '0', sdpMLineIndex: 0 };
  await alice.ok('call_signal', { call_id: callId, to_user: 'bob', kind: 'candidate', payload: candidate });
  await bob.ok('call_signal', { call_id: callId, to_user: 'alice', kind: 'candidate', payload: candidate });
  assert.deepEqual((await bob.event((m) => m.data?.kind === 'candidate')).data.payload, candidate);
  assert.deepEqual((await alice.event((m) => m.data?.kind === 'candidate')).data.payload, candidate);

  // the database decides who may signal whom
  const carol = new Client(b, userToken('carol'));
  await carol.welcome();
  const intruder = await carol.call('call_signal', { call_id: callId, to_user: 'bob', kind: 'offer', payload: {} });
  assert.equal(intruder.type, 'error');
  assert.ok(intruder.status >= 400 && intruder.status < 500, JSON.stringify(intruder));

  await alice.ok('call_end', { call_id: callId });
  for (const c of [alice, bob]) {
    const ended = await c.event((m) => m.event === 'call.ended');
    assert.equal(ended.call_id, callId);
  }

  const history = await bob.ok('call_history', {});
  const entry = JSON.stringify(history);
  assert.match(entry, new RegExp(callId));
  await Promise.all([alice.close(), bob.close(), carol.close()]);
});

test('a group call with three clients', async () => {
  const host = new Client(b, userToken('g-host'));
  const ann = new Client(b, userToken('g-ann'));
  const ben = new Client(b, userToken('g-ben'));
  await Promise.all([host.welcome(), ann.welcome(), ben.welcome()]);

  const started = await host.ok('call_start', { invitees: ['g-ann', 'g-ben'], type: 'audio', is_group: true, room_id: 'room-7' });
  const callId = started.call.id;
  for (const c of [ann, ben]) assert.equal((await c.event((m) => m.event === 'call.incoming')).call_id, callId);

  await ann.ok('call_accept', { call_id: callId });
  await ben.ok('call_join', { call_id: callId });
  const joined = await host.event((m) => m.event === 'participant.joined' && m.data.user_id === 'g-ben');
  assert.equal(joined.call_id, callId);

  await ann.ok('call_set_media', { call_id: callId, mic_muted: true });
  const media = await ben.event((m) => m.event === 'participant.media');
  assert.equal(media.data.user_id, 'g-ann');

  await ben.ok('call_signal', { call_id: callId, to_user: 'g-ann', kind: 'offer', payload: { sdp: 'group' } });
  assert.equal((await ann.event((m) => m.event === 'call.signal')).data.from, 'g-ben');

  await ann.ok('call_leave', { call_id: callId });
  assert.equal((await host.event((m) => m.event === 'participant.left' && m.data.user_id === 'g-ann')).call_id, callId);

  await host.ok('call_end', { call_id: callId });
  for (const c of [host, ben]) assert.equal((await c.event((m) => m.event === 'call.ended')).call_id, callId);
  assert.equal((await ann.event((m) => m.event === 'call.ended')).call_id, callId);

  const got = await ben.ok('call_get', { call_id: callId });
  assert.equal(got.call?.status ?? got.status, 'ended');
  await Promise.all([host.close(), ann.close(), ben.close()]);
});

// What docs/protocol.md tells a client to do: hold the call with its
// version, ignore events up to it, apply the others (the call's own
// members, the participant upserted by user_id) and take their id.
function applyEvent(held, m) {
  if (held && m.id <= held.version) return held;
  const call = m.call?.participants ? { ...m.call } : { ...held, ...(m.call ?? {}) };
  if (m.participant) {
    const list = [...(call.participants ?? [])];
    const i = list.findIndex((p) => p.user_id === m.participant.user_id);
    if (i < 0) list.push(m.participant); else list[i] = m.participant;
    call.participants = list;
  }
  call.version = m.id;
  return call;
}

test('one event per change reaches every recipient, and its deltas rebuild call_get', async () => {
  const host = new Client(b, userToken('d-host'));
  const ann = new Client(b, userToken('d-ann'));
  const ben = new Client(b, userToken('d-ben'));
  await Promise.all([host.welcome(), ann.welcome(), ben.welcome()]);

  const started = await host.ok('call_start', { invitees: ['d-ann', 'd-ben'], type: 'audio', is_group: true });
  const callId = started.call.id;
  const rung = await Promise.all([ann, ben].map((c) => c.event((m) => m.event === 'call.incoming')));
  assert.equal(rung[0].id, rung[1].id, 'the two invitees share one call.incoming');
  assert.deepEqual(rung[0].call.participants.map((p) => p.user_id).sort(), ['d-ann', 'd-ben', 'd-host']);
  assert.equal(rung[0].version, rung[0].id);

  let held = applyEvent(null, rung[0]);
  await ann.ok('call_accept', { call_id: callId });
  await ben.ok('call_join', { call_id: callId });
  await ann.ok('call_set_media', { call_id: callId, mic_muted: true });
  const media = await Promise.all([host, ann, ben].map((c) => c.event((m) => m.event === 'participant.media')));
  assert.ok(media.every((m) => m.id === media[0].id), 'one event, fanned out to every socket');
  assert.equal(media[0].participant.user_id, 'd-ann');
  assert.equal(media[0].participant.mic_muted, true);
  assert.equal(media[0].call.participants, undefined, 'a delta, not the whole call');

  for (const m of ann.messages.filter((x) => x.type === 'event' && x.call_id === callId)) held = applyEvent(held, m);
  held = applyEvent(held, media[1]);
  const got = await ann.ok('call_get', { call_id: callId });
  assert.equal(got.version, media[1].id, "call_get's version is the call's last event");
  const byUser = (c) => ({ ...c, participants: [...c.participants].sort((x, y) => x.user_id.localeCompare(y.user_id)) });
  assert.deepEqual(byUser(held), byUser(got));
  // an event at or below the version held changes nothing
  assert.equal(applyEvent(got, rung[0]), got);
  await Promise.all([host.close(), ann.close(), ben.close()]);
});

test('a call of more than 50 people: short replies over HTTP and WebSocket, call_participants pages the list', async () => {
  const rpc = (sub, fn, body) => http(b, 'POST', `/rpc/${fn}`, { body, token: userToken(sub) });
  const created = await rpc('lc-host', 'conference_create', { title: 'Large', is_public: true, max_participants: 100 });
  assert.equal(created.status, 200, created.text);
  const callId = created.json.call.id;
  const joins = [];
  for (let i = 1; i <= 50; i++) joins.push(await rpc(`lc-${String(i).padStart(2, '0')}`, 'call_join', { call_id: callId }));
  assert.ok(joins.every((r) => r.status === 200), 'every join answered 200');
  assert.equal(joins[48].json.call.participants.length, 50, 'the 50th participant still gets the list');
  assert.equal(joins[48].json.participant, undefined);
  const big = joins[49].json;
  assert.equal(big.call.participants, undefined, 'the 51st does not');
  assert.equal(big.call.participant_count, 51);
  assert.equal(big.call.joined_count, 51);
  assert.equal(big.participant.user_id, 'lc-50');
  assert.equal(big.call.channel_id, `call-${callId}`);

  // Over a socket: the join's short reply, the event everyone gets, and the pages.
  const host = new Client(b, userToken('lc-host'));
  const late = new Client(b, userToken('lc-late'));
  await Promise.all([host.welcome(), late.welcome()]);
  const mine = await late.ok('call_join', { call_id: callId });
  assert.equal(mine.participant.status, 'joined');
  assert.equal(mine.call.joined_count, 52);
  const seen = await host.event((m) => m.event === 'participant.joined' && m.participant.user_id === 'lc-late');
  assert.ok(seen.id > 0 && seen.call.participants === undefined);
  const list = [];
  let after = null;
  let pages = 0;
  do {
    const page = await late.ok('call_participants', { call_id: callId, after, max: 20 });
    list.push(...page.participants);
    after = page.next;
    pages++;
  } while (after);
  assert.equal(pages, 3, '52 people in pages of 20');
  const whole = await late.ok('call_get', { call_id: callId });
  const ids = (ps) => ps.map((p) => p.user_id).sort();
  assert.deepEqual(ids(list), ids(whole.participants), 'the pages hold call_get\'s participants, once each');

  // Refusals, with their HTTP statuses.
  const bad = await rpc('lc-host', 'call_participants', { call_id: callId, max: 0 });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.code, 'P400P');
  const outsider = await rpc('lc-nobody', 'call_participants', { call_id: callId });
  assert.equal(outsider.status, 403);
  assert.equal(outsider.json.code, 'P403B');
  await Promise.all([host.close(), late.close()]);
});

test('a rate limit is 429 with Retry-After, the seconds the database says to wait', async () => {
  const RL = createDatabase('bridge_calls_rl');
  psql(RL, `ALTER DATABASE bridge_calls_rl SET pgcall.rate_limit_calls = 1`);
  const rb = await startBridge(RL);
  try {
    const rpc = (sub, fn, body) => http(rb, 'POST', `/rpc/${fn}`, { body, token: userToken(sub) });
    const first = await rpc('rl-alice', 'call_start', { invitees: ['rl-bob'], type: 'audio' });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.equal(first.headers.get('retry-after'), null);
    const second = await rpc('rl-alice', 'call_start', { invitees: ['rl-carol'], type: 'audio' });
    assert.equal(second.status, 429);
    assert.equal(second.json.code, 'P429A');
    assert.deepEqual(Object.keys(second.json).sort(), ['code', 'details', 'hint', 'message']);
    const wait = Number(/^Wait (\d+) seconds/.exec(second.json.hint)[1]);
    assert.ok(wait > 3000 && wait <= 3600, `an hour's window: ${wait}`);
    assert.equal(second.headers.get('retry-after'), String(wait));
  } finally {
    await rb.stop();
  }
});

// A socket's calls commit in the order they were sent: an offer and the ICE
// candidates sent right after it, without waiting for replies, reach the
// peer in that order (they ran on several pool connections at once before,
// and could commit the other way round).
test('calls sent back to back on one socket commit, and reach the peer, in the order sent', async () => {
  const alice = new Client(b, userToken('ord-alice'));
  const bob = new Client(b, userToken('ord-bob'));
  await Promise.all([alice.welcome(), bob.welcome()]);
  const callId = (await alice.ok('call_start', { invitees: ['ord-bob'], type: 'video' })).call.id;
  await bob.event((m) => m.event === 'call.incoming');
  await bob.ok('call_accept', { call_id: callId });
  for (let round = 0; round < 3; round++) {
    const n = 16;
    const replies = [];
    for (let i = 0; i < n; i++) {
      replies.push(alice.call('call_signal', { call_id: callId, to_user: 'ord-bob', kind: i === 0 ? 'offer' : 'candidate', payload: { round, i } }));
    }
    for (const r of await Promise.all(replies)) assert.equal(r.type, 'result', JSON.stringify(r));
    const got = [];
    for (let i = 0; i < n; i++) {
      got.push((await bob.event((m) => m.event === 'call.signal' && m.data.payload.round === round, `signal ${i} of round ${round}`)).data.payload.i);
    }
    assert.deepEqual(got, Array.from({ length: n }, (_, i) => i), `round ${round}`);
  }
  // and a 17th call while 16 wait is refused, as before: --ws-calls bounds them all
  const burst = Array.from({ length: 20 }, (_, i) => alice.call('call_get', { call_id: callId }));
  const kinds = (await Promise.all(burst)).map((r) => (r.type === 'result' ? 'ok' : r.status));
  assert.ok(kinds.filter((k) => k === 'ok').length >= 16, JSON.stringify(kinds));
  assert.ok(kinds.every((k) => k === 'ok' || k === 429), JSON.stringify(kinds));
  await alice.ok('call_end', { call_id: callId });
  alice.close();
  bob.close();
});
