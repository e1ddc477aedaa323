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
