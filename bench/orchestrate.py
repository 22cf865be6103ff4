#!/usr/bin/env python3
"""Runs glocust's comparisons side by side and writes bench/RESULTS.md.

Called by bench/run (which installs the tools and builds the binaries first).
Method:
  * before the whole run, wait (bounded) until the machine is idle: two
    consecutive 1 s windows with < 0.1 busy cores; record what else ran;
  * before each run, a shorter bounded idle wait;
  * around each run, sample /proc/stat and the CPU time of everything this
    script started (waited children + nginx); the difference is the
    "foreign" load in cores. Runs with > 0.15 foreign cores are marked
    contended (not rerun: the run is time-bounded);
  * every comparison runs ROUNDS times, interleaved, and reports medians.

Sections:
  stats   goal 1: stats recording, glocust vs launce vs boomer (cmd/statsbench,
          1,000 goroutines on both cores) and the go test micro-benchmarks
  worker  goal 2: on one core against nginx on the other, per round:
          wrk, glocust standalone, glocust worker and Locust FastHttpUser
          worker (both under a Locust master, via worker_vs_locust.py)
  fanin   goal 3: master fan-in, glocust's master vs Locust's (bench/fanin/run.py)
  memory  goal 4: RSS of one glocust process (standalone, and a worker under a
          Locust master) with 100,000 idle users vs a Locust worker's bytes per
          user (bench/memory.py)
  latency goal 5: latency you can trust (bench/latency.py)
  tls     issue 12: HTTPS against nginx on one core each: keep-alive vs wrk,
          and a new connection (TLS handshake) per request vs wrk with
          Connection: close, glocust with and without session resumption
  scale   issue 11: 10,000 simulated workers on one glocust master
          (bench/fanin/run.py --scale)
  names   issue 11: what a distinct request name costs below and past the
          cap (go test -bench BenchmarkNames ./stats/)
  templates issue 13: a templated request against the same request without
          templates (BenchmarkDoTemplate, then glocust against nginx)
  gzip    issue 12: compressed responses (BenchmarkDoGzip, then glocust
          against nginx with gzip: uncompressed, gzip decoded, gzip not decoded)
  soak    issue 11, only when named in --only (30 min): a glocust master and
          two workers at 3,000 requests/s, RSS, goroutines, open files and
          threads sampled each minute, with their slopes (bench/soak.py)
  ui      issue 15: the dashboard with 1,000 request names and 500 simulated
          workers, in Chromium: first paint, main-thread time per update,
          page memory over a simulated 2-hour history, the master's CPU and
          bytes per update (bench/cmd/uicost)
"""
import argparse
import csv
import importlib.util
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import HZ, busy_jiffies, free_port, loadavg, log, med, wait_idle

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
TARGET = "http://127.0.0.1:18080"
CONTENDED = 0.15  # foreign cores above which a run is marked contended




# ---------------------------------------------------------------- machine load





def proc_ticks():
    """pid -> (comm, nice, ppid, utime+stime ticks) for every process."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        rest = s[s.rindex(")") + 2:].split()
        out[int(pid)] = (comm, int(rest[16]), int(rest[1]), int(rest[11]) + int(rest[12]))
    return out


def own_pids(procs=None):
    """This process and its descendants."""
    procs = procs or proc_ticks()
    mine, frontier = {os.getpid()}, [os.getpid()]
    while frontier:
        p = frontier.pop()
        for pid, (_, _, ppid, _) in procs.items():
            if ppid == p and pid not in mine:
                mine.add(pid)
                frontier.append(pid)
    return mine


def foreign_top(seconds=2.0, n=8):
    """The processes (not ours) that used CPU during a window, busiest first."""
    a = proc_ticks()
    b0 = busy_jiffies()
    time.sleep(seconds)
    b = proc_ticks()
    busy = (busy_jiffies() - b0) / HZ / seconds
    mine = own_pids()
    rows = []
    for pid, (comm, nice, _, t) in b.items():
        if pid in mine or pid not in a:
            continue
        d = (t - a[pid][3]) / HZ / seconds
        if d > 0.005:
            rows.append({"pid": pid, "comm": comm, "nice": nice, "cores": round(d, 2)})
    rows.sort(key=lambda r: -r["cores"])
    return {"busy_cores": round(busy, 2), "top": rows[:n]}




FOREIGN_BY_COMM = {}  # process name -> CPU seconds used by foreign processes during runs


class Meter:
    """Foreign load around one run: busy CPU minus what this script's
    children and nginx used, in cores. It also adds the CPU time of the
    foreign processes alive at the end of the run to FOREIGN_BY_COMM
    (processes that start and exit within a run are not seen by name)."""

    def __init__(self, nginx_pids=()):
        self.nginx_pids = list(nginx_pids)

    def ticks(self, pids):
        t = 0
        for p in pids:
            try:
                with open(f"/proc/{p}/stat") as f:
                    s = f.read()
                rest = s[s.rindex(")") + 2:].split()
                t += int(rest[11]) + int(rest[12])
            except OSError:
                pass
        return t

    def __enter__(self):
        self.procs0 = proc_ticks()
        tm = os.times()
        self.t0 = time.monotonic()
        self.b0 = busy_jiffies()
        self.c0 = tm.children_user + tm.children_system + tm.user + tm.system
        self.n0 = self.ticks(self.nginx_pids)
        self.worker_ticks0 = self.ticks(self.nginx_pids[1:])
        return self

    def __exit__(self, *exc):
        tm = os.times()
        self.wall = time.monotonic() - self.t0
        busy = (busy_jiffies() - self.b0) / HZ
        own = tm.children_user + tm.children_system + tm.user + tm.system - self.c0
        nginx = (self.ticks(self.nginx_pids) - self.n0) / HZ
        self.nginx_worker_cpu = (self.ticks(self.nginx_pids[1:]) - self.worker_ticks0) / HZ
        self.foreign = max(0.0, busy - own - nginx) / self.wall
        procs1 = proc_ticks()
        mine = own_pids(procs1) | set(self.nginx_pids)
        for pid, (comm, _, _, t) in procs1.items():
            if pid in mine:
                continue
            old = self.procs0.get(pid)
            d = t - (old[3] if old and old[0] == comm else 0)
            if d > 0:
                FOREIGN_BY_COMM[comm] = FOREIGN_BY_COMM.get(comm, 0) + d / HZ
        return False

    def meta(self):
        return {"wall_s": round(self.wall, 2), "foreign_cores": round(self.foreign, 2),
                "contended": self.foreign > CONTENDED}


def own_stderr(stderr):
    """A command's own stderr, without the report /usr/bin/time -v appends."""
    i = stderr.find("\tCommand being timed:")
    stderr = stderr[:i] if i >= 0 else stderr
    return re.sub(r"(Command exited with non-zero status|Command terminated by signal) \d+\s*$", "", stderr.strip()).strip()


def time_v_cpu(stderr):
    u = re.search(r"User time \(seconds\): ([\d.]+)", stderr)
    s = re.search(r"System time \(seconds\): ([\d.]+)", stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    if not u or not s:
        return None, None
    return float(u.group(1)) + float(s.group(1)), (int(rss.group(1)) if rss else None)




# ---------------------------------------------------------------- goal 1: stats

class _NoProcess:
    """Stands for a target process that --replay does not start."""
    pid, returncode, stdout, stderr = None, 0, "", ""

    def terminate(self):
        pass

    def wait(self, timeout=None):
        return 0


def replayed(ctx, section, pred=lambda r: True):
    """The records of section that --replay read (pred filters them)."""
    return [r for r in ctx.replay if r.get("section") == section and pred(r)]


def start_target(ctx, start, *args):
    """Starts a target (nginx) unless replaying; returns it and its pids."""
    if ctx.replay is not None:
        return _NoProcess(), []
    proc = start(*args)
    return proc, nginx_pids(proc.pid)


def section_stats(ctx):
    a = ctx.args
    kinds = ["glocust", "glocust-cached", "launce", "boomer", "clock"]
    if ctx.replay is not None:
        runs, micro = replayed(ctx, "stats"), replayed(ctx, "micro")
    else:
        runs, micro = measure_stats(ctx, kinds)
    ctx.commands.append(f"taskset -c 0,1 statsbench -recorders <glocust|glocust-cached|launce|boomer|clock> "
                        f"-g {a.stats_goroutines} -d {a.stats_seconds}s -json   "
                        f"# one run per recorder, {a.rounds} interleaved rounds")
    ctx.commands.append(f"cd bench/statsbench && taskset -c 0,1 go test -run '^$' -bench BenchmarkRecord "
                        f"-benchtime {a.micro_benchtime}   # {a.micro_rounds} times")
    return render_stats(ctx, runs, micro, kinds)


def measure_stats(ctx, kinds):
    a = ctx.args
    runs, micro = [], []
    for rnd in range(1, a.rounds + 1):
        for kind in kinds:
            idle = wait_idle(a.run_idle_wait)
            cmd = ["taskset", "-c", "0,1", ctx.statsbench, "-recorders", kind, "-g", str(a.stats_goroutines),
                   "-d", f"{a.stats_seconds}s", "-json"]
            with Meter() as m:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.stats_seconds + 60)
            r = {"section": "stats", "round": rnd, "recorder": kind, "idle_before": idle, **m.meta()}
            line = next((l for l in p.stdout.splitlines() if l.startswith("{")), None)
            if line:
                r.update(json.loads(line))
            else:
                r["error"] = (p.stderr or p.stdout)[-500:]
            log(f"stats round {rnd} {kind}: {r.get('records_per_s', 0):,.0f} rec/s, "
                f"{r.get('cpu_ns_per_record', 0):.0f} CPU-ns/rec, verified={r.get('verified')}, "
                f"foreign {m.foreign:.2f} cores")
            runs.append(r)
            ctx.record(r)
    # go test micro-benchmarks (the same loop; b.N records over g goroutines)
    for rnd in range(1, a.micro_rounds + 1):
        idle = wait_idle(a.run_idle_wait)
        cmd = ["taskset", "-c", "0,1", ctx.statstest, "-test.run", "^$", "-test.bench", "BenchmarkRecord",
               "-test.benchtime", a.micro_benchtime]
        with Meter() as m:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=os.path.join(BENCH, "statsbench"))
        for l in p.stdout.splitlines():
            mm = re.match(r"BenchmarkRecord/([\w-]+)/goroutines=(\d+)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op"
                          r"(?:\s+([\d.]+) B/op\s+([\d.]+) allocs/op)?", l)
            if mm:
                r = {"section": "micro", "round": rnd, "recorder": mm.group(1), "goroutines": int(mm.group(2)),
                     "n": int(mm.group(3)), "ns_per_op": float(mm.group(4)),
                     "allocs_per_op": float(mm.group(6)) if mm.group(6) else None,
                     "foreign_cores_section": round(m.foreign, 2), "idle_before": idle}
                micro.append(r)
                ctx.record(r)
        log(f"micro round {rnd}: {sum(1 for r in micro if r['round'] == rnd)} results, foreign {m.foreign:.2f} cores")
        if p.returncode != 0:
            log("go test bench failed:", p.stdout[-400:], p.stderr[-400:])
    return runs, micro


