// postgrest-js's own RPC test cases, run against the bridge.
//
// Re-expressed from supabase/supabase-js, packages/core/postgrest-js/test:
// rpc.test.ts, advanced_rpc.test.ts, basic.test.ts (rpc*), filters.test.ts
// ("filter on rpc"), transforms.test.ts ("select on rpc", "rollback
// update/rpc"), embeded_functions_join.test.ts (the .rpc calls),
// max-affected.test.ts (the rpc cases).  Each case makes the same call with
// an unchanged @supabase/postgrest-js client and expects the same status,
// statusText, data, error and count as the upstream snapshot; the fixture
// schema is theirs (postgrest-js-fixture.sql) in schemas public and personal.
// Setup the upstream tests do through table endpoints is done with psql here.
//
// Deliberate differences (docs/protocol.md lists them): embedding
// (select=...,users(...)) answers PGRST200 and aggregates (username.count())
// PGRST123, PostgREST's errors for a relationship it cannot find and for
// aggregates when they are disabled.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { PostgrestClient } from '@supabase/postgrest-js';
import { ROOT, createDatabase, psql, startBridge } from './lib.mjs';

const DB = createDatabase('bridge_postgrest_js');
execFileSync('psql', ['-X', '-d', DB, '-q', '-v', 'ON_ERROR_STOP=1', '-f',
  path.join(ROOT, 'test/bridge/postgrest-js-fixture.sql')], { stdio: ['ignore', 'ignore', 'pipe'] });

let b;
let postgrest;
before(async () => {
  b = await startBridge(DB, { args: ['--schemas', 'public,personal'] });
  postgrest = new PostgrestClient(b.url);
});
after(async () => { await b.stop(); });

const BIGINT = 9223372036854775807n;
const supabotRow = { username: 'supabot', data: null, age_range: null, catchphrase: null, status: 'ONLINE' };
const msg = (id, channel_id, message) => ({ id, channel_id, data: null, message, username: 'supabot' });
const M1 = msg(1, 1, 'Hello World 👋');
const M2 = msg(2, 2, 'Perfection is attained, not when there is nothing more to add, but when there is nothing left to take away.');
const M3 = msg(3, 3, 'Some message on channel without details');
const M4 = msg(4, 3, 'Some message on channel without details');
const HINT203 = 'Try renaming the parameters or the function itself in the database so function overloading can be resolved';

function ok(res, data, { status = 200, statusText = 'OK', count = null } = {}) {
  assert.deepEqual(
    { data: res.data, error: res.error, status: res.status, statusText: res.statusText, count: res.count },
    { data, error: null, status, statusText, count });
}

function fails(res, error, status, statusText) {
  assert.deepEqual(
    { data: res.data, error: res.error && { ...res.error }, status: res.status, statusText: res.statusText },
    { data: null, error, status, statusText });
}

const noContent = (res) => ok(res, null, { status: 204, statusText: 'No Content' });
const ambiguous = (res, message) =>
  fails(res, { code: 'PGRST203', details: null, hint: HINT203, message }, 300, 'Multiple Choices');
const notFound = (res, message, details, hint = null) =>
  fails(res, { code: 'PGRST202', details, hint, message }, 404, 'Not Found');

describe('rpc.test.ts', () => {
  test('RPC call with no params', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).select(),
      [{ status: 'ONLINE', username: 'supabot' }]);
  });
  test('RPC call with star select', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).select('*'),
      [{ status: 'ONLINE', username: 'supabot' }]);
  });
  test('RPC call with single field select', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).select('username'),
      [{ username: 'supabot' }]);
  });
  test('RPC call with multiple fields select', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).select('username, status'),
      [{ status: 'ONLINE', username: 'supabot' }]);
  });
  test('RPC call with field aliasing', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).select('name:username'),
      [{ name: 'supabot' }]);
  });
  test('RPC call with field casting', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).select('status::text'),
      [{ status: 'ONLINE' }]);
  });
  test('RPC call with field aggregate: refused, aggregates are not offered (difference)', async () => {
    const res = await postgrest.rpc('get_username_and_status', { name_param: 'supabot' })
      .select('username.count(), status');
    fails(res, { code: 'PGRST123', message: 'Use of aggregate functions is not allowed', details: null, hint: null },
      400, 'Bad Request');
  });
  test('RPC call with bigint param is accepted by a bigint Postgres argument', async () => {
    ok(await postgrest.rpc('echo_bigint_as_text', { bigint_param: BIGINT }), '9223372036854775807');
  });
  test('RPC call with bigint nested in jsonb param is serialized as a JSON string', async () => {
    ok(await postgrest.rpc('extract_jsonb_bigint_as_text', { payload: { id: BIGINT } }), '9223372036854775807');
  });
});

