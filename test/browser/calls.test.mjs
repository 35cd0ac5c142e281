// The web app (web/) end to end in headless Chromium: real pages, real
// WebRTC, the real bridge and database.  Each user is a separate browser
// process whose fake camera films a colour of its own (alice red, bob blue,
// carol yellow), so "bob decodes alice's video" is checked on the pixels of
// the remote <video>, not only on getStats counters.
//
// Steps run in order and share the pages; each takes a screenshot into
// $PGCALL_ARTIFACTS.  Every wait is bounded: a peer connection that never
// connects fails its step, it never hangs the suite.  Timings and memory
// go to timings.json there (reported, never asserted).
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS_DIR, ROOT, createDatabase, freePort, psql, startBridge } from '../bridge/lib.mjs';

const DB = createDatabase('browser_calls');
// the demo's presence policy, as script/run sets it: everyone sees everyone
psql(DB, fs.readFileSync(path.join(ROOT, 'script/demo-presence-everyone.sql'), 'utf8'));
const CHROMIUM = process.env.PGCALL_CHROMIUM ?? '/usr/bin/chromium';
const STEP_MS = 30000;  // upper bound of any one wait
const shots = path.join(ARTIFACTS_DIR, 'screenshots');
fs.mkdirSync(shots, { recursive: true });

// Solid colours as BT.601 studio-range YUV, and how to recognise them in RGB.
const COLOURS = {
  alice: { yuv: [81, 90, 240], is: ([r, g, b]) => r > 150 && g < 100 && b < 100 },   // red
  bob: { yuv: [41, 240, 110], is: ([r, g, b]) => b > 150 && r < 100 && g < 100 },     // blue
  carol: { yuv: [210, 16, 146], is: ([r, g, b]) => r > 150 && g > 150 && b < 100 },   // yellow
};
const black = ([r, g, b]) => r < 40 && g < 40 && b < 40;

function y4m(file, [y, u, v], w = 320, h = 240, frames = 2) {
  const frame = Buffer.concat([Buffer.from('FRAME\n'), Buffer.alloc(w * h, y), Buffer.alloc(w * h / 4, u), Buffer.alloc(w * h / 4, v)]);
  fs.writeFileSync(file, Buffer.concat([Buffer.from(`YUV4MPEG2 W${w} H${h} F15:1 Ip A1:1 C420\n`), ...Array(frames).fill(frame)]));
}

const timings = {};
const t0 = Date.now();
function mark(name) { timings[name] = Date.now() - t0; }

let bridge;
let port;
const bridgeArgs = ['--web-root', path.join(ROOT, 'web'), '--demo-users', 'alice,bob,carol,dave'];
const users = {};   // name -> {browser, page}

