"use strict";
// Calibration page: draw, move, rename and delete lines, zones and privacy masks on the anonymised
// snapshot (coordinates normalised 0-1, x right, y down), watch live counts, save with PUT.
const svg = document.getElementById("overlay");
const NS = "http://www.w3.org/2000/svg";
const HINTS = {
  move: "Drag the round handles to move lines and corners.",
  line: "Drag from A to B (or tap A, then B). People crossing towards the arrow count as in.",
  zone: "Tap the corners of the zone, then press Finish shape.",
  mask: "Tap the corners of the area to black out before detection, then press Finish shape.",
};
let model = { lines: [], zones: [], masks: [] };
let extra = {};
let mode = "move";
let draft = null;   // shape being drawn
let dragging = null; // {item, index}
let live = {};
// The overlay's user units are the snapshot's pixels, so handles stay round and labels upright.
let W = 1280, H = 720;

function point(event) {
  const box = svg.getBoundingClientRect();
  const clamp = (v) => Math.min(1, Math.max(0, v));
  return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)].map((v) => Math.round(v * 10000) / 10000);
}

function el(name, attributes, parent = svg) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  parent.appendChild(node);
  return node;
}

function label(text, x, y) {
  const node = el("text", { x: Math.min(x * W + 8, W - 8), y: Math.max(y * H - 8, 20), fill: "#fff", stroke: "#000", "stroke-width": 3, "paint-order": "stroke", "font-size": Math.max(W, H) * 0.022, "font-family": "system-ui, sans-serif", "text-anchor": x > 0.8 ? "end" : "start" });
  node.textContent = text;
}

function inArrow(a, b) {
  // s(P) = (Bx-Ax)(Py-Ay) - (By-Ay)(Px-Ax) > 0 on the "in" side: the normal (-(By-Ay), Bx-Ax).
  const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
  // In pixels, so the arrow is square to the line on screen, then back to normalised units.
  const nx = -(b[1] - a[1]) * H, ny = (b[0] - a[0]) * W;
  const length = Math.hypot(nx, ny) || 1;
  const reach = 0.06 * Math.max(W, H);
  return [mx, my, mx + (nx / length) * reach / W, my + (ny / length) * reach / H];
}

function handle(x, y, item, index) {
  const circle = el("circle", { cx: x * W, cy: y * H, r: Math.max(W, H) * 0.011, fill: "#fff", stroke: "#2b6cb0", "stroke-width": 2, "vector-effect": "non-scaling-stroke", class: "handle" });
  circle.style.cursor = "grab";
  circle.addEventListener("pointerdown", (event) => {
    if (mode !== "move") return;
    event.stopPropagation();
    dragging = { item, index };
    svg.setPointerCapture(event.pointerId);
  });
}

function draw() {
  svg.replaceChildren();
  const defs = el("defs", {});
  const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" }, defs);
  el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#f6e05e" }, marker);
  for (const [kind, colour] of [["zones", "#38a169"], ["masks", "#000"]]) {
    for (const item of model[kind]) {
      el("polygon", { points: item.polygon.map((p) => `${p[0] * W},${p[1] * H}`).join(" "), fill: colour, "fill-opacity": kind === "masks" ? 0.75 : 0.25, stroke: colour, "stroke-width": 2, "vector-effect": "non-scaling-stroke" });
      item.polygon.forEach((p, index) => handle(p[0], p[1], item, index));
      label(item.id, item.polygon[0][0], item.polygon[0][1]);
    }
  }
  for (const line of model.lines) {
    el("line", { x1: line.a[0] * W, y1: line.a[1] * H, x2: line.b[0] * W, y2: line.b[1] * H, stroke: "#f6e05e", "stroke-width": 4, "vector-effect": "non-scaling-stroke" });
    const [x1, y1, x2, y2] = inArrow(line.a, line.b);
    label(`${line.id}: in`, x2, y2);
    el("line", { x1: x1 * W, y1: y1 * H, x2: x2 * W, y2: y2 * H, stroke: "#f6e05e", "stroke-width": 3, "vector-effect": "non-scaling-stroke", "marker-end": "url(#arrow)", class: "in-arrow" });
    handle(line.a[0], line.a[1], line, "a");
    handle(line.b[0], line.b[1], line, "b");
  }
  if (draft) {
    const points = draft.points.map((p) => `${p[0] * W},${p[1] * H}`).join(" ");
    el("polyline", { points, fill: "none", stroke: "#2b6cb0", "stroke-width": 3, "stroke-dasharray": "6 4", "vector-effect": "non-scaling-stroke" });
  }
  listItems();
}

