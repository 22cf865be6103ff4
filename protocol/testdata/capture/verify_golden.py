#!/usr/bin/env python3
"""Check golden/*.bin against MANIFEST.json: decoded value, type, node_id, and
that Python msgpack re-encodes every frame byte-for-byte."""
import json
import os
import sys

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_golden import GOLDEN, jsonable  # noqa: E402

m = json.load(open(os.path.join(GOLDEN, "MANIFEST.json")))
total = 0
for e in m:
    b = open(os.path.join(GOLDEN, e["file"]), "rb").read()
    total += len(b)
    d = msgpack.unpackb(b, raw=False, strict_map_key=False)
    assert jsonable(d) == e["decoded"], e["file"]
    assert d[0] == e["type"] and d[2] == e["node_id"], e["file"]
    assert msgpack.packb(d) == b, "not byte-identical on re-encode: " + e["file"]
print("verified %d frames, %d payload bytes" % (len(m), total))
