/*
 * bridge_supervisor.c: the embedded bridge.
 *
 * With shared_preload_libraries = 'pgcall', _PG_init registers one small
 * background worker, the supervisor.  It runs the installed pgcall-bridge
 * binary (PostgreSQL's bindir) as its own process, in its own session: the
 * bridge is the supervisor's child, not the postmaster's, so when it crashes
 * the postmaster sees nothing, restarts no backend and drops no session.
 * Every PostgreSQL 15 background worker has shared memory access
 * (SanityCheckBackgroundWorker refuses one without BGWORKER_SHMEM_ACCESS),
 * and the postmaster treats a worker that dies by a signal or with an exit
 * code other than 0 or 1 as a crash of the whole cluster; that is why no
 * bridge code runs in the worker itself.  docs/deployment.md weighs this
 * against the alternatives.
 *
 * The supervisor
 *   - connects to pgcall.bridge_database (as the bootstrap superuser, the
 *     only way a worker can read pgcall.secret), reads the jwt_secret there
 *     and hands it to the bridge through a pipe on descriptor 3
 *     (--jwt-secret-fd 3), so the secret is in no setting, no command line
 *     and no environment;
 *   - restarts the bridge with exponential backoff when it dies (250 ms,
 *     doubling up to 30 s; back to 250 ms once a bridge ran 30 s);
 *   - on SIGTERM (pg_ctl stop) forwards SIGTERM and waits for the bridge's
 *     own graceful shutdown (close 1001, requests in flight finished within
 *     --shutdown-grace) and a margin, then SIGKILLs it; it does the same as
 *     soon as postmaster.pid says "stopping", for a smart shutdown waits for
 *     the bridge's sessions before it signals any worker;
 *   - on SIGHUP (reload) restarts the bridge gracefully when its command
 *     line changed (the bridge has no live-reloadable option), stops it when
 *     pgcall.bridge_enabled turns off, and exits to be started again on the
 *     new database when pgcall.bridge_database changed; a changed
 *     jwt_secret, noticed on reload and every 10 s, also restarts the bridge.
 *
 * The bridge logs in over this cluster's first Unix socket directory as
 * pgcall.bridge_user (the authenticator role: a member of pgcall_authn,
 * pgcall_bridge and the roles JWTs may name, see docs/security.md).
 *
 * One bridge per cluster: pgcall.bridge_database names one database, and a
 * list is refused.  More databases or more bridges run standalone daemons.
 *
 * Size: a little over 800 lines: one background worker's life (start,
 * secret, child, backoff, signals, shutdown), whose parts share the
 * child's state and the signal flags; kept in one file.
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pidfile.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pgcall.h"

PGDLLEXPORT void pgcall_bridge_supervisor_main(Datum arg);

extern char **environ;

/* Settings (all reloadable). */
static bool bridge_enabled = true;
static char *bridge_database = NULL;
static char *bridge_listen = NULL;
static int	bridge_port = 3000;
static char *bridge_user = NULL;
static char *bridge_options = NULL;

#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		30000
#define STABLE_MS			30000	/* a bridge that ran this long resets the backoff */
#define SECRET_POLL_MS		10000
#define STOP_MARGIN_MS		5000	/* waited beyond the bridge's own grace */
#define DEFAULT_GRACE_MS	10000	/* the bridge's --shutdown-grace default */
#define STOPPING_POLL_MS	1000	/* how often postmaster.pid is read */

/* Options that other settings (or the supervisor) own. */
static const char *const owned_options[] = {
	"--db", "--jwt-secret-file", "--jwt-secret-fd", "--listen", "--port", "--help", "--version",
};

/*
 * Split pgcall.bridge_options into words: blanks separate, '...' and "..."
 * group (no escapes).  Returns NULL and sets *err on an open quote.
 */
static List *
split_options(const char *s, const char **err)
{
	List	   *words = NIL;
	StringInfoData w;

	*err = NULL;
	if (s == NULL)
		return NIL;
	initStringInfo(&w);
	while (*s)
	{
		bool		have = false;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		resetStringInfo(&w);
		while (*s && *s != ' ' && *s != '\t' && *s != '\n')
		{
			if (*s == '\'' || *s == '"')
			{
				char		q = *s++;

				while (*s && *s != q)
					appendStringInfoChar(&w, *s++);
				if (*s != q)
				{
					*err = "has a quote that is not closed";
					return NIL;
				}
				s++;
			}
			else
				appendStringInfoChar(&w, *s++);
			have = true;
		}
		if (have)
			words = lappend(words, pstrdup(w.data));
	}
	return words;
}

