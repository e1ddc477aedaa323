"""report.md and a self-contained report.html (charts embedded) from the
analyzed runs; charts drawn by the gnuplot scripts."""
import base64
import html
import json
import os
import subprocess

from . import host

MIB = 2 ** 20
PAGE = 4096
STUDY_KVM_I = {"potential": 630, "intra": 8241, "inter": 757, "with": 965, "without": 10014}


def mib(pages_or_bytes, pages=True):
    if pages_or_bytes is None:
        return "–"
    v = pages_or_bytes * PAGE / MIB if pages else pages_or_bytes / MIB
    return "{:,.1f}".format(v)


def pct(a, b):
    return "%.1f %%" % (100.0 * a / b) if b else "–"


def chart(script, args, out, keep):
    """Draw PNG and SVG; returns the PNG path or None (with the error)."""
    err = None
    for ext in ("png", "svg"):
        r = subprocess.run([host.script(script)] + args + ["-o", out + "." + ext] +
                           (["--keep=" + keep] if ext == "png" else []), capture_output=True, text=True)
        if r.returncode != 0:
            err = r.stderr.strip()
    return (out + ".png", None) if err is None else (None, err)


def find_run(res, wr):
    for r in res:
        if r["meta"].get("sharing", True) and any(w.startswith("memload") and ("wr=%s" % wr) in w.split()
                                                  for w in r["meta"]["workloads"]):
            return r
    return None


def make_charts(outdir, res):
    cdir = os.path.join(outdir, "charts")
    os.makedirs(cdir, exist_ok=True)
    ok = [r for r in res if "error" not in r]
    csvs = [os.path.join(r["dir"], "host.csv") for r in ok if os.path.exists(os.path.join(r["dir"], "host.csv"))]
    labels = ",".join(r["run"].replace(",", ";") for r in ok)
    charts = []
    if not csvs:
        return charts
    c, e = chart("plot-used", csvs + ["--labels=" + labels, "--title=Guest RAM in use (Σ RSS − KSM saving)"],
                 os.path.join(cdir, "used"), os.path.join(cdir, "used.data"))
    charts.append(("Guest RAM in use over time, one curve per run; host memory in use dashed", c, e))
    best, worst = find_run(ok, "0"), find_run(ok, "1")
    pair = [r for r in (best, worst) if r] or ok
    c, e = chart("plot-cpu", [os.path.join(r["dir"], "host.csv") for r in pair] +
                 ["--labels=" + ",".join(r["run"] for r in pair), "--title=Host CPU and ksmd: best and worst case"],
                 os.path.join(cdir, "cpu"), os.path.join(cdir, "cpu.data"))
    charts.append(("Host CPU (busy) and ksmd CPU over time%s" %
                   (": wr = 0 and wr = 1" if best and worst else ""), c, e))
    c, e = chart("plot-settle", csvs + ["--labels=" + labels, "--settle=" + ",".join(
        ("%g" % r["settle"]["settled_s"]) if r.get("settle") else "" for r in ok)],
                 os.path.join(cdir, "settle"), os.path.join(cdir, "settle.data"))
    charts.append(("Memory saved by KSM rising to its settle point (dashed: when ksm-sample saw it settle)", c, e))
    c, e = chart("plot-sharing", csvs + ["--labels=" + labels, "--title=KSM saving rising to its settle point"],
                 os.path.join(cdir, "sharing"), os.path.join(cdir, "sharing.data"))
    charts.append(("KSM saving and page counters over time (settle points in the table above)", c, e))
    bars = os.path.join(cdir, "bars.csv")
    with open(bars, "w") as f:
        f.write("label,potential_bytes,predicted_KSM_bytes,achieved_bytes\n")  # non-zero pages
        for r in ok:
            if r["meta"].get("sharing", True):
                f.write("%s,%d,%d,%d\n" % (r["run"].replace(",", ";"), r["potential_pages"] * PAGE,
                                           r["predicted"]["nonzero_saved_pages"] * PAGE,
                                           r["achieved"]["nonzero_saved_pages"] * PAGE))
    c, e = chart("plot-bars", [bars, "--title=Saving on non-zero pages: potential (dumps), predicted for KSM, achieved"],
                 os.path.join(cdir, "bars"), os.path.join(cdir, "bars.data"))
    charts.append(("Potential saving (intra + inter, non-zero), KSM's predicted saving and the achieved one", c, e))
    for r in ok:
        v = os.path.join(r["dir"], "vms.csv")
        if os.path.exists(v):
            c, e = chart("plot-vms", [v, "--title=Memory per guest: run " + r["run"]],
                         os.path.join(cdir, "vms-" + os.path.basename(r["dir"])),
                         os.path.join(cdir, "vms-" + os.path.basename(r["dir"]) + ".data"))
            charts.append(("Per guest, run %s: resident memory and pages merged by KSM" % r["run"], c, e))
    return charts


