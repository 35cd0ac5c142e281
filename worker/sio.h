/*
 * sio.h: Engine.IO 4 / Socket.IO 5 packets over WebSocket, and the generic
 * mapper of dialect rules (pgcall events into a seed's socket events).
 *
 * Pure text handling: no libwebsockets, no libpq, so the fuzzer links it
 * alone (test/fuzz/fuzz_sio.c).  The transport glue is sio_ws.c.
 *
 * One WebSocket text frame is one Engine.IO packet: a type digit (0 open,
 * 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop) and its data.  A
 * message carries one Socket.IO packet:
 *
 *   <type>[<attachments>-][<namespace>,][<ack id>][<JSON>]
 *
 * with type 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR,
 * 5 BINARY_EVENT, 6 BINARY_ACK.  The namespace is omitted for "/".
 */
#ifndef PGCALL_SIO_H
#define PGCALL_SIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define SIO_MAX_NSP 128			/* namespace bytes */
#define SIO_MAX_EVENT 128		/* event name bytes */

enum eio_type
{
	EIO_OPEN = 0, EIO_CLOSE, EIO_PING, EIO_PONG, EIO_MESSAGE, EIO_UPGRADE, EIO_NOOP
};

enum sio_type
{
	SIO_CONNECT = 0, SIO_DISCONNECT, SIO_EVENT, SIO_ACK, SIO_CONNECT_ERROR,
	SIO_BINARY_EVENT, SIO_BINARY_ACK
};

struct sio_packet
{
	enum eio_type eio;
	/* EIO_PING / EIO_PONG: the optional text after the digit ("probe") */
	const char *text;
	size_t		text_len;
	/* EIO_MESSAGE */
	enum sio_type type;
	const char *nsp;			/* "/" when absent */
	size_t		nsp_len;
	int64_t		ack;			/* -1: none */
	struct jval data;			/* J_NONE when absent */
	struct jval name;			/* EVENT: the first element, a string */
	struct jval arg;			/* EVENT: the second element, J_NONE when absent */
	int			nargs;			/* EVENT: elements after the name */
};

/*
 * Parse one Engine.IO text packet.  Returns 0, or -1 with *err a static
 * sentence saying what is wrong.  Binary Socket.IO packets (5, 6) parse,
 * so that the caller can refuse them by name.
 */
int			sio_parse(const char *s, size_t n, struct sio_packet *p, const char **err);

/* Writers: whole Engine.IO packets into b (appended). */
void		sio_put_open(struct jbuf *b, const char *sid, int ping_interval_ms,
						 int ping_timeout_ms, size_t max_payload, bool upgradable);
/* 4<type>[<nsp>,][<ack>]  (the JSON goes after, with jb_put) */
void		sio_put_head(struct jbuf *b, enum sio_type type, const char *nsp, int64_t ack);
/* 42[nsp,]["name",<data>]; data is JSON text, or NULL for no argument */
void		sio_put_event(struct jbuf *b, const char *nsp, const char *name, size_t name_len,
						  const char *data, size_t data_len);

/*
 * Whether s is a serialized origin a browser sends: scheme "://" host
 * [":" port], lower case, the host a name, an IPv4 address or a bracketed
 * IPv6 one, at most SIO_MAX_ORIGIN bytes ("null" is not one).  Only such an
 * origin is echoed in Access-Control-Allow-Origin.
 */
#define SIO_MAX_ORIGIN 255
bool		sio_origin_ok(const char *s, size_t n);

/*
 * The outbound mapper.  rules is a JSON array of rule objects, as
 * pgcall.dialect_rules() returns them (in order, first match wins per
 * pgcall event and seq):
 *
 *   {"on": "call.accepted", "when": {"$.event.call.created_by": "$.me"},
 *    "emit": "callAccepted", "payload": {"callId": "$.event.call_id", ...}}
 *
 * Templates and conditions read a context {"event": <pgcall event>,
 * "me": <the socket's user id>} through paths: "$" then ".member" or
 * "[index]" steps.  A string template value that is a path is replaced by
 * what it names (a member the path does not find is left out); any other
 * value is copied.  A "when" object holds path: expected pairs, where
 * expected is a path or a literal; values compare as JSON (strings after
 * decoding).
 *
 * Payloads (not conditions) may also read "media": the recipient's own
 * pgcall.call_media_session(call_id) for the event's call, which only the
 * database can make (it holds the Agora certificate) and which differs per
 * recipient.  A $.media path that names nothing fills null, even as a
 * member: the rule promised the field.
 *
 * The first rule whose "on" is the event's type and whose "when" holds
 * is applied: sio_map() calls emit(ctx, name, payload) and returns 1.  No
 * such rule: 0 (the socket does not see the event).  When that rule's
 * payload reads $.media and media is NULL, nothing is emitted and
 * SIO_MAP_MEDIA is returned: the caller asks the database for the media
 * session and maps the event again with it (media->json NULL when it could
 * not be had: its paths fill null).  -1 when the rules or the event are not
 * well-formed, or memory ran out; nothing is emitted.
 */
typedef void (*sio_emit_fn) (void *ctx, const char *name, size_t name_len,
							 const char *payload, size_t payload_len);

struct sio_media
{
	const char *json;			/* a JSON object, or NULL: none */
	size_t		len;
};

#define SIO_MAP_MEDIA 2

int			sio_map(const char *rules, size_t rules_len, const char *event, size_t event_len,
					const char *me, const struct sio_media *media, sio_emit_fn emit, void *ctx);

/*
 * A template path's value in the context.  Returns true with *out set when
 * the path names a value; false when it does not (or is not a path).
 * Exposed for the fuzzer.
 */
bool		sio_path(const char *path, size_t path_len, const char *event, size_t event_len,
					 const char *me_json, size_t me_len, struct jval *out);

#endif							/* PGCALL_SIO_H */
