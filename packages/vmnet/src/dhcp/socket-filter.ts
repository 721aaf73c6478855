// The classic BPF program the DHCP server's packet socket runs in the kernel, so that of all the
// frames a VM sends through its TAP only DHCP requests ever wake the process. It is what
// `tcpdump -ddd 'ip and udp dst port 67'` prints for an Ethernet device (a test compares it with
// @vmnet/capture's compileFilter): IPv4, UDP, not a later fragment, destination port 67.

/** [code, jt, jf, k] per instruction. */
const PROGRAM: readonly (readonly [number, number, number, number])[] = [
  [0x28, 0, 0, 12], // ldh [12]             ethertype
  [0x15, 0, 8, 0x0800], // jeq #0x800       IPv4, else drop
  [0x30, 0, 0, 23], // ldb [23]             IP protocol
  [0x15, 0, 6, 17], // jeq #17              UDP, else drop
  [0x28, 0, 0, 20], // ldh [20]             flags + fragment offset
  [0x45, 4, 0, 0x1fff], // jset #0x1fff     a later fragment: drop
  [0xb1, 0, 0, 14], // ldxb 4*([14]&0xf)    IP header length
  [0x48, 0, 0, 16], // ldh [x + 16]         UDP destination port
  [0x15, 0, 1, 67], // jeq #67
  [0x06, 0, 0, 262144], // ret #262144      accept the whole frame
  [0x06, 0, 0, 0], // ret #0                drop
];

export const DHCP_SERVER_FILTER_INSTRUCTIONS = PROGRAM;

/** The program as struct sock_filter[] (host byte order: this runs on little-endian Linux). */
export function dhcpServerFilter(): Buffer {
  const b = Buffer.alloc(PROGRAM.length * 8);
  PROGRAM.forEach(([code, jt, jf, k], i) => {
    b.writeUInt16LE(code, i * 8);
    b.writeUInt8(jt, i * 8 + 2);
    b.writeUInt8(jf, i * 8 + 3);
    b.writeUInt32LE(k, i * 8 + 4);
  });
  return b;
}
