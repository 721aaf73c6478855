// The input schemas of the typed operations. Everything is checked here, before any request, so
// bad input fails with one sentence naming the field and never leaves half a configuration.
import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";

/**
 * Linux interface names: 1–15 bytes, no "/", whitespace or ":" (bridges and ports become devices),
 * and not starting with "-": such a name would reach ovs-ofctl and ip as an option.
 */
export const interfaceName = z
  .string()
  .min(1, "must not be empty")
  .refine((s) => Buffer.byteLength(s) <= 15, "must be at most 15 bytes (IFNAMSIZ)")
  .refine((s) => !/[/\s:]/.test(s) && s !== "." && s !== "..", 'must not contain "/", ":" or whitespace')
  .refine((s) => !s.startsWith("-"), 'must not start with "-" (tools would read it as an option)');

/** An 802.1Q VLAN id usable on a port: 1–4094 (0 and 4095 are reserved). */
export const vlanId = z
  .number()
  .int("must be an integer")
  .min(1, "must be a VLAN id from 1 to 4094")
  .max(4094, "must be a VLAN id from 1 to 4094");

export const stringMap = z.record(z.string(), z.string());

export const VLAN_MODES = ["trunk", "access", "native-tagged", "native-untagged", "dot1q-tunnel"] as const;
export type VlanMode = (typeof VLAN_MODES)[number];

export const INTERFACE_TYPES = [
  "",
  "system",
  "internal",
  "tap",
  "patch",
  "vxlan",
  "gre",
  "geneve",
  "ip6gre",
  "erspan",
  "ip6erspan",
  "stt",
  "lisp",
  "gtpu",
  "bareudp",
  "srv6",
  "dpdk",
  "dpdkvhostuserclient",
] as const;
export type InterfaceType = (typeof INTERFACE_TYPES)[number];
const TUNNEL_TYPES = new Set([
  "vxlan",
  "gre",
  "geneve",
  "ip6gre",
  "erspan",
  "ip6erspan",
  "stt",
  "lisp",
  "gtpu",
  "bareudp",
  "srv6",
]);

export const bridgeSpec = z
  .object({
    name: interfaceName,
    /** "netdev" for the userspace datapath, "system" for the kernel module. */
    datapathType: z.string().min(1).optional(),
    failMode: z.enum(["standalone", "secure"]).optional(),
    otherConfig: stringMap.optional(),
    externalIds: stringMap.optional(),
    /** Succeed without change when the bridge exists (ovs-vsctl --may-exist). */
    mayExist: z.boolean().optional(),
  })
  .strict();
export type BridgeSpec = z.input<typeof bridgeSpec>;

export const portSpec = z
  .object({
    name: interfaceName,
    /** Access VLAN (Port.tag). */
    tag: vlanId.optional(),
    /** VLANs a trunk port carries; empty/absent = all. */
    trunks: z.array(vlanId).optional(),
    vlanMode: z.enum(VLAN_MODES).optional(),
    /** Customer VLANs a dot1q-tunnel port admits. */
    cvlans: z.array(vlanId).optional(),
    /** Interface type; "" (default) is an existing system device. */
    type: z.enum(INTERFACE_TYPES).optional(),
    /** Interface options, e.g. { remote_ip: "10.0.0.2", key: "42" } for tunnels, { peer } for patch. */
    options: stringMap.optional(),
    ofportRequest: z.number().int().min(1).max(65279).optional(),
    mtuRequest: z.number().int().min(68).max(65535).optional(),
    otherConfig: stringMap.optional(),
    externalIds: stringMap.optional(),
    /** Succeed without change when the port exists on the same bridge (ovs-vsctl --may-exist). */
    mayExist: z.boolean().optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.type && TUNNEL_TYPES.has(spec.type) && !spec.options?.remote_ip) {
      ctx.addIssue({
        code: "custom",
        path: ["options", "remote_ip"],
        message: `is required for a ${spec.type} tunnel`,
      });
    }
    if (spec.type === "patch" && !spec.options?.peer) {
      ctx.addIssue({ code: "custom", path: ["options", "peer"], message: "is required for a patch port" });
    }
    if (spec.tag !== undefined && spec.vlanMode === "trunk") {
      ctx.addIssue({ code: "custom", path: ["tag"], message: 'cannot be set with vlanMode "trunk"' });
    }
  });
export type PortSpec = z.input<typeof portSpec>;

export const mirrorSpec = z
  .object({
    name: z.string().min(1, "must not be empty"),
    /** Mirror every packet on the bridge. */
    selectAll: z.boolean().optional(),
    /** Mirror packets received on these ports. */
    selectSrcPorts: z.array(interfaceName).optional(),
    /** Mirror packets sent out of these ports. */
    selectDstPorts: z.array(interfaceName).optional(),
    /** Mirror only these VLANs. */
    selectVlans: z.array(vlanId).optional(),
    /** Where the copies go: a port on the same bridge... */
    outputPort: interfaceName.optional(),
    /** ...or a VLAN. */
    outputVlan: vlanId.optional(),
    externalIds: stringMap.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if ((spec.outputPort === undefined) === (spec.outputVlan === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["outputPort"],
        message: "exactly one of outputPort and outputVlan is required",
      });
    }
    if (
      !spec.selectAll &&
      !spec.selectSrcPorts?.length &&
      !spec.selectDstPorts?.length &&
      !spec.selectVlans?.length
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["selectAll"],
        message: "a mirror must select something (selectAll, selectSrcPorts, selectDstPorts or selectVlans)",
      });
    }
  });
export type MirrorSpec = z.input<typeof mirrorSpec>;

/** "IPv4:PORT" or "[IPv6]:PORT" with a real address and a port from 1 to 65535. */
export function isNetflowTarget(target: string): boolean {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(target);
  if (!m) return false;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return false;
  return m[1] !== undefined ? isIPv6(m[1]) : isIPv4(m[2] ?? "");
}
const hostPort = z
  .string()
  .refine(isNetflowTarget, 'must be "IP:PORT" (IPv6 in brackets) with a port from 1 to 65535');

export const netflowSpec = z
  .object({
    /** Collectors as "IP:PORT". */
    targets: z.array(hostPort).min(1, "needs at least one collector"),
    /** Seconds after which an active flow is exported (-1 = never, default 600). */
    activeTimeout: z.number().int().min(-1).optional(),
    engineType: z.number().int().min(0).max(255).optional(),
    engineId: z.number().int().min(0).max(255).optional(),
    addIdToInterface: z.boolean().optional(),
    externalIds: stringMap.optional(),
  })
  .strict();
export type NetflowSpec = z.input<typeof netflowSpec>;

export const otherConfigInput = z.record(z.string().min(1), z.string());
