"use strict";
// Calibration page: draw, move, rename and delete lines, zones and privacy masks on the anonymised
// snapshot (coordinates normalised 0-1, x right, y down), watch live counts, save with PUT.
const svg = document.getElementById("overlay");
const NS = "http://www.w3.org/2000/svg";
const KINDS = [["lines", "line"], ["zones", "zone"], ["masks", "mask"]];
// Sizes on screen, CSS pixels: handles a finger can grab, labels readable on a phone.
const HANDLE_PX = 9, HANDLE_HIT_PX = 22, LABEL_PX = 14, ARROW_PX = 44;
// Shortest line drawn, picture pixels: a double tap must not save a dot (the device allows less).
const MIN_LINE_PX = 40;
const MAX_UNDO = 100; // edits remembered
let undoStack = []; // JSON of the model before each edit
let model = { lines: [], zones: [], masks: [] };
let extra = {};
let saved = new Set();   // ids of the lines in force on the device (they have live counts)
let problems = new Map(); // item -> validation messages from the last failed save
let mode = "move";
let draft = null;   // shape being drawn
let dragging = null; // {item, index}
let live = {};
let liveView = { people: [], zones: {}, crossings: [] }; // /api/live/view: drawn, never kept
let liveOn = true;
const LIVE_MS = 1500; // picture and positions refresh together
let savedJSON = ""; // the calibration in force on the device, to tell unsaved edits (validation.js)
let focusLine = null; // id of the line being validated: drawn alone, without handles (validation.js)
// The overlay's user units are the snapshot's pixels, so handles stay round and labels upright.
let W = 1280, H = 720;

function unit() {
  // Snapshot pixels per CSS pixel: how big a screen-sized mark is in overlay units.
  const width = svg.getBoundingClientRect().width;
  return width > 0 ? W / width : 1;
}

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

function label(text, x, y, anchor = x > 0.75 ? "end" : "start") {
  // `anchor` "end" puts the text left of (x, y), so it can lean away from the line it names.
  const u = unit();
  const dx = anchor === "end" ? -8 * u : 8 * u;
  const node = el("text", { x: Math.min(Math.max(x * W + dx, 4 * u), W - 4 * u), y: Math.min(Math.max(y * H + 5 * u, LABEL_PX * u), H - 4 * u), fill: "#fff", stroke: "#000", "stroke-width": 3 * u, "paint-order": "stroke", "font-size": LABEL_PX * u, "font-weight": 600, "font-family": "system-ui, sans-serif", "text-anchor": anchor, "pointer-events": "none" });
  node.textContent = text;
  return node;
}

function keepApart(node, placed) {
  // Moves a label down (then up) by its height until it overlaps none already placed.
  const box = node.getBBox();
  const y0 = Number(node.getAttribute("y"));
  for (const shift of [0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6]) {
    const y = Math.min(Math.max(y0 + shift * (box.height + 2), box.height), H - 2);
    const moved = { x: box.x, y: box.y + (y - y0), width: box.width, height: box.height };
    if (!placed.some((other) => moved.x < other.x + other.width && other.x < moved.x + moved.width && moved.y < other.y + other.height && other.y < moved.y + moved.height)) {
      node.setAttribute("y", y);
      placed.push(moved);
      return;
    }
  }
  placed.push(box);
}

function inArrow(a, b) {
  // s(P) = (Bx-Ax)(Py-Ay) - (By-Ay)(Px-Ax) > 0 on the "in" side: the normal (-(By-Ay), Bx-Ax).
  const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2;
  // In pixels, so the arrow is square to the line on screen, then back to normalised units.
  const nx = -(b[1] - a[1]) * H, ny = (b[0] - a[0]) * W;
  const length = Math.hypot(nx, ny) || 1;
  const reach = Math.max(0.06 * Math.max(W, H), ARROW_PX * unit());
  return [mx, my, mx + (nx / length) * reach / W, my + (ny / length) * reach / H];
}

