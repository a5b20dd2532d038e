#!/usr/bin/env bash
# The GPU check (issue 9, item 6): one script for a machine with an NVIDIA GPU, CUDA 13 (nvcc),
# cuBLAS / cuDNN as Python wheels, PyTorch, and no Node and no network. Under 8 minutes:
#
#   env        nvidia-smi, nvcc, compute-sanitizer, torch, glibc
#   node       unpacks the carried node (.gpu-check/node.xz) and package (dist/, the addon)
#   cublas     finds libcublas.so.13 of the nvidia-cublas wheel (RNNKIT_CUBLAS)
#   build      builds rnnkit_cuda.so for this GPU's architecture only, and rnnkit_cuda_check
#              (scripts/build-cuda.sh); falls back to the carried .gpu-check/prebuilt/ (sm_90)
#   ops        rnnkit_cuda_check --ops rnnkit_cuda.so: every ops-table entry vs the CPU device
#   parity     scripts/gpu-check/parity.js: every cell and option, forward/backward, CUDA vs CPU,
#              clipping, a short fit
#   torch      scripts/gpu-check/torch-export.js + torch_compare.py: rnnkit CUDA vs PyTorch cuDNN
#              (and float64) with the same weights; timings of both
#   sanitizer  compute-sanitizer memcheck of a small parity run (if compute-sanitizer exists)
#
# Each step runs under `timeout`, within a total budget (GPU_CHECK_BUDGET, default 450 s); a
# failing step is recorded and the next ones run. Writes $OUT/gpu-check.json (everything),
# $OUT/gpu-check.log (every step's log) and $OUT/summary.txt; exits 1 if any check failed or
# did not run for lack of time. Prepare the carried folder here first:
#
#   scripts/gpu-check/pack-node.sh            # makes .gpu-check/ (~27 MB)
#   device run: command "bash scripts/gpu-check.sh", carry [".gpu-check"], timeout_s 540
#
# Locally (no GPU) it runs the same steps; the ones that need a GPU fail with their reasons.
# A dry run of the whole flow without a GPU: GPU_CHECK_EMULATED=1 builds and uses the emulated
# plugin (build-cuda/rnnkit_cuda_emu.so, its fake cuBLAS), and with GPU_CHECK_PYTHON=<a python
# with torch> GPU_CHECK_TORCH_ARGS=--cpu GPU_CHECK_EXPORT_ARGS=--small the torch step compares
# small shapes against PyTorch on the CPU.
set -u -o pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"
W=${GPU_CHECK_WORK:-/tmp/gpu-check}
rm -rf "$W"
mkdir -p "$W/logs" "$W/bin" "$W/pkg" "$W/torch-data"
BUDGET=${GPU_CHECK_BUDGET:-450}
START=$(date +%s)
STEPS=$W/steps.tsv
: > "$STEPS"
PY=${GPU_CHECK_PYTHON:-python3}
EMULATED=${GPU_CHECK_EMULATED:-0}
export ROOT W OUT PY EMULATED

# step NAME MAX_SECONDS FUNCTION: runs FUNCTION under timeout (at most MAX_SECONDS, never past
# the budget less 25 s kept for the report), logs to $W/logs/NAME.log, records a line in $STEPS.
step() {
  local name=$1 max=$2 fn=$3 now left t rc status t0 t1
  now=$(date +%s)
  left=$((BUDGET - (now - START) - 25))
  t=$((max < left ? max : left))
  if [ "$t" -lt 10 ]; then
    printf '%s\tskipped\t-\t0\t%s\n' "$name" "no time left in the ${BUDGET} s budget" >> "$STEPS"
    echo "== $name: SKIPPED (no time left)"
    return 0
  fi
  echo "== $name (timeout ${t} s)"
  t0=$(date +%s.%N)
  timeout -k 5 "$t" bash -c "$fn" > "$W/logs/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  case $rc in
    0) status=ok ;;
    124 | 137) status=timeout ;;
    77) status=skipped ;;
    *) status=fail ;;
  esac
  local note
  note=$(grep -h '^NOTE: ' "$W/logs/$name.log" | tail -1 | cut -c7- | tr '\t' ' ')
  local secs
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$status" "$rc" "$secs" "$note" >> "$STEPS"
  echo "   $status (rc $rc) in $secs s${note:+: $note}"
  tail -5 "$W/logs/$name.log" | sed 's/^/   | /'
}

