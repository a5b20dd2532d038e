#!/usr/bin/env bash
# Checks the built nvcc plugin without a GPU (CI, after scripts/build-cuda.sh):
#  - it exports only rk_* (the ops table entry and what the registry asks about it);
#  - it needs no libcudart / libcublas (static runtime, cuBLAS by dlopen);
#  - its .nv_fatbin holds real code for every architecture and the sm_120 PTX;
#  - rnnkit_cuda_check passes, with the usual grids and with small ones (emulated plugin vs the CPU device; loader reasons; the real
#    plugin loads here and says why it cannot run).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build-cuda}
so=$dir/rnnkit_cuda.so
fail=0
if [ -f "$so" ]; then
  exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
  echo "exported: $exported"
  [ "$exported" = "rk_get_device_ops " ] || { echo "FAIL: exports"; fail=1; }
  needed=$(readelf -d "$so" | awk '/NEEDED/ {print $5}' | tr -d '[]' | tr '\n' ' ')
  echo "needed: $needed"
  if echo "$needed" | grep -qE 'cudart|cublas|libcuda'; then echo "FAIL: links CUDA libraries"; fail=1; fi
  node scripts/fatbin-archs.js "$so" --expect "${RNNKIT_EXPECT_SM:-75,80,86,89,90,100,120}" --ptx "${RNNKIT_EXPECT_PTX:-120}" || fail=1
  echo "size: $(stat -c %s "$so") bytes"
else
  echo "$so not built (no nvcc): only the emulated plugin is checked"
fi
"$dir/rnnkit_cuda_check" || fail=1
echo "again with every emulated grid capped at 3 blocks of 32 threads:"
"$dir/rnnkit_cuda_check" --grid 3x32 | tail -1 || fail=1
exit $fail
