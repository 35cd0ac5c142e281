// Failover (test/suites/47-failover starts the clusters): a primary and an
// asynchronous streaming standby, a bridge connected through a multi-host
// connection string with target_session_attrs=read-write, and WebSocket
// clients.  The standby stops receiving WAL, so the primary's last events
// never reach it; then the primary dies (immediate stop) and the standby is
// promoted.  Every client, staying connected or resuming from its last event
// id, must get each event that committed on the new primary exactly once,
// nothing twice, and the new ids must be above every id seen before.
//
// Environment: FAILOVER_PRIMARY_PORT, FAILOVER_PRIMARY_DATA,
// FAILOVER_STANDBY_PORT, FAILOVER_STANDBY_DATA (clusters on 127.0.0.1),
// PGCALL_PG_CTL; PGHOST/PGPORT name the primary for lib.mjs's helpers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  AUTHENTICATOR, Client, createDatabase, http, metrics, ring, startBridge, userToken, waitFor,
} from './lib.mjs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const PRIMARY = { port: env('FAILOVER_PRIMARY_PORT'), data: env('FAILOVER_PRIMARY_DATA') };
const STANDBY = { port: env('FAILOVER_STANDBY_PORT'), data: env('FAILOVER_STANDBY_DATA') };
const DB = 'failover';
// Conditions are awaited, never timed; the deadlines only turn a hang into
// a failure (a loaded machine, a bridge backing off between attempts).
const LONG = 120000;

function sql(server, query, db = DB) {
  return execFileSync('psql', ['-X', '-h', '127.0.0.1', '-p', server.port, '-U', 'postgres', '-d', db,
    '-Atq', '-v', 'ON_ERROR_STOP=1', '-c', query], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function pgCtl(...args) {
  const bin = env('PGCALL_PG_CTL');
  const argv = process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--', bin, ...args] : [bin, ...args];
  execFileSync(argv[0], argv.slice(1), { stdio: 'ignore' });
}

const eventIds = (c) => c.seen.map((m) => m.id);
const signalNs = (c) => c.seen.filter((m) => m.event === 'call.signal').map((m) => m.data.payload.n);

// A client that records every event it receives, in order.
function recording(b, user, opts) {
  const c = new Client(b, userToken(user), opts);
  c.seen = [];
  c.ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.type === 'event') c.seen.push(m);
  });
  return c;
}

async function untilSignals(c, n, what) {
  await waitFor(() => signalNs(c).length >= n, `${what}: ${n} signals`, LONG);
}

// The events of user on server with an id above after, in id order.
function committed(server, user, after) {
  const out = sql(server, `SELECT id FROM pgcall.event WHERE recipients @> ARRAY['${user}'] AND id > ${after} ORDER BY id`);
  return out ? out.split('\n').map(Number) : [];
}

async function signal(from, call, to, start, n) {
  for (let i = 0; i < n; i++) {
    await from.ok('call_signal', { call_id: call, to_user: to, kind: 'candidate', payload: { n: start + i } });
  }
}

const outageMs = () => Number(process.env.FAILOVER_OUTAGE_MS ?? 0);
const range = (a, n) => Array.from({ length: n }, (_, i) => a + i);