describe('advanced_rpc.test.ts', () => {
  test('function returning a setof embeded table', async () => {
    ok(await postgrest.rpc('get_messages', { channel_row: { id: 1, data: null, slug: null } }), [M1]);
  });
  test('function double definition returning a setof embeded table', async () => {
    ok(await postgrest.rpc('get_messages', { user_row: supabotRow }), [M1, M2, M3, M4]);
  });
  test('function returning a single row embeded table', async () => {
    ok(await postgrest.rpc('get_user_profile', { user_row: supabotRow }), { id: 1, username: 'supabot' });
  });
  test('function with scalar input', async () => {
    ok(await postgrest.rpc('get_messages_by_username', { search_username: 'supabot' }), [M1, M2, M3, M4]);
  });
  test('function with table row input', async () => {
    ok(await postgrest.rpc('get_user_messages', { user_row: supabotRow }), [M1, M2, M3, M4]);
  });
  test('function with view row input', async () => {
    ok(await postgrest.rpc('get_active_user_messages', { active_user_row: supabotRow }), [M1, M2, M3, M4]);
  });
  test('function returning view', async () => {
    ok(await postgrest.rpc('get_user_recent_messages', { user_row: supabotRow }), [M4, M3, M2, M1]);
  });
  test('function with scalar input returning view', async () => {
    ok(await postgrest.rpc('get_recent_messages_by_username', { search_username: 'supabot' }), [M4, M3, M2, M1]);
  });
  test('function with scalar input with followup select: embedding refused (difference)', async () => {
    const res = await postgrest.rpc('get_recent_messages_by_username', { search_username: 'supabot' })
      .select('channel_id, message, users(username, catchphrase)');
    assert.equal(res.status, 400);
    assert.equal(res.error.code, 'PGRST200');
    assert.equal(res.error.message,
      "Could not find a relationship between 'get_recent_messages_by_username' and 'users' in the schema cache");
  });
  test('function with row input with followup select: embedding refused (difference)', async () => {
    const res = await postgrest.rpc('get_user_profile', { user_row: supabotRow })
      .select('id, username, users(username, catchphrase)');
    assert.equal(res.status, 400);
    assert.equal(res.error.code, 'PGRST200');
  });
  test('unresolvable function with no params', async () => {
    noContent(await postgrest.rpc('postgrest_unresolvable_function'));
  });
  test('unresolvable function with text param', async () => {
    ambiguous(await postgrest.rpc('postgrest_unresolvable_function', { a: 'test' }),
      'Could not choose the best candidate function between: public.postgrest_unresolvable_function(a => integer), public.postgrest_unresolvable_function(a => text)');
  });
  test('unresolvable function with int param', async () => {
    ambiguous(await postgrest.rpc('postgrest_unresolvable_function', { a: 1 }),
      'Could not choose the best candidate function between: public.postgrest_unresolvable_function(a => integer), public.postgrest_unresolvable_function(a => text)');
  });
  test('resolvable function with no params', async () => {
    noContent(await postgrest.rpc('postgrest_resolvable_with_override_function'));
  });
  test('resolvable function with text param', async () => {
    ok(await postgrest.rpc('postgrest_resolvable_with_override_function', { a: 'test' }), 1);
  });
  test('resolvable function with int param', async () => {
    ok(await postgrest.rpc('postgrest_resolvable_with_override_function', { b: 1 }), 'foo');
  });
  test('resolvable function with profile_id param', async () => {
    ok(await postgrest.rpc('postgrest_resolvable_with_override_function', { profile_id: 1 }),
      [{ id: 1, username: 'supabot' }]);
  });
  test('resolvable function with channel_id and search params', async () => {
    ok(await postgrest.rpc('postgrest_resolvable_with_override_function', { cid: 1, search: 'Hello World 👋' }), [M1]);
  });
  test('resolvable function with user_row param', async () => {
    ok(await postgrest.rpc('postgrest_resolvable_with_override_function', { user_row: supabotRow }),
      [M1, M2, M3, M4]);
  });
  test('polymorphic function with text param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_different_return', { '': 'test' }), 'foo');
  });
  test('polymorphic function with bool param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_different_return', { '': true }), 'foo');
  });
  test('polymorphic function with unnamed int param', async () => {
    notFound(await postgrest.rpc('polymorphic_function_with_unnamed_integer', { '': 1 }),
      'Could not find the function public.polymorphic_function_with_unnamed_integer() in the schema cache',
      'Searched for the function public.polymorphic_function_with_unnamed_integer with parameter  or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
      'Perhaps you meant to call the function public.polymorphic_function_with_unnamed_text');
  });
  test('polymorphic function with unnamed json param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_unnamed_json', { '': { test: 'value' } }), 1);
  });
  test('polymorphic function with unnamed jsonb param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_unnamed_jsonb', { '': { test: 'value' } }), 1);
  });
  test('polymorphic function with unnamed text param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_unnamed_text', { '': 'test' }), 1);
  });
  test('polymorphic function with no params and unnamed params definition call with no params', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_no_params_or_unnamed'), 1);
  });
  test('polymorphic function with unnamed params definition call with string param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_no_params_or_unnamed', { '': '' }), 'foo');
  });
  test('polymorphic function with unnamed params definition call with text param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_no_params_or_unnamed', { '': 'test' }), 'foo');
  });
  for (const [name, args] of [['no params', undefined], ['param undefined', {}]]) {
    test(`polymorphic function with unnamed default ${name}`, async () => {
      ambiguous(await postgrest.rpc('polymorphic_function_with_unnamed_default', args),
        'Could not choose the best candidate function between: public.polymorphic_function_with_unnamed_default(), public.polymorphic_function_with_unnamed_default( => text)');
    });
    test(`polymorphic function with unnamed default overload ${name}`, async () => {
      ambiguous(await postgrest.rpc('polymorphic_function_with_unnamed_default_overload', args),
        'Could not choose the best candidate function between: public.polymorphic_function_with_unnamed_default_overload(), public.polymorphic_function_with_unnamed_default_overload( => text)');
    });
  }
  test('polymorphic function with unnamed default text param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_unnamed_default', { '': 'custom text' }), 'foo');
  });
  test('polymorphic function with unnamed default overload text param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_unnamed_default_overload', { '': 'custom text' }), 'foo');
  });
  test('polymorphic function with unnamed default overload bool param', async () => {
    ok(await postgrest.rpc('polymorphic_function_with_unnamed_default_overload', { '': true }), 'foo');
  });
  test('function with blurb_message', async () => {
    notFound(await postgrest.rpc('blurb_message'),
      'Could not find the function public.blurb_message without parameters in the schema cache',
      'Searched for the function public.blurb_message without parameters or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.');
  });
  test('function with blurb_message with params', async () => {
    notFound(await postgrest.rpc('blurb_message', {
      '': { channel_id: 1, data: null, id: 1, message: null, username: 'test', blurb_message: null },
    }),
    'Could not find the function public.blurb_message() in the schema cache',
    'Searched for the function public.blurb_message with parameter  or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.');
  });
  test('function returning row', async () => {
    ok(await postgrest.rpc('function_returning_row'),
      { age_range: '[1,2)', catchphrase: "'cat' 'fat'", data: null, status: 'ONLINE', username: 'supabot' });
  });
  test('function returning set of rows', async () => {
    const res = await postgrest.rpc('function_returning_set_of_rows');
    ok(res, [
      { age_range: '[1,2)', catchphrase: "'cat' 'fat'", data: null, status: 'ONLINE', username: 'supabot' },
      { age_range: '[25,35)', catchphrase: "'bat' 'cat'", data: null, status: 'OFFLINE', username: 'kiwicopple' },
      { age_range: '[25,35)', catchphrase: "'bat' 'rat'", data: null, status: 'ONLINE', username: 'awailas' },
      { age_range: '[20,30)', catchphrase: "'fat' 'rat'", data: null, status: 'ONLINE', username: 'dragarcia' },
      { age_range: '[20,30)', catchphrase: "'json' 'test'", status: 'ONLINE', username: 'jsonuser',
        data: { foo: { bar: { nested: 'value' }, baz: 'string value' } } },
    ]);
  });
  test('function_using_setof_rows_one', async () => {
    ok(await postgrest.rpc('function_using_setof_rows_one', { user_row: supabotRow }), [{ id: 1, username: 'supabot' }]);
  });
  test('function_using_table_returns', async () => {
    ok(await postgrest.rpc('function_using_table_returns', { user_row: supabotRow }), { id: 1, username: 'supabot' });
  });
  test('should be able to filter before and after select rpc: embedding refused (difference)', async () => {
    const res = await postgrest.rpc('get_user_profile', { user_row: { username: 'supabot' } })
      .select('id, username, users(username, catchphrase)').eq('username', 'nope');
    assert.equal(res.error.code, 'PGRST200');
    // the same filters without the embedded resource behave as upstream
    ok(await postgrest.rpc('get_user_profile', { user_row: { username: 'supabot' } })
      .eq('username', 'nope').select('id, username'), null);
    ok(await postgrest.rpc('get_user_profile', { user_row: { username: 'supabot' } })
      .eq('username', 'supabot').select('username'), { username: 'supabot' });
  });
  test('RPC call with subselect and computed field', async () => {
    ok(await postgrest.rpc('get_messages_by_username', { search_username: 'supabot' }).select('message, blurb_message'), [
      { blurb_message: 'Hel', message: M1.message },
      { blurb_message: 'Per', message: M2.message },
      { blurb_message: 'Som', message: M3.message },
      { blurb_message: 'Som', message: M4.message },
    ]);
  });
});

