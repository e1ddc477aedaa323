#!/bin/sh
# End to end, real producers: one paused tiny guest, its memory dumped by
# QEMU (dump-guest-memory elf and every kdump-* format this QEMU offers, QMP
# migrate to a file) and by makedumpfile (-c, -l, -d 31, --split, -F, -R)
# from the ELF dump.  Every format must give the ELF dump's frames with the
# ELF dump's bytes, and so its numbers, under these rules:
#  - kdump-* from QEMU: the same frames as the ELF dump (same RAM blocks).
#  - the migration stream: its pc.ram and pc.bios blocks map onto exactly
#    the ELF dump's frames (pc.ram at 0, pc.bios just below 4 GiB); its other
#    RAM blocks (option ROM, firmware configuration blobs) have no
#    guest-physical address and are counted in address spaces of their own,
#    so its numbers = the ELF dump's + those blocks' pages.
#  - makedumpfile: it dumps the frames below max_mapnr (the guest kernel's
#    last RAM frame), i.e. the ELF dump without the BIOS ROM below 4 GiB.
#  - dump level 31: the filtered frames are absent, the others unchanged.
# libkdumpfile (an independent reader) must read the same bytes for every
# ELF and kdump file (flattened ones through their `makedumpfile -R` copy).
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
FR=$TB/tools/dp-frames
KD=$TB/tools/kdiff
PF=$TB/tools/elf-phdrs-first
need qemu-system-x86_64
need makedumpfile
[ -x "$FR" ] && [ -x "$KD" ] && [ -x "$PF" ] || bail "test tools not built (make tests-build)"
RUN=$TMPD/run
GC="$TOP/scripts/guestctl"
at_exit "\"$GC\" stop e2e-dumps --dir=$RUN"

"$GC" start e2e-dumps --dir="$RUN" --mem=128 --ml-mb=32 --wr=1/8 --interval=1 --seed=7 || exit 1
"$GC" wait e2e-dumps --dir="$RUN" --timeout=180
ok $? "guest: memload filled its buffer"
"$GC" qmp e2e-dumps stop --dir="$RUN" > /dev/null
ok $? "guest paused: every dump below holds the same memory"
cd "$TMPD" || exit 1

# ---- QEMU ----
"$GC" dump e2e-dumps "$TMPD/g.elf" --dir="$RUN"
ok $? "dump-guest-memory elf"
formats=$("$GC" qmp e2e-dumps query-dump-guest-memory-capability --dir="$RUN" |
	  python3 -c 'import json, sys; print(" ".join(f for f in json.load(sys.stdin)["formats"] if f.startswith("kdump")))')
echo "# kdump formats of this QEMU: $formats"
like "$formats" "kdump-zlib" "this QEMU offers kdump-zlib"
for f in $formats; do
	"$GC" dump e2e-dumps "$TMPD/g.$f" --dir="$RUN" --format="$f"
	ok $? "dump-guest-memory $f"
done
"$GC" qmp e2e-dumps migrate "{\"uri\": \"exec:cat > $TMPD/g.qevm\"}" --dir="$RUN" > /dev/null
ok $? "QMP migrate to a file"
"$GC" stop e2e-dumps --dir="$RUN"

# ---- makedumpfile (needs the program headers at offset 64) ----
"$PF" g.elf g64.elf
ok $? "ELF copy with the program headers first"
for m in "c 1" "l 1" "c 31"; do
	set -- $m
	makedumpfile -$1 -d "$2" g64.elf "g.mdf-$1-$2" > mdf.log 2>&1
	ok $? "makedumpfile -$1 -d $2"
