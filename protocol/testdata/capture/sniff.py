#!/usr/bin/env python3
"""Transparent ZeroMQ sniffer between Locust workers and a Locust master.

Workers connect to a ROUTER bound on 127.0.0.1:--listen. For each worker
identity seen, the sniffer opens a DEALER with the *same* identity connected
to the real master on 127.0.0.1:--master, and forwards frames both ways
(worker->master: 1 payload frame; master->worker: payload routed back to the
worker identity). Every payload is appended to a JSON-lines file:

  {"locust": VERSION, "dir": "w2m"|"m2w", "type": TYPE, "hex": PAYLOAD_HEX,
   "node_id": IDENTITY, "t": EPOCH_SECONDS}

Runs for at most --duration seconds, then exits (also on SIGTERM/SIGINT).
Needs pyzmq and msgpack (e.g. the Locust venv's python).
"""
import argparse
import json
import signal
import sys
import time

import msgpack
import zmq


def decode_type(payload):
    try:
        msg = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        if isinstance(msg, (list, tuple)) and msg and isinstance(msg[0], str):
            return msg[0]
        return "?"
    except Exception:
        return "!undecodable"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", type=int, required=True, help="port workers connect to")
    ap.add_argument("--master", type=int, required=True, help="port of the real master")
    ap.add_argument("--out", required=True, help="JSON-lines output file (appended)")
    ap.add_argument("--locust-version", required=True, help="label written in each line")
    ap.add_argument("--duration", type=float, default=120.0, help="max seconds to run")
    args = ap.parse_args()

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind("tcp://127.0.0.1:%d" % args.listen)

    poller = zmq.Poller()
    poller.register(router, zmq.POLLIN)
    dealers = {}  # identity bytes -> DEALER
    by_sock = {}  # DEALER -> identity bytes

    out = open(args.out, "a", buffering=1)

    def log(direction, ident, payload):
        rec = {
            "locust": args.locust_version,
            "dir": direction,
            "type": decode_type(payload),
            "hex": payload.hex(),
            "node_id": ident.decode("utf-8", "replace"),
            "t": time.time(),
        }
        out.write(json.dumps(rec) + "\n")

    deadline = time.time() + args.duration
    n = 0
    while not stop["flag"] and time.time() < deadline:
        events = dict(poller.poll(200))
        if router in events:
            while True:
                try:
                    frames = router.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                ident, payloads = frames[0], frames[1:]
                d = dealers.get(ident)
                if d is None:
                    d = ctx.socket(zmq.DEALER)
                    d.setsockopt(zmq.IDENTITY, ident)
                    d.setsockopt(zmq.LINGER, 0)
                    d.connect("tcp://127.0.0.1:%d" % args.master)
                    dealers[ident] = d
                    by_sock[d] = ident
                    poller.register(d, zmq.POLLIN)
                for p in payloads:
                    log("w2m", ident, p)
                    n += 1
                d.send_multipart(payloads)
        for sock in list(events):
            if sock is router:
                continue
            ident = by_sock[sock]
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                for p in frames:
                    log("m2w", ident, p)
                    n += 1
                router.send_multipart([ident] + frames)
    out.close()
    for d in dealers.values():
        d.close()
    router.close()
    ctx.term()
    print("sniff: %d frames, %d identities" % (n, len(dealers)), file=sys.stderr)


if __name__ == "__main__":
    main()
