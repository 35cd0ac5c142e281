/*
 * calls.h: what calls.c shares with conference.c and admin.c, and the hooks
 * calls.c calls into them.
 *
 * The functions work inside an SPI connection the caller opened, on a call
 * the caller locked with pgcall_call_lock (a row lock held to the end of the
 * transaction), and follow the same rules as the call_* functions.
 */
#ifndef PGCALL_CALLS_H
#define PGCALL_CALLS_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"

/* A call as calls.c reads it: text columns as C strings. */
typedef struct Call
{
	char	   *id;
	char	   *kind;
	char	   *media;
	char	   *status;
	char	   *end_reason;
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
	char	   *status;
	char	   *role;
	char	   *device_id;
} Part;

/* calls.c */
extern bool pgcall_call_lock(const char *call_id, Call *c);
extern void pgcall_call_expire(Call *c);
extern Part pgcall_call_part(const char *call_id, const char *user_id);
extern void pgcall_call_set_part_status(const char *call_id, const char *user_id,
										const char *status, const char *reason);
extern void pgcall_call_end(Call *c, const char *reason, const char *by);
extern void pgcall_call_settle(Call *c, const char *by);
extern void pgcall_call_raise_not_found(const char *what);
extern void pgcall_call_raise_ended(const Call *c);
extern const char *pgcall_call_parse_media(const char *type);
extern char **pgcall_call_check_invitees(ArrayType *invitees, const char *me, int *count);
extern void pgcall_call_invite_users(const char *call_id, ArrayType *invitees, const char *role);
extern Datum pgcall_call_result(const Call *c, const char *me, bool with_agora, const char *extra);
extern int	pgcall_call_max_participants_arg(FunctionCallInfo fcinfo, int n, int dflt);
extern void pgcall_call_add_creator(const char *call_id, const char *me, const char *role,
									const char *device_id, int mic_muted, int camera_off);

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
