// A killed owner's OVN sandbox: its control plane (two ovsdb-servers, ovn-northd) and its chassis
// (ovsdb-server, ovs-vswitchd, ovn-controller) keep running detached. Their directories carry the
// owner marker (role=ovn-central for the control plane; ovn-controller adopted by its chassis's
// OVS sandbox), so OvsSandbox.reapOrphans ends every one of those daemons and removes the files.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { expect, test } from "vitest";
import { OvsSandbox } from "../src/index.js";

const pool = process.env.VITEST_POOL_ID ?? "0";

async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && !/^ [ZX]/.test(stat.slice(stat.lastIndexOf(")") + 1));
}

const OWNER = `
import { OvnSandbox } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
const ovn = await OvnSandbox.start({ chassis: 1, owner: "ovn-orphan", prefix: process.argv[1] });
process.stdout.write(JSON.stringify({
  central: { dir: ovn.central.dir, pids: ovn.central.pids },
  chassis: { dir: ovn.chassis[0].ovs.dir, pids: [...Object.values(ovn.chassis[0].ovs.pids), ovn.chassis[0].controllerPid], netns: ovn.chassis[0].netns },
  underlay: ovn.underlayNetns,
}) + "\\n");
setInterval(() => {}, 1000);
`;

describePrivileged("OVN sandbox left by a killed owner", () => {
  test("reapOrphans ends the control plane's and the chassis's daemons and removes their directories", async () => {
    expect(existsSync(new URL("../dist/index.js", import.meta.url)), "run pnpm build first").toBe(true);
    const owner = execa("node", ["--input-type=module", "-e", OWNER, `oo${pool}`], { reject: false });
    const line = await new Promise<string>((resolve, reject) => {
      let text = "";
      owner.stdout?.on("data", (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes("\n")) resolve(text.split("\n")[0] as string);
      });
      owner.then((r) => reject(new Error(`owner exited: ${r.stderr}`)), reject);
    });
    const made = JSON.parse(line) as {
      central: { dir: string; pids: Record<string, number> };
      chassis: { dir: string; pids: number[]; netns: string };
      underlay: string;
    };
    owner.kill("SIGKILL");
    await owner;
    const daemons = [...Object.values(made.central.pids), ...made.chassis.pids];
    expect(daemons).toHaveLength(6);
    for (const pid of daemons) expect(await running(pid), `daemon ${pid} outlives its owner`).toBe(true);

    const dirs = { roots: [], dirs: [made.central.dir, made.chassis.dir] };
    const orphans = await OvsSandbox.findOrphans(dirs);
    expect(orphans.map((o) => o.dir).sort()).toEqual([made.central.dir, made.chassis.dir].sort());
    expect(orphans.find((o) => o.dir === made.central.dir)?.mark).toMatch(
      / owner=ovn-orphan .* role=ovn-central$/,
    );
    const reaped = await OvsSandbox.reapOrphans(dirs);
    expect(reaped.flatMap((r) => r.stoppedPids).sort()).toEqual([...daemons].sort());
    expect(reaped.find((r) => r.dir === made.central.dir)?.devicesSkipped).toMatch(/make no devices/);
    expect(reaped.find((r) => r.dir === made.chassis.dir)?.deletedDevices.sort()).toEqual([
      "br-int",
      "br-phy",
      "ovs-netdev",
    ]);
    for (const pid of daemons) expect(await running(pid)).toBe(false);
    expect(existsSync(made.central.dir)).toBe(false);
    expect(existsSync(made.chassis.dir)).toBe(false);
    // The namespaces the sandbox made are not reaped (they carry no marker): removed here.
    for (const ns of [made.chassis.netns, made.underlay])
      await execa("ip", ["netns", "delete", ns], { reject: false });
  }, 60_000);
});
