#!/usr/bin/env bash
# Prepares .gpu-check/ (git-ignored), the one folder that scripts/gpu-check.sh needs carried to
# a GPU machine that has no Node and no network:
#
#   .gpu-check/node.xz       this machine's node binary, xz -9 (~24 MB of ~99 MB)
#   .gpu-check/pkg.tar.xz    package.json, dist/, build/Release/rnnkit.node, node_modules/node-gyp-build
#                            (dist/ requires it), and lib/libstdc++.so.6 + libgcc_s.so.1, used only if
#                            the GPU machine's are older than the node binary / addon need
#   .gpu-check/prebuilt/     rnnkit_cuda.so (sm_90) and rnnkit_cuda_check built here with nvcc 13, used
#                            only if building them there fails (skip with --no-prebuilt)
#   .gpu-check/manifest.txt  what was packed: commit, node version, glibc, sizes
#
#   scripts/gpu-check/pack-node.sh [--no-prebuilt] [--archs 90-real]
#
# The addon and node are built for x86-64 Linux with glibc >= 2.34 / 2.28 (this machine: Debian 12,
# glibc 2.36); the GPU machine's image (Python 3.12.3, CUDA 13) has a newer glibc. Run `npm run
# build` (dist/) and `npm run build:native` (the addon) first if they are stale: this script
# checks that they exist and are newer than lib/ and native/.
set -euo pipefail
cd "$(dirname "$0")/../.."
prebuilt=1
archs=90-real
while [ $# -gt 0 ]; do
  case "$1" in
    --no-prebuilt) prebuilt=0 ;;
    --archs) archs=$2; shift ;;
    *) echo "pack-node.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ "$(uname -m)" = x86_64 ] || { echo "pack-node.sh: the GPU machine is x86-64; this machine is $(uname -m): build there instead" >&2; exit 1; }
for f in dist/index.js build/Release/rnnkit.node node_modules/node-gyp-build/index.js; do
  [ -e "$f" ] || { echo "pack-node.sh: $f missing (npm install / npm run build / npm run build:native)" >&2; exit 1; }
done
stale=$(find lib -newer dist/index.js -name '*.ts' | head -3)
[ -z "$stale" ] || echo "pack-node.sh: warning: lib/ is newer than dist/ ($stale): run npm run build" >&2
stale=$(find native/core native/cpu native/napi -newer build/Release/rnnkit.node -type f 2>/dev/null | head -3)
[ -z "$stale" ] || echo "pack-node.sh: warning: native/ is newer than the addon ($stale): run npm run build:native" >&2

dir=.gpu-check
mkdir -p "$dir"
node_bin=$(command -v node)
node_real=$(readlink -f "$node_bin")
if [ ! -f "$dir/node.xz" ] || [ "$node_real" -nt "$dir/node.xz" ]; then
  echo "compressing $node_real ($(stat -c %s "$node_real") bytes) with xz -9 ..."
  xz -9 -T1 -c "$node_real" > "$dir/node.xz.tmp" && mv "$dir/node.xz.tmp" "$dir/node.xz"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/pkg/build/Release" "$stage/pkg/node_modules" "$stage/pkg/lib"
cp package.json "$stage/pkg/"
cp -r dist "$stage/pkg/"
cp build/Release/rnnkit.node "$stage/pkg/build/Release/"
cp -rL node_modules/node-gyp-build "$stage/pkg/node_modules/"
for l in libstdc++.so.6 libgcc_s.so.1; do
  p=$(ldconfig -p | awk -v n="$l" '$1 == n && /x86-64/ {print $NF; exit}')
  [ -n "$p" ] && cp -L "$p" "$stage/pkg/lib/"
done
tar -C "$stage/pkg" -cf - . | xz -6 -T1 > "$dir/pkg.tar.xz"

if [ "$prebuilt" = 1 ]; then
  if command -v nvcc > /dev/null || [ -x /usr/local/cuda/bin/nvcc ]; then
    if [ -f CMakeLists.txt ] && [ -x scripts/build-cuda.sh ]; then
      echo "building the fallback plugin ($archs) and check program (about 1 min on 2 cores) ..."
      BUILD_DIR="$stage/build" JOBS=${JOBS:-2} scripts/build-cuda.sh --archs "$archs" > "$stage/build.log" 2>&1 ||
        { tail -20 "$stage/build.log" >&2; echo "pack-node.sh: fallback build failed" >&2; exit 1; }
      mkdir -p "$dir/prebuilt"
      cp "$stage/build/rnnkit_cuda.so" "$stage/build/rnnkit_cuda_check" "$dir/prebuilt/"
      strip "$dir/prebuilt/rnnkit_cuda_check" 2> /dev/null || true
    else
      echo "pack-node.sh: no CMakeLists.txt / scripts/build-cuda.sh (the cuda branch is not merged): no fallback plugin" >&2
    fi
  else
    echo "pack-node.sh: nvcc not found: no fallback plugin (the GPU machine builds it)" >&2
  fi
fi

{
  echo "packed: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse HEAD 2> /dev/null || echo unknown)$(git diff --quiet HEAD -- lib native 2> /dev/null || echo ' (lib/ or native/ modified)')"
  echo "node: $("$node_bin" --version) ($node_real)"
  echo "glibc: $(ldd --version | head -1)"
  echo "prebuilt: $(ls "$dir/prebuilt" 2> /dev/null | tr '\n' ' ')($archs)"
} > "$dir/manifest.txt"
cat "$dir/manifest.txt"
(du -b "$dir"/* "$dir"/prebuilt/* 2> /dev/null || true) | sort -k2
carried=$(du -sb "$dir" | cut -f1)
tree=$(git ls-files -z --cached --others --exclude-standard | du -cb --files0-from=- 2> /dev/null | tail -1 | cut -f1)
total=$((carried + tree))
echo "carried .gpu-check: $carried bytes; working tree (tracked + untracked): $tree bytes; total $total of 67108864 (64 MiB)"
[ "$total" -lt 67108864 ] || { echo "pack-node.sh: over the 64 MiB the device tool carries" >&2; exit 1; }
