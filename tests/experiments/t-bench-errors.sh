#!/bin/sh
# Benchmark scenarios: mistakes are rejected with file, line and what is
# wrong before anything starts (exit 2); a benchmark whose output has no
# result line ends the run (exit 1) with its raw output shown, nothing
# recorded as a result, and the host as it was (KSM knobs, no guest).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"

base='name b
image debian
guests 2'
bad unknown-bench 4 "unknown benchmark 'dbench' \\(ab, bzip2-9, compile, dd-read" "$base
bench dbench time=3"
bad bench-and-run 4 "a benchmark scenario has no 'run' or 'dumps' lines" "$base
run a idle
bench sysbench-cpu"
bad tiny-image 2 "benchmarks need 'image debian'" "name b
image tiny
bench sysbench-cpu"
bad one-repeat 5 "repeats 1 is below 2" "$base
bench sysbench-cpu
repeats 1"
bad bad-mode 5 "ksm-modes 'on maybe': off, on or both" "$base
bench sysbench-cpu
ksm-modes on maybe"
bad bad-arg 4 "bench sysbench-cpu: argument 'time=3;reboot' may hold" "$base
bench sysbench-cpu time=3;reboot"
bad twice 5 "bench 'bzip2-9 size=2' given twice" "$base
bench bzip2-9 size=2
bench bzip2-9 size=2"
bad scale-order 5 "scale '4 2': guest counts must be increasing" "$base
bench sysbench-cpu
scale 4 2"
bad scale-small 6 "1024 MiB split between 8 guests is 128 MiB each; a Debian guest needs 256 MiB" "$base
bench sysbench-cpu
scale 1 2 8
scale-memory 1G"
bad scale-ksm-alone 5 "'scale-ksm' without a 'scale' line" "$base
bench sysbench-cpu
scale-ksm on"
bad isolation-one 4 "the isolation phase needs 2 guests" "name b
image debian
bench sysbench-cpu
isolation cpu"
bad isolation-stress 5 "isolation 'cpu bomb': stress loads memory, fork, cpu, disk, network, each once" "$base
bench sysbench-cpu
isolation cpu bomb"
bad client-target 4 "bench ab: target= is the runner's" "$base
bench ab target=127.0.0.1:80"
bad serve-helper 4 "unknown benchmark 'serve'" "$base
bench serve what=http"
out=$("$EXP" --check "$TOP/experiments/bench-quick.scenario" 2>&1)
is "$?" 0 "bench-quick.scenario is valid ($out)"

# a benchmark whose output cannot be parsed: the native run fails before
# any guest boots
exp_needs
mkdir -p "$TMPD/bench"
cp "$TOP"/scripts/benchmarks/* "$TMPD/bench/"
printf '#!/bin/sh\necho "sysbench 1.0: threads 1"\necho "events per second: many"\n' > "$TMPD/bench/sysbench-cpu"
chmod +x "$TMPD/bench/sysbench-cpu"
printf 'name bench-broken\nimage debian\nguests 1\nrepeats 2\nbench sysbench-cpu time=1\n' > "$TMPD/broken.scenario"
exp_take
SAMEPAGE_BENCH_DIR=$TMPD/bench "$EXP" "$TMPD/broken.scenario" -o "$TMPD/out" -q 2> "$TMPD/err" &
xpid=$!
wait $xpid
is "$?" 1 "an unparsable benchmark output fails the run (exit 1)"
like "$(cat "$TMPD/err")" "native sysbench-cpu time=1: no result line in the output; raw output:" "the failure names the benchmark"
grep -q '^  | events per second: many$' "$TMPD/err"
ok $? "the raw output is shown"
is "$(wc -l < "$TMPD/out/bench-runs.csv")" 1 "no result recorded (only the CSV header)"
host_clean "$xpid" "$TMPD/knobs.before" "after the failed run" "$TMPD/out/events.log" sp-bench-broken-
grep -q 'booting' "$TMPD/out/events.log"
is "$?" 1 "no guest was booted"
done_testing
