"use strict";
// Device health: polls /api/status every 3 s, /api/counts and /api/validations every 30 s; draws its own SVG chart.
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

let shown = []; // the intervals on the chart, redrawn at the new size when the page is resized

async function refreshChart() {
  shown = await getJSON("/api/counts?limit=240");
  drawChart(shown);
}

function drawChart(intervals) {
  const svg = document.getElementById("chart");
  const width = svg.clientWidth || 600, height = svg.clientHeight || 160;
  const axis = 18; // room for the time labels under the bars
  const ins = intervals.map((i) => i.lines.reduce((sum, l) => sum + l.in, 0));
  const outs = intervals.map((i) => i.lines.reduce((sum, l) => sum + l.out, 0));
  const totals = ins.map((value, k) => value + outs[k]);
  const peak = Math.max(1, ...totals);
  const step = width / Math.max(totals.length, 1);
  const base = height - axis;
  const bars = totals.map((total, k) => {
    const h = (total / peak) * (base - 20);
    const interval = intervals[k];
    const dim = interval.quality.coverage < 0.8 ? ' fill-opacity="0.35"' : "";
    const title = t("chart.bar", { start: I18N.time(interval.start), end: I18N.time(interval.end), total, in: ins[k], out: outs[k], coverage: Math.round(interval.quality.coverage * 100) });
    return `<rect x="${k * step}" y="${base - h}" width="${Math.max(step - 1, 1)}" height="${h}" fill="#2b6cb0"${dim}><title></title></rect>`;
  });
  const ticks = intervals.length ? [0, Math.floor(intervals.length / 2), intervals.length - 1] : [];
  const labels = [...new Set(ticks)].map((k, n, all) => {
    const anchor = all.length > 1 && n === all.length - 1 ? "end" : n === 0 ? "start" : "middle";
    const x = anchor === "end" ? width : anchor === "start" ? 0 : k * step + step / 2;
    const when = anchor === "end" ? intervals[k].end : intervals[k].start;
    return `<text x="${x}" y="${height - 4}" font-size="12" fill="#5a6478" text-anchor="${anchor}">${I18N.time(when)}</text>`;
  });
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.innerHTML = bars.join("") + `<line x1="0" y1="${base}" x2="${width}" y2="${base}" stroke="#d5dae3"></line>` + labels.join("")
    + `<text x="4" y="14" font-size="12" fill="#5a6478" class="peak"></text>`;
  svg.querySelectorAll("rect title").forEach((node, k) => { node.textContent = t("chart.bar", { start: I18N.time(intervals[k].start), end: I18N.time(intervals[k].end), total: totals[k], in: ins[k], out: outs[k], coverage: Math.round(intervals[k].quality.coverage * 100) }); });
  svg.querySelector(".peak").textContent = t("chart.peak", { n: peak });
  document.getElementById("chart-note").textContent = intervals.length
    ? t("chart.note", { n: intervals.length })
    : t("chart.empty");
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

refreshStatus();
refreshChart().catch(() => {});
refreshValidations().catch(() => {});
new ResizeObserver(() => drawChart(shown)).observe(document.getElementById("chart"));
setInterval(refreshStatus, 3000);
setInterval(() => { refreshChart().catch(() => {}); refreshValidations().catch(() => {}); }, 30000);
