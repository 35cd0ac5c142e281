/*
 * config.c: flags, environment and defaults, in that order of precedence.
 *
 * Every option --name has an environment variable PGCALL_BRIDGE_NAME (upper
 * case, '-' as '_').  The JWT secret is the exception: it comes from a file
 * (--jwt-secret-file), from a descriptor the parent process wrote it to
 * (--jwt-secret-fd: the embedded mode's supervisor, which reads it from
 * pgcall.secret) or from PGCALL_BRIDGE_JWT_SECRET, never from a flag, so it
 * does not show in the process list; it is never logged.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <libwebsockets.h>

#include "log.h"

#include <openssl/rand.h>

enum otype
{
	O_STR, O_INT, O_SIZE
};

struct opt
{
	const char *name;
	enum otype	type;
	size_t		off;
	const char *def;
	long long	min;
	long long	max;
	const char *help;
};

#define F(field) offsetof(struct config, field)

static const struct opt opts[] = {
	{"listen", O_STR, F(listen), "127.0.0.1", 0, 0,
	"address (127.0.0.1, ::1, 0.0.0.0, ::) or interface name (lo) to listen on"},
	{"port", O_INT, F(port), "3000", 1, 65535, "TCP port"},
	{"db", O_STR, F(db), "", 0, 0,
	"libpq connection string or URI of the authenticator role (empty: libpq's PG* variables)"},
	{"jwt-secret-file", O_STR, 0, NULL, 0, 0,
	"file holding the HS256 secret (at least 32 bytes); or set PGCALL_BRIDGE_JWT_SECRET"},
	{"jwt-secret-fd", O_INT, 0, NULL, 3, 1024,
	"inherited descriptor to read the HS256 secret from, up to end of file (instead of a file)"},
	{"jwt-aud", O_STR, F(jwt_aud), NULL, 0, 0, "audience a JWT's aud claim must contain, if it has one"},
	{"jwt-allow-no-exp", O_INT, F(jwt_allow_no_exp), "0", 0, 1,
	"1: accept JWTs without an exp claim, which never expire (default 0: refuse them)"},
	{"schemas", O_STR, 0, "pgcall", 0, 0, "exposed schemas, comma-separated; the first is the default"},
	{"anon-role", O_STR, F(anon_role), "pgcall_anon", 0, 0,
	"role for requests without a JWT (empty: refuse them)"},
	{"bridge-role", O_STR, F(bridge_role), "pgcall_bridge", 0, 0,
	"role of the listener and system connections"},
	{"pool", O_INT, F(pool_size), "8", 1, 512, "database connections for requests"},
	{"pool-queue", O_INT, F(pool_queue), "1024", 0, 1000000,
	"requests and WebSocket calls that may wait for a connection before 503"},
	{"request-timeout", O_INT, F(request_timeout_ms), "30000", 100, 3600000,
	"ms from a complete request to its reply before 504"},
	{"statement-timeout", O_INT, F(statement_timeout_ms), "15000", 0, 3600000,
	"statement_timeout of each request, ms (0: none)"},
	{"connect-timeout", O_INT, F(connect_timeout_ms), "10000", 100, 600000,
	"ms to establish a database connection"},
	{"max-body", O_SIZE, F(max_body), "1048576", 0, 1LL << 30, "largest HTTP request body, bytes"},
	{"max-message", O_SIZE, F(max_message), "65536", 64, 1LL << 30,
	"largest WebSocket message from a client, bytes (close 1009 beyond)"},
	{"send-queue", O_SIZE, F(send_queue), "1048576", 1024, 1LL << 32,
	"bytes queued for one socket before it is dropped as too slow"},
	{"ws-ping", O_INT, F(ws_ping_s), "25", 1, 3600, "seconds of silence before a WebSocket ping"},
	{"ws-timeout", O_INT, F(ws_timeout_s), "60", 2, 7200,
	"seconds without a pong (or any frame) before a socket is cut; more than --ws-ping"},
	{"ws-calls", O_INT, F(ws_calls), "16", 1, 10000, "calls running or waiting per socket (one runs at a time, in order) before 429"},
	{"heartbeat", O_INT, F(heartbeat_ms), "5000", 100, 600000, "ms between presence heartbeats"},
	{"expire-interval", O_INT, F(expire_ms), "1000", 0, 3600000,
	"ms between call_expire() and participant_disconnect_sweep() sweeps (0: off)"},
	{"purge-interval", O_INT, F(purge_ms), "300000", 0, 86400000,
	"ms between pgcall.purge() runs, which delete expired events and history (0: off)"},
	{"purge-batch", O_INT, F(purge_batch), "10000", 1, 1000000,
	"rows pgcall.purge() deletes per run and table; a full batch runs again a second later"},
	{"event-batch", O_INT, F(event_batch), "1000", 1, 100000, "events fetched per query"},
	{"shutdown-grace", O_INT, F(shutdown_grace_ms), "10000", 0, 600000,
	"ms SIGTERM waits for requests in flight and closing sockets"},
	{"keepalive", O_INT, F(http_keepalive_s), "30", 1, 3600, "seconds an idle HTTP keep-alive connection stays"},
	{"header-timeout", O_INT, F(header_timeout_s), "10", 1, 600,
	"seconds a client has from connecting (or its last reply) to send complete request headers"},
	{"web-root", O_STR, F(web_root), NULL, 0, 0, "directory of static files served for other paths"},
	{"demo-users", O_STR, F(demo_users), NULL, 0, 0,
	"comma-separated demo users: POST /demo/token signs in as one of them without a password "
	"(demo and tests only; off by default)"},
	{"demo-admins", O_STR, F(demo_admins), NULL, 0, 0,
	"comma-separated demo administrators: POST /demo/token with \"role\": \"pgcall_admin\" signs in as "
	"one of them, for web/admin.html (demo and tests only; off by default)"},
	{"socketio-dialect", O_STR, F(sio_dialect), NULL, 0, 0,
	"dialect (a row of pgcall.dialect) served to Socket.IO clients at /socket.io/ (default: none, "
	"/socket.io/ answers 404)"},
	{"dialect", O_STR, 0, NULL, 0, 0,
	"NAME=PORT[,NAME=PORT...]: serve dialect NAME (a row of pgcall.dialect) on its own PORT: its REST "
	"routes (pgcall.dialect_route) and its Socket.IO at /socket.io/; repeatable, at most 8"},
	{"socketio-ping-interval", O_INT, F(sio_ping_ms), "25000", 100, 3600000,
	"ms between Engine.IO pings the bridge sends to a Socket.IO client"},
	{"socketio-ping-timeout", O_INT, F(sio_ping_timeout_ms), "20000", 100, 3600000,
	"ms a Socket.IO client has to answer a ping before it is cut"},
	{"socketio-connect-timeout", O_INT, F(sio_connect_timeout_ms), "45000", 100, 3600000,
	"ms a Socket.IO client has from the upgrade to a namespace CONNECT that succeeds"},
	{"tls-cert", O_STR, F(tls_cert), NULL, 0, 0, "PEM certificate: serve HTTPS/WSS"},
	{"tls-key", O_STR, F(tls_key), NULL, 0, 0, "PEM private key for --tls-cert"},
	{"bridge-id", O_STR, F(bridge_id), NULL, 0, 0, "UUID naming this bridge (default: random)"},
	{"webhook-inflight", O_INT, F(webhook_inflight), "64", 0, 10000,
	"webhook deliveries this bridge has open at once (0: deliver none)"},
	{"webhook-poll", O_INT, F(webhook_poll_ms), "1000", 10, 3600000,
	"ms between looks for due webhook deliveries (a commit also wakes it)"},
	{"log-level", O_STR, 0, "info", 0, 0, "error, warn, info or debug"},
};

static const char *schemas_text;
static const char *secret_file;
static int	secret_fd = -1;
static const char *log_level_text;

void
config_usage(FILE *out)
{
	fprintf(out,
			"pgcall-bridge %s: PostgREST-style HTTP and a realtime WebSocket for pgcall.\n\n"
			"usage: pgcall-bridge [options]\n\n"
			"Each option can also be set in the environment as PGCALL_BRIDGE_<NAME>\n"
			"(upper case, '-' as '_'); flags win over the environment.\n\n",
			BRIDGE_VERSION);
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
	{
		char		env[64],
				   *e;

		snprintf(env, sizeof(env), "PGCALL_BRIDGE_%s", opts[i].name);
		for (e = env; *e; e++)
			*e = *e == '-' ? '_' : (char) toupper((unsigned char) *e);
		fprintf(out, "  --%-18s %s\n  %-20s env %s%s%s%s\n", opts[i].name, opts[i].help, "", env,
				opts[i].def ? ", default \"" : "", opts[i].def ? opts[i].def : "",
				opts[i].def ? "\"" : "");
	}
	fprintf(out, "\n  PGCALL_BRIDGE_JWT_SECRET  the HS256 secret itself (instead of a file)\n"
			"  --help, --version\n"
			"  --print-sql        every SQL statement the bridge sends, one per line\n"
			"                     (test/sql/bridge_statements.sql runs each of them)\n");
}

/* "name=port[,name=port...]"; each --dialect adds to the list. */
static int
dialect_add(struct config *cfg, const char *spec)
{
	char	   *copy = strdup(spec),
			   *save = NULL;

	if (!copy)
		return -1;
	/* copy is kept: the names point into it for the life of the process */
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
	{
		char	   *eq = strchr(t, '='),
				   *end = NULL;
		long		port = eq ? strtol(eq + 1, &end, 10) : 0;
		size_t		nl = eq ? (size_t) (eq - t) : 0;

		if (!eq || nl == 0 || nl > 32 || strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_-") != nl ||
			!end || *end || end == eq + 1 || port < 1 || port > 65535)
		{
			fprintf(stderr, "pgcall-bridge: --dialect takes NAME=PORT (a dialect name of a-z, 0-9, _ "
					"and -, and a port 1-65535), not \"%s\"\n", t);
			return -1;
		}
		*eq = '\0';
		if (port == cfg->port)
		{
			fprintf(stderr, "pgcall-bridge: --dialect %s: port %ld is --port\n", t, port);
			return -1;
		}
		for (int i = 0; i < cfg->ndialects; i++)
			if (cfg->dialects[i].port == port || strcmp(cfg->dialects[i].name, t) == 0)
			{
				fprintf(stderr, "pgcall-bridge: --dialect %s=%ld: that name or port is taken\n", t, port);
				return -1;
			}
		if (cfg->ndialects == MAX_DIALECTS)
		{
			fprintf(stderr, "pgcall-bridge: at most %d dialects\n", MAX_DIALECTS);
			return -1;
		}
		cfg->dialects[cfg->ndialects].name = t;
		cfg->dialects[cfg->ndialects].port = (int) port;
		cfg->ndialects++;
	}
	return 0;
}

