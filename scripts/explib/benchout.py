"""The results of a benchmark scenario: every run (bench-runs.csv), the
summary per benchmark, place and KSM mode (bench-summary.csv), both with the
KSM figures in bench.json, and the report (report.md, report.html).  The
schema: docs/benchmarks.md."""
import base64
import csv
import html
import json
import os
import statistics

from . import benchtables
from .benchtables import ratio

SCHEMA = "samepage-bench/2"
RUN_FIELDS = ["bench", "metric", "unit", "better", "env", "ksm", "guest", "repeat", "discarded", "value", "phase",
              "guests_at_once", "stress", "status", "note"]
SUMMARY_FIELDS = ["bench", "metric", "unit", "better", "env", "ksm", "guests", "runs", "kept", "median",
                  "min", "max", "spread_pct", "normalized", "ksm_on_vs_off", "saved_bytes",
                  "ksmd_cpu_pct", "host_cpu_pct"]


def summarize(rows, modes):
    """One row per (benchmark, env, KSM mode): the median of the kept runs
    (every guest's runs after its first) and their spread; VM rows
    normalized against the native median so that 1 is native speed and
    higher is better; KSM-on rows compared with KSM off the same way."""
    groups = {}
    rows = [r for r in rows if r["phase"] == "suite" and r["status"] == "ok"]
    for r in rows:
        groups.setdefault((r["bench"], r["env"], r["ksm"]), []).append(r)
    med = {}
    out = []
    for (bench, env, ksm), rs in groups.items():
        kept = [r["value"] for r in rs if not r["discarded"]]
        m = statistics.median(kept) if kept else None
        med[(bench, env, ksm)] = m
        out.append({"bench": bench, "metric": rs[0]["metric"], "unit": rs[0]["unit"], "better": rs[0]["better"],
                    "env": env, "ksm": ksm, "guests": len({r["guest"] for r in rs}), "runs": len(rs),
                    "kept": len(kept), "median": m, "min": min(kept) if kept else None,
                    "max": max(kept) if kept else None,
                    "spread_pct": round((max(kept) - min(kept)) / m * 100, 2) if kept and m else None})
    for s in out:
        s["normalized"] = s["ksm_on_vs_off"] = None
        s["saved_bytes"] = s["ksmd_cpu_pct"] = s["host_cpu_pct"] = None
        if s["env"] != "vm":
            continue
        s["normalized"] = ratio(med.get((s["bench"], "native", "-")), s["median"], s["better"])
        if s["ksm"] == "on":
            s["ksm_on_vs_off"] = ratio(med.get((s["bench"], "vm", "off")), s["median"], s["better"])
        # the benchmark's own window of its mode (the whole mode in older runs)
        mode = modes.get(s["ksm"], {})
        w = mode.get("benches", {}).get(s["bench"], mode)
        s["saved_bytes"] = w.get("saved_bytes")
        s["ksmd_cpu_pct"] = w.get("ksmd_cpu_pct")
        s["host_cpu_pct"] = w.get("host_cpu_pct")
    order = {"native": 0, "vm": 1}
    korder = {"-": 0, "off": 1, "on": 2}
    bench_order = []
    for r in rows:
        if r["bench"] not in bench_order:
            bench_order.append(r["bench"])
    out.sort(key=lambda s: (bench_order.index(s["bench"]), order[s["env"]], korder[s["ksm"]]))
    return out


def _csv(path, fields, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else str(r[k]).lower() if isinstance(r[k], bool) else r[k])
                        for k in fields})


