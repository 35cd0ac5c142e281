// admin.js: the administrators' dashboard (admin.html).  Like the app, it
// holds no rule of its own: it calls pgcall's admin_* functions over HTTP
// (POST /rpc/<fn> with the administrator's JWT) and shows what they return.
//
//   analytics   admin_analytics({days, group_by, time_zone})  -> three charts and a table
//   live calls  admin_calls({status: 'live'}), every few seconds
//   recent      admin_calls({status: 'ended', limit: 20})
//   details     admin_call_details({call_id})                 -> participant timeline
//   actions     admin_call_end({call_id}), admin_remove_participant({call_id, user_id | pseudonym})
//
// While pgcall.pseudonymize is on the database shows people as pseudonyms
// and takes them back as pseudonyms; the page only passes them on.
// Charts are Chart.js, loaded from web/vendor by admin.html.

import { explain } from './errors.js';

const $ = (sel) => document.querySelector(sel);
const POLL_MS = 3000;

const admin = {
  session: null,   // {user, token, demo}
  pseudonymous: false,
  charts: {},      // name -> Chart: the tests read their data
  analytics: null, // the last admin_analytics result shown
  live: [],
  details: null,   // the admin_call_details result shown in the dialog
  timer: null,
};
window.pgcallAdmin = admin;

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    Object.assign(this, { status, code: body?.code ?? null, details: body?.details ?? null, hint: body?.hint ?? null });
  }
}

async function rpc(fn, args = {}, retried = false) {
  let r;
  try {
    r = await fetch(`/rpc/${fn}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${admin.session.token}` },
      body: JSON.stringify(args),
    });
  } catch {
    throw new ApiError(0, { code: 'offline', message: 'The server cannot be reached' });
  }
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const e = new ApiError(r.status, body);
    // an expired demo token is renewed once; anything else is the person's to fix
    if ((e.code === 'PGRST303' || e.code === 'PGRST301') && admin.session.demo && !retried) {
      admin.session.token = await demoToken(admin.session.user);
      save();
      return rpc(fn, args, true);
    }
    if (e.status === 401 || e.code === 'P403F' || e.code === '42501') {
      message('error', explain(e, 'Signed out'));
      signOut(false);
    }
    throw e;
  }
  return body;
}

// ---------------------------------------------------------------- sign in

async function demoToken(user) {
  const r = await fetch('/demo/token', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, role: 'pgcall_admin' }) });
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => null));
  return (await r.json()).token;
}

function jwtClaims(token) {
  try {
    return JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  } catch {
    return null;
  }
}

function save() {
  sessionStorage.setItem('pgcall.admin', JSON.stringify(admin.session));
}

async function showSignIn() {
  $('#signin').hidden = false;
  $('#dash').hidden = true;
  const r = await fetch('/demo/admins').catch(() => null);
  const names = r?.ok ? await r.json() : [];
  $('#demo').hidden = names.length === 0;
  $('#own-token').open = names.length === 0;
  $('#demo-admins').replaceChildren(...names.map((u) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `Sign in as ${u}`;
    b.dataset.user = u;
    b.onclick = async () => {
      try {
        signIn({ user: u, token: await demoToken(u), demo: true });
      } catch (e) {
        message('error', explain(e, `Cannot sign in as ${u}`));
      }
    };
    return b;
  }));
}

$('#jwt-form').onsubmit = (e) => {
  e.preventDefault();
  const token = e.target.token.value.trim();
  const claims = jwtClaims(token);
  if (!claims) return message('error', 'That is not a JWT.');
  if (claims.role !== 'pgcall_admin') return message('error', `That token's role is ${claims.role ?? 'missing'}: the dashboard needs pgcall_admin.`);
  signIn({ user: claims.sub ?? 'administrator', token, demo: false });
};

