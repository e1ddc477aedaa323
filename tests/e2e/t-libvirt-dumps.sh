#!/bin/sh
# End to end through libvirt (virtlogd/libvirtd started by scripts/libvirt-env,
# a direct-kernel-boot domain): the paused guest is dumped with
# `virsh dump --memory-only` (elf, kdump-zlib), saved with `virsh save`,
# restored paused and dumped with plain `virsh dump` (a migration stream).
# Every file must hold the ELF dump's frames and bytes (the migration stream
# and the save image: pc.ram + pc.bios = the ELF frames, other RAM blocks in
# spaces of their own; see t-qemu-dumps.sh).  The compressed forms libvirt
# writes (save_image_format / dump_image_format pipe the stream through
# gzip, bzip2, xz, lzop or zstd) are made the same way from the real files
# and must give the same numbers.
. "$(dirname "$0")/../lib.sh"
need python3
DA=$BIN/dedup-analyze
FR=$TB/tools/dp-frames
KD=$TB/tools/kdiff
LE="$TOP/scripts/libvirt-env"
need virsh libvirtd
[ -x "$LE" ] || bail "scripts/libvirt-env is missing"
[ -x "$FR" ] && [ -x "$KD" ] || bail "test tools not built (make tests-build)"
me=$$
name=e2e-lv-$me
at_exit "\"$LE\" stop --owner=$me"
"$LE" start --owner=$me > "$TMPD/le.log" 2>&1 || skip_all "libvirt daemons cannot start here: $(tail -1 "$TMPD/le.log")"
V="virsh -q -c $("$LE" uri)"
"$LE" guest "$name" --owner=$me --mem=128 --ml-mb=32 --wr=1/8 --interval=1 > /dev/null
ok $? "libvirt guest started"
"$LE" wait "$name" --timeout=180
ok $? "guest: memload filled its buffer"
cd "$TMPD" || exit 1
$V suspend "$name" > /dev/null
ok $? "virsh suspend"
$V dump --memory-only "$name" "$TMPD/v.elf" > /dev/null
ok $? "virsh dump --memory-only (elf)"
$V dump --memory-only --format=kdump-zlib "$name" "$TMPD/v.kz" > /dev/null
ok $? "virsh dump --memory-only --format=kdump-zlib"
$V save "$name" "$TMPD/v.save" > /dev/null
ok $? "virsh save"
$V restore --paused "$TMPD/v.save" > /dev/null
ok $? "virsh restore --paused (the same memory again)"
$V dump "$name" "$TMPD/v.qevm" > /dev/null
ok $? "virsh dump (no --memory-only: a migration stream)"
$V destroy "$name" > /dev/null 2>&1

frames() { "$FR" "$@" | sort; }
stats() {
	awk '{ if ($3 == "absent") a++; else { p++; if ($3 == "zero") z++; else { n++; if (!($3 in s)) { s[$3] = 1; d++ } } } }
	     END { printf "%d,%d,%d,%d,%d,%d\n", p, a, z, n, d, n - d }'
}
nums() { "$DA" -q --csv "$@" 2>/dev/null | sed -n 2p | cut -d, -f3-8; }

frames v.elf > elf.fr
ref=$(nums v.elf)
is "$(stats < elf.fr)" "$ref" "ELF (virsh dump --memory-only): dedup-analyze agrees with the frame list"
frames v.kz > kz.fr
is "$(cmp elf.fr kz.fr && echo same)" same "kdump-zlib (virsh): the ELF dump's frames and bytes"
is "$(nums v.kz)" "$ref" "kdump-zlib (virsh): the ELF dump's numbers"
for f in qevm save; do
	frames "v.$f" > "$f.fr"
	awk '$1 == 0' "$f.fr" > "$f-0.fr"
	is "$(cmp elf.fr "$f-0.fr" && echo same)" same "$f: pc.ram + pc.bios = the ELF dump's frames and bytes"
	is "$(nums "v.$f")" "$(stats < "$f.fr")" "$f: numbers = the ELF dump's + blocks without an address"
done
is "$(cmp qevm.fr save.fr && echo same)" same "virsh save and plain virsh dump of the restored guest: identical frames"
info=$("$DA" --info v.save 2>/dev/null)
like "$info" "format: +libvirt-save" "save image: --info names the format"
like "$info" "variant: +libvirt save image v2 \(uncompressed\), QEMU migration stream v3, machine pc-i440fx-" \
	"save image: --info names versions and machine"
like "$info" "libvirt: +save image version 2, payload uncompressed, domain $name, was paused" "save image: --info libvirt details"
like "$("$DA" --info v.qevm 2>/dev/null)" "format: +qemu-migration" "plain virsh dump: a migration stream"
# guest RAM and device memory: the save image names its RAM blocks as the stream does
kinds() { "$DA" -q --json "$@" 2>/dev/null |
	python3 -c 'import json, sys; d = json.load(sys.stdin)["dumps"][0]; print(d["ram_pages"], d["device_pages"])'; }
is "$(kinds v.save)" "$(kinds v.qevm)" "save image: guest RAM and device pages as in the migration stream"
is "$(kinds v.save | cut -d' ' -f1)" 32768 "save image: guest RAM = the domain's 128 MiB"
is "$(kinds --ram-only v.save)" "32768 0" "save image --ram-only: guest RAM alone"

# compressed as libvirt writes them: header + XML, then the compressor's output
hdr=$(python3 -c 'import struct, sys; h = open(sys.argv[1], "rb").read(92); print(92 + struct.unpack_from("<I", h, 20)[0])' v.save)
want=$(nums v.save)
# (fastest compression levels: the decoders do not care; the fixture tests
# cover every compressor on both forms too)
i=1
for c in "gzip -1" "bzip2 -1" "xz -0 -T2" "lzop -1" "zstd -1 -T2"; do
	n=${c%% *}
	head -c "$hdr" v.save > "v.save.$n"
	printf "$(printf '\\%03o' $i)" | dd of="v.save.$n" bs=1 seek=28 conv=notrunc status=none
	tail -c +$((hdr + 1)) v.save | $c -c >> "v.save.$n"
	is "$(nums "v.save.$n")" "$want" "virsh save with save_image_format=$n: same numbers"
	i=$((i + 1))
done
want=$(nums v.qevm)
for c in "lzop -1" "zstd -1 -T2"; do
	n=${c%% *}
	$c -c < v.qevm > "v.qevm.$n"
	is "$(nums "v.qevm.$n")" "$want" "virsh dump with dump_image_format=$n: same numbers"
done
like "$("$DA" --info v.save.zstd 2>/dev/null)" "variant: +libvirt save image v2 \(zstd\)" "--info names the payload compression"

out=$("$KD" v.elf)
ok $? "libkdumpfile agrees: virsh dump --memory-only (elf)"
echo "# $out"
makedumpfile -R v.kz-R < v.kz > /dev/null 2>&1
out=$("$KD" --ref=v.kz-R v.kz)
ok $? "libkdumpfile agrees: virsh dump kdump-zlib (libkdumpfile reads its -R copy)"
echo "# $out"
done_testing