async function launch(name) {
  const video = path.join(ARTIFACTS_DIR, `${name}.y4m`);
  y4m(video, COLOURS[name].yuv);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_MS,
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
      // without it Chromium gathers no candidates when loopback is the only
      // interface, and the peer connection stays 'new' forever
      '--allow-loopback-in-peer-connection',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const log = fs.createWriteStream(path.join(ARTIFACTS_DIR, `console-${name}.log`));
  page.on('console', (m) => log.write(`${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => log.write(`pageerror: ${e.stack ?? e}\n`));
  users[name] = { browser, page, name };
  return users[name];
}

async function shot(name, page) {
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

async function signIn({ page, name }) {
  await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'domcontentloaded' });
  await page.click(`#demo-users button[data-user="${name}"]`);
  await page.waitForSelector('#conn[data-state="open"]');
  assert.equal(await page.textContent('#me'), name);
}

// Poll fn(), which runs in the test, until it returns something truthy.
async function until(what, fn, timeoutMs = STEP_MS) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// getStats of the page's peer connections, per peer.
const peerStats = (page) => page.evaluate(() => window.pgcallApp.call?.media_session?.stats() ?? null);

// The centre pixel of the remote video of peer on page.
const remotePixel = (page, peer) => page.evaluate((peer) => {
  const v = document.querySelector(`#tiles [data-peer="${peer}"] video`);
  if (!v || !v.videoWidth) return null;
  const c = document.createElement('canvas');
  c.width = 16; c.height = 16;
  const g = c.getContext('2d');
  g.drawImage(v, 0, 0, 16, 16);
  return [...g.getImageData(8, 8, 1, 1).data.slice(0, 3)];
}, peer);

// Each of pairs [viewer, peer]: viewer's connection to peer is connected and
// decodes peer's own video (frames decoded, and peer's colour on screen).
async function assertSeeing(pairs, what) {
  for (const [viewer, peer] of pairs) {
    const page = users[viewer].page;
    await until(`${viewer} connected to ${peer} (${what})`, async () => (await peerStats(page))?.[peer]?.connectionState === 'connected');
    await until(`${viewer} decoding ${peer}'s video (${what})`, async () => (await peerStats(page))[peer].framesDecoded > 0);
    await until(`${viewer} showing ${peer}'s colour (${what})`, async () => {
      const px = await remotePixel(page, peer);
      return px && COLOURS[peer].is(px);
    });
  }
}

async function historyTop(page) {
  await page.waitForSelector('#history-list li');
  return page.$eval('#history-list li', (li) => ({ ...li.dataset, who: li.querySelector('.who').textContent }));
}

// Wait until the history lists call callId with the given status.
async function historyShows(page, callId, status) {
  return until(`history to show ${callId} as ${status}`, async () => {
    const li = await page.$(`#history-list li[data-id="${callId}"][data-status="${status}"]`);
    return li && li.evaluate((e) => ({ ...e.dataset, who: e.querySelector('.who').textContent }));
  });
}

const notice = (page, outcome) => page.waitForSelector(`#notices li[data-outcome="${outcome}"]`);

// Memory of all browser processes: PSS summed over each process tree.
function browsersPssMb() {
  const pids = [];
  const children = {};
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const ppid = Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      (children[ppid] ??= []).push(Number(d));
      // our browsers are the processes started with our fake camera files
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(`--use-file-for-fake-video-capture=${ARTIFACTS_DIR}`)) pids.push(Number(d));
    } catch { /* gone */ }
  }
  for (const p of [...pids]) for (const c of children[p] ?? []) if (pids.includes(c)) pids.splice(pids.indexOf(c), 1);
  let kb = 0;
  const walk = (pid) => {
    try {
      const m = /^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
    for (const c of children[pid] ?? []) walk(c);
  };
  for (const p of pids) walk(p);
  return Math.round(kb / 1024);
}

// On a failed step: every page's screen and app state, for the artifacts.
afterEach(async (t) => {
  if (t.passed !== false) return;
  for (const u of Object.values(users)) {
    const slug = t.name.replace(/\W+/g, '-').slice(0, 40);
    await u.page.screenshot({ path: path.join(shots, `FAILED-${slug}-${u.name}.png`) }).catch(() => {});
    const state = await u.page.evaluate(() => {
      const a = window.pgcallApp;
      return { socket: a.socket?.state, lastEventId: a.socket?.lastEventId, call: a.call && { id: a.call.id, phase: a.call.phase, snapshot: a.call.snapshot },
        incoming: a.incoming?.id, notices: [...document.querySelectorAll('#notices li')].map((l) => `${l.dataset.outcome}: ${l.textContent}`) };
    }).catch((e) => String(e));
    fs.appendFileSync(path.join(ARTIFACTS_DIR, `console-${u.name}.log`), `--- state after failed step "${t.name}": ${JSON.stringify(state)}\n`);
  }
});

before(async () => {
  port = await freePort();
  bridge = await startBridge(DB, { port, args: bridgeArgs });
  mark('bridge up');
});

after(async () => {
  fs.writeFileSync(path.join(ARTIFACTS_DIR, 'timings.json'), JSON.stringify(timings, null, 2));
  console.log('timings (ms since start):', JSON.stringify(timings));
  await Promise.all(Object.values(users).map((u) => u.browser.close().catch(() => {})));
  await bridge?.stop();
});

