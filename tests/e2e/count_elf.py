#!/usr/bin/env python3
"""Independent page count of ELF memory dumps, for checking dedup-analyze.

Written separately from the C code on purpose: Python's struct and hashlib,
no shared logic.  Handles what QEMU writes (PT_LOADs with p_filesz ==
p_memsz, page-aligned physical ranges, no overlaps) and refuses anything
else rather than guess.  Prints the same JSON names as dedup-analyze.
"""
import hashlib
import json
import struct
import sys

PAGE = 4096
ZERO = bytes(PAGE)


def pages_of(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "ELF64 LE expected"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    seen = set()
    for i in range(phnum):
        p_type, _flags, off, _vaddr, paddr, filesz, memsz = struct.unpack_from(
            "<IIQQQQQ", data, phoff + i * phentsize)
        if p_type != 1:
            continue
        assert filesz == memsz and paddr % PAGE == 0 and filesz % PAGE == 0, "unexpected layout"
        for k in range(filesz // PAGE):
            frame = paddr // PAGE + k
            assert frame not in seen, "overlap"
            seen.add(frame)
            yield data[off + k * PAGE: off + (k + 1) * PAGE]


def main(paths):
    total_contents = set()
    dumps = []
    for path in paths:
        contents = {}
        pages = zero = 0
        for page in pages_of(path):
            pages += 1
            if page == ZERO:
                zero += 1
                continue
            h = hashlib.sha1(page).digest()
            contents[h] = contents.get(h, 0) + 1
        nonzero = pages - zero
        dumps.append({"path": path, "pages": pages, "zero_pages": zero, "nonzero_pages": nonzero,
                      "distinct_pages": len(contents), "intra_pages": nonzero - len(contents)})
        total_contents.update(contents)
    D = len(total_contents)
    total = {"dumps": len(dumps),
             "pages": sum(d["pages"] for d in dumps),
             "zero_pages": sum(d["zero_pages"] for d in dumps),
             "nonzero_pages": sum(d["nonzero_pages"] for d in dumps),
             "distinct_pages": D,
             "intra_pages": sum(d["intra_pages"] for d in dumps),
             "inter_pages": sum(d["distinct_pages"] for d in dumps) - D,
             "min_ram_bytes": D * PAGE}
    json.dump({"dumps": dumps, "total": total}, sys.stdout, sort_keys=True)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
