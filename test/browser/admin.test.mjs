// The admin dashboard (web/admin.html) and the app's accessibility, in
// headless Chromium against the real bridge and database: the charts show
// exactly what admin_analytics returns for a fixture, an administrator ends
// a live call and both people's pages say so, a removed participant cannot
// rejoin, axe-core finds no serious or critical violation on any screen,
// and the phone-sized screenshots for the README are taken here.
//
// One browser, one context per person (each its own session).  Steps run in
// order and share the pages; every wait is bounded.
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { ARTIFACTS_DIR, ROOT, createDatabase, psql, startBridge } from '../bridge/lib.mjs';

const require = createRequire(import.meta.url);
const DB = createDatabase('browser_admin');
// the demo's presence policy, as script/run sets it: everyone sees everyone
psql(DB, fs.readFileSync(path.join(ROOT, 'script/demo-presence-everyone.sql'), 'utf8'));
const CHROMIUM = process.env.PGCALL_CHROMIUM ?? '/usr/bin/chromium';
const STEP_MS = 30000;
const shots = path.join(ARTIFACTS_DIR, 'screenshots');
// README screenshots go to the artifacts unless PGCALL_SCREENSHOTS=docs asks
// for docs/ itself (run by hand when the pages change): a test run must not
// leave the checkout modified.
const DOCS = process.env.PGCALL_SCREENSHOTS === 'docs' ? path.join(ROOT, 'docs') : shots;
const AXE = require.resolve('axe-core/axe.min.js');
fs.mkdirSync(shots, { recursive: true });

let bridge;
let browser;
const pages = {};        // name -> page
const external = [];     // requests that left 127.0.0.1
const axeReport = {};    // screen -> violations of any impact

