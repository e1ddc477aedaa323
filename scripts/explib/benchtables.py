"""The scalability and isolation tables of a benchmark scenario
(bench-scale.csv, bench-isolation.csv and their report sections).  DNR
runs have no value: a guest with no kept run is DNR in the tables, never
a zero.  Schema: docs/benchmarks.md."""
import statistics

SCALE_FIELDS = ["bench", "metric", "unit", "better", "ksm", "guests", "memory_mib", "guest", "status", "runs",
                "kept", "median", "normalized", "dnr", "note"]
ISOLATION_FIELDS = ["bench", "metric", "unit", "better", "stress", "kept", "median", "alone_median",
                    "degradation_pct", "stressor_status", "stressor_metric", "stressor_median",
                    "stress_outlasted_runs", "status"]


def ratio(ref, value, better):
    """value against ref, > 1 when value is better: value/ref for higher is
    better, ref/value for lower is better; None without both."""
    if not ref or not value:
        return None
    return round(value / ref if better == "higher" else ref / value, 4)


def _kept(rs):
    return [r["value"] for r in rs if not r["discarded"] and r["status"] == "ok"]


def _first(rs, key):
    return next((r[key] for r in rs if r[key] is not None), None)


def native_medians(rows):
    out = {}
    for r in rows:
        if r["env"] == "native" and not r["discarded"] and r["status"] == "ok":
            out.setdefault(r["bench"], []).append(r["value"])
    return {b: statistics.median(v) for b, v in out.items()}


def scale_table(rows, scale_modes):
    """Per benchmark, KSM mode and guest count: one row per guest (its
    median, or DNR) and an 'all' row: the aggregate over the guests that
    finished (the sum of their medians when higher is better — the total
    throughput —, their mean when lower is better), normalized against one
    native run of the benchmark, and how many guests were DNR."""
    nat = native_medians(rows)
    groups = {}
    for r in rows:
        if r["phase"] == "scale":
            groups.setdefault((r["bench"], r["ksm"], r["guests_at_once"]), []).append(r)
    out = []
    for (bench, ksm, n), rs in groups.items():
        metric, unit, better = _first(rs, "metric"), _first(rs, "unit"), _first(rs, "better")
        mem = scale_modes.get("%d %s" % (n, ksm), {}).get("memory_mib")
        base = {"bench": bench, "metric": metric, "unit": unit, "better": better, "ksm": ksm, "guests": n,
                "memory_mib": mem}
        meds, dnr = [], 0
        guests = sorted({r["guest"] for r in rs})
        for gname in guests:
            gr = [r for r in rs if r["guest"] == gname]
            kept = _kept(gr)
            bad = [r["note"] for r in gr if r["status"] == "DNR"]
            if kept and not bad:
                m = statistics.median(kept)
                meds.append(m)
                out.append(dict(base, guest=gname, status="ok", runs=len(gr), kept=len(kept), median=m,
                                normalized=ratio(nat.get(bench), m, better), dnr=0, note=""))
            else:  # a guest that missed a run: DNR (its partial runs are not a result)
                dnr += 1
                out.append(dict(base, guest=gname, status="DNR", runs=len(gr), kept=len(kept), median=None,
                                normalized=None, dnr=1, note=bad[0] if bad else "no kept run"))
        agg = None
        if meds:
            agg = sum(meds) if better == "higher" else statistics.mean(meds)
        status = "ok" if not dnr else ("DNR" if not meds else "partial")
        per = statistics.median(meds) if meds else None
        out.append(dict(base, guest="all", status=status, runs=len(rs), kept=len(_kept(rs)), median=agg,
                        normalized=ratio(nat.get(bench), per, better), dnr=dnr,
                        note="%d of %d guests DNR" % (dnr, len(guests)) if dnr else ""))
    order = []
    for r in rows:
        if r["phase"] == "scale" and r["bench"] not in order:
            order.append(r["bench"])
    out.sort(key=lambda x: (order.index(x["bench"]), x["ksm"], x["guests"], x["guest"] == "all", x["guest"]))
    return out


