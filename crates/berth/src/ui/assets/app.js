// berth ui: polls /api/topology once a second and redraws the panels; the
// diagram (/api/topology.svg, laid out by the server) is reloaded when the
// shape of the topology changes. Every value is inserted as text, never as
// HTML.
"use strict";

const POLL_MS = 1000;
let lastShape = "";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function kv(key, value) {
  return el("p", { class: "kv" }, el("b", {}, key), " ", value);
}

function bytes(n) {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function ifaceLabel(i, fallback) {
  if (!i) return fallback + " (missing)";
  return i.peer ? `${i.name}@if${i.peer}` : i.name;
}

function hostPanel(t) {
  const h = t.host;
  const up = h.uplink;
  const box = document.getElementById("host");
  box.replaceChildren(
    el("h3", {}, "Host"),
    kv("uplink", up ? `${ifaceLabel(up)} ${up.addrs.join(" ")}` : "no default route"),
    kv("gateway", h.gateway || "none"),
    kv("ip_forward", h.forwarding ? "on" : "off"),
  );
}

function problemsPanel(t) {
  const box = document.getElementById("problems");
  box.classList.toggle("hidden", t.problems.length === 0);
  box.classList.toggle("bad", t.problems.length > 0);
  const list = el("ul", {});
  for (const p of t.problems) list.append(el("li", { class: "problem" }, el("b", {}, p.kind), " ", p.detail));
  box.replaceChildren(el("h3", {}, `Problems (${t.problems.length})`), list);
}

function networkCard(t, n) {
  const members = [];
  for (const c of t.containers) {
    for (const a of c.links) if (a.network === n.name) members.push(`${c.name} ${a.addrs.join(" ")}`);
  }
  const nat = !n.bridge_name ? "none (on the parent's LAN)" : n.internal ? "internal (no traffic in or out)" : n.masquerade ? "masquerade out of the uplink" : "off (routed)";
  const b = n.bridge;
  return el("div", { class: "card network" + (b || !n.bridge_name ? "" : " bad"), id: "net-" + n.name },
    el("h3", {}, "network ", n.name),
    kv(n.bridge_name ? "bridge" : n.driver,
      b ? `${b.name} ${b.mac || ""}` : n.bridge_name ? `${n.bridge_name} MISSING` : `on parent ${n.parent || "?"}`),
    kv("gateway", n.gateways.join(" ")),
    kv("NAT", nat),
    kv("icc", n.icc ? "on" : "off"),
    kv("containers", members.length ? members.join(", ") : "none"),
    b ? kv("counters", `rx ${bytes(b.counters.rx_bytes)} / ${b.counters.rx_packets} pkts, tx ${bytes(b.counters.tx_bytes)} / ${b.counters.tx_packets} pkts`) : null,
  );
}

function countersRow(where, i) {
  if (!i) return el("tr", {}, el("td", {}, where), el("td", { colspan: 4 }, "missing"));
  const c = i.counters;
  return el("tr", {}, el("td", { class: "mono" }, `${where} ${ifaceLabel(i)}`),
    el("td", {}, bytes(c.rx_bytes)), el("td", {}, c.rx_packets),
    el("td", {}, bytes(c.tx_bytes)), el("td", {}, c.tx_packets));
}

function attachment(a, running) {
  const table = el("table", {},
    el("tr", {}, el("th", {}, "interface"), el("th", {}, "rx bytes"), el("th", {}, "rx pkts"),
      el("th", {}, "tx bytes"), el("th", {}, "tx pkts")));
  if (running) {
    table.append(countersRow("container", a.inside));
    if (a.bridge) table.append(countersRow("host", a.outside));
  }
  return el("div", { class: "attachment" },
    kv("network", a.bridge ? `${a.network} (bridge ${a.bridge})` : a.network),
    kv("interface", a.bridge ? `${ifaceLabel(a.inside, a.ifname)} ⇄ ${ifaceLabel(a.outside, a.host_veth)}` : ifaceLabel(a.inside, a.ifname)),
    kv("addresses", a.addrs.join(" ")),
    kv("MAC", a.mac),
    kv("DNS names", a.dns.join(", ")),
    running ? table : null,
  );
}

function containerCard(c) {
  const ports = el("span", {});
  for (const p of c.ports) ports.append(el("span", { class: "port" + (p.in_kernel || c.state !== "running" ? "" : " bad") }, p.spec));
  const card = el("div", { class: "card container", id: "ctr-" + c.name },
    el("h3", {}, c.name, " ", el("span", { class: "state-" + c.state }, c.state)),
    kv("id", c.id),
    c.pid ? kv("pid", c.pid) : null,
    kv("ip netns", c.ip_netns || "—"),
    kv("ports", c.ports.length ? ports : "none"),
  );
  for (const a of c.links) card.append(attachment(a, c.state === "running"));
  return card;
}

function shapeOf(t) {
  // Everything but counters: the diagram changes only when this does.
  return JSON.stringify(t, (k, v) => (k === "counters" ? undefined : v));
}

function render(t) {
  hostPanel(t);
  problemsPanel(t);
  document.getElementById("networks").replaceChildren(...t.networks.map((n) => networkCard(t, n)));
  document.getElementById("containers").replaceChildren(...t.containers.map(containerCard));
  const shape = shapeOf(t);
  if (shape !== lastShape) {
    lastShape = shape;
    document.getElementById("diagram-img").src = "/api/topology.svg?t=" + Date.now();
  }
  const running = t.containers.filter((c) => c.state === "running").length;
  document.getElementById("status").textContent =
    `${t.networks.length} networks, ${running}/${t.containers.length} containers running, updated ${new Date().toLocaleTimeString()}`;
  document.body.dataset.containers = t.containers.map((c) => c.name).join(" ");
}

async function poll() {
  try {
    const r = await fetch("/api/topology", { cache: "no-store" });
    if (!r.ok) throw new Error(await r.text());
    render(await r.json());
  } catch (e) {
    document.getElementById("status").textContent = "cannot read the topology: " + e.message;
  }
  setTimeout(poll, POLL_MS);
}

poll();
