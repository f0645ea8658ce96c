{{/* The pod template of the node checks (root: the chart context; daemonset: bool). */}}
{{- define "eksguard.nodeCheckPod" -}}
{{- $root := .root }}
{{- $v := $root.Values.nodeCheck -}}
metadata:
  labels:
    {{- include "eksguard.labels" $root | nindent 4 }}
    app.kubernetes.io/component: node-check
  annotations:
    eksguard.io/ignore: "{{ if .daemonset }}IMG002,{{ else }}{{ include "eksguard.imageIgnore" $root }}{{ end }}POD002,POD004,POD008,POD020 -- eksguard node reads the kubelet's root-owned files, kubeconfig and command line: it runs as root with hostPID and read-only host mounts{{ if .daemonset }}; the pause image is referenced by its tag{{ end }}"
spec:
  serviceAccountName: {{ include "eksguard.fullname" $root }}-node
  automountServiceAccountToken: false
  hostPID: true
  {{- if .daemonset }}
  tolerations:
    - operator: Exists
  {{- else }}
  restartPolicy: Never
  {{- with $v.job.nodeName }}
  nodeName: {{ . }}
  {{- end }}
  {{- with $v.job.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  securityContext:
    # The image's user is 65532; the kubelet's files are root's.
    runAsNonRoot: false
    runAsUser: 0
    seccompProfile:
      type: RuntimeDefault
  {{- if .daemonset }}
  initContainers:
  {{- else }}
  containers:
  {{- end }}
    - name: check
      image: {{ include "eksguard.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args: ["node", "--root", "/host"{{ if .daemonset }}, "--fail-on", "never"{{ end }}]
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        privileged: false
        # Root, for root-owned files such as a 0600 kubeconfig; no capability needed.
        capabilities:
          drop: ["ALL"]
      resources:
        {{- toYaml $v.resources | nindent 8 }}
      volumeMounts:
        {{- range list "etc-kubernetes:/etc/kubernetes" "var-lib-kubelet:/var/lib/kubelet" "etc-systemd:/etc/systemd" "etc-eks:/etc/eks" "etc-passwd:/etc/passwd" "etc-group:/etc/group" "proc:/proc" }}
        {{- $p := splitList ":" . }}
        - name: {{ index $p 0 }}
          mountPath: /host{{ index $p 1 }}
          readOnly: true
        {{- end }}
  {{- if .daemonset }}
  containers:
    - name: pause
      image: {{ $v.pauseImage }}
      securityContext:
        runAsNonRoot: true
        runAsUser: 65535
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        privileged: false
        capabilities:
          drop: ["ALL"]
      resources:
        requests:
          cpu: 1m
          memory: 4Mi
        limits:
          cpu: 10m
          memory: 16Mi
  {{- end }}
  volumes:
    - name: etc-kubernetes
      hostPath:
        path: /etc/kubernetes
    - name: var-lib-kubelet
      hostPath:
        path: /var/lib/kubelet
    - name: etc-systemd
      hostPath:
        path: /etc/systemd
    - name: etc-eks
      hostPath:
        path: /etc/eks
        type: DirectoryOrCreate
    - name: etc-passwd
      hostPath:
        path: /etc/passwd
        type: File
    - name: etc-group
      hostPath:
        path: /etc/group
        type: File
    - name: proc
      hostPath:
        path: /proc
{{- end }}
