/*
 * fuzz_bridge.c: libFuzzer over the bridge's request path as it is wired.
 *
 * The real bridge objects (every worker source, built with
 * -Dmain=pgcall_bridge_main) run in a background thread on their real
 * libwebsockets loop, listening on a free loopback port, with a database
 * that refuses connections: requests end in 503s, which still exercises
 * header parsing, routing, identity and JWT checks, body accumulation,
 * WebSocket upgrades and frames, and every error reply.
 *
 * Each input is a byte stream written to a fresh TCP connection.  The first
 * byte is a mode byte:
 *   bits 0-1  how the rest is cut into write()s: 0 whole, 1 at every
 *             0xFE byte (dropped from the stream), 2 every 1..8 bytes
 *             (sizes from bits 4-6), 3 at 0xFE with a 1 ms pause after
 *             each of the first 20 writes
 *   bit  2    keep writing open (otherwise shutdown(SHUT_WR) after writing)
 *   bit  3    close with RST (SO_LINGER 0) instead of FIN
 *   bit  7    to the bridge's dialect port (--dialect seed003=...: REST
 *             routes through pgcall.dialect_http, and Socket.IO) instead
 *             of --port
 * The reply is read until the bridge closes, the connection is quiet for a
 * few milliseconds, or READ_BOUND_MS passes.
 *
 * Properties checked (a failure aborts, so libFuzzer keeps the input):
 *  - the bridge thread is alive (it never returns from its loop);
 *  - every CHECK_EVERY inputs, a fresh "GET /health" gets an HTTP status
 *    line within LIVENESS_MS;
 *  - the bridge is not spinning: when idle (all our sockets closed) its
 *    thread uses less than SPIN_PERCENT of a core; a /health that gets no
 *    answer is reported as a spin or a stall by the same measure.  A spin found after the fact is
 *    reported with the last RING inputs written to the artifact prefix as
 *    recent-*, to be replayed one at a time with FUZZ_BRIDGE_CHECK_EVERY=1.
 * ASan and UBSan reports crash the process on their own.
 *
 * Environment: FUZZ_BRIDGE_CHECK_EVERY (default 64),
 * FUZZ_BRIDGE_AVOID=pipelined-body (see avoid_pipelined_body()),
 * FUZZ_BRIDGE_VERBOSE=1 (bridge log at info instead of error),
 * FUZZ_BRIDGE_SHOW=1 (print the status line of each reply),
 * FUZZ_BRIDGE_DB (a libpq connection string of a live database for the
 * bridge; without it the database refuses connections, so WebSocket
 * sessions close at once and only the transport and refusals are fuzzed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int			pgcall_bridge_main(int argc, char **argv);

#define READ_BOUND_MS 200
#define QUIET_MS 5
#define LIVENESS_MS 3000
#define IDLE_WINDOW_MS 60
/*
 * An idle bridge uses about 0% of a core; a spinning one got 40-100% on two
 * shared cores, so a fifth of a core, confirmed over 300 ms, is a spin.
 */
#define SPIN_PERCENT 20
#define RING 256
#define MAX_RING_INPUT 65536

static int	port;
static int	dport;				/* --dialect seed003's */
static pthread_t bridge_thread;
static clockid_t bridge_clock;
static volatile int bridge_exited;
static int	bridge_rc;
static int	check_every = 64;
static int	show;
static bool avoid_pipelined;
static unsigned long inputs;
static char artifact_prefix[512] = "./";

static struct
{
	uint8_t    *data;
	size_t		size;
}			ring[RING];
static unsigned long ring_n;

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static uint64_t
bridge_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(bridge_clock, &ts) != 0)
		return 0;
	return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void die(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));

/* Reports a broken property and aborts: libFuzzer keeps the input. */
static void
die(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "==fuzz_bridge== ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

/* A free loopback port: bind to 0, read it back, close. */
static int
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t	l = sizeof(a);
	int			fd = socket(AF_INET, SOCK_STREAM, 0),
				p;

	if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) || getsockname(fd, (struct sockaddr *) &a, &l))
		die("cannot find a free port");
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

static int
dial_port(int to)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) to),
	.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0),
				one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0)
	{
		close(fd);
		return -1;
	}
	return fd;
}

static int
dial(void)
{
	return dial_port(port);
}

static void
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n)
	{
		ssize_t		w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;				/* the bridge closed: fine */
		p += w;
		n -= (size_t) w;
	}
}

/*
 * Reads until EOF, quiet_ms without data, or bound_ms; returns the bytes
 * read into buf (at most cap - 1, terminated), the rest discarded.
 */
