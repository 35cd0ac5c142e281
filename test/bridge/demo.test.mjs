// Demo sign-in: POST /demo/token and GET /demo/users exist only with
// --demo-users, sign only the users listed, and the tokens they hand out are
// ordinary short-lived pgcall_user JWTs that work for /rpc and /ws.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, createDatabase, http, startBridge } from './lib.mjs';

const DB = createDatabase('bridge_demo');
let plain;
let demo;
let admins;

before(async () => {
  [plain, demo] = await Promise.all([
    startBridge(DB),
    startBridge(DB, { args: ['--demo-users', 'alice,bob, carol'] }),
  ]);
  admins = await startBridge(DB, { args: ['--demo-users', 'alice', '--demo-admins', 'ops,root2'] });
});
after(async () => { await Promise.all([plain.stop(), demo.stop(), admins.stop()]); });

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

describe('without --demo-users', () => {
  test('POST /demo/token is 404 and signs nothing', async () => {
    const r = await http(plain, 'POST', '/demo/token', { body: { user: 'alice' } });
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'PGRST404');
    assert.equal(r.json.token, undefined);
  });

  test('GET /demo/users is 404', async () => {
    assert.equal((await http(plain, 'GET', '/demo/users')).status, 404);
    assert.equal((await http(plain, 'GET', '/demo/admins')).status, 404);
  });
});

describe('with --demo-users', () => {
  test('a listed user gets a short-lived pgcall_user token for itself', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await http(demo, 'POST', '/demo/token', { body: { user: 'alice' } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.equal(r.json.user, 'alice');
    const c = claimsOf(r.json.token);
    assert.equal(c.sub, 'alice');
    assert.equal(c.role, 'pgcall_user');
    assert.ok(c.iat >= before - 1 && c.iat <= Math.floor(Date.now() / 1000) + 1, JSON.stringify(c));
    assert.equal(c.exp - c.iat, r.json.expires_in);
    assert.ok(r.json.expires_in > 0 && r.json.expires_in <= 3600, 'short lifetime');
  });

  test('the token works over HTTP and on the WebSocket, as that user only', async () => {
    const { json } = await http(demo, 'POST', '/demo/token', { body: { user: 'bob' } });
    const who = await http(demo, 'POST', '/rpc/current_user_id', { body: {}, token: json.token });
    assert.equal(who.status, 200);
    assert.equal(who.json, 'bob');
    // the other bridge shares the secret: the token is an ordinary JWT
    assert.equal((await http(plain, 'POST', '/rpc/current_user_id', { body: {}, token: json.token })).json, 'bob');
    const ws = new Client(demo, json.token);
    assert.equal((await ws.welcome()).user, 'bob');
    await ws.close();
  });

  test('spaces around names in the list do not matter', async () => {
    const r = await http(demo, 'POST', '/demo/token', { body: { user: 'carol' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(claimsOf(r.json.token).sub, 'carol');
  });

  test('a user not listed is refused, including prefixes and the list itself', async () => {
    for (const user of ['mallory', 'ali', 'alicex', 'alice,bob', '', ' carol', 'ALICE']) {
      const r = await http(demo, 'POST', '/demo/token', { body: { user } });
      assert.equal(r.status, 404, `${user}: ${r.text}`);
      assert.equal(r.json.token, undefined);
    }
  });

  test('a body that is not {"user": string} is 400', async () => {
    for (const body of ['', 'not json', '[]', '{"user": 7}', '{"name": "alice"}', '{"user": null}']) {
      const r = await http(demo, 'POST', '/demo/token', { body, headers: { 'Content-Type': 'application/json' } });
      assert.equal(r.status, 400, `${body}: ${r.text}`);
      assert.equal(r.json.token, undefined);
    }
  });

  test('only POST signs', async () => {
    const r = await http(demo, 'GET', '/demo/token');
    assert.equal(r.status, 405);
    assert.equal(r.json.token, undefined);
  });

  test('GET /demo/users lists the demo users', async () => {
    const r = await http(demo, 'GET', '/demo/users');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, ['alice', 'bob', 'carol']);
  });
});

describe('with --demo-admins', () => {
  test('a listed administrator gets a pgcall_admin token only when asking for that role', async () => {
    const r = await http(admins, 'POST', '/demo/token', { body: { user: 'ops', role: 'pgcall_admin' } });
    assert.equal(r.status, 200, r.text);
    const c = claimsOf(r.json.token);
    assert.equal(c.sub, 'ops');
    assert.equal(c.role, 'pgcall_admin');
    assert.ok(c.exp - c.iat <= 3600, 'short lifetime');
    // the token is an administrator's: admin functions answer
    const calls = await http(admins, 'POST', '/rpc/admin_calls', { body: {}, token: r.json.token });
    assert.equal(calls.status, 200, calls.text);
    assert.deepEqual(calls.json.calls, []);
    // without the role it is a user's token, and ops is no demo user
    assert.equal((await http(admins, 'POST', '/demo/token', { body: { user: 'ops' } })).status, 404);
  });

  test('a demo user never gets an administrator\'s token, nor a bridge without --demo-admins', async () => {
    for (const [b, user] of [[admins, 'alice'], [demo, 'alice'], [admins, 'mallory'], [admins, 'ops,root2']]) {
      const r = await http(b, 'POST', '/demo/token', { body: { user, role: 'pgcall_admin' } });
      assert.equal(r.status, 404, `${user}: ${r.text}`);
      assert.equal(r.json.token, undefined);
    }
    const u = await http(admins, 'POST', '/demo/token', { body: { user: 'alice', role: 'pgcall_user' } });
    assert.equal(claimsOf(u.json.token).role, 'pgcall_user');
  });

  test('any other role is 400', async () => {
    for (const role of ['pgcall_backend', 'pgcall_bridge', 'postgres', 'PGCALL_ADMIN', '', 7, null]) {
      const r = await http(admins, 'POST', '/demo/token', { body: { user: 'ops', role } });
      assert.equal(r.status, 400, `${role}: ${r.text}`);
      assert.equal(r.json.token, undefined);
    }
  });

  test('GET /demo/admins lists the administrators, /demo/users the users', async () => {
    assert.deepEqual((await http(admins, 'GET', '/demo/admins')).json, ['ops', 'root2']);
    assert.deepEqual((await http(admins, 'GET', '/demo/users')).json, ['alice']);
    assert.deepEqual((await http(demo, 'GET', '/demo/admins')).json, []);
  });
});
