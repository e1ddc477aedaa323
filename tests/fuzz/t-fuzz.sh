#!/bin/sh
# A bounded libFuzzer run over every dump parser, starting from the corpus.
# Any crash, sanitizer report, leak or 10-second hang fails the test; the
# input that caused it is kept in $B/fuzz/crashes/.
. "$(dirname "$0")/../lib.sh"
FZ=$BUILD/fuzz/fuzz_dump
[ -x "$FZ" ] || bail "fuzz target not built (make tests-build; needs clang with libFuzzer)"
secs=${FUZZ_TEST_SECONDS:-20}
mkdir -p "$TMPD/work" "$BUILD/fuzz/crashes"
cp "$TOP"/tests/fuzz/corpus/* "$TMPD/work/"
"$FZ" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$BUILD/fuzz/crashes/" "$TMPD/work" > "$TMPD/log" 2>&1
rc=$?
grep -E 'stat::number_of_executed_units|stat::new_units_added' "$TMPD/log" | sed 's/^/# /'
ok $rc "fuzzed the dump parsers for ${secs}s without a crash, leak or hang"
[ $rc -eq 0 ] || grep -E 'ERROR|SUMMARY|artifact' "$TMPD/log" | head -20 | sed 's/^/# /'
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$TMPD/log")
ok $([ "${runs:-0}" -gt 1000 ] && echo 0 || echo 1) "at least 1000 inputs tried (${runs:-0})"
done_testing
