// Container-side networks as their journals describe them (one JSON file per pod under the state
// directory's container-side/ folder, default /run/vmnet/container-side, written by
// ContainerSideNetwork setup in whatever process ran it).
// Read-only and tolerant: a file that is not a complete container-side journal is skipped.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

const journalShape = z.looseObject({
  kind: z.literal("container-side-network"),
  netns: z.string(),
  mode: z.string(),
  complete: z.boolean().optional(),
  interfaces: z.array(
    z.looseObject({
      tap: z.string(),
      bridge: z.string().optional(),
      wiredMac: z.string().optional(),
      mtu: z.number().optional(),
      cni: z.looseObject({ name: z.string(), mac: z.string().optional() }),
    }),
  ),
  result: z
    .looseObject({
      interfaces: z.array(z.looseObject({ name: z.string() })).optional(),
      ips: z
        .array(
          z.looseObject({
            address: z.string(),
            gateway: z.string().optional(),
            interface: z.number().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

export interface ContainerNetworkView {
  /** The pod's network namespace (its name under /run/netns, otherwise its path). */
  pod: string;
  mode: string;
  complete: boolean;
  interfaces: {
    /** The CNI interface in the pod (eth0). */
    name: string;
    tap: string;
    /** The MAC the VM uses (the CNI interface's original one). */
    mac: string | undefined;
    bridge: string | undefined;
    /** The lease the DHCP server hands the VM: the CNI result's addresses of this interface. */
    lease: { address: string; gateway: string | undefined }[];
  }[];
}

export function containerView(journal: unknown): ContainerNetworkView | undefined {
  const parsed = journalShape.safeParse(journal);
  if (!parsed.success) return undefined;
  const j = parsed.data;
  const resultIfaces = j.result?.interfaces ?? [];
  return {
    // Named netns are journalled by path: shown by name, as `ip netns` lists them.
    pod: j.netns.startsWith("/run/netns/") ? j.netns.slice("/run/netns/".length) : j.netns,
    mode: j.mode,
    complete: j.complete ?? false,
    interfaces: j.interfaces.map((i) => {
      const index = resultIfaces.findIndex((r) => r.name === i.cni.name);
      const lease = (j.result?.ips ?? [])
        .filter((ip) => ip.interface === undefined || ip.interface === index)
        .map((ip) => ({ address: ip.address, gateway: ip.gateway }));
      return { name: i.cni.name, tap: i.tap, mac: i.cni.mac, bridge: i.bridge, lease };
    }),
  };
}

/** Where setupContainerSideNetwork keeps its journals under a state directory. */
const JOURNALS = "container-side";

export async function readContainerNetworks(stateDir: string): Promise<ContainerNetworkView[]> {
  const folder = join(stateDir, JOURNALS);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const out: ContainerNetworkView[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith(".json") || name.startsWith(".")) continue;
    try {
      const view = containerView(JSON.parse(await readFile(join(folder, name), "utf8")));
      if (view) out.push(view);
    } catch {
      // Removed between readdir and read, or half-written by a foreign tool: not a journal we show.
    }
  }
  return out;
}
