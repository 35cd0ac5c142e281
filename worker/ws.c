/*
 * ws.c: pgcall's own WebSocket protocol at /ws: the upgrade (token,
 * ?after=), the socket's authentication by the database, client messages
 * (call, resume, ping), and the lws callback that reads frames and writes
 * the send queue.  What a socket is (identity, user, queue, events) is
 * session.c's; a Socket.IO socket is handed to sio_ws.c at the upgrade and
 * on every message.
 *
 * lws allocates the struct session at upgrade and frees it after
 * LWS_CALLBACK_CLOSED, where session_cleanup() releases what it holds.
 */
#include "ws.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fanout.h"
#include "json.h"
#include "jwt.h"
#include "lifecycle.h"
#include "log.h"
#include "lwsio.h"
#include "metrics.h"
#include "session.h"
#include "sio_ws.h"

static const struct config *cfg;
static const char *bridge_id;

void
ws_init(const struct config *config, const char *id)
{
	cfg = config;
	bridge_id = id;
}


/* -------------------------------------------------------------- users */


static void
call_done(struct job *job)
{
	struct session *s = job->owner;
	const char *rawid = job->arg;
	struct reply r = {0};
	struct jbuf b;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	s->calls--;
	reply_from_job(&r, job, 1, true, false, false);
	if (r.status >= 200 && r.status < 300)
	{
		metrics_inc(M_WS_CALLS_OK);
		jb_init(&b);
		jb_printf(&b, "{\"type\":\"result\",\"id\":%s,\"data\":", rawid);
		if (r.body && r.len)
			jb_put(&b, r.body, r.len);
		else
			jb_puts(&b, "null");
		jb_puts(&b, "}");
		ws_send_jb(s, &b);
	}
	else
	{
		metrics_inc(M_WS_CALLS_ERROR);
		if (r.body)
			session_send_error_body(s, rawid, r.status, r.body, r.len);
	}
	reply_clear(&r);
	session_call_finished(s);
}

static void
on_call(struct session *s, const char *msg, size_t len, const char *rawid)
{
	struct jval v,
				av;
	char	   *fn = NULL,
			   *schema_name = NULL,
			   *path = NULL,
			   *args = NULL;
	const char *schema;
	struct job *job;
	bool		args_given;

	if (!json_member(msg, len, "fn", &v) || v.type != J_STRING || !(fn = json_string_dup(&v)) || !fn[0])
	{
		session_send_error(s, rawid, 400, "PGRST100", "A call needs \"fn\": the function name");
		goto out;
	}
	args_given = json_member(msg, len, "args", &av);
	if (args_given && av.type != J_OBJECT)
	{
		session_send_error(s, rawid, 400, "PGRST100", "\"args\" must be an object of named arguments");
		goto out;
	}
	if (json_member(msg, len, "schema", &v) && v.type == J_STRING)
		schema_name = json_string_dup(&v);
	schema = schema_pick(schema_name);
	if (!schema)
	{
		session_send_error(s, rawid, 406, "PGRST106", "The schema is not exposed");
		goto out;
	}
	if (s->calls >= cfg->ws_calls)
	{
		session_send_error(s, rawid, 429, "PGRST429", "Too many calls in flight on this socket");
		goto out;
	}
	path = malloc(strlen(fn) + 6);
	if (!path)
		goto out;
	sprintf(path, "/rpc/%s", fn);
	args = args_given ? strndup(av.p, av.n) : strdup("{}");
	job = session_job(s, call_done, "POST", path);
	if (!job || !args ||
		request_add_rpc(job, schema, fn, args, false, NULL, NULL, NULL, NULL) ||
		!(job->arg = strdup(rawid)))
	{
		job_free(job);
		session_send_error(s, rawid, 500, "PGRST000", "out of memory");
		goto out;
	}
	job->free_arg = true;
	if (session_call_submit(s, job))
	{
		struct reply r = {0};

		job_free(job);
		request_refused(&r, true);
		if (r.body)
			session_send_error_body(s, rawid, r.status, r.body, r.len);
		reply_clear(&r);
		goto out;
	}
	s->calls++;
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
out:
	free(args);
	free(fn);
	free(schema_name);
	free(path);
}

