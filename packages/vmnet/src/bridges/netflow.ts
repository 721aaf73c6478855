// NetFlow per bridge, as minimega's newNetflow: a collector in this process and the bridge's
// NetFlow row pointing at it. The row (with its timeout) is OVSDB state any process can read;
// the records live in the collector of the process that made it.
import { VmnetError } from "../errors.js";
import type { BridgesContext } from "./context.js";
import { NetflowReceiver } from "./netflow-receiver.js";

export class Netflow {
  constructor(
    readonly bridge: string,
    readonly receiver: NetflowReceiver,
    private readonly ctx: BridgesContext,
  ) {}

  get records() {
    return this.receiver.records;
  }

  /** Resolves with the first record matching `predicate` (or rejects after timeoutMs). */
  waitFor(predicate: (r: NetflowReceiver["records"][number]) => boolean, timeoutMs = 30_000) {
    const found = this.receiver.records.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise<NetflowReceiver["records"][number]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.receiver.off("record", on);
        reject(new VmnetError(`no matching NetFlow record within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (r: NetflowReceiver["records"][number]) => {
        if (!predicate(r)) return;
        clearTimeout(timer);
        this.receiver.off("record", on);
        resolve(r);
      };
      this.receiver.on("record", on);
    });
  }

  setTimeout(seconds: number): Promise<void> {
    return this.ctx.vswitch.setNetflowTimeout(this.bridge, seconds);
  }
}

export async function newNetflow(
  ctx: BridgesContext,
  bridge: string,
  activeTimeout: number,
): Promise<Netflow> {
  const existing = (await ctx.vswitch.getBridge(bridge))?.netflow;
  if (existing)
    throw new VmnetError(`bridge ${bridge} already exports NetFlow to ${existing.targets.join(", ")}`);
  const receiver = NetflowReceiver.open(ctx.netns);
  try {
    await ctx.vswitch.setNetflow(bridge, { targets: [receiver.target], activeTimeout });
  } catch (e) {
    receiver.close();
    throw e;
  }
  return new Netflow(bridge, receiver, ctx);
}
