// The 1000-link storm the bench, loop-trace.mjs and gc-storm.mjs all run: N veth pairs (or
// persistent TAPs) created, each given an address, brought up, then deleted by group, over one
// Rtnl. `onPhase(name)` is called as each phase begins ("create", once the handle is open;
// "address", "up", "delete") and at "done".
import { openTap, Rtnl } from "../dist/index.js";

/** The i-th link's address (the same in every script and peer). */
export const ipv4 = (i) => `10.${i >> 8}.${i & 255}.1/24`;

/**
 * The same storm as `ip -batch` lines: `create` makes each link, gives it its address and brings
 * it up; `del` tags every link with a group and deletes the group in one request (ip's fastest).
 */
export function ipBatchLines(kind, n) {
  const create = [];
  const del = [];
  for (let i = 0; i < n; i++) {
    const name = kind === "veth" ? `v${i}` : `t${i}`;
    create.push(
      kind === "veth" ? `link add ${name} type veth peer name p${i}` : `tuntap add dev ${name} mode tap`,
      `addr add ${ipv4(i)} dev ${name}`,
      `link set ${name} up`,
    );
    del.push(`link set ${name} group 99`);
  }
  del.push("link del group 99");
  return { create, del };
}

/** Runs the storm in `ns`; `check(rtnl)` runs after the delete, before the handle closes. */
export async function storm({ kind, ns, n, onPhase = () => undefined, check }) {
  const rtnl = await Rtnl.open({ netns: ns });
  try {
    onPhase("create");
    let indexes;
    if (kind === "veth") {
      const links = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          rtnl.links.add({ kind: "veth", name: `v${i}`, peer: { name: `p${i}` } }),
        ),
      );
      indexes = links.map((l) => l.index);
    } else {
      const taps = await Promise.all(
        Array.from({ length: n }, (_, i) => openTap({ name: `t${i}`, netns: ns, persist: true })),
      );
      // Persistent: closing the fds leaves the devices (deleted below with the rest).
      await Promise.all(taps.map((t) => t.close()));
      indexes = taps.map((t) => t.index);
    }
    onPhase("address");
    await Promise.all(indexes.map((ix, i) => rtnl.addresses.add(ix, ipv4(i))));
    onPhase("up");
    await Promise.all(indexes.map((ix) => rtnl.links.set(ix, { up: true })));
    onPhase("delete");
    await rtnl.links.deleteMany(indexes);
    onPhase("done");
    await check?.(rtnl);
  } finally {
    rtnl.close();
  }
}
