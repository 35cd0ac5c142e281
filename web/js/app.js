// app.js: the reference calling app.  It holds no rule of its own: it calls
// pgcall's functions over the one WebSocket (pgcall.js) and redraws from
// the events the database sends.  An event carries what changed: the call's
// own members ("call": {status, end_reason, ...}) and the participant that
// changed ("participant"), or the whole call with its participants
// (call.started, call.incoming, the end events).  The app keeps each call
// it cares about with its version (app.calls), applies events in order on
// top of it, ignores those at or below the version it holds, and asks
// call_get when it lacks the call (docs/protocol.md, "Calls and versions").
//
//   caller                     database                      callee
//   call_start ------------->  call ringing  -- call.incoming -->  dialog
//                              (ring timeout: call.missed)
//                              call active   <------------- call_accept
//   <-- call.accepted / participant.joined --
//   offer/answer/candidates:   call_signal   -- call.signal --> (and back)
//   call_end / call_leave -->  call ended    -- call.ended ---> both
//
// Media is peer to peer (mesh.js) or Agora (agora.js), chosen in config.js.

import { config } from './config.js';
import { PgcallSocket } from './pgcall.js';
import { Mesh } from './mesh.js';
import { AgoraMedia, loadAgoraSdk } from './agora.js';
import { explain } from './errors.js';

const $ = (sel) => document.querySelector(sel);
const END_EVENTS = new Set(['call.ended', 'call.cancelled', 'call.rejected', 'call.missed', 'call.busy', 'call.unavailable']);

const app = {
  session: null,      // {user, token, demo}: who is signed in (sessionStorage)
  socket: null,
  device: crypto.randomUUID(),  // this tab, for "answered on another device"
  people: [],         // user ids in the people list
  online: new Map(),  // user id -> boolean
  inCall: new Map(),  // user id -> boolean
  presenceAt: new Map(),  // user id -> event id its presence is as of
  incoming: null,     // the call ringing here (dialog shown)
  call: null,         // the call this tab takes part in, see startCall/accept
  held: [],           // events that came before call_start's reply named the call
  calls: new Map(),   // call id -> the call as last known, with its version
  queue: Promise.resolve(),  // events are applied one after another, in order
  done: new Set(),    // call ids already finished here
  iceCache: null,
  resyncs: 0,        // times the bridge said P410A (events purged)
};
window.pgcallApp = app;  // for the console and the browser tests

// ------------------------------------------------------------ sign in

async function demoToken(user) {
  let r;
  try {
    r = await fetch('/demo/token', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user }) });
  } catch (e) {
    throw Object.assign(new Error('The server cannot be reached'), { fatal: false });
  }
  if (!r.ok) throw Object.assign(new Error(`Cannot sign in as ${user} (HTTP ${r.status})`), { fatal: r.status === 404 });
  return (await r.json()).token;
}

function jwtClaims(token) {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return {};
  }
}
const jwtSub = (token) => jwtClaims(token).sub ?? null;

async function showSignIn() {
  $('#signin').hidden = false;
  $('#home').hidden = true;
  const r = await fetch('/demo/users').catch(() => null);
  const users = r?.ok ? await r.json() : [];
  $('#demo').hidden = users.length === 0;
  $('#own-token').open = users.length === 0;
  $('#demo-users').replaceChildren(...users.map((u) => {
    const b = document.createElement('button');
    b.textContent = u;
    b.dataset.user = u;
    b.onclick = async () => {
      try {
        signIn({ user: u, token: await demoToken(u), demo: true });
      } catch (e) {
        notice('error', e.message);
      }
    };
    return b;
  }));
}

$('#jwt-form').onsubmit = (e) => {
  e.preventDefault();
  const token = e.target.token.value.trim();
  const user = jwtSub(token);
  if (!user) return notice('error', 'That is not a JWT with a sub claim');
  signIn({ user, token, demo: false });
};

function signIn(session) {
  app.session = session;
  sessionStorage.setItem('pgcall.session', JSON.stringify(session));
  $('#signin').hidden = true;
  $('#home').hidden = false;
  $('#signout').hidden = false;
  $('#me').textContent = session.user;
  document.body.dataset.user = session.user;

  // The socket asks again (refresh) when the bridge refused the token or
  // could not be reached: a token that has not expired is tried again.
  app.socket = new PgcallSocket(async (refresh) => {
    const exp = jwtClaims(app.session.token).exp;
    if (!refresh || (exp && exp * 1000 > Date.now() + 30000)) return app.session.token;
    if (!app.session.demo) throw Object.assign(new Error('Your token expired: sign in again'), { fatal: true });
    app.session.token = await demoToken(app.session.user);
    sessionStorage.setItem('pgcall.session', JSON.stringify(app.session));
    return app.session.token;
  });
  app.socket.addEventListener('state', (e) => onSocketState(e.detail));
  app.socket.addEventListener('welcome', onWelcome);
  app.socket.addEventListener('event', (e) => onEvent(e.detail));
  app.socket.addEventListener('resync', () => { app.resyncs++; resync(); });
  app.socket.addEventListener('auth', (e) => { notice('error', e.detail.message); signOut(); });
  app.socket.start();
  loadPeople();
}

