// The VM's IPv6 configuration: a DHCPv6 server (the address, DNS) and a router advertiser (the
// router, on-link prefix, routes, MTU) on each TAP, from the ipv6 layer (src/dhcp6, src/ra).
// Bridge and tc-filter modes serve the CNI identity with the real IPv6 gateway as the router (its
// MAC learned from the pod before wiring; the advertiser answers neighbour solicitations for the
// router link-local with it). Masquerade mode serves the private address with the VM's bridge as
// the router (the bridge owns its link-local, so it answers neighbour solicitations itself). The
// server DUID is journalled, so a recovered network answers with the same identity.
import { Rtnl } from "@vmnet/netlink-native";
import { Dhcp6Server, leases6FromResult } from "../dhcp6/index.js";
import { advertsFromResult, RouterAdvertiser } from "../ra/index.js";
import type { CsnJournal } from "./types.js";

export interface Ipv6Servers {
  dhcp6: Dhcp6Server;
  ra: RouterAdvertiser;
  stop(): Promise<void>;
}

/** The router the VM is told about: for masquerade, the bridge's MAC and link-local address. */
async function bridgeRouter(path: string, bridge: string): Promise<{ mac: string; linkLocal?: string }> {
  const rtnl = await Rtnl.open({ netns: { path } });
  try {
    const link = await rtnl.links.get(bridge);
    const linkLocal = (await rtnl.addresses.list())
      .filter((a) => a.index === link.index && a.address.toLowerCase().startsWith("fe80:"))
      .map((a) => a.address)[0];
    return { mac: link.mac ?? "", ...(linkLocal !== undefined && { linkLocal }) };
  } finally {
    await rtnl.close();
  }
}

/**
 * Starts both servers for a journalled network whose served result has IPv6, or returns undefined.
 * `served` is what the VM gets (the CNI result, or masquerade's private network).
 */
export async function startIpv6Servers(
  path: string,
  record: CsnJournal,
  served: unknown,
): Promise<Ipv6Servers | undefined> {
  const leases = leases6FromResult(served);
  if (leases.size === 0 || !record.dhcp6Duid) return undefined;
  const first = record.interfaces[0];
  const mtu = Object.fromEntries(record.interfaces.map((i) => [i.cni.name, Math.max(1280, i.mtu)]));
  let adverts: ReturnType<typeof advertsFromResult>;
  if (record.masquerade) {
    if (!first?.bridge) return undefined;
    const router = await bridgeRouter(path, first.bridge);
    adverts = advertsFromResult(served, {
      routerMac: router.mac,
      ...(router.linkLocal !== undefined && { sourceLinkLocal: router.linkLocal }),
      answerNeighborSolicitations: false,
      mtu,
    });
  } else {
    const routerMac = Object.fromEntries(
      record.interfaces.flatMap((i) => (i.routerMac6 ? [[i.cni.name, i.routerMac6]] : [])),
    );
    adverts = advertsFromResult(served, { routerMac, mtu });
  }
  const bindings = record.interfaces.flatMap((i) => {
    const lease = leases.get(i.cni.name);
    return lease ? [{ listenOn: i.tap, lease }] : [];
  });
  const raBindings = record.interfaces.flatMap((i) => {
    const config = adverts.get(i.cni.name);
    return config ? [{ listenOn: i.tap, config }] : [];
  });
  const dhcp6 = await Dhcp6Server.start({ netns: { path }, bindings, duid: record.dhcp6Duid });
  let ra: RouterAdvertiser;
  try {
    ra = await RouterAdvertiser.start({ netns: { path }, bindings: raBindings });
  } catch (e) {
    await dhcp6.stop();
    throw e;
  }
  return {
    dhcp6,
    ra,
    async stop() {
      await Promise.all([dhcp6.stop(), ra.stop()]);
    },
  };
}
