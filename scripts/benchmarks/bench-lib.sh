# bench-lib.sh — what every benchmark script shares (sourced, POSIX sh).
# The scripts run the same way inside a Debian guest (installed in
# /usr/local/lib/samepage/bench) and natively on the host, and print one
# result line (docs/benchmarks.md):
#   samepage-bench: metric=NAME value=NUMBER unit=UNIT better=higher|lower
# Arguments are KEY=VALUE; files go to $SAMEPAGE_BENCH_TMP (default
# /var/tmp/samepage-bench), which also caches generated input files.
set -eu
export LC_ALL=C
BENCH=$(basename "$0")

bench_fail() { echo "$BENCH: $*" >&2; exit 1; }

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
