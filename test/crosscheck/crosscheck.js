#!/usr/bin/env node
// crosscheck.js: pgcall's Agora tokens against Agora's official builders
// from npm (agora-token for 007, agora-access-token for 006), used here as
// test oracles only.
//
//   node crosscheck.js DATABASE OUTDIR [COUNT] [SEED]
//
// With PGHOST/PGPORT/PGUSER pointing at a server where DATABASE has pgcall
// configured, and the app id and certificate it uses in the environment as
// CROSSCHECK_APP_ID and CROSSCHECK_CERTIFICATE:
//
//  1. draws COUNT random requests (channels and accounts over Agora's whole
//     character set and lengths, uids over 0..2^32-1, both roles, random
//     lifetimes) across every builder, 007 and 006;
//  2. has pgcall build them, through SQL;
//  3. for each token: decodes it with the official decoder, checks every
//     field against the request and the clock, checks the signature, then
//     re-signs the same request with the official builder, with its random
//     salt and clock pinned to the token's, and compares: 006 tokens must be
//     equal character for character, 007 tokens equal after inflating (pgcall
//     stores the zlib stream, Node's builder compresses it);
//  4. the other way round: builds COUNT/4 tokens with the official builders
//     and has pgcall.agora_token_inspect decode and verify them.
//
// Prints TAP-like lines for failures and, last, "crosscheck: N passed, N failed".
'use strict'

const { execFileSync } = require('child_process')
const fs = require('fs')
const path = require('path')
const zlib = require('zlib')

const [database, outdir, countArg, seedArg] = process.argv.slice(2)
if (!database || !outdir) {
    console.error('usage: node crosscheck.js DATABASE OUTDIR [COUNT] [SEED]')
    process.exit(2)
}
const COUNT = Number(countArg || 4000)
const SEED = Number(seedArg || Date.now() % 1000000)
const CERT = process.env.CROSSCHECK_CERTIFICATE
const APP_ID = process.env.CROSSCHECK_APP_ID
if (!/^[0-9a-f]{32}$/i.test(CERT || '') || !/^[0-9a-f]{32}$/i.test(APP_ID || '')) {
    console.error('CROSSCHECK_APP_ID and CROSSCHECK_CERTIFICATE must hold the configured app id and certificate')
    process.exit(2)
}
const OTHER_CERT = CERT.replace(/./, c => (c === '0' ? '1' : '0'))

const AGORA_007 = path.join(__dirname, 'node_modules', 'agora-token')
const AGORA_006 = path.join(__dirname, 'node_modules', 'agora-access-token')
const { AccessToken2, ServiceRtc, ServiceRtm, kRtcServiceType, kRtmServiceType } =
    require(path.join(AGORA_007, 'src', 'AccessToken2'))
const { RtcTokenBuilder: Rtc2, RtcRole: Role2, RtmTokenBuilder: Rtm2 } = require(AGORA_007)

// Deterministic random numbers (mulberry32) so a failure can be replayed.
let state = SEED >>> 0
function rand() {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))
const CHARSET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&()+-:;<=.>?@[]^_{}|~,'
function agoraString(max) {
    // Short and maximal lengths both matter.
    const len = rand() < 0.1 ? max : int(1, max)
    let s = ''
    for (let i = 0; i < len; i++) s += CHARSET[int(0, CHARSET.length - 1)]
    return s
}
function uid() {
    const r = rand()
    if (r < 0.1) return 0
    if (r < 0.15) return 4294967295
    return int(1, 4294967295)
}

const KINDS = ['rtc_account', 'rtc_uid', 'priv_account', 'priv_uid', 'rtm',
    'rtc006_account', 'rtc006_uid', 'rtm006']

function request(id) {
    const kind = KINDS[id % KINDS.length]
    const r = { id, kind, channel: agoraString(64), account: '', uid: 0,
        role: rand() < 0.5 ? 'publisher' : 'subscriber', ttl: int(60, 86400), ttls: [] }
    if (kind.endsWith('account')) r.account = agoraString(255)
    if (kind.endsWith('uid')) r.uid = uid()
    if (kind.startsWith('rtm')) r.account = agoraString(64)
    r.privTtl = int(60, r.ttl)
    if (kind.startsWith('priv')) r.ttls = [0, 1, 2, 3].map(() => int(60, r.ttl))
    return r
}

