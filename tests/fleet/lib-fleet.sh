# Helpers of the dedup-analyze-mpi tests (sourced after tests/lib.sh).
DA=$BIN/dedup-analyze
DM=$BIN/dedup-analyze-mpi
need python3
# dedup-analyze-mpi is built only where Open MPI is installed (scripts/packages
# lists it; scripts/deps installs it)
command -v mpirun >/dev/null 2>&1 || skip_all "Open MPI is not installed (openmpi-bin: scripts/deps)"
if [ ! -x "$DM" ]; then
	pkg-config --exists ompi-c 2>/dev/null || command -v mpicc >/dev/null 2>&1 ||
		skip_all "Open MPI's development files are not installed (libopenmpi-dev: scripts/deps)"
	bail "$DM was not built although Open MPI is installed (make)"
fi
# In a sanitizer build no leak check on the ranks: Open MPI's components keep
# memory until exit and are unloaded before LeakSanitizer looks, so their
# leaks cannot be told apart (none is in samepage's code; dedup-analyze's
# tests check the libraries for leaks).  Address and undefined-behaviour
# checks stay on.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# In a thread-sanitizer build, Open MPI's transport is left out of the lock
# order checks (tsan-openmpi.supp says why); samepage's threads stay checked.
TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}suppressions=$TOP/tests/fleet/tsan-openmpi.supp"
export ASAN_OPTIONS TSAN_OPTIONS
# mpirun refuses root unless told; more ranks than cores need --oversubscribe
MPIRUN="mpirun --oversubscribe"
[ "$(id -u)" -eq 0 ] && MPIRUN="$MPIRUN --allow-run-as-root"
# mpi N ARGS...: dedup-analyze-mpi on N ranks of this host
mpi() { _n=$1; shift; $MPIRUN -n "$_n" "$DM" "$@"; }

# same A B DESCRIPTION: two JSON reports equal field for field (timings aside)
same() {
	_r=$(python3 "$TOP/tests/fleet/same.py" "$1" "$2" 2>&1)
	like "$_r" '^same \([1-9][0-9]* fields\)' "$3 ($_r)"
}
# same_text A B DESCRIPTION: two text or CSV reports equal byte for byte
same_text() {
	cmp -s "$1" "$2"
	_rc=$?
	[ $_rc -eq 0 ] || diff "$1" "$2" | head -10 | sed 's/^/#   /'
	ok $_rc "$3"
}
# j FILE EXPR: a value from a JSON file
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
