// Seed 003's web client (seed003/: the seed guide's Socket.IO and WebRTC
// code, changed only in the URL) in two headless Chromium processes against
// a bridge serving --socketio-dialect seed003: a peer-to-peer video call whose
// offer, answer and ICE candidates go through initiateCall / acceptCall /
// sendOffer / receiveOffer / sendAnswer / receiveAnswer / sendIceCandidate /
// receiveIceCandidate, media decoded both ways, then endCall and the history.
//
// The page is served by this file from an origin other than the bridge's, so
// socket.io-client's start on HTTP long-polling is cross-origin (CORS on the
// bridge's polling transport), and then upgrades to WebSocket.  Screenshots
// and console logs go to $PGCALL_ARTIFACTS; every wait is bounded.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS_DIR, ROOT, createDatabase, psql, startBridge, userToken } from '../bridge/lib.mjs';

const DB = createDatabase('browser_seed003');
psql(DB, `INSERT INTO pgcall.profile VALUES ('alice', 'Alice A.', 'https://img.example/alice.png')`);
const CHROMIUM = process.env.PGCALL_CHROMIUM ?? '/usr/bin/chromium';
const STEP_MS = 30000;
const shots = path.join(ARTIFACTS_DIR, 'screenshots');
fs.mkdirSync(shots, { recursive: true });

const HERE = import.meta.dirname;
const FILES = {
  '/': [path.join(HERE, 'seed003/index.html'), 'text/html; charset=utf-8'],
  '/client.js': [path.join(HERE, 'seed003/client.js'), 'text/javascript; charset=utf-8'],
  // the browser bundle as npm ships it
  '/socket.io.min.js': [path.join(HERE, 'node_modules/socket.io-client/dist/socket.io.min.js'), 'text/javascript; charset=utf-8'],
};

let bridge;
let site;        // the page's own origin
let siteUrl;
const users = {};

async function launch(name) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_MS,
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await (await browser.newContext({ viewport: { width: 900, height: 640 } })).newPage();
  page.setDefaultTimeout(STEP_MS);
  const log = fs.createWriteStream(path.join(ARTIFACTS_DIR, `console-seed003-${name}.log`));
  page.on('console', (m) => log.write(`${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => log.write(`pageerror: ${e.stack ?? e}\n`));
  const requests = [];
  page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
  users[name] = { name, browser, page, requests };
  const q = new URLSearchParams({ server: bridge.url, token: userToken(name), me: name });
  await page.goto(`${siteUrl}/?${q}`, { waitUntil: 'domcontentloaded' });
  return users[name];
}

const shot = (name, page) => page.screenshot({ path: path.join(shots, `seed003-${name}.png`) });

async function until(what, fn, timeoutMs = STEP_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// What the page's socket saw: [name, payload] in order.
const seen = (u) => u.page.evaluate(() => seen);
const saw = async (u, name) => (await seen(u)).filter(([n]) => n === name).map(([, p]) => p);
const stats = (u) => u.page.evaluate(() => mediaStats());

afterEach(async (t) => {
  if (t.passed !== false) return;
  for (const u of Object.values(users)) {
    await u.page.screenshot({ path: path.join(shots, `FAILED-seed003-${u.name}.png`) }).catch(() => {});
    const state = await u.page.evaluate(() => ({ seen, currentCallId })).catch((e) => String(e));
    fs.appendFileSync(path.join(ARTIFACTS_DIR, `console-seed003-${u.name}.log`),
      `--- after failed step "${t.name}": ${JSON.stringify(state)}\n`);
  }
});

before(async () => {
  bridge = await startBridge(DB, { args: ['--socketio-dialect', 'seed003'] });
  site = http.createServer((req, res) => {
    const f = FILES[new URL(req.url, 'http://x').pathname];
    if (!f || req.method !== 'GET') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store' }).end(fs.readFileSync(f[0]));
  });
  await new Promise((r) => site.listen(0, '127.0.0.1', r));
  siteUrl = `http://127.0.0.1:${site.address().port}`;
});

after(async () => {
  await Promise.all(Object.values(users).map((u) => u.browser.close().catch(() => {})));
  site?.close();
  await bridge?.stop();
});

test('two browsers load the seed\'s client from another origin and connect: long-polling first, then WebSocket', { timeout: 90000 }, async () => {
  await Promise.all(['alice', 'bob'].map(launch));
  for (const u of Object.values(users)) {
    await until(`${u.name} connected`, () => saw(u, 'connect').then((c) => c.length));
    // socket.io-client's default start: HTTP long-polling, cross-origin
    assert.deepEqual(await saw(u, 'open'), ['polling'], u.name);
    assert.ok(u.requests.some((r) => r.startsWith(`GET ${bridge.url}/socket.io/?EIO=4&transport=polling`)), u.name);
    assert.deepEqual(await until(`${u.name} upgraded`, () => saw(u, 'upgrade').then((x) => x.length && x)), ['websocket']);
    assert.deepEqual(await saw(u, 'connect_error'), [], u.name);
  }
  await shot('connected-alice', users.alice.page);
});

let callId;

