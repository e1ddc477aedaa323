"""From a run folder (samples, dumps, meta.json) to the numbers of the
report: Table I, the gap between potential and achieved sharing with its
causes, settle times.  Dumps are read by dedup-analyze only; its
fingerprints (.fp, documented in docs/fingerprints.md) give the page maps."""
import csv
import glob
import json
import os
import struct
import subprocess
import zlib

from . import host

PAGE = 4096
FP_MAGIC = b"SPFP\r\n\x1a\n"


class AnalysisError(Exception):
    pass


def dedup(args, out_json=None):
    cmd = [host.program("dedup-analyze"), "-q"] + args
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise AnalysisError("dedup-analyze %s: %s" % (" ".join(args[:3]), r.stderr.strip()))
    if out_json:
        with open(out_json, "w") as f:
            f.write(r.stdout)
    return json.loads(r.stdout) if args and ("--json" in args) else r.stdout


def read_fp(path):
    """A fingerprint's contents (key -> copies) and page map (frame -> key or None)."""
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 88 or b[:8] != FP_MAGIC:
        raise AnalysisError("%s: not a fingerprint file" % path)
    if struct.unpack_from("<I", b, len(b) - 8)[0] != zlib.crc32(b[:-8]) or b[-4:] != b"END!":
        raise AnalysisError("%s: fingerprint checksum mismatch" % path)
    flags = struct.unpack_from("<H", b, 18)[0]
    plen = struct.unpack_from("<I", b, 20)[0]
    ncont, nmap, nruns = struct.unpack_from("<QQQ", b, 56)
    off = 80 + (plen + 7) // 8 * 8
    keys, copies = [], {}
    for i in range(ncont):
        k = b[off + 24 * i: off + 24 * i + 16]
        keys.append(k)
        copies[k] = struct.unpack_from("<I", b, off + 24 * i + 16)[0]
    off += 24 * ncont
    if not flags & 1:
        return copies, None
    runs = [struct.unpack_from("<QQ", b, off + 16 * i) for i in range(nruns)]
    off += 16 * nruns
    idx = struct.unpack_from("<%dI" % nmap, b, off)
    pmap, j = {}, 0
    for first, n in runs:
        for fr in range(first, first + n):
            v = idx[j]
            pmap[fr] = None if v == 0xFFFFFFFF else keys[v]
            j += 1
    return copies, pmap


def read_csv(path):
    if not path or not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v, default=0.0):
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def row_at(rows, t):
    """The last sample taken at or before t seconds."""
    best = rows[0] if rows else {}
    for r in rows:
        if num(r.get("elapsed_s")) <= t + 0.001:
            best = r
    return best


def volatile_pages(fp1, fp2):
    """Pages of the first dumps in contents with two or more copies (over all
    dumps) whose frame holds another content in the second dumps."""
    total = {}
    maps1 = []
    for f in fp1:
        c, m = read_fp(f)
        maps1.append(m)
        for k, n in c.items():
            total[k] = total.get(k, 0) + n
    out = []
    for m1, f2 in zip(maps1, fp2):
        _, m2 = read_fp(f2)
        n = 0
        if m1 is not None and m2 is not None:
            for fr, k in m1.items():
                if k is not None and total.get(k, 0) >= 2 and m2.get(fr, b"") != k:
                    n += 1
        out.append(n)
    return out


def churn_pages(vms, guests, t, window):
    """Per guest: the most pages merged in the window before t minus those
    merged at t (pages KSM had merged and lost again to writes)."""
    out = {}
    for g in guests:
        rows = [r for r in vms if r.get("vm") == g and num(r.get("elapsed_s")) <= t + 0.001]
        if not rows:
            out[g] = 0
            continue
        now = num(rows[-1].get("ksm_merging_pages"))
        peak = max([now] + [num(r.get("ksm_merging_pages")) for r in rows if num(r["elapsed_s"]) >= t - window])
        out[g] = int(max(0, peak - now))
    return out