function sqlFor(r) {
    const lit = s => "'" + s.replace(/'/g, "''") + "'"
    switch (r.kind) {
    case 'rtc_account': return `pgcall.agora_rtc_token(${lit(r.channel)}, ${lit(r.account)}, ${lit(r.role)}, ${r.ttl}, ${r.privTtl})`
    case 'rtc_uid': return `pgcall.agora_rtc_token(${lit(r.channel)}, ${r.uid}::bigint, ${lit(r.role)}, ${r.ttl}, ${r.privTtl})`
    case 'priv_account': return `pgcall.agora_rtc_token_with_privileges(${lit(r.channel)}, ${lit(r.account)}, ${r.ttl}, ${r.ttls.join(', ')})`
    case 'priv_uid': return `pgcall.agora_rtc_token_with_privileges(${lit(r.channel)}, ${r.uid}::bigint, ${r.ttl}, ${r.ttls.join(', ')})`
    case 'rtm': return `pgcall.agora_rtm_token(${lit(r.account)}, ${r.ttl})`
    case 'rtc006_account': return `pgcall.agora_rtc_token_006(${lit(r.channel)}, ${lit(r.account)}, ${lit(r.role)}, ${r.ttl})`
    case 'rtc006_uid': return `pgcall.agora_rtc_token_006(${lit(r.channel)}, ${r.uid}::bigint, ${lit(r.role)}, ${r.ttl})`
    case 'rtm006': return `pgcall.agora_rtm_token_006(${lit(r.account)}, ${r.ttl})`
    }
    throw new Error(r.kind)
}

function psql(sqlFile) {
    return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', sqlFile],
        { encoding: 'utf8', maxBuffer: 1 << 28 })
}

// Run fn with the official builders' clock and random source pinned.
function pinned(unixSeconds, random, fn) {
    const RealDate = Date
    const realRandom = Math.random
    global.Date = class extends RealDate {
        constructor(...args) { if (args.length) super(...args); else super(unixSeconds * 1000) }
        static now() { return unixSeconds * 1000 }
    }
    Math.random = () => random
    try { return fn() } finally { global.Date = RealDate; Math.random = realRandom }
}

// The 006 builders draw their salt once, when AccessToken.js is loaded: load
// a fresh copy with Math.random pinned to give the wanted salt.
function fresh006(salt) {
    for (const k of Object.keys(require.cache))
        if (k.startsWith(AGORA_006 + path.sep)) delete require.cache[k]
    const realRandom = Math.random
    Math.random = () => (salt + 0.5) / 0xFFFFFFFF
    try { return require(AGORA_006) } finally { Math.random = realRandom }
}

const inflate = t => zlib.inflateSync(Buffer.from(t.slice(3), 'base64'))

let passed = 0
let failed = 0
const failures = []
function result(ok, what) {
    if (ok) { passed++; return }
    failed++
    if (failures.length < 20) failures.push(what)
}

// Check one pgcall 007 token; returns a reason when wrong.
function check007(r, token, t0, t1) {
    const parsed = new AccessToken2('', '', 0, 0)
    if (!parsed.from_string(token)) return 'official decoder refuses it'
    if (!parsed.verifySignature(CERT)) return 'signature does not verify with the certificate'
    if (parsed.verifySignature(OTHER_CERT)) return 'signature verifies with another certificate'
    if (parsed.issueTs < t0 || parsed.issueTs > t1) return `issue time ${parsed.issueTs} outside ${t0}..${t1}`
    if (parsed.expire !== r.ttl) return `expire ${parsed.expire}, wanted ${r.ttl}`
    if (parsed.salt < 1 || parsed.salt > 99999999) return `salt ${parsed.salt} outside Agora's range`
    if (parsed.appId.toString() !== APP_ID) return `app id ${parsed.appId}`
    if (parsed.services.length !== 1) return `${parsed.services.length} services`
    const user = r.kind.endsWith('uid') ? (r.uid === 0 ? '' : String(r.uid)) : r.account
    let official
    if (r.kind === 'rtm') {
        const s = parsed.getServices(kRtmServiceType)[0]
        if (!s || s.__user_id.toString() !== r.account) return 'rtm user id differs'
        official = pinned(parsed.issueTs, (parsed.salt - 0.5) / 99999999,
            () => Rtm2.buildToken(APP_ID, CERT, r.account, r.ttl))
    } else {
        const s = parsed.getServices(kRtcServiceType)[0]
        if (!s || s.__channel_name.toString() !== r.channel) return 'channel differs'
        if (s.__uid.toString() !== user) return 'uid/account differs'
        const role = r.role === 'publisher' ? Role2.PUBLISHER : Role2.SUBSCRIBER
        official = pinned(parsed.issueTs, (parsed.salt - 0.5) / 99999999, () => {
            switch (r.kind) {
            case 'rtc_account': return Rtc2.buildTokenWithUserAccount(APP_ID, CERT, r.channel, r.account, role, r.ttl, r.privTtl)
            case 'rtc_uid': return Rtc2.buildTokenWithUid(APP_ID, CERT, r.channel, r.uid, role, r.ttl, r.privTtl)
            case 'priv_account': return Rtc2.BuildTokenWithUserAccountAndPrivilege(APP_ID, CERT, r.channel, r.account, r.ttl, ...r.ttls)
            case 'priv_uid': return Rtc2.buildTokenWithUidAndPrivilege(APP_ID, CERT, r.channel, r.uid, r.ttl, ...r.ttls)
            }
        })
    }
    if (!official) return 'official builder refused the request'
    if (!inflate(official).equals(inflate(token))) return 'content differs from the official builder\'s with the same salt and time'
    return null
}

