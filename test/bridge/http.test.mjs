// HTTP: PostgREST conventions of POST/GET /rpc/<fn>, status mapping, JWT
// refusals, request limits, health, metrics and static files.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  createDatabase, http, metrics, psql, rawHttp, sequentialHttp, sign, startBridge, userToken, waitFor, ARTIFACTS_DIR,
} from './lib.mjs';

const DB = createDatabase('bridge_http');
const webRoot = fs.mkdtempSync(path.join(ARTIFACTS_DIR, 'web-'));
fs.writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>pgcall</title>');
fs.mkdirSync(path.join(webRoot, 'js'));
fs.writeFileSync(path.join(webRoot, 'js', 'app.js'), 'console.log(1)');
fs.writeFileSync(path.join(path.dirname(webRoot), 'outside.txt'), 'secret');
fs.symlinkSync(path.join(path.dirname(webRoot), 'outside.txt'), path.join(webRoot, 'link.txt'));

let b;
const T = { 'Content-Profile': 'bridge_test' };
const TG = { 'Accept-Profile': 'bridge_test' };

before(async () => {
  b = await startBridge(DB, { args: ['--web-root', webRoot, '--max-body', '4096', '--jwt-aud', 'pgcall-tests'] });
});
after(async () => { await b.stop(); });

async function raise(code, token) {
  return http(b, 'POST', '/rpc/raise', { body: { code }, headers: T, token });
}

describe('results', () => {
  test('scalar result is bare JSON with 200', async () => {
    const r = await http(b, 'POST', '/rpc/echo', { body: { a: 'x', b: 2 }, headers: T });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(r.json, { a: 'x', b: 2, c: null, d: null });
  });

  test('set-returning function gives an array and a Content-Range', async () => {
    const r = await http(b, 'POST', '/rpc/numbers', { body: { n: 3 }, headers: T });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, [1, 2, 3]);
    assert.equal(r.headers.get('content-range'), '0-2/*');
  });

  test('Prefer: count=exact puts the total in Content-Range', async () => {
    const r = await http(b, 'POST', '/rpc/numbers', { body: { n: 4 }, headers: { ...T, Prefer: 'count=exact' } });
    assert.equal(r.headers.get('content-range'), '0-3/4');
    assert.equal(r.status, 200);
  });

  test('a Range that leaves rows out, with a known total, is 206 Partial Content (as PostgREST)', async () => {
    const part = await http(b, 'POST', '/rpc/numbers', {
      body: { n: 5 }, headers: { ...T, Prefer: 'count=exact', Range: '1-2' },
    });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), '1-2/5');
    assert.equal(part.json.length, 2);
    const all = await http(b, 'POST', '/rpc/numbers', {
      body: { n: 5 }, headers: { ...T, Prefer: 'count=exact', Range: '0-9' },
    });
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('content-range'), '0-4/5');
    const unknown = await http(b, 'POST', '/rpc/numbers', { body: { n: 5 }, headers: { ...T, Range: '1-2' } });
    assert.equal(unknown.status, 200, 'without a count the total is unknown: 200');
  });

  test('void is 204 without a body', async () => {
    const r = await http(b, 'POST', '/rpc/nothing', { body: {}, headers: T });
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
  });

  test('an empty POST body means no arguments', async () => {
    const r = await http(b, 'POST', '/rpc/echo', { body: '', headers: { ...T, 'Content-Type': 'application/json' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { a: null, b: null, c: null, d: null });
  });

  test('GET passes query arguments as strings; repeated keys become an array literal', async () => {
    const r = await http(b, 'GET', '/rpc/echo?a=h%C3%A9llo%20%26x&b=7&d=one&d=two%2Cthree', { headers: TG });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { a: 'héllo &x', b: 7, c: null, d: ['one', 'two,three'] });
  });

  test('GET runs read-only: a write is 405 (25006)', async () => {
    const r = await http(b, 'GET', '/rpc/write', { headers: TG });
    assert.equal(r.status, 405);
    assert.equal(r.json.code, '25006');
    const w = await http(b, 'POST', '/rpc/write', { body: {}, headers: T });
    assert.equal(w.status, 200);
  });

  test('HEAD answers headers only', async () => {
    const r = await http(b, 'HEAD', '/rpc/numbers?n=2', { headers: TG });
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.equal(r.headers.get('content-range'), '0-1/*');
  });

  test('Accept: application/vnd.pgrst.object+json asks for one object', async () => {
    const r = await http(b, 'POST', '/rpc/pair', {
      body: { x: 5 }, headers: { ...T, Accept: 'application/vnd.pgrst.object+json' },
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { x: 5, y: 'y5' });
    assert.match(r.headers.get('content-type'), /vnd\.pgrst\.object\+json/);
  });

  test('large bodies are written in pieces', async () => {
    const r = await http(b, 'POST', '/rpc/big', { body: { n: 300000 }, headers: T });
    assert.equal(r.status, 200);
    assert.equal(r.json.length, 300000);
  });

  test('keep-alive: one connection serves several requests in turn', async () => {
    const post = (a) => `POST /rpc/echo HTTP/1.1\r\nHost: x\r\nContent-Profile: bridge_test\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"a":"${a}"}`;
    const replies = await sequentialHttp(b.port, [post(1), post(2),
      'GET /rpc/echo?a=3 HTTP/1.1\r\nHost: x\r\nAccept-Profile: bridge_test\r\n\r\n']);
    assert.equal(replies.length, 3);
    replies.forEach((r, i) => {
      assert.match(r, /^HTTP\/1\.1 200/);
      assert.match(r, new RegExp(`"a": "${i + 1}"`));
    });
  });
});

