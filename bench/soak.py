#!/usr/bin/env python3
"""Soak benchmark (issue 11): a glocust master and two glocust workers at a
steady few thousand requests/s against a local target, for --minutes (30).

Once every user runs and --warmup seconds have passed, it samples each
process every --interval seconds (60): VmRSS and threads
(/proc/<pid>/status), open files (/proc/<pid>/fd), goroutines (the
master's go_goroutines on /metrics, each worker's "goroutines" on its
/healthz) and CPU time. Each series is reported with its least-squares
slope per hour and a verdict: flat when the slope is within two of its
standard errors (noise); "flat (a trend under the floor)" when it is not
but the change it predicts over the window is below a floor (RSS 2 MiB or
2 % of its mean, 2 goroutines, 2 files, 1 thread); else it grows or
shrinks. The run ends with -t: the master's request total
(its CSV's Aggregated row) is compared with what the target served.

  bench/soak.py                        # 30 minutes (about 32 in all)
  bench/soak.py --minutes 3 --warmup 20    # a smoke run
  bench/soak.py --out /tmp/soak.md --raw /tmp/soak.jsonl

Processes: the target (bench/cmd/stalltarget with no stall, which counts
what it serves) and the master on core 0, the two workers on core 1. Every
wait has a deadline; every process started here is stopped by its pid.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchlib import HZ, busy_jiffies, free_port, loadavg, log, med, stop, wait_idle

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)

SCENARIO = """host: http://127.0.0.1:{port}
users:
  - class: SoakUser
    wait_time: {{constant_throughput: {per_user}}}
    tasks:
      - weight: 3
        request: {{method: GET, path: /, name: home}}
      - request: {{method: GET, path: "/item?id=1", name: item}}
      - request: {{method: POST, path: /cart, json: {{item: 1}}, name: cart}}
"""

# Floors under which a change over the window counts as flat, whatever the
# noise: (absolute, fraction of the series' mean).
FLOORS = {"rss_mib": (2.0, 0.02), "goroutines": (2, 0), "fds": (2, 0), "threads": (1, 0)}
SERIES = [("rss_mib", "VmRSS MiB"), ("goroutines", "goroutines"), ("fds", "open files"), ("threads", "threads")]


# ---------------------------------------------------------------- processes

def build(tmp, glocust=None, target=None):
    """Builds what was not given: glocust and the counting target."""
    env = dict(os.environ, CGO_ENABLED="0")
    if not glocust:
        glocust = os.path.join(tmp, "glocust")
        subprocess.run(["go", "build", "-o", glocust, "./cmd/glocust"], cwd=ROOT, env=env, check=True, timeout=600)
    if not target:
        target = os.path.join(tmp, "stalltarget")
        subprocess.run(["go", "build", "-o", target, "./cmd/stalltarget"], cwd=BENCH, env=env, check=True, timeout=600)
    return glocust, target


def start(cmd, logpath, cwd):
    with open(logpath, "w") as f:
        return subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                                start_new_session=True)


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait_until(cond, timeout, what, procs=None):
    """Polls cond every 0.2 s for at most timeout s; fails at once if one of
    procs (name -> process) has exited."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        check_alive(procs or {}, what)
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


def check_alive(procs, what):
    for name, p in procs.items():
        if p.poll() is not None:
            raise RuntimeError(f"{what}: the {name} exited with {p.returncode}")


# ---------------------------------------------------------------- sampling

def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "Threads"):
                out[k] = int(v.split()[0])
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    out["cpu_s"] = (int(rest[11]) + int(rest[12])) / HZ
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def master_metrics(web):
    text = http_get(f"http://127.0.0.1:{web}/metrics")
    out = {"requests": 0}
    for line in text.splitlines():
        if line.startswith("go_goroutines "):
            out["goroutines"] = int(float(line.split()[1]))
        elif line.startswith("glocust_requests_total{"):
            out["requests"] += int(float(line.rsplit(" ", 1)[1]))
        elif line.startswith("glocust_users "):
            out["users"] = int(float(line.split()[1]))
    return out


