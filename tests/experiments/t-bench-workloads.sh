#!/bin/sh
# The benchmark scripts run natively: each prints exactly one result line
# with a positive number, the metric, unit and direction documented in
# docs/benchmarks.md; a bad argument is a usage error (exit 2); the bzip2
# input is the same file with every awk (mawk, gawk, busybox).
. "$(dirname "$0")/../lib.sh"
W=$TOP/scripts/benchmarks
for p in sysbench bzip2 dd; do
	command -v $p > /dev/null || skip_all "$p is not installed (scripts/deps installs it)"
done
export SAMEPAGE_BENCH_TMP=$TMPD/files
result_re='^samepage-bench: metric=[a-z0-9_]+ value=[0-9]+(\.[0-9]+)? unit=[^ ]+ better=(higher|lower)$'
check() { # SCRIPT ARGS METRIC UNIT BETTER MIN MAX
	out=$("$W/$1" $2 2>&1)
	rc=$?
	is "$rc" 0 "$1 $2: exit 0"
	n=$(printf '%s\n' "$out" | grep -c '^samepage-bench:')
	is "$n" 1 "$1: one result line"
	line=$(printf '%s\n' "$out" | grep '^samepage-bench:')
	like "$line" "$result_re" "$1: the documented form ($line)"
	like "$line" "metric=$3 " "$1: metric $3"
	like "$line" "unit=$4 better=$5\$" "$1: $4, $5 is better"
	v=$(printf '%s\n' "$line" | sed 's/.* value=\([^ ]*\) .*/\1/')
	awk -v v="$v" -v lo="$6" -v hi="$7" 'BEGIN { exit !(v > lo && v < hi) }'
	ok $? "$1: value $v within ($6, $7)"
}
check sysbench-cpu "time=1" sysbench_cpu events/s higher 10 1000000
check sysbench-memory "time=1 block=4K" sysbench_memory_write MiB/s higher 10 10000000
check bzip2-9 "size=1" bzip2_9_seconds s lower 0.001 120
check dd-write "size=8" dd_write MiB/s higher 0.1 1000000
check dd-read "size=8" dd_read MiB/s higher 0.1 1000000
if command -v gcc > /dev/null; then
	check compile "files=2" compile_seconds s lower 0.01 600
else
	for i in $(seq 1 6); do ok 0 "compile # SKIP gcc is not installed"; done
fi
if command -v stress-ng > /dev/null; then
	check stress-ng "stressor=cpu time=1" stress_ng_cpu_ops bogo-ops/s higher 1 10000000
	check stress-ng "stressor=fork time=1" stress_ng_fork_ops bogo-ops/s higher 0.5 10000000
else
	for i in $(seq 1 12); do ok 0 "stress-ng # SKIP stress-ng is not installed"; done
fi
if command -v mariadb-install-db > /dev/null && { [ -x /usr/sbin/mariadbd ] || command -v mariadbd > /dev/null; }; then
	# no server runs on the host: the scripts start a private one each time
	check mysqlslap "concurrency=4 queries=200" mysqlslap_seconds s lower 0.0001 120
	check sysbench-oltp "time=2 table_size=1000" sysbench_oltp_tps transactions/s higher 0.5 1000000
	is "$(ps -eo args | grep -c "^[^ ]*mariadbd .*$SAMEPAGE_BENCH_TMP")" 0 "no private MariaDB server left running"
else
	for i in $(seq 1 12); do ok 0 "mysqlslap, sysbench-oltp # SKIP mariadbd is not installed (mariadb-server-core)"; done
fi
check sysbench-fileio "time=1 size=16 files=2" sysbench_fileio_rndrw MiB/s higher 0.01 10000000
check sysbench-fileio "time=1 size=16 mode=seqwr" sysbench_fileio_seqwr MiB/s higher 0.01 10000000

# the network benchmarks natively: each starts its server on a free
# loopback port and stops it; against a server of "serve" (as a guest
# runs it) through target=
httpd_left() { ls -d /tmp/samepage-httpd.* 2>/dev/null | wc -l; }
h0=$(httpd_left)
if [ -x /usr/sbin/apache2 ] && command -v ab > /dev/null && command -v httperf > /dev/null; then
	check ab "n=300 c=4 page=4" ab_requests requests/s higher 1 10000000
	check httperf "conns=30 calls=5" httperf_requests requests/s higher 1 10000000
	p=$(sh -c '. "$1/bench-lib.sh"; bench_free_port' sh "$W")
	out=$("$W/serve" what=http port="$p" page=3 2>&1)
	is "$?" 0 "serve what=http: started ($out)"
	like "$("$W/ab" target=127.0.0.1:$p page=3 n=100 2>&1 | tail -n 1)" '^samepage-bench: metric=ab_requests ' \
		"ab against the served page (target=)"
	out=$("$W/ab" target=127.0.0.1:$p page=4 n=100 2>&1)
	is "$?" 1 "ab: a page of another size fails (exit 1)"
	like "$out" "the page has 3072 bytes, not 4096" "ab names the page size it got"
	out=$("$W/httperf" target=127.0.0.1:$p page=2 conns=5 2>&1)
	is "$?" 1 "httperf: a page of another size fails (exit 1)"
	"$W/serve" what=stop > /dev/null 2>&1
	out=$("$W/ab" target=127.0.0.1:$p n=10 2>&1)
	is "$?" 1 "ab with no server at target fails (exit 1)"