test('alice calls bob (initiateCall): bob\'s page shows the incoming call with alice\'s name', { timeout: 60000 }, async () => {
  const { alice, bob } = users;
  await alice.page.evaluate(() => startCall('bob', 'video'));
  const [init] = await until('callInitiated', () => saw(alice, 'callInitiated').then((x) => x.length && x));
  assert.equal(init.receiverId, 'bob');
  assert.equal(init.callType, 'video');
  callId = init.callId;
  await bob.page.waitForSelector('#incoming:not([hidden])');
  assert.equal(await bob.page.textContent('#incoming-name'), 'Alice A.');
  const [inc] = await saw(bob, 'incomingCall');
  assert.deepEqual({ callId: inc.callId, callerId: inc.callerId, callType: inc.callType }, { callId, callerId: 'alice', callType: 'video' });
  await shot('ringing-bob', bob.page);
});

test('bob accepts: offer, answer and ICE candidates through the bridge, and both decode each other\'s audio and video', { timeout: 90000 }, async () => {
  const { alice, bob } = users;
  await bob.page.click('#accept');
  assert.deepEqual(await until('callAcceptedConfirm', () => saw(bob, 'callAcceptedConfirm').then((x) => x.length && x)), [{ callId }]);
  assert.deepEqual(await until('callAccepted', () => saw(alice, 'callAccepted').then((x) => x.length && x)), [{ callId, receiverId: 'bob' }]);
  for (const [u, peer] of [[alice, 'bob'], [bob, 'alice']]) {
    await until(`${u.name} connected to ${peer}`, async () => (await stats(u))?.connectionState === 'connected');
    await until(`${u.name} decoding ${peer}'s video and audio`, async () => {
      const s = (await stats(u)).inbound;
      return s.video?.framesDecoded > 0 && s.video.bytesReceived > 0 &&
        s.audio?.bytesReceived > 0 && s.audio.totalSamplesReceived > 0;
    });
    await until(`${u.name}'s remote video playing`, () => u.page.evaluate(() => document.getElementById('remote').videoWidth > 0));
  }
  // the signaling went through the dialect, each side's from the other
  const offers = await saw(bob, 'receiveOffer');
  assert.equal(offers.length, 1);
  assert.equal(offers[0].from, 'alice');
  assert.equal(offers[0].callId, callId);
  assert.equal(offers[0].offer.type, 'offer');
  const answers = await saw(alice, 'receiveAnswer');
  assert.equal(answers.length, 1);
  assert.equal(answers[0].from, 'bob');
  assert.equal(answers[0].answer.type, 'answer');
  for (const [u, from] of [[alice, 'bob'], [bob, 'alice']]) {
    const c = await saw(u, 'receiveIceCandidate');
    assert.ok(c.length > 0, `${u.name} got ICE candidates`);
    assert.ok(c.every((x) => x.from === from && x.callId === callId && typeof x.candidate.candidate === 'string'));
  }
  await shot('in-call-alice', alice.page);
  await shot('in-call-bob', bob.page);
});

test('alice ends the call (endCall): both get callEnded, close their peer connections, and the call is in both histories', { timeout: 60000 }, async () => {
  const { alice, bob } = users;
  await alice.page.evaluate((id) => endCall(id), callId);
  assert.deepEqual(await until('callEndedConfirm', () => saw(alice, 'callEndedConfirm').then((x) => x.length && x)), [{ callId }]);
  for (const u of [alice, bob]) {
    const [ended] = await until(`${u.name}'s callEnded`, () => saw(u, 'callEnded').then((x) => x.length && x));
    assert.deepEqual(ended, { callId, endedBy: 'alice' });
    await until(`${u.name}'s peer connection closed`, () => u.page.evaluate(() => rtcPeerConnection === null && localStream === null));
  }
  for (const u of [alice, bob]) {
    const r = await fetch(`${bridge.url}/rpc/call_history`, {
      method: 'POST', headers: { Authorization: `Bearer ${userToken(u.name)}`, 'Content-Type': 'application/json' }, body: '{}',
    });
    assert.equal(r.status, 200);
    const h = (await r.json()).data.find((c) => c.id === callId);
    assert.ok(h, `${u.name}'s history has the call`);
    assert.equal(h.status, 'completed');
    assert.equal(h.type, 'video');
    assert.equal(h.direction, u.name === 'alice' ? 'outgoing' : 'incoming');
    assert.equal(h.is_missed, false);
  }
  await shot('ended-bob', bob.page);
  // The guide's callEnded handler calls endCall(), which emits endCall once
  // more: pgcall answers that second end, of a call already ended, with the
  // seed's "Call already processed" (and no second callEnded, so the two
  // clients do not ping-pong).  docs/migrating/seed003.md says so.
  for (const u of [alice, bob]) {
    await until(`${u.name}'s answer to the echoed endCall`, () => saw(u, 'callError').then((x) => x.length));
    assert.deepEqual(await saw(u, 'callError'), [{ error: 'Call already processed' }], u.name);
    // (alice's callEndedConfirm, the reply to her own endCall, may come
    // before or after the callEnded event: two paths, and the guide's
    // handlers do not depend on their order)
    const names = (await seen(u)).map(([n]) => n).filter((n) => n !== 'callEndedConfirm');
    assert.deepEqual(names.slice(names.indexOf('callEnded')), ['callEnded', 'callError'], u.name);
  }
  // the socket stays up for the next call
  for (const u of [alice, bob]) {
    assert.equal(await u.page.evaluate(() => socket.connected), true);
    assert.deepEqual(await saw(u, 'disconnect'), []);
  }
});
