// Webhooks end to end: deliveries written at commit, sent by the bridge to a
// receiver on loopback that checks every signature and misbehaves on purpose
// (5xx, no answer, reset connections, redirects, slow and huge bodies), a
// bridge killed and the database restarted mid-delivery, the per-endpoint
// concurrency limit, dead letters and replay, the address check at connect
// time, and the example receiver of test/webhook-receiver turning
// call.ring_offline / call.ring_stopped into pushes.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { createDatabase, psql, asUser, startBridge, waitFor, http as request, sign, userToken } from './lib.mjs';
import { createReceiver, verifySignature, pushFor } from '../webhook-receiver/receiver.mjs';
import { EMBEDDED } from './embedded.mjs';

const DB = 'pgcall_bridge_webhooks';

// A receiver that records every request and answers as mode(req) says.
function hostileReceiver() {
  const r = {
    requests: [],          // {path, id, attempt, event, body, signatureOk, headers}
    secrets: new Map(),    // path -> secret
    mode: () => 'ok',
    held: [],
    open: new Map(),       // path -> open now
    maxOpen: new Map(),
    port: 0,
  };
  r.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const path = req.url;
      const secret = r.secrets.get(path);
      const rec = {
        path, raw: raw.toString('utf8'), headers: req.headers,
        id: req.headers['pgcall-delivery'], attempt: Number(req.headers['pgcall-attempt']),
        event: req.headers['pgcall-event'],
        signatureOk: secret ? verifySignature(secret, req.headers['pgcall-signature'], raw) : false,
      };
      r.requests.push(rec);
      const n = (r.open.get(path) ?? 0) + 1;
      r.open.set(path, n);
      r.maxOpen.set(path, Math.max(n, r.maxOpen.get(path) ?? 0));
      res.on('close', () => r.open.set(path, r.open.get(path) - 1));
      const mode = r.mode(rec, r);
      switch (mode) {
        case 'ok': res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'); break;
        case '500': res.writeHead(500).end('broken on purpose'); break;
        case 'reset': req.socket.destroy(); break;
        case 'redirect': res.writeHead(302, { location: `http://127.0.0.1:${r.port}/redirected` }).end(); break;
        case 'hang': r.held.push(res); break;
        case 'slowbody': {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
          const iv = setInterval(() => { if (!res.write('x')) clearInterval(iv); }, 200);
          res.on('close', () => clearInterval(iv));
          break;
        }
        case 'huge': res.writeHead(200, { 'content-type': 'text/plain' }).end('y'.repeat(2 << 20)); break;
        case 'later': setTimeout(() => res.writeHead(200).end('ok'), 150); break;
        default: throw new Error(`unknown mode ${mode}`);
      }
    });
  });
  r.release = () => { for (const res of r.held.splice(0)) res.destroy(); };
  r.byId = (id) => r.requests.filter((q) => q.id === id);
  return r;
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function createEndpoint(url, extra = '') {
  return JSON.parse(psql(DB, `SELECT pgcall.webhook_endpoint_create('${url}'${extra})`));
}

function deliveries(where = 'true') {
  const out = psql(DB, `SELECT coalesce(json_agg(d ORDER BY d.id), '[]') FROM (
      SELECT id, endpoint_id, delivery_id, event_type, status, attempts, body
        FROM pgcall.webhook_delivery WHERE ${where}) d`);
  return JSON.parse(out);
}

// sql's result as user (asUser also prints what set_config returned)
function as(user, sql) {
  return asUser(DB, user, sql).split('\n').pop();
}

function offlineCall(caller, callee) {
  return JSON.parse(as(caller, `SELECT pgcall.call_start(ARRAY['${callee}'])`)).call.id;
}

function restartDatabase() {
  const data = `${process.env.PGCALL_INSTANCE_DIR}/data`;
  const bin = process.env.PGCALL_PG_CTL;
  const asPostgres = process.getuid() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  execFileSync(asPostgres[0] ?? bin, [...asPostgres.slice(1), ...(asPostgres.length ? [bin] : []),
    '-D', data, '-m', 'fast', '-w', 'restart'], { stdio: 'ignore' });
}