static int
set_opt(struct config *cfg, const struct opt *o, const char *v, const char *from)
{
	char	   *end;
	long long	n;

	if (strcmp(o->name, "schemas") == 0)
	{
		schemas_text = v;
		return 0;
	}
	if (strcmp(o->name, "jwt-secret-file") == 0)
	{
		secret_file = v;
		return 0;
	}
	if (strcmp(o->name, "dialect") == 0)
		return dialect_add(cfg, v);
	if (strcmp(o->name, "log-level") == 0)
	{
		log_level_text = v;
		return 0;
	}
	if (o->type == O_STR)
	{
		*(const char **) ((char *) cfg + o->off) = v;
		return 0;
	}
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || end == v || *end || n < o->min || n > o->max)
	{
		fprintf(stderr, "pgcall-bridge: %s %s: \"%s\" is not a number from %lld to %lld\n",
				from, o->name, v, o->min, o->max);
		return -1;
	}
	if (strcmp(o->name, "jwt-secret-fd") == 0)
		secret_fd = (int) n;
	else if (o->type == O_INT)
		*(int *) ((char *) cfg + o->off) = (int) n;
	else
		*(size_t *) ((char *) cfg + o->off) = (size_t) n;
	return 0;
}

static int
load_secret(struct config *cfg)
{
	const char *env = getenv("PGCALL_BRIDGE_JWT_SECRET");
	size_t		n;

	if (secret_file && secret_fd >= 0)
	{
		fprintf(stderr, "pgcall-bridge: --jwt-secret-file and --jwt-secret-fd exclude each other\n");
		return -1;
	}
	if (secret_fd >= 0)
	{
		char		buf[4097];
		ssize_t		r = 0;

		n = 0;
		while (n < sizeof(buf) - 1)
		{
			r = read(secret_fd, buf + n, sizeof(buf) - 1 - n);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			n += (size_t) r;
		}
		if (r < 0)
		{
			fprintf(stderr, "pgcall-bridge: cannot read the JWT secret from descriptor %d: %s\n",
					secret_fd, strerror(errno));
			return -1;
		}
		close(secret_fd);
		buf[n] = '\0';
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		cfg->jwt_secret = malloc(n + 1);
		if (cfg->jwt_secret)
			memcpy(cfg->jwt_secret, buf, n + 1);
		memset(buf, 0, sizeof(buf));
	}
	else if (secret_file)
	{
		FILE	   *f = fopen(secret_file, "r");
		char		buf[4097];

		if (!f)
		{
			fprintf(stderr, "pgcall-bridge: cannot read the JWT secret file %s: %s\n", secret_file,
					strerror(errno));
			return -1;
		}
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
			buf[--n] = '\0';
		cfg->jwt_secret = malloc(n + 1);
		if (cfg->jwt_secret)
			memcpy(cfg->jwt_secret, buf, n + 1);
		memset(buf, 0, sizeof(buf));
	}
	else if (env)
	{
		n = strlen(env);
		cfg->jwt_secret = strdup(env);
	}
	else
	{
		fprintf(stderr, "pgcall-bridge: no JWT secret: use --jwt-secret-file, --jwt-secret-fd or PGCALL_BRIDGE_JWT_SECRET\n");
		return -1;
	}
	if (!cfg->jwt_secret)
		return -1;
	cfg->jwt_secret_len = n;
	if (n < 32)
	{
		fprintf(stderr, "pgcall-bridge: the JWT secret must be at least 32 bytes long\n");
		return -1;
	}
	return 0;
}

