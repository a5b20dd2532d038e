#!/usr/bin/env bash
# npm run prebuild:host's second step: the CUDA device plugin ships beside the prebuilt addon
# (prebuilds/<platform>-<arch>/rnnkit_cuda.so), where the device registry looks for it, so
# one package serves CPU-only and GPU machines without a build or a download at install.
set -euo pipefail
cd "$(dirname "$0")/.."
target="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
if [ ! -f build-cuda/rnnkit_cuda.so ]; then
  echo "prebuild: build-cuda/rnnkit_cuda.so is not built (npm run build:cuda needs nvcc); the prebuild is CPU-only"
  exit 0
fi
mkdir -p "$target"
cp build-cuda/rnnkit_cuda.so "$target/"
echo "prebuild: $target/rnnkit_cuda.so ($(stat -c %s "$target/rnnkit_cuda.so") bytes)"
