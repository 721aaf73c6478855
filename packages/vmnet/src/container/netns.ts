// The namespace a function works in: a name under /run/netns, a path, or { pid }. Every function
// here acts through sockets opened inside that netns; none moves the calling thread.
import { existsSync } from "node:fs";
import { type NetnsRef, netnsIdentity, netnsPath, Rtnl } from "@vmnet/netlink-native";
import { z } from "zod";
import { VmnetInputError } from "../errors.js";

export const netnsRefSchema = z.union([
  z.string().min(1, "must not be empty"),
  z.strictObject({ name: z.string().min(1) }),
  z.strictObject({ path: z.string().min(1) }),
  z.strictObject({ pid: z.number().int().positive() }),
]);

/** The netns file, checked to exist: VmnetInputError("netns") otherwise. */
export function checkNetns(netns: NetnsRef, field = "netns"): { path: string; id: string } {
  let path: string;
  try {
    path = netnsPath(netns);
  } catch (e) {
    throw new VmnetInputError(field, e instanceof Error ? e.message : String(e));
  }
  if (!existsSync(path)) throw new VmnetInputError(field, `no network namespace at ${path}`);
  try {
    return { path, id: netnsIdentity(netns) };
  } catch (e) {
    throw new VmnetInputError(
      field,
      `${path} is not a network namespace: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** Runs `fn` with an rtnetlink handle in `netns`, closed afterwards. */
export async function withRtnl<T>(netns: NetnsRef, fn: (rtnl: Rtnl) => Promise<T>): Promise<T> {
  const { path } = checkNetns(netns);
  const rtnl = await Rtnl.open({ netns: { path } });
  try {
    return await fn(rtnl);
  } finally {
    await rtnl.close();
  }
}
