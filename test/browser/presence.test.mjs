// Presence in the web app, in real Chromium: a sign-in reaches a viewer the
// presence policy permits, as a presence.changed event, within a second,
// and never reaches a viewer the policy excludes.  The policy here is an
// app's own (a contacts table), replacing pgcall's default.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS_DIR, ROOT, createDatabase, psql, startBridge } from '../bridge/lib.mjs';

const DB = createDatabase('browser_presence');
const CHROMIUM = process.env.PGCALL_CHROMIUM ?? '/usr/bin/chromium';
const STEP_MS = 30000;
// How long a permitted viewer may wait for a sign-in to show (the issue's
// bound).  A wait that ends as soon as it shows, not a sleep.
const SHOWS_WITHIN_MS = 1000;

psql(DB, `
  CREATE TABLE public.contacts (owner text, contact text, PRIMARY KEY (owner, contact));
  INSERT INTO public.contacts VALUES ('alice', 'bob');
  CREATE OR REPLACE FUNCTION pgcall.presence_visible(viewer text, subject text)
  RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT viewer = subject
            OR EXISTS (SELECT 1 FROM public.contacts c WHERE c.owner = viewer AND c.contact = subject) $$;`);

let bridge;
let browser;
const timings = {};

async function open(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  const log = fs.createWriteStream(path.join(ARTIFACTS_DIR, `presence-console-${name}.log`));
  page.on('console', (m) => log.write(`${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => log.write(`pageerror: ${e.stack ?? e}\n`));
  // every WebSocket message the page receives
  page.frames = [];
  page.on('websocket', (ws) => ws.on('framereceived', (f) => {
    let m;
    try { m = JSON.parse(f.payload); } catch { return; }
    page.frames.push(m);
  }));
  await page.goto(`${bridge.url}/`, { waitUntil: 'domcontentloaded' });
  return page;
}

async function signIn(page, name) {
  await page.click(`#demo-users button[data-user="${name}"]`);
  await page.waitForSelector('#conn[data-state="open"]');
}

// Record in the page when bob's entry first says online (wall clock, ms).
function watchBob(page) {
  return page.evaluate(() => {
    window.bobOnlineAt = null;
    const check = () => {
      const li = document.querySelector('#people-list li[data-user="bob"]');
      if (li?.dataset.online === 'true' && window.bobOnlineAt === null) window.bobOnlineAt = Date.now();
    };
    new MutationObserver(check).observe(document.body, { subtree: true, childList: true, attributes: true });
    check();
  });
}

const aboutBob = (m) => m.type === 'event' && m.event === 'presence.changed' && m.data.user_id === 'bob';

before(async () => {
  bridge = await startBridge(DB, { args: ['--web-root', path.join(ROOT, 'web'), '--demo-users', 'alice,bob,carol,dave'] });
  browser = await chromium.launch({
    executablePath: CHROMIUM, headless: true, timeout: STEP_MS,
    args: ['--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  fs.writeFileSync(path.join(ARTIFACTS_DIR, 'presence-timings.json'), JSON.stringify(timings, null, 1));
  await browser?.close().catch(() => {});
  await bridge?.stop();
});

test('a sign-in reaches a permitted viewer within a second, never an excluded one', { timeout: 90000 }, async (t) => {
  const alice = await open('alice');
  const carol = await open('carol');
  await signIn(alice, 'alice');
  await signIn(carol, 'carol');
  for (const p of [alice, carol]) {
    await p.waitForSelector('#people-list li[data-user="bob"]');
    assert.equal(await p.getAttribute('#people-list li[data-user="bob"]', 'data-online'), 'false');
    await watchBob(p);
  }

  const bob = await open('bob');
  const clicked = Date.now();
  await signIn(bob, 'bob');
  // alice follows bob and her contacts policy allows it: the event shows him
  await alice.waitForSelector('#people-list li[data-user="bob"][data-online="true"]', { timeout: SHOWS_WITHIN_MS });
  const shownAt = await alice.evaluate(() => window.bobOnlineAt);
  assert.equal(await alice.textContent('#people-list li[data-user="bob"] .presence'), 'online');
  assert.ok(alice.frames.some((m) => aboutBob(m) && m.data.online === true), 'by a presence.changed event');
  timings.sign_in_click_to_viewer_ms = shownAt - clicked;
  // from the transaction that recorded his socket (the event's created_at)
  const wrote = Number(psql(DB, `SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM pgcall.event
    WHERE type = 'presence.changed' AND recipients @> ARRAY['alice'] AND payload::jsonb -> 'data' ->> 'user_id' = 'bob'
    ORDER BY id LIMIT 1`));
  timings.database_to_viewer_ms = shownAt - wrote;
  t.diagnostic(`bob's sign-in showed on alice's page ${timings.sign_in_click_to_viewer_ms} ms after the click ` +
    `(${timings.database_to_viewer_ms} ms after the database recorded his socket)`);

  // carol follows bob too, but the policy excludes her.  A call that rings
  // her, committed after bob's sign-in, is the barrier: her socket gets
  // events in id order, so once it rings she has had every earlier one.
  psql(DB, "SET pgcall.user_id = 'dave'; SELECT pgcall.call_start(ARRAY['carol'])");
  await carol.waitForSelector('#incoming[open]');
  assert.deepEqual(carol.frames.filter(aboutBob), [], 'carol never hears of bob');
  assert.equal(await carol.evaluate(() => window.bobOnlineAt), null, 'nor ever shows him online');
  const snap = carol.frames.filter((m) => m.type === 'result' && m.data?.presence);
  assert.ok(snap.length > 0 && snap.every((m) => m.data.presence.every((p) => p.user_id !== 'bob' || !p.online)),
    'her snapshots show him offline too');

  // bob signs out: alice sees it as it happens.
  const closed = Date.now();
  await bob.context().close();
  await alice.waitForSelector('#people-list li[data-user="bob"][data-online="false"]');
  timings.sign_out_to_viewer_ms = Date.now() - closed;
  t.diagnostic(`bob's sign-out showed on alice's page within ${timings.sign_out_to_viewer_ms} ms`);
  assert.deepEqual(carol.frames.filter(aboutBob), [], 'nor of his sign-out');
});