static size_t
read_reply(int fd, char *buf, size_t cap, int quiet_ms, int bound_ms)
{
	uint64_t	end = mono_ms() + (uint64_t) bound_ms;
	size_t		got = 0;
	char		sink[4096];

	for (;;)
	{
		uint64_t	now = mono_ms();
		int			wait;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t		r;

		if (now >= end)
			break;
		wait = (int) (end - now);
		if (quiet_ms > 0 && wait > quiet_ms)
			wait = quiet_ms;
		if (poll(&pfd, 1, wait) <= 0)
			break;
		if (buf && got + 1 < cap)
			r = recv(fd, buf + got, cap - 1 - got, 0);
		else
			r = recv(fd, sink, sizeof(sink), 0);
		if (r <= 0)
			break;
		if (buf && got + 1 < cap)
			got += (size_t) r;
	}
	if (buf && cap)
		buf[got] = '\0';
	return got;
}

static void
dump_ring(void)
{
	unsigned long first = ring_n > RING ? ring_n - RING : 0;

	if (check_every == 1)
		return;					/* checked after each input: the crash input is the one */

	for (unsigned long i = first; i < ring_n; i++)
	{
		char		path[600];
		FILE	   *f;

		snprintf(path, sizeof(path), "%srecent-%06lu", artifact_prefix, i);
		if ((f = fopen(path, "wb")) != NULL)
		{
			fwrite(ring[i % RING].data, 1, ring[i % RING].size, f);
			fclose(f);
		}
	}
	fprintf(stderr, "==fuzz_bridge== the last %lu inputs are in %srecent-*; replay them one by one "
			"with FUZZ_BRIDGE_CHECK_EVERY=1 to find the one that starts it\n",
			ring_n - first, artifact_prefix);
}

/* Bridge CPU share over an idle window, in percent of one core. */
static int
idle_cpu_percent(int window_ms)
{
	uint64_t	c0 = bridge_cpu_us(),
				t0 = mono_ms(),
				c1,
				t1;

	usleep((useconds_t) window_ms * 1000);
	c1 = bridge_cpu_us();
	t1 = mono_ms();
	if (t1 <= t0)
		return 0;
	return (int) ((c1 - c0) / 10 / (t1 - t0));
}

static void
check_alive(void)
{
	if (bridge_exited)
		die("the bridge's main returned %d: its loop must not stop", bridge_rc);
}

/*
 * The bridge is healthy: not spinning while idle, and a fresh /health gets
 * a status line.  A spin is told apart from a stall by the bridge thread's
 * CPU time.
 */
static void
check_bridge(void)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
	char		buf[64];
	int			fd,
				pct;

	check_alive();
	pct = idle_cpu_percent(IDLE_WINDOW_MS);
	if (pct >= SPIN_PERCENT)
	{
		/* confirm over a longer window before calling it a spin */
		pct = idle_cpu_percent(300);
		if (pct >= SPIN_PERCENT)
		{
			dump_ring();
			die("bridge spinning: its thread used %d%% of a core while no request was open", pct);
		}
	}
	fd = dial();
	if (fd < 0)
	{
		int			err = errno;

		dump_ring();
		die("cannot connect to the bridge: %s", strerror(err));
	}
	write_all(fd, (const uint8_t *) req, sizeof(req) - 1);
	read_reply(fd, buf, sizeof(buf), 0, LIVENESS_MS);
	close(fd);
	if (strncmp(buf, "HTTP/1.1 ", 9) != 0)
	{
		uint64_t	c0 = bridge_cpu_us();

		usleep(300 * 1000);
		pct = (int) ((bridge_cpu_us() - c0) / 3000);
		dump_ring();
		check_alive();
		if (pct >= SPIN_PERCENT)
			die("bridge spinning: GET /health got no status line and the bridge thread uses %d%% of a core", pct);
		die("bridge stalled: GET /health got no status line within the bound (reply: \"%s\")", buf);
	}
}