describe('basic.test.ts', () => {
  test('rpc', async () => {
    ok(await postgrest.rpc('get_status', { name_param: 'supabot' }), 'ONLINE');
  });
  test('rpc returns void', async () => {
    noContent(await postgrest.rpc('void_func'));
  });
  test("rpc with count: 'exact'", async () => {
    ok(await postgrest.rpc('get_status', { name_param: 'supabot' }, { count: 'exact' }), 'ONLINE', { count: 1 });
  });
  test('rpc with head:true, count:exact', async () => {
    ok(await postgrest.rpc('get_status', { name_param: 'supabot' }, { head: true, count: 'exact' }), null, { count: 1 });
  });
  test('rpc with get:true, count:exact', async () => {
    ok(await postgrest.rpc('get_status', { name_param: 'supabot' }, { get: true, count: 'exact' }), 'ONLINE', { count: 1 });
  });
  test('rpc with get:true, optional param', async () => {
    ok(await postgrest.rpc('function_with_optional_param', { param: undefined }, { get: true }), '');
  });
  test('rpc with get:true, array param', async () => {
    noContent(await postgrest.rpc('function_with_array_param',
      { param: ['00000000-0000-0000-0000-000000000000'] }, { get: true }));
  });
  test('rpc with dynamic schema', async () => {
    ok(await postgrest.schema('personal').rpc('get_status', { name_param: 'kiwicopple' }), 'OFFLINE');
  });
});

