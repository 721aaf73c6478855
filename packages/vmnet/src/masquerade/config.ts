// Masquerade mode's private network (KubeVirt's default binding): the VM gets a private address
// (default 10.0.2.2/24 and fd10:0:2::2/120), the bridge in the pod holds the subnet's first host
// (.1 / ::1) as the VM's gateway, and traffic is NATed to the pod's own address. Pure: options in,
// the plan's numbers out.
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";
import { VmnetInputError } from "../errors.js";

export const DEFAULT_MASQUERADE_IPV4 = "10.0.2.2/24";
export const DEFAULT_MASQUERADE_IPV6 = "fd10:0:2::2/120";

const port = z.number().int().min(1, "must be 1-65535").max(65535, "must be 1-65535");

export const masqueradeOptionsSchema = z.strictObject({
  ipv4: z
    .string()
    .regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, "must be an IPv4 CIDR like 10.0.2.2/24")
    .optional(),
  ipv6: z
    .string()
    .regex(/^[0-9A-Fa-f:]+\/\d+$/, "must be an IPv6 CIDR like fd10:0:2::2/120")
    .optional(),
  forwardPorts: z
    .array(z.strictObject({ protocol: z.enum(["tcp", "udp"]), port, vmPort: port.optional() }))
    .optional(),
});

export type MasqueradeOptions = z.input<typeof masqueradeOptionsSchema>;

export interface ForwardPort {
  protocol: "tcp" | "udp";
  port: number;
  vmPort: number;
}

/** One family of the private network. */
export interface PrivateSubnet {
  /** The VM's address with the prefix: "10.0.2.2/24". */
  vm: string;
  /** The bridge's (the VM's gateway): "10.0.2.1/24". */
  gateway: string;
  /** The subnet: "10.0.2.0/24". */
  subnet: string;
}

export interface MasqueradePlan {
  ipv4: PrivateSubnet;
  ipv6?: PrivateSubnet;
  forwardPorts: ForwardPort[];
}

function toBig(bytes: number[]): bigint {
  return bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

function v6Bytes(a: string): number[] {
  const [head = "", tail] = a.split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function fromBig(n: bigint, v6: boolean): string {
  const size = v6 ? 16 : 4;
  const bytes: number[] = [];
  for (let i = size - 1; i >= 0; i--) bytes.push(Number((n >> BigInt(i * 8)) & 0xffn));
  if (!v6) return bytes.join(".");
  const groups = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] as number) << 8) | (bytes[i + 1] as number)).toString(16));
  // Compress the longest run of zero groups, as iproute2 prints it.
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > (best[1] as number) && j - i > 1) best = [i, j - i];
    i = j;
  }
  const [at, len] = best as [number, number];
  if (at < 0) return groups.join(":");
  return `${groups.slice(0, at).join(":")}::${groups.slice(at + len).join(":")}`;
}

/** The subnet of a VM address; the gateway is the subnet's first host. */
export function privateSubnet(cidr: string, field: string): PrivateSubnet {
  const [address = "", prefixText = ""] = cidr.split("/");
  const v6 = isIPv6(address);
  if (!(v6 || isIPv4(address))) throw new VmnetInputError(field, `${address} is not an IP address`);
  const bits = v6 ? 128 : 32;
  const prefix = Number(prefixText);
  // At least a network, a gateway and the VM (and a broadcast address for IPv4).
  const longest = v6 ? 126 : 30;
  if (!Number.isInteger(prefix) || prefix < 8 || prefix > longest)
    throw new VmnetInputError(field, `prefix /${prefixText} must be /8-/${longest}`);
  const value = v6 ? toBig(v6Bytes(address)) : toBig(address.split(".").map(Number));
  const hostMask = (1n << BigInt(bits - prefix)) - 1n;
  const network = value & ~hostMask & ((1n << BigInt(bits)) - 1n);
  const host = value & hostMask;
  const gateway = network + 1n;
  if (host === 0n || host === 1n || (!v6 && host === hostMask))
    throw new VmnetInputError(
      field,
      `${address} must be a host of its subnet other than the first (${fromBig(gateway, v6)}, the bridge's)`,
    );
  return {
    vm: `${fromBig(value, v6)}/${prefix}`,
    gateway: `${fromBig(gateway, v6)}/${prefix}`,
    subnet: `${fromBig(network, v6)}/${prefix}`,
  };
}

/** Whether an address (no prefix) lies in a subnet ("10.0.2.0/24"). */
export function inSubnet(address: string, subnet: string): boolean {
  const [net = "", prefixText = ""] = subnet.split("/");
  const v6 = isIPv6(net);
  if (v6 !== isIPv6(address)) return false;
  const bits = v6 ? 128 : 32;
  const big = (a: string) => (v6 ? toBig(v6Bytes(a)) : toBig(a.split(".").map(Number)));
  const shift = BigInt(bits - Number(prefixText));
  return big(address) >> shift === big(net) >> shift;
}

/**
 * The private network for the given options. `podAddresses` are the CNI addresses (no prefix):
 * a private subnet holding one of them is refused, and IPv6 is set up only when the pod has IPv6.
 */
export function masqueradePlan(
  options: MasqueradeOptions | undefined,
  podAddresses: readonly string[],
): MasqueradePlan {
  const o = options ?? {};
  const ipv4 = privateSubnet(o.ipv4 ?? DEFAULT_MASQUERADE_IPV4, "masquerade.ipv4");
  if (!isIPv4(ipv4.vm.split("/")[0] as string)) throw new VmnetInputError("masquerade.ipv4", "is not IPv4");
  const podHasV6 = podAddresses.some((a) => isIPv6(a));
  let ipv6: PrivateSubnet | undefined;
  if (o.ipv6 !== undefined || podHasV6) {
    ipv6 = privateSubnet(o.ipv6 ?? DEFAULT_MASQUERADE_IPV6, "masquerade.ipv6");
    if (!isIPv6(ipv6.vm.split("/")[0] as string)) throw new VmnetInputError("masquerade.ipv6", "is not IPv6");
  }
  for (const [field, s] of [
    ["masquerade.ipv4", ipv4],
    ["masquerade.ipv6", ipv6],
  ] as const) {
    const clash = s && podAddresses.find((a) => inSubnet(a, s.subnet));
    if (s && clash) throw new VmnetInputError(field, `${s.subnet} holds the pod's own address ${clash}`);
  }
  const seen = new Set<string>();
  const forwardPorts = (o.forwardPorts ?? []).map((f, i) => {
    const key = `${f.protocol}/${f.port}`;
    if (seen.has(key)) throw new VmnetInputError(`masquerade.forwardPorts.${i}`, `${key} is forwarded twice`);
    seen.add(key);
    return { protocol: f.protocol, port: f.port, vmPort: f.vmPort ?? f.port };
  });
  return { ipv4, ...(ipv6 && { ipv6 }), forwardPorts };
}
