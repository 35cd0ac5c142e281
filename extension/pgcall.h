/*
 * pgcall.h: declarations shared by the extension's C files.
 *
 * Each area has an init function called once from _PG_init (pgcall.c).
 */
#ifndef PGCALL_H
#define PGCALL_H

#include "postgres.h"

#include "errors.h"

/* guc.c: settings that are not secret */
extern char *pgcall_agora_app_id;
extern int	pgcall_agora_token_ttl;
extern char *pgcall_turn_urls;
extern int	pgcall_turn_ttl;
extern char *pgcall_user_id;
extern int	pgcall_ring_timeout;
extern int	pgcall_max_participants;
extern int	pgcall_presence_timeout;
extern int	pgcall_disconnect_grace;
extern int	pgcall_disconnect_leave_after;
extern int	pgcall_event_retention;
extern int	pgcall_history_retention;
extern int	pgcall_rate_limit_tokens;
extern int	pgcall_rate_limit_calls;
extern int	pgcall_rate_limit_joins;
extern int	pgcall_rate_limit_analytics;
extern int	pgcall_rate_limit_invites;
extern int	pgcall_rate_limit_media;
extern int	pgcall_rate_limit_signals;
extern int	pgcall_rate_limit_signal_bytes;
extern int	pgcall_rate_limit_presence;
extern int	pgcall_max_invitees;
extern int	pgcall_signal_max_bytes;
extern int	pgcall_lock_timeout;
extern bool pgcall_pseudonymize;

extern void pgcall_init_gucs(void);

/* rpc.c: the dispatcher behind HTTP and WebSocket calls */
extern void pgcall_init_rpc(void);

/* secret.c: secrets kept in pgcall.secret, readable only through here */
typedef enum PgcallSecret
{
	PGCALL_SECRET_AGORA_CERTIFICATE,
	PGCALL_SECRET_AGORA_CERTIFICATE_SECONDARY,
	PGCALL_SECRET_TURN,
	PGCALL_SECRET_PSEUDONYM_KEY,
	PGCALL_SECRET_JWT,
	PGCALL_NUM_SECRETS
} PgcallSecret;

/* Longest secret value accepted, in bytes, without the terminator. */
#define PGCALL_SECRET_MAX 512

extern bool pgcall_secret_copy(PgcallSecret which, char *buf, size_t size);
extern void pgcall_init_secrets(void);
extern bool pgcall_secret_lookup(const char *name, char *buf, size_t size);
extern void pgcall_secret_store(const char *name, char *value);

/* bridge_supervisor.c: the embedded bridge (shared_preload_libraries) */
extern void pgcall_init_bridge(void);

/* admin.c: administrators */
extern void pgcall_require_admin(void);
extern const char *pgcall_user_for_admin(const char *user_id);

/* analytics.c: what a call used, computed once when it ends */
typedef struct CallUsage
{
	int32		participants;	/* people who were joined at some time */
	int32		peak;			/* most people joined at once */
	double		seconds;		/* joined time of everyone together */
} CallUsage;

extern CallUsage pgcall_call_usage(const char *call_id);

/* pseudonym.c: keyed pseudonyms for admin-facing output */
extern char *pgcall_pseudonym_of(const char *user_id);

/* turn.c: TURN REST credentials */
extern bool pgcall_turn_urls_are_valid(const char *urls, const char **reason);

/* identity.c: who is acting */
#define PGCALL_USER_ID_MAX 255

/*
 * The call_* functions list the participants of a call with at most this
 * many in their reply (call_get always lists them all);
 * pgcall.call_participants pages them, at most PAGE_MAX at a time.
 */
#define PGCALL_JOIN_REPLY_PARTICIPANTS 50
#define PGCALL_PARTICIPANTS_PAGE_MAX 1000

extern const char *pgcall_current_user(void);
extern const char *pgcall_require_user(void);
extern void pgcall_check_user_id(const char *user_id, const char *what);
extern bool pgcall_user_id_is_valid(const char *user_id, const char **reason);
extern bool pgcall_caller_is_backend(void);
extern bool pgcall_caller_is_admin(void);
extern void pgcall_check_may_act_for(const char *user_id);

/* spi_util.c: kept plans */
#include "executor/spi.h"

extern SPIPlanPtr pgcall_plan(SPIPlanPtr *plan, const char *sql, int nargs, const Oid *argtypes);
extern uint64 pgcall_exec(SPIPlanPtr plan, const Datum *values, const char *nulls,
						  bool read_only, long count);
extern char *pgcall_getstr(uint64 row, int col);
extern Datum pgcall_getdatum(uint64 row, int col, bool *isnull);

typedef struct PgcallOwner
{
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;		/* from pgcall_pin_search_path() */
} PgcallOwner;

/* what pgcall's functions pin (SET search_path in sql/schema) */
#define PGCALL_SEARCH_PATH "pg_catalog, pg_temp"

extern int	pgcall_pin_search_path(void);
extern void pgcall_unpin_search_path(int level);
extern void pgcall_enter_owner(PgcallOwner *ctx, Oid relid);
extern Oid	pgcall_schema(void);
extern Oid	pgcall_relid(const char *name);
extern void pgcall_leave_owner(PgcallOwner *ctx);

/* call_triggers.c */
extern void pgcall_triggers_fresh_call(const char *call_id);

/* state_machine.c: allowed status changes */
extern bool pgcall_transition_ok(const char *machine, const char *from, const char *to);

