import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { expect, test } from "vitest";
import {
  createNetns,
  hostNetnsIdentity,
  isolated,
  namespaceIdentity,
  privilegeGap,
  withNetns,
} from "../src/index.mjs";
import { describePrivileged, netnsTest } from "../src/vitest.mjs";

const vmnetIsolate = fileURLToPath(new URL("../bin/vmnet-isolate.mjs", import.meta.url));
let probeCounter = 0;

/** The links of the calling process's netns, by name. */
async function ownLinks(): Promise<string[]> {
  const { stdout } = await execa("ip", ["-j", "link", "show"]);
  return (JSON.parse(stdout) as { ifname: string }[]).map((l) => l.ifname);
}

interface Probe {
  link: string;
  /** The netns identity the probe saw itself in, and the starter's identity it was handed. */
  inside: string;
  handedHost: string;
  /** The links the probe saw in its netns, after making its own. */
  seen: string[];
}

/**
 * Runs a shell probe through `launcher` that creates a veth pair and reports where it ran. With
 * vmnet-isolate as the launcher this is the real thing, seen from the process that started it
 * (which plays the host); with a plain shell it is the negative control that proves the checks
 * below can fail.
 */
async function probe(launcher: string[]): Promise<Probe> {
  probeCounter += 1;
  const link = `hp${process.pid % 10000}x${probeCounter}`;
  const script = [
    `ip link add ${link} type veth peer name ${link}p`,
    `stat -L -c %d:%i /proc/self/ns/net`,
    `echo "\${VMNET_HOST_NETNS:-none}"`,
    `ip -j link show`,
  ].join(" && ");
  const env: Record<string, string | undefined> = { ...process.env };
  // Start over as from an unisolated shell: the caller is the "host" of the nested run.
  delete env.VMNET_ISOLATED;
  delete env.VMNET_HOST_NETNS;
  const { stdout } = await execa(launcher[0] ?? "sh", [...launcher.slice(1), "sh", "-c", script], {
    env,
    extendEnv: false,
  });
  const [inside = "", handedHost = "", links = "[]"] = stdout.trim().split("\n");
  const seen = (JSON.parse(links) as { ifname: string }[]).map((l) => l.ifname);
  // The [dev:inode] printed by stat is in decimal, as node's statSync reports it.
  return { link, inside, handedHost, seen };
}

test("the suite knows whether it is isolated, and isolated means another netns than the starter's", () => {
  if (process.env.VMNET_UNPRIVILEGED === "1") {
    console.log(`SKIP isolation identity: ${privilegeGap()}`);
    return;
  }
  // This suite always runs through vmnet-isolate (`pnpm test`); claimed isolation must be proven.
  expect(process.env.VMNET_ISOLATED, "run through vmnet-isolate (pnpm test)").toBe("1");
  expect(privilegeGap()).toBeUndefined();
  expect(isolated).toBe(true);
  const host = hostNetnsIdentity();
  // vmnet-isolate captured the starter's identity before isolating; ours is another one.
  expect(host).toMatch(/^\d+:\d+$/);
  expect(namespaceIdentity("net")).toMatch(/^\d+:\d+$/);
  expect(namespaceIdentity("net")).not.toBe(host);
  expect(process.env.VMNET_HOST_MNTNS).toMatch(/^\d+:\d+$/);
  expect(namespaceIdentity("mnt")).not.toBe(process.env.VMNET_HOST_MNTNS);
  expect(process.env.VMNET_HOST_PIDNS).toMatch(/^\d+:\d+$/);
  expect(namespaceIdentity("pid")).not.toBe(process.env.VMNET_HOST_PIDNS);
});

