// CORS on Socket.IO's long-polling transport (/socket.io/ with a dialect):
// a page on another origin starts there (socket.io-client's default), with
// a preflight when it adds headers.  The bridge's rule for /rpc (any origin)
// holds; a well-formed origin is echoed with credentials allowed, "null"
// gets "*", anything else gets no CORS header; preflights with other methods
// or headers are refused.  test/browser/seed003.test.mjs does the same from
// a real page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, rawHttp, sequentialHttp, startBridge, userToken } from './lib.mjs';

const DB = createDatabase('bridge_socketio_cors');
let b;
before(async () => { b = await startBridge(DB, { args: ['--socketio-dialect', 'seed003'] }); });
after(async () => { await b.stop(); });

const POLL = '/socket.io/?EIO=4&transport=polling';
const ORIGIN = 'http://app.example.test:8080';

async function req(method, path, headers = {}, body) {
  const r = await fetch(`${b.url}${path}`, { method, headers, body });
  return { status: r.status, h: r.headers, text: await r.text() };
}

// Open a polling session from origin; returns its sid.
async function open(origin = ORIGIN) {
  const r = await req('GET', POLL, { Origin: origin });
  assert.equal(r.status, 200);
  return { sid: JSON.parse(r.text.slice(1)).sid, r };
}

function echoed(r, origin) {
  assert.equal(r.h.get('access-control-allow-origin'), origin);
  assert.equal(r.h.get('access-control-allow-credentials'), 'true');
  assert.match(r.h.get('vary') ?? '', /Origin/);
}

function noCors(r, what) {
  for (const h of ['access-control-allow-origin', 'access-control-allow-credentials',
    'access-control-allow-methods', 'access-control-allow-headers']) {
    assert.equal(r.h.get(h), null, `${what}: ${h}`);
  }
}

describe('long-polling from another origin', () => {
  test('open, POST the CONNECT, GET the reply: each answer echoes the origin and allows credentials', async () => {
    const { sid, r } = await open();
    echoed(r, ORIGIN);
    // the answers to a page's requests are not the Access-Control-* of a preflight
    assert.equal(r.h.get('access-control-allow-methods'), null);
    const post = await req('POST', `${POLL}&sid=${sid}`, { Origin: ORIGIN, 'Content-Type': 'text/plain;charset=UTF-8' },
      `40${JSON.stringify({ token: userToken('alice') })}`);
    assert.equal(post.status, 200);
    assert.equal(post.text, 'ok');
    echoed(post, ORIGIN);
    const get = await req('GET', `${POLL}&sid=${sid}`, { Origin: ORIGIN });
    assert.equal(get.status, 200);
    assert.match(get.text, /^40\{"sid":"[0-9a-f]{20}"/);
    echoed(get, ORIGIN);
    // errors too (a page must be able to read why)
    const bad = await req('GET', `${POLL}&sid=nosuchsession`, { Origin: ORIGIN });
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.text), { code: 1, message: 'Session ID unknown' });
    echoed(bad, ORIGIN);
    await req('POST', `${POLL}&sid=${sid}`, { Origin: ORIGIN }, '1');
  });

  test('origins of every form a browser sends are echoed as they are', async () => {
    for (const o of ['https://app.example.test', 'http://127.0.0.1:5173', 'http://[::1]:3000',
      'https://xn--bcher-kva.example', 'chrome-extension://abcdefghijklmnop', 'http://localhost']) {
      echoed((await open(o)).r, o);
    }
  });

  test('"null" (a sandboxed or file: page) gets "*" without credentials', async () => {
    const { r } = await open('null');
    assert.equal(r.h.get('access-control-allow-origin'), '*');
    assert.equal(r.h.get('access-control-allow-credentials'), null);
  });

  test('without an Origin (not a browser page) there is no CORS header', async () => {
    const r = await req('GET', POLL);
    assert.equal(r.status, 200);
    noCors(r, 'no Origin');
  });

  test('hostile: what is not an origin is never echoed (the request is answered, the browser keeps it from the page)', async () => {
    const bad = ['http://a.test, http://b.test', 'http://a.test/path', 'http://a.test?x', 'HTTP://A.TEST',
      'http://', '://a.test', 'a.test', 'http://a.test:99999', 'http://a.test:', 'http://a.test:123456',
      'http://.a.test', 'http://a..test.', 'http://a test', 'javascript:alert(1)', 'http://[::1', 'http://[zz]',
      `http://${'a'.repeat(260)}.test`, '*', 'http://a.test#x', 'http://user@a.test', 'https://é.test'];
    for (const o of bad) {
      let r;
      try { r = await req('GET', POLL, { Origin: o }); } catch { continue; /* fetch refuses to send it */ }
      assert.equal(r.status, 200, o);
      noCors(r, o);
      assert.equal(r.h.get('vary'), null, o);
    }
    // bytes fetch will not send: raw, with a control character in the value
    const raw = await rawHttp(b.port, `GET ${POLL} HTTP/1.1\r\nHost: x\r\nOrigin: http://a.test\x01\r\nConnection: close\r\n\r\n`);
    assert.doesNotMatch(raw, /access-control-allow-origin/i);
  });
});

