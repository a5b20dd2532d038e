#!/usr/bin/env bash
# npm run test:asan — builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer
# into build-asan/ (a copy of binding.gyp and native/, so build/ is left alone), then runs
# the numeric and bad-input suites against it (RNNKIT_ADDON points lib/native.ts at it).
# Fails on any sanitizer report. ASAN_PROJECTS picks vitest projects; extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build-asan
mkdir -p "$out/src" "$out/reports"
rm -f "$out"/reports/*

# Sources: refreshed only when changed, so a rebuild compiles just what changed.
cp -p binding.gyp "$out/src/"
rsync -a --delete native/ "$out/src/native/" 2>/dev/null || { rm -rf "$out/src/native"; cp -rp native "$out/src/"; }

# float-cast-overflow is not part of "undefined" in GCC; recovering from nothing makes any
# report fatal to the worker that hit it.
checks="-fsanitize=address,undefined,float-cast-overflow"
sanitize="$checks -fno-omit-frame-pointer -fno-sanitize-recover=all"
# make does not see flag changes: a build made with other flags starts over.
if [ "$(cat "$out/flags" 2>/dev/null)" != "$sanitize" ]; then rm -rf "$out/src/build"; echo "$sanitize" >"$out/flags"; fi
start=$(date +%s)
(
  cd "$out/src"
  [ -f build/Makefile ] || CXXFLAGS="$sanitize -O1 -g" LDFLAGS="$checks" npx node-gyp configure >/dev/null
  CXXFLAGS="$sanitize -O1 -g" LDFLAGS="$checks" npx node-gyp build -j "${JOBS:-2}" >"$out/build.log" 2>&1 ||
    { tail -40 "$out/build.log"; exit 1; }
)
echo "test:asan: addon built in $(($(date +%s) - start)) s"

# Timing-bound suites (event-loop delay) are left out: the sanitizers slow everything down.
suites=(test/forward.test.ts test/gradients.test.ts test/sequences.test.ts test/clip.test.ts test/dense.test.ts
        test/training.test.ts test/layers-extra.test.ts test/bad-input.test.ts test/disposed.test.ts test/sizes.test.ts
        test/initializers.test.ts test/memory-limit.test.ts test/errors.test.ts test/tensor.test.ts test/workers.test.ts
        test/tfjs-format.test.ts test/models.test.ts test/fit.test.ts test/conv1d.test.ts test/pooling1d.test.ts
        test/normalization.test.ts test/reshaping.test.ts test/masking.test.ts test/merge.test.ts test/functional-models.test.ts
        test/masks.test.ts test/model-files.test.ts test/home-thread.test.ts)

# node leaks at exit by design, so leak checking is off; our RAII is checked by the suites'
# memory accounting instead. Reports go to files too, so none can be lost with a worker.
export RNNKIT_ADDON=$out/src/build/Release/rnnkit.node
export LD_PRELOAD=$(gcc -print-file-name=libasan.so)
export ASAN_OPTIONS="detect_leaks=0:handle_segv=0:allow_user_segv_handler=1:detect_stack_use_after_return=0:log_path=$out/reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$out/reports/ubsan"
start=$(date +%s)
status=0
# The default project, the portable kernels, and the per-step loop (fused recurrence off).
projects=()
read -ra names <<<"${ASAN_PROJECTS:-default generic-1t *-2t-steps}"
for p in "${names[@]}"; do projects+=(--project "$p"); done
npx vitest run "${projects[@]}" "${suites[@]}" "$@" || status=$?
echo "test:asan: suites ran in $(($(date +%s) - start)) s"
if compgen -G "$out/reports/*" >/dev/null; then
  echo "test:asan: sanitizer reports:" >&2
  cat "$out"/reports/* >&2
  exit 1
fi
exit $status
