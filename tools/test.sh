#!/usr/bin/env bash
# Runs the whole test suite once per Keras backend: the backend is fixed per
# process, so each backend gets its own pytest run.
#   bash tools/test.sh                 # torch, jax and tensorflow
#   bash tools/test.sh jax -k glue     # one backend, extra pytest arguments
set -uo pipefail
cd "$(dirname "$0")/.."
backends=(torch jax tensorflow)
case "${1:-}" in torch|jax|tensorflow) backends=("$1"); shift ;; esac
reports=$(mktemp -d)
status=0
for backend in "${backends[@]}"; do
  echo "== KERAS_BACKEND=$backend"
  KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider \
    --junitxml="$reports/$backend.xml" "$@" || status=1
done
python - "$reports" "${backends[@]}" <<'PY'
import sys, xml.etree.ElementTree as ET
folder, names = sys.argv[1], sys.argv[2:]
total = {"passed": 0, "failed": 0, "skipped": 0}
for name in names:
    try:
        suite = ET.parse(f"{folder}/{name}.xml").getroot().find("testsuite")
    except (OSError, ET.ParseError):
        print(f"{name}: no report"); total["failed"] += 1; continue
    n, f, e, s = (int(suite.get(k)) for k in
                  ("tests", "failures", "errors", "skipped"))
    print(f"{name}: {n - f - e - s} passed, {f + e} failed, {s} skipped")
    total["passed"] += n - f - e - s; total["failed"] += f + e
    total["skipped"] += s
print(f"all backends: {total['passed']} passed, {total['failed']} failed, "
      f"{total['skipped']} skipped")
PY
rm -rf "$reports"
exit $status
