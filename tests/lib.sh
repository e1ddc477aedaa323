# TAP helpers for shell tests (sourced).  Each test script prints TAP.
# Paths: $TOP (repository), $BIN (programs), $BUILD (build folder), $TB (built test helpers),
# $TMPD (a scratch folder removed at exit).
TOP=$(cd "$(dirname "$0")/../.." && pwd)
case "${BINDIR:-bin}" in /*) BIN=${BINDIR} ;; *) BIN=$TOP/${BINDIR:-bin} ;; esac
case "${B:-build}" in /*) BUILD=$B ;; *) BUILD=$TOP/${B:-build} ;; esac
TB=$BUILD/tests
_tap_n=0
_tap_fail=0
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/samepage-test.XXXXXX")
_tap_cleanup_hooks=""
at_exit() { _tap_cleanup_hooks="$1; $_tap_cleanup_hooks"; }
_tap_exit() {
	rc=$?
	eval "$_tap_cleanup_hooks" 2>/dev/null || true
	rm -rf "$TMPD"
	exit $rc
}
trap _tap_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() { # ok COND-EXIT-STATUS DESCRIPTION
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2"; else
		echo "not ok $_tap_n - $2"; _tap_fail=$((_tap_fail + 1)); fi
}
is() { # is GOT WANT DESCRIPTION
	_tap_n=$((_tap_n + 1))
	if [ "$1" = "$2" ]; then echo "ok $_tap_n - $3"; else
		echo "not ok $_tap_n - $3"; echo "#   got '$1', want '$2'"
		_tap_fail=$((_tap_fail + 1)); fi
}
like() { # like TEXT REGEX DESCRIPTION
	_tap_n=$((_tap_n + 1))
	if printf '%s' "$1" | grep -Eq -- "$2"; then echo "ok $_tap_n - $3"; else
		echo "not ok $_tap_n - $3"; echo "#   '$1' does not match /$2/"
		_tap_fail=$((_tap_fail + 1)); fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
done_testing() { echo "1..$_tap_n"; [ "$_tap_fail" -eq 0 ]; }

# Serialise tests that change or depend on host KSM state (one KSM per host).
ksm_lock() {
	exec 9>"${TMPDIR:-/tmp}/samepage-ksm.lock"
	flock 9
}

# KSM knobs: save every one that exists, restore them all (unmerging first,
# since max_page_sharing can only change while nothing is merged).
KSM=/sys/kernel/mm/ksm
KSM_KNOBS="pages_to_scan sleep_millisecs max_page_sharing merge_across_nodes use_zero_pages smart_scan
 advisor_mode advisor_max_cpu advisor_min_pages_to_scan advisor_max_pages_to_scan advisor_target_scan_time
 stable_node_chains_prune_millisecs run"
ksm_knob() { # current value (advisor_mode prints "[none] scan-time")
	sed 's/.*\[\(.*\)\].*/\1/' "$KSM/$1"
}
ksm_save() {
	: > "$TMPD/ksm.saved"
	for k in $KSM_KNOBS; do
		[ -e "$KSM/$k" ] && echo "$k $(ksm_knob "$k")" >> "$TMPD/ksm.saved"
	done
	at_exit ksm_restore
}
ksm_restore() {
	[ -f "$TMPD/ksm.saved" ] || return 0
	echo 2 > "$KSM/run" 2>/dev/null
	while read -r k v; do
		[ "$k" = run ] && continue
		[ "$(ksm_knob "$k")" = "$v" ] || echo "$v" > "$KSM/$k" 2>/dev/null
	done < "$TMPD/ksm.saved"
	echo "$(sed -n 's/^run //p' "$TMPD/ksm.saved")" > "$KSM/run"
	rm -f "$TMPD/ksm.saved"
}
ksm_set() { echo "$2" > "$KSM/$1"; }

# Something of the project's own is missing (not built): that is a failure,
# never a skip.
bail() { _tap_n=$((_tap_n + 1)); echo "not ok $_tap_n - $*"; echo "1..$_tap_n"; exit 1; }

# need CMD...: tools that scripts/packages lists (scripts/deps installs them).
# One missing means the machine was not set up: a failure, never a skip.
# Skips (skip_all) are only for what the machine itself lacks (no KSM in
# the kernel, no root, daemons that cannot run here), and say which.
need() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 ||
			bail "$_c is missing: scripts/deps installs it (listed in scripts/packages)"
	done
}