static void
on_message(struct session *s, const char *msg, size_t len)
{
	enum jtype	top;
	struct jval type,
				idv,
				after;
	char		rawid[128];
	int64_t		a;

	metrics_inc(M_WS_MESSAGES_IN);
	if (!json_valid(msg, len, &top) || top != J_OBJECT)
	{
		session_send_error(s, NULL, 400, "PGRST100", "A message must be a JSON object");
		return;
	}
	strcpy(rawid, "null");
	if (json_member(msg, len, "id", &idv))
	{
		if ((idv.type != J_STRING && idv.type != J_NUMBER) || idv.n >= sizeof(rawid))
		{
			session_send_error(s, NULL, 400, "PGRST100", "\"id\" must be a string or a number of at most 127 bytes");
			return;
		}
		memcpy(rawid, idv.p, idv.n);
		rawid[idv.n] = '\0';
	}
	if (!json_member(msg, len, "type", &type) || type.type != J_STRING)
	{
		session_send_error(s, rawid, 400, "PGRST100", "A message needs a \"type\"");
		return;
	}
	if (json_key_is(&type, "call"))
		on_call(s, msg, len, rawid);
	else if (json_key_is(&type, "ping"))
	{
		struct jbuf b;

		jb_init(&b);
		jb_printf(&b, "{\"type\":\"pong\",\"id\":%s}", rawid);
		ws_send_jb(s, &b);
	}
	else if (json_key_is(&type, "resume"))
	{
		if (!json_member(msg, len, "after", &after) || !json_int64(&after, &a) || a < 0)
		{
			session_send_error(s, rawid, 400, "PGRST100", "\"after\" must be a non-negative integer event id");
			return;
		}
		if (s->state == SS_AUTH)
		{
			s->connect_after = a;
			return;
		}
		free(s->resume_id);
		s->resume_id = strcmp(rawid, "null") ? strdup(rawid) : NULL;
		session_start_resume(s, a);
	}
	else
		session_send_error(s, rawid, 400, "PGRST100", "Unknown message type");
}

/* The token of an upgrade: ?token= (browsers) or Authorization: Bearer. */
static char *
upgrade_token(struct lws *wsi)
{
	char	   *buf = malloc(JWT_MAX_LEN + 8);
	const char *v;
	char	   *tok = NULL;

	if (!buf)
		return NULL;
	v = lws_get_urlarg_by_name(wsi, "token=", buf, JWT_MAX_LEN + 8);
	if (v && *v)
		tok = strdup(v);
	else if (lws_hdr_copy(wsi, buf, JWT_MAX_LEN + 8, WSI_TOKEN_HTTP_AUTHORIZATION) > 7 &&
			 strncasecmp(buf, "bearer ", 7) == 0)
		tok = strdup(buf + 7);
	free(buf);
	return tok;
}

/*
 * An event id from the query string: decimal digits only, and within
 * int64 (strtoll() would saturate 99999999999999999999 to INT64_MAX and
 * resume from the end of time).
 */
static bool
parse_event_id(const char *v, int64_t *out)
{
	char	   *end;
	long long	a;

	if (!v || *v < '0' || *v > '9')
		return false;
	errno = 0;
	a = strtoll(v, &end, 10);
	if (errno || *end || a < 0)
		return false;
	*out = a;
	return true;
}

/* ?after= of an upgrade: 1 absent, 0 valid (*after set), -1 invalid. */
static int
upgrade_after(struct lws *wsi, int64_t *after)
{
	/* lws copies each argument into the buffer while looking: fit the token */
	char	   *buf = malloc(JWT_MAX_LEN + 16);
	const char *v;
	int			rc;

	if (!buf)
		return -1;
	v = lws_get_urlarg_by_name(wsi, "after=", buf, JWT_MAX_LEN + 16);
	rc = !v ? 1 : parse_event_id(v, after) ? 0 : -1;
	free(buf);
	return rc;
}

/* Who the upgrade is for; on failure r holds the refusal. */
static int
upgrade_identity(struct lws *wsi, struct identity *id, struct reply *r, bool *token_seen)
{
	char	   *tok = upgrade_token(wsi);
	int			rc;

	*token_seen = tok != NULL;
	if (!tok)
	{
		reply_error(r, 401, "PGRST302", "A WebSocket needs a JWT",
					NULL, "Pass it as ?token= or in an Authorization: Bearer header.");
		return -1;
	}
	rc = session_identity(id, tok, strlen(tok), r);
	free(tok);
	return rc;
}

