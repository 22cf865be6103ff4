#!/usr/bin/env python3
"""Select golden frames from sniff.py JSON-lines captures and write
../golden/<version>/<NNN>_<dir>_<type>.bin plus ../golden/MANIFEST.json.

  python build_golden.py RAW1.jsonl[:session] RAW2.jsonl[:session] ...

Keeps at most 3 frames per (version, dir, type), preferring distinct
"variants" (heartbeat state, ack index, stats with most entries/errors or
float bucket keys, ...). Needs msgpack (use a Locust venv's python).

Manifest "decoded" = msgpack.unpackb(payload, raw=False, strict_map_key=False)
converted to JSON with non-str map keys stringified as "int:160",
"float:160.0", "bool:true", "nil:" (str keys stay as they are).
"""
import collections
import json
import os
import shutil
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.normpath(os.path.join(HERE, "..", "golden"))
MAX_PER_KEY = 3


def jsonable(v):
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if isinstance(k, str):
                ks = k
            elif isinstance(k, bool):
                ks = "bool:" + ("true" if k else "false")
            elif isinstance(k, int):
                ks = "int:%d" % k
            elif isinstance(k, float):
                ks = "float:" + repr(k)
            elif k is None:
                ks = "nil:"
            else:
                ks = "%s:%r" % (type(k).__name__, k)
            out[ks] = jsonable(x)
        return out
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, bytes):
        return {"__bin_hex__": v.hex()}
    return v


def has_float_keys(v):
    if isinstance(v, dict):
        return any(isinstance(k, float) for k in v) or any(has_float_keys(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return any(has_float_keys(x) for x in v)
    return False


def variant(rec, data):
    """(variant key, score, note): frames with distinct keys are preferred;
    higher score first."""
    t = rec["type"]
    s = rec["session"]
    if t == "heartbeat" and isinstance(data, dict):
        cpu = bool(data.get("current_cpu_usage"))
        pref = {("running", True): 3, ("ready", False): 2, ("ready", True): 1}
        return ("%s/%s" % (data.get("state"), cpu), pref.get((data.get("state"), cpu), 0),
                "heartbeat state %r, cpu %s" % (data.get("state"), "sampled" if cpu else "0.0"))
    if t == "ack":
        # prefer: index 1 (2nd worker), the re-ack after stop, then the first ack
        idx = data.get("index") if isinstance(data, dict) else None
        score = 3 if idx == 1 else (2 if rec["nth"] > 1 else 1)
        return ("%s/%r/%d" % (s, data, min(rec["nth"], 2)), score,
                "ack data %r%s" % (data, " (re-ack after stop/client_ready)" if rec["nth"] > 1 else ""))
    if t == "stats":
        n, e = len(data["stats"]), len(data["errors"])
        fk = has_float_keys(data["stats"])
        if n == 0:
            return ("empty", 0, "stats with no entries (%s session)" % s)
        if fk:
            return ("floatkeys", n + e, "stats with float response_times keys, %d entries, %d errors" % (n, e))
        return ("rich", n + e, "stats with %d entries and %d errors" % (n, e))
    if t == "spawn":
        counts = data["user_classes_count"]
        return ("%s/%s" % (s, type(data.get("stop_timeout")).__name__),
                sum(counts.values()),
                "spawn in %s session, stop_timeout=%r, counts=%r" % (s, data.get("stop_timeout"), counts))
    if t == "spawning_complete" and isinstance(data, dict):
        uc = data.get("user_classes_count")
        return ("%s/%r" % (s, uc if uc is None else sorted(uc.items())), 0,
                "spawning_complete %r" % (data,))
    if t == "logs":
        return ("logs", -len(rec["hex"]), "logs with %d lines" % len(data.get("logs", [])))
    if t == "exception":
        return (data.get("msg"), 0, "exception msg %r" % data.get("msg"))
    if t == "client_ready":
        again = rec["nth"] > 1
        if data == "":
            return ("%s/empty" % s, 2, "client_ready version '' as sent by Debian's python3-locust "
                    "2.12.1 (worker version patched to ''); no master acks it")
        return ("%s/%r/%s" % (s, data, again), 1 if again else 0,
                "client_ready version %r (%s session)%s" % (data, s, ", sent again after client_stopped" if again else ""))
    if t == "quit" and rec["dir"] == "m2w":
        return ("%s/%d" % (s, min(rec["nth"], 2)), -rec["seq"],
                "quit (%s session)%s" % (s, ", sent a 2nd time to the same worker" if rec["nth"] > 1 else ""))
    return (s, -rec["seq"], "%s (%s session)" % (t, s))


def main():
    recs = []
    seq = 0
    for arg in sys.argv[1:]:
        path, _, session = arg.partition(":")
        session = session or os.path.basename(path)
        for line in open(path):
            r = json.loads(line)
            r["session"] = session
            r["seq"] = seq
            seq += 1
            recs.append(r)

    groups = collections.defaultdict(list)
    nth = collections.Counter()
    for r in recs:
        nth[(r["session"], r["node_id"], r["dir"], r["type"])] += 1
        r["nth"] = nth[(r["session"], r["node_id"], r["dir"], r["type"])]
        payload = bytes.fromhex(r["hex"])
        msg = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        r["msg"] = msg
        key, score, note = variant(r, msg[1])
        r["vkey"], r["score"], r["note"] = key, score, note
        groups[(r["locust"], r["dir"], r["type"])].append(r)

    chosen = []
    for gk, rs in groups.items():
        # best frame per variant, then variants ordered by score
        best = {}
        for r in rs:
            b = best.get(r["vkey"])
            if b is None or r["score"] > b["score"]:
                best[r["vkey"]] = r
        picks = sorted(best.values(), key=lambda r: -r["score"])[:MAX_PER_KEY]
        if len(picks) < MAX_PER_KEY:  # fill with other frames of the group, first seen first
            for r in rs:
                if len(picks) >= MAX_PER_KEY:
                    break
                if r not in picks and r["type"] not in ("heartbeat", "exception"):
                    picks.append(r)
        chosen.extend(picks)

    chosen.sort(key=lambda r: r["seq"])
    versions = sorted({r["locust"] for r in chosen})
    for v in versions:
        d = os.path.join(GOLDEN, v)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
    manifest = []
    counters = collections.Counter()
    for r in chosen:
        counters[r["locust"]] += 1
        fn = "%03d_%s_%s.bin" % (counters[r["locust"]], r["dir"], r["type"])
        rel = "%s/%s" % (r["locust"], fn)
        with open(os.path.join(GOLDEN, r["locust"], fn), "wb") as f:
            f.write(bytes.fromhex(r["hex"]))
        msg = r["msg"]
        manifest.append({
            "file": rel,
            "locust_version": r["locust"],
            "dir": r["dir"],
            "type": r["type"],
            "node_id": r["node_id"],
            "notes": "captured (%s session): %s" % (r["session"], r["note"]),
            "decoded": jsonable(msg),
        })
    extra = os.path.join(HERE, "synthesized.json")
    if os.path.exists(extra):
        for e in json.load(open(extra)):
            manifest.append(e)
    with open(os.path.join(GOLDEN, "MANIFEST.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    c = collections.Counter((m["locust_version"], m["dir"], m["type"]) for m in manifest)
    for k in sorted(c):
        print("%-8s %-4s %-20s %d" % (k + (c[k],)))
    print("frames:", len(manifest))


if __name__ == "__main__":
    main()
