// What HTTP and WebSocket clients can reach: every function of pg_catalog,
// information_schema and pgcall, by every pgcall role, over both transports.
// The bridge here passes pg_catalog and information_schema through its own
// --schemas on purpose: the rule must hold in the extension (pgcall.rpc),
// whatever a bridge is configured to let through.  Exactly the functions of
// pgcall.api_function that a role may EXECUTE answer; everything else is
// "not found" (404 PGRST202), "schema not exposed" (406 PGRST106), or, for
// an API function the role lacks EXECUTE on, 42501.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, createDatabase, psql, sign, startBridge } from './lib.mjs';

const DB = createDatabase('bridge_exposure');
let b;

const now = () => Math.floor(Date.now() / 1000);
const ROLES = {
  anonymous: null,
  user: sign({ sub: 'eve', role: 'pgcall_user', exp: now() + 3600 }),
  backend: sign({ sub: 'svc', role: 'pgcall_backend', exp: now() + 3600 }),
  admin: sign({ sub: 'root', role: 'pgcall_admin', exp: now() + 3600 }),
};
const DB_ROLE = { anonymous: 'pgcall_anon', user: 'pgcall_user', backend: 'pgcall_backend', admin: 'pgcall_admin' };

// Every function with its own input argument names, so only exposure (not a
// missing argument) can make it unreachable.
const FUNCTIONS = JSON.parse(psql(DB, `
  SELECT json_agg(json_build_object('schema', n.nspname, 'name', p.proname, 'oid', p.oid,
           'args', COALESCE((SELECT json_object_agg(a.name, NULL)
                               FROM unnest(p.proargnames) WITH ORDINALITY AS a(name, i)
                              WHERE a.name <> '' AND COALESCE(p.proargmodes[a.i], 'i') IN ('i', 'b', 'v')),
                            '{}'))
           ORDER BY n.nspname, p.proname, p.oid)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname IN ('pg_catalog', 'information_schema', 'pgcall')`));

// Per role, the pgcall API functions it may execute: what should answer.
function expected(role) {
  return new Set(psql(DB, `
    SELECT DISTINCT p.proname FROM pg_proc p JOIN pgcall.api_function a ON a.name = p.proname
     WHERE p.pronamespace = 'pgcall'::regnamespace
       AND has_function_privilege('${DB_ROLE[role]}', p.oid, 'EXECUTE')`).split('\n').filter(Boolean));
}

// Whether a reply means the call got past resolution and privileges.
function answered(status, body) {
  const code = body?.code;
  if (code === 'PGRST202' || code === 'PGRST106') return false;
  if (code === '42501' && /permission denied for function/.test(body?.message ?? '')) return false;
  return status !== undefined;
}

async function pool(items, width, fn) {
  let i = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (i < items.length) {
      const item = items[i++];
      await fn(item);
    }
  }));
}

before(async () => {
  b = await startBridge(DB, {
    args: ['--schemas', 'pgcall,bridge_test,pg_catalog,information_schema', '--pool', '4'],
  });
});
after(async () => { await b.stop(); });

describe('every function, every role', () => {
  for (const role of Object.keys(ROLES)) {
    test(`over HTTP as ${role}: exactly the API functions it may execute answer`, async () => {
      const reached = new Set();
      const outside = [];
      await pool(FUNCTIONS, 8, async (f) => {
        const headers = { 'Content-Type': 'application/json', 'Content-Profile': f.schema };
        if (ROLES[role]) headers.Authorization = `Bearer ${ROLES[role]}`;
        const r = await fetch(`${b.url}/rpc/${encodeURIComponent(f.name)}`,
          { method: 'POST', headers, body: JSON.stringify(f.args) });
        const text = await r.text();
        let body = null;
        try { body = JSON.parse(text); } catch { /* a scalar or empty body */ }
        if (answered(r.status, body)) {
          if (f.schema === 'pgcall') reached.add(f.name);
          else outside.push(`${f.schema}.${f.name} -> ${r.status} ${text.slice(0, 120)}`);
        }
      });
      assert.deepEqual(outside, [], 'nothing outside pgcall answers');
      assert.ok(expected(role).size > 0, 'the role has some API');
      assert.deepEqual([...reached].sort(), [...expected(role)].sort());
    });

    if (role === 'anonymous') continue; // a socket needs a token
    test(`over WebSocket as ${role}: exactly the API functions it may execute answer`, async () => {
      const c = new Client(b, ROLES[role]);
      await c.welcome();
      const reached = new Set();
      const outside = [];
      let n = 0;
      for (const f of FUNCTIONS) {
        const id = `x${++n}`;
        c.send({ type: 'call', id, fn: f.name, args: f.args, schema: f.schema });
        const r = await c.next((m) => (m.type === 'result' || m.type === 'error') && m.id === id, `reply to ${f.name}`);
        if (r.type === 'result' || answered(r.status, r.error)) {
          if (f.schema === 'pgcall') reached.add(f.name);
          else outside.push(`${f.schema}.${f.name} -> ${JSON.stringify(r).slice(0, 160)}`);
        }
      }
      await c.close();
      assert.deepEqual(outside, [], 'nothing outside pgcall answers');
      assert.ok(expected(role).size > 0, 'the role has some API');
      assert.deepEqual([...reached].sort(), [...expected(role)].sort());
    });
  }
});

describe('the dispatcher itself', () => {
  test('POST /rpc/rpc is not found, with or without a token', async () => {
    for (const token of [null, ROLES.user, ROLES.admin]) {
      const headers = { 'Content-Type': 'application/json' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const r = await fetch(`${b.url}/rpc/rpc`, {
        method: 'POST', headers, body: JSON.stringify({ schema: 'pg_catalog', fn: 'version', args: {} }),
      });
      assert.equal(r.status, 404);
      assert.equal((await r.json()).code, 'PGRST202');
    }
  });

  test('pg_catalog through a Content-Profile the bridge lets pass: 406 from the database', async () => {
    const r = await fetch(`${b.url}/rpc/query_to_xml`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Profile': 'pg_catalog' },
      body: JSON.stringify({ query: 'select * from pgcall.secret', nulls: true, tableforest: true, targetns: '' }),
    });
    assert.equal(r.status, 406);
    const body = await r.json();
    assert.equal(body.code, 'PGRST106');
    assert.match(body.hint, /pgcall, bridge_test/);
  });

  test('GET of a pgcall function that writes: 405 with the reason', async () => {
    const r = await fetch(`${b.url}/rpc/admin_analytics?days=7`, { headers: { Authorization: `Bearer ${ROLES.admin}` } });
    assert.equal(r.status, 405);
    const body = await r.json();
    assert.equal(body.code, 'PGRST101');
    assert.match(body.hint, /POST/);
  });

  test('argument names cannot pose as others in the plan cache', async () => {
    const r = await fetch(`${b.url}/rpc/call_logs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ROLES.user}` },
      body: JSON.stringify({ 'page,limit': 1 }),
    });
    assert.equal(r.status, 404);
    assert.equal((await r.json()).code, 'PGRST202');
  });
});