function signOut() {
  if (app.call) teardown();
  app.socket?.stop();
  app.socket = null;
  sessionStorage.removeItem('pgcall.session');
  location.reload();
}
$('#signout').onclick = signOut;

// ------------------------------------------------- connection and resync

function onSocketState(state) {
  const pill = $('#conn');
  pill.dataset.state = state;
  pill.textContent = { open: 'online', connecting: 'connecting…', reconnecting: 'reconnecting…', closed: 'offline' }[state];
  const banner = $('#banner');
  if (state === 'reconnecting') {
    banner.hidden = false;
    banner.textContent = app.call
      ? 'Connection to the server lost: reconnecting. Your call goes on meanwhile.'
      : 'Connection to the server lost: reconnecting…';
  } else if (state === 'open') {
    banner.hidden = true;
  }
}

let firstWelcome = true;
async function onWelcome() {
  refreshPresence();
  if (firstWelcome) {
    // A fresh page may have missed what happened before it loaded.
    firstWelcome = false;
    await resync();
  }
  // Otherwise the bridge replays every event since the last one we handled.
}

// Read back the state from functions: on a fresh page, and when the bridge
// says the events we missed were already purged (P410A).
async function resync() {
  refreshHistory();
  for (const c of [app.call, app.incoming]) {
    if (!c?.id) continue;
    try {
      const got = await app.socket.call('call_get', { call_id: c.id });
      const call = got.call ?? got;
      if (call.status === 'ended') finish(call);
      else if (app.call?.id === call.id) applyCall(call, true);
    } catch (e) {
      console.warn('resync', e);
    }
  }
  if (!app.call && !app.incoming) {
    // a call ringing for us right now shows in the history as ringing
    try {
      const h = await app.socket.call('call_history', { direction: 'incoming', limit: 5 });
      const ringing = h.data.find((c) => c.status === 'ringing');
      if (ringing) {
        const got = await app.socket.call('call_get', { call_id: ringing.id });
        showIncoming(got.call ?? got);
      }
    } catch (e) {
      console.warn('resync', e);
    }
  }
}

// -------------------------------------------------------------- people

// Presence comes as presence.changed events for the people we follow
// (presence_subscribe); a slow re-read covers a bridge that died without
// saying so, which no event announces.
function loadPeople() {
  fetch('/demo/users').then((r) => (r.ok ? r.json() : [])).catch(() => []).then((users) => {
    for (const u of users) addPerson(u);
  });
  clearInterval(app.presenceTimer);
  app.presenceTimer = setInterval(refreshPresence, config.presenceEveryMs);
}

function addPerson(user) {
  if (user === app.session.user || app.people.includes(user)) return;
  app.people.push(user);
  renderPeople();
  refreshPresence();
}

function renderPeople() {
  const ticked = new Set([...document.querySelectorAll('#people-list input:checked')].map((i) => i.closest('li').dataset.user));
  $('#people-list').replaceChildren(...app.people.map((u) => {
    const li = document.createElement('li');
    li.dataset.user = u;
    li.dataset.online = String(app.online.get(u) ?? false);
    li.innerHTML = `<label><input type="checkbox"> <span class="dot" aria-hidden="true"></span> <span class="name"></span>
      <span class="presence"></span></label>
      <button data-media="audio">Audio</button> <button data-media="video">Video</button>`;
    li.querySelector('.name').textContent = u;
    li.querySelector('input').checked = ticked.has(u);
    showOnline(li);
    for (const b of li.querySelectorAll('button')) {
      b.setAttribute('aria-label', `${b.dataset.media === 'video' ? 'Video' : 'Audio'} call ${u}`);
      b.onclick = () => startCall([u], b.dataset.media, false);
    }
    return li;
  }));
}

