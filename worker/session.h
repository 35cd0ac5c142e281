/*
 * session.h: a realtime socket's session (session.c), shared by the native
 * protocol at /ws (ws.c) and Socket.IO at /socket.io/ (sio_ws.c): its
 * identity, its user and presence, its send queue, event delivery with
 * resume, and the sessions of Socket.IO's long-polling that no connection
 * owns.  A session's protocol is the transport's business: session.c calls
 * a Socket.IO session back through the hooks sio_ws.c registers.
 */
#ifndef PGCALL_SESSION_H
#define PGCALL_SESSION_H

#include "db.h"
#include "json.h"
#include "request.h"

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
	size_t		queued;			/* bytes in sendq, and of events Socket.IO holds */
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
	int			calls;			/* calls running or waiting */
	bool		call_running;	/* one call in the pool at a time */
	lws_dll2_owner_t calls_waiting;	/* the rest, in the order sent */
	uint16_t	close_code;
	char		close_reason[96];
	uint64_t	wire_min;		/* bytes the client must have sent, all frames masked */
	bool		in_frame;		/* the last RECEIVE left part of its frame */
	bool		mask_check;
	bool		registered;
	lws_sorted_usec_list_t sul_resume;
	struct sio *sio;			/* a Socket.IO session (sio_ws.c), or NULL */
};

/* What session.c needs of Socket.IO sessions (s->sio != NULL). */
struct session_sio_hooks
{
	void		(*deliver) (struct session *s, const char *payload, size_t len);
	void		(*wake) (struct session *s);	/* a detached session has packets */
	void		(*closed) (struct session *s);
};

void		session_init(const struct config *cfg, struct lws_context *ctx,
						 const char *bridge_id, struct pgconn *sys);
void		session_set_sio_hooks(const struct session_sio_hooks *hooks);

void		ws_send(struct session *s, const char *data, size_t len);
void		ws_send_jb(struct session *s, struct jbuf *b);
void		session_send_error_body(struct session *s, const char *rawid, int status,
									const char *body, size_t len);
void		session_send_error(struct session *s, const char *rawid, int status,
							   const char *code, const char *msg);
void		session_close(struct session *s, uint16_t code, const char *reason);
void		session_drop_slow(struct session *s);	/* past --send-queue: 1013 */
/* Whether len more bytes stay within --send-queue (one always fits an empty queue). */
bool		session_queue_room(const struct session *s, size_t len);
struct job *session_job(struct session *s, job_done_fn done, const char *method, const char *path);
int			session_call_submit(struct session *s, struct job *job);
void		session_call_finished(struct session *s);
int			session_identity(struct identity *id, const char *tok, size_t len, struct reply *r);
bool		session_register(struct session *s, const char *uid);
void		session_opened(struct session *s);	/* a socket's session, zeroed by lws */
struct session *session_detached(void);
void		session_detached_free(struct session *s);
void		session_adopt(struct session *to, struct session *from);
void		session_cleanup(struct session *s);

/* events */
void		session_deliver_event(const char *user_id, int64_t id, const char *payload, size_t len);
void		session_start_resume(struct session *s, int64_t after);
void		session_resume_more(struct session *s);	/* the send queue drained */

/* presence and the whole set */
void		session_presence_resync(void);
void		session_close_all(void);
int			session_count(void);
int			session_user_count(void);

#endif							/* PGCALL_SESSION_H */