def render_stats(ctx, runs, micro, kinds):
    a = ctx.args
    L = ["## 1. Stats recording (issue 5, goal 1)", "",
         f"Same loop for every recorder (`bench/statsbench`): {a.stats_goroutines} goroutines released by a start gate, "
         f"20 request names round-robin, response times 0.1–200 ms, {a.stats_seconds} s per run, "
         f"`taskset -c 0,1` (GOMAXPROCS=2), {a.rounds} interleaved rounds. Each recorder is used through its "
         "public API (see `bench/statsbench/recorders.go`); after every run the recorder's own reported totals "
         "(requests, per-name requests, content bytes) are compared with what the loop recorded.", "",
         "**records/s** is wall-clock throughput on the 2 cores; **CPU-ns/record** is the process's user+sys CPU time "
         "per record (getrusage around the run, consumers included), and **records/s per core** = 10⁹ / CPU-ns. "
         "On a loaded machine records/s is what the foreign load left over; the CPU figure is steadier but does "
         "not show a single-consumer ceiling (boomer, launce per 100 goroutines) that an idle machine would hit. "
         "`glocust` keeps the `*Entry` per request definition (as glocust's scenario runner does) and calls "
         "`Entry.Observe(rt, n)` (coarse registry clock); `glocust-cached` calls `Record(time.Now(), rt, n)` on the "
         "cached entry; `glocust-lookup` looks the entry up per record. `clock` is no recorder: "
         "only `time.Now()` and a goroutine-local count, the floor under all of them (each reads the clock once "
         "per record: glocust's caller, launce's `Aggregator.Report`, boomer's stats goroutine).", "",
         "| recorder | records/s min / **median** / max | CPU-ns/record | records/s per core | allocs/record | totals verified | foreign load (cores, median) |",
         "|---|---|---|---|---|---|---|"]
    medv = {}
    for k in kinds:
        rs = [r for r in runs if r.get("recorder") == k and "records_per_s" in r]
        if not rs:
            L.append(f"| {k} | (no result) | | | | | |")
            continue
        rps = [r["records_per_s"] for r in rs]
        cpu = med([r.get("cpu_ns_per_record") for r in rs])
        medv[k] = (med(rps), cpu)
        ok = all(r.get("verified") for r in rs) and len(rs) == a.rounds
        L.append(f"| {k} | {min(rps) / 1e6:.2f}M / **{med(rps) / 1e6:.2f}M** / {max(rps) / 1e6:.2f}M | "
                 f"{cpu:.0f} | {1e9 / cpu / 1e6:.2f}M | {med([r.get('allocs_per_record') for r in rs]):.2f} | "
                 f"{'yes' if ok else 'NO'} ({sum(1 for r in rs if r.get('verified'))}/{len(rs)}) | "
                 f"{med([r['foreign_cores'] for r in rs]):.2f} |")
    errs = [r for r in runs if r.get("error")]
    for r in errs:
        L.append(f"\nRun failed or did not add up: {r['recorder']} round {r['round']}: `{r['error'][:300]}`")
    L.append("")
    if "glocust" in medv:
        g = medv["glocust"]
        L.append("Ratios (medians, same run): ")
        L.append("")
        L.append("| glocust vs | by records/s | by CPU per record | goal |")
        L.append("|---|---|---|---|")
        for k, goal in (("launce", 3), ("boomer", 20)):
            if k in medv:
                L.append(f"| {k} | **{g[0] / medv[k][0]:.1f}x** | {medv[k][1] / g[1]:.1f}x | ≥ {goal}x |")
        L.append("")
        L.append(f"Goal ≥ 25M records/s on the 2 cores: median **{g[0] / 1e6:.1f}M** (wall clock, this run); "
                 f"{2e9 / g[1] / 1e6:.1f}M if both cores were fully ours at the measured CPU cost "
                 f"({g[1]:.0f} CPU-ns/record).")
        if "clock" in medv:
            c = medv["clock"][1]
            if g[1] >= c:
                L.append(f"Of those {g[1]:.0f} CPU-ns, reading the clock alone costs {c:.0f} (`clock`), which by itself "
                         f"caps a recorder that reads it per record at {2e9 / c / 1e6:.1f}M records/s on 2 cores here; "
                         f"glocust's own work is about {g[1] - c:.0f} ns per record.")
            else:
                L.append(f"Reading the clock alone costs {c:.0f} CPU-ns per record here (`clock`), more than glocust's whole "
                         f"record ({g[1]:.0f}): `Observe` takes its timestamp from the registry's coarse clock instead of "
                         f"reading the clock per record; a recorder that does read it (`glocust-cached`, launce, boomer) is "
                         f"capped at {2e9 / c / 1e6:.1f}M records/s on 2 cores here.")
        L.append("")
    if micro:
        L += ["### go test micro-benchmarks (`BenchmarkRecord`)", "",
              f"b.N records over g goroutines, `-benchtime {a.micro_benchtime}`, {a.micro_rounds} runs, medians. "
              "ns/op is wall time per record over all goroutines (so records/s = 10⁹ / ns/op); allocs/op "
              "counts every goroutine, the recorders' own consumers included.", "",
              "| recorder | goroutines | ns/op min / **median** | records/s at the median (at the min) | allocs/op |",
              "|---|---|---|---|---|"]
        keys = sorted({(r["recorder"], r["goroutines"]) for r in micro},
                      key=lambda x: (kinds.index(x[0]) if x[0] in kinds else 9, x[1]))
        for k, g in keys:
            rs = [r for r in micro if r["recorder"] == k and r["goroutines"] == g]
            ns = med([r["ns_per_op"] for r in rs])
            lo = min(r["ns_per_op"] for r in rs)
            al = med([r["allocs_per_op"] for r in rs])
            L.append(f"| {k} | {g} | {lo:.1f} / **{ns:.1f}** | {1e9 / ns / 1e6:.2f}M ({1e9 / lo / 1e6:.2f}M) | "
                     f"{al if al is not None else '?'} |")
        L.append("")
        L.append("Foreign load during the micro-benchmark runs (cores, per run of the whole set): "
                 + ", ".join(str(r) for r in sorted({x["foreign_cores_section"] for x in micro})) + ". "
                 "These are wall-clock figures: under foreign load they swing by several times between runs, "
                 "the min is the least disturbed one.")
        L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------- goal 2: worker

