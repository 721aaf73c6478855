// Interface statistics and link state from a monitor: ovs-vswitchd writes them into the database
// (statistics every stats-update-interval, 5 s by default), and the monitor pushes each change, so
// reading them costs no round trip and a link going down is an event, not something to poll for.
import { EventEmitter } from "node:events";
import { OvsTimeoutError } from "../errors.js";
import type { OvsdbClient } from "../ovsdb/client.js";
import type { OvsdbMonitor, RowChange } from "../ovsdb/monitor.js";
import { decodeInterface, type InterfaceInfo } from "./records.js";

const COLUMNS = [
  "name",
  "type",
  "options",
  "ofport",
  "link_state",
  "admin_state",
  "mac_in_use",
  "error",
  "statistics",
  "external_ids",
];

export interface InterfaceWatcherEvents {
  /** An interface appeared, changed (statistics, link state...) or, with `current` undefined, went away. */
  change: [name: string, current: InterfaceInfo | undefined, previous: InterfaceInfo | undefined];
}

export class InterfaceWatcher extends EventEmitter<InterfaceWatcherEvents> {
  private constructor(private readonly monitor: OvsdbMonitor) {
    super();
    monitor.on("change", (changes) => this.onChanges(changes));
  }

  static async start(client: OvsdbClient): Promise<InterfaceWatcher> {
    return new InterfaceWatcher(await client.monitor({ Interface: { columns: COLUMNS } }));
  }

  /** The interface's current state, or undefined when there is none by that name. */
  get(name: string): InterfaceInfo | undefined {
    for (const row of this.monitor.rows("Interface").values())
      if (row.name === name) return decodeInterface({ ...row });
    return undefined;
  }

  list(): InterfaceInfo[] {
    return [...this.monitor.rows("Interface").entries()].map(([uuid, row]) =>
      decodeInterface({ ...row, _uuid: ["uuid", uuid] }),
    );
  }

  /** Resolves with the interface's state once `predicate` holds (checked now and on every change). */
  waitFor(
    name: string,
    predicate: (info: InterfaceInfo) => boolean,
    timeoutMs = 30_000,
  ): Promise<InterfaceInfo> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const info = this.get(name);
        if (info && predicate(info)) {
          cleanup();
          resolve(info);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new OvsTimeoutError(
            `interface ${name} did not reach the expected state within ${timeoutMs} ms`,
            timeoutMs,
          ),
        );
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off("change", check);
      };
      this.on("change", check);
      check();
    });
  }

  async stop(): Promise<void> {
    await this.monitor.cancel();
  }

  private onChanges(changes: RowChange[]): void {
    for (const change of changes) {
      const current = change.new
        ? decodeInterface({ ...change.new, _uuid: ["uuid", change.uuid] })
        : undefined;
      const previous = change.old
        ? decodeInterface({ ...change.old, _uuid: ["uuid", change.uuid] })
        : undefined;
      this.emit("change", current?.name ?? previous?.name ?? "", current, previous);
    }
  }
}