function signIn(session) {
  admin.session = session;
  save();
  $('#signin').hidden = true;
  $('#dash').hidden = false;
  $('#signout').hidden = false;
  $('#me').textContent = session.user;
  loadAnalytics();
  refreshCalls();
  clearInterval(admin.timer);
  admin.timer = setInterval(refreshCalls, POLL_MS);
}

function signOut(reload = true) {
  clearInterval(admin.timer);
  sessionStorage.removeItem('pgcall.admin');
  admin.session = null;
  if (reload) location.reload();
  else {
    $('#dash').hidden = true;
    $('#signout').hidden = true;
    $('#me').textContent = '';
    if ($('#details').open) $('#details').close();
    showSignIn();
  }
}
$('#signout').onclick = () => signOut();

// -------------------------------------------------------------- messages

function message(kind, text) {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  li.textContent = text;
  const list = $('#messages');
  list.prepend(li);
  while (list.children.length > 4) list.lastChild.remove();
  setTimeout(() => li.remove(), 15000);
}

function confirmAction(text) {
  const d = $('#confirm');
  $('#confirm-text').textContent = text;
  return new Promise((resolve) => {
    d.onclose = () => resolve(d.returnValue === 'yes');
    d.returnValue = '';
    d.showModal();
    $('#confirm-no').focus();
  });
}

// ------------------------------------------------------------- analytics

function fillTimeZones() {
  const sel = $('#analytics-form select[name="time_zone"]');
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  // every zone the browser knows, and a few common ones in case it knows none
  const common = ['America/Los_Angeles', 'America/New_York', 'America/Sao_Paulo', 'Europe/London', 'Europe/Berlin',
    'Africa/Johannesburg', 'Asia/Dubai', 'Asia/Kolkata', 'Asia/Shanghai', 'Asia/Tokyo', 'Australia/Sydney'];
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const all = [...new Set(['UTC', here, ...[...common, ...zones].sort()])];
  sel.replaceChildren(...all.map((z) => new Option(z === here ? `${z} (this device)` : z, z, false, z === 'UTC')));
}

$('#analytics-form').onsubmit = (e) => {
  e.preventDefault();
  loadAnalytics();
};

async function loadAnalytics() {
  const f = $('#analytics-form');
  const args = { days: Number(f.days.value), group_by: f.group_by.value, time_zone: f.time_zone.value };
  const section = $('#analytics');
  section.setAttribute('aria-busy', 'true');
  try {
    const a = await rpc('admin_analytics', args);
    admin.analytics = a;
    drawAnalytics(a);
    section.dataset.loaded = `${a.days}/${a.group_by}/${a.time_zone}`;
  } catch (e) {
    message('error', explain(e, 'Could not load the analytics'));
  } finally {
    section.setAttribute('aria-busy', 'false');
  }
}

const minutes = (s) => `${Math.round(s / 60)} min`;
const number = (x) => (x == null ? '–' : Number(x).toLocaleString());

function periodLabel(period, groupBy) {
  const d = new Date(`${period}T00:00:00Z`);
  const opts = groupBy === 'month' ? { year: 'numeric', month: 'short', timeZone: 'UTC' }
    : { month: 'short', day: 'numeric', timeZone: 'UTC' };
  const s = d.toLocaleDateString(undefined, opts);
  return groupBy === 'week' ? `week of ${s}` : s;
}

