// `vmnet csn`: set up a pod made by the real CNI bridge plugin for a VM (DHCP served for a moment),
// then tear it down: the pod's netns is back as the plugin left it.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type TestNetns } from "@vmnet/harness";
import { describePrivileged } from "@vmnet/harness/vitest";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { main } from "../src/cli/main.js";

describePrivileged("vmnet csn", () => {
  let pod: TestNetns;
  let dir: string;
  let config: string;
  const cni = (command: string) =>
    execa("/usr/lib/cni/bridge", [], {
      input: config,
      reject: false,
      env: {
        CNI_COMMAND: command,
        CNI_CONTAINERID: "clicsn",
        CNI_NETNS: pod.path,
        CNI_IFNAME: "eth0",
        CNI_PATH: "/usr/lib/cni",
      },
    });
  beforeAll(async () => {
    pod = await createNetns("clipod");
    dir = await mkdtemp(join(tmpdir(), "vmnet-cli-csn-"));
    config = JSON.stringify({
      cniVersion: "1.0.0",
      name: "clicsn",
      type: "bridge",
      bridge: "clicsn0",
      isGateway: true,
      ipam: {
        type: "host-local",
        subnet: "10.89.0.0/24",
        routes: [{ dst: "0.0.0.0/0" }],
        dataDir: join(dir, "ipam"),
      },
    });
  });
  afterAll(async () => {
    await cni("DEL");
    await pod?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test("setup prints the TAP and VM MAC (JSON), teardown restores the pod", async () => {
    const add = await cni("ADD");
    expect(add.exitCode).toBe(0);
    await writeFile(join(dir, "result.json"), add.stdout);
    const before = (await pod.ipJson(["addr", "show", "eth0"]))[0];
    const out: string[] = [];
    const code = await main(
      [
        "--json",
        "csn",
        "setup",
        pod.name,
        "--mode",
        "bridge",
        "--result",
        join(dir, "result.json"),
        "--seconds",
        "1",
      ],
      (l) => out.push(l),
    );
    expect(code).toBe(0);
    const setup = JSON.parse(out.join("\n"));
    expect(setup.mode).toBe("bridge");
    expect(setup.interfaces[0]).toMatchObject({ name: "eth0", mac: before.address });
    const tap = setup.interfaces[0].tap as string;
    expect((await pod.exec("ip", ["link", "show", tap])).exitCode).toBe(0);
    const down: string[] = [];
    expect(await main(["csn", "teardown", pod.name], (l) => down.push(l))).toBe(0);
    expect(down).toEqual([`${pod.name}: restored`]);
    const after = (await pod.ipJson(["addr", "show", "eth0"]))[0];
    expect(after.address).toBe(before.address);
    expect(after.addr_info.map((a: { local: string }) => a.local)).toEqual(
      before.addr_info.map((a: { local: string }) => a.local),
    );
    expect((await pod.exec("ip", ["link", "show", tap], { reject: false })).exitCode).not.toBe(0);
  }, 60_000);
});