def sample(procs, web, health, target_port, t0):
    """One sample of every process, plus the master's and the target's counts."""
    s = {"t": round(time.monotonic() - t0, 2), "time": time.strftime("%H:%M:%S")}
    m = master_metrics(web)
    s["master_requests"], s["master_users"] = m["requests"], m.get("users")
    s["target_served"] = json.loads(http_get(f"http://127.0.0.1:{target_port}/stats"))["served"]
    for name, p in procs.items():
        st = proc_status(p.pid)
        row = {"rss_mib": round(st["VmRSS"] / 1024, 2), "threads": st["Threads"], "fds": st["fds"], "cpu_s": st["cpu_s"]}
        if name == "master":
            row["goroutines"] = m.get("goroutines")
        elif name in health:
            row["goroutines"] = json.loads(http_get(f"http://127.0.0.1:{health[name]}/healthz"))["goroutines"]
        s[name] = row
    return s


# ---------------------------------------------------------------- analysis

def fit(ts, ys):
    """Least squares y = a + b t: (slope b, its standard error)."""
    n = len(ts)
    mt, my = sum(ts) / n, sum(ys) / n
    sxx = sum((t - mt) ** 2 for t in ts)
    if n < 3 or sxx == 0:
        return 0.0, 0.0
    b = sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / sxx
    a = my - b * mt
    resid = sum((y - a - b * t) ** 2 for t, y in zip(ts, ys))
    return b, math.sqrt(resid / (n - 2) / sxx)


def verdict(key, ts, ys):
    """The series' slope per hour and whether it is flat."""
    if len(ys) < 3 or any(y is None for y in ys):
        return {"verdict": "too few samples"}
    b, se = fit(ts, ys)  # per second
    span_h = (ts[-1] - ts[0]) / 3600
    change = b * 3600 * span_h
    absf, relf = FLOORS[key]
    floor = max(absf, relf * abs(sum(ys) / len(ys)))
    if abs(b) <= 2 * se:
        v = "flat"
    elif abs(change) <= floor:
        v = "flat (a trend under the floor)"
    else:
        v = "grows" if b > 0 else "shrinks"
    return {"first": ys[0], "last": ys[-1], "min": min(ys), "max": max(ys), "slope_per_h": round(b * 3600, 3),
            "slope_se_per_h": round(se * 3600, 3), "change": round(change, 3), "floor": round(floor, 3), "verdict": v}


def analyse(samples, names):
    ts = [s["t"] for s in samples]
    out = {}
    for name in names:
        for key, _ in SERIES:
            out[(name, key)] = verdict(key, ts, [s[name].get(key) for s in samples])
        cpu = [s[name]["cpu_s"] for s in samples]
        out[(name, "cpu_pct")] = round((cpu[-1] - cpu[0]) / (ts[-1] - ts[0]) * 100, 2) if ts[-1] > ts[0] else None
    return out


def aggregated_requests(csv_path):
    try:
        with open(csv_path) as f:
            for row in csv.DictReader(f):
                if row["Name"] == "Aggregated":
                    return int(row["Request Count"])
    except OSError:
        pass
    return None


# ---------------------------------------------------------------- report