// Online, offline or in a call, in words as well as the dot's colour.
function showOnline(li) {
  const on = app.online.get(li.dataset.user) ?? false;
  const words = on ? (app.inCall.get(li.dataset.user) ? 'in a call' : 'online') : 'offline';
  li.dataset.online = String(on);
  li.querySelector('.dot').title = words;
  li.querySelector('.presence').textContent = words;
}

// p as of event id `at`, unless what we show is newer.
function setPresence(p, at) {
  if ((app.presenceAt.get(p.user_id) ?? -1) > at) return;
  app.presenceAt.set(p.user_id, at);
  app.online.set(p.user_id, p.online);
  app.inCall.set(p.user_id, p.in_call);
  const li = document.querySelector(`#people-list li[data-user="${CSS.escape(p.user_id)}"]`);
  if (li) showOnline(li);
}

// Follow the people list: a snapshot now, presence.changed events after it
// (those up to its version are already in the snapshot).
// One subscription at a time: each replaces the last, and two in flight may
// commit in either order (pooled connections), so a later list could be
// replaced by an earlier one.  A request made meanwhile runs once after it.
async function refreshPresence() {
  if (app.socket?.state !== 'open') return;
  if (app.presencePending) {
    app.presenceAgain = true;
    return;
  }
  app.presencePending = true;
  await null;  // people added in one go: one subscription
  try {
    do {
      app.presenceAgain = false;
      const snap = await app.socket.call('presence_subscribe', { user_ids: [...app.people] });
      for (const p of snap.presence) setPresence(p, snap.version);
    } while (app.presenceAgain && app.socket?.state === 'open');
  } catch (e) {
    console.warn('presence', e);
  } finally {
    app.presencePending = false;
    // asked for again while a failed one was out (a reconnect): once more
    if (app.presenceAgain) {
      app.presenceAgain = false;
      setTimeout(refreshPresence, 1000);
    }
  }
}

for (const b of document.querySelectorAll('.group-actions button')) {
  b.onclick = () => {
    const users = [...document.querySelectorAll('#people-list input:checked')].map((i) => i.closest('li').dataset.user);
    if (users.length < 2) return notice('error', 'Tick at least two people for a group call');
    startCall(users, b.dataset.media, true);
  };
}

$('#dial').onsubmit = (e) => {
  e.preventDefault();
  const user = e.target.user.value.trim();
  addPerson(user);
  startCall([user], e.submitter?.value ?? 'audio', false);
};

// ------------------------------------------------------------- history

async function refreshHistory() {
  if (app.socket?.state !== 'open') return;
  try {
    const seenKey = `pgcall.missedSeen.${app.session.user}`;
    const [h, missed] = await Promise.all([
      app.socket.call('call_history', { limit: 20 }),
      app.socket.call('call_missed_count', { since: localStorage.getItem(seenKey) }),
    ]);
    $('#history-list').replaceChildren(...h.data.map(historyItem));
    const badge = $('#missed-badge');
    badge.textContent = String(missed);
    badge.hidden = $('#missed-seen').hidden = Number(missed) === 0;
    for (const c of h.data) {
      for (const p of c.participants) addPerson(p.id);
      addPerson(c.caller.id);
    }
  } catch (e) {
    console.warn('history', e);
  }
}

$('#missed-seen').onclick = () => {
  localStorage.setItem(`pgcall.missedSeen.${app.session.user}`, new Date().toISOString());
  refreshHistory();
};

const STATUS_TEXT = { completed: 'completed', missed: 'missed', rejected: 'declined', cancelled: 'cancelled',
  busy: 'busy', unavailable: 'offline', failed: 'failed', terminated: 'ended', ringing: 'ringing', active: 'in progress' };

function historyItem(c) {
  const li = document.createElement('li');
  li.dataset.id = c.id;
  li.dataset.status = c.status;
  li.dataset.direction = c.direction;
  li.dataset.duration = String(c.duration ?? 0);
  li.classList.toggle('missed', c.is_missed);
  const others = c.direction === 'outgoing' ? c.participants.map((p) => p.id) : [c.caller.id];
  const when = new Date(c.created_at);
  li.innerHTML = `<span class="dir" title="${c.direction}">${c.direction === 'outgoing' ? '↗' : '↙'}</span>
    <span class="who"></span><span class="kind">${c.type}</span>
    <span class="status"></span><span class="duration"></span><time></time>`;
  li.querySelector('.who').textContent = others.join(', ');
  li.querySelector('.status').textContent = STATUS_TEXT[c.status] ?? c.status;
  li.querySelector('.duration').textContent = c.status === 'completed' ? clock(c.duration) : '';
  li.querySelector('time').textContent = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  li.querySelector('time').dateTime = c.created_at;
  return li;
}