static bool
check_bridge_options(char **newval, void **extra, GucSource source)
{
	const char *err;
	List	   *words = split_options(*newval, &err);
	ListCell   *lc;

	if (err)
	{
		GUC_check_errcode(ERRCODE_PGCALL_INVALID_SETTING);
		GUC_check_errmsg("pgcall.bridge_options %s", err);
		return false;
	}
	foreach(lc, words)
	{
		const char *word = lfirst(lc);

		for (int i = 0; i < lengthof(owned_options); i++)
		{
			size_t		n = strlen(owned_options[i]);

			if (strncmp(word, owned_options[i], n) == 0 && (word[n] == '\0' || word[n] == '='))
			{
				GUC_check_errcode(ERRCODE_PGCALL_INVALID_SETTING);
				GUC_check_errmsg("pgcall.bridge_options must not give %s", owned_options[i]);
				GUC_check_errdetail("The address, port, database connection and JWT secret of the embedded bridge come from pgcall.bridge_listen, pgcall.bridge_port, pgcall.bridge_database, pgcall.bridge_user and the jwt_secret in pgcall.secret.");
				return false;
			}
		}
	}
	list_free_deep(words);
	return true;
}

static bool
check_bridge_database(char **newval, void **extra, GucSource source)
{
	if (*newval && strpbrk(*newval, ", \t") != NULL)
	{
		GUC_check_errcode(ERRCODE_PGCALL_INVALID_SETTING);
		GUC_check_errmsg("pgcall.bridge_database names one database");
		GUC_check_errdetail("The embedded bridge serves one database per cluster.");
		GUC_check_errhint("Serve further databases with standalone pgcall-bridge daemons (docs/deployment.md).");
		return false;
	}
	return true;
}