def render(args, res, commands):
    names = res["processes"]
    L = [f"Two glocust workers (core 1) under a glocust master (core 0) for {args.minutes} min after a "
         f"{args.warmup} s warm-up, {args.users} users at `constant_throughput: {args.rate / args.users:g}` each "
         f"({args.rate:,} requests/s due; three named requests) against `bench/cmd/stalltarget -stall 0` (core 0, "
         f"counts what it serves). A sample every {args.interval} s: VmRSS and threads (`/proc/<pid>/status`), "
         "open files (`/proc/<pid>/fd`), goroutines (`go_goroutines` on the master's `/metrics`, `goroutines` on "
         "each worker's `/healthz`). Slope: least squares per hour over the samples; **flat** when it is within two "
         "standard errors (noise); *a trend under the floor* when it is not but the change it predicts over the "
         "window is under a floor (RSS 2 MiB or 2 % of the mean, 2 goroutines, 2 files, 1 thread).", ""]
    s = res.get("summary", {})
    if s:
        L.append(f"- Samples: {s['samples']} over {s['span_min']:.1f} min; achieved {s['rps']:,.0f} requests/s "
                 f"(the target's count); master CPU {s['cpu']['master']}%, workers {s['cpu']['worker1']}% and "
                 f"{s['cpu']['worker2']}% of a core; foreign load {s['foreign_cores']} cores (median per interval).")
    if res.get("totals"):
        t = res["totals"]
        L.append(f"- At the end: the master counted {t['master']:,} requests (its CSV's Aggregated row), the target "
                 f"served {t['target']:,} (difference {t['target'] - t['master'] if t['master'] is not None else '?'}; "
                 "requests cut by the stop at -t are served but not recorded).")
    if res.get("error"):
        L.append(f"- **Failed**: `{res['error'][:400]}`")
    L.append("")
    if res.get("analysis"):
        L += ["| process | series | first | last | min–max | slope per hour (± s.e.) | change over the window | verdict |",
              "|---|---|---|---|---|---|---|---|"]
        for name in names:
            for key, label in SERIES:
                v = res["analysis"].get(f"{name}/{key}", {})
                if "slope_per_h" not in v:
                    L.append(f"| {name} | {label} | | | | | | {v.get('verdict', '?')} |")
                    continue
                L.append(f"| {name} | {label} | {v['first']} | {v['last']} | {v['min']}–{v['max']} | "
                         f"{v['slope_per_h']:+g} (± {v['slope_se_per_h']:g}) | {v['change']:+g} (floor {v['floor']:g}) | "
                         f"**{v['verdict']}** |")
        L.append("")
    L += ["```sh"] + commands + ["```", ""]
    return "\n".join(L)


# ---------------------------------------------------------------- run

