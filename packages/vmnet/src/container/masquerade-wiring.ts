// Masquerade mode's steps (KubeVirt's default binding): the CNI interface keeps its identity; the
// VM's TAP joins a bridge of its own holding the private subnet's first host; forwarding is turned
// on (as journalled, restored exactly) and one nftables table NATs the VM to the pod's address.
import { type Nft, type Step, step } from "@vmnet/netlink-native";
import { VmnetError } from "../errors.js";
import {
  forwardingOn,
  forwardingRestore,
  MASQUERADE_TABLE,
  masqueradeBatch,
  writeSysctls,
} from "../masquerade/index.js";
import { randomMac } from "./mac.js";
import { type Context, tapStep } from "./tap-step.js";
import type { JournalInterface } from "./types.js";

/** The pod's own addresses (no prefix), from the journalled result. */
export function podAddresses(ctx: Pick<Context, "record">): string[] {
  return (ctx.record.result.ips ?? []).map((ip) => ip.address.split("/")[0] as string);
}

export function masqueradeSteps(
  ctx: Context,
  ji: JournalInterface,
  linksAtSetup: ReadonlySet<string>,
): Step[] {
  const { rtnl, record, path } = ctx;
  const m = record.masquerade;
  if (!m || !ji.bridge) throw new VmnetError("masquerade steps need the masquerade journal");
  const br = ji.bridge;
  const addresses = [m.ipv4.gateway, ...(m.ipv6 ? [m.ipv6.gateway] : [])];
  const nft = ctx.nft as Nft;
  return [
    tapStep(ctx, ji, false),
    step(
      `create ${br}`,
      async () => {
        await rtnl.links.add({
          kind: "bridge",
          name: br,
          // A MAC of its own: a bridge otherwise takes its lowest port's, and the router MAC the
          // VM learns from router advertisements must not change.
          mac: randomMac(),
          mtu: ji.mtu,
          txqlen: 1000,
          ageingTime: 0,
          alias: record.mark,
          group: record.group,
        });
      },
      async () => {
        await rtnl.links.deleteIfExists(br);
      },
    ),
    step(
      `enslave ${ji.tap} to ${br}`,
      () => rtnl.links.set(ji.tap, { master: br, up: true }),
      () => rtnl.links.set(ji.tap, { master: null, up: false }),
    ),
    step(
      `bring ${br} up with ${addresses.join(", ")}`,
      async () => {
        await rtnl.links.up(br);
        // No duplicate address detection: the subnet is ours, and DAD would hold the address
        // "tentative" (unusable as the VM's router) for a second.
        await Promise.all(
          addresses.map((a) => rtnl.addresses.add(br, a, a.includes(":") ? { nodad: true } : undefined)),
        );
      },
      async () => {
        for (const a of addresses) await rtnl.addresses.deleteIfPresent(br, a);
        await rtnl.links.down(br);
      },
    ),
    step(
      "turn forwarding on",
      () => writeSysctls(path, forwardingOn(m.links, br, m.ipv6 !== undefined, m.sysctls)),
      () => writeSysctls(path, forwardingRestore(m.sysctls, linksAtSetup)),
    ),
    step(
      `add the NAT table inet ${MASQUERADE_TABLE}`,
      () =>
        nft.commit(
          masqueradeBatch({
            table: MASQUERADE_TABLE,
            mark: record.mark,
            bridge: br,
            links: m.links,
            podAddresses: podAddresses(ctx),
            plan: m,
          }),
        ),
      async () => {
        await nft.deleteTable("inet", MASQUERADE_TABLE);
      },
    ),
  ];
}