def load_module(name):
    """Loads bench/<name>.py, one of the scripts that also run alone."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(BENCH, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def nginx_pids(master_pid):
    procs = proc_ticks()
    return [master_pid] + sorted(p for p, v in procs.items() if v[2] == master_pid)


def parse_wrk(out):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    return (float(rps.group(1)) if rps else None, int(n.group(1)) if n else None, lat)


def agg_row(csv_path):
    with open(csv_path) as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    return rows[0] if rows else None


def section_worker(ctx):
    a = ctx.args
    wvl = load_module("worker_vs_locust")
    tmp = ctx.tmp
    nginx, pids = start_target(ctx, wvl.start_nginx, tmp)
    log("nginx pids", pids)
    runs = replayed(ctx, "worker") if ctx.replay is not None else []
    standalone_ok = not any(r.get("error") for r in runs if r.get("kind") == "glocust-standalone")
    wargs = argparse.Namespace(users=a.users, duration=a.duration)
    try:
        for rnd in range(1, a.rounds + 1 if ctx.replay is None else 1):
            for kind in ("wrk", "glocust-standalone", "glocust-worker", "locust-worker"):
                if kind == "glocust-standalone" and not standalone_ok:
                    continue
                idle = wait_idle(a.run_idle_wait)
                r = {"section": "worker", "round": rnd, "kind": kind, "idle_before": idle}
                try:
                    with Meter(pids) as m:
                        r.update(run_generator(kind, ctx, wvl, wargs, rnd))
                except Exception as e:  # one failed run must not stop the others
                    r["error"] = f"{type(e).__name__}: {e}"[:500]
                r.update(m.meta())
                r["nginx_cpu_us_per_req"] = (m.nginx_worker_cpu * 1e6 / r["requests"]) if r.get("requests") else None
                if kind == "glocust-standalone" and r.get("error"):
                    standalone_ok = False
                    log("glocust standalone failed; (c) falls back to the worker under a Locust master:", r["error"])
                log(f"worker round {rnd} {kind}: {r.get('rps') or 0:,.0f} req/s, "
                    f"{r.get('cpu_us_per_req') or 0:.1f} CPU-µs/req, foreign {r['foreign_cores']:.2f} cores"
                    + (f", error {r['error']}" if r.get("error") else ""))
                runs.append(r)
                ctx.record(r)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    d = a.duration
    ctx.commands += [
        f"taskset -c 0 nginx -c bench/nginx.conf -p <tmp>   # target, return 200 'ok'",
        f"/usr/bin/time -v taskset -c 1 wrk -t1 -c{a.users} -d{d}s --latency {TARGET}/",
        f"/usr/bin/time -v taskset -c 1 glocust -f bench/scenario_bench.yaml --headless -u {a.users} -r {a.users} "
        f"-t {d}s --only-summary -H {TARGET} --csv <prefix> --web-host 127.0.0.1 --web-port <free>",
        f"worker_vs_locust.one_run(glocust|locust): taskset -c 0 locust --master (locustfile_bench.py) "
        f"--expect-workers 1 -u {a.users} -r {a.users} -t {d}s --csv; /usr/bin/time -v taskset -c 1 "
        "<glocust --worker -f bench/scenario_bench.yaml | locust --worker -f bench/locustfile_bench.py>",
    ]
    return render_worker(ctx, runs, standalone_ok)


def run_wrk(ctx, url, *extra, duration=None, users=None):
    """One wrk run on core 1 (one thread, --users connections for --duration
    seconds unless given)."""
    d = duration or ctx.args.duration
    users = users or ctx.args.users
    p = subprocess.run(["/usr/bin/time", "-v", "taskset", "-c", "1", "wrk", "-t1", f"-c{users}", f"-d{d}s",
                        "--latency", *extra, url], capture_output=True, text=True, timeout=d + 60)
    rps, n, lat = parse_wrk(p.stdout)
    cpu, rss = time_v_cpu(p.stderr)
    if p.returncode != 0 or rps is None:
        raise RuntimeError(f"wrk rc={p.returncode}: {p.stdout[-200:]} {own_stderr(p.stderr)[-200:]}")
    errs = re.search(r"Socket errors: (.*)|Non-2xx or 3xx responses: (\d+)", p.stdout)
    return {"rps": rps, "requests": n, "cpu_s": cpu, "max_rss_kb": rss, "p50": lat.get("50"), "p99": lat.get("99"),
            "cpu_us_per_req": cpu * 1e6 / n, "wrk_errors": errs.group(0) if errs else None}


def run_glocust(ctx, scenario, host, tag, *classes, duration=None, users=None):
    """One glocust standalone run on core 1 (--users users for --duration
    seconds unless given; the scenario's classes or those named), measured
    from its CSV and /usr/bin/time."""
    d = duration or ctx.args.duration
    users = users or ctx.args.users
    prefix = os.path.join(ctx.tmp, tag)
    port = free_port()
    p = subprocess.run(["/usr/bin/time", "-v", "taskset", "-c", "1", ctx.glocust, "-f", scenario, *classes,
                        "--headless", "-u", str(users), "-r", str(users), "-t", f"{d}s", "--only-summary",
                        "-H", host, "--csv", prefix, "--web-host", "127.0.0.1", "--web-port", str(port),
                        "--loglevel", "WARNING"], capture_output=True, text=True, timeout=d + 60)
    cpu, rss = time_v_cpu(p.stderr)
    row = agg_row(prefix + "_stats.csv") if os.path.exists(prefix + "_stats.csv") else None
    if p.returncode not in (0, 1) or row is None or int(row["Request Count"]) == 0:
        raise RuntimeError(f"glocust rc={p.returncode}: {own_stderr(p.stderr)[-300:]}")
    n = int(row["Request Count"])
    return {"rps": float(row["Requests/s"]), "requests": n, "failures": int(row["Failure Count"]), "cpu_s": cpu,
            "max_rss_kb": rss, "p50": row["50%"], "p99": row["99%"], "cpu_us_per_req": cpu * 1e6 / n,
            "failure_texts": failure_texts(prefix + "_failures.csv")}


def failure_texts(csv_path):
    """The failure texts of a run with their occurrences (from --csv's _failures.csv)."""
    if not os.path.exists(csv_path):
        return {}
    with open(csv_path) as f:
        return {r["Error"]: int(r["Occurrences"]) for r in csv.DictReader(f)}


def run_generator(kind, ctx, wvl, wargs, rnd):
    if kind == "wrk":
        return run_wrk(ctx, TARGET + "/")
    if kind == "glocust-standalone":
        r = run_glocust(ctx, os.path.join(BENCH, "scenario_bench.yaml"), TARGET, f"standalone-{rnd}")
        if r["failures"]:
            raise RuntimeError(f"glocust standalone: {r['failures']} failures: {r['failure_texts']}")
        return r
    k = "glocust" if kind == "glocust-worker" else "locust"
    r = wvl.one_run(k, ctx.glocust, ctx.locust, wargs, ctx.tmp, rnd)
    return {"rps": r["rps"], "requests": r["requests"], "cpu_s": r["cpu_s"], "cpu_us_per_req": r["cpu_us_per_req"]}


def render_worker(ctx, runs, standalone_ok):
    a = ctx.args
    kinds = ["wrk", "glocust-standalone", "glocust-worker", "locust-worker"]
    labels = {"wrk": "wrk 4.1 (`-t1`)", "glocust-standalone": "glocust standalone",
              "glocust-worker": "glocust worker (Locust master)", "locust-worker": "Locust FastHttpUser worker (Locust master)"}
    L = ["## 2. Worker throughput (issue 5, goal 2)", "",
         f"nginx (`bench/nginx.conf`, `return 200 'ok'`) on core 0, the generator on core 1 (`taskset -c 1`), "
         f"{a.users} connections/users, {a.duration} s, {a.rounds} interleaved rounds (wrk, glocust standalone, "
         "glocust worker, Locust worker per round). The Locust master (pinned Locust from `.venv`) runs on core 0 "
         "beside nginx for the worker runs (`worker_vs_locust.py`). req/s: wrk's own figure, Locust/glocust "
         "Aggregated Requests/s from the CSV. CPU-µs/req: user+sys of the generator process from `/usr/bin/time -v` "
         "(start-up included) / requests. nginx CPU-µs/req: the nginx worker's CPU ticks / requests.", ""]
    if not standalone_ok:
        L += ["**glocust standalone failed in this run**, so comparison (c) uses the glocust worker under a "
              "Locust master (row 3).", ""]
    L += ["| generator (1 core) | req/s min / **median** / max | CPU-µs/req | req/s per gen core | nginx CPU-µs/req | foreign load (cores, median) | runs ok |",
          "|---|---|---|---|---|---|---|"]
    medv = {}
    for k in kinds:
        rs = [r for r in runs if r["kind"] == k and r.get("rps")]
        bad = [r for r in runs if r["kind"] == k and not r.get("rps")]
        if not rs:
            if bad:
                L.append(f"| {labels[k]} | failed: `{(bad[0].get('error') or '')[:150]}` | | | | | 0/{len(bad)} |")
            continue
        rps = [r["rps"] for r in rs]
        cpu = med([r["cpu_us_per_req"] for r in rs])
        medv[k] = (med(rps), cpu)
        L.append(f"| {labels[k]} | {min(rps):,.0f} / **{med(rps):,.0f}** / {max(rps):,.0f} | {cpu:.1f} | "
                 f"{1e6 / cpu:,.0f} | {med([r.get('nginx_cpu_us_per_req') for r in rs]) or 0:.1f} | "
                 f"{med([r['foreign_cores'] for r in rs]):.2f} | {len(rs)}/{len(rs) + len(bad)} |")
    L.append("")
    glo = medv.get("glocust-standalone") or medv.get("glocust-worker")
    which = "standalone" if "glocust-standalone" in medv else "worker"
    L += ["| ratio (medians) | by req/s | by CPU per request | goal |", "|---|---|---|---|"]
    if glo and "wrk" in medv:
        L.append(f"| glocust {which} / wrk | **{glo[0] / medv['wrk'][0]:.2f}x** | "
                 f"{medv['wrk'][1] / glo[1]:.2f}x | ≥ 0.8x |")
    if "glocust-worker" in medv and "wrk" in medv and which == "standalone":
        g = medv["glocust-worker"]
        L.append(f"| glocust worker / wrk | {g[0] / medv['wrk'][0]:.2f}x | {medv['wrk'][1] / g[1]:.2f}x | ≥ 0.8x |")
    for k in ("glocust-standalone", "glocust-worker"):
        if k in medv and "locust-worker" in medv:
            g = medv[k]
            L.append(f"| {labels[k]} / Locust FastHttpUser worker | **{g[0] / medv['locust-worker'][0]:.1f}x** | "
                     f"{medv['locust-worker'][1] / g[1]:.1f}x | ≥ 15x |")
    L.append("")
    errs = [r for r in runs if r.get("error")]
    for r in errs:
        L.append(f"- failed: {r['kind']} round {r['round']}: `{r['error'][:300]}`")
    if errs:
        L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------- goals 3 and 4: hooks

def section_fanin(ctx):
    """Goal 3, master fan-in: bench/fanin/run.py (N simulated workers over
    real DEALER connections against the glocust master and a Python Locust
    master, interleaved per N, master pinned to core 0 and simulator to core
    1); it writes bench/fanin/RESULTS.md, whose results part becomes this
    section."""
    # Hook: the fan-in benchmark lives in bench/fanin (run.py writes its own
    # bench/fanin/RESULTS.md); --rounds < 3 runs its --quick mode.
    cmd = [sys.executable, os.path.join(BENCH, "fanin", "run.py"), "--glocust", ctx.glocust, "--locust", ctx.locust,
           "--start-idle-wait", str(ctx.args.run_idle_wait)]
    cmd += ["--quick"] if ctx.args.rounds < 3 else ["--rounds", str(ctx.args.rounds)]
    ctx.commands.append(" ".join(cmd).replace(ROOT + "/", ""))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800) if ctx.replay is None else _NoProcess()
        err = "" if p.returncode == 0 else (p.stderr or "")[-300:]
    except subprocess.TimeoutExpired:
        err = "bench/fanin/run.py timed out"
    body = ""
    path = os.path.join(BENCH, "fanin", "RESULTS.md")
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
        m = re.search(r"^## Results.*?(?=^## Simulator health)", text, re.S | re.M)
        body = m.group(0) if m else ""
    return ("## 3. Master fan-in (issue 5, goal 3)\n\n"
            + (f"`bench/fanin/run.py` failed: `{err}`\n\n" if err else "")
            + "Full report (load, machine state, simulator health, profile): `bench/fanin/RESULTS.md`.\n\n"
            + body.replace("## ", "### ") + "\n")


def section_scale(ctx):
    """Scale (issue 11): SCALE_WORKERS (10,000) simulated workers on one
    glocust master, bench/fanin/run.py --scale (one round, 60 s window):
    no worker marked missing, heartbeat reply p99 under 250 ms, the
    master's CPU and RSS. Env: SCALE_WORKERS, SCALE_WINDOW (s)."""
    out, raw = os.path.join(ctx.tmp, "scale.md"), os.path.join(ctx.tmp, "scale.jsonl")
    cmd = [sys.executable, os.path.join(BENCH, "fanin", "run.py"), "--scale", "--glocust", ctx.glocust,
           "--ns", os.environ.get("SCALE_WORKERS", "10000"), "--window", os.environ.get("SCALE_WINDOW", "60"),
           "--start-idle-wait", str(ctx.args.run_idle_wait), "--out", out, "--jsonl", raw]
    ctx.commands.append(" ".join(cmd).replace(ROOT + "/", "").replace(ctx.tmp + "/", "<tmp>/"))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800) if ctx.replay is None else _NoProcess()
        err = "" if p.returncode == 0 else (p.stderr or "")[-400:]
    except subprocess.TimeoutExpired:
        err = "bench/fanin/run.py --scale timed out"
    body = ""
    if os.path.exists(out):
        with open(out) as f:
            text = f.read()
        m = re.search(r"^## Load.*?(?=^## Commands)", text, re.S | re.M)
        body = m.group(0) if m else ""
        with open(raw) as f:
            for line in f:
                if ctx.replay is None:
                    ctx.record(dict(json.loads(line), section="scale"))
    n = int(os.environ.get("SCALE_WORKERS", "10000"))
    return (f"## 6. Scale: {n:,} workers on one master (issue 11)\n\n"
            + (f"`bench/fanin/run.py --scale` failed: `{err}`\n\n" if err else "")
            + body.replace("## ", "### ") + "\n")


