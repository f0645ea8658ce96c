#!/usr/bin/env python3
"""A fake Kubernetes API server holding a simulated cluster, for bench/cluster.sh.

usage: fake_apiserver.py PORT_FILE [--namespaces 500] [--pods-per-ns 20] [--latency-ms 0]

Serves discovery and paginated lists (`limit`, `continue`) of: namespaces, pods (two per
ReplicaSet, each ReplicaSet owned by a Deployment), deployments, replicasets, services,
service accounts, secrets (metadata only), roles, role bindings, cluster roles and
bindings, and empty lists of the other kinds eksguard reads. Writes the chosen port to
PORT_FILE once listening. Each response waits --latency-ms first, like a remote server.
"""
import argparse
import json
import socketserver
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

TYPES = [
    # group, version, plural, kind, namespaced
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "pods", "Pod", True),
    ("", "v1", "replicationcontrollers", "ReplicationController", True),
    ("", "v1", "serviceaccounts", "ServiceAccount", True),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "services", "Service", True),
    ("", "v1", "resourcequotas", "ResourceQuota", True),
    ("", "v1", "limitranges", "LimitRange", True),
    ("", "v1", "persistentvolumes", "PersistentVolume", False),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("apps", "v1", "replicasets", "ReplicaSet", True),
    ("apps", "v1", "statefulsets", "StatefulSet", True),
    ("apps", "v1", "daemonsets", "DaemonSet", True),
    ("batch", "v1", "jobs", "Job", True),
    ("batch", "v1", "cronjobs", "CronJob", True),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("storage.k8s.io", "v1", "storageclasses", "StorageClass", False),
    ("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
     "ValidatingWebhookConfiguration", False),
    ("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
     "MutatingWebhookConfiguration", False),
]


def container(i):
    c = {
        "name": "app",
        "image": f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/app-{i % 40}:1.{i % 7}",
        "ports": [{"containerPort": 8080, "name": "http"}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                      "limits": {"memory": "256Mi"}},
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    if i % 5 == 0:
        c["securityContext"] = {"privileged": True}
    else:
        c["securityContext"] = {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]}}
    return c


def pod_spec(i):
    return {"serviceAccountName": f"app-{i % 3}", "containers": [container(i)],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}


def build(namespaces, pods_per_ns):
    items = {t[2]: [] for t in TYPES}
    items["clusterroles"].append({"metadata": {"name": "ops"}, "rules": [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    items["clusterrolebindings"].append({"metadata": {"name": "ops"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ops"},
        "subjects": [{"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"}]})
    n = 0
    for ns_i in range(namespaces):
        ns = f"team-{ns_i:03d}"
        items["namespaces"].append({"metadata": {"name": ns, "uid": f"ns-{ns}",
                                                 "labels": {"team": ns}}})
        for s in range(3):
            items["serviceaccounts"].append({"metadata": {"name": f"app-{s}", "namespace": ns}})
        items["secrets"].append({"metadata": {"name": "db", "namespace": ns}, "type": "Opaque"})
        items["roles"].append({"metadata": {"name": "dev", "namespace": ns}, "rules": [
            {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]})
        items["rolebindings"].append({"metadata": {"name": "dev", "namespace": ns}, "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "dev"},
            "subjects": [{"kind": "Group", "name": f"{ns}-devs"}]})
        for d in range(pods_per_ns // 2):
            name = f"svc-{d}"
            labels = {"app": name}
            tmpl = {"metadata": {"labels": labels}, "spec": pod_spec(n)}
            dep_uid = f"d-{ns}-{name}"
            rs_uid = f"rs-{ns}-{name}"
            items["deployments"].append({"metadata": {"name": name, "namespace": ns,
                                                      "uid": dep_uid},
                                         "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                                                  "template": tmpl}})
            items["replicasets"].append({"metadata": {
                "name": f"{name}-7d9f", "namespace": ns, "uid": rs_uid,
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                     "uid": dep_uid, "controller": True}]},
                "spec": {"replicas": 2, "template": tmpl}})
            for p in range(2):
                items["pods"].append({"metadata": {
                    "name": f"{name}-7d9f-{p:05d}", "namespace": ns, "labels": labels,
                    "uid": f"p-{ns}-{name}-{p}",
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                         "name": f"{name}-7d9f", "uid": rs_uid,
                                         "controller": True}]},
                    "spec": dict(pod_spec(n), nodeName=f"ip-10-0-{n % 250}-{p}.ec2.internal"),
                    "status": {"phase": "Running", "podIP": f"10.1.{n % 250}.{p}"}})
            items["services"].append({"metadata": {"name": name, "namespace": ns},
                                      "spec": {"selector": labels, "ports": [
                                          {"port": 80, "targetPort": "http"}]}})
            n += 1
    return {k: [json.dumps(i).encode() for i in v] for k, v in items.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port_file")
    ap.add_argument("--namespaces", type=int, default=500)
    ap.add_argument("--pods-per-ns", type=int, default=20)
    ap.add_argument("--latency-ms", type=float, default=0)
    a = ap.parse_args()
    items = build(a.namespaces, a.pods_per_ns)
    by_path = {}
    for g, v, plural, kind, namespaced in TYPES:
        base = f"/api/{v}" if not g else f"/apis/{g}/{v}"
        by_path[f"{base}/{plural}"] = (kind, f"{g}/{v}" if g else v, plural)
    groups = {}
    for g, v, *_ in TYPES:
        if g:
            groups.setdefault(g, f"{g}/{v}")
    latency = a.latency_ms / 1000.0

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
            if latency:
                time.sleep(latency)
            url = urlsplit(self.path)
            q = parse_qs(url.query)
            path = url.path.rstrip("/")
            if path == "/api":
                return self.send(200, b'{"kind":"APIVersions","versions":["v1"]}')
            if path == "/apis":
                gl = [{"name": g, "versions": [{"groupVersion": gv, "version": "v1"}],
                       "preferredVersion": {"groupVersion": gv, "version": "v1"}}
                      for g, gv in groups.items()]
                return self.send(200, json.dumps({"kind": "APIGroupList", "groups": gl}).encode())
            for g, v, plural, kind, namespaced in TYPES:
                base = f"/api/{v}" if not g else f"/apis/{g}/{v}"
                if path == base:
                    res = [{"name": p, "kind": k, "namespaced": n, "verbs": ["get", "list"]}
                           for gg, vv, p, k, n in TYPES if gg == g and vv == v]
                    return self.send(200, json.dumps({"kind": "APIResourceList",
                                                      "groupVersion": base.split("/", 2)[-1],
                                                      "resources": res}).encode())
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
            self.send(404, b'{"kind":"Status","status":"Failure","code":404,"reason":"NotFound","message":"not found"}')

    class Server(socketserver.ThreadingMixIn, HTTPServer):
        daemon_threads = True

    srv = Server(("127.0.0.1", 0), Handler)
    with open(a.port_file, "w") as f:
        f.write(str(srv.server_address[1]))
    sys.stderr.write(f"fake API server on port {srv.server_address[1]}: "
                     f"{len(items['pods'])} pods in {a.namespaces} namespaces\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