class Doc:
    """Blocks rendered to Markdown and to HTML."""

    def __init__(self):
        self.blocks = []

    def h(self, level, text):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def table(self, head, rows, align=None):
        self.blocks.append(("t", head, rows, align))

    def pre(self, text):
        self.blocks.append(("pre", text))

    def img(self, caption, png):
        self.blocks.append(("i", caption, png))

    def md(self, base):
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "pre":
                out.append("```\n" + b[1].rstrip() + "\n```")
            elif b[0] == "t":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "|".join("---:" if (b[3] and b[3][i] == "r") else "---" for i in range(len(b[1]))) + "|")
                for r in b[2]:
                    out.append("| " + " | ".join(str(c) for c in r) + " |")
            elif b[0] == "i":
                if b[2]:
                    out.append("![%s](%s)\n\n*%s* (also as [SVG](%s))" %
                               (b[1], os.path.relpath(b[2], base), b[1], os.path.relpath(b[2][:-4] + ".svg", base)))
                else:
                    out.append("*%s*: not drawn" % b[1])
            out.append("")
        return "\n".join(out)

    def html(self, title):
        out = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>%s</title>" % html.escape(title),
               "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
               "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:3px 8px}"
               "th{background:#eee}td.r{text-align:right}img{max-width:100%;border:1px solid #ddd}"
               "figcaption{font-style:italic;margin-bottom:1.5em}</style></head><body>"]
        for b in self.blocks:
            if b[0] == "h":
                out.append("<h%d>%s</h%d>" % (b[1], html.escape(b[2]), b[1]))
            elif b[0] == "p":
                out.append("<p>%s</p>" % html.escape(b[1]).replace("`", ""))
            elif b[0] == "pre":
                out.append("<pre>%s</pre>" % html.escape(b[1]))
            elif b[0] == "t":
                out.append("<table><tr>" + "".join("<th>%s</th>" % html.escape(c) for c in b[1]) + "</tr>")
                for r in b[2]:
                    out.append("<tr>" + "".join("<td%s>%s</td>" % (" class='r'" if b[3] and b[3][i] == "r" else "",
                                                                   html.escape(str(c))) for i, c in enumerate(r)) + "</tr>")
                out.append("</table>")
            elif b[0] == "i":
                if b[2]:
                    with open(b[2], "rb") as f:
                        data = base64.b64encode(f.read()).decode()
                    out.append("<figure><img alt='%s' src='data:image/png;base64,%s'><figcaption>%s</figcaption></figure>"
                               % (html.escape(b[1]), data, html.escape(b[1])))
                else:
                    out.append("<p><em>%s: not drawn</em></p>" % html.escape(b[1]))
        out.append("</body></html>")
        return "\n".join(out)


def table_one(res):
    base = next((r for r in res if "error" not in r and not r["meta"].get("sharing", True)), None)
    rows = []
    for r in res:
        if "error" in r:
            rows.append([r["run"], "failed: " + r["error"].splitlines()[0]] + [""] * 5)
            continue
        t = r["total"]
        sharing = r["meta"].get("sharing", True)
        without = base["rss_bytes"] if base else r["rss_bytes"]
        rows.append([r["run"] + ("" if sharing else " (sharing off)"), mib(t["min_ram_bytes"], False),
                     mib(t["intra_pages"]), mib(t["inter_pages"]),
                     mib(r["used_bytes"], False) if sharing else "–", mib(without, False),
                     mib(r["zero_pages"])])
    return rows, base


