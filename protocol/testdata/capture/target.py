#!/usr/bin/env python3
"""Tiny local HTTP target for capture sessions (127.0.0.1 only, time-bounded).

  /ok      200 "ok"
  /fail    500 "boom"
  /slow    200 after ~150 ms   (response_time bucket >= 100)
  /slower  200 after ~1.2 s    (response_time bucket >= 1000)
"""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DELAYS = {"/slow": 0.15, "/slower": 1.2}


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        path = self.path.split("?")[0]
        time.sleep(DELAYS.get(path, 0))
        if path == "/fail":
            code, body = 500, b"boom"
        elif path in ("/ok", "/slow", "/slower", "/"):
            code, body = 200, b"ok"
        else:
            code, body = 404, b"nope"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1])
    duration = float(sys.argv[2]) if len(sys.argv) > 2 else 300
    srv = ThreadingHTTPServer(("127.0.0.1", port), H)
    srv.daemon_threads = True
    threading.Timer(duration, srv.shutdown).start()
    srv.serve_forever()