describe('schemas', () => {
  test('the default schema is the first exposed one', async () => {
    const r = await http(b, 'POST', '/rpc/current_user_id', { body: {} });
    assert.equal(r.status, 200);
    assert.equal(r.json, null);
  });

  test('an unknown profile is 406 PGRST106', async () => {
    const r = await http(b, 'POST', '/rpc/echo', { body: {}, headers: { 'Content-Profile': 'public' } });
    assert.equal(r.status, 406);
    assert.equal(r.json.code, 'PGRST106');
    const g = await http(b, 'GET', '/rpc/echo', { headers: { 'Accept-Profile': 'pg_catalog' } });
    assert.equal(g.status, 406);
  });

  test('a function of a schema that is not named is not found', async () => {
    const r = await http(b, 'POST', '/rpc/echo', { body: {} });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'PGRST202');
  });
});

describe('errors', () => {
  test('an unknown function is 404 PGRST202 with a PostgREST error body', async () => {
    const r = await http(b, 'POST', '/rpc/no_such_function', { body: {}, headers: T });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'PGRST202');
    assert.deepEqual(Object.keys(r.json).sort(), ['code', 'details', 'hint', 'message']);
  });

  test('bad JSON is 400 with the cast error', async () => {
    const r = await http(b, 'POST', '/rpc/echo', { body: '{"a": ', headers: { ...T, 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, '22P02');
    assert.match(r.json.message, /json/i);
  });

  // PostgREST's table, plus pgcall's P<status><letter> and PostgREST's PTxyz.
  const table = [
    ['08000', 503], ['08006', 503], ['0L000', 403], ['0P000', 403], ['28000', 403], ['28P01', 403],
    ['23503', 409], ['23505', 409], ['25006', 405], ['42883', 404], ['42P01', 404],
    ['P0001', 400], ['53000', 503], ['53100', 503], ['P0002', 500], ['XX000', 500], ['40001', 500],
    ['54000', 500], ['55000', 500], ['57014', 500], ['58000', 500], ['22023', 400], ['23514', 400],
    ['P404A', 404], ['P409C', 409], ['P503A', 503], ['P429A', 429], ['P400A', 400], ['P4010', 401],
    ['PT418', 418], ['PT302', 302], ['PT201', 201],
  ];
  for (const [code, status] of table) {
    test(`SQLSTATE ${code} answers ${status}`, async () => {
      const r = await raise(code);
      assert.equal(r.status, status);
      assert.equal(r.json.code, code);
      assert.equal(r.json.message, 'raised on purpose');
    });
  }

  test('every 429 carries Retry-After: the hint\'s seconds, 1 when it gives none, a PGRST error\'s own', async () => {
    const bare = await raise('P429A');
    assert.equal(bare.headers.get('retry-after'), '1');
    const told = await http(b, 'POST', '/rpc/raise', { body: { code: 'P429B', hint: 'Wait 42 seconds.  Or not.' }, headers: T });
    assert.equal(told.status, 429);
    assert.equal(told.headers.get('retry-after'), '42');
    assert.equal(told.json.hint, 'Wait 42 seconds.  Or not.');
    for (const hint of ['Wait 99999999999999999999 seconds.', 'Wait -3 seconds.', 'Wait 5 minutes.', 'wait 7 seconds']) {
      const odd = await http(b, 'POST', '/rpc/raise', { body: { code: 'P429A', hint }, headers: T });
      assert.equal(odd.headers.get('retry-after'), '1', hint);
    }
    const own = await http(b, 'POST', '/rpc/pgrst', { body: { body: { code: 'X' }, status: 429, headers: { 'Retry-After': '77' } }, headers: T });
    assert.equal(own.status, 429);
    assert.equal(own.headers.get('retry-after'), '77');
    const none = await http(b, 'POST', '/rpc/pgrst', { body: { body: { code: 'X' }, status: 429 }, headers: T });
    assert.equal(none.headers.get('retry-after'), '1');
    assert.equal((await raise('P409C')).headers.get('retry-after'), null);
  });

  test('42501 is 401 without a JWT and 403 with one', async () => {
    const anon = await http(b, 'POST', '/rpc/admin_only', { body: {}, headers: T });
    assert.equal(anon.status, 401);
    assert.equal(anon.json.code, '42501');
    assert.equal(anon.headers.get('www-authenticate'), 'Bearer');
    const user = await http(b, 'POST', '/rpc/admin_only', { body: {}, headers: T, token: userToken('u1') });
    assert.equal(user.status, 403);
    const admin = await http(b, 'POST', '/rpc/admin_only', {
      body: {}, headers: T, token: sign({ sub: 'op', role: 'pgcall_admin', exp: Math.floor(Date.now() / 1000) + 600 }),
    });
    assert.equal(admin.status, 200);
  });

  test('details and hint come from the error', async () => {
    const r = await http(b, 'POST', '/rpc/raise', { body: { code: 'P0001', detail: 'the detail', hint: 'the hint' }, headers: T });
    assert.deepEqual(r.json, { code: 'P0001', message: 'raised on purpose', details: 'the detail', hint: 'the hint' });
  });

  test("SQLSTATE 'PGRST': body from the message, status and headers from the detail", async () => {
    const r = await http(b, 'POST', '/rpc/pgrst', {
      body: { body: { code: 'X1', message: 'custom', details: null, hint: null }, status: 402, headers: { 'X-Extra': 'yes' } },
      headers: T,
    });
    assert.equal(r.status, 402);
    assert.deepEqual(r.json, { code: 'X1', message: 'custom', details: null, hint: null });
    assert.equal(r.headers.get('x-extra'), 'yes');
  });

  test('pgcall error codes from the extension map by their digits', async () => {
    const r = await http(b, 'POST', '/rpc/turn_credentials', { body: {}, token: userToken('u1') });
    assert.equal(r.status, 503);
    assert.equal(r.json.code, 'P503B');
  });

  test('a method other than GET, HEAD and POST is 405 PGRST101', async () => {
    for (const m of ['PUT', 'PATCH', 'DELETE']) {
      const r = await http(b, m, '/rpc/echo', { headers: T });
      assert.equal(r.status, 405, m);
      assert.equal(r.json.code, 'PGRST101');
    }
  });

  test('OPTIONS answers a CORS preflight', async () => {
    const r = await http(b, 'OPTIONS', '/rpc/echo', { headers: { Origin: 'http://example.test', 'Access-Control-Request-Method': 'POST' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('access-control-allow-headers'), /Authorization/);
  });

  test('statement_timeout applies per request', async () => {
    const slow = await startBridge(DB, { args: ['--statement-timeout', '100'] });
    try {
      const r = await http(slow, 'POST', '/rpc/sleep', { body: { seconds: 5 }, headers: T });
      assert.equal(r.status, 500);
      assert.equal(r.json.code, '57014');
      const ok = await http(slow, 'POST', '/rpc/whoami', { body: {}, headers: T });
      assert.equal(ok.json.statement_timeout, '100ms');
    } finally { await slow.stop(); }
  });
});

describe('JWT', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const whoami = (token) => http(b, 'POST', '/rpc/whoami', { body: {}, headers: T, token });
  const refused = async (token, code, pattern) => {
    const r = await whoami(token);
    assert.equal(r.status, 401);
    assert.equal(r.json.code, code);
    if (pattern) assert.match(r.json.message, pattern);
    assert.match(r.headers.get('www-authenticate'), /^Bearer/);
    return r;
  };

  test('a valid token sets role, claims and headers for the transaction', async () => {
    const token = userToken('alice', { aud: 'pgcall-tests', extra: [1, 2] });
    const r = await http(b, 'POST', '/rpc/whoami', {
      body: {}, headers: { ...T, 'X-Client-Info': 'tests/1', Cookie: 'c=1', Prefer: 'tx=commit' }, token,
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.role, 'pgcall_user');
    assert.equal(r.json.user_id, 'alice');
    assert.deepEqual(JSON.parse(r.json.claims).extra, [1, 2]);
    const h = JSON.parse(r.json.headers);
    assert.equal(h['x-client-info'], 'tests/1');
    assert.equal(h['content-profile'], 'bridge_test');
    assert.equal(h.prefer, 'tx=commit');
    assert.equal(h.authorization, undefined, 'the token stays out of the database');
    assert.equal(h.cookie, undefined);
    assert.equal(r.json.method, 'POST');
    assert.equal(r.json.path, '/rpc/whoami');
    assert.equal(r.json.read_only, 'off');
  });

  test('no token: the anonymous role and empty claims', async () => {
    const r = await whoami();
    assert.equal(r.json.role, 'pgcall_anon');
    assert.equal(r.json.claims, '');
    assert.equal(r.json.user_id, null);
  });

  test('a token without a role claim runs as the anonymous role', async () => {
    const r = await whoami(sign({ sub: 'x', exp: now() + 60 }));
    assert.equal(r.status, 200);
    assert.equal(r.json.role, 'pgcall_anon');
  });

  test('alg none is refused', () => refused(sign({ sub: 'a', role: 'pgcall_user' }, { alg: 'none' }), 'PGRST301', /algorithm/));
  test('another algorithm is refused', () => refused(sign({ sub: 'a', role: 'pgcall_user' }, { alg: 'HS512' }), 'PGRST301', /algorithm/));
  test('a bad signature is refused', () => refused(sign({ sub: 'a', role: 'pgcall_user' }, { secret: 'x'.repeat(40) }), 'PGRST301', /signature/));
  test('a malformed token is refused', () => refused('abc.def', 'PGRST301'));
  test('garbage in a part is refused', () => refused('a!b.c.d', 'PGRST301'));
  test('claims that are not an object are refused', async () => {
    const t = sign({}).split('.');
    const p = Buffer.from('[1,2]').toString('base64url');
    const crypto = await import('node:crypto');
    const { SECRET } = await import('./lib.mjs');
    const s = crypto.createHmac('sha256', SECRET).update(`${t[0]}.${p}`).digest('base64url');
    await refused(`${t[0]}.${p}.${s}`, 'PGRST303');
  });
  test('an expired token is refused (beyond 30 s of skew)', () => refused(userToken('a', { exp: now() - 31 }), 'PGRST303', /expired/));
  test('30 s of skew are tolerated on exp', async () => {
    const r = await whoami(userToken('a', { exp: now() - 5 }));
    assert.equal(r.status, 200);
  });
  test('a token not yet valid is refused', () => refused(userToken('a', { nbf: now() + 120 }), 'PGRST303', /not yet valid/));
  test('a token issued in the future is refused', () => refused(userToken('a', { iat: now() + 120 }), 'PGRST303', /future/));
  test('a token for another audience is refused', () => refused(userToken('a', { aud: 'elsewhere' }), 'PGRST303', /audience/));
  test('an audience array containing ours passes', async () => {
    const r = await whoami(userToken('a', { aud: ['x', 'pgcall-tests'] }));
    assert.equal(r.status, 200);
  });
  test('a role that does not exist is refused with 401', async () => {
    const r = await refused(userToken('a', { role: 'no_such_role' }), '22023');
    assert.match(r.json.message, /no_such_role/);
  });
  test('a role the authenticator may not assume is refused with 401', async () => {
    await refused(userToken('a', { role: 'postgres' }), '42501');
  });
  test('a non-bearer Authorization header is ignored', async () => {
    const r = await http(b, 'POST', '/rpc/whoami', { body: {}, headers: { ...T, Authorization: 'Basic dTpw' } });
    assert.equal(r.status, 200);
    assert.equal(r.json.role, 'pgcall_anon');
  });
});

describe('isolation', () => {
  test("nothing of one request's identity reaches the next on the same connection", async () => {
    const one = await startBridge(DB, { args: ['--pool', '1'] });
    try {
      const a = await http(one, 'POST', '/rpc/whoami', { body: {}, headers: { ...T, 'X-Request-Id': 'r1' }, token: userToken('alice') });
      assert.equal(a.json.user_id, 'alice');
      const fail = await http(one, 'POST', '/rpc/raise', { body: { code: 'P0001' }, headers: T, token: userToken('mallory') });
      assert.equal(fail.status, 400);
      const n = await http(one, 'POST', '/rpc/whoami', { body: {}, headers: T });
      assert.equal(n.json.role, 'pgcall_anon');
      assert.equal(n.json.user_id, null);
      assert.equal(n.json.claims, '');
      assert.equal(JSON.parse(n.json.headers)['x-request-id'], undefined);
      assert.equal(n.json.read_only, 'off');
      const g = await http(one, 'GET', '/rpc/whoami', { headers: TG });
      assert.equal(g.json.read_only, 'on');
      const p = await http(one, 'POST', '/rpc/whoami', { body: {}, headers: T });
      assert.equal(p.json.read_only, 'off', 'read-only ends with its transaction');
      const backends = psql(DB, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'pgcall-bridge pool%' AND usename = 'pgcall_authenticator'");
      assert.ok(Number(backends) >= 1);
    } finally { await one.stop(); }
  });
});

describe('limits', () => {
  test('a body over --max-body is 413', async () => {
    const r = await http(b, 'POST', '/rpc/echo', { body: { a: 'x'.repeat(5000) }, headers: T });
    assert.equal(r.status, 413);
    assert.equal(r.json.code, 'PGRST413');
  });

  test('a chunked body is 411', async () => {
    const out = await rawHttp(b.port, 'POST /rpc/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 411/);
    assert.match(out, /PGRST411/);
  });

  test('a POST without Content-Length is 411', async () => {
    const out = await rawHttp(b.port, 'POST /rpc/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 411/);
  });

  test('Expect: 100-continue gets 100 Continue before the body is sent', async () => {
    const net = await import('node:net');
    const out = await new Promise((resolve, reject) => {
      const s = net.connect(b.port, '127.0.0.1');
      let data = '';
      let sent = false;
      s.setEncoding('utf8');
      s.on('data', (d) => {
        data += d;
        if (!sent && data.includes('100 Continue')) {
          sent = true;
          s.write('{"a":"after-continue"}');
        }
        if (/\r\n\r\n[\s\S]*after-continue/.test(data.split('100 Continue')[1] ?? '')) { s.destroy(); resolve(data); }
      });
      s.on('error', reject);
      s.on('close', () => resolve(data));
      s.write('POST /rpc/echo HTTP/1.1\r\nHost: x\r\nContent-Profile: bridge_test\r\nContent-Type: application/json\r\nContent-Length: 22\r\nExpect: 100-continue\r\n\r\n');
    });
    assert.match(out, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200/);
    assert.match(out, /after-continue/);
  });

  test('a full pool queue answers 503', async () => {
    const small = await startBridge(DB, { args: ['--pool', '1', '--pool-queue', '1'] });
    try {
      const sleeps = [1, 2].map(() => http(small, 'POST', '/rpc/sleep', { body: { seconds: 1 }, headers: T }));
      await waitFor(async () => (await metrics(small)).pgcall_bridge_pool_queue_length === 1, 'one queued request');
      const r = await http(small, 'POST', '/rpc/echo', { body: {}, headers: T });
      assert.equal(r.status, 503);
      assert.equal(r.json.code, 'PGRST003');
      for (const s of await Promise.all(sleeps)) assert.equal(s.status, 200);
    } finally { await small.stop(); }
  });

  test('a request that outlives --request-timeout is 504', async () => {
    const t = await startBridge(DB, { args: ['--request-timeout', '200'] });
    try {
      const r = await http(t, 'POST', '/rpc/sleep', { body: { seconds: 2 }, headers: T });
      assert.equal(r.status, 504);
      assert.equal(r.json.code, 'PGRST003');
    } finally { await t.stop(); }
  });
});

describe('operations', () => {
  test('GET /health reports the database, the listener and the pool', async () => {
    const r = await http(b, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'ok');
    assert.equal(r.json.database, true);
    assert.equal(r.json.listener, true);
    assert.ok('agora_configured' in r.json);
    assert.equal(r.json.pool.size, 8);
    assert.equal(r.json.extension, r.json.version, 'the extension the bridge was built for');
  });

  test('GET /health is 503 when the database has another pgcall version than the bridge', async () => {
    const [version] = psql(DB, "SELECT extversion FROM pg_extension WHERE extname = 'pgcall'").split('\n');
    psql(DB, "UPDATE pg_extension SET extversion = '0.0.1-other' WHERE extname = 'pgcall'");
    try {
      const r = await http(b, 'GET', '/health');
      assert.equal(r.status, 503);
      assert.equal(r.json.status, 'extension_mismatch');
      assert.equal(r.json.extension, '0.0.1-other');
      assert.equal(r.json.version, version);
      assert.equal(r.json.database, true);
    } finally {
      psql(DB, `UPDATE pg_extension SET extversion = '${version}' WHERE extname = 'pgcall'`);
    }
    const r = await http(b, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'ok');
  });

  test('GET /metrics is Prometheus text', async () => {
    const r = await http(b, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    assert.match(r.text, /^# TYPE pgcall_bridge_http_requests_total counter$/m);
    assert.match(r.text, /^pgcall_bridge_http_requests_total\{code="200"\} \d+$/m);
    assert.match(r.text, /^pgcall_bridge_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+$/m);
    assert.match(r.text, /^pgcall_bridge_pool_wait_seconds_count \d+$/m);
    assert.match(r.text, /^pgcall_bridge_events_total\{outcome="delivered"\} \d+$/m);
  });

  test('static files: index, types, traversal and symlinks', async () => {
    const index = await http(b, 'GET', '/');
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^text\/html/);
    assert.match(index.text, /pgcall/);
    const js = await http(b, 'GET', '/js/app.js');
    assert.match(js.headers.get('content-type'), /^text\/javascript/);
    assert.equal(js.headers.get('x-content-type-options'), 'nosniff');
    for (const p of ['/../outside.txt', '/js/../../outside.txt', '/%2e%2e/outside.txt', '/.hidden', '/link.txt', '/missing']) {
      const r = await rawHttp(b.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.doesNotMatch(r, /secret/, p);
      // .. above the root is refused before routing (400, listen.c); the rest 403/404
      assert.match(r, /^HTTP\/1\.1 40[034]/, p);
    }
  });

  test('/ws without an upgrade is 426', async () => {
    const r = await http(b, 'GET', '/ws');
    assert.equal(r.status, 426);
  });
});
