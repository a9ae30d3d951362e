#!/usr/bin/env bash
# The GPU check on a CUDA machine with PyTorch, also one without internet: installs the wheels in
# .gpu/wheels beside that machine's Python, reads the data from .gpu/data and the revision of the checkout
# this copy came from from .gpu/REVISION (all made by benchmarks/gpu_prepare.sh), then runs
# benchmarks/gpu_check.py. Usage: benchmarks/gpu_check.sh OUT_DIR [gpu_check.py options]
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
shift
if compgen -G ".gpu/wheels/*.whl" >/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/hetnoise-site .gpu/wheels/*.whl
  export PYTHONPATH=/tmp/hetnoise-site${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -f .gpu/REVISION ]; then export HETNOISE_GIT_REVISION=$(cat .gpu/REVISION); fi
python3 benchmarks/gpu_check.py --out "$out" --data "${HETNOISE_DATA:-.gpu/data}" "$@"
