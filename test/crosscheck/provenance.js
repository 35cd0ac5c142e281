#!/usr/bin/env node
// provenance.js: every test vector compiled into vectors.c must appear,
// character for character, in the test files that Agora ships in its npm
// packages, so the C table cannot drift from the published facts.
//
//   node provenance.js < list      (the output of: vectors --list)
'use strict'

const fs = require('fs')
const path = require('path')

const dirs = ['agora-token', 'agora-access-token'].map(p => path.join(__dirname, 'node_modules', p, 'test'))
const published = dirs.flatMap(d => fs.readdirSync(d).map(f => fs.readFileSync(path.join(d, f), 'utf8'))).join('\n')
const tokens = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean)
let failed = 0
for (const t of tokens) {
    if (!published.includes(t)) {
        failed++
        console.log(`not ok - vector not found in the npm packages' tests: ${t}`)
    }
}
console.log(`provenance: ${tokens.length - failed} passed, ${failed} failed`)
process.exit(failed === 0 && tokens.length > 0 ? 0 : 1)
