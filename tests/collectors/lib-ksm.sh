# Helpers for the ksm-sample tests; source after tests/lib.sh.
KSM=/sys/kernel/mm/ksm
KS=$BIN/ksm-sample

# csv_col FILE NAME: column NAME of every data row, one value per line.
# Fails (status 3) when the header has no such column.  Cells must not hold
# commas (true of the host CSV and of the per-VM CSV for these names).
csv_col() {
	awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; if (!k) exit 3; next }
		{ print $k }' "$1"
}

# csv_rows FILE: number of data rows
csv_rows() { awk 'END { print NR - 1 }' "$1"; }

# ksm_norm TEXT: the selected word of a choice file ("[none] scan-time" -> none)
ksm_norm() {
	case "$1" in
	*\[*\]*) v=${1#*[}; echo "${v%%]*}" ;;
	*) echo "$1" ;;
	esac
}

# ksm_knobs [DIR]: "name=value" for every writable file (the knobs), sorted
ksm_knobs() {
	d=${1:-$KSM}
	for f in "$d"/*; do
		[ -f "$f" ] || continue
		case $(stat -c %A "$f") in
		?rw*) printf '%s=%s\n' "${f##*/}" "$(ksm_norm "$(cat "$f")")" ;;
		esac
	done
}

# ksm_guard: remember every knob now; at exit put back whatever differs, so
# a failing program under test cannot leave the host changed.
ksm_guard() {
	ksm_knobs > "$TMPD/knobs.guard"
	at_exit ksm_guard_restore
}
ksm_guard_restore() {
	[ -f "$TMPD/knobs.guard" ] || return 0
	ksm_knobs > "$TMPD/knobs.guard-now"
	cmp -s "$TMPD/knobs.guard" "$TMPD/knobs.guard-now" && return 0
	echo "# safety net: restoring KSM knobs the program left changed" >&2
	echo 2 > "$KSM/run"
	while IFS='=' read -r k v; do
		[ "$k" = run ] && continue
		[ "$(ksm_norm "$(cat "$KSM/$k")")" = "$v" ] || echo "$v" > "$KSM/$k" 2>/dev/null || true
	done < "$TMPD/knobs.guard"
	grep '^run=' "$TMPD/knobs.guard" | cut -d= -f2 > "$KSM/run"
}

# ksm_stat_of PID FIELD: one field of /proc/PID/ksm_stat
ksm_stat_of() { awk -v f="$2" '$1 == f || $1 == f ":" { print $2 }' "/proc/$1/ksm_stat" 2>/dev/null; }

# wait_until SECONDS COMMAND...: poll every 0.1 s until COMMAND succeeds
wait_until() {
	_n=$(( $1 * 10 )); shift
	while [ "$_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		_n=$((_n - 1))
	done
	return 1
}

# start_memload LOG ARGS...: memload in the background; prints its PID
start_memload() {
	_log=$1; shift
	"$BIN/memload" "$@" > "$_log" 2>&1 &
	echo $!
}

# running PID: alive and not a zombie waiting to be reaped
running() {
	_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_st" ] && [ "$_st" != Z ]
}

# kill_pids PID...: TERM, then KILL what is left; by PID only; reaps children
kill_pids() {
	for _p in "$@"; do kill -TERM "$_p" 2>/dev/null || true; done
	for _p in "$@"; do
		_n=50
		while [ $_n -gt 0 ] && running "$_p"; do sleep 0.1; _n=$((_n - 1)); done
		kill -KILL "$_p" 2>/dev/null || true
		wait "$_p" 2>/dev/null || true
	done
}

# num_le A B: A <= B (decimals)
num_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'; }

# stopped PID: the process is stopped (SIGSTOP; state T)
stopped() { [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = T ]; }

# rec_field FILE KEY: value of KEY in a KSM owner record
rec_field() { sed -n "s/^$2=//p" "$1"; }

# start_time PID: field 22 of /proc/PID/stat (the owner record's owner_start)
start_time() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f20; }

# ksm_real_begin: the preamble of a test that drives the real KSM with
# ksm-sample and memload: both built, KSM present and writable (else the
# test skips, saying why), KSM serialised with other tests and guarded.
ksm_real_begin() {
	[ -x "$KS" ] && [ -x "$BIN/memload" ] || bail "$KS or $BIN/memload not built (make)"
	[ -d "$KSM" ] || skip_all "kernel without KSM ($KSM missing)"
	[ -w "$KSM/run" ] || skip_all "$KSM not writable (needs root)"
	ksm_lock
	ksm_guard
}