else
	for i in $(seq 1 19); do ok 0 "ab, httperf # SKIP apache2 (apache2-bin), ab or httperf is not installed"; done
fi
# bench_free_port: below the ephemeral range, and a port held only by a
# connection (no listener: a client's socket, or one in TIME_WAIT after the
# HTTP benchmarks) is not free; the same shell (same PID) asks twice, the
# second time with a connection on the first answer's port
python3 - "$W" > "$TMPD/freeport" 2>&1 <<'PY'
import socket, subprocess, sys
ask = '. "$1/bench-lib.sh"; bench_free_port; read x; bench_free_port'
sh = subprocess.Popen(["sh", "-c", ask, "sh", sys.argv[1]], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, text=True)
p1 = int(sh.stdout.readline())
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
c = socket.socket(); c.bind(("127.0.0.1", p1)); c.connect(ls.getsockname())
a, _ = ls.accept(); ls.close()  # the connection stays, no listener on p1
sh.stdin.write("\n"); sh.stdin.flush()
p2 = int(sh.stdout.readline())
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
print(p1, p2, lo)
PY
read p1 p2 lo < "$TMPD/freeport"
ok "$([ -n "$p2" ] && [ "$p1" != "$p2" ]; echo $?)" "bench_free_port: a port with only a connection on it is not free ($p1, then $p2)"
ok "$([ "$p1" -ge 10000 ] && [ "$p1" -lt "$lo" ] && [ "$p2" -lt "$lo" ]; echo $?)" "bench_free_port: ports below the ephemeral range ($lo)"
ports=$(sh -c '. "$1/bench-lib.sh"; bench_free_port 5' sh "$W" | sort -u | wc -l)
is "$ports" 5 "bench_free_port 5: five different ports"
if command -v iperf3 > /dev/null; then
	check iperf3 "time=1" iperf3_mbits Mbit/s higher 1 10000000
	check iperf3 "time=1 reverse=yes streams=2" iperf3_mbits Mbit/s higher 1 10000000
else
	for i in $(seq 1 12); do ok 0 "iperf3 # SKIP iperf3 is not installed"; done
fi
is "$(httpd_left)" "$h0" "no Apache folder left in /tmp"
is "$(ps -eo args | grep -c "^[a-z/0-9]*apache2 -f /tmp/samepage-httpd")" 0 "no Apache of the benchmarks left running"
is "$(ps -eo args | grep -c '^iperf3 -s')" 0 "no iperf3 server of the benchmarks left running"
ls "$SAMEPAGE_BENCH_TMP" > "$TMPD/left"
is "$(cat "$TMPD/left")" "bzip2-input-1" "only the cached bzip2 input is left in the benchmark folder"

# the bzip2 input: a fixed file, the same with every awk there is
for a in mawk gawk original-awk busybox; do
	p=$(command -v $a) || continue
	mkdir -p "$TMPD/awk-$a" "$TMPD/f-$a"
	if [ $a = busybox ]; then printf '#!/bin/sh\nexec %s awk "$@"\n' "$p" > "$TMPD/awk-$a/awk"
	else ln -s "$p" "$TMPD/awk-$a/awk"; fi
	chmod +x "$TMPD/awk-$a/awk"
	out=$(PATH=$TMPD/awk-$a:$PATH SAMEPAGE_BENCH_TMP=$TMPD/f-$a "$W/bzip2-9" size=1)
	like "$out" "^input: .*, 1048576 bytes, cksum 4154734609" "bzip2 input of 1 MiB with $a: the fixed file"
done
head -c 120 "$SAMEPAGE_BENCH_TMP/bzip2-input-1" | head -n 1 > "$TMPD/l1"
like "$(cat "$TMPD/l1")" '^1 [a-z]+( [a-z]+){11}$' "bzip2 input: numbered lines of twelve words"

# bad arguments
for a in "sysbench-cpu time=0" "sysbench-cpu bogus=1" "sysbench-memory oper=copy" "dd-write size" "bzip2-9 size=x" \
	 "mysqlslap engine=a;b" "sysbench-oltp tables=0" "stress-ng stressor=bomb" "compile files=39" \
	 "ab c=20 n=10" "ab target=host:" "httperf conns=0" "iperf3 reverse=maybe" "iperf3 target=a:b" \
	 "sysbench-fileio mode=append" "serve what=ftp"; do
	"$W"/$a > "$TMPD/bad.out" 2>&1
	is "$?" 2 "$a: usage error (exit 2): $(head -1 "$TMPD/bad.out")"
done
done_testing
