#!/bin/sh
# Page data read around the page cache (--direct): the same report as through
# the cache for every layout whose pages are read from the file itself (ELF
# data at offsets that are not block-aligned and a partly stored frame,
# LiME, kdump plain, flattened and split, a QEMU migration stream and a libvirt
# save image), the bytes read so counted by --stats (printed only when some
# were), the same errors, --info saying how the file is read, and the
# automatic choice following what the page cache holds.
. "$(dirname "$0")/../lib.sh"
DA=$BIN/dedup-analyze
MK=$TB/formats
[ -x "$DA" ] || bail "$DA not built"
for t in mkelf mklime mkkdump mkqevm; do [ -x "$MK/$t" ] || bail "$MK/$t not built"; done
cd "$TMPD" || exit 1

# report without the time taken, the one field that may differ
report() { "$DA" -q --json "$@" 2>&1 | sed 's/"seconds": [0-9.]*//'; echo "rc $?"; }
same() { # DESCRIPTION FILES...: the same report with --direct=never and =always
	_d=$1; shift
	report --direct=never "$@" > never.out
	report --direct=always "$@" > always.out
	grep -q '"pages"' never.out || { ok 1 "$_d: no report ($(head -c 200 never.out))"; return; }
	cmp -s never.out always.out; ok $? "$_d: the same report read around the page cache"
	"$DA" -q --stats --direct=always "$@" 2>&1 > /dev/null | grep -Eq ", [0-9.]+ MiB of the files? around the page cache"
	ok $? "$_d: --stats counts the bytes read around the page cache"
}

# ELF: data at odd offsets, a zero range, a partly stored frame, a repeat
cat > odd.spec <<'EOF'
ram 0 2 ids:5,6 offset=12345
ram 2 300 seq:1 offset=20539
ram 302 40 zero offset=1250001
ram 400 260 seq:7 offset=2000001
bytes 0x300000 2048 same:6 offset=3100003
ram 0x1000 2 ids:5,6 offset=same:0
EOF
"$MK/mkelf" odd.spec odd.elf || exit 1
same "ELF, page data at offsets that are not block-aligned" odd.elf
"$MK/mkelf" - big.elf <<'EOF' || exit 1
ram 0 5000 seq:3
ram 5000 3000 zero
EOF
same "ELF of 31 MiB, units of 1 MiB" big.elf
st=$("$DA" -q --stats --direct=always big.elf 2>&1 > /dev/null)
is "$(echo "$st" | sed -n 's/.*, \([0-9.]*\) MiB of the file around.*/\1/p')" \
	"$(echo "$st" | sed -n 's/.*dump, \([0-9.]*\) MiB read in.*/\1/p')" "ELF: every byte of page data read around the page cache"
is "$("$DA" -q --stats --direct=never big.elf 2>&1 > /dev/null | grep -c 'around the page cache')" 0 \
	"--direct=never: no byte read around it"

# Around the cache, a worker reads a batch of units in one request and asks
# for its next batch before it hashes the current one: segments of less
# than, exactly and more than a batch (4 units), at odd offsets, so that
# batches end inside, at and across segment ends, and files whose segments
# are in another order than their offsets; every worker count gives the
# report read through the cache, every byte counted once
"$MK/mkelf" - seg.elf <<'EOF' || exit 1
ram 0 300 seq:11 offset=4097
ram 300 1024 seq:12
ram 2000 2305 seq:13 offset=9000001
ram 5000 17 seq:14
ram 6000 1 ids:3
ram 7000 4097 seq:15 offset=30000001
ram 12000 1000 zero
ram 14000 600 seq:11
EOF
report --direct=never seg.elf > never.out
for j in 1 2 3; do
	report -j$j --direct=always seg.elf > always.out
	cmp -s never.out always.out; ok $? "ELF of eight segments, $j worker(s): the same report read in batches around the cache"
	st=$("$DA" -q -j$j --stats --direct=always seg.elf 2>&1 > /dev/null)
	is "$(echo "$st" | sed -n 's/.*, \([0-9.]*\) MiB of the file around.*/\1/p')" \
		"$(echo "$st" | sed -n 's/.*dump, \([0-9.]*\) MiB read in.*/\1/p')" "... each byte counted once ($j worker(s))"
