#!/bin/sh
# Guest RAM and device memory in ELF cores: a QEMU x86 core (a "QEMU"
# note, e_machine x86-64 or i386) is classified by the PC memory map: the
# run of ranges from 0 and the run from 4 GiB are guest RAM, every other
# range is device memory; cores of other producers or machines are all
# guest RAM.  The report counts device memory apart and --ram-only takes
# exactly it out of every count.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
[ -x "$MK/mkelf" ] || bail "fixture builder not built (make tests-build)"
cd "$TMPD" || exit 1

# frames: low RAM 0-0x9ffff, 0xc0000-0x1fffff (legacy area and 1 MiB on),
# a 64 KiB video RAM BAR, the BIOS below 4 GiB, high RAM from 4 GiB in two
# adjacent pieces, a 64-bit BAR after a gap above it
cat > pc.spec <<'EOF'
ram 0 160 seq:1
ram 0xc0 64 seq:200
ram 0x100 256 cycle:300:7
ram 0xfd000 16 zero
ram 0xfffc0 64 seq:1000
ram 0x100000 32 seq:2000
ram 0x100020 8 same:5
ram 0x200000 4 same:5000
EOF
ram=$((160 + 64 + 256 + 32 + 8)) dev=$((16 + 64 + 4))
{ cat pc.spec; echo "note QEMU cpu"; } > q.spec
{ head -n 5 pc.spec; echo "note QEMU cpu"; echo "class 32"; echo "machine 3"; } > q32.spec  # nothing above 4 GiB
{ cat pc.spec; echo "note QEMU cpu"; echo "machine 183"; } > arm.spec
{ cat pc.spec; echo "note VMCOREINFO PAGESIZE=4096"; } > kd.spec
for n in q q32 arm kd; do "$MK/mkelf" $n.spec $n.elf --expect $n.exp || bail "mkelf $n"; done
check_expect q.elf q.exp "QEMU x86-64 core: counts and ranges as without kinds"
jf() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
"$DA" --info --json q.elf > qi.json 2>/dev/null
is "$(jf qi.json 'd[0]["ram_pages"], d[0]["device_pages"]')" "($ram, $dev)" "--info: guest RAM and device pages"
is "$(jf qi.json '[(r["start"], r["pages"], r["kind"]) for r in d[0]["ranges"]]')" \
	"[(0, 160, 'ram'), (786432, 320, 'ram'), (4244635648, 16, 'device'), (4294705152, 64, 'device'), (4294967296, 40, 'ram'), (8589934592, 4, 'device')]" \
	"--info: the kind of every range"
like "$(info_line q.elf 'memory kinds')" "^x86 PC memory map" "--info names the rule"
like "$(info_line q.elf 'device memory')" "^$dev pages" "--info text: device memory"
"$DA" --info --json q32.elf > q32.json 2>/dev/null
is "$(jf q32.json 'd[0]["ram_pages"], d[0]["device_pages"]')" "($((160 + 64 + 256)), $((16 + 64)))" "ELF32 i386 QEMU core: the same rule"
for n in arm kd; do
	"$DA" --info --json $n.elf > $n.json 2>/dev/null
	is "$(jf $n.json 'd[0]["device_pages"], d[0]["memory_kinds"]')" "(0, None)" "$n: no rule, every frame guest RAM"
	is "$("$DA" --info $n.elf 2>/dev/null | grep -c 'device')" 0 "$n: --info text names no device memory"
done

# the report: device pages counted apart; --ram-only takes them out
"$DA" -q --json q.elf > all.json 2>/dev/null
"$DA" -q --json --ram-only q.elf > ro.json 2>/dev/null
# device frames: 16 zero, 64 distinct (seq:1000), 4 copies of pattern 5000 (not in RAM)
is "$(jf all.json 'd["dumps"][0]["device_pages"], d["dumps"][0]["device_zero_pages"], d["dumps"][0]["left_out_pages"]')" \
	"($dev, 16, 0)" "report: device pages, of them zero"
is "$(jf ro.json 'd["dumps"][0]["pages"], d["dumps"][0]["device_pages"], d["dumps"][0]["left_out_pages"]')" \
	"($ram, 0, $dev)" "--ram-only: only guest RAM is counted, the device pages are left out"
is "$(jf ro.json '[d["dumps"][0][k] - 0 for k in ("zero_pages", "nonzero_pages", "distinct_pages", "intra_pages")]')" \
	"$(jf all.json '[d["dumps"][0][k] - v for k, v in (("zero_pages", 16), ("nonzero_pages", 68), ("distinct_pages", 65), ("intra_pages", 3))]')" \
	"--ram-only: zero, non-zero, distinct and intra less exactly the device pages'"
is "$(jf ro.json 'd["ram_only"], d["total"]["left_out_pages"]')" "(True, $dev)" "JSON: ram_only and the total left out"
like "$("$DA" -q q.elf kd.elf 2>/dev/null)" "device memory +0\.3 +$dev " "text report: the device memory line"
like "$("$DA" -q --ram-only q.elf 2>/dev/null)" "left out +0\.3 +$dev " "text report --ram-only: the pages left out"
is "$("$DA" -q kd.elf 2>/dev/null | grep -c 'device memory')" 0 "text report: no device lines when no dump tells"
is "$("$DA" -q --json --ram-only kd.elf 2>/dev/null | jf /dev/stdin 'd["dumps"][0]["pages"]')" "$((ram + dev))" \
	"--ram-only on a dump that does not tell: everything counted"
gzip -c q.elf > q.elf.gz
is "$("$DA" -q --json --ram-only q.elf.gz 2>/dev/null | jf /dev/stdin 'd["dumps"][0]["left_out_pages"]')" $dev \
	"--ram-only on a gzip stream: the same pages left out"
done_testing
