// TAP/TUN devices in any netns. The fds are plain numbers: pass them to a child process (qemu
// `-netdev tap,fd=N` with the fd in `stdio`), read/write them with node:fs, and close them with
// close() when done. A non-persistent device disappears with its last fd.
import { z } from "zod";
import { native } from "./native.js";
import { type NetnsRef, netnsPath } from "./netns.js";
import { check, ifName } from "./validate.js";

const tapOptions = z
  .object({
    name: ifName.optional(),
    netns: z
      .union([
        z.string(),
        z.object({ name: z.string() }),
        z.object({ path: z.string() }),
        z.object({ pid: z.number() }),
      ])
      .optional(),
    mode: z.enum(["tap", "tun"]).default("tap"),
    vnetHdr: z.boolean().default(false),
    queues: z.number().int().min(1, "must be 1-256").max(256, "must be 1-256").default(1),
    persist: z.boolean().default(false),
    owner: z.number().int().min(0).optional(),
    group: z.number().int().min(0).optional(),
  })
  .strict();
export type TapOptions = z.input<typeof tapOptions>;

export interface Tap {
  /** The kernel's name for the device (given, or picked like tap0). */
  name: string;
  /** Its ifindex in the netns it was opened in. */
  index: number;
  /** One fd per queue. */
  fds: number[];
  /** Closes every fd; a non-persistent device is then removed by the kernel. */
  close(): void;
  /** Clears IFF_PERSIST so the device goes with its last fd. */
  unpersist(): void;
}

/**
 * Opens (creating if needed) a TAP/TUN device. The work runs off the event loop; bad options
 * reject with a NetlinkInputError naming the field, kernel refusals with the errno.
 */
export async function openTap(options: TapOptions = {}): Promise<Tap> {
  const o = check(tapOptions, options, "tap");
  const opened = await native().openTap({
    ...(o.name !== undefined && { name: o.name }),
    ...(o.netns !== undefined && { netns: netnsPath(o.netns as NetnsRef) }),
    tun: o.mode === "tun",
    vnetHdr: o.vnetHdr,
    queues: o.queues,
    persist: o.persist,
    ...(o.owner !== undefined && { owner: o.owner }),
    ...(o.group !== undefined && { group: o.group }),
  });
  let open = true;
  return {
    name: opened.name,
    index: opened.index,
    fds: opened.fds,
    close() {
      if (!open) return;
      open = false;
      for (const fd of opened.fds) native().closeFd(fd);
    },
    unpersist() {
      const fd = opened.fds[0];
      if (fd !== undefined && open) native().setTapPersist(fd, false);
    },
  };
}
