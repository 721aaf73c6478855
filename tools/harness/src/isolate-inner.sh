#!/bin/sh
# Runs as pid 1's child inside the fresh namespaces made by vmnet-isolate.
set -e
[ -n "${VMNET_CWD:-}" ] && cd "$VMNET_CWD"
if ! mount --make-rprivate / 2>/dev/null; then
  # "/" is not a mount point: we are in a chroot. Tools such as `ip netns exec` need one (they
  # make "/" a slave mount), so re-root onto a private bind mount of the same tree and start over.
  if [ -n "${VMNET_REROOTED:-}" ]; then
    echo "vmnet-isolate: cannot make / private even after re-rooting" >&2
    exit 1
  fi
  newroot=$(mktemp -d /tmp/vmnet-root.XXXXXX)
  mount --rbind / "$newroot"
  mount --make-rprivate "$newroot"
  VMNET_REROOTED=1 VMNET_CWD=$(pwd) exec chroot "$newroot" /bin/sh "$0" "$@"
fi
# This machine's /run may be on disk: without a private tmpfs, named netns would be bind-mounted
# onto the host's /run/netns and survive a crash.
mkdir -p /run/netns
mount -n -t tmpfs -o mode=0755 vmnet-netns /run/netns
if command -v ip >/dev/null 2>&1; then
  ip link set lo up
else
  echo "vmnet-isolate: iproute2 (ip) is not installed: loopback stays down" >&2
fi
exec "$@"