def write(out, sc, rows, modes, native_missing, scale_modes=None, isolation=None):
    summary = summarize(rows, modes)
    scale = benchtables.scale_table(rows, scale_modes or {})
    iso = benchtables.isolation_table(rows, isolation or {})
    _csv(os.path.join(out, "bench-runs.csv"), RUN_FIELDS, rows)
    _csv(os.path.join(out, "bench-summary.csv"), SUMMARY_FIELDS, summary)
    if scale:
        _csv(os.path.join(out, "bench-scale.csv"), benchtables.SCALE_FIELDS, scale)
    if iso:
        _csv(os.path.join(out, "bench-isolation.csv"), benchtables.ISOLATION_FIELDS, iso)
    doc = {"schema": SCHEMA, "scenario": sc["name"], "description": sc["description"],
           "guests": sc["guests"], "memory_mib": sc["memory_mib"], "vcpus": sc["vcpus"], "accel": sc["accel"],
           "repeats": sc["repeats"], "discarded_first": True, "ksm_settings": sc["ksm"],
           "ksm_modes": modes, "benches": [b["label"] for b in sc["benches"]],
           "native_missing": native_missing,
           "summary": summary,
           "scale": {"guest_counts": sc["scale"], "memory_total_mib": sc["scale_memory_mib"],
                     "ksm_modes": sc["scale_ksm"], "steps": scale_modes or {}, "table": scale} if sc["scale"] else None,
           "isolation": {"stress": sc["isolation"], "loads": isolation or {}, "table": iso}
           if sc["isolation"] else None,
           "runs": rows}
    with open(os.path.join(out, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1)
    md = report_md(sc, summary, modes, native_missing) + "\n".join(
        [""] + benchtables.scale_md(scale) + benchtables.isolation_md(iso) + charts(out, summary, scale) +
        [FILES, ""])
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(md)
    imgs = ""
    for kind in ("normalized", "ksm", "scale"):
        png = os.path.join(out, "charts", "bench-%s.png" % kind)
        if os.path.exists(png):
            with open(png, "rb") as f:
                imgs += "<p><img alt='%s' src='data:image/png;base64,%s'></p>\n" % (
                    kind, base64.b64encode(f.read()).decode())
    with open(os.path.join(out, "report.html"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>%s</title></head><body><pre>\n%s</pre>\n"
                "%s</body></html>\n" % (html.escape(sc["name"]), html.escape(md), imgs))
    return doc


def charts(out, summary, scale):
    """The charts (plot-bench) as PNG and SVG in charts/; report lines."""
    from . import report  # the chart helper of the experiment report
    cdir = os.path.join(out, "charts")
    wanted = []
    if any(s["normalized"] is not None for s in summary):
        wanted.append(("normalized", "bench-summary.csv", "Speed in the guests against native"))
    if any(s["ksm_on_vs_off"] is not None for s in summary):
        wanted.append(("ksm", "bench-summary.csv", "KSM on against KSM off"))
    if any(s["guest"] == "all" and s["normalized"] is not None for s in scale):
        wanted.append(("scale", "bench-scale.csv", "Scalability"))
    if not wanted:
        return []
    os.makedirs(cdir, exist_ok=True)
    L = ["## Charts", ""]
    for kind, src, title in wanted:
        png, err = report.chart("plot-bench", [kind, os.path.join(out, src)], os.path.join(cdir, "bench-" + kind),
                                os.path.join(cdir, "data-" + kind))
        L.append("![%s](charts/bench-%s.png)" % (title, kind) if png else "%s: no chart (%s)" % (title, err))
        L.append("")
    return L


def _f(v, fmt="%.3g"):
    return "–" if v is None else fmt % v


def report_md(sc, summary, modes, native_missing):
    L = ["# Benchmarks: %s" % sc["name"], ""]
    if sc["description"]:
        L += [sc["description"], ""]
    L += ["%d guests of %d MiB, %d vCPU (%s); every benchmark run %d times per place, the first run "
          "discarded; median and spread ((max − min) / median) of the rest. Normalized: VM against native, "
          "1 = native, higher is better (VM / native for throughput, native / VM for times)." %
          (sc["guests"], sc["memory_mib"], sc["vcpus"], sc["accel"], sc["repeats"]), "",
          "## Normalized results", "",
          "| benchmark | metric | where | KSM | runs (kept) | median | spread | normalized |",
          "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        L.append("| %s | %s (%s, %s is better) | %s | %s | %d (%d) | %s | %s %% | %s |" %
                 (s["bench"], s["metric"], s["unit"], s["better"], s["env"], s["ksm"], s["runs"], s["kept"],
                  _f(s["median"], "%.4g"), _f(s["spread_pct"], "%.1f"), _f(s["normalized"])))
    for b, why in native_missing.items():
        L.append("")
        L.append("No native run of %s (%s): its rows are not normalized." % (b, why))
    L += ["", "## What KSM costs and saves", "",
          "Per benchmark, over its own runs in every guest: KSM on against off (1 = no change, higher "
          "is better), KSM's saving when the benchmark ended, ksmd's and the host's CPU while it ran.", "",
          "| benchmark | KSM on vs off | memory saved (MiB) | ksmd CPU (% of a core) | host CPU (%) |",
          "|---|---|---|---|---|"]
    for s in summary:
        if s["env"] == "vm" and s["ksm"] == "on":
            L.append("| %s | %s | %s | %s | %s |" % (s["bench"], _f(s["ksm_on_vs_off"]),
                                                     _f((s["saved_bytes"] or 0) / 2 ** 20, "%.1f"),
                                                     _f(s["ksmd_cpu_pct"], "%.1f"), _f(s["host_cpu_pct"], "%.1f")))
    L += ["", "Per KSM mode (all benchmarks of the mode together):", "",
          "| KSM | seconds | saved (MiB) | ksmd CPU (%) | host CPU (%) | guests' resident memory (MiB) |",
          "|---|---|---|---|---|---|"]
    for mode, m in modes.items():
        L.append("| %s | %.0f | %.1f | %s | %s | %.0f |" % (mode, m["seconds"], m["saved_bytes"] / 2 ** 20,
                                                            _f(m["ksmd_cpu_pct"], "%.1f"),
                                                            _f(m["host_cpu_pct"], "%.1f"),
                                                            m["guest_rss_bytes"] / 2 ** 20))
    return "\n".join(L + [""])


FILES = ("Files: bench-runs.csv (every run), bench-summary.csv (the suite's tables), bench-scale.csv and "
         "bench-isolation.csv (the phases' tables, when run), bench.json (all of them, with the KSM counters), "
         "charts/, console/ (the guests' serial logs), events.log.")