function handle(x, y, item, index) {
  const u = unit();
  const group = el("g", { class: "handle" });
  // A larger invisible disc is what the finger hits; the visible one stays small and precise.
  el("circle", { cx: x * W, cy: y * H, r: HANDLE_HIT_PX * u, fill: "transparent" }, group);
  el("circle", { cx: x * W, cy: y * H, r: HANDLE_PX * u, fill: "#fff", stroke: "#2b6cb0", "stroke-width": 3, "vector-effect": "non-scaling-stroke" }, group);
  group.style.cursor = "grab";
  group.addEventListener("pointerdown", (event) => {
    if (draft) return; // taps while drawing place corners, even on top of a handle
    event.stopPropagation();
    event.preventDefault();
    remember();
    dragging = { item, index };
    svg.setPointerCapture(event.pointerId);
  });
}

function draw() {
  drawOverlay();
  listItems();
}

function drawOverlay() {
  svg.replaceChildren();
  const defs = el("defs", {});
  for (const [id, colour] of [["arrow", "#f6e05e"], ["arrow-bad", "#fc8181"]]) {
    const marker = el("marker", { id, viewBox: "0 0 10 10", refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: colour }, marker);
  }
  const labels = [];
  for (const [kind, colour] of [["zones", "#38a169"], ["masks", "#000"]]) {
    for (const item of model[kind]) {
      if (focusLine !== null && kind === "zones") continue;
      const stroke = problems.has(item) ? "#e53e3e" : colour;
      el("polygon", { points: item.polygon.map((p) => `${p[0] * W},${p[1] * H}`).join(" "), fill: colour, "fill-opacity": kind === "masks" ? 0.75 : 0.25, stroke, "stroke-width": 3, "vector-effect": "non-scaling-stroke" });
      labels.push(label(item.id, item.polygon[0][0], item.polygon[0][1]));
    }
  }
  for (const line of model.lines) {
    if (focusLine !== null && line.id !== focusLine) continue;
    const bad = problems.has(line);
    const colour = bad ? "#fc8181" : "#f6e05e";
    el("line", { x1: line.a[0] * W, y1: line.a[1] * H, x2: line.b[0] * W, y2: line.b[1] * H, stroke: "#000", "stroke-opacity": 0.5, "stroke-width": 7, "vector-effect": "non-scaling-stroke" });
    el("line", { x1: line.a[0] * W, y1: line.a[1] * H, x2: line.b[0] * W, y2: line.b[1] * H, stroke: colour, "stroke-width": 4, "vector-effect": "non-scaling-stroke" });
    const [x1, y1, x2, y2] = inArrow(line.a, line.b);
    el("line", { x1: x1 * W, y1: y1 * H, x2: x2 * W, y2: y2 * H, stroke: colour, "stroke-width": 4, "vector-effect": "non-scaling-stroke", "marker-end": `url(#${bad ? "arrow-bad" : "arrow"})`, class: "in-arrow" });
    // Beyond the arrow tip, on the side the arrow points to (left-pointing: text ends at the tip);
    // "out" mirrored on the other side of the line.
    labels.push(label(t("overlay.in_side", { id: line.id }), x2, y2, x2 < x1 - 1e-6 ? "end" : "start"));
    const ox = 2 * x1 - x2, oy = 2 * y1 - y2;
    const out = label(t("overlay.out_side", { id: line.id }), ox, oy, ox < x1 - 1e-6 ? "end" : "start");
    out.classList.add("out-label");
    labels.push(out);
  }
  drawLive(labels);
  const placed = [];
  for (const node of labels) keepApart(node, placed);
  if (focusLine !== null) return; // validating: nothing to drag
  // Handles last, so they sit on top of every line and label.
  for (const kind of ["zones", "masks"]) for (const item of model[kind]) item.polygon.forEach((p, index) => handle(p[0], p[1], item, index));
  for (const line of model.lines) { handle(line.a[0], line.a[1], line, "a"); handle(line.b[0], line.b[1], line, "b"); }
  if (draft) {
    const points = draft.points.map((p) => `${p[0] * W},${p[1] * H}`).join(" ");
    el("polyline", { points, fill: "none", stroke: "#2b6cb0", "stroke-width": 3, "stroke-dasharray": "6 4", "vector-effect": "non-scaling-stroke" });
    for (const p of draft.points) el("circle", { cx: p[0] * W, cy: p[1] * H, r: 5 * unit(), fill: "#2b6cb0" });
  }
}

function liveText(line) {
  if (!saved.has(line.id)) return t("items.not_saved");
  const counts = live[line.id];
  return counts ? t("items.live", { in: counts.in, out: counts.out }) : t("items.live", { in: "–", out: "–" });
}

function listItems() {
  const list = document.getElementById("items");
  const rows = [];
  for (const [kind, name] of KINDS) {
    model[kind].forEach((item, index) => {
      const row = document.createElement("li");
      row.innerHTML = '<span class="kind"></span><input type="text" autocomplete="off" autocapitalize="off" spellcheck="false"><span class="live"></span><button type="button" class="flip" hidden></button><button type="button" class="delete"></button>';
      row.querySelector(".kind").textContent = t(`kind.${name}`);
      row.querySelector("input").setAttribute("aria-label", t("items.name"));
      row.querySelector(".delete").textContent = t("items.delete");
      const input = row.querySelector("input");
      input.value = item.id;
      input.addEventListener("change", () => { remember(); forgetProblems(item); item.id = input.value.trim(); draw(); });
      if (kind === "lines") {
        row.dataset.line = String(index);
        row.querySelector(".live").textContent = liveText(item);
        const flip = row.querySelector(".flip");
        flip.hidden = false;
        flip.textContent = t("items.flip");
        flip.setAttribute("aria-label", t("items.flip_label", { id: item.id }));
        // Swapping A and B swaps the sides: who counted as in now counts as out.
        flip.addEventListener("click", () => { remember(); [item.a, item.b] = [item.b, item.a]; draw(); say(t("editor.flipped", { id: item.id }), "ok"); });
      }
      row.querySelector(".delete").addEventListener("click", () => {
        remember();
        forgetProblems(item);
        model[kind].splice(index, 1);
        draw();
        say(t("editor.deleted", { id: item.id }), "ok");
      });
      for (const message of (problems.get(item) || []).map(problemText)) {
        row.classList.add("invalid");
        row.appendChild(Object.assign(document.createElement("p"), { className: "problem", textContent: message }));
      }
      rows.push(row);
    });
  }
  list.replaceChildren(...rows);
}

function forgetProblems(item) {
  // An edited item's messages are stale, and so are those naming its old id (e.g. a duplicate).
  problems.delete(item);
  for (const [other, messages] of problems) if (messages.some((m) => m.includes(`"${item.id}"`))) problems.delete(other);
}

function updateLive() {
  // Only the count cells: rebuilding the rows would drop a name being typed.
  document.querySelectorAll("#items li[data-line]").forEach((row) => {
    const line = model.lines[Number(row.dataset.line)];
    if (line) row.querySelector(".live").textContent = liveText(line);
  });
}

function uniqueId(kind, stem) {
  const taken = new Set(model[kind].map((item) => item.id));
  for (let n = 1; ; n += 1) if (!taken.has(`${stem}-${n}`)) return `${stem}-${n}`;
}

function setMode(next) {
  mode = next;
  draft = null;
  document.querySelectorAll("[data-mode]").forEach((b) => b.classList.toggle("active", b.dataset.mode === mode));
  // Kept in the layout while hidden, so the picture does not jump when a drawing mode starts.
  document.getElementById("finish").classList.toggle("invisible", !(mode === "zone" || mode === "mask"));
  document.getElementById("hint").textContent = t(`hint.${mode}`);
  // Drawing takes every touch on the picture; moving leaves scrolling and pinch-zoom to the page.
  document.getElementById("stage").classList.toggle("drawing", mode !== "move");
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
    drawOverlay();
  } else if (mode === "line" && draft && draft.pressed) {
    draft.points[1] = p;
    drawOverlay();
  }
});

function release(event) {
  if (dragging) {
    const { item } = dragging;
    dragging = null;
    if (item.a && tooShort(item.a, item.b)) { undo(); say(t("editor.too_short", { px: MIN_LINE_PX }), "error"); return; }
    draw();
    return;
  }
  if (mode === "line" && draft && draft.pressed) {
    const p = point(event);
    const [a] = draft.points;
    if (Math.hypot(p[0] - a[0], p[1] - a[1]) > 0.02) finishLine(p);
    else { draft = { points: [a] }; draw(); } // a tap: wait for the second tap
  }
}
svg.addEventListener("pointerup", release);
svg.addEventListener("pointercancel", () => { dragging = null; if (draft && draft.pressed) { draft = null; draw(); } });

function tooShort(a, b) {
  return Math.hypot((b[0] - a[0]) * W, (b[1] - a[1]) * H) < MIN_LINE_PX;
}

function finishLine(b) {
  if (tooShort(draft.points[0], b)) {
    draft = null;
    drawOverlay();
    say(t("editor.too_short", { px: MIN_LINE_PX }), "error");
    return;
  }
  remember();
  model.lines.push({ id: uniqueId("lines", "line"), a: draft.points[0], b });
  setMode("move"); // the next touch adjusts this line rather than starting another one
  say(t("editor.line_added"), "ok");
}

document.getElementById("finish").addEventListener("click", () => {
  if (!draft || draft.points.length < 3) { say(t(mode === "mask" ? "editor.mask_corners" : "editor.zone_corners"), "error"); return; }
  const kind = mode === "mask" ? "masks" : "zones";
  remember();
  model[kind].push({ id: uniqueId(kind, mode), polygon: draft.points });
  setMode("move");
  say(t(kind === "masks" ? "editor.mask_added" : "editor.zone_added"), "ok");
});

document.querySelectorAll("[data-mode]").forEach((button) => button.addEventListener("click", () => setMode(button.dataset.mode)));

function remember() {
  undoStack = [...undoStack.slice(1 - MAX_UNDO), JSON.stringify(model)];
  document.getElementById("undo-edit").disabled = false;
}

function undo() {
  if (!undoStack.length) return;
  model = JSON.parse(undoStack.pop());
  problems = new Map();
  document.getElementById("undo-edit").disabled = undoStack.length === 0;
  draw();
  say(t("editor.undone"), "ok");
}
document.getElementById("undo-edit").addEventListener("click", undo);

// Leaving (reload, another page, closing the tab) with edits not saved: the browser asks first.
window.addEventListener("beforeunload", (event) => {
  if (unsavedEdits()) { event.preventDefault(); event.returnValue = ""; }
});
// Zoom ×2 inside a scrolling frame, and full screen where the browser allows it: precise
// placement on a phone-sized picture.
const frame = document.getElementById("stage-frame");
document.getElementById("zoom").addEventListener("click", (event) => {
  const zoomed = frame.classList.toggle("zoomed");
  event.currentTarget.setAttribute("aria-pressed", String(zoomed));
});
if (document.fullscreenEnabled) {
  document.getElementById("fullscreen").hidden = false;
  document.getElementById("fullscreen").addEventListener("click", () => frame.requestFullscreen().catch(() => {}));
  document.getElementById("exit-fullscreen").addEventListener("click", () => document.exitFullscreen().catch(() => {}));
}
document.getElementById("snapshot").addEventListener("load", (event) => {
  W = event.target.naturalWidth || W;
  H = event.target.naturalHeight || H;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  drawOverlay(); // not the list: rebuilding it would drop a name being typed
});
document.getElementById("snapshot").addEventListener("error", () => {
  document.getElementById("stage").style.aspectRatio = `${W} / ${H}`;
  say(t("editor.no_snapshot"), "error");
});
new ResizeObserver(() => drawOverlay()).observe(svg); // marks keep their screen size

function loginURL() {
  return `/login?next=${encodeURIComponent(location.pathname + location.hash)}`;
}