# ---- the steps (each runs in its own bash: they talk through files under $W) ----------

s_env() {
  set -x
  uname -a
  ldd --version | head -1
  nvidia-smi || true
  nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv || true
  cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2> /dev/null | head -1 | tr -d ' .')
  echo "${cc:-90}" > "$W/cc"
  command -v nvcc || ls /usr/local/cuda/bin/nvcc
  (nvcc --version || /usr/local/cuda/bin/nvcc --version) | tail -2
  command -v cmake && cmake --version | head -1
  command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer || true
  "$PY" -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available() and torch.cuda.get_device_name(0))'
  nproc
  cat "$ROOT/.gpu-check/manifest.txt"
  echo "NOTE: compute capability ${cc:-unknown}"
}

# xz -dc, or Python's lzma where the xz tool is missing.
unxz_to_stdout() {
  if command -v xz > /dev/null; then xz -dc "$1"; else "$PY" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}

s_node() {
  set -e
  [ -f "$ROOT/.gpu-check/node.xz" ] || { echo "NOTE: .gpu-check/node.xz not carried (scripts/gpu-check/pack-node.sh; carry .gpu-check)"; exit 1; }
  unxz_to_stdout "$ROOT/.gpu-check/node.xz" > "$W/bin/node"
  chmod +x "$W/bin/node"
  unxz_to_stdout "$ROOT/.gpu-check/pkg.tar.xz" | tar -C "$W/pkg" -xf -
  # The package's native addon is found by node-gyp-build under $W/pkg/build/Release.
  if "$W/bin/node" -e 'require(process.argv[1])' "$W/pkg/dist" 2> "$W/node-err.txt"; then
    echo "" > "$W/node.ldpath"
  elif LD_LIBRARY_PATH="$W/pkg/lib" "$W/bin/node" -e 'require(process.argv[1])' "$W/pkg/dist"; then
    cat "$W/node-err.txt"
    echo "$W/pkg/lib" > "$W/node.ldpath"
    echo "NOTE: node runs with the carried libstdc++ (the machine's is older)"
  else
    cat "$W/node-err.txt"
    echo "NOTE: the carried node or addon does not run here: $(head -1 "$W/node-err.txt")"
    exit 1
  fi
  LD_LIBRARY_PATH="$(cat "$W/node.ldpath")" "$W/bin/node" -e 'const rk = require(process.argv[1]); console.log(process.version, JSON.stringify(rk.backends()))' "$W/pkg/dist"
  echo "NOTE: $("$W/bin/node" --version 2> /dev/null || echo node) runs; dist/ and the addon load"
}

