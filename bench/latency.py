#!/usr/bin/env python3
"""Latency you can trust (issue 5, goal 5): corrected vs uncorrected
percentiles on a target that stalls.

The target (bench/cmd/stalltarget, pinned to core 0) answers at once except
during the first 100 ms of every second, when it answers nothing until the
stall ends. glocust standalone (core 1) runs U users paced with
constant_throughput(R) and --latency-correction: each user keeps a fixed
schedule and records every request from its intended start (coordinated
omission corrected, as wrk2 does) into the normal stats, and the same
requests from their actual send into <csv>_stats_uncorrected.csv. Both
tables come from the same requests of the same run. Optionally Locust
(FastHttpUser, constant_throughput(R), same users, same core) runs on the
same target for what Locust itself reports there.

The model: a request due at phase p of a stall waits (stall - p), so the
share stall/period of all requests due during stalls have latencies spread
evenly over (0, stall]; the corrected percentile q is about
stall * (1 - (1 - q) / (stall/period)) above 1 - stall/period, and near the
service time below. A closed-loop user only has its one in-flight request
caught by each stall: 1 / (R * period) of its requests.

  bench/latency.py [--rounds 3] [--duration 15] [--users 10] [--rate 200] [--locust .venv/bin/locust]

Writes the markdown section to stdout (and --out FILE); raw runs to
bench/results/latency.jsonl. Traffic stays on 127.0.0.1; every run is
bounded by --duration plus a fixed margin.
"""
import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from benchlib import free_port, log, med

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PCTS = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]






def build(out, glocust, target):
    env = dict(os.environ, CGO_ENABLED="0")
    if not glocust:
        glocust = os.path.join(out, "glocust")
        subprocess.run(["go", "build", "-o", glocust, "./cmd/glocust"], cwd=ROOT, env=env, check=True)
    if not target:
        target = os.path.join(out, "stalltarget")
        subprocess.run(["go", "build", "-o", target, "./cmd/stalltarget"], cwd=HERE, env=env, check=True)
    return glocust, target


