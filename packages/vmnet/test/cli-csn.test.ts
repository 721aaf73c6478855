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

  test("masquerade: --vm-ipv4 and --forward reach the NAT table; bad flags are usage errors naming the flag", async () => {
    if ((await pod.exec("ip", ["link", "show", "eth0"], { reject: false })).exitCode !== 0) {
      const add = await cni("ADD");
      expect(add.exitCode).toBe(0);
      await writeFile(join(dir, "result.json"), add.stdout);
    }
    const errs: string[] = [];
    const usage = (argv: string[]) =>
      main(
        argv,
        () => {},
        (l) => errs.push(l),
      );
    expect(await usage(["csn", "setup", pod.name, "--mode", "bridge", "--forward", "tcp:80"])).toBe(2);
    expect(errs.at(-1)).toMatch(/--mode.*masquerade/);
    expect(await usage(["csn", "setup", pod.name, "--mode", "masquerade", "--forward", "sctp:80"])).toBe(2);
    expect(errs.at(-1)).toMatch(/--forward.*sctp:80/);
    // Nothing was made by the refused commands.
    expect((await pod.exec("nft", ["list", "tables"])).stdout).not.toMatch(/vmnet/);
    const out: string[] = [];
    const code = await main(
      [
        "--json",
        "csn",
        "setup",
        pod.name,
        "--mode",
        "masquerade",
        "--result",
        join(dir, "result.json"),
        "--vm-ipv4",
        "10.0.3.2/24",
        "--forward",
        "tcp:8080:80",
        "--forward",
        "udp:5353",
        "--seconds",
        "1",
      ],
      (l) => out.push(l),
    );
    expect(code).toBe(0);
    expect(JSON.parse(out.join("\n")).mode).toBe("masquerade");
    const ruleset = (await pod.exec("nft", ["list", "ruleset"])).stdout;
    expect(ruleset).toMatch(/10\.0\.3\.0\/24/);
    expect(ruleset).toMatch(/tcp dport 8080 .*dnat .*10\.0\.3\.2:80/);
    expect(ruleset).toMatch(/udp dport 5353 .*dnat .*10\.0\.3\.2:5353/);
    expect(await main(["csn", "teardown", pod.name], () => {})).toBe(0);
    expect((await pod.exec("nft", ["list", "ruleset"])).stdout).not.toMatch(/vmnet/);
  }, 60_000);
});
