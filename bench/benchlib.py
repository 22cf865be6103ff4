"""Helpers shared by the bench/ scripts: logging, medians, free ports and
the machine-load meters (busy cores from /proc/stat, the bounded idle wait).

The scripts in bench/ import it directly; bench/fanin/run.py puts bench/ on
sys.path first.
"""
import os
import signal
import socket
import subprocess
import statistics
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def med(xs):
    """Median of the values that are not None (None if there are none)."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def busy_jiffies():
    """Busy CPU ticks of the machine so far: user, nice, system, irq and
    softirq (not idle, iowait or the hypervisor's steal)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[0] + v[1] + v[2] + v[5] + v[6]


def wait_idle(max_wait, threshold=0.1, need=2):
    """Waits, at most max_wait seconds, until `need` consecutive 1 s windows
    have fewer than `threshold` busy cores; returns what it saw."""
    t0 = time.monotonic()
    windows, streak = [], 0
    while True:
        b0 = busy_jiffies()
        time.sleep(1)
        cores = (busy_jiffies() - b0) / HZ
        windows.append(round(cores, 2))
        streak = streak + 1 if cores < threshold else 0
        if streak >= need:
            return {"idle": True, "waited_s": round(time.monotonic() - t0, 1), "windows": windows[-10:]}
        if time.monotonic() - t0 >= max_wait:
            return {"idle": False, "waited_s": round(time.monotonic() - t0, 1), "windows": windows[-10:]}


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def stop(proc, grace=5.0):
    """SIGTERM, then SIGKILL after grace seconds; proc is a Popen started by
    the caller (None or an exited process is left alone)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass
