"""Benchmarks `eksguard audit scan --cloudwatch --follow` against moto's CloudWatch Logs.

usage: python3 bench/follow.py BIN ENDPOINT [EVENTS] [MARKERS]

1. Lag: MARKERS exec sessions are written one at a time at random moments; the time from
   the write's return to the finding's line on the follower's standard output is the lag
   from ingestion to finding, at a 2-second poll interval.
2. Throughput: EVENTS audit events are written to one audit stream as fast as moto takes
   them (batches of 2,000) while the follower runs; the time until the follower has
   judged them all (its `eksguard_audit_events_read_total`) gives events per second.
   Moto keeps each stream as a Python list and sorts it on every FilterLogEvents call,
   so moto, not eksguard, bounds this figure.
"""
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import boto3

BIN, ENDPOINT = sys.argv[1], sys.argv[2]
EVENTS = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
MARKERS = int(sys.argv[4]) if len(sys.argv) > 4 else 20

os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
logs = boto3.client("logs", endpoint_url=ENDPOINT, region_name="us-east-1")
group = f"/aws/eks/bench-{int(time.time())}/cluster"
stream = "kube-apiserver-audit-bench"
logs.create_log_group(logGroupName=group)
logs.create_log_stream(logGroupName=group, logStreamName=stream)


def stamp(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%06dZ" % (ms % 1000 * 1000)


def event(i, ms):
    """An ordinary read by a controller: no finding."""
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": f"b{i:07d}-0000-4000-8000-000000000000", "stage": "ResponseComplete",
        "requestURI": f"/api/v1/namespaces/ns-{i % 50}/pods?limit=500", "verb": "list",
        "user": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                 "groups": ["system:serviceaccounts", "system:authenticated"]},
        "sourceIPs": ["10.0.0.5"], "userAgent": "kube-controller-manager/v1.33.1",
        "objectRef": {"resource": "pods", "namespace": f"ns-{i % 50}", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": stamp(ms), "stageTimestamp": stamp(ms),
        "annotations": {"authorization.k8s.io/decision": "allow"},
    })


def exec_event(i, ms):
    return json.dumps({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": f"e{i:07d}-0000-4000-8000-000000000000", "stage": "ResponseStarted",
        "requestURI": f"/api/v1/namespaces/shop/pods/bench-{i}/exec?command=sh&container=app",
        "verb": "create", "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["198.51.100.7"],
        "objectRef": {"resource": "pods", "namespace": "shop", "name": f"bench-{i}",
                      "subresource": "exec", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 101},
        "requestReceivedTimestamp": stamp(ms), "stageTimestamp": stamp(ms),
    })


metrics_port = 19000 + random.randrange(1000)
follower = subprocess.Popen(
    [BIN, "audit", "scan", "--cloudwatch", group, "--follow", "--poll-interval", "2s",
     "--endpoint-url", ENDPOINT, "--region", "us-east-1", "--no-config", "-f", "jsonl",
     "--metrics-listen", f"127.0.0.1:{metrics_port}"],
    stdout=subprocess.PIPE, text=True)

seen = {}


def read_findings():
    for line in follower.stdout:
        now = time.monotonic()
        v = json.loads(line)
        if v.get("rule_id") == "AUD002":
            pod = v["resource"]["name"]
            seen.setdefault(pod, now)


threading.Thread(target=read_findings, daemon=True).start()


def events_read():
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("eksguard_audit_events_read_total "):
            return int(float(line.split()[1]))
    return 0


time.sleep(3)
# 1. Lag from ingestion to finding, first, while the follower is idle between polls.
lags = []
for i in range(MARKERS):
    time.sleep(random.uniform(0, 2))
    ms = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": ms, "message": exec_event(i, ms)}])
    written = time.monotonic()
    while f"bench-{i}" not in seen:
        time.sleep(0.01)
    lags.append(seen[f"bench-{i}"] - written)
lags.sort()
print(f"lag (2 s polls): median {statistics.median(lags):.2f} s, "
      f"p90 {lags[int(len(lags) * 0.9) - 1]:.2f} s, max {lags[-1]:.2f} s over {len(lags)} findings")
# 2. Throughput: moto rereads the whole stream on every call, so this comes second.
t0 = time.monotonic()
base_ms = int(time.time() * 1000)
for start in range(0, EVENTS, 2000):
    batch = [{"timestamp": base_ms + i, "message": event(i, base_ms + i)}
             for i in range(start, min(start + 2000, EVENTS))]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
t_put = time.monotonic()
while events_read() < EVENTS + MARKERS:
    time.sleep(0.1)
t_done = time.monotonic()
print(f"events written:  {EVENTS} in {t_put - t0:.1f} s ({EVENTS / (t_put - t0):,.0f}/s into moto)")
print(f"events judged:   {EVENTS} in {t_done - t0:.1f} s ({EVENTS / (t_done - t0):,.0f}/s while following)")

follower.send_signal(signal.SIGTERM)
print(f"SIGTERM: exit status {follower.wait(timeout=60)}")
