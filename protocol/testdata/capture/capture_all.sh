#!/usr/bin/env bash
# Regenerate protocol/testdata/golden from real Locust processes (127.0.0.1 only).
# Needs the venvs described in README.md. Each session is bounded (~60 s).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RAW="${RAW:-/tmp/capture-raw}"
LOGS="${LOGS:-/tmp/capture-logs}"
V247="${V247:-/tmp/lvenv}"
V212="${V212:-/tmp/lvenv212}"
V210="${V210:-/tmp/lvenv210}"
mkdir -p "$RAW"
rm -f "$RAW"/*.jsonl
cd "$HERE"
run() { timeout 240 "$V247/bin/python" session.py "$@"; }

run --python "$V247/bin/python" --label 2.47.0 --mode web --workers 1 \
    --out "$RAW/247-web.jsonl" --base-port 15560 --logdir "$LOGS/247w"
run --python "$V247/bin/python" --label 2.47.0 --mode headless --workers 2 --run-time 15s --stop-timeout 3 \
    --out "$RAW/247-headless.jsonl" --base-port 15570 --logdir "$LOGS/247h"
run --python "$V212/bin/python" --label 2.12.1 --fake-version 2.12.1 --mode web --workers 1 \
    --out "$RAW/212-web.jsonl" --base-port 15580 --logdir "$LOGS/212w"
run --python "$V212/bin/python" --label 2.12.1 --fake-version 2.12.1 --mode headless --workers 2 \
    --run-time 15s --stop-timeout 3 --out "$RAW/212-headless.jsonl" --base-port 15590 --logdir "$LOGS/212h"
run --python "$V212/bin/python" --label 2.12.1 --fake-version 2.12.1 --worker-fake-version "" \
    --mode noack --workers 1 --out "$RAW/212-noack.jsonl" --base-port 15610 --logdir "$LOGS/212n"
run --python "$V210/bin/python" --label 2.10.1 --mode headless --workers 1 --run-time 8s \
    --out "$RAW/210-headless.jsonl" --base-port 15600 --logdir "$LOGS/210h"

"$V247/bin/python" build_golden.py \
    "$RAW/247-web.jsonl:web" "$RAW/247-headless.jsonl:headless" \
    "$RAW/212-web.jsonl:web" "$RAW/212-headless.jsonl:headless" "$RAW/212-noack.jsonl:noack" \
    "$RAW/210-headless.jsonl:headless"
"$V247/bin/python" verify_golden.py