def section_names(ctx):
    """Issue 11, the name cap: stats' BenchmarkNames (go test, core 0,
    --rounds runs): what a distinct request name costs the worker's
    registry and the master's aggregate, below the cap (time and heap per
    new name) and past it (the fold)."""
    p, runs = go_micro(ctx, "BenchmarkNames", "names", pkg="./stats/", benchmem=False, prefix="")
    L = ["## 7. The name cap (issue 11)", "",
         "What a distinct request name costs (`--max-request-names`, default 10,000, `stats/namecap.go`): "
         "`BenchmarkNames` in `stats/bench_test.go` over batches of 1,000 names `/item/<n>`, pinned to core 0 (one P, "
         f"so one recording shard per name), {ctx.args.rounds} runs, medians. *new*: a name below the cap (the worker "
         "creates its entry and records once; the master merges its report entry into a new row); *folded*: a name past "
         "the cap (the worker finds its method's overflow entry; the master merges it into that entry). B/name is the "
         "heap a name keeps after a GC.", "",
         "| case | ns per name | B per name | allocs per 1,000 names |", "|---|---|---|---|"]
    for k in ("worker/new", "worker/folded", "master/new", "master/folded"):
        rs = runs.get(k, [])
        bn = med([r.get("B/name") for r in rs])
        L.append(f"| {k} | {med([r.get('ns/name') for r in rs]) or 0:.1f} | "
                 f"{'–' if bn is None else f'{bn:,.0f}'} | {med([r.get('allocs/op') for r in rs]) or 0:.0f} |")
    if p.returncode != 0 or not runs:
        L.append(f"\nFailed: `{(p.stderr or p.stdout)[-300:]}`")
    return "\n".join(L) + "\n"


def section_soak(ctx):
    """Soak (issue 11): bench/soak.py, a glocust master and two workers at
    3,000 requests/s for --soak-minutes (30), sampling RSS, goroutines,
    open files and threads each minute, with their slopes. Runs only when
    named in --only."""
    out, raw = os.path.join(ctx.tmp, "soak.md"), os.path.join(ctx.tmp, "soak.jsonl")
    cmd = [sys.executable, os.path.join(BENCH, "soak.py"), "--glocust", ctx.glocust,
           "--minutes", str(ctx.args.soak_minutes), "--start-idle-wait", str(ctx.args.run_idle_wait),
           "--out", out, "--raw", raw]
    ctx.commands.append(" ".join(cmd).replace(ROOT + "/", "").replace(ctx.tmp + "/", "<tmp>/"))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=ctx.args.soak_minutes * 60 + 900)
        err = "" if p.returncode == 0 else (p.stderr or "")[-400:]
    except subprocess.TimeoutExpired:
        err = "bench/soak.py timed out"
    body = ""
    if os.path.exists(out):
        with open(out) as f:
            body = f.read()
        with open(raw) as f:
            lines = f.read().splitlines()
        if lines:
            ctx.record(dict(json.loads(lines[-1]), section="soak"))
    return (f"## 8. Soak: {ctx.args.soak_minutes} min, a master and two workers (issue 11)\n\n"
            + (f"`bench/soak.py` failed: `{err}`\n\n" if err and not body else "") + body + "\n")


def section_memory(ctx):
    """Goal 4, memory per user: one glocust process (standalone, and a worker
    under a Locust master) with MEMORY_USERS (100,000) idle users (constant
    wait 60 s), VmRSS/VmHWM once every user has made its first request and
    RSS is stable; the same with one user as the baseline; bytes per user =
    (RSS_N - RSS_1) / (N - 1). Locust's figure beside it: one Locust
    FastHttpUser worker under a Locust master at MEMORY_LOCUST_USERS (5,000,
    20,000 and 40,000) users. The runs themselves are bench/memory.py's (see its
    docstring). Goal: <= 1 GiB at 100,000 users (10 KiB per user).
    Env: MEMORY_USERS, MEMORY_LOCUST_USERS (comma-separated)."""
    a = ctx.args
    mem = load_module("memory")
    users = int(os.environ.get("MEMORY_USERS", "100000"))
    lusers = [int(x) for x in os.environ.get("MEMORY_LOCUST_USERS", "5000,20000,40000").split(",") if x]
    plan = [("glocust-standalone", [1, users]), ("glocust-worker", [1, users]), ("locust-worker", [1] + lusers)]
    nginx, pids = start_target(ctx, mem.start_nginx, ctx.tmp)
    runs = replayed(ctx, "memory") if ctx.replay is not None else []
    try:
        for rnd in range(1, a.rounds + 1 if ctx.replay is None else 1):
            for kind, ns in plan:
                for n in ns:
                    idle = wait_idle(a.run_idle_wait)
                    r = {"section": "memory", "round": rnd, "kind": kind, "users": n, "idle_before": idle}
                    try:
                        with Meter(pids) as m:
                            r.update(mem.run_one(kind, n, ctx.glocust, ctx.locust, ctx.tmp))
                    except Exception as e:  # one failed run must not stop the others
                        r["error"] = f"{type(e).__name__}: {e}"[:500]
                    r.update(m.meta())
                    log(f"memory round {rnd} {kind} {n} users: VmRSS {(r.get('rss_kb') or 0) / 1024:.1f} MiB, "
                        f"settled={r.get('settled')}, requests {r.get('requests')}, foreign {m.foreign:.2f} cores"
                        + (f", error {r['error']}" if r.get("error") else ""))
                    runs.append(r)
                    ctx.record(r)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    rate = mem.SPAWN_RATE
    ctx.commands += [
        "taskset -c 0 nginx -c bench/memory/nginx.conf -p <tmp>   # 4 ports, return 200 'ok', Connection: close",
        f"taskset -c 1 glocust -f bench/memory/scenario_idle.yaml --headless -u <1|{users}> -r <min(N,{rate})> "
        f"-t {mem.RUN_TIME}s --only-summary   # VmRSS/VmHWM once nginx answered N requests and RSS is stable, "
        "then SIGTERM",
        f"taskset -c 0 locust -f bench/memory/locustfile_idle.py --master --headless --expect-workers 1 "
        f"-u <N> -r <min(N,{rate})> -t {mem.RUN_TIME}s;  taskset -c 1 <glocust --worker -f "
        "bench/memory/scenario_idle.yaml | locust --worker -f bench/memory/locustfile_idle.py>   "
        f"# glocust N = 1, {users}; Locust N = 1, {', '.join(str(x) for x in lusers)}",
    ]
    return render_memory(ctx, runs, plan, mem)


def memory_per_user(runs, kind, n):
    """bytes/user per round: (RSS_n - RSS_1) / (n - 1), both runs of that round settled."""
    out = []
    for rnd in sorted({r["round"] for r in runs}):
        hi = [r for r in runs if r["kind"] == kind and r["users"] == n and r["round"] == rnd and r.get("settled")]
        lo = [r for r in runs if r["kind"] == kind and r["users"] == 1 and r["round"] == rnd and r.get("settled")]
        if hi and lo and n > 1:
            out.append((hi[0]["rss_kb"] - lo[0]["rss_kb"]) * 1024 / (n - 1))
    return out