def isolation_table(rows, iso):
    """Per benchmark and stress load: the measured guest's median under the
    load against its median alone, as a degradation in % (positive: slower
    under the load), and the stressed guest's own result (or DNR)."""
    groups = {}
    for r in rows:
        if r["phase"] in ("isolation", "isolation-stressor"):
            groups.setdefault((r["phase"], r["bench"], r["stress"]), []).append(r)
    out = []
    benches = []
    for (ph, b, _st) in groups:
        if ph == "isolation" and b not in benches:
            benches.append(b)
    for b in benches:
        alone = groups.get(("isolation", b, "none"), [])
        am = statistics.median(_kept(alone)) if _kept(alone) else None
        better = _first(alone, "better")
        for (ph, bb, st), rs in groups.items():
            if ph != "isolation" or bb != b or st == "none":
                continue
            kept = _kept(rs)
            dnr = any(r["status"] == "DNR" for r in rs)
            m = statistics.median(kept) if kept and not dnr else None
            rt = ratio(am, m, better or _first(rs, "better"))
            srun = groups.get(("isolation-stressor", "stress %s" % st, st), [])
            sk = _kept(srun)
            sdnr = any(r["status"] == "DNR" for r in srun)
            cov = [x["stress_outlasted_benchmark"] for x in iso.get(b, {}).get(st, [])[1:]]
            out.append({"bench": b, "metric": _first(rs, "metric"), "unit": _first(rs, "unit"),
                        "better": better or _first(rs, "better"), "stress": st, "kept": len(kept), "median": m,
                        "alone_median": am, "degradation_pct": round((1 - rt) * 100, 1) if rt else None,
                        "stressor_status": "DNR" if sdnr or not sk else "ok",
                        "stressor_metric": _first(srun, "metric"),
                        "stressor_median": statistics.median(sk) if sk and not sdnr else None,
                        "stress_outlasted_runs": "%d/%d" % (sum(cov), len(cov)),
                        "status": "DNR" if m is None else "ok"})
    return out


def _f(v, fmt="%.3g"):
    return "–" if v is None else fmt % v


def scale_md(table):
    if not table:
        return []
    L = ["## Scalability", "",
         "The same benchmark in n guests at once, the scenario's memory split between them. Aggregate: the sum "
         "of the guests' medians when higher is better (total throughput), their mean when lower is better; "
         "per guest: the median of the guests' medians against the native median (1 = native speed). DNR: "
         "the guest failed to boot, stopped or gave no result in time — it counts in no aggregate.", "",
         "| benchmark | KSM | guests | MiB each | aggregate | per guest, normalized | DNR | guests' medians |",
         "|---|---|---|---|---|---|---|---|"]
    for s in table:
        if s["guest"] != "all":
            continue
        per = [x for x in table if x["bench"] == s["bench"] and x["ksm"] == s["ksm"] and
               x["guests"] == s["guests"] and x["guest"] != "all"]
        L.append("| %s | %s | %d | %s | %s | %s | %s | %s |" %
                 (s["bench"], s["ksm"], s["guests"], _f(s["memory_mib"], "%d"),
                  "DNR" if s["median"] is None else "%.4g %s" % (s["median"], s["unit"] or ""),
                  _f(s["normalized"]), s["dnr"] or "–",
                  ", ".join("DNR" if x["median"] is None else "%.4g" % x["median"] for x in per)))
    return L + [""]


def isolation_md(table):
    if not table:
        return []
    benches = []
    for r in table:
        if r["bench"] not in benches:
            benches.append(r["bench"])
    stresses = []
    for r in table:
        if r["stress"] not in stresses:
            stresses.append(r["stress"])
    L = ["## Isolation", "",
         "Degradation of the measured guest's benchmark while the other guest runs a stress load, against the "
         "same benchmark with the other guest idle (KSM off): in %, positive = slower, DNR = no result. "
         "Beside it, the stressed guest's own result (bogo-ops/s, or Mbit/s for network).", "",
         "| stress | " + " | ".join("%s: measured guest | stressed guest" % b for b in benches) + " |",
         "|---|" + "---|---|" * len(benches)]
    for st in stresses:
        cells = []
        for b in benches:
            r = next((x for x in table if x["bench"] == b and x["stress"] == st), None)
            if r is None:
                cells += ["–", "–"]
                continue
            cells.append("DNR" if r["status"] == "DNR" else "%+.1f %%" % r["degradation_pct"]
                         if r["degradation_pct"] is not None else "–")
            cells.append("DNR" if r["stressor_status"] == "DNR" else _f(r["stressor_median"], "%.4g"))
        L.append("| %s | %s |" % (st, " | ".join(cells)))
    L += ["", "Alone: " + "; ".join("%s %s %s" % (b, _f(next(x["alone_median"] for x in table if x["bench"] == b),
                                                        "%.4g"),
                                                 next(x["unit"] for x in table if x["bench"] == b) or "")
                                    for b in benches), ""]
    return L
