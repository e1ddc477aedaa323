#!/bin/sh
# Random damage to small VMware, Windows, Xen, LiME, AVML and VirtualBox
# dumps (a fixed seed, so every run tries the same files): each must be
# analyzed (exit 0) or refused (exit 1, with one message that names the
# file, what is wrong and the offset: "dedup-analyze: FILE: what (at offset
# N)") within 20 s — never a crash, a sanitizer report or a hang.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.sh"
for b in mkvmware mkwin mkxen mklime mkvbox; do
	[ -x "$MK/$b" ] || bail "fixture builders not built (make tests-build)"
done
cd "$TMPD" || exit 1
N=${MUTANTS:-60}

printf 'ram 0 2 seq:1\nram 0x10 1 same:1\nram 0x100000 1 zero\nmemory embedded\npad 2\n' > s; "$MK/mkvmware" s vmware.vmss
printf 'ram 0 2 seq:1\nram 0x10 1 same:1\nmagic 0xBED0BED0\nmemory embedded\n' > s; "$MK/mkvmware" s vmware0.vmss
printf 'ram 0 2 seq:1\nram 0x10 1 same:1\nbits 32\n' > s; "$MK/mkwin" s win32.dmp
printf 'ram 0 2 seq:1\nram 0x10 1 same:1\ntype bitmap\n' > s; "$MK/mkwin" s win64b.dmp
printf 'ram 0 2 seq:1\nram 0x10 1 same:1\norder shuffle\npadding 1\n' > s; "$MK/mkxen" s xen.core
printf 'bytes 0x1000 0x1800 seq:1\nram 0x10 1 same:1\n' > s; "$MK/mklime" s lime.lime
printf 'bytes 0x1000 0x1800 seq:1\nram 0x10 2 same:1\nkind avml\nchunk 3000\n' > s; "$MK/mklime" s avml.lime
printf 'ram 0 2 seq:1\nmmio 2 2\nram 0x10 1 same:1\n' > s; "$MK/mkvbox" s vbox.core

# a damaged header may send the reader to another file (a VMware .vmem it
# names): that file's error has no offset in the damaged one
opens_other() {
	case "$2" in "dedup-analyze: $1: "*"; "*": cannot open: "*) return 0 ;; esac
	return 1
}

for f in vmware.vmss vmware0.vmss win32.dmp win64b.dmp xen.core lime.lime avml.lime vbox.core; do
	python3 - "$f" "$N" <<'EOF'
import random, sys
name, n = sys.argv[1], int(sys.argv[2])
src = open(name, "rb").read()
rnd = random.Random(name)
for i in range(n):
    b = bytearray(src)
    kind = rnd.random()
    if kind < 0.15:
        b = b[: rnd.randrange(len(b))]
    else:
        for _ in range(rnd.randint(1, 4)):
            # mostly the headers, sometimes anywhere
            pos = rnd.randrange(min(len(b), 8192) if rnd.random() < 0.8 else len(b))
            r = rnd.random()
            if r < 0.3:
                b[pos] ^= 1 << rnd.randrange(8)
            elif r < 0.6:
                b[pos] = rnd.choice([0, 0xff, 0x7f, 0x80, 1])
            else:
                w = rnd.choice([4, 8])
                v = rnd.choice([0, 1, 0xffffffff, 0x7fffffff, (1 << 64) - 1, 1 << 40, len(src), len(src) + 1])
                b[pos:pos + w] = (v % (1 << (8 * w))).to_bytes(w, "little")
    open("mut-%s-%03d" % (name, i), "wb").write(bytes(b))
EOF
	bad=0 ok0=0 ok1=0 first=""
	for m in mut-"$f"-*; do
		case "$f" in *.vmss) cp "$m" "$m.vmss"; m=$m.vmss ;; esac
		timeout 20 "$DA" -q --json "$m" > /dev/null 2> err.txt
		rc=$?
		if [ $rc -eq 0 ]; then ok0=$((ok0 + 1))
		elif [ $rc -eq 1 ] && ! grep -Eq 'Sanitizer|runtime error|internal error' err.txt &&
		     msg=$(grep -v 'warning:' err.txt | head -1) &&
		     why=$(refusal "$m" "$msg" .) && { [ -z "$why" ] || opens_other "$m" "$msg"; }; then
			ok1=$((ok1 + 1))
		else bad=$((bad + 1)); [ -n "$first" ] || first="$m: exit $rc: ${why:-$(head -c 300 err.txt)}"
		fi
		why=""
	done
	is "$bad" 0 "$f: $N damaged copies: $ok0 read, $ok1 refused with file, problem and offset, none crashed or hung${first:+ ($first)}"
done
done_testing