describe('preflight (OPTIONS /socket.io/)', () => {
  const preflight = (headers) => req('OPTIONS', `${POLL}&sid=abc`, headers);

  test('GET or POST with the headers /rpc allows: 200, origin echoed, the methods and headers listed', async () => {
    for (const m of ['GET', 'POST']) {
      const r = await preflight({ Origin: ORIGIN, 'Access-Control-Request-Method': m,
        'Access-Control-Request-Headers': 'authorization, content-type' });
      assert.equal(r.status, 200, m);
      echoed(r, ORIGIN);
      assert.equal(r.h.get('access-control-allow-methods'), 'GET, POST, OPTIONS');
      assert.match(r.h.get('access-control-allow-headers'), /Authorization, Content-Type/);
      assert.equal(r.h.get('access-control-max-age'), '600');
    }
    // no requested headers, and upper case names, are fine too
    assert.equal((await preflight({ Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' })).status, 200);
    assert.equal((await preflight({ Origin: ORIGIN, 'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'X-CLIENT-INFO,Prefer' })).status, 200);
  });

  test('hostile: other methods are 405, with nothing that would let them pass', async () => {
    for (const m of ['PUT', 'DELETE', 'PATCH', 'CONNECT', 'TRACE', 'get', 'POST, PUT', '', 'OPTIONS']) {
      const r = await preflight({ Origin: ORIGIN, 'Access-Control-Request-Method': m });
      assert.equal(r.status, 405, `method "${m}"`);
      assert.equal(JSON.parse(r.text).code, 'PGRST101');
      noCors(r, m);
    }
    const none = await preflight({ Origin: ORIGIN });
    assert.equal(none.status, 405);
  });

  test('hostile: a header outside the list is refused (403), not reflected', async () => {
    for (const h of ['x-evil', 'authorization, x-evil', 'cookie', 'content-type,,x-a', 'authorization x-evil']) {
      const r = await preflight({ Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': h });
      assert.equal(r.status, 403, h);
      const body = JSON.parse(r.text);
      assert.equal(body.code, 'PGRST403');
      assert.match(body.hint, /^Authorization, Content-Type/);
      noCors(r, h);
    }
  });

  test('hostile: a missing or malformed Origin is 403', async () => {
    for (const o of [undefined, 'http://a.test/x', 'evil', 'http://a.test, http://b.test']) {
      const r = await preflight({ ...(o ? { Origin: o } : {}), 'Access-Control-Request-Method': 'GET' });
      assert.equal(r.status, 403, String(o));
      assert.equal(JSON.parse(r.text).code, 'PGRST403');
      noCors(r, String(o));
    }
    const nul = await preflight({ Origin: 'null', 'Access-Control-Request-Method': 'GET' });
    assert.equal(nul.status, 200);
    assert.equal(nul.h.get('access-control-allow-origin'), '*');
  });

  test('a preflight, then a GET on the same connection: the GET is no preflight', async () => {
    const [first, second] = await sequentialHttp(b.port, [
      `OPTIONS ${POLL} HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\nAccess-Control-Request-Method: GET\r\n\r\n`,
      `GET ${POLL} HTTP/1.1\r\nHost: x\r\nOrigin: ${ORIGIN}\r\n\r\n`]);
    assert.match(first, /^HTTP\/1\.1 200/);
    assert.match(first, /access-control-allow-methods: GET, POST, OPTIONS/i);
    assert.match(second, /^HTTP\/1\.1 200/);
    assert.match(second, /access-control-allow-origin: http:\/\/app\.example\.test:8080/i);
    assert.doesNotMatch(second, /access-control-allow-methods/i);
  });

  test('/rpc keeps its own rule: "*" for any origin', async () => {
    const r = await req('OPTIONS', '/rpc/call_history', { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST' });
    assert.equal(r.status, 200);
    assert.equal(r.h.get('access-control-allow-origin'), '*');
    const r2 = await req('OPTIONS', '/rpc/call_history', { Origin: 'http://a.test/x', 'Access-Control-Request-Method': 'POST' });
    assert.equal(r2.h.get('access-control-allow-origin'), '*');
  });
});
