# Helpers for the experiment tests; source after tests/lib.sh.
. "$TOP/tests/collectors/lib-ksm.sh"   # num_le, csv_col
EXP=$TOP/scripts/experiment
LVSTATE=${SAMEPAGE_LIBVIRT_STATE:-/tmp/samepage-libvirt}

# json FILE EXPR: a value from a JSON file (EXPR in Python, the data is d)
json() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

exp_needs() { # skip when the machine lacks what the runner needs
	[ -w /sys/kernel/mm/ksm/run ] || skip_all "no writable /sys/kernel/mm/ksm (kernel without KSM, or not root)"
	command -v qemu-system-x86_64 > /dev/null || skip_all "qemu-system-x86_64 is not installed"
	command -v libvirtd > /dev/null || skip_all "libvirtd is not installed"
	command -v gnuplot > /dev/null || skip_all "gnuplot is not installed"
	[ -x "$BIN/dedup-analyze" ] && [ -x "$BIN/ksm-sample" ] || bail "programs not built (make)"
}

knobs_now() { for k in $KSM_KNOBS; do [ -e "$KSM/$k" ] && echo "$k $(ksm_knob "$k")"; done; }

# exp_take: hold the KSM lock for the rest of the test (the runner is told)
# and keep every knob's value in $TMPD/knobs.before for host_clean
exp_take() {
	ksm_lock
	export SAMEPAGE_KSM_LOCKED=1
	knobs_now > "$TMPD/knobs.before"
}

# exp_run WHAT SCENARIO OUTDIR [OPTION...]: the runner on SCENARIO, quiet,
# its standard error in $TMPD/err; sets $rc (its exit status) and $xpid
# (its PID, for host_clean) and prints how long it took
exp_run() {
	_what=$1 _sc=$2 _out=$3
	shift 3
	_t0=$(date +%s)
	"$EXP" "$_sc" -o "$_out" "$@" -q 2> "$TMPD/err" &
	xpid=$!
	wait $xpid
	rc=$?
	echo "# $_what: $(( $(date +%s) - _t0 )) s"
}

# host_clean PID BEFORE-KNOBS WHAT EVENTS-LOG [GUEST-PREFIX]: the checks
# after every run of the runner (guest names start with GUEST-PREFIX,
# default sp-quick-)
host_clean() {
	_pid=$1 _before=$2 _what=$3 _pre=${5:-sp-quick-}
	_left=$(virsh -q -c qemu:///system list --all --name 2>/dev/null | grep -c "^$_pre" || true)
	is "$_left" 0 "$_what: no guest of the run is defined or running"
	_own=0
	[ -e "$LVSTATE/users/$_pid" ] && _own=1
	[ -n "$(ls "$LVSTATE/guests" 2>/dev/null | grep "^$_pre" || true)" ] && _own=1
	is "$_own" 0 "$_what: the runner is no libvirt user any more and left no guest files"
	_daemon_ok=0
	if [ -f "$LVSTATE/started/libvirtd.pid" ] && [ -z "$(ls -A "$LVSTATE/users" 2>/dev/null)" ]; then _daemon_ok=1; fi
	is "$_daemon_ok" 0 "$_what: a libvirtd started for the run is stopped (or still used by others)"
	knobs_now > "$TMPD/knobs.after"
	diff "$_before" "$TMPD/knobs.after" > "$TMPD/knobs.diff"
	ok $? "$_what: every KSM knob equals its value before$(sed 's/^/ /' "$TMPD/knobs.diff" | tr '\n' ';')"
	_kspid=$(sed -n 's/.*ksm-sample started (pid \([0-9]*\)).*/\1/p' "$4" 2>/dev/null | tail -n 1)
	_alive=0
	[ -n "$_kspid" ] && kill -0 "$_kspid" 2>/dev/null && _alive=1
	is "$_alive" 0 "$_what: ksm-sample (pid ${_kspid:-none}) is not left running"
}

# bad NAME EXPECTED-LINE REGEX CONTENT: a scenario file with a mistake is
# refused with exit 2, naming the file, the line and what is wrong, and
# starts nothing
bad() { # NAME EXPECTED-LINE REGEX CONTENT
	printf '%s\n' "$4" > "$TMPD/$1.scenario"
	out=$("$EXP" "$TMPD/$1.scenario" -o "$TMPD/out-$1" 2>&1)
	rc=$?
	is "$rc" 2 "$1: exit status 2"
	like "$out" "^experiment: $TMPD/$1.scenario:$2: $3" "$1: file, line and what is wrong ($out)"
	[ ! -e "$TMPD/out-$1" ]
	ok $? "$1: nothing started (no output folder)"
}
