// agora.js: media through Agora instead of peer to peer, with the same
// interface as Mesh (mesh.js), for deployments where an Agora app id is
// configured.  pgcall already returns everything needed: every call_start,
// call_accept and call_join result carries
//   agora: {app_id, channel_id, account, token, expires_at}
// (a token for this user in this call's channel), and call_media_session
// mints a fresh one.  Call state, ringing and history stay in pgcall exactly
// as with WebRTC; only the media path changes, so nothing is signaled.
//
// The Agora Web SDK (agora-rtc-sdk-ng) is not shipped with pgcall: the app
// team serves it from its own setup (see web/README.md) and names it in
// config.js (agoraSdkUrl).  It cannot be exercised offline, so this adapter
// is the documented way to swap it in, kept as small as the SDK allows.

let sdk = null;

// Load the SDK once, from the app's own origin or CDN of its choice.
export async function loadAgoraSdk(url) {
  if (window.AgoraRTC) return window.AgoraRTC;
  if (!sdk) {
    sdk = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url;
      s.onload = () => (window.AgoraRTC ? resolve(window.AgoraRTC) : reject(new Error(`${url} did not define AgoraRTC`)));
      s.onerror = () => reject(new Error(`could not load the Agora SDK from ${url}`));
      document.head.append(s);
    });
  }
  return sdk;
}

export class AgoraMedia {
  // agora: the {app_id, channel_id, account, token} pgcall returned;
  // renew(): a Promise of a fresh agora object (call_media_session).
  constructor({ AgoraRTC, agora, media, renew, onChange }) {
    Object.assign(this, { AgoraRTC, agora, media, renew, onChange });
    this.peers = new Map();   // account -> {id, stream, state}
    this.localStream = null;
    this.tracks = [];
  }

  // Join the channel as our account (the token was minted for that account)
  // and publish the microphone, and the camera in a video call.
  async start() {
    const { AgoraRTC, agora } = this;
    this.client = AgoraRTC.createClient({ mode: 'rtc', codec: 'vp8' });
    this.client.on('user-published', async (user, mediaType) => {
      await this.client.subscribe(user, mediaType);
      const p = this.#peer(String(user.uid));
      const track = mediaType === 'video' ? user.videoTrack : user.audioTrack;
      p.stream.addTrack(track.getMediaStreamTrack());
      this.onChange(p);
    });
    this.client.on('user-unpublished', (user, mediaType) => {
      const p = this.peers.get(String(user.uid));
      if (!p) return;
      for (const t of p.stream.getTracks()) if (t.kind === mediaType) p.stream.removeTrack(t);
      this.onChange(p);
    });
    this.client.on('user-left', (user) => {
      const p = this.peers.get(String(user.uid));
      this.peers.delete(String(user.uid));
      if (p) this.onChange(p);
    });
    this.client.on('connection-state-change', (state) => {
      for (const p of this.peers.values()) p.connectionState = state.toLowerCase();
      this.connectionState = state.toLowerCase();
    });
    // Tokens expire (pgcall.agora_token_ttl); pgcall mints the next one.
    this.client.on('token-privilege-will-expire', async () => {
      const fresh = await this.renew();
      await this.client.renewToken(fresh.token);
    });
    await this.client.join(agora.app_id, agora.channel_id, agora.token, agora.account);
    this.tracks = this.media === 'video'
      ? await AgoraRTC.createMicrophoneAndCameraTracks()
      : [await AgoraRTC.createMicrophoneAudioTrack()];
    this.localStream = new MediaStream(this.tracks.map((t) => t.getMediaStreamTrack()));
    await this.client.publish(this.tracks);
  }

  // Agora learns who is in the channel by itself.
  connectTo() {}
  drop() {}
  handleSignal() {}

  setEnabled(kind, enabled) {
    for (const t of this.tracks) if (t.trackMediaType === kind) t.setEnabled(enabled);
  }

  async stats() {
    const out = {};
    const remote = this.client?.getRemoteVideoStats?.() ?? {};
    const net = this.client?.getRTCStats?.() ?? {};
    for (const p of this.peers.values()) {
      const v = remote[p.id] ?? {};
      out[p.id] = { connectionState: p.connectionState, rttMs: net.RTT ?? null,
        lossPct: v.packetLossRate ?? null, fps: v.renderFrameRate ?? null };
    }
    return out;
  }

  close() {
    for (const t of this.tracks) t.close();
    this.client?.leave();
  }

  #peer(id) {
    let p = this.peers.get(id);
    if (!p) {
      p = { id, stream: new MediaStream(), connectionState: 'connected' };
      this.peers.set(id, p);
    }
    return p;
  }
}
