#!/usr/bin/env python3
"""Before/after: two glocust binaries against the same nginx, in one run.

The project's rule for a change on a hot path (request, record, report,
merge, fan-in): before/after as ratios side by side in one run, pinned
with taskset, medians of repeats. This script does it for the HTTP path:

  * nginx (bench/nginx.conf, `return 200 'ok'`) on core 0, as orchestrate.py
    starts it; every generator on core 1;
  * per round and case, one glocust standalone run of each binary
    (orchestrate.run_glocust: `taskset -c 1 glocust -f SCENARIO [classes]
    --headless -u N -r N -t Ds --only-summary -H target --csv ...` under
    /usr/bin/time -v), old then new, the order swapped every round so
    drift hits both alike; with --wrk, a wrk run per round as a reference;
  * before each run a bounded wait for an idle machine; around each run the
    foreign load (orchestrate.Meter: busy CPU minus this script's children
    and nginx), runs above 0.15 foreign cores are marked contended;
  * per run: req/s, CPU-µs per request (user+sys from /usr/bin/time over the
    CSV's request count), failures, foreign cores; one JSON line each in
    --raw;
  * the table: per case and binary min / median / max req/s and median
    CPU-µs/req, new/old of the medians for both (and the median of the
    per-round new/old ratios); with several cases, each case against the
    first, per binary (e.g. templated/untemplated), and how that ratio moved.

Cases, in command-line order: `--scenario FILE` starts a scenario (default
bench/scenario_bench.yaml); each `--class C` after it is one case running
class C of that scenario (`--class A,B` runs classes A and B together); a
scenario with no --class after it is one case running all its classes.

  bench/ab.py --old /tmp/glocust-old --new /tmp/glocust-new
  bench/ab.py --old /tmp/glocust-old --new /tmp/glocust-new \\
      --scenario bench/scenario_template.yaml --class Untemplated --class Templated
  bench/ab.py --old /tmp/glocust-old --new /tmp/glocust-new \\
      --scenario bench/scenario_bench.yaml --scenario bench/scenario_gzip.yaml --class Decoded

needs: nginx, /usr/bin/time, taskset (and wrk for --wrk); 2 cores.
"""
import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import log, med, wait_idle, loadavg  # noqa: E402
import orchestrate  # noqa: E402

BENCH = orchestrate.BENCH
TARGET = orchestrate.TARGET
BINARIES = ("old", "new")


class CaseAction(argparse.Action):
    """--scenario and --class, kept in command-line order in one list."""

    def __call__(self, parser, ns, value, option_string=None):
        items = list(getattr(ns, self.dest) or [])
        items.append((option_string.lstrip("-"), value))
        setattr(ns, self.dest, items)


def build_cases(items, default_scenario):
    """[(kind, value)] in command-line order -> [(label, scenario, [classes])]."""
    cases, scenario, classes_seen = [], None, False
    for kind, value in items or []:
        if kind == "scenario":
            if scenario is not None and not classes_seen:
                cases.append((scenario, []))
            scenario, classes_seen = value, False
        else:
            classes = [c for c in value.split(",") if c]
            if not classes:
                raise SystemExit(f"ab.py: --class {value!r} names no class")
            cases.append((scenario or default_scenario, classes))
            classes_seen = True
    if scenario is not None and not classes_seen:
        cases.append((scenario, []))
    if not cases:
        cases.append((default_scenario, []))
    out, labels = [], set()
    for scenario, classes in cases:
        if not os.path.isfile(scenario):
            raise SystemExit(f"ab.py: scenario {scenario}: no such file")
        label = os.path.basename(scenario) + (" " + "+".join(classes) if classes else "")
        if label in labels:
            raise SystemExit(f"ab.py: case {label!r} given twice")
        labels.add(label)
        out.append((label, os.path.abspath(scenario), classes))
    return out


