// Moving a tap between VLANs in OVN mode, and taking it off the bridge. A VLAN is a logical
// switch, so a move is: the tap's logical port leaves its old switch, a logical port of the same
// name joins the new one, and the OVS interface's binding keys follow (iface-id stays the same
// name, so ovn-controller rebinds the port to the new switch's datapath). A vlan of undefined
// unbinds the tap (untagged taps are not on any logical switch). Each step undoes itself.
import type { Mutation, Operation, PortInfo } from "@vmnet/ovs";
import { VmnetError } from "../errors.js";
import { runPlan, type Step, step } from "../plan/step.js";
import type { BridgesContext } from "./context.js";
import { LSP_KEY, MAC_KEY, OWNER_KEY, VLAN_KEY } from "./keys.js";
import { IFACE_ID_KEY, logicalAddresses, type OvnBinding } from "./ovn.js";
import { ovsStep } from "./ovs-step.js";

type Binding = Record<typeof IFACE_ID_KEY | typeof LSP_KEY | typeof VLAN_KEY, string>;

/** Rewrites a port's binding keys on its Port and Interface rows (the keys absent in `to` go). */
function rebind(ctx: BridgesContext, name: string, to: Partial<Binding>) {
  const keys: Mutation = ["external_ids", "delete", ["set", [IFACE_ID_KEY, LSP_KEY, VLAN_KEY]]];
  const pairs = Object.entries(to).filter((e): e is [string, string] => e[1] !== undefined);
  const add: Mutation = ["external_ids", "insert", ["map", pairs]];
  return ctx.vswitch.transact(
    (["Port", "Interface"] as const).map(
      (table): Operation => ({ op: "mutate", table, where: [["name", "==", name]], mutations: [keys, add] }),
    ),
  );
}

function bindingOf(port: PortInfo): Partial<Binding> {
  return {
    [IFACE_ID_KEY]: port.externalIds[IFACE_ID_KEY] ?? port.interfaces[0]?.externalIds[IFACE_ID_KEY],
    [LSP_KEY]: port.externalIds[LSP_KEY],
    [VLAN_KEY]: port.externalIds[VLAN_KEY],
  };
}

function logicalPortSteps(ovn: OvnBinding, port: PortInfo, vlan: number | undefined): Step[] {
  const steps: Step[] = [];
  const old = port.externalIds[LSP_KEY];
  const oldVlan = port.externalIds[VLAN_KEY];
  const addresses = logicalAddresses(port.externalIds[MAC_KEY]);
  if (old !== undefined && oldVlan !== undefined) {
    const oldSwitch = ovn.switchFor(Number(oldVlan));
    steps.push(
      step(
        `remove logical port ${old} from ${oldSwitch}`,
        async () => {
          await ovn.northbound.deleteLogicalPorts([old], { ifExists: true });
        },
        async () => {
          await ovn.northbound.addLogicalSwitch({ name: oldSwitch, mayExist: true });
          await ovn.northbound.addLogicalPorts(oldSwitch, [{ name: old, addresses }]);
        },
      ),
    );
  }
  if (vlan !== undefined) {
    const ls = ovn.switchFor(vlan);
    const lsp = ovn.portFor(port.name);
    steps.push(
      step(
        `add logical port ${lsp} to ${ls}`,
        async () => {
          await ovn.northbound.addLogicalSwitch({ name: ls, mayExist: true });
          await ovn.northbound.addLogicalPorts(ls, [{ name: lsp, addresses }]);
        },
        async () => {
          await ovn.northbound.deleteLogicalPorts([lsp], { ifExists: true });
        },
      ),
    );
  }
  return steps;
}

/** Checks the port is ours, for the OVN moves below. */
function ownPort(ctx: BridgesContext, port: PortInfo | undefined, name: string, bridge: string): PortInfo {
  if (!port || port.bridge !== bridge) throw new VmnetError(`${name}: no tap on bridge ${bridge}`);
  if (port.externalIds[OWNER_KEY] !== ctx.owner) throw new VmnetError(`${name}: not a vmnet tap; left alone`);
  return port;
}

/** Puts a tap already on `bridge` on another VLAN (logical switch), or unbinds it (undefined). */
export async function ovnSetTapVlan(
  ctx: BridgesContext,
  bridge: string,
  name: string,
  vlan: number | undefined,
): Promise<void> {
  const ovn = ctx.ovn as OvnBinding;
  const port = ownPort(ctx, await ctx.vswitch.getPort(name), name, bridge);
  if (port.externalIds[VLAN_KEY] === (vlan === undefined ? undefined : String(vlan))) return;
  const before = bindingOf(port);
  const after: Partial<Binding> =
    vlan === undefined
      ? {}
      : { [IFACE_ID_KEY]: ovn.portFor(name), [LSP_KEY]: ovn.portFor(name), [VLAN_KEY]: String(vlan) };
  await runPlan(
    [
      ...logicalPortSteps(ovn, port, vlan),
      step(
        vlan === undefined ? `unbind ${name}` : `bind ${name} to VLAN ${vlan}`,
        () => rebind(ctx, name, after).then(() => undefined),
        () => rebind(ctx, name, before).then(() => undefined),
      ),
    ],
    { subject: `move ${name} to ${vlan === undefined ? "no VLAN" : `VLAN ${vlan}`}` },
  );
}

/** Takes a tap off `bridge` in OVN mode: its OVS port, then its logical port. */
export async function ovnRemoveTap(ctx: BridgesContext, bridge: string, name: string): Promise<void> {
  const ovn = ctx.ovn as OvnBinding;
  const port = ownPort(ctx, await ctx.vswitch.getPort(name), name, bridge);
  await runPlan(
    [
      ovsStep(ctx, `remove ${name} from ${bridge}`, () =>
        ctx.vswitch.changes.deletePorts([name], { bridge }),
      ),
      ...logicalPortSteps(ovn, port, undefined),
    ],
    { subject: `remove ${name} from ${bridge}` },
  );
}
