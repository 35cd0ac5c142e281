/*
 * fuzz_inspect.c: libFuzzer target for the decoder behind
 * pgcall.agora_token_inspect (agora_decode and the two verifiers).
 *
 * Random bytes seldom survive base64 and zlib, so the first input byte
 * chooses what the rest is:
 *   0 (and anything not below): the token text itself;
 *   1: the inflated content of a 007 token, which the target deflates and
 *      encodes, so mutations reach the field parser;
 *   2: the decoded content of a 006 token, likewise.
 * Every decoded view is read back byte by byte, so AddressSanitizer sees
 * any view that points outside its buffer.
 *
 * Built with -fsanitize=fuzzer by the 40-fuzz suite; with -DFUZZ_REPLAY it
 * becomes a plain program that runs each file named on the command line
 * once, for the sanitizer and valgrind runs of 45-sanitize.
 */
#include "agora_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#define CERT "5CFd2fd1755d40ecb72977518be15d3b"
#define APP_ID "970CA35de60c44645bbae8a215061b33"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static void
touch(AgoraBytes b)
{
	for (size_t i = 0; i < b.len; i++)
		sink += b.data[i];
}

static void
base64(const uint8_t *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		i;

	for (i = 0; i + 3 <= len; i += 3)
	{
		*out++ = a[in[i] >> 2];
		*out++ = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		*out++ = a[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		*out++ = a[in[i + 2] & 63];
	}
	if (i < len)
	{
		*out++ = a[in[i] >> 2];
		if (i + 1 < len)
		{
			*out++ = a[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
			*out++ = a[(in[i + 1] & 15) << 2];
		}
		else
			*out++ = a[(in[i] & 3) << 4];
	}
	*out = '\0';
}

static void
decode_and_check(const char *token, size_t len)
{
	static AgoraDecoded d;

	if (agora_decode(token, len, &d) != AGORA_OK)
	{
		if (d.error[0] == '\0')
			abort();			/* every refusal must say why */
		return;
	}
	touch(d.signature);
	touch(d.signed_part);
	for (int i = 0; i < d.nservices; i++)
	{
		touch(d.services[i].channel);
		touch(d.services[i].user);
		for (int j = 0; j < d.services[i].npermissions; j++)
			touch(d.permissions[d.services[i].first_permission + j].resource);
		for (int j = 0; j < d.services[i].nprivileges; j++)
			sink += agora_privilege_name(7, d.services[i].type, d.services[i].privileges[j].id) != NULL;
		sink += agora_service_name(d.services[i].type) != NULL;
	}
	if (d.version == 7)
		sink += agora_verify_007(&d, CERT);
	else
		sink += agora_verify_006(&d, CERT, "channel", 7, "", 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t zbuf[AGORA_DECODE_CONTENT_MAX + 64];
	static char token[AGORA_DECODE_TOKEN_MAX + 64];
	uLongf		zlen = sizeof(zbuf);

	if (size == 0)
		return 0;
	switch (data[0])
	{
		case 1:
			if (size - 1 > AGORA_DECODE_CONTENT_MAX / 2 ||
				compress2(zbuf, &zlen, data + 1, size - 1, 1) != Z_OK)
				return 0;
			memcpy(token, "007", 3);
			base64(zbuf, zlen, token + 3);
			decode_and_check(token, strlen(token));
			break;
		case 2:
			if (size - 1 > AGORA_DECODE_CONTENT_MAX / 2)
				return 0;
			memcpy(token, "006" APP_ID, 35);
			base64(data + 1, size - 1, token + 35);
			decode_and_check(token, strlen(token));
			break;
		default:
			/* A copy of exactly size bytes: no terminator to lean on. */
			{
				char	   *copy = malloc(size - 1 > 0 ? size - 1 : 1);

				if (copy == NULL)
					return 0;
				memcpy(copy, data + 1, size - 1);
				decode_and_check(copy, size - 1);
				free(copy);
			}
			break;
	}
	return 0;
}

#ifdef FUZZ_REPLAY
int
main(int argc, char **argv)
{
	static uint8_t buf[1 << 16];
	int			runs = 0;

	for (int i = 1; i < argc; i++)
	{
		FILE	   *f = fopen(argv[i], "rb");
		size_t		n;

		if (f == NULL)
		{
			perror(argv[i]);
			return 2;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
		runs++;
	}
	printf("replayed %d inputs\n", runs);
	return 0;
}
#endif