void
pgcall_init_bridge(void)
{
	BackgroundWorker worker;

	DefineCustomBoolVariable("pgcall.bridge_enabled",
							 "Whether the embedded bridge runs (with shared_preload_libraries = 'pgcall').",
							 NULL, &bridge_enabled, true, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pgcall.bridge_database",
							   "Database the embedded bridge serves; empty: no embedded bridge.",
							   NULL, &bridge_database, "", PGC_SIGHUP, 0,
							   check_bridge_database, NULL, NULL);
	DefineCustomStringVariable("pgcall.bridge_listen",
							   "Address or interface the embedded bridge listens on.",
							   NULL, &bridge_listen, "127.0.0.1", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgcall.bridge_port",
							"TCP port of the embedded bridge.",
							NULL, &bridge_port, 3000, 1, 65535, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pgcall.bridge_user",
							   "Role the embedded bridge logs in as (its authenticator).",
							   "A member of pgcall_authn, pgcall_bridge and the roles JWTs may name, NOINHERIT; see docs/security.md.",
							   &bridge_user, "pgcall_authenticator", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("pgcall.bridge_options",
							   "Further pgcall-bridge options for the embedded bridge, such as --pool 16 --web-root /srv/app.",
							   "Options as on pgcall-bridge's command line (see pgcall-bridge --help); '...' and \"...\" group words.",
							   &bridge_options, "", PGC_SIGHUP, 0, check_bridge_options, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "pgcall");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "pgcall_bridge_supervisor_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "pgcall bridge supervisor");
	snprintf(worker.bgw_type, BGW_MAXLEN, "pgcall bridge supervisor");
	RegisterBackgroundWorker(&worker);
}

/* ------------------------------------------------------------ the worker */

static volatile sig_atomic_t got_sigterm = false;
static volatile sig_atomic_t got_sigchld = false;

static pid_t child_pid = 0;
static TimestampTz child_started = 0;
static char *child_signature = NULL;	/* its command line, joined */
static unsigned char child_secret_sum[SHA256_DIGEST_LENGTH];
static int	child_grace_ms = DEFAULT_GRACE_MS;	/* its --shutdown-grace */
static int	backoff_ms = BACKOFF_MIN_MS;
static TimestampTz next_start = 0;
static bool connected = false;
static bool said_waiting = false;

static void
on_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigterm = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

static void
on_sigchld(SIGNAL_ARGS)
{
	int			save_errno = errno;

	got_sigchld = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Whatever ends the supervisor ends the bridge (it also has PDEATHSIG). */
static void
kill_child_at_exit(int code, Datum arg)
{
	if (child_pid > 0)
		kill(child_pid, SIGTERM);
}

typedef enum SecretState
{
	SECRET_OK, SECRET_NO_EXTENSION, SECRET_UNSET
} SecretState;

static SecretState
read_secret(char *buf, size_t size)
{
	SecretState st;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!OidIsValid(get_extension_oid("pgcall", true)))
		st = SECRET_NO_EXTENSION;
	else
		st = pgcall_secret_copy(PGCALL_SECRET_JWT, buf, size) ? SECRET_OK : SECRET_UNSET;
	PopActiveSnapshot();
	CommitTransactionCommand();
	return st;
}

/*
 * Whether the server is shutting down, from the status line of
 * postmaster.pid (what pg_ctl reads).  A smart shutdown signals background
 * workers only once every client session has ended, and the bridge's own
 * sessions never end by themselves: the bridge must go first, so the
 * supervisor watches for "stopping" and stops it gracefully (requests in
 * flight finish, sockets close with 1001).
 */
static bool
server_stopping(void)
{
	char		path[MAXPGPATH];
	char		line[256];
	FILE	   *f;
	int			n = 0;
	bool		stopping = false;

	snprintf(path, sizeof(path), "%s/postmaster.pid", DataDir);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (++n == LOCK_FILE_LINE_PM_STATUS)
		{
			stopping = strncmp(line, PM_STATUS_STOPPING, strlen(PM_STATUS_STOPPING)) == 0;
			break;
		}
	fclose(f);
	return stopping;
}

/* The bridge's --shutdown-grace, from pgcall.bridge_options or its default. */
static int
shutdown_grace_ms(List *words)
{
	ListCell   *lc;
	int			grace = DEFAULT_GRACE_MS;

	foreach(lc, words)
	{
		const char *w = lfirst(lc);
		const char *v = NULL;

		if (strncmp(w, "--shutdown-grace=", 17) == 0)
			v = w + 17;
		else if (strcmp(w, "--shutdown-grace") == 0 && lnext(words, lc))
			v = lfirst(lnext(words, lc));
		if (v)
			grace = atoi(v);
	}
	return grace < 0 ? 0 : grace;
}

/* The first Unix socket directory of this cluster, or NULL. */
static char *
socket_directory(void)
{
	const char *dirs = GetConfigOption("unix_socket_directories", false, false);
	char	   *d,
			   *comma;

	if (dirs == NULL)
		return NULL;
	while (*dirs == ' ')
		dirs++;
	d = pstrdup(dirs);
	if ((comma = strchr(d, ',')) != NULL)
		*comma = '\0';
	while (*d && d[strlen(d) - 1] == ' ')
		d[strlen(d) - 1] = '\0';
	return *d ? d : NULL;
}

/* A libpq connection-string value, quoted. */
static void
append_conn_value(StringInfo s, const char *key, const char *value)
{
	appendStringInfo(s, "%s%s='", s->len ? " " : "", key);
	for (; *value; value++)
	{
		if (*value == '\'' || *value == '\\')
			appendStringInfoChar(s, '\\');
		appendStringInfoChar(s, *value);
	}
	appendStringInfoChar(s, '\'');
}

/*
 * The bridge's command line from the settings, in CurrentMemoryContext;
 * NULL (with a log line) when they cannot make one.
 */
static char **
bridge_argv(int *grace)
{
	char		path[MAXPGPATH];
	char		port[16];
	char	   *sockdir = socket_directory();
	StringInfoData conn;
	const char *err;
	List	   *words = split_options(bridge_options, &err);
	char	  **argv;
	int			n = 0;
	ListCell   *lc;

	if (sockdir == NULL || sockdir[0] == '@')
	{
		ereport(LOG,
				(errmsg("pgcall: the embedded bridge needs a Unix socket directory"),
				 errhint("Set unix_socket_directories to a directory (not an abstract socket).")));
		return NULL;
	}
	strlcpy(path, my_exec_path, sizeof(path));
	get_parent_directory(path);
	join_path_components(path, path, "pgcall-bridge");

	initStringInfo(&conn);
	append_conn_value(&conn, "host", sockdir);
	snprintf(port, sizeof(port), "%d", PostPortNumber);
	append_conn_value(&conn, "port", port);
	append_conn_value(&conn, "dbname", bridge_database);
	append_conn_value(&conn, "user", bridge_user);
	append_conn_value(&conn, "application_name", "pgcall-bridge");

	argv = palloc0(sizeof(char *) * (12 + list_length(words)));
	argv[n++] = pstrdup(path);
	argv[n++] = "--listen";
	argv[n++] = pstrdup(bridge_listen);
	argv[n++] = "--port";
	argv[n++] = psprintf("%d", bridge_port);
	argv[n++] = "--db";
	argv[n++] = conn.data;
	argv[n++] = "--jwt-secret-fd";
	argv[n++] = "3";
	foreach(lc, words)
		argv[n++] = lfirst(lc);
	argv[n] = NULL;
	*grace = shutdown_grace_ms(words);
	return argv;
}

static char *
join_argv(char **argv)
{
	StringInfoData s;

	initStringInfo(&s);
	for (int i = 0; argv[i]; i++)
		appendStringInfo(&s, "%s%s", i ? " " : "", argv[i]);
	return s.data;
}

/* Log how the bridge ended and schedule its next start. */
static void
child_ended(int status)
{
	TimestampTz now = GetCurrentTimestamp();
	long		ran_ms = TimestampDifferenceMilliseconds(child_started, now);
	pid_t		pid = child_pid;

	child_pid = 0;
	if (ran_ms >= STABLE_MS)
		backoff_ms = BACKOFF_MIN_MS;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
	{
		backoff_ms = BACKOFF_MAX_MS;
		ereport(LOG,
				(errmsg("pgcall: the embedded bridge (pid %d) refused its configuration; starting it again in %d ms",
						(int) pid, backoff_ms),
				 errhint("Its message is above; correct pgcall.bridge_options or the other pgcall.bridge_* settings and reload.")));
	}
	else if (WIFSIGNALED(status))
		ereport(LOG,
				(errmsg("pgcall: the embedded bridge (pid %d) was terminated by signal %d: %s; starting it again in %d ms",
						(int) pid, WTERMSIG(status), pg_strsignal(WTERMSIG(status)), backoff_ms)));
	else
		ereport(LOG,
				(errmsg("pgcall: the embedded bridge (pid %d) exited with exit code %d; starting it again in %d ms",
						(int) pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1, backoff_ms)));
	next_start = TimestampTzPlusMilliseconds(now, backoff_ms);
	backoff_ms = Min(backoff_ms * 2, BACKOFF_MAX_MS);
	if (connected)
		pgstat_report_activity(STATE_IDLE, "pgcall-bridge not running");
}

static void
reap_children(void)
{
	int			status;
	pid_t		pid;

	got_sigchld = false;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == child_pid)
			child_ended(status);
}

