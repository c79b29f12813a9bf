#!/usr/bin/env python3
"""A scripted guest's agent for the vm-wait-ready tests: an HTTP server that
answers GET /health with a chosen status, optionally after a delay, on a
chosen address. Writes the wall-clock time at which it began to listen to
--ready-file (for latency measurements)."""
import argparse
import http.server
import socket
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--bind", default="0.0.0.0")
p.add_argument("--port", type=int, default=8080)
p.add_argument("--status", type=int, default=200)
p.add_argument("--delay", type=float, default=0.0)
p.add_argument("--ready-file")
a = p.parse_args()


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = a.status if self.path.split("?")[0] == "/health" else 404
        body = b'{"status":"ok"}\n'
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class S(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    request_queue_size = 1024  # one server may stand in for 100 guests' agents
    address_family = socket.AF_INET6 if ":" in a.bind else socket.AF_INET


time.sleep(a.delay)
srv = S((a.bind, a.port), H)
if a.ready_file:
    with open(a.ready_file, "w") as f:
        f.write("%.6f\n" % time.time())
sys.stdout.flush()
srv.serve_forever()
