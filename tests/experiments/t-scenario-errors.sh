#!/bin/sh
# Scenario files with a mistake are rejected before anything starts, with
# file, line and what is wrong (exit 2); the examples are valid.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib-exp.sh"

base='name t
guests 2
memory 128M
duration 20s
interval 1s
dumps 10s 15s'
bad unknown-workload 7 "unknown workload 'stress'" "$base
run a stress size=10M"
bad negative-size 7 "size '-16M' must be positive" "$base
run a memload size=-16M wr=0"
bad missing-image 2 "image file '$TMPD/nowhere.xml' does not exist" "name t
image xml:nowhere.xml
dumps 1s 2s
run a idle"
bad bad-rate 7 "write rate '3/2' is outside 0..1" "$base
run a memload size=16M wr=3/2"
bad too-big 7 "run a: memload size 200 MiB does not fit in 128 MiB" "$base
run a memload size=200M"
bad unknown-knob 7 "unknown KSM knob 'pages_to_eat'" "$base
ksm run=1 pages_to_eat=5
run a idle"
bad one-dump 5 "at least two dump times" "name t
guests 1
duration 20s
interval 1s
dumps 10s
run a idle"
bad slap-tiny 7 "run a: mysqlslap needs 'image debian'" "$base
run a mysqlslap concurrency=2 iterations=1 queries=10"
bad dump-late 5 "dump time 25s is after the end" "name t
guests 1
duration 20s
interval 1s
dumps 10s 25s
run a idle"
bad unknown-key 3 "unknown setting 'gusts'" "name t
dumps 1s 2s
gusts 3
run a idle"
for f in "$TOP"/experiments/*.scenario; do
	out=$("$EXP" --check "$f" 2>&1)
	ok $? "$(basename "$f") is valid ($out)"
done
done_testing