/*
 * Stop the bridge gracefully: SIGTERM, then wait for its grace and a margin
 * before SIGKILL.  Does not schedule a restart.
 */
static void
stop_child(const char *why)
{
	int			grace = child_grace_ms;
	TimestampTz deadline;

	if (child_pid <= 0)
		return;
	ereport(LOG, (errmsg("pgcall: stopping the embedded bridge (pid %d): %s", (int) child_pid, why)));
	kill(child_pid, SIGTERM);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), grace + STOP_MARGIN_MS);
	while (child_pid > 0)
	{
		int			status;
		pid_t		pid = waitpid(child_pid, &status, WNOHANG);

		if (pid == child_pid)
		{
			if (WIFSIGNALED(status))
				ereport(LOG,
						(errmsg("pgcall: the embedded bridge (pid %d) stopped by signal %d: %s",
								(int) child_pid, WTERMSIG(status), pg_strsignal(WTERMSIG(status)))));
			else
				ereport(LOG,
						(errmsg("pgcall: the embedded bridge (pid %d) stopped with exit code %d",
								(int) child_pid, WEXITSTATUS(status))));
			child_pid = 0;
			break;
		}
		if (GetCurrentTimestamp() >= deadline)
		{
			ereport(LOG,
					(errmsg("pgcall: the embedded bridge (pid %d) did not stop within %d ms; killing it",
							(int) child_pid, grace + STOP_MARGIN_MS)));
			kill(child_pid, SIGKILL);
			(void) waitpid(child_pid, &status, 0);
			child_pid = 0;
			break;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH, 100,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	if (connected)
		pgstat_report_activity(STATE_IDLE, "pgcall-bridge not running");
}

/* Start the bridge with the current settings and secret. */
static void
start_child(const char *secret)
{
	char	  **argv;
	char	  **envp;
	int			grace;
	int			pfd[2];
	int			nenv = 0;
	int			devnull;
	pid_t		parent = getpid();
	pid_t		pid;
	size_t		len = strlen(secret);

	argv = bridge_argv(&grace);
	if (argv == NULL)
	{
		next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), BACKOFF_MAX_MS);
		return;
	}
	/* the environment without PGCALL_BRIDGE_*: the settings are the source */
	for (char **e = environ; *e; e++)
		nenv++;
	envp = palloc0(sizeof(char *) * (nenv + 1));
	nenv = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "PGCALL_BRIDGE_", 14) != 0)
			envp[nenv++] = *e;

	/* a pipe holds far more than PGCALL_SECRET_MAX bytes: write, then fork */
	if (pipe2(pfd, O_CLOEXEC) != 0)
	{
		ereport(LOG, (errmsg("pgcall: could not create a pipe for the embedded bridge: %m")));
		next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff_ms);
		return;
	}
	if (write(pfd[1], secret, len) != (ssize_t) len)
	{
		ereport(LOG, (errmsg("pgcall: could not pass the JWT secret to the embedded bridge: %m")));
		close(pfd[0]);
		close(pfd[1]);
		next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff_ms);
		return;
	}
	close(pfd[1]);
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);

	fflush(NULL);
	pid = fork();
	if (pid == 0)
	{
		/* async-signal-safe calls only, and _exit: no PostgreSQL exit hooks */
		sigset_t	none;
		struct sigaction dfl;

		if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
			_exit(1);
		/* its own session: the postmaster signals its children's groups */
		(void) setsid();
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (int s = 1; s < NSIG; s++)
			(void) sigaction(s, &dfl, NULL);
		sigemptyset(&none);
		(void) sigprocmask(SIG_SETMASK, &none, NULL);
		if (devnull >= 0)
			(void) dup2(devnull, 0);
		if (pfd[0] != 3)
		{
			if (dup2(pfd[0], 3) != 3)
				_exit(1);
		}
		else
			(void) fcntl(3, F_SETFD, 0);
		if (close_range(4, ~0U, 0) != 0)
			for (int fd = 4; fd < 65536; fd++)
				(void) close(fd);
		execve(argv[0], argv, envp);
		{
			static const char msg[] = "pgcall: could not execute the embedded bridge (is pgcall-bridge installed in PostgreSQL's bindir? run make install)\n";

			if (write(2, msg, sizeof(msg) - 1) < 0)
				_exit(2);
		}
		_exit(2);
	}
	close(pfd[0]);
	if (devnull >= 0)
		close(devnull);
	if (pid < 0)
	{
		ereport(LOG, (errmsg("pgcall: could not fork the embedded bridge: %m")));
		next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff_ms);
		return;
	}
	child_pid = pid;
	child_grace_ms = grace;
	child_started = GetCurrentTimestamp();
	if (child_signature)
		pfree(child_signature);
	child_signature = MemoryContextStrdup(TopMemoryContext, join_argv(argv));
	SHA256((const unsigned char *) secret, len, child_secret_sum);
	ereport(LOG,
			(errmsg("pgcall: started the embedded bridge (pid %d) on %s port %d for database \"%s\"",
					(int) pid, bridge_listen, bridge_port, bridge_database)));
	pgstat_report_activity(STATE_RUNNING,
						   psprintf("pgcall-bridge pid %d on %s port %d", (int) pid, bridge_listen,
									bridge_port));
}