describe('failover to a promoted asynchronous standby', () => {
  let b;
  let alice, bob, bobLost, bobKept, call;
  let lastKept, lastLost, maxSeen;
  const timing = {};

  before(async () => {
    createDatabase(DB);
    sql(PRIMARY, `ALTER DATABASE ${DB} SET pgcall.rate_limit_signals = 0`);
    const db = `host=127.0.0.1,127.0.0.1 port=${PRIMARY.port},${STANDBY.port} dbname=${DB} ` +
      `user=${AUTHENTICATOR} target_session_attrs=read-write connect_timeout=5`;
    b = await startBridge(DB, { args: ['--db', db, '--connect-timeout', '15000'] });
  });
  after(async () => { if (b) await b.stop(); });

  test('events before the outage reach the standby and every client', async () => {
    alice = recording(b, 'fo-alice');
    bob = recording(b, 'fo-bob');          // stays connected throughout
    bobLost = recording(b, 'fo-bob');      // leaves after events the standby never gets
    bobKept = recording(b, 'fo-bob');      // leaves after events the standby has
    await Promise.all([alice.welcome(), bob.welcome(), bobLost.welcome(), bobKept.welcome()]);
    call = await ring(alice, 'fo-bob');
    await signal(alice, call, 'fo-bob', 1, 20);
    for (const c of [bob, bobLost, bobKept]) await untilSignals(c, 20, 'before the outage');
    lastKept = Math.max(...eventIds(bobKept));
    await bobKept.close();
    // the standby has replayed all of it
    const lsn = sql(PRIMARY, 'SELECT pg_current_wal_lsn()');
    await waitFor(() => sql(STANDBY, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn`) === 't',
      'the standby to catch up', LONG);
    assert.ok(committed(STANDBY, 'fo-bob', 0).includes(lastKept), 'the standby has the event bobKept saw last');
  });

  test('events the standby never receives still reach the clients', async () => {
    // stop streaming: the standby keeps what it has and gets nothing more
    sql(STANDBY, "ALTER SYSTEM SET primary_conninfo = ''", 'postgres');
    sql(STANDBY, 'SELECT pg_reload_conf()', 'postgres');
    await waitFor(() => sql(STANDBY, 'SELECT count(*) FROM pg_stat_wal_receiver', 'postgres') === '0'
      && sql(PRIMARY, 'SELECT count(*) FROM pg_stat_replication', 'postgres') === '0',
    'streaming to stop', LONG);
    // more ids than the sequence logs ahead (32), so a standby's sequence
    // restarting where its WAL ends would hand out ids the clients saw
    await signal(alice, call, 'fo-bob', 21, 40);
    for (const c of [bob, bobLost]) await untilSignals(c, 60, 'the events the standby lacks');
    lastLost = Math.max(...eventIds(bobLost));
    await bobLost.close();
    maxSeen = Math.max(...[alice, bob, bobLost].flatMap(eventIds));
    assert.equal(committed(STANDBY, 'fo-bob', lastKept).length, 0, 'the standby lacks them');
    assert.ok(lastLost > lastKept);
  });

  test('the primary dies: /health says so; the standby is promoted and the bridge reconnects', async () => {
    pgCtl('-D', PRIMARY.data, '-m', 'immediate', '-w', 'stop');
    await waitFor(async () => (await http(b, 'GET', '/health')).status === 503, '/health to report the outage', LONG);
    const down = (await http(b, 'GET', '/health')).json;
    assert.equal(down.database === false || down.listener === false, true, JSON.stringify(down));
    const r = await bob.call('current_user_id');
    assert.equal(r.type, 'error', 'no database: calls fail');
    // bench/failover: how long the bridge takes to come back after a longer
    // outage (its back-off has grown by then); the test itself waits for nothing
    const outage = outageMs();
    if (outage > 0) await new Promise((r) => setTimeout(r, outage));
    const t0 = Date.now();
    pgCtl('-D', STANDBY.data, '-w', '-t', '120', 'promote');
    const t1 = Date.now();
    await waitFor(async () => (await http(b, 'GET', '/health')).status === 200, 'the bridge to be healthy again', LONG);
    timing.promoteMs = t1 - t0;
    timing.reconnectMs = Date.now() - t1;
    const m = await metrics(b);
    assert.ok(m.pgcall_bridge_listener_reconnects_total >= 1);
    assert.equal(sql(STANDBY, 'SELECT pg_is_in_recovery()'), 'f');
  });

  test('events on the new primary: each client gets every one exactly once, above every id seen', async () => {
    const kept = recording(b, 'fo-bob', { after: lastKept });
    const lost = recording(b, 'fo-bob', { after: lastLost });
    await Promise.all([kept.welcome(), lost.welcome()]);
    const before = bob.seen.length;
    await signal(alice, call, 'fo-bob', 101, 31);
    // a call made on the new primary, by sockets made there
    const carol = recording(b, 'fo-carol');
    const dave = recording(b, 'fo-dave');
    await Promise.all([carol.welcome(), dave.welcome()]);
    await ring(carol, 'fo-dave');
    await waitFor(() => dave.seen.some((m) => m.event === 'call.incoming'), 'dave to be rung', LONG);

    const onNew = committed(STANDBY, 'fo-bob', lastKept);
    assert.equal(onNew.length, 31, 'on the new primary after the kept id: call.signal 101..131 only');
    assert.ok(onNew.every((id) => id > maxSeen), `new ids ${onNew[0]}.. above every id seen (${maxSeen})`);
    assert.ok(onNew.every((id) => Number.isSafeInteger(id)));
    for (const [c, what] of [[bob, 'connected throughout'], [kept, 'resumed from the last replicated id'],
      [lost, 'resumed from an id the new primary never had']]) {
      const skip = c === bob ? before : 0;
      // the last one arriving means everything before it did (or was repeated)
      await waitFor(() => signalNs(c).includes(131), `${what}: signal 131`, LONG);
      assert.deepEqual(eventIds(c).slice(skip), onNew, `${what}: exactly the new primary's events after its id, in order`);
      assert.deepEqual(signalNs(c).slice(c === bob ? 60 : 0), range(101, 31), `${what}: signals 101..131`);
    }
    assert.deepEqual(signalNs(bob), [...range(1, 60), ...range(101, 31)], 'bob got everything once');
    assert.equal(new Set(eventIds(bob)).size, eventIds(bob).length, 'no id twice');
    const daveIds = eventIds(dave);
    assert.ok(daveIds.length > 0 && daveIds.every((id) => id > maxSeen), 'a new call\'s ids too');
    // the new primary's ids are in the epoch of its timeline
    const tl = Number.parseInt(sql(STANDBY, 'SELECT left(pg_walfile_name(pg_current_wal_lsn()), 8)'), 16);
    assert.ok(tl >= 2, `promotion started timeline ${tl}`);
    assert.ok(onNew.every((id) => Math.floor(id / 2 ** 40) === tl - 1), 'ids are (timeline - 1) * 2^40 + n');
    // HTTP through the reconnected pool
    const r = await http(b, 'POST', '/rpc/current_user_id', { token: userToken('fo-bob'), body: {} });
    assert.equal(r.status, 200);
    console.log(`# failover: outage ${outageMs()} ms, pg_ctl promote ${timing.promoteMs} ms, ` +
      `bridge healthy ${timing.reconnectMs} ms after it returned`);
    await Promise.all([alice, bob, kept, lost, carol, dave].map((c) => c.close()));
  });
});
