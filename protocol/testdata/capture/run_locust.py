#!/usr/bin/env python3
"""Run locust, optionally overriding the reported version (needed for Debian/
some 2.12 builds whose workers send client_ready "" which no master acks).

usage: python run_locust.py [--fake-version X] <locust args...>
"""
import sys

args = sys.argv[1:]
fake = None
if args[:1] == ["--fake-version"]:
    fake = args[1]
    args = args[2:]

import locust  # noqa: E402

if fake is not None:
    import locust.runners
    locust.__version__ = fake
    locust.runners.__version__ = fake

import locust.main  # noqa: E402

sys.argv = ["locust"] + args
sys.exit(locust.main.main())