def describe_binary(path):
    """What identifies a binary: its path, size, sha256 and, when Go stamped
    it, the commit it was built from (go version -m)."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise SystemExit(f"ab.py: {path}: not an executable file")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    d = {"path": os.path.abspath(path), "size": os.path.getsize(path), "sha256": h.hexdigest()[:16],
         "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(path)))}
    if shutil.which("go"):
        p = subprocess.run(["go", "version", "-m", path], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) >= 2 and f[0] == "build" and f[1].startswith("vcs.revision="):
                d["commit"] = f[1].split("=", 1)[1][:12]
            if len(f) >= 2 and f[0] == "build" and f[1].startswith("vcs.modified="):
                d["modified"] = f[1].split("=", 1)[1] == "true"
    return d


def check_cases(bins, cases):
    """Each binary loads each case's scenario and classes (glocust --list),
    so a typo or a scenario an old binary cannot read stops the run before
    any measurement."""
    for b, path in bins.items():
        for label, scenario, classes in cases:
            p = subprocess.run([path, "-f", scenario, *classes, "--list"], capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                raise SystemExit(f"ab.py: {b} ({path}) cannot run case {label}: "
                                 f"{(p.stderr or p.stdout).strip()[-400:]}")


def port_busy(host="127.0.0.1", port=18080):
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False


def one_run(ctx, rec, fn, pids):
    """Runs fn under the foreign-load meter after a bounded idle wait; fills rec."""
    rec["idle_before"] = wait_idle(ctx.args.run_idle_wait)
    try:
        with orchestrate.Meter(pids) as m:
            rec.update(fn())
    except Exception as e:  # one failed run must not stop the others
        rec["error"] = f"{type(e).__name__}: {e}"[:500]
    rec.update(m.meta())
    log(f"round {rec['round']} {rec.get('case', '')} {rec['binary']}: {rec.get('rps') or 0:,.0f} req/s, "
        f"{rec.get('cpu_us_per_req') or 0:.2f} CPU-µs/req, {rec.get('failures', 0)} failures, "
        f"foreign {rec['foreign_cores']:.2f} cores" + (f", error {rec['error']}" if rec.get("error") else ""))
    ctx.record(rec)
    return rec


def measure(ctx, cases, pids):
    a = ctx.args
    runs = []
    for rnd in range(1, a.rounds + 1):
        if a.wrk:
            rec = {"section": "ab", "round": rnd, "case": "wrk GET /", "binary": "wrk"}
            runs.append(one_run(ctx, rec, lambda: orchestrate.run_wrk(ctx.bins["old"], TARGET + "/"), pids))
        order = BINARIES if rnd % 2 == 1 else BINARIES[::-1]
        for label, scenario, classes in cases:
            for attempt in range(a.retries + 1):
                pair = []
                for b in order:
                    bctx = ctx.bins[b]
                    tag = f"ab-{rnd}-{len(runs)}-{b}"
                    rec = {"section": "ab", "round": rnd, "case": label, "binary": b, "order": list(order),
                           "attempt": attempt}
                    pair.append(one_run(ctx, rec, lambda: orchestrate.run_glocust(bctx, scenario, TARGET, tag,
                                                                                  *classes), pids))
                runs += pair
                if not any(r.get("contended") for r in pair) or attempt == a.retries:
                    break
                # the pair runs again; this attempt stays in --raw but out of the table
                for r in pair:
                    r["superseded"] = True
                    ctx.record({"section": "ab-superseded", "round": rnd, "case": label, "binary": r["binary"],
                                "attempt": attempt})
                log(f"round {rnd} {label}: contended, running the pair again")
    return runs


def ratio(x, y):
    return x / y if x and y else None


def fmt(x, spec):
    return format(x, spec) if x is not None else "–"


def rx(x):
    """A ratio: 1.234x, or – when it cannot be computed."""
    return f"{x:.3f}x" if x is not None else "–"


def report(ctx, cases, runs):
    """The tables, as markdown text."""
    a = ctx.args
    superseded = [r for r in runs if r.get("superseded")]
    runs = [r for r in runs if not r.get("superseded")]
    ok = [r for r in runs if r.get("rps") and not r.get("error")]
    L = [f"glocust before/after: {a.rounds} rounds, {a.users} users, {a.duration} s per run, nginx on core 0, "
         "each run on core 1, old/new order swapped every round.", ""]
    for b in BINARIES:
        d = ctx.desc[b]
        L.append(f"- {b}: `{d['path']}` sha256 {d['sha256']}, {d['size']:,} B, built {d['mtime']}"
                 + (f", commit {d['commit']}" + (" (modified)" if d.get("modified") else "") if d.get("commit") else ""))
    if ctx.desc["old"]["sha256"] == ctx.desc["new"]["sha256"]:
        L.append("- old and new are the same binary: the ratios show the noise of this method.")
    L += ["", "| case | old req/s min / **median** / max | new req/s min / **median** / max | new/old req/s "
          "(per-round) | old CPU-µs/req | new CPU-µs/req | new/old CPU/req (per-round) | failures old / new |",
          "|---|---|---|---|---|---|---|---|"]
    medians = {}
    for label, _, _ in cases:
        cells = {}
        for b in BINARIES:
            rs = [r for r in ok if r.get("case") == label and r["binary"] == b]
            rps = [r["rps"] for r in rs]
            medians[(label, b)] = (med(rps), med([r["cpu_us_per_req"] for r in rs]))
            cells[b] = (f"{min(rps):,.0f} / **{med(rps):,.0f}** / {max(rps):,.0f}" if rps else "failed",
                        sum(r.get("failures") or 0 for r in rs))
        # new/old within each round (both ran back to back), then their median
        per_round_rps, per_round_cpu = [], []
        for rnd in range(1, a.rounds + 1):
            pair = {r["binary"]: r for r in ok if r.get("case") == label and r["round"] == rnd}
            if "old" in pair and "new" in pair:
                per_round_rps.append(ratio(pair["new"]["rps"], pair["old"]["rps"]))
                per_round_cpu.append(ratio(pair["new"]["cpu_us_per_req"], pair["old"]["cpu_us_per_req"]))
        (ro, co), (rn, cn) = medians[(label, "old")], medians[(label, "new")]
        L.append(f"| {label} | {cells['old'][0]} | {cells['new'][0]} | **{rx(ratio(rn, ro))}** "
                 f"({rx(med(per_round_rps))}) | {fmt(co, '.2f')} | {fmt(cn, '.2f')} | "
                 f"**{rx(ratio(cn, co))}** ({rx(med(per_round_cpu))}) | "
                 f"{cells['old'][1]} / {cells['new'][1]} |")
    L += ["", "new/old of the medians; in brackets the median of the per-round new/old ratios. "
          "req/s: above 1 the new binary is faster; CPU/req: below 1 it spends less CPU per request."]
    if a.wrk:
        ws = [r for r in ok if r["binary"] == "wrk"]
        rps = [r["rps"] for r in ws]
        if rps:
            L.append(f"wrk reference (GET /, -t1 -c{a.users}): {min(rps):,.0f} / **{med(rps):,.0f}** / "
                     f"{max(rps):,.0f} req/s, {fmt(med([r['cpu_us_per_req'] for r in ws]), '.2f')} CPU-µs/req.")
        else:
            L.append("wrk reference: failed.")
    if len(cases) > 1:
        first = cases[0][0]
        L += ["", f"Each case against the first ({first}), per binary (medians):", "",
              "| case | old: req/s ratio | new: req/s ratio | new/old of it | old: CPU/req ratio | "
              "new: CPU/req ratio | new/old of it |", "|---|---|---|---|---|---|---|"]
        for label, _, _ in cases[1:]:
            rr = {b: ratio(medians[(label, b)][0], medians[(first, b)][0]) for b in BINARIES}
            cr = {b: ratio(medians[(label, b)][1], medians[(first, b)][1]) for b in BINARIES}
            L.append(f"| {label} | {rx(rr['old'])} | {rx(rr['new'])} | "
                     f"{rx(ratio(rr['new'], rr['old']))} | {rx(cr['old'])} | "
                     f"{rx(cr['new'])} | {rx(ratio(cr['new'], cr['old']))} |")
    L.append("")
    if superseded:
        L.append(f"{len(superseded) // 2} old/new pairs with a contended run were run again (--retries "
                 f"{a.retries}); the first attempts are left out above (they are in --raw).")
    fl = {b: [r["foreign_cores"] for r in runs if r["binary"] == b and "foreign_cores" in r] for b in BINARIES}
    L.append("Foreign load (cores, median / max): " + ", ".join(
        f"{b} {fmt(med(v), '.2f')} / {fmt(max(v) if v else None, '.2f')}" for b, v in fl.items()) + ".")
    contended = [r for r in runs if r.get("contended")]
    if contended:
        L.append(f"WARNING: {len(contended)} of {len(runs)} runs were contended (> {orchestrate.CONTENDED} foreign "
                 "cores): " + ", ".join(f"round {r['round']} {r.get('case', '')} {r['binary']} "
                                        f"{r['foreign_cores']:.2f}" for r in contended)
                 + ". Ratios from them are not to be trusted; run again on a quieter machine.")
    not_idle = [r for r in runs if not r["idle_before"]["idle"]]
    if not_idle:
        L.append(f"WARNING: {len(not_idle)} of {len(runs)} runs started without an idle machine "
                 f"(the wait is bounded at {a.run_idle_wait} s).")
    for r in runs:
        if r.get("error"):
            L.append(f"FAILED: round {r['round']} {r.get('case', '')} {r['binary']}: {r['error'][:300]}")
        elif r.get("failures"):
            L.append(f"note: round {r['round']} {r.get('case', '')} {r['binary']}: {r['failures']} failures "
                     f"{r.get('failure_texts')}")
    return "\n".join(L) + "\n"


SETTINGS = ("rounds", "duration", "users", "wrk", "run_idle_wait", "retries")


def from_raw(path):
    """The start record, the cases and the runs of an earlier --raw file."""
    with open(path) as f:
        recs = [json.loads(l) for l in f if l.strip()]
    start = next((r for r in recs if r.get("section") == "ab-start"), None)
    if start is None:
        raise SystemExit(f"ab.py: {path}: no ab-start record (not written by ab.py?)")
    cases = [(c["case"], c["scenario"], c["classes"]) for c in start["cases"]]
    gone = {(r["round"], r["case"], r["binary"], r["attempt"]) for r in recs if r.get("section") == "ab-superseded"}
    runs = [r for r in recs if r.get("section") == "ab"]
    for r in runs:
        if (r["round"], r.get("case"), r["binary"], r.get("attempt")) in gone:
            r["superseded"] = True
    return start, cases, runs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", help="the glocust binary before the change (required)")
    ap.add_argument("--new", help="the glocust binary after the change (required)")
    ap.add_argument("--scenario", dest="cases", action=CaseAction, metavar="FILE",
                    help="a scenario (repeatable; default bench/scenario_bench.yaml)")
    ap.add_argument("--class", dest="cases", action=CaseAction, metavar="C[,C...]",
                    help="one case: these classes of the scenario named before (repeatable)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--duration", type=int, default=15, help="seconds per run")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--wrk", action="store_true", help="a wrk run (GET /) per round, as a reference")
    ap.add_argument("--retries", type=int, default=0,
                    help="run an old/new pair again when one of its runs was contended, at most this many times")
    ap.add_argument("--start-idle-wait", type=int, default=60, help="bounded wait for an idle machine at the start (s)")
    ap.add_argument("--run-idle-wait", type=int, default=4, help="bounded wait for an idle machine before each run (s)")
    ap.add_argument("--raw", default=os.path.join(BENCH, "results", "ab.jsonl"), help="per-run JSON lines (truncated)")
    ap.add_argument("--out", help="also write the table (markdown) to this file")
    ap.add_argument("--from-raw", metavar="FILE", help="measure nothing: print the table of an earlier run's --raw")
    a = ap.parse_args()
    if a.from_raw:
        start, cases, runs = from_raw(a.from_raw)
        for k in SETTINGS:
            setattr(a, k, start["settings"].get(k, getattr(a, k)))
        ctx = types.SimpleNamespace(args=a, desc=start["binaries"])
        return finish(ctx, a, cases, runs, start)
    if not a.old or not a.new:
        ap.error("--old and --new are required")
    if a.rounds < 1 or a.duration < 1 or a.users < 1:
        ap.error("--rounds, --duration and --users must be at least 1")
    cases = build_cases(a.cases, os.path.join(BENCH, "scenario_bench.yaml"))
    for tool in ("nginx", "taskset", "/usr/bin/time") + (("wrk",) if a.wrk else ()):
        if not shutil.which(tool):
            ap.error(f"{tool} is not installed (bench/run installs it)")
    if os.cpu_count() < 2:
        ap.error("needs 2 cores (nginx on core 0, the generators on core 1)")
    if port_busy():
        ap.error("127.0.0.1:18080 is already served (another benchmark's nginx?); wait for it to end")

    ctx = types.SimpleNamespace(args=a, tmp=tempfile.mkdtemp(prefix="glocust-ab-"))
    ctx.desc = {"old": describe_binary(a.old), "new": describe_binary(a.new)}
    check_cases({b: os.path.abspath(getattr(a, b)) for b in BINARIES}, cases)
    ctx.bins = {b: types.SimpleNamespace(args=a, tmp=ctx.tmp, glocust=os.path.abspath(getattr(a, b)))
                for b in BINARIES}
    os.makedirs(os.path.dirname(os.path.abspath(a.raw)), exist_ok=True)
    raw = open(a.raw, "w")

    def record(r):
        raw.write(json.dumps(r) + "\n")
        raw.flush()
    ctx.record = record

    nginx = None
    try:
        log(f"waiting up to {a.start_idle_wait} s for an idle machine")
        start = {"idle": wait_idle(a.start_idle_wait), "foreign": orchestrate.foreign_top(), "loadavg": loadavg()}
        log("idle check:", start)
        record({"section": "ab-start", "argv": sys.argv[1:], "binaries": ctx.desc,
                "settings": {k: getattr(a, k) for k in SETTINGS},
                "cases": [{"case": l, "scenario": s, "classes": c} for l, s, c in cases],
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **start})
        wvl = orchestrate.load_module("worker_vs_locust")
        nginx = wvl.start_nginx(ctx.tmp)
        pids = orchestrate.nginx_pids(nginx.pid)
        log("nginx pids", pids)
        runs = measure(ctx, cases, pids)
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        raw.close()
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    log("raw data:", a.raw)
    return finish(ctx, a, cases, runs, start)


def finish(ctx, a, cases, runs, start):
    """Prints the table (and writes --out); 1 when a run failed."""
    text = report(ctx, cases, runs)
    if not start["idle"]["idle"]:
        text += f"WARNING: the machine was not idle at the start: {start['foreign']}\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 1 if any(r.get("error") for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
