#!/bin/sh
# dedup-analyze-mpi on bad input and bad usage: a rank that cannot read an
# input says so as dedup-analyze does (file, offset), the other ranks finish
# and the report lists the failure, exit 1; a rank killed makes mpirun fail
# with a clear message and no report at all.
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/fleet/lib-fleet.sh"
for s in p q r; do "$TB/formats/mkelf" "$TOP/tests/analyses/$s.spec" "$TMPD/$s.elf" || bail "mkelf $s"; done
cd "$TMPD" || exit 1
head -c 9000 p.elf > cut.elf             # fails when opened
gzip -c p.elf | head -c 3000 > cut.elf.gz # fails while hashed
# program messages of a run, sorted (ranks write stderr side by side)
msgs() { grep "^$1: " "$2" | sed "s/^$1: //" | sort; }

"$DA" -q --json --ksm --pairs cut.elf.gz 'nothere*.elf' p.elf cut.elf q.elf r.elf > a.json 2> a.err
is $? 1 "dedup-analyze: exit 1 with failed inputs"
mpi 3 -q --json --ksm --pairs rank=1:cut.elf.gz 'nothere*.elf' rank=2:p.elf rank=2:cut.elf q.elf r.elf \
	> m.json 2> m.err
is $? 1 "3 ranks: exit 1 with failed inputs"
is "$(msgs dedup-analyze-mpi m.err)" "$(msgs dedup-analyze a.err)" \
   "the same messages: file, what is wrong, offset"
like "$(cat m.err)" 'cut\.elf\.gz: truncated: gzip stream ends before its end marker \(at offset 3000\)' \
     "a failure while hashing on rank 1, with its offset"
same a.json m.json "the report of the inputs that could be read, and the failures in dedup-analyze's order"
is "$(j m.json 'len(d["dumps"]), len(d["failed"])')" "(3, 3)" "three dumps reported, three failures listed"

# nothing readable: no report, exit 1, as dedup-analyze
mpi 2 -q --json cut.elf rank=1:cut.elf.gz > m.json 2> m.err
is "$? $(wc -c < m.json)" "1 0" "no input readable: exit 1, no report"

# bad usage: exit 2 before any input is read, said once
mpi 2 -q --round=0 p.elf > /dev/null 2> m.err
is "$? $(grep -c "invalid --round '0'" m.err)" "2 1" "--round=0: exit 2, one message"
mpi 2 -q rank=5:p.elf > /dev/null 2> m.err
is "$? $(grep -c 'rank=5:p.elf: no such rank in this run' m.err)" "2 1" "rank=5 of 2: exit 2"
mpi 2 -q no-such-host.invalid:p.elf > /dev/null 2> m.err
is "$? $(grep -c 'no rank of this run is on that host' m.err)" "2 1" "an unknown host: exit 2"
mpi 2 -q --info p.elf > /dev/null 2> m.err
is "$? $(grep -c 'run dedup-analyze --info on each host' m.err)" "2 1" "--info is refused: exit 2"
mpi 2 -q --json --csv p.elf > /dev/null 2> m.err
is "$? $(grep -c 'dedup-analyze-mpi: --json and --csv' m.err)" "2 1" "dedup-analyze's usage checks, named after this program"
mpi 1 --help > help.txt
is "$? $(grep -c 'rank=N:PATH' help.txt)" "0 1" "--help: exit 0, says how inputs are placed"

# a rank killed while it waits for its input (a FIFO nobody writes): mpirun
# fails and names it, no report is printed
mkfifo fifo || bail "mkfifo"
$MPIRUN -n 3 "$DM" -q --json p.elf rank=1:fifo q.elf > k.out 2> k.err &
mp=$!
at_exit "kill -9 $mp 2>/dev/null"
rank1=""
for _ in $(seq 1 300); do
	for p in $(ps -o pid= --ppid "$mp" 2>/dev/null); do
		tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && rank1=$p
	done
	[ -n "$rank1" ] && break
	sleep 0.1
done
like "$rank1" '^[0-9]+$' "rank 1 started"
# until it waits in open(2) for the FIFO (the others wait for it)
for _ in $(seq 1 100); do grep -Eq "fifo|partner" "/proc/$rank1/wchan" 2>/dev/null && break; sleep 0.1; done
kill -9 "$rank1"
for _ in $(seq 1 600); do kill -0 "$mp" 2>/dev/null || break; sleep 0.1; done
wait "$mp"
rc=$?
is "$([ $rc -ne 0 ] && echo failed)" failed "mpirun fails when a rank dies (exit $rc)"
like "$(cat k.err)" 'process rank 1 .*exited on signal 9' "mpirun names the rank that died"
is "$(wc -c < k.out)" 0 "no report, not even a part of one"
done_testing