def render_memory(ctx, runs, plan, mem):
    a = ctx.args
    mib = lambda kb: kb / 1024
    labels = {"glocust-standalone": "glocust standalone", "glocust-worker": "glocust worker (Locust master)",
              "locust-worker": "Locust FastHttpUser worker (Locust master)"}
    L = ["## 4. Memory per user (issue 5, goal 4)", "",
         "Idle users: class `IdleUser`, `wait_time` constant 60 s, one task `GET /` "
         "(`bench/memory/scenario_idle.yaml`, `bench/memory/locustfile_idle.py`; four equivalent tasks to "
         "nginx's four loopback ports 18090-18093, `bench/memory/nginx.conf`). A user makes its request when "
         "it starts and then waits 60 s; the target answers `Connection: close`, so a waiting user holds no "
         "socket (the hard `RLIMIT_NOFILE` here is 20,000 and cannot be raised, so 100,000 open connections "
         "do not fit in one process). The master paces the ramp: "
         f"`-r {mem.SPAWN_RATE}` (100,000 users in 40 s; at 5,000/s the generator's core saturates and "
         "sockets pile up past the limit). "
         "A run is measured once nginx has answered N requests of this run (it logs 2 bytes per request) "
         "and the generator's VmRSS has moved by less than max(1 %, 2 MiB) over 3 one-second samples: VmRSS and "
         "VmHWM from `/proc/<pid>/status`, with `uptime`; then the processes get SIGTERM. Every measurement "
         f"falls within {mem.DEADLINE} s of the start, before any user's 60 s wait ends. The generator runs on "
         "core 1 (`taskset -c 1`), nginx and the Locust master on core 0. **bytes/user** = (VmRSS at N users − "
         "VmRSS of the same command with 1 user, same round) / (N − 1); "
         f"{a.rounds} interleaved round(s), medians. VmRSS does not count the kernel's socket memory.", "",
         "| generator | users | VmRSS min / **median** / max (MiB) | VmHWM median (MiB) | 1-user VmRSS (MiB) | "
         "**bytes/user** median (per round) | ramp (s) | runs ok |",
         "|---|---|---|---|---|---|---|---|"]
    per_user = {}
    for kind, ns in plan:
        for n in ns:
            rs = [r for r in runs if r["kind"] == kind and r["users"] == n]
            ok = [r for r in rs if r.get("settled")]
            if not ok:
                err = next((r.get("error") or f"not settled: {r.get('requests')} of {n} requests" for r in rs), "")
                L.append(f"| {labels[kind]} | {n:,} | failed: `{err[:150]}` | | | | | 0/{len(rs)} |")
                continue
            rss = [r["rss_kb"] for r in ok]
            base = med([r["rss_kb"] for r in runs if r["kind"] == kind and r["users"] == 1 and r.get("settled")])
            bpu = memory_per_user(runs, kind, n)
            if bpu:
                per_user[(kind, n)] = med(bpu)
            L.append(f"| {labels[kind]} | {n:,} | {mib(min(rss)):.1f} / **{mib(med(rss)):.1f}** / {mib(max(rss)):.1f} | "
                     f"{mib(med([r['hwm_kb'] for r in ok])):.1f} | {mib(base) if base else 0:.1f} | "
                     + (f"**{med(bpu):,.0f}** ({', '.join(f'{x:,.0f}' for x in bpu)})" if bpu else "–")
                     + f" | {med([r['spawned_s'] for r in ok]):.0f} | {len(ok)}/{len(rs)} |")
    L.append("")
    gl = [(k, n) for k, n in per_user if k != "locust-worker"]
    lo = sorted(n for k, n in per_user if k == "locust-worker")
    for k, n in gl:
        rss = med([r["rss_kb"] for r in runs if r["kind"] == k and r["users"] == n and r.get("settled")])
        verdict = "met" if rss * 1024 <= 2 ** 30 and n >= 100000 else ("NOT met" if n >= 100000 else "n/a (N < 100,000)")
        L.append(f"- {labels[k]}: **{mib(rss):,.0f} MiB** VmRSS at {n:,} users (goal ≤ 1,024 MiB: **{verdict}**), "
                 f"**{per_user[(k, n)] / 1024:.2f} KiB per user** (goal ≤ 10 KiB)"
                 + (f"; Locust's worker uses **{per_user[('locust-worker', lo[-1])] / per_user[(k, n)]:.1f}x** as much "
                    f"per user ({per_user[('locust-worker', lo[-1])] / 1024:.1f} KiB at {lo[-1]:,} users)" if lo else "")
                 + ".")
    if lo:
        L.append(f"- Locust FastHttpUser worker: " + ", ".join(
            f"{per_user[('locust-worker', n)] / 1024:.1f} KiB per user at {n:,} users" for n in lo)
            + f"; 100,000 such users would need about "
              f"{(per_user[('locust-worker', lo[-1])] * 100000) / 2 ** 30:.1f} GiB above its baseline.")
    L.append("")
    L += ["Per run (load average from `uptime` at the moment of the reading; the machine is shared):", "",
          "| round | generator | users | VmRSS (MiB) | VmHWM (MiB) | requests answered | summary reqs / fails | measured at (s) | foreign load (cores) | uptime load average |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        la = re.search(r"load average: (.*)$", r.get("uptime") or "")
        L.append(f"| {r['round']} | {r['kind']} | {r['users']:,} | "
                 + (f"{mib(r['rss_kb']):.1f} | {mib(r['hwm_kb']):.1f} | " if r.get("rss_kb") else "– | – | ")
                 + f"{r.get('requests', '–')} | {r.get('summary_requests', '–')} / {r.get('summary_failures', '–')} | "
                 + f"{r.get('settled_s') if r.get('settled') else 'not settled'} | {r['foreign_cores']:.2f} | "
                 + f"{la.group(1) if la else '?'} |" + (f" error: `{r['error'][:200]}`" if r.get("error") else ""))
    L.append("")
    return "\n".join(L)


def section_latency(ctx):
    """Goal 5, latency you can trust: bench/latency.py (a target that stalls
    100 ms every second; glocust with --latency-correction, corrected and
    uncorrected percentiles of the same requests, a closed-loop glocust run
    and Locust beside them)."""
    out = os.path.join(ctx.tmp, "latency.md")
    cmd = [sys.executable, os.path.join(BENCH, "latency.py"), "--glocust", ctx.glocust, "--rounds", str(ctx.args.rounds),
           "--duration", str(ctx.args.duration), "--locust", ctx.locust, "--out", out]
    ctx.commands.append(" ".join(cmd).replace(ROOT + "/", "").replace(ctx.tmp + "/", "<tmp>/"))
    if ctx.replay is None:
        wait_idle(ctx.args.run_idle_wait)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1800) if ctx.replay is None else _NoProcess()
    if p.returncode != 0 or not os.path.exists(out):
        return "## 5. Latency you can trust (issue 5, goal 5)\n\nFailed: `" + (p.stderr or "")[-400:] + "`\n"
    with open(out) as f:
        return f.read()


# ---------------------------------------------------------------- HTTPS (issue 12)

TLS_TARGET = "https://127.0.0.1:18443"
TLS_PROBE = "https://127.0.0.1:18444"  # the same, logging whether each handshake resumed a session
TLS_KINDS = {  # kind: (label, generator, wrk arguments or glocust class)
    "wrk-keepalive": ("wrk, keep-alive", "wrk", ()),
    "glocust-keepalive": ("glocust, keep-alive", "glocust", ("KeepAlive",)),
    "wrk-close": ("wrk, `Connection: close`", "wrk", ("-H", "Connection: close")),
    "glocust-close": ("glocust, `connection: close`", "glocust", ("Close",)),
    "glocust-close-resume": ("glocust, `connection: close`, `session_resumption: true`", "glocust", ("CloseResume",)),
}


