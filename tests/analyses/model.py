#!/usr/bin/env python3
"""Expected results of every analysis, computed from the fixture specs alone
(the rules of docs/analyses.md, written again here, sharing no code with
dedup-analyze).  t-analyses.sh compares dedup-analyze's output with them.

A spec (tests/analyses/*.spec) is the fixture builders' language (the
"ram PFN N CONTENT" lines of tests/formats/fixture.h; other lines are not
read): page id 0 is a zero page, k > 0 pattern page k, distinct for distinct
k.  A dump is a map frame -> content id (0 = zero).

Usage: model.py WHAT [ARGS] SPEC...   prints one Python literal:
  ksm M Z        (pages_shared, pages_sharing, pages_unshared,
                 stable_node_chains, stable_node_dups, ksm_zero_pages,
                 saved_bytes, rmap_items, general_profit); Z = 1: use_zero_pages
  tps G          (nonzero, groups, full, salted, intra saved pages); G is
                 a comma list of one group name per spec
  intra          (intra-VM saved pages, distinct pages of all VMs alone)
  pairs          [(common, a_pages, b_pages, union, jaccard, saved_together)]
  place K        ((optimum pages, first-fit pages, lower bound pages), every
                 optimal plan: sorted lists of dump names); by trying every plan
  huge F         (regions, shareable, saved_4k, identical_saved, split 50/90/100)
  degree         [(copies_min, copies_max, contents, pages)]
  top N          [(copies, dumps, class)]; pattern pages are class 'other'
  diff           (unchanged, unchanged_zero, changed, gone, new, pages A,
                 pages B, contents_kept, after_contents)
  pages          present pages of each spec
"""
import itertools
import math
import sys
from collections import Counter


def content(c, i):
    """Content id of page i of a segment whose CONTENT is c."""
    if c == "zero":
        return 0
    kind, _, arg = c.partition(":")
    if kind == "same":
        return int(arg, 0)
    if kind == "seq":
        return int(arg, 0) + i
    if kind == "cycle":
        k, m = (int(x, 0) for x in arg.split(":"))
        return k + i % m if m else k
    if kind == "ids":
        ids = []
        for p in arg.split(","):
            k, _, n = p.partition("*")
            ids += [int(k, 0)] * int(n or 1)
        return ids[i]
    raise ValueError("unknown content " + c)


def load(path):
    frames = {}
    for line in open(path):
        line = line.split("#")[0].split()
        if not line or line[0] != "ram":
            continue
        pfn, n = int(line[1], 0), int(line[2], 0)
        for i in range(n):
            frames.setdefault(pfn + i, content(line[3], i))
    return frames


def nonzero(d):
    return [k for k in d.values() if k]


def copies(dumps):
    return Counter(k for d in dumps for k in nonzero(d))


def ksm(dumps, m, use_zero):
    c = copies(dumps)
    zeros = sum(1 for d in dumps for k in d.values() if k == 0)
    if not use_zero and zeros:
        c[0] = zeros
    shared = sharing = unshared = chains = dups = 0
    for k in c.values():
        # full KSM pages of m mappings, one more for two or more left over;
        # a single page left beside a full KSM page is in no counter, a
        # content's only copy is unshared; two KSM pages or more: a chain
        q, r = divmod(k, m)
        stable = q + (r >= 2)
        shared += stable
        sharing += k - stable - (r == 1)
        unshared += k == 1
        if stable >= 2:
            chains += 1
            dups += stable
    zp = zeros if use_zero else 0
    rmap = sum(len(d) for d in dumps)
    saved = (sharing + zp) * 4096
    return (shared, sharing, unshared, chains, dups, zp, saved, rmap, saved - rmap * 64)


def tps(dumps, groups):
    n = sum(len(nonzero(d)) for d in dumps)
    full = n - len(copies(dumps))
    by = {}
    for d, g in zip(dumps, groups):
        by.setdefault(g, set()).update(nonzero(d))
    salted = n - sum(len(s) for s in by.values())
    intra = n - sum(len(set(nonzero(d))) for d in dumps)
    return (n, len(by), full, salted, intra)


def pairs(dumps):
    out = []
    for i in range(len(dumps)):
        for j in range(i + 1, len(dumps)):
            a, b = set(nonzero(dumps[i])), set(nonzero(dumps[j]))
            com = a & b
            na, nb = nonzero(dumps[i]), nonzero(dumps[j])
            out.append((len(com), sum(k in com for k in na), sum(k in com for k in nb),
                        len(a | b), len(com) / len(a | b), len(na) + len(nb) - len(a | b)))
    return out


