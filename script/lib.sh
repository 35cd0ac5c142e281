# Shared shell functions for script/run and script/test.
#
# Owns: the Debian packages pgcall needs, the private PostgreSQL tree under
# .run/pg (a copy of the system PostgreSQL with pgcall installed into it, so a
# checkout never touches the system's extension directory), and throwaway
# clusters under .run/<instance>.  PostgreSQL refuses to run as root, so when
# these scripts run as root every server process runs as the unprivileged
# "postgres" OS user (created by Debian's postgresql-common).
#
# Sourced, never executed; expects ROOT to be the checkout's top directory.

set -o errexit -o nounset -o pipefail

PG_MAJOR=15
PGBIN_SYS=/usr/lib/postgresql/$PG_MAJOR/bin
RUNDIR="$ROOT/.run"
PGTREE="$RUNDIR/pg"
PGBIN="$PGTREE/usr/lib/postgresql/$PG_MAJOR/bin"
PG_OS_USER=postgres

say() { printf '%s\n' "pgcall: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Packages for building and running; script/test adds its own.
RUN_PACKAGES=(make gcc pkg-config postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR
              postgresql-client-$PG_MAJOR libpq-dev libssl-dev zlib1g-dev
              libwebsockets-dev iproute2 util-linux openssl ca-certificates curl)

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages PKG...: install the ones dpkg does not report as installed.
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# node and npm: the machine's own if present, else Debian's.
ensure_node() {
	command -v node >/dev/null && command -v npm >/dev/null && return 0
	ensure_packages nodejs npm
}

# run_pg CMD...: run a command as the OS user that owns the clusters.
run_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PG_OS_USER" -- "$@"
	else
		"$@"
	fi
}

# The cluster owner must be able to reach files under the checkout; a clone in
# a mktemp directory is mode 0700, so grant search (x) on the ancestors that
# lack it, and say so.
ensure_reachable() {
	[ "$(id -u)" -eq 0 ] || return 0
	local d="$1"
	while [ "$d" != "/" ]; do
		if ! runuser -u "$PG_OS_USER" -- test -x "$d" 2>/dev/null; then
			say "granting search permission on $d so the $PG_OS_USER user can reach the checkout"
			chmod o+x "$d"
		fi
		d=$(dirname "$d")
	done
}

# build: compile everything, then install pgcall into a fresh private copy of
# the system PostgreSQL.  PostgreSQL finds its share and lib directories
# relative to its own binary, so the copy loads the extension from there.
build() {
	local jobs
	jobs=$(nproc 2>/dev/null || echo 2)
	make -C "$ROOT" -s -j"$jobs" all >/dev/null
	if [ -f "$ROOT/worker/Makefile" ]; then
		make -C "$ROOT/worker" -s -j"$jobs" >/dev/null
	fi
	rm -rf "$PGTREE.new"
	mkdir -p "$PGTREE.new/usr/lib/postgresql/$PG_MAJOR" "$PGTREE.new/usr/share/postgresql"
	cp -a "$PGBIN_SYS" "$PGTREE.new/usr/lib/postgresql/$PG_MAJOR/bin"
	cp -a "/usr/lib/postgresql/$PG_MAJOR/lib" "$PGTREE.new/usr/lib/postgresql/$PG_MAJOR/lib"
	cp -a "/usr/share/postgresql/$PG_MAJOR" "$PGTREE.new/usr/share/postgresql/$PG_MAJOR"
	# a system-wide pgcall (another tree's make install, a package) must not
	# mix with this tree's: an install script of a version this tree does not
	# have would be picked by CREATE EXTENSION and name C symbols ours lacks
	rm -rf "$PGTREE.new/usr/share/postgresql/$PG_MAJOR/extension/pgcall"[-.]* \
		"$PGTREE.new/usr/lib/postgresql/$PG_MAJOR/lib/pgcall.so" \
		"$PGTREE.new/usr/lib/postgresql/$PG_MAJOR/lib/bitcode/pgcall"*
	make -C "$ROOT" -s install DESTDIR="$PGTREE.new" >/dev/null
	rm -rf "$PGTREE"
	mv "$PGTREE.new" "$PGTREE"
	chmod -R a+rX "$PGTREE"
}

# port_free PORT: nothing listens on it (TCP or UDP) on any address.
port_free() {
	[ -z "$(ss -Htuln "sport = :$1" 2>/dev/null)" ]
}

# free_port: a random port nothing listens on.
free_port() {
	local p i
	for i in $(seq 1 200); do
		p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
		port_free "$p" && { echo "$p"; return 0; }
	done
	die "no free port found"
}

# Instance layout: .run/<name>/{data,postgres.log,port} with the socket in
# .run/<name> itself.
instance_dir() { echo "$RUNDIR/$1"; }

# pg_start NAME PORT [postgres -c settings...]: create the cluster if needed
# and start it on 127.0.0.1:PORT.
pg_start() {
	local name="$1" port="$2"; shift 2
	local dir; dir=$(instance_dir "$name")
	ensure_reachable "$ROOT"
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then chown "$PG_OS_USER:" "$dir"; fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		run_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
			--locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; die "initdb failed"; }
		cat >>"$dir/data/postgresql.conf" <<-EOF
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$dir'
		max_connections = 300
		shared_buffers = 256MB
		log_line_prefix = '%m [%p] %q%u@%d '
		EOF
	fi
	local opts="-p $port"
	local s
	for s in "$@"; do opts="$opts -c $s"; done
	echo "$port" >"$dir/port"
	if ! run_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
		-o "$opts" start >/dev/null; then
		# another process took the port between free_port and the bind
		if [ -n "${PG_START_RETRY:-}" ] && grep -q 'could not create any TCP/IP sockets' "$dir/postgres.log"; then
			return 1
		fi
		tail -n 30 "$dir/postgres.log" >&2
		die "PostgreSQL did not start (log: $dir/postgres.log)"
	fi
}

# pg_start_free NAME [settings...]: pg_start on a free port, trying another
# when the port is taken before PostgreSQL binds it (a busy machine).
pg_start_free() {
	local name="$1" i
	shift
	for i in 1 2 3 4 5; do
		PG_START_RETRY=1 pg_start "$name" "$(free_port)" "$@" && return 0
		say "the port was taken meanwhile; trying another"
	done
	die "PostgreSQL did not start on any of five free ports"
}

pg_stop() {
	local dir; dir=$(instance_dir "$1")
	[ -f "$dir/data/postmaster.pid" ] || return 0
	run_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# pg_env NAME: export libpq variables pointing at the instance.
pg_env() {
	local dir; dir=$(instance_dir "$1")
	export PGHOST="$dir" PGPORT="$(cat "$dir/port")" PGUSER=postgres
}
