"use strict";
// The health page's chart: people per time slot on a real time axis, drawn as SVG by hand.
// Slots with no stored interval are hatched (a gap: device off or not counting); slots the camera
// saw less than 80 % of are pale with an amber or red strip (blind); a slot with nobody has a thin
// bar on the axis (zero is not "no data"). A tap or a click, or the arrow keys, selects a slot and
// its details show under the chart. Uses I18N (i18n.js).
const Chart = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const LOW_COVERAGE = 0.8; // edge.api.health.LOW_COVERAGE
  const SLOT_CHOICES_S = [10, 30, 60, 300, 600, 900, 1800, 3600, 7200];
  const TICK_CHOICES_S = [300, 600, 900, 1800, 3600, 7200, 10800, 21600];
  const MIN_SLOT_PX = 4; // narrower bars cannot be told apart or tapped
  const LEFT = 34, TOP = 8, AXIS = 20, STRIP = 7; // margins, CSS pixels

  function intervalSeconds(intervals) {
    const lengths = intervals.map((i) => (Date.parse(i.end) - Date.parse(i.start)) / 1000).sort((a, b) => a - b);
    return lengths.length ? lengths[Math.floor(lengths.length / 2)] : 60;
  }

  function slotSeconds(spanS, intervalS, width) {
    const most = Math.max(1, Math.floor(width / MIN_SLOT_PX));
    return SLOT_CHOICES_S.find((s) => s >= intervalS && spanS / s <= most) || SLOT_CHOICES_S[SLOT_CHOICES_S.length - 1];
  }

  function slots(intervals, fromMs, toMs, slotS) {
    // Slots aligned on multiples of their length; each interval goes to the slot of its start.
    const slotMs = slotS * 1000;
    const first = Math.floor(fromMs / slotMs) * slotMs;
    const list = [];
    for (let start = first; start < toMs; start += slotMs) {
      list.push({ start, end: start + slotMs, in: 0, out: 0, lines: new Map(), observedS: 0, stored: 0, lowLight: false });
    }
    for (const interval of intervals) {
      const k = Math.floor((Date.parse(interval.start) - first) / slotMs);
      const slot = list[k];
      if (!slot) continue;
      slot.stored += 1;
      slot.observedS += interval.observed_s;
      slot.lowLight = slot.lowLight || interval.low_light;
      for (const line of interval.lines) {
        slot.in += line.in;
        slot.out += line.out;
        const sum = slot.lines.get(line.line_id) || { in: 0, out: 0 };
        slot.lines.set(line.line_id, { in: sum.in + line.in, out: sum.out + line.out });
      }
    }
    for (const slot of list) {
      // Coverage of the part of the slot that has passed; time without a stored interval counts as unseen.
      const lengthS = (Math.min(slot.end, toMs) - Math.max(slot.start, fromMs)) / 1000;
      slot.coverage = lengthS > 0 ? Math.min(1, slot.observedS / lengthS) : 0;
      slot.state = slot.stored === 0 ? "none" : slot.coverage < LOW_COVERAGE ? "blind" : "ok";
    }
    return list;
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    const power = 10 ** Math.floor(Math.log10(value));
    return [1, 2, 2.5, 5, 10].map((m) => m * power).find((candidate) => candidate >= value);
  }

  function el(parent, name, attributes = {}, text = null) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (text !== null) node.textContent = text;
    parent.appendChild(node);
    return node;
  }

  function draw(svg, view) {
    // view: {intervals, fromMs, toMs, selected (slot start or null)}; returns the slots drawn.
    const width = svg.clientWidth || 600, height = svg.clientHeight || 200;
    const plotW = width - LEFT - 4, base = height - AXIS - STRIP - 2, plotH = base - TOP;
    const slotS = slotSeconds((view.toMs - view.fromMs) / 1000, intervalSeconds(view.intervals), plotW);
    const list = slots(view.intervals, view.fromMs, view.toMs, slotS);
    const top = niceMax(Math.max(0, ...list.map((s) => s.in + s.out)));
    const x = (ms) => LEFT + ((ms - view.fromMs) / (view.toMs - view.fromMs)) * plotW;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.replaceChildren();
    const pattern = el(el(svg, "defs"), "pattern", { id: "gap", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    el(pattern, "rect", { width: 6, height: 6, fill: "#edf0f4" });
    el(pattern, "line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#a0aec0", "stroke-width": 2 });
    for (const fraction of [0, 0.5, 1]) {
      const y = base - fraction * plotH;
      el(svg, "line", { x1: LEFT, y1: y, x2: LEFT + plotW, y2: y, stroke: "#d5dae3" });
      el(svg, "text", { x: LEFT - 4, y: y + 4, "font-size": 11, fill: "#5a6478", "text-anchor": "end", class: "y-label" }, String(fraction * top));
    }
    for (const slot of list) {
      const left = Math.max(LEFT, x(slot.start)), right = Math.min(LEFT + plotW, x(slot.end));
      const w = Math.max(1, right - left - (right - left > 3 ? 1 : 0));
      const total = slot.in + slot.out;
      const group = el(svg, "g", { class: `slot ${slot.state}`, "data-start": new Date(slot.start).toISOString(), "data-state": slot.state, "data-total": total });
      if (slot.state === "none") el(group, "rect", { x: left, y: TOP, width: w, height: plotH, fill: "url(#gap)", class: "gap" });
      else {
        const h = Math.max(total === 0 ? 2 : 0, (total / top) * plotH); // zero: a thin bar on the axis
        el(group, "rect", { x: left, y: base - h, width: w, height: h, fill: total === 0 ? "#1a202c" : "#2b6cb0", "fill-opacity": slot.state === "blind" ? 0.35 : 1, class: total === 0 ? "bar zero" : "bar" });
      }
      const strip = slot.state === "none" ? "url(#gap)" : slot.coverage >= LOW_COVERAGE ? "#1b873f" : slot.coverage > 0 ? "#b7791f" : "#c53030";
      el(group, "rect", { x: left, y: base + 2, width: w, height: STRIP, fill: strip, class: "strip" });
      if (view.selected === slot.start) el(group, "rect", { x: left - 1, y: TOP - 2, width: w + 2, height: plotH + STRIP + 6, fill: "none", stroke: "#d69e2e", "stroke-width": 2, class: "selected" });
    }
    drawTicks(svg, view, x, height, plotW);
    return { list, slotS, top };
  }

  function drawTicks(svg, view, x, height, plotW) {
    // Round local times, far enough apart that labels never overlap or repeat.
    const spanS = (view.toMs - view.fromMs) / 1000;
    const most = Math.max(2, Math.floor(plotW / 56));
    const stepS = TICK_CHOICES_S.find((s) => spanS / s <= most) || TICK_CHOICES_S[TICK_CHOICES_S.length - 1];
    const offsetMs = new Date(view.fromMs).getTimezoneOffset() * 60000;
    const stepMs = stepS * 1000;
    let tick = Math.ceil((view.fromMs - offsetMs) / stepMs) * stepMs + offsetMs;
    for (; tick <= view.toMs; tick += stepMs) {
      el(svg, "line", { x1: x(tick), y1: height - AXIS, x2: x(tick), y2: height - AXIS + 4, stroke: "#5a6478" });
      el(svg, "text", { x: x(tick), y: height - 4, "font-size": 11, fill: "#5a6478", "text-anchor": "middle", class: "x-label" }, I18N.time(tick));
    }
  }

  function slotAt(svg, drawn, clientX, fromMs, toMs) {
    const box = svg.getBoundingClientRect();
    const plotW = box.width - LEFT - 4;
    const ms = fromMs + ((clientX - box.left - LEFT) / plotW) * (toMs - fromMs);
    return drawn.list.find((slot) => slot.start <= ms && ms < slot.end) || null;
  }

  function describe(slot) {
    // The details of one slot, as lines of text.
    const when = t("chart.when", { start: I18N.time(slot.start), end: I18N.time(slot.end) });
    if (slot.state === "none") return [when, t("chart.gap")];
    const rows = [when, t("chart.people", { total: slot.in + slot.out, in: slot.in, out: slot.out })];
    for (const [line, counts] of slot.lines) rows.push(t("chart.line", { line, in: counts.in, out: counts.out }));
    rows.push(t(slot.state === "blind" ? "chart.blind" : "chart.seen", { coverage: Math.round(slot.coverage * 100) }));
    if (slot.lowLight) rows.push(t("chart.low_light"));
    return rows;
  }

  return { draw, slotAt, describe };
})();
