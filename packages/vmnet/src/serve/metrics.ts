// /metrics in the Prometheus text format (prom-client). Every value is computed at scrape time
// from the last sample of the one-dump sampler and the last topology read, so a scrape costs no
// netlink or OVSDB request and is at most one sample behind the kernel.
import type { LinkStats } from "@vmnet/netlink-native";
import { Counter, Gauge, Registry } from "prom-client";
import type { LiveSampler } from "./live-sampler.js";
import type { Topology } from "./topology.js";

export interface MetricsSources {
  sampler: LiveSampler;
  topology(): Topology | undefined;
  ovsdbReconnects(): number;
}

const TAP_LABELS = ["bridge", "tap", "vlan"] as const;

const COUNTERS: [name: string, help: string, field: keyof LinkStats][] = [
  ["vmnet_tap_receive_bytes_total", "Bytes the tap received (sent by the VM or container)", "rxBytes"],
  ["vmnet_tap_transmit_bytes_total", "Bytes the tap transmitted (toward the VM or container)", "txBytes"],
  ["vmnet_tap_receive_packets_total", "Packets the tap received", "rxPackets"],
  ["vmnet_tap_transmit_packets_total", "Packets the tap transmitted", "txPackets"],
  ["vmnet_tap_receive_drops_total", "Received packets the kernel dropped", "rxDropped"],
  ["vmnet_tap_transmit_drops_total", "Packets dropped on transmit", "txDropped"],
  ["vmnet_tap_receive_errors_total", "Receive errors", "rxErrors"],
  ["vmnet_tap_transmit_errors_total", "Transmit errors", "txErrors"],
];

export function buildMetrics(src: MetricsSources): Registry {
  const registry = new Registry();
  const taps = () => {
    const topo = src.topology();
    const stats = src.sampler.latest?.stats;
    if (!topo || !stats) return [];
    return topo.taps.flatMap((t) => {
      const s = stats.get(t.name);
      const labels = { bridge: t.bridge, tap: t.name, vlan: t.vlan === undefined ? "" : String(t.vlan) };
      return s ? [{ tap: t, s, labels }] : [];
    });
  };
  for (const [name, help, field] of COUNTERS) {
    new Counter({
      name,
      help,
      labelNames: TAP_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const { s, labels } of taps()) this.inc(labels, Number(s[field]));
      },
    });
  }
  const rate = (name: string, help: string, pick: "rxBps" | "txBps") =>
    new Gauge({
      name,
      help,
      labelNames: TAP_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        const rates = src.sampler.latest?.rates;
        for (const { tap, labels } of taps()) {
          const r = rates?.get(tap.name);
          if (r) this.set(labels, r[pick]);
        }
      },
    });
  rate("vmnet_tap_receive_bytes_per_second", "Receive rate over the last sample interval", "rxBps");
  rate("vmnet_tap_transmit_bytes_per_second", "Transmit rate over the last sample interval", "txBps");
  const qos = (
    name: string,
    help: string,
    pick: (q: NonNullable<Topology["taps"][0]["qos"]>) => number | undefined,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: TAP_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const t of src.topology()?.taps ?? []) {
          const v = t.qos ? pick(t.qos) : undefined;
          if (v !== undefined)
            this.set({ bridge: t.bridge, tap: t.name, vlan: t.vlan === undefined ? "" : String(t.vlan) }, v);
        }
      },
    });
  qos("vmnet_tap_qos_rate_bytes_per_second", "QoS rate limit of the tap", (q) => q.rateBps);
  qos("vmnet_tap_qos_delay_seconds", "QoS (netem) delay of the tap", (q) =>
    q.delayUs === undefined ? undefined : q.delayUs / 1e6,
  );
  qos("vmnet_tap_qos_jitter_seconds", "QoS (netem) jitter of the tap", (q) =>
    q.jitterUs === undefined ? undefined : q.jitterUs / 1e6,
  );
  qos("vmnet_tap_qos_loss_ratio", "QoS (netem) random loss of the tap (0-1)", (q) =>
    q.lossPercent === undefined ? undefined : q.lossPercent / 100,
  );
  new Gauge({
    name: "vmnet_dhcp_leases_served",
    help: "Addresses a container-side network's DHCP server hands its VM, per TAP",
    labelNames: ["pod", "tap", "mode"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.topology()?.containers ?? [])
        for (const i of c.interfaces) this.set({ pod: c.pod, tap: i.tap, mode: c.mode }, i.lease.length);
    },
  });
  new Counter({
    name: "vmnet_ovsdb_reconnects_total",
    help: "Times the OVSDB connection was lost and made again",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.ovsdbReconnects());
    },
  });
  new Counter({
    name: "vmnet_serve_samples_total",
    help: "Link-counter samples taken (one netlink dump each)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(src.sampler.count);
    },
  });
  new Gauge({
    name: "vmnet_serve_sample_timestamp_seconds",
    help: "When the sample the counters come from was taken",
    registers: [registry],
    collect() {
      const at = src.sampler.latest?.sampledAt;
      if (at !== undefined) this.set(at / 1000);
    },
  });
  new Gauge({
    name: "vmnet_serve_sample_dump_seconds",
    help: "How long the last link dump took",
    registers: [registry],
    collect() {
      this.set(src.sampler.lastDumpMs / 1000);
    },
  });
  return registry;
}