async function open(name, { viewport = { width: 1100, height: 760 }, url = '/' } = {}) {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const log = fs.createWriteStream(path.join(ARTIFACTS_DIR, `admin-console-${name}.log`));
  page.on('console', (m) => log.write(`${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => log.write(`pageerror: ${e.stack ?? e}\n`));
  page.on('request', (r) => { if (!r.url().startsWith(bridge.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) external.push(r.url()); });
  await page.goto(`${bridge.url}${url}`, { waitUntil: 'domcontentloaded' });
  pages[name] = page;
  return page;
}

async function signInUser(page, name) {
  await page.click(`#demo-users button[data-user="${name}"]`);
  await page.waitForSelector('#conn[data-state="open"]');
}

async function signInAdmin(page) {
  await page.click('#demo-admins button[data-user="ops"]');
  await page.waitForSelector('#analytics[data-loaded]');
}

async function until(what, fn, timeoutMs = STEP_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// axe-core on the page as it is now: no serious or critical violation.
async function axe(page, screen) {
  if (!await page.evaluate(() => typeof window.axe === 'object')) await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  axeReport[screen] = r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  const bad = axeReport[screen].filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${screen}: ${JSON.stringify(bad, null, 1)}`);
}

const notice = (page, outcome) => page.waitForSelector(`#notices li[data-outcome="${outcome}"]`);

afterEach(async (t) => {
  if (t.passed !== false) return;
  const slug = t.name.replace(/\W+/g, '-').slice(0, 40);
  for (const [name, page] of Object.entries(pages)) {
    await page.screenshot({ path: path.join(shots, `FAILED-admin-${slug}-${name}.png`) }).catch(() => {});
  }
});

// Ended calls in the past, written as they were then (the triggers stamp
// now()), with the usage the call_before trigger stores when a call ends.
function fixture() {
  psql(DB, `
    SET session_replication_role = replica;
    INSERT INTO pgcall.call (id, kind, media, channel_id, created_by, max_participants, status, end_reason,
                             created_at, ring_deadline, answered_at, ended_at, duration_seconds)
    SELECT ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, kind, media, 'fx-' || n, 'fx-' || n || '-a', 10,
           'ended', reason, now() - ago, now() - ago + interval '90 s', now() - ago + ans, now() - ago + dur,
           CASE WHEN ans IS NULL THEN 0 ELSE extract(epoch FROM dur - ans)::int END
      FROM (VALUES
        (1, 'direct', 'audio', 'completed', interval '1 day 2 hours', interval '5 s', interval '20 min'),
        (2, 'group', 'video', 'completed', interval '3 days', interval '0 s', interval '45 min'),
        (3, 'direct', 'video', 'missed', interval '3 days 5 hours', NULL, interval '90 s'),
        (4, 'group', 'audio', 'completed', interval '12 days', interval '10 s', interval '1 hour'),
        (5, 'direct', 'video', 'completed', interval '26 days', interval '3 s', interval '10 min')
      ) v(n, kind, media, reason, ago, ans, dur);
    INSERT INTO pgcall.participant (call_id, user_id, role, status, invited_at, joined_at, left_at, joined_time)
    SELECT c.id, c.created_by || s.k, 'member', 'left', c.created_at, c.created_at + s.a, c.created_at + s.z, s.z - s.a
      FROM pgcall.call c,
           (VALUES ('', interval '0', interval '20 min'), ('-b', interval '5 s', interval '15 min'),
                   ('-c', interval '2 min', interval '18 min')) s(k, a, z)
     WHERE c.channel_id LIKE 'fx-%' AND c.end_reason = 'completed' AND (c.kind = 'group' OR s.k <> '-c');
    INSERT INTO pgcall.participant_session (call_id, user_id, joined_at, left_at)
    SELECT call_id, user_id, joined_at, left_at FROM pgcall.participant p
      JOIN pgcall.call c ON c.id = p.call_id WHERE c.channel_id LIKE 'fx-%';
    UPDATE pgcall.call c
       SET (participant_count, peak_participants, participant_seconds) =
           (SELECT u.participants, u.peak_participants, u.participant_seconds
              FROM pgcall.session_usage(ARRAY[c.id], '{-infinity,infinity}') u)
     WHERE c.channel_id LIKE 'fx-%';
    SET session_replication_role = origin;`);
}

before(async () => {
  fixture();
  bridge = await startBridge(DB, { args: ['--web-root', path.join(ROOT, 'web'), '--demo-users', 'alice,bob,carol',
    '--demo-admins', 'ops'] });
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: STEP_MS,
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  fs.writeFileSync(path.join(ARTIFACTS_DIR, 'axe-report.json'), JSON.stringify(axeReport, null, 1));
  await browser?.close().catch(() => {});
  await bridge?.stop();
});

test('the charting library is the npm package\'s own file, served by the bridge', async () => {
  const vendored = fs.readFileSync(path.join(ROOT, 'web/vendor/chart.umd.min.js'));
  const npm = fs.readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.min.js'));
  assert.ok(vendored.equals(npm), 'web/vendor/chart.umd.min.js differs from the chart.js package in test/browser: copy it again (web/README.md)');
  assert.ok(fs.existsSync(path.join(ROOT, 'web/vendor/chart.js-LICENSE.md')));
  const r = await fetch(`${bridge.url}/vendor/chart.umd.min.js`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/javascript/);
});

test('every refusal the database can give has a message for people', async () => {
  const codes = psql(DB, 'SELECT string_agg(code, \',\' ORDER BY code) FROM pgcall.error_codes()').split(',');
  assert.ok(codes.length > 30);
  const page = await open('probe');
  const missing = await page.evaluate(async (codes) => {
    const { MESSAGES } = await import('/js/errors.js');
    return codes.filter((c) => !MESSAGES[c]);
  }, codes);
  assert.deepEqual(missing, []);
  await axe(page, 'app sign-in');
  await page.context().close();
  delete pages.probe;
});

test('an administrator signs in; the charts show exactly what admin_analytics returns', { timeout: 90000 }, async () => {
  const page = await open('ops', { url: '/admin.html', viewport: { width: 1280, height: 1000 } });
  await page.waitForSelector('#demo-admins button[data-user="ops"]');
  await axe(page, 'dashboard sign-in');
  await signInAdmin(page);
  assert.equal(await page.textContent('#me'), 'ops');
  for (const [days, groupBy, tz] of [[30, 'day', 'UTC'], [30, 'week', 'America/New_York'], [90, 'month', 'Asia/Kolkata']]) {
    await page.selectOption('#analytics-form select[name="days"]', String(days));
    await page.selectOption('#analytics-form select[name="group_by"]', groupBy);
    await page.selectOption('#analytics-form select[name="time_zone"]', tz);
    await page.click('#analytics-form button');
    await page.waitForSelector(`#analytics[data-loaded="${days}/${groupBy}/${tz}"]`);
    const shown = await page.evaluate(() => Object.fromEntries(['calls', 'minutes', 'peak'].map((n) => {
      const c = window.pgcallAdmin.charts[n];
      return [n, { labels: c.data.labels.length, sets: Object.fromEntries(c.data.datasets.map((d) => [d.label, d.data])) }];
    })));
    const want = JSON.parse(psql(DB, `SELECT pgcall.admin_analytics(${days}, '${groupBy}', '${tz}')`));
    const col = (k) => want.stats.map((s) => Number(s[k]));
    assert.ok(want.stats.length > 1);
    assert.equal(shown.calls.labels, want.stats.length);
    assert.deepEqual(shown.calls.sets.Calls, col('calls'), `${groupBy} ${tz}: calls`);
    assert.deepEqual(shown.calls.sets.Participants, col('participants'));
    assert.deepEqual(shown.minutes.sets['Audio minutes'], col('audio_minutes'));
    assert.deepEqual(shown.minutes.sets['Video minutes'], col('video_minutes'));
    assert.deepEqual(shown.peak.sets['Peak participants'], col('peak_participants'));
    // the fixture is there: not a page of zeros compared with zeros
    assert.equal(col('calls').reduce((a, b) => a + b), Number(want.summary.calls));
    assert.ok(Number(want.summary.calls) >= (days >= 30 ? 5 : 1));
    assert.equal(await page.$$eval('#analytics-table tbody tr', (r) => r.length), want.stats.length);
  }
  assert.equal(await page.textContent('#summary div:first-child dd'), '5');
  await axe(page, 'dashboard analytics');
});

let callId;

test('an administrator ends a live call from the dashboard; both people\'s pages show it ended', { timeout: 90000 }, async () => {
  const a = await open('alice');
  const b = await open('bob');
  await signInUser(a, 'alice');
  await signInUser(b, 'bob');
  await until('alice to see bob online', async () => (await a.getAttribute('#people-list li[data-user="bob"]', 'data-online')) === 'true');
  // online in words, not only the dot's colour
  assert.equal(await a.textContent('#people-list li[data-user="bob"] .presence'), 'online');
  assert.equal(await a.textContent('#people-list li[data-user="carol"] .presence'), 'offline');
  await axe(a, 'app home');
  await a.click('#people-list li[data-user="bob"] button[data-media="video"]');
  await b.waitForSelector('#incoming[open]');
  // ringing, in words on the caller's tile of bob
  await a.waitForSelector('#tiles [data-peer="bob"] .flag[data-flag="ringing"]');
  await axe(b, 'app incoming call');
  await axe(a, 'app ringing');
  await b.click('#accept');
  await Promise.all([a.waitForSelector('#call[data-phase="active"]'), b.waitForSelector('#call[data-phase="active"]')]);
  callId = await a.getAttribute('#call', 'data-call');
  // the whole picture: contain, never cover
  assert.equal(await a.$eval('#tiles [data-peer="bob"] video', (v) => getComputedStyle(v).objectFit), 'contain');
  // muted and camera off, in words on the other side's tile
  await a.click('#mute');
  await a.click('#camera');
  await b.waitForSelector('#tiles [data-peer="alice"] .flag[data-flag="muted"]');
  await b.waitForSelector('#tiles [data-peer="alice"] .flag[data-flag="camera off"]');
  assert.match(await b.getAttribute('#tiles [data-peer="alice"]', 'aria-label'), /alice: muted, camera off/);
  await axe(b, 'app in a call (other muted, camera off)');
  await a.click('#mute');
  await a.click('#camera');

  const ops = pages.ops;
  await ops.click('#live-refresh');
  const row = await ops.waitForSelector(`#live-table tr[data-call="${callId}"][data-status="active"]`);
  await until('both shown in the call', async () => (await ops.$$(`#live-table tr[data-call="${callId}"] li[data-status="joined"]`)).length === 2);
  assert.match(await row.textContent(), /alice \(in the call\)/);
  await ops.click(`#live-table tr[data-call="${callId}"] button[data-action="details"]`);
  await ops.waitForSelector(`#details[open][data-call="${callId}"]`);
  assert.equal(await ops.$$eval('#details-participants tbody tr', (r) => r.length), 2);
  const timeline = await ops.evaluate(() => window.pgcallAdmin.charts.timeline.data.datasets.map((d) => ({ label: d.label, n: d.data.filter(Boolean).length })));
  assert.deepEqual(timeline, [{ label: 'Ringing', n: 2 }, { label: 'In the call', n: 2 }]);
  await axe(ops, 'dashboard call details');
  await ops.screenshot({ path: path.join(DOCS, 'admin-call-details.png') });
  await ops.click('#details-close');
  await ops.evaluate(() => window.scrollTo(0, 0));
  await ops.screenshot({ path: path.join(DOCS, 'admin-dashboard.png'), fullPage: true });

  await ops.click(`#live-table tr[data-call="${callId}"] button[data-action="end"]`);
  await ops.waitForSelector('#confirm[open]');
  await axe(ops, 'dashboard confirm');
  await ops.click('#confirm-yes');
  for (const p of [a, b]) {
    const n = await notice(p, 'terminated');
    assert.match(await n.textContent(), /An administrator ended the call/);
    await p.waitForSelector('#call', { state: 'hidden' });
  }
  await ops.waitForSelector(`#live-table tr[data-call="${callId}"]`, { state: 'detached' });
  await ops.waitForSelector(`#recent-table tr[data-call="${callId}"] .state[data-state="terminated"]`);
  assert.equal(psql(DB, `SELECT end_reason || ' ' || ended_by FROM pgcall.call WHERE id = '${callId}'`), 'terminated ops');
});

test('a participant an administrator removes is told, and cannot rejoin', { timeout: 90000 }, async () => {
  const a = pages.alice;
  const b = pages.bob;
  const c = await open('carol');
  await signInUser(c, 'carol');
  await until('alice to see carol online', async () => (await a.getAttribute('#people-list li[data-user="carol"]', 'data-online')) === 'true');
  await a.check('#people-list li[data-user="bob"] input');
  await a.check('#people-list li[data-user="carol"] input');
  await a.click('#group-audio');
  await Promise.all([b.waitForSelector('#incoming[open]'), c.waitForSelector('#incoming[open]')]);
  await b.click('#accept');
  await c.click('#accept');
  await c.waitForSelector('#call[data-phase="active"]');
  const group = await c.getAttribute('#call', 'data-call');

  const ops = pages.ops;
  await ops.click('#live-refresh');
  await ops.click(`#live-table tr[data-call="${group}"] button[data-action="details"]`);
  await ops.waitForSelector(`#details[open][data-call="${group}"] tr[data-user="carol"][data-status="joined"]`);
  await ops.click('#details-participants tr[data-user="carol"] button[data-action="remove"]');
  await ops.waitForSelector('#confirm[open]');
  await ops.click('#confirm-yes');
  await ops.waitForSelector('#details-participants tr[data-user="carol"][data-status="removed"]');
  assert.equal(await ops.$('#details-participants tr[data-user="carol"] button'), null);

  const n = await notice(c, 'removed');
  assert.match(await n.textContent(), /removed from the call/);
  await c.waitForSelector('#call', { state: 'hidden' });
  // the others go on without her
  await a.waitForSelector('#tiles[data-count="2"]');
  // carol tries to join again from her page: refused, with a sentence for people
  const refused = await c.evaluate(async (id) => {
    const { explain } = await import('/js/errors.js');
    try {
      await window.pgcallApp.socket.call('call_join', { call_id: id });
      return null;
    } catch (e) {
      return { code: e.code, text: explain(e) };
    }
  }, group);
  assert.deepEqual(refused, { code: 'P403E', text: 'You were removed from this call and cannot join it again.' });
  assert.equal(psql(DB, `SELECT status FROM pgcall.participant WHERE call_id = '${group}' AND user_id = 'carol'`), 'removed');
  await ops.click('#details-close');
  await a.click('#hangup');
  await b.click('#hangup');
  await notice(b, 'completed');
});

test('a call in a phone-sized window: one column, nothing cut off, no sideways scrolling', { timeout: 90000 }, async () => {
  const phone = { width: 390, height: 844 };
  const a = await open('alice-phone', { viewport: phone });
  const b = pages.bob;
  await signInUser(a, 'alice');
  await axe(a, 'app home (phone)');
  const wide = () => a.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
  assert.ok(await wide() <= 0, 'the home screen scrolls sideways');
  await until('alice to see bob online', async () => (await a.getAttribute('#people-list li[data-user="bob"]', 'data-online')) === 'true');
  await a.click('#people-list li[data-user="bob"] button[data-media="video"]');
  await b.waitForSelector('#incoming[open]');
  await b.click('#accept');
  await a.waitForSelector('#call[data-phase="active"]');
  await until('bob\'s video on alice\'s phone', () => a.$eval('#tiles [data-peer="bob"] video', (v) => v.videoWidth > 0));
  assert.ok(await wide() <= 0, 'the call scrolls sideways');
  // every control is on screen
  for (const id of ['#mute', '#camera', '#hangup']) {
    const box = await a.$eval(id, (e) => { const r = e.getBoundingClientRect(); return { l: r.left, r: r.right, t: r.top, b: r.bottom }; });
    assert.ok(box.l >= 0 && box.r <= phone.width && box.t >= 0 && box.b <= phone.height, `${id} off screen: ${JSON.stringify(box)}`);
  }
  await axe(a, 'app in a call (phone)');
  await a.screenshot({ path: path.join(DOCS, 'phone-call.png') });
  await a.click('#hangup');
  await notice(b, 'completed');

  const ops = await open('ops-phone', { url: '/admin.html', viewport: phone });
  await signInAdmin(ops);
  await axe(ops, 'dashboard (phone)');
  assert.ok(await ops.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth) <= 0, 'the dashboard scrolls sideways');
});

test('every control of the app and the dashboard is reachable with the keyboard', { timeout: 60000 }, async () => {
  // Tab through each page: every visible button, link, input and select gets focus.
  for (const [name, url] of [['kb-app', '/'], ['kb-admin', '/admin.html']]) {
    const page = await open(name, { url });
    if (url === '/') await signInUser(page, 'carol');
    else await signInAdmin(page);
    const want = await page.$$eval('button, a[href], input, select, summary', (els) => els.filter((e) => e.offsetParent !== null && !e.disabled)
      .map((e, i) => { e.dataset.kb = String(i); return String(i); }));
    const seen = new Set();
    for (let i = 0; i < want.length * 2 + 10 && seen.size < want.length; i++) {
      await page.keyboard.press('Tab');
      const k = await page.evaluate(() => document.activeElement?.dataset.kb ?? null);
      if (k) seen.add(k);
    }
    const missed = await page.$$eval('[data-kb]', (els, seen) => els.filter((e) => !seen.includes(e.dataset.kb)).map((e) => e.outerHTML.slice(0, 80)), [...seen]);
    assert.deepEqual(missed, [], `${url}: not reachable with Tab`);
  }
});

test('nothing was loaded from outside the bridge', () => {
  assert.deepEqual(external, []);
});