// -------------------------------------------------------------- events

// Events are applied in the order they come, one at a time (an event may
// wait for call_get).  The events that come before call_start's reply named
// our new call are held, and queued once it did.
function onEvent(m) {
  if (m.event === 'presence.changed') {  // about a user, not a call
    setPresence(m.data, m.id);
    return;
  }
  if (app.call && !app.call.id && m.event !== 'call.incoming') {
    app.held.push(m);
    return;
  }
  app.queue = app.queue.then(() => handleEvent(m)).catch((e) => console.warn('event', m, e));
}

// Remember a call object (a function's reply or call_get) unless we hold a
// newer version of it; returns the one kept.
function keepCall(call) {
  const held = app.calls.get(call.id);
  if (held && (held.version ?? 0) > (call.version ?? 0)) return held;
  app.calls.set(call.id, call);
  return call;
}

// A call from a function's reply, with its participants: the replies about
// calls of more than 50 people leave the list out (participant_count
// instead), so read it page by page with call_participants.
async function withParticipants(call) {
  if (call.participants) return call;
  const participants = [];
  let after = null;
  do {
    const page = await app.socket.call('call_participants', { call_id: call.id, after, max: 1000 });
    participants.push(...page.participants);
    after = page.next;
  } while (after);
  return { ...call, participants };
}

// The call after event m, from the one held: whole calls replace it, deltas
// update its own members and upsert the participant by user_id.  null when
// m is not newer than what we hold, or we hold nothing and m is a delta.
function applyEvent(m) {
  const held = app.calls.get(m.call_id);
  if (held && m.id <= (held.version ?? 0)) return null;
  let call;
  if (m.call?.participants) call = { ...m.call };
  else if (held) call = { ...held, ...m.call };
  else return null;
  if (m.participant) {
    const list = [...call.participants];
    const i = list.findIndex((p) => p.user_id === m.participant.user_id);
    if (i < 0) list.push(m.participant); else list[i] = m.participant;
    call.participants = list;
  }
  call.version = m.id;
  app.calls.set(call.id, call);
  return call;
}

async function handleEvent(m) {
  const me = app.session.user;
  const mine = app.call?.id === m.call_id;
  const ringingHere = app.incoming?.id === m.call_id;

  if (m.event === 'call.signal') {  // the only event without a call
    if (mine) app.call.media_session ? app.call.media_session.handleSignal(m.data.from, m.data.kind, m.data.payload)
      : app.call.signals.push(m.data);
    return;
  }
  let call = applyEvent(m);
  if (!call) {
    const held = app.calls.get(m.call_id);
    if (held && m.id <= (held.version ?? 0)) return;  // already applied
    if (!mine && !ringingHere) {  // a call we do not show: its own members are enough
      if (m.call) participantNotice(m);
      return;
    }
    // a delta on a call we lack: read it whole (it includes this event)
    const got = await app.socket.call('call_get', { call_id: m.call_id });
    call = keepCall(got.call ?? got);
    if ((call.version ?? 0) < m.id) call = applyEvent(m) ?? call;
  }

  if (m.event === 'call.incoming' && call.participants.some((p) => p.user_id === me)) {
    showIncoming(call);
  } else if (END_EVENTS.has(m.event)) {
    if (mine || ringingHere) finish(call);
    refreshHistory();
  } else if (ringingHere) {
    // Still ringing here, but my invitation is over: another of my devices
    // answered or declined, or it rang out (a group call goes on without me).
    const p = call.participants.find((x) => x.user_id === me);
    if (p && p.status !== 'invited' && p.status !== 'ringing') {
      hideIncoming();
      app.done.add(call.id);
      const [kind, text] = {
        joined: ['answered-elsewhere', 'Answered on another device'],
        declined: ['declined-elsewhere', 'Declined on another device'],
        missed: ['missed', `Missed call from ${call.created_by}`],
      }[p.status] ?? ['ended', `Call ${p.status}`];
      notice(kind, text, call.id);
      refreshHistory();
    }
  } else if (mine && m.event === 'participant.removed' && m.data.user_id === me) {
    app.done.add(call.id);
    notice('removed', 'You were removed from the call and cannot join it again', call.id);
    teardown();
    refreshHistory();
  } else if (mine) {
    participantNotice(m);
    applyCall(call, false);
  }
}

