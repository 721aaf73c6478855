// The page: one EventSource for the topology (pushed when it changes) and the bandwidth samples
// (pushed once per sample); captures are polled. The token, when the server has one, comes from
// the page's own ?token= and is passed on to every request.
(() => {
  const token = new URLSearchParams(location.search).get("token");
  const withToken = (path) =>
    token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const details = $("details");

  const graph = new window.VmnetGraph.TopologyGraph($("graph"), (data) => {
    if (!data?.tap) {
      details.hidden = true;
      return;
    }
    const t = data.tap;
    details.hidden = false;
    details.textContent = [
      `${t.name} (${t.kind}) on ${t.bridge}${t.vlan !== undefined ? ` vlan ${t.vlan}` : ""}`,
      `VM MAC ${t.mac ?? "-"}  device MAC ${t.deviceMac ?? "-"}  ${t.up ? "up" : "down"}`,
      `IPv4 ${t.ipv4.join(", ") || "-"}`,
      `IPv6 ${t.ipv6.join(", ") || "-"}`,
      t.container ? `container netns ${t.container}` : "",
      t.qos ? `QoS ${JSON.stringify(t.qos)}` : "QoS none",
    ]
      .filter(Boolean)
      .join("\n");
  });
  const plots = new window.VmnetPlots.BandwidthPlots($("bandwidth"));
  const state = { topologyVersion: 0, latencies: [], taps: [], events: 0, drawMs: undefined };
  window.__vmnet = {
    cy: graph.cy,
    state,
    series: (name) => plots.series(name),
    plotLayout: (name) => plots.layout(name),
    parentOf: (tap) => {
      const n = graph.cy.getElementById(`tap:${tap}`);
      return n.nonempty() ? n.parent().id() : undefined;
    },
  };

  function text(td, value) {
    td.textContent = value === undefined || value === null ? "-" : String(value);
    return td;
  }

  function renderContainers(list) {
    const body = $("containers").querySelector("tbody");
    body.replaceChildren();
    for (const c of list)
      for (const i of c.interfaces) {
        const tr = document.createElement("tr");
        tr.append(
          text(document.createElement("td"), c.pod),
          text(document.createElement("td"), `${i.tap} ← ${i.name}`),
          text(document.createElement("td"), c.mode),
          text(document.createElement("td"), i.lease.map((l) => l.address).join(" ")),
        );
        body.append(tr);
      }
  }

  async function pollCaptures() {
    try {
      const r = await fetch(withToken("/api/captures"));
      if (!r.ok) return;
      const list = await r.json();
      const body = $("captures").querySelector("tbody");
      body.replaceChildren();
      for (const c of list) {
        const tr = document.createElement("tr");
        tr.dataset.capture = c.id;
        const name = `${c.iface ?? c.file.split("/").pop()}${c.running ? " (running)" : ""}`;
        const dl = document.createElement("td");
        if (!c.running && token) {
          const a = document.createElement("a");
          a.href = withToken(`/api/captures/${encodeURIComponent(c.id)}/pcap`);
          a.textContent = "pcap";
          dl.append(a);
        }
        tr.append(
          text(document.createElement("td"), name),
          text(document.createElement("td"), c.packets),
          text(document.createElement("td"), c.bytes ?? c.fileBytes),
          text(document.createElement("td"), c.drops),
          dl,
        );
        body.append(tr);
      }
    } catch {
      // The next poll tries again.
    }
  }

  const events = new EventSource(withToken("/events"));
  events.addEventListener("open", () => {
    status.dataset.state = "live";
    status.textContent = "live";
  });
  events.addEventListener("error", () => {
    status.dataset.state = "error";
    status.textContent = "disconnected, retrying…";
  });
  events.addEventListener("topology", (e) => {
    const msg = JSON.parse(e.data);
    const topo = msg.topology;
    state.taps = topo.taps.map((t) => t.name);
    // How long each part of drawing the topology took (the bench reports it at 1000 taps).
    const t0 = performance.now();
    graph.update(topo);
    const t1 = performance.now();
    plots.sync(topo.taps);
    state.drawMs = { graph: Math.round(t1 - t0), plots: Math.round(performance.now() - t1) };
    renderContainers(topo.containers);
    state.topologyVersion = msg.version;
    $("summary").textContent =
      `${topo.bridges.length} bridges, ${topo.taps.length} taps, ${topo.containers.length} pods`;
  });
  events.addEventListener("bandwidth", (e) => {
    const msg = JSON.parse(e.data);
    plots.push(msg.sampledAt, msg.taps);
    graph.load(msg.taps);
    state.events++;
    // Latency: the server's sample time to the DOM holding it (after uPlot's queued redraw).
    setTimeout(() => {
      state.latencies.push(Date.now() - msg.sampledAt);
      if (state.latencies.length > 600) state.latencies.shift();
    }, 0);
  });
  pollCaptures();
  setInterval(pollCaptures, 2000);
})();
