// One small uPlot per tap (rx and tx bytes/s over the last minute of samples). Rows come and go
// with the taps in the topology; each row keeps its own series.
/* global uPlot */
(() => {
  const POINTS = 60;
  const RX = "#1f77b4";
  const TX = "#d62728";

  const where = (t) => `${t.bridge}${t.vlan !== undefined ? ` · vlan ${t.vlan}` : ""}`;

  function legendItem(name, keyClass) {
    const el = document.createElement("span");
    const key = document.createElement("i");
    key.className = keyClass;
    const value = document.createElement("b");
    value.textContent = "–";
    el.append(key, `${name} `, value);
    return { el, value };
  }

  /** A y-axis top at 1, 2 or 5 times a power of ten above the data, so the labels are round. */
  function niceMax(max) {
    const top = Math.max(1, max) * 1.05;
    const p = 10 ** Math.floor(Math.log10(top));
    for (const m of [1, 2, 5, 10]) if (top <= m * p) return m * p;
    return 10 * p;
  }

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
          row.sub.textContent = where(t);
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
      // One line above the plot: the tap, where it is, and a legend that carries the current rates
      // (it clips with an ellipsis rather than wrapping, so every row keeps the same height).
      const head = document.createElement("div");
      head.className = "bw-head";
      const title = document.createElement("span");
      title.className = "bw-title";
      title.textContent = t.name;
      const sub = document.createElement("span");
      sub.className = "bw-where";
      sub.textContent = where(t);
      const legend = document.createElement("span");
      legend.className = "bw-legend";
      const rxNow = legendItem("rx", "bw-key-rx");
      const txNow = legendItem("tx", "bw-key-tx");
      legend.append(rxNow.el, txNow.el);
      head.append(title, sub, legend);
      const plotEl = document.createElement("div");
      plotEl.className = "bw-plot";
      el.append(head, plotEl);
      this.container.appendChild(el);
      const data = [[], [], []];
      // The plot itself is made when the row first scrolls into view.
      const row = { el, sub, head, rxNow, txNow, plotEl, plot: undefined, data, yLabels: [] };
      this.rows.set(t.name, row);
      this.observer.observe(el);
    }

    makePlot(row) {
      const fmt = window.VmnetGraph.fmtRate;
      return new uPlot(
        {
          width: Math.max(200, row.plotEl.clientWidth || 380),
          height: 72,
          legend: { show: false },
          cursor: { show: false },
          // Room above the top label and below "0" so neither is cut by the canvas edge.
          padding: [10, 6, 8, 0],
          axes: [
            { show: false },
            {
              size: 62,
              space: 22,
              gap: 3,
              font: "10px sans-serif",
              stroke: "#57606a",
              grid: { stroke: "#eaeef2", width: 1 },
              ticks: { show: false },
              // Rates with their unit on every label; kept for the page test.
              values: (_u, splits) => {
                row.yLabels = splits.map((v) => (v === 0 ? "0" : fmt(v).replace(".0 ", " ")));
                return row.yLabels;
              },
            },
          ],
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, niceMax(max)] } },
          series: [
            {},
            { label: "rx", stroke: RX, fill: `${RX}22`, width: 1.5, points: { show: false } },
            { label: "tx", stroke: TX, width: 1.5, dash: [4, 3], points: { show: false } },
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
          row.rxNow.value.textContent = r ? window.VmnetGraph.fmtRate(rx) : "–";
          row.txNow.value.textContent = r ? window.VmnetGraph.fmtRate(tx) : "–";
        }
        row.el.dataset.rx = String(rx ?? 0);
        row.el.dataset.tx = String(tx ?? 0);
      }
    }

    series(name) {
      const row = this.rows.get(name);
      return row ? { t: [...row.data[0]], rx: [...row.data[1]], tx: [...row.data[2]] } : undefined;
    }

    /** How a row is laid out (for the page test): its y-axis labels, legend, and line heights. */
    layout(name) {
      const row = this.rows.get(name);
      if (!row) return undefined;
      const style = getComputedStyle(row.head);
      return {
        yLabels: [...row.yLabels],
        legend: [...row.head.querySelectorAll(".bw-legend > span")].map((e) => e.textContent),
        series: row.plot ? row.plot.series.slice(1).map((s) => s.label) : [],
        headHeight: row.head.getBoundingClientRect().height,
        lineHeight: Number.parseFloat(style.lineHeight),
        headClipped: row.head.scrollWidth > row.head.clientWidth,
      };
    }
  }

  window.VmnetPlots = { BandwidthPlots };
})();