// The device's validation messages (edge/calibration.py), in the page's language; an unknown one as it is.
const PROBLEMS = [
  [/^(line|zone|mask) #(\d+): id is empty$/, (m) => t("problem.empty_id", { kind: t(`kind.${m[1]}`), n: m[2] })],
  [/^duplicate (line|zone|mask) id "([^"]*)"$/, (m) => t("problem.duplicate", { kind: t(`kind.${m[1]}`), id: m[2] })],
  [/^(line|zone|mask) "([^"]*)": a and b are the same point$/, (m) => t("problem.same_point", { id: m[2] })],
  [/^(line|zone|mask) "([^"]*)": a and b are too close \(length ([\d.e-]+) < ([\d.e-]+)\)$/, (m) => t("problem.too_close", { id: m[2], length: m[3], minimum: m[4] })],
  [/^(line|zone|mask) "([^"]*)": point (\w+) (\[[^\]]*\]) is outside the image \[0, 1\]$/, (m) => t("problem.outside", { kind: t(`kind.${m[1]}`), id: m[2], point: m[3], where: m[4] })],
  [/^no lines and no zones: add at least one$/, () => t("problem.empty")],
  [/^(line|zone|mask) "([^"]*)": id may only contain/, (m) => t("problem.id_chars", { kind: t(`kind.${m[1]}`), id: m[2] })],
  [/^(zone|mask) (?:"([^"]*)"|#(\d+)): polygon is self-intersecting/, (m) => t("problem.self_intersecting", { kind: t(`kind.${m[1]}`), id: m[2] || `#${m[3]}` })],
  [/^(zone|mask) (?:"([^"]*)"|#(\d+)): polygon has zero or near-zero area/, (m) => t("problem.zero_area", { kind: t(`kind.${m[1]}`), id: m[2] || `#${m[3]}` })],
  [/^(zone|mask) (?:"([^"]*)"|#(\d+)): point (\d+) repeats point (\d+)$/, (m) => t("problem.repeats", { kind: t(`kind.${m[1]}`), id: m[2] || `#${m[3]}`, point: m[4], other: m[5] })],
];

function problemText(problem) {
  for (const [pattern, render] of PROBLEMS) {
    const match = problem.match(pattern);
    if (match) return render(match);
  }
  return t("problem.device", { detail: problem });
}

function say(text, kind) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = kind;
}

// Validation messages name the item: `line "door": ...`, `zone #2: ...`, `duplicate line id "door"`.
function itemsNamed(problem) {
  const byId = problem.match(/^(?:duplicate )?(line|zone|mask)(?: id)? "([^"]*)"/);
  if (byId) return model[`${byId[1]}s`].filter((item) => item.id === byId[2]);
  const byNumber = problem.match(/^(line|zone|mask) #(\d+)/);
  if (byNumber) return [model[`${byNumber[1]}s`][Number(byNumber[2]) - 1]].filter(Boolean);
  return [];
}

function showProblems(detail) {
  problems = new Map();
  const general = [];
  const text = detail.includes("invalid calibration: ") ? detail.slice(detail.indexOf("invalid calibration: ") + 21) : detail;
  for (const problem of text.split("; ")) {
    const items = itemsNamed(problem);
    if (!items.length) general.push(problem);
    for (const item of items) problems.set(item, [...(problems.get(item) || []), problem]);
  }
  draw();
  const marked = problems.size ? I18N.plural("editor.fix_marked", problems.size) : "";
  say(t("editor.not_saved", { detail: [...general.map(problemText), marked].filter(Boolean).join("; ") }), "error");
  const first = document.querySelector("#items li.invalid");
  if (first) first.scrollIntoView({ block: "nearest" });
}

document.getElementById("save").addEventListener("click", async () => {
  const document_ = { ...extra, lines: model.lines, zones: model.zones };
  if (model.masks.length) document_.masks = model.masks;
  const response = await fetch("/api/calibration", {
    method: "PUT", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(document_),
  });
  if (response.ok) { say(t("editor.saved"), "ok"); problems = new Map(); load(); }
  else if (response.status === 401) location.href = loginURL();
  else {
    let detail = t("editor.save_failed", { status: response.status });
    try { detail = (await response.json()).detail || detail; } catch (error) { /* not JSON */ }
    showProblems(String(detail));
  }
});