s_cublas() {
  [ "$EMULATED" = 1 ] && { echo "NOTE: emulated plugin: its fake cuBLAS beside it"; exit 77; }
  # The nvidia-cublas wheel (CUDA 13 wheels keep their libraries under nvidia/cu13/lib, older
  # ones under nvidia/cublas/lib); else the toolkit's; else a search.
  p=$(python3 - << 'EOF'
import glob, os, site, sys
roots = set()
for get in (site.getsitepackages, lambda: [site.getusersitepackages()]):
    try: roots.update(get())
    except Exception: pass
roots.update(p for p in sys.path if p.endswith("-packages"))
try:
    import nvidia
    roots.update(os.path.dirname(p) for p in nvidia.__path__)
except Exception:
    pass
hits = []
for r in sorted(roots):
    hits += glob.glob(os.path.join(r, "nvidia", "**", "libcublas.so.*"), recursive=True)
hits = [h for h in hits if "Lt" not in os.path.basename(h)]
hits.sort(key=lambda h: (not h.endswith(".so.13"), h))
print(hits[0] if hits else "")
EOF
)
  if [ -z "$p" ]; then
    for c in /usr/local/cuda/lib64/libcublas.so.13 /usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.13; do
      [ -e "$c" ] && p=$c && break
    done
  fi
  [ -n "$p" ] || p=$(timeout 20 find / -xdev -name 'libcublas.so.13*' -size +1M 2> /dev/null | head -1)
  [ -n "$p" ] || { echo "NOTE: libcublas.so.13 not found"; exit 1; }
  echo "$p" > "$W/cublas"
  ls -la "$(dirname "$p")" | grep -i cublas
  echo "NOTE: RNNKIT_CUBLAS=$p"
}

s_build() {
  cc=$(cat "$W/cc" 2> /dev/null || echo 90)
  if [ ! -x /usr/local/cuda/bin/nvcc ] && command -v nvcc > /dev/null; then export CUDACXX=$(command -v nvcc); fi
  if [ "$EMULATED" = 1 ]; then
    BUILD_DIR="$W/build" JOBS=$(nproc) bash "$ROOT/scripts/build-cuda.sh" --emulated-only || exit 1
    echo "$W/build/rnnkit_cuda_emu.so" > "$W/plugin"
    echo "$W/build/rnnkit_cuda_check" > "$W/checkprog"
    echo "NOTE: EMULATED dry run: the emulated plugin, not a GPU"
    exit 0
  fi
  # The carried fallback first: if this build fails or is killed at its timeout, the next steps
  # still have a plugin (the step is recorded as failed all the same).
  if [ -f "$ROOT/.gpu-check/prebuilt/rnnkit_cuda.so" ]; then
    echo "$ROOT/.gpu-check/prebuilt/rnnkit_cuda.so" > "$W/plugin"
    echo "$ROOT/.gpu-check/prebuilt/rnnkit_cuda_check" > "$W/checkprog"
  fi
  if [ -f "$ROOT/scripts/build-cuda.sh" ] && BUILD_DIR="$W/build" JOBS=$(nproc) bash "$ROOT/scripts/build-cuda.sh" --archs "${cc}-real" &&
    [ -f "$W/build/rnnkit_cuda.so" ] && [ -x "$W/build/rnnkit_cuda_check" ]; then
    echo "$W/build/rnnkit_cuda.so" > "$W/plugin"
    echo "$W/build/rnnkit_cuda_check" > "$W/checkprog"
    echo "NOTE: built here for sm_${cc} ($(stat -c %s "$W/build/rnnkit_cuda.so") bytes)"
  elif [ -f "$ROOT/.gpu-check/prebuilt/rnnkit_cuda.so" ]; then
    echo "NOTE: the build here FAILED; the next steps use the carried prebuilt plugin ($(grep prebuilt "$ROOT/.gpu-check/manifest.txt"))"
    exit 1
  else
    echo "NOTE: the build here failed and no prebuilt plugin was carried"
    exit 1
  fi
}

# Environment of the steps that run the plugin.
use_plugin() {
  [ -f "$W/plugin" ] || { echo "NOTE: no plugin (build step failed)"; exit 1; }
  export RNNKIT_CUDA_PLUGIN=$(cat "$W/plugin")
  export LD_LIBRARY_PATH=$(cat "$W/node.ldpath" 2> /dev/null)
  if [ -f "$W/cublas" ]; then
    export RNNKIT_CUBLAS=$(cat "$W/cublas")
    # libcublas.so.13 needs libcublasLt.so.13 beside it: in case the wheel's RUNPATH lacks $ORIGIN.
    LD_LIBRARY_PATH=$(dirname "$RNNKIT_CUBLAS")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  else
    unset RNNKIT_CUBLAS
  fi
  NODE=$W/bin/node
  [ -x "$NODE" ] || NODE=$(command -v node || echo "$W/bin/node")
}

