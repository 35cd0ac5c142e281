// pgcall.js: the one WebSocket between the page and pgcall-bridge.
//
// Everything goes over it (docs/protocol.md): function calls
// ({"type":"call","id","fn","args"} -> "result" or "error" with that id) and
// the user's events, each with an id.  The socket remembers the largest event
// id it handled; when the connection drops it reconnects with backoff and
// ?after=<that id>, so the bridge replays exactly what was missed, in order.
// If those events were already purged the bridge says P410A and the page
// must resynchronise by calling functions ('resync' below).
//
// Emits (via addEventListener): 'state' {detail: 'connecting'|'open'|
// 'reconnecting'|'closed'}, 'event' {detail: event message}, 'resync',
// 'welcome' {detail: welcome message}, 'auth' (no valid token can be had).

export class PgcallError extends Error {
  constructor(status, error) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? null;
    this.details = error?.details ?? null;
    this.hint = error?.hint ?? null;
  }
}

const CALL_TIMEOUT_MS = 15000;   // no reply: treat as failed (the socket is probably dead)
const PING_EVERY_MS = 20000;     // app-level ping: browsers cannot send WebSocket pings
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

export class PgcallSocket extends EventTarget {
  // getToken(refresh): a JWT for /ws; refresh=true after the bridge refused
  // the current one (expired), so a new one is needed.
  constructor(getToken, { url = defaultUrl() } = {}) {
    super();
    this.getToken = getToken;
    this.url = url;
    this.state = 'closed';
    this.lastEventId = null;   // largest event id handled; null before the first welcome
    this.user = null;
    this.pending = new Map();  // call id -> {resolve, reject, timer}
    this.nextId = 1;
    this.attempt = 0;
    this.stopped = true;
    this.ws = null;
  }

  start() {
    this.stopped = false;
    this.#connect(false);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.ws?.close(1000, 'signed out');
    this.#setState('closed');
  }

  // Call fn with named arguments; resolves to its result, rejects with PgcallError.
  call(fn, args = {}) {
    if (this.state !== 'open') {
      return Promise.reject(new PgcallError(0, { code: 'offline', message: 'Not connected to the server' }));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PgcallError(0, { code: 'timeout', message: `${fn} got no reply` }));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type: 'call', id, fn, args }));
    });
  }

  async #connect(refreshToken) {
    if (this.stopped) return;
    this.#setState(this.attempt === 0 && this.lastEventId === null ? 'connecting' : 'reconnecting');
    let token;
    try {
      token = await this.getToken(refreshToken);
    } catch (e) {
      // fatal: no token can be had (a pasted token expired): give up and
      // tell the page; otherwise (the server is unreachable) try again.
      if (e.fatal) {
        this.stop();
        this.dispatchEvent(new CustomEvent('auth', { detail: e }));
      } else {
        this.#retry(refreshToken);
      }
      return;
    }
    if (this.stopped) return;
    let url = `${this.url}?token=${encodeURIComponent(token)}`;
    if (this.lastEventId !== null) url += `&after=${this.lastEventId}`;
    const ws = new WebSocket(url);
    this.ws = ws;
    let welcomed = false;
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'welcome') {
        welcomed = true;
        this.attempt = 0;
        this.user = m.user;
        // Before the first event, "everything after the newest event the
        // bridge has seen" is where a later resume starts.
        if (this.lastEventId === null) this.lastEventId = m.last_event_id;
        this.#setState('open');
        this.dispatchEvent(new CustomEvent('welcome', { detail: m }));
        this.#startPings();
      } else if (m.type === 'event') {
        if (this.lastEventId !== null && m.id <= this.lastEventId) return;  // never twice
        this.lastEventId = m.id;
        this.dispatchEvent(new CustomEvent('event', { detail: m }));
      } else if (m.type === 'result' || m.type === 'error') {
        if (m.type === 'error' && m.error?.code === 'P410A') {
          // resume could not be complete: what happened meanwhile must be read back
          this.dispatchEvent(new Event('resync'));
          return;
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.type === 'result') p.resolve(m.data);
        else p.reject(new PgcallError(m.status, m.error));
      } else if (m.type === 'pong') {
        this.lastPong = Date.now();
      }
    };
    ws.onclose = (e) => this.#lost(ws, e.code, welcomed);
  }

  // The socket closed, or stopped answering pings: fail what waits on it,
  // then reconnect and resume.
  #lost(ws, code, welcomed) {
    if (this.ws !== ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new PgcallError(0, { code: 'offline', message: 'The connection was lost' }));
    }
    this.pending.clear();
    if (this.stopped) return;
    // 1008: the token expired or was refused; get a new one.  An upgrade
    // refused with 401 shows as 1006 before any welcome: same remedy.
    this.#retry(code === 1008 || !welcomed);
  }

  #retry(refreshToken) {
    this.#setState('reconnecting');
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.#connect(refreshToken), delay * (0.75 + Math.random() / 2));
  }

  // A socket that silently died (laptop lid, NAT timeout) is noticed by a
  // ping that gets no pong; closing it triggers the reconnect above.
  #startPings() {
    clearInterval(this.pingTimer);
    this.lastPong = Date.now();
    this.pingTimer = setInterval(() => {
      const ws = this.ws;
      if (Date.now() - this.lastPong > 2 * PING_EVERY_MS) {
        ws.onclose = null;
        ws.close(4000, 'no pong');
        this.#lost(ws, 4000, true);
        return;
      }
      ws.send(JSON.stringify({ type: 'ping', id: null }));
    }, PING_EVERY_MS);
  }

  #setState(s) {
    if (this.state === s) return;
    this.state = s;
    this.dispatchEvent(new CustomEvent('state', { detail: s }));
  }
}

function defaultUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}
