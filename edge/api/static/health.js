"use strict";
// Device health: polls /api/status every 3 s, /api/intervals and /api/validations every 30 s; chart.js draws the chart.
// Texts come from strings.js through I18N (i18n.js); device data is shown as is (translate="no").

function text(value, key, digits = 1) {
  if (value === null || value === undefined) return t("value.unknown");
  return t(key, { value: I18N.number(value, digits) });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return t("value.unknown");
  if (seconds < 120) return t("unit.s", { value: Math.round(seconds) });
  if (seconds < 7200) return t("unit.min", { value: Math.round(seconds / 60) });
  if (seconds < 172800) return t("unit.h", { value: I18N.number(seconds / 3600) });
  return t("unit.days", { value: I18N.number(seconds / 86400) });
}

function figure(label, value, id) {
  // `value`: a translated string, or a node (device data, marked translate="no").
  const box = document.createElement("div");
  box.className = "figure";
  box.dataset.figure = id;
  box.innerHTML = '<div class="label"></div><div class="value"></div>';
  box.querySelector(".label").textContent = t(label);
  if (typeof value === "string") box.querySelector(".value").textContent = value;
  else box.querySelector(".value").append(...value);
  return box;
}

function data(value) {
  // Device data (a name, a version, an error text from a library): never translated.
  return Object.assign(document.createElement("span"), { textContent: value, translate: false });
}

function breakable(name) {
  // A file name that may wrap after "_", "-" or ".", never inside a word.
  const node = data("");
  name.split(/(?<=[_.\-])/).forEach((part, k) => { if (k) node.appendChild(document.createElement("wbr")); node.append(part); });
  return node;
}

function state(kind, value, detail) {
  const parts = [t(`${kind}.${value}`)];
  if (detail) parts.push(": ", data(detail));
  return parts.map((part) => (typeof part === "string" ? document.createTextNode(part) : part));
}

function reasonText(reason) {
  return t(`reason.${reason.code}`, reason.values);
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; throw new Error("logged out"); }
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function refreshStatus() {
  let s;
  try {
    s = await getJSON("/api/status");
  } catch (error) {
    document.getElementById("verdict").textContent = t("health.not_answering");
    document.getElementById("dot").className = "dot grey";
    document.getElementById("now").classList.add("stale"); // the tiles are from the last answer
    return;
  }
  document.getElementById("now").classList.remove("stale");
  document.getElementById("device-name").textContent = `${s.site_id} / ${s.device_id}`;
  document.getElementById("dot").className = `dot ${s.health}`;
  document.getElementById("verdict").textContent = t(`verdict.${s.health}`);
  const reasons = document.getElementById("reasons");
  reasons.replaceChildren(...s.causes.map((r) => Object.assign(document.createElement("li"), { textContent: reasonText(r) })));
  const gb = s.disk_free_bytes === null ? null : s.disk_free_bytes / 1e9;
  const privacy = [
    I18N.plural("privacy.masks", s.privacy_masks),
    t(s.snapshots_enabled ? "privacy.snapshots_on" : "privacy.snapshots_off"),
    s.suppress_below ? t("privacy.suppress_on", { n: s.suppress_below }) : t("privacy.suppress_off"),
  ].join(" · ");
  document.getElementById("figures").replaceChildren(
    figure("figure.camera", state("camera", s.camera_state, s.camera_detail), "camera"),
    figure("figure.last_frame", text(s.last_frame_age_s, "unit.s_ago"), "last-frame"),
    figure("figure.fps", text(s.fps, "unit.fps"), "fps"),
    figure("figure.detector", text(s.detector_ms, "unit.ms_frame"), "detector"),
    figure("figure.coverage", s.last_coverage === null ? t("value.unknown") : t("unit.percent", { value: Math.round(s.last_coverage * 100) }), "coverage"),
    figure("figure.broker", state("broker", s.broker_state, s.broker_detail), "broker"),
    figure("figure.backlog", s.outbox_backlog === null ? t("value.unknown") : I18N.plural("unit.intervals", s.outbox_backlog), "backlog"),
    figure("figure.oldest", s.outbox_backlog === 0 ? t("value.nothing_waiting") : duration(s.outbox_oldest_s), "oldest"),
    figure("figure.temperature", text(s.temperature_c, "unit.celsius", 0), "temperature"),
    figure("figure.throttled", s.throttled === null ? t("value.unknown") : t(s.throttled ? "value.yes" : "value.no"), "throttled"),
    figure("figure.disk", text(gb, "unit.gb"), "disk"),
    figure("figure.uptime", duration(s.uptime_s), "uptime"),
    figure("figure.model", [breakable(s.model_name), document.createTextNode(" ("), data(s.model_licence), document.createTextNode(")")], "model"),
    figure("figure.software", [data(s.software_version)], "software"),
    figure("figure.privacy", privacy, "privacy"),
  );
}

// The last 24 h of intervals from the outbox (they survive restarts); the chart shows a window of it.
const chart = { intervals: [], hours: 24, selected: null, drawn: null, fromMs: 0, toMs: 0 };

async function refreshChart() {
  const history = await getJSON("/api/intervals?hours=24");
  chart.intervals = history.intervals;
  chart.untilMs = Date.parse(history.until);
  drawChart();
  drawTotals();
}

