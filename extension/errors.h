/*
 * errors.h: every SQLSTATE pgcall raises, in one list.
 *
 * A pgcall SQLSTATE is 'P', the HTTP status a client should see (three
 * digits), and one character that tells errors with the same status apart:
 * P404A is "call not found", answered over HTTP as 404.  The bridge derives
 * the status from the code alone, the way PostgREST does for its PTxyz codes,
 * and pgcall.error_codes() lists this table for documentation and clients.
 *
 * To add an error, add one line here; the enum and the catalog follow.
 */
#ifndef PGCALL_ERRORS_H
#define PGCALL_ERRORS_H

#include "postgres.h"

/* X(name, c1, c2, c3, c4, c5, description) */
#define PGCALL_ERRCODE_LIST(X) \
	X(INVALID_CHANNEL,        'P','4','0','0','A', "channel name is empty, longer than 64 bytes, or has a character Agora does not allow") \
	X(INVALID_ACCOUNT,        'P','4','0','0','B', "user account is empty, longer than 255 bytes, or has a character Agora does not allow") \
	X(INVALID_UID,            'P','4','0','0','C', "uid is outside 0..4294967295") \
	X(INVALID_APP_ID,         'P','4','0','0','D', "Agora app id is not 32 hexadecimal characters") \
	X(INVALID_CERTIFICATE,    'P','4','0','0','E', "Agora app certificate is not 32 hexadecimal characters") \
	X(INVALID_TTL,            'P','4','0','0','F', "a lifetime in seconds is outside its allowed range") \
	X(INVALID_ROLE,           'P','4','0','0','G', "token role is not 'publisher' or 'subscriber'") \
	X(INVALID_TOKEN,          'P','4','0','0','H', "token is malformed, truncated or not an Agora token") \
	X(INVALID_USER_ID,        'P','4','0','0','I', "user id is empty, too long or contains a control character") \
	X(INVALID_SECRET,         'P','4','0','0','J', "unknown secret name, or a value that does not fit it") \
	X(INVALID_SETTING,        'P','4','0','0','K', "a pgcall setting has a value that cannot be used") \
	X(INVALID_MEDIA,          'P','4','0','0','L', "call type is not 'audio' (or 'voice') or 'video'") \
	X(INVALID_STATUS,         'P','4','0','0','M', "participant status is not one of invited, ringing, joined, left, declined, missed, busy, or call status is not one of ringing, active, ended") \
	X(INVALID_SIGNAL,         'P','4','0','0','N', "WebRTC signal kind is unknown or its payload is not a JSON object") \
	X(INVALID_INVITEES,       'P','4','0','0','O', "invitee list is empty, too long, repeats someone or names the caller") \
	X(INVALID_LIMIT,          'P','4','0','0','P', "page, limit, skip or max is outside its allowed range") \
	X(INVALID_REASON,         'P','4','0','0','Q', "end or decline reason is not allowed or too long") \
	X(MISSING_ARGUMENT,       'P','4','0','0','R', "a required argument is missing") \
	X(INVALID_TITLE,          'P','4','0','0','S', "conference title is empty or too long, or its description is too long") \
	X(INVALID_PERIOD,         'P','4','0','0','T', "analytics days, group_by or time_zone is not allowed") \
	X(INVALID_PREFERENCE,     'P','4','0','0','U', "a call preference has a value that is not allowed") \
	X(TOO_MANY_INVITEES,      'P','4','0','0','V', "invitee list names more people than pgcall.max_invitees allows in one request") \
	X(INVALID_WEBHOOK_URL,    'P','4','0','0','W', "webhook URL is not http(s), has credentials or a fragment, or points at a loopback, private, link-local or metadata address") \
	X(INVALID_WEBHOOK,        'P','4','0','0','X', "webhook event types are unknown, or a limit or description is out of range") \
	X(INVALID_USER_IDS,       'P','4','0','0','Y', "presence user id list is null or names more than 1000 users") \
	X(NOT_AUTHENTICATED,      'P','4','0','1','A', "no current user: the request carries no user id") \
	X(FORBIDDEN,              'P','4','0','3','A', "the current user may not act for another user") \
	X(NOT_PARTICIPANT,        'P','4','0','3','B', "the current user is not a participant of the call") \
	X(PRIVATE_CALL,           'P','4','0','3','C', "the call is private and the current user is not invited") \
	X(NOT_HOST,               'P','4','0','3','D', "only the host may do this for everyone in the call") \
	X(REMOVED,                'P','4','0','3','E', "the current user was removed from the call and cannot rejoin") \
	X(NOT_ADMIN,              'P','4','0','3','F', "only members of pgcall_admin may do this") \
	X(PSEUDONYMS_ONLY,        'P','4','0','3','G', "pgcall.pseudonymize is on: administrators name and see users by pseudonym only") \
	X(CALL_NOT_FOUND,         'P','4','0','4','A', "no call has this id or channel") \
	X(PARTICIPANT_NOT_FOUND,  'P','4','0','4','B', "the user is not a participant of the call") \
	X(WEBHOOK_NOT_FOUND,      'P','4','0','4','C', "no webhook endpoint has this id") \
	X(DELIVERY_NOT_FOUND,     'P','4','0','4','D', "no webhook delivery has this id") \
	X(ALREADY_ANSWERED,       'P','4','0','9','A', "the call was already answered (possibly on another device)") \
	X(CALL_ENDED,             'P','4','0','9','B', "the call has already ended") \
	X(INVALID_TRANSITION,     'P','4','0','9','C', "the participant or call cannot move from its current status to the one asked for") \
	X(CALL_FULL,              'P','4','0','9','D', "the call has reached its maximum number of participants") \
	X(INVITE_LIMIT,           'P','4','0','9','E', "the call has already rung as many people as pgcall.max_invitees allows") \
	X(DELIVERY_IN_FLIGHT,     'P','4','0','9','F', "the webhook delivery is being attempted right now") \
	X(EVENTS_PURGED,          'P','4','1','0','A', "events after the given id are no longer kept") \
	X(PAYLOAD_TOO_LARGE,      'P','4','1','3','A', "a signal payload is larger than pgcall.signal_max_bytes (16 KiB unless configured)") \
	X(RATE_LIMITED,           'P','4','2','9','A', "too many requests of one kind in the current window; retry after the time given") \
	X(AGORA_NOT_CONFIGURED,   'P','5','0','3','A', "Agora app id or app certificate is not configured") \
	X(TURN_NOT_CONFIGURED,    'P','5','0','3','B', "TURN server URLs or shared secret are not configured") \
	X(PSEUDONYM_NOT_CONFIGURED, 'P','5','0','3','C', "pseudonymous analytics are on but the pseudonym_key secret is not set") \
	X(CALL_BUSY,              'P','5','0','3','D', "another request held the call longer than pgcall.lock_timeout; retry") \
	X(WEBHOOK_NOT_CONFIGURED, 'P','5','0','3','E', "the webhook endpoint has no signing secret")

#define PGCALL_ERRCODE_ENUM(name, a, b, c, d, e, desc) \
	ERRCODE_PGCALL_##name = MAKE_SQLSTATE(a, b, c, d, e),

enum pgcall_errcode
{
	PGCALL_ERRCODE_LIST(PGCALL_ERRCODE_ENUM)
};

#endif							/* PGCALL_ERRORS_H */
