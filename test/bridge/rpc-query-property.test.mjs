// Property: for random selects, filters (and or=/and= trees), orders, limits
// and offsets over a set-returning function, the bridge answers exactly
// what the same query written in SQL by hand returns.  The generator is
// seeded (PGCALL_PROPERTY_SEED, printed on failure) so a failure replays.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDatabase, psql, startBridge } from './lib.mjs';

const DB = createDatabase('bridge_rpc_property');
const RUNS = Number(process.env.PGCALL_PROPERTY_RUNS ?? 300);
const SEED = Number(process.env.PGCALL_PROPERTY_SEED ?? 20261201);

const TEXTS = ['alpha', 'beta,gamma', 'de"lta', 'e(psi)lon', 'ζeta', 'a&b=c', 'x y', '100%', 'back\\slash', "it's"];
const sqlLit = (v) => `'${String(v).replace(/'/g, "''")}'`;

let b;
before(async () => {
  const rows = [];
  let s = 7;
  const next = () => { s = (s * 1103515245 + 12345) % 2147483648; return s; };
  for (let id = 1; id <= 40; id++) {
    const a = next() % 7 === 0 ? 'NULL' : String(next() % 20 - 5);
    const t = next() % 6 === 0 ? 'NULL' : sqlLit(TEXTS[next() % TEXTS.length]);
    const c = next() % 5 === 0 ? 'NULL' : String((next() % 1000) / 100);
    const d = ['true', 'false', 'NULL'][next() % 3];
    rows.push(`(${id}, ${a}, ${t}, ${c}, ${d})`);
  }
  psql(DB, `CREATE SCHEMA prop;
    CREATE TABLE prop.row (id integer PRIMARY KEY, a integer, b text, c numeric, d boolean);
    INSERT INTO prop.row VALUES ${rows.join(', ')};
    CREATE FUNCTION prop.rows() RETURNS SETOF prop.row LANGUAGE sql STABLE AS 'SELECT * FROM prop.row';
    GRANT USAGE ON SCHEMA prop TO pgcall_anon;
    GRANT SELECT ON prop.row TO pgcall_anon;
    ALTER DATABASE bridge_rpc_property SET pgcall.rpc_schemas = 'pgcall, prop';`);
  b = await startBridge(DB, { args: ['--schemas', 'prop'] });
});
after(async () => { await b.stop(); });

function rng(seed) {
  let x = seed >>> 0 || 1;
  const r = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
  return { int: (n) => Math.floor(r() * n), pick: (arr) => arr[Math.floor(r() * arr.length)], chance: (p) => r() < p };
}

const COLS = { id: 'int', a: 'int', b: 'text', c: 'num', d: 'bool' };

// One condition: [postgrest "col.op.value" form (tree or top level), SQL]
function leaf(g, inTree) {
  const col = g.pick(Object.keys(COLS));
  const type = COLS[col];
  const q = (v) => (inTree ? `"${String(v).replace(/[\\"]/g, (m) => `\\${m}`)}"` : String(v));
  const qin = (v) => `"${String(v).replace(/[\\"]/g, (m) => `\\${m}`)}"`;
  const value = () => (type === 'text' ? g.pick(TEXTS) : type === 'num' ? (g.int(1000) / 100).toString()
    : type === 'bool' ? g.pick(['true', 'false']) : String(g.int(20) - 5));
  let op;
  let sql;
  let arg;
  const kinds = type === 'bool' ? ['is', 'eq'] : type === 'text' ? ['eq', 'neq', 'like', 'ilike', 'in', 'is', 'gt']
    : ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'is', 'isdistinct'];
  op = g.pick(kinds);
  if (op === 'is') {
    arg = type === 'bool' ? g.pick(['null', 'true', 'false', 'not_null']) : g.pick(['null', 'not_null']);
    sql = `r.${col} IS ${arg === 'not_null' ? 'NOT NULL' : arg.toUpperCase()}`;
  } else if (op === 'in') {
    const vals = Array.from({ length: g.int(4) }, value);
    arg = `(${vals.map(qin).join(',')})`;
    sql = vals.length ? `r.${col} IN (${vals.map(sqlLit).join(', ')})` : 'false';
  } else if (op === 'like' || op === 'ilike') {
    const v = g.pick(TEXTS);
    const pat = g.pick([`*${v.slice(1, 3)}*`, `${v.slice(0, 2)}*`, `*${v.slice(-2)}`]);
    arg = q(pat);
    sql = `r.${col} ${op === 'like' ? 'LIKE' : 'ILIKE'} ${sqlLit(pat.replace(/\*/g, '%'))}`;
  } else {
    const v = value();
    const sqlop = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=', isdistinct: 'IS DISTINCT FROM' }[op];
    arg = q(v);
    sql = `r.${col} ${sqlop} ${sqlLit(v)}`;
  }
  const not = g.chance(0.2);
  return { col, pg: `${not ? 'not.' : ''}${op}.${arg}`, sql: not ? `NOT (${sql})` : `(${sql})` };
}

