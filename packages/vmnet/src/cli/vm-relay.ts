// The VM side of a pod's TAP without a VM, for the demo: a "VM" netns whose eth0 is one end of a
// veth, and frames relayed between the TAP and the veth's other end. Toward the VM: an AF_PACKET
// socket on the TAP sees what the kernel transmits to it (PACKET_OUTGOING). From the VM: frames
// seen on the veth end are written into the TAP's fd, as a VM's virtio NIC would. Every socket
// is non-blocking on libuv (the addon), so nothing holds a thread.
import { writeSync } from "node:fs";
import { type NativeDatagramSocket, native, netnsPath, Rtnl } from "@vmnet/netlink-native";

const AF_PACKET = 17;
const SOCK_RAW = 3;
const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL)
const PACKET_OUTGOING = 4;

function sockaddrLl(ifindex: number): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16LE(AF_PACKET, 0);
  b.writeUInt16BE(0x0003, 2);
  b.writeInt32LE(ifindex, 4);
  return b;
}

function packetSocket(
  netns: string,
  onFrame: (frame: Buffer, pkttype: number) => void,
): NativeDatagramSocket {
  return new (native().DatagramSocket)(
    AF_PACKET,
    SOCK_RAW,
    ETH_P_ALL_BE,
    netnsPath(netns),
    (error, data, lengths, sources) => {
      if (error) return;
      let offset = 0;
      for (const [i, length] of lengths.entries()) {
        const src = sources[i];
        onFrame(Buffer.from(data.subarray(offset, offset + length)), src ? (src[10] ?? 0) : 0);
        offset += length;
      }
    },
    true,
  );
}

export interface VmRelay {
  stop(): void;
}

/** Relays frames between `tapFd` (device `tap` in `podNetns`) and `vmIface` (its peer end `relayIface` in `vmNetns`). */
export async function startVmRelay(options: {
  podNetns: string;
  tap: string;
  tapFd: number;
  vmNetns: string;
  relayIface: string;
}): Promise<VmRelay> {
  const inPod = await Rtnl.open({ netns: options.podNetns });
  const inVm = await Rtnl.open({ netns: options.vmNetns });
  const tapIndex = (await inPod.links.get(options.tap)).index;
  const relayIndex = (await inVm.links.get(options.relayIface)).index;
  inPod.close();
  inVm.close();
  const toVm = sockaddrLl(relayIndex);
  let vmSide: NativeDatagramSocket | undefined;
  const tapSide = packetSocket(options.podNetns, (frame, pkttype) => {
    if (pkttype === PACKET_OUTGOING) vmSide?.send(frame, toVm).catch(() => {});
  });
  tapSide.bind(sockaddrLl(tapIndex));
  vmSide = packetSocket(options.vmNetns, (frame, pkttype) => {
    if (pkttype === PACKET_OUTGOING) return;
    try {
      writeSync(options.tapFd, frame);
    } catch {}
  });
  vmSide.bind(sockaddrLl(relayIndex));
  tapSide.start();
  vmSide.start();
  return {
    stop() {
      for (const s of [tapSide, vmSide]) {
        s?.stop();
        s?.close();
      }
    },
  };
}