/* Whether the jwt_secret differs from the one the running bridge got. */
static bool
secret_changed(void)
{
	char		buf[PGCALL_SECRET_MAX + 1];
	unsigned char sum[SHA256_DIGEST_LENGTH];
	bool		changed;

	if (read_secret(buf, sizeof(buf)) != SECRET_OK)
		return true;
	SHA256((const unsigned char *) buf, strlen(buf), sum);
	explicit_bzero(buf, sizeof(buf));
	changed = memcmp(sum, child_secret_sum, sizeof(sum)) != 0;
	return changed;
}

void
pgcall_bridge_supervisor_main(Datum arg)
{
	char	   *database;
	TimestampTz next_secret_check = 0;
	MemoryContext loop_cxt;
	bool		stopping = false;

	pqsignal(SIGTERM, on_sigterm);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGCHLD, on_sigchld);
	BackgroundWorkerUnblockSignals();
	on_proc_exit(kill_child_at_exit, (Datum) 0);

	database = pstrdup(bridge_database ? bridge_database : "");
	if (database[0] == '\0')
	{
		ereport(LOG,
				(errmsg("pgcall: pgcall.bridge_database is empty: the embedded bridge is off"),
				 errhint("Set pgcall.bridge_database to the database the bridge serves and reload.")));
		for (;;)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			if (got_sigterm)
				proc_exit(1);
			if (ConfigReloadPending)
			{
				ConfigReloadPending = false;
				ProcessConfigFile(PGC_SIGHUP);
				if (bridge_database && bridge_database[0])
					proc_exit(1);	/* the postmaster starts us again, connected */
			}
		}
	}
	BackgroundWorkerInitializeConnection(database, NULL, 0);
	connected = true;
	pgstat_report_appname("pgcall bridge supervisor");
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pgcall bridge supervisor",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		TimestampTz now;
		long		timeout = SECRET_POLL_MS;
		bool		reloaded = false;

		MemoryContextReset(loop_cxt);
		MemoryContextSwitchTo(loop_cxt);
		if (got_sigchld)
			reap_children();
		if (got_sigterm)
		{
			/* exit 1: after pg_terminate_backend the postmaster starts us again */
			stop_child("the supervisor received SIGTERM");
			proc_exit(1);
		}
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			reloaded = true;
			if (strcmp(database, bridge_database) != 0)
			{
				stop_child("pgcall.bridge_database changed");
				ereport(LOG, (errmsg("pgcall: pgcall.bridge_database changed: the supervisor starts again")));
				proc_exit(1);
			}
			if (!bridge_enabled)
			{
				if (child_pid > 0)
					stop_child("pgcall.bridge_enabled is off");
				said_waiting = false;
			}
			else if (child_pid > 0)
			{
				int			grace;
				char	  **argv = bridge_argv(&grace);

				if (argv == NULL || strcmp(join_argv(argv), child_signature) != 0)
				{
					stop_child("its settings changed");
					next_start = 0;
					backoff_ms = BACKOFF_MIN_MS;
				}
			}
			else
			{
				/* settings fixed: try again now */
				next_start = 0;
				said_waiting = false;
			}
		}
		if (!stopping && server_stopping())
		{
			stopping = true;
			stop_child("the server is shutting down");
		}
		now = GetCurrentTimestamp();
		if (child_pid > 0 && (reloaded || now >= next_secret_check))
		{
			next_secret_check = TimestampTzPlusMilliseconds(now, SECRET_POLL_MS);
			if (secret_changed())
			{
				stop_child("its JWT secret changed");
				next_start = 0;
			}
		}
		if (child_pid == 0 && bridge_enabled && !stopping && now >= next_start)
		{
			char		secret[PGCALL_SECRET_MAX + 1];
			SecretState st = read_secret(secret, sizeof(secret));

			if (st == SECRET_OK)
			{
				said_waiting = false;
				start_child(secret);
				next_secret_check = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), SECRET_POLL_MS);
			}
			else
			{
				if (!said_waiting)
					ereport(LOG,
							(errmsg("pgcall: the embedded bridge waits for %s in database \"%s\"",
									st == SECRET_NO_EXTENSION ? "the pgcall extension" : "its JWT secret",
									database),
							 errhint(st == SECRET_NO_EXTENSION ? "Run CREATE EXTENSION pgcall there." :
									 "As a superuser, run SELECT pgcall.set_secret_from_file('jwt_secret', '/path/to/file') (at least 32 bytes).")));
				said_waiting = true;
				next_start = TimestampTzPlusMilliseconds(now, 1000);
			}
			explicit_bzero(secret, sizeof(secret));
		}
		now = GetCurrentTimestamp();
		if (child_pid == 0 && bridge_enabled)
			timeout = Max(0, Min(timeout, TimestampDifferenceMilliseconds(now, next_start)));
		if (!stopping)
			timeout = Min(timeout, STOPPING_POLL_MS);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH, timeout,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (!PostmasterIsAlive())
		{
			if (child_pid > 0)
				kill(child_pid, SIGTERM);
			proc_exit(1);
		}
		CHECK_FOR_INTERRUPTS();
	}
}
