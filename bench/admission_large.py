#!/usr/bin/env python3
"""Writes AdmissionReviews of about SIZE bytes (default 3 MiB less a little), the largest
`eksguard serve` accepts, in three shapes:

  env         a Pod whose containers carry long environments (few findings, many nodes)
  containers  a Pod of many small, privileged containers (many findings)
  update      an UPDATE of two Pods of half the size each, the old one with
              containers in another order

Usage: admission_large.py SHAPE [SIZE] > review.json
"""
import json
import sys


def review(op, obj, old=None):
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "bench-large",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "operation": op,
            "userInfo": {"username": "bench", "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": old,
        },
    }


def pod(containers):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "large", "namespace": "bench"},
            "spec": {"containers": containers}}


def env_pod(size):
    containers, used, i = [], 0, 0
    while used < size:
        env = [{"name": f"VAR_{j}", "value": "x" * 60} for j in range(200)]
        c = {"name": f"c{i}", "image": "nginx:1.27", "env": env,
             "securityContext": {"privileged": i % 2 == 0, "capabilities": {"add": ["NET_ADMIN"]}}}
        used += len(json.dumps(c))
        containers.append(c)
        i += 1
    return pod(containers)


def many_pod(size):
    containers, used, i = [], 0, 0
    while used < size:
        c = {"name": f"c{i}", "image": "nginx",
             "ports": [{"containerPort": 80, "hostPort": 8000 + i % 1000}],
             "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN", "NET_ADMIN"]}}}
        used += len(json.dumps(c)) + 2
        containers.append(c)
        i += 1
    return pod(containers)


def main():
    shape = sys.argv[1] if len(sys.argv) > 1 else "containers"
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 3 * 1024 * 1024 - 64 * 1024
    if shape == "env":
        doc = review("CREATE", env_pod(size))
    elif shape == "containers":
        doc = review("CREATE", many_pod(size))
    elif shape == "update":
        new = many_pod(size // 2 - 4096)
        old = json.loads(json.dumps(new))
        old["spec"]["containers"].reverse()
        doc = review("UPDATE", new, old)
    else:
        sys.exit(f"unknown shape {shape}")
    text = json.dumps(doc, separators=(",", ":"))
    if len(text) > 3 * 1024 * 1024:
        sys.exit(f"{len(text)} bytes: over the 3 MiB limit")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