static int
split_schemas(struct config *cfg)
{
	char	   *copy = strdup(schemas_text),
			   *save = NULL;

	if (!copy)
		return -1;
	cfg->nschemas = 0;
	for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
	{
		if (cfg->nschemas == (int) (sizeof(cfg->schemas) / sizeof(cfg->schemas[0])))
		{
			fprintf(stderr, "pgcall-bridge: at most 8 schemas\n");
			return -1;
		}
		cfg->schemas[cfg->nschemas++] = t;
	}
	if (!cfg->nschemas)
	{
		fprintf(stderr, "pgcall-bridge: --schemas names no schema\n");
		return -1;
	}
	return 0;
}

static bool
is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !isxdigit((unsigned char) s[i]))
			return false;
	return true;
}

int
config_load(struct config *cfg, int argc, char **argv)
{
	enum
	{
		NOPTS = sizeof(opts) / sizeof(opts[0])
	};
	struct option lo[NOPTS + 4];
	int			c,
				idx;

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < NOPTS; i++)
	{
		char		env[64],
				   *e;
		const char *v;

		if (opts[i].def && set_opt(cfg, &opts[i], opts[i].def, "default"))
			return -1;
		snprintf(env, sizeof(env), "PGCALL_BRIDGE_%s", opts[i].name);
		for (e = env; *e; e++)
			*e = *e == '-' ? '_' : (char) toupper((unsigned char) *e);
		if ((v = getenv(env)) != NULL && set_opt(cfg, &opts[i], v, env))
			return -1;
		lo[i] = (struct option)
		{
			opts[i].name, required_argument, NULL, (int) i
		};
	}
	lo[NOPTS] = (struct option)
	{
		"help", no_argument, NULL, 'h'
	};
	lo[NOPTS + 1] = (struct option)
	{
		"version", no_argument, NULL, 'V'
	};
	lo[NOPTS + 2] = (struct option)
	{
		"print-sql", no_argument, NULL, 'S'
	};
	memset(&lo[NOPTS + 3], 0, sizeof(lo[0]));
	while ((c = getopt_long(argc, argv, "", lo, &idx)) != -1)
	{
		if (c == 'h')
		{
			config_usage(stdout);
			exit(0);
		}
		if (c == 'S')
		{
			/* main.c prints them: the statements are statements.c's */
			cfg->print_sql = true;
			return 0;
		}
		if (c == 'V')
		{
			printf("pgcall-bridge %s (libwebsockets %s, libpq %d)\n", BRIDGE_VERSION,
				   lws_get_library_version(), PQlibVersion());
			exit(0);
		}
		if (c < 0 || c >= (int) NOPTS)
		{
			config_usage(stderr);
			return -1;
		}
		if (set_opt(cfg, &opts[c], optarg, "--"))
			return -1;
	}
	if (optind < argc)
	{
		fprintf(stderr, "pgcall-bridge: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (cfg->ws_timeout_s <= cfg->ws_ping_s)
	{
		fprintf(stderr, "pgcall-bridge: --ws-timeout must be greater than --ws-ping\n");
		return -1;
	}
	if (!log_level_text || !strcmp(log_level_text, "info"))
		cfg->log_level = LOG_INFO;
	else if (!strcmp(log_level_text, "error"))
		cfg->log_level = LOG_ERROR;
	else if (!strcmp(log_level_text, "warn"))
		cfg->log_level = LOG_WARN;
	else if (!strcmp(log_level_text, "debug"))
		cfg->log_level = LOG_DEBUG;
	else
	{
		fprintf(stderr, "pgcall-bridge: --log-level must be error, warn, info or debug\n");
		return -1;
	}
	if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL))
	{
		fprintf(stderr, "pgcall-bridge: --tls-cert and --tls-key go together\n");
		return -1;
	}
	if (cfg->tls_cert && cfg->ndialects)
	{
		fprintf(stderr, "pgcall-bridge: --dialect ports are plain HTTP: not with --tls-cert (terminate TLS in front)\n");
		return -1;
	}
	if (cfg->bridge_id && !is_uuid(cfg->bridge_id))
	{
		fprintf(stderr, "pgcall-bridge: --bridge-id must be a UUID\n");
		return -1;
	}
	if (split_schemas(cfg) || load_secret(cfg))
		return -1;
	return 0;
}

/* A random (version 4) UUID for this process. */
void
config_random_uuid(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
	{
		FILE	   *f = fopen("/dev/urandom", "r");

		if (!f || fread(b, 1, sizeof(b), f) != sizeof(b))
			abort();
		fclose(f);
	}
	b[6] = (unsigned char) ((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char) ((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
			 b[13], b[14], b[15]);
}