test('three users sign in as demo users, each in a browser of their own', { timeout: 90000 }, async () => {
  await Promise.all(['alice', 'bob', 'carol'].map(launch));
  mark('browsers launched');
  await Promise.all(Object.values(users).map(signIn));
  mark('signed in');
  const { page } = users.alice;
  await until('alice to see bob and carol online', async () =>
    (await page.$$('#people-list li[data-online="true"]')).length === 2);
  assert.equal(await page.getAttribute('#people-list li[data-user="dave"]', 'data-online'), 'false');
  await shot('01-alice-home', page);
});

test('calling someone who is offline says so', { timeout: 60000 }, async () => {
  const { page } = users.alice;
  await page.click('#people-list li[data-user="dave"] button[data-media="video"]');
  const n = await notice(page, 'unavailable');
  assert.match(await n.textContent(), /dave is offline/);
  assert.equal(await page.isVisible('#call'), false);
  const top = await historyShows(page, await n.getAttribute('data-call'), 'unavailable');
  assert.equal(top.direction, 'outgoing');
  await shot('02-alice-dave-offline', page);
});

let firstCall;

test('alice video-calls bob; bob accepts; each decodes the other\'s video', { timeout: 90000 }, async () => {
  const a = users.alice.page;
  const b = users.bob.page;
  await a.click('#people-list li[data-user="bob"] button[data-media="video"]');
  mark('1:1 call clicked');
  await b.waitForSelector('#incoming[open]');
  assert.match(await b.textContent('#incoming .who'), /alice/);
  assert.match(await b.textContent('#incoming .media'), /video/);
  await a.waitForSelector('#call[data-phase="outgoing"]');
  await shot('03-bob-incoming', b);
  await shot('03-alice-ringing', a);
  mark('1:1 incoming shown');
  await b.click('#accept');
  await Promise.all([a.waitForSelector('#call[data-phase="active"]'), b.waitForSelector('#call[data-phase="active"]')]);
  firstCall = await a.getAttribute('#call', 'data-call');
  assert.equal(await b.getAttribute('#call', 'data-call'), firstCall);
  mark('1:1 accepted');
  await assertSeeing([['alice', 'bob'], ['bob', 'alice']], '1:1');
  mark('1:1 both decoding');
  // the indicator shows the connection and its round-trip time
  await a.waitForSelector('#tiles [data-peer="bob"][data-state="connected"] .quality[data-level]');
  await shot('04-alice-in-call', a);
  await shot('04-bob-in-call', b);
});

test('carol calling bob during the call hears that he is busy', { timeout: 60000 }, async () => {
  const c = users.carol.page;
  await c.click('#people-list li[data-user="bob"] button[data-media="audio"]');
  const n = await notice(c, 'busy');
  assert.match(await n.textContent(), /bob is busy/);
  assert.equal(await users.bob.page.isVisible('#incoming[open]'), false);
  await shot('05-carol-bob-busy', c);
});

test('the bridge restarts: media goes on, pages reconnect and resume the events they missed', { timeout: 90000 }, async () => {
  const { page: a } = users.alice;
  const { page: b } = users.bob;
  const { page: c } = users.carol;
  await bridge.stop();
  mark('bridge stopped');
  try {
    await whileBridgeDown(a, b, c);
  } finally {
    bridge = await startBridge(DB, { port, args: bridgeArgs });
    mark('bridge restarted');
  }
  await Promise.all([a, b, c].map((p) => p.waitForSelector('#conn[data-state="open"]')));
  mark('pages reconnected');
  assert.equal(await a.isVisible('#banner'), false);
  // carol was told on resume
  await c.waitForSelector(`#incoming[open][data-call="${daveCall}"]`);
  assert.match(await c.textContent('#incoming .who'), /dave/);
  await shot('07-carol-incoming-after-resume', c);
  await c.click('#reject');
  await historyShows(c, daveCall, 'rejected');
  // the call between alice and bob is still up
  assert.equal(await a.getAttribute('#call', 'data-phase'), 'active');
});

