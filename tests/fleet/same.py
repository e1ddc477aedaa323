#!/usr/bin/env python3
"""same.py A B: compare two dedup-analyze JSON reports field for field.
Prints "same" and the number of fields compared, or the first field that
differs.  Only the timings ("seconds") may differ."""
import json
import sys


def walk(a, b, path, n):
    if isinstance(a, dict) and isinstance(b, dict):
        if sorted(a) != sorted(b):
            return None, "%s: keys %s != %s" % (path, sorted(a), sorted(b))
        for k in a:
            if k == "seconds":
                continue
            n, err = walk(a[k], b[k], path + "." + k, n)
            if err:
                return n, err
        return n, None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return n, "%s: %d items != %d" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            n, err = walk(x, y, "%s[%d]" % (path, i), n)
            if err:
                return n, err
        return n, None
    if type(a) is not type(b) or a != b:
        return n, "%s: %r != %r" % (path, a, b)
    return n + 1, None


def main():
    with open(sys.argv[1]) as f:
        a = json.load(f)
    with open(sys.argv[2]) as f:
        b = json.load(f)
    n, err = walk(a, b, "", 0)
    if err:
        print("differs at " + err)
        return 1
    print("same (%d fields)" % n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
