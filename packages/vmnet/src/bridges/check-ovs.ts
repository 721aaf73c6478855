// checkOvs: is Open vSwitch usable here, and if not, what is missing and which Debian package
// brings it. Looks at the programs on PATH and the database socket; connects to prove it answers.
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { OvsdbClient } from "@vmnet/ovs";

export const SYSTEM_DB = "unix:/var/run/openvswitch/db.sock";

export interface OvsCheck {
  ok: boolean;
  /** One line per problem, each naming the Debian package or command that fixes it. */
  problems: string[];
  remote: string;
}

async function onPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    try {
      await access(join(dir, program));
      return true;
    } catch {}
  }
  for (const dir of ["/usr/sbin", "/sbin", "/usr/lib/openvswitch-switch"]) {
    try {
      await access(join(dir, program));
      return true;
    } catch {}
  }
  return false;
}

export async function checkOvs(remote: string = process.env.OVS_DB ?? SYSTEM_DB): Promise<OvsCheck> {
  const problems: string[] = [];
  for (const [program, pkg] of [
    ["ovsdb-server", "openvswitch-switch"],
    ["ovs-vswitchd", "openvswitch-switch"],
    ["ovs-ofctl", "openvswitch-common"],
    ["ovsdb-tool", "openvswitch-common"],
  ] as const) {
    if (!(await onPath(program))) problems.push(`${program} is missing: apt-get install ${pkg}`);
  }
  if (remote.startsWith("unix:")) {
    const path = remote.slice(5);
    try {
      await access(path);
    } catch {
      problems.push(
        `no OVSDB socket at ${path}: ovsdb-server is not running (systemctl start openvswitch-switch, from the Debian package openvswitch-switch), or use --db sandbox`,
      );
    }
  }
  if (problems.length === 0) {
    try {
      const client = await OvsdbClient.connect(remote, { reconnect: false });
      try {
        const [result] = await client.transact([
          { op: "select", table: "Open_vSwitch", where: [], columns: ["cur_cfg"] },
        ]);
        if (!result?.rows?.length)
          problems.push(`${remote}: the database has no Open_vSwitch row (run ovs-vsctl init)`);
      } finally {
        client.close();
      }
    } catch (e) {
      problems.push(`${remote}: ovsdb-server does not answer: ${(e as Error).message}`);
    }
  }
  return { ok: problems.length === 0, problems, remote };
}
