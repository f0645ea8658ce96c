#!/usr/bin/env python3
"""Fake Kubernetes API servers for a simulated fleet, for bench/fleet.sh: one port per
cluster in one process, each answering after its own latency (drawn once per cluster
from LOW..HIGH ms), with the objects of bench/fake_apiserver.py's simulated cluster.

usage: fake_fleet.py MAP_FILE NAME... [--namespaces 20] [--pods-per-ns 20]
                     [--latency-ms 20 100]

Writes `NAME=http://127.0.0.1:PORT,...` to MAP_FILE once every port listens (the value
of eksguard's test-only EKSGUARD_TEST_EKS_API_ENDPOINTS).
"""
import argparse
import json
import os
import random
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_apiserver import TYPES, build  # noqa: E402


def handler(items, latency):
    by_path = {}
    for g, v, plural, kind, _ in TYPES:
        base = f"/api/{v}" if not g else f"/apis/{g}/{v}"
        by_path[f"{base}/{plural}"] = (kind, f"{g}/{v}" if g else v, plural)
    groups = {}
    for g, v, *_ in TYPES:
        if g:
            groups.setdefault(g, f"{g}/{v}")
    apis = json.dumps({"kind": "APIGroupList", "groups": [
        {"name": g, "versions": [{"groupVersion": gv, "version": "v1"}],
         "preferredVersion": {"groupVersion": gv, "version": "v1"}}
        for g, gv in groups.items()]}).encode()
    lists = {}
    for g, v, *_ in TYPES:
        base = f"/api/{v}" if not g else f"/apis/{g}/{v}"
        res = [{"name": p, "kind": k, "namespaced": n, "verbs": ["get", "list"]}
               for gg, vv, p, k, n in TYPES if gg == g and vv == v]
        lists[base] = json.dumps({"kind": "APIResourceList",
                                  "groupVersion": base.split("/", 2)[-1],
                                  "resources": res}).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, code, body):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            time.sleep(latency)
            if not self.headers.get("Authorization", "").startswith("Bearer k8s-aws-v1."):
                return self.send(401, b'{"kind":"Status","code":401,"reason":"Unauthorized"}')
            url = urlsplit(self.path)
            q = parse_qs(url.query)
            path = url.path.rstrip("/")
            if path == "/api":
                return self.send(200, b'{"kind":"APIVersions","versions":["v1"]}')
            if path == "/apis":
                return self.send(200, apis)
            if path in lists:
                return self.send(200, lists[path])
            if path in by_path:
                kind, gv, plural = by_path[path]
                all_items = items[plural]
                limit = int(q.get("limit", ["0"])[0]) or len(all_items)
                start = int(q.get("continue", ["0"])[0] or 0)
                end = min(start + limit, len(all_items))
                cont = str(end) if end < len(all_items) else ""
                body = (b'{"kind":"' + kind.encode() + b'List","apiVersion":"' + gv.encode()
                        + b'","metadata":{"resourceVersion":"1","continue":"' + cont.encode()
                        + b'"},"items":[' + b",".join(all_items[start:end]) + b"]}")
                return self.send(200, body)
            self.send(404, b'{"kind":"Status","code":404,"reason":"NotFound","message":"not found"}')

    return Handler


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("map_file")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--namespaces", type=int, default=20)
    ap.add_argument("--pods-per-ns", type=int, default=20)
    ap.add_argument("--latency-ms", type=float, nargs=2, default=[20, 100])
    a = ap.parse_args()
    items = build(a.namespaces, a.pods_per_ns)
    rng = random.Random(7)
    pairs = []
    for name in a.names:
        latency = rng.uniform(*a.latency_ms) / 1000.0
        srv = Server(("127.0.0.1", 0), handler(items, latency))
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        pairs.append(f"{name}=http://127.0.0.1:{srv.server_address[1]}")
    with open(a.map_file + ".tmp", "w") as f:
        f.write(",".join(pairs))
    os.replace(a.map_file + ".tmp", a.map_file)
    objects = sum(len(v) for v in items.values())
    sys.stderr.write(f"{len(pairs)} fake API servers, {objects} objects each\n")
    threading.Event().wait()


if __name__ == "__main__":
    main()
