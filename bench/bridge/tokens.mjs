// n HS256 tokens for users u1..un, one per line, signed with BENCH_SECRET.
import crypto from 'node:crypto';
const n = Number(process.argv[2] ?? 1000);
const secret = process.env.BENCH_SECRET;
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const h = b64({ alg: 'HS256', typ: 'JWT' });
const exp = Math.floor(Date.now() / 1000) + 7200;
const out = [];
for (let i = 1; i <= n; i++) {
  const p = b64({ sub: `u${i}`, role: 'pgcall_user', exp });
  out.push(`${h}.${p}.${crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`);
}
process.stdout.write(out.join('\n') + '\n');