def build(outdir, res, title, scenario_text=None, sc=None, versions=None, knobs_before=None):
    for r in res:
        r.setdefault("dir", os.path.join(outdir, "runs", r["run"]))
    doc = Doc()
    doc.h(1, title)
    if sc and sc.get("description"):
        doc.p(sc["description"])
    ok = [r for r in res if "error" not in r]
    doc.h(2, "Table I")
    rows, base = table_one(res)
    doc.table(["run", "potential RAM use (MiB)", "intra-VM sharing (MiB)", "inter-VM sharing (MiB)",
               "real RAM use with sharing (MiB)", "real RAM use without sharing (MiB)", "zero pages (MiB)"],
              rows, "lrrrrrr")
    doc.p("Potential RAM use: distinct non-zero page contents of the first dumps × 4 KiB; intra/inter: pages "
          "sharing inside one guest / only across guests (zero pages apart, last column). Real RAM use with "
          "sharing: Σ QEMU resident memory at the first dump minus KSM's saving for these guests; without: %s. "
          "The study's KVM scenario I (8 Debian guests of 2 GB): %d / %s / %d / %d / %s MB." %
          ("Σ resident memory of the sharing-off baseline run" if base else
           "Σ resident memory of the run (no sharing-off baseline in this scenario; resident memory counts "
           "merged pages in every guest that maps them)",
           STUDY_KVM_I["potential"], "{:,}".format(STUDY_KVM_I["intra"]), STUDY_KVM_I["inter"],
           STUDY_KVM_I["with"], "{:,}".format(STUDY_KVM_I["without"])))
    doc.h(2, "Potential and achieved sharing")
    doc.table(["run", "potential (pages)", "predicted KSM (pages)", "achieved (pages)", "achieved / predicted",
               "non-zero: predicted", "non-zero: achieved", "achieved / predicted (non-zero)"],
              [[r["run"], r["potential_pages"], r["predicted"]["saved_pages"], r["achieved"]["saved_pages"],
                pct(r["achieved"]["saved_pages"], r["predicted"]["saved_pages"]),
                r["predicted"]["nonzero_saved_pages"], r["achieved"]["nonzero_saved_pages"],
                pct(r["achieved"]["nonzero_saved_pages"], r["predicted"]["nonzero_saved_pages"])]
               for r in ok if r["meta"].get("sharing", True)], "lrrrrrrr")
    doc.h(2, "The gap, explained")
    doc.p("For each run: the potential saving of the first dumps (intra + inter; non-zero pages, zero pages "
          "apart) against the saving KSM achieved on non-zero pages at that moment, and the measured causes of "
          "the difference. The parts add up to the difference; what no measured cause explains is the last "
          "line, never hidden.")
    for r in ok:
        if not r["meta"].get("sharing", True):
            continue
        a = r["achieved"]
        z = r["zero"]
        doc.h(3, "Run %s" % r["run"])
        doc.p("Achieved at %.0f s: %s pages (%s); %d full scans since the load started%s." %
              (r["dump_elapsed_s"], "{:,}".format(a["nonzero_saved_pages"]),
               "KSM's pages_sharing; its global counters equal the guests' own merged pages" if a["exact"] else
               "estimated from the guests' ksm_merging_pages, since other processes merge pages too%s" %
               ((": %s pages merged outside these guests" % "{:,}".format(r["meta"]["dumps"][0]["foreign_merging_pages"]))
                if r["meta"]["dumps"][0].get("foreign_merging_pages") else ""),
               r["full_scans"], ", one every %.1f s" % r["scan_seconds"] if r["scan_seconds"] else ""))
        rows = [["potential saving (dumps, non-zero)", "{:,}".format(r["potential_pages"]), mib(r["potential_pages"])],
                ["achieved saving (KSM, non-zero)", "{:,}".format(a["nonzero_saved_pages"]), mib(a["nonzero_saved_pages"])],
                ["difference", "{:,}".format(r["gap_pages"]), mib(r["gap_pages"])]]
        rows += [["  " + name, "{:,}".format(v), mib(v)] for name, v in r["gap_parts"]]
        doc.table(["", "pages", "MiB"], rows, "lrr")
        zrows = [["zero pages in the dumps", "{:,}".format(z["dump_zero_pages"]), mib(z["dump_zero_pages"])],
                 ["  never allocated on the host (guest RAM − QEMU resident memory)",
                  "{:,}".format(z["never_allocated_pages"]), mib(z["never_allocated_pages"])],
                 ["predicted KSM saving from zero pages (use_zero_pages=%s)" % r["meta"]["ksm"].get("use_zero_pages", "0"),
                  "{:,}".format(z["predicted_saved_pages"]), mib(z["predicted_saved_pages"])]]
        if z.get("merged_pages") is not None:
            zrows.append(["merged with the zero page (ksm_zero_pages of the guests)", "{:,}".format(z["merged_pages"]),
                          mib(z["merged_pages"])])
            rest = z["dump_zero_pages"] - z["never_allocated_pages"] - z["merged_pages"]
            zrows.append(["allocated on the host but not merged (rest)", "{:,}".format(rest), mib(rest)])
        else:
            zrows.append(["merged as one content (estimate: predicted − never allocated)",
                          "{:,}".format(z["merged_pages_estimated"]), mib(z["merged_pages_estimated"])])
        doc.table(["zero pages", "pages", "MiB"], zrows, "lrr")
        doc.table(["guest", "pages", "zero", "non-zero", "intra", "merged (ksm_merging_pages)", "zero merged",
                   "changed between dumps", "volatile shared", "lost to writes"],
                  [[d["guest"], d["pages"], d["zero_pages"], d["nonzero_pages"], d["intra_pages"],
                    d["ksm_merging_pages"], d["ksm_zero_pages"],
                    (d["diff"]["changed"] + d["diff"]["gone"] + d["diff"]["new"]) if d["diff"] else "–",
                    d["volatile_pages"], d["churn_pages"]] for d in r["dumps"]], "lrrrrrrrrr")
    doc.h(2, "Settle times")
    doc.table(["run", "KSM settled (ksm-sample)", "90 % of the saving at the dump", "saving at the dump (MiB)"],
              [[r["run"], ("%.0f s" % r["settle"]["settled_s"]) if r.get("settle") else "not settled",
                ("%.0f s" % r["p90_s"]) if r.get("p90_s") is not None else "–", mib(r["achieved"]["saved_pages"])]
               for r in ok if r["meta"].get("sharing", True)], "lrrr")
    doc.p("Settled: two full scans in a row change pages_shared and pages_sharing by less than 1 % (ksm-sample "
          "--settle). A load that keeps writing saw-tooths and never settles; that is the answer, not an error.")
    doc.h(2, "Charts")
    for cap, png, err in make_charts(outdir, res):
        doc.img(cap + ("" if png else " (%s)" % err), png)
    doc.h(2, "Setup")
    if sc:
        doc.table(["setting", "value"], [
            ["guests", "%d × %s, %d MiB, %d vCPU, accel %s" % (sc["guests"], sc["image"], sc["memory_mib"],
                                                            sc["vcpus"], sc["accel"])],
            ["runs", "; ".join("%s: %s" % (r["name"], " | ".join(w["text"] for w in r["workloads"])) for r in sc["runs"])],
            ["sharing-off baseline", sc["baseline"] or "no"],
            ["duration, sampling", "%g s, every %g s" % (sc["duration"], sc["interval"])],
            ["dumps", "%s (%s)" % (", ".join("%g s" % d for d in sc["dumps"]), sc["dump_format"])],
            ["KSM", " ".join("%s=%s" % kv for kv in sc["ksm"].items()) or "as found"],
            ["KSM policy", ("ksmtuned, threshold %d %%" % sc["ksm_policy"]["threshold_pct"]) if sc["ksm_policy"] else "none"],
        ], "ll")
        study = sc.get("study") or {}
        if study:
            doc.table(["scaled setting", "the study's value"], sorted(study.items()), "ll")
    if ok:
        k = ok[0]["meta"].get("ksm", {})
        doc.p("KSM knobs during the runs: " + ", ".join("%s=%s" % (a, b) for a, b in sorted(k.items())) + ".")
    if knobs_before:
        doc.p("KSM knobs before (restored afterwards): " + ", ".join("%s=%s" % kv for kv in sorted(knobs_before.items())) + ".")
    if versions:
        doc.table(["host / software", "version"], sorted(versions.items()), "ll")
    for r in ok:
        if r["meta"].get("policy"):
            doc.p("Run %s, KSM policy decisions: " % r["run"] + "; ".join(
                "run=%s at %.0f s" % (d["run"], d["elapsed_s"]) for d in r["meta"]["policy"]))
    doc.h(2, "Files")
    doc.p("Beside this report: runs/RUN/host.csv and vms.csv (ksm-sample), meta.json (settings, KSM state and "
          "per-guest ksm_stat at each dump), analysis-1.json / analysis-2.json (dedup-analyze --json --ksm on "
          "each dump round), diff.json (--diff per guest), fp/ (fingerprints), console/ (serial logs), "
          "analysis.json (every number of this report); charts/ (PNG, SVG and the gnuplot data).")
    if scenario_text:
        doc.h(2, "Scenario file")
        doc.pre(scenario_text)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write(doc.md(outdir))
    with open(os.path.join(outdir, "report.html"), "w") as f:
        f.write(doc.html(title))
    summary = [{k: v for k, v in r.items() if k != "meta"} for r in res]
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
