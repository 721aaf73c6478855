// The topology as a cytoscape graph: bridges contain VLAN groups, which contain taps; trunks,
// tunnels (to their remote ends), mirrors and container netns hang off them. Updated in place:
// elements are added and removed by id, and the layout runs only when the set of nodes changed.
/* global cytoscape */
(() => {
  const KIND_SHAPE = {
    tap: "ellipse",
    "host-tap": "round-rectangle",
    "container-tap": "diamond",
    qinq: "hexagon",
    capture: "vee",
  };

  function fmtRate(bps) {
    if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} MB/s`;
    if (bps >= 1e3) return `${(bps / 1e3).toFixed(1)} kB/s`;
    return `${Math.round(bps)} B/s`;
  }

  function qosText(q) {
    if (!q) return "";
    const parts = [];
    if (q.rateBps !== undefined) parts.push(`rate ${fmtRate(q.rateBps)}`);
    if (q.delayUs !== undefined) parts.push(`delay ${q.delayUs / 1000}ms`);
    if (q.lossPercent !== undefined) parts.push(`loss ${q.lossPercent}%`);
    return parts.join(" ");
  }

  function elementsOf(topo) {
    const els = [];
    const node = (id, data, classes) => els.push({ group: "nodes", data: { id, ...data }, classes });
    const edge = (id, source, target, data, classes) =>
      els.push({ group: "edges", data: { id, source, target, ...data }, classes });
    const tapIds = new Set(topo.taps.map((t) => `tap:${t.name}`));
    for (const b of topo.bridges) {
      node(`br:${b.name}`, { label: b.name }, "bridge");
      for (const t of b.trunks)
        node(`trunk:${b.name}:${t}`, { label: `${t} (trunk)`, parent: `br:${b.name}` }, "trunk");
      for (const t of b.tunnels) {
        const remote = `remote:${t.remote ?? "?"}`;
        node(
          `tun:${b.name}:${t.name}`,
          { label: `${t.name} ${t.type}${t.key ? ` key ${t.key}` : ""}`, parent: `br:${b.name}` },
          "tunnel",
        );
        if (!els.some((e) => e.data.id === remote))
          node(remote, { label: `remote ${t.remote ?? "?"}` }, "remote");
        edge(
          `e:tun:${b.name}:${t.name}`,
          `tun:${b.name}:${t.name}`,
          remote,
          { label: t.type },
          "tunnel-edge",
        );
      }
      for (const m of b.mirrors) {
        const id = `mirror:${b.name}:${m.name}`;
        node(
          id,
          { label: `${m.name} (mirror${m.selectAll ? ", all" : ""})`, parent: `br:${b.name}` },
          "mirror",
        );
        if (m.output && tapIds.has(`tap:${m.output}`))
          edge(`e:${id}:out`, id, `tap:${m.output}`, {}, "mirror-edge");
        for (const s of m.sources)
          if (tapIds.has(`tap:${s}`)) edge(`e:${id}:src:${s}`, `tap:${s}`, id, {}, "mirror-edge");
      }
    }
    const groups = new Set();
    for (const t of topo.taps) {
      let parent = `br:${t.bridge}`;
      if (t.vlan !== undefined) {
        parent = `vlan:${t.bridge}:${t.vlan}`;
        if (!groups.has(parent)) {
          groups.add(parent);
          node(parent, { label: `VLAN ${t.vlan}`, parent: `br:${t.bridge}` }, "vlan");
        }
      }
      const addrs = [...t.ipv4, ...t.ipv6.filter((a) => !a.startsWith("fe80"))];
      const label = [t.name, t.mac, ...addrs, qosText(t.qos), t.container ? `netns ${t.container}` : ""]
        .filter(Boolean)
        .join("\n");
      node(
        `tap:${t.name}`,
        { label, parent, kind: t.kind, shape: KIND_SHAPE[t.kind] ?? "ellipse", load: 0, tap: t },
        `tap ${t.kind}${t.up ? "" : " down"}`,
      );
    }
    for (const c of topo.containers) {
      const pod = `pod:${c.pod}`;
      node(pod, { label: `pod ${c.pod} (${c.mode})` }, "pod");
      for (const i of c.interfaces) {
        const lease = i.lease.map((l) => l.address).join(" ");
        node(
          `csn:${c.pod}:${i.tap}`,
          { label: `${i.tap} ← ${i.name}\n${i.mac ?? ""}\nlease ${lease}`, parent: pod },
          "csn-tap",
        );
      }
    }
    return els;
  }

  const STYLE = [
    {
      selector: "node",
      style: {
        label: "data(label)",
        // Labels are not drawn when zoomed out so far that they could not be read (1000 taps).
        "min-zoomed-font-size": 7,
        "font-size": 9,
        "text-wrap": "wrap",
        "text-valign": "bottom",
        "text-margin-y": 3,
        width: 22,
        height: 22,
      },
    },
    {
      selector: "node.tap",
      style: {
        shape: "data(shape)",
        "background-color": "mapData(load, 0, 1, #9ecae1, #d62728)",
        "border-width": 1,
        "border-color": "#3465a4",
      },
    },
    { selector: "node.down", style: { "border-style": "dashed", opacity: 0.6 } },
    {
      selector: "$node > node",
      style: {
        "text-valign": "top",
        "text-halign": "center",
        "font-size": 11,
        "font-weight": "bold",
        padding: 10,
      },
    },
    {
      selector: "node.bridge",
      style: {
        "background-color": "#eef2f7",
        "border-color": "#1d2430",
        "border-width": 2,
        shape: "round-rectangle",
      },
    },
    {
      selector: "node.vlan",
      style: {
        "background-color": "#f7fbea",
        "border-color": "#6a9f2b",
        "border-width": 1,
        shape: "round-rectangle",
      },
    },
    { selector: "node.trunk", style: { shape: "rectangle", "background-color": "#8c6d31" } },
    { selector: "node.tunnel", style: { shape: "tag", "background-color": "#9467bd" } },
    { selector: "node.remote", style: { shape: "star", "background-color": "#9467bd" } },
    { selector: "node.mirror", style: { shape: "triangle", "background-color": "#ff7f0e" } },
    {
      selector: "node.netns",
      style: { shape: "round-tag", "background-color": "#bbb", width: 14, height: 14 },
    },
    {
      selector: "node.pod",
      style: {
        "background-color": "#fdf1f1",
        "border-color": "#b04a4a",
        "border-width": 1,
        shape: "round-rectangle",
      },
    },
    { selector: "node.csn-tap", style: { shape: "diamond", "background-color": "#e377c2" } },
    {
      selector: "edge",
      style: {
        width: 1,
        "line-color": "#999",
        "curve-style": "bezier",
        "font-size": 8,
        label: "data(label)",
      },
    },
    {
      selector: "edge.mirror-edge",
      style: {
        "line-style": "dashed",
        "line-color": "#ff7f0e",
        "target-arrow-shape": "triangle",
        "target-arrow-color": "#ff7f0e",
      },
    },
    { selector: "edge.tunnel-edge", style: { "line-color": "#9467bd", width: 2 } },
  ];

  class TopologyGraph {
    constructor(container, onSelect) {
      this.cy = cytoscape({ container, style: STYLE, wheelSensitivity: 0.3, minZoom: 0.05, maxZoom: 1.6 });
      this.cy.on("tap", "node", (e) => onSelect(e.target.data()));
      this.cy.on("tap", (e) => {
        if (e.target === this.cy) onSelect(undefined);
      });
    }

    update(topo) {
      const wanted = elementsOf(topo);
      const ids = new Set(wanted.map((e) => e.data.id));
      const cy = this.cy;
      let changedNodes = false;
      cy.batch(() => {
        // Children before parents: a removed parent would take its children along.
        for (const el of cy.elements().toArray().reverse()) {
          if (!el.removed() && !ids.has(el.id())) {
            if (el.isNode()) changedNodes = true;
            el.remove();
          }
        }
        const nodes = wanted.filter((e) => e.group === "nodes");
        // Parents first, so a child can be added under its compound node.
        const byId = new Map(nodes.map((x) => [x.data.id, x]));
        const depth = (e) => (e.data.parent ? 1 + depth(byId.get(e.data.parent) ?? { data: {} }) : 0);
        nodes.sort((a, b) => depth(a) - depth(b));
        // New elements go in with one add (one call per element costs seconds at 1000 taps);
        // existing ones are touched only where what the page shows changed.
        const fresh = [];
        for (const n of nodes) {
          let existing = cy.getElementById(n.data.id);
          if (existing.nonempty() && existing.data("parent") !== n.data.parent) {
            existing.remove(); // moved to another VLAN: re-added under its new group
            existing = cy.collection();
          }
          if (existing.empty()) {
            fresh.push({ ...n, data: { ...n.data, cls: n.classes } });
            continue;
          }
          if (existing.data("label") !== n.data.label) existing.data("label", n.data.label);
          if (n.data.tap) existing.data("tap", n.data.tap);
          if (existing.data("cls") !== n.classes) {
            existing.data("cls", n.classes);
            existing.classes(n.classes);
          }
        }
        const freshEdges = wanted.filter((x) => x.group === "edges" && cy.getElementById(x.data.id).empty());
        if (fresh.length || freshEdges.length) {
          cy.add([...fresh, ...freshEdges]);
          if (fresh.length) changedNodes = true;
        }
      });
      if (changedNodes) this.layout();
    }

    /**
     * A deterministic grid: bridges one under another; in each bridge its VLAN groups side by side
     * (wrapping), each a square grid of its taps; trunks, tunnels, mirrors and taps without a VLAN
     * in a row under them; tunnels' remote ends to the right; pods at the bottom. Fast at 1000 taps,
     * and groups never overlap (a force layout with compound nodes can stack them).
     */
    layout() {
      const cy = this.cy;
      const W = 160;
      const H = 90;
      const GAP = 70;
      const WRAP = 2600;
      const pos = {};
      const grid = (nodes, x0, y0) => {
        const cols = Math.max(1, Math.ceil(Math.sqrt(nodes.length)));
        nodes.forEach((n, i) => {
          pos[n.id()] = { x: x0 + (i % cols) * W, y: y0 + Math.floor(i / cols) * H };
        });
        return { w: cols * W, h: Math.ceil(nodes.length / cols) * H };
      };
      let y = 0;
      let maxX = 0;
      const vlanOf = (n) => Number(n.id().split(":").pop());
      for (const br of cy.nodes(".bridge").toArray()) {
        const groups = br
          .children(".vlan")
          .toArray()
          .sort((a, b) => vlanOf(a) - vlanOf(b));
        let x = 0;
        let rowH = 0;
        for (const g of groups) {
          const size = grid(g.children().toArray(), x, y);
          x += size.w + GAP;
          rowH = Math.max(rowH, size.h);
          maxX = Math.max(maxX, x);
          if (x > WRAP) {
            x = 0;
            y += rowH + GAP * 1.5;
            rowH = 0;
          }
        }
        y += rowH + (rowH ? GAP : 0);
        const loose = br
          .children()
          .filter((n) => !n.hasClass("vlan"))
          .toArray();
        if (loose.length) {
          loose.forEach((n, i) => {
            pos[n.id()] = { x: (i % 12) * W, y: y + Math.floor(i / 12) * H };
          });
          y += Math.ceil(loose.length / 12) * H;
        }
        y += GAP * 2;
      }
      cy.nodes(".remote").forEach((n, i) => {
        pos[n.id()] = { x: maxX + W * 2, y: i * H };
      });
      for (const pod of cy.nodes(".pod").toArray()) {
        const size = grid(pod.children().toArray(), 0, y);
        y += size.h + GAP * 2;
      }
      cy.layout({
        name: "preset",
        positions: (n) => pos[n.id()] ?? { x: 0, y: 0 },
        fit: true,
        padding: 30,
        animate: false,
      }).run();
    }

    /** Colours taps by their share of the busiest tap's traffic. */
    load(rates) {
      let max = 1;
      for (const [, rx, tx] of rates) max = Math.max(max, rx + tx);
      this.cy.batch(() => {
        for (const [name, rx, tx] of rates) {
          const node = this.cy.getElementById(`tap:${name}`);
          // Quantized: a node is restyled only when its colour would visibly change.
          const load = Math.round(((rx + tx) / max) * 20) / 20;
          if (node.nonempty() && node.data("load") !== load) node.data("load", load);
        }
      });
    }
  }

  window.VmnetGraph = { TopologyGraph, fmtRate };
})();