let daveCall;
async function whileBridgeDown(a, b, c) {
  await Promise.all([a, b, c].map((p) => p.waitForSelector('#conn[data-state="reconnecting"]')));
  assert.match(await a.textContent('#banner'), /reconnecting/i);
  await shot('06-alice-reconnecting', a);
  // peer to peer, the call does not need the bridge: frames keep coming
  for (const [viewer, peer] of [['alice', 'bob'], ['bob', 'alice']]) {
    const p = users[viewer].page;
    const f1 = (await peerStats(p))[peer].framesDecoded;
    await until(`${viewer} still decoding ${peer} while the bridge is down`, async () => (await peerStats(p))[peer].framesDecoded > f1 + 10);
  }
  // meanwhile dave calls carol, through a trusted backend
  daveCall = psql(DB, `SET pgcall.user_id = 'dave'; SELECT pgcall.call_start(ARRAY['carol'], 'audio')->'call'->>'id'`);
}

test('alice mutes and turns her camera off: bob sees it, and her tracks really stop', { timeout: 90000 }, async () => {
  const a = users.alice.page;
  const b = users.bob.page;
  const energy = async () => (await peerStats(b)).alice.audioEnergy;
  // alice's microphone is heard: the energy bob receives grows
  const e0 = await energy();
  await until('bob to hear alice', async () => (await energy()) > e0);
  await a.click('#mute');
  assert.equal(await a.getAttribute('#mute', 'aria-pressed'), 'true');
  assert.equal(await a.evaluate(() => window.pgcallApp.call.localStream.getAudioTracks()[0].enabled), false);
  await b.waitForSelector('#tiles [data-peer="alice"][data-mic="off"]');
  // what bob receives is silence now: audio packets flow, energy stands still
  await new Promise((r) => setTimeout(r, 500));   // let audio in flight arrive
  const s1 = (await peerStats(b)).alice;
  await until('bob to receive more audio packets', async () => (await peerStats(b)).alice.audioPacketsReceived > s1.audioPacketsReceived + 50);
  const s2 = (await peerStats(b)).alice;
  assert.ok(s2.audioEnergy - s1.audioEnergy < 1e-4, `energy still grows after mute: ${s1.audioEnergy} -> ${s2.audioEnergy}`);
  await shot('08-bob-sees-alice-muted', b);

  await a.click('#camera');
  await b.waitForSelector('#tiles [data-peer="alice"][data-cam="off"]');
  await until('bob to receive black frames from alice', async () => {
    const px = await remotePixel(b, 'alice');
    return px && black(px);
  });
  await shot('09-bob-sees-alice-camera-off', b);
  await a.click('#camera');
  await a.click('#mute');
  await b.waitForSelector('#tiles [data-peer="alice"][data-cam="on"][data-mic="on"]');
  await assertSeeing([['bob', 'alice']], 'camera back on');
  // bob's page built its call from deltas: it holds the call's version (its
  // last event) and alice's participant as call_get has them
  const held = await b.evaluate(() => {
    const c = window.pgcallApp.call;
    return { id: c.id, version: c.snapshot.version, alice: c.snapshot.participants.find((p) => p.user_id === 'alice') };
  });
  assert.equal(String(held.version), psql(DB, `SELECT max(id) FROM pgcall.event WHERE call_id = '${held.id}'`));
  const got = JSON.parse(psql(DB, `SET pgcall.user_id = 'bob'; SELECT pgcall.call_get('${held.id}')`).split('\n').pop());
  assert.deepEqual(held.alice, got.participants.find((p) => p.user_id === 'alice'));
  assert.equal(got.version, held.version);
});

