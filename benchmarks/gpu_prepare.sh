#!/usr/bin/env bash
# Packs into .gpu/ (ignored by git) what a copy of this checkout needs on a GPU machine without internet:
# the MNIST and Fashion-MNIST IDX files, wheels of the sweep's Python packages for that machine's Python,
# and this checkout's git revision (records made from the copy name it). Packages the GPU machine already
# has can be left out by name: GPU_HAS="psutil pyyaml ..." benchmarks/gpu_prepare.sh [PYTHON_VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
py=${1:-3.12}
data=${HETNOISE_DATA:-$HOME/.cache/hetnoise}
rm -rf .gpu && mkdir -p .gpu/data/mnist .gpu/data/fashion-mnist .gpu/wheels
cp "$data"/mnist/*-ubyte.gz .gpu/data/mnist/
fashion=$data/fashion-mnist; [ -d "$fashion" ] || fashion=/usr/share/datasets/fashion-mnist
cp "$fashion"/*-ubyte.gz .gpu/data/fashion-mnist/
python3 -m pip download -q --only-binary=:all: --python-version "$py" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  --platform manylinux1_x86_64 --platform any -d .gpu/wheels \
  papermill ipykernel nbclient nbformat jupytext "dask[distributed]" tqdm
for name in ${GPU_HAS:-}; do rm -f .gpu/wheels/"$name"-[0-9]*.whl; done
rev=$(git rev-parse HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || rev=$rev-dirty
echo "$rev" > .gpu/REVISION
du -sh .gpu
