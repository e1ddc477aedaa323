#!/bin/sh
# memload: option checking, the number of writes per cycle (pages x wr,
# exact for fractions), timing, and clean exit on signals.
. "$(dirname "$0")/../lib.sh"
ML=$BIN/memload

for bad in "--wr=2" "--wr=1/0" "--wr=3/2" "--wr=abc" "--wr=-0.5" "--wr=0.5x" "--wr=" "--size=0" \
	   "--size=4097" "--size=12Q" "--interval=0" "--interval=-1" "--duration=x" "--seed=-3" "--bogus" "extra"; do
	"$ML" $bad --duration=0 > /dev/null 2> "$TMPD/err"
	is "$?" 2 "rejects $bad with exit 2"
done
like "$(cat "$TMPD/err")" "Try 'memload --help'" "usage errors point to --help"
"$ML" --help > "$TMPD/help"; is "$?" 0 "--help exits 0"
like "$(cat "$TMPD/help")" "--wr=RATE" "--help documents --wr"
like "$("$ML" --version)" "^memload \(samepage\) " "--version"

# writes per cycle: 1 MiB = 256 pages
for spec in "0:0" "1/8:32" "1/32:8" "0.5:128" "1:256" "3/7:109" "0.125:32" ".25:64"; do
	wr=${spec%%:*} want=${spec#*:}
	out=$("$ML" --size=1M --wr="$wr" --interval=0.05 --duration=0.12 --seed=7)
	like "$(echo "$out" | head -n 1)" "^memload: filled 1 MiB \(256 pages\) in [0-9.]+ s; wr=$wr: $want writes every 0.05 s; seed 7\$" \
	     "wr=$wr: $want writes per cycle"
	like "$(echo "$out" | sed -n 2p)" "^memload: cycle 1: $want writes, elapsed 0\.[0-9] s\$" "wr=$wr: cycle lines"
done
like "$("$ML" --size=2K --duration=0 2>&1)" "not a multiple of 4096" "size must be whole pages"
like "$("$ML" --size=8k --duration=0)" "filled 0 MiB \(2 pages\)" "lower-case suffixes"

# duration and cycles: interval 0.1 s for 0.55 s -> 6 cycles (0.0 .. 0.5)
out=$("$ML" --size=64K --wr=1 --interval=0.1 --duration=0.55)
n=$(echo "$out" | grep -c '^memload: cycle')
ok $([ "$n" -ge 5 ] && [ "$n" -le 7 ] && echo 0 || echo 1) "0.55 s at 0.1 s intervals: $n cycles"
is "$(echo "$out" | grep -c 'writes, elapsed')" "$n" "every cycle reports writes and elapsed time"

# wait_filled PID FILE: until memload (PID) has printed its fill line to FILE, which
# comes after its signal handlers are in place (a signal sent before would
# be lost: a background job of a script starts with SIGINT ignored); at
# most 60 s (a sanitizer build on a busy host starts slowly), then it is
# killed so that the test fails instead of waiting for ever
wait_filled() {
	for _ in $(seq 1 600); do grep -q filled "$2" 2>/dev/null && return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null
	return 1
}

# runs until a signal, then exits 0 promptly
"$ML" --size=4M --interval=10 > "$TMPD/sig1" &
pid=$!
wait_filled $pid "$TMPD/sig1"
ok $? "memload filled its buffer"
kill -TERM $pid
t0=$(date +%s)
wait $pid
is "$?" 0 "SIGTERM ends it with status 0"
ok $([ $(( $(date +%s) - t0 )) -le 2 ] && echo 0 || echo 1) "without waiting for the interval"
"$ML" --size=4M --interval=10 --quiet > "$TMPD/sig2" &
pid=$!
wait_filled $pid "$TMPD/sig2"
ok $? "memload filled its buffer"
kill -INT $pid; wait $pid
is "$?" 0 "SIGINT ends it with status 0"
is "$(wc -l < "$TMPD/sig2")" 1 "--quiet prints only the fill line"

# the static build for guests behaves the same
like "$("$BIN/memload-static" --size=1M --wr=1/8 --duration=0)" "wr=1/8: 32 writes" "memload-static"
readelf -l "$BIN/memload-static" | grep -q 'INTERP'
ok $([ $? -ne 0 ] && echo 0 || echo 1) "memload-static is statically linked (no program interpreter)"

# --mergeable marks the buffer for KSM (visible in /proc/PID/smaps as mg)
"$ML" --size=4M --mergeable --interval=10 > "$TMPD/sig3" &
pid=$!
wait_filled $pid "$TMPD/sig3"
ok $? "memload filled its buffer"
like "$(cat "$TMPD/sig3")" "; mergeable\$" "--mergeable is reported"
grep -q 'VmFlags:.* mg' /proc/$pid/smaps
ok $? "--mergeable sets VM_MERGEABLE on the buffer"
kill $pid; wait $pid
done_testing
