// @supabase/postgrest-js pointed at the bridge, unchanged.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { PostgrestClient } from '@supabase/postgrest-js';
import { createDatabase, startBridge, userToken } from './lib.mjs';

const DB = createDatabase('bridge_postgrest');
let b;
before(async () => { b = await startBridge(DB); });
after(async () => { await b.stop(); });

const client = (schema, token) => new PostgrestClient(b.url, {
  schema, headers: token ? { Authorization: `Bearer ${token}`, apikey: 'anon-key' } : {},
});

test('rpc returns data with status 200', async () => {
  const { data, error, status } = await client('bridge_test').rpc('echo', { a: 'x', b: 3, d: ['p', 'q'] });
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.deepEqual(data, { a: 'x', b: 3, c: null, d: ['p', 'q'] });
});

test('rpc with get: true sends query arguments, arrays as {a,b}', async () => {
  const { data, error } = await client('bridge_test').rpc('echo', { a: 'y', d: ['one', 'two'] }, { get: true });
  assert.equal(error, null);
  assert.deepEqual(data, { a: 'y', b: null, c: null, d: ['one', 'two'] });
});

test('rpc with count: exact reads the count from Content-Range', async () => {
  const { data, count } = await client('bridge_test').rpc('numbers', { n: 5 }, { count: 'exact' });
  assert.deepEqual(data, [1, 2, 3, 4, 5]);
  assert.equal(count, 5);
});

test('rpc with head: true', async () => {
  const { data, error, status } = await client('bridge_test').rpc('numbers', { n: 2 }, { head: true });
  assert.equal(error, null);
  assert.equal(status, 200);
  assert.equal(data, null);
});

test('single() asks for one object', async () => {
  const { data, error } = await client('bridge_test').rpc('pair', { x: 3 }).single();
  assert.equal(error, null);
  assert.deepEqual(data, { x: 3, y: 'y3' });
});

test('void functions give null data and 204', async () => {
  const { data, error, status } = await client('bridge_test').rpc('nothing');
  assert.equal(error, null);
  assert.equal(status, 204);
  assert.equal(data, null);
});

test('errors arrive as PostgrestError with code, message, details, hint', async () => {
  const { data, error, status } = await client('bridge_test').rpc('raise', { code: 'P404A', detail: 'd', hint: 'h' });
  assert.equal(data, null);
  assert.equal(status, 404);
  assert.equal(error.code, 'P404A');
  assert.equal(error.message, 'raised on purpose');
  assert.equal(error.details, 'd');
  assert.equal(error.hint, 'h');
});

test('an unknown function is PGRST202 / 404', async () => {
  const { error, status } = await client('pgcall').rpc('does_not_exist', {});
  assert.equal(status, 404);
  assert.equal(error.code, 'PGRST202');
});

test('a pgcall function with the user JWT', async () => {
  const { data, error } = await client('pgcall', userToken('pj-user')).rpc('current_user_id');
  assert.equal(error, null);
  assert.equal(data, 'pj-user');
});

test('a bad JWT is a 401 PGRST301', async () => {
  const { error, status } = await client('pgcall', 'not.a.jwt').rpc('current_user_id');
  assert.equal(status, 401);
  assert.equal(error.code, 'PGRST301');
});