function participantNotice(m) {
  const who = m.data.user_id;
  if (!who || who === app.session.user || m.call.kind !== 'group' || m.call.status === 'ended') return;
  const text = {
    'participant.declined': `${who} declined`,
    'participant.missed': m.data.reason === 'unavailable' ? `${who} is offline` : `${who} did not answer`,
    'participant.busy': `${who} is busy on another call`,
    'participant.left': `${who} left the call`,
    'participant.joined': `${who} joined`,
    'participant.removed': `${who} was removed from the call`,
  }[m.event];
  if (text) notice(m.event.slice(12), text, m.call_id);
}

// ----------------------------------------------------------- the call

// Start calling invitees.  The database decides everything that follows:
// ringing, busy, offline (require_online), glare, the ring timeout.
async function startCall(invitees, media, isGroup) {
  if (app.call || app.incoming) return notice('error', 'Finish the current call first');
  if (app.socket?.state !== 'open') return notice('error', 'Not connected to the server');
  const c = app.call = newCall({ media, role: 'caller', title: invitees.join(', '), phase: 'outgoing' });
  showCallView();
  c.localStream = await getMedia(media);
  if (app.call !== c) return stopTracks(c.localStream);  // hung up meanwhile
  renderTiles();
  let res;
  try {
    res = await app.socket.call('call_start', {
      invitees, type: media, is_group: isGroup || undefined, require_online: true,
      ring_timeout: config.ringTimeout ?? undefined, device_id: app.device,
    });
  } catch (e) {
    if (app.call === c) teardown();
    notice(e.code === 'P409D' ? 'full' : 'error', explain(e, `Could not call ${invitees.join(', ')}`));
    return;
  }
  if (app.call !== c) {
    // hung up before the database answered: stop it ringing
    app.socket.call('call_cancel', { call_id: res.call.id }).catch(() => {});
    return;
  }
  c.id = res.call.id;
  for (const m of app.held.splice(0)) onEvent(m);  // older than anything still to come
  // after the held events, in order: it may have ended at once (busy, offline)
  app.queue = app.queue.then(async () => applyCall(await withParticipants(res.call), true)).catch((e) => console.warn('call_start', e));
  await app.queue;
  if (app.call === c) await beginMedia(res.agora);
}

function showIncoming(call) {
  if (app.done.has(call.id) || app.incoming?.id === call.id || app.call?.id === call.id) return;
  if (app.call || app.incoming) return;  // busy here: it rings out (or another device answers)
  app.incoming = { id: call.id, call };
  const d = $('#incoming');
  d.dataset.call = call.id;
  d.querySelector('.media').textContent = call.media;
  d.querySelector('.who').textContent = `from ${call.created_by}`;
  const others = call.participants.map((p) => p.user_id).filter((u) => u !== call.created_by && u !== app.session.user);
  d.querySelector('.others').textContent = call.kind === 'group' ? `with ${others.join(', ')}` : '';
  const deadline = Date.parse(call.ring_deadline);
  const tick = () => {
    const s = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    d.querySelector('.countdown').textContent = `rings for ${s} s more`;
  };
  tick();
  app.incoming.timer = setInterval(tick, 1000);
  if (!d.open) d.showModal();
}

function hideIncoming() {
  if (!app.incoming) return;
  clearInterval(app.incoming.timer);
  app.incoming = null;
  $('#incoming').close();
}

$('#accept').onclick = async () => {
  const { call } = app.incoming ?? {};
  if (!call) return;
  hideIncoming();
  const c = app.call = newCall({ media: call.media, role: 'callee', title: call.created_by, phase: 'joining', id: call.id });
  showCallView();
  c.localStream = await getMedia(call.media);
  if (app.call !== c) return stopTracks(c.localStream);  // it ended meanwhile
  if (config.media !== 'agora') await beginMedia(null);  // ready for offers before we are joined
  renderTiles();
  try {
    const res = await app.socket.call('call_accept', { call_id: call.id, device_id: app.device });
    applyCall(await withParticipants(res.call), true);
    if (config.media === 'agora' && app.call === c) await beginMedia(res.agora);
  } catch (e) {
    if (app.call === c) teardown();
    const [kind, text] = {
      P409A: ['answered-elsewhere', 'Answered on another device'],
      P409B: ['ended', 'The call has already ended'],
      P409D: ['full', 'The call is full'],
      P403E: ['removed', explain(e)],
    }[e.code] ?? ['error', explain(e, 'Could not answer')];
    notice(kind, text, call.id);
  }
};

$('#reject').onclick = async () => {
  const { call } = app.incoming ?? {};
  if (!call) return;
  hideIncoming();
  app.done.add(call.id);
  try {
    await app.socket.call('call_reject', { call_id: call.id });
  } catch (e) {
    notice('error', explain(e, 'Could not decline'));
  }
};

