# bench-lib.sh — what every benchmark script shares (sourced, POSIX sh).
# The scripts run the same way inside a Debian guest (installed in
# /usr/local/lib/samepage/bench) and natively on the host, and print one
# result line (docs/benchmarks.md):
#   samepage-bench: metric=NAME value=NUMBER unit=UNIT better=higher|lower
# Arguments are KEY=VALUE; files go to $SAMEPAGE_BENCH_TMP (default
# /var/tmp/samepage-bench), which also caches generated input files.
# Exit status: 0 a result, 1 the benchmark failed, 2 bad arguments, 3 it
# cannot run here (a program or server it needs is missing).
set -eu
export LC_ALL=C
BENCH=$(basename "$0")

bench_fail() { echo "$BENCH: $*" >&2; exit 1; }
bench_missing() { echo "$BENCH: not available here: $*" >&2; exit 3; }

# bench_at_exit CMD: run CMD when the script ends (in reverse order)
bench_cleanup=:
bench_at_exit() { bench_cleanup="$1; $bench_cleanup"; }
trap 'eval "$bench_cleanup"' EXIT
trap 'exit 130' INT TERM

# bench_args "KNOWN KEYS" "$@": every KEY=VALUE becomes $arg_KEY; an unknown
# key or a word without '=' is a usage error (exit 2)
bench_args() {
	_known=$1; shift
	for _a in "$@"; do
		_k=${_a%%=*}
		case "$_a" in *=*) ;; *) echo "$BENCH: '$_a' is not KEY=VALUE" >&2; exit 2 ;; esac
		case " $_known " in *" $_k "*) ;; *) echo "$BENCH: unknown argument '$_k' (known: $_known)" >&2; exit 2 ;; esac
		eval "arg_$_k=\${_a#*=}"
	done
}

# bench_uint NAME VALUE: VALUE must be a positive whole number
bench_uint() {
	case "$2" in ''|*[!0-9]*|0) echo "$BENCH: $1 '$2' is not a positive whole number" >&2; exit 2 ;; esac
}

# bench_result METRIC VALUE UNIT higher|lower: the one result line
bench_result() {
	case "$2" in
	''|*[!0-9.]*|*.*.*|.) bench_fail "no number for $1 (got '$2')" ;;
	esac
	awk -v v="$2" 'BEGIN { exit !(v > 0) }' || bench_fail "$1 is $2: no work was measured"
	echo "samepage-bench: metric=$1 value=$2 unit=$3 better=$4"
}

# bench_dir: the folder for the benchmark's files (created)
bench_dir() {
	_d=${SAMEPAGE_BENCH_TMP:-/var/tmp/samepage-bench}
	mkdir -p "$_d"
	echo "$_d"
}

# bench_now: seconds since the epoch with nanoseconds (GNU date)
bench_now() { date +%s.%N; }

# bench_secs T0 T1: T1 - T0 with 6 decimals
bench_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", b - a }'; }

# bench_field FILE REGEX: the number after REGEX on the first line that has it
bench_field() {
	sed -n "s/.*$2[[:space:]]*\([0-9][0-9]*\(\.[0-9]*\)\{0,1\}\).*/\1/p" "$1" | head -n 1
}

# bench_mariadb: a MariaDB server for the benchmark, its socket in
# $bench_sock: the running one when its default socket answers (the guest's),
# else a private server (mariadbd of Debian's mariadb-server-core, no
# service) in a new folder of the benchmark folder, stopped by its PID and
# removed when the script ends
bench_mariadb() {
	command -v mysqladmin > /dev/null || bench_missing "mysqladmin (Debian package mariadb-client)"
	bench_sock=$(mysqladmin --silent variables 2>/dev/null | awk '$1 == "socket" { print $2 }')
	[ -n "$bench_sock" ] && return 0
	_md=$(command -v mariadbd || echo /usr/sbin/mariadbd)
	[ -x "$_md" ] && command -v mariadb-install-db > /dev/null ||
		bench_missing "no MariaDB server runs and mariadbd is not installed (Debian package mariadb-server-core)"
	_mdir=$(bench_dir)/mariadb.$$
	rm -rf "$_mdir"; mkdir -p "$_mdir"
	bench_at_exit 'rm -rf "$_mdir"'
	mariadb-install-db --no-defaults --datadir="$_mdir/data" --user=root --skip-test-db > "$_mdir/install.log" 2>&1 ||
		{ cat "$_mdir/install.log"; bench_fail "mariadb-install-db failed"; }
	"$_md" --no-defaults --datadir="$_mdir/data" --socket="$_mdir/sock" --pid-file="$_mdir/pid" \
		--skip-networking --user=root --innodb-buffer-pool-size=128M > "$_mdir/server.log" 2>&1 &
	_mpid=$!
	bench_at_exit 'kill $_mpid 2>/dev/null && wait $_mpid 2>/dev/null'
	for _ in $(seq 1 120); do
		mysqladmin --socket="$_mdir/sock" --silent ping > /dev/null 2>&1 && break
		kill -0 $_mpid 2>/dev/null || { cat "$_mdir/server.log"; bench_fail "mariadbd stopped"; }
		sleep 0.5
	done
	mysqladmin --socket="$_mdir/sock" --silent ping > /dev/null 2>&1 || bench_fail "mariadbd did not answer within 60 s"
	bench_sock=$_mdir/sock
}

# ---- servers for the network benchmarks -----------------------------------
# The client scripts (ab, httperf, iperf3) run on the host.  Natively they
# start the server themselves on the loopback (bench_serve_*, stopped when
# the script ends); against a guest (target=HOST:PORT) the guest runs the
# same server, started by the "serve" script through the guest's agent.