describePrivileged("private namespaces", () => {
  test("the test process sees only its own loopback, never the host's interfaces", async () => {
    expect(await ownLinks()).toEqual(["lo"]);
  });

  test("a link made inside vmnet-isolate is not visible to the process that started it", async () => {
    // This process plays the host: it has a link of its own that the nested run must not see.
    const mine = `hm${process.pid % 10000}`;
    await execa("ip", ["link", "add", mine, "type", "veth", "peer", "name", `${mine}p`]);
    try {
      const starter = namespaceIdentity("net");
      const run = await probe([process.execPath, vmnetIsolate]);
      expect(run.handedHost).toBe(starter);
      expect(run.inside).toMatch(/^\d+:\d+$/);
      expect(run.inside).not.toBe(starter);
      expect(run.seen.sort()).toEqual(["lo", run.link, `${run.link}p`].sort());
      expect(await ownLinks()).not.toContain(run.link);
      expect(await ownLinks()).toContain(mine);
    } finally {
      await execa("ip", ["link", "del", mine], { reject: false });
    }
  });

  test("negative control: the same checks catch a run that is not isolated", async () => {
    const starter = namespaceIdentity("net");
    const run = await probe(["sh", "-c", 'exec "$@"', "plain"]);
    try {
      expect(run.handedHost).toBe("none");
      expect(run.inside).toBe(starter);
      expect(await ownLinks()).toContain(run.link);
    } finally {
      await execa("ip", ["link", "del", run.link], { reject: false });
    }
  });

  test("a run told it is isolated while it shares the starter's netns is not trusted", async () => {
    const own = namespaceIdentity("net") ?? "";
    const script =
      'import("./src/index.mjs").then((h) => console.log(JSON.stringify([h.isolated, h.privilegeGap()])))';
    const check = async (env: Record<string, string>) => {
      const { stdout } = await execa(process.execPath, ["--input-type=module", "-e", script], {
        cwd: fileURLToPath(new URL("..", import.meta.url)),
        env: { ...process.env, VMNET_UNPRIVILEGED: "", ...env },
      });
      return JSON.parse(stdout) as [boolean, string | null];
    };
    expect(await check({ VMNET_ISOLATED: "1", VMNET_HOST_NETNS: own })).toEqual([
      false,
      "VMNET_ISOLATED=1 but this process is in the starter's network namespace",
    ]);
    const [, missing] = await check({ VMNET_ISOLATED: "1", VMNET_HOST_NETNS: "" });
    expect(missing).toContain("VMNET_HOST_NETNS is missing");
    expect(await check({ VMNET_ISOLATED: "1", VMNET_HOST_NETNS: "1:1" })).toEqual([true, null]);
  });

  netnsTest("each test gets its own named netns with loopback up", async ({ netns }) => {
    const links = await netns.ipJson(["link", "show", "lo"]);
    expect(links[0].operstate === "UNKNOWN" || links[0].flags.includes("UP")).toBe(true);
    const { stdout } = await execa("ip", ["netns", "list"]);
    expect(stdout).toContain(netns.name);
    // Named netns live on vmnet-isolate's private tmpfs, not on the host's /run/netns.
    const { stdout: fs } = await execa("findmnt", ["-n", "-o", "FSTYPE", "/run/netns"]);
    expect(fs.trim().split("\n")).toContain("tmpfs");
  });

  test("a namespace is removed even when the test body throws", async () => {
    let name = "";
    await expect(
      withNetns(async (ns) => {
        name = ns.name;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    const { stdout } = await execa("ip", ["netns", "list"]);
    expect(name).not.toBe("");
    expect(stdout).not.toContain(name);
  });

  test("two namespaces are distinct", async () => {
    const a = await createNetns();
    const b = await createNetns();
    try {
      await a.exec("ip", ["link", "add", "x0", "type", "veth", "peer", "name", "x1"]);
      expect((await a.ipJson(["link"])).map((l: { ifname: string }) => l.ifname)).toContain("x0");
      expect((await b.ipJson(["link"])).map((l: { ifname: string }) => l.ifname)).toEqual(["lo"]);
    } finally {
      await a.remove();
      await b.remove();
    }
  });
});
