// The seeds' calling stack written the way its READMEs describe it, as the
// baseline pgcall is measured against: Express + node-postgres (pg.Pool) +
// agora-token (RtcTokenBuilder2, "007" tokens by user account) + Socket.IO,
// in one process.
//
//   POST /api/calls/session  {userId, otherUserId, type, channelId?}
//     without channelId (the caller): in one transaction insert the call
//     row and an event row for the callee and pg_notify('node_calls', ...); answer
//     {success, appId, channelId, token, expireAt, type}.
//     with channelId (the callee): mark the call answered, answer the same shape.
//   Socket.IO: a client connects with auth {userId} and joins the room
//     user:<userId>; one LISTEN connection turns each notification into
//     io.to('user:<callee>').emit('incoming_call', {channelId, type, callerId, ...}).
//
// Environment: PORT, libpq variables (PGHOST, PGPORT, PGDATABASE, PGUSER),
// AGORA_APP_ID, AGORA_APP_CERTIFICATE, POOL_MAX (pg.Pool size, default 10).
// Prints "listening <port>" when ready.
import express from 'express';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import agora from 'agora-token';
import { Server } from 'socket.io';

const { RtcTokenBuilder, RtcRole } = agora;
const APP_ID = process.env.AGORA_APP_ID;
const APP_CERT = process.env.AGORA_APP_CERTIFICATE;
const TOKEN_TTL = 3600;

const pool = new pg.Pool({ max: Number(process.env.POOL_MAX ?? 10) });
await pool.query(fs.readFileSync(path.join(import.meta.dirname, 'schema.sql'), 'utf8'));

const app = express();
app.use(express.json());
const server = http.createServer(app);
const io = new Server(server, { cors: { origin: '*' } });

io.on('connection', (socket) => {
  const { userId } = socket.handshake.auth ?? {};
  if (!userId) return socket.disconnect(true);
  socket.join(`user:${userId}`);
  socket.emit('ready', { userId });
});

function rtcToken(channelId, userId) {
  const expireAt = Math.floor(Date.now() / 1000) + TOKEN_TTL;
  const token = RtcTokenBuilder.buildTokenWithUserAccount(APP_ID, APP_CERT, channelId, userId,
    RtcRole.PUBLISHER, TOKEN_TTL, TOKEN_TTL);
  return { token, expireAt };
}

app.post('/api/calls/session', async (req, res) => {
  if (!APP_ID || !APP_CERT) return res.status(503).json({ success: false, message: 'Calls not configured' });
  const { userId, otherUserId, channelId } = req.body ?? {};
  const type = req.body?.type ?? 'voice';
  if (!userId || !otherUserId) {
    return res.status(400).json({ success: false, message: 'userId and otherUserId are required' });
  }
  if (type !== 'voice' && type !== 'video') {
    return res.status(400).json({ success: false, message: 'type must be voice or video' });
  }
  try {
    let channel = channelId;
    if (!channel) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(
          `INSERT INTO node_calls.call_log (channel_id, caller_id, callee_id, type)
           VALUES ('call-' || gen_random_uuid(), $1, $2, $3) RETURNING id, channel_id, started_at`,
          [userId, otherUserId, type]);
        channel = rows[0].channel_id;
        const event = { channelId: channel, type, callerId: userId, calleeId: otherUserId, callId: rows[0].id };
        await client.query('INSERT INTO node_calls.call_event (user_id, type, payload) VALUES ($1, $2, $3)',
          [otherUserId, 'incoming_call', event]);
        await client.query("SELECT pg_notify('node_calls', $1)", [JSON.stringify(event)]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      } finally {
        client.release();
      }
    } else {
      const { rowCount } = await pool.query(
        `UPDATE node_calls.call_log SET status = 'active', answered_at = coalesce(answered_at, now())
          WHERE channel_id = $1 AND ((caller_id = $2 AND callee_id = $3) OR (caller_id = $3 AND callee_id = $2))`,
        [channel, userId, otherUserId]);
      if (rowCount === 0) return res.status(404).json({ success: false, message: 'Call not found' });
    }
    const { token, expireAt } = rtcToken(channel, userId);
    res.json({ success: true, appId: APP_ID, channelId: channel, token, expireAt, type });
  } catch (e) {
    console.error(e);
    res.status(500).json({ success: false, message: 'Internal error' });
  }
});

app.get('/health', (req, res) => res.json({ ok: true }));

// One dedicated connection LISTENs; each notification goes to the callee's room.
const listener = new pg.Client();
await listener.connect();
listener.on('notification', (msg) => {
  let event;
  try { event = JSON.parse(msg.payload); } catch { return; }
  io.to(`user:${event.calleeId}`).emit('incoming_call', event);
});
await listener.query('LISTEN node_calls');

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