def place(dumps, names, k):
    """Every plan of the dumps on k hosts, at most ceil(V / k) each, tried:
    the least total distinct non-zero contents, first fit in the given
    order, the lower bound (all on one host), and every optimal plan as a
    sorted list of sorted dump-name lists."""
    cap = math.ceil(len(dumps) / k)
    sets = [set(nonzero(d)) for d in dumps]
    mem = lambda hs: sum(len(set().union(*[sets[x] for x in h])) for h in hs)
    ff = [list(range(len(dumps)))[h * cap:(h + 1) * cap] for h in range(k)]
    best, plans = None, set()
    for a in itertools.product(range(k), repeat=len(dumps)):
        hs = [[i for i in range(len(dumps)) if a[i] == h] for h in range(k)]
        if max(len(h) for h in hs) > cap:
            continue
        m = mem(hs)
        key = tuple(sorted(tuple(sorted(names[i] for i in h)) for h in hs if h))
        if best is None or m < best:
            best, plans = m, {key}
        elif m == best:
            plans.add(key)
    return ((best, mem(ff), len(set().union(*sets))), sorted([list(map(list, p)) for p in plans]))


def huge(dumps, f):
    c = copies(dumps)
    regions = {}
    for v, d in enumerate(dumps):
        for pfn, k in d.items():
            regions.setdefault((v, pfn // f), {})[pfn % f] = k
    score = {r: sum(1 for k in p.values() if k and c[k] > 1) for r, p in regions.items()}
    saved = sum(c.values()) - len(c)
    order = sorted(regions, key=lambda r: -score[r])
    split, n_in, got, need = 0, Counter(), 0, {}
    for r in order:
        if score[r] == 0:
            break
        split += 1
        for k in regions[r].values():
            if k:
                got += n_in[k] > 0
                n_in[k] += 1
        for pct in (50, 90, 100):
            if pct not in need and got * 100 >= pct * saved:
                need[pct] = split
    same = Counter(tuple(sorted(p.items())) for p in regions.values())
    ident = sum((n - 1) * sum(1 for _, k in key if k) for key, n in same.items())
    return (len(regions), sum(1 for s in score.values() if s), saved, ident,
            need.get(50, 0), need.get(90, 0), need.get(100, 0))


def degree(dumps):
    c = copies(dumps)
    out = {}
    for k in c.values():
        hi = 1 << max(0, (k - 1).bit_length())
        lo = hi // 2 + 1 if hi > 1 else 1
        b = out.setdefault((lo, hi), [0, 0])
        b[0] += 1
        b[1] += k
    return [(lo, hi, n, p) for (lo, hi), (n, p) in sorted(out.items())]


def top(dumps, n):
    c = Counter(k for d in dumps for k in d.values())
    held = {k: sum(1 for d in dumps if k in d.values()) for k in c}
    best = sorted(c, key=lambda k: -c[k])[:n]
    return [(c[k], held[k], "zero" if k == 0 else "other") for k in best]


def diff(a, b):
    unch = [p for p in a if p in b and a[p] == b[p]]
    after = set(nonzero(b))
    return (len(unch), sum(1 for p in unch if a[p] == 0), sum(1 for p in a if p in b and a[p] != b[p]),
            sum(1 for p in a if p not in b), sum(1 for p in b if p not in a), len(a), len(b),
            len(after & set(nonzero(a))), len(after))


def main(argv):
    what, args = argv[1], argv[2:]
    nargs = {"ksm": 2, "tps": 1, "place": 1, "huge": 1, "top": 1}.get(what, 0)
    params, specs = args[:nargs], args[nargs:]
    dumps = [load(s) for s in specs]
    names = [s.split("/")[-1].replace(".spec", ".elf") for s in specs]
    if what == "ksm":
        r = ksm(dumps, int(params[0]), params[1] == "1")
    elif what == "tps":
        r = tps(dumps, params[0].split(","))
    elif what == "intra":
        t = tps(dumps, names)
        r = (t[4], sum(len(set(nonzero(d))) for d in dumps))
    elif what == "pairs":
        r = pairs(dumps)
    elif what == "place":
        r = place(dumps, names, int(params[0]))
    elif what == "huge":
        r = huge(dumps, int(params[0]))
    elif what == "degree":
        r = degree(dumps)
    elif what == "top":
        r = top(dumps, int(params[0]))
    elif what == "diff":
        r = diff(dumps[0], dumps[1])
    elif what == "pages":
        r = [len(d) for d in dumps]
    else:
        sys.exit("model.py: unknown question " + what)
    print(r)


if __name__ == "__main__":
    main(sys.argv)
