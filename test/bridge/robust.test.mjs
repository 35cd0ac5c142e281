// Robustness: the listener killed or the database restarted mid-stream
// with no event lost, two bridges on one database, graceful SIGTERM.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  Client, asUser, createDatabase, http, metrics, psql, ring, startBridge, userToken, waitFor,
} from './lib.mjs';
import { EMBEDDED } from './embedded.mjs';

const DB = createDatabase('bridge_robust');

// n signals from caller to callee in one transaction each, numbered from start.
function signals(caller, callee, call, start, n) {
  for (let i = 0; i < n; i++) {
    asUser(DB, caller, `SELECT pgcall.call_signal('${call}', '${callee}', 'candidate', '{"n": ${start + i}}')`);
  }
}

async function collect(client, count) {
  const got = [];
  while (got.length < count) got.push((await client.event((m) => m.event === 'call.signal')).data.payload.n);
  return got;
}

const range = (a, n) => Array.from({ length: n }, (_, i) => a + i);

describe('the database goes away', () => {
  let b;
  before(async () => { b = await startBridge(DB); });
  after(async () => { await b.stop(); });

  test('pg_terminate_backend on the listener loses no event', async () => {
    const alice = new Client(b, userToken('kill-alice'));
    const bob = new Client(b, userToken('kill-bob'));
    await Promise.all([alice.welcome(), bob.welcome()]);
    const call = await ring(alice, 'kill-bob');
    await bob.event((m) => m.event === 'call.incoming');
    const before = (await metrics(b)).pgcall_bridge_listener_reconnects_total;
    signals('kill-alice', 'kill-bob', call, 1, 10);
    const killed = psql(DB, `SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE application_name LIKE 'pgcall-bridge listener%' AND datname = '${DB}') t`);
    assert.equal(killed, '1');
    signals('kill-alice', 'kill-bob', call, 11, 10);
    await waitFor(async () => (await metrics(b)).pgcall_bridge_listener_reconnects_total > before, 'the listener to reconnect');
    signals('kill-alice', 'kill-bob', call, 21, 10);
    assert.deepEqual(await collect(bob, 30), range(1, 30));
    assert.equal(bob.messages.filter((m) => m.type === 'event').length, 0, 'no duplicates');
    await Promise.all([alice.close(), bob.close()]);
  });

  // An embedded bridge restarts with PostgreSQL, so its sockets cannot stay open.
  test('a database restart mid-stream loses no event, and sockets stay open',
    { skip: EMBEDDED && 'the embedded bridge restarts with the server' }, async () => {
    const alice = new Client(b, userToken('rst-alice'));
    const bob = new Client(b, userToken('rst-bob'));
    await Promise.all([alice.welcome(), bob.welcome()]);
    const call = await ring(alice, 'rst-bob');
    await bob.event((m) => m.event === 'call.incoming');
    signals('rst-alice', 'rst-bob', call, 1, 10);
    const data = `${process.env.PGCALL_INSTANCE_DIR}/data`;
    const bin = process.env.PGCALL_PG_CTL;
    const asPostgres = process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
    execFileSync(asPostgres[0] ?? bin, [...asPostgres.slice(1), ...(asPostgres.length ? [bin] : []),
      '-D', data, '-m', 'fast', '-w', 'restart'], { stdio: 'ignore' });
    signals('rst-alice', 'rst-bob', call, 11, 10);
    await waitFor(async () => (await http(b, 'GET', '/health')).status === 200, 'the bridge to be healthy again');
    signals('rst-alice', 'rst-bob', call, 21, 10);
    assert.deepEqual(await collect(bob, 30), range(1, 30));
    assert.equal(await bob.ok('current_user_id'), 'rst-bob', 'calls work on the same socket');
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('two bridges', () => {
  test('clients on different bridges call each other; presence counts both', async () => {
    const one = await startBridge(DB);
    const two = await startBridge(DB);
    try {
      const alice = new Client(one, userToken('two-alice'));
      const bob = new Client(two, userToken('two-bob'));
      const bob2 = new Client(one, userToken('two-bob'));
      const [wa, wb] = await Promise.all([alice.welcome(), bob.welcome(), bob2.welcome()]);
      assert.notEqual(wa.bridge, wb.bridge);
      await waitFor(() => psql(DB, "SELECT count(DISTINCT bridge_id) FROM pgcall.presence WHERE user_id = 'two-bob'") === '2', 'bob on both bridges');
      const call = await ring(alice, 'two-bob');
      for (const dev of [bob, bob2]) assert.equal((await dev.event((m) => m.event === 'call.incoming')).call_id, call);
      await bob.ok('call_accept', { call_id: call, device_id: 'bob-phone' });
      assert.equal((await alice.event((m) => m.event === 'call.accepted')).call_id, call);
      await bob.ok('call_signal', { call_id: call, to_user: 'two-alice', kind: 'answer', payload: { sdp: 'v=0' } });
      assert.equal((await alice.event((m) => m.event === 'call.signal')).data.payload.sdp, 'v=0');
      await Promise.all([alice.close(), bob.close(), bob2.close()]);
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
  });

  test('a bridge that dies stops counting: its heartbeat ends', async () => {
    const doomed = await startBridge(DB);
    const c = new Client(doomed, userToken('doomed-user'));
    await c.welcome();
    const online = () => psql(DB, "SET pgcall.presence_timeout = 5; SELECT online FROM pgcall.presence(ARRAY['doomed-user'])");
    await waitFor(() => online() === 't', 'online');
    await doomed.stop('SIGKILL');
    await waitFor(() => online() === 'f', 'offline once the heartbeat is stale');
  });
});

describe('retention', () => {
  test('the bridge runs pgcall.purge() on its timer, batch after batch, until nothing is due', async () => {
    const db = createDatabase('bridge_purge');
    // Twelve events, eleven of them older than a one-minute retention.
    for (let i = 0; i < 6; i++) asUser(db, `old-${i}`, `SELECT pgcall.call_start(ARRAY['peer-${i}'])`);
    psql(db, `UPDATE pgcall.event SET created_at = now() - interval '2 minutes'
               WHERE id < (SELECT max(id) FROM pgcall.event)`);
    psql(db, `ALTER DATABASE bridge_purge SET pgcall.event_retention = 60`);
    const b = await startBridge(db, { args: ['--purge-interval', '300', '--purge-batch', '4'] });
    try {
      await waitFor(() => psql(db, 'SELECT count(*) FROM pgcall.event') === '1', 'expired events purged');
      assert.equal(psql(db, 'SELECT through_id = (SELECT max(id) - 1 FROM pgcall.event) FROM pgcall.event_purged'), 't',
        'the purge horizon is the last purged id');
      const m = await metrics(b);
      assert.ok(m.pgcall_bridge_purge_runs_total >= 3, 'eleven rows in batches of four take three runs');
      assert.equal(m.pgcall_bridge_purge_errors_total, 0);
    } finally {
      await b.stop();
    }
  });
});

describe('SIGTERM', () => {
  test('sockets get 1001, a request in flight finishes, the bridge unregisters', async () => {
    const b = await startBridge(DB);
    const c = new Client(b, userToken('term-user'));
    const w = await c.welcome();
    await waitFor(() => psql(DB, `SELECT count(*) FROM pgcall.bridge WHERE id = '${w.bridge}'`) === '1', 'registered');
    const slow = http(b, 'POST', '/rpc/sleep', { body: { seconds: 1 }, headers: { 'Content-Profile': 'bridge_test' } });
    await waitFor(async () => (await metrics(b)).pgcall_bridge_http_in_flight === 1, 'the request to be in flight');
    b.proc.kill('SIGTERM');
    const closed = await c.closed;
    assert.equal(closed.code, 1001);
    const r = await slow;
    assert.equal(r.status, 200);
    const { code } = await b.exited;
    assert.equal(code, 0);
    assert.equal(psql(DB, `SELECT count(*) FROM pgcall.bridge WHERE id = '${w.bridge}'`), '0');
    assert.match(b.log(), /shutting down/);
  });

  test('a client that ignores the close does not hold the bridge past the grace', async () => {
    const b = await startBridge(DB, { args: ['--shutdown-grace', '300'] });
    const net = await import('node:net');
    const sock = net.connect(b.port, '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    sock.write(`GET /ws?token=${userToken('stubborn')} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await new Promise((r) => sock.once('data', r));
    sock.pause();
    b.proc.kill('SIGTERM');
    const { code } = await b.exited;
    assert.equal(code, 0);
    sock.destroy();
  });
});

describe('logs', () => {
  test('no token or secret ever reaches the log', async () => {
    const b = await startBridge(DB, { args: ['--log-level', 'debug'] });
    const token = userToken('log-user');
    const c = new Client(b, token);
    await c.welcome();
    await c.close();
    await http(b, 'POST', '/rpc/whoami', { body: {}, token, headers: { 'Content-Profile': 'bridge_test' } });
    await http(b, 'GET', `/rpc/nope?token=${token}`, { token: token.slice(0, -2) + 'xx' });
    await b.stop();
    const log = b.log();
    const { SECRET } = await import('./lib.mjs');
    for (const part of token.split('.')) assert.ok(!log.includes(part), 'no part of a token');
    assert.ok(!log.includes(SECRET), 'no secret');
  });
});
