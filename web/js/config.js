// config.js: what an app team changes.  URL parameters override it for a
// session (?media=agora, ?ring_timeout=15), which is how the tests pick a
// short ring.
const defaults = {
  // 'webrtc': media peer to peer, signaled through pgcall (works offline,
  // on loopback and LANs; add TURN with pgcall.turn_urls for the internet).
  // 'agora': join the Agora channel with the token pgcall returns.
  media: 'webrtc',
  // Where the page loads Agora's Web SDK from (agora-rtc-sdk-ng), when
  // media is 'agora': a file the app team serves itself, see web/README.md.
  agoraSdkUrl: '/vendor/AgoraRTC_N-production.js',
  // Seconds an outgoing call rings before the database ends it as missed;
  // null: the database's pgcall.ring_timeout (90 s by default).
  ringTimeout: null,
  // How often the people list reads presence afresh, ms.  Changes come as
  // presence.changed events; this only covers a bridge that died without
  // saying so (no event announces that).
  presenceEveryMs: 60000,
};

const q = new URLSearchParams(location.search);
export const config = {
  ...defaults,
  media: q.get('media') ?? defaults.media,
  ringTimeout: q.has('ring_timeout') ? Number(q.get('ring_timeout')) : defaults.ringTimeout,
};
