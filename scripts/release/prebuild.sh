#!/usr/bin/env bash
# Builds the addon's prebuilt binaries into packages/netlink-native/prebuilds/: linux-x64 natively
# and linux-arm64 with Debian's cross compiler (g++-aarch64-linux-gnu). N-API, so one binary per
# platform serves every Node version that has N-API 8.
# The builds run in a private copy of the addon's sources: node-gyp wipes build/ when it starts,
# which would break (and be broken by) a build or test running in the workspace at the same time.
set -euo pipefail
pkg="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../packages/netlink-native" && pwd)"
prebuildify="$pkg/../../node_modules/.bin/prebuildify"
target=$(node -p process.versions.node)
# node-gyp must build against the local Node headers (nothing can be downloaded here).
export npm_config_nodedir=${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}
stage=$(mktemp -d /tmp/vmnet-prebuild.XXXXXX)
log="$stage.log"
trap 'rm -rf "$stage" "$log"' EXIT
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "prebuild: failed: $*" >&2; exit 1; }; }
if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  echo "prebuild: g++-aarch64-linux-gnu is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
cp -r "$pkg/binding.gyp" "$pkg/package.json" "$pkg/native" "$stage/"
ln -s "$pkg/node_modules" "$stage/node_modules"
cd "$stage"
quiet "$prebuildify" --napi --strip -t "$target"
quiet env CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ \
  PREBUILD_STRIP_BIN=aarch64-linux-gnu-strip "$prebuildify" --napi --strip --arch arm64 -t "$target"
# Swap the new set in whole, so a reader sees either the old prebuilds or the new ones.
cp -r "$stage/prebuilds" "$pkg/prebuilds.new.$$"
rm -rf "$pkg/prebuilds"
mv "$pkg/prebuilds.new.$$" "$pkg/prebuilds"
find "$pkg/prebuilds" -type f -name '*.node' | sed "s|^$pkg/||" | sort
