#!/usr/bin/env node
// tokens-node.js: the official Node builder (agora-token's
// RtcTokenBuilder2.buildTokenWithUserAccount) minting COUNT tokens on one
// core, with the inputs bench/tokens gives pgcall.  Prints tokens per second,
// the best of RUNS runs, and the mean token length.
//
//   node tokens-node.js APP_ID CERTIFICATE COUNT RUNS CHANNEL ACCOUNT TTL
//
// A CHANNEL or ACCOUNT ending in "-" gets the token's number appended
// ("room-1", "room-2", ...), as bench/tokens does in SQL.
'use strict'
const path = require('path')
const { RtcTokenBuilder, RtcRole } = require(path.join(__dirname, '..', 'test', 'crosscheck', 'node_modules', 'agora-token'))

const [appId, cert, count, runs, channel, account, ttl] = process.argv.slice(2)
const n = Number(count)
let best = 0
let length = 0
for (let r = 0; r < Number(runs); r++) {
    let total = 0
    const t0 = process.hrtime.bigint()
    const vc = channel.endsWith('-')
    const va = account.endsWith('-')
    for (let i = 1; i <= n; i++)
        total += RtcTokenBuilder.buildTokenWithUserAccount(appId, cert, vc ? channel + i : channel,
            va ? account + i : account, RtcRole.PUBLISHER, Number(ttl), Number(ttl)).length
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    best = Math.max(best, n / seconds)
    length = total / n
}
console.log(`${Math.round(best)} ${length.toFixed(1)}`)
