/*
 * ws.h: the realtime socket's session, shared by ws.c (the native protocol
 * at /ws) and sio_ws.c (Socket.IO at /socket.io/), which reuses its
 * identity, presence, send queue and event delivery.
 */
#ifndef PGCALL_WS_H
#define PGCALL_WS_H

#include "bridge.h"
#include "json.h"

#define USER_BUCKETS 4096

enum ss_state
{
	SS_AUTH, SS_RESUMING, SS_LIVE, SS_CLOSING
};

struct wsmsg
{
	lws_dll2_t	list;
	int64_t		id;				/* event id, or 0 */
	size_t		len;
	unsigned char data[];		/* LWS_PRE + len */
};

struct user
{
	struct user *next;			/* hash chain */
	lws_dll2_owner_t sessions;
	int			count;			/* authenticated sockets here */
	int			reported;		/* what the database last acknowledged; -1 unknown */
	int			sending;
	bool		job_pending;
	char		id[];
};

struct session
{
	struct lws *wsi;
	enum ss_state state;
	struct user *user;
	lws_dll2_t	user_link;
	lws_dll2_t	all_link;
	struct identity id;
	char	   *headers_json;
	lws_dll2_owner_t sendq;
	size_t		queued;
	lws_dll2_owner_t resume_buf;
	size_t		resume_bytes;
	bool		resume_overflow;
	bool		resume_waiting;	/* next page when the queue drains */
	struct job *resume_job;
	char	   *resume_id;		/* raw id of the resume message, or NULL */
	int64_t		last_sent;
	int64_t		connect_after;	/* ?after= at connect, -1 none */
	char	   *rx;
	size_t		rx_len;
	size_t		rx_cap;
	lws_dll2_owner_t jobs;
	int			calls;
	uint16_t	close_code;
	char		close_reason[96];
	uint64_t	wire_min;		/* bytes the client must have sent, all frames masked */
	bool		in_frame;		/* the last RECEIVE left part of its frame */
	bool		mask_check;
	bool		registered;
	lws_sorted_usec_list_t sul_resume;
	struct sio *sio;			/* a Socket.IO session (sio_ws.c), or NULL */
};

/* ws.c */
void		ws_send(struct session *s, const char *data, size_t len);
void		ws_send_jb(struct session *s, struct jbuf *b);
void		session_close(struct session *s, uint16_t code, const char *reason);
struct job *session_job(struct session *s, job_done_fn done, const char *method, const char *path);
int			session_identity(struct identity *id, const char *tok, size_t len, struct reply *r);
bool		session_register(struct session *s, const char *uid);
struct session *session_detached(void);
void		session_detached_free(struct session *s);
void		session_adopt(struct session *to, struct session *from);
void		session_resume(struct session *s, int64_t after);

/* sio_ws.c */
bool		sio_path_is(const char *uri);
int			sio_confirm_upgrade(struct lws *wsi, struct reply *r);
void		sio_established(struct session *s);
void		sio_on_message(struct session *s, const char *msg, size_t len);
void		sio_deliver(struct session *s, const char *payload, size_t len);
void		sio_closed(struct session *s);
void		sio_poll_wake(struct session *s);

/* sio_ws.c: Engine.IO's HTTP long-polling, and http.c's side of it */
struct http_req;
void		sio_poll_request(struct http_req *r, struct lws *wsi, bool get,
							 const char *body, size_t len);
void		sio_poll_abandon(struct http_req *r);
/* sio_ws.c: CORS on the long-polling transport (a preflight: 0, or a status) */
int			sio_preflight(struct lws *wsi, const char **message, const char **hint);
int			sio_cors_headers(struct lws *wsi, bool preflight, unsigned char **p, unsigned char *end);
void		http_sio_answer(struct http_req *r, int status, const char *content_type,
							char *body, size_t len);

#endif							/* PGCALL_WS_H */