async function load() {
  const response = await fetch("/api/calibration", { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) { location.href = loginURL(); return; }
  const document_ = await response.json();
  const { lines = [], zones = [], masks = [], ...rest } = document_;
  model = { lines, zones, masks };
  saved = new Set(lines.map((line) => line.id));
  extra = rest;
  savedJSON = editedJSON();
  draw();
  document.dispatchEvent(new CustomEvent("calibration-loaded"));
}

function editedJSON() {
  return JSON.stringify([model.lines, model.zones, model.masks]);
}

function unsavedEdits() {
  return editedJSON() !== savedJSON;
}

async function pollLive(withPicture = true) {
  // The picture and the positions of the same moment, then one redraw; paused while hidden.
  if (document.visibilityState !== "visible") return;
  withPicture = withPicture && liveOn && !dragging;
  try {
    const [view, picture] = await Promise.all([
      fetch("/api/live/view", { credentials: "same-origin", cache: "no-store" }),
      withPicture ? fetch("/api/snapshot.jpg", { credentials: "same-origin", cache: "no-store" }) : null,
    ]);
    if (!view.ok) return;
    const data = await view.json();
    live = data.lines;
    liveView = liveOn ? data : { people: [], zones: data.zones, crossings: data.crossings };
    updateLive();
    showCrossings();
    if (picture && picture.ok) showPicture(await picture.blob()); // its load event redraws
    else drawOverlay();
  } catch (error) { /* the device may be restarting */ }
}

let pictureURL = null;
function showPicture(blob) {
  const image = document.getElementById("snapshot");
  const previous = pictureURL;
  pictureURL = URL.createObjectURL(blob);
  image.src = pictureURL;
  if (previous) image.addEventListener("load", () => URL.revokeObjectURL(previous), { once: true });
}

function showCrossings() {
  const list = document.getElementById("crossings");
  const rows = liveView.crossings.map((crossing) => Object.assign(document.createElement("li"), {
    textContent: t("log.entry", { time: I18N.time(crossing.at, true), line: crossing.line_id, direction: t(`dir.${crossing.direction}`) }),
  }));
  if (!rows.length) rows.push(Object.assign(document.createElement("li"), { className: "hint", textContent: t("log.none") }));
  list.replaceChildren(...rows);
}

function drawLive(labels) {
  // People as boxes with a short trail, counts on each saved line, occupancy in each zone.
  for (const person of liveView.people) {
    const [left, top, right, bottom] = person.box;
    el("rect", { x: left * W, y: top * H, width: (right - left) * W, height: (bottom - top) * H, fill: "none", stroke: "#63b3ed", "stroke-width": 2, "vector-effect": "non-scaling-stroke", class: "person", "pointer-events": "none" });
    if (person.trail.length > 1) el("polyline", { points: person.trail.map(([x, y]) => `${x * W},${y * H}`).join(" "), fill: "none", stroke: "#90cdf4", "stroke-width": 3, "stroke-opacity": 0.85, "vector-effect": "non-scaling-stroke", class: "trail", "pointer-events": "none" });
  }
  for (const line of model.lines) {
    const counts = live[line.id];
    if (!saved.has(line.id) || !counts || (focusLine !== null && line.id !== focusLine)) continue;
    const node = label(t("items.live", { in: counts.in, out: counts.out }), (line.a[0] + line.b[0]) / 2, (line.a[1] + line.b[1]) / 2, "middle");
    node.classList.add("line-count");
    node.dataset.line = line.id;
    labels.push(node);
  }
  if (focusLine !== null) return;
  for (const zone of model.zones) {
    const people = liveView.zones[zone.id];
    if (people === undefined) continue;
    const cx = zone.polygon.reduce((sum, p) => sum + p[0], 0) / zone.polygon.length;
    const cy = zone.polygon.reduce((sum, p) => sum + p[1], 0) / zone.polygon.length;
    const node = label(I18N.plural("overlay.people", people), cx, cy, "middle");
    node.classList.add("occupancy");
    node.dataset.zone = zone.id;
    labels.push(node);
  }
}

async function showDeviceName() {
  // Which device this is, in the header: a technician may have several tabs open.
  try {
    const response = await fetch("/api/status", { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return;
    const status = await response.json();
    document.getElementById("device-name").textContent = `${status.site_id} / ${status.device_id}`;
  } catch (error) { /* the device may be restarting: the name comes with the next load */ }
}

load();
showDeviceName();
pollLive(false); // the page's <img> is loading the first picture already
setInterval(pollLive, LIVE_MS);
document.getElementById("live-toggle").addEventListener("click", (event) => {
  liveOn = !liveOn;
  event.currentTarget.setAttribute("aria-pressed", String(liveOn));
  pollLive();
});