function listItems() {
  const list = document.getElementById("items");
  const rows = [];
  for (const [kind, label] of [["lines", "line"], ["zones", "zone"], ["masks", "mask"]]) {
    model[kind].forEach((item, index) => {
      const row = document.createElement("li");
      row.innerHTML = '<span class="kind"></span><input type="text" aria-label="name"><span class="live"></span><button>Delete</button>';
      row.querySelector(".kind").textContent = label;
      const input = row.querySelector("input");
      input.value = item.id;
      input.addEventListener("change", () => { item.id = input.value.trim(); draw(); });
      if (kind === "lines") {
        const counts = live[item.id];
        row.querySelector(".live").textContent = counts ? `in ${counts.in} · out ${counts.out}` : "in – · out –";
      }
      row.querySelector("button").addEventListener("click", () => { model[kind].splice(index, 1); draw(); });
      rows.push(row);
    });
  }
  list.replaceChildren(...rows);
}

function uniqueId(kind, stem) {
  const taken = new Set(model[kind].map((item) => item.id));
  for (let n = 1; ; n += 1) if (!taken.has(`${stem}-${n}`)) return `${stem}-${n}`;
}

function setMode(next) {
  mode = next;
  draft = null;
  document.querySelectorAll("[data-mode]").forEach((b) => b.classList.toggle("active", b.dataset.mode === mode));
  document.getElementById("finish").hidden = !(mode === "zone" || mode === "mask");
  document.getElementById("hint").textContent = HINTS[mode];
  draw();
}

svg.addEventListener("pointerdown", (event) => {
  const p = point(event);
  if (mode === "line") {
    if (draft && draft.points.length === 1) { finishLine(p); return; }
    draft = { points: [p, p], pressed: true };
    svg.setPointerCapture(event.pointerId);
  } else if (mode === "zone" || mode === "mask") {
    draft = draft || { points: [] };
    draft.points.push(p);
  }
  draw();
});

svg.addEventListener("pointermove", (event) => {
  const p = point(event);
  if (dragging) {
    const { item, index } = dragging;
    if (index === "a" || index === "b") item[index] = p; else item.polygon[index] = p;
    draw();
  } else if (mode === "line" && draft && draft.pressed) {
    draft.points[1] = p;
    draw();
  }
});

svg.addEventListener("pointerup", (event) => {
  if (dragging) { dragging = null; return; }
  if (mode === "line" && draft && draft.pressed) {
    const p = point(event);
    const [a] = draft.points;
    if (Math.hypot(p[0] - a[0], p[1] - a[1]) > 0.02) finishLine(p);
    else { draft = { points: [a] }; draw(); } // a tap: wait for the second tap
  }
});

function finishLine(b) {
  model.lines.push({ id: uniqueId("lines", "line"), a: draft.points[0], b });
  draft = null;
  say("Line added: name it, check the arrow, then Save.", "ok");
  draw();
}

document.getElementById("finish").addEventListener("click", () => {
  if (!draft || draft.points.length < 3) { say("A zone needs at least 3 corners.", "error"); return; }
  const kind = mode === "mask" ? "masks" : "zones";
  model[kind].push({ id: uniqueId(kind, mode), polygon: draft.points });
  draft = null;
  draw();
});

document.querySelectorAll("[data-mode]").forEach((button) => button.addEventListener("click", () => setMode(button.dataset.mode)));
document.getElementById("refresh").addEventListener("click", () => {
  document.getElementById("snapshot").src = `/api/snapshot.jpg?t=${Date.now()}`;
});
document.getElementById("snapshot").addEventListener("load", (event) => {
  W = event.target.naturalWidth || W;
  H = event.target.naturalHeight || H;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  draw();
});
document.getElementById("snapshot").addEventListener("error", () => {
  document.getElementById("stage").style.aspectRatio = `${W} / ${H}`;
  say("No snapshot available (snapshots may be disabled on this device); lines can still be edited.", "error");
});

function say(text, kind) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = kind;
}

document.getElementById("save").addEventListener("click", async () => {
  const document_ = { ...extra, lines: model.lines, zones: model.zones };
  if (model.masks.length) document_.masks = model.masks;
  const response = await fetch("/api/calibration", {
    method: "PUT", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(document_),
  });
  if (response.ok) { say("Saved: counting with this calibration now.", "ok"); live = {}; load(); }
  else if (response.status === 401) location.href = "/login";
  else say((await response.json()).detail || `Save failed (${response.status})`, "error");
});

async function load() {
  const response = await fetch("/api/calibration", { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) { location.href = "/login"; return; }
  const document_ = await response.json();
  const { lines = [], zones = [], masks = [], ...rest } = document_;
  model = { lines, zones, masks };
  extra = rest;
  draw();
}

async function pollLive() {
  try {
    const response = await fetch("/api/live", { credentials: "same-origin", cache: "no-store" });
    if (response.ok) { live = await response.json(); if (!dragging && !draft) listItems(); }
  } catch (error) { /* the device may be restarting */ }
}

load();
setInterval(pollLive, 2000);
