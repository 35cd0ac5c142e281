#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_bridge into test/fuzz/corpus/bridge.

Each seed starts with fuzz_bridge's mode byte (see fuzz_bridge.c): 0x00
sends the rest in one write and half-closes, 0x01 splits it at 0xFE bytes,
0x04 keeps the write side open.  The JWT is signed with the secret
fuzz_bridge gives the bridge, so upgrades and Bearer requests get past the
signature check.
"""
import base64, hashlib, hmac, json, os, struct, sys

SECRET = b"fuzz-bridge-secret-0123456789abcdef0123456789"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "bridge")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def jwt(claims):
    h = b64(b'{"alg":"HS256","typ":"JWT"}')
    p = b64(json.dumps(claims, separators=(",", ":")).encode())
    s = b64(hmac.new(SECRET, h + b"." + p, hashlib.sha256).digest())
    return (h + b"." + p + b"." + s).decode()


TOKEN = jwt({"role": "pgcall_user", "sub": "a", "exp": 4102444800})
BAD_TOKEN = TOKEN[:-3] + "AAA"


def frame(payload, opcode=1, mask=True, fin=True, key=b"\x11\x22\x33\x44"):
    n = len(payload)
    b = bytes([(0x80 if fin else 0) | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        b += bytes([m | n])
    elif n < 65536:
        b += bytes([m | 126]) + struct.pack(">H", n)
    else:
        b += bytes([m | 127]) + struct.pack(">Q", n)
    if mask:
        b += key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))
    else:
        b += payload
    return b


def upgrade(path="/ws", token=TOKEN, query=True):
    q = "?token=" + token if query and token else ""
    auth = "" if query or not token else "Authorization: Bearer %s\r\n" % token
    return ("GET %s%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n%s\r\n" % (path, q, auth)).encode()


SIO = "/socket.io/?EIO=4&transport=websocket"


def post(path, body, extra=""):
    return ("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (path, len(body), extra)).encode() + body


CALL = b'{"type":"call","id":1,"fn":"x","args":{}}'
seeds = {
    "health": b"\x00GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "health-head-keepalive": b"\x04HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "metrics": b"\x00GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
    "rpc-post-json": b"\x00" + post("/rpc/x", b'{"a":1,"b":[true,null,"s"]}'),
    "rpc-post-bearer": b"\x00" + post("/rpc/x", b'{"a":1}', "Authorization: Bearer %s\r\n" % TOKEN),
    "rpc-post-bad-bearer": b"\x00" + post("/rpc/x", b'{}', "Authorization: Bearer %s\r\n" % BAD_TOKEN),
    "rpc-post-prefer": b"\x00" + post("/rpc/x", b'{}', "Prefer: params=single-object, count=exact\r\n"
                                       "Content-Profile: pgcall\r\nOrigin: http://o\r\nX-Request-Id: 1\r\n"),
    "rpc-get-query": b"\x00GET /rpc/x?a=1&b=2&c=%22q%22&d HTTP/1.1\r\nHost: x\r\nAccept-Profile: other\r\n\r\n",
    "rpc-options": b"\x00OPTIONS /rpc/x HTTP/1.1\r\nHost: x\r\nOrigin: http://o\r\n"
                   b"Access-Control-Request-Method: POST\r\n\r\n",
    "rpc-put": b"\x00" + post("/rpc/x", b"{}").replace(b"POST", b"PUT", 1),
    "rpc-no-length": b"\x00POST /rpc/x HTTP/1.1\r\nHost: x\r\n\r\n{}",
    "rpc-too-big": b"\x00POST /rpc/x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n{}",
    "rpc-expect": b"\x00" + post("/rpc/x", b'{"a":1}', "Expect: 100-continue\r\n"),
    "rpc-split-body": b"\x01" + post("/rpc/x", b'{"a":\xfe1,"b"\xfe:2}').replace(b"\r\n\r\n", b"\r\n\r\n\xfe", 1),
    "pipelined-post-post": b"\x00" + post("/rpc/x", b'{"a":1}') + post("/rpc/y", b'{"b":2}'),
    "pipelined-get-get": b"\x04GET /health HTTP/1.1\r\nHost: x\r\n\r\nGET /demo/users HTTP/1.1\r\nHost: x\r\n\r\n",
    "chunked": b"\x00POST /rpc/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"7\r\n{\"a\":1}\r\n0\r\n\r\n",
    "demo-token": b"\x00" + post("/demo/token", b'{"user":"a"}'),
    "demo-token-get": b"\x00GET /demo/token HTTP/1.1\r\nHost: x\r\n\r\n",
    "demo-users": b"\x00GET /demo/users HTTP/1.1\r\nHost: x\r\n\r\n",
    "ws-plain-get": b"\x00GET /ws HTTP/1.1\r\nHost: x\r\n\r\n",
    "ws-call-masked": b"\x01" + upgrade() + b"\xfe" + frame(CALL),
    "ws-call-bearer": b"\x01" + upgrade(query=False) + b"\xfe" + frame(CALL),
    "ws-unmasked": b"\x01" + upgrade() + b"\xfe" + frame(CALL, mask=False),
    "ws-fragmented": b"\x01" + upgrade() + b"\xfe" + frame(CALL[:10], fin=False) +
                     frame(CALL[10:], opcode=0) + frame(b"", opcode=9) + frame(b"\x03\xe8", opcode=8),
    "ws-binary": b"\x01" + upgrade() + b"\xfe" + frame(b"\x00\x01", opcode=2),
    # with a live database (FUZZ_BRIDGE_DB): real calls and a resume
    "ws-call-start": b"\x05" + upgrade() + b"\xfe" + frame(
        b'{"type":"call","id":"s1","fn":"call_start","args":{"invitees":["b"],"type":"audio"}}') +
        frame(b'{"type":"call","id":"s2","fn":"calls_mine","args":{}}'),
    "ws-call-profile": b"\x05" + upgrade() + b"\xfe" + frame(
        b'{"type":"call","id":7,"fn":"echo","schema":"bridge_test","args":{"body":{"k":[1,"x"]}}}'),
    "ws-resume": b"\x05" + upgrade(query=True) + b"\xfe" + frame(b'{"type":"resume","after":0}'),
    # Socket.IO (seed 003's dialect) at /socket.io/
    "sio-flow": b"\x05" + upgrade(path=SIO, token=None) + b"\xfe" + frame(
        b'40{"token":"' + TOKEN.encode() + b'"}') + b"\xfe" + frame(
        b'42["initiateCall",{"receiverId":"b","callType":"video"}]') + b"\xfe" + frame(
        b'4217["acceptCall",{"callId":"00000000-0000-4000-8000-000000000000"}]') + b"\xfe" + frame(
        b'42["sendOffer",{"to":"b","offer":{"type":"offer","sdp":"v=0"},"callId":"x"}]') + b"\xfe" + frame(b"3"),
    "sio-no-auth": b"\x05" + upgrade(path=SIO, token=None) + b"\xfe" + frame(b"40") + b"\xfe" + frame(b"2probe"),
    "sio-event-first": b"\x01" + upgrade(path=SIO, token=None) + b"\xfe" + frame(b'42["endCall",{}]'),
    "sio-binary": b"\x01" + upgrade(path=SIO, token=None) + b"\xfe" + frame(b'451-["x",{"_placeholder":true,"num":0}]'),
    "sio-eio3": b"\x00" + upgrade(path="/socket.io/?EIO=3&transport=websocket", token=None),
    "sio-polling": b"\x00GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n",
    "sio-polling-post": b"\x00POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\n"
                        b"Content-Length: 10\r\n\r\n40{}\x1e2\x1e3\x1e1",
    "sio-polling-pipelined": b"\x04GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
                             b"GET /socket.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\n\r\n",
    "ws-no-token": b"\x00" + upgrade(token=None),
    "ws-bad-token": b"\x00" + upgrade(token=BAD_TOKEN),
    "ws-wrong-path": b"\x00" + upgrade(path="/nows"),
    "ws-h2c": b"\x00GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
              b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    "oversized-header": b"\x00GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"A" * 9000 + b"\r\n\r\n",
    "path-nul": b"\x00GET /rpc/x%00y HTTP/1.1\r\nHost: x\r\n\r\n",
    "path-ff": b"\x00GET /rpc/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
    "path-dots": b"\x00GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "http10": b"\x00GET /health HTTP/1.0\r\n\r\n",
    "garbage": b"\x00\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
    "bytewise": b"\x22GET /rpc/x?a=1 HTTP/1.1\r\nHost: x\r\n\r\n",
    # mode bit 7: the dialect port (--dialect seed003): REST routes and Socket.IO
    "dialect-post": b"\x80" + post("/api/calls/initiate", b'{"receiverId":"b","callType":"audio"}',
                                     "Authorization: Bearer %s\r\n" % TOKEN),
    "dialect-get-query": b"\x80GET /api/calls/history?limit=5&type=audio&skip=%ff HTTP/1.1\r\nHost: x\r\n"
                         b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n",
    "dialect-delete-param": b"\x80DELETE /api/calls/history/%27x%27 HTTP/1.1\r\nHost: x\r\n\r\n",
    "dialect-options": b"\x80OPTIONS /api/calls/end HTTP/1.1\r\nHost: x\r\nOrigin: http://o\r\n"
                       b"Access-Control-Request-Method: DELETE\r\n\r\n",
    "dialect-bad-bearer": b"\x80" + post("/api/calls/end", b'{"callId":1}', "Authorization: Bearer %s\r\n" % BAD_TOKEN),
    "dialect-pipelined": b"\x84" + post("/api/calls/accept", b'{"callId":"x"}') + post("/api/calls/end", b"{"),
    "dialect-sio": b"\x85" + upgrade(path=SIO, token=None) + b"\xfe" + frame(b"40{\"token\":\"x\"}"),
    "dialect-patch-nul": b"\x80" + post("/api/x", b'{"a":"\x00"}').replace(b"POST", b"PATCH", 1),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print("%d seeds in %s" % (len(seeds), OUT), file=sys.stderr)