def run(args, tmp):
    glocust, target = build(tmp, args.glocust, args.target)
    tport, mport, web = free_port(), free_port(), free_port()
    health = {"worker1": free_port(), "worker2": free_port()}
    scen = os.path.join(tmp, "soak.yaml")
    with open(scen, "w") as f:
        f.write(SCENARIO.format(port=tport, per_user=args.rate / args.users))
    run_s = args.warmup + args.minutes * 60 + 60  # -t: the sampling ends before it
    cmds = {
        "target": ["taskset", "-c", "0", target, "-addr", f"127.0.0.1:{tport}", "-stall", "0",
                   "-max-life", f"{run_s + 300}s"],
        "master": ["taskset", "-c", "0", glocust, "--master", "-f", scen, "--master-bind-host", "127.0.0.1",
                   "--master-bind-port", str(mport), "--headless", "--expect-workers", "2", "-u", str(args.users),
                   "-r", str(args.users), "-t", f"{run_s}s", "--web-port", str(web), "--only-summary",
                   "--csv", os.path.join(tmp, "soak")],
    }
    for w, hp in health.items():
        cmds[w] = ["taskset", "-c", "1", glocust, "--worker", "-f", scen, "--master-host", "127.0.0.1",
                   "--master-port", str(mport), "--web-port", str(hp)]
    commands = [" ".join(c).replace(tmp + "/", "<tmp>/").replace(ROOT + "/", "") for c in cmds.values()]
    res = {"processes": ["master", "worker1", "worker2"], "commands": commands}
    procs = {}
    try:
        procs["target"] = start(cmds["target"], os.path.join(tmp, "target.log"), tmp)
        wait_until(lambda: http_get(f"http://127.0.0.1:{tport}/stats") is not None, 10, "the target", procs)
        procs["master"] = start(cmds["master"], os.path.join(tmp, "master.log"), tmp)
        for w in health:
            procs[w] = start(cmds[w], os.path.join(tmp, f"{w}.log"), tmp)
        wait_until(lambda: master_metrics(web).get("users") == args.users, 60, "every user running", procs)
        t_users = time.monotonic()
        log(f"all {args.users} users run; warm-up {args.warmup} s")
        time.sleep(args.warmup)
        t0 = time.monotonic()
        sampled = {k: procs[k] for k in res["processes"]}
        samples, foreign = [], []
        for i in range(args.minutes * 60 // args.interval + 1):
            due = t0 + i * args.interval
            time.sleep(max(0, due - time.monotonic()))
            check_alive(procs, "the soak")
            b0 = busy_jiffies()
            smp = sample(sampled, web, health, tport, t0)
            smp["busy_jiffies"] = b0
            samples.append(smp)
            log(f"sample {i}: " + ", ".join(f"{k} {smp[k]['rss_mib']} MiB/{smp[k].get('goroutines')} g/{smp[k]['fds']} fd"
                                           for k in res["processes"]))
        res["samples"] = samples
        # Foreign load per interval: busy CPU minus the four processes'.
        for a, b in zip(samples, samples[1:]):
            busy = (b["busy_jiffies"] - a["busy_jiffies"]) / HZ
            ours = sum(b[k]["cpu_s"] - a[k]["cpu_s"] for k in res["processes"])
            foreign.append(max(0.0, (busy - ours) / (b["t"] - a["t"])))
        an = analyse(samples, res["processes"])
        res["analysis"] = {f"{k[0]}/{k[1]}": v for k, v in an.items() if k[1] != "cpu_pct"}
        span = samples[-1]["t"] - samples[0]["t"]
        res["summary"] = {
            "samples": len(samples), "span_min": span / 60,
            "rps": (samples[-1]["target_served"] - samples[0]["target_served"]) / span if span else 0,
            "cpu": {k: an[(k, "cpu_pct")] for k in res["processes"]},
            "foreign_cores": round(med(foreign) or 0, 2),
        }
        # The run ends at -t: the master stops the users, quits its workers and writes its CSV.
        wait_until(lambda: procs["master"].poll() is not None, t_users + run_s + 90 - time.monotonic(),
                   "the master's end at -t")
        res["totals"] = {"master": aggregated_requests(os.path.join(tmp, "soak_stats.csv")),
                         "target": json.loads(http_get(f"http://127.0.0.1:{tport}/stats"))["served"]}
        res["master_exit"] = procs["master"].returncode
    except Exception as e:  # the report says what failed; the processes are stopped below
        res["error"] = f"{type(e).__name__}: {e}"
        log("soak failed:", res["error"])
    finally:
        for k in ("worker1", "worker2", "master", "target"):
            stop(procs.get(k), grace=10.0)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=30, help="sampled minutes after the warm-up")
    ap.add_argument("--warmup", type=int, default=60, help="seconds between every user running and the first sample")
    ap.add_argument("--interval", type=int, default=60, help="seconds between samples")
    ap.add_argument("--rate", type=int, default=3000, help="requests/s due, over all users")
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--start-idle-wait", type=int, default=30)
    ap.add_argument("--glocust", help="prebuilt glocust binary (default: build)")
    ap.add_argument("--target", help="prebuilt bench/cmd/stalltarget binary (default: build)")
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "soak.md"), help="the markdown section")
    ap.add_argument("--raw", default=os.path.join(BENCH, "results", "soak.jsonl"), help="the samples, one JSON line each")
    args = ap.parse_args()
    if args.minutes < 1 or args.interval < 1 or args.users < 1 or args.rate < 1:
        sys.exit("soak.py: --minutes, --interval, --users and --rate must be positive")
    tmp = tempfile.mkdtemp(prefix="glocust-soak-")
    try:
        idle = wait_idle(args.start_idle_wait)
        log("idle check:", idle, "load average", loadavg())
        res = run(args, tmp)
        res["idle_before"] = idle
        md = render(args, res, res["commands"])
        for path in (args.out, args.raw):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(md)
        with open(args.raw, "w") as f:
            for s in res.get("samples", []):
                f.write(json.dumps(s) + "\n")
            f.write(json.dumps({k: v for k, v in res.items() if k != "samples"}) + "\n")
        log("wrote", args.out, "and", args.raw)
        sys.exit(1 if res.get("error") else 0)
    finally:
        subprocess.run(["rm", "-rf", tmp], check=False)


if __name__ == "__main__":
    main()
