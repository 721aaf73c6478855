// Public input shapes for links, validated with zod before anything is sent.
import { z } from "zod";
import { ifName, ip, ipv4, linkRef, mac, mtu, u8, u32, vlanId } from "../validate.js";

const netnsRefSchema = z.union([
  z.string().min(1),
  z.object({ name: z.string().min(1) }).strict(),
  z.object({ path: z.string().min(1) }).strict(),
  z.object({ pid: z.number().int().positive() }).strict(),
]);

/** Settings every link kind accepts at creation. */
const common = {
  name: ifName,
  mtu: mtu.optional(),
  mac: mac.optional(),
  txqlen: u32.optional(),
  group: u32.optional(),
  alias: z.string().max(255, "must be at most 255 bytes").optional(),
  master: linkRef.optional(),
  up: z.boolean().optional(),
  /** Create the link directly inside this netns. */
  netns: netnsRefSchema.optional(),
};

const veth = z
  .object({
    ...common,
    kind: z.literal("veth"),
    peer: z
      .object({ name: ifName, netns: netnsRefSchema.optional(), mac: mac.optional(), mtu: mtu.optional() })
      .strict(),
  })
  .strict();

const bridge = z
  .object({
    ...common,
    kind: z.literal("bridge"),
    ageingTime: u32.optional(),
    forwardDelay: u32.optional(),
    helloTime: u32.optional(),
    maxAge: u32.optional(),
    stp: z.boolean().optional(),
    priority: z.number().int().min(0).max(65535).optional(),
    vlanFiltering: z.boolean().optional(),
    vlanDefaultPvid: z.number().int().min(0).max(4094).optional(),
    multicastSnooping: z.boolean().optional(),
  })
  .strict();

const vxlan = z
  .object({
    ...common,
    kind: z.literal("vxlan"),
    vni: z.number().int().min(0, "must be 0-16777215").max(0xffffff, "must be 0-16777215"),
    remote: ip.optional(),
    /** Multicast group for BUM traffic (exclusive with remote). */
    multicastGroup: ip.optional(),
    local: ip.optional(),
    device: linkRef.optional(),
    port: z.number().int().min(1).max(65535).optional(),
    learning: z.boolean().optional(),
    ttl: u8.optional(),
    tos: u8.optional(),
  })
  .strict()
  .refine((s) => !(s.remote && s.multicastGroup), {
    message: "remote and multicastGroup exclude each other",
    path: ["multicastGroup"],
  });

const macvlan = z
  .object({
    ...common,
    kind: z.enum(["macvlan", "macvtap"]),
    parent: linkRef,
    mode: z.enum(["private", "vepa", "bridge", "passthru", "source"]).optional(),
  })
  .strict();

const plain = z.object({ ...common, kind: z.enum(["ifb", "dummy"]) }).strict();

const vlan = z
  .object({
    ...common,
    kind: z.literal("vlan"),
    parent: linkRef,
    id: vlanId,
    protocol: z.enum(["802.1q", "802.1ad"]).optional(),
  })
  .strict();

const gretap = z
  .object({
    ...common,
    kind: z.literal("gretap"),
    remote: ipv4,
    local: ipv4.optional(),
    key: u32.optional(),
    ttl: u8.optional(),
    tos: u8.optional(),
    pmtudisc: z.boolean().optional(),
    device: linkRef.optional(),
  })
  .strict();

export const linkAddSpec = z.discriminatedUnion("kind", [veth, bridge, vxlan, macvlan, plain, vlan, gretap]);
export type LinkAddSpec = z.input<typeof linkAddSpec>;
export const LINK_KINDS = [
  "veth",
  "bridge",
  "vxlan",
  "macvlan",
  "macvtap",
  "ifb",
  "dummy",
  "vlan",
  "gretap",
] as const;

export const linkChanges = z
  .object({
    up: z.boolean().optional(),
    mtu: mtu.optional(),
    mac: mac.optional(),
    name: ifName.optional(),
    alias: z.string().max(255, "must be at most 255 bytes").optional(),
    txqlen: u32.optional(),
    group: u32.optional(),
    promisc: z.boolean().optional(),
    /** A bridge/bond to enslave to, or null to leave the current one. */
    master: linkRef.nullable().optional(),
    /** Move the link into another netns. */
    netns: netnsRefSchema.optional(),
  })
  .strict();
export type LinkChanges = z.input<typeof linkChanges>;