function newCall(fields) {
  return { id: null, snapshot: null, localStream: null, media_session: null, signals: [],
    micMuted: false, cameraOff: false, answeredAt: null, ...fields };
}

// Peer-to-peer media, or Agora with the token pgcall returned.
async function beginMedia(agora) {
  const c = app.call;
  if (!c || c.media_session) return;
  const onChange = () => { if (app.call === c) renderTiles(); };
  if (config.media === 'agora') {
    try {
      const AgoraRTC = await loadAgoraSdk(config.agoraSdkUrl);
      // the local camera is Agora's own track: release ours
      for (const t of c.localStream?.getTracks() ?? []) t.stop();
      c.media_session = new AgoraMedia({ AgoraRTC, agora, media: c.media, onChange,
        renew: async () => (await app.socket.call('call_media_session', { call_id: c.id })).agora });
      await c.media_session.start();
      c.localStream = c.media_session.localStream;
    } catch (e) {
      notice('error', `Agora: ${e.message}`);
    }
  } else {
    const servers = await iceServers();
    if (app.call !== c || c.media_session) return;
    c.media_session = new Mesh({
      me: app.session.user, media: c.media, localStream: c.localStream, iceServers: servers, onChange,
      send: (to, kind, payload) => app.socket.call('call_signal', { call_id: c.id, to_user: to, kind, payload }),
    });
    for (const s of c.signals.splice(0)) c.media_session.handleSignal(s.from, s.kind, s.payload);
  }
  // connect to whoever joined while this was being set up
  if (app.call === c && c.snapshot) applyCall(c.snapshot, true);
}

function stopTracks(stream) {
  for (const t of stream?.getTracks() ?? []) t.stop();
}

// TURN credentials from the database, or none: without TURN (P503B)
// loopback and LAN calls still connect on host candidates.
async function iceServers() {
  if (app.iceCache && app.iceCache.until > Date.now()) return app.iceCache.servers;
  try {
    const t = await app.socket.call('turn_credentials', {});
    app.iceCache = { servers: t.iceServers, until: Date.parse(t.expires_at) - 60000 };
  } catch (e) {
    if (e.code !== 'P503B') console.warn('turn_credentials', e);
    app.iceCache = { servers: [], until: Date.now() + 60000 };
  }
  return app.iceCache.servers;
}

async function getMedia(media) {
  const wants = media === 'video' ? [{ audio: true, video: true }, { audio: true }] : [{ audio: true }];
  for (const w of wants) {
    try {
      return await navigator.mediaDevices.getUserMedia(w);
    } catch (e) {
      console.warn('getUserMedia', w, e);
    }
  }
  notice('error', 'No microphone or camera: you will only hear and see the others');
  return null;
}

// A newer view of our call: phase, who is joined, media flags.  fromReply:
// the snapshot came with a function's reply, which may be older than an
// event already handled, so it only adds peers and never drops any.
function applyCall(call, fromReply) {
  const c = app.call;
  if (!c || c.id !== call.id) return;
  if (fromReply) call = keepCall(call);  // an event may have brought a newer one
  if (call.status === 'ended') return finish(call);
  c.snapshot = call;
  const me = app.session.user;
  c.title = call.participants.map((p) => p.user_id).filter((u) => u !== me).join(', ');
  const mine = call.participants.find((p) => p.user_id === me);
  if (call.status === 'active' && mine?.status === 'joined') {
    c.phase = 'active';
    c.answeredAt ??= Date.parse(call.answered_at);
  }
  const joined = call.participants.filter((p) => p.status === 'joined' && p.user_id !== me).map((p) => p.user_id);
  if (mine?.status === 'joined' && c.media_session) {
    c.media_session.connectTo(joined);
    if (!fromReply) {
      for (const id of c.media_session.peers.keys()) if (!joined.includes(id)) c.media_session.drop(id);
    }
  }
  renderCallHead();
  renderTiles();
}

