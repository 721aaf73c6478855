// Opening Bridges for one CLI command from the global options: --db (an OVSDB remote, "system",
// or "sandbox" for a private OVS that lives as long as the command), --netns, --owner, and --ovn
// (the OVN northbound database: the local OVS is a chassis, VLANs are logical switches).
import { OvsSandbox } from "@vmnet/ovs";
import { Bridges } from "../bridges/bridges.js";
import { VmnetError } from "../errors.js";

export interface GlobalOptions {
  db?: string;
  netns?: string;
  owner?: string;
  json?: boolean;
  quiet?: boolean;
  tapFormat?: string;
  ovn?: string;
}

export interface Session {
  bridges: Bridges;
  close(): Promise<void>;
}

export async function openSession(g: GlobalOptions): Promise<Session> {
  let sandbox: OvsSandbox | undefined;
  let db = g.db === "system" ? undefined : g.db;
  if (db === "sandbox") {
    sandbox = await OvsSandbox.start(g.netns ? { netns: g.netns } : {});
    db = sandbox.remote;
  }
  if (!sandbox) {
    const check = await Bridges.checkOvs(db);
    if (!check.ok) throw new VmnetError(check.problems.join("; "));
  }
  try {
    const bridges = await Bridges.open({
      ...(db ? { db } : {}),
      ...(g.netns ? { netns: g.netns } : {}),
      ...(g.owner ? { owner: g.owner } : {}),
      ...(g.tapFormat ? { tapFormat: g.tapFormat } : {}),
      ...(sandbox ? { datapathType: "netdev" } : {}),
      ...(g.ovn ? { ovn: { northbound: g.ovn } } : {}),
    });
    return {
      bridges,
      async close() {
        await bridges.close();
        await sandbox?.stop();
      },
    };
  } catch (e) {
    await sandbox?.stop();
    throw e;
  }
}

/** Resolves when the user presses Ctrl-C (SIGINT) or SIGTERM arrives, or `limit` settles. */
export function untilInterrupted<T>(limit?: Promise<T>): Promise<"signal" | "limit"> {
  return new Promise((resolve) => {
    const onSignal = () => {
      cleanup();
      resolve("signal");
    };
    const cleanup = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    limit?.then(
      () => {
        cleanup();
        resolve("limit");
      },
      () => {
        cleanup();
        resolve("limit");
      },
    );
  });
}
