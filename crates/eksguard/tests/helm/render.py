"""Renders or lints the eksguard chart with Helm's own engine (helm-python-sdk).

    render.py render CHART_DIR VALUES_JSON [NAMESPACE]  -> the manifests on stdout
    render.py lint CHART_DIR VALUES_JSON [NAMESPACE]    -> the lint report as JSON

The release is named `eksguard`, in NAMESPACE (default `eksguard`).

Exit status 3 when helm-python-sdk is not installed, so the caller can tell "absent"
from "failed".
"""

import json
import sys

try:
    import helm_python
except ImportError:
    print("helm-python-sdk is not installed", file=sys.stderr)
    sys.exit(3)


def main() -> int:
    try:
        return run()
    except helm_python.HelmError as e:
        # Helm's own message: the value or template at fault.
        print(e, file=sys.stderr)
        return 1


def run() -> int:
    mode, chart_dir, values_json = sys.argv[1], sys.argv[2], sys.argv[3]
    values = json.loads(values_json)
    namespace = sys.argv[4] if len(sys.argv) > 4 else "eksguard"
    if mode == "lint":
        report = helm_python.lint(chart_dir, values, strict=True, namespace=namespace)
        print(json.dumps(report))
        return 0
    chart = helm_python.Chart.load(chart_dir)
    manifests = chart.render(values, name="eksguard", namespace=namespace, is_install=True)
    for path in sorted(manifests):
        text = manifests[path]
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        sys.stdout.write(f"---\n# Source: {path}\n{text.strip()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