int
ws_confirm_upgrade(struct lws *wsi, const char *in)
{
	char		uri[64];
	struct identity id;
	struct reply r = {0};
	bool		seen = false;
	int			rc = 0;
	int64_t		after;

	if (!in || strcmp(in, "websocket") != 0)
		return -1;				/* h2c and others: refuse, keep HTTP/1.1 */
	if (lifecycle_draining())
	{
		reply_error(&r, 503, "PGRST503", "The bridge is shutting down", NULL, "Connect to another bridge.");
		rc = http_write_now(wsi, 503, &r, false);
	}
	else if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 && sio_path_is(uri))
	{
		/* Socket.IO: the token comes with the namespace CONNECT */
		if (sio_confirm_upgrade(wsi, &r))
			rc = http_write_now(wsi, r.status, &r, false);
	}
	else if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0 || strcmp(uri, "/ws") != 0)
	{
		reply_error(&r, 404, "PGRST404", "WebSockets are served at /ws", NULL, NULL);
		rc = http_write_now(wsi, 404, &r, false);
	}
	else if (upgrade_after(wsi, &after) < 0)
	{
		reply_error(&r, 400, "PGRST100", "after must be a non-negative integer event id",
					NULL, "Pass the id of the last event received, at most 9223372036854775807.");
		rc = http_write_now(wsi, 400, &r, false);
	}
	else if (upgrade_identity(wsi, &id, &r, &seen))
		rc = http_write_now(wsi, r.status, &r, seen);
	else
		identity_clear(&id);
	if (rc)
		metrics_inc(M_WS_REFUSED);
	reply_clear(&r);
	return rc;
}

static void
welcome(struct session *s)
{
	struct jbuf b;

	jb_init(&b);
	jb_puts(&b, "{\"type\":\"welcome\",\"user\":");
	jb_strz(&b, s->user->id);
	jb_printf(&b, ",\"bridge\":\"%s\",\"last_event_id\":%lld}", bridge_id, (long long) fanout_cursor());
	ws_send_jb(s, &b);
}

static void
auth_done(struct job *job)
{
	struct session *s = job->owner;
	const PGresult *res = job->res[1];
	const char *uid;

	if (!s)
		return;
	lws_dll2_remove(&job->owner_link);
	if (s->state != SS_AUTH)
		return;
	if (!job_ok(job) || !res || PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
	{
		struct reply r = {0};

		if (job_ok(job))
			reply_error(&r, 401, "PGRST303", "The JWT names no user", NULL, NULL);
		else
			reply_from_job(&r, job, 1, true, false, false);
		if (r.body)
			session_send_error_body(s, NULL, r.status, r.body, r.len);
		if (r.status >= 500)
			session_close(s, 1013, "database unavailable: retry");
		else
		{
			metrics_inc(M_WS_CLOSED_AUTH);
			session_close(s, 1008, "identity refused");
		}
		reply_clear(&r);
		return;
	}
	uid = PQgetvalue(res, 0, 0);
	if (!session_register(s, uid))
		return;
	welcome(s);
	if (s->connect_after >= 0)
		session_start_resume(s, s->connect_after);
	else
	{
		s->last_sent = fanout_cursor();
		s->state = SS_LIVE;
	}
}

static int
on_established(struct session *s, struct lws *wsi)
{
	struct reply r = {0};
	bool		seen;
	struct job *job;
	int64_t		wait,
				after = -1;

	memset(s, 0, sizeof(*s));
	s->wsi = wsi;
	s->mask_check = wire_consumed(wsi, &s->wire_min);
	session_opened(s);
	{
		char		uri[64];

		if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) > 0 && sio_path_is(uri))
		{
			s->headers_json = http_headers_json(wsi);
			sio_established(s);
			return 0;
		}
	}
	if (upgrade_identity(wsi, &s->id, &r, &seen))
	{
		reply_clear(&r);
		session_close(s, 1008, "token refused");
		return 0;
	}
	/* checked at the upgrade already (ws_confirm_upgrade) */
	if (upgrade_after(wsi, &after) < 0)
	{
		session_close(s, 1008, "after must be a non-negative integer");
		return 0;
	}
	if (after >= 0)
		s->connect_after = after;
	s->headers_json = http_headers_json(wsi);
	if (s->id.exp)
	{
		wait = s->id.exp - now_unix();
		lws_set_timer_usecs(wsi, (wait > 0 ? wait : 0) * LWS_USEC_PER_SEC + 1);
	}
	job = session_job(s, auth_done, "GET", "/ws");
	if (job)
		job->per_socket = true; /* one authentication per socket */
	if (!job || job_add(job, SQL_WS_AUTH, 0, NULL) || pool_submit(job))
	{
		job_free(job);
		session_send_error(s, NULL, 503, "PGRST001", "Could not connect to the database");
		session_close(s, 1013, "database unavailable: retry");
		return 0;
	}
	lws_dll2_add_tail(&job->owner_link, &s->jobs);
	return 0;
}

static void
on_closed(struct session *s)
{
	if (!s->wsi)
		return;
	session_cleanup(s);
	s->wsi = NULL;
	lifecycle_work_done();
}

