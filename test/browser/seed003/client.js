// Seed 003's web client against pgcall's bridge.
//
// Everything between "seed 003" markers is the seed guide's code
// (../shared/seeds/003_7ae297908a141f0a.txt: "Socket.IO Events" and "WebRTC
// Implementation Example") as the guide gives it; the only change is the URL
// that io() connects to, which is pgcall's bridge started with
// --socketio-dialect seed003.  Around it is what the guide leaves to the app:
// where the URL and the token come from, the video elements, the incoming-call
// screen, and a log the test reads.
/* global io */

const params = new URLSearchParams(location.search);
const SOCKET_URL = params.get('server');   // the bridge: the one change
const token = params.get('token');         // the app's sign-in gives it
const localVideoElement = document.getElementById('local');
const remoteVideoElement = document.getElementById('remote');
document.getElementById('me').textContent = params.get('me') ?? '';

// What the page saw, for the test (and the screenshot).
const seen = [];
function note(what, data) {
  seen.push([what, data]);
  const line = document.createElement('div');
  line.textContent = `${what} ${data === undefined ? '' : JSON.stringify(data).slice(0, 160)}`;
  document.getElementById('log').append(line);
}

const socket = io(SOCKET_URL, { auth: { token } });

// Engine.IO's transports as they change (the Manager opens the engine).
socket.io.on('open', () => {
  const engine = socket.io.engine;
  note('open', engine.transport.name);
  document.getElementById('transport').textContent = engine.transport.name;
  engine.on('upgrade', (t) => {
    note('upgrade', t.name);
    document.getElementById('transport').textContent = t.name;
  });
});
socket.on('connect', () => {
  note('connect', { recovered: socket.recovered });
  document.getElementById('state').textContent = 'connected';
});
socket.on('connect_error', (err) => note('connect_error', err.message));
socket.on('disconnect', (reason) => {
  note('disconnect', reason);
  document.getElementById('state').textContent = 'disconnected';
});
socket.onAny((name, payload) => note(name, payload));

// The call the screens show (the guide's handlers get it as callId).
let currentCallId = null;
let incoming = null;
socket.on('callInitiated', ({ callId }) => { currentCallId = callId; });

function showIncomingCallUI(caller, callType, callId, callerId) {
  incoming = { callId, callerId, callType };
  currentCallId = callId;
  document.getElementById('incoming-name').textContent = caller?.name ?? callerId;
  document.getElementById('incoming-type').textContent = callType;
  document.getElementById('incoming').hidden = false;
}
document.getElementById('accept').onclick = () => {
  document.getElementById('incoming').hidden = true;
  acceptIncomingCall(incoming.callId, incoming.callerId, incoming.callType);
};
document.getElementById('reject').onclick = () => {
  document.getElementById('incoming').hidden = true;
  socket.emit('rejectCall', { callId: incoming.callId });
};

// ---------------------------------------------------------------- seed 003

// Receive Offer / Answer / ICE Candidate ("WebRTC Signaling Events")
socket.on("receiveOffer", async ({ offer, from, callId }) => {
  await rtcPeerConnection.setRemoteDescription(new RTCSessionDescription(offer));
  const answer = await rtcPeerConnection.createAnswer();
  await rtcPeerConnection.setLocalDescription(answer);
  socket.emit("sendAnswer", { to: from, answer, callId });
});

socket.on("receiveAnswer", async ({ answer, from, callId }) => {
  await rtcPeerConnection.setRemoteDescription(new RTCSessionDescription(answer));
});

socket.on("receiveIceCandidate", async ({ candidate, from, callId }) => {
  await rtcPeerConnection.addIceCandidate(new RTCIceCandidate(candidate));
});

// "WebRTC Implementation Example"
let rtcPeerConnection = null;
let localStream = null;
let remoteStream = null;

// 1. Get local media stream
async function startCall(receiverId, callType) {
  try {
    localStream = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: callType === "video"
    });

    // Display local stream in UI
    localVideoElement.srcObject = localStream;

    // Initiate call
    socket.emit("initiateCall", { receiverId, callType });

  } catch (error) {
    console.error("Error accessing media devices:", error);
  }
}

// 2. Create peer connection when call is accepted
socket.on("callAccepted", async ({ callId, receiverId }) => {
  rtcPeerConnection = new RTCPeerConnection({
    iceServers: [
      { urls: "stun:stun.l.google.com:19302" },
      { urls: "stun:stun1.l.google.com:19302" }
    ]
  });

  // Add local stream tracks
  localStream.getTracks().forEach(track => {
    rtcPeerConnection.addTrack(track, localStream);
  });

  // Listen for remote stream
  rtcPeerConnection.ontrack = (event) => {
    remoteStream = event.streams[0];
    remoteVideoElement.srcObject = remoteStream;
  };

  // Handle ICE candidates
  rtcPeerConnection.onicecandidate = (event) => {
    if (event.candidate) {
      socket.emit("sendIceCandidate", {
        to: receiverId,
        candidate: event.candidate,
        callId
      });
    }
  };

  // Create and send offer
  const offer = await rtcPeerConnection.createOffer();
  await rtcPeerConnection.setLocalDescription(offer);
  socket.emit("sendOffer", { to: receiverId, offer, callId });
});

// 3. Handle incoming call
socket.on("incomingCall", ({ callId, callerId, callType, caller }) => {
  // Show accept/reject UI
  showIncomingCallUI(caller, callType, callId, callerId);
});

// 4. Accept call
async function acceptIncomingCall(callId, callerId, callType) {
  localStream = await navigator.mediaDevices.getUserMedia({
    audio: true,
    video: callType === "video"
  });

  localVideoElement.srcObject = localStream;

  rtcPeerConnection = new RTCPeerConnection({
    iceServers: [
      { urls: "stun:stun.l.google.com:19302" }
    ]
  });

  localStream.getTracks().forEach(track => {
    rtcPeerConnection.addTrack(track, localStream);
  });

  rtcPeerConnection.ontrack = (event) => {
    remoteStream = event.streams[0];
    remoteVideoElement.srcObject = remoteStream;
  };

  rtcPeerConnection.onicecandidate = (event) => {
    if (event.candidate) {
      socket.emit("sendIceCandidate", {
        to: callerId,
        candidate: event.candidate,
        callId
      });
    }
  };

  socket.emit("acceptCall", { callId });
}

// 5. End call
function endCall(callId) {
  socket.emit("endCall", { callId });
  
  if (rtcPeerConnection) {
    rtcPeerConnection.close();
    rtcPeerConnection = null;
  }
  
  if (localStream) {
    localStream.getTracks().forEach(track => track.stop());
    localStream = null;
  }
}

// Listen for call ended
socket.on("callEnded", ({ callId, endedBy }) => {
  endCall(callId);
  // Update UI
});

// ------------------------------------------------------------ end seed 003

// For the test: the peer connection's state and what it decodes.
async function mediaStats() {
  const pc = rtcPeerConnection;
  if (!pc) return null;
  const inbound = {};
  (await pc.getStats()).forEach((r) => {
    if (r.type === 'inbound-rtp') {
      inbound[r.kind] = { bytesReceived: r.bytesReceived, packetsReceived: r.packetsReceived,
        framesDecoded: r.framesDecoded, totalSamplesReceived: r.totalSamplesReceived };
    }
  });
  return { connectionState: pc.connectionState, inbound };
}
