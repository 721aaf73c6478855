// Long-lived use of the IPv6 servers: thousands of start/stop cycles leave no descriptor or timer
// behind and do not grow memory, and one server shares a device among many guests, each getting
// its own address.
import { readdirSync } from "node:fs";
import { describePrivileged } from "@vmnet/harness/vitest";
import { afterEach, expect, test } from "vitest";
import {
  type Dhcp6Lease,
  Dhcp6Server,
  decodeIaNa,
  decodeOptions,
  formatIpv6,
  DHCP6_MESSAGE as MSG,
  DHCP6_OPTION as OPT,
} from "../src/dhcp6/index.js";
import { iaNaOption } from "../src/dhcp6/message.js";
import { RouterAdvertiser } from "../src/ra/index.js";
import { podAndVm } from "./support/dhcp-peers.js";
import { RawClient6 } from "./support/ipv6-raw-client.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const openFds = () => readdirSync("/proc/self/fd").length;
const leaseFor = (i: number): Dhcp6Lease => ({
  clientMac: `0a:58:00:00:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`,
  address: `2001:db8:5::${(i + 1).toString(16)}`,
  prefixLength: 64,
  nameservers: [],
  search: [],
  preferredLifetimeS: 600,
  validLifetimeS: 600,
});

async function cycles(label: string, once: () => Promise<void>, n: number) {
  const gc = (globalThis as { gc?: () => void }).gc;
  // Warm up until the heap settles (module code, JIT, the addon's first allocations).
  for (let i = 0; i < 500; i++) await once();
  gc?.();
  const fdsBefore = openFds();
  const rssBefore = process.memoryUsage().rss;
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
  const started = performance.now();
  for (let i = 0; i < n; i++) await once();
  const perCycleMs = (performance.now() - started) / n;
  gc?.();
  await new Promise((r) => setTimeout(r, 200));
  const fdsAfter = openFds();
  const rssGrowthMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  console.log(
    `${label} start/stop x${n}: ${perCycleMs.toFixed(2)} ms per cycle, fds ${fdsBefore} -> ${fdsAfter}, rss +${rssGrowthMb.toFixed(1)} MiB`,
  );
  expect(fdsAfter).toBe(fdsBefore);
  // No advert timer outlives its advertiser.
  expect(
    (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length,
  ).toBeLessThanOrEqual(handles);
  expect(rssGrowthMb).toBeLessThan(20);
}

describePrivileged("the IPv6 servers over time", () => {
  test("2000 start/stop cycles of each server leave no descriptor or timer behind and do not grow memory", async () => {
    const lease = leaseFor(1);
    const net = await podAndVm(lease.clientMac);
    cleanups.push(() => net.remove());
    await cycles(
      "dhcp6",
      async () => {
        await (
          await Dhcp6Server.start({ netns: net.pod.name, bindings: [{ listenOn: net.podIf, lease }] })
        ).stop();
      },
      2000,
    );
    await cycles(
      "ra",
      async () => {
        const ra = await RouterAdvertiser.start({
          netns: net.pod.name,
          bindings: [
            {
              listenOn: net.podIf,
              config: { routerMac: "02:00:5e:10:00:01", prefixes: [{ prefix: "2001:db8:5::/64" }] },
            },
          ],
        });
        await ra.stop();
      },
      2000,
    );
  }, 240_000);

  test("one device, 200 guests: each Solicit gets that guest's own address", async () => {
    const leases = Array.from({ length: 200 }, (_, i) => leaseFor(i + 10));
    const net = await podAndVm((leases[0] as Dhcp6Lease).clientMac);
    cleanups.push(() => net.remove());
    const server = await Dhcp6Server.start({
      netns: net.pod.name,
      bindings: leases.map((lease) => ({ listenOn: net.podIf, lease })),
    });
    cleanups.push(() => server.stop());
    const raw = await RawClient6.open(net.vm, net.vmIf, (leases[0] as Dhcp6Lease).clientMac);
    cleanups.push(() => raw.close());
    const answers = await Promise.all(
      leases.map(async (lease) => {
        const mac = Buffer.from(lease.clientMac.replaceAll(":", ""), "hex");
        const r = await raw.ask(
          MSG.solicit,
          [iaNaOption(1, 0, 0, [])],
          { srcMac: mac, clientId: Buffer.concat([Buffer.from([0, 3, 0, 1]), mac]) },
          5000,
        );
        const ia = r?.message?.options.find((o) => o.code === OPT.iaNa)?.data as Buffer;
        const addr = decodeOptions(ia.subarray(12)).find((o) => o.code === OPT.iaAddr)?.data as Buffer;
        expect(decodeIaNa(ia).iaid).toBe(1);
        return [formatIpv6(addr.subarray(0, 16)), r?.dstMac.toString("hex")];
      }),
    );
    expect(answers).toEqual(leases.map((l) => [l.address, l.clientMac.replaceAll(":", "")]));
    // The counter moves when the send completes, which may be after the guest has the reply.
    await expect.poll(() => server.stats().total.sent.advertise).toBe(200);
    expect(server.stats().total.droppedTotal).toBe(0);
  }, 60_000);
});