/*
 * RFC 6455 5.1: a server must close the connection when a client frame is
 * not masked.  lws 4.1 unmasks what is masked and passes the rest without
 * telling, so the bridge counts instead: a masked frame of n payload bytes
 * takes at least n + 6 bytes on the wire (n + 8 above 125, n + 14 above
 * 65535), and an unmasked one 4 fewer.  Counting from what the kernel had
 * read at the upgrade, a client that has sent less than that minimum
 * cannot have masked every frame.  Pings and pongs lws answers itself only
 * add bytes, so a masking client is never closed by mistake.  (A client
 * that sends frames before the 101 breaks RFC 6455 4.1 and is counted as
 * unmasked; behind TLS the count only grows, and the check is blind.)
 */
static bool
frames_masked(struct session *s, struct lws *wsi, size_t len)
{
	uint64_t	got;

	if (!s->mask_check)
		return true;
	if (!s->in_frame)
	{
		size_t		n = len + lws_remaining_packet_payload(wsi);

		s->wire_min += n + 6 + (n > 65535 ? 8 : n > 125 ? 2 : 0);
	}
	s->in_frame = lws_remaining_packet_payload(wsi) > 0;
	if (s->in_frame)
		return true;
	return !wire_received(wsi, &got) || got >= s->wire_min;
}

static int
on_receive(struct session *s, struct lws *wsi, const char *in, size_t len)
{
	if (!frames_masked(s, wsi, len))
	{
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
						 (unsigned char *) "client frames must be masked", 28);
		return -1;
	}
	if (s->state == SS_CLOSING)
		return 0;
	if (lws_frame_is_binary(wsi))
	{
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
						 (unsigned char *) "binary frames are not accepted", 30);
		return -1;
	}
	if (s->rx_len + len > cfg->max_message)
	{
		metrics_inc(M_WS_CLOSED_TOO_BIG);
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
						 (unsigned char *) "message too large", 17);
		return -1;
	}
	/* an empty message still needs a buffer to terminate (rx is NULL when idle) */
	if (!s->rx || s->rx_len + len > s->rx_cap)
	{
		size_t		cap = s->rx_cap ? s->rx_cap : 1024;
		char	   *p;

		while (cap < s->rx_len + len)
			cap *= 2;
		if (cap > cfg->max_message)
			cap = cfg->max_message;
		/* one more for the terminator: the message goes to libpq as a C string */
		if (!(p = realloc(s->rx, cap + 1)))
			return -1;
		s->rx = p;
		s->rx_cap = cap;
	}
	memcpy(s->rx + s->rx_len, in, len);
	s->rx_len += len;
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	s->rx[s->rx_len] = '\0';
	if (s->sio)
		sio_on_message(s, s->rx, s->rx_len);
	else
		on_message(s, s->rx, s->rx_len);
	/* idle sockets keep no receive buffer */
	free(s->rx);
	s->rx = NULL;
	s->rx_len = s->rx_cap = 0;
	return 0;
}

static int
on_writeable(struct session *s, struct lws *wsi)
{
	if (s->sendq.count)
	{
		struct wsmsg *m = lws_container_of(lws_dll2_get_head(&s->sendq), struct wsmsg, list);
		int			n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);

		if (n < (int) m->len)
			return -1;
		lws_dll2_remove(&m->list);
		s->queued -= m->len;
		free(m);
		metrics_inc(M_WS_MESSAGES_OUT);
		if (s->sendq.count || s->close_code)
			lws_callback_on_writable(wsi);
		session_resume_more(s);
		return 0;
	}
	if (s->close_code)
	{
		lws_close_reason(wsi, (enum lws_close_status) s->close_code,
						 (unsigned char *) s->close_reason, strlen(s->close_reason));
		return -1;
	}
	return 0;
}

int
ws_protocol_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
			   void *in, size_t len)
{
	struct session *s = user;

	switch (reason)
	{
		case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
			return ws_confirm_upgrade(wsi, (const char *) in);
		case LWS_CALLBACK_ESTABLISHED:
			return on_established(s, wsi);
		case LWS_CALLBACK_RECEIVE:
			if (!s || !s->wsi)
				return -1;
			return on_receive(s, wsi, (const char *) in, len);
		case LWS_CALLBACK_SERVER_WRITEABLE:
			if (!s || !s->wsi)
				return 0;
			return on_writeable(s, wsi);
		case LWS_CALLBACK_TIMER:
			if (s && s->wsi)
				session_close(s, 1008, "token expired");
			return 0;
		case LWS_CALLBACK_CLOSED:
			if (s)
				on_closed(s);
			return 0;
		case LWS_CALLBACK_CLOSED_HTTP:
			/* a fresh connection is bound here until its first request */
			if (!s || !s->wsi)
				http_closed_early(wsi);
			return 0;
		default:
			return 0;
	}
}

const size_t session_size = sizeof(struct session);