test('bob hangs up: both histories show the completed call with its duration', { timeout: 60000 }, async () => {
  const a = users.alice.page;
  const b = users.bob.page;
  await b.click('#hangup');
  for (const p of [a, b]) {
    const n = await notice(p, 'completed');
    assert.match(await n.textContent(), /ended · \d+:\d\d/);
    await p.waitForSelector('#call', { state: 'hidden' });
  }
  mark('1:1 ended');
  const ta = await historyShows(a, firstCall, 'completed');
  const tb = await historyShows(b, firstCall, 'completed');
  assert.equal(ta.direction, 'outgoing');
  assert.equal(tb.direction, 'incoming');
  assert.ok(Number(ta.duration) > 0, `duration ${ta.duration}`);
  assert.equal(ta.duration, tb.duration);
  assert.match(await a.textContent(`#history-list li[data-id="${firstCall}"] .duration`), /^\d+:\d\d$/);
  // the peer connections are gone
  assert.equal(await a.evaluate(() => window.pgcallApp.call), null);
  await shot('10-alice-history', a);
});

test('an unanswered call rings out as missed, with a missed-calls badge', { timeout: 90000 }, async () => {
  const a = users.alice.page;
  const b = users.bob.page;
  // start from no unseen missed calls (the busy call above counts as missed for bob)
  if (await b.isVisible('#missed-badge')) {
    await b.click('#missed-seen');
    await b.waitForSelector('#missed-badge', { state: 'hidden' });
  }
  // the shortest ring the database allows, through the page's own setting
  await a.goto(`http://127.0.0.1:${port}/?ring_timeout=5`, { waitUntil: 'domcontentloaded' });
  await a.waitForSelector('#conn[data-state="open"]');   // still signed in
  await until('alice to see bob online', async () => (await a.getAttribute('#people-list li[data-user="bob"]', 'data-online')) === 'true');
  await a.click('#people-list li[data-user="bob"] button[data-media="audio"]');
  await b.waitForSelector('#incoming[open]');
  const callId = await b.getAttribute('#incoming', 'data-call');
  mark('missed call ringing');
  const na = await notice(a, 'missed');
  assert.match(await na.textContent(), /bob did not answer/);
  const nb = await notice(b, 'missed');
  assert.match(await nb.textContent(), /Missed call from alice/);
  mark('missed call ended');
  await b.waitForSelector('#incoming', { state: 'hidden' });
  await b.waitForSelector('#missed-badge:not([hidden])');
  assert.equal(await b.textContent('#missed-badge'), '1');
  const tb = await historyShows(b, callId, 'missed');
  assert.equal(tb.direction, 'incoming');
  const ta = await historyShows(a, callId, 'missed');
  assert.equal(ta.direction, 'outgoing');
  await shot('11-bob-missed-badge', b);
});

test('a declined call shows as declined on both sides', { timeout: 60000 }, async () => {
  const a = users.alice.page;
  const b = users.bob.page;
  await a.click('#people-list li[data-user="bob"] button[data-media="video"]');
  await b.waitForSelector('#incoming[open]');
  const callId = await b.getAttribute('#incoming', 'data-call');
  await b.click('#reject');
  const n = await notice(a, 'rejected');
  assert.match(await n.textContent(), /bob declined/);
  await a.waitForSelector('#call', { state: 'hidden' });
  assert.equal((await historyShows(a, callId, 'rejected')).direction, 'outgoing');
  assert.equal((await historyShows(b, callId, 'rejected')).direction, 'incoming');
  await shot('12-alice-declined', a);
});

test('bob on two devices: the one that answers wins, the other is told', { timeout: 60000 }, async () => {
  const a = users.alice.page;
  const b = users.bob.page;
  // bob's second device: another context (own session) in bob's browser
  const ctx = await users.bob.browser.newContext({ viewport: { width: 1100, height: 720 } });
  try {
    const b2 = await ctx.newPage();
    b2.setDefaultTimeout(STEP_MS);
    await signIn({ page: b2, name: 'bob' });
    await a.click('#people-list li[data-user="bob"] button[data-media="audio"]');
    await Promise.all([b.waitForSelector('#incoming[open]'), b2.waitForSelector('#incoming[open]')]);
    const callId = await b.getAttribute('#incoming', 'data-call');
    await b2.click('#accept');
    const n = await notice(b, 'answered-elsewhere');
    assert.equal(await n.getAttribute('data-call'), callId);
    await b.waitForSelector('#incoming', { state: 'hidden' });
    assert.equal(await b.isVisible('#call'), false);
    await Promise.all([a.waitForSelector('#call[data-phase="active"]'), b2.waitForSelector('#call[data-phase="active"]')]);
    await shot('13-bob-answered-elsewhere', b);
    await b2.click('#hangup');
    await notice(a, 'completed');
    await historyShows(b, callId, 'completed');
  } finally {
    await ctx.close();
  }
});