// The call ended (or this tab's part of it): say how, from its end_reason.
function finish(call) {
  if (app.done.has(call.id)) return;
  app.done.add(call.id);
  if (app.incoming?.id === call.id) hideIncoming();
  const me = app.session.user;
  const caller = call.created_by;
  // a reply about a large call has no participants: use the ones held
  const list = call.participants ?? app.calls.get(call.id)?.participants ?? [];
  const others = list.map((p) => p.user_id).filter((u) => u !== me).join(', ');
  const iCalled = caller === me;
  const [kind, text] = {
    completed: ['completed', `Call with ${others} ended · ${clock(call.duration_seconds ?? 0)}`],
    cancelled: iCalled ? ['cancelled', 'Call cancelled'] : ['missed', `Missed call from ${caller} (cancelled)`],
    rejected: iCalled ? ['rejected', `${others} declined the call`] : ['rejected', `You declined ${caller}`],
    missed: iCalled ? ['missed', `${others} did not answer`] : ['missed', `Missed call from ${caller}`],
    busy: ['busy', `${others} is busy on another call`],
    unavailable: ['unavailable', `${others} is offline`],
    failed: ['failed', 'The call failed'],
    terminated: ['terminated', 'An administrator ended the call'],
  }[call.end_reason] ?? ['ended', `Call ended (${call.end_reason})`];
  notice(kind, text, call.id);
  if (app.call?.id === call.id) teardown();
  refreshHistory();
}

// Hang up: cancel while it rings, end a direct call, leave a group call.
$('#hangup').onclick = async () => {
  const c = app.call;
  if (!c) return;
  if (!c.id) return teardown();
  const group = c.snapshot?.kind === 'group';
  const fn = c.phase === 'outgoing' && c.role === 'caller' ? 'call_cancel' : group ? 'call_leave' : 'call_end';
  try {
    const res = await app.socket.call(fn, { call_id: c.id });
    const call = res.call ?? res;
    if (call.status === 'ended') finish(call);
    else if (app.call?.id === c.id) {
      app.done.add(c.id);
      notice('left', 'You left the call', c.id);
      teardown();
      refreshHistory();
    }
  } catch (e) {
    // already over (P409B): the event says how; otherwise leave locally
    if (e.code !== 'P409B') notice('error', explain(e, 'Hang up'));
    teardown();
  }
};

// Mute and camera: the local track really stops sending (mesh/agora), and
// the database tells the others (participant.media).
$('#mute').onclick = () => setMedia('audio', !app.call?.micMuted);
$('#camera').onclick = () => setMedia('video', !app.call?.cameraOff);

async function setMedia(kind, off) {
  const c = app.call;
  if (!c) return;
  if (kind === 'audio') c.micMuted = off; else c.cameraOff = off;
  for (const t of c.localStream?.getTracks() ?? []) if (t.kind === kind) t.enabled = !off;
  c.media_session?.setEnabled(kind, !off);
  $('#mute').setAttribute('aria-pressed', String(c.micMuted));
  $('#mute').textContent = c.micMuted ? 'Unmute' : 'Mute';
  $('#camera').setAttribute('aria-pressed', String(c.cameraOff));
  $('#camera').textContent = c.cameraOff ? 'Camera on' : 'Camera off';
  renderTiles();
  if (!c.id) return;
  try {
    await app.socket.call('call_set_media', kind === 'audio' ? { call_id: c.id, mic_muted: off } : { call_id: c.id, camera_off: off });
  } catch (e) {
    console.warn('call_set_media', e);
  }
}

function teardown() {
  const c = app.call;
  if (!c) return;
  app.call = null;
  app.held = [];
  c.media_session?.close();
  stopTracks(c.localStream);
  clearInterval(app.statsTimer);
  $('#call').hidden = true;
  $('#call').dataset.phase = '';
  $('#tiles').replaceChildren();
}

// ----------------------------------------------------------- call view

function showCallView() {
  const v = $('#call');
  v.hidden = false;
  $('#mute').textContent = 'Mute';
  $('#camera').textContent = 'Camera off';
  $('#mute').setAttribute('aria-pressed', 'false');
  $('#camera').setAttribute('aria-pressed', 'false');
  $('#camera').hidden = app.call.media !== 'video';
  renderCallHead();
  clearInterval(app.statsTimer);
  app.statsTimer = setInterval(updateQuality, 1000);
}

function renderCallHead() {
  const c = app.call;
  if (!c) return;
  $('#call').dataset.phase = c.phase;
  $('#call').dataset.call = c.id ?? '';
  const group = c.snapshot?.kind === 'group' ? 'Group ' : '';
  $('#call-title').textContent = `${group}${c.media === 'video' ? 'video' : 'audio'} call with ${c.title}`.replace(/^./, (x) => x.toUpperCase());
  $('#call-status').textContent = {
    outgoing: 'ringing…', joining: 'connecting…', active: '',
  }[c.phase] ?? '';
}

