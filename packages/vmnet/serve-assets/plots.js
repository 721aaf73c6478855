// One small uPlot per tap (rx and tx bytes/s over the last minute of samples). Rows come and go
// with the taps in the topology; each row keeps its own series.
/* global uPlot */
(() => {
  const POINTS = 60;

  class BandwidthPlots {
    constructor(container) {
      this.container = container;
      this.rows = new Map();
      // With hundreds of taps only the rows on screen are redrawn each sample; the others keep
      // their data and redraw when scrolled into view.
      this.visible = new Set();
      this.observer = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const name = e.target.dataset.tap;
          if (e.isIntersecting) {
            this.visible.add(name);
            const row = this.rows.get(name);
            if (row) {
              row.plot ??= this.makePlot(row);
              row.plot.setData(row.data);
            }
          } else this.visible.delete(name);
        }
      });
    }

    /** Adds rows for new taps and removes rows of taps that are gone. */
    sync(taps) {
      const names = new Set(taps.map((t) => t.name));
      for (const [name, row] of this.rows) {
        if (!names.has(name)) {
          this.observer.unobserve(row.el);
          this.visible.delete(name);
          row.plot?.destroy();
          row.el.remove();
          this.rows.delete(name);
        }
      }
      for (const t of taps) {
        const row = this.rows.get(t.name);
        if (row) {
          row.sub.textContent = `${t.bridge}${t.vlan !== undefined ? ` vlan ${t.vlan}` : ""}`;
          continue;
        }
        this.add(t);
      }
      // Keep the rows in tap order (moving rows only when the order changed).
      const order = taps.map((t) => t.name).join("\n");
      if (order !== this.order) {
        this.order = order;
        for (const t of taps) this.container.appendChild(this.rows.get(t.name).el);
      }
    }

    add(t) {
      const el = document.createElement("div");
      el.className = "bw-row";
      el.dataset.tap = t.name;
      const label = document.createElement("div");
      label.className = "bw-name";
      const title = document.createElement("span");
      title.textContent = t.name;
      const sub = document.createElement("small");
      sub.textContent = `${t.bridge}${t.vlan !== undefined ? ` vlan ${t.vlan}` : ""}`;
      const now = document.createElement("small");
      now.className = "bw-now";
      now.textContent = "–";
      label.append(title, sub, now);
      const plotEl = document.createElement("div");
      plotEl.className = "bw-plot";
      el.append(label, plotEl);
      this.container.appendChild(el);
      const data = [[], [], []];
      // The plot itself is made when the row first scrolls into view.
      this.rows.set(t.name, { el, sub, now, plotEl, plot: undefined, data });
      this.observer.observe(el);
    }

    makePlot(row) {
      return new uPlot(
        {
          width: 270,
          height: 54,
          legend: { show: false },
          cursor: { show: false },
          axes: [
            { show: false },
            { size: 44, font: "9px sans-serif", values: (_u, v) => v.map(window.VmnetGraph.fmtRate) },
          ],
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
          series: [
            {},
            { label: "rx", stroke: "#1f77b4", width: 1 },
            { label: "tx", stroke: "#d62728", width: 1 },
          ],
        },
        row.data,
        row.plotEl,
      );
    }

    /** Appends one sample: [[name, rxBps, txBps], ...] taken at `sampledAt` (ms). */
    push(sampledAt, rates) {
      const x = sampledAt / 1000;
      const seen = new Map(rates.map((r) => [r[0], r]));
      for (const [name, row] of this.rows) {
        const r = seen.get(name);
        const rx = r ? r[1] : null;
        const tx = r ? r[2] : null;
        row.data[0].push(x);
        row.data[1].push(rx);
        row.data[2].push(tx);
        if (row.data[0].length > POINTS) for (const s of row.data) s.shift();
        if (this.visible.has(name) && row.plot) {
          row.plot.setData(row.data);
          row.now.textContent = r
            ? `rx ${window.VmnetGraph.fmtRate(rx)} tx ${window.VmnetGraph.fmtRate(tx)}`
            : "–";
        }
        row.el.dataset.rx = String(rx ?? 0);
        row.el.dataset.tx = String(tx ?? 0);
      }
    }

    series(name) {
      const row = this.rows.get(name);
      return row ? { t: [...row.data[0]], rx: [...row.data[1]], tx: [...row.data[2]] } : undefined;
    }
  }

  window.VmnetPlots = { BandwidthPlots };
})();