static void *
run_bridge(void *arg)
{
	char	  **argv = arg;
	int			argc = 0;

	while (argv[argc])
		argc++;
	bridge_rc = pgcall_bridge_main(argc, argv);
	bridge_exited = 1;
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/fuzz_bridge.XXXXXX";
	static char secret_path[sizeof(dir) + 16];
	static char port_s[16];
	static char dialect_s[40];
	static char *bargv[48];
	static const char secret[] = "fuzz-bridge-secret-0123456789abcdef0123456789";
	const char *e;
	FILE	   *f;
	int			n = 0;
	uint64_t	until;

	for (int i = 1; i < *argc; i++)
		if (strncmp((*argv)[i], "-artifact_prefix=", 17) == 0)
			snprintf(artifact_prefix, sizeof(artifact_prefix), "%s", (*argv)[i] + 17);
	if ((e = getenv("FUZZ_BRIDGE_CHECK_EVERY")) != NULL && atoi(e) > 0)
		check_every = atoi(e);
	show = getenv("FUZZ_BRIDGE_SHOW") != NULL;
	if ((e = getenv("FUZZ_BRIDGE_AVOID")) != NULL && strstr(e, "pipelined-body"))
	{
		avoid_pipelined = true;
		fprintf(stderr, "==fuzz_bridge== FUZZ_BRIDGE_AVOID=pipelined-body: requests with a body "
				"pipelined behind another are cut off (known spin, not fuzzed)\n");
	}
	signal(SIGPIPE, SIG_IGN);

	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
	if (!(f = fopen(secret_path, "w")) || fputs(secret, f) < 0 || fclose(f))
		die("cannot write %s", secret_path);
	port = free_port();
	snprintf(port_s, sizeof(port_s), "%d", port);
	do
		dport = free_port();
	while (dport == port);
	snprintf(dialect_s, sizeof(dialect_s), "seed003=%d", dport);

	bargv[n++] = "pgcall-bridge";
	bargv[n++] = "--listen";
	bargv[n++] = "127.0.0.1";
	bargv[n++] = "--port";
	bargv[n++] = port_s;
	bargv[n++] = "--db";
	/* a live database (FUZZ_BRIDGE_DB) reaches the WebSocket message path */
	bargv[n++] = getenv("FUZZ_BRIDGE_DB") ? getenv("FUZZ_BRIDGE_DB")
		: "host=127.0.0.1 port=1 connect_timeout=1";
	bargv[n++] = "--jwt-secret-file";
	bargv[n++] = secret_path;
	bargv[n++] = "--demo-users";
	bargv[n++] = "a,b";
	bargv[n++] = "--max-body";
	bargv[n++] = "4096";
	bargv[n++] = "--max-message";
	bargv[n++] = "4096";
	bargv[n++] = "--pool";
	bargv[n++] = "2";
	bargv[n++] = "--request-timeout";
	bargv[n++] = "500";
	bargv[n++] = "--connect-timeout";
	bargv[n++] = "200";
	bargv[n++] = "--keepalive";
	bargv[n++] = "2";
	bargv[n++] = "--ws-ping";
	bargv[n++] = "1";
	bargv[n++] = "--ws-timeout";
	bargv[n++] = "2";
	bargv[n++] = "--socketio-dialect";
	bargv[n++] = "seed003";
	bargv[n++] = "--dialect";
	bargv[n++] = dialect_s;
	bargv[n++] = "--socketio-ping-interval";
	bargv[n++] = "1000";
	bargv[n++] = "--socketio-ping-timeout";
	bargv[n++] = "1000";
	bargv[n++] = "--socketio-connect-timeout";
	bargv[n++] = "2000";
	bargv[n++] = "--log-level";
	bargv[n++] = getenv("FUZZ_BRIDGE_VERBOSE") ? "info" : "error";
	bargv[n] = NULL;

	if (pthread_create(&bridge_thread, NULL, run_bridge, bargv) != 0 ||
		pthread_getcpuclockid(bridge_thread, &bridge_clock) != 0)
		die("cannot start the bridge thread");

	/* wait until it listens */
	until = mono_ms() + 10000;
	for (;;)
	{
		int			fd;

		check_alive();
		if ((fd = dial()) >= 0)
		{
			close(fd);
			break;
		}
		if (mono_ms() > until)
			die("the bridge did not listen within 10 s");
		usleep(10 * 1000);
	}
	/* the bridge read its secret at start-up: leave nothing behind in /tmp */
	unlink(secret_path);
	rmdir(dir);
	fprintf(stderr, "==fuzz_bridge== bridge listening on 127.0.0.1:%d, checks every %d inputs\n",
			port, check_every);
	return 0;
}

static void
remember(const uint8_t *data, size_t size)
{
	size_t		n = size < MAX_RING_INPUT ? size : MAX_RING_INPUT;
	uint8_t    *p = realloc(ring[ring_n % RING].data, n ? n : 1);

	if (!p)
		return;
	memcpy(p, data, n);
	ring[ring_n % RING].data = p;
	ring[ring_n % RING].size = n;
	ring_n++;
}

