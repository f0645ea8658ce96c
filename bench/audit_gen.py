#!/usr/bin/env python3
"""Writes realistic EKS audit events as JSON lines, for `bench/audit.sh`.

usage: bench/audit_gen.py SIZE_MB OUT [INCIDENT_PERCENT]   (OUT `-` writes to standard
       output, endlessly when SIZE_MB is 0)

INCIDENT_PERCENT (default 0) turns that share of events into what an intrusion leaves:
people reading secrets, impersonation, pods/exec, privileged pods. The plain mix has
findings on about 4% of its events; 7 gives about 10%, 69 about 70% (an incident).

The mix follows what EKS logs: mostly Metadata/Request-level reads by nodes, controllers
and service accounts, writes by people and CI with request bodies, watches, some 403s,
exec sessions, the occasional privileged pod and aws-auth patch. Deterministic (seeded).
"""
import json
import random
import sys

rng = random.Random(42)
NAMESPACES = ["default", "kube-system", "shop", "payments", "monitoring", "ci"]
USERS = (
    [("system:node:ip-10-0-%d-%d.eu-west-1.compute.internal" % (i, i * 7 % 250), ["system:nodes", "system:authenticated"]) for i in range(20)]
    + [("system:serviceaccount:%s:%s" % (ns, sa), ["system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"])
       for ns, sa in [("kube-system", "replicaset-controller"), ("kube-system", "coredns"), ("shop", "web"),
                      ("payments", "api"), ("monitoring", "prometheus"), ("kube-system", "aws-node")]]
    + [("arn:aws:sts::111122223333:assumed-role/dev/alice", ["dev", "system:authenticated"]),
       ("arn:aws:sts::111122223333:assumed-role/ci/gitlab", ["ci", "system:authenticated"]),
       ("kubernetes-admin", ["system:masters", "system:authenticated"]),
       ("eks:node-manager", ["system:authenticated"])]
)
RESOURCES = [("pods", "", "v1"), ("configmaps", "", "v1"), ("secrets", "", "v1"), ("services", "", "v1"),
             ("endpoints", "", "v1"), ("deployments", "apps", "v1"), ("leases", "coordination.k8s.io", "v1"),
             ("events", "", "v1"), ("nodes", "", "v1"), ("roles", "rbac.authorization.k8s.io", "v1")]
AGENTS = ["kubelet/v1.30.2 (linux/amd64) kubernetes/3a1b2c4", "kube-controller-manager/v1.30.2 (linux/amd64) kubernetes/3a1b2c4/system:serviceaccount:kube-system:replicaset-controller",
          "kubectl/v1.30.1 (darwin/arm64) kubernetes/7c3d2e1", "Go-http-client/2.0", "prometheus/2.53.0"]


def uid(n):
    return "%08x-%04x-4%03x-8%03x-%012x" % (rng.getrandbits(32), n & 0xFFFF, rng.getrandbits(12), rng.getrandbits(12), rng.getrandbits(48))


def pod_body(name, ns, privileged):
    c = {"name": "app", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/%s:1.4.2" % name,
         "ports": [{"containerPort": 8080, "protocol": "TCP"}],
         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
         "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "REGION", "value": "eu-west-1"}]}
    if privileged:
        c["securityContext"] = {"privileged": True}
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"generateName": name + "-", "namespace": ns, "labels": {"app": name, "pod-template-hash": "7d9f8c"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name + "-7d9f8c", "uid": uid(1), "controller": True}]},
            "spec": {"containers": [c], "serviceAccountName": name, "nodeSelector": {"kubernetes.io/os": "linux"}}}


PEOPLE = [("arn:aws:sts::111122223333:assumed-role/dev/alice", ["dev", "system:authenticated"]),
          ("kubernetes-admin", ["system:masters", "system:authenticated"])]


def incident(ev, ns):
    """Rewrites a plain event into one of the requests an intrusion makes."""
    user, groups = rng.choice(PEOPLE)
    ev["user"].update({"username": user, "groups": groups})
    ev["responseStatus"] = {"metadata": {}, "code": 200}
    ev["annotations"]["authorization.k8s.io/decision"] = "allow"
    ev.pop("requestObject", None)
    shape = rng.randrange(4)
    name = "web-%d" % rng.randrange(9)
    if shape == 0:
        ev["verb"] = "get"
        ev["objectRef"] = {"resource": "secrets", "namespace": ns, "name": "db-%d" % rng.randrange(50), "apiVersion": "v1"}
        ev["requestURI"] = "/api/v1/namespaces/%s/secrets/%s" % (ns, ev["objectRef"]["name"])
    elif shape == 1:
        ev["impersonatedUser"] = {"username": "system:serviceaccount:%s:default" % ns, "groups": ["system:serviceaccounts"]}
    elif shape == 2:
        ev["verb"] = "create"
        ev["stage"] = "ResponseComplete"
        ev["objectRef"] = {"resource": "pods", "subresource": "exec", "namespace": ns, "name": name, "apiVersion": "v1"}
        ev["requestURI"] = "/api/v1/namespaces/%s/pods/%s/exec?command=sh&container=app&stdin=true&tty=true" % (ns, name)
        ev["responseStatus"]["code"] = 101
    else:
        ev["verb"] = "create"
        ev["level"] = "RequestResponse"
        ev["objectRef"] = {"resource": "pods", "namespace": ns, "apiVersion": "v1"}
        ev["requestURI"] = "/api/v1/namespaces/%s/pods" % ns
        ev["responseStatus"]["code"] = 201
        ev["requestObject"] = pod_body(name, ns, True)