function drawAnalytics(a) {
  const stats = a.stats ?? [];
  const labels = stats.map((s) => periodLabel(s.period, a.group_by));
  const sum = a.summary ?? {};
  $('#summary').replaceChildren(...[
    ['Calls', number(sum.calls)], ['Participants', number(sum.participants)],
    ['Average duration', sum.avg_duration == null ? '–' : minutes(sum.avg_duration)],
    ['Audio minutes', number(sum.audio_minutes)], ['Video minutes', number(sum.video_minutes)],
    ['Peak participants', number(sum.peak_participants)],
  ].map(([k, v]) => {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = v;
    div.append(dt, dd);
    return div;
  }));

  chart('calls', 'bar', labels, [
    { label: 'Calls', data: stats.map((s) => s.calls), backgroundColor: '#2563eb' },
    { label: 'Participants', data: stats.map((s) => s.participants), backgroundColor: '#f59e0b' },
  ]);
  chart('minutes', 'bar', labels, [
    { label: 'Audio minutes', data: stats.map((s) => Number(s.audio_minutes)), backgroundColor: '#0d9488', stack: 'm' },
    { label: 'Video minutes', data: stats.map((s) => Number(s.video_minutes)), backgroundColor: '#7c3aed', stack: 'm' },
  ], { stacked: true });
  chart('peak', 'line', labels, [
    { label: 'Peak participants', data: stats.map((s) => s.peak_participants), borderColor: '#dc2626',
      backgroundColor: '#dc2626', stepped: 'middle', pointStyle: 'rectRot', pointRadius: 4 },
  ]);

  $('#analytics-table tbody').replaceChildren(...stats.map((s, i) => {
    const tr = document.createElement('tr');
    const cells = [labels[i], number(s.calls), number(s.participants), s.avg_duration == null ? '–' : minutes(s.avg_duration),
      number(s.audio_minutes), number(s.video_minutes), number(s.peak_participants)];
    cells.forEach((c, j) => {
      const td = document.createElement(j === 0 ? 'th' : 'td');
      if (j === 0) td.scope = 'row';
      td.textContent = c;
      tr.append(td);
    });
    return tr;
  }));
}

