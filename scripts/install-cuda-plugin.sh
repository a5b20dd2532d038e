#!/usr/bin/env bash
# The second native step of `npm install` / `npm ci` in a clone (scripts/prepare.js calls it;
# the published package runs no install script): builds the CUDA device plugins where that makes
# sense, and never fails the install (the CPU device needs none of this).
#  - a prebuilt plugin beside the prebuilt addon: nothing to do;
#  - no cmake: one line, and rnnkit runs on the CPU (rk.backends() says why);
#  - else scripts/build-cuda.sh: the real plugin when nvcc is found, and the emulated one.
cd "$(dirname "$0")/.." || exit 0
if compgen -G "prebuilds/*/rnnkit_cuda.so" > /dev/null; then exit 0; fi
if [ ! -f CMakeLists.txt ] || [ ! -d native/cuda ]; then exit 0; fi
if ! command -v cmake > /dev/null; then
  echo "rnnkit: cmake not found; the CUDA device plugin is not built (rnnkit runs on the CPU)"
  exit 0
fi
start=$SECONDS
if bash scripts/build-cuda.sh > build-cuda.log 2>&1; then
  echo "rnnkit: CUDA device plugins built in $((SECONDS - start)) s ($(ls build-cuda/*.so 2>/dev/null | tr '\n' ' '))"
  rm -f build-cuda.log
else
  echo "rnnkit: the CUDA device plugin did not build (see build-cuda.log); rnnkit runs on the CPU"
fi
exit 0
