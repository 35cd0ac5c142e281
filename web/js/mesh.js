// mesh.js: peer-to-peer media for one call, one RTCPeerConnection per
// other participant (a full mesh: fine for the small calls it is meant for).
//
// Signaling goes through the database: send(to, kind, payload) calls
// pgcall.call_signal, and the other side gets a call.signal event that the
// page hands to handleSignal().  The database refuses signals between people
// who are not both in the same live call.
//
// Who offers: for each pair, the user whose id sorts first (plain string
// comparison, the same on both sides).  So there is never glare, and someone
// who joins late is handled like everyone else: each side learns from the
// call's participants that the other is joined, the smaller id offers.
//
// Ordering: our own signals to one peer are sent one after the other (each
// call_signal awaits the previous), so the offer always commits before its
// candidates.  Remote candidates that still arrive before the description
// they belong to are queued until setRemoteDescription resolves.

export class Mesh {
  // me: my user id; media: 'audio'|'video'; localStream: MediaStream or null;
  // iceServers: for RTCPeerConnection; send(to, kind, payload): Promise;
  // onChange(peer): something about that peer changed (stream, state).
  constructor({ me, media, localStream, iceServers, send, onChange }) {
    Object.assign(this, { me, media, localStream, iceServers, send, onChange });
    this.peers = new Map();   // user id -> Peer
    this.closed = false;
  }

  // The participants now joined besides me: connect to each new one.
  connectTo(userIds) {
    for (const id of userIds) {
      if (id !== this.me && !this.peers.has(id)) this.#peer(id);
    }
  }

  // A participant left: close the connection to them.
  drop(userId) {
    const p = this.peers.get(userId);
    if (!p) return;
    p.close();
    this.peers.delete(userId);
    this.onChange(p);
  }

  async handleSignal(from, kind, payload) {
    if (this.closed) return;
    const p = this.peers.get(from) ?? this.#peer(from);
    try {
      await p.onSignal(kind, payload);
    } catch (e) {
      console.warn(`signal ${kind} from ${from}:`, e);
    }
  }

  // Our own tracks are enabled or not: a muted microphone sends silence and
  // a camera turned off sends black frames, without renegotiating.
  setEnabled(kind, enabled) {
    for (const t of this.localStream?.getTracks() ?? []) if (t.kind === kind) t.enabled = enabled;
  }

  // Per peer: see Peer.stats().  sample: this call starts a new interval
  // for the loss rate (the page's indicator samples; a test only reads).
  async stats({ sample = false } = {}) {
    const out = {};
    await Promise.all([...this.peers.values()].map(async (p) => { out[p.id] = await p.stats(sample); }));
    return out;
  }

  close() {
    this.closed = true;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
  }

  #peer(id) {
    const p = new Peer(this, id, this.me < id);
    this.peers.set(id, p);
    p.start();
    this.onChange(p);
    return p;
  }
}

class Peer {
  constructor(mesh, id, offerer) {
    this.mesh = mesh;
    this.id = id;
    this.offerer = offerer;
    this.pc = new RTCPeerConnection({ iceServers: mesh.iceServers });
    this.stream = null;         // remote MediaStream once a track arrives
    this.pendingCandidates = [];
    this.sendChain = Promise.resolve();
    this.tracksAdded = false;
    this.lastStats = null;
  }

  start() {
    const pc = this.pc;
    pc.onicecandidate = (e) => {
      if (e.candidate) this.#send('candidate', e.candidate.toJSON());
      else this.#send('end_of_candidates', {});
    };
    pc.ontrack = (e) => {
      this.stream = e.streams[0] ?? this.stream ?? new MediaStream();
      if (!this.stream.getTracks().includes(e.track)) this.stream.addTrack(e.track);
      this.mesh.onChange(this);
    };
    pc.onconnectionstatechange = () => {
      // The offerer repairs a failed path with an ICE restart (a new offer).
      if (pc.connectionState === 'failed' && this.offerer) this.#offer(true);
      this.mesh.onChange(this);
    };
    pc.oniceconnectionstatechange = () => this.mesh.onChange(this);
    if (this.offerer) {
      this.#addLocalTracks();
      this.#offer(false);
    }
  }

