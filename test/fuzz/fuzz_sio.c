/*
 * fuzz_sio.c: libFuzzer target for worker/sio.c, the Engine.IO/Socket.IO
 * packet parser and the dialect mapper.
 *
 * Properties: the parser never reads outside the packet; what it accepts
 * is well-formed (an EVENT has a string name within the limit, a namespace
 * that starts with "/", JSON that validates); an accepted EVENT encoded
 * again by the writer parses back to the same name, namespace and
 * argument.  An origin sio_origin_ok() accepts (the bridge echoes it in
 * Access-Control-Allow-Origin) holds only origin characters.  The mapper,
 * with the input as the event under a fixed set of rules and as the rules
 * under a fixed event, emits only valid JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "sio.h"

static const char fixed_rules[] =
"[{\"on\":\"call.incoming\",\"when\":{},\"emit\":\"incomingCall\",\"payload\":{\"callId\":\"$.event.call_id\","
"\"callerId\":\"$.event.call.created_by\",\"first\":\"$.event.call.participants[0].user_id\",\"lit\":[1,\"$.me\",null]}},"
"{\"on\":\"call.accepted\",\"when\":{\"$.event.call.created_by\":\"$.me\"},\"emit\":\"callAccepted\","
"\"payload\":{\"callId\":\"$.event.call_id\",\"by\":\"$.event.data.by\"}},"
"{\"on\":\"call.accepted\",\"emit\":\"accepted\",\"payload\":{\"token\":\"$.media.agora.token\","
"\"all\":[\"$.media\",\"$.media.agora[0]\"],\"callId\":\"$.event.call_id\"}},"
"{\"on\":\"call.signal\",\"when\":{\"$.event.data.kind\":\"offer\"},\"emit\":\"receiveOffer\","
"\"payload\":{\"offer\":\"$.event.data.payload\",\"x\":\"$.event.data.payload[3]\"}}]";

static const char fixed_event[] =
"{\"event\":\"call.incoming\",\"call_id\":\"c1\",\"call\":{\"created_by\":\"alice\",\"participants\":"
"[{\"user_id\":\"alice\"},{\"user_id\":\"bob\"}]},\"data\":{\"by\":\"bob\",\"kind\":\"offer\",\"payload\":[1,2,3,{\"a\":1}]}}";

static int	emitted;

static void
check_emit(void *ctx, const char *name, size_t name_len, const char *payload, size_t payload_len)
{
	(void) ctx;
	if (!name || name_len > 1024)
		abort();
	if (payload && !json_valid(payload, payload_len, NULL))
		abort();
	emitted++;
}

static void
parse_checks(const char *s, size_t n)
{
	struct sio_packet p,
				q;
	const char *err = NULL;
	struct jbuf b;
	char	   *name,
			   *nsp;

	if (sio_parse(s, n, &p, &err) != 0)
	{
		if (!err || !*err)
			abort();
		return;
	}
	if (p.eio != EIO_MESSAGE || p.type != SIO_EVENT)
		return;
	if (p.name.type != J_STRING || p.name.n < 2 || p.name.n - 2 > SIO_MAX_EVENT ||
		p.nsp_len == 0 || p.nsp[0] != '/' || p.nsp_len > SIO_MAX_NSP || p.nargs < 0)
		abort();
	if (p.data.type != J_ARRAY || !json_valid(p.data.p, p.data.n, NULL))
		abort();
	/* the writer's packet parses back to the same event */
	name = json_string_dup(&p.name);
	nsp = malloc(p.nsp_len + 1);
	if (!name || !nsp)
		abort();
	memcpy(nsp, p.nsp, p.nsp_len);
	nsp[p.nsp_len] = '\0';
	if (strchr(nsp, ','))
		abort();
	jb_init(&b);
	sio_put_event(&b, nsp, name, strlen(name), p.arg.type != J_NONE ? p.arg.p : NULL, p.arg.n);
	if (b.oom)
		abort();
	if (b.s[0] != '4' || sio_parse(b.s + 0, b.len, &q, &err) != 0)
		abort();
	if (q.type != SIO_EVENT || q.nsp_len != p.nsp_len || memcmp(q.nsp, p.nsp, p.nsp_len) != 0 ||
		q.arg.n != p.arg.n || (p.arg.n && memcmp(q.arg.p, p.arg.p, p.arg.n) != 0) ||
		q.nargs != (p.arg.type != J_NONE ? 1 : 0))
		abort();
	{
		char	   *back = json_string_dup(&q.name);

		if (!back || strcmp(back, name) != 0)
			abort();
		free(back);
	}
	jb_free(&b);
	free(name);
	free(nsp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *copy = malloc(size + 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';

	parse_checks(copy, size);

	/*
	 * An origin the bridge echoes in a response header: bounded, and only
	 * characters that cannot end or split a header line or a list.
	 */
	if (sio_origin_ok(copy, size))
	{
		if (size > SIO_MAX_ORIGIN || !strstr(copy, "://"))
			abort();
		for (size_t i = 0; i < size; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789+-._:/[]", copy[i]) || copy[i] == '\0')
				abort();
	}

	/*
	 * The input as an event, as rules, and as a media session.  A rule that
	 * reads $.media emits nothing until it is given one (SIO_MAP_MEDIA).
	 */
	for (int pass = 0; pass < 2; pass++)
	{
		static const char fixed_media[] =
			"{\"call_id\":\"c1\",\"agora\":{\"token\":\"007x\",\"account\":\"bob\"}}";
		const struct sio_media none = {NULL, 0};
		const struct sio_media *media = pass ? &none : NULL;
		int			rc;

		emitted = 0;
		rc = sio_map(fixed_rules, sizeof(fixed_rules) - 1, copy, size, "alice", media, check_emit, NULL);
		if (rc > (pass ? 1 : SIO_MAP_MEDIA) || emitted != (rc == 1) || (rc == SIO_MAP_MEDIA && pass))
			abort();
		emitted = 0;
		rc = sio_map(copy, size, fixed_event, sizeof(fixed_event) - 1, (size & 1) ? "alice" : "bob",
					 media, check_emit, NULL);
		if (rc > (pass ? 1 : SIO_MAP_MEDIA) || emitted != (rc == 1))
			abort();
		if (pass)
		{
			const struct sio_media m = {copy, size},
						f = {fixed_media, sizeof(fixed_media) - 1};

			emitted = 0;
			rc = sio_map(fixed_rules, sizeof(fixed_rules) - 1, fixed_event, sizeof(fixed_event) - 1,
						 "bob", &m, check_emit, NULL);
			if (rc > 1 || emitted != (rc == 1))
				abort();
			emitted = 0;
			rc = sio_map(copy, size, fixed_event, sizeof(fixed_event) - 1, "bob", &f, check_emit, NULL);
			if (rc > 1 || emitted != (rc == 1))
				abort();
		}
	}
	free(copy);
	return 0;
}
