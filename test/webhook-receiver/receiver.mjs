// An example webhook receiver for pgcall: what an application backend runs to
// turn pgcall's webhooks into VoIP pushes (documented in web/README.md,
// exercised by test/bridge/webhooks.test.mjs).
//
//   import { createReceiver } from './receiver.mjs';
//   const server = createReceiver({
//     secret: process.env.PGCALL_WEBHOOK_SECRET,      // whsec_... from webhook_endpoint_create (or a function returning it)
//     push: async (userId, notification) => { ... },  // APNs VoIP / FCM high priority
//   });
//   server.listen(8080);
//
// It checks the Pgcall-Signature header (HMAC-SHA256 of "<t>.<raw body>",
// |now - t| within 5 minutes), answers 2xx only once the push was handed
// over (anything else makes pgcall retry), and ignores a delivery id it has
// already handled, since pgcall delivers at least once.

import crypto from 'node:crypto';
import http from 'node:http';

export const TOLERANCE_SECONDS = 300;

// Whether header signs rawBody with secret within the tolerance window.
// header: "t=1700000000,v1=<hex>[,v1=<hex>]" (several v1 during a rotation).
export function verifySignature(secret, header, rawBody, { tolerance = TOLERANCE_SECONDS, now = Date.now() / 1000 } = {}) {
  if (typeof header !== 'string') return false;
  let t = null;
  const sigs = [];
  for (const part of header.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't' && /^\d+$/.test(v)) t = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/.test(v)) sigs.push(Buffer.from(v, 'hex'));
  }
  if (t === null || sigs.length === 0 || Math.abs(now - t) > tolerance) return false;
  const expected = crypto.createHmac('sha256', secret).update(`${t}.`).update(rawBody).digest();
  return sigs.some((s) => crypto.timingSafeEqual(s, expected));
}

// The push an app sends for each event it cares about, or null.
export function pushFor(event) {
  switch (event.type) {
    case 'call.ring_offline':
      return {
        to: event.callee.user_id,
        notification: {
          kind: 'incoming_call',          // a VoIP push: the phone shows its call screen
          call_id: event.call.id,
          media: event.call.media,        // audio or video
          caller_id: event.caller.user_id,
          caller_name: event.caller.display_name ?? event.caller.user_id,
          caller_avatar: event.caller.avatar_url,
          ring_until: event.callee.ring_deadline,
        },
      };
    case 'call.ring_stopped':
      return {
        to: event.callee.user_id,
        notification: {
          kind: 'call_ended_ringing',     // stop ringing on every device
          call_id: event.call.id,
          reason: event.reason,           // answered (maybe on another device), declined, missed, cancelled...
        },
      };
    default:
      return null;
  }
}

export function createReceiver({ secret, push, seen = new Set(), maxBody = 1 << 20 }) {
  return http.createServer((req, res) => {
    if (req.method !== 'POST') { res.writeHead(405).end(); return; }
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > maxBody) { res.writeHead(413).end(); req.destroy(); return; }
      chunks.push(c);
    });
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const key = typeof secret === 'function' ? secret() : secret;
      if (!verifySignature(key, req.headers['pgcall-signature'], raw)) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad signature"}');
        return;
      }
      const event = JSON.parse(raw.toString('utf8'));
      // At least once: a retry of something already handled is acknowledged
      // and not acted on again.  (A real app keeps these ids in its database.)
      if (seen.has(event.id)) { res.writeHead(200).end('duplicate'); return; }
      try {
        const p = pushFor(event);
        if (p) await push(p.to, p.notification, event);
        seen.add(event.id);
        res.writeHead(204).end();
      } catch (e) {
        res.writeHead(503).end(String(e.message)); // pgcall retries later
      }
    });
  });
}
