#!/usr/bin/env python3
"""One glocust worker vs one Python Locust FastHttpUser worker, side by side.

Both run under a real Locust master (the pinned version), against nginx
(`return 200 'ok'`) pinned to core 0; each worker is pinned to core 1. Rounds
are interleaved (glocust, locust, glocust, ...) so machine drift hits both.
Reported per run: the master's Aggregated requests/s and request count, and
the worker's CPU time per request (user+sys from /usr/bin/time).

usage: bench/worker_vs_locust.py [--rounds 3] [--duration 15] [--users 50]
needs: nginx, /usr/bin/time, taskset, .venv/bin/locust, go
"""
import argparse
import csv
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TARGET = "http://127.0.0.1:18080"




def start_nginx(tmp):
    os.makedirs(os.path.join(tmp, "tmp"), exist_ok=True)
    p = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", os.path.join(BENCH, "nginx.conf"), "-p", tmp],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", 18080), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.1)
    p.kill()
    sys.exit("nginx did not start")


def cpu_seconds(time_output):
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", time_output).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", time_output).group(1))
    return user + sys_


def one_run(kind, glocust, locust, args, tmp, rnd):
    port = free_port()
    prefix = os.path.join(tmp, f"{kind}-{rnd}")
    master = subprocess.Popen(
        ["taskset", "-c", "0", locust, "-f", os.path.join(BENCH, "locustfile_bench.py"), "--master",
         "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--headless",
         "--expect-workers", "1", "-u", str(args.users), "-r", str(args.users), "-t", f"{args.duration}s",
         "--csv", prefix, "--only-summary", "-H", TARGET],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kind == "glocust":
        cmd = [glocust, "--worker", "-f", os.path.join(BENCH, "scenario_bench.yaml"),
               "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"]
    else:
        cmd = [locust, "-f", os.path.join(BENCH, "locustfile_bench.py"), "--worker",
               "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"]
    worker = subprocess.run(["/usr/bin/time", "-v", "taskset", "-c", "1"] + cmd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            timeout=args.duration + 90)
    master.wait(timeout=60)
    with open(prefix + "_stats.csv") as f:
        agg = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"][0]
    reqs = int(agg["Request Count"])
    return {"kind": kind, "round": rnd, "rps": float(agg["Requests/s"]), "requests": reqs,
            "cpu_s": cpu_seconds(worker.stderr), "cpu_us_per_req": cpu_seconds(worker.stderr) * 1e6 / max(reqs, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(BENCH, "results", "worker_vs_locust.jsonl"))
    args = ap.parse_args()
    locust = os.environ.get("GLOCUST_LOCUST", os.path.join(ROOT, ".venv", "bin", "locust"))
    tmp = tempfile.mkdtemp(prefix="glocust-bench-")
    glocust = os.path.join(tmp, "glocust")
    subprocess.run(["go", "build", "-o", glocust, "./cmd/glocust"], cwd=ROOT, check=True,
                   env=dict(os.environ, CGO_ENABLED="0"))
    nginx = start_nginx(tmp)
    runs = []
    try:
        for rnd in range(args.rounds):
            for kind in ("glocust", "locust"):
                r = one_run(kind, glocust, locust, args, tmp, rnd)
                print(json.dumps(r), flush=True)
                runs.append(r)
    finally:
        nginx.terminate()
        nginx.wait()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "a") as f:
        for r in runs:
            f.write(json.dumps(dict(r, date=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))) + "\n")
    med = {k: {m: statistics.median(r[m] for r in runs if r["kind"] == k) for m in ("rps", "cpu_us_per_req")}
           for k in ("glocust", "locust")}
    print(f"\n| worker (1 core) | req/s median | CPU-µs/req median |\n|---|---|---|")
    for k in ("glocust", "locust"):
        print(f"| {k} | {med[k]['rps']:.0f} | {med[k]['cpu_us_per_req']:.1f} |")
    print(f"\nratio glocust/locust: {med['glocust']['rps'] / med['locust']['rps']:.1f}x req/s, "
          f"{med['locust']['cpu_us_per_req'] / med['glocust']['cpu_us_per_req']:.1f}x less CPU per request")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
