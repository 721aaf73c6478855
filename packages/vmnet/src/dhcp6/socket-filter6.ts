// The classic BPF programs of the IPv6 listeners. Decision on extension headers: a frame whose
// first next-header is UDP/ICMPv6 is judged in the kernel (UDP to port 547; ICMPv6 of the wanted
// types); a frame whose first next-header is an extension header (Hop-by-Hop, Routing, Fragment,
// Destination Options) is passed up and its chain walked in TypeScript (frame6.ts), since classic
// BPF cannot follow a chain of variable length. Such frames are rare from a guest (MLD reports
// carry Hop-by-Hop and are ignored after parsing); every other frame never leaves the kernel.

type Instruction = readonly [number, number, number, number];

const LDH_ABS = 0x28;
const LDB_ABS = 0x30;
const JEQ = 0x15;
const RET = 0x06;
const ACCEPT = 262_144;

/** Accept IPv6 frames whose first next-header is an extension header, or UDP with dst port 547. */
export const DHCP6_SERVER_FILTER: readonly Instruction[] = [
  [LDH_ABS, 0, 0, 12], // ethertype
  [JEQ, 0, 9, 0x86dd], // IPv6, else drop
  [LDB_ABS, 0, 0, 20], // next header
  [JEQ, 6, 0, 0], // Hop-by-Hop: accept
  [JEQ, 5, 0, 43], // Routing: accept
  [JEQ, 4, 0, 44], // Fragment: accept
  [JEQ, 3, 0, 60], // Destination Options: accept
  [JEQ, 0, 3, 17], // UDP, else drop
  [LDH_ABS, 0, 0, 56], // UDP destination port (14 + 40 + 2)
  [JEQ, 0, 1, 547], // the DHCPv6 server port, else drop
  [RET, 0, 0, ACCEPT],
  [RET, 0, 0, 0],
];

/** Accept IPv6 frames whose first next-header is an extension header, or ICMPv6 of `types`. */
export function icmp6Filter(types: readonly number[]): Instruction[] {
  const n = types.length;
  // Offsets below count from the instruction after the jump.
  const program: Instruction[] = [
    [LDH_ABS, 0, 0, 12],
    [JEQ, 0, 8 + n, 0x86dd],
    [LDB_ABS, 0, 0, 20],
    [JEQ, 5 + n, 0, 0],
    [JEQ, 4 + n, 0, 43],
    [JEQ, 3 + n, 0, 44],
    [JEQ, 2 + n, 0, 60],
    [JEQ, 0, 2 + n, 58], // ICMPv6, else drop
    [LDB_ABS, 0, 0, 54], // ICMPv6 type (14 + 40)
  ];
  types.forEach((type, i) => {
    const last = i === n - 1;
    program.push([JEQ, n - i - 1, last ? 1 : 0, type]);
  });
  program.push([RET, 0, 0, ACCEPT], [RET, 0, 0, 0]);
  return program;
}

/** struct sock_filter[] in host (little-endian) byte order. */
export function encodeFilter(program: readonly Instruction[]): Buffer {
  const b = Buffer.alloc(program.length * 8);
  program.forEach(([code, jt, jf, k], i) => {
    b.writeUInt16LE(code, i * 8);
    b.writeUInt8(jt, i * 8 + 2);
    b.writeUInt8(jf, i * 8 + 3);
    b.writeUInt32LE(k, i * 8 + 4);
  });
  return b;
}