done

# LiME: every range behind a 32-byte header
printf 'ram 0 300 seq:1\nram 1000 40 zero\nbytes 0x500000 2048 same:6\nram 2000 5 ids:5,6,5,6,7\n' > l.spec
"$MK/mklime" l.spec l.lime || exit 1
same "LiME, ranges behind 32-byte headers" l.lime

# kdump: plain (each codec), flattened, split in three
cp "$TOP/tests/formats/kdump/base.spec" base.spec
for c in zlib lzo zstd raw; do
	{ cat base.spec; echo "codec $c"; } > k-$c.spec
	"$MK/mkkdump" k-$c.spec k-$c || exit 1
	same "kdump, $c pages" k-$c
done
{ cat base.spec; echo "flat writes"; } > kf.spec
"$MK/mkkdump" kf.spec kf || exit 1
same "kdump, flattened" kf
{ cat base.spec; echo "split 3"; echo "level 31"; } > ks.spec
"$MK/mkkdump" ks.spec ks || exit 1
same "kdump split in three files" ks.1

# QEMU migration stream, plain and in a libvirt save image
printf 'block pc.ram 8388608\nram 0 600 seq:1 in=pc.ram\nram 600 200 zero in=pc.ram\nram 800 100 seq:1 in=pc.ram\n' > q.spec
"$MK/mkqevm" q.spec q.qevm || exit 1
same "QEMU migration stream" q.qevm
{ cat q.spec; echo "libvirt raw"; } > qs.spec
"$MK/mkqevm" qs.spec qs.save || exit 1
same "libvirt save image (raw)" qs.save

# the same error for a file cut short, read either way
head -c 1000000 big.elf > cut.elf
"$DA" -q --direct=never cut.elf > /dev/null 2> cut-never.err
rn=$?
"$DA" -q --direct=always cut.elf > /dev/null 2> cut-always.err
ra=$?
is "$ra" "$rn" "a truncated ELF: the same exit status read around the cache ($rn)"
cmp -s cut-never.err cut-always.err; ok $? "... and the same message"
like "$(cat cut-always.err)" "cut.elf.*(truncated|past the end|shrank)" "... which names the file and what is wrong"

# --info: how the page data is read
info_read() { "$DA" --info "$@" | sed -n 's/^ *read: *//p'; }
is "$(info_read --direct=always big.elf)" "page data around the page cache (O_DIRECT)" "--info --direct=always: read around the cache"
is "$(info_read --direct=never big.elf)" "" "--info --direct=never: no such line"

# auto: a file of 16 MiB or more, dropped from the page cache, is read
# around it; once cached again, through it
evict() { python3 -c 'import os,sys
fd = os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$1"; }
evict big.elf
is "$(info_read big.elf)" "page data around the page cache (O_DIRECT): the file was mostly not cached" \
	"auto: a file dropped from the page cache is read around it"
evict big.elf
report --direct=never big.elf > never.out
evict big.elf
report big.elf > auto.out
cmp -s never.out auto.out; ok $? "auto on the dropped file: the same report"
cat big.elf > /dev/null
is "$(info_read big.elf)" "" "auto: the same file, cached, is read through the cache"
evict odd.elf
is "$(info_read odd.elf)" "" "auto: a file under 16 MiB is read through the cache"

"$DA" -q --direct=sometimes big.elf > /dev/null 2> bad.err
is "$?" 2 "--direct with an unknown mode: usage error"
like "$(cat bad.err)" "unknown --direct mode 'sometimes'" "... which names it"
done_testing
