// Participants who drop (seed 001's participant_disconnected): real
// WebSockets through the bridge, whose sweep announces a participant whose
// sockets all closed after pgcall.disconnect_grace, their return, and past
// pgcall.disconnect_leave_after their leaving (reached here by dating the
// record back, not by waiting).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, createDatabase, metrics, psql, ring, startBridge, userToken, waitFor } from './lib.mjs';

const DB = createDatabase('bridge_disconnect');
let b;

before(async () => {
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.disconnect_grace = 1`);
  psql(DB, `ALTER DATABASE ${DB} SET pgcall.disconnect_leave_after = 3600`);
  b = await startBridge(DB);
});
after(async () => { await b.stop(); });

const of = (type, user) => (m) => m.event === type && m.data.user_id === user;
const records = (user) => Number(psql(DB, `SELECT count(*) FROM pgcall.participant_disconnect WHERE user_id = '${user}'`));

describe('participant.disconnected', () => {
  test('the others hear of a drop after the grace, of the return, and of the leave', async () => {
    const alice = new Client(b, userToken('d-alice'));
    let bob = new Client(b, userToken('d-bob'));
    await Promise.all([alice.welcome(), bob.welcome()]);
    const call = await ring(alice, 'd-bob');
    await bob.ok('call_accept', { call_id: call });
    await alice.event((m) => m.event === 'call.accepted', 'accepted');

    // bob's only socket closes: alice hears it once the grace passed.
    await bob.close();
    const gone = await alice.event(of('participant.disconnected', 'd-bob'), 'bob disconnected');
    assert.equal(gone.call_id, call);
    assert.equal(gone.participant.user_id, 'd-bob');
    assert.equal(gone.participant.status, 'joined', 'still in the call');
    const since = Date.parse(gone.data.since);
    assert.ok(since > 0 && since <= Date.parse(gone.at) - 1000, 'at least the grace after he went');

    // He comes back: alice hears that too; the record is gone.
    bob = new Client(b, userToken('d-bob'));
    await bob.welcome();
    const back = await alice.event(of('participant.reconnected', 'd-bob'), 'bob reconnected');
    assert.ok(back.id > gone.id);
    assert.equal(back.data.since, gone.data.since);
    await waitFor(() => records('d-bob') === 0, 'the record dropped');

    // Away again, and for longer than leave_after: he leaves, the call ends.
    await bob.close();
    await waitFor(() => records('d-bob') === 1, 'the drop recorded');
    psql(DB, `UPDATE pgcall.participant_disconnect SET since = now() - interval '2 hours' WHERE user_id = 'd-bob'`);
    const left = await alice.event(of('participant.left', 'd-bob'), 'bob left');
    assert.equal(left.data.reason, 'disconnected');
    const ended = await alice.event((m) => m.event === 'call.ended', 'call ended');
    assert.equal(ended.data.by, 'd-bob');
    assert.equal(ended.call.status, 'ended');
    assert.equal(alice.messages.filter(of('participant.disconnected', 'd-bob')).length, 1,
      'the second drop was announced once, before the leave');
    assert.equal(records('d-bob'), 0);

    // bob, back after all that, finds the call ended on resume.
    bob = new Client(b, userToken('d-bob'), { after: back.id });
    await bob.welcome();
    const mine = await bob.event((m) => m.event === 'call.ended', 'bob resumes the end');
    assert.equal(mine.call_id, call);
    await Promise.all([alice.close(), bob.close()]);
  });

  test('the sweep runs on the bridge and its runs are counted', async () => {
    const m0 = await metrics(b);
    await waitFor(async () => (await metrics(b)).pgcall_bridge_disconnect_sweep_runs_total >
      m0.pgcall_bridge_disconnect_sweep_runs_total, 'another sweep');
    assert.equal((await metrics(b)).pgcall_bridge_disconnect_sweep_errors_total, 0);
  });
});