done
makedumpfile --split -c -d 31 g64.elf g.sp1 g.sp2 > mdf.log 2>&1
ok $? "makedumpfile --split -c -d 31 (two files)"
makedumpfile -F -l -d 1 g64.elf > g.mdf-flat 2> mdf.log
ok $? "makedumpfile -F -l (flattened)"
makedumpfile -R g.kz-R < g.kdump-zlib > mdf.log 2>&1
ok $? "makedumpfile -R of QEMU's kdump-zlib"
makedumpfile -R g.mdf-flat-R < g.mdf-flat > mdf.log 2>&1
# a flattened ELF (the framing around another format)
makedumpfile -E -F -d 0 g64.elf > g.mdf-EF 2> mdf.log
ok $? "makedumpfile -E -F (flattened ELF)"
makedumpfile -R g.mdf-EF-R < g.mdf-EF > mdf.log 2>&1
ok $? "makedumpfile -R of the flattened ELF"

# frames: "space frame content"; numbers from a frame list
frames() { "$FR" "$@" | sort > "$TMPD/fr.tmp" && cat "$TMPD/fr.tmp"; }
stats() { # pages,absent,zero,nonzero,distinct,intra of a frame list on stdin
	awk '{ if ($3 == "absent") a++; else { p++; if ($3 == "zero") z++; else { n++; if (!($3 in s)) { s[$3] = 1; d++ } } } }
	     END { printf "%d,%d,%d,%d,%d,%d\n", p, a, z, n, d, n - d }'
}
nums() { "$DA" -q --csv "$@" 2>/dev/null | sed -n 2p | cut -d, -f3-8; }

frames g.elf > elf.fr
ref=$(nums g.elf)
is "$(stats < elf.fr)" "$ref" "ELF: dedup-analyze agrees with the frame list"
echo "# ELF: $ref (pages,absent,zero,nonzero,distinct,intra)"

for f in $formats; do
	frames "g.$f" > k.fr
	is "$(cmp elf.fr k.fr && echo same)" same "$f: the ELF dump's frames and bytes"
	is "$(nums "g.$f")" "$ref" "$f: the ELF dump's numbers"
	is "$(cat "g.$f" | "$DA" -q --csv - 2>/dev/null | sed -n 2p | cut -d, -f3-8)" "$ref" "$f from a pipe: same numbers"
done
info=$("$DA" --info g.kdump-zlib 2>/dev/null)
like "$info" "format: +kdump-flattened" "kdump-zlib: --info names the format"
like "$info" "variant: +flattened kdump-compressed v6, 64-bit little-endian x86_64, zlib pages \(QEMU" "kdump-zlib: --info names version and producer"
like "$info" "header version: +6" "kdump-zlib: --info header version"
frames g.kz-R > k.fr
is "$(cmp elf.fr k.fr && echo same)" same "kdump-zlib reassembled by makedumpfile -R: the ELF dump's frames"

# the migration stream
frames g.qevm > q.fr
awk '$1 == 0' q.fr > q0.fr
is "$(cmp elf.fr q0.fr && echo same)" same "migration stream: pc.ram + pc.bios = the ELF dump's frames and bytes"
is "$(stats < q0.fr)" "$ref" "migration stream, guest-physical frames: the ELF dump's numbers"
is "$(nums g.qevm)" "$(stats < q.fr)" "migration stream: numbers = ELF's + the blocks without an address"
extra=$(awk '$1 != 0' q.fr | wc -l | tr -d ' ')
ok $([ "$extra" -gt 0 ] && echo 0 || echo 1) "migration stream: $extra frames in RAM blocks without a guest-physical address"
info=$("$DA" --info g.qevm 2>/dev/null)
like "$info" "variant: +QEMU migration stream v3, machine pc-i440fx-[0-9.]+, RAM section v4" "migration stream: --info names version and machine"
like "$info" "ram block: +pc.ram: 32768 pages \(131072 KiB\), guest-physical 0x0-0x7ffffff" "migration stream: --info per block"
like "$info" "ram block: +pc.rom: .*no guest-physical address" "migration stream: --info says which blocks have no address"
gzip -1 -c g.qevm > g.qevm.gz
is "$(nums g.qevm.gz)" "$(nums g.qevm)" "migration stream, gzip-compressed: same numbers"