def start_tls_nginx(tmp):
    """nginx with bench/nginx_tls.conf in tmp, with a self-signed ECDSA
    certificate for 127.0.0.1 made there now, pinned to core 0."""
    os.makedirs(os.path.join(tmp, "tmp"), exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(tmp, "key.pem"), "-out", os.path.join(tmp, "cert.pem"), "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=30)
    return start_nginx_conf(tmp, "nginx_tls.conf", 18443)


def start_nginx_conf(tmp, name, port):
    """nginx with bench/<name> copied into tmp (relative paths in it are
    relative to tmp), pinned to core 0, once it accepts on port."""
    os.makedirs(os.path.join(tmp, "tmp"), exist_ok=True)
    conf = os.path.join(tmp, name)
    shutil.copy(os.path.join(BENCH, name), conf)
    p = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", conf, "-p", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise RuntimeError(f"nginx ({name}) did not start")


def run_tls_kind(ctx, kind, tag, url, **kw):
    _, gen, extra = TLS_KINDS[kind]
    if gen == "wrk":
        return run_wrk(ctx, url + "/", *extra, **kw)
    return run_glocust(ctx, os.path.join(BENCH, "scenario_tls.yaml"), url, tag, *extra, **kw)


def probe_resumption(ctx, tmp):
    """Which generators resume TLS sessions when they reconnect: a 2 s run
    of each connection-per-request kind against the probe server, whose log
    has one line per request, "r" if its handshake resumed a session."""
    log_path = os.path.join(tmp, "reuse.log")
    out = {}
    for kind in ("wrk-close", "glocust-close", "glocust-close-resume"):
        start = os.path.getsize(log_path) if os.path.exists(log_path) else 0
        try:
            run_tls_kind(ctx, kind, f"probe-{kind}", TLS_PROBE, duration=2, users=4)
        except Exception as e:  # the probe is informative only
            out[kind] = f"failed: {e}"[:200]
            continue
        with open(log_path) as f:
            f.seek(start)
            lines = f.read().split()
        out[kind] = round(sum(1 for l in lines if l == "r") / len(lines), 3) if lines else None
    return out


def section_tls(ctx):
    """HTTPS against nginx on core 0, the generator on core 1: keep-alive
    (glocust vs wrk), and a new connection per request, so a TLS handshake
    per request (glocust with and without session resumption vs wrk with
    Connection: close)."""
    a = ctx.args
    tmp = os.path.join(ctx.tmp, "tls")
    nginx, pids = start_target(ctx, start_tls_nginx, tmp)
    runs = replayed(ctx, "tls") if ctx.replay is not None else []
    try:
        if ctx.replay is None:
            probe = probe_resumption(ctx, tmp)
            ctx.record({"section": "tls-probe", **probe})
        else:
            probe = {k: v for r in replayed(ctx, "tls-probe") for k, v in r.items() if k != "section"}
        log("TLS resumption probe (share of resumed handshakes):", probe)
        for rnd in range(1, a.rounds + 1 if ctx.replay is None else 1):
            for kind in TLS_KINDS:
                idle = wait_idle(a.run_idle_wait)
                r = {"section": "tls", "round": rnd, "kind": kind, "idle_before": idle}
                try:
                    with Meter(pids) as m:
                        r.update(run_tls_kind(ctx, kind, f"tls-{kind}-{rnd}", TLS_TARGET))
                except Exception as e:  # one failed run must not stop the others
                    r["error"] = f"{type(e).__name__}: {e}"[:500]
                r.update(m.meta())
                r["nginx_cpu_us_per_req"] = (m.nginx_worker_cpu * 1e6 / r["requests"]) if r.get("requests") else None
                log(f"tls round {rnd} {kind}: {r.get('rps') or 0:,.0f} req/s, {r.get('cpu_us_per_req') or 0:.1f} "
                    f"CPU-µs/req, failures {r.get('failures') or r.get('wrk_errors') or 0}, foreign {r['foreign_cores']:.2f} cores"
                    + (f", error {r['error']}" if r.get("error") else ""))
                runs.append(r)
                ctx.record(r)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    ctx.commands += [
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ... -subj /CN=127.0.0.1   # in <tmp>/tls",
        "taskset -c 0 nginx -c <tmp>/tls/nginx_tls.conf -p <tmp>/tls   # bench/nginx_tls.conf: TLS on 18443, probe on 18444",
        f"/usr/bin/time -v taskset -c 1 wrk -t1 -c{a.users} -d{a.duration}s --latency [-H 'Connection: close'] {TLS_TARGET}/",
        f"/usr/bin/time -v taskset -c 1 glocust -f bench/scenario_tls.yaml <KeepAlive|Close|CloseResume> --headless "
        f"-u {a.users} -r {a.users} -t {a.duration}s --only-summary -H {TLS_TARGET} --csv <prefix> --web-port <free>",
    ]
    return render_tls(ctx, runs, probe)


def render_tls(ctx, runs, probe):
    a = ctx.args
    L = ["## 9. HTTPS (issue 12)", "",
         f"nginx (`bench/nginx_tls.conf`, TLS 1.3, a self-signed P-256 certificate made at run time, `return 200 'ok'`) "
         f"on core 0, the generator on core 1, {a.users} connections/users, {a.duration} s, {a.rounds} interleaved rounds. "
         "Neither generator verifies the certificate (wrk never does; `scenario_tls.yaml` sets `tls.insecure`). "
         "CPU-µs/req: user+sys of the generator from `/usr/bin/time -v` / requests. The cost of a connection "
         "(TCP connect and close, TLS handshake) is the CPU per request with a new connection per request minus "
         "the CPU per request with keep-alive.", ""]
    L += ["| generator (1 core) | req/s min / **median** / max | CPU-µs/req | nginx CPU-µs/req | failures | "
          "foreign load (cores, median) | runs ok |", "|---|---|---|---|---|---|---|"]
    medv = {}
    for kind, (label, _, _) in TLS_KINDS.items():
        rs = [r for r in runs if r["kind"] == kind and r.get("rps")]
        bad = [r for r in runs if r["kind"] == kind and not r.get("rps")]
        if not rs:
            if bad:
                L.append(f"| {label} | failed: `{(bad[0].get('error') or '')[:150]}` | | | | | 0/{len(bad)} |")
            continue
        rps = [r["rps"] for r in rs]
        cpu = med([r["cpu_us_per_req"] for r in rs])
        medv[kind] = (med(rps), cpu)
        fails = "; ".join(sorted({str(r.get("failure_texts") or r.get("wrk_errors")) for r in rs
                                  if r.get("failures") or r.get("wrk_errors")})) or "0"
        L.append(f"| {label} | {min(rps):,.0f} / **{med(rps):,.0f}** / {max(rps):,.0f} | {cpu:.1f} | "
                 f"{med([r.get('nginx_cpu_us_per_req') for r in rs]) or 0:.1f} | {fails[:200]} | "
                 f"{med([r['foreign_cores'] for r in rs]):.2f} | {len(rs)}/{len(rs) + len(bad)} |")
    L += ["", "| ratio (medians) | by req/s | by CPU per request | goal |", "|---|---|---|---|"]
    for g, w, goal in (("glocust-keepalive", "wrk-keepalive", "≥ 0.9x"), ("glocust-close", "wrk-close", ""),
                       ("glocust-close-resume", "wrk-close", "")):
        if g in medv and w in medv:
            L.append(f"| {TLS_KINDS[g][0]} / {TLS_KINDS[w][0]} | **{medv[g][0] / medv[w][0]:.2f}x** | "
                     f"{medv[w][1] / medv[g][1]:.2f}x | {goal} |")
    L += ["", "| generator | CPU-µs per connection (close − keep-alive) | resumed handshakes (probe) |", "|---|---|---|"]
    for close, ka in (("wrk-close", "wrk-keepalive"), ("glocust-close", "glocust-keepalive"),
                      ("glocust-close-resume", "glocust-keepalive")):
        cost = f"{medv[close][1] - medv[ka][1]:.1f}" if close in medv and ka in medv else "?"
        share = probe.get(close)
        share = f"{share:.0%}" if isinstance(share, float) else str(share)
        L.append(f"| {TLS_KINDS[close][0]} | {cost} | {share} |")
    L.append("")
    for r in runs:
        if r.get("error"):
            L.append(f"- failed: {r['kind']} round {r['round']}: `{r['error'][:300]}`")
    return "\n".join(L) + "\n"


def go_micro(ctx, bench, section, pkg="./scenario/", benchmem=True, prefix="micro/"):
    """Runs `go test -bench ^<bench>$` (with -benchmem unless told not to)
    in pkg on core 0 (--rounds runs), records each run as case prefix+sub,
    and returns (its process, {sub-benchmark: [values per run]})."""
    cmd = ["taskset", "-c", "0", "go", "test", "-run", "^$", "-bench", f"^{bench}$"] + \
        (["-benchmem"] if benchmem else []) + ["-count", str(ctx.args.rounds), pkg]
    ctx.commands.append(" ".join(cmd))
    micro = {}
    if ctx.replay is not None:
        for r in replayed(ctx, section, lambda r: r.get("case", "\0").startswith(prefix)):
            micro.setdefault(r["case"][len(prefix):], []).append({k: v for k, v in r.items() if k not in ("section", "case")})
        return _NoProcess(), micro
    wait_idle(ctx.args.run_idle_wait)
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    for line in p.stdout.splitlines():
        m = re.match(rf"^{bench}/(\S+?)(?:-\d+)?\s+\d+\s+(.*)$", line)
        if m:
            vals = dict((u, float(v)) for v, u in re.findall(r"([\d.]+) (\S+)", m.group(2)))
            micro.setdefault(m.group(1), []).append(vals)
            ctx.record({"section": section, "case": prefix + m.group(1), **vals})
    return p, micro


def glocust_rounds(ctx, section, scenario, target, kinds, pids):
    """glocust standalone runs of each class of kinds against target, in
    --rounds interleaved rounds, with the foreign load around each."""
    if ctx.replay is not None:
        return replayed(ctx, section, lambda r: "kind" in r)
    runs = []
    for rnd in range(1, ctx.args.rounds + 1):
        for kind in kinds:
            r = {"section": section, "round": rnd, "kind": kind, "idle_before": wait_idle(ctx.args.run_idle_wait)}
            try:
                with Meter(pids) as m:
                    r.update(run_glocust(ctx, scenario, target, f"{section}-{kind}-{rnd}", kind))
            except Exception as e:  # one failed run must not stop the others
                r["error"] = f"{type(e).__name__}: {e}"[:500]
            r.update(m.meta())
            log(f"{section} round {rnd} {kind}: {r.get('rps') or 0:,.0f} req/s, {r.get('cpu_us_per_req') or 0:.1f} "
                f"CPU-µs/req, foreign {r['foreign_cores']:.2f} cores" + (f", error {r['error']}" if r.get("error") else ""))
            runs.append(r)
            ctx.record(r)
    return runs


TEMPLATE_KINDS = ("Untemplated", "Templated")


def section_templates(ctx):
    """Issue 13: a templated request (a path and a header variable, rendered
    per request) against the same request without templates (rendered
    once). scenario's BenchmarkDoTemplate (go test -benchmem, core 0,
    --rounds runs): time and allocations per request against a loopback
    server in the process; then glocust standalone against nginx (core 0)
    on core 1, the two classes of bench/scenario_template.yaml in
    interleaved rounds: requests/s and CPU per request."""
    a = ctx.args
    p, micro = go_micro(ctx, "BenchmarkDoTemplate", "templates")
    wvl = load_module("worker_vs_locust")
    nginx, pids = start_target(ctx, wvl.start_nginx, ctx.tmp)
    scenario = os.path.join(BENCH, "scenario_template.yaml")
    try:
        runs = glocust_rounds(ctx, "templates", scenario, TARGET, TEMPLATE_KINDS, pids)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    ctx.commands.append(f"/usr/bin/time -v taskset -c 1 glocust -f bench/scenario_template.yaml <Untemplated|Templated> "
                        f"--headless -u {a.users} -r {a.users} -t {a.duration}s --only-summary -H {TARGET} --csv <prefix>")
    L = ["## 10. Templates (issue 13)", "",
         "A request with a path variable and a header variable (`/items/${id}`, `Authorization: Bearer ${token}`), "
         "evaluated and rendered per request into the pooled send buffer, against the same request without "
         "templates (rendered once). In the process: `BenchmarkDoTemplate` (`scenario/bench_test.go`, a loopback "
         f"fasthttp server, core 0, {a.rounds} runs, medians). Against nginx: glocust standalone on core 1, "
         f"{a.users} users, {a.duration} s, {a.rounds} interleaved rounds.", "",
         "| request | ns/op (in process) | allocs/op | B/op | req/s vs nginx min / **median** / max | CPU-µs/req | failures |",
         "|---|---|---|---|---|---|---|"]
    medv = {}
    for kind in TEMPLATE_KINDS:
        ms = micro.get(kind.lower(), [])
        rs = [r for r in runs if r["kind"] == kind and r.get("rps")]
        rps = [r["rps"] for r in rs]
        medv[kind] = (med(rps), med([r["cpu_us_per_req"] for r in rs]), med([x.get("ns/op") for x in ms]))
        span = f"{min(rps):,.0f} / **{med(rps):,.0f}** / {max(rps):,.0f}" if rps else "failed"
        L.append(f"| {kind.lower()} | {medv[kind][2] or 0:,.0f} | {med([x.get('allocs/op') for x in ms]) or 0:.0f} | "
                 f"{med([x.get('B/op') for x in ms]) or 0:.0f} | {span} | {medv[kind][1] or 0:.1f} | "
                 f"{sum(r.get('failures') or 0 for r in rs)} |")
    u, t = medv["Untemplated"], medv["Templated"]
    if u[0] and t[0]:
        L += ["", f"Templated / untemplated (medians): **{t[0] / u[0]:.2f}x** req/s, {u[1] / t[1]:.2f}x by CPU per request, "
              f"{u[2] / t[2]:.2f}x in process (goal: ≥ 0.9x)." if u[2] and t[2] else ""]
    if p.returncode != 0 or not micro:
        L.append(f"\n`go test` failed: `{(p.stderr or p.stdout)[-300:]}`")
    for r in runs:
        if r.get("error"):
            L.append(f"- failed: {r['kind']} round {r['round']}: `{r['error'][:300]}`")
    return "\n".join(L) + "\n"


def section_ui(ctx):
    """Issue 15, the dashboard's cost: bench/cmd/uicost, a glocust master
    with --ui-workers simulated workers (bench/fanin's simulator) that
    report --ui-names request names each, and the page in Chromium: first
    paint, main-thread time per live update (Chromium's performance
    metrics), page memory while --ui-history updates arrive (3,600: two
    hours at the default 2 s), and the master's CPU and bytes per update."""
    a = ctx.args
    out = os.path.join(ctx.tmp, "uicost.json")
    cmd = [ctx.uicost, "-glocust", ctx.glocust, "-workers", str(a.ui_workers), "-names", str(a.ui_names),
           "-history", str(a.ui_history), "-interval", a.ui_interval, "-window", a.ui_window, "-json", out]
    ctx.commands.append(" ".join(cmd).replace(ctx.tmp + "/", "<tmp>/"))
    if ctx.replay is None:
        wait_idle(a.run_idle_wait)
    title = f"## 11. The dashboard: {a.ui_names:,} request names, {a.ui_workers:,} workers (issue 15)"
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=7200) if ctx.replay is None else _NoProcess()
        err = "" if p.returncode == 0 else (p.stderr or "")[-400:]
    except subprocess.TimeoutExpired:
        err = "bench/cmd/uicost timed out"
    if err or not os.path.exists(out):
        return f"{title}\n\n`bench/cmd/uicost` failed: `{err}`\n"
    with open(out) as f:
        r = json.load(f)
    if ctx.replay is None:
        ctx.record({"section": "ui", **r})
    heap, nodes, at = r["HeapMB"], r["DOMNodes"], r["HeapAtUpdates"]
    # The history grows to its cap (HistoryPoints), then halves: from the
    # first point past the cap on, the heap must not grow.
    full = next((i for i, n in enumerate(at) if n >= r["HistoryPoints"]), len(at) - 1)
    flat = heap[-1] <= heap[full] * 1.1 + 0.1 and nodes[-1] <= nodes[0]
    ok = lambda good: "yes" if good else "**no**"
    mt = r["MainThreadMSPerUpdate"]
    L = [title, "",
         f"A glocust master (its own process) with {r['Workers']:,} simulated workers over real ZMTP connections "
         f"(`bench/fanin`'s simulator), each reporting {r['Names']:,} names every 3 s; one page in Chromium "
         f"(`master/webui/browsertest`) on the same machine. The master runs with `GLOCUST_UI_INTERVAL={r['IntervalMS']}ms`, "
         f"so {r['HistoryUpdates']:,} updates ({r['HistoryUpdates'] * 2 / 3600:.1f} h at the default 2 s) reach the page "
         "in minutes; an update's content does not depend on the interval. Main-thread time is Chromium's ThreadTime (the "
         "renderer's main thread's CPU time: script, style, layout, paint) over the updates of a window, with TaskDuration "
         "(the wall time of those tasks, longer on a busy machine) beside it; memory is JSHeapUsedSize after a forced GC.", "",
         "| measure | value | goal | met |", "|---|---|---|---|",
         f"| first contentful paint | {r['FirstContentfulPaintMS']:,.0f} ms | < 2,000 ms | {ok(0 <= r['FirstContentfulPaintMS'] < 2000)} |",
         f"| navigation to the table's rows | {r['RowsShownMS']:,.0f} ms | < 2,000 ms | {ok(r['RowsShownMS'] < 2000)} |"]
    for tab, label in (("stats", "Statistics"), ("charts", "Charts"), ("workers", "Workers")):
        L.append(f"| main thread per update, {label} tab | {mt[tab]:.1f} ms CPU (tasks {r['TaskMSPerUpdate'][tab]:.1f} ms; "
                 f"script {r['ScriptMSPerUpdate'][tab]:.1f}, style and layout {r['LayoutMSPerUpdate'][tab]:.1f}) "
                 f"| < 50 ms | {ok(mt[tab] < 50)} |")
    L += [f"| page heap after GC, at 10% of the history → when it holds its {r['HistoryPoints']:,} points ({at[full]:,} updates) "
          f"→ at the end | {heap[0]:.2f} → {heap[full]:.2f} → {heap[-1]:.2f} MB (max {max(heap):.2f}) "
          f"| flat once full | {ok(flat)} |",
          f"| DOM nodes, at 10% → 100% | {nodes[0]:,.0f} → {nodes[-1]:,.0f} | flat | {ok(nodes[-1] <= nodes[0])} |",
          f"| master: the dashboard's time on the loop per update (inside `Do`) | {r['LoopMSPerUpdate']:.2f} ms | | |",
          f"| master: encoding per update (off the loop, once for all pages) | {r['EncodeMSPerUpdate']:.2f} ms | | |",
          f"| master: process CPU per update, no page / one page | {r['MasterCPUmsPerUpdateNoPage']:.2f} / "
          f"{r['MasterCPUmsPerUpdate']:.2f} ms | | |",
          f"| bytes per update (each page) / a page's init | {r['UpdateBytes'] / 1024:,.1f} / {r['InitBytes'] / 1024:,.1f} KiB | | |",
          f"| master RSS at the end | {r['MasterRSSMB']:.0f} MB | | |"]
    if r.get("ConsoleError"):
        L.append(f"\nThe page reported errors: `{r['ConsoleError'][:3]}`")
    return "\n".join(L) + "\n"