def event(n, t, incidents=0.0):
    user, groups = rng.choice(USERS)
    res, group, ver = rng.choice(RESOURCES)
    ns = rng.choice(NAMESPACES)
    r = rng.random()
    verb = "get" if r < 0.35 else "list" if r < 0.55 else "watch" if r < 0.75 else "update" if r < 0.85 else "patch" if r < 0.92 else "create" if r < 0.98 else "delete"
    name = "%s-%d" % (res.rstrip("s"), rng.randrange(500))
    path = ("/apis/%s/%s" % (group, ver)) if group else "/api/v1"
    uri = "%s/namespaces/%s/%s" % (path, ns, res)
    obj = {"resource": res, "namespace": ns, "apiVersion": ver}
    if group:
        obj["apiGroup"] = group
    if verb not in ("list", "watch", "create"):
        obj["name"] = name
        uri += "/" + name
    elif verb == "list":
        uri += "?limit=500&resourceVersion=0"
    elif verb == "watch":
        uri += "?allowWatchBookmarks=true&resourceVersion=%d&timeout=9m2s&watch=true" % rng.randrange(10**7)
    code = 200
    decision, reason = "allow", 'RBAC: allowed by ClusterRoleBinding "system:%s" of ClusterRole "system:%s" to Group "%s"' % (res, res, groups[0])
    if rng.random() < 0.03:
        code, decision, reason = 403, "forbid", ""
    elif verb == "create":
        code = 201
    ev = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata" if res in ("secrets", "configmaps") else "Request",
          "auditID": uid(n), "stage": "ResponseComplete", "requestURI": uri, "verb": verb,
          "user": {"username": user, "uid": "aws-iam-authenticator:111122223333:AROAEXAMPLE%d" % (n % 97), "groups": groups,
                   "extra": {"accessKeyId": ["ASIAEXAMPLE%05d" % (n % 5000)], "sessionName": ["session-%d" % (n % 31)]}},
          "sourceIPs": ["10.0.%d.%d" % (rng.randrange(256), rng.randrange(256))] if rng.random() < 0.97 else ["203.0.113.%d" % rng.randrange(256)],
          "userAgent": rng.choice(AGENTS), "objectRef": obj,
          "responseStatus": {"metadata": {}, "code": code},
          "requestReceivedTimestamp": t, "stageTimestamp": t,
          "annotations": {"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": reason}}
    if code == 403:
        ev["responseStatus"].update({"status": "Failure", "reason": "Forbidden",
                                     "message": '%s "%s" is forbidden: User "%s" cannot %s resource "%s"' % (res, name, user, verb, res)})
    if verb == "create" and res == "pods":
        ev["level"] = "RequestResponse"
        ev["requestObject"] = pod_body(name, ns, rng.random() < 0.05)
    elif verb in ("update", "patch") and res not in ("secrets", "configmaps"):
        ev["requestObject"] = {"metadata": {"name": name, "namespace": ns, "labels": {"app": name}}, "spec": {"replicas": rng.randrange(1, 5)}}
    if rng.random() < 0.002:
        ev["objectRef"].update({"resource": "pods", "subresource": "exec", "name": "web-%d" % rng.randrange(9)})
        ev["stage"] = "ResponseStarted"
        ev["requestURI"] = "/api/v1/namespaces/%s/pods/web-1/exec?command=sh&container=app&stdin=true&tty=true" % ns
        ev["responseStatus"]["code"] = 101
    if incidents and rng.random() < incidents:
        incident(ev, ns)
    return json.dumps(ev, separators=(",", ":"))


def main():
    size = int(sys.argv[1]) * 1024 * 1024
    out = sys.stdout if sys.argv[2] == "-" else open(sys.argv[2], "w")
    incidents = float(sys.argv[3]) / 100 if len(sys.argv) > 3 else 0.0
    written, n = 0, 0
    chunk = []
    while size == 0 or written < size:
        sec = n // 200
        t = "2024-05-%02dT%02d:%02d:%02d.%06dZ" % (1 + sec // 86400 % 28, sec // 3600 % 24, sec // 60 % 60, sec % 60, n % 1000000)
        line = event(n, t, incidents) + "\n"
        chunk.append(line)
        written += len(line)
        n += 1
        if len(chunk) >= 2000:
            try:
                out.write("".join(chunk))
            except BrokenPipeError:
                return
            chunk = []
    out.write("".join(chunk))


if __name__ == "__main__":
    main()
