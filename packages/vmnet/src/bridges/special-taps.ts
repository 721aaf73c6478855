// Taps other than plain VM taps: host taps (OVS internal ports the host itself uses, optionally
// with an address), container taps (a veth whose inner end goes into a container's netns with the
// container's MAC and an index), QinQ ports (802.1ad outer tag, customer VLANs inside).
import { Rtnl, runPlan } from "@vmnet/netlink-native";
import type { PortSpec } from "@vmnet/ovs";
import { z } from "zod";
import { step } from "../plan/step.js";
import type { BridgesContext } from "./context.js";
import { cidr, ifName, macAddress, parseInput, vlanId } from "./input.js";
import { CONTAINER_KEY, MAC_KEY } from "./keys.js";
import { addPortsStep, assignNames, deleteMarkedLinks, kernelTapsStep, type PlanHooks } from "./taps.js";

export const hostTapSpec = z
  .object({ name: ifName.optional(), vlan: vlanId.optional(), address: cidr.optional() })
  .strict();
export type HostTapSpec = z.input<typeof hostTapSpec>;

export async function createHostTap(
  ctx: BridgesContext,
  bridge: string,
  input: HostTapSpec,
  hooks: PlanHooks = {},
  kind: "host-tap" | "capture" = "host-tap",
): Promise<string> {
  const spec = parseInput(hostTapSpec, input, "hostTap");
  const [name] = (await assignNames(ctx, [spec.name])) as [string];
  try {
    const port: PortSpec = {
      name,
      type: "internal",
      ...(spec.vlan !== undefined ? { tag: spec.vlan } : {}),
      externalIds: ctx.portIds(kind),
    };
    const steps = [
      addPortsStep(ctx, bridge, [port]),
      // ovs-vswitchd made the device; mark it as ours and bring it up.
      step(`mark and bring up ${name}`, () => ctx.rtnl.links.set(name, { alias: ctx.mark(kind), up: true })),
    ];
    if (spec.address) {
      const address = spec.address;
      steps.push(
        step(
          `add ${address} to ${name}`,
          () => ctx.rtnl.addresses.add(name, address),
          async () => {
            await ctx.rtnl.addresses.delete(name, address).catch(() => {});
          },
        ),
      );
    }
    await runPlan(steps, { subject: `create host tap ${name}`, ...beforeStep(hooks) });
    return name;
  } finally {
    ctx.reservedNames.delete(name);
  }
}

export const containerTapSpec = z
  .object({
    /** The container's network namespace (name under /run/netns, or a path). */
    netns: z.string().min(1),
    /** The container's MAC on its inner end. */
    mac: macAddress.optional(),
    /** The inner end becomes eth<index> (default 0). */
    index: z.number().int().min(0).max(9999).default(0),
    vlan: vlanId.optional(),
    name: ifName.optional(),
    /** Optional address for the inner end, e.g. "10.0.0.2/24". */
    address: cidr.optional(),
  })
  .strict();
export type ContainerTapSpec = z.input<typeof containerTapSpec>;

export async function createContainerTap(
  ctx: BridgesContext,
  bridge: string,
  input: ContainerTapSpec,
  hooks: PlanHooks = {},
): Promise<string> {
  const spec = parseInput(containerTapSpec, input, "containerTap");
  const [name] = (await assignNames(ctx, [spec.name])) as [string];
  const inner = `eth${spec.index}`;
  try {
    const steps = [
      step(
        `create veth ${name} with ${inner} in ${spec.netns}`,
        async () => {
          await ctx.rtnl.links.add({
            kind: "veth",
            name,
            alias: ctx.mark("container-tap"),
            up: true,
            peer: { name: inner, netns: spec.netns, ...(spec.mac ? { mac: spec.mac } : {}) },
          });
        },
        async () => {
          await deleteMarkedLinks(ctx, [name]);
        },
      ),
      step(`configure ${inner} in ${spec.netns}`, async () => {
        const inside = await Rtnl.open({ netns: spec.netns });
        try {
          await inside.links.set(inner, { up: true });
          if (spec.address) await inside.addresses.add(inner, spec.address);
        } finally {
          inside.close();
        }
      }),
      addPortsStep(ctx, bridge, [
        {
          name,
          ...(spec.vlan !== undefined ? { tag: spec.vlan } : {}),
          externalIds: ctx.portIds("container-tap", { [CONTAINER_KEY]: spec.netns, [MAC_KEY]: spec.mac }),
        },
      ]),
    ];
    await runPlan(steps, { subject: `create container tap ${name}`, ...beforeStep(hooks) });
    return name;
  } finally {
    ctx.reservedNames.delete(name);
  }
}

export const qinqTapSpec = z
  .object({
    name: ifName.optional(),
    mac: macAddress.optional(),
    /** The outer (service) VLAN the port pushes. */
    outerVlan: vlanId,
    /** Customer VLANs admitted (default: all). */
    cvlans: z.array(vlanId).optional(),
  })
  .strict();
export type QinqTapSpec = z.input<typeof qinqTapSpec>;

/** A tap in dot1q-tunnel mode (QinQ). OVS needs other_config:vlan-limit=2 (set here). */
export async function createQinqTap(
  ctx: BridgesContext,
  bridge: string,
  input: QinqTapSpec,
  hooks: PlanHooks = {},
): Promise<string> {
  const spec = parseInput(qinqTapSpec, input, "qinqTap");
  const [name] = (await assignNames(ctx, [spec.name])) as [string];
  try {
    const before = (await ctx.vswitch.getOtherConfig())["vlan-limit"];
    const port: PortSpec = {
      name,
      tag: spec.outerVlan,
      vlanMode: "dot1q-tunnel",
      ...(spec.cvlans ? { cvlans: spec.cvlans } : {}),
      externalIds: ctx.portIds("qinq", { [MAC_KEY]: spec.mac }),
    };
    await runPlan(
      [
        step(
          "set vlan-limit=2",
          () => ctx.vswitch.setOtherConfig({ "vlan-limit": "2" }),
          () => ctx.vswitch.setOtherConfig({ "vlan-limit": before }),
        ),
        kernelTapsStep(ctx, [name]),
        addPortsStep(ctx, bridge, [port]),
      ],
      { subject: `create QinQ tap ${name}`, ...beforeStep(hooks) },
    );
    return name;
  } finally {
    ctx.reservedNames.delete(name);
  }
}

export function beforeStep(hooks: PlanHooks) {
  return hooks.beforeStep ? { beforeStep: hooks.beforeStep } : {};
}
