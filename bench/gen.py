#!/usr/bin/env python3
"""Writes N synthetic Kubernetes objects for benchmarks: a realistic mix of workloads,
services, RBAC, network policies and config, spread over files of 100 documents and over
namespaces. Deterministic for a given N (no randomness), standard library only.

usage: gen.py N OUTDIR
"""
import os
import sys

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: {ns}
  labels: {{app: app-{i}, tier: web}}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: app-{i}}}
  template:
    metadata:
      labels: {{app: app-{i}, tier: web}}
    spec:
      serviceAccountName: sa-{i}
      securityContext:
        runAsNonRoot: {nonroot}
        seccompProfile: {{type: RuntimeDefault}}
      initContainers:
      - name: init
        image: busybox:1.36
        command: ["sh", "-c", "echo init"]
      containers:
      - name: app
        image: registry.example.com/team/app-{i}:{tag}
        ports:
        - containerPort: 8080
        env:
        - name: MODE
          value: production
        - name: TOKEN
          valueFrom:
            secretKeyRef: {{name: app-{i}, key: token}}
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{memory: 256Mi}}
        securityContext:
          privileged: {priv}
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities:
            drop: [ALL]
        volumeMounts:
        - {{name: data, mountPath: /data}}
      volumes:
      - name: data
        {volume}
"""

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: app-{i}
  namespace: {ns}
spec:
  type: {stype}
  selector: {{app: app-{i}}}
  ports:
  - name: http
    port: 80
    targetPort: 8080
"""

ROLE = """apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: role-{i}
  namespace: {ns}
rules:
- apiGroups: [""]
  resources: [configmaps, {res}]
  verbs: [get, list, {verb}]
"""

BINDING = """apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: binding-{i}
  namespace: {ns}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: role-{i}}}
subjects:
- kind: ServiceAccount
  name: sa-{i}
  namespace: {ns}
"""

SA = """apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa-{i}
  namespace: {ns}
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/app-{i}
"""

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata:
  name: config-{i}
  namespace: {ns}
data:
  LOG_LEVEL: info
  FEATURE_FLAGS: "a,b,c"
  settings.yaml: |
    server:
      port: 8080
      timeout: 30s
"""

NETPOL = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-{i}
  namespace: {ns}
spec:
  podSelector:
    matchLabels: {{app: app-{i}}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {{}}
    ports:
    - {{port: 8080, protocol: TCP}}
"""

KINDS = [DEPLOY, SERVICE, SA, ROLE, BINDING, CONFIGMAP, NETPOL, DEPLOY, SERVICE, CONFIGMAP]


def render(i):
    tpl = KINDS[i % len(KINDS)]
    return tpl.format(
        i=i,
        ns="team-%d" % (i % 500),
        nonroot="true" if i % 3 else "false",
        tag="latest" if i % 7 == 0 else "1.%d.0" % (i % 40),
        priv="true" if i % 50 == 0 else "false",
        volume="hostPath: {path: /var/run/docker.sock}" if i % 97 == 0 else "emptyDir: {}",
        stype="LoadBalancer" if i % 11 == 0 else "ClusterIP",
        res="secrets" if i % 13 == 0 else "services",
        verb="watch" if i % 2 else "create",
    )


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    per_file = 100
    for f in range((n + per_file - 1) // per_file):
        docs = [render(i) for i in range(f * per_file, min(n, (f + 1) * per_file))]
        with open(os.path.join(out, "objects-%05d.yaml" % f), "w") as fh:
            fh.write("---\n".join(docs))


if __name__ == "__main__":
    main()
