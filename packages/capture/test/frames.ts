// Hand-built frames for decoder tests, byte by byte from the RFCs.

const mac = (s: string) => Buffer.from(s.split(":").map((h) => Number.parseInt(h, 16)));
const ip4 = (s: string) => Buffer.from(s.split(".").map(Number));

function ipv4Udp(src: string, dst: string, sport: number, dport: number, payload: Buffer): Buffer {
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(sport, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip4(src).copy(ip, 12);
  ip4(dst).copy(ip, 16);
  return Buffer.concat([ip, udp, payload]);
}

export function ethernet(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(14);
  mac(dst).copy(h, 0);
  mac(src).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

/** DHCPDISCOVER from 02:00:00:00:00:01 asking for 10.0.0.50, hostname vm1. */
export function dhcpDiscover(): Buffer {
  const bootp = Buffer.alloc(240);
  bootp[0] = 1;
  bootp[1] = 1;
  bootp[2] = 6;
  bootp.writeUInt32BE(0x12345678, 4);
  bootp.writeUInt16BE(0x8000, 10);
  mac("02:00:00:00:00:01").copy(bootp, 28);
  bootp.writeUInt32BE(0x63825363, 236);
  const options = Buffer.from([
    53, 1, 1, 50, 4, 10, 0, 0, 50, 12, 3, 0x76, 0x6d, 0x31, 55, 5, 1, 3, 6, 15, 121, 61, 7, 1, 2, 0, 0, 0, 0,
    1, 255,
  ]);
  const udp = ipv4Udp("0.0.0.0", "255.255.255.255", 68, 67, Buffer.concat([bootp, options]));
  return ethernet("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", 0x0800, udp);
}

export { ip4, ipv4Udp, mac };
