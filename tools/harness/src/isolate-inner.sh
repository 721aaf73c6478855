#!/bin/sh
# Runs as pid 1's child inside the fresh namespaces made by vmnet-isolate.
set -e
# This machine's /run may be on disk: without a private tmpfs, named netns would be bind-mounted
# onto the host's /run/netns and survive a crash.
mount --make-rprivate / 2>/dev/null || true
mkdir -p /run/netns
mount -n -t tmpfs -o mode=0755 vmnet-netns /run/netns
mount --make-private /run/netns 2>/dev/null || true
if command -v ip >/dev/null 2>&1; then
  ip link set lo up
else
  echo "vmnet-isolate: iproute2 (ip) is not installed: loopback stays down" >&2
fi
exec "$@"