def analyze_run(rdir, baseline_rss=None):
    """Numbers of one run; writes analysis-*.json beside the samples."""
    with open(os.path.join(rdir, "meta.json")) as f:
        meta = json.load(f)
    if meta.get("failed") or len(meta.get("dumps", [])) < 1:
        return {"run": meta["run"], "meta": meta, "error": meta.get("failed") or "no dumps were taken"}
    ksm = meta.get("ksm", {})
    M = int(ksm.get("max_page_sharing", 256))
    uzp = ksm.get("use_zero_pages", "0") == "1"
    d1 = [os.path.join(rdir, g["file"]) for g in meta["dumps"][0]["guests"]]
    d2 = [os.path.join(rdir, g["file"]) for g in meta["dumps"][1]["guests"]] if len(meta["dumps"]) > 1 else []
    fpdir1, fpdir2 = os.path.join(rdir, "fp", "1"), os.path.join(rdir, "fp", "2")
    have_dumps = all(os.path.exists(f) for f in d1)
    os.makedirs(fpdir1, exist_ok=True)
    os.makedirs(fpdir2, exist_ok=True)
    fp1 = [os.path.join(fpdir1, os.path.basename(f) + ".fp") for f in d1]
    fp2 = [os.path.join(fpdir2, os.path.basename(f) + ".fp") for f in d2]
    src1 = d1 if have_dumps else fp1
    zarg = ["--use-zero-pages"] if uzp else []
    extra1 = ["--save-fp=" + fpdir1] if have_dumps else []
    a1 = dedup(["--json", "--ksm", "--max-page-sharing=%d" % M] + zarg + extra1 + src1,
               os.path.join(rdir, "analysis-1.json"))
    anz = dedup(["--json", "--ksm", "--max-page-sharing=%d" % M, "--use-zero-pages"] + fp1,
                os.path.join(rdir, "analysis-1-nonzero.json"))
    a2, diffs, vol = None, [], [0] * len(d1)
    if d2:
        src2 = d2 if all(os.path.exists(f) for f in d2) else fp2
        extra2 = ["--save-fp=" + fpdir2] if src2 is d2 else []
        a2 = dedup(["--json", "--ksm", "--max-page-sharing=%d" % M] + zarg + extra2 + src2,
                   os.path.join(rdir, "analysis-2.json"))
        for x, y in zip(fp1, fp2):
            diffs.append(dedup(["--diff", "--json", x, y]))
        with open(os.path.join(rdir, "diff.json"), "w") as f:
            json.dump(diffs, f, indent=1)
        vol = volatile_pages(fp1, fp2)
    t = a1["total"]
    rnd = meta["dumps"][0]
    g_ksm = rnd["ksm"]
    guests = [g["name"] for g in rnd["guests"]]
    merged = sum(g["ksm_stat"].get("ksm_merging_pages", 0) for g in rnd["guests"])
    zero_g = sum(g["ksm_stat"].get("ksm_zero_pages", 0) for g in rnd["guests"])
    gm = g_ksm.get("pages_shared", 0) + g_ksm.get("pages_sharing", 0)
    exact = abs(gm - merged) <= max(50, 0.01 * gm)
    if exact:
        a_nz = g_ksm.get("pages_sharing", 0)
    else:
        a_nz = int(round(merged * g_ksm.get("pages_sharing", 0) / gm)) if gm else 0
    if not meta.get("sharing", True):
        a_nz, zero_g = 0, 0
    achieved = a_nz + (zero_g if uzp else 0)
    P = t["intra_pages"] + t["inter_pages"]
    K = a1["ksm"]["saved_bytes"] // PAGE
    Knz = anz["ksm"]["pages_sharing"]
    rss = sum(g["rss_bytes"] for g in rnd["guests"])
    mem_pages = meta["memory_mib"] * 256
    nonresident = sum(max(0, mem_pages - g["rss_bytes"] // PAGE) for g in rnd["guests"])
    hostrows = read_csv(os.path.join(rdir, "host.csv"))
    vms = read_csv(os.path.join(rdir, "vms.csv"))
    scans0 = num(hostrows[0].get("full_scans")) if hostrows else 0
    scans = g_ksm.get("full_scans", 0) - scans0
    # time of one full scan, from the last two changes of full_scans before the dump
    change = [num(r["elapsed_s"]) for a, r in zip(hostrows, hostrows[1:])
              if num(r.get("full_scans")) != num(a.get("full_scans")) and num(r["elapsed_s"]) <= rnd["elapsed_s"]]
    scan_s = change[-1] - change[-2] if len(change) >= 2 else None
    window = 2 * scan_s if scan_s else 30.0
    ratio = g_ksm.get("pages_sharing", 0) / gm if gm else 0
    churn = churn_pages(vms, guests, rnd["elapsed_s"], window)
    parts = []
    Zk = K - Knz
    zero = {"dump_zero_pages": t["zero_pages"], "predicted_saved_pages": Zk,
            "never_allocated_pages": min(t["zero_pages"], nonresident),
            "merged_pages": zero_g if uzp else None}
    gap = None
    if meta.get("sharing", True):
        if not uzp:
            # zero pages merge as one more content: take out what they can give
            zero_est = max(0, Zk - zero["never_allocated_pages"])
            a_nz = max(0, a_nz - zero_est)
            zero["merged_pages_estimated"] = zero_est
        gap = P - a_nz
        parts.append(("sharing limit (max_page_sharing=%d)" % M, P - Knz))
        parts.append(("content changed between the two dumps (volatile pages)", sum(vol)))
        unmerg = sum(1 for g in rnd["guests"] if g["ksm_stat"].get("ksm_mergeable", 1) == 0)
        share = (sum(d["nonzero_pages"] for d, g in zip(a1["dumps"], rnd["guests"])
                     if g["ksm_stat"].get("ksm_mergeable", 1) == 0) / max(1, t["nonzero_pages"]))
        parts.append(("memory not mergeable (%d guests without MADV_MERGEABLE)" % unmerg, int(round(P * share))))
        parts.append(("merged, then broken by writes and not merged again yet (last %.0f s)" % window,
                      int(round(sum(churn.values()) * ratio))))
        known = sum(v for _, v in parts)
        if scans < 2:
            parts.append(("not scanned yet (%d full scans since the load started; merging needs 2)" % scans,
                          max(0, gap - known)))
        else:
            parts.append(("not scanned yet (%d full scans since the load started)" % scans, 0))
        parts.append(("unexplained", gap - sum(v for _, v in parts)))
    # settle: first sample reaching 90 % of the saving at the dump
    settle = meta.get("settle")
    p90 = None
    if hostrows and meta.get("sharing", True):
        target = num(row_at(hostrows, rnd["elapsed_s"]).get("saved_bytes")) * 0.9
        for r in hostrows:
            if target > 0 and num(r.get("saved_bytes")) >= target:
                p90 = num(r["elapsed_s"])
                break
    res = {
        "run": meta["run"], "meta": meta, "page_size": PAGE,
        "dumps": [{"guest": g, "pages": d["pages"], "zero_pages": d["zero_pages"],
                   "nonzero_pages": d["nonzero_pages"], "distinct_pages": d["distinct_pages"],
                   "intra_pages": d["intra_pages"], "ksm_merging_pages": gg["ksm_stat"].get("ksm_merging_pages"),
                   "ksm_zero_pages": gg["ksm_stat"].get("ksm_zero_pages"), "rss_bytes": gg["rss_bytes"],
                   "volatile_pages": v, "churn_pages": churn.get(g, 0),
                   "diff": diffs[i] if diffs else None}
                  for i, (g, d, gg, v) in enumerate(zip(guests, a1["dumps"], rnd["guests"], vol))],
        "total": t, "total_2": a2["total"] if a2 else None,
        "potential_pages": P, "zero_pages": t["zero_pages"],
        "predicted": {"saved_pages": K, "nonzero_saved_pages": Knz, "ksm": a1["ksm"]}, "zero": zero,
        "achieved": {"saved_pages": achieved, "nonzero_saved_pages": a_nz, "zero_pages": zero_g,
                     "guest_merging_pages": merged, "global": g_ksm, "exact": exact},
        "gap_pages": gap, "gap_parts": parts, "full_scans": scans, "scan_seconds": scan_s,
        "rss_bytes": rss, "used_bytes": rss - achieved * PAGE if meta.get("sharing", True) else rss,
        "dump_elapsed_s": rnd["elapsed_s"], "settle": settle, "p90_s": p90,
    }
    with open(os.path.join(rdir, "analysis.json"), "w") as f:
        json.dump(res, f, indent=1)
    return res


def remove_dumps(rdir):
    for f in glob.glob(os.path.join(rdir, "dumps", "*")):
        os.remove(f)