/*
 * state_machine.c: the values of pgcall.call and pgcall.participant as C
 * enums, and the one table that turns each into its text and back.  The
 * zero of each is "none": no row, or a NULL column.
 */
typedef enum CallKind
{
	CALL_KIND_NONE = 0,
	CALL_DIRECT,
	CALL_GROUP,
	CALL_CONFERENCE
} CallKind;

typedef enum CallStatus
{
	CALL_STATUS_NONE = 0,
	CALL_RINGING,
	CALL_ACTIVE,
	CALL_ENDED
} CallStatus;

typedef enum EndReason
{
	END_NONE = 0,
	END_COMPLETED,
	END_CANCELLED,
	END_REJECTED,
	END_MISSED,
	END_BUSY,
	END_UNAVAILABLE,
	END_FAILED,
	END_TERMINATED
} EndReason;

typedef enum PartStatus
{
	PART_NONE = 0,
	PART_INVITED,
	PART_RINGING,
	PART_JOINED,
	PART_LEFT,
	PART_DECLINED,
	PART_MISSED,
	PART_BUSY,
	PART_REMOVED
} PartStatus;

typedef enum PartRole
{
	ROLE_NONE = 0,
	ROLE_CALLER,
	ROLE_CALLEE,
	ROLE_HOST,
	ROLE_MEMBER
} PartRole;

/* The text of a value; NULL for the zero ("none"). */
extern const char *pgcall_call_kind_name(CallKind v);
extern const char *pgcall_call_status_name(CallStatus v);
extern const char *pgcall_end_reason_name(EndReason v);
extern const char *pgcall_part_status_name(PartStatus v);
extern const char *pgcall_part_role_name(PartRole v);

/*
 * The value of a text; NULL is the zero ("none").  A text the table does
 * not know is an internal error: the columns' CHECK constraints allow only
 * these.  For text a client gives, see pgcall_part_status_lookup.
 */
extern CallKind pgcall_call_kind_of(const char *s);
extern CallStatus pgcall_call_status_of(const char *s);
extern EndReason pgcall_end_reason_of(const char *s);
extern PartStatus pgcall_part_status_of(const char *s);
extern PartRole pgcall_part_role_of(const char *s);
extern bool pgcall_part_status_lookup(const char *s, PartStatus *v);
extern bool pgcall_end_reason_lookup(const char *s, EndReason *v);

/* json_out.c: JSON results */
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

extern void pgcall_json_member(StringInfo buf, const char *key, const char *value);
extern void pgcall_json_bool(StringInfo buf, const char *key, bool value);
extern Jsonb *pgcall_jsonb_from_text(const char *text);
extern const char *pgcall_jsonb_text(const Jsonb *jb);
extern void pgcall_jsonb_remember(bool on);
extern Datum pgcall_jsonb_datum(StringInfo buf);
extern Datum pgcall_jsonb_result(StringInfo buf);

/* call_json.c: the call object */
extern char *pgcall_call_json_text(const char *call_id);
extern char *pgcall_call_json_for_event(const char *call_id, bool full);
extern char *pgcall_participant_json(const char *call_id, const char *user_id);
extern char *pgcall_call_json_for_reply(const char *call_id, int inline_max, bool *listed);
extern void pgcall_counts_seen(const char *call_id, int total, int joined);
extern void pgcall_counts_forget(void);
extern bool pgcall_counts_known(const char *call_id, int *total, int *joined);
extern char *pgcall_participants_page_json(const char *call_id, const char *after, int max);

/* events.c: the event log */
#include "nodes/pg_list.h"
#include "utils/timestamp.h"

/* What an event carries besides its data. */
typedef enum PgcallEventCall
{
	PGCALL_EVENT_NO_CALL,		/* nothing (call.signal) */
	PGCALL_EVENT_CALL,			/* the call's own members, no participants */
	PGCALL_EVENT_FULL_CALL		/* the call with its participants */
} PgcallEventCall;

extern void pgcall_event_queue(const char *type, const char *call_id, List *recipients,
							   const char *data, PgcallEventCall with_call,
							   const char *participant);
extern void pgcall_presence_changed(const char *subject, const char *call_id, bool state);
extern void pgcall_event_remember_call(const char *call_id, const char *json);
extern void pgcall_format_timestamp(TimestampTz ts, char *buf, size_t size);
extern void pgcall_init_events(void);

/* webhook.c: the webhook outbox */
typedef struct PgcallWebhookEvent
{
	const char *type;
	const char *call_id;		/* or NULL */
	int			nrecipients;
	char	  **recipients;
} PgcallWebhookEvent;

extern void pgcall_webhook_flush(const PgcallWebhookEvent *events, int nevents);
extern int64 pgcall_webhook_purge_old(int32 max_rows);
extern void pgcall_init_webhook_gucs(void);

/* event_ids.c: event ids that keep increasing across a failover */
extern int64 pgcall_event_id_next(Oid seqid);
extern int64 pgcall_event_id_settle(Oid seqid, int64 id, bool drawn_before);
extern bool pgcall_event_id_in_epoch(Oid seqid, int64 *id);

/* event_order.c */
extern void pgcall_init_event_order(void);
extern bool pgcall_event_order_horizon(void);
extern int64 pgcall_event_next_id(Oid seqid);
extern void pgcall_event_lock(void);
extern void pgcall_event_order_finish(void);
extern int64 pgcall_event_horizon(Oid seqid);

#endif							/* PGCALL_H */