test('events purged while a page was away: it resynchronises by calling functions', { timeout: 90000 }, async () => {
  const { page: c } = users.carol;
  const resyncs = await c.evaluate(() => window.pgcallApp.resyncs);
  await bridge.stop();
  let call;
  try {
    await c.waitForSelector('#conn[data-state="reconnecting"]');
    call = psql(DB, `SET pgcall.user_id = 'dave'; SELECT pgcall.call_start(ARRAY['carol'], 'video')->'call'->>'id'`);
    // every event ages past pgcall.event_retention and the purge removes it
    psql(DB, `UPDATE pgcall.event SET created_at = created_at - interval '30 days'; SELECT pgcall.purge(100000)`);
  } finally {
    bridge = await startBridge(DB, { port, args: bridgeArgs });
  }
  await c.waitForSelector('#conn[data-state="open"]');
  // the bridge said P410A, the page read the ringing call back from call_history
  await c.waitForSelector(`#incoming[open][data-call="${call}"]`);
  assert.equal(await c.evaluate(() => window.pgcallApp.resyncs), resyncs + 1);
  await shot('14-carol-incoming-after-resync', c);
  await c.click('#reject');
  await historyShows(c, call, 'rejected');
  for (const u of Object.values(users)) await u.page.waitForSelector('#conn[data-state="open"]');
});

test('a group video call of three connects every pair, with carol joining later', { timeout: 120000 }, async () => {
  const a = users.alice.page;
  const b = users.bob.page;
  const c = users.carol.page;
  await a.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'domcontentloaded' });   // default ring again
  await a.waitForSelector('#conn[data-state="open"]');
  await until('alice to see both online', async () => (await a.$$('#people-list li[data-online="true"]')).length === 2);
  await a.check('#people-list li[data-user="bob"] input');
  await a.check('#people-list li[data-user="carol"] input');
  await a.click('#group-video');
  mark('group call clicked');
  await Promise.all([b.waitForSelector('#incoming[open]'), c.waitForSelector('#incoming[open]')]);
  assert.match(await c.textContent('#incoming .others'), /bob/);
  await b.click('#accept');
  await assertSeeing([['alice', 'bob'], ['bob', 'alice']], 'group, before carol');
  mark('group: alice-bob decoding');
  await c.click('#accept');
  await assertSeeing([['alice', 'carol'], ['carol', 'alice'], ['bob', 'carol'], ['carol', 'bob'],
    ['alice', 'bob'], ['bob', 'alice']], 'group of three');
  mark('group: all 6 links decoding');
  timings.browsers_pss_mb_three_party = browsersPssMb();
  for (const [n, p] of [['alice', a], ['bob', b], ['carol', c]]) {
    assert.equal(await p.getAttribute('#tiles', 'data-count'), '3');
    await shot(`15-group-${n}`, p);
  }
  // carol leaves: the others drop her and go on
  await c.click('#hangup');
  await notice(c, 'left');
  await a.waitForSelector('#tiles[data-count="2"]');
  await b.waitForSelector('#tiles[data-count="2"]');
  await assertSeeing([['alice', 'bob']], 'after carol left');
  await b.click('#hangup');
  await notice(b, 'left');
  // alice alone: the call ends when the last one leaves
  await a.click('#hangup');
  await notice(a, 'completed');
  mark('group ended');
  const callId = (await historyTop(a)).id;
  await historyShows(a, callId, 'completed');
  await historyShows(c, callId, 'completed');
});
