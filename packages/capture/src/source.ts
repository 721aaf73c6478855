// What file captures and live streams share: turning checked options into the addon's options
// (the filter compiled for the interface's link type and snap length).
import type { BpfInstruction, NetnsRef, PacketCaptureOptions } from "@vmnet/netlink-native";
import { z } from "zod";
import { CaptureInputError } from "./errors.js";
import { compileFilter } from "./filter.js";
import { sourceShape } from "./options.js";

const BLOCK_SIZE = 1 << 20;

const sourceSchema = z.object(sourceShape);
type Source = z.output<typeof sourceSchema>;

export function nativeSource(o: Source): PacketCaptureOptions {
  const all = o.iface === "any";
  if (all && o.promisc) throw new CaptureInputError("promisc", 'needs one interface, not "any"');
  let filter: BpfInstruction[] | undefined;
  let filterExpression: string | undefined;
  if (typeof o.filter === "string") {
    // Syntax is checked now (an error before anything opens); the program itself is compiled
    // when the socket opens, for the interface's real link type (raw IP on a tun device) and as
    // libpcap does for a live Linux socket (VLAN tags are tested through the kernel's metadata).
    compileFilter(o.filter, { snaplen: o.snaplen });
    filterExpression = o.filter;
  } else if (o.filter) {
    filter = o.filter;
  }
  const blockSize = Math.min(BLOCK_SIZE, o.bufferSize / 4);
  return {
    ...(o.netns !== undefined && { netns: o.netns as NetnsRef }),
    ...(!all && { iface: o.iface }),
    promisc: o.promisc,
    ...(filter && { filter }),
    ...(filterExpression !== undefined && { filterExpression }),
    snaplen: o.snaplen,
    direction: o.direction,
    limits: o.limits,
    ring: {
      blockSize: 2 ** Math.floor(Math.log2(blockSize)),
      blocks: Math.max(4, Math.floor(o.bufferSize / blockSize)),
    },
  };
}