# bench_free_port [N]: N (default 1) different TCP ports, one a line, that
# no socket uses (from /proc/net/tcp*, in any state: a client's closed
# connection in TIME_WAIT holds its port too), below the kernel's ephemeral
# range so that no client connection takes one between this check and the
# server's bind; searched from 10000 + PID % the range's size.  The one
# rule for ports on the host: the runner takes its guests' port forwards
# from here too.
bench_free_port() {
	_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	case "$_lo" in ''|*[!0-9]*) _lo=32768 ;; esac
	[ "$_lo" -gt 11000 ] || _lo=65536
	awk -v lo=10000 -v hi="$_lo" -v pid=$$ -v want="${1:-1}" '
		FNR > 1 { split($2, a, ":"); used[a[2]] = 1 }
		END { n = hi - lo; s = pid % n
		      for (i = 0; i < n && want > 0; i++) { p = lo + (s + i) % n
		          if (!(sprintf("%04X", p) in used)) { print p; want-- } } }
	' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# bench_wait_port PORT PID: until something listens on PORT (10 s); fails
# when PID (the server, 0: not known) has ended
bench_wait_port() {
	_hex=$(printf '%04X' "$1")
	for _ in $(seq 1 100); do
		awk -v h="$_hex" 'FNR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
			/proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
		[ "$2" = 0 ] || kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# bench_page KIB: the page the HTTP benchmarks fetch, KIB KiB of fixed text
bench_page() {
	awk -v n=$(($1 * 1024)) 'BEGIN {
		s = "<html><body><p>samepage benchmark page</p>\n"; t = ""
		while (length(t) < n) t = t "<p>" sprintf("%08d", length(t)) " the quick brown fox jumps over the lazy dog</p>\n"
		printf "%s", substr(s t, 1, n) }'
}

# bench_serve_http PORT KIB [ADDR]: Apache (apache2 of Debian's apache2-bin,
# its own configuration: event MPM, keep-alive on, Debian's worker limits)
# serving /bench.html (bench_page KIB) on ADDR:PORT (default all
# addresses), in the background; its files in $bench_www (a new folder in
# /tmp, readable by the user Apache serves as)
bench_serve_http() {
	_ap=$(command -v apache2 || echo /usr/sbin/apache2)
	_mods=/usr/lib/apache2/modules
	[ -x "$_ap" ] && [ -f "$_mods/mod_mpm_event.so" ] || bench_missing "apache2 (Debian package apache2-bin)"
	bench_www=$(mktemp -d /tmp/samepage-httpd.XXXXXX)
	chmod 755 "$bench_www"
	mkdir "$bench_www/www"
	bench_page "$2" > "$bench_www/www/bench.html"
	chmod -R a+rX "$bench_www/www"
	_user=nobody _group=nogroup
	getent group nogroup > /dev/null || _group=nobody
	cat > "$bench_www/httpd.conf" <<CONF
LoadModule mpm_event_module $_mods/mod_mpm_event.so
LoadModule authz_core_module $_mods/mod_authz_core.so
LoadModule mime_module $_mods/mod_mime.so
ServerName localhost
Listen ${3:+$3:}$1
User $_user
Group $_group
PidFile $bench_www/httpd.pid
ErrorLog $bench_www/error.log
DocumentRoot $bench_www/www
<Directory $bench_www/www>
	Require all granted
</Directory>
TypesConfig /dev/null
AddType text/html .html
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
StartServers 2
MinSpareThreads 25
MaxSpareThreads 75
ThreadLimit 64
ThreadsPerChild 25
MaxRequestWorkers 150
MaxConnectionsPerChild 0
CONF
	"$_ap" -f "$bench_www/httpd.conf" -k start > "$bench_www/start.out" 2>&1 ||
		{ cat "$bench_www/start.out" "$bench_www/error.log" 2>/dev/null; rm -rf "$bench_www"; bench_fail "apache2 did not start"; }
	if ! bench_wait_port "$1" 0; then
		cat "$bench_www/error.log" 2>/dev/null
		bench_stop_http
		bench_fail "apache2 does not listen on port $1"
	fi
}

# bench_stop_http [DIR]: stop the Apache of DIR (default $bench_www) by its
# PID file and remove DIR
bench_stop_http() {
	_w=${1:-$bench_www}
	[ -n "$_w" ] && [ -d "$_w" ] || return 0
	_p=$(cat "$_w/httpd.pid" 2>/dev/null || true)
	if [ -n "$_p" ] && kill -TERM "$_p" 2>/dev/null; then
		for _ in $(seq 1 100); do kill -0 "$_p" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -rf "$_w"
}

# bench_serve_iperf3 PORT: an iperf3 server on PORT in the background
# ($bench_iperf_pid)
bench_serve_iperf3() {
	command -v iperf3 > /dev/null || bench_missing "iperf3 (Debian package iperf3)"
	iperf3 -s -p "$1" > "$(bench_dir)/iperf3-server.$$.out" 2>&1 &
	bench_iperf_pid=$!
	bench_wait_port "$1" "$bench_iperf_pid" ||
		{ cat "$(bench_dir)/iperf3-server.$$.out"; bench_fail "the iperf3 server did not start on port $1"; }
}

# bench_target "$arg_target" DEFAULT-PORT: sets bench_host and bench_port
# from HOST:PORT (a usage error when malformed)
bench_target() {
	case "$1" in
	*[!A-Za-z0-9.:-]*|:*|*:) echo "$BENCH: target '$1' is not HOST:PORT" >&2; exit 2 ;;
	*:*) bench_host=${1%:*} bench_port=${1##*:} ;;
	*) bench_host=$1 bench_port=$2 ;;
	esac
	bench_uint "target port" "$bench_port"
}
