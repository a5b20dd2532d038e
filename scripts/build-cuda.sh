#!/usr/bin/env bash
# Builds the CUDA device plugins with plain CMake (what `npm run build:cuda` does through
# cmake-js): build-cuda/rnnkit_cuda.so (nvcc, when found), build-cuda/rnnkit_cuda_emu.so,
# the fake libcublas.so.13 and build-cuda/rnnkit_cuda_check.
#
#   scripts/build-cuda.sh                   both plugins, every architecture (~1.5 min on 2 cores)
#   scripts/build-cuda.sh --emulated-only   no nvcc: the emulated plugin and the check (~20 s)
#   scripts/build-cuda.sh --archs 89-real   the nvcc plugin for one architecture (development)
#   BUILD_DIR=… scripts/build-cuda.sh       another output folder (default build-cuda)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build-cuda}
real=ON
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --emulated-only) real=OFF ;;
    --archs) args+=("-DRNNKIT_CUDA_ARCHS=$2"); shift ;;
    *) echo "build-cuda.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
if ! command -v cmake > /dev/null; then
  echo "build-cuda.sh: cmake not found; the CUDA plugins are not built" >&2
  exit 3
fi
if [ "$real" = ON ] && ! command -v nvcc > /dev/null && [ ! -x /usr/local/cuda/bin/nvcc ] && [ -z "${CUDACXX:-}" ]; then
  echo "build-cuda.sh: nvcc not found; building the emulated plugin only"
  real=OFF
fi
# Options are passed every time: the cache would otherwise keep the last run's.
if [ "$real" = OFF ]; then args+=(-DRNNKIT_CUDA_REAL=OFF); else args+=(-DRNNKIT_CUDA_REAL=ON); fi
if [ "$real" = ON ] && [ ${#args[@]} -eq 1 ]; then
  args+=("-DRNNKIT_CUDA_ARCHS=75-real;80-real;86-real;89-real;90-real;100-real;120-real;120-virtual")
fi
mkdir -p "$build_dir"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "${args[@]}" > "$build_dir/configure.log" 2>&1 ||
  { cat "$build_dir/configure.log" >&2; exit 1; }
cmake --build "$build_dir" -j "${JOBS:-2}"