GZIP_TARGET = "http://127.0.0.1:18090"
GZIP_KINDS = ("Identity", "Decoded", "Received")
GZIP_MICRO = {"Identity": "plain", "Decoded": "gzip-decoded", "Received": "gzip-received"}


def section_gzip(ctx):
    """Issue 12: what compressed responses cost the generator. scenario's
    BenchmarkDoGzip (go test -benchmem, core 0, --rounds runs: a 2 KiB JSON
    body plain, gzipped and decoded, gzipped and not decoded, from a
    loopback server in the process); then glocust standalone on core 1
    against nginx (bench/nginx_gzip.conf: the same body, gzip level 1 when
    asked for, chunked; core 0), the three classes of
    bench/scenario_gzip.yaml in interleaved rounds: requests/s and CPU per
    request."""
    a = ctx.args
    p, micro = go_micro(ctx, "BenchmarkDoGzip", "gzip")
    nginx, pids = start_target(ctx, start_nginx_conf, os.path.join(ctx.tmp, "gzip"), "nginx_gzip.conf", 18090)
    try:
        runs = glocust_rounds(ctx, "gzip", os.path.join(BENCH, "scenario_gzip.yaml"), GZIP_TARGET, GZIP_KINDS, pids)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    ctx.commands.append(f"/usr/bin/time -v taskset -c 1 glocust -f bench/scenario_gzip.yaml <Identity|Decoded|Received> "
                        f"--headless -u {a.users} -r {a.users} -t {a.duration}s --only-summary -H {GZIP_TARGET} --csv <prefix>")
    L = ["## 12. Compressed responses (issue 12)", "",
         "A 2 KiB JSON body (120 bytes gzipped): uncompressed (`accept_encoding: none`), gzipped and decoded (the "
         "default: the decoded length is the content size, as Locust records it), gzipped and not decoded "
         "(`content_size: received`). In the process: `BenchmarkDoGzip` (`scenario/bench_test.go`, a loopback "
         f"fasthttp server, core 0, {a.rounds} runs, medians). Against nginx (`bench/nginx_gzip.conf`, gzip level 1, "
         f"chunked): glocust standalone on core 1, {a.users} users, {a.duration} s, {a.rounds} interleaved rounds.", "",
         "| response | ns/op (in process) | allocs/op | req/s vs nginx min / **median** / max | CPU-µs/req | failures |",
         "|---|---|---|---|---|---|"]
    medv = {}
    for kind in GZIP_KINDS:
        ms = micro.get(GZIP_MICRO[kind], [])
        rs = [r for r in runs if r["kind"] == kind and r.get("rps")]
        rps = [r["rps"] for r in rs]
        medv[kind] = (med([r["cpu_us_per_req"] for r in rs]), med([x.get("ns/op") for x in ms]))
        span = f"{min(rps):,.0f} / **{med(rps):,.0f}** / {max(rps):,.0f}" if rps else "failed"
        L.append(f"| {kind.lower()} | {medv[kind][1] or 0:,.0f} | {med([x.get('allocs/op') for x in ms]) or 0:.0f} | "
                 f"{span} | {medv[kind][0] or 0:.1f} | {sum(r.get('failures') or 0 for r in rs)} |")
    i, d = medv["Identity"], medv["Decoded"]
    if i[0] and d[0]:
        L += ["", f"Decoding costs **{d[0] - i[0]:.1f} CPU-µs** per request against nginx "
              f"({(d[1] or 0) - (i[1] or 0):,.0f} ns in process); `content_size: received` saves it."]
    if p.returncode != 0 or not micro:
        L.append(f"\n`go test` failed: `{(p.stderr or p.stdout)[-300:]}`")
    for r in runs:
        if r.get("error"):
            L.append(f"- failed: {r['kind']} round {r['round']}: `{r['error'][:300]}`")
    return "\n".join(L) + "\n"


SECTIONS = {"stats": section_stats, "worker": section_worker, "fanin": section_fanin, "memory": section_memory,
            "latency": section_latency, "scale": section_scale, "names": section_names, "soak": section_soak,
            "tls": section_tls, "templates": section_templates, "ui": section_ui, "gzip": section_gzip}


# ---------------------------------------------------------------- report

def sh(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (p.stdout.strip() + "\n" + p.stderr.strip()).strip()
    except Exception:
        return "?"


def machine_info(ctx):
    model = "?"
    with open("/proc/cpuinfo") as f:
        for l in f:
            if l.startswith("model name"):
                model = l.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    osname = "?"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            m = re.search(r'PRETTY_NAME="([^"]+)"', f.read())
            osname = m.group(1) if m else "?"
    mods = {}
    with open(os.path.join(BENCH, "go.mod")) as f:
        for l in f:
            m = re.match(r"\s*github.com/(qitoi/launce|myzhan/boomer) (\S+)", l)
            if m:
                mods[m.group(1)] = m.group(2)
    head = sh(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"])
    # The run's own outputs (this report, the raw results) do not count:
    # the raw file is already open for writing here.
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":!bench/RESULTS.md", ":!bench/results", ":!bench/fanin/RESULTS.md",
                            ":!bench/fanin/results.jsonl"],
                           capture_output=True, text=True).stdout.strip()
    return {
        "cpu": f"{os.cpu_count()} vCPU, {model}", "mem_gib": round(mem, 1), "os": osname,
        "kernel": platform.release(), "go": sh(["go", "version"]),
        "nginx": sh(["nginx", "-v"]), "wrk": (sh(["wrk", "-v"]).splitlines() or ["?"])[0].split(" Copyright")[0],
        "locust": sh([ctx.locust, "--version"]).splitlines()[0] if os.path.exists(ctx.locust) else "missing",
        "launce": mods.get("qitoi/launce", "?"), "boomer": mods.get("myzhan/boomer", "?"),
        "commit": head + (" + uncommitted changes" if dirty else ""),
    }