def start_target(binary, port, period, stall):
    p = subprocess.Popen(["taskset", "-c", "0", binary, "-addr", f"127.0.0.1:{port}", "-period", f"{period}ms",
                          "-stall", f"{stall}ms", "-max-life", "30m"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit("stalltarget did not start")


def target_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        return json.load(r)


def read_row(path):
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["Name"] == "Aggregated":
                return r
    raise SystemExit(f"{path}: no Aggregated row")


def pcts(row):
    return {p: float(row[p]) for p in PCTS} | {"count": int(row["Request Count"]), "rps": float(row["Requests/s"])}


def run_glocust(glocust, port, args, tmp, rnd, correct):
    scen = os.path.join(tmp, "paced.yaml")
    with open(scen, "w") as f:
        f.write(f"host: http://127.0.0.1:{port}\nusers:\n  - class: Paced\n"
                f"    wait_time: {{constant_throughput: {args.rate}}}\n    tasks:\n      - request: {{path: /}}\n")
    prefix = os.path.join(tmp, f"glocust-{rnd}-{int(correct)}")
    before = target_stats(port)["served"]
    subprocess.run(["taskset", "-c", "1", glocust, "-f", scen, "--headless", "-u", str(args.users), "-r", str(args.users),
                    "-t", f"{args.duration}s", "--csv", prefix, "--only-summary", "-L", "WARNING"]
                   + (["--latency-correction"] if correct else []),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=args.duration + 60, check=True)
    served = target_stats(port)["served"] - before
    if not correct:
        return {"closed": pcts(read_row(prefix + "_stats.csv")), "target_served": served}
    return {"corrected": pcts(read_row(prefix + "_stats.csv")), "uncorrected": pcts(read_row(prefix + "_stats_uncorrected.csv")),
            "target_served": served}


def run_locust(locust, port, args, tmp, rnd):
    lf = os.path.join(tmp, "paced.py")
    with open(lf, "w") as f:
        f.write("from locust import FastHttpUser, task, constant_throughput\n\n\n"
                f"class Paced(FastHttpUser):\n    wait_time = constant_throughput({args.rate})\n\n"
                "    @task\n    def get(self):\n        self.client.get('/')\n")
    prefix = os.path.join(tmp, f"locust-{rnd}")
    before = target_stats(port)["served"]
    subprocess.run(["taskset", "-c", "1", locust, "-f", lf, "--headless", "-u", str(args.users), "-r", str(args.users),
                    "-t", f"{args.duration}s", "--csv", prefix, "--only-summary", "-H", f"http://127.0.0.1:{port}",
                    "--loglevel", "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=args.duration + 60)
    served = target_stats(port)["served"] - before
    return {"locust": pcts(read_row(prefix + "_stats.csv")), "target_served": served}


def model(q, args):
    """Expected corrected latency (ms) at quantile q, ignoring service time."""
    f = args.stall / args.period
    return 0.0 if q <= 1 - f else args.stall * (1 - (1 - q) / f)




def fmt(v):
    return "" if v is None else (f"{v:,.0f}" if v >= 10 else f"{v:g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=15, help="seconds per run")
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--rate", type=float, default=200, help="constant_throughput per user (tasks/s)")
    ap.add_argument("--period", type=int, default=1000, help="ms between stalls")
    ap.add_argument("--stall", type=int, default=100, help="ms each stall lasts")
    ap.add_argument("--locust", default="", help="also run this Locust (FastHttpUser) for its own figures")
    ap.add_argument("--glocust", default="", help="prebuilt glocust (default: build)")
    ap.add_argument("--stalltarget", default="", help="prebuilt bench/cmd/stalltarget (default: build)")
    ap.add_argument("--out", default="", help="also write the markdown section here")
    args = ap.parse_args()

    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="glocust-latency-")
    glocust, target = build(tmp, args.glocust, args.stalltarget)
    port = free_port()
    tp = start_target(target, port, args.period, args.stall)
    runs = []
    try:
        for rnd in range(args.rounds):
            log(f"round {rnd + 1}/{args.rounds}: glocust --latency-correction")
            r = run_glocust(glocust, port, args, tmp, rnd, True)
            r.update(kind="glocust", round=rnd, load=os.getloadavg()[0])
            runs.append(r)
            log(f"round {rnd + 1}/{args.rounds}: glocust closed loop")
            r = run_glocust(glocust, port, args, tmp, rnd, False)
            r.update(kind="closed", round=rnd, load=os.getloadavg()[0])
            runs.append(r)
            if args.locust:
                log(f"round {rnd + 1}/{args.rounds}: locust")
                r = run_locust(args.locust, port, args, tmp, rnd)
                r.update(kind="locust", round=rnd, load=os.getloadavg()[0])
                runs.append(r)
    finally:
        tp.terminate()
        tp.wait(timeout=10)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "latency.jsonl"), "a") as f:
        for r in runs:
            f.write(json.dumps(r | {"args": vars(args), "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")

    g = [r for r in runs if r["kind"] == "glocust"]
    lo = [r for r in runs if r["kind"] == "locust"]
    cl = [r for r in runs if r["kind"] == "closed"]
    cols = [("glocust corrected", [r["corrected"] for r in g]), ("glocust uncorrected (same requests)", [r["uncorrected"] for r in g]),
            ("glocust closed loop (no correction, Locust's pacing)", [r["closed"] for r in cl])]
    if lo:
        cols.append(("Locust FastHttpUser", [r["locust"] for r in lo]))
    out = []
    out.append("## 5. Latency you can trust (issue 5, goal 5)\n")
    out.append(f"Target `bench/cmd/stalltarget` on core 0: answers at once, except that it stalls for the first "
               f"{args.stall} ms of every {args.period} ms. glocust standalone on core 1: {args.users} users, "
               f"`wait_time: {{constant_throughput: {args.rate:g}}}` ({args.users * args.rate:,.0f} requests/s due), "
               f"`--latency-correction`, {args.duration} s per run, {args.rounds} rounds, medians. Both glocust columns "
               f"are the same requests of the same runs: corrected (from each request's intended start; the normal "
               f"stats, what a master sees) and uncorrected (from the actual send, as Locust measures; "
               f"`<csv>_stats_uncorrected.csv`). The closed-loop column is a separate glocust run without the flag." + (" Locust: one process, FastHttpUser with the same users and "
               f"constant_throughput, same core, same target." if lo else "") + "\n")
    out.append(f"Command: `bench/latency.py --rounds {args.rounds} --duration {args.duration} --users {args.users} --rate {args.rate:g}"
               + (" --locust .venv/bin/locust" if lo else "") + "`. Load average (1 min) at the runs: "
               + ", ".join(f"{r['load']:.2f}" for r in runs) + ".\n")
    head = "| percentile (ms) | " + " | ".join(c for c, _ in cols) + " | model: corrected |"
    out.append(head)
    out.append("|" + "---|" * (len(cols) + 2))
    for p in PCTS:
        q = float(p[:-1]) / 100
        out.append(f"| {p} | " + " | ".join(fmt(med([x[p] for x in xs])) for _, xs in cols) + f" | {fmt(model(q, args))} |")
    out.append("| requests (median) | " + " | ".join(fmt(med([x["count"] for x in xs])) for _, xs in cols) + " | |")
    out.append("| req/s (median) | " + " | ".join(fmt(med([x["rps"] for x in xs])) for _, xs in cols) + " | |")
    out.append("| target served (median) | " + " | ".join(fmt(med([r["target_served"] for r in rs]))
                                                         for rs in ([g, g, cl] + ([lo] if lo else []))) + " | |")
    out.append("")
    f = args.stall / args.period
    out.append(f"Reading it: {f:.0%} of the requests due fall into a stall, so a generator that keeps its schedule must "
               f"see about {f:.0%} of latencies spread over (0, {args.stall}] ms (the model column). The uncorrected "
               f"figures of the very same requests hide the stall below the {100 - 100 / (args.rate * args.period / 1000):.1f}th "
               f"percentile: each user has only its one in-flight request caught by a stall, then catches up with fast "
               f"requests. The closed-loop run (glocust without `--latency-correction`, which paces as Locust's "
               f"constant_throughput does: no catch-up) also sends fewer requests than are due."
               + (f" Locust reached {med([r['locust']['rps'] for r in lo]):,.0f} of the {args.users * args.rate:,.0f} req/s due "
                  f"on its core." if lo else "") + f" Run took {time.time() - t0:.0f} s.\n")
    text = "\n".join(out)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
