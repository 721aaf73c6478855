#!/usr/bin/env bash
# One place for every set-up step vmnet needs on Debian 12 (as root, Node 20): the system packages
# the tests and the demo use, pnpm, the workspace's dependencies and a build. Safe to re-run: it
# installs only what is missing. Used by the README's two commands and by .ci/run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=10.34.9

# Debian packages, each with why.
SYSTEM_PACKAGES=(
  iproute2                      # ip netns for the test harness; iproute2 is the peer our dumps are checked against
  util-linux                    # unshare (private namespaces for tests and the demo)
  containernetworking-plugins   # real CNI plugins (bridge, host-local, ptp, macvlan) in /usr/lib/cni
  g++ make python3              # node-gyp builds the netlink-native addon
  binutils binutils-x86-64-linux-gnu  # objdump: the test that checks the addon's glibc floor (g++ brings it too)
  libc-bin                      # getconf: clock ticks for the capture benchmark's CPU figures (essential; named so it is explicit)
  golang-go golang-1.19-go      # go (golang-1.19-go holds the binary golang-go points at): the netlink-native benchmark's vishvananda/netlink peer (bench/install-peers.mjs adds its library)
  openvswitch-switch            # ovsdb-server + ovs-vswitchd for the private OVS sandbox (userspace datapath)
  openvswitch-common            # ovs-vsctl, ovs-ofctl, ovs-appctl, ovsdb-tool
  tcpdump tshark                # read the pcaps we write; watch traffic in tests
  iputils-ping iperf3           # real traffic between namespaces
  strace                        # request bytes of iproute2/tc, recorded as fixtures
  kmod procps psmisc            # lsmod/modprobe checks, ps/pkill for daemons
  libpcap0.8                    # pcap-filter compilation, loaded at run time by the capture addon
  netsniff-ng                   # trafgen: line-rate traffic for the capture load tests and benchmark
  git file                      # release checks: a clean clone for the dry-run release, binary architectures
  g++-aarch64-linux-gnu         # the addon's linux-arm64 prebuild (cross-compiled)
  qemu-user-static              # loads the arm64 prebuild under emulation to prove it
  nftables                      # nft: the peer whose request bytes our nftables client is checked against
  udhcpc dhcpcd5                # real DHCP clients on the VM side of ContainerSideNetwork tests
  isc-dhcp-client               # dhclient: a third real DHCP client
  busybox                       # busybox udhcpc and small tools in test namespaces
  qemu-system-x86               # real-VM tests and the full-kernel lane (software emulation; no KVM needed)
  ovn-central ovn-host ovn-common  # OVN databases, ovn-northd, ovn-controller and ovn-nbctl (the OVN backend's tests and benchmark)
  chromium fonts-dejavu-core    # headless browser for the `vmnet serve` page tests (driven by puppeteer-core; nothing downloaded)
)

log() { printf 'setup: %s\n' "$*" >&2; }

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    log "missing Debian packages: ${missing[*]}; run this script as root, or: apt-get install ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer once so the install never waits.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $(pnpm --version 2>/dev/null || true) != "$PNPM_VERSION" ]]; then
  log "installing pnpm@$PNPM_VERSION"
  npm install -g --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
fi

export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
log "pnpm install"
pnpm install --frozen-lockfile --reporter=append-only >/dev/null
log "pnpm build"
pnpm build --output-logs=errors-only
# The test guest: Debian's kernel and busybox fetched with apt-get download, an initramfs built
# from them. Done here because the tests run in a sandbox without network.
log "preparing the test guest (tools/vm-lane)"
node tools/vm-lane/bin/vmnet-vm.mjs prepare >&2
log "ready"