/* Case-insensitive search for a header name at the start of a line. */
static bool
has_header(const uint8_t *p, size_t n, const char *name)
{
	size_t		l = strlen(name);

	for (size_t i = 0; i + l <= n; i++)
		if ((i == 0 || p[i - 1] == '\n') && strncasecmp((const char *) p + i, name, l) == 0)
			return true;
	return false;
}

/*
 * Offset just past the first blank line, or 0 when there is none.  Like
 * lws, a CR before the second LF is optional ("\n\n" and "\n\r\n" end the
 * headers too).
 */
static size_t
header_end(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++)
		if (p[i] == '\n')
		{
			size_t		j = i + 1;

			if (j < n && p[j] == '\r')
				j++;
			if (j < n && p[j] == '\n')
				return j + 1;
		}
	return 0;
}

/*
 * FUZZ_BRIDGE_AVOID=pipelined-body: a known bug (the bridge spins in lws
 * rx-flow handling when a request with a body arrives pipelined behind
 * another one) would end every run at once.  In this mode the stream is cut
 * where such a second request would start, so the rest of the request path
 * keeps being fuzzed.  Returns the length to send.
 */
static size_t
avoid_pipelined_body(const uint8_t *p, size_t n)
{
	size_t		he = header_end(p, n),
				first_end;
	char		cl[24] = "";

	if (!he || !memchr(p, ' ', he))
		return n;
	first_end = he;
	for (size_t i = 0; i + 15 < he; i++)
		if ((i == 0 || p[i - 1] == '\n') && strncasecmp((const char *) p + i, "content-length:", 15) == 0)
		{
			size_t		j = i + 15,
						k = 0;

			while (j < he && (p[j] == ' ' || p[j] == '\t'))
				j++;
			while (j < he && k + 1 < sizeof(cl) && p[j] >= '0' && p[j] <= '9')
				cl[k++] = (char) p[j++];
			cl[k] = '\0';
			break;
		}
	if (cl[0])
	{
		unsigned long long b = strtoull(cl, NULL, 10);

		first_end = b > n - he ? n : he + (size_t) b;
	}
	if (first_end < n &&
		(has_header(p + first_end, n - first_end, "content-length") ||
		 has_header(p + first_end, n - first_end, "transfer-encoding")))
		return first_end;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		mode;
	uint8_t    *stream;
	size_t	   *cuts;
	size_t		n = 0,
				ncuts = 0,
				sent = 0;
	int			fd;
	char		head[256];

	if (size < 1)
		return 0;
	remember(data, size);
	mode = data[0];

	/* the bytes to send, and where each write() ends */
	stream = malloc(size);
	cuts = malloc(sizeof(size_t) * (size + 1));
	if (!stream || !cuts)
		abort();
	for (size_t i = 1; i < size; i++)
	{
		if ((mode & 1) && data[i] == 0xFE)
		{
			cuts[ncuts++] = n;
			continue;
		}
		stream[n++] = data[i];
		if ((mode & 3) == 2 && n % ((size_t) ((mode >> 4) & 7) + 1) == 0)
			cuts[ncuts++] = n;
	}
	if (avoid_pipelined)
		n = avoid_pipelined_body(stream, n);
	cuts[ncuts++] = n;

	fd = dial_port(mode & 0x80 ? dport : port);
	if (fd < 0)
	{
		free(stream);
		free(cuts);
		check_bridge();
		return 0;
	}
	for (size_t c = 0; c < ncuts && sent < n; c++)
	{
		size_t		upto = cuts[c] < n ? cuts[c] : n;

		if (upto <= sent)
			continue;
		write_all(fd, stream + sent, upto - sent);
		sent = upto;
		if ((mode & 3) == 3 && sent < n && c < 20)
			usleep(1000);		/* at most 20 pauses: keep exec/s up */
	}
	free(stream);
	free(cuts);
	if (!(mode & 4))
		shutdown(fd, SHUT_WR);
	{
		uint64_t	t0 = mono_ms();
		size_t		got = read_reply(fd, head, sizeof(head), QUIET_MS, READ_BOUND_MS);

		if (show)
			fprintf(stderr, "==fuzz_bridge== mode %02x, %zu bytes in %d ms: %.*s\n", mode, got,
					(int) (mono_ms() - t0), (int) strcspn(head, "\r\n"), head);
	}
	if (mode & 8)
	{
		struct linger l = {1, 0};

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	close(fd);

	inputs++;
	check_alive();
	if (inputs % (unsigned long) check_every == 0)
		check_bridge();
	return 0;
}