  // The offerer sends what it has and asks to receive audio (and video in a
  // video call) even when it has no such track of its own.  The answerer
  // adds its tracks after the offer, so they reuse the offered transceivers.
  #addLocalTracks() {
    if (this.tracksAdded) return;
    this.tracksAdded = true;
    const { localStream, media } = this.mesh;
    const kinds = media === 'video' ? ['audio', 'video'] : ['audio'];
    for (const kind of kinds) {
      const track = localStream?.getTracks().find((t) => t.kind === kind);
      if (track) this.pc.addTrack(track, localStream);
      else if (this.offerer) this.pc.addTransceiver(kind, { direction: 'recvonly' });
    }
  }

  async #offer(iceRestart) {
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    this.#send('offer', { type: 'offer', sdp: this.pc.localDescription.sdp });
  }

  async onSignal(kind, payload) {
    const pc = this.pc;
    if (kind === 'offer') {
      await pc.setRemoteDescription(payload);
      this.#addLocalTracks();
      await pc.setLocalDescription(await pc.createAnswer());
      this.#send('answer', { type: 'answer', sdp: pc.localDescription.sdp });
      await this.#flushCandidates();
    } else if (kind === 'answer') {
      await pc.setRemoteDescription(payload);
      await this.#flushCandidates();
    } else if (kind === 'candidate') {
      if (pc.remoteDescription) await pc.addIceCandidate(payload);
      else this.pendingCandidates.push(payload);
    }
    // end_of_candidates needs nothing: ICE finishes with what it has.
  }

  async #flushCandidates() {
    const queued = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of queued) {
      try {
        await this.pc.addIceCandidate(c);
      } catch (e) {
        console.warn(`candidate from ${this.id}:`, e);  // e.g. from before an ICE restart
      }
    }
  }

  #send(kind, payload) {
    // one at a time, in order; a failure is logged and the chain goes on
    this.sendChain = this.sendChain
      .then(() => this.mesh.send(this.id, kind, payload))
      .catch((e) => console.warn(`call_signal ${kind} to ${this.id}:`, e));
  }

  // What the quality indicator shows, from getStats(): round-trip time of
  // the selected candidate pair, packet loss and frames received since the
  // previous sample, and the running totals the tests read.
  async stats(sample) {
    const r = { connectionState: this.pc.connectionState, iceConnectionState: this.pc.iceConnectionState,
      rttMs: null, lossPct: null, fps: null, framesDecoded: 0, audioPacketsReceived: 0,
      audioEnergy: 0, packetsReceived: 0, packetsLost: 0 };
    if (this.pc.connectionState === 'closed') return r;
    const report = await this.pc.getStats();
    let pairId = null;
    report.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
    report.forEach((s) => {
      if (s.type === 'candidate-pair' && (s.id === pairId || (!pairId && s.nominated && s.state === 'succeeded'))) {
        if (s.currentRoundTripTime !== undefined) r.rttMs = Math.round(s.currentRoundTripTime * 1000);
      } else if (s.type === 'inbound-rtp') {
        r.packetsReceived += s.packetsReceived ?? 0;
        r.packetsLost += s.packetsLost ?? 0;
        if (s.kind === 'video') {
          r.framesDecoded += s.framesDecoded ?? 0;
          if (s.framesPerSecond !== undefined) r.fps = Math.round(s.framesPerSecond);
        } else if (s.kind === 'audio') {
          r.audioPacketsReceived += s.packetsReceived ?? 0;
          r.audioEnergy += s.totalAudioEnergy ?? 0;
        }
      }
    });
    const prev = this.lastStats;
    if (prev) {
      const got = r.packetsReceived - prev.packetsReceived;
      const lost = Math.max(0, r.packetsLost - prev.packetsLost);
      if (got + lost > 0) r.lossPct = Math.round((1000 * lost) / (got + lost)) / 10;
    }
    if (sample) this.lastStats = r;
    return r;
  }

  close() {
    this.pc.onicecandidate = this.pc.ontrack = this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
