#!/bin/sh
# libvirt-env guest --forward: the domain XML it creates gives the guest a
# virtio card on QEMU's user-mode network with each port of 127.0.0.1
# forwarded (read from a stand-in virsh that keeps the XML, so no guest
# starts); the XML is valid for libvirt; a malformed forward is a usage
# error that leaves nothing behind.
. "$(dirname "$0")/../lib.sh"
mkdir -p "$TMPD/bin" "$TMPD/k"
cat > "$TMPD/bin/virsh" <<'V'
#!/bin/sh
case "$*" in
*" version"*) exit 0 ;;
*" create "*) for a; do last=$a; done; cp "$last" "$VIRSH_KEEP"; exit 0 ;;
esac
exit 1
V
chmod +x "$TMPD/bin/virsh"
: > "$TMPD/k/vmlinuz"; : > "$TMPD/k/initrd.img"
lv() { PATH=$TMPD/bin:$PATH VIRSH_KEEP=$TMPD/domain.xml SAMEPAGE_LIBVIRT_STATE=$TMPD/state \
	"$TOP/scripts/libvirt-env" guest "$@" --kernel="$TMPD/k/vmlinuz" --initrd="$TMPD/k/initrd.img"; }
lv g1 --ctl --forward=20080:80,20081:5201 > /dev/null
is "$?" 0 "a guest with two forwards"
x=$(cat "$TMPD/domain.xml")
like "$x" "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>" "the QEMU namespace is declared"
like "$x" "<qemu:arg value='user,id=spnet0,hostfwd=tcp:127.0.0.1:20080-:80,hostfwd=tcp:127.0.0.1:20081-:5201'/>" \
	"a user-mode netdev with both forwards on the loopback"
like "$x" "<qemu:arg value='virtio-net-pci,netdev=spnet0,addr=0x10'/>" "a virtio card on it"
if command -v virt-xml-validate > /dev/null; then
	virt-xml-validate "$TMPD/domain.xml" domain > /dev/null 2>&1
	ok $? "the domain XML is valid for libvirt"
else
	ok 0 "# SKIP virt-xml-validate is not installed (libvirt-clients)"
fi
lv g2 > /dev/null
is "$(grep -c 'qemu:' "$TMPD/domain.xml")" 0 "without --forward: no network card, no QEMU namespace"
for f in 80 :80 80: a:b 1:2:3 "80:81,90"; do
	out=$(lv "bad$(echo "$f" | tr -c '0-9\n' x)" --forward="$f" 2>&1)
	is "$?" 2 "--forward=$f: usage error ($out)"
done
is "$(ls "$TMPD/state/guests" | tr '\n' ' ')" "g1 g2 " "the refused guests left no folder"
done_testing