describe('filters.test.ts, transforms.test.ts', () => {
  test('filter on rpc', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).neq('status', 'ONLINE'), []);
  });
  test('select on rpc', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).select('status'),
      [{ status: 'ONLINE' }]);
  });
  test('rollback update/rpc', async () => {
    assert.equal(psql(DB, "SELECT status FROM public.users WHERE username = 'dragarcia'"), 'ONLINE');
    const res = await postgrest.rpc('offline_user', { name_param: 'dragarcia' }).rollback();
    assert.equal(res.data, 'OFFLINE');
    assert.equal(psql(DB, "SELECT status FROM public.users WHERE username = 'dragarcia'"), 'ONLINE');
  });
});

describe('embeded_functions_join.test.ts', () => {
  test('created_ago called as a function', async () => {
    notFound(await postgrest.rpc('created_ago', { id: 1 }),
      'Could not find the function public.created_ago(id) in the schema cache',
      'Searched for the function public.created_ago with parameter id or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.');
  });
  test('days_since_event called as a function', async () => {
    notFound(await postgrest.rpc('days_since_event', { id: 1 }),
      'Could not find the function public.days_since_event(id) in the schema cache',
      'Searched for the function public.days_since_event with parameter id or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.');
  });
});

describe('max-affected.test.ts', () => {
  test('should succeed when rpc returns no more results than maxAffected', async () => {
    psql(DB, "INSERT INTO public.users (username, status) VALUES ('testuser', 'ONLINE')");
    try {
      const { data, error } = await postgrest.rpc('set_users_offline', { name_param: 'testuser' })
        .maxAffected(1).select();
      assert.equal(error, null);
      assert.deepEqual(data, [{ username: 'testuser', data: null, age_range: null, status: 'OFFLINE', catchphrase: null }]);
    } finally {
      psql(DB, "DELETE FROM public.users WHERE username = 'testuser'");
    }
  });
  test('should fail when rpc returns more results than maxAffected', async () => {
    psql(DB, "INSERT INTO public.users (username, status) VALUES ('testuser1', 'ONLINE'), ('testuser2', 'ONLINE'), ('testuser3', 'ONLINE')");
    try {
      const { data, error } = await postgrest.rpc('set_users_offline', { name_param: 'testuser%' })
        .maxAffected(1).select();
      assert.equal(error?.code, 'PGRST124');
      assert.equal(data, null);
      // and nothing of it stays
      assert.equal(psql(DB, "SELECT count(*) FROM public.users WHERE username LIKE 'testuser%' AND status = 'OFFLINE'"), '0');
    } finally {
      psql(DB, "DELETE FROM public.users WHERE username LIKE 'testuser%'");
    }
  });
});