s_ops() {
  use_plugin
  check=$(cat "$W/checkprog")
  RNNKIT_EXPECT_GPU=1 "$check" --ops "$RNNKIT_CUDA_PLUGIN" | tee "$W/ops.txt"
  rc=${PIPESTATUS[0]}
  echo "NOTE: $(grep -cE ' OK +cases=' "$W/ops.txt") ops OK, $(grep -cE ' FAIL +cases=' "$W/ops.txt") FAIL; last line: $(tail -1 "$W/ops.txt")"
  exit "$rc"
}

s_parity() {
  use_plugin
  "$NODE" "$ROOT/scripts/gpu-check/parity.js" --pkg "$W/pkg" --out "$W/parity.json"
  rc=$?
  echo "NOTE: $(tail -1 "$W/logs/parity.log" 2> /dev/null)"
  exit $rc
}

s_torch() {
  use_plugin
  "$NODE" "$ROOT/scripts/gpu-check/torch-export.js" --pkg "$W/pkg" --dir "$W/torch-data" --backend cuda ${GPU_CHECK_EXPORT_ARGS:-}
  rc1=$?
  PYTHONUNBUFFERED=1 "$PY" "$ROOT/scripts/gpu-check/torch_compare.py" --data "$W/torch-data" --out "$W/torch.json" ${GPU_CHECK_TORCH_ARGS:-}
  rc2=$?
  echo "NOTE: export rc $rc1, compare rc $rc2"
  [ $rc1 = 0 ] && [ $rc2 = 0 ]
}

s_sanitizer() {
  use_plugin
  [ "$EMULATED" = 1 ] && { echo "NOTE: emulated plugin: nothing for compute-sanitizer to check"; exit 77; }
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2> /dev/null)
  [ -n "$cs" ] || { echo "NOTE: compute-sanitizer not installed"; exit 77; }
  # memcheck of the small parity run; the caching allocator keeps blocks, so no leak check.
  "$cs" --tool memcheck --error-exitcode 3 --print-limit 50 --log-file "$W/sanitizer.txt" \
    "$NODE" "$ROOT/scripts/gpu-check/parity.js" --pkg "$W/pkg" --quick --out "$W/parity-sanitizer.json"
  rc=$?
  tail -20 "$W/sanitizer.txt"
  echo "NOTE: memcheck rc $rc, $(grep -c '^========= Invalid\|^========= Program hit' "$W/sanitizer.txt" 2> /dev/null) errors reported; $(grep -m1 'ERROR SUMMARY' "$W/sanitizer.txt" | sed 's/^=* *//')"
  exit $rc
}

export -f unxz_to_stdout s_env s_node s_cublas s_build use_plugin s_ops s_parity s_torch s_sanitizer

step env 60 s_env
step node 90 s_node
step cublas 60 s_cublas
step build 240 s_build
step ops 150 s_ops
step parity 240 s_parity
step torch 240 s_torch
step sanitizer 200 s_sanitizer

# ---- the report -----------------------------------------------------------------------
{
  for f in "$W"/logs/*.log; do
    echo "######## $(basename "$f" .log)"
    cat "$f"
  done
  [ -f "$W/sanitizer.txt" ] && { echo "######## sanitizer.txt"; cat "$W/sanitizer.txt"; }
} > "$OUT/gpu-check.log" 2>&1
"$PY" "$ROOT/scripts/gpu-check/report.py" --work "$W" --out "$OUT/gpu-check.json" --summary "$OUT/summary.txt" --seconds "$(($(date +%s) - START))"
rc=$?
cat "$OUT/summary.txt" 2> /dev/null
exit $rc