function check006(r, token, t0, t1) {
    const { AccessToken } = require(path.join(AGORA_006, 'src', 'AccessToken'))
    const parsed = new AccessToken('', '', '', '')
    if (!parsed.fromString(token)) return 'official decoder refuses it'
    const rtm = r.kind === 'rtm006'
    const keys = Object.keys(parsed.messages).map(Number)
    const want = rtm ? [1000] : (r.role === 'publisher' ? [1, 2, 3, 4] : [1])
    if (keys.join() !== want.join()) return `privileges ${keys}, wanted ${want}`
    const expiry = parsed.messages[want[0]]
    if (expiry < t0 + r.ttl || expiry > t1 + r.ttl) return `privilege expiry ${expiry} outside ${t0 + r.ttl}..${t1 + r.ttl}`
    if (parsed.ts < t0 + 86400 || parsed.ts > t1 + 86400) return `token expiry ${parsed.ts} is not a day after issue`
    const appId = token.slice(3, 35)
    if (appId !== APP_ID) return `app id ${appId}`
    let official
    if (rtm) {
        const lib = fresh006(parsed.salt)
        official = pinned(parsed.ts - 86400, 0.5,
            () => lib.RtmTokenBuilder.buildToken(appId, CERT, r.account, lib.RtmRole.Rtm_User, expiry))
    } else {
        // The RTC builder keeps the AccessToken it made (as RtcTokenBuilder.key):
        // pin its salt and expiry, keep the privileges it chose for the role.
        const lib = require(AGORA_006)
        const role = r.role === 'publisher' ? lib.RtcRole.PUBLISHER : lib.RtcRole.SUBSCRIBER
        if (r.kind === 'rtc006_uid') lib.RtcTokenBuilder.buildTokenWithUid(appId, CERT, r.channel, r.uid, role, expiry)
        else lib.RtcTokenBuilder.buildTokenWithAccount(appId, CERT, r.channel, r.account, role, expiry)
        lib.RtcTokenBuilder.key.salt = parsed.salt
        lib.RtcTokenBuilder.key.ts = parsed.ts
        official = lib.RtcTokenBuilder.key.build()
    }
    if (official !== token) return 'differs from the official builder\'s token with the same salt and time'
    return null
}

// --- 1 and 2: pgcall builds ---
fs.mkdirSync(outdir, { recursive: true })
const requests = []
for (let i = 0; i < COUNT; i++) requests.push(request(i))
const buildSql = path.join(outdir, 'build.sql')
fs.writeFileSync(buildSql,
    'SELECT floor(extract(epoch FROM clock_timestamp()))::bigint;\n' +
    'SELECT token FROM (VALUES\n' +
    requests.map(r => `  (${r.id}, ${sqlFor(r)})`).join(',\n') +
    '\n) AS made(id, token) ORDER BY id;\n' +
    'SELECT ceil(extract(epoch FROM clock_timestamp()))::bigint;\n')
const out = psql(buildSql).trim().split('\n')
const t0 = Number(out[0])
const tokens = out.slice(1, -1)
const t1 = Number(out[out.length - 1])
if (tokens.length !== COUNT) {
    console.error(`expected ${COUNT} tokens, got ${tokens.length}`)
    process.exit(1)
}
fs.writeFileSync(path.join(outdir, 'pgcall-tokens.txt'), tokens.join('\n') + '\n')

