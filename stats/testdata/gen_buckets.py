"""Generate buckets.json: Locust's bucket_response_time for many inputs.

Run with a Python that has locust installed:
    python stats/testdata/gen_buckets.py > stats/testdata/buckets.json
"""

import json
import math
import random

from locust.stats import bucket_response_time

rng = random.Random(20240601)
ms = [12.5, 145, 155.0, 999.9, 1234.5, 15500, 0, 0.5, 1.5, 2.5, 99.4, 99.5, 99.6, 100, 104.99, 105,
      115, 995, 999.5, 1000, 1050, 1150, 9949.99, 9950, 9999.5, 10000, 10500, 11500, 599500,
      600000, 600500, 1e7, 123456789.5, -0.5, -1.5, -3.7]
for x in list(ms):
    if x > 0:
        ms += [math.nextafter(x, 0), math.nextafter(x, math.inf)]
for _ in range(600):
    ms.append(rng.uniform(0, 100))
    ms.append(rng.uniform(100, 1000))
    ms.append(rng.uniform(1000, 10000))
    ms.append(rng.uniform(10000, 700000))
    ms.append(round(rng.uniform(0, 20000), rng.choice([0, 1, 2, 3])))
    ms.append(math.exp(rng.uniform(-3, 14)))
# Half-way points of every rounding step, exactly and one ulp around.
for step, lo, hi in ((1, 0, 100), (10, 100, 1000), (100, 1000, 10000), (1000, 10000, 700000)):
    for k in range(lo, hi, step):
        t = k + step / 2
        ms += [t, math.nextafter(t, 0), math.nextafter(t, math.inf)]

ns = [0, 1, 499_999, 500_000, 500_001, 1_500_000, 2_500_000, 99_499_999, 99_500_000, 99_999_999,
      100_000_000, 104_999_999, 105_000_000, 115_000_000, 999_500_000, 9_950_000_000,
      9_999_999_999, 10_000_000_000, 10_500_000_000, 600_000_000_000, 600_499_999_999,
      600_500_000_000, 3_600_000_000_000]
for _ in range(1000):
    ns.append(rng.randrange(0, 20_000_000_000))
    ns.append(int(math.exp(rng.uniform(0, 27))))
    ns.append(rng.randrange(0, 700_000) * rng.choice([500_000, 5_000_000, 50_000_000, 500_000_000]))

print(json.dumps({
    "ms": [[x, bucket_response_time(x)] for x in ms],
    "ns": [[n, bucket_response_time(n / 1e6)] for n in ns],
}, separators=(",", ":")))