function tree(g, depth) {
  const kind = g.pick(['or', 'and']);
  const n = 1 + g.int(3);
  const parts = [];
  for (let i = 0; i < n; i++) {
    if (depth < 2 && g.chance(0.25)) {
      const t = tree(g, depth + 1);
      parts.push({ pg: `${t.kind}${t.pg}`, sql: t.sql });
    } else {
      const l = leaf(g, true);
      parts.push({ pg: `${l.col}.${l.pg}`, sql: l.sql });
    }
  }
  return { kind, pg: `(${parts.map((p) => p.pg).join(',')})`, sql: `(${parts.map((p) => p.sql).join(kind === 'or' ? ' OR ' : ' AND ')})` };
}

function query(g) {
  const params = [];
  const where = [];
  for (let i = g.int(3); i > 0; i--) {
    const l = leaf(g, false);
    params.push([l.col, l.pg]);
    where.push(l.sql);
  }
  if (g.chance(0.4)) {
    const t = tree(g, 0);
    const not = g.chance(0.2);
    params.push([`${not ? 'not.' : ''}${t.kind}`, t.pg]);
    where.push(not ? `NOT ${t.sql}` : t.sql);
  }
  let select = '*';
  let sqlSelect = 'r.*';
  if (g.chance(0.7)) {
    const cols = Object.keys(COLS).filter(() => g.chance(0.6));
    if (cols.length) {
      const items = cols.map((c) => (g.chance(0.3) ? [`x_${c}`, c] : [c, c]));
      select = items.map(([alias, c]) => (alias === c ? c : `${alias}:${c}`)).join(',');
      sqlSelect = items.map(([alias, c]) => `r.${c} AS ${alias}`).join(', ');
    }
  }
  params.push(['select', select]);
  const order = [];
  for (let i = g.int(3); i > 0; i--) {
    const c = g.pick(['a', 'b', 'c', 'd']);
    const dir = g.pick(['', '.asc', '.desc']);
    const nulls = g.pick(['', '.nullsfirst', '.nullslast']);
    order.push([`${c}${dir}${nulls}`,
      `r.${c}${dir === '.desc' ? ' DESC' : ''}${nulls === '.nullsfirst' ? ' NULLS FIRST' : nulls === '.nullslast' ? ' NULLS LAST' : ''}`]);
  }
  order.push(['id', 'r.id']);	// a total order, so pages are deterministic
  params.push(['order', order.map((o) => o[0]).join(',')]);
  let limit = '';
  if (g.chance(0.5)) {
    const n = g.int(12);
    params.push(['limit', String(n)]);
    limit += ` LIMIT ${n}`;
  }
  if (g.chance(0.4)) {
    const n = g.int(8);
    params.push(['offset', String(n)]);
    limit += ` OFFSET ${n}`;
  }
  const qs = params.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  const sql = `SELECT coalesce(json_agg(t), '[]') FROM (SELECT ${sqlSelect} FROM prop.rows() r` +
    `${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order.map((o) => o[1]).join(', ')}${limit}) t`;
  return { qs, sql };
}

test(`${RUNS} random queries answer as the same SQL written by hand (seed ${SEED})`, async () => {
  const g = rng(SEED);
  for (let i = 0; i < RUNS; i++) {
    const { qs, sql } = query(g);
    const get = g.chance(0.3);
    const res = await fetch(`${b.url}/rpc/rows?${qs}`, get
      ? { headers: { 'Accept-Profile': 'prop' } }
      : { method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Profile': 'prop' }, body: '{}' });
    const text = await res.text();
    const expected = JSON.parse(psql(DB, sql));
    assert.equal(res.status, 200, `run ${i} ${get ? 'GET' : 'POST'} ?${qs}\n${text}`);
    assert.deepEqual(JSON.parse(text), expected, `run ${i} ${get ? 'GET' : 'POST'} ?${qs}\nSQL: ${sql}`);
  }
});