// One tile for me and one per participant (joined or being rung).
function renderTiles() {
  const c = app.call;
  if (!c) return;
  const me = app.session.user;
  const wanted = [me];
  for (const p of c.snapshot?.participants ?? []) {
    if (p.user_id !== me && ['joined', 'invited', 'ringing'].includes(p.status)) wanted.push(p.user_id);
  }
  if (!c.snapshot) wanted.push(...c.title.split(', '));
  const tiles = $('#tiles');
  for (const t of [...tiles.children]) if (!wanted.includes(t.dataset.peer)) t.remove();
  for (const id of wanted) {
    let t = tiles.querySelector(`[data-peer="${CSS.escape(id)}"]`);
    if (!t) {
      t = $('#tile').content.firstElementChild.cloneNode(true);
      t.dataset.peer = id;
      t.querySelector('.name').textContent = id === me ? `${id} (you)` : id;
      t.querySelector('.avatar').textContent = id.slice(0, 1).toUpperCase();
      if (id === me) {
        t.classList.add('self');
        t.querySelector('video').muted = true;  // never hear yourself
      }
      tiles.append(t);
    }
    const p = c.snapshot?.participants.find((x) => x.user_id === id);
    const peer = c.media_session?.peers.get(id);
    const stream = id === me ? c.localStream : peer?.stream;
    const video = t.querySelector('video');
    if (stream && video.srcObject !== stream) video.srcObject = stream;
    const micOff = id === me ? c.micMuted : p?.mic_muted;
    const camOff = id === me ? c.cameraOff : p?.camera_off;
    t.dataset.mic = micOff ? 'off' : 'on';
    t.dataset.cam = camOff || c.media !== 'video' ? 'off' : 'on';
    t.dataset.status = p?.status ?? '';
    if (id !== me) t.dataset.state = peer?.pc?.connectionState ?? peer?.connectionState ?? (p?.status === 'joined' ? 'new' : 'waiting');
    // muted, camera off, ringing: in words, for eyes and screen readers alike
    const flags = [micOff && 'muted', camOff && c.media === 'video' && 'camera off',
      p && p.status !== 'joined' && id !== me && p.status].filter(Boolean);
    const shown = t.querySelector('.flags');
    if (shown.dataset.flags !== flags.join(',')) {
      shown.dataset.flags = flags.join(',');
      shown.replaceChildren(...flags.map((f) => Object.assign(document.createElement('span'),
        { className: 'flag', textContent: f === 'ringing' || f === 'invited' ? 'ringing…' : f })));
      for (const [el, f] of [...shown.children].map((el, i) => [el, flags[i]])) el.dataset.flag = f === 'invited' ? 'ringing' : f;
      t.setAttribute('aria-label', `${id === me ? `${id} (you)` : id}${flags.length ? `: ${flags.join(', ')}` : ''}`);
    }
  }
  tiles.dataset.count = String(tiles.children.length);
}

// Once a second: call timer, and per peer the connection state, round-trip
// time, packet loss and frame rate, from getStats().
async function updateQuality() {
  const c = app.call;
  if (!c) return;
  if (c.phase === 'active' && c.answeredAt) $('#call-timer').textContent = clock((Date.now() - c.answeredAt) / 1000);
  else $('#call-timer').textContent = '';
  if (!c.media_session) return;
  const stats = await c.media_session.stats({ sample: true });
  for (const [id, s] of Object.entries(stats)) {
    const t = document.querySelector(`#tiles [data-peer="${CSS.escape(id)}"]`);
    if (!t) continue;
    t.dataset.state = s.connectionState;
    const q = t.querySelector('.quality');
    const level = s.connectionState !== 'connected' ? 'bad'
      : (s.rttMs ?? 0) < 150 && (s.lossPct ?? 0) < 2 ? 'good'
        : (s.rttMs ?? 0) < 400 && (s.lossPct ?? 0) < 8 ? 'fair' : 'bad';
    q.dataset.level = level;
    q.textContent = s.connectionState !== 'connected' ? ` ${s.connectionState}`
      : ` ${s.rttMs ?? '–'} ms · ${s.lossPct ?? 0}% loss${s.fps != null ? ` · ${s.fps} fps` : ''}`;
  }
}

// -------------------------------------------------------------- notices

function notice(kind, text, callId = '') {
  const li = document.createElement('li');
  li.dataset.outcome = kind;
  li.dataset.call = callId ?? '';
  li.textContent = text;
  const list = $('#notices');
  list.prepend(li);
  while (list.children.length > 5) list.lastChild.remove();
  setTimeout(() => li.remove(), 20000);
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// ---------------------------------------------------------------- start

const saved = JSON.parse(sessionStorage.getItem('pgcall.session') ?? 'null');
if (saved) signIn(saved);
else showSignIn();