# makedumpfile: the frames below max_mapnr
mapnr=$("$DA" --info g.mdf-c-1 2>/dev/null | sed -n 's/^  max_mapnr: *\([0-9]*\) frames.*/\1/p')
awk -v m="$mapnr" '$2 < m' elf.fr > elf-low.fr
echo "# makedumpfile max_mapnr $mapnr; the ELF dump has $(wc -l < elf.fr) frames, $(wc -l < elf-low.fr) below it"
for f in mdf-c-1 mdf-l-1 mdf-flat; do
	frames "g.$f" > m.fr
	is "$(cmp elf-low.fr m.fr && echo same)" same "makedumpfile $f: the ELF dump's frames below max_mapnr"
	is "$(nums "g.$f")" "$(stats < elf-low.fr)" "makedumpfile $f: their numbers"
done
frames g.mdf-EF > ef.fr
frames g.mdf-EF-R > efr.fr
is "$(cmp ef.fr efr.fr && echo same)" same "flattened ELF (makedumpfile -E -F): the frames and bytes of its makedumpfile -R copy"
is "$(nums g.mdf-EF)" "$(stats < efr.fr)" "flattened ELF: its numbers"
like "$("$DA" --info g.mdf-EF 2>/dev/null)" "format: +elf" "flattened ELF: read as elf"
like "$("$DA" --info g.mdf-EF-R 2>/dev/null)" "variant: +ELF64" "makedumpfile -E -R copy: an ELF file"
like "$("$DA" --info g.mdf-l-1 2>/dev/null)" "variant: +kdump-compressed v6, 64-bit little-endian x86_64, lzo pages \(makedumpfile\)" \
	"makedumpfile -l: --info names version, codec, producer"

# dump level 31: filtered frames absent, the others unchanged
frames g.mdf-c-31 > m31.fr
absent=$(awk '$3 == "absent"' m31.fr | wc -l | tr -d ' ')
ok $([ "$absent" -gt 0 ] && echo 0 || echo 1) "dump level 31: $absent frames filtered out"
is "$(wc -l < m31.fr | tr -d ' ')" "$(wc -l < elf-low.fr | tr -d ' ')" "dump level 31: present + absent = the frames below max_mapnr"
is "$(awk 'NR == FNR { c[$2] = $3; next } $3 != "absent" && c[$2] != $3' elf-low.fr m31.fr | wc -l | tr -d ' ')" 0 \
	"dump level 31: every present frame has the ELF dump's bytes"
like "$("$DA" -q --json g.mdf-c-31 2>/dev/null)" "\"absent_pages\": $absent," "dump level 31: the analysis reports the absent pages"
like "$("$DA" --info g.mdf-c-31 2>/dev/null)" "warning: dump level 31 .*$absent frame\(s\) of RAM are not in the file.*biased" \
	"dump level 31: --info warns that the numbers are biased"
frames g.sp1 > sp.fr
is "$(cmp m31.fr sp.fr && echo same)" same "split dump (two files): the same frames as one file"
is "$("$DA" -q --csv g.sp2 g.sp1 2>/dev/null | grep -c '^g\.sp')" 1 "split dump, both files given: one dump"
is "$(nums g.sp2 g.sp1)" "$(nums g.mdf-c-31)" "split dump, both files given: the numbers of the one-file dump"

# libkdumpfile reads the same bytes
for f in g.elf g.mdf-c-1 g.mdf-l-1 g.mdf-c-31; do
	out=$("$KD" "$f")
	ok $? "libkdumpfile agrees: $f"
	echo "# $out"
done
out=$("$KD" g.sp1 g.sp2)
ok $? "libkdumpfile agrees: split dump g.sp1 + g.sp2"
out=$("$KD" --ref=g.kz-R g.kdump-zlib)
ok $? "libkdumpfile agrees: QEMU kdump-zlib (libkdumpfile reads its -R copy)"
echo "# $out"
out=$("$KD" --ref=g.mdf-flat-R g.mdf-flat)
ok $? "libkdumpfile agrees: makedumpfile -F (libkdumpfile reads its -R copy)"
done_testing
