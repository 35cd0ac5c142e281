// The embedded bridge crashes (kill -SEGV) and nothing else does: a psql
// session opened before is still connected and usable, the postmaster did
// not restart, the supervisor runs the bridge again, and a WebSocket client
// that reconnects with ?after= gets every event, including those committed
// while no bridge ran.  Only with PGCALL_BRIDGE_MODE=embedded (48-embedded).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import {
  Client, asUser, createDatabase, http, psql, ring, startBridge, userToken, waitFor,
} from './lib.mjs';
import { EMBEDDED, embeddedPid } from './embedded.mjs';

// psql sessions left open by a failed test must not keep the file running
const sessions = new Set();
process.on('exit', () => { for (const p of sessions) p.kill('SIGKILL'); });
after(() => { for (const p of sessions) p.kill(); });

// A psql session kept open across the crash; query() sends one statement
// and resolves to its one output line.
class Session {
  constructor(db) {
    this.p = spawn('psql', ['-X', '-Atq', '-d', db], { stdio: ['pipe', 'pipe', 'pipe'] });
    sessions.add(this.p);
    this.buf = '';
    this.waiting = null;
    this.p.stdout.setEncoding('utf8');
    this.p.stdout.on('data', (d) => {
      this.buf += d;
      const i = this.buf.indexOf('\n');
      if (i >= 0 && this.waiting) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        const w = this.waiting;
        this.waiting = null;
        w(line);
      }
    });
    this.err = '';
    this.p.stderr.on('data', (d) => { this.err += d; });
  }

  query(sql) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${sql}; stderr: ${this.err}`)), 30000);
      this.waiting = (line) => { clearTimeout(timer); resolve(line); };
      this.p.stdin.write(`${sql};\n`);
    });
  }

  close() { this.p.stdin.end(); }
}

describe('a crash of the embedded bridge', { skip: !EMBEDDED && 'daemon mode' }, () => {
  let DB;
  let b;
  before(async () => {
    DB = createDatabase('bridge_embedded_crash');
    b = await startBridge(DB);
  });
  after(async () => { await b?.stop(); });

  const signals = (caller, callee, call, start, n) => {
    for (let i = 0; i < n; i++) {
      asUser(DB, caller, `SELECT pgcall.call_signal('${call}', '${callee}', 'candidate', '{"n": ${start + i}}')`);
    }
  };

  test('the embedded bridge answers /health, HTTP calls and WebSocket calls', async () => {
    assert.equal(b.embedded, true);
    const h = await http(b, 'GET', '/health');
    assert.equal(h.status, 200);
    const r = await http(b, 'POST', '/rpc/current_user_id', { body: {}, token: userToken('emb-http') });
    assert.equal(r.status, 200);
    assert.equal(r.json, 'emb-http');
    const c = new Client(b, userToken('emb-ws'));
    await c.welcome();
    assert.equal(await c.ok('current_user_id'), 'emb-ws');
    await c.close();
  });

  test('its process is not a postmaster child and its environment holds no secret', () => {
    const pid = embeddedPid();
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const supervisor = Number(psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pgcall bridge supervisor'"));
    assert.equal(ppid, supervisor, 'the supervisor is its parent');
    const postmaster = Number(fs.readFileSync(`${process.env.PGCALL_PGDATA}/postmaster.pid`, 'utf8').split('\n')[0]);
    assert.notEqual(ppid, postmaster);
    const secret = psql(DB, "SELECT value FROM pgcall.secret WHERE name = 'jwt_secret'");
    assert.ok(secret.length >= 32);
    for (const f of ['environ', 'cmdline']) {
      assert.ok(!fs.readFileSync(`/proc/${pid}/${f}`).includes(secret), `no secret in /proc/<pid>/${f}`);
    }
    assert.ok(!fs.readFileSync(process.env.PGCALL_PG_LOG).includes(secret), 'no secret in the log');
  });

  test('kill -SEGV: sessions survive, no postmaster restart, the bridge is back, no event lost', async () => {
    const session = new Session(DB);
    const before = (await session.query("SELECT pg_backend_pid() || ' ' || pg_postmaster_start_time()")).split(' ');
    const alice = new Client(b, userToken('crash-alice'));
    let bob = new Client(b, userToken('crash-bob'));
    await Promise.all([alice.welcome(), bob.welcome()]);
    const call = await ring(alice, 'crash-bob');
    await bob.event((m) => m.event === 'call.incoming');
    signals('crash-alice', 'crash-bob', call, 1, 5);
    let seen = 0;
    for (let n = 1; n <= 5; n++) {
      const e = await bob.event((m) => m.event === 'call.signal' && m.data.payload.n === n, `signal ${n}`);
      seen = e.id;
    }

    const doomed = embeddedPid();
    const closed = bob.closed;
    process.kill(doomed, 'SIGSEGV');
    const { code } = await closed;
    assert.equal(code, 1006, 'the socket died with the process');
    // events committed while no bridge serves
    signals('crash-alice', 'crash-bob', call, 6, 5);

    await waitFor(async () => {
      const pid = embeddedPid();
      return pid && pid !== doomed && (await http(b, 'GET', '/health').catch(() => ({}))).status === 200;
    }, 'the bridge to answer /health again', 60000);
    assert.match(b.log(), new RegExp(`embedded bridge \\(pid ${doomed}\\) was terminated by signal 11`));

    const afterCrash = (await session.query("SELECT pg_backend_pid() || ' ' || pg_postmaster_start_time()")).split(' ');
    assert.deepEqual(afterCrash, before, 'same backend, same postmaster start');
    assert.equal(await session.query('SELECT 40 + 2'), '42', 'the session is usable');
    session.close();
    assert.doesNotMatch(b.log(), /terminating any other active server processes|all server processes terminated/);

    bob = new Client(b, userToken('crash-bob'), { after: seen });
    await bob.welcome();
    signals('crash-alice', 'crash-bob', call, 11, 5);
    const got = [];
    while (got.length < 10) got.push((await bob.event((m) => m.event === 'call.signal')).data.payload.n);
    assert.deepEqual(got, [6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    assert.equal(bob.messages.filter((m) => m.type === 'event').length, 0, 'no duplicates');
    assert.equal(await bob.ok('current_user_id'), 'crash-bob');
    await Promise.all([alice.close(), bob.close()]);
  });

  test('a reload with changed settings restarts it; a bad option is refused and logged', async () => {
    const first = embeddedPid();
    psql('postgres', "ALTER SYSTEM SET pgcall.bridge_options = '--schemas pgcall,bridge_test --pool 2'");
    psql('postgres', 'SELECT pg_reload_conf()');
    await waitFor(async () => {
      const r = await http(b, 'GET', '/health').catch(() => ({}));
      return r.status === 200 && r.json.pool.size === 2;
    }, 'the bridge with --pool 2', 60000);
    assert.notEqual(embeddedPid(), first);
    assert.throws(() => psql('postgres', "ALTER SYSTEM SET pgcall.bridge_options = '--db host=elsewhere'"),
      /must not give --db/);
    assert.throws(() => psql('postgres', "ALTER SYSTEM SET pgcall.bridge_database = 'one, two'"),
      /names one database/);
    assert.throws(() => psql('postgres', "ALTER SYSTEM SET pgcall.bridge_options = '--pool ''3'"),
      /quote that is not closed/);
    assert.throws(() => psql('postgres', "ALTER SYSTEM SET pgcall.bridge_options = '--jwt-secret-file=/etc/passwd'"),
      /must not give --jwt-secret-file/);
  });

  test('options the bridge refuses are logged, and a reload that fixes them starts it', async () => {
    const refusedBefore = (b.log().match(/refused its configuration/g) ?? []).length;
    psql('postgres', "ALTER SYSTEM SET pgcall.bridge_options = '--schemas pgcall,bridge_test --pool 0'");
    psql('postgres', 'SELECT pg_reload_conf()');
    await waitFor(() => (b.log().match(/refused its configuration/g) ?? []).length > refusedBefore,
      'the supervisor to log the refusal', 60000);
    assert.match(b.log(), /"0" is not a number from 1 to 512/);
    psql('postgres', "ALTER SYSTEM SET pgcall.bridge_options = '--schemas pgcall,bridge_test --pool 3'");
    psql('postgres', 'SELECT pg_reload_conf()');
    await waitFor(async () => {
      const r = await http(b, 'GET', '/health').catch(() => ({}));
      return r.status === 200 && r.json.pool.size === 3;
    }, 'the bridge with --pool 3', 60000);
  });
});
