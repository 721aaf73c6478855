#!/usr/bin/env bash
# Builds the addon's prebuilt binaries into packages/netlink-native/prebuilds/: linux-x64 natively
# and linux-arm64 with Debian's cross compiler (g++-aarch64-linux-gnu). N-API, so one binary per
# platform serves every Node version that has N-API 8.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../packages/netlink-native"
prebuildify=../../node_modules/.bin/prebuildify
target=$(node -p process.versions.node)
# node-gyp must build against the local Node headers (nothing can be downloaded here).
export npm_config_nodedir=${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "prebuild: failed: $*" >&2; exit 1; }; }
if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  echo "prebuild: g++-aarch64-linux-gnu is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
rm -rf prebuilds
quiet "$prebuildify" --napi --strip -t "$target"
quiet env CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
  PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip "$prebuildify" --napi --strip --arch arm64 -t "$target"
# prebuildify leaves its last (cross) build in build/: rebuild the local one for the workspace.
quiet node_modules/.bin/node-gyp rebuild
find prebuilds -type f -name '*.node' | sort
