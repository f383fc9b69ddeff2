#!/usr/bin/env bash
# Runs the whole test suite once per Keras backend: the backend is fixed per
# process, so each backend gets its own pytest run. A test marked
# backend_free runs in the first pass only, one marked one_backend(B) in B's
# pass (tests/conftest.py). The JUnit reports stay in tools/results/suite/,
# and tools/suite_durations.py writes tools/results/suite_durations.{json,md}:
# each pass's wall time and its costliest tests.
#   bash tools/test.sh                 # torch, jax and tensorflow
#   bash tools/test.sh jax -k glue     # one backend, extra pytest arguments
set -uo pipefail
cd "$(dirname "$0")/.."
backends=(torch jax tensorflow)
case "${1:-}" in torch|jax|tensorflow) backends=("$1"); shift ;; esac
reports=tools/results/suite
mkdir -p "$reports"
export KFT_TEST_PASSES="${backends[*]}"
status=0
for backend in "${backends[@]}"; do
  echo "== KERAS_BACKEND=$backend"
  start=$(date +%s.%N)
  KERAS_BACKEND=$backend python -m pytest -q -p no:cacheprovider \
    --junitxml="$reports/$backend.xml" "$@" || status=1
  python -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" \
    "$start" "$(date +%s.%N)" > "$reports/$backend.wall"
done
python tools/suite_durations.py "$reports" "${backends[@]}" \
  --command "bash tools/test.sh $*" || status=1
exit $status