// One chart per canvas, replaced in place when the data change.  Each
// dataset also differs by more than colour (pattern of the point style,
// stacking order and the legend's text), and the table repeats the figures.
function chart(name, type, labels, datasets, { stacked = false } = {}) {
  const canvas = $(`#chart-${name}`);
  const old = admin.charts[name];
  if (old) {
    old.data.labels = labels;
    old.data.datasets = datasets;
    old.update();
    return old;
  }
  if (!window.Chart) {
    message('error', 'The charting library did not load: the table below has the same figures.');
    return null;
  }
  admin.charts[name] = new window.Chart(canvas, {
    type,
    data: { labels, datasets },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      plugins: { legend: { position: 'bottom' } },
      scales: { x: { stacked }, y: { stacked, beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
  return admin.charts[name];
}

// ------------------------------------------------------------------ calls

const fmtTime = (t) => (t ? new Date(t).toLocaleString([], { dateStyle: 'short', timeStyle: 'medium' }) : '–');
const STATUS_TEXT = { ringing: 'Ringing', active: 'In progress', ended: 'Ended' };
const PART_TEXT = { invited: 'invited', ringing: 'ringing', joined: 'in the call', left: 'left', declined: 'declined',
  missed: 'missed', busy: 'busy', removed: 'removed' };

async function refreshCalls() {
  if (!admin.session) return;
  try {
    const [live, ended] = await Promise.all([
      rpc('admin_calls', { status: 'live' }),
      rpc('admin_calls', { status: 'ended', limit: 20 }),
    ]);
    setPseudonymous(live.pseudonymous);
    admin.live = live.calls;
    renderCalls('#live-table', '#live-empty', live.calls, true);
    renderCalls('#recent-table', '#recent-empty', ended.calls, false);
    $('#live-count').textContent = `(${live.calls.length})`;
    if ($('#details').open && admin.details) await loadDetails(admin.details.call.id, false);
  } catch (e) {
    if (admin.session) message('error', explain(e, 'Could not list the calls'));
  }
}

function setPseudonymous(on) {
  admin.pseudonymous = on;
  $('#pseudonymous').hidden = !on;
  document.body.dataset.pseudonymous = String(on);
}

function callName(c) {
  return c.title ? `${c.title}` : `${c.kind} ${c.type} call`;
}

function renderCalls(table, empty, calls, live) {
  const tbody = $(`${table} tbody`);
  $(empty).hidden = calls.length > 0;
  $(table).hidden = calls.length === 0;
  tbody.replaceChildren(...calls.map((c) => {
    const tr = document.createElement('tr');
    tr.dataset.call = c.id;
    tr.dataset.status = c.status;
    const name = document.createElement('th');
    name.scope = 'row';
    name.innerHTML = '<span class="name"></span> <code class="id"></code>';
    name.querySelector('.name').textContent = callName(c);
    name.querySelector('.id').textContent = c.id.slice(0, 8);
    name.querySelector('.id').title = c.id;
    const status = document.createElement('td');
    status.innerHTML = '<span class="state"></span>';
    status.firstChild.dataset.state = live ? c.status : c.end_reason;
    status.firstChild.textContent = live ? STATUS_TEXT[c.status] ?? c.status : c.end_reason;
    const by = document.createElement('td');
    by.textContent = c.created_by;
    const people = document.createElement('td');
    const ul = document.createElement('ul');
    ul.className = 'people';
    for (const p of c.participants) {
      const li = document.createElement('li');
      li.dataset.user = p.user_id;
      li.dataset.status = p.status;
      li.textContent = `${p.user_id} (${PART_TEXT[p.status] ?? p.status})`;
      ul.append(li);
    }
    people.append(ul);
    const when = document.createElement('td');
    const t = document.createElement('time');
    t.dateTime = live ? c.created_at : c.ended_at;
    t.textContent = fmtTime(t.dateTime);
    when.append(t);
    const actions = document.createElement('td');
    actions.className = 'actions';
    const details = button('Details', `Details of ${callName(c)}`, () => loadDetails(c.id, true));
    details.dataset.action = 'details';
    actions.append(details);
    if (live) {
      const end = button('End call', `End ${callName(c)} for everyone`, () => endCall(c.id, callName(c)), 'danger');
      end.dataset.action = 'end';
      actions.append(end);
    }
    tr.append(name, status, by, people, when, actions);
    return tr;
  }));
}

function button(text, label, onclick, cls = '') {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (label) b.setAttribute('aria-label', label);
  if (cls) b.className = cls;
  b.onclick = onclick;
  return b;
}

async function endCall(callId, name) {
  if (!await confirmAction(`End ${name} for everyone in it? They will see that an administrator ended it.`)) return;
  try {
    const r = await rpc('admin_call_end', { call_id: callId });
    message('done', `Ended ${name} (${r.duration_seconds ?? 0} s).`);
  } catch (e) {
    message('error', explain(e, 'Could not end the call'));
  }
  await refreshCalls();
}

async function removeParticipant(callId, who) {
  if (!await confirmAction(`Remove ${who} from this call? They leave it and cannot join it again.`)) return;
  try {
    const args = admin.details?.pseudonymous ? { call_id: callId, pseudonym: who } : { call_id: callId, user_id: who };
    const r = await rpc('admin_remove_participant', args);
    message('done', r.already_removed ? `${who} had already been removed.` : `Removed ${who} from the call.`);
  } catch (e) {
    message('error', explain(e, `Could not remove ${who}`));
  }
  await refreshCalls();
  if (admin.details?.call.id === callId) await loadDetails(callId, false);
}

// ---------------------------------------------------------------- details

async function loadDetails(callId, open) {
  let d;
  try {
    d = await rpc('admin_call_details', { call_id: callId });
  } catch (e) {
    message('error', explain(e, 'Could not load the call'));
    return;
  }
  admin.details = d;
  setPseudonymous(d.pseudonymous);
  const c = d.call;
  const dlg = $('#details');
  dlg.dataset.call = c.id;
  dlg.dataset.status = c.status;
  $('#details-title').textContent = `${callName(c)} · ${STATUS_TEXT[c.status] ?? c.status}${c.end_reason ? ` (${c.end_reason})` : ''}`;
  $('#details-call').replaceChildren(...[
    ['Call id', c.id], ['Kind', `${c.kind}, ${c.type}`], ['Started by', c.created_by],
    ['Created', fmtTime(c.created_at)], ['Answered', fmtTime(c.answered_at)], ['Ended', fmtTime(c.ended_at)],
    ['Ended by', c.ended_by ?? '–'], ['People in it', String(d.stats.total_participants)],
    ['Peak at once', String(d.stats.peak_participants)], ['Time in call, all together', `${d.stats.participant_seconds} s`],
  ].map(([k, v]) => {
    const div = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = v;
    div.append(dt, dd);
    return div;
  }));
  const live = c.status !== 'ended';
  $('#details-end').hidden = !live;
  $('#details-end').onclick = () => endCall(c.id, callName(c)).then(() => loadDetails(c.id, false));
  $('#details-participants tbody').replaceChildren(...d.participants.map((p) => {
    const tr = document.createElement('tr');
    tr.dataset.user = p.user_id;
    tr.dataset.status = p.status;
    const cells = [p.user_id, p.role, PART_TEXT[p.status] ?? p.status, fmtTime(p.invited_at), fmtTime(p.joined_at),
      p.joined_at && !p.left_at && p.status === 'joined' ? 'still in it' : fmtTime(p.left_at),
      `${p.duration_seconds} s${p.sessions > 1 ? ` in ${p.sessions} stretches` : ''}`];
    cells.forEach((v, j) => {
      const td = document.createElement(j === 0 ? 'th' : 'td');
      if (j === 0) td.scope = 'row';
      td.textContent = v;
      tr.append(td);
    });
    const act = document.createElement('td');
    if (live && p.status !== 'removed' && ['invited', 'ringing', 'joined'].includes(p.status)) {
      const b = button('Remove', `Remove ${p.user_id} from the call`, () => removeParticipant(c.id, p.user_id), 'danger');
      b.dataset.action = 'remove';
      act.append(b);
    }
    tr.append(act);
    return tr;
  }));
  drawTimeline(d);
  if (open && !dlg.open) {
    dlg.showModal();
    $('#details-close').focus();
  }
}

// A floating bar per participant and phase: [start, end] in seconds since
// the call was created; ringing and in-call differ by colour, pattern
// (border) and the legend's text.
function drawTimeline(d) {
  const t0 = Date.parse(d.call.created_at);
  const end = d.call.ended_at ? Date.parse(d.call.ended_at) : Date.now();
  const s = (t) => Math.max(0, Math.round((Date.parse(t) - t0) / 100) / 10);
  const labels = d.participants.map((p) => p.user_id);
  const ringing = d.participants.map((p) => {
    const stop = p.joined_at ?? (p.status === 'invited' || p.status === 'ringing' ? null : p.left_at);
    return [s(p.invited_at), stop ? s(stop) : s(new Date(end).toISOString())];
  });
  const inCall = d.participants.map((p) => (p.joined_at
    ? [s(p.joined_at), p.left_at ? s(p.left_at) : s(new Date(end).toISOString())] : null));
  const c = chart('timeline', 'bar', labels, [
    { label: 'Ringing', data: ringing, backgroundColor: '#fde68a', borderColor: '#92400e', borderWidth: 1, borderSkipped: false },
    { label: 'In the call', data: inCall, backgroundColor: '#16a34a', borderColor: '#14532d', borderWidth: 2, borderSkipped: false },
  ]);
  if (c) {
    c.options.indexAxis = 'y';
    c.options.scales = { x: { beginAtZero: true, title: { display: true, text: 'seconds since the call started' } }, y: { stacked: true } };
    c.update();
  }
}

$('#details-close').onclick = () => $('#details').close();
$('#live-refresh').onclick = () => refreshCalls();

// ------------------------------------------------------------------ start

fillTimeZones();
const saved = JSON.parse(sessionStorage.getItem('pgcall.admin') ?? 'null');
// admin.html loads Chart.js with defer and this module after it: both have
// run by now, in document order.
if (saved) signIn(saved);
else showSignIn();