// --- 3: the official decoders and builders judge them ---
for (const r of requests) {
    const token = tokens[r.id]
    const why = r.kind.includes('006') ? check006(r, token, t0, t1) : check007(r, token, t0, t1)
    result(why === null, `${r.kind} #${r.id} (seed ${SEED}): ${why}\n#   request ${JSON.stringify(r)}\n#   token ${token}`)
}

// --- 4: pgcall inspects the official builders' tokens ---
const reverse = []
for (let i = 0; i < Math.floor(COUNT / 4); i++) {
    const r = request(COUNT + i)
    const lib006 = require(AGORA_006)
    const role2 = r.role === 'publisher' ? Role2.PUBLISHER : Role2.SUBSCRIBER
    const role6 = r.role === 'publisher' ? lib006.RtcRole.PUBLISHER : lib006.RtcRole.SUBSCRIBER
    let token, channel = null, account = null
    switch (r.kind) {
    case 'rtc_account': token = Rtc2.buildTokenWithUserAccount(APP_ID, CERT, r.channel, r.account, role2, r.ttl, r.privTtl); break
    case 'rtc_uid': token = Rtc2.buildTokenWithUid(APP_ID, CERT, r.channel, r.uid, role2, r.ttl, r.privTtl); break
    case 'priv_account': token = Rtc2.BuildTokenWithUserAccountAndPrivilege(APP_ID, CERT, r.channel, r.account, r.ttl, ...r.ttls); break
    case 'priv_uid': token = Rtc2.buildTokenWithUidAndPrivilege(APP_ID, CERT, r.channel, r.uid, r.ttl, ...r.ttls); break
    case 'rtm': token = Rtm2.buildToken(APP_ID, CERT, r.account, r.ttl); break
    case 'rtc006_account':
        token = lib006.RtcTokenBuilder.buildTokenWithAccount(APP_ID, CERT, r.channel, r.account, role6, 2000000000)
        channel = r.channel; account = r.account; break
    case 'rtc006_uid':
        token = lib006.RtcTokenBuilder.buildTokenWithUid(APP_ID, CERT, r.channel, r.uid, role6, 2000000000)
        channel = r.channel; account = r.uid === 0 ? '' : String(r.uid); break
    case 'rtm006':
        token = lib006.RtmTokenBuilder.buildToken(APP_ID, CERT, r.account, 1, 2000000000)
        channel = r.account; account = ''; break
    }
    reverse.push({ r, token, channel, account })
}
const lit = s => (s === null ? 'NULL' : "'" + s.replace(/'/g, "''") + "'")
const inspectSql = path.join(outdir, 'inspect.sql')
fs.writeFileSync(inspectSql, reverse.map(x =>
    `SELECT pgcall.agora_token_inspect(${lit(x.token)}, ${lit(x.channel)}, ${lit(x.account)});`).join('\n') + '\n')
const inspected = psql(inspectSql).trim().split('\n').map(l => JSON.parse(l))
reverse.forEach((x, i) => {
    const j = inspected[i]
    const r = x.r
    let why = null
    if (!j || !j.signature || j.signature.valid !== true || j.signature.certificate !== 'primary') why = 'signature not verified'
    else if (j.app_id !== APP_ID) why = 'app id differs'
    else if (r.kind.includes('006')) {
        if (j.channel_matches !== true || j.account_matches !== true) why = 'channel or account checksum differs'
    } else {
        const s = j.services && j.services[0]
        const user = r.kind.endsWith('uid') ? (r.uid === 0 ? '' : String(r.uid)) : r.account
        if (j.expire !== r.ttl) why = `expire ${j.expire}`
        else if (r.kind === 'rtm') { if (!s || s.name !== 'rtm' || s.user_id !== r.account) why = 'rtm user differs' }
        else if (!s || s.name !== 'rtc' || s.channel !== r.channel || s.uid !== user) why = 'rtc channel or uid differs'
        else {
            const want = r.kind.startsWith('priv') ? r.ttls : (r.role === 'publisher' ? [1, 2, 3, 4] : [1]).map(() => r.privTtl)
            const got = s.privileges.map(p => p.expire)
            if (got.join() !== want.join()) why = `privilege lifetimes ${got}, wanted ${want}`
        }
    }
    result(why === null, `inspect of official ${r.kind} token (seed ${SEED}): ${why}\n#   token ${x.token}\n#   inspect ${JSON.stringify(j)}`)
})

for (const f of failures) console.log('not ok - ' + f)
console.log(`# seed ${SEED}: ${COUNT} pgcall tokens judged by Agora's builders, ${reverse.length} official tokens inspected by pgcall`)
console.log(`crosscheck: ${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
