/*
 * calls.h: the call functions' shared parts.
 *
 * The call_* functions are split by operation, the way pgvector splits
 * hnsw*.c:
 *
 *   call_args.c    reading and checking the arguments of every entry point
 *   call_common.c  locking, reading and changing a call (below), its reply,
 *                  and call_expire()
 *   call_start.c   call_start, call_invite, call_session
 *   call_answer.c  call_accept, call_join, call_reject, call_cancel,
 *                  call_leave, call_end, call_set_status
 *   call_media.c   call_set_media, call_media_session, call_signal
 *   call_read.c    call_get, call_participants, call_history_delete
 *
 * conference.c and admin.c use the same helpers.  Each entry point opens its
 * own SPI connection and closes it (SPI_finish) before it returns; the
 * helpers work inside it, on a call the caller locked with pgcall_lock_call
 * (a row lock held to the end of the transaction), and follow the rules
 * written at the top of call_common.c.
 */
#ifndef PGCALL_CALLS_H
#define PGCALL_CALLS_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"

#include "pgcall.h"

/* A call as the call functions read it: text columns as C strings. */
typedef struct Call
{
	char	   *id;
	CallKind	kind;
	char	   *media;
	CallStatus	status;
	EndReason	end_reason;		/* END_NONE until it ends */
	char	   *channel_id;
	char	   *created_by;
	int			max_participants;
	bool		is_public;
	bool		ring_expired;	/* ringing past its deadline */
	bool		pending_expired;	/* some invitee rung past its deadline */
} Call;

/* One participant of a call; found is false when the user has no row. */
typedef struct Part
{
	bool		found;
	PartStatus	status;			/* PART_NONE when not found */
	PartRole	role;
	char	   *device_id;
} Part;

static inline bool
pgcall_streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* The one who starts a call, for pgcall_invite_users. */
typedef struct CallCreator
{
	const char *user_id;
	PartRole	role;
	const char *device_id;		/* or NULL */
} CallCreator;

/* call_args.c: arguments (n is the argument's position) */
extern char *pgcall_arg_text(FunctionCallInfo fcinfo, int n);
extern char *pgcall_arg_uuid(FunctionCallInfo fcinfo, int n);
extern char *pgcall_arg_required_uuid(FunctionCallInfo fcinfo, int n, const char *name);
extern int	pgcall_arg_bool(FunctionCallInfo fcinfo, int n);
extern const char *pgcall_arg_media(const char *type);
extern int	pgcall_arg_max_participants(FunctionCallInfo fcinfo, int n, int dflt);
extern int	pgcall_arg_ring_timeout(FunctionCallInfo fcinfo, int n);
extern void pgcall_check_reason(const char *reason, const char *what);
extern void pgcall_check_optional_id(const char *id, const char *what);
extern char **pgcall_check_invitees(ArrayType *invitees, const char *me, int *count);

/* call_common.c: locking and reading */
extern bool pgcall_lock_call(const char *call_id, Call *c);
extern bool pgcall_lock_call_by_channel(const char *channel_id, Call *c);
extern void pgcall_lock_pair(const char *a, const char *b);
extern Part pgcall_get_part(const char *call_id, const char *user_id);
extern Part pgcall_open_call(const char *call_id, const char *me, Call *c);
extern void pgcall_raise_call_not_found(const char *what);
extern void pgcall_raise_not_participant(const Call *c);
extern void pgcall_raise_call_ended(const Call *c);

/* call_common.c: transitions */
extern void pgcall_set_part_status(const char *call_id, const char *user_id,
								   PartStatus status, const char *reason);
extern void pgcall_end_for_everyone(Call *c, EndReason reason, const char *by);
extern void pgcall_settle(Call *c, const char *by);
extern void pgcall_expire_overdue(Call *c);
extern void pgcall_join_call(Call *c, const Part *p, const char *me, const char *device_id,
							 int mic_muted, int camera_off, bool answer_only);
extern int	pgcall_invite_users(const char *call_id, ArrayType *invitees, PartRole role,
								int ring_timeout, bool require_online, const CallCreator *creator);
extern void pgcall_add_creator(const char *call_id, const char *me, PartRole role,
							   const char *device_id, int mic_muted, int camera_off);
extern Datum pgcall_new_call_id(void);

/* A new call's row, as start_call and conference_create make it. */
typedef struct NewCall
{
	CallKind	kind;
	const char *media;
	const char *room_id;		/* or NULL */
	const char *created_by;
	const char *title;			/* or NULL */
	const char *description;	/* or NULL */
	bool		is_public;
	int			max_participants;
	int			ring_timeout;	/* seconds it rings; 0: active at once */
} NewCall;

extern char *pgcall_insert_call(const NewCall *nc, char **channel_id);

/* call_common.c: replies (SPI stays open: the entry point closes it) */
extern void pgcall_append_call_json(StringInfo buf, const char *call_id);
extern void pgcall_append_agora(StringInfo buf, const Call *c, const char *me, int ttl,
								bool required);
extern Datum pgcall_call_reply(const Call *c, const char *me, bool with_agora, const char *extra);

/* conference.c: who may join a call they have no participant row in, who may invite */
extern bool pgcall_conference_admits(const Call *c);
extern void pgcall_conference_check_invite(const Call *c, const char *me);
extern void pgcall_conference_add_member(const Call *c, const char *me, const char *device_id,
										 int mic_muted, int camera_off);

/* preferences.c */
extern bool pgcall_auto_mute_on_join(const char *user_id);

/* ratelimit.c: count one request of each kind in actions, or raise P429A */
#define PGCALL_LIMIT_CALL		0x01	/* creating a call or conference */
#define PGCALL_LIMIT_JOIN		0x02	/* answering or joining a call */
#define PGCALL_LIMIT_TOKEN		0x04	/* getting an Agora token */
#define PGCALL_LIMIT_ANALYTICS	0x08	/* an analytics report */
#define PGCALL_LIMIT_INVITE		0x10	/* people invited to a call in progress */
#define PGCALL_LIMIT_MEDIA		0x20	/* a microphone, camera or screen change */
#define PGCALL_LIMIT_SIGNAL		0x40	/* a signal, per call */
#define PGCALL_LIMIT_SIGNAL_BYTES 0x80	/* bytes of signal payload, per call */
#define PGCALL_LIMIT_PRESENCE	0x100	/* a presence subscription */

extern void pgcall_rate_limit(const char *user_id, int actions);
extern void pgcall_rate_limit_amount(const char *user_id, int actions, const char *call_id,
									 int32 amount);
extern void pgcall_rate_limit_probe(const char *user_id, int action, int32 amount);
extern int	pgcall_token_limit_if_configured(void);

#endif							/* PGCALL_CALLS_H */