describe('beyond the upstream cases', () => {
  test('GET takes PostgREST parameters as the query, not as arguments', async () => {
    ok(await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }, { get: true }).select('username'),
      [{ username: 'supabot' }]);
  });
  test('.eq() then .single() applies the filter first', async () => {
    ok(await postgrest.rpc('function_returning_set_of_rows').select('username').eq('username', 'awailas').single(),
      { username: 'awailas' });
  });
  test('order, range and count', async () => {
    const res = await postgrest.rpc('function_returning_set_of_rows', {}, { count: 'exact' })
      .select('username').order('username', { ascending: false }).range(1, 2);
    ok(res, [{ username: 'kiwicopple' }, { username: 'jsonuser' }], { count: 5, status: 206, statusText: 'Partial Content' });
  });
  test('or=(...) and in', async () => {
    ok(await postgrest.rpc('function_returning_set_of_rows').select('username')
      .or('username.eq.supabot,status.eq.OFFLINE').in('username', ['supabot', 'kiwicopple', 'x']).order('username'),
    [{ username: 'kiwicopple' }, { username: 'supabot' }]);
  });
  test('csv()', async () => {
    const res = await postgrest.rpc('get_username_and_status', { name_param: 'supabot' }).csv();
    ok(res, 'username,status\nsupabot,ONLINE');
  });
  test('Content-Profile puts the schema on the search_path', async () => {
    ok(await postgrest.schema('personal').rpc('get_status', { name_param: 'leroyjenkins' }), 'ONLINE');
  });
});