def write_results(ctx, parts, info, start_state, t_start, t_end):
    a = ctx.args
    L = ["# glocust benchmark results", "",
         f"Written by `bench/run` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(t_start))} "
         f"(took {(t_end - t_start) / 60:.1f} min). Raw per-run data: `{os.path.relpath(a.raw, ROOT)}`.", "",
         *([f"This report was written again after the run by `bench/orchestrate.py --replay`, from the run's own raw "
            "data and result files, because the run failed to write it (a section returned no text); nothing was "
            "measured again. The foreign CPU time by process name and the machine state after the run are not in "
            "the raw data, so they are missing below.", ""] if ctx.replay is not None else []),
         "## Machine", "",
         f"- {info['cpu']}, {info['mem_gib']} GiB, {info['os']}, kernel {info['kernel']}",
         f"- {info['go']}; {info['nginx']}; {info['wrk']}; {info['locust']}",
         f"- peers: github.com/qitoi/launce {info['launce']}, github.com/myzhan/boomer {info['boomer']} "
         "(master branch, see `bench/README.md`)",
         f"- glocust at {info['commit']}", "",
         "## Machine state (read this before the numbers)", ""]
    s = start_state
    idle = s["idle"]
    L.append(f"- Idle check before the run (two consecutive 1 s windows with < 0.1 busy cores, at most "
             f"{a.start_idle_wait} s): **{'idle' if idle['idle'] else 'NOT idle'}** after {idle['waited_s']} s; "
             f"last windows (busy cores): {idle['windows']}. Load average then: {s['loadavg']}.")
    if s["foreign"]["top"]:
        procs = ", ".join(f"{p['comm']} (pid {p['pid']}, nice {p['nice']}) {p['cores']:.2f}"
                          for p in s["foreign"]["top"])
        L.append(f"- Foreign processes busy before the run ({s['foreign']['busy_cores']:.2f} cores in all; short-lived "
                 f"processes such as compiles are not listed by name): {procs}.")
    runs = [r for r in ctx.runs if "foreign_cores" in r]
    if runs:
        cont = [r for r in runs if r.get("contended")]
        idle_runs = sum(1 for r in runs if r.get("idle_before", {}).get("idle"))
        L.append(f"- Per run: {len(cont)} of {len(runs)} runs had a foreign load above {CONTENDED} cores "
                 f"(median {med([r['foreign_cores'] for r in runs]):.2f}, max {max(r['foreign_cores'] for r in runs):.2f} cores); "
                 f"the machine was idle before {idle_runs} of {len(runs)} runs (bounded wait {a.run_idle_wait} s each). "
                 "Contended runs are kept, not rerun.")
    if FOREIGN_BY_COMM:
        top = sorted(FOREIGN_BY_COMM.items(), key=lambda kv: -kv[1])[:8]
        L.append("- Foreign CPU time during the runs, by process name (processes alive at a run's end): "
                 + ", ".join(f"{c} {v:.1f} s" for c, v in top) + ".")
    if s.get("end"):
        e = s["end"]
        procs = ", ".join(f"{p['comm']} (nice {p['nice']}) {p['cores']:.2f}" for p in e["top"][:5])
        L.append(f"- After the run: {e['busy_cores']:.2f} busy cores ({procs or 'none'}); load average {e['loadavg']}.")
    if not idle["idle"] or (runs and med([r["foreign_cores"] for r in runs]) > CONTENDED):
        L.append("- **The machine was shared and busy during this run.** Absolute figures are low and noisy; "
                 "the ratios are side by side in one run but the foreign load hits the recorders unevenly "
                 "(a single-consumer design suffers less from a missing core than a lock-free one that would "
                 "use both). Rerun `bench/run` on an idle machine before quoting numbers.")
    L.append("")
    L += parts
    L += ["## Commands", "", "```sh", ("bench/run " + os.environ.get("BENCH_ARGS", "")).strip(),
          "# which ran:"] + ctx.commands + ["```", ""]
    with open(a.results, "w") as f:
        f.write("\n".join(L))


class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default="stats,worker,fanin,memory,latency,tls,scale,names,templates,ui,gzip",
                    help="comma-separated sections; soak (30 min) runs only when named")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stats-seconds", type=int, default=5)
    ap.add_argument("--stats-goroutines", type=int, default=1000)
    ap.add_argument("--micro-rounds", type=int, default=3)
    ap.add_argument("--micro-benchtime", default="500ms")
    ap.add_argument("--duration", type=int, default=15, help="seconds per HTTP run")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--soak-minutes", type=int, default=30, help="minutes sampled by the soak section")
    ap.add_argument("--start-idle-wait", type=int, default=60)
    ap.add_argument("--run-idle-wait", type=int, default=4)
    ap.add_argument("--ui-workers", type=int, default=500, help="section ui: simulated workers")
    ap.add_argument("--ui-names", type=int, default=1000, help="section ui: request names each worker reports")
    ap.add_argument("--ui-history", type=int, default=3600, help="section ui: updates through the page (3600: 2 h at 2 s)")
    ap.add_argument("--ui-interval", default="250ms", help="section ui: the master's GLOCUST_UI_INTERVAL")
    ap.add_argument("--ui-window", default="10s", help="section ui: each measured window")
    ap.add_argument("--uicost", help="the bench/cmd/uicost binary (section ui)")
    ap.add_argument("--glocust", required=True)
    ap.add_argument("--statsbench", required=True)
    ap.add_argument("--statstest", required=True)
    ap.add_argument("--locust", default=os.path.join(ROOT, ".venv", "bin", "locust"))
    ap.add_argument("--results", default=os.path.join(BENCH, "RESULTS.md"), help="the report to write")
    ap.add_argument("--raw", default=os.path.join(BENCH, "results", "latest.jsonl"), help="per-run JSON lines")
    ap.add_argument("--replay", metavar="DIR",
                    help="measure nothing: write the report again from an earlier run's DIR/latest.jsonl, its "
                         "temporary folder DIR/tmp and DIR/times.json ({\"start\": unix s, \"end\": unix s}), "
                         "for a run whose report was not written")
    args = ap.parse_args()
    ctx = Ctx()
    ctx.args, ctx.argv = args, sys.argv[1:]
    ctx.glocust, ctx.statsbench, ctx.statstest, ctx.locust = args.glocust, args.statsbench, args.statstest, args.locust
    ctx.uicost = args.uicost
    ctx.replay = None
    ctx.commands, ctx.runs = [], []
    if args.replay:
        return replay(ctx, args)
    ctx.tmp = tempfile.mkdtemp(prefix="glocust-bench-")
    os.makedirs(os.path.dirname(os.path.abspath(args.raw)), exist_ok=True)
    raw = open(args.raw, "w")

    def record(r):
        ctx.runs.append(r)
        raw.write(json.dumps(r) + "\n")
        raw.flush()
    ctx.record = record

    t_start = time.time()
    info = machine_info(ctx)
    log("machine:", info)
    log(f"waiting up to {args.start_idle_wait} s for an idle machine")
    idle = wait_idle(args.start_idle_wait)
    foreign = foreign_top()
    start_state = {"idle": idle, "foreign": foreign, "loadavg": loadavg()}
    log("idle check:", idle, "foreign:", foreign)
    record({"section": "machine", **info, **start_state})
    parts = run_sections(ctx, args.only)
    end = foreign_top()
    end["loadavg"] = loadavg()
    start_state["end"] = end
    write_results(ctx, parts, info, start_state, t_start, time.time())
    raw.close()
    shutil.rmtree(ctx.tmp, ignore_errors=True)
    log("wrote", args.results)


def run_sections(ctx, only):
    """Runs the sections named in only (comma-separated); returns their parts
    of the report. A section that fails or returns nothing still gets a part
    that says so, and every part is also saved in the temporary folder."""
    parts = []
    for name in only.split(","):
        log("== section", name)
        try:
            part = SECTIONS[name](ctx)
            if not isinstance(part, str):
                raise TypeError(f"section_{name} returned {type(part).__name__}, not its part of the report")
        except Exception as e:
            log(f"section {name} failed: {type(e).__name__}: {e}")
            part = f"## {name}\n\nFailed: `{type(e).__name__}: {e}`\n"
        with open(os.path.join(ctx.tmp, f"part-{name}.md"), "w") as f:
            f.write(part)
        parts.append(part)
    return parts


def replay(ctx, args):
    """--replay DIR: the report of an earlier run, from what it recorded
    (DIR/latest.jsonl), the files it left in its temporary folder (DIR/tmp:
    the latency, scale and dashboard results) and its start and end times
    (DIR/times.json); bench/fanin/RESULTS.md as that run left it. Nothing is
    measured. The raw data is written to --raw unchanged."""
    with open(os.path.join(args.replay, "latest.jsonl")) as f:
        recs = [json.loads(l) for l in f if l.strip()]
    with open(os.path.join(args.replay, "times.json")) as f:
        times = json.load(f)
    ctx.replay, ctx.runs, ctx.tmp = recs, list(recs), os.path.join(args.replay, "tmp")
    ctx.record = lambda r: None
    machine = next(r for r in recs if r.get("section") == "machine")
    info = {k: machine[k] for k in ("cpu", "mem_gib", "os", "kernel", "go", "nginx", "wrk", "locust", "launce",
                                    "boomer", "commit")}
    start_state = {k: machine[k] for k in ("idle", "foreign", "loadavg")}
    parts = run_sections(ctx, args.only)
    write_results(ctx, parts, info, start_state, times["start"], times["end"])
    with open(args.raw, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in recs)
    log("wrote", args.results, "from", args.replay)


if __name__ == "__main__":
    main()