describe('webhooks', () => {
  let recv;
  let bridge;
  let main;          // the endpoint that wants everything

  before(async () => {
    createDatabase(DB);
    // short timings so retries happen within the test; the settings are
    // read when sessions start, so before any bridge connects
    psql(DB, `ALTER DATABASE ${DB} SET pgcall.webhook_allow_private = on;
      ALTER DATABASE ${DB} SET pgcall.webhook_timeout = '2s';
      ALTER DATABASE ${DB} SET pgcall.webhook_backoff_base = '50ms';
      ALTER DATABASE ${DB} SET pgcall.webhook_backoff_max = '1s';
      ALTER DATABASE ${DB} SET pgcall.webhook_max_attempts = 4;
      ALTER DATABASE ${DB} SET pgcall.webhook_response_max = 4096;
      ALTER DATABASE ${DB} SET pgcall.rate_limit_calls = 0`);
    recv = hostileReceiver();
    recv.port = await listen(recv.server);
    main = createEndpoint(`http://127.0.0.1:${recv.port}/all`);
    recv.secrets.set('/all', main.secret);
    assert.match(main.secret, /^whsec_[0-9a-f]{64}$/);
    bridge = await startBridge(DB, { args: ['--webhook-poll', '100'] });
  });

  after(async () => {
    recv?.release();
    await bridge?.stop();
    recv?.server.closeAllConnections();
    recv?.server.close();
  });

  test('over HTTP, a backend manages endpoints and an end user may not', async () => {
    const now = Math.floor(Date.now() / 1000);
    const backend = sign({ sub: 'app-server', role: 'pgcall_backend', exp: now + 600 });
    const list = await request(bridge, 'POST', '/rpc/webhook_endpoints', { body: {}, token: backend });
    assert.equal(list.status, 200);
    assert.ok(list.json.some((e) => e.id === main.id && e.secret_set === true && !('secret' in e)), 'listed, without its secret');
    const bad = await request(bridge, 'POST', '/rpc/webhook_endpoint_create', { body: { url: 'http://169.254.169.254/' }, token: backend });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'P400W');
    const user = await request(bridge, 'POST', '/rpc/webhook_endpoints', { body: {}, token: userToken('wh-nobody') });
    assert.equal(user.status, 403);
  });

  test('a hostile receiver gets every delivery at least once, signed, duplicates with the same id', async () => {
    const modes = ['500', 'hang', 'reset', 'redirect', 'slowbody', 'huge', 'ok'];
    const first = new Map();
    recv.mode = (q) => {
      if (q.path !== '/all') return 'ok';
      if (!first.has(q.id)) first.set(q.id, modes[first.size % modes.length]);
      return q.attempt === 1 ? first.get(q.id) : 'ok';
    };
    psql(DB, `INSERT INTO pgcall.profile VALUES ('wh-alice', 'Alice Webhook', 'https://example.com/a.png')`);
    const calls = [];
    for (let i = 0; i < 5; i++) calls.push(offlineCall('wh-alice', `wh-bob${i}`));
    asUser(DB, 'wh-bob0', `SELECT pgcall.call_accept('${calls[0]}')`);
    asUser(DB, 'wh-bob1', `SELECT pgcall.call_reject('${calls[1]}')`);
    asUser(DB, 'wh-alice', `SELECT pgcall.call_cancel('${calls[2]}')`);

    const rows = await waitFor(() => {
      const d = deliveries(`endpoint_id = ${main.id}`);
      return d.length > 0 && d.every((x) => x.status === 'delivered') && d;
    }, 'every delivery to be delivered', 60000);

    const types = new Set(rows.map((d) => d.event_type));
    for (const t of ['call.started', 'call.incoming', 'call.ring_offline', 'call.ring_stopped', 'call.accepted', 'call.cancelled'])
      assert.ok(types.has(t), `a ${t} delivery`);
    for (const d of rows) {
      const got = recv.byId(d.delivery_id);
      assert.ok(got.length >= 1, `delivery ${d.id} (${d.event_type}) reached the receiver`);
      for (const q of got) {
        assert.ok(q.signatureOk, `attempt ${q.attempt} of ${d.id} carries a valid signature`);
        assert.equal(q.raw, d.body, 'every attempt sends the same body');
        assert.equal(JSON.parse(q.raw).id, d.delivery_id, 'body.id is the idempotency id');
        assert.equal(q.event, d.event_type);
      }
      const mode = first.get(d.delivery_id);
      if (['500', 'hang', 'reset', 'redirect'].includes(mode))
        assert.ok(got.length >= 2 && d.attempts >= 2, `${mode} on the first attempt was retried (${d.id})`);
      if (['slowbody', 'huge', 'ok'].includes(mode))
        assert.equal(d.attempts, 1, `${mode}: a 2xx status delivered it at once`);
    }
    assert.equal(recv.requests.filter((q) => q.path === '/redirected').length, 0, 'redirects are not followed');

    // the delivery log says what happened to each failed first attempt
    const log = JSON.parse(psql(DB, `SELECT json_agg(json_build_object('id', d.delivery_id, 'status', a.http_status,
        'error', a.error)) FROM pgcall.webhook_delivery d JOIN pgcall.webhook_attempt a ON a.delivery_id = d.id
       WHERE a.attempt = 1 AND d.endpoint_id = ${main.id}`));
    const errorOf = (mode) => log.filter((a) => first.get(a.id) === mode);
    assert.ok(errorOf('500').every((a) => a.status === 500));
    assert.ok(errorOf('redirect').every((a) => a.status === 302 && /redirect/.test(a.error)));
    assert.ok(errorOf('hang').every((a) => a.status === null && /within 2000 ms/.test(a.error)));
    assert.ok(errorOf('reset').every((a) => a.status === null && a.error));
    assert.ok(errorOf('huge').every((a) => a.status === 200));

    // what a push needs is in the offline-ring event
    const ring = rows.find((d) => d.event_type === 'call.ring_offline' && JSON.parse(d.body).call.id === calls[0]);
    const body = JSON.parse(ring.body);
    assert.deepEqual(body.caller, { user_id: 'wh-alice', display_name: 'Alice Webhook', avatar_url: 'https://example.com/a.png' });
    assert.equal(body.callee.user_id, 'wh-bob0');
    assert.ok(body.callee.ring_deadline);
    assert.equal(body.call.media, 'audio');
    const stopped = rows.filter((d) => d.event_type === 'call.ring_stopped').map((d) => JSON.parse(d.body));
    assert.equal(stopped.find((b) => b.call.id === calls[0]).reason, 'answered');
    assert.equal(stopped.find((b) => b.call.id === calls[1]).reason, 'declined');
    assert.equal(stopped.find((b) => b.call.id === calls[2]).reason, 'cancelled');
  });

  test('nothing is lost when the bridge is killed mid-delivery', async () => {
    recv.mode = (q) => (q.path === '/all' && q.attempt === 1 ? 'hang' : 'ok');
    const before = recv.requests.length;
    offlineCall('wh-alice', 'wh-kill');
    const ids = await waitFor(() => {
      const d = deliveries(`endpoint_id = ${main.id} AND status <> 'delivered'`);
      return d.length === 3 && d;
    }, 'the new deliveries');
    await waitFor(() => recv.requests.length - before >= 1, 'a held request');
    await bridge.stop('SIGKILL');
    recv.release();
    bridge = await startBridge(DB, { args: ['--webhook-poll', '100'] });
    const done = await waitFor(() => {
      const d = deliveries(`id IN (${ids.map((x) => x.id).join(',')})`);
      return d.every((x) => x.status === 'delivered') && d;
    }, 'the deliveries to be delivered by the new bridge', 60000);
    for (const d of done) {
      const got = recv.byId(d.delivery_id);
      assert.ok(got.length >= 2, 'sent again, after the lease of the killed bridge ran out');
      assert.ok(got.every((q) => q.raw === d.body && q.signatureOk));
    }
  });

  // An embedded bridge restarts with PostgreSQL (and 48-embedded's cluster is
  // not the one PGCALL_INSTANCE_DIR names): the daemon runs cover this.
  test('nothing is lost when the database restarts mid-delivery',
    { skip: EMBEDDED && 'the embedded bridge restarts with the server' }, async () => {
    recv.mode = (q) => (q.path === '/all' && q.attempt === 1 ? 'hang' : 'ok');
    const before = recv.requests.length;
    offlineCall('wh-alice', 'wh-restart');
    const ids = deliveries(`endpoint_id = ${main.id} AND status <> 'delivered'`).map((d) => d.id);
    assert.equal(ids.length, 3);
    await waitFor(() => recv.requests.length - before >= 1, 'a held request');
    restartDatabase();
    recv.release();
    const done = await waitFor(() => {
      try {
        const d = deliveries(`id IN (${ids.join(',')})`);
        return d.every((x) => x.status === 'delivered') && d;
      } catch { return false; }
    }, 'the deliveries to be delivered after the restart', 60000);
    for (const d of done) assert.ok(recv.byId(d.delivery_id).length >= 1);
  });

  test('an endpoint never has more deliveries in flight than its max_concurrency', async () => {
    const slow = createEndpoint(`http://127.0.0.1:${recv.port}/slow`, `, ARRAY['call.incoming'], false, 2`);
    recv.secrets.set('/slow', slow.secret);
    recv.mode = (q) => (q.path === '/slow' ? 'later' : 'ok');
    for (let i = 0; i < 8; i++) offlineCall('wh-alice', `wh-slow${i}`);
    await waitFor(() => {
      const d = deliveries(`endpoint_id = ${slow.id}`);
      return d.length === 8 && d.every((x) => x.status === 'delivered');
    }, 'the slow endpoint to get all 8', 60000);
    assert.ok(recv.maxOpen.get('/slow') <= 2, `at most 2 at once (saw ${recv.maxOpen.get('/slow')})`);
    assert.ok(recv.byId && recv.requests.filter((q) => q.path === '/slow').every((q) => q.signatureOk));
    psql(DB, `SELECT pgcall.webhook_endpoint_update(${slow.id}, enabled => false)`);
  });

  test('after webhook_max_attempts a delivery is dead; replay sends it again with the same id', async () => {
    const bad = createEndpoint(`http://127.0.0.1:${recv.port}/bad`, `, ARRAY['call.ring_offline']`);
    recv.secrets.set('/bad', bad.secret);
    let healthy = false;
    recv.mode = (q) => (q.path === '/bad' && !healthy ? '500' : 'ok');
    offlineCall('wh-alice', 'wh-dead');
    const [dead] = await waitFor(() => {
      const d = deliveries(`endpoint_id = ${bad.id}`);
      return d.length === 1 && d[0].status === 'dead' && d;
    }, 'the delivery to be dead', 60000);
    assert.equal(dead.attempts, 4);
    const log = JSON.parse(psql(DB, `SELECT json_agg(a ORDER BY attempt) FROM pgcall.webhook_attempts(${dead.id}) a`));
    assert.deepEqual(log.map((a) => [a.attempt, a.http_status]), [[1, 500], [2, 500], [3, 500], [4, 500]]);
    assert.equal(JSON.parse(psql(DB, `SELECT e FROM pgcall.webhook_endpoints() e WHERE (e->>'id')::bigint = ${bad.id}`)).dead, 1);
    healthy = true;
    assert.equal(psql(DB, `SELECT pgcall.webhook_replay(${dead.id})`), 't');
    await waitFor(() => deliveries(`id = ${dead.id}`)[0].status === 'delivered', 'the replay to be delivered');
    const got = recv.byId(dead.delivery_id);
    assert.equal(got.length, 5, 'four failed attempts and the replay');
    assert.ok(got.every((q) => q.raw === dead.body && q.signatureOk));
    assert.deepEqual(got.map((q) => q.attempt), [1, 2, 3, 4, 5]);
    psql(DB, `SELECT pgcall.webhook_endpoint_delete(${bad.id})`);
  });

  test('a name that resolves to a loopback address is refused when connecting (DNS rebinding)', async () => {
    // the endpoint was allowed when it was created; the bridge's sessions
    // no longer allow private addresses, and localhost resolves to one
    await bridge.stop();
    const local = createEndpoint(`http://localhost:${recv.port}/dns`, `, ARRAY['call.ring_offline']`);
    psql(DB, `ALTER ROLE pgcall_authenticator IN DATABASE ${DB} SET pgcall.webhook_allow_private = off`);
    try {
      bridge = await startBridge(DB, { args: ['--webhook-poll', '100'] });
      offlineCall('wh-alice', 'wh-dns');
      const d = await waitFor(() => {
        const r = JSON.parse(psql(DB, `SELECT json_agg(a) FROM pgcall.webhook_delivery d,
            pgcall.webhook_attempts(d.id) a WHERE d.endpoint_id = ${local.id}`) || 'null');
        return r && r.length > 0 && r;
      }, 'an attempt at the localhost endpoint');
      assert.match(d[0].error, /localhost resolves to (127\.0\.0\.1|::1), an address webhooks may not use/);
      assert.equal(recv.requests.filter((q) => q.path === '/dns').length, 0);
    } finally {
      psql(DB, `SELECT pgcall.webhook_endpoint_delete(${local.id});
        ALTER ROLE pgcall_authenticator IN DATABASE ${DB} RESET pgcall.webhook_allow_private`);
      await bridge.stop();
      bridge = await startBridge(DB, { args: ['--webhook-poll', '100'] });
    }
  });

  test('a name that does not resolve fails the attempt without stalling the bridge', async () => {
    const nx = createEndpoint('http://no-such-host.invalid:9/x', `, ARRAY['call.ring_offline']`);
    try {
      offlineCall('wh-alice', 'wh-nx');
      const a = await waitFor(() => {
        const r = JSON.parse(psql(DB, `SELECT json_agg(a) FROM pgcall.webhook_delivery d,
            pgcall.webhook_attempts(d.id) a WHERE d.endpoint_id = ${nx.id}`) || 'null');
        return r && r;
      }, 'an attempt at the unresolvable endpoint');
      // no resolver here answers at once, or none answers before the timeout
      assert.match(a[0].error, /cannot resolve no-such-host\.invalid|no complete response within/);
      assert.equal(a[0].http_status, null);
      assert.equal((await fetch(`${bridge.url}/health`)).status, 200, 'the bridge still serves');
    } finally {
      psql(DB, `SELECT pgcall.webhook_endpoint_delete(${nx.id})`);
    }
  });

  test('the example receiver turns an offline ring into a push and stops it when answered', async () => {
    const pushes = [];
    let secret;
    const app = createReceiver({
      secret: () => secret,
      push: async (to, notification) => { pushes.push({ to, ...notification }); },
    });
    const port = await listen(app);
    try {
      const ep = createEndpoint(`http://127.0.0.1:${port}/pgcall`,
        `, ARRAY['call.ring_offline', 'call.ring_stopped'], true`);
      secret = ep.secret;
      psql(DB, `INSERT INTO pgcall.profile VALUES ('app-carol', 'Carol', 'https://example.com/c.png')`);
      const call = JSON.parse(as('app-carol', `SELECT pgcall.call_start(ARRAY['app-dan'], 'video')`)).call.id;
      await waitFor(() => pushes.length === 1, 'the incoming-call push');
      assert.equal(pushes[0].to, 'app-dan');
      assert.equal(pushes[0].kind, 'incoming_call');
      assert.equal(pushes[0].call_id, call);
      assert.equal(pushes[0].media, 'video');
      assert.equal(pushes[0].caller_name, 'Carol');
      assert.equal(pushes[0].caller_avatar, 'https://example.com/c.png');
      asUser(DB, 'app-dan', `SELECT pgcall.call_accept('${call}')`);
      await waitFor(() => pushes.length === 2, 'the stop-ringing push');
      assert.deepEqual(pushes[1], { to: 'app-dan', kind: 'call_ended_ringing', call_id: call, reason: 'answered' });
      await waitFor(() => deliveries(`endpoint_id = ${ep.id}`).every((d) => d.status === 'delivered'), 'both acknowledged');

      // a forged or stale signature is refused, and pgcall would retry
      const body = JSON.stringify({ id: 'x', type: 'call.ring_offline' });
      const t = Math.floor(Date.now() / 1000);
      const r = await fetch(`http://127.0.0.1:${port}/pgcall`, { method: 'POST', body,
        headers: { 'pgcall-signature': `t=${t},v1=${'0'.repeat(64)}` } });
      assert.equal(r.status, 400);
      const crypto = await import('node:crypto');
      const sig = (ts) => crypto.createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex');
      assert.ok(verifySignature(secret, `t=${t},v1=${sig(t)}`, body));
      assert.ok(!verifySignature(secret, `t=${t - 301},v1=${sig(t - 301)}`, body), 'outside the tolerance window');
      assert.ok(verifySignature(secret, `t=${t},v1=${'1'.repeat(64)},v1=${sig(t)}`, body), 'any v1 may match');
      assert.equal(pushFor({ type: 'call.accepted' }), null);
    } finally {
      app.closeAllConnections();
      app.close();
    }
  });
});
