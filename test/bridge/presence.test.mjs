// Presence as events: presence_subscribe over the WebSocket, presence.changed
// to the followers the policy allows (never to others), and resume.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, createDatabase, ring, startBridge, userToken } from './lib.mjs';

const DB = createDatabase('bridge_presence');
let b;

before(async () => { b = await startBridge(DB); });
after(async () => { await b.stop(); });

const about = (user, online) => (m) => m.event === 'presence.changed' && m.data.user_id === user &&
  (online === undefined || m.data.online === online);

describe('presence.changed', () => {
  test('reaches a follower who shares a call, never one who does not; resumes', async () => {
    const alice = new Client(b, userToken('p-alice'));
    const carol = new Client(b, userToken('p-carol'));
    await Promise.all([alice.welcome(), carol.welcome()]);
    const snapA = await alice.ok('presence_subscribe', { user_ids: ['p-bob'] });
    const snapC = await carol.ok('presence_subscribe', { user_ids: ['p-bob'] });
    assert.deepEqual(snapA.presence, [{ user_id: 'p-bob', online: false, in_call: false, since: null }]);
    assert.deepEqual(snapC.presence, snapA.presence);
    assert.equal(typeof snapA.version, 'number');

    // alice rings bob (offline): she may see him now, and hears so.
    const call = await ring(alice, 'p-bob');
    const shared = await alice.event(about('p-bob'), 'bob visible to alice');
    assert.equal(shared.data.visible, true);
    assert.equal(shared.data.online, false);
    assert.ok(!('call_id' in shared), 'a presence event names no call');

    // bob signs in: alice hears it, with since.
    let bob = new Client(b, userToken('p-bob'));
    await bob.welcome();
    const on = await alice.event(about('p-bob', true), 'bob online');
    assert.equal(on.data.in_call, false);
    assert.ok(Date.parse(on.data.since) > 0);
    assert.ok(on.id > snapA.version);

    // bob answers: in a call.
    await bob.ok('call_accept', { call_id: call });
    assert.equal((await alice.event(about('p-bob'), 'bob in call')).data.in_call, true);

    // alice drops; bob leaves the call and signs out meanwhile.
    const seen = on.id;
    await alice.close();
    await bob.ok('call_leave', { call_id: call });
    await bob.close();

    // alice resumes after the last event she saw: the changes since, in order.
    const back = new Client(b, userToken('p-alice'), { after: seen });
    await back.welcome();
    const resumed = await back.event(about('p-bob', false), 'bob offline or hidden, resumed');
    assert.ok(resumed.id > seen);

    // carol, who shares nothing with bob, heard nothing of him at all: an
    // event of her own committed after all of bob's is the barrier (each
    // socket gets its events in id order).
    await ring(carol, 'p-zed');
    await carol.event((m) => m.event === 'call.started', 'carol\'s own event');
    assert.equal(carol.messages.filter(about('p-bob')).length, 0, 'carol never hears of bob');
    await Promise.all([back.close(), carol.close()]);
  });

  test('bad subscriptions are refused with the SQLSTATE and status', async () => {
    const c = new Client(b, userToken('p-dan'));
    await c.welcome();
    const many = await c.call('presence_subscribe', { user_ids: Array.from({ length: 1001 }, (_, i) => `u${i}`) });
    assert.equal(many.type, 'error');
    assert.equal(many.error.code, 'P400Y');
    assert.equal(many.status, 400);
    const empty = await c.call('presence_subscribe', { user_ids: [''] });
    assert.equal(empty.error.code, 'P400I');
    const nested = await c.call('presence_subscribe', { user_ids: [['a'], ['b']] });
    assert.equal(nested.error.code, 'P400Y', 'a two-dimensional array');
    const scalar = await c.call('presence_subscribe', { user_ids: 'p-bob' });
    assert.equal(scalar.type, 'error');
    assert.equal(scalar.status, 400, 'not an array at all');
    await c.close();
  });
});