function drawChart() {
  const svg = document.getElementById("chart");
  chart.toMs = chart.untilMs || Date.now();
  chart.fromMs = chart.toMs - chart.hours * 3600000;
  const shown = chart.intervals.filter((i) => Date.parse(i.end) > chart.fromMs);
  chart.drawn = Chart.draw(svg, { intervals: shown, fromMs: chart.fromMs, toMs: chart.toMs, selected: chart.selected });
  const slot = chart.drawn.list.find((s) => s.start === chart.selected);
  const detail = document.getElementById("chart-detail");
  detail.replaceChildren(...(slot ? Chart.describe(slot) : [t("chart.tap")]).map((line) => Object.assign(document.createElement("div"), { textContent: line })));
  const slotText = chart.drawn.slotS < 60 ? t("unit.s", { value: chart.drawn.slotS }) : t("unit.min", { value: chart.drawn.slotS / 60 });
  document.getElementById("chart-note").textContent = chart.intervals.length
    ? t("chart.note", { slot: slotText, n: shown.length })
    : t("chart.empty");
}

function selectSlot(slot) {
  chart.selected = slot ? slot.start : null;
  drawChart();
}

function moveSelection(step) {
  const list = chart.drawn ? chart.drawn.list : [];
  if (!list.length) return;
  const k = list.findIndex((s) => s.start === chart.selected);
  const next = k < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, k + step));
  selectSlot(list[next]);
}

function lineTotals(sinceMs) {
  const totals = new Map();
  for (const interval of chart.intervals) {
    if (Date.parse(interval.start) < sinceMs) continue;
    for (const line of interval.lines) {
      const sum = totals.get(line.line_id) || { in: 0, out: 0 };
      totals.set(line.line_id, { in: sum.in + line.in, out: sum.out + line.out });
    }
  }
  return totals;
}

function drawTotals() {
  const now = chart.untilMs || Date.now();
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const today = lineTotals(midnight.getTime()), hour = lineTotals(now - 3600000);
  const holder = document.getElementById("totals");
  const lines = [...today.keys()];
  if (!lines.length) {
    holder.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: t("totals.none") }));
    return;
  }
  const table = document.createElement("table");
  table.className = "totals";
  const head = table.createTHead().insertRow();
  for (const key of ["line", "today_in", "today_out", "hour_in", "hour_out"]) {
    head.appendChild(Object.assign(document.createElement("th"), { scope: "col", textContent: t(`totals.${key}`) }));
  }
  const body = table.createTBody();
  for (const line of lines) {
    const row = body.insertRow();
    row.dataset.line = line;
    const name = row.appendChild(document.createElement("th"));
    name.scope = "row";
    name.appendChild(data(line));
    const last = hour.get(line) || { in: 0, out: 0 };
    for (const value of [today.get(line).in, today.get(line).out, last.in, last.out]) row.insertCell().textContent = String(value);
  }
  holder.replaceChildren(table);
}

function chooseWindow(hours) {
  chart.hours = hours;
  chart.selected = null;
  document.querySelectorAll("[data-hours]").forEach((b) => b.setAttribute("aria-pressed", String(Number(b.dataset.hours) === hours)));
  document.getElementById("csv").href = `/api/intervals.csv?hours=${hours}`;
  drawChart();
}

const VALIDATION_COLUMNS = ["when", "line", "hand", "device", "accuracy", "verdict", "by"];
let validationsShown = "";

async function refreshValidations() {
  const records = await getJSON("/api/validations?limit=20");
  const key = JSON.stringify(records);
  if (key === validationsShown) return; // unchanged: leave the table (and any selection) alone
  validationsShown = key;
  const holder = document.getElementById("validations");
  if (!records.length) {
    holder.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: t("validations.none") }));
    return;
  }
  const table = document.createElement("table");
  table.className = "history";
  const head = table.createTHead().insertRow();
  for (const name of VALIDATION_COLUMNS) head.appendChild(Object.assign(document.createElement("th"), { scope: "col", textContent: t(`validations.column.${name}`) }));
  const body = table.createTBody();
  for (const record of records) validationRow(body.insertRow(), record);
  holder.replaceChildren(table);
}

function validationRow(row, record) {
  row.dataset.validation = record.validation_id;
  row.title = t("validations.detail", {
    mode: t(`validations.mode.${record.mode}`), minutes: Math.round(record.duration_s / 60), in: record.error.in, out: record.error.out,
    software: record.software_version, calibration: record.calibration_version,
  });
  const when = `${I18N.date(record.ended_at)} ${I18N.time(record.ended_at)}`;
  const accuracy = record.accuracy === null ? "–" : t("unit.percent", { value: I18N.number(record.accuracy * 100) });
  const values = [when, data(record.line_id), `${record.reference.in} · ${record.reference.out}`, `${record.device.in} · ${record.device.out}`, accuracy];
  const badge = Object.assign(document.createElement("span"), { className: `badge ${record.verdict}`, textContent: t(`result.${record.verdict}`) });
  [...values, badge, record.operator ? data(record.operator) : "–"].forEach((value, k) => {
    const cell = row.insertCell();
    cell.dataset.label = t(`validations.column.${VALIDATION_COLUMNS[k]}`); // the heading, shown in the cell on a phone
    if (typeof value === "string") cell.textContent = value; else cell.appendChild(value);
  });
}

const chartSvg = document.getElementById("chart");
chartSvg.addEventListener("click", (event) => selectSlot(chart.drawn && Chart.slotAt(chartSvg, chart.drawn, event.clientX, chart.fromMs, chart.toMs)));
chartSvg.addEventListener("keydown", (event) => {
  if (event.key === "ArrowRight" || event.key === "ArrowLeft") { event.preventDefault(); moveSelection(event.key === "ArrowRight" ? 1 : -1); }
});
document.querySelectorAll("[data-hours]").forEach((b) => b.addEventListener("click", () => chooseWindow(Number(b.dataset.hours))));
refreshStatus();
refreshChart().catch(() => {});
refreshValidations().catch(() => {});
new ResizeObserver(() => drawChart()).observe(chartSvg);
setInterval(refreshStatus, 3000);
setInterval(() => { refreshChart().catch(() => {}); refreshValidations().catch(() => {}); }, 30000);
