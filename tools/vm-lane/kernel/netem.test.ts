// netem, which the host kernel lacks, applied by @vmnet/tc-qos in a full guest kernel and measured
// with real traffic: added delay within ±10 %, loss within statistical bounds, and netem combined
// with a rate limit measured by iperf3.
import { applyQos, getQos, removeQos } from "@vmnet/tc-qos";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { median, ping, udpArrivedBps, veth } from "./support.js";

describe("netem in a full kernel", () => {
  let pair: Awaited<ReturnType<typeof veth>>;
  beforeAll(async () => {
    pair = await veth();
  });
  afterAll(async () => {
    await pair?.close();
  });

  it("adds the configured delay (±10 %) and reads it back", async () => {
    const base = median((await ping(pair.a, pair.ipB, 10, 0.1)).rtts);
    await applyQos("va", { delay: "100ms" }, { netns: pair.a });
    const qos = await getQos("va", { netns: pair.a });
    expect(qos.delay).toBe(100_000);
    const { rtts, received } = await ping(pair.a, pair.ipB, 20, 0.2);
    expect(received).toBe(20);
    const added = median(rtts) - base;
    expect(added).toBeGreaterThanOrEqual(90);
    expect(added).toBeLessThanOrEqual(110);
    await removeQos("va", { netns: pair.a });
    expect((await getQos("va", { netns: pair.a })).delay).toBeUndefined();
  });

  it("drops the configured share of packets (20 % loss, within 4 sigma over 600 pings)", async () => {
    await applyQos("va", { loss: "20%" }, { netns: pair.a });
    const n = 600;
    const { sent, received } = await ping(pair.a, pair.ipB, n, 0.01);
    expect(sent).toBe(n);
    // A ping is lost when its request is dropped on va (the reply leaves vb, no netem there).
    const lossRate = 1 - received / sent;
    const sigma = Math.sqrt((0.2 * 0.8) / n);
    expect(Math.abs(lossRate - 0.2)).toBeLessThan(4 * sigma);
    await removeQos("va", { netns: pair.a });
  });

  it("combines a rate limit with delay: 12 Mbit/s of UDP offered, 8 Mbit/s (±15 %) arrive, RTT up by the delay", async () => {
    await applyQos("va", { rate: "8mbit", delay: "20ms" }, { netns: pair.a });
    const qos = await getQos("va", { netns: pair.a });
    expect(qos.rate).toBe(1_000_000);
    expect(qos.delay).toBe(20_000);
    const { rtts } = await ping(pair.a, pair.ipB, 10, 0.1);
    expect(median(rtts)).toBeGreaterThanOrEqual(18);
    const arrived = await udpArrivedBps(pair, 12e6);
    expect(arrived).toBeGreaterThan(8e6 * 0.85);
    expect(arrived).toBeLessThan(8e6 * 1.15);
    await removeQos("va", { netns: pair.a });
  });
});
